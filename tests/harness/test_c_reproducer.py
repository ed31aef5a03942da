"""C reproducers: a failing trace replayed by a C program on the real kernel.

A reproducer replays the steps on the kernel and compares what happens with
what was *expected*. It reproduces a failure only when the expectation is
what was wrong: "the model predicted X, the kernel did Y". So the failures
here come from deliberately broken **models** — each a mutant backend of
``tests/mutants`` playing the oracle, run in lockstep with the kernel the
way a model-checked scenario runs the reference model — and the C program
must print the broken expectation against the kernel's real outcome and
exit 1. A trace where everything matches exits 0, a trace with an operation
that has no C translation gets a reason instead of a program, and a failure
of a spec against a mutant *backend* gets a C program from the results
writer that finds the kernel doing what the spec expected (exit 0).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import (
    GETALL,
    GETPID,
    IPC_CREAT,
    IPC_NOWAIT,
    IPC_PRIVATE,
    IPC_RMID,
    SETVAL,
    SHM_RDONLY,
)
from conformance.harness.c_reproducer import canonical, write_c_reproducer
from conformance.harness.reproducer import write_reproducer
from conformance.harness.scenario import Scenario, Step
from conformance.harness.zygote import ZygoteClient
from conformance.models.sysv import IdMap
from conformance.outcome import Errno, Outcome, Value

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "conformance.backends.kernel:KernelProcessOps"
CC = shutil.which("cc") or shutil.which("gcc")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler on this machine")
_GETS = {"msgget": "msgctl_rmid", "shmget": "shmctl_rmid", "semget": "semctl"}


@pytest.fixture(scope="module")
def kernel_zygote():
    z = ZygoteClient(KERNEL)
    yield z
    z.close()


def build_and_run(source: Path) -> subprocess.CompletedProcess[str]:
    binary = source.with_suffix("")
    built = subprocess.run([CC, "-Wall", "-Werror", "-O1", "-o", str(binary), str(source)],
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, f"{source.name} does not compile:\n{built.stderr[-3000:]}"
    return subprocess.run([str(binary)], capture_output=True, text=True, timeout=180)


# -- a mutant backend as a deliberately broken model --------------------------
class Differ(Exception):
    """The broken model and the kernel disagreed: the trace so far is the failure."""


def lockstep(kernel_zygote: ZygoteClient, mutant: str, tmp_path: Path,
             script: Callable[[Callable[[str], None], Callable[..., Outcome]], None]) -> list[Step]:
    """Run ``script`` on the kernel with the mutant ``mutant`` predicting every step.

    Like the model-checked scenarios, each step's prediction is stored on the
    kernel's step as ``expected``; the first disagreement ends the run and
    the kernel's trace is returned. Scripts name System V objects by the
    mutant side's ids; :class:`IdMap` pairs them with the kernel's.
    """
    model_zygote = ZygoteClient(mutant)
    ids = IdMap()
    made: list[tuple[str, int]] = []
    try:
        with Scenario(kernel_zygote, base_dir=str(tmp_path)) as real, \
                Scenario(model_zygote, base_dir=str(tmp_path)) as model:

            def spawn(name: str) -> None:
                real.spawn(name)
                model.spawn(name)

            def step(actor: str, op: str, *args: Any) -> Outcome:
                want = model.actors[actor].do(op, *args)
                got = real.actors[actor].do(op, *ids.real_args(op, args))
                real.trace[-1].expected = want
                made.extend((op, side.detail) for side in (want, got) if op in _GETS and side.ok)
                if not ids.agree(op, want, got):
                    raise Differ(f"{actor}: {op}{args!r}: the model predicts {want}, the kernel gave {got}")
                return want

            try:
                script(spawn, step)
            except Differ:
                return list(real.trace)
    finally:
        model_zygote.close()
        remover = KernelProcessOps()
        for op, ident in made:
            try:
                if op == "semget":
                    remover.semctl(ident, 0, IPC_RMID)
                else:
                    getattr(remover, _GETS[op])(ident)
            except OSError:
                pass  # removed by the script, or by the other side's twin
    raise AssertionError(f"{mutant} never disagreed with the kernel: the script shows nothing")


def empty_pipe_read(spawn, step):
    spawn("a")
    r, _w = step("a", "pipe").detail
    step("a", "read", r, 3)  # the broken model says b"" at once; the kernel sleeps


def dup_number(spawn, step):
    spawn("a")
    fd = step("a", "open", "f", os.O_RDWR | os.O_CREAT, 0o600).detail
    step("a", "dup", fd)  # the broken model says the same number; the kernel the lowest free one


def joined_messages(spawn, step):
    spawn("a")
    spawn("b")
    q = step("a", "msgget", IPC_PRIVATE, IPC_CREAT | 0o600).detail
    step("b", "msgsnd", q, 1, b"ab", 0)
    step("b", "msgsnd", q, 1, b"cd", 0)
    step("a", "msgrcv", q, 100, 0, 0)  # the broken model joins both messages


BROKEN_MODELS = {
    "pipe": ("tests.mutants.pipe:EmptyPipeReadReturnsEof", empty_pipe_read),
    "fd": ("tests.mutants.fd:DupReturnsSameNumber", dup_number),
    "sysv.msg": ("tests.mutants.sysv_msg:ReceiveJoinsMessages", joined_messages),
}


@needs_cc
@pytest.mark.parametrize("family", sorted(BROKEN_MODELS))
def test_c_reproducer_of_a_broken_model_reproduces(family, kernel_zygote, tmp_path):
    mutant, script = BROKEN_MODELS[family]
    trace = lockstep(kernel_zygote, mutant, tmp_path, script)
    failing = trace[-1]
    assert failing.expected is not None and failing.expected != failing.outcome
    source = tmp_path / "repro" / "failure.c"
    assert write_c_reproducer(trace, source, title=f"{family} broken model") is None
    run = build_and_run(source)
    assert run.returncode == 1, f"exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    # The model's wrong expectation against what the kernel really does.
    line = (f"step {len(trace)}: {failing.actor} {failing.op}(")
    shown = [text for text in run.stdout.splitlines() if text.startswith(line)]
    assert shown, run.stdout
    assert f"expected {canonical(failing.expected)}, got {canonical(failing.outcome)}" in shown[0], run.stdout
    assert "differs from what was expected" in shown[0]
    assert "reproduced: 1 step differs from what was expected" in run.stdout
    # Every earlier step matched its (correct) prediction.
    assert run.stdout.count("<-- differs") == 1, run.stdout
    assert "went differently" not in run.stdout


@pytest.mark.parametrize("family", sorted(BROKEN_MODELS))
def test_python_reproducer_of_a_broken_model_reproduces(family, kernel_zygote, tmp_path):
    mutant, script = BROKEN_MODELS[family]
    trace = lockstep(kernel_zygote, mutant, tmp_path, script)
    path = tmp_path / "repro" / "failure.py"
    write_reproducer(trace, path, KERNEL, title=f"{family} broken model")
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 1, f"exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    assert f"expected {trace[-1].expected}" in run.stdout
    assert f"now      {trace[-1].outcome}" in run.stdout


# -- a trace that matches ---------------------------------------------------------
def matching(steps: list[Step]) -> list[Step]:
    """A copy of the trace in which every step expects the outcome it had."""
    trace = list(steps)
    for step in trace:
        step.expected = step.outcome
    return trace


def rich_trace(zygote: ZygoteClient, base: Path) -> list[Step]:
    """Most translated operations, their results as the kernel backend gave them."""
    with Scenario(zygote, base_dir=str(base)) as sc:
        a = sc.spawn("a")
        fd = a.call("open", "f", os.O_RDWR | os.O_CREAT, 0o600)
        a.do("write", fd, b"hello\n\x00'\"\\\xff")
        a.do("lseek", fd, 0, os.SEEK_SET)
        a.do("read", fd, 100)
        a.do("dup", fd)
        a.do("dup2", fd, 9)
        a.do("dup3", fd, 8, os.O_CLOEXEC)
        a.do("fcntl", fd, fcntl.F_GETFL)
        a.do("fcntl", 8, fcntl.F_GETFD)
        a.do("close", 42)
        a.do("fstat", fd)
        a.do("stat", "f")
        a.do("ftruncate", fd, 3)
        a.do("mkfifo", "p", 0o600)
        a.do("stat", "p")
        a.do("unlink", "p")
        a.do("stat", "p")
        a.do("fd_list")
        r, w = a.call("pipe")
        b = a.fork("b")
        a.do("kcmp_file", ActorRef("b"), r, r)
        b.do("read", r, 5)  # blocked
        a.do("write", w, b"abc")  # ... until this write
        b.do("signal", signal.SIGUSR1, "count")
        a.do("kill", ActorRef("b"), signal.SIGUSR1)
        b.do("signal_count", signal.SIGUSR1)
        b.do("sigprocmask", "block", (signal.SIGUSR2,))
        a.do("sigqueue", ActorRef("b"), signal.SIGUSR2, 7)
        b.do("sigpending")
        b.do("sigtimedwait", (signal.SIGUSR2,), 10**9)
        a.do("setvar", "x", 5)
        a.do("getvar", "x")
        a.do("getvar", "y")
        s1, s2 = a.call("socketpair")
        a.do("sendfd", s1, fd)
        a.do("recvfd", s2)
        a.do("open_proc_fd", ActorRef("b"), r, os.O_RDONLY)
        q = a.call("msgget", IPC_PRIVATE, IPC_CREAT | 0o600)
        b.do("msgsnd", q, 2, b"m\x01", 0)
        a.do("msgctl_stat", q)
        a.do("msgrcv", q, 10, 0, 0)
        a.do("msgrcv", q, 10, 0, IPC_NOWAIT)
        a.do("msgctl_set", q, {"mode": 0o640})
        a.do("msgctl_rmid", q)
        sem = a.call("semget", IPC_PRIVATE, 2, IPC_CREAT | 0o600)
        a.do("semctl", sem, 0, SETVAL, 3)
        a.do("semop", sem, ((0, -1, 0),))
        a.do("semctl", sem, 0, GETALL)
        a.do("semctl", sem, 0, GETPID)
        a.do("semctl_stat", sem)
        a.do("semctl_set", sem, {"mode": 0o640})
        b.do("semop", sem, ((1, -1, 0),))  # blocked
        a.do("semctl", sem, 1, SETVAL, 1)  # ... until this
        a.do("semctl", sem, 0, IPC_RMID)
        shm = a.call("shmget", IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
        h = a.call("shmat", shm, 0)
        a.do("shm_write", h, 10, b"xyz")
        b.do("shmat", shm, SHM_RDONLY)
        b.do("shm_read", 0, 10, 3)
        b.do("shm_read", 0, 4095, 2)
        a.do("shmctl_stat", shm)
        a.do("shmdt", h)
        a.do("shmdt", h)
        a.do("shmctl_rmid", shm)
        a.do("getpid")
        b.do("exit", 3)
        a.do("wait", ActorRef("b"))
    return matching(sc.trace)


@needs_cc
def test_c_reproducer_of_a_matching_trace_exits_0(kernel_zygote, tmp_path):
    trace = rich_trace(kernel_zygote, tmp_path)
    assert any(s.outcome.kind == "blocked" for s in trace), "the trace should exercise blocked calls"
    assert any(s.outcome.kind == "errno" for s in trace), "the trace should exercise errors"
    source = tmp_path / "matching.c"
    assert write_c_reproducer(trace, source, title="everything matches") is None
    run = build_and_run(source)
    assert run.returncode == 0, f"exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    assert "differ" not in run.stdout, run.stdout
    assert "did not reproduce" in run.stdout
    operations = [s for s in trace if s.op != "spawn"]
    assert run.stdout.count(": expected ") == len(operations)
    # The completions the settling saw are shown, and agree.
    assert "then b: recorded -> b'abc', got -> b'abc'" in run.stdout


def socket_trace(zygote: ZygoteClient, base: Path) -> list[Step]:
    """Named sockets: TCP on a port the kernel picks, AF_UNIX paths, meeting points."""
    with Scenario(zygote, base_dir=str(base)) as sc:
        a, b = sc.spawn("a"), sc.spawn("b")
        listener = a.call("socket", "inet", "stream")
        a.do("bind", listener, 0)
        a.do("listen", listener, 4)
        port = a.call("local_port", listener)
        client = b.call("socket", "inet", "stream")
        b.do("connect", client, port)
        conn = a.call("accept", listener)
        b.do("send", client, b"over tcp", ())
        a.do("recv", conn, 100, ())
        a.do("poll", conn, ("POLLIN",), 0)  # nothing more to read: ()
        b.do("poll", client, ("POLLIN", "POLLOUT"), -1)
        a.do("accept", listener)  # blocked: nobody else connects ...
        b.do("connect", b.call("socket", "inet", "stream"), port)  # ... until now
        server = a.call("socket", "unix", "seqpacket")
        a.do("bind", server, "srv.sock")
        a.do("bind", a.call("socket", "unix", "seqpacket"), "srv.sock")  # EADDRINUSE
        a.do("listen", server, 1)
        b.do("connect", b.call("socket", "unix", "seqpacket"), "srv.sock")
        b.do("connect", b.call("socket", "unix", "stream"), "absent.sock")  # ENOENT
        meet = a.call("unix_bind", "meet.sock")
        b.do("send", b.call("unix_connect", "meet.sock"), b"hi", ())
        a.do("recv", meet, 10, ())
        b.do("unix_connect", "nobody.sock")  # ENOENT
    return matching(sc.trace)


@needs_cc
def test_a_socket_trace_replays_in_c_with_the_replays_own_port(kernel_zygote, tmp_path):
    trace = socket_trace(kernel_zygote, tmp_path)
    assert {s.outcome.kind for s in trace} >= {"value", "errno", "blocked"}
    source = tmp_path / "sockets.c"
    assert write_c_reproducer(trace, source, title="sockets") is None
    run = build_and_run(source)
    assert run.returncode == 0, f"exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    assert "differ" not in run.stdout and "did not reproduce" in run.stdout, run.stdout
    assert "expected -> error EADDRINUSE, got -> error EADDRINUSE" in run.stdout
    assert run.stdout.count("expected -> error ENOENT, got -> error ENOENT") == 2


def test_a_socket_trace_replays_in_python_with_the_replays_own_port(kernel_zygote, tmp_path):
    trace = socket_trace(kernel_zygote, tmp_path)
    path = tmp_path / "sockets.py"
    write_reproducer(trace, path, KERNEL, title="sockets")
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 0, f"exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    assert "did not reproduce" in run.stdout and "differs" not in run.stdout, run.stdout


@needs_cc
def test_deaths_interruptions_and_timeouts_replay(kernel_zygote, tmp_path):
    with Scenario(kernel_zygote, base_dir=str(tmp_path)) as sc:
        a = sc.spawn("a")
        r, w = a.call("pipe")
        b = a.fork("b")
        c = sc.spawn("c")
        b.do("close", w)
        a.do("close", r)
        b.do("signal", signal.SIGUSR1, "count")
        b.do("read", r, 10)  # blocked: a still holds the write end
        a.do("kill", ActorRef("b"), signal.SIGUSR1)  # the handler interrupts it: EINTR
        b.do("read", r, 10)
        a.do("kill", ActorRef("b"), signal.SIGKILL)  # a death seen while settling
        a.do("wait", ActorRef("b"))
        sem = c.call("semget", IPC_PRIVATE, 1, IPC_CREAT | 0o600)
        c.do("semtimedop", sem, ((0, -1, 0),), 50_000_000)
        c.finish()  # EAGAIN when the timeout runs out
        c.do("sigprocmask", "block", (signal.SIGUSR2,))
        c.do("sigtimedwait", (signal.SIGUSR2,), 20_000_000)
        c.finish()
        c.do("semctl", sem, 0, IPC_RMID)
        a.do("write", w, b"x")  # no reader left: SIGPIPE
        trace = list(sc.trace)
    for step in trace:
        step.expected = step.outcome
    kinds = {s.outcome.kind for s in trace} | {e.kind for s in trace for e in s.events.values()}
    assert kinds == {"value", "errno", "blocked", "signal"}, kinds
    source = tmp_path / "deaths.c"
    assert write_c_reproducer(trace, source, title="deaths") is None
    run = build_and_run(source)
    assert run.returncode == 0, f"exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    assert "differ" not in run.stdout, run.stdout
    assert "then b: recorded -> error EINTR, got -> error EINTR" in run.stdout
    assert "then b: recorded -> killed by SIGKILL, got -> killed by SIGKILL" in run.stdout
    assert "c finish(): expected -> error EAGAIN, got -> error EAGAIN" in run.stdout
    assert "expected -> killed by SIGPIPE, got -> killed by SIGPIPE" in run.stdout


@needs_cc
def test_a_changed_expectation_in_the_middle_is_reported(kernel_zygote, tmp_path):
    trace = rich_trace(kernel_zygote, tmp_path)
    wrong = next(s for s in trace if s.op == "msgctl_stat")
    wrong.expected = Value({**wrong.outcome.detail, "qnum": 5})
    source = tmp_path / "one-wrong.c"
    assert write_c_reproducer(trace, source, title="one expectation wrong") is None
    run = build_and_run(source)
    assert run.returncode == 1, run.stdout
    assert "'qnum': 5" in run.stdout and run.stdout.count("<-- differs") == 1


@needs_cc
def test_a_wrong_prediction_of_what_settling_shows_is_reported(kernel_zygote, tmp_path):
    """A step may carry the model's prediction of the completions and deaths after it."""
    trace = rich_trace(kernel_zygote, tmp_path)
    woke = next(s for s in trace if s.op == "write" and s.events)
    assert woke.events == {"b": Value(b"abc")}
    woke.expected_events = {"b": Value(b"ab")}  # type: ignore[attr-defined]
    quiet = next(s for s in trace if s.op == "kcmp_file")
    quiet.expected_events = {}  # type: ignore[attr-defined]
    source = tmp_path / "events.c"
    assert write_c_reproducer(trace, source, title="a wrong event") is None
    run = build_and_run(source)
    assert run.returncode == 1, run.stdout
    assert ("then b: expected -> b'ab', got -> b'abc'  <-- differs from what was expected"
            in run.stdout), run.stdout
    assert run.stdout.count("<-- differs") == 1


