"""Reading a process's scheduling state from /proc.

Whether an actor is *blocked in a system call* is a fact the kernel publishes:
``/proc/PID/stat`` gives the scheduler state (``S`` = interruptible sleep) and
``/proc/PID/syscall`` gives the number and arguments of the system call the
task is in. The harness reads both instead of guessing from elapsed time.

Only the standard library is used: this module is embedded in reproducers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# System call numbers for the calls in which an operation may sleep.
_SYSCALLS: dict[str, dict[int, str]] = {
    "x86_64": {
        0: "read", 1: "write", 2: "open", 7: "poll", 17: "pread64", 18: "pwrite64",
        19: "readv", 20: "writev", 23: "select", 34: "pause", 35: "nanosleep",
        42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg",
        47: "recvmsg", 61: "wait4", 65: "semop", 69: "msgsnd", 70: "msgrcv",
        72: "fcntl", 73: "flock", 128: "rt_sigtimedwait", 130: "rt_sigsuspend",
        202: "futex", 220: "semtimedop", 230: "clock_nanosleep", 232: "epoll_wait",
        242: "mq_timedsend", 243: "mq_timedreceive", 247: "waitid", 257: "openat",
        270: "pselect6", 271: "ppoll", 288: "accept4",
    },
    "aarch64": {
        25: "fcntl", 32: "flock", 56: "openat", 63: "read", 64: "write", 65: "readv",
        66: "writev", 67: "pread64", 68: "pwrite64", 72: "pselect6", 73: "ppoll",
        95: "waitid", 98: "futex", 115: "clock_nanosleep", 133: "rt_sigsuspend",
        137: "rt_sigtimedwait", 182: "mq_timedsend", 183: "mq_timedreceive",
        188: "msgrcv", 189: "msgsnd", 192: "semtimedop", 193: "semop",
        202: "accept", 203: "connect", 206: "sendto", 207: "recvfrom",
        211: "sendmsg", 212: "recvmsg", 242: "accept4", 260: "wait4",
    },
}
_TABLE = _SYSCALLS.get(os.uname().machine, {})


@dataclass(frozen=True)
class TaskState:
    """A snapshot of one process as the kernel reports it."""

    pid: int
    state: str  # one letter: R S D Z T t X I, or "" when the process is gone
    session: int = 0
    exit_code: int | None = None  # waitpid(2)-style status, meaningful for Z
    syscall: str | None = None  # name (or "nr:N") of the call it sleeps in
    syscall_args: tuple[int, ...] = ()

    @property
    def gone(self) -> bool:
        return self.state in ("", "X")

    @property
    def zombie(self) -> bool:
        return self.state == "Z"


def read_stat(pid: int) -> TaskState:
    """State, session and exit code from /proc/PID/stat (no syscall info)."""
    watch = TaskWatch(pid)
    try:
        return watch.stat()
    finally:
        watch.close()


def read_task(pid: int) -> TaskState:
    """State plus the system call the task is sleeping in, if any."""
    watch = TaskWatch(pid)
    try:
        return watch.task()
    finally:
        watch.close()


class TaskWatch:
    """One process's /proc/PID/stat and /proc/PID/syscall, opened once.

    The harness looks at every live actor after every step. By path, a look
    is an open, a read and a close of each file; with the files held open it
    is one ``pread(2)`` each, and the kernel writes the record afresh on
    every read from offset 0. An open /proc file also stays bound to the
    process it was opened for: a recycled pid can never be read by mistake
    (once the process is reaped, a read fails with ESRCH: "gone").
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._stat = _open(f"/proc/{pid}/stat")
        self._syscall = _open(f"/proc/{pid}/syscall")

    def stat(self) -> TaskState:
        """State, session and exit code (no syscall info)."""
        raw = _pread(self._stat)
        return TaskState(self.pid, "") if raw is None else _parse_stat(self.pid, raw)

    def task(self) -> TaskState:
        """State plus the system call the task is sleeping in, if any."""
        base = self.stat()
        if base.gone or base.zombie:
            return base
        raw = _pread(self._syscall)
        return base if raw is None else _with_syscall(base, raw)

    def close(self) -> None:
        for fd in (self._stat, self._syscall):
            if fd >= 0:
                os.close(fd)
        self._stat = self._syscall = -1


def _open(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return -1


def _pread(fd: int) -> bytes | None:
    if fd < 0:
        return None
    try:
        return os.pread(fd, 4096, 0) or None
    except (ProcessLookupError, PermissionError):
        return None


def _parse_stat(pid: int, raw: bytes) -> TaskState:
    text = raw.decode("latin-1")
    # The command name is in parentheses and may contain spaces.
    rest = text[text.rindex(")") + 2 :].split()
    state = rest[0]
    session = int(rest[3])
    exit_code = int(rest[49]) if len(rest) > 49 else None
    return TaskState(pid, state, session, exit_code)


def _with_syscall(base: TaskState, raw: bytes) -> TaskState:
    fields = raw.decode("latin-1").split()
    if not fields or fields[0] == "running" or fields[0] == "-1":
        return base
    nr = int(fields[0])
    args = tuple(int(a, 16) for a in fields[1:7])
    name = _TABLE.get(nr, f"nr:{nr}")
    return TaskState(base.pid, base.state, base.session, base.exit_code, name, args)


def session_members(sessions: set[int]) -> list[int]:
    """Pids of processes (live or zombie) in any of the sessions.

    Runs after every scenario, so it asks the kernel with getsid(2), one
    system call per process, instead of opening and parsing each
    /proc/PID/stat: on a machine with a few hundred processes that is the
    difference between tens of microseconds and a couple of milliseconds.
    """
    if not sessions:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.getsid(pid) in sessions:
                found.append(pid)
        except (ProcessLookupError, PermissionError):
            continue  # gone since the listing, or in another pid namespace
    return found
