"""Several actors, model against kernel, through the real harness.

These scripts cover what one process cannot show: opens and calls that
sleep, who is woken first, signals interrupting sleepers, deaths closing
descriptors, fork sharing descriptions, wait, and descriptors passed
between processes.
"""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.harness.zygote import ZygoteClient
from conformance.models import Unmodelled
from conformance.outcome import BLOCKED, Errno, Value

from .multi import Script, Twin, new_model, run_both

NB = os.O_NONBLOCK
A, B, C = ActorRef("a"), ActorRef("b"), ActorRef("c")
TERM, PIPE, CHLD = signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD


def _spawn(*names: str) -> Script:
    return [(n, "spawn", ()) for n in names]


def test_fifo_open_waits_for_the_other_side(zygote: ZygoteClient) -> None:
    results = run_both(zygote, _spawn("a", "b", "c") + [
        ("a", "mkfifo", ("p", 0o644)),
        ("a", "open", ("p", os.O_RDONLY, 0)),           # sleeps: no writer yet
        ("b", "open", ("p", os.O_WRONLY | NB, 0)),      # the sleeping reader counts
        ("b", "write", (3, b"hello")),
        ("a", "read", (3, 100)),
        ("c", "open", ("p", os.O_WRONLY, 0)),           # readers exist: no sleep
        ("b", "close", (3,)), ("c", "close", (3,)),
        ("a", "read", (3, 100)), ("a", "read", (3, 100)),
    ])
    assert results[1][0] == BLOCKED and results[2][1] == {"a": Value(3)}


def test_open_and_close_still_wakes_a_fifo_opener(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a", "b") + [
        ("a", "mkfifo", ("p", 0o644)),
        ("a", "open", ("p", os.O_WRONLY | NB, 0)),     # ENXIO: no reader
        ("a", "open", ("p", os.O_WRONLY, 0)),          # sleeps
        ("b", "open", ("p", os.O_RDONLY | NB, 0)),     # wakes a
        ("b", "close", (3,)),
        ("a", "signal", (PIPE, "count")),
        ("a", "write", (3, b"x")), ("a", "signal_count", (PIPE,)),
        ("b", "open", ("p", os.O_RDWR, 0)), ("b", "open", ("p", 3, 0)),
    ])


def test_interrupted_fifo_open_is_undone(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a", "b") + [
        ("a", "mkfifo", ("p", 0o644)), ("a", "signal", (TERM, "count")),
        ("a", "open", ("p", os.O_RDONLY, 0)),
        ("b", "kill", (A, TERM)),                       # a: EINTR
        ("b", "open", ("p", os.O_WRONLY | NB, 0)),      # no reader left: ENXIO
        ("a", "signal_count", (TERM,)), ("a", "fd_list", ()),
    ])


def test_signal_interrupts_sleepers(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a", "b") + [
        ("a", "signal", (TERM, "count")),
        ("a", "pipe", ()),
        ("a", "fcntl", (4, 1031, 4096)),
        ("a", "read", (3, 10)),                         # empty: sleeps
        ("b", "kill", (A, TERM)),                       # EINTR
        ("a", "write", (4, b"x" * 10000)),              # one page fits, then sleeps
        ("b", "kill", (A, TERM)),                       # returns the 4096 written
        ("a", "write", (4, b"y")),                      # full: sleeps, nothing written
        ("b", "kill", (A, TERM)),                       # EINTR
        ("a", "signal_count", (TERM,)),
        ("b", "kill", (A, signal.SIGUSR1)),             # default action: dies
    ])


def test_sleeping_readers_are_served_in_order(zygote: ZygoteClient) -> None:
    results = run_both(zygote, _spawn("a") + [
        ("a", "pipe", ()), ("a", "fork", ("b",)), ("a", "fork", ("c",)),
        ("b", "read", (3, 3)), ("c", "read", (3, 100)),
        ("a", "write", (4, b"0123456789")),     # b gets 3 and wakes c, which gets 7
        ("c", "read", (3, 100)), ("b", "read", (3, 100)),
        ("a", "write", (4, b"ab")),             # c slept first: c is served first
        ("a", "close", (4,)), ("c", "close", (4,)),
        ("a", "kill", (B, TERM)),               # b held the last write end
    ])
    assert results[5][1] == {"b": Value(b"012"), "c": Value(b"3456789")}
    assert results[8][1] == {"c": Value(b"ab")}


