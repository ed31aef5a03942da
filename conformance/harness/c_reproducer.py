"""Standalone C reproducers: a failing trace as a small C program.

The Python reproducer (:mod:`.reproducer`) replays a trace through the
suite's own harness and backend. This module writes the same trace as a C
program that needs nothing but a compiler, so a kernel developer can replay
it with the real system calls and no Python in the way::

    cc -o repro repro.c && ./repro

How the program works, and why:

* **One process per actor.** The program's first process is the
  *coordinator*. A ``spawn`` step forks a root actor from it; a ``fork``
  step is performed by the actor itself, so the child inherits exactly what
  a forked process inherits (descriptors, dispositions, attachments).
* **Control pipes.** Every actor reads "do step *i*" from its own command
  pipe and writes the step's result back on its own result pipe; both sit
  at high descriptor numbers (the *floor*), so the descriptors the trace
  uses are numbered as the suite numbered them. A process keeps only the
  pipe ends of itself and of the actors it will fork, so a closed result
  pipe means its actor is dead.
* **Blocked is read from /proc**, as :mod:`.scenario` does: an actor whose
  result has not come back is *blocked* when ``/proc/PID/stat`` shows state
  ``S`` and ``/proc/PID/syscall`` shows it inside a system call other than
  the ``read`` of its command pipe (its idle state), on two looks in a row.
  After each step the coordinator *settles*: it waits until every actor is
  idle or asleep in its pending call, collecting calls that completed and
  actors that died meanwhile. Waits between looks are a growing back-off,
  bounded by a deadline; nothing is ordered by sleeping.
* **Outcomes as text.** An actor writes its result in the form the suite
  prints (``-> 3``, ``-> error EBADF``, ``-> b'xy'``, ``-> ('p', 0)``,
  dicts with sorted keys); the coordinator turns pids of actors back into
  ``ActorRef('name')`` and reads deaths from ``/proc/PID/stat`` (the exit
  code of the zombie). :func:`canonical` writes the expected outcomes in the
  same form, so a comparison is a string comparison.
* **System V ids** depend on the history of the IPC namespace, so ids are
  not compared as numbers: a successful ``*get`` matches any id, and an id
  a later step passes is the one the replay's own ``*get`` returned. The
  program enters a private IPC namespace when it can (as root).
* **Verdict.** Every step prints ``step i: actor op(args): expected X,
  got Y`` (``recorded X`` when the suite had no expectation for it). The
  program exits 1 when a step with an expectation differs from it (the
  failure reproduces), 0 when all match, 2 on a set-up error. An alarm
  bounds the whole run; at the end every actor is killed and reaped, the
  IPC objects the trace created are removed with IPC_RMID and the
  temporary directory is deleted.

Only operations with a faithful C translation are accepted: a trace with any
other operation (``mmap``, ``shell``, ``exec_self``, inet sockets, POSIX
IPC...) gets no C program, and :func:`write_c_reproducer` says why, in one
line. A program that silently skipped a step would prove nothing.

Standard library only, like the rest of the harness.
"""

from __future__ import annotations

import errno as _errno
import signal as _signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..backends.kernel import MSG_FLAGS, POLL_EVENTS
from ..backends.ops import ActorRef
from ..outcome import Outcome
from .scenario import Step

#: the whole replay must end within this many seconds (alarm)
DEADLINE_S = 120
#: one step must return or block within this many seconds
STEP_TIMEOUT_S = 10
#: the largest read or receive buffer a step may ask for
_MAX_BUFFER = 1 << 24
#: results the system picks afresh each run, by kind: System V *gets (whose objects
#: the clean-up removes) and inet ports; any value matches, later steps get the replay's
_GETS = {"msgget": "q", "semget": "s", "shmget": "m", "local_port": "p"}
#: operations whose first argument is an id, and the *get that makes it
_ID_USERS = {
    "msgsnd": "msgget", "msgrcv": "msgget", "msgctl_stat": "msgget", "msgctl_set": "msgget",
    "msgctl_rmid": "msgget", "semop": "semget", "semtimedop": "semget", "semctl": "semget",
    "semctl_stat": "semget", "semctl_set": "semget", "shmat": "shmget", "shmat_at": "shmget",
    "shmctl_stat": "shmget", "shmctl_set": "shmget", "shmctl_rmid": "shmget",
}
_IPC_CREAT, _IPC_EXCL = 0o1000, 0o2000
#: semctl commands with an int result or none (the STAT and INFO forms are not translated)
_SEMCTL_INT = {11: "GETPID", 12: "GETVAL", 14: "GETNCNT", 15: "GETZCNT", 16: "SETVAL", 0: "IPC_RMID"}
_GETALL, _SETALL, _GETPID = 13, 17, 11
_SOCK_TYPES = {"stream": "SOCK_STREAM", "dgram": "SOCK_DGRAM", "seqpacket": "SOCK_SEQPACKET"}
_DOMAINS = {"unix": "AF_UNIX", "inet": "AF_INET"}
#: poll(2) events by name: the kernel backend's, which C spells the same
_POLL_EVENTS = frozenset(POLL_EVENTS)
#: sizeof(struct sockaddr_un.sun_path) on Linux: a path must fit with its NUL
_SUN_PATH = 108
#: the send/recv flag names the catalogue allows, as C spells them
_MSG_FLAG_NAMES = frozenset(MSG_FLAGS)


def _msg_flags(flags: Any) -> str:
    """A send/recv flags tuple as a C expression (``MSG_PEEK | MSG_DONTWAIT``, ``0``)."""
    if not isinstance(flags, tuple) or any(f not in _MSG_FLAG_NAMES for f in flags):
        raise Untranslatable(f"message flags {flags!r}")
    return " | ".join(flags) or "0"


#: the System V limits of an IPC namespace (files of /proc/sys/kernel); specs may change them
IPC_LIMITS = ("msgmax", "msgmnb", "msgmni", "sem", "shmmax", "shmall", "shmmni", "shm_rmid_forced")


def snapshot_ipc_limits() -> dict[str, str]:
    """The current namespace's System V limits, to be set again by a replay.

    Taken when a test fails, before its fixtures put changed limits back: a
    spec about SHMMAX runs with the SHMMAX it set, and so must its replay.
    """
    limits = {}
    for name in IPC_LIMITS:
        try:
            with open(f"/proc/sys/kernel/{name}") as f:
                limits[name] = " ".join(f.read().split())
        except OSError:
            continue
    return limits


class Untranslatable(Exception):
    """The trace holds a step this module cannot write as C; the message says which."""


# -- outcomes as text -------------------------------------------------------
def canonical(outcome: Outcome) -> str:
    """``outcome`` in the text form the C program prints for its results.

    The same as ``str(outcome)`` but for dicts, whose keys are sorted (the
    C program prints them in that order).
    """
    if outcome.kind == "value":
        return "-> " + _canonical_value(outcome.detail)
    return str(outcome)


