"""The pipe buffer: Linux's ring of page-sized slots (``fs/pipe.c``).

A pipe holds at most ``max_usage`` slots. Each slot is one page; it remembers
how far into the page data was written (``end``) and which bytes of it are
still unread. This shape is observable: a write merges into the last slot
only when it fits in that page's tail, so how many bytes a pipe accepts
depends on how earlier writes were cut, not just on how many bytes are in it.

Only the buffer mechanics live here. Who blocks, who is woken, and signals
are in :mod:`.pipeio`, which follows ``pipe_read``/``pipe_write`` step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class Slot:
    """One ``struct pipe_buffer``."""

    data: bytearray
    #: offset just past the last byte written into the page (offset + len)
    end: int
    #: PIPE_BUF_FLAG_CAN_MERGE: a later small write may append in place
    mergeable: bool
    #: PIPE_BUF_FLAG_PACKET (written through O_DIRECT): a read takes at most
    #: this slot and discards whatever of it the read did not ask for
    packet: bool


@dataclass(eq=False)
class Pipe:
    """One ``struct pipe_inode_info``: buffer, open counts, wait queues."""

    max_usage: int
    #: True for a FIFO's pipe: opens follow the FIFO rules (block, ENXIO).
    #: An anonymous pipe reopened through /proc never blocks (fifo_open's
    #: ``is_pipe``).
    named: bool = False
    slots: list[Slot] = field(default_factory=list)
    readers: int = 0
    writers: int = 0
    #: open file descriptions of the pipe, counting opens still blocked
    files: int = 0
    #: bumped by every open for reading / writing; a blocked FIFO open waits
    #: for the other counter to change, so an open-and-close still wakes it
    r_counter: int = 0
    w_counter: int = 0
    #: exclusive wait queues of actors blocked in read / write, oldest first
    rd_wait: list[str] = field(default_factory=list)
    wr_wait: list[str] = field(default_factory=list)
    #: actors blocked in open() of the FIFO
    openers: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.slots

    @property
    def full(self) -> bool:
        return len(self.slots) >= self.max_usage

    @property
    def available(self) -> int:
        return sum(len(s.data) for s in self.slots)

    def try_merge(self, payload: bytes, page_size: int) -> bool:
        """Append ``payload`` to the last slot if it may and can; say if it did."""
        if not self.slots:
            return False
        last = self.slots[-1]
        if not last.mergeable or last.end + len(payload) > page_size:
            return False
        last.data.extend(payload)
        last.end += len(payload)
        return True

    def push_slot(self, payload: bytes, packet: bool) -> None:
        """Fill a fresh slot (the caller checked the pipe is not full)."""
        self.slots.append(Slot(bytearray(payload), len(payload), not packet, packet))

    def take(self, count: int) -> tuple[bytes, bool, bool]:
        """Copy up to ``count`` bytes from the oldest slot, as one pass of pipe_read.

        Returns (bytes, slot_freed, was_full_before_freeing). A packet slot is
        consumed whole even when ``count`` is smaller than it.
        """
        slot = self.slots[0]
        chars = min(len(slot.data), count)
        got = bytes(slot.data[:chars])
        del slot.data[:chars]
        if slot.packet:
            slot.data.clear()
        if slot.data:
            return got, False, False
        was_full = self.full
        self.slots.pop(0)
        return got, True, was_full

    def occupancy(self) -> int:
        return len(self.slots)