def test_sleeping_writers_are_served_in_order(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a") + [
        ("a", "pipe", ()), ("a", "fcntl", (4, 1031, 8192)),
        ("a", "write", (4, b"." * 8192)),
        ("a", "fork", ("b",)), ("a", "fork", ("c",)),
        ("b", "write", (4, b"b" * 6000)), ("c", "write", (4, b"c" * 10)),
        ("a", "read", (3, 4096)),     # frees a page: b writes 4096, sleeps behind c
        ("a", "read", (3, 8192)),     # c, now first, writes; then wakes b, which finishes
        ("a", "read", (3, 100000)),
    ])


def test_resizing_wakes_one_writer(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a") + [
        ("a", "pipe", ()), ("a", "fcntl", (4, 1031, 4096)), ("a", "write", (4, b"." * 4096)),
        ("a", "fork", ("b",)), ("a", "fork", ("c",)),
        ("b", "write", (4, b"b")), ("c", "write", (4, b"c")),
        ("a", "fcntl", (4, 1031, 4096)),      # no room made: b goes to the back
        ("a", "fcntl", (4, 1031, 8192)),      # one new slot: c, now first, takes it
        ("a", "read", (3, 100000)),
    ])


def test_last_reader_leaving_a_sleeping_writer(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a") + [
        ("a", "pipe", ()), ("a", "fork", ("b",)), ("a", "fork", ("c",)),
        ("a", "close", (3,)), ("b", "close", (3,)),
        ("b", "signal", (PIPE, "ignore")),
        ("a", "write", (4, b"a" * 70000)), ("b", "write", (4, b"b" * 10)),
        ("c", "kill", (C, TERM)),      # last reader dies: a killed by SIGPIPE, b EPIPE
    ])


def test_fork_shares_descriptions_and_wait(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a", "x") + [
        ("a", "open", ("f", os.O_RDWR | os.O_CREAT, 0o644)), ("a", "write", (3, b"abcdef")),
        ("a", "setvar", ("v", 7)), ("a", "fork", ("b",)),
        ("b", "getvar", ("v",)), ("b", "kcmp_file", (A, 3, 3)), ("b", "lseek", (3, 1, 0)),
        ("a", "read", (3, 2)), ("a", "open_proc_fd", (B, 3, os.O_RDONLY)),
        ("a", "kcmp_file", (B, 4, 3)), ("a", "read", (4, 3)), ("x", "kcmp_file", (B, 3, 3)),
        ("x", "wait", (B,)),
        ("b", "kill", (B, TERM)),
        ("a", "kill", (B, 0)), ("a", "kcmp_file", (B, 3, 3)), ("a", "open_proc_fd", (B, 3, 0)),
        ("a", "wait", (B,)), ("a", "wait", (B,)), ("a", "kill", (B, TERM)),
        ("a", "fork", ("c",)), ("a", "wait", (C,)), ("c", "exit", (258,)),
    ])


def test_sigchld(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a") + [
        ("a", "pipe", ()), ("a", "signal", (CHLD, "count")),
        ("a", "fork", ("b",)), ("b", "close", (4,)), ("a", "fork", ("c",)),
        ("a", "read", (3, 10)),
        ("b", "exit", (1,)),         # b held no write end: a's read gets EINTR
        ("a", "close", (4,)),
        ("a", "read", (3, 10)),
        ("c", "exit", (2,)),         # c held the last write end: EOF wins over EINTR
        ("a", "signal_count", (CHLD,)),
        ("a", "signal", (CHLD, "ignore")), ("a", "fork", ("d",)),
        ("d", "exit", (0,)), ("a", "wait", (ActorRef("d"),)), ("a", "wait", (C,)),
    ])


