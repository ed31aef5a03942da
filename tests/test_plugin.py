"""The plugin end to end: clause outcomes, broken vs failed, interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPEC = textwrap.dedent('''
    import os, signal
    from conformance.clauses import spec
    from conformance.outcome import Value

    @spec("fd.selftest.passes", "A clause whose spec passes.",
          source=("selftest", "passes"))
    def test_passes(scenario):
        a = scenario.spawn("a")
        scenario.expect(a.do("close", 99), a.do("close", 98))

    @spec("fd.selftest.fails", "A clause whose spec fails.", source=("selftest", "fails"))
    def test_fails(scenario):
        a = scenario.spawn("a")
        scenario.expect(a.do("open", "nothing-here", os.O_RDONLY), Value(3), "no such file")

    @spec("fd.selftest.outside-kill", "An actor is killed from outside mid-scenario.",
          source=("selftest", "broken"))
    def test_outside_kill(scenario):
        a = scenario.spawn("a")
        os.kill(a.pid, signal.SIGKILL)
        a.do("getpid")

    @spec("fd.selftest.unsupported", "Needs a kernel from the future.",
          source=("selftest", "unsupported"), requires=("kernel>=99.0",))
    def test_future(scenario):
        raise AssertionError("must not run")
''')


def run_pytest(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    spec_file = tmp_path / "test_selftest_spec.py"
    spec_file.write_text(SPEC)
    report = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(spec_file), "--ipc-report-dir", str(report),
         "-p", "no:cacheprovider", "-q", *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    return proc, json.loads((report / "results.json").read_text())


def test_one_outcome_per_clause(tmp_path):
    proc, results = run_pytest(tmp_path)
    outcomes = {c["id"]: c for c in results["clauses"]}
    assert outcomes["fd.selftest.passes"]["outcome"] == "passed"
    failed = outcomes["fd.selftest.fails"]
    assert failed["outcome"] == "failed"
    assert any("expected -> 3" in line for line in failed["counterexample"]["steps"])
    repro = tmp_path / "report" / failed["counterexample"]["reproducer"]
    assert repro.exists()
    broken = outcomes["fd.selftest.outside-kill"]
    assert broken["outcome"] == "broken" and "outside the scenario" in broken["reason"]
    unsupported = outcomes["fd.selftest.unsupported"]
    assert unsupported["outcome"] == "unsupported" and "99.0" in unsupported["reason"]
    assert proc.returncode == 1


def test_reproducer_replays_the_failure_without_the_suite(tmp_path):
    _proc, results = run_pytest(tmp_path)
    failed = next(c for c in results["clauses"] if c["id"] == "fd.selftest.fails")
    repro = tmp_path / "report" / failed["counterexample"]["reproducer"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-S", str(repro)], capture_output=True, text=True,
                         timeout=60, cwd="/", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "reproduced" in out.stdout and "expected -> 3" in out.stdout


def test_results_validate_against_the_schema(tmp_path):
    from conformance.report.schema import validate

    _proc, results = run_pytest(tmp_path, "-n", "2")
    validate(results)
    assert results["provenance"]["kernel_release"] == os.uname().release
    assert len(results["clauses"]) == 4


def _zygotes_tagged(tag: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if f"IPC_SELFTEST_TAG={tag}".encode() in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def test_interrupt_cleans_up_actors(tmp_path):
    """Ctrl-C (SIGINT) mid-run: pytest stops, and no actor or zygote survives."""
    spec_file = tmp_path / "test_long.py"
    spec_file.write_text(textwrap.dedent('''
        from conformance.clauses import spec
        from conformance.outcome import BLOCKED

        @spec("pipe.selftest.long", "Runs until interrupted.", source=("selftest", "long"))
        def test_long(new_scenario):
            while True:
                with new_scenario() as sc:
                    a = sc.spawn("a")
                    r, w = a.call("pipe")
                    b = a.fork("b")
                    assert b.do("read", r, 1) == BLOCKED
    '''))
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    env = dict(os.environ, IPC_SELFTEST_TAG=tag)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", str(spec_file), "-p", "no:cacheprovider",
                             "-q"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        # Wait until actors exist: the zygote plus at least two actors.
        while len(_zygotes_tagged(tag)) < 4:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the run never started its actors"
            os.sched_yield()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 10
    while _zygotes_tagged(tag) and time.monotonic() < deadline:
        os.sched_yield()
    assert _zygotes_tagged(tag) == [], "processes of the interrupted run survived"
    assert proc.returncode != 0
