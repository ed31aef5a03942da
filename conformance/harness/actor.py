"""The actor side: a process that performs operations on command.

An actor starts with descriptors 0, 1 and 2 open on /dev/null and nothing
else but its control channel, which sits on a high descriptor number (at
least :data:`CONTROL_FD_MIN`) with close-on-exec set. That way the actor's
descriptor table looks like a freshly exec'd C program's, so clauses about
"the lowest free descriptor" see exactly what a program would see.

Replies are ``("value", result)``, ``("errno", "ENAME")``,
``("unsupported", reason)`` when the backend cannot express the operation
(it raised NotImplementedError), or ``("error", text)`` when the backend
itself crashed (a harness fault, not a conformance finding). ``exit`` and deaths produce no reply: the harness sees
the channel close and reads the status from /proc.

Standard library only: this module is embedded in reproducers.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import importlib
import os
import resource
import signal
import socket

from . import protocol

TYPE_CHECKING = False  # typing itself is not imported: see conformance.backends
if TYPE_CHECKING:
    from typing import Any, NoReturn

CONTROL_FD_MIN = 1000
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def control_fd_floor() -> int:
    """The lowest number the control channel may take under RLIMIT_NOFILE."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(CONTROL_FD_MIN, max(soft - 16, 64))


def reset_signals() -> None:
    """Every disposition to its default and nothing blocked, as in a fresh C program.

    The Python interpreter ignores SIGPIPE and SIGXFSZ and handles SIGINT;
    actors must not (SIGPIPE on a reader-less pipe kills them). The zygote
    calls this once at start, so each actor only restores SIGINT, which the
    zygote ignores.
    """
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def prepare_root_actor(control: socket.socket, cwd: str) -> socket.socket:
    """Turn a freshly forked zygote child into a clean actor."""
    os.setsid()
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    high = _fcntl_dupfd_cloexec(control.fileno(), control_fd_floor())
    _close_range(3, high - 1)  # everything but 0-2 and the channel
    _close_range(high + 1, _ALL_ABOVE)
    devnull = os.open("/dev/null", os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(devnull, target, inheritable=True)
    if devnull > 2:
        os.close(devnull)
    os.chdir(cwd)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return socket.socket(fileno=high)


#: close_range(2)'s number on x86_64 and aarch64 (Linux 5.9+), and its "to the end"
_NR_CLOSE_RANGE = 436
_ALL_ABOVE = 0xFFFFFFFF


def _close_range(first: int, last: int) -> None:
    """Close descriptors ``first``..``last`` with one close_range(2).

    os.closerange closes one number at a time up to the limit given (20000
    on a typical machine): a fifth of an actor's start-up. Kernels before 5.9
    answer ENOSYS, and then os.closerange does it the slow way.
    """
    if first > last:
        return
    if _libc.syscall(_NR_CLOSE_RANGE, ctypes.c_uint(first), ctypes.c_uint(last), ctypes.c_uint(0)) != 0:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        os.closerange(first, min(last, limit - 1) + 1)


def _fcntl_dupfd_cloexec(fd: int, floor: int) -> int:
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor)


def _fork_child(control: socket.socket, ops: Any) -> tuple[Any, list[int]]:
    """Fork; the child becomes a new actor with its own control channel."""
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    # Move both ends out of the low range at once, before fork, so the
    # child's descriptor table is an exact copy of the parent's.
    floor = control_fd_floor()
    p_fd = _fcntl_dupfd_cloexec(parent_end.fileno(), floor)
    c_fd = _fcntl_dupfd_cloexec(child_end.fileno(), floor)
    parent_end.close()
    child_end.close()
    pid = os.fork()
    if pid == 0:
        os.close(p_fd)
        control.detach()
        os.close(ops.control_fd)
        ops.control_fd = c_fd
        serve(socket.socket(fileno=c_fd), ops)
    os.close(c_fd)
    return ("value", pid), [p_fd]


def serve(control: socket.socket, ops: Any) -> NoReturn:
    """Perform operations until told to exit or the harness goes away."""
    ops.control_fd = control.fileno()
    while True:
        try:
            (op, args), _fds = protocol.recv(control)
        except (protocol.ChannelClosed, ConnectionError):
            os._exit(0)
        fds: list[int] = []
        reply: tuple[str, Any]
        if op == "exit":
            os._exit(args[0])
        if op == "fork":
            reply, fds = _fork_child(control, ops)
        elif op == "__chdir__":  # a pooled actor learns its scenario's directory
            os.chdir(args[0])
            reply = ("value", 0)
        else:
            try:
                reply = ("value", getattr(ops, op)(*args))
            except OSError as exc:
                code = exc.errno if exc.errno is not None else 0
                reply = ("errno", errno.errorcode.get(code, f"E#{code}"))
            except NotImplementedError as exc:  # the backend cannot express this operation
                reply = ("unsupported", str(exc) or f"{op} is not supported by this backend")
            except Exception as exc:  # a fault of the backend, reported as such
                reply = ("error", f"{type(exc).__name__}: {exc}")
        protocol.send(control, reply, fds)
        for fd in fds:
            os.close(fd)


def resume(fd: int, backend_path: str, ignored: str = "") -> NoReturn:
    """Serve control channel ``fd`` again in a freshly exec'd interpreter.

    The ``exec_self`` operation re-executes an actor with a small program
    that calls this: it puts back the signal dispositions Python's start-up
    changed (``ignored`` lists, comma-separated, those of SIGPIPE, SIGXFSZ
    and SIGINT that were ignored before the exec), sets close-on-exec on the
    channel again, makes a fresh instance of the backend ``module:Class``,
    and replies to ``exec_self`` from the new image before serving on.
    """
    was_ignored = {int(s) for s in ignored.split(",") if s}
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN if int(sig) in was_ignored else signal.SIG_DFL)
    fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
    module_name, _, attr = backend_path.partition(":")
    ops = getattr(importlib.import_module(module_name), attr)(fd)
    control = socket.socket(fileno=fd)
    protocol.send(control, ("value", 0))
    serve(control, ops)