def test_descriptors_passed_between_processes(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a") + [
        ("a", "socketpair", ()), ("a", "pipe", ()), ("a", "fork", ("b",)),
        ("b", "close", (3,)), ("b", "close", (5,)), ("b", "close", (6,)),
        ("b", "recvfd", (4,)),                      # sleeps
        ("a", "sendfd", (3, 6)),                    # b gets the write end as 3
        ("a", "close", (6,)), ("a", "close", (4,)),
        ("b", "write", (3, b"via b")), ("a", "read", (5, 100)),
        ("a", "sendfd", (3, 5)), ("b", "close", (3,)),
        ("a", "read", (5, 100)),                    # EOF: b's copy was the last writer
        ("a", "close", (3,)), ("b", "recvfd", (4,)), ("b", "recvfd", (4,)),
    ])


def test_proc_reopen_of_pipes_and_fifos(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a", "b") + [
        ("a", "pipe", ()), ("a", "close", (3,)),
        ("b", "open_proc_fd", (A, 4, os.O_WRONLY)),    # no reader, but never sleeps
        ("b", "open_proc_fd", (A, 4, os.O_RDONLY)),    # a reader, through the write end
        ("a", "write", (4, b"hi")), ("b", "read", (4, 10)),
        ("a", "mkfifo", ("p", 0o644)), ("a", "open", ("p", os.O_RDWR, 0)),
        ("a", "unlink", ("p",)),
        ("b", "open_proc_fd", (A, 3, os.O_WRONLY)),    # the FIFO: a reader exists
        ("a", "close", (3,)),
        ("b", "open_proc_fd", (A, 4, os.O_DIRECT)),
        ("a", "signal", (TERM, "count")),
    ])


def test_wait_recvfd_and_deaths_while_asleep(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a", "x") + [
        ("a", "signal", (TERM, "count")), ("a", "socketpair", ()), ("a", "fork", ("b",)),
        ("a", "wait", (B,)), ("x", "kill", (A, TERM)),          # EINTR (C waitpid)
        ("a", "recvfd", (3,)), ("x", "kill", (A, TERM)),        # EINTR (C recvmsg)
        ("b", "close", (3,)), ("a", "close", (4,)),
        ("b", "write", (4, b"for a")), ("a", "write", (3, b"unread")),
        ("b", "exit", (0,)),              # b's end had unread data: ECONNRESET once
        ("a", "read", (3, 10)), ("a", "read", (3, 10)), ("a", "read", (3, 10)),
        ("a", "signal", (PIPE, "default")), ("a", "sendfd", (3, 0)),  # peer gone: SIGPIPE
    ])


def test_deaths_undo_what_sleepers_held(zygote: ZygoteClient) -> None:
    run_both(zygote, _spawn("a", "b", "x") + [
        ("a", "mkfifo", ("p", 0o644)),
        ("a", "open", ("p", os.O_RDONLY, 0)),           # counts as a reader while asleep
        ("b", "open", ("p", os.O_WRONLY | NB, 0)),      # so this succeeds
        ("b", "close", (3,)),
        ("a", "read", (3, 10)),                         # EOF: the writer came and went
        ("a", "close", (3,)),
        ("a", "open", ("p", os.O_RDONLY, 0)),           # asleep again
        ("x", "kill", (A, TERM)),                       # dies: its reader count goes
        ("b", "open", ("p", os.O_WRONLY | NB, 0)),      # ENXIO
        ("b", "pipe", ()), ("b", "fcntl", (4, 1031, 4096)), ("b", "fork", ("c",)),
        ("c", "write", (4, b"c" * 5000)),               # 4096 in, asleep
        ("x", "kill", (C, TERM)),                       # dies; its bytes stay
        ("b", "fcntl", (3, 4, NB)), ("b", "read", (3, 10000)), ("b", "read", (3, 1)),
        ("b", "signal", (CHLD, "ignore")), ("b", "fork", ("d",)),
        ("b", "wait", (ActorRef("d"),)), ("d", "exit", (5,)),   # reaped at once: ECHILD
    ])


