"""Run one actor's operations on the real kernel, in a fresh forked process.

The child is prepared like a harness actor: descriptors 0, 1 and 2 share one
description of /dev/null opened O_RDWR, every signal has its default action,
RLIMIT_NOFILE is lowered to the model's ``nofile``, and the working
directory is a private temporary directory. Results travel back on a pipe
parked at a high descriptor (excluded from ``fd_list``) one step at a time,
so a child killed mid-sequence (SIGPIPE) still reports the steps before.

Only sequences that never block can run here; callers cut a sequence at the
first step the model says blocks. An alarm kills a child that blocks anyway,
which then shows up as a mismatch rather than a hung test.
"""

from __future__ import annotations

import errno
import os
import pickle
import resource
import shutil
import signal
import tempfile
from typing import Any

from conformance.backends.kernel import KernelProcessOps as CSemanticsOps
from conformance.backends.ops import ActorRef
from conformance.outcome import Errno, Outcome, Value, from_wait_status

REPORT_FD = 900
ALARM_SECONDS = 5

Step = tuple[str, tuple[Any, ...]]


def run_real(steps: list[Step], *, nofile: int = 64, actor: str = "a") -> list[Outcome]:
    """Outcomes of ``steps`` performed by one fresh process on the kernel."""
    workdir = tempfile.mkdtemp(prefix="model-diff-")
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            _child(steps, workdir, write_end, nofile, actor)
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 1 << 16):
            chunks.append(chunk)
        _pid, status = os.waitpid(pid, 0)
    finally:
        os.close(read_end)
        shutil.rmtree(workdir, ignore_errors=True)
    outcomes = _decode(b"".join(chunks))
    if len(outcomes) < len(steps):
        outcomes.append(from_wait_status(status))
    return outcomes


def _decode(raw: bytes) -> list[Outcome]:
    outcomes = []
    while raw:
        size = int.from_bytes(raw[:4], "little")
        kind, detail = pickle.loads(raw[4 : 4 + size])
        raw = raw[4 + size :]
        if kind == "crash":
            raise AssertionError(f"the real-kernel child crashed: {detail}")
        outcomes.append(Errno(detail) if kind == "errno" else Value(detail))
    return outcomes


def _child(steps: list[Step], workdir: str, report: int, nofile: int,
           actor: str) -> None:  # pragma: no cover - runs in the child
    try:
        os.dup2(report, REPORT_FD)
        devnull = os.open("/dev/null", os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(devnull, target)
        os.closerange(3, REPORT_FD)
        os.closerange(REPORT_FD + 1, 1 << 16)
        os.chdir(workdir)
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        for sig in signal.valid_signals():
            if sig not in (signal.SIGKILL, signal.SIGSTOP):
                try:
                    signal.signal(sig, signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        signal.alarm(ALARM_SECONDS)
        ops = CSemanticsOps(control_fd=REPORT_FD)
        me = os.getpid()
        for op, args in steps:
            real_args = tuple(me if isinstance(a, ActorRef) else a for a in args)
            try:
                result: tuple[str, Any] = ("value", getattr(ops, op)(*real_args))
            except OSError as exc:
                result = ("errno", errno.errorcode.get(exc.errno or 0, f"E#{exc.errno}"))
            if op == "getpid":
                result = ("value", ActorRef(actor))
            _send(result)
    except BaseException as exc:  # noqa: BLE001 - reported, never raised in a fork
        try:
            _send(("crash", f"{type(exc).__name__}: {exc}"))
        finally:
            os._exit(70)
    os._exit(0)


def _send(record: tuple[str, Any]) -> None:  # pragma: no cover - runs in the child
    payload = pickle.dumps(record)
    data = len(payload).to_bytes(4, "little") + payload
    while data:
        data = data[os.write(REPORT_FD, data):]
