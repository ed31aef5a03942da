"""``ipc-conformance bench``: measure, decide S20, write the four files.

    ipc-conformance bench [--out DIR] [--repeat N] [--quick]
                          [--mechanisms a,b,...] [--sizes 4K,64K,1M]

writes ``DIR/bench.json``, ``bench.md``, ``bench.html`` and (with
matplotlib) ``bench.png``; DIR defaults to ``reports/bench-<timestamp>/``.
Progress goes to stderr. The default run (11 rounds of 96 cases: 12
mechanisms x 4 tests x 2 placements, about 30 ms each) takes about a minute
on an idle 2-core machine and stops early (after at least 3 rounds) rather
than pass 140 s when the machine is busy; ``--quick`` (3 rounds of about
5 ms) well under 30 s.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import document, render, runner
from .catalogue import BenchInputError, placements_here

#: the peer program, relative to fixtures/
PEER = "bench/ipcbench"


@dataclass(frozen=True)
class Plan:
    """What one run measures and how hard."""

    mechanisms: tuple[str, ...]
    sizes: tuple[int, ...]
    #: where the two processes run (see catalogue.PLACEMENTS)
    placements: tuple[str, ...]
    repeat: int
    #: the calibrated duration of one run of one case, seconds
    target_s: float
    quick: bool
    #: the rounds stop early rather than pass this many seconds ...
    budget_s: float
    #: ... once this many are done
    min_rounds: int


def plan(mechanisms: tuple[str, ...], sizes: tuple[int, ...], repeat: int | None, quick: bool) -> Plan:
    """The run's plan.

    Every case runs with both processes on one CPU and, where two CPUs are
    available, on two. Default: 11 rounds of about 30 ms per case, within a
    140 s budget (at least 3 rounds). ``quick``: 3 rounds of about 5 ms,
    within 15 s (at least 1). Short runs and many rounds interleave the mechanisms finely,
    so a slow phase of this shared machine spreads over all of them.
    """
    rounds = repeat if repeat is not None else (3 if quick else 11)
    if rounds < 1 or rounds > 1000:
        raise BenchInputError(f"bad --repeat {rounds}: must be 1 to 1000")
    placements = placements_here()
    if quick:
        return Plan(mechanisms, sizes, placements, rounds, 0.005, True, budget_s=15.0, min_rounds=1)
    return Plan(mechanisms, sizes, placements, rounds, 0.03, False, budget_s=140.0, min_rounds=3)


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _compiler() -> str:
    cc = shutil.which("cc")
    if cc is None:
        return ""
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.splitlines()[0] if out.stdout else ""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def provenance(p: Plan, started: str, load_start: str, rounds: runner.Rounds) -> dict[str, Any]:
    """Where and how the figures were taken."""
    return {
        "hostname": platform.node(),
        "kernel_release": platform.release(),
        "kernel_version": platform.version(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count() or 0,
        "python": platform.python_version(),
        "compiler": _compiler(),
        "started_at": started,
        "finished_at": _now(),
        "load_average_start": load_start,
        "load_average_end": " ".join(_read("/proc/loadavg").split()[:3]),
        "repeat": len(rounds.seconds),
        "repeat_requested": rounds.requested,
        "stopped_early": rounds.stopped_early,
        "round_seconds": [round(s, 2) for s in rounds.seconds],
        "budget_s": p.budget_s,
        "quick": p.quick,
        "target_run_s": p.target_s,
        "mechanisms": list(p.mechanisms),
        "sizes": list(p.sizes),
        "placements": list(p.placements),
        "limits": {
            "kernel.msgmax": _read("/proc/sys/kernel/msgmax"),
            "fs.mqueue.msgsize_max": _read("/proc/sys/fs/mqueue/msgsize_max"),
            "fs.mqueue.msg_max": _read("/proc/sys/fs/mqueue/msg_max"),
        },
        "command": ["ipc-conformance", *sys.argv[1:]],
    }


def run_bench(p: Plan, out_dir: Path, binary: str | None = None) -> list[Path]:
    """Measure ``p``, write the files into ``out_dir`` and return their paths.

    ``binary`` is the compiled peer (compiled from ``fixtures/`` when
    ``None``). Raises :class:`~conformance.harness.peers.PeerError` when the
    peer cannot be built and :class:`~conformance.bench.runner.BenchRunError`
    when a run fails.
    """
    if binary is None:
        from ..harness.peers import peer_path

        binary = peer_path(PEER)
    started = _now()
    load_start = " ".join(_read("/proc/loadavg").split()[:3])
    results, rounds = runner.measure(binary, p.mechanisms, p.sizes, p.placements, p.repeat, p.target_s,
                                     _progress, budget_s=p.budget_s, min_rounds=p.min_rounds)
    doc = document.build(results, provenance(p, started, load_start, rounds))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "bench.json", out_dir / "bench.md"]
    written[0].write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    written[1].write_text(render.render_markdown(doc), encoding="utf-8")
    png = render.write_png(doc, out_dir / "bench.png")
    if png is None:
        _progress("no plot: matplotlib is not installed (pip install -e '.[bench]')")
    else:
        written.append(png)
    html = out_dir / "bench.html"
    html.write_text(render.render_html(doc, png.name if png else None), encoding="utf-8")
    written.append(html)
    return written


def summary_lines(doc: dict[str, Any]) -> Sequence[str]:
    """The verdicts in a few lines, for the terminal."""
    return [f"{c['id']} {c['verdict']}: {c['explanation']}" for c in doc["claims"]]