@needs_cc
@pytest.mark.skipif(os.geteuid() != 0, reason="setting System V limits needs a private IPC namespace (root)")
def test_the_recorded_system_v_limits_are_set_again(tmp_path):
    """A spec may change a limit (SHMMAX) for its run; the replay must run with it too."""
    trace = [Step("a", "spawn", (), Value(ActorRef("a"))),
             Step("a", "shmget", (IPC_PRIVATE, 8193, IPC_CREAT | 0o600), Errno("EINVAL"),
                  expected=Errno("EINVAL"))]
    with_limit = tmp_path / "with-limit.c"
    assert write_c_reproducer(trace, with_limit, title="limits", limits={"shmmax": "8192"}) is None
    run = build_and_run(with_limit)
    assert run.returncode == 0, run.stdout
    assert "/proc/sys/kernel/shmmax set to 8192" in run.stdout
    # Without the limit the kernel's default SHMMAX allows the segment: no longer the same run.
    without = tmp_path / "without-limit.c"
    assert write_c_reproducer(trace, without, title="no limits") is None
    run = build_and_run(without)
    assert run.returncode == 1 and "expected -> error EINVAL, got -> 0" in run.stdout, run.stdout


# -- no translation, no program ----------------------------------------------------
@pytest.mark.parametrize("op,args", [("shell", ("true",)), ("mmap", (3, 4096, "rw", "shared")),
                                     ("exec_self", ()), ("semctl", (0, 0, 2, 0))])
