"""Wall time of a whole profile run with one worker and with two.

Runs ``ipc-conformance run --profile P -n 1`` and ``-n 2`` (xdist) into
throw-away report directories, in alternating order over several rounds,
and reports each round's speedup and their median. Each run's CPU time
(user + system, all its processes) is taken too: CPU seconds over wall
seconds is how many cores the run kept busy.

The same rounds time a fixed CPU-bound loop once alone and twice at the
same time: ``2 × alone / together`` is what two cores give for work that
never waits, right now on this machine — the ceiling against which to read
the suite's speedup (on a shared machine it is below 2).

It takes minutes, so :mod:`benchmarks` runs it only with ``--scaling``.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: a loop of about a second of pure interpreter work
_BUSY = "x = 0\nfor i in range(20_000_000):\n    x += i\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(profile: str, workers: int, timeout: float = 1800.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cpu0 = _children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--profile", profile,
             "--report-dir", tmp, "-n", str(workers), "-q"],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )
        seconds = time.perf_counter() - start
        cpu = _children_cpu() - cpu0
    summary = next((line for line in reversed(proc.stdout.splitlines())
                    if " in " in line and ("passed" in line or "failed" in line)), "")
    return {"workers": workers, "seconds": seconds, "cpu_seconds": cpu, "cores_busy": cpu / seconds,
            "exit": proc.returncode, "summary": summary.strip("= ")}


def cpu_ceiling() -> float:
    """``2 × alone / together`` for a CPU-bound loop: what two cores give now."""
    command = [sys.executable, "-S", "-c", _BUSY]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    alone = time.perf_counter() - start
    start = time.perf_counter()
    pair = [subprocess.Popen(command) for _ in range(2)]
    for proc in pair:
        proc.wait()
    together = time.perf_counter() - start
    return 2 * alone / together


def measure(profile: str, rounds: int = 3) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        order = (1, 2) if r % 2 == 0 else (2, 1)  # alternate, so drift in load cancels
        timed = {w: timed_run(profile, w) for w in order}
        runs.append({"n1": timed[1], "n2": timed[2],
                     "speedup": timed[1]["seconds"] / timed[2]["seconds"],
                     "cpu_ceiling": cpu_ceiling()})
    speedups = [run["speedup"] for run in runs]
    ceilings = [run["cpu_ceiling"] for run in runs]
    return {
        "profile": profile,
        "rounds": runs,
        "speedup": {"median": statistics.median(speedups), "min": min(speedups), "max": max(speedups)},
        "cpu_ceiling": {"median": statistics.median(ceilings), "min": min(ceilings), "max": max(ceilings)},
        "n1_seconds_median": statistics.median(run["n1"]["seconds"] for run in runs),
        "n2_seconds_median": statistics.median(run["n2"]["seconds"] for run in runs),
    }


def report(figures: dict[str, Any]) -> list[str]:
    lines = []
    for i, run in enumerate(figures["rounds"], 1):
        n1, n2 = run["n1"], run["n2"]
        lines.append(
            f"round {i}: -n 1 {n1['seconds']:6.1f} s ({n1['cores_busy']:.2f} cores busy, exit {n1['exit']}), "
            f"-n 2 {n2['seconds']:6.1f} s ({n2['cores_busy']:.2f} cores busy, exit {n2['exit']}): "
            f"{run['speedup']:.2f}x; CPU-bound loop {run['cpu_ceiling']:.2f}x")
    s, c = figures["speedup"], figures["cpu_ceiling"]
    lines.append(f"speedup -n 1 / -n 2 median {s['median']:.2f}x (min {s['min']:.2f}x, max {s['max']:.2f}x; "
                 f"goal >= 1.7x); -n 2 median {figures['n2_seconds_median']:.1f} s (goal < 120 s)")
    lines.append(f"two cores give a CPU-bound loop {c['median']:.2f}x here (min {c['min']:.2f}x, "
                 f"max {c['max']:.2f}x): the ceiling for the speedup above")
    return lines
