"""Actor spawn plus one operation round trip, against a bare C loop.

All loops are measured in the same run, in alternating rounds, so each
figure is a ratio taken side by side on a shared, noisy machine:

* C: fork a child, one byte each way over two pipes, waitpid
  (``fixtures/bench_forkpipe.c``, compiled here with ``cc -O2``);
* harness, native actors: spawn an actor from the zygote, one ``getpid``
  round trip, ``exit`` and reap — what every scenario pays per actor when the
  actors are the C program of :mod:`conformance.harness.native` (the
  default for the kernel backend);
* harness, Python actors: the same with forked interpreters (what a library
  backend's or a mutant's actors cost).

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

from conformance.harness.native import KERNEL_BACKEND as KERNEL  # noqa: E402
from conformance.harness.native import NativeBuildError  # noqa: E402
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


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def harness_figures(rounds: int, iterations: int) -> dict[str, Any]:
    """The three loops in alternating rounds; medians, extremes and the ratios to C."""
    with tempfile.TemporaryDirectory() as tmp:
        binary = build_c_baseline(Path(tmp))
        zygotes = {"python": ZygoteClient(KERNEL, engine="python")}
        try:
            zygotes["native"] = ZygoteClient(KERNEL, engine="c")
        except NativeBuildError as exc:
            print(f"native actors not measured: {str(exc).splitlines()[0]}", file=sys.stderr)
        try:
            for zygote in zygotes.values():
                harness_round(zygote, 20)  # warm up imports and the page cache
            c_us: list[float] = []
            engine_us: dict[str, list[float]] = {engine: [] for engine in zygotes}
            for _ in range(rounds):
                c_us.append(c_round(binary, iterations))
                for engine, zygote in zygotes.items():
                    engine_us[engine].append(harness_round(zygote, iterations))
        finally:
            for zygote in zygotes.values():
                zygote.close()
    figures: dict[str, Any] = {"c_fork_pipe_wait_us": _spread(c_us), "rounds": rounds,
                               "iterations": iterations, "cpus": os.cpu_count()}
    for engine, times in engine_us.items():
        figures[engine] = {
            "actor_spawn_roundtrip_us": _spread(times),
            "ratio": _spread([t / c for t, c in zip(times, c_us, strict=True)]),
        }
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    print(f"C fork+pipe+wait                median {figures['c_fork_pipe_wait_us']['median']:8.1f} us")
    for engine in ("native", "python"):
        if engine not in figures:
            continue
        f = figures[engine]
        print(f"{engine + ' actors':14} spawn+op+exit median {f['actor_spawn_roundtrip_us']['median']:8.1f} us"
              f"   ratio {f['ratio']['median']:5.2f}x (min {f['ratio']['min']:.2f}x, "
              f"max {f['ratio']['max']:.2f}x; goal <= 3x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = harness_figures(args.rounds, args.iterations)
    print_figures(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
