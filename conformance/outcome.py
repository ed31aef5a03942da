"""What one step of a scenario produced.

Every operation an actor performs, on the kernel or on the reference model,
ends in exactly one :class:`Outcome`. Comparing outcomes is how the suite
decides conformance, so an outcome is a small immutable value with a stable,
readable text form (used in counterexamples and reproducers).

The kinds:

``value``
    the call returned; ``detail`` is the (normalised) return value.
``errno``
    the call failed; ``detail`` is the errno *name* (``"EBADF"``), never the
    number, so outcomes read the same on every architecture.
``blocked``
    the call is asleep in the kernel and has not returned. The harness reads
    this from ``/proc/PID/stat`` and ``/proc/PID/syscall``.
``signal``
    the process was killed by a signal while performing the call;
    ``detail`` is the signal name (``"SIGPIPE"``).
``exit``
    the process exited (an ``exit`` operation, or a death with a status);
    ``detail`` is the exit status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .names import errno_name, signal_name
from .names import signal_number as signal_number  # re-exported: outcomes are read with it

OutcomeKind = Literal["value", "errno", "blocked", "signal", "exit"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    detail: Any = None

    def __str__(self) -> str:
        if self.kind == "value":
            return f"-> {self.detail!r}"
        if self.kind == "errno":
            return f"-> error {self.detail}"
        if self.kind == "blocked":
            return "-> blocked"
        if self.kind == "signal":
            return f"-> killed by {self.detail}"
        return f"-> exited with status {self.detail}"

    @property
    def ok(self) -> bool:
        return self.kind == "value"

    def to_json(self) -> dict[str, Any]:
        detail = self.detail
        if isinstance(detail, bytes):
            detail = {"bytes": detail.decode("latin-1")}
        elif isinstance(detail, tuple):
            detail = list(detail)
        return {"kind": self.kind, "detail": detail}


def Value(detail: Any = None) -> Outcome:  # noqa: N802 - reads as a constructor
    return Outcome("value", detail)


def Errno(name: str | int) -> Outcome:  # noqa: N802
    if isinstance(name, int):
        name = errno_name(name)
    return Outcome("errno", name)


def Killed(sig: str | int) -> Outcome:  # noqa: N802
    if isinstance(sig, int):
        sig = signal_name(sig)
    return Outcome("signal", sig)


def Exited(status: int) -> Outcome:  # noqa: N802
    return Outcome("exit", status)


BLOCKED = Outcome("blocked")
#: a death whose cause nobody can read: the process was reaped before anyone
#: looked (by its parent's wait, or at once because its parent ignores SIGCHLD)
UNKNOWN_DEATH = Outcome("exit", None)


def from_wait_status(status: int) -> Outcome:
    """Turn a waitpid(2) status word into an exit or signal outcome."""
    import os

    if os.WIFSIGNALED(status):
        return Killed(os.WTERMSIG(status))
    return Exited(os.WEXITSTATUS(status))