def test_an_untranslatable_operation_gives_a_reason_and_no_file(op, args, tmp_path):
    trace = [Step("a", "spawn", (), Value(ActorRef("a"))),
             Step("a", "open", ("f", os.O_RDWR | os.O_CREAT, 0o600), Value(3)),
             Step("a", op, args, Value(0), expected=Value(1))]
    source = tmp_path / "none.c"
    why = write_c_reproducer(trace, source, title="untranslatable")
    assert why is not None and why.startswith("no C reproducer: ") and "\n" not in why
    assert op in why
    assert not source.exists()


# -- the results writer ------------------------------------------------------------------
@needs_cc
def test_results_of_a_failing_spec_link_a_c_reproducer(tmp_path):
    report = tmp_path / "report"
    cmd = [sys.executable, "-m", "pytest", "specs/pipe/test_pipe_read.py", "-k", "test_read_waits_for_a_writer",
           "--backend", "tests.mutants.pipe:EmptyPipeReadReturnsEof", "--ipc-profile", "quick",
           "--ipc-report-dir", str(report), "-q", "-p", "no:cacheprovider"]
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    results = json.loads((report / "results.json").read_text())
    clause = next(c for c in results["clauses"] if c["id"] == "pipe.read.blocks-when-empty")
    cx = clause["counterexample"]
    assert clause["outcome"] == "failed" and cx["reproducer_c"] and cx["reproducer_c_note"] is None
    assert cx["reproducer_c"] in (report / "report.html").read_text()
    assert cx["reproducer_c"] in (report / "summary.md").read_text()
    # The spec expected the read to sleep; the mutant backend returned at once.
    # On the real kernel the read sleeps: the expectation holds, nothing reproduces.
    run = build_and_run(report / cx["reproducer_c"])
    assert run.returncode == 0, run.stdout
    assert "expected -> blocked, got -> blocked" in run.stdout
    assert "the suite's run gave -> b''" in run.stdout
