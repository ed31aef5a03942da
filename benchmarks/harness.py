"""Actor spawn plus one operation round trip, against a bare C loop.

Both sides are measured in the same run, in alternating rounds, so the
figure is a ratio taken side by side on a shared, noisy machine:

* C: fork a child, one byte each way over two pipes, waitpid
  (``fixtures/bench_forkpipe.c``, compiled here with ``cc -O2``);
* harness: spawn an actor from the zygote, one ``getpid`` round trip,
  ``exit`` and reap — what every scenario pays per actor.

Usage: python3 -m benchmarks (everything), or python3 benchmarks/harness.py [--rounds R] [--iterations N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.harness.scenario import Scenario  # noqa: E402
from conformance.harness.zygote import ZygoteClient  # noqa: E402


def build_c_baseline(workdir: Path) -> Path:
    binary = workdir / "bench_forkpipe"
    subprocess.run(["cc", "-O2", "-o", str(binary), str(ROOT / "fixtures" / "bench_forkpipe.c")],
                   check=True)
    return binary


def c_round(binary: Path, iterations: int) -> float:
    out = subprocess.run([str(binary), str(iterations)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip()) / 1e3  # microseconds per iteration


def harness_round(zygote: ZygoteClient, iterations: int) -> float:
    with Scenario(zygote) as sc:
        start = time.perf_counter()
        for i in range(iterations):
            actor = sc.spawn(f"a{i}")
            actor.do("getpid")
            actor.do("exit", 0)
        elapsed = time.perf_counter() - start
    return elapsed / iterations * 1e6


def harness_figures(rounds: int, iterations: int) -> dict[str, Any]:
    """Both loops in alternating rounds; medians, extremes and the ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        binary = build_c_baseline(Path(tmp))
        zygote = ZygoteClient("conformance.backends.kernel:KernelProcessOps")
        try:
            harness_round(zygote, 20)  # warm up imports and the page cache
            c_us, py_us = [], []
            for _ in range(rounds):
                c_us.append(c_round(binary, iterations))
                py_us.append(harness_round(zygote, iterations))
        finally:
            zygote.close()
    ratios = [p / c for p, c in zip(py_us, c_us, strict=True)]
    return {
        "c_fork_pipe_wait_us": {"median": statistics.median(c_us), "min": min(c_us), "max": max(c_us)},
        "actor_spawn_roundtrip_us": {"median": statistics.median(py_us), "min": min(py_us),
                                     "max": max(py_us)},
        "ratio": {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)},
        "rounds": rounds, "iterations": iterations, "cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = harness_figures(args.rounds, args.iterations)
    print(f"C fork+pipe+wait        median {figures['c_fork_pipe_wait_us']['median']:8.1f} us")
    print(f"actor spawn+op+exit     median {figures['actor_spawn_roundtrip_us']['median']:8.1f} us")
    print(f"ratio (same rounds)     median {figures['ratio']['median']:8.2f}x "
          f"(min {figures['ratio']['min']:.2f}x, max {figures['ratio']['max']:.2f}x; goal <= 3x)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
