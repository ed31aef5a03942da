"""One process, model and kernel in lockstep, inside a brand-new IPC namespace.

:func:`run_fresh` forks a child that enters a new IPC namespace
(``unshare(CLONE_NEWIPC)``, which needs root), optionally lowers limits by
writing ``/proc/sys/kernel/*`` *of that namespace*, builds the model from
``Limits.from_proc()`` there, and performs every step on both sides: first
the model, then the kernel through :class:`~.libc.Libc`.

Why a fresh namespace: its id allocator starts where the model's does, so
ids are compared exactly (the model predicts the kernel's numbers); its
limits can be changed freely; and every object dies with it, so nothing can
leak into the test process's namespace.

A step the model says *blocks* is run on the kernel under a short interval
timer: the call must still be asleep when the timer fires, which makes it
fail with EINTR (the handler has no SA_RESTART) - that counts as
``BLOCKED`` - and the model is then told about the interruption
(:meth:`SysVModel.interrupt`), so both sides go on from the same state.

Results come back over a pipe step by step, so a child that a step kills
(SIGSEGV through a read-only attachment) still reports what came before.
"""

from __future__ import annotations

import errno
import faulthandler
import os
import pickle
import select
import signal
import time
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.harness.isolation import CLONE_NEWIPC
from conformance.models.errors import Unmodelled
from conformance.models.sysv import Limits, SysVModel
from conformance.outcome import BLOCKED, Errno, Outcome, from_wait_status

from .libc import Libc, libc

Step = tuple[str, tuple[Any, ...]]
#: how long a step the model says blocks must stay asleep on the kernel
BLOCK_PROBE_S = 0.02
#: a child that takes longer than this has blocked where the model said it would not
DEADLINE_S = 10.0

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a new IPC namespace needs root")


@dataclass
class Compared:
    index: int
    step: Step
    model: Outcome
    kernel: Outcome | None = None

    def __str__(self) -> str:
        op, args = self.step
        shown = ", ".join(f"<{len(a)} bytes>" if isinstance(a, bytes) and len(a) > 12 else repr(a)
                          for a in args)
        return f"{self.index:3}: {op}({shown}): model {self.model} kernel {self.kernel}"


@dataclass
class Run:
    records: list[Compared]
    #: why the model stopped early (Unmodelled), if it did
    unmodelled: str | None = None

    def assert_agree(self) -> None:
        for record in self.records:
            if record.model != record.kernel:
                trace = "\n".join(str(r) for r in self.records[:record.index + 1])
                raise AssertionError(f"model and kernel disagree at step {record.index}:\n{trace}")


def run_fresh(steps: list[Step], sysctl: dict[str, str] | None = None) -> Run:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        _child(steps, sysctl or {}, write_end)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while True:
            if not select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))[0]:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError("the kernel side blocked where the model said it would not")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _pid, status = os.waitpid(pid, 0)
    return _decode(b"".join(chunks), steps, status)


def _decode(raw: bytes, steps: list[Step], status: int) -> Run:
    run = Run([])
    while raw:
        size = int.from_bytes(raw[:4], "little")
        kind, index, detail = pickle.loads(raw[4:4 + size])
        raw = raw[4 + size:]
        if kind == "crash":
            raise AssertionError(f"the child crashed: {detail}")
        if kind == "unmodelled":
            run.unmodelled = detail
        elif kind == "want":
            run.records.append(Compared(index, steps[index], detail))
        else:
            run.records[-1].kernel = detail
    if run.records and run.records[-1].kernel is None:
        run.records[-1].kernel = from_wait_status(status)  # the step killed it
    return run


def _child(steps: list[Step], sysctl: dict[str, str], report: int) -> None:  # pragma: no cover
    def send(record: tuple[str, int, Any]) -> None:
        payload = pickle.dumps(record)
        os.write(report, len(payload).to_bytes(4, "little") + payload)

    try:
        faulthandler.disable()  # let a SIGSEGV kill, as it would kill a C program
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, lambda *_: None)  # no SA_RESTART: the sleeper gets EINTR
        if libc.unshare(CLONE_NEWIPC) != 0:
            raise OSError(errno.EPERM, "unshare(CLONE_NEWIPC)")
        for name, value in sysctl.items():
            with open(f"/proc/sys/kernel/{name}", "w") as f:
                f.write(value)
        model = SysVModel(Limits.from_proc())
        model.spawn("a")
        kernel = Libc("a")
        for index, (op, args) in enumerate(steps):
            try:
                want = model.step("a", op, *args)
            except Unmodelled as exc:
                send(("unmodelled", index, str(exc)))
                break
            send(("want", index, want))
            if want == BLOCKED:
                signal.setitimer(signal.ITIMER_REAL, BLOCK_PROBE_S)
                got = kernel.run(op, args)
                signal.setitimer(signal.ITIMER_REAL, 0)
                if got == Errno("EINTR"):
                    got = BLOCKED
                model.interrupt("a")
                model.settle()
            else:
                got = kernel.run(op, args)
            send(("got", index, got))
            if "a" not in model.alive():
                break
    except BaseException as exc:  # noqa: BLE001 - reported, never raised in a fork
        try:
            send(("crash", -1, f"{type(exc).__name__}: {exc}"))
        finally:
            os._exit(70)
    os._exit(0)
