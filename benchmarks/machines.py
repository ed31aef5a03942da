"""Examples per second of the state machines, each run as the suite runs it.

Each machine file runs in its own ``pytest`` process under one profile
(``ci`` by default), with :mod:`benchmarks.count` counting the scenarios
opened during the tests' call phases. The figure is examples divided by
that time: what one worker gets through, kernel and harness together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

MACHINES = {
    "fd": "specs/fd/test_fd_machine.py",
    "pipe": "specs/pipe/test_pipe_machine.py",
    "sysv.msg": "specs/sysv/msg/test_msg_machine.py",
}


def run_machine(path: str, profile: str, timeout: float = 600.0) -> dict[str, Any]:
    """Run one machine file; return examples, seconds and examples/s."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "count.json"
        env = dict(os.environ, IPC_BENCH_COUNT=str(out))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider",
             "-p", "benchmarks.count", "--ipc-profile", profile,
             "--ipc-report-dir", tmp],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        )
        if not out.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise RuntimeError(f"{path}: pytest gave no counts (exit {proc.returncode}): {tail}")
        totals: dict[str, Any] = json.loads(out.read_text())
    totals["exit"] = proc.returncode
    totals["per_second"] = totals["examples"] / totals["seconds"] if totals["seconds"] else 0.0
    return totals


def measure(profile: str) -> dict[str, dict[str, Any]]:
    figures = {}
    for name, path in MACHINES.items():
        if (ROOT / path).exists():
            figures[name] = run_machine(path, profile)
    return figures


def report(figures: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, f in figures.items():
        flag = "" if f["exit"] == 0 else f"  (pytest exit {f['exit']}: failures, see the suite)"
        lines.append(f"{name:10s} {f['examples']:5d} examples in {f['seconds']:6.2f} s "
                     f"= {f['per_second']:6.1f} examples/s{flag}")
    return lines
