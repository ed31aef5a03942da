"""Version ranges for kernels and Python: ``">=6.1,<6.12"``.

A range is comma-separated comparisons, all of which must hold; each is one
of ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=`` followed by a dotted number::

    >>> VersionRange.parse(">=6.1,<6.12").contains("6.6.13-amd64")
    True

Versions are compared as tuples of integers, padded with zeros, so ``6.1``
equals ``6.1.0``. Only the leading numeric part of each dotted piece counts:
a kernel release such as ``6.1.0-18-amd64`` reads as ``6.1.0`` and a Python
version such as ``3.13.0rc1`` as ``3.13.0``. ``==6.1`` therefore means
exactly 6.1.0; write ``>=6.1,<6.2`` for a whole series.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*$")
_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}


class VersionRangeError(ValueError):
    """A range that cannot be parsed; ``str()`` says what is wrong with it."""


def version_tuple(text: str) -> tuple[int, ...]:
    """``"6.1.0-18-amd64"`` → ``(6, 1, 0)``; ``"3.13.0rc1"`` → ``(3, 13, 0)``.

    Reading stops at the first dotted piece that does not start with a digit
    (the ``-18-amd64`` above is one piece, ``0-18-amd64``, read as ``0``).
    """
    parts: list[int] = []
    for piece in text.strip().split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.end() != len(piece):
            break
    return tuple(parts)


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


@dataclass(frozen=True)
class VersionRange:
    """A conjunction of comparisons; :meth:`contains` tests a version against all."""

    text: str
    comparisons: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        """Parse ``">=6.1,<6.12"``; :class:`VersionRangeError` if it is not a range."""
        pieces = text.split(",")
        comparisons = []
        for piece in pieces:
            match = _COMPARISON.match(piece)
            if match is None:
                raise VersionRangeError(
                    f"{text!r} is not a version range: {piece.strip()!r} should be an operator "
                    "(>=, >, <=, <, ==, !=) and a dotted number, as in \">=6.1,<6.12\"")
            comparisons.append((match.group(1), version_tuple(match.group(2))))
        return cls(text, tuple(comparisons))

    def contains(self, version: str) -> bool:
        """Whether ``version`` (a kernel release, a Python version) is in the range."""
        have = version_tuple(version)
        if not have:
            return False  # an unreadable version is in no range
        for op, bound in self.comparisons:
            left, right = _padded(have, bound)
            if not _OPERATORS[op](left, right):
                return False
        return True

    def __str__(self) -> str:
        return self.text
