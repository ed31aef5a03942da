"""Fixtures shared by the specs of every family.

Spec modules cannot import one another (each is loaded on its own, by path),
so whatever several of them use lives here, as fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import strategies as st

from conformance.harness.peers import peer_path
from conformance.outcome import Errno, Outcome, Value


@pytest.fixture(scope="session")
def peer() -> Callable[[str], str]:
    """Build a peer program from ``fixtures/NAME.c``: ``peer("first_open")`` is its path.

    A spec that uses this fixture declares ``requires=("command:cc", "processes")``:
    without a compiler the clause is ``unsupported``, and a peer only means
    something when a real shell can exec it. The path is absolute, so a shell
    command can name the program from the scenario's private directory;
    quote it with :func:`shlex.quote` when building the command line.
    """
    return peer_path


# -- offsets through two descriptors ------------------------------------------
#: one step: (handle index, operation, argument, whence)
OffsetStep = tuple[int, str, Any, int]
_WHENCE = [os.SEEK_SET, os.SEEK_CUR, os.SEEK_END]


class OffsetModel:
    """A file's bytes and its offsets: one offset shared by two handles, or one each."""

    def __init__(self, shared: bool) -> None:
        self.data = bytearray()
        self.shared = shared
        self.offsets = [0, 0]

    def offset(self, handle: int) -> int:
        return self.offsets[0 if self.shared else handle]

    def _move(self, handle: int, to: int) -> None:
        self.offsets[0 if self.shared else handle] = to

    def step(self, handle: int, op: str, arg: Any, whence: int) -> Outcome:
        """Apply one step; return the outcome the system must produce."""
        at = self.offset(handle)
        if op == "write":
            if at > len(self.data):  # writing past the end leaves a hole of zeros
                self.data.extend(bytes(at - len(self.data)))
            self.data[at:at + len(arg)] = arg
            self._move(handle, at + len(arg))
            return Value(len(arg))
        if op == "read":
            chunk = bytes(self.data[at:at + arg])
            self._move(handle, at + len(chunk))
            return Value(chunk)
        base = {os.SEEK_SET: 0, os.SEEK_CUR: at, os.SEEK_END: len(self.data)}[whence]
        if base + arg < 0:
            return Errno("EINVAL")
        self._move(handle, base + arg)
        return Value(base + arg)


class OffsetPrograms:
    """Random write/read/lseek programs over two handles, checked against :class:`OffsetModel`.

    A *handle* is an (actor, descriptor) pair. A hand-written spec shows one
    path through a clause about offsets; a property draws the path instead.
    After every step the offset is read back through *both* handles, so a
    write through one that failed to move the other (or moved it when it
    should not have) shows at the step that caused it.
    """

    steps = st.lists(
        st.one_of(
            st.tuples(st.integers(0, 1), st.just("write"), st.binary(min_size=1, max_size=8),
                      st.just(0)),
            st.tuples(st.integers(0, 1), st.just("read"), st.integers(1, 10), st.just(0)),
            # Negative offsets too: lseek refuses a negative result with
            # EINVAL and leaves the offset where it was.
            st.tuples(st.integers(0, 1), st.just("lseek"), st.integers(-8, 24),
                      st.sampled_from(_WHENCE)),
        ),
        min_size=1,
        max_size=12,
    )

    @staticmethod
    def run(sc: Any, handles: Sequence[tuple[Any, int]], shared: bool,
            program: Sequence[OffsetStep]) -> None:
        model = OffsetModel(shared)
        for handle, op, arg, whence in program:
            actor, fd = handles[handle]
            args = (fd, arg, whence) if op == "lseek" else (fd, arg)
            sc.expect(actor.do(op, *args), model.step(handle, op, arg, whence),
                      f"{op} through handle {handle}")
            for other, (o_actor, o_fd) in enumerate(handles):
                sc.expect(o_actor.do("lseek", o_fd, 0, os.SEEK_CUR), Value(model.offset(other)),
                          f"the offset through handle {other} after {op} through handle {handle}")


@pytest.fixture(scope="session")
def offset_programs() -> OffsetPrograms:
    """Draw a program with ``data.draw(offset_programs.steps)``; run it with ``.run``."""
    return OffsetPrograms()
