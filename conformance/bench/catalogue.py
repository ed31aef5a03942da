"""The mechanisms and sizes the benchmark knows, and parsing of the user's choice.

Every mechanism is one name the C peer accepts. :data:`MECHANISMS` says what
each one's figures count, which the reports quote; :func:`parse_mechanisms`
and :func:`parse_sizes` turn command-line text into checked values or raise
:class:`BenchInputError` with a one-line message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class BenchInputError(ValueError):
    """A bad mechanism list, size list or repeat count: one line for the user."""


@dataclass(frozen=True)
class Mechanism:
    """One IPC mechanism as the C peer measures it."""

    name: str
    #: True for the shared-memory variants, the subject of claim S20
    shared_memory: bool
    #: what one message costs in this variant: system calls, copies, handshake
    counts: str


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("pipe", False, "write() + read() on two pipe(2)s, one per direction"),
    Mechanism("fifo", False, "write() + read() on two FIFOs opened by name"),
    Mechanism("unix-stream", False, "write() + read() on socketpair(AF_UNIX, SOCK_STREAM)"),
    Mechanism("unix-dgram", False, "send() + recv() on socketpair(AF_UNIX, SOCK_DGRAM), 64 KiB datagrams at most"),
    Mechanism("tcp", False, "write() + read() on a TCP connection over 127.0.0.1 with TCP_NODELAY"),
    Mechanism("sysv-msg", False, "msgsnd() + msgrcv() on one System V queue, chunks of kernel.msgmax"),
    Mechanism("posix-mq", False, "mq_send() + mq_receive() on two POSIX queues, chunks of fs.mqueue.msgsize_max"),
    Mechanism("sysv-shm-sem", True, "memcpy into a System V segment slot + semop(); memcpy out + semop()"),
    Mechanism("sysv-shm-futex", True, "memcpy into a System V segment slot + futex wake if the peer sleeps; "
              "memcpy out + futex wait when empty"),
    Mechanism("posix-shm-sem", True, "memcpy into a shm_open/mmap slot + sem_post(); sem_wait() + memcpy out"),
    Mechanism("posix-shm-futex", True, "memcpy into a shm_open/mmap slot + futex wake if the peer sleeps; "
              "memcpy out + futex wait when empty"),
    Mechanism("posix-shm-spin", True, "memcpy into a shm_open/mmap slot + a counter increment; the waiting "
              "side busy-waits on the counter (no system call; it keeps its CPU busy)"),
)
BY_NAME = {m.name: m for m in MECHANISMS}

#: the message size of the latency test, bytes
LATENCY_SIZE = 64
#: the default throughput sizes, bytes
DEFAULT_SIZES = (4096, 65536, 1048576)
#: the largest message the C peer accepts (it allocates two buffers of this size)
MAX_SIZE = 64 * 1024 * 1024

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024 ** 2, "mb": 1024 ** 2,
          "mib": 1024 ** 2}


def parse_mechanisms(text: str | None) -> tuple[str, ...]:
    """``"pipe,tcp"`` -> ``("pipe", "tcp")`` in catalogue order; ``None`` -> all."""
    if text is None:
        return tuple(m.name for m in MECHANISMS)
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise BenchInputError("--mechanisms is empty")
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise BenchInputError(f"unknown mechanism {unknown[0]!r}; choose from {', '.join(BY_NAME)}")
    return tuple(m.name for m in MECHANISMS if m.name in names)


def parse_size(text: str) -> int:
    """``"4K"``, ``"64KiB"``, ``"1M"``, ``"4096"`` -> bytes (K and M are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise BenchInputError(f"bad size {text!r}: write bytes, or a number with K or M (4K, 64K, 1M)")
    size = int(match.group(1)) * _UNITS[unit]
    if not 1 <= size <= MAX_SIZE:
        raise BenchInputError(f"bad size {text!r}: must be 1 byte to {MAX_SIZE // 1024 ** 2} MiB")
    return size


def parse_sizes(text: str | None) -> tuple[int, ...]:
    """``"4K,64K"`` -> ``(4096, 65536)``, sorted and without repeats; ``None`` -> the defaults."""
    if text is None:
        return DEFAULT_SIZES
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise BenchInputError("--sizes is empty")
    return tuple(sorted({parse_size(part) for part in parts}))


def size_label(size: int) -> str:
    """4096 -> ``"4 KiB"``, 1048576 -> ``"1 MiB"``, 100 -> ``"100 B"``."""
    for unit, factor in (("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


#: where the two processes run: both pinned to one CPU, or one on each of two CPUs
PLACEMENTS = {
    "same": "both processes on one CPU",
    "split": "the processes on two CPUs",
}


def placements_here() -> tuple[str, ...]:
    """The placements this process can use: ``split`` needs two CPUs in its affinity mask."""
    import os

    return ("same", "split") if len(os.sched_getaffinity(0)) >= 2 else ("same",)


def split_metric(metric: str) -> tuple[str, str | None]:
    """``"throughput-4096@split"`` -> ``("throughput-4096", "split")``; no ``@``: no placement."""
    base, _, placement = metric.partition("@")
    return base, placement or None


def metric_size(metric: str) -> int:
    """The message size of a metric key: ``"throughput-4096@same"`` -> 4096, ``"latency@same"`` -> 64."""
    base, _ = split_metric(metric)
    return LATENCY_SIZE if base == "latency" else int(base.split("-", 1)[1])


def metric_label(metric: str) -> str:
    """``"latency@same"`` -> ``"latency, 64 B one-way, both processes on one CPU"``."""
    base, placement = split_metric(metric)
    if base == "latency":
        label = f"latency, {size_label(LATENCY_SIZE)} one-way"
    else:
        label = f"throughput, {size_label(metric_size(metric))} messages"
    return f"{label}, {PLACEMENTS[placement]}" if placement else label


def lower_is_better(metric: str) -> bool:
    """Latency is better low, throughput high."""
    return split_metric(metric)[0] == "latency"


def format_value(metric: str, value: float) -> str:
    """A latency in ns as ``"850 ns"``/``"1.02 µs"``/``"3.94 ms"``; a throughput in bytes/s as ``"5.33 GB/s"``.

    GB and MB are decimal (10^9 and 10^6 bytes), as throughput figures usually are.
    """
    if lower_is_better(metric):
        if value < 999.5:
            return f"{value:.0f} ns"
        return f"{value / 1000:.2f} µs" if value < 999_995 else f"{value / 1e6:.2f} ms"
    if value >= 1e9:
        return f"{value / 1e9:.2f} GB/s"
    return f"{value / 1e6:.0f} MB/s"
