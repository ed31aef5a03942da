"""The model on its own: its API contract and behaviour the kernel tests cannot reach.

These need no kernel: how the facade reports steps and events, what it
refuses, and the branches that depend on capabilities or page sizes this
machine does not have (they follow ``fs/pipe.c``).
"""

from __future__ import annotations

import os
import signal

import pytest

from conformance.backends.ops import ActorRef
from conformance.models import ModelUsageError, ProcessModel, Unmodelled
from conformance.outcome import BLOCKED, Errno, Exited, Killed, Value

F_GETFL, F_SETFL, F_SETPIPE_SZ, F_GETPIPE_SZ = 3, 4, 1031, 1032


def model(**config: object) -> ProcessModel:
    m = ProcessModel(**config)  # type: ignore[arg-type]
    m.spawn("a")
    return m


def test_fresh_actor_has_dev_null_on_0_1_2_sharing_one_description() -> None:
    m = model()
    assert m.step("a", "fd_list") == Value((0, 1, 2))
    assert m.step("a", "kcmp_file", ActorRef("a"), 0, 2) == Value(True)
    assert m.step("a", "fcntl", 1, F_GETFL, 0) == Value(os.O_RDWR | 0o100000)
    assert m.step("a", "read", 0, 10) == Value(b"")
    assert m.step("a", "write", 1, b"abc") == Value(3)
    assert m.step("a", "lseek", 2, 99, os.SEEK_SET) == Value(0)
    assert m.step("a", "fstat", 0) == Value(("c", 0))
    assert m.step("a", "getpid") == Value(ActorRef("a"))


def test_blocked_and_alive_sets_and_events_reported_once() -> None:
    m = model()
    m.step("a", "pipe")
    assert m.step("a", "fork", "b") == Value(ActorRef("b"))
    assert m.step("b", "read", 3, 10) == BLOCKED
    assert m.blocked() == {"b"} and m.alive() == {"a", "b"}
    with pytest.raises(ModelUsageError):
        m.step("b", "getpid")
    assert m.step("a", "write", 4, b"hi") == Value(2)
    assert m.settle() == {"b": Value(b"hi")}
    assert m.settle() == {}
    assert m.step("a", "kill", ActorRef("b"), signal.SIGTERM) == Value(0)
    assert m.settle() == {"b": Killed("SIGTERM")}
    assert m.alive() == {"a"}
    with pytest.raises(ModelUsageError):
        m.step("b", "getpid")


def test_exit_status_wait_and_zombies() -> None:
    m = model()
    m.step("a", "fork", "b")
    assert m.step("a", "wait", ActorRef("b")) == BLOCKED
    assert m.step("b", "exit", 258) == Exited(2)
    assert m.settle() == {"a": Value(("exited", 2))}
    assert m.step("a", "wait", ActorRef("b")) == Errno("ECHILD")
    assert m.step("a", "kill", ActorRef("b"), 0) == Errno("ESRCH")
    m.spawn("r")
    assert m.step("a", "wait", ActorRef("r")) == Errno("ECHILD")
    m.step("r", "exit", 0)
    # Nobody can reap a spawned actor: it stays a zombie, which kill() finds.
    assert m.step("a", "kill", ActorRef("r"), signal.SIGTERM) == Value(0)
    assert m.step("a", "kcmp_file", ActorRef("r"), 0, 0) == Errno("EBADF")


def test_self_kill_is_the_steps_outcome() -> None:
    m = model()
    assert m.step("a", "kill", ActorRef("a"), signal.SIGTERM) == Killed("SIGTERM")
    assert m.settle() == {}
    m.spawn("b")
    m.step("b", "signal", signal.SIGTERM, "count")
    assert m.step("b", "kill", ActorRef("b"), signal.SIGTERM) == Value(0)
    assert m.step("b", "signal_count", signal.SIGTERM) == Value(1)
    assert m.step("b", "kill", ActorRef("b"), signal.SIGCHLD) == Value(0)  # default: ignored
    assert m.step("b", "kill", ActorRef("b"), 65) == Errno("EINVAL")
    assert m.step("b", "signal", signal.SIGKILL, "ignore") == Errno("EINVAL")


def test_refusals() -> None:
    m = model()
    with pytest.raises(Unmodelled):
        m.step("a", "shell", "true")
    with pytest.raises(Unmodelled):
        m.step("a", "open", "dir/f", os.O_RDONLY)
    with pytest.raises(Unmodelled):
        m.step("a", "kill", ActorRef("a"), signal.SIGSTOP)
    with pytest.raises(ModelUsageError):
        m.step("a", "no_such_op")
    with pytest.raises(ModelUsageError):
        m.step("a", "write", 1, "text")
    with pytest.raises(ModelUsageError):
        m.spawn("a")


def test_privileged_may_grow_pipes_past_pipe_max_size() -> None:
    for privileged, want in ((True, Value(1 << 21)), (False, Errno("EPERM"))):
        m = model(privileged=privileged)
        m.step("a", "pipe")
        assert m.step("a", "fcntl", 4, F_SETPIPE_SZ, (1 << 20) + 1) == want
        # Shrinking or staying below the limit needs no privilege.
        assert m.step("a", "fcntl", 4, F_SETPIPE_SZ, 8192) == Value(8192)


def test_large_pages() -> None:
    m = model(page_size=65536, pipe_max_size=1 << 20)
    m.step("a", "pipe2", os.O_NONBLOCK)
    assert m.step("a", "fcntl", 3, F_GETPIPE_SZ, 0) == Value(1 << 20)
    assert m.step("a", "fcntl", 3, F_SETPIPE_SZ, 1) == Value(65536)
    assert m.step("a", "write", 4, b"x" * 4097) == Value(4097)
    # 70000 = 65536 + 4464: the 4464-byte remainder merges into the only
    # slot, then no slot is free for the whole page: a short write.
    assert m.step("a", "write", 4, b"y" * 70000) == Value(4464)
    assert m.step("a", "write", 4, b"z" * 65536) == Errno("EAGAIN")
    assert m.step("a", "write", 4, b"z" * 1000) == Value(1000)


def test_fifo_buffer_lives_while_any_description_is_open() -> None:
    m = model()
    m.step("a", "mkfifo", "p")
    assert m.step("a", "open", "p", os.O_RDWR) == Value(3)
    m.step("a", "write", 3, b"kept")
    assert m.step("a", "open", "p", os.O_RDONLY | os.O_NONBLOCK) == Value(4)
    m.step("a", "close", 3)
    assert m.step("a", "read", 4, 10) == Value(b"kept")
    m.step("a", "write", 4, b"")  # EBADF: read-only, nothing changes
    m.step("a", "open", "p", os.O_RDWR)
    m.step("a", "write", 3, b"gone")
    m.step("a", "close", 3)
    m.step("a", "close", 4)
    m.step("a", "open", "p", os.O_RDWR | os.O_NONBLOCK)
    assert m.step("a", "read", 3, 10) == Errno("EAGAIN")


def test_orders_that_do_not_matter_are_not_refused() -> None:
    m = model()
    m.step("a", "pipe")
    for child in "bcd":
        m.step("a", "fork", child)
        m.step(child, "close", 4)
    for child in "bcd":
        assert m.step(child, "read", 3, 10) == BLOCKED
    assert m.step("a", "close", 4) == Value(0)
    assert m.settle() == {c: Value(b"") for c in "bcd"}