def _canonical_value(value: Any) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{k!r}: {_canonical_value(value[k])}" for k in sorted(value))
        return "{" + items + "}"
    if isinstance(value, tuple):
        inner = ", ".join(_canonical_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def described(expected: Outcome | None) -> bool:
    """Whether ``expected`` describes a value instead of giving it.

    Specs that accept a range write ``Value("<a partial count, 1..8192>")``:
    any value matches such an expectation, an error or a sleep does not.
    """
    return (expected is not None and expected.kind == "value" and isinstance(expected.detail, str)
            and expected.detail.startswith("<") and expected.detail.endswith(">"))


# -- C literals ----------------------------------------------------------------
def _c_string(text: str | bytes) -> str:
    """A C string literal of ``text`` (octal escapes: no greedy hex digits)."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    pieces: list[str] = []
    line: list[str] = []
    for byte in raw:
        if byte in (0x22, 0x5C):  # " and backslash
            line.append("\\" + chr(byte))
        elif byte == 0x3F:  # ?, never a trigraph
            line.append("\\077")
        elif 0x20 <= byte < 0x7F:
            line.append(chr(byte))
        else:
            line.append(f"\\{byte:03o}")
        if len(line) >= 96:
            pieces.append('"' + "".join(line) + '"')
            line = []
    if line or not pieces:
        pieces.append('"' + "".join(line) + '"')
    return "\n        ".join(pieces)


def _c_int(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Untranslatable(f"{what} is {value!r}, not an integer")
    if not -(1 << 63) <= value < (1 << 63):
        raise Untranslatable(f"{what} {value} does not fit a 64-bit integer")
    if value == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    return f"{int(value)}LL"  # int(): a signal or flag enum prints as its number


def _show(args: tuple[Any, ...]) -> str:
    return ", ".join(_shown(a) for a in args)


def _shown(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return repr(int(value))  # signal.SIGUSR1 shows as 10, as the C program passes it
    if isinstance(value, tuple):
        inner = ", ".join(_shown(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, bytes) and len(value) > 24:
        return f"<{len(value)} bytes {value[:8]!r}...>"
    return repr(value)


# -- translation ---------------------------------------------------------------
class _Translator:
    """Turns a trace into the generated part of the C program."""

    def __init__(self, trace: list[Step]) -> None:
        self.trace = trace
        self.actors: list[str] = []
        self.parent: dict[str, str | None] = {}
        self.variables: list[str] = []
        #: id slots: (step number, kind) of every successful *get
        self.id_slots: list[tuple[int, str]] = []
        #: recorded id value -> slot, per *get operation, as the trace goes
        self.live_ids: dict[str, dict[int, int]] = {op: {} for op in _GETS}

    def actor(self, name: str) -> int:
        if name not in self.actors:
            raise Untranslatable(f"step names actor {name!r} before it exists")
        return self.actors.index(name)

    def pid(self, ref: Any, what: str) -> str:
        if not isinstance(ref, ActorRef):
            raise Untranslatable(f"{what} is {ref!r}, not an actor")
        return f"CUR->pids[{self.actor(ref.name)}]"

    def ident(self, op: str, value: Any) -> str:
        """An id argument: the replay's own id when the trace's came from a *get."""
        getter = _ID_USERS[op]
        if isinstance(value, int) and not isinstance(value, bool) and value in self.live_ids[getter]:
            return f"CUR->ids[{self.live_ids[getter][value]}]"
        return f"(int){_c_int(value, 'an id')}"

    def variable(self, name: Any) -> int:
        if not isinstance(name, str):
            raise Untranslatable(f"variable name {name!r} is not a string")
        if name not in self.variables:
            self.variables.append(name)
        return self.variables.index(name)

    # -- one step -----------------------------------------------------------
    def body(self, number: int, step: Step) -> tuple[list[str], dict[str, Any]]:
        """The C statements of one operation step, and facts for the step table."""
        op, args = step.op, step.args
        handler: Callable[..., list[str]] | None = getattr(self, "op_" + op, None)
        if handler is None:
            raise Untranslatable(f"operation {op!r} has no C translation")
        try:
            lines = handler(*args)
        except TypeError as exc:
            raise Untranslatable(f"{op}{args!r}: unexpected arguments ({exc})") from exc
        facts: dict[str, Any] = {}
        if op in _GETS:
            facts["get"] = _GETS[op]
            key, flags = args[0], args[-1]  # both integers: the handler checked them
            facts["owns"] = int(op != "local_port" and (
                key == 0 or (flags & (_IPC_CREAT | _IPC_EXCL)) == (_IPC_CREAT | _IPC_EXCL)))
            if step.outcome.kind == "value" and isinstance(step.outcome.detail, int):
                slot = len(self.id_slots)
                self.id_slots.append((number, _GETS[op]))
                self.live_ids[op][step.outcome.detail] = slot
                facts["slot"] = slot
        if op == "fork":
            facts["child"] = self.actors.index(args[0])
        return lines, facts

    # descriptors and files
    def op_open(self, path: Any, flags: Any, mode: Any = 0o644) -> list[str]:
        return [f"RESULT(open({self.path(path)}, (int){_c_int(flags, 'flags')}, "
                f"(mode_t){_c_int(mode, 'mode')}));"]

    def path(self, path: Any) -> str:
        if not isinstance(path, str):
            raise Untranslatable(f"path {path!r} is not a string")
        return _c_string(path)

    def op_close(self, fd: Any) -> list[str]:
        return [f"RESULT(close((int){_c_int(fd, 'fd')}));"]

    def op_dup(self, fd: Any) -> list[str]:
        return [f"RESULT(dup((int){_c_int(fd, 'fd')}));"]

    def op_dup2(self, old: Any, new: Any) -> list[str]:
        return [f"RESULT(dup2((int){_c_int(old, 'fd')}, (int){_c_int(new, 'fd')}));"]

    def op_dup3(self, old: Any, new: Any, flags: Any) -> list[str]:
        return [f"RESULT(dup3((int){_c_int(old, 'fd')}, (int){_c_int(new, 'fd')}, "
                f"(int){_c_int(flags, 'flags')}));"]

    def op_fcntl(self, fd: Any, cmd: Any, arg: Any = 0) -> list[str]:
        return [f"RESULT(fcntl((int){_c_int(fd, 'fd')}, (int){_c_int(cmd, 'cmd')}, "
                f"(long){_c_int(arg, 'arg')}));"]

    def op_lseek(self, fd: Any, offset: Any, whence: Any) -> list[str]:
        return [f"RESULT(lseek((int){_c_int(fd, 'fd')}, (off_t){_c_int(offset, 'offset')}, "
                f"(int){_c_int(whence, 'whence')}));"]

    def op_read(self, fd: Any, count: Any) -> list[str]:
        c_count = _c_int(count, "count")
        if count > _MAX_BUFFER:
            raise Untranslatable(f"read of {count} bytes is larger than the program's buffers")
        return [f"do_read((int){_c_int(fd, 'fd')}, (size_t){c_count}, out);"]

    def op_write(self, fd: Any, data: Any) -> list[str]:
        if not isinstance(data, bytes):
            raise Untranslatable(f"write data {data!r} is not bytes")
        return [f"RESULT(write((int){_c_int(fd, 'fd')}, {_c_string(data)}, {len(data)}));"]

    def op_pipe(self) -> list[str]:
        return ["{ int p_[2]; if (pipe(p_) == -1) out_err(out, errno); else out_pair(out, p_); }"]

    def op_pipe2(self, flags: Any) -> list[str]:
        return [f"{{ int p_[2]; if (pipe2(p_, (int){_c_int(flags, 'flags')}) == -1) out_err(out, errno); "
                "else out_pair(out, p_); }"]

    def op_mkfifo(self, path: Any, mode: Any = 0o644) -> list[str]:
        return [f"RESULT(mkfifo({self.path(path)}, (mode_t){_c_int(mode, 'mode')}));"]

    def op_unlink(self, path: Any) -> list[str]:
        return [f"RESULT(unlink({self.path(path)}));"]

    def op_fstat(self, fd: Any) -> list[str]:
        return [f"{{ struct stat st_; if (fstat((int){_c_int(fd, 'fd')}, &st_) == -1) out_err(out, errno); "
                "else out_stat(out, &st_); }"]

    def op_stat(self, path: Any) -> list[str]:
        return [f"{{ struct stat st_; if (stat({self.path(path)}, &st_) == -1) out_err(out, errno); "
                "else out_stat(out, &st_); }"]

    def op_ftruncate(self, fd: Any, length: Any) -> list[str]:
        return [f"RESULT(ftruncate((int){_c_int(fd, 'fd')}, (off_t){_c_int(length, 'length')}));"]

    def op_kcmp_file(self, other: Any, fd: Any, other_fd: Any) -> list[str]:
        return [f"{{ long r_ = syscall(SYS_kcmp, (long)getpid(), (long){self.pid(other, 'other')}, 0L, "
                f"(long){_c_int(fd, 'fd')}, (long){_c_int(other_fd, 'fd')}); "
                'if (r_ == -1) out_err(out, errno); else sb_puts(out, r_ == 0 ? "-> True" : "-> False"); }']

    def op_fd_list(self) -> list[str]:
        return ["do_fd_list(out);"]

    def op_open_proc_fd(self, owner: Any, fd: Any, flags: Any) -> list[str]:
        return [f"{{ char p_[64]; snprintf(p_, sizeof p_, \"/proc/%d/fd/%d\", (int){self.pid(owner, 'owner')}, "
                f"(int){_c_int(fd, 'fd')}); RESULT(open(p_, (int){_c_int(flags, 'flags')}, 0644)); }}"]

    # sockets passing descriptors
    def op_socketpair(self) -> list[str]:
        return self.op_socketpair_of("stream")

    def op_socketpair_of(self, kind: Any) -> list[str]:
        if kind not in _SOCK_TYPES:
            raise Untranslatable(f"socket type {kind!r}")
        return [f"{{ int p_[2]; if (socketpair(AF_UNIX, {_SOCK_TYPES[kind]}, 0, p_) == -1) "
                "out_err(out, errno); else out_pair(out, p_); }"]

    def op_socket(self, domain: Any, kind: Any) -> list[str]:
        if domain not in _DOMAINS or kind not in _SOCK_TYPES:
            raise Untranslatable(f"socket of domain {domain!r} and type {kind!r}")
        return [f"RESULT(socket({_DOMAINS[domain]}, {_SOCK_TYPES[kind]}, 0));"]

    def address(self, address: Any) -> str:
        """``path, port`` for do_bind_connect: a path for AF_UNIX, a loopback port for AF_INET.

        A port that an earlier ``local_port`` reported is the replay's own
        port, as an id from a *get is: the kernel picks a new one each run.
        """
        if isinstance(address, str):
            return f"{self.unix_path(address)}, 0"
        if isinstance(address, int) and not isinstance(address, bool):
            if address in self.live_ids["local_port"]:
                return f"NULL, CUR->ids[{self.live_ids['local_port'][address]}]"
            return f"NULL, {_c_int(address, 'port')}"
        raise Untranslatable(f"socket address {address!r}")

    def op_bind(self, fd: Any, address: Any) -> list[str]:
        return [f"do_bind_connect((int){_c_int(fd, 'fd')}, {self.address(address)}, 0, out);"]

    def op_connect(self, fd: Any, address: Any) -> list[str]:
        return [f"do_bind_connect((int){_c_int(fd, 'fd')}, {self.address(address)}, 1, out);"]

    def op_listen(self, fd: Any, backlog: Any) -> list[str]:
        return [f"RESULT(listen((int){_c_int(fd, 'fd')}, (int){_c_int(backlog, 'backlog')}));"]

    def op_accept(self, fd: Any) -> list[str]:
        return [f"RESULT(accept((int){_c_int(fd, 'fd')}, NULL, NULL));"]

    def op_local_port(self, fd: Any) -> list[str]:
        return [f"do_local_port((int){_c_int(fd, 'fd')}, out);"]

    def op_unix_bind(self, path: Any) -> list[str]:
        return [f"do_unix_dgram({self.unix_path(path)}, 0, out);"]

    def op_unix_connect(self, path: Any) -> list[str]:
        return [f"do_unix_dgram({self.unix_path(path)}, 1, out);"]

    def unix_path(self, path: Any) -> str:
        if not isinstance(path, str) or len(path.encode()) >= _SUN_PATH:
            raise Untranslatable(f"socket path {path!r} is not a string that fits sun_path")
        return _c_string(path)

    def op_sendfd(self, sock: Any, fd: Any) -> list[str]:
        return [f"do_sendfd((int){_c_int(sock, 'fd')}, (int){_c_int(fd, 'fd')}, out);"]

    def op_recvfd(self, sock: Any) -> list[str]:
        return [f"do_recvfd((int){_c_int(sock, 'fd')}, out);"]

    def op_poll(self, fd: Any, events: Any, timeout_ms: Any) -> list[str]:
        if not isinstance(events, tuple) or any(e not in _POLL_EVENTS for e in events):
            raise Untranslatable(f"poll events {events!r}")
        mask = " | ".join(events) or "0"
        return [f"do_poll((int){_c_int(fd, 'fd')}, (short)({mask}), (int){_c_int(timeout_ms, 'timeout')}, out);"]

    def op_shutdown(self, fd: Any, how: Any) -> list[str]:
        return [f"RESULT(shutdown((int){_c_int(fd, 'fd')}, (int){_c_int(how, 'how')}));"]

    def op_send(self, fd: Any, data: Any, flags: Any) -> list[str]:
        if not isinstance(data, bytes):
            raise Untranslatable(f"send data {data!r} is not bytes")
        return [f"RESULT(send((int){_c_int(fd, 'fd')}, {_c_string(data)}, {len(data)}, "
                f"{_msg_flags(flags)}));"]

    def op_recv(self, fd: Any, count: Any, flags: Any) -> list[str]:
        c_count = _c_int(count, "count")
        if count > _MAX_BUFFER or count < 0:
            raise Untranslatable(f"recv of {count} bytes is outside the program's buffers")
        # as the kernel backend: a buffer of count bytes (one when count is 0)
        return [f"{{ unsigned char *b_ = malloc({c_count} ? (size_t){c_count} : 1); "
                f"ssize_t r_ = recv((int){_c_int(fd, 'fd')}, b_, (size_t){c_count}, {_msg_flags(flags)}); "
                'if (r_ < 0) out_err(out, errno); else { sb_puts(out, "-> "); sb_bytes(out, b_, (size_t)r_); } '
                "free(b_); }"]

    # processes and signals
    def op_fork(self, child: Any) -> list[str]:
        if not isinstance(child, str):
            raise Untranslatable(f"fork child name {child!r}")
        return [f"do_fork({self.actors.index(child)}, out, extra);"]

    def op_exit(self, status: Any) -> list[str]:
        return [f"_exit((int){_c_int(status, 'status')});"]

    def op_getpid(self) -> list[str]:
        return ['sb_puts(out, "-> "); out_pid(out, getpid());']

    def op_kill(self, target: Any, sig: Any) -> list[str]:
        return [f"RESULT(kill({self.pid(target, 'target')}, (int){_c_int(sig, 'signal')}));"]

    def op_signal(self, sig: Any, disposition: Any) -> list[str]:
        if disposition not in ("default", "ignore", "count"):
            raise Untranslatable(f"signal disposition {disposition!r}")
        return [f"do_signal((int){_c_int(sig, 'signal')}, '{disposition[0]}', out);"]

    def op_signal_count(self, sig: Any) -> list[str]:
        if not isinstance(sig, int) or not 0 < sig < 65:
            raise Untranslatable(f"signal {sig!r}")
        return [f'sb_printf(out, "-> %d", (int)SIGCOUNT[{sig}]);']

    def sigset(self, sigs: Any) -> str:
        if not isinstance(sigs, tuple) or not all(isinstance(s, int) and 0 < s < 65 for s in sigs):
            raise Untranslatable(f"signal set {sigs!r}")
        return "sigemptyset(&set_); " + "".join(f"sigaddset(&set_, {s}); " for s in sigs)

    def op_sigprocmask(self, how: Any, sigs: Any) -> list[str]:
        hows = {"block": "SIG_BLOCK", "unblock": "SIG_UNBLOCK", "set": "SIG_SETMASK"}
        if how not in hows:
            raise Untranslatable(f"sigprocmask how {how!r}")
        return [f"{{ sigset_t set_, old_; {self.sigset(sigs)}"
                f"int e_ = pthread_sigmask({hows[how]}, &set_, &old_); "
                "if (e_) out_err(out, e_); else { sb_puts(out, \"-> \"); out_sigset(out, &old_); } }"]

    def op_sigpending(self) -> list[str]:
        return ["{ sigset_t set_; if (sigpending(&set_) == -1) out_err(out, errno); "
                "else { sb_puts(out, \"-> \"); out_sigset(out, &set_); } }"]

    def op_sigtimedwait(self, sigs: Any, timeout_ns: Any) -> list[str]:
        return [f"{{ sigset_t set_; {self.sigset(sigs)}"
                f"do_sigtimedwait(&set_, {_c_int(timeout_ns, 'timeout')}, out); }}"]

    def op_sigqueue(self, target: Any, sig: Any, value: Any) -> list[str]:
        return [f"{{ union sigval v_; v_.sival_ptr = (void *)(intptr_t){_c_int(value, 'value')}; "
                f"RESULT(sigqueue({self.pid(target, 'target')}, (int){_c_int(sig, 'signal')}, v_)); }}"]

    def op_wait(self, child: Any) -> list[str]:
        return [f"do_wait({self.pid(child, 'child')}, out);"]

    def op_setvar(self, name: Any, value: Any) -> list[str]:
        slot = self.variable(name)
        return [f"VARS[{slot}] = {_c_int(value, 'value')}; VARSET[{slot}] = 1; sb_puts(out, \"-> 0\");"]

    def op_getvar(self, name: Any) -> list[str]:
        slot = self.variable(name)
        return [f'if (VARSET[{slot}]) sb_printf(out, "-> %lld", VARS[{slot}]); '
                'else sb_puts(out, "-> None");']

    # System V message queues
    def op_msgget(self, key: Any, flags: Any) -> list[str]:
        return [f"RESULT(msgget((key_t)(int){_c_int(key, 'key')}, (int){_c_int(flags, 'flags')}));"]

    def op_msgsnd(self, qid: Any, mtype: Any, text: Any, flags: Any) -> list[str]:
        if not isinstance(text, bytes):
            raise Untranslatable(f"message text {text!r} is not bytes")
        return [f"do_msgsnd({self.ident('msgsnd', qid)}, {_c_int(mtype, 'mtype')}, "
                f"{_c_string(text)}, {len(text)}, (int){_c_int(flags, 'flags')}, out);"]

    def op_msgrcv(self, qid: Any, maxsize: Any, msgtyp: Any, flags: Any) -> list[str]:
        return [f"do_msgrcv({self.ident('msgrcv', qid)}, {_c_int(maxsize, 'size')}, "
                f"{_c_int(msgtyp, 'msgtyp')}, (int){_c_int(flags, 'flags')}, out);"]

    def op_msgctl_stat(self, qid: Any) -> list[str]:
        return [f"do_msgctl_stat({self.ident('msgctl_stat', qid)}, out);"]

    def changes(self, changes: Any, allowed: tuple[str, ...]) -> str:
        if not isinstance(changes, dict) or not set(changes) <= set(allowed):
            raise Untranslatable(f"IPC_SET changes {changes!r}")
        parts = []
        for name in ("uid", "gid", "mode", "qbytes"):
            if name in changes:
                parts.append(f"1, {_c_int(changes[name], name)}")
            else:
                parts.append("0, 0")
        return ", ".join(parts)

    def op_msgctl_set(self, qid: Any, changes: Any) -> list[str]:
        return [f"do_msgctl_set({self.ident('msgctl_set', qid)}, "
                f"{self.changes(changes, ('uid', 'gid', 'mode', 'qbytes'))}, out);"]

    def op_msgctl_rmid(self, qid: Any) -> list[str]:
        return [f"RESULT(msgctl({self.ident('msgctl_rmid', qid)}, IPC_RMID, NULL));"]

    # System V semaphores
    def op_semget(self, key: Any, nsems: Any, flags: Any) -> list[str]:
        return [f"RESULT(semget((key_t)(int){_c_int(key, 'key')}, (int){_c_int(nsems, 'nsems')}, "
                f"(int){_c_int(flags, 'flags')}));"]

    def sops(self, sops: Any) -> str:
        if not isinstance(sops, tuple) or not all(isinstance(s, tuple) and len(s) == 3 for s in sops):
            raise Untranslatable(f"semaphore operations {sops!r}")
        items = ", ".join(
            f"{{(unsigned short){_c_int(n, 'sem_num')}, (short){_c_int(o, 'sem_op')}, "
            f"(short){_c_int(f, 'sem_flg')}}}" for n, o, f in sops)
        return f"struct sembuf s_[{max(len(sops), 1)}] = {{{items or '{0, 0, 0}'}}};"

    def op_semop(self, semid: Any, sops: Any) -> list[str]:
        return [f"{{ {self.sops(sops)} RESULT(semop({self.ident('semop', semid)}, s_, {len(sops)})); }}"]

    def op_semtimedop(self, semid: Any, sops: Any, timeout_ns: Any) -> list[str]:
        ns = _c_int(timeout_ns, "timeout")
        return [f"{{ {self.sops(sops)} struct timespec t_ = {{{ns} / 1000000000LL, {ns} % 1000000000LL}}; "
                f"RESULT(semtimedop({self.ident('semtimedop', semid)}, s_, {len(sops)}, &t_)); }}"]

    def op_semctl(self, semid: Any, semnum: Any, cmd: Any, arg: Any = 0) -> list[str]:
        ident = self.ident("semctl", semid)
        num = f"(int){_c_int(semnum, 'semnum')}"
        if cmd in (_GETALL, _SETALL):
            values = arg if isinstance(arg, tuple) else ()
            items = ", ".join(f"(unsigned short){_c_int(v, 'value')}" for v in values) or "0"
            return [f"{{ unsigned short v_[{max(len(values), 1)}] = {{{items}}}; "
                    f"do_semctl_all({ident}, {num}, {cmd}, v_, {len(values)}, out); }}"]
        if cmd not in _SEMCTL_INT or isinstance(arg, tuple):
            raise Untranslatable(f"semctl command {cmd!r} (only {sorted(_SEMCTL_INT.values())}, "
                                 "GETALL and SETALL are translated)")
        return [f"do_semctl_int({ident}, {num}, {cmd}, (int){_c_int(arg, 'arg')}, out);"]

    def op_semctl_stat(self, semid: Any) -> list[str]:
        return [f"do_semctl_stat({self.ident('semctl_stat', semid)}, out);"]

    def op_semctl_set(self, semid: Any, changes: Any) -> list[str]:
        return [f"do_semctl_set({self.ident('semctl_set', semid)}, "
                f"{self.changes(changes, ('uid', 'gid', 'mode'))}, out);"]

    # System V shared memory
    def op_shmget(self, key: Any, size: Any, flags: Any) -> list[str]:
        return [f"RESULT(shmget((key_t)(int){_c_int(key, 'key')}, (size_t){_c_int(size, 'size')}, "
                f"(int){_c_int(flags, 'flags')}));"]

    def op_shmat(self, shmid: Any, flags: Any) -> list[str]:
        return [f"do_shmat({self.ident('shmat', shmid)}, 0, (int){_c_int(flags, 'flags')}, out);"]

    def op_shmat_at(self, shmid: Any, hint: Any, flags: Any) -> list[str]:
        if hint not in ("null", "previous"):
            raise Untranslatable(f"shmat_at address hint {hint!r}")
        return [f"do_shmat({self.ident('shmat_at', shmid)}, {int(hint == 'previous')}, "
                f"(int){_c_int(flags, 'flags')}, out);"]

    def op_shm_write(self, handle: Any, offset: Any, data: Any) -> list[str]:
        if not isinstance(data, bytes):
            raise Untranslatable(f"shm_write data {data!r} is not bytes")
        return [f"do_shm_write({_c_int(handle, 'handle')}, {_c_int(offset, 'offset')}, "
                f"{_c_string(data)}, {len(data)}, out);"]

    def op_shm_read(self, handle: Any, offset: Any, count: Any) -> list[str]:
        c_count = _c_int(count, "count")
        if count > _MAX_BUFFER:
            raise Untranslatable(f"shm_read of {count} bytes is larger than the program's buffers")
        return [f"do_shm_read({_c_int(handle, 'handle')}, {_c_int(offset, 'offset')}, {c_count}, out);"]

    def op_shmdt(self, handle: Any) -> list[str]:
        return [f"do_shmdt({_c_int(handle, 'handle')}, out);"]

    def op_shmctl_stat(self, shmid: Any) -> list[str]:
        return [f"do_shmctl_stat({self.ident('shmctl_stat', shmid)}, out);"]

    def op_shmctl_set(self, shmid: Any, changes: Any) -> list[str]:
        return [f"do_shmctl_set({self.ident('shmctl_set', shmid)}, "
                f"{self.changes(changes, ('uid', 'gid', 'mode'))}, out);"]

    def op_shmctl_rmid(self, shmid: Any) -> list[str]:
        return [f"RESULT(shmctl({self.ident('shmctl_rmid', shmid)}, IPC_RMID, NULL));"]

    def op_become(self, uid: Any, gid: Any) -> list[str]:
        return [f"do_become((uid_t){_c_int(uid, 'uid')}, (gid_t){_c_int(gid, 'gid')}, out);"]


# -- the program -------------------------------------------------------------------
def c_program(trace: list[Step], title: str, limits: dict[str, str] | None = None) -> str:
    """The C source replaying ``trace``; raises :class:`Untranslatable`.

    ``limits`` (from :func:`snapshot_ipc_limits`) are written into the
    replay's private IPC namespace before the first step.
    """
    tr = _Translator(trace)
    # Actors and the fork tree first: pipes are made for all of them up front.
    for step in trace:
        if step.op == "spawn":
            if step.actor in tr.actors:
                raise Untranslatable(f"actor {step.actor!r} is spawned twice")
            tr.actors.append(step.actor)
            tr.parent[step.actor] = None
        elif step.op == "fork":
            child = step.args[0] if step.args else None
            if not isinstance(child, str) or child in tr.actors:
                raise Untranslatable(f"fork of {child!r}")
            if step.outcome.kind != "value":
                raise Untranslatable(f"fork of {child!r} did not succeed in the recorded run")
            tr.actors.append(child)
            tr.parent[child] = step.actor
    if not tr.actors:
        raise Untranslatable("the trace has no actor")

    functions: list[str] = []
    table: list[str] = []
    events: list[str] = []
    for number, step in enumerate(trace, 1):
        facts: dict[str, Any] = {}
        if step.op == "spawn":
            kind, actor = "K_SPAWN", tr.actor(step.actor)
        elif step.op == "settle":
            kind, actor = "K_SETTLE", -1
        elif step.op == "finish":
            kind, actor = "K_FINISH", tr.actor(step.actor)
        else:
            kind, actor = "K_OP", tr.actor(step.actor)
            lines, facts = tr.body(number, step)
            functions.append(f"static void step_{number}(struct sb *out, int *extra)\n{{\n"
                             "    (void)extra;\n"
                             + "".join(f"    {line}\n" for line in lines) + "}\n")
        expected = _c_string(canonical(step.expected)) if step.expected is not None else "NULL"
        table.append(
            f"    {{{kind}, {actor}, {_c_string(step.op)}, {_c_string(_show(step.args))},\n"
            f"     {_c_string(canonical(step.outcome))},\n     {expected},\n"
            f"     {'step_' + str(number) if kind == 'K_OP' else 'NULL'}, "
            f"'{facts.get('get', '-')}', {facts.get('owns', 0)}, {facts.get('slot', -1)}, "
            f"{facts.get('child', -1)}, {int(described(step.expected))}}},")
        # What settling saw after the step; and, when the step carries the
        # model's prediction of it (``expected_events``), that prediction.
        predicted: dict[str, Outcome] | None = step.expected_events
        for name in sorted(set(step.events) | set(predicted or {})):
            if name not in tr.actors:
                continue
            seen = _c_string(canonical(step.events[name])) if name in step.events else "NULL"
            wanted = "NULL" if predicted is None else (
                _c_string(canonical(predicted[name])) if name in predicted else '"nothing"')
            events.append(f"    {{{number}, {tr.actors.index(name)}, {seen}, {wanted}}},")
        if predicted is not None:
            # an actor with no event recorded nor predicted must show none now
            events.append(f"    {{{number}, -1, NULL, \"nothing\"}},")

    n = len(tr.actors)
    subtree = []
    for k, name in enumerate(tr.actors):
        row = []
        for other in tr.actors:
            up: str | None = other
            while up is not None and up != name:
                up = tr.parent[up]
            row.append("1" if up == name else "0")
        subtree.append("    {" + ", ".join(row) + "},  /* " + name.replace("*/", "* /") + f" ({k}) */")
    names = ", ".join(_c_string(a) for a in tr.actors)
    errnames = "\n".join(f'    {{{num}, "{name}"}},' for num, name in sorted(_errno.errorcode.items()))
    signames = "\n".join(f'    {{{int(s)}, "{s.name}"}},' for s in _signal.Signals)

    kept = sorted((k, v) for k, v in (limits or {}).items() if k in IPC_LIMITS)
    generated = (
        f"#define NACTORS {n}\n"
        f"#define NSTEPS {len(trace)}\n"
        f"#define NIDS {len(tr.id_slots)}\n"
        f"#define NVARS {len(tr.variables)}\n"
        f"#define DEADLINE_S {DEADLINE_S}\n"
        f"#define STEP_TIMEOUT_S {STEP_TIMEOUT_S}\n\n"
        f"static const char *const ACTOR_NAME[NACTORS] = {{{names}}};\n"
        "/* the System V limits the recorded run had: /proc/sys/kernel/NAME */\n"
        f"#define NLIMITS {len(kept)}\n"
        "static const char *const LIMITS[NLIMITS + 1][2] = {\n"
        + "".join(f"    {{{_c_string(k)}, {_c_string(v)}}},\n" for k, v in kept)
        + '    {"", ""},\n};\n'
        "/* SUBTREE[k][j]: actor j is k or descends from k by forks */\n"
        "static const int SUBTREE[NACTORS][NACTORS] = {\n" + "\n".join(subtree) + "\n};\n"
        "static const struct name_of ERRNAMES[] = {\n" + errnames + "\n};\n"
        "static const struct name_of SIGNAMES[] = {\n" + signames + "\n};\n"
    )
    steps_c = (
        "\n".join(functions)
        + "\nstatic const struct step STEPS[NSTEPS] = {\n" + "\n".join(table) + "\n};\n"
        + "static const struct event EVENTS[] = {\n" + "\n".join(events)
        + ("\n" if events else "") + "    {0, -1, NULL, NULL},\n};\n"
    )
    header = (
        "/* Reproducer: " + title.replace("*/", "* /")[:300] + "\n *\n"
        " * Replays the failing steps with real processes and real system calls.\n"
        " * Build and run on Linux:  cc -o repro THIS_FILE.c && ./repro\n"
        " * Exit status: 1 the failure reproduces, 0 every step matched, 2 set-up error.\n"
        " */\n"
    )
    return header + _C_HEAD + generated + _C_RUNTIME + steps_c + _C_MAIN


def write_c_reproducer(trace: list[Step], path: Path, title: str,
                       limits: dict[str, str] | None = None) -> str | None:
    """Write ``trace`` as a C program at ``path``.

    Returns ``None`` when the file was written, or — when some step has no C
    translation — the one-line reason, and then writes nothing.
    """
    try:
        source = c_program(trace, title, limits)
    except Untranslatable as exc:
        return f"no C reproducer: {exc}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return None


_C_HEAD = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the runtime below serves every trace; one trace uses only part of it */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-parameter"

struct name_of { int n; const char *s; };
struct sb { char *p; size_t n, cap; };
enum { K_OP, K_SPAWN, K_SETTLE, K_FINISH };
struct step {
    int kind, actor;
    const char *op, *args, *recorded, *expected;
    void (*run)(struct sb *out, int *extra);
    char get;      /* 'q', 's', 'm': a System V *get, whose id is kept; 'p': a local_port */
    int owns;      /* that *get creates the object (IPC_PRIVATE or IPC_CREAT|IPC_EXCL) */
    int slot;      /* where the id goes in struct cmd.ids, or -1 */
    int child;     /* a fork: the child actor's index */
    int described; /* the expectation describes a value ("<...>"): any value matches */
};
/* an event after a step: recorded by the suite, and predicted (NULL: no prediction;
 * actor -1: the step's predictions are complete, no other actor may show one) */
struct event { int step, actor; const char *text, *expected; };

"""

_C_RUNTIME = r"""
/* ---- messages between the coordinator and the actors -------------------- */
struct cmd { int32_t step; int32_t pids[NACTORS]; int32_t ids[NIDS + 1]; };
struct reply { int32_t extra; uint32_t len; };

static int FLOOR_FD;              /* the control pipes live at FLOOR_FD and up */
static const struct cmd *CUR;     /* the command an actor is performing */
#define CMD_R(j) (FLOOR_FD + 4 * (j))
#define CMD_W(j) (FLOOR_FD + 4 * (j) + 1)
#define RES_R(j) (FLOOR_FD + 4 * (j) + 2)
#define RES_W(j) (FLOOR_FD + 4 * (j) + 3)

static void sb_put(struct sb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            _exit(2);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(struct sb *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* bytes as Python's repr() writes them: the form the suite records */
static void sb_bytes(struct sb *b, const unsigned char *s, size_t n)
{
    int single = 0, dbl = 0;
    for (size_t i = 0; i < n; i++) {
        single |= s[i] == '\'';
        dbl |= s[i] == '"';
    }
    char quote = single && !dbl ? '"' : '\'';
    sb_put(b, "b", 1);
    sb_put(b, &quote, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '\\' || c == (unsigned char)quote) {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else if (c == '\t') {
            sb_puts(b, "\\t");
        } else if (c == '\n') {
            sb_puts(b, "\\n");
        } else if (c == '\r') {
            sb_puts(b, "\\r");
        } else if (c < 32 || c >= 127) {
            sb_printf(b, "\\x%02x", c);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, &quote, 1);
}

static const char *name_in(const struct name_of *table, size_t n, int value, const char *unknown)
{
    static char buf[32];
    for (size_t i = 0; i < n; i++)
        if (table[i].n == value)
            return table[i].s;
    snprintf(buf, sizeof buf, unknown, value);
    return buf;
}
#define ERRNAME(e) name_in(ERRNAMES, sizeof ERRNAMES / sizeof *ERRNAMES, (e), "E#%d")
#define SIGNAME(s) name_in(SIGNAMES, sizeof SIGNAMES / sizeof *SIGNAMES, (s), "SIG#%d")

static void out_err(struct sb *out, int e) { sb_printf(out, "-> error %s", ERRNAME(e)); }

/* a call returning -1 and errno on failure, its value otherwise */
#define RESULT(call)                                          \
    do {                                                      \
        long long r_ = (long long)(call);                     \
        if (r_ == -1)                                         \
            out_err(out, errno);                              \
        else                                                  \
            sb_printf(out, "-> %lld", r_);                    \
    } while (0)

/* a pid: the coordinator replaces @P<pid>@ by the actor it names */
static void out_pid(struct sb *out, long pid)
{
    if (pid)
        sb_printf(out, "@P%ld@", pid);
    else
        sb_puts(out, "0");
}

static void out_pair(struct sb *out, const int *p) { sb_printf(out, "-> (%d, %d)", p[0], p[1]); }

static void out_ints(struct sb *out, const long long *v, int n)
{
    sb_puts(out, "(");
    for (int i = 0; i < n; i++)
        sb_printf(out, i ? ", %lld" : "%lld", v[i]);
    sb_puts(out, n == 1 ? ",)" : ")");
}

static void out_sigset(struct sb *out, const sigset_t *set)
{
    long long v[64];
    int n = 0;
    for (int s = 1; s <= 64; s++)
        if (sigismember(set, s) == 1)
            v[n++] = s;
    out_ints(out, v, n);
}

static const char *truth(long v) { return v ? "True" : "False"; }

static void out_stat(struct sb *out, const struct stat *st)
{
    char t = S_ISFIFO(st->st_mode) ? 'p' : S_ISREG(st->st_mode) ? '-' : S_ISCHR(st->st_mode) ? 'c'
           : S_ISDIR(st->st_mode) ? 'd' : S_ISSOCK(st->st_mode) ? 's' : '?';
    sb_printf(out, "-> ('%c', %lld)", t, (long long)st->st_size);
}

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return (int)got;
        got += (size_t)r;
    }
    return (int)got;
}

static int write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(fd, (const char *)buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int is_pipe_fd(int fd) { return fd >= FLOOR_FD && fd < FLOOR_FD + 4 * NACTORS; }

/* ---- the state an actor keeps in user space (copied by fork) ------------ */
static volatile sig_atomic_t SIGCOUNT[65];
static long long VARS[NVARS + 1];
static int VARSET[NVARS + 1];
struct attachment { void *addr; size_t size; int used, has_former; void *former; };
static struct attachment ATT[64];
static void *LAST_DETACHED;

static void count_signal(int sig)
{
    if (sig > 0 && sig < 65)
        SIGCOUNT[sig]++;
}

static void actor_loop(int k) __attribute__((noreturn));

/* ---- operations that need more than one call ----------------------------- */
static void do_read(int fd, size_t count, struct sb *out)
{
    /* as the kernel backend: a buffer of count bytes (one when count is 0 or absurd) */
    unsigned char *buf = malloc(count && count <= (1 << 24) ? count : 1);
    ssize_t r = read(fd, buf, count);
    if (r < 0) {
        out_err(out, errno);
    } else {
        sb_puts(out, "-> ");
        sb_bytes(out, buf, (size_t)r);
    }
    free(buf);
}

static void do_fd_list(struct sb *out)
{
    long long v[1024];
    int n = 0;
    for (int fd = 0; fd < FLOOR_FD + 4 * NACTORS + 64 && n < 1024; fd++)
        if (!is_pipe_fd(fd) && fcntl(fd, F_GETFD) != -1)
            v[n++] = fd;
    sb_puts(out, "-> ");
    out_ints(out, v, n);
}

/* bind or connect to a path (AF_UNIX) or, when path is NULL, to 127.0.0.1:port
   (AF_INET), with the address length Python's socket module gives */
static int bind_or_connect(int fd, const char *path, int port, int connect_)
{
    struct sockaddr_un un;
    struct sockaddr_in in;
    struct sockaddr *addr;
    socklen_t len;
    if (path) {
        memset(&un, 0, sizeof un);
        un.sun_family = AF_UNIX;
        memcpy(un.sun_path, path, strlen(path));
        addr = (struct sockaddr *)&un;
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    } else {
        memset(&in, 0, sizeof in);
        in.sin_family = AF_INET;
        in.sin_port = htons((uint16_t)port);
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr = (struct sockaddr *)&in;
        len = sizeof in;
    }
    return connect_ ? connect(fd, addr, len) : bind(fd, addr, len);
}

static void do_bind_connect(int fd, const char *path, int port, int connect_, struct sb *out)
{
    RESULT(bind_or_connect(fd, path, port, connect_));
}

/* the names of the events reported, sorted, as a Python tuple: ('POLLERR', 'POLLHUP') */
static void do_poll(int fd, short events, int timeout_ms, struct sb *out)
{
    static const struct { const char *name; short bit; } names[] = {
        {"POLLERR", POLLERR}, {"POLLHUP", POLLHUP}, {"POLLIN", POLLIN}, {"POLLNVAL", POLLNVAL},
        {"POLLOUT", POLLOUT}, {"POLLPRI", POLLPRI}, {"POLLRDBAND", POLLRDBAND},
        {"POLLRDHUP", POLLRDHUP}, {"POLLRDNORM", POLLRDNORM}, {"POLLWRBAND", POLLWRBAND},
        {"POLLWRNORM", POLLWRNORM},
    };
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, timeout_ms);
    if (n == -1) {
        out_err(out, errno);
        return;
    }
    int shown = 0;
    sb_puts(out, "-> (");
    for (size_t i = 0; n > 0 && i < sizeof names / sizeof *names; i++)
        if (p.revents & names[i].bit)
            sb_printf(out, "%s'%s'", shown++ ? ", " : "", names[i].name);
    sb_puts(out, shown == 1 ? ",)" : ")");
}

static void do_local_port(int fd, struct sb *out)
{
    struct sockaddr_in in;
    socklen_t len = sizeof in;
    if (getsockname(fd, (struct sockaddr *)&in, &len) == -1)
        out_err(out, errno);
    else
        sb_printf(out, "-> %d", ntohs(in.sin_port));
}

/* a plain AF_UNIX datagram socket bound or connected to path: a meeting point */
static void do_unix_dgram(const char *path, int connect_, struct sb *out)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd == -1 || bind_or_connect(fd, path, 0, connect_) == -1) {
        int e = errno;
        if (fd != -1)
            close(fd);
        out_err(out, e);
        return;
    }
    sb_printf(out, "-> %d", fd);
}

static void do_sendfd(int sock, int fd, struct sb *out)
{
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof control.space;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    RESULT(sendmsg(sock, &msg, 0));
}

static void do_recvfd(int sock, struct sb *out)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof control.space;
    if (recvmsg(sock, &msg, 0) == -1) {
        out_err(out, errno);
        return;
    }
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        sb_printf(out, "-> %d", fd);
    } else {
        sb_puts(out, "-> None");
    }
}

static void do_fork(int child, struct sb *out, int *extra)
{
    pid_t pid = fork();
    if (pid == -1) {
        out_err(out, errno);
        return;
    }
    if (pid == 0) {
        /* the child keeps the pipes of itself and of the actors it will fork */
        for (int j = 0; j < NACTORS; j++)
            if (!SUBTREE[child][j]) {
                close(CMD_R(j));
                close(RES_W(j));
            }
        actor_loop(child);
    }
    for (int j = 0; j < NACTORS; j++)
        if (SUBTREE[child][j]) {
            close(CMD_R(j));
            close(RES_W(j));
        }
    *extra = pid;
    sb_printf(out, "-> ActorRef('%s')", ACTOR_NAME[child]);
}

static void do_signal(int sig, char disposition, struct sb *out)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* 'count': no SA_RESTART, so a call the handler interrupts fails with EINTR */
    sa.sa_handler = disposition == 'd' ? SIG_DFL : disposition == 'i' ? SIG_IGN : count_signal;
    RESULT(sigaction(sig, &sa, NULL));
}

static void do_sigtimedwait(const sigset_t *set, long long timeout_ns, struct sb *out)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    struct timespec ts = {timeout_ns / 1000000000LL, timeout_ns % 1000000000LL};
    int signo = sigtimedwait(set, &info, &ts);
    if (signo == -1) {
        out_err(out, errno);
        return;
    }
    long value; /* the word after si_uid: sival for SI_QUEUE, si_status for SIGCHLD */
    memcpy(&value, (char *)&info + 24, sizeof value);
    const char *code = info.si_code == SI_USER ? "'SI_USER'" : info.si_code == SI_QUEUE ? "'SI_QUEUE'"
                     : info.si_code == SI_MESGQ ? "'SI_MESGQ'" : info.si_code == 1 ? "'CLD_EXITED'" : info.si_code == 2 ? "'CLD_KILLED'"
                     : info.si_code == 3 ? "'CLD_DUMPED'" : NULL;
    sb_puts(out, "-> {'code': ");
    if (code)
        sb_puts(out, code);
    else
        sb_printf(out, "%d", info.si_code);
    sb_puts(out, ", 'pid': ");
    out_pid(out, info.si_pid);
    sb_printf(out, ", 'signo': %d, 'value': %ld}", signo, value);
}

static void do_wait(pid_t pid, struct sb *out)
{
    int status;
    if (waitpid(pid, &status, 0) == -1)
        out_err(out, errno);
    else if (WIFSIGNALED(status))
        sb_printf(out, "-> ('killed', '%s')", SIGNAME(WTERMSIG(status)));
    else
        sb_printf(out, "-> ('exited', %d)", WEXITSTATUS(status));
}

/* -- System V: the structures as glibc declares them ------------------------ */
union semun_ { int val; struct semid_ds *buf; unsigned short *array; };
#define MSG_STAT_ANY_ 13
#define SEM_STAT_ANY_ 20
#define SHM_STAT_ANY_ 15
static const int INDEX_MASKS[2] = {(1 << 15) - 1, (1 << 24) - 1};

/* the current values without read permission (*_STAT_ANY), else IPC_STAT */
static int msq_current(int id, struct msqid_ds *ds)
{
    for (int m = 0; id >= 0 && m < 2; m++)
        if (msgctl(id & INDEX_MASKS[m], MSG_STAT_ANY_, ds) == id)
            return 0;
    return msgctl(id, IPC_STAT, ds);
}

static int sem_current(int id, struct semid_ds *ds)
{
    union semun_ arg;
    arg.buf = ds;
    for (int m = 0; id >= 0 && m < 2; m++)
        if (semctl(id & INDEX_MASKS[m], 0, SEM_STAT_ANY_, arg) == id)
            return 0;
    return semctl(id, 0, IPC_STAT, arg);
}

static int shm_current(int id, struct shmid_ds *ds)
{
    for (int m = 0; id >= 0 && m < 2; m++)
        if (shmctl(id & INDEX_MASKS[m], SHM_STAT_ANY_, ds) == id)
            return 0;
    return shmctl(id, IPC_STAT, ds);
}

static void apply_perm(struct ipc_perm *perm, int set_uid, long long uid, int set_gid, long long gid,
                       int set_mode, long long mode)
{
    if (set_uid)
        perm->uid = (uid_t)uid;
    if (set_gid)
        perm->gid = (gid_t)gid;
    if (set_mode)
        perm->mode = (unsigned int)mode;
}

static void do_msgsnd(int qid, long long mtype, const char *text, size_t n, int flags, struct sb *out)
{
    char *buf = malloc(sizeof(long) + n + 1);
    long type = (long)mtype;
    memcpy(buf, &type, sizeof type);
    memcpy(buf + sizeof(long), text, n);
    RESULT(msgsnd(qid, buf, n, flags));
    free(buf);
}

static long msgmax(void)
{
    FILE *f = fopen("/proc/sys/kernel/msgmax", "r");
    long v = 8192;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 8192;
        fclose(f);
    }
    return v;
}

static void do_msgrcv(int qid, long long maxsize, long long msgtyp, int flags, struct sb *out)
{
    /* the buffer as large as asked, or as large as any message can be */
    long room = maxsize < 0 ? 0 : maxsize <= (1 << 20) ? (long)maxsize
              : (msgmax() > (1 << 20) ? msgmax() : (1 << 20));
    char *buf = calloc(1, sizeof(long) + (size_t)room + 1);
    ssize_t r = msgrcv(qid, buf, (size_t)maxsize, (long)msgtyp, flags);
    if (r < 0) {
        out_err(out, errno);
    } else {
        long type;
        memcpy(&type, buf, sizeof type);
        sb_printf(out, "-> (%ld, ", type);
        sb_bytes(out, (unsigned char *)buf + sizeof(long), (size_t)r);
        sb_puts(out, ")");
    }
    free(buf);
}

static void do_msgctl_stat(int qid, struct sb *out)
{
    struct msqid_ds ds;
    if (msgctl(qid, IPC_STAT, &ds) == -1) {
        out_err(out, errno);
        return;
    }
    sb_printf(out, "-> {'cbytes': %lu, 'cgid': %u, 'ctime': %s, 'cuid': %u, 'gid': %u, 'lrpid': ",
              (unsigned long)ds.__msg_cbytes, (unsigned)ds.msg_perm.cgid, truth(ds.msg_ctime),
              (unsigned)ds.msg_perm.cuid, (unsigned)ds.msg_perm.gid);
    out_pid(out, ds.msg_lrpid);
    sb_puts(out, ", 'lspid': ");
    out_pid(out, ds.msg_lspid);
    sb_printf(out, ", 'mode': %u, 'qbytes': %lu, 'qnum': %lu, 'rtime': %s, 'stime': %s, 'uid': %u}",
              (unsigned)ds.msg_perm.mode, (unsigned long)ds.msg_qbytes, (unsigned long)ds.msg_qnum,
              truth(ds.msg_rtime), truth(ds.msg_stime), (unsigned)ds.msg_perm.uid);
}

static void do_msgctl_set(int qid, int su, long long uid, int sg, long long gid, int sm, long long mode,
                          int sq, long long qbytes, struct sb *out)
{
    struct msqid_ds ds;
    if (msq_current(qid, &ds) == -1) {
        out_err(out, errno);
        return;
    }
    apply_perm(&ds.msg_perm, su, uid, sg, gid, sm, mode);
    if (sq)
        ds.msg_qbytes = (msglen_t)qbytes;
    RESULT(msgctl(qid, IPC_SET, &ds));
}

static int sem_count(int semid)
{
    struct semid_ds ds;
    return sem_current(semid, &ds) == -1 ? 0 : (int)ds.sem_nsems;
}

static void do_semctl_all(int semid, int semnum, int cmd, const unsigned short *values, int n,
                          struct sb *out)
{
    /* the kernel reads or writes one value per semaphore of the set */
    int nsems = sem_count(semid);
    int size = nsems > n ? nsems : n;
    unsigned short *array = calloc((size_t)(size ? size : 1), sizeof *array);
    memcpy(array, values, (size_t)n * sizeof *array);
    union semun_ arg;
    arg.array = array;
    if (semctl(semid, semnum, cmd, arg) == -1) {
        out_err(out, errno);
    } else if (cmd == SETALL) {
        sb_puts(out, "-> 0");
    } else {
        long long v[1024];
        for (int i = 0; i < nsems && i < 1024; i++)
            v[i] = array[i];
        sb_puts(out, "-> ");
        out_ints(out, v, nsems < 1024 ? nsems : 1024);
    }
    free(array);
}

static void do_semctl_int(int semid, int semnum, int cmd, int val, struct sb *out)
{
    union semun_ arg;
    arg.val = val;
    int r = semctl(semid, semnum, cmd, arg);
    if (r == -1)
        out_err(out, errno);
    else if (cmd == SETVAL || cmd == IPC_RMID)
        sb_puts(out, "-> 0");
    else if (cmd == GETPID) {
        sb_puts(out, "-> ");
        out_pid(out, r);
    } else
        sb_printf(out, "-> %d", r);
}

static void do_semctl_stat(int semid, struct sb *out)
{
    struct semid_ds ds;
    union semun_ arg;
    arg.buf = &ds;
    if (semctl(semid, 0, IPC_STAT, arg) == -1) {
        out_err(out, errno);
        return;
    }
    sb_printf(out, "-> {'cgid': %u, 'ctime': %s, 'cuid': %u, 'gid': %u, 'mode': %u, 'nsems': %lu, "
              "'otime': %s, 'uid': %u}",
              (unsigned)ds.sem_perm.cgid, truth(ds.sem_ctime), (unsigned)ds.sem_perm.cuid,
              (unsigned)ds.sem_perm.gid, (unsigned)ds.sem_perm.mode, (unsigned long)ds.sem_nsems,
              truth(ds.sem_otime), (unsigned)ds.sem_perm.uid);
}

static void do_semctl_set(int semid, int su, long long uid, int sg, long long gid, int sm, long long mode,
                          int sq, long long unused, struct sb *out)
{
    (void)sq;
    (void)unused;
    struct semid_ds ds;
    if (sem_current(semid, &ds) == -1) {
        out_err(out, errno);
        return;
    }
    apply_perm(&ds.sem_perm, su, uid, sg, gid, sm, mode);
    union semun_ arg;
    arg.buf = &ds;
    RESULT(semctl(semid, 0, IPC_SET, arg));
}

static void do_shmat(int shmid, int previous, int flags, struct sb *out)
{
    void *addr = shmat(shmid, previous ? LAST_DETACHED : NULL, flags);
    if (addr == (void *)-1) {
        out_err(out, errno);
        return;
    }
    struct shmid_ds ds;
    size_t size = shm_current(shmid, &ds) == 0 ? ds.shm_segsz : 0;
    int h = 0;
    while (h < 63 && ATT[h].used)
        h++; /* the lowest unused handle, as the model predicts */
    ATT[h].addr = addr;
    ATT[h].size = size;
    ATT[h].used = 1;
    ATT[h].has_former = 0;
    sb_printf(out, "-> %d", h);
}

/* the backend's own bounds check: EFAULT outside the segment or for an unknown handle */
static struct attachment *shm_access(long long h, long long offset, long long count)
{
    if (h < 0 || h >= 64 || !ATT[h].used)
        return NULL;
    if (offset < 0 || count < 0 || offset + count > (long long)ATT[h].size)
        return NULL;
    return &ATT[h];
}

static void do_shm_write(long long h, long long offset, const char *data, size_t n, struct sb *out)
{
    struct attachment *a = shm_access(h, offset, (long long)n);
    if (!a) {
        out_err(out, EFAULT);
        return;
    }
    memcpy((char *)a->addr + offset, data, n); /* SIGSEGV through a read-only attachment */
    sb_printf(out, "-> %zu", n);
}

static void do_shm_read(long long h, long long offset, long long count, struct sb *out)
{
    struct attachment *a = shm_access(h, offset, count);
    if (!a) {
        out_err(out, EFAULT);
        return;
    }
    sb_puts(out, "-> ");
    sb_bytes(out, (unsigned char *)a->addr + offset, (size_t)count);
}

static void do_shmdt(long long h, struct sb *out)
{
    if (h < 0 || h >= 64) {
        out_err(out, EINVAL);
        return;
    }
    struct attachment *a = &ATT[h];
    if (!a->used) {
        /* a handle detached before: its stale address, unless reused since */
        int live = 0;
        for (int i = 0; i < 64; i++)
            live |= ATT[i].used && ATT[i].addr == a->former;
        if (!a->has_former || live) {
            out_err(out, EINVAL);
            return;
        }
        RESULT(shmdt(a->former));
        return;
    }
    if (shmdt(a->addr) == -1) {
        out_err(out, errno);
        return;
    }
    a->used = 0;
    a->former = a->addr;
    a->has_former = 1;
    LAST_DETACHED = a->addr;
    sb_puts(out, "-> 0");
}

static void do_shmctl_stat(int shmid, struct sb *out)
{
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) == -1) {
        out_err(out, errno);
        return;
    }
    sb_printf(out, "-> {'atime': %s, 'cgid': %u, 'cpid': ", truth(ds.shm_atime), (unsigned)ds.shm_perm.cgid);
    out_pid(out, ds.shm_cpid);
    sb_printf(out, ", 'ctime': %s, 'cuid': %u, 'dtime': %s, 'gid': %u, 'key': %d, 'lpid': ",
              truth(ds.shm_ctime), (unsigned)ds.shm_perm.cuid, truth(ds.shm_dtime),
              (unsigned)ds.shm_perm.gid, (int)ds.shm_perm.__key);
    out_pid(out, ds.shm_lpid);
    sb_printf(out, ", 'mode': %u, 'nattch': %lu, 'segsz': %zu, 'uid': %u}", (unsigned)ds.shm_perm.mode,
              (unsigned long)ds.shm_nattch, (size_t)ds.shm_segsz, (unsigned)ds.shm_perm.uid);
}

static void do_shmctl_set(int shmid, int su, long long uid, int sg, long long gid, int sm, long long mode,
                          int sq, long long unused, struct sb *out)
{
    (void)sq;
    (void)unused;
    struct shmid_ds ds;
    if (shm_current(shmid, &ds) == -1) {
        out_err(out, errno);
        return;
    }
    apply_perm(&ds.shm_perm, su, uid, sg, gid, sm, mode);
    RESULT(shmctl(shmid, IPC_SET, &ds));
}

static void do_become(uid_t uid, gid_t gid, struct sb *out)
{
    /* changing credentials clears the parent-death signal: set it again */
    int deathsig = 0;
    prctl(PR_GET_PDEATHSIG, &deathsig, 0, 0, 0);
    if (setgroups(0, NULL) == -1 || setgid(gid) == -1 || setuid(uid) == -1) {
        out_err(out, errno);
        return;
    }
    if (deathsig)
        prctl(PR_SET_PDEATHSIG, deathsig, 0, 0, 0);
    sb_puts(out, "-> 0");
}

static void run_step(int i, struct sb *out, int *extra);

/* an actor: perform the steps the coordinator sends, reply with each result */
static void actor_loop(int k)
{
    static struct cmd c;
    for (;;) {
        if (read_full(CMD_R(k), &c, sizeof c) != (int)sizeof c)
            _exit(0); /* the coordinator went away */
        CUR = &c;
        struct sb out = {0};
        int extra = 0;
        run_step(c.step, &out, &extra);
        struct reply r = {extra, (uint32_t)out.n};
        if (write_full(RES_W(k), &r, sizeof r) || write_full(RES_W(k), out.p ? out.p : "", out.n))
            _exit(0);
        free(out.p);
    }
}
"""

_C_MAIN = r"""
static void run_step(int i, struct sb *out, int *extra)
{
    if (i >= 0 && i < NSTEPS && STEPS[i].run)
        STEPS[i].run(out, extra);
}

/* ---- the coordinator --------------------------------------------------------- */
static struct cmd STATE;              /* pids of the actors, ids of the *gets */
static int ALIVE[NACTORS], PENDING[NACTORS], STARTED[NACTORS];
static char *EVENT_NOW[NACTORS];
static char TMPDIR_[64];
static int PRIVATE_IPC;
static volatile sig_atomic_t CLEANED;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* kill and reap every actor, remove the IPC objects and the directory */
static void cleanup(void)
{
    if (CLEANED)
        return;
    CLEANED = 1;
    for (int k = 0; k < NACTORS; k++)
        if (STATE.pids[k] > 0)
            kill(STATE.pids[k], SIGKILL);
    /* a child subreaper: orphaned actors are ours to reap too */
    while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
        ;
    for (int i = 0; i < NSTEPS; i++) {
        const struct step *s = &STEPS[i];
        if (s->slot < 0 || !(PRIVATE_IPC || s->owns) || STATE.ids[s->slot] < 0)
            continue;
        int id = STATE.ids[s->slot];
        if (s->get == 'q')
            msgctl(id, IPC_RMID, NULL);
        else if (s->get == 's')
            semctl(id, 0, IPC_RMID);
        else if (s->get == 'm')
            shmctl(id, IPC_RMID, NULL);
    }
    if (TMPDIR_[0]) {
        if (chdir("/") == 0)
            nftw(TMPDIR_, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("setup error: ", stdout);
    vprintf(fmt, ap);
    fputs("\n", stdout);
    va_end(ap);
    fflush(stdout);
    cleanup();
    exit(2);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "setup error: the replay ran past its deadline\n";
    if (write(1, msg, sizeof msg - 1) < 0) {
    }
    cleanup();
    _exit(2);
}

/* ---- what /proc says about an actor -------------------------------------- */
struct task { char state; int exit_code; int in_call; long nr; unsigned long arg0; };

static struct task read_task(pid_t pid)
{
    struct task t = {0, -1, 0, -1, 0};
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return t;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return t;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return t;
    t.state = p[2];
    /* the exit code is field 52; the state is field 3 */
    char *save = NULL, *tok = strtok_r(p + 2, " ", &save);
    for (int field = 3; tok; field++, tok = strtok_r(NULL, " ", &save))
        if (field == 52)
            t.exit_code = atoi(tok);
    if (t.state == 'Z' || t.state == 'X')
        return t;
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return t;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return t;
    buf[n] = 0;
    if (strncmp(buf, "running", 7) == 0)
        return t;
    char *end;
    t.nr = strtol(buf, &end, 10);
    if (t.nr < 0)
        return t;
    t.in_call = 1;
    t.arg0 = strtoul(end, NULL, 0);
    return t;
}

/* idle: asleep reading its command pipe */
static int idle(int k, const struct task *t)
{
    return t->state == 'S' && t->in_call && t->nr == SYS_read && t->arg0 == (unsigned long)CMD_R(k);
}

static int asleep_in_op(int k, const struct task *t)
{
    return t->state == 'S' && t->in_call && !idle(k, t);
}

/* growing waits between two looks at /proc, cut short by any reply */
static const long BACKOFF_NS[] = {0, 10000, 20000, 50000, 100000, 200000, 500000, 1000000, 2000000,
                                  5000000, 10000000};

static long backoff(int *i)
{
    (*i)++;
    return *i < (int)(sizeof BACKOFF_NS / sizeof *BACKOFF_NS) ? BACKOFF_NS[*i] : 20000000;
}

static int readable(int fd, long wait_ns)
{
    struct pollfd p = {fd, POLLIN, 0};
    struct timespec ts = {wait_ns / 1000000000L, wait_ns % 1000000000L};
    int r = ppoll(&p, 1, &ts, NULL);
    return r > 0;
}

/* the coordinator's form: @P<pid>@ becomes ActorRef('name') for an actor's pid */
static char *with_actor_names(const char *text)
{
    struct sb b = {0};
    sb_puts(&b, "");
    for (const char *s = text; *s;) {
        if (s[0] == '@' && s[1] == 'P') {
            char *end;
            long pid = strtol(s + 2, &end, 10);
            if (*end == '@') {
                int found = -1;
                for (int k = 0; k < NACTORS; k++)
                    if (STATE.pids[k] == pid && pid > 0)
                        found = k;
                if (found >= 0)
                    sb_printf(&b, "ActorRef('%s')", ACTOR_NAME[found]);
                else
                    sb_printf(&b, "%ld", pid);
                s = end + 1;
                continue;
            }
        }
        sb_put(&b, s, 1);
        s++;
    }
    return b.p;
}

/* the actor's result pipe closed: it died; how is read from its zombie */
static char *death(int k)
{
    double limit = now() + STEP_TIMEOUT_S;
    int b = 0;
    struct sb out = {0};
    for (;;) {
        struct task t = read_task(STATE.pids[k]);
        if (t.state == 'Z' && t.exit_code >= 0) {
            if (WIFSIGNALED(t.exit_code))
                sb_printf(&out, "-> killed by %s", SIGNAME(WTERMSIG(t.exit_code)));
            else
                sb_printf(&out, "-> exited with status %d", WEXITSTATUS(t.exit_code));
            break;
        }
        if (t.state == 0 || t.state == 'X') {
            sb_puts(&out, "-> exited with status None"); /* reaped by its parent first */
            break;
        }
        if (now() > limit)
            fail("%s closed its result pipe but did not exit", ACTOR_NAME[k]);
        struct timespec ts = {0, backoff(&b)};
        nanosleep(&ts, NULL); /* a bounded poll of /proc, not an ordering */
    }
    ALIVE[k] = 0;
    PENDING[k] = 0;
    return out.p;
}

/* one reply (or the death that closed the pipe); *extra gets a forked child's pid */
static char *take_reply(int k, int *extra)
{
    struct reply r;
    int n = read_full(RES_R(k), &r, sizeof r);
    if (n == 0)
        return death(k);
    if (n != (int)sizeof r)
        fail("%s sent half a reply", ACTOR_NAME[k]);
    char *text = calloc(1, (size_t)r.len + 1);
    if (read_full(RES_R(k), text, r.len) != (int)r.len)
        fail("%s sent half a reply", ACTOR_NAME[k]);
    if (extra)
        *extra = r.extra;
    char *named = with_actor_names(text);
    free(text);
    return named;
}

static void event(int k)
{
    if (PENDING[k]) {
        EVENT_NOW[k] = take_reply(k, NULL);
        PENDING[k] = 0;
        return;
    }
    struct reply r;
    if (read_full(RES_R(k), &r, sizeof r) == 0) {
        EVENT_NOW[k] = death(k);
        return;
    }
    fail("%s sent a reply nobody asked for", ACTOR_NAME[k]);
}

/* wait until every actor is idle or asleep in its pending call */
static void settle(int replied)
{
    double limit = now() + STEP_TIMEOUT_S;
    int b = 0;
    long wait = 0;
    for (;;) {
        struct pollfd p[NACTORS];
        int who[NACTORS], n = 0, busy = 0;
        for (int k = 0; k < NACTORS; k++)
            if (STARTED[k] && ALIVE[k]) {
                p[n].fd = RES_R(k);
                p[n].events = POLLIN;
                p[n].revents = 0;
                who[n++] = k;
            }
        struct timespec ts = {wait / 1000000000L, wait % 1000000000L};
        if (n)
            ppoll(p, (nfds_t)n, &ts, NULL);
        for (int i = 0; i < n; i++) {
            int k = who[i];
            if (p[i].revents) {
                event(k);
                busy = 1;
                continue;
            }
            if (k == replied && !PENDING[k])
                continue;
            struct task t = read_task(STATE.pids[k]);
            if (PENDING[k] && asleep_in_op(k, &t))
                continue;
            if (!PENDING[k] && idle(k, &t))
                continue;
            busy = 1;
        }
        if (!busy)
            return;
        if (now() > limit)
            fail("the actors did not settle within %d s", STEP_TIMEOUT_S);
        wait = backoff(&b);
    }
}

/* send step i to actor k; its result, or "-> blocked" when /proc shows it asleep */
static char *perform(int i, int k, int *replied)
{
    STATE.step = i;
    if (write_full(CMD_W(k), &STATE, sizeof STATE) && errno != EPIPE)
        fail("cannot reach %s", ACTOR_NAME[k]);
    double limit = now() + STEP_TIMEOUT_S;
    int b = 0, asleep_once = 0;
    long wait = 0;
    for (;;) {
        if (readable(RES_R(k), wait)) {
            int extra = 0;
            char *text = take_reply(k, &extra);
            *replied = ALIVE[k];
            if (STEPS[i].child >= 0 && extra > 0) {
                STATE.pids[STEPS[i].child] = extra;
                ALIVE[STEPS[i].child] = STARTED[STEPS[i].child] = 1;
            }
            return text;
        }
        wait = backoff(&b);
        struct task t = read_task(STATE.pids[k]);
        if (t.state == 'Z' || t.state == 'X' || t.state == 0)
            continue; /* its pipe is about to read as closed */
        if (asleep_in_op(k, &t)) {
            if (asleep_once) { /* confirmed on a second look, after a wait */
                PENDING[k] = 1;
                *replied = 0;
                return strdup("-> blocked");
            }
            asleep_once = 1;
            continue;
        }
        asleep_once = 0;
        if (now() > limit)
            fail("step %d: %s: %s neither returned nor blocked within %d s", i + 1, ACTOR_NAME[k],
                 STEPS[i].op, STEP_TIMEOUT_S);
    }
}

static void spawn(int k)
{
    fflush(stdout);
    pid_t coordinator = getpid();
    pid_t pid = fork();
    if (pid == -1)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        /* a clean actor: its own session, default signals, /dev/null on 0-2 */
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != coordinator)
            _exit(2);
        for (int s = 1; s < 65; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int fd = 3; fd < FLOOR_FD; fd++)
            close(fd);
        for (int j = 0; j < NACTORS; j++) {
            close(CMD_W(j));
            close(RES_R(j));
            if (!SUBTREE[k][j]) {
                close(CMD_R(j));
                close(RES_W(j));
            }
        }
        int null = open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3; fd++)
            dup2(null, fd);
        if (null > 2)
            close(null);
        actor_loop(k);
    }
    for (int j = 0; j < NACTORS; j++)
        if (SUBTREE[k][j]) {
            close(CMD_R(j));
            close(RES_W(j));
        }
    STATE.pids[k] = pid;
    ALIVE[k] = STARTED[k] = 1;
}

static int is_id(const char *text)
{
    if (strncmp(text, "-> ", 3) != 0 || !text[3])
        return 0;
    for (const char *p = text + 3; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/* a returned value, not an error, a sleep or a death (values are printed by repr: quoted) */
static int is_value(const char *text)
{
    return strncmp(text, "-> ", 3) == 0 && strncmp(text, "-> error ", 9) != 0
           && strcmp(text, "-> blocked") != 0 && strncmp(text, "-> killed by ", 13) != 0
           && strncmp(text, "-> exited with status ", 22) != 0;
}

static void show(const char *label, const char *text)
{
    size_t n = strlen(text);
    if (n > 200)
        printf("%s%.200s... (%zu characters)", label, text, n);
    else
        printf("%s%s", label, text);
}

/* the events of step i; returns how many differ from a prediction */
static int show_events(int i, int skip)
{
    int predicted = 0, differ = 0;
    for (const struct event *e = EVENTS; e->step; e++)
        predicted |= e->step == i + 1 && e->expected != NULL;
    for (int k = 0; k < NACTORS; k++) {
        const char *recorded = NULL, *expected = predicted ? "nothing" : NULL;
        for (const struct event *e = EVENTS; e->step; e++)
            if (e->step == i + 1 && e->actor == k) {
                recorded = e->text;
                expected = e->expected;
            }
        const char *now = EVENT_NOW[k] ? EVENT_NOW[k] : "nothing";
        if (k == skip)
            continue; /* the step's own call, which completed while settling */
        if (!recorded && !EVENT_NOW[k] && !(expected && strcmp(expected, "nothing") != 0))
            continue;
        printf("    then %s:", ACTOR_NAME[k]);
        if (expected)
            show(" expected ", expected);
        else
            show(" recorded ", recorded ? recorded : "nothing");
        show(", got ", now);
        const char *want = expected ? expected : recorded ? recorded : "nothing";
        int same = strcmp(want, now) == 0;
        differ += expected && !same;
        printf("%s\n", same ? "" : expected ? "  <-- differs from what was expected" : "  (differs)");
    }
    return differ;
}

/* the recorded run's System V limits: set in our namespace, or required to hold already */
static void set_limits(void)
{
    for (int i = 0; i < NLIMITS; i++) {
        char path[128], now[256] = "", *p = now, *q;
        snprintf(path, sizeof path, "/proc/sys/kernel/%s", LIMITS[i][0]);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(now, sizeof now, f))
                now[0] = 0;
            fclose(f);
        }
        for (q = now; *q; q++) /* the file separates with tabs; the record with spaces */
            if (*q != '\n')
                *p++ = *q == '\t' ? ' ' : *q;
        *p = 0;
        if (strcmp(now, LIMITS[i][1]) == 0)
            continue;
        if (!PRIVATE_IPC)
            fail("%s is %s here, but the recorded run had %s (a private IPC namespace, as root, "
                 "lets the replay set it)", path, now, LIMITS[i][1]);
        f = fopen(path, "w");
        if (!f || fprintf(f, "%s\n", LIMITS[i][1]) < 0 || fclose(f) != 0)
            fail("cannot set %s to %s", path, LIMITS[i][1]);
        printf("note: %s set to %s, as in the recorded run\n", path, LIMITS[i][1]);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN); /* a dead actor's command pipe must not kill us */
    alarm(DEADLINE_S);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    for (int k = 0; k < NACTORS; k++)
        STATE.pids[k] = 0;
    for (int s = 0; s <= NIDS; s++)
        STATE.ids[s] = -1;
    /* System V ids and keys of a private namespace are the replay's alone */
    PRIVATE_IPC = geteuid() == 0 && unshare(CLONE_NEWIPC) == 0;
    if (!PRIVATE_IPC)
        printf("note: not in a private IPC namespace (needs root); System V keys are shared with the host\n");
    set_limits();

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    long floor_fd = (long)rl.rlim_cur - 4 * NACTORS - 8;
    FLOOR_FD = floor_fd > 1000 ? 1000 : (int)floor_fd;
    if (FLOOR_FD < 64)
        fail("RLIMIT_NOFILE is too low for %d actors", NACTORS);
    snprintf(TMPDIR_, sizeof TMPDIR_, "/tmp/repro-XXXXXX");
    if (!mkdtemp(TMPDIR_)) {
        TMPDIR_[0] = 0;
        fail("mkdtemp: %s", strerror(errno));
    }
    if (chdir(TMPDIR_) != 0)
        fail("chdir %s: %s", TMPDIR_, strerror(errno));
    for (int j = 0; j < NACTORS; j++) {
        int cmd[2], res[2];
        if (pipe(cmd) || pipe(res))
            fail("pipe: %s", strerror(errno));
        if (dup2(cmd[0], CMD_R(j)) < 0 || dup2(cmd[1], CMD_W(j)) < 0 || dup2(res[0], RES_R(j)) < 0
            || dup2(res[1], RES_W(j)) < 0)
            fail("dup2: %s", strerror(errno));
        close(cmd[0]);
        close(cmd[1]);
        close(res[0]);
        close(res[1]);
    }

    int differ = 0, diverged = 0;
    for (int i = 0; i < NSTEPS; i++) {
        const struct step *s = &STEPS[i];
        for (int k = 0; k < NACTORS; k++) {
            free(EVENT_NOW[k]);
            EVENT_NOW[k] = NULL;
        }
        char *got = NULL;
        if (s->kind == K_SPAWN) {
            spawn(s->actor);
            settle(s->actor);
            printf("step %d: spawn %s\n", i + 1, ACTOR_NAME[s->actor]);
            continue;
        }
        if (s->kind == K_SETTLE) {
            settle(-1);
            printf("step %d: settle\n", i + 1);
            differ += show_events(i, -1);
            continue;
        }
        int k = s->actor;
        if (!STARTED[k] || !ALIVE[k])
            fail("step %d: %s is not alive in the replay, so it cannot %s", i + 1, ACTOR_NAME[k], s->op);
        if (s->kind == K_FINISH) {
            if (!PENDING[k])
                fail("step %d: %s has no pending call to finish", i + 1, ACTOR_NAME[k]);
            double limit = now() + STEP_TIMEOUT_S;
            int b = 0;
            while (!readable(RES_R(k), backoff(&b)))
                if (now() > limit)
                    fail("step %d: %s's pending call did not finish in time", i + 1, ACTOR_NAME[k]);
            got = take_reply(k, NULL);
            PENDING[k] = 0;
            settle(-1);
        } else {
            if (PENDING[k])
                fail("step %d: %s is still blocked, so it cannot %s", i + 1, ACTOR_NAME[k], s->op);
            int replied = 0;
            got = perform(i, k, &replied);
            if (s->slot >= 0 && is_id(got))
                STATE.ids[s->slot] = atoi(got + 3);
            settle(replied ? k : -1);
        }
        const char *want = s->expected ? s->expected : s->recorded;
        int same = strcmp(got, want) == 0 || (s->get != '-' && is_id(got) && is_id(want))
                   || (s->described && is_value(got));
        const char *how = "";
        if (!same && strcmp(got, "-> blocked") == 0 && EVENT_NOW[k] && strcmp(EVENT_NOW[k], want) == 0) {
            same = 1; /* it slept on its way to completing within the step */
            how = " (after sleeping)";
        }
        printf("step %d: %s %s(%s): ", i + 1, ACTOR_NAME[k], s->op, s->args);
        show(s->expected ? "expected " : "recorded ", want);
        show(", got ", got);
        if (s->described)
            how = same ? " (the expectation describes a value: any value matches)" : "";
        printf("%s\n", same ? how : s->expected ? "  <-- differs from what was expected"
                                                : "  (differs from the recorded run)");
        if (s->expected && strcmp(s->expected, s->recorded) != 0)
            show("    the suite's run gave ", s->recorded), printf("\n");
        if (!same && s->expected)
            differ++;
        if (!same && !s->expected && !diverged)
            diverged = i + 1; /* later steps may act on what this one gave */
        differ += show_events(i, *how ? k : -1);
        free(got);
    }
    fflush(stdout);
    cleanup();
    if (diverged)
        printf("note: from step %d on, the replay went differently from the recorded run\n", diverged);
    if (differ)
        printf("reproduced: %d step%s from what was expected\n", differ,
               differ == 1 ? " differs" : "s differ");
    else
        printf("did not reproduce: every step matched what was expected\n");
    return differ ? 1 : 0;
}
"""
