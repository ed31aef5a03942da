"""Pipe buffers, model against kernel: random write/read/resize sequences.

Sizes cluster around page boundaries (4095, 4096, 4097, ...) because that is
where the slot ring shows: whether a write merges into the last page, takes
new pages, or is refused for lack of a free slot.
"""

from __future__ import annotations

import os
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef

from .compare import assert_same
from .realrun import Step

F_GETFL, F_SETFL, F_SETPIPE_SZ, F_GETPIPE_SZ = 3, 4, 1031, 1032
NB, DIRECT = os.O_NONBLOCK, os.O_DIRECT

SIZES = st.one_of(
    st.sampled_from([1, 2, 100, 4000, 4095, 4096, 4097, 8191, 8192, 8193, 12288, 16385, 65536, 65537]),
    st.integers(0, 20000),
    st.sampled_from([30000, 65535, 65536, 70000]),
)
PIPE_SIZES = st.sampled_from([0, 4096, 8192, 12288, 16384, 65536, 1 << 20, (1 << 20) + 1])
FDS = st.integers(3, 7)

pipe_settings = settings(max_examples=80, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _data(counter: int, size: int) -> bytes:
    return bytes((counter + i) % 251 for i in range(size))


@st.composite
def pipe_programs(draw: st.DrawFn) -> list[Step]:
    steps: list[Step] = [("pipe2", (draw(st.sampled_from([NB, NB | DIRECT, 0, DIRECT])),))]
    # Make the read end non-blocking most of the time, or most sequences
    # would stop at the first read of an empty pipe.
    if draw(st.integers(0, 4)):
        steps.append(("fcntl", (3, F_SETFL, NB)))
    if draw(st.booleans()):
        steps.append(("fcntl", (4, F_SETPIPE_SZ, draw(PIPE_SIZES))))
    steps.append(("signal", (signal.SIGPIPE, draw(st.sampled_from(["ignore", "count", "default"])))))
    counter = 0
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(
            ["write"] * 5 + ["read"] * 4
            + ["setfl", "setsz", "getsz", "getfl", "close", "dup", "reopen", "fstat", "lseek"]))
        if kind == "write":
            counter += 1
            steps.append(("write", (draw(st.sampled_from([4] * 6 + [5, 6, 7])), _data(counter, draw(SIZES)))))
        elif kind == "read":
            steps.append(("read", (draw(st.sampled_from([3] * 6 + [5, 6, 7])), draw(SIZES))))
        elif kind == "setfl":
            flags = draw(st.sampled_from([0, NB, DIRECT, NB | DIRECT, os.O_APPEND | NB, os.O_ASYNC | NB]))
            steps.append(("fcntl", (draw(FDS), F_SETFL, flags)))
        elif kind == "setsz":
            steps.append(("fcntl", (draw(FDS), F_SETPIPE_SZ, draw(PIPE_SIZES))))
        elif kind == "getsz":
            steps.append(("fcntl", (draw(FDS), F_GETPIPE_SZ, 0)))
        elif kind == "getfl":
            steps.append(("fcntl", (draw(FDS), F_GETFL, 0)))
        elif kind == "close":
            steps.append(("close", (draw(FDS),)))
        elif kind == "dup":
            steps.append(("dup", (draw(FDS),)))
        elif kind == "reopen":
            mode = draw(st.sampled_from([os.O_RDONLY, os.O_WRONLY, os.O_RDWR])) | NB
            steps.append(("open_proc_fd", (ActorRef("a"), draw(FDS), mode)))
        elif kind == "fstat":
            steps.append(("fstat", (draw(FDS),)))
        else:
            steps.append(("lseek", (draw(FDS), 0, draw(st.sampled_from([0, 1, 2, 3, 4, 7])))))
    return steps


@pipe_settings
@given(pipe_programs())
def test_pipe_sequences_match_the_kernel(steps: list[Step]) -> None:
    assert_same(steps)


def test_sub_page_remainder_merges_only_when_it_fits() -> None:
    # 100 bytes, then 4097 (= 4096 + 1; the 1 merges), then 4000 (does not
    # fit behind 101 bytes? it does: 101 + 4000 <= 4096) then 4095 (no room).
    steps: list[Step] = [("pipe2", (NB,)), ("fcntl", (4, F_SETPIPE_SZ, 8192)),
                         ("write", (4, b"a" * 100)), ("write", (4, b"b" * 4097)),
                         ("write", (4, b"c" * 4000)), ("write", (4, b"d" * 4095)),
                         ("read", (3, 50)), ("write", (4, b"e" * 10)), ("read", (3, 100000))]
    assert_same(steps)


def test_packet_mode_reads_one_packet_and_discards_its_rest() -> None:
    steps: list[Step] = [("pipe2", (NB | DIRECT,)), ("fcntl", (3, F_SETFL, NB)),
                         ("write", (4, b"x" * 10)), ("write", (4, b"y" * 10)),
                         ("read", (3, 4)), ("read", (3, 100)), ("read", (3, 100)),
                         ("fcntl", (4, F_SETFL, NB)), ("write", (4, b"z" * 5000)),
                         ("fcntl", (4, F_SETFL, NB | DIRECT)), ("write", (4, b"w" * 5)),
                         ("read", (3, 100000)), ("read", (3, 100000))]
    assert_same(steps)


def test_write_without_readers() -> None:
    for disposition in ("default", "ignore", "count"):
        steps: list[Step] = [("signal", (signal.SIGPIPE, disposition)), ("pipe", ()),
                             ("close", (3,)), ("write", (4, b"")), ("write", (4, b"x")),
                             ("signal_count", (signal.SIGPIPE,))]
        assert_same(steps)


def test_eof_repeats() -> None:
    steps: list[Step] = [("pipe", ()), ("write", (4, b"abc")), ("close", (4,)),
                         ("read", (3, 2)), ("read", (3, 5)), ("read", (3, 5)), ("read", (3, 5)),
                         ("read", (3, 0))]
    assert_same(steps)
