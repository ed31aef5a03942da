"""Signals: generation, the mask, the pending queue and delivery.

A signal's life in the kernel has two halves, and the model keeps them apart:

* **generation** (``kill``, ``sigqueue``, SIGPIPE, SIGCHLD: ``send_signal``
  and ``prepare_signal`` in kernel/signal.c). An unblocked signal whose
  action is to ignore it is discarded at once — a *blocked* one never is,
  since the action may change before it is unblocked (``sig_ignored``).
  Otherwise it is queued: a standard signal only if it is not pending
  already (``legacy_queue``: standard signals coalesce), a real-time one
  always, with its sender and value, in order.
* **delivery** of an unblocked pending signal (``get_signal``): the lowest
  number first; the action runs (handler, default action, nothing).

A process asleep in ``sigtimedwait`` takes a signal of its set straight off
the queue, whether or not it is blocked (``do_sigtimedwait`` unblocks the set
while it sleeps). Two exceptions, both decided at generation: an unblocked
signal whose action is to ignore it is discarded even then, and an unblocked
signal whose default action terminates still terminates (``complete_signal``
treats it as fatal unless it was blocked before the wait began).

The 'count' handler is the actor runtime's: a C-level handler that marks the
signal, and a Python-level one that counts when the interpreter next runs.
Several instances delivered in one burst (unblocking a signal with three
real-time instances queued) are marked three times but counted once; the
model predicts the count the runtime shows, and says so here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.ops import ActorRef
from ..outcome import Killed, signal_name
from .constants import DEFAULT_IGNORED, DEFAULT_STOP, SIGKILL, SIGRTMIN, SIGSTOP
from .errors import Unmodelled
from .pending import SignalWait
from .process import Process
from .world import World

#: more queued real-time signals than any scenario sends on purpose; far
#: below RLIMIT_SIGPENDING, which the model does not track
QUEUE_MODEL_LIMIT = 200


@dataclass(frozen=True)
class SigInfo:
    """What ``sigtimedwait`` reports of one queued signal."""

    signo: int
    #: si_code by name: SI_USER (kill), SI_QUEUE (sigqueue), CLD_EXITED, CLD_KILLED
    code: str
    #: the actor that sent it (SIGPIPE: the writer itself; SIGCHLD: the child)
    sender: str
    #: sigqueue's value; the status for SIGCHLD; 0 for kill
    value: int = 0

    def as_result(self) -> dict[str, object]:
        return {"signo": self.signo, "code": self.code, "pid": ActorRef(self.sender),
                "value": self.value}


def ignored(proc: Process, sig: int) -> bool:
    """Whether the signal's action is to do nothing (explicitly or by default)."""
    disposition = proc.disposition(sig)
    return disposition == "ignore" or (disposition == "default" and sig in DEFAULT_IGNORED)


def _fatal(proc: Process, sig: int) -> bool:
    return proc.disposition(sig) == "default" and sig not in DEFAULT_IGNORED


def generate(world: World, target: Process, info: SigInfo) -> None:
    """Send a signal to ``target``: discard, queue, hand to sigtimedwait, or act."""
    sig = info.signo
    if not target.alive:
        return  # a zombie accepts signals and ignores them
    if sig == SIGKILL:
        from .lifecycle import die  # lifecycle calls back into this module

        die(world, target, Killed(signal_name(sig)))
        return
    if sig == SIGSTOP:
        raise Unmodelled("SIGSTOP: stopped processes are not modelled")
    blocked = sig in target.mask
    if not blocked and ignored(target, sig):
        return
    wait = target.pending
    waited_for = isinstance(wait, SignalWait) and sig in wait.sigs
    if blocked or waited_for:
        if not blocked and _fatal(target, sig):
            act(world, target, sig)  # terminates even the waiter
            return
        queue(target, info)
        if waited_for:
            world.wake(target.name)
        return
    act(world, target, sig)


def queue(target: Process, info: SigInfo) -> None:
    """Keep ``info`` pending: a standard signal once, a real-time one every time."""
    if info.signo < SIGRTMIN and any(q.signo == info.signo for q in target.signals):
        return
    if len(target.signals) >= QUEUE_MODEL_LIMIT:
        raise Unmodelled("so many queued signals that RLIMIT_SIGPENDING might refuse one")
    target.signals.append(info)


def take(proc: Process, sigs: frozenset[int]) -> SigInfo | None:
    """Dequeue the lowest-numbered pending signal of ``sigs`` (oldest instance first)."""
    candidates = [q for q in proc.signals if q.signo in sigs]
    if not candidates:
        return None
    lowest = min(q.signo for q in candidates)
    first = next(q for q in proc.signals if q.signo == lowest)
    proc.signals.remove(first)
    return first


def deliver_unblocked(world: World, proc: Process) -> None:
    """Deliver every pending signal the mask no longer blocks, lowest number first.

    All instances of one signal are delivered in one burst before the
    interpreter runs again, so a 'count' handler counts each signal once.
    """
    ready = sorted({q.signo for q in proc.signals if q.signo not in proc.mask})
    for sig in ready:
        proc.signals = [q for q in proc.signals if q.signo != sig]
        if not proc.alive:
            return
        act(world, proc, sig)


def discard_pending(proc: Process, sig: int) -> None:
    """Setting an action that ignores a signal discards its pending instances."""
    proc.signals = [q for q in proc.signals if q.signo != sig]


def act(world: World, target: Process, sig: int) -> None:
    """Deliver ``sig`` now: run the action its disposition names."""
    from .lifecycle import die, unqueue  # lifecycle calls back into this module

    disposition = target.disposition(sig)
    if disposition == "ignore":
        return
    if disposition == "count":
        target.counts[sig] = target.counts.get(sig, 0) + 1
        if target.pending is not None and not target.interrupted:
            # The handler has no SA_RESTART: the sleeping call is woken and
            # returns EINTR unless what it waits for is already there.
            target.interrupted = True
            unqueue(target)
            world.wake(target.name)
        elif target.pending is None:
            for sub in world.subs.values():
                if sub.interrupt(target.name):
                    break
        return
    if sig in DEFAULT_IGNORED:
        return
    if sig in DEFAULT_STOP:
        raise Unmodelled(f"{signal_name(sig)} with its default action stops the process")
    die(world, target, Killed(signal_name(sig)))