def test_actor_start_state_and_late_o_direct_failure(zygote: ZygoteClient) -> None:
    results = run_both(zygote, _spawn("a", "b") + [
        ("a", "fd_list", ()), ("a", "fcntl", (0, 3, 0)), ("a", "fcntl", (2, 1, 0)),
        ("a", "kcmp_file", (A, 0, 2)), ("a", "kcmp_file", (B, 0, 0)),
        ("a", "mkfifo", ("p", 0o644)),
        ("a", "open", ("p", os.O_RDONLY | os.O_DIRECT, 0)),   # sleeps like any reader
        ("b", "open", ("p", os.O_WRONLY | NB, 0)),            # a: EINVAL only now
        ("b", "signal", (PIPE, "ignore")), ("b", "write", (3, b"x")),
    ])
    assert results[0][0] == Value((0, 1, 2))
    assert results[7][1] == {"a": Errno("EINVAL")} and results[9][0] == Errno("EPIPE")


def test_unmodelled_race_is_refused() -> None:
    model = new_model()
    model.spawn("a")
    for step in [("pipe", ()), ("fork", ("b",)), ("fork", ("c",))]:
        model.step("a", *step[:1], *step[1])
    assert model.step("b", "read", 3, 5000) == BLOCKED
    assert model.step("c", "read", 3, 100000) == BLOCKED
    # a's big write fills the pipe and sleeps; b takes 5000 bytes (freeing a
    # page and leaving data), which wakes both c and a: who runs first
    # decides how much c gets.
    with pytest.raises(Unmodelled):
        model.step("a", "write", 4, b"z" * 200000)


# -- random scenarios ---------------------------------------------------------
SIZES = st.sampled_from([1, 7, 100, 4095, 4096, 4097, 5000, 8192, 12289, 70000])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_random_pipe_and_fifo_scenarios(zygote: ZygoteClient, data: st.DataObject) -> None:
    """Three processes share a pipe and a FIFO; random calls, kills, closes."""
    draw = data.draw
    with Twin(zygote) as twin:
        twin.spawn("a")
        twin.step("a", "pipe")
        twin.step("a", "mkfifo", "p", 0o644)
        if draw(st.booleans()):
            twin.step("a", "fcntl", 4, 1031, draw(st.sampled_from([4096, 8192])))
        for sig in (TERM, PIPE):
            twin.step("a", "signal", sig, draw(st.sampled_from(["default", "ignore", "count"])))
        twin.step("a", "fork", "b")
        twin.step("a", "fork", "c")
        counter = 0
        try:
            for _ in range(draw(st.integers(3, 14))):
                ready = sorted(twin.model.alive() - twin.model.blocked())
                if not ready:
                    break
                actor = draw(st.sampled_from(ready))
                kind = draw(st.sampled_from(["read", "write", "write", "close", "setfl",
                                             "kill", "open", "fifo_io", "setsz"]))
                fd = draw(st.integers(3, 6))
                if kind == "read":
                    args: tuple[object, ...] = (draw(st.sampled_from([3, 3, 5, 6])), draw(SIZES))
                    op = "read"
                elif kind == "write":
                    counter += 1
                    fd = draw(st.sampled_from([4, 4, 5, 6]))
                    op, args = "write", (fd, bytes([65 + counter % 26]) * draw(SIZES))
                elif kind == "close":
                    op, args = "close", (fd,)
                elif kind == "setfl":
                    op, args = "fcntl", (fd, 4, draw(st.sampled_from([0, NB])))
                elif kind == "kill":
                    op, args = "kill", (draw(st.sampled_from([A, B, C])), draw(st.sampled_from([TERM, 0])))
                elif kind == "open":
                    mode = draw(st.sampled_from([os.O_RDONLY, os.O_WRONLY, os.O_RDWR]))
                    op, args = "open", ("p", mode | draw(st.sampled_from([0, NB])), 0)
                elif kind == "fifo_io":
                    op, args = draw(st.sampled_from([("read", (5, 100)), ("write", (5, b"fifo")),
                                                     ("read", (6, 10)), ("write", (6, b"F" * 5000))]))
                else:
                    op, args = "fcntl", (fd, 1031, draw(st.sampled_from([4096, 8192, 65536])))
                twin.step(actor, op, *args)
        except Unmodelled:
            pass  # the model declined (a race in the kernel): nothing to compare
