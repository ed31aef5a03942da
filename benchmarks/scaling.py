"""Wall time of a whole profile run with one worker and with two.

Runs ``ipc-conformance run --profile P -n 1`` and then ``-n 2`` (xdist)
into throw-away report directories and reports both times and their ratio.
It takes minutes, so :mod:`benchmarks` runs it only with ``--scaling``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def timed_run(profile: str, workers: int, timeout: float = 1800.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--profile", profile,
             "--report-dir", tmp, "-n", str(workers), "-q"],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )
        seconds = time.perf_counter() - start
    summary = next((line for line in reversed(proc.stdout.splitlines())
                    if " in " in line and ("passed" in line or "failed" in line)), "")
    return {"workers": workers, "seconds": seconds, "exit": proc.returncode, "summary": summary}


def measure(profile: str) -> dict[str, Any]:
    one = timed_run(profile, 1)
    two = timed_run(profile, 2)
    return {"profile": profile, "n1": one, "n2": two, "speedup": one["seconds"] / two["seconds"]}


def report(figures: dict[str, Any]) -> list[str]:
    n1, n2 = figures["n1"], figures["n2"]
    return [
        f"-n 1  {n1['seconds']:7.1f} s  (exit {n1['exit']}) {n1['summary']}",
        f"-n 2  {n2['seconds']:7.1f} s  (exit {n2['exit']}) {n2['summary']}",
        f"speedup -n1/-n2 {figures['speedup']:.2f}x (goal >= 1.7x; -n 2 goal < 120 s)",
    ]
