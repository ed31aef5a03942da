"""Signal operations: kill, sigqueue, dispositions, the mask, sigpending, sigtimedwait.

Dispositions mirror what the actor runtime installs: 'default' (SIG_DFL),
'ignore' (SIG_IGN) and 'count' (a handler without SA_RESTART that counts
deliveries). See :mod:`.signals` for generation, queueing and delivery.

Two limits are the model's own. Signal numbers outside 1..64 are refused
(Unmodelled): the actor runtime rejects them before any system call. A
``sigtimedwait`` that finds nothing pending either fails at once (timeout
0) or, with a timeout of at least :data:`NEVER_NS`, sleeps until a signal
comes; a shorter timeout could run out in the middle of a scenario, and
when is the scheduler's business.
"""

from __future__ import annotations

from typing import Any

from ..outcome import Errno, Outcome, Value
from .args import actor_ref, c_int
from .constants import DISPOSITIONS, GLIBC_RESERVED, MAX_SIGNAL, SIGKILL, SIGSTOP
from .errors import ModelUsageError, Unmodelled
from .pending import SignalWait
from .process import Process
from .signals import SigInfo, deliver_unblocked, discard_pending, generate, ignored, take
from .world import World

#: a timeout this long never runs out while a scenario lasts
NEVER_NS = 10_000_000_000
#: what sigprocmask and sigtimedwait silently leave out of a set: the kernel
#: never blocks SIGKILL and SIGSTOP, glibc keeps its two for its threads
_UNMASKABLE = frozenset({SIGKILL, SIGSTOP}) | GLIBC_RESERVED
_HOWS = ("block", "unblock", "set")


def _signal_set(sigs: Any) -> frozenset[int]:
    if not isinstance(sigs, (tuple, list, set, frozenset)):
        raise ModelUsageError(f"a signal set is a tuple of ints, not {sigs!r}")
    numbers = frozenset(c_int(s, "sig") for s in sigs)
    if any(not 1 <= s <= MAX_SIGNAL for s in numbers):
        raise Unmodelled(f"signal numbers {sorted(numbers)} (the actor runtime rejects them)")
    return numbers


def _send(world: World, proc: Process, target: Any, sig: Any, code: str, value: int) -> Outcome:
    victim = world.proc(actor_ref(target))
    sig = c_int(sig, "sig")
    if victim.state == "reaped":
        return Errno("ESRCH")
    if not 0 <= sig <= MAX_SIGNAL:
        return Errno("EINVAL")
    if proc.uid != 0 and proc.uid != victim.uid:
        return Errno("EPERM")  # check_kill_permission: no CAP_KILL, another user
    if sig:
        generate(world, victim, SigInfo(sig, code, proc.name, value))
    if not proc.alive:
        assert proc.death is not None
        return proc.death  # it killed itself
    return Value(0)


def op_kill(world: World, proc: Process, target: Any, sig: Any) -> Outcome:
    return _send(world, proc, target, sig, "SI_USER", 0)


def op_sigqueue(world: World, proc: Process, target: Any, sig: Any, value: Any) -> Outcome:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 63:
        raise Unmodelled(f"sigqueue value {value!r} (the model keeps non-negative pointer values)")
    return _send(world, proc, target, sig, "SI_QUEUE", value)


def op_signal(world: World, proc: Process, sig: Any, disposition: Any) -> Outcome:
    sig = c_int(sig, "sig")
    if not 1 <= sig <= MAX_SIGNAL:
        raise Unmodelled(f"signal number {sig} (the actor runtime rejects it)")
    if disposition not in DISPOSITIONS:
        raise Unmodelled(f"disposition {disposition!r} (the actor runtime rejects it)")
    if sig in (SIGKILL, SIGSTOP) or sig in GLIBC_RESERVED:
        return Errno("EINVAL")
    proc.dispositions[sig] = disposition
    if ignored(proc, sig):
        # POSIX: setting a pending signal's action to ignore discards it,
        # blocked or not (do_sigaction flushes it from the queue).
        discard_pending(proc, sig)
    return Value(0)


def op_signal_count(world: World, proc: Process, sig: Any) -> Outcome:
    return Value(proc.counts.get(c_int(sig, "sig"), 0))


def op_sigprocmask(world: World, proc: Process, how: Any, sigs: Any) -> Outcome:
    if how not in _HOWS:
        raise Unmodelled(f"sigprocmask how {how!r} (the actor runtime rejects it)")
    chosen = _signal_set(sigs) - _UNMASKABLE
    old = tuple(sorted(proc.mask))
    if how == "block":
        proc.mask |= chosen
    elif how == "unblock":
        proc.mask -= chosen
    else:
        proc.mask = set(chosen)
    deliver_unblocked(world, proc)
    if not proc.alive:
        assert proc.death is not None
        return proc.death
    return Value(old)


def op_sigpending(world: World, proc: Process) -> Outcome:
    # do_sigpending reports pending signals that are blocked; an unblocked
    # one was delivered before the call could look.
    return Value(tuple(sorted({q.signo for q in proc.signals} & proc.mask)))


def op_sigtimedwait(world: World, proc: Process, sigs: Any, timeout_ns: Any) -> Outcome | None:
    wanted = _signal_set(sigs) - {SIGKILL, SIGSTOP}
    if wanted & GLIBC_RESERVED:
        raise Unmodelled("waiting for glibc's own signals 32 and 33")
    if isinstance(timeout_ns, bool) or not isinstance(timeout_ns, int):
        raise ModelUsageError(f"timeout_ns must be an int, not {timeout_ns!r}")
    if timeout_ns < 0:
        return Errno("EINVAL")  # the timespec has a negative tv_sec
    info = take(proc, wanted)
    if info is not None:
        return Value(info.as_result())
    if timeout_ns == 0:
        return Errno("EAGAIN")
    if timeout_ns < NEVER_NS:
        raise Unmodelled("a sigtimedwait timeout that may run out while the scenario goes on")
    proc.pending = SignalWait(wanted)
    return None


def resume_sigtimedwait(world: World, proc: Process, pending: SignalWait) -> Outcome | None:
    """A woken sigtimedwait takes what arrived, or fails EINTR after a handler ran."""
    info = take(proc, pending.sigs)
    if info is not None:
        return Value(info.as_result())
    if proc.interrupted:
        return Errno("EINTR")
    proc.pending = pending
    return None
