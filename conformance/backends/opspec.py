"""The two record types of the operation catalogue: an operation's facts and an actor reference.

They live apart from :mod:`conformance.backends.ops` so the per-family
catalogues (``sysv_ops``, ``posix_mq_ops``, ``posix_semshm_ops``) can use them
while ``ops`` imports those catalogues, without an import cycle.
"""

from __future__ import annotations

# No dataclasses here: this module is imported by every actor's zygote (the
# backends take their constants from it), and dataclasses brings in inspect,
# ast and re, whose memory every fork of the zygote would copy.


class ActorRef:
    """A reference to an actor by its scenario name, resolved to a pid."""

    __slots__ = ("name",)
    name: str

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "name", name)

    def __setattr__(self, attr: str, value: object) -> None:
        raise AttributeError("ActorRef is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is ActorRef and other.name == self.name

    def __hash__(self) -> int:
        return hash(("ActorRef", self.name))

    def __repr__(self) -> str:
        return f"ActorRef({self.name!r})"

    def __reduce__(self) -> tuple[type[ActorRef], tuple[str]]:
        return (ActorRef, (self.name,))


class OpSpec:
    """Static facts about one operation."""

    __slots__ = ("name", "signature", "returns", "blocking_syscalls")
    name: str
    signature: str
    returns: str
    blocking_syscalls: tuple[str, ...]

    def __init__(self, name: str, signature: str, returns: str,
                 blocking_syscalls: tuple[str, ...] = ()) -> None:
        self.name = name
        self.signature = signature
        self.returns = returns
        #: system calls in which the operation may legitimately sleep; the
        #: harness only calls an actor "blocked" when /proc/PID/syscall shows
        #: one of these (x86_64 and aarch64 names are mapped in harness.procfs).
        self.blocking_syscalls = blocking_syscalls

    def __repr__(self) -> str:
        return f"OpSpec({self.name!r})"
