"""Names of errno values and signals, as outcomes and reports spell them.

Standard library only, and nothing heavier than :mod:`errno` and
:mod:`signal`: the kernel backend uses these inside every actor.
"""

from __future__ import annotations

import errno as _errno
import signal as _signal


def errno_name(number: int) -> str:
    return _errno.errorcode.get(number, f"E#{number}")


def signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"SIG#{number}"


def signal_number(name: str) -> int:
    """The inverse of :func:`signal_name`."""
    if name.startswith("SIG#"):
        return int(name[4:])
    return int(_signal.Signals[name])
