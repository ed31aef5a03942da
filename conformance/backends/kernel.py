"""The ``kernel`` backend for process-level operations: real system calls.

Every operation calls libc directly through ctypes. Python's ``os`` module is
deliberately avoided for anything a clause observes: ``os.open``, ``os.dup``
and ``os.pipe`` add ``O_CLOEXEC`` (PEP 446) and ``os.read`` retries on
``EINTR`` (PEP 475), both of which would hide the behavior under test.

An instance lives inside an actor process. Each method either returns the
normalised result described in :mod:`conformance.backends.ops` or raises
``OSError`` with the errno the system call set. Mutants used to prove that the
specs can fail subclass this class and override single methods.

This module imports only the standard library, so it can be embedded in a
standalone reproducer script.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import stat
import struct

from ..names import signal_name
from .posix_mq_kernel import PosixMqKernelOps
from .posix_semshm_kernel import PosixSemShmKernelOps
from .sysv_kernel import SysVKernelOps

TYPE_CHECKING = False  # typing itself is not imported: see conformance.backends
if TYPE_CHECKING:
    from typing import Any

_libc = ctypes.CDLL(None, use_errno=True)
_libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_libc.read.restype = ctypes.c_ssize_t
_libc.write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
_libc.write.restype = ctypes.c_ssize_t
_libc.lseek.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_int]
_libc.lseek.restype = ctypes.c_long
_libc.open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
_libc.fcntl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.syscall.restype = ctypes.c_long

KCMP_FILE = 0
_CMSG_LEN_ONE_FD = 20  # CMSG_LEN(sizeof(int)) on 64-bit Linux
_CMSG_SPACE_ONE_FD = 24


class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IoVec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


_libc.sendmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_MsgHdr), ctypes.c_int]
_libc.sendmsg.restype = ctypes.c_ssize_t
_libc.recvmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_MsgHdr), ctypes.c_int]
_libc.recvmsg.restype = ctypes.c_ssize_t
_libc.waitpid.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]


class _SigInfo(ctypes.Structure):
    """The head of siginfo_t for kill/sigqueue/SIGCHLD senders (x86_64, aarch64)."""

    _fields_ = [
        ("si_signo", ctypes.c_int),
        ("si_errno", ctypes.c_int),
        ("si_code", ctypes.c_int),
        ("_pad", ctypes.c_int),
        ("si_pid", ctypes.c_int),
        ("si_uid", ctypes.c_uint),
        ("si_value", ctypes.c_long),  # sigval for SI_QUEUE; si_status for SIGCHLD
        ("_rest", ctypes.c_byte * 104),
    ]


class _SigSet(ctypes.Structure):
    _fields_ = [("bits", ctypes.c_ulong * 16)]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


_libc.poll.argtypes = [ctypes.POINTER(_PollFd), ctypes.c_ulong, ctypes.c_int]
#: <poll.h> event bits by name (Linux values on every architecture the suite runs on);
#: the C reproducer takes the names it may translate from here
POLL_EVENTS = {"POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4, "POLLERR": 0x8, "POLLHUP": 0x10,
                "POLLNVAL": 0x20, "POLLRDNORM": 0x40, "POLLRDBAND": 0x80, "POLLWRNORM": 0x100,
                "POLLWRBAND": 0x200, "POLLRDHUP": 0x2000}


#: send(2)/recv(2) flags an operation may name; the C reproducer and the
#: native actor take the names (and values) they accept from here
MSG_FLAGS = {"MSG_NOSIGNAL": socket.MSG_NOSIGNAL, "MSG_DONTWAIT": socket.MSG_DONTWAIT,
             "MSG_PEEK": socket.MSG_PEEK, "MSG_WAITALL": socket.MSG_WAITALL,
             "MSG_OOB": socket.MSG_OOB, "MSG_EOR": socket.MSG_EOR}


_PROT_READ, _PROT_WRITE = 1, 2
_MAP_SHARED, _MAP_PRIVATE, _MAP_ANONYMOUS = 0x01, 0x02, 0x20
_MS_SYNC = 4
_MAP_FAILED = ctypes.c_void_p(-1).value
_PAGE = os.sysconf("SC_PAGE_SIZE")
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.ftruncate.argtypes = [ctypes.c_int, ctypes.c_long]

_DOMAINS = {"unix": socket.AF_UNIX, "inet": socket.AF_INET}
_TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM,
          "seqpacket": socket.SOCK_SEQPACKET}


class _Borrowed(socket.socket):
    """A socket object over a descriptor it does not own (never closes it)."""

    def __del__(self) -> None:
        self.detach()


def _borrowed(fd: int) -> socket.socket:
    return _Borrowed(fileno=fd)


def _address(address: str | int) -> Any:
    """A path for AF_UNIX sockets, a loopback port for AF_INET ones."""
    if isinstance(address, int):
        return ("127.0.0.1", address)
    return address


def _sigset(sigs: tuple[int, ...]) -> _SigSet:
    mask = _SigSet()
    for sig in sigs:
        mask.bits[(sig - 1) // 64] |= 1 << ((sig - 1) % 64)
    return mask


_SI_CODES = {0: "SI_USER", -1: "SI_QUEUE", -3: "SI_MESGQ", 1: "CLD_EXITED", 2: "CLD_KILLED",
             3: "CLD_DUMPED"}
_libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_SYS_KCMP = {"x86_64": 312, "aarch64": 272}


def _check(result: int) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "p"
    if stat.S_ISREG(mode):
        return "-"
    if stat.S_ISCHR(mode):
        return "c"
    if stat.S_ISDIR(mode):
        return "d"
    if stat.S_ISSOCK(mode):
        return "s"
    return "?"


def _unix_dgram(path: str, how: str) -> int:
    """A plain (inheritable) AF_UNIX datagram socket, bound or connected to ``path``."""
    fd = _check(_libc.socket(socket.AF_UNIX, socket.SOCK_DGRAM, 0))
    s = socket.socket(fileno=fd)
    try:
        getattr(s, how)(path)
    except OSError:
        s.close()
        raise
    s.detach()
    return fd


class KernelProcessOps(PosixMqKernelOps, PosixSemShmKernelOps, SysVKernelOps):
    """Descriptor, pipe, FIFO and process operations on the running kernel."""

    name = "kernel"

    def __init__(self, control_fd: int = -1) -> None:
        self.control_fd = control_fd
        self.variables: dict[str, int] = {}
        self.mappings: dict[int, tuple[int, int]] = {}  # handle -> (address, length)
        self.signal_counts: dict[int, int] = {}

    # -- descriptors ---------------------------------------------------
    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        return _check(_libc.open(os.fsencode(path), flags, mode))

    def close(self, fd: int) -> int:
        return _check(_libc.close(fd))

    def dup(self, fd: int) -> int:
        return _check(_libc.dup(fd))

    def dup2(self, oldfd: int, newfd: int) -> int:
        return _check(_libc.dup2(oldfd, newfd))

    def dup3(self, oldfd: int, newfd: int, flags: int) -> int:
        return _check(_libc.dup3(oldfd, newfd, flags))

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        return _check(_libc.fcntl(fd, cmd, arg))

    def read(self, fd: int, count: int) -> bytes:
        buf = ctypes.create_string_buffer(max(count, 1))
        n = _check(_libc.read(fd, buf, count))
        return buf.raw[:n]

    def write(self, fd: int, data: bytes) -> int:
        return _check(_libc.write(fd, data, len(data)))

    def lseek(self, fd: int, offset: int, whence: int) -> int:
        return _check(_libc.lseek(fd, offset, whence))

    def pipe(self) -> tuple[int, int]:
        fds = (ctypes.c_int * 2)()
        _check(_libc.pipe(fds))
        return (fds[0], fds[1])

    def pipe2(self, flags: int) -> tuple[int, int]:
        fds = (ctypes.c_int * 2)()
        _check(_libc.pipe2(fds, flags))
        return (fds[0], fds[1])

    def mkfifo(self, path: str, mode: int = 0o644) -> int:
        return _check(_libc.mkfifo(os.fsencode(path), mode))

    def unlink(self, path: str) -> int:
        return _check(_libc.unlink(os.fsencode(path)))

    def fstat(self, fd: int) -> tuple[str, int]:
        st = os.fstat(fd)  # fstat has no side effect Python could add
        return (_file_type(st.st_mode), st.st_size)

    def stat(self, path: str) -> tuple[str, int]:
        st = os.stat(path)
        return (_file_type(st.st_mode), st.st_size)

    def kcmp_file(self, other_pid: int, fd: int, other_fd: int) -> bool:
        nr = _SYS_KCMP[os.uname().machine]
        result = _check(_libc.syscall(nr, os.getpid(), other_pid, KCMP_FILE, fd, other_fd))
        return result == 0

    def fd_list(self) -> tuple[int, ...]:
        # listdir itself opens a descriptor; keep only those still valid
        # after it is closed, and never the harness's control channel.
        names = os.listdir("/proc/self/fd")
        alive = []
        for name in names:
            fd = int(name)
            if fd == self.control_fd:
                continue
            if _libc.fcntl(fd, 1, 0) != -1:  # F_GETFD
                alive.append(fd)
        return tuple(sorted(alive))

    def open_proc_fd(self, owner_pid: int, fd: int, flags: int) -> int:
        return self.open(f"/proc/{owner_pid}/fd/{fd}", flags)

    # -- sockets -------------------------------------------------------
    def socketpair(self) -> tuple[int, int]:
        fds = (ctypes.c_int * 2)()
        _check(_libc.socketpair(socket.AF_UNIX, socket.SOCK_STREAM, 0, fds))
        return (fds[0], fds[1])

    def sendfd(self, sock: int, fd: int) -> int:
        byte = ctypes.create_string_buffer(b"F", 1)
        iov = _IoVec(ctypes.cast(byte, ctypes.c_void_p), 1)
        control = ctypes.create_string_buffer(
            struct.pack("=Qii", _CMSG_LEN_ONE_FD, socket.SOL_SOCKET, socket.SCM_RIGHTS)
            + struct.pack("=i", fd) + b"\0" * 4, _CMSG_SPACE_ONE_FD)
        msg = _MsgHdr(None, 0, ctypes.pointer(iov), 1, ctypes.cast(control, ctypes.c_void_p),
                      _CMSG_SPACE_ONE_FD, 0)
        return _check(_libc.sendmsg(sock, ctypes.byref(msg), 0))

    def recvfd(self, sock: int) -> int | None:
        # libc recvmsg, not socket.recvmsg: Python retries on EINTR and would
        # need a socket object (a dup takes the lowest free number first).
        # No MSG_CMSG_CLOEXEC: the descriptor arrives as a C program gets it.
        byte = ctypes.create_string_buffer(1)
        iov = _IoVec(ctypes.cast(byte, ctypes.c_void_p), 1)
        control = ctypes.create_string_buffer(_CMSG_SPACE_ONE_FD)
        msg = _MsgHdr(None, 0, ctypes.pointer(iov), 1, ctypes.cast(control, ctypes.c_void_p),
                      _CMSG_SPACE_ONE_FD, 0)
        _check(_libc.recvmsg(sock, ctypes.byref(msg), 0))
        if msg.msg_controllen < _CMSG_LEN_ONE_FD:
            return None
        _len, level, kind, fd = struct.unpack("=Qiii", control.raw[:_CMSG_LEN_ONE_FD])
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            return int(fd)
        return None

    # -- memory maps -----------------------------------------------------
    def ftruncate(self, fd: int, length: int) -> int:
        return _check(_libc.ftruncate(fd, length))

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        flags = {"shared": _MAP_SHARED, "private": _MAP_PRIVATE,
                 "shared-anon": _MAP_SHARED | _MAP_ANONYMOUS,
                 "private-anon": _MAP_PRIVATE | _MAP_ANONYMOUS}[kind]
        protection = {"r": _PROT_READ, "rw": _PROT_READ | _PROT_WRITE}[prot]
        addr = _libc.mmap(None, length, protection, flags, -1 if "anon" in kind else fd, 0)
        if addr == _MAP_FAILED:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        handle = min(set(range(len(self.mappings) + 1)) - set(self.mappings))
        self.mappings[handle] = (addr, length)
        return handle

    def _mapped(self, handle: int, offset: int, count: int) -> int:
        # The backend's own bounds check: within the pages the mapping covers
        # the kernel decides (SIGBUS past the file's end); beyond them lies
        # unrelated memory, which a spec must never reach.
        if handle not in self.mappings:
            raise OSError(22, "no such mapping handle")
        addr, length = self.mappings[handle]
        pages = -(-length // _PAGE) * _PAGE
        if offset < 0 or offset + count > pages:
            raise OSError(14, "outside the mapped pages")
        return int(addr) + offset

    def map_write(self, handle: int, offset: int, data: bytes) -> int:
        ctypes.memmove(self._mapped(handle, offset, len(data)), data, len(data))
        return len(data)

    def map_read(self, handle: int, offset: int, count: int) -> bytes:
        return ctypes.string_at(self._mapped(handle, offset, count), count)

    def msync(self, handle: int) -> int:
        addr, length = self.mappings[handle]
        return _check(_libc.msync(addr, length, _MS_SYNC))

    def munmap(self, handle: int) -> int:
        if handle not in self.mappings:
            raise OSError(22, "no such mapping handle")
        addr, length = self.mappings.pop(handle)
        return _check(_libc.munmap(addr, length))

    # -- sockets ---------------------------------------------------------
    def socket(self, domain: str, type: str) -> int:  # noqa: A002 - the call's own word
        return _check(_libc.socket(_DOMAINS[domain], _TYPES[type], 0))

    def bind(self, fd: int, address: str | int) -> int:
        _borrowed(fd).bind(_address(address))
        return 0

    def listen(self, fd: int, backlog: int) -> int:
        return _check(_libc.listen(fd, backlog))

    def accept(self, fd: int) -> int:
        # libc accept: Python's socket.accept sets close-on-exec and retries on EINTR
        return _check(_libc.accept(fd, None, None))

    def connect(self, fd: int, address: str | int) -> int:
        code = _borrowed(fd).connect_ex(_address(address))
        if code:
            raise OSError(code, os.strerror(code))
        return 0

    def local_port(self, fd: int) -> int:
        return int(_borrowed(fd).getsockname()[1])

    def shutdown(self, fd: int, how: int) -> int:
        return _check(_libc.shutdown(fd, how))

    def poll(self, fd: int, events: tuple[str, ...], timeout_ms: int) -> tuple[str, ...]:
        # libc poll: Python's select.poll retries on EINTR and recomputes the timeout
        entry = _PollFd(fd, sum(POLL_EVENTS[name] for name in events), 0)
        if _check(_libc.poll(ctypes.byref(entry), 1, timeout_ms)) == 0:
            return ()
        return tuple(sorted(name for name, bit in POLL_EVENTS.items() if entry.revents & bit))

    def socketpair_of(self, type: str) -> tuple[int, int]:  # noqa: A002
        fds = (ctypes.c_int * 2)()
        _check(_libc.socketpair(socket.AF_UNIX, _TYPES[type], 0, fds))
        return (fds[0], fds[1])

    def _msg_flags(self, names: tuple[str, ...]) -> int:
        """send(2)/recv(2) flags from their names; an unknown name is a ValueError."""
        flags = 0
        for name in names:
            if name not in MSG_FLAGS:
                raise ValueError(f"unknown message flag {name!r}; known: {sorted(MSG_FLAGS)}")
            flags |= MSG_FLAGS[name]
        return flags

    def send(self, fd: int, data: bytes, flags: tuple[str, ...]) -> int:
        # libc send, not socket.send: Python retries on EINTR.
        call = _libc["send"]  # a private prototype: the shared _libc.send stays untouched
        call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        call.restype = ctypes.c_ssize_t
        return _check(call(fd, data, len(data), self._msg_flags(flags)))

    def recv(self, fd: int, count: int, flags: tuple[str, ...]) -> bytes:
        call = _libc["recv"]
        call.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        call.restype = ctypes.c_ssize_t
        buf = ctypes.create_string_buffer(max(count, 1))
        n = _check(call(fd, buf, count, self._msg_flags(flags)))
        return buf.raw[:n]

    def unix_bind(self, path: str) -> int:
        # A socketpair can only be shared by inheritance; a name bound in
        # the scenario directory lets actors that share no ancestor meet.
        return _unix_dgram(path, "bind")

    def unix_connect(self, path: str) -> int:
        return _unix_dgram(path, "connect")

    # -- processes and signals ----------------------------------------
    def getpid(self) -> int:
        return os.getpid()

    def kill(self, pid: int, sig: int) -> int:
        return _check(_libc.kill(pid, sig))

    def signal(self, sig: int, disposition: str) -> int:
        if disposition == "default":
            signal.signal(sig, signal.SIG_DFL)
        elif disposition == "ignore":
            signal.signal(sig, signal.SIG_IGN)
        elif disposition == "count":
            signal.signal(sig, self._count)
            signal.siginterrupt(sig, True)
        else:
            raise ValueError(f"unknown disposition {disposition!r}")
        return 0

    def _count(self, sig: int, _frame: Any) -> None:
        self.signal_counts[sig] = self.signal_counts.get(sig, 0) + 1

    def signal_count(self, sig: int) -> int:
        return self.signal_counts.get(sig, 0)

    def sigprocmask(self, how: str, sigs: tuple[int, ...]) -> tuple[int, ...]:
        hows = {"block": signal.SIG_BLOCK, "unblock": signal.SIG_UNBLOCK, "set": signal.SIG_SETMASK}
        if how not in hows:
            raise ValueError(f"unknown sigprocmask how {how!r}")
        return tuple(sorted(int(s) for s in signal.pthread_sigmask(hows[how], sigs)))

    def sigpending(self) -> tuple[int, ...]:
        return tuple(sorted(int(s) for s in signal.sigpending()))

    def sigtimedwait(self, sigs: tuple[int, ...], timeout_ns: int) -> dict[str, Any]:
        # libc sigtimedwait with our own siginfo_t: Python's struct_siginfo
        # has no si_value, which is what sigqueue carries.
        info = _SigInfo()
        mask = _sigset(sigs)
        ts = _Timespec(timeout_ns // 1_000_000_000, timeout_ns % 1_000_000_000)
        signo = _check(_libc.sigtimedwait(ctypes.byref(mask), ctypes.byref(info), ctypes.byref(ts)))
        return {"signo": signo, "code": _SI_CODES.get(info.si_code, info.si_code),
                "pid": info.si_pid, "value": info.si_value}

    def sigqueue(self, pid: int, sig: int, value: int) -> int:
        return _check(_libc.sigqueue(pid, sig, ctypes.c_void_p(value)))

    def wait(self, pid: int) -> tuple[str, Any]:
        # libc waitpid: os.waitpid retries on EINTR, which a C program sees.
        status = ctypes.c_int()
        _check(_libc.waitpid(pid, ctypes.byref(status), 0))
        if os.WIFSIGNALED(status.value):
            return ("killed", signal_name(os.WTERMSIG(status.value)))
        return ("exited", os.WEXITSTATUS(status.value))

    def setvar(self, name: str, value: int) -> int:
        self.variables[name] = value
        return 0

    def getvar(self, name: str) -> int | None:
        return self.variables.get(name)

    def shell(self, command: str) -> tuple[int, str]:
        # Imported here: subprocess brings threading, whose fork handlers
        # would slow down every fork of the zygote.
        import subprocess

        # The shell inherits this actor's descriptors (close_fds=False) so a
        # redirection such as "3> file" is the only thing that differs.
        proc = subprocess.run(
            ["/bin/sh", "-c", command],
            stdout=subprocess.PIPE,
            close_fds=False,
            timeout=30,
            check=False,
        )
        return (proc.returncode, proc.stdout.decode(errors="replace"))
