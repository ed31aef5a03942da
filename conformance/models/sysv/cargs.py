"""System V arguments converted the way the kernel backend hands them to libc.

The backend wraps some arguments into their C types itself - a key into a
32-bit ``key_t``, a message type into a 64-bit ``long``, a size into a
``size_t`` - so any Python int is accepted and reinterpreted, as C would.
Ids, flags and semaphore numbers travel as plain C ints (see
:func:`..args.c_int`). These helpers repeat exactly those conversions.
"""

from __future__ import annotations

from typing import Any

from ..args import c_int
from ..errors import ModelUsageError

__all__ = ["c_int", "integer", "signed", "unsigned"]


def integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelUsageError(f"{what} must be an int, not {value!r}")
    return value


def signed(value: Any, bits: int, what: str) -> int:
    """``value`` converted to a signed C integer of ``bits``, wrapping as C does."""
    value = integer(value, what) & ((1 << bits) - 1)
    return value - (1 << bits) if value >> (bits - 1) else value


def unsigned(value: Any, bits: int, what: str) -> int:
    return integer(value, what) & ((1 << bits) - 1)
