"""Medians and quartiles of repeated measurements.

The benchmark reports the median of its repetitions and the interquartile
range (IQR, the middle half of the samples) as their spread, plus the
minimum and maximum. Quartiles are interpolated linearly between order
statistics, as :func:`statistics.quantiles` does with ``method="inclusive"``,
so three samples give usable quartiles.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """The distribution of one case's samples."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(samples: Sequence[float]) -> Summary:
    """Median, quartiles and range of ``samples`` (at least one)."""
    if not samples:
        raise ValueError("no samples to summarise")
    values = sorted(float(s) for s in samples)
    if len(values) == 1:
        q1 = q3 = values[0]
    else:
        q1, _median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Summary(statistics.median(values), q1, q3, values[0], values[-1], len(values))
