"""The zygote: a small, single-threaded process that forks actors on request.

Forking from the test process itself would copy a large, multi-threaded
interpreter (pytest, Hypothesis, xdist's execnet threads) into every actor.
Instead each test process starts one zygote per backend: a fresh interpreter
that has imported only the backend, started with ``subprocess`` (exec, so no
thread of the parent is duplicated). It:

* forks actors (:func:`conformance.harness.actor.prepare_root_actor`) and
  hands the harness its end of each actor's control channel;
* is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so actors whose parent
  actor died are re-parented to it and can always be reaped;
* dies with the test process (``PR_SET_PDEATHSIG``) and, when it goes, takes
  every actor with it (each root actor also has the death signal set).

Requests: ``("spawn", cwd)`` -> ``("spawned", pid)`` + descriptor,
``("reap", pid)`` -> ``("reaped", status|None)``, ``("reap_all", kill)`` ->
``("reaped_all", {pid: status})``.

Standard library only: this module is embedded in reproducers.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import os
import signal
import socket
import sys

from . import protocol
from .actor import prepare_root_actor, reset_signals
from .actor import serve as serve_actor

TYPE_CHECKING = False  # typing itself is not imported: see conformance.backends
if TYPE_CHECKING:
    from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def load_backend(path: str) -> Any:
    """Import ``module:Class`` and return the class."""
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


#: idle actors forked ahead of time, so a spawn hands one out at once and the
#: next fork happens while the scenario is already running
POOL_SIZE = 2


class _Pool:
    """Actors forked in advance, idle in their control channel."""

    def __init__(self, backend: Any, channel: socket.socket) -> None:
        self.backend = backend
        self.channel = channel
        self.ready: dict[int, socket.socket] = {}

    def fork(self) -> tuple[int, socket.socket]:
        here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            self.channel.close()
            here.close()
            for other in self.ready.values():
                other.close()
            control = prepare_root_actor(there, "/")
            serve_actor(control, self.backend(control.fileno()))
        there.close()
        return pid, here

    def take(self) -> tuple[int, socket.socket]:
        if self.ready:
            pid = next(iter(self.ready))
            return pid, self.ready.pop(pid)
        return self.fork()

    def refill(self) -> None:
        while len(self.ready) < POOL_SIZE:
            pid, here = self.fork()
            self.ready[pid] = here


def serve(sock_fd: int, backend_path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    reset_signals()  # once here, so actors inherit default dispositions
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness decides when we go
    channel = socket.socket(fileno=sock_fd)
    pool = _Pool(load_backend(backend_path), channel)
    # Everything imported so far moves to the permanent generation: a
    # collection in an actor then never walks (and so never copies, page by
    # page) the heap it shares with the zygote copy-on-write.
    gc.collect()
    gc.freeze()
    while True:
        try:
            request, _fds = protocol.recv(channel)
        except (protocol.ChannelClosed, ConnectionError):
            break
        kind = request[0]
        if kind == "spawn":
            pid, here = pool.take()
            protocol.send(channel, ("spawned", pid), [here.fileno()])
            here.close()
            pool.refill()  # while the harness gets on with its scenario
        elif kind == "reap":
            protocol.send(channel, ("reaped", _reap(request[1])))
        elif kind == "reap_all":
            protocol.send(channel, ("reaped_all", _reap_all(request[1], spare=set(pool.ready))))
        else:
            protocol.send(channel, ("error", f"unknown request {kind!r}"))
    _reap_all(kill=True, spare=set())


def _reap(pid: int) -> int | None:
    try:
        _pid, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return status


def _reap_all(kill: bool, spare: set[int]) -> dict[int, int]:
    """Reap every child that has exited; with kill, end all actors first.

    Every root actor leads its own process group (it called setsid), and
    forked actors stay in it, so one killpg per group ends a whole tree.
    The ``spare`` actors (the idle pool) are left alone. Each round first
    reaps every zombie, so only the living are signalled: a scenario that
    left many dead actors costs one pass, not one pass per actor.
    """
    statuses: dict[int, int] = {}
    own_group = os.getpgid(0)
    while True:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return statuses
            if not pid:
                break
            if pid not in spare:
                statuses[pid] = status
        targets = [child for child in _children() if child not in spare]
        if not kill or not targets:
            return statuses
        for child in targets:
            try:
                group = os.getpgid(child)
                # A pooled actor killed before it reached setsid() is still
                # in our group, which is the test process's: kill it alone,
                # never the group that holds pytest.
                if group != own_group:
                    os.killpg(group, signal.SIGKILL)
                os.kill(child, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        # killed children are not zombies yet: wait for the next to exit
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)


def _children() -> list[int]:
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
        return [int(p) for p in f.read().split()]


def _native_command(backend_path: str, engine: str | None) -> list[str] | None:
    try:  # absent when this module is embedded in a reproducer
        from .native import zygote_command
    except ImportError:
        return None
    return zygote_command(backend_path, engine)


class ZygoteClient:
    """The test process's handle on one zygote."""

    def __init__(self, backend_path: str, command: list[str] | None = None,
                 engine: str | None = None) -> None:
        """``engine`` ("auto", "c" or "python") overrides IPC_CONFORMANCE_ACTORS."""
        import subprocess  # harness side only; the zygote must not import it

        self.backend_path = backend_path
        #: "native" when the actors are the C program of conformance.harness.native
        self.engine = "python"
        if command is None:
            command = _native_command(backend_path, engine)
            if command is not None:
                self.engine = "native"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # -S: no site module. Its .pth hooks make the interpreter several
        # times slower to fork; the path it would set up comes in PYTHONPATH.
        cmd = command or [
            sys.executable,
            "-S",
            "-c",
            "import sys; from conformance.harness.zygote import serve; "
            "serve(int(sys.argv[1]), sys.argv[2])",
        ]
        env = dict(os.environ)
        # The backend may live outside site-packages (a mutant in the suite's
        # tests, a library under development): give the zygote our sys.path.
        paths = [p or os.getcwd() for p in sys.path]
        here = globals().get("__file__")  # absent when embedded in a reproducer
        if here:
            paths.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(here)))))
        env["PYTHONPATH"] = os.pathsep.join(paths)
        self.process = subprocess.Popen(
            [*cmd, str(theirs.fileno()), backend_path],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        self.channel = ours

    def _ask(self, request: tuple[Any, ...]) -> tuple[Any, list[int]]:
        protocol.send(self.channel, request)
        return protocol.recv(self.channel)

    def spawn(self, cwd: str) -> tuple[int, socket.socket]:
        (kind, pid), fds = self._ask(("spawn", cwd))
        if kind != "spawned" or len(fds) != 1:
            raise RuntimeError(f"zygote could not spawn an actor: {kind}")
        return pid, socket.socket(fileno=fds[0])

    def reap(self, pid: int) -> int | None:
        (_kind, status), _ = self._ask(("reap", pid))
        return status  # type: ignore[no-any-return]

    def reap_all(self, kill: bool = True) -> dict[int, int]:
        """Reap every actor; with kill (the default) end the living first."""
        (_kind, statuses), _ = self._ask(("reap_all", kill))
        return statuses  # type: ignore[no-any-return]

    @property
    def pid(self) -> int:
        return self.process.pid

    def close(self) -> None:
        import subprocess

        try:
            self.channel.close()
        finally:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
