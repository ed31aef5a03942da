"""Numeric constants the model needs, as the Linux kernel defines them.

The values are the kernel's own, not Python's: ``os.O_LARGEFILE`` is 0 in a
64-bit Python, yet the kernel stores ``O_LARGEFILE`` in every descriptor opened
by ``open(2)`` and ``F_GETFL`` reports it. Only the flags whose number differs
between architectures are looked up per architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- open(2) flags that are the same on every Linux architecture --------------
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_ACCMODE = 0o3
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
FASYNC = 0o20000  # O_ASYNC
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_SYNC = 0o4010000  # includes O_DSYNC
O_PATH = 0o10000000
O_TMPFILE_BIT = 0o20000000  # __O_TMPFILE; O_TMPFILE also has O_DIRECTORY


@dataclass(frozen=True)
class ArchFlags:
    """The open(2) flags whose value depends on the architecture."""

    o_direct: int
    o_largefile: int
    o_directory: int
    o_nofollow: int


ARCH_FLAGS: dict[str, ArchFlags] = {
    "x86_64": ArchFlags(o_direct=0o40000, o_largefile=0o100000, o_directory=0o200000,
                        o_nofollow=0o400000),
    "aarch64": ArchFlags(o_direct=0o200000, o_largefile=0o400000, o_directory=0o40000,
                         o_nofollow=0o100000),
}

# -- fcntl(2) commands ----------------------------------------------------------
F_DUPFD = 0
F_GETFD = 1
F_SETFD = 2
F_GETFL = 3
F_SETFL = 4
F_DUPFD_QUERY = 1027
F_DUPFD_CLOEXEC = 1030
F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032
FD_CLOEXEC = 1

#: commands the kernel knows but the model does not predict (locks, leases,
#: owners, seals, hints...). Any other unknown command is EINVAL.
F_UNMODELLED = frozenset({5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 36, 37, 38, 1024, 1025, 1026,
                          1028, 1029, 1033, 1034, 1035, 1036, 1037, 1038, 1039, 1040})

# -- lseek(2) -------------------------------------------------------------------
SEEK_SET = 0
SEEK_CUR = 1
SEEK_END = 2
SEEK_DATA = 3
SEEK_HOLE = 4

# -- limits -----------------------------------------------------------------------
PIPE_DEF_BUFFERS = 16  # slots of a new pipe (fs/pipe.c)
NAME_MAX = 255
#: largest size the model lets a regular file reach; it keeps files in memory
MAX_MODEL_FILE = 64 << 20
#: largest offset lseek may produce in the model; beyond it s_maxbytes of the
#: scenario directory's filesystem decides, which the model does not know
MAX_MODEL_OFFSET = 1 << 40
#: in-flight bytes (plus per-message overhead) one socket may hold before the
#: sender could block on its send buffer; the model refuses to go further
SOCKET_MODEL_BUDGET = 100_000
SOCKET_SEGMENT_OVERHEAD = 1024
#: datagrams queued on one socket before a send could block (max_dgram_qlen)
DGRAM_MODEL_QUEUE = 10
#: sun_path holds 108 bytes including the terminating NUL
UNIX_PATH_MAX = 107

# -- signals ----------------------------------------------------------------------
SIGHUP = 1
SIGKILL = 9
SIGPIPE = 13
SIGTERM = 15
SIGCHLD = 17
SIGCONT = 18
SIGSTOP = 19
SIGTSTP = 20
SIGTTIN = 21
SIGTTOU = 22
SIGURG = 23
SIGWINCH = 28
MAX_SIGNAL = 64
#: the kernel's first real-time signal (glibc keeps 32 and 33 for itself, so
#: a program's SIGRTMIN is 34); below it, signals do not queue
SIGRTMIN = 32
#: default action "ignore" (signal.7)
DEFAULT_IGNORED = frozenset({SIGCHLD, SIGCONT, SIGURG, SIGWINCH})
#: default action "stop": not modelled (the harness has no notion of stopped)
DEFAULT_STOP = frozenset({SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU})
#: glibc reserves these for its threads: sigaction() on them fails with EINVAL
GLIBC_RESERVED = frozenset({32, 33})

DISPOSITIONS = ("default", "ignore", "count")
