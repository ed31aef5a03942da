"""Checking operation arguments the way the C calls convert them.

The kernel backend passes arguments through ctypes: descriptors and flags
become C ints, fcntl's argument a C long, and the kernel then reinterprets
some of them as unsigned (a negative descriptor is simply a huge, invalid
one). These helpers reproduce those conversions so the model fails the same
way, and reject what ctypes itself would refuse as a malformed scenario.
"""

from __future__ import annotations

from typing import Any

from ..backends.ops import ActorRef
from .errors import ModelUsageError, Unmodelled

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1


def c_int(value: Any, what: str) -> int:
    """An argument that travels as a C int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelUsageError(f"{what} must be an int, not {value!r}")
    if not INT_MIN <= value <= INT_MAX:
        raise Unmodelled(f"{what} {value} does not fit a C int")
    return value


def c_long(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelUsageError(f"{what} must be an int, not {value!r}")
    if not LONG_MIN <= value <= LONG_MAX:
        raise Unmodelled(f"{what} {value} does not fit a C long")
    return value


def as_int32(value: int) -> int:
    """``(int)arg``: the low 32 bits, signed."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def as_uint32(value: int) -> int:
    return value & 0xFFFFFFFF


def payload(value: Any) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise ModelUsageError(f"data must be bytes, not {type(value).__name__}")
    return bytes(value)


def count(value: Any) -> int:
    n = c_long(value, "count")
    if n < 0:
        raise Unmodelled("a negative read count (a huge size_t to the kernel)")
    return n


def actor_ref(value: Any) -> str:
    if not isinstance(value, ActorRef):
        raise ModelUsageError(f"expected an ActorRef, not {value!r}")
    return value.name
