"""The verdict on seed claim S20, "shared memory is the fastest IPC method", from measurements.

The input is a table ``{metric: {mechanism: Summary}}`` (see
:mod:`conformance.bench.stats`); a metric is ``"latency"`` (one-way ns,
lower is better) or ``"throughput-<size>"`` (bytes/s, higher is better).

For each metric the best shared-memory variant (by median) is compared with
the best of all other mechanisms. One is **clearly faster** than the other
when its median is at least :data:`MARGIN` times better *and* their
interquartile ranges do not overlap; anything less is a **tie**, because the
repetitions cannot tell the two apart. Then:

``holds``
    shared memory is clearly faster on every metric, with every variant
    measured (whatever the handshake);
``holds-with-conditions``
    shared memory is clearly faster on every metric but only with some
    variants (the condition names them, e.g. the futex handshake), or on
    some metrics only (the condition names them, e.g. large messages);
``does-not-hold``
    on no metric is shared memory clearly faster, and on at least one
    another mechanism is clearly faster than every shared-memory variant;
``undecided``
    every metric is a tie, or the run lacks what the comparison needs (a
    shared-memory variant, and every other mechanism of the catalogue: a
    claim about *the fastest* cannot be decided against a subset).

:func:`decide_s20` is a pure function, so the verdict in a stored
``bench.json`` can be recomputed from its table.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..claims import CLAIMS, Verdict
from .catalogue import format_value, lower_is_better, metric_label
from .stats import Summary

#: how many times better a median must be to count as clearly faster
MARGIN = 1.05

Table = Mapping[str, Mapping[str, Summary]]


def speedup(metric: str, a: Summary, b: Summary) -> float:
    """How many times faster ``a`` is than ``b`` by their medians (< 1: slower)."""
    if lower_is_better(metric):
        return b.median / a.median if a.median > 0 else float("inf")
    return a.median / b.median if b.median > 0 else float("inf")


def clearly_faster(metric: str, a: Summary, b: Summary) -> bool:
    """``a`` beats ``b`` by :data:`MARGIN` at the median and their IQRs are disjoint."""
    if speedup(metric, a, b) < MARGIN:
        return False
    return a.q3 < b.q1 if lower_is_better(metric) else a.q1 > b.q3


def _best(metric: str, rows: Mapping[str, Summary]) -> str:
    key = (lambda m: rows[m].median) if lower_is_better(metric) else (lambda m: -rows[m].median)
    return min(rows, key=key)


def _figure(metric: str, name: str, s: Summary) -> str:
    return (f"{name} {format_value(metric, s.median)} "
            f"(IQR {format_value(metric, s.q1)}-{format_value(metric, s.q3)})")


def compare_metric(metric: str, rows: Mapping[str, Summary], shared: Collection[str]) -> dict[str, Any]:
    """The evidence of one metric: best shared-memory variant against the best other mechanism."""
    shm = {m: s for m, s in rows.items() if m in shared}
    other = {m: s for m, s in rows.items() if m not in shared}
    best_shm, best_other = _best(metric, shm), _best(metric, other)
    a, b = shm[best_shm], other[best_other]
    ratio = speedup(metric, a, b)
    winners = [m for m in shm if clearly_faster(metric, shm[m], b)]
    if clearly_faster(metric, a, b):
        outcome, how = "shared-memory-faster", f"shared memory is {ratio:.2f}x faster"
    elif clearly_faster(metric, b, a):
        outcome, how = "other-faster", f"{best_other} is {1 / ratio:.2f}x faster"
    else:
        outcome, how = "tie", f"a tie (ratio {ratio:.2f}, within the spread or under {MARGIN:.2f}x)"
    text = (f"{metric_label(metric)}: best shared memory {_figure(metric, best_shm, a)} vs best other "
            f"{_figure(metric, best_other, b)}: {how}")
    if outcome == "shared-memory-faster" and len(winners) < len(shm):
        text += f"; clearly faster than {best_other} only with {', '.join(winners)}"
    return {
        "metric": metric,
        "label": metric_label(metric),
        "best_shared_memory": {"mechanism": best_shm, **a.as_dict()},
        "best_other": {"mechanism": best_other, **b.as_dict()},
        "speedup": ratio,
        "outcome": outcome,
        "winners": winners,
        "text": text,
    }


def decide_s20(table: Table, shared: Collection[str], required: Sequence[str]) -> dict[str, Any]:
    """The claims record of S20: ``{"id", "text", "verdict", "explanation", "evidence"}``.

    ``shared`` names the shared-memory mechanisms; ``required`` every
    mechanism the catalogue has, all of which must have been measured.
    """
    record: dict[str, Any] = {"id": "S20", "text": CLAIMS["S20"].text}

    def done(verdict: Verdict, explanation: str, evidence: list[dict[str, Any]]) -> dict[str, Any]:
        record.update(verdict=verdict, explanation=explanation, evidence=evidence)
        return record

    metrics = [m for m in table if table[m]]
    measured = {name for m in metrics for name in table[m]}
    missing = [name for name in required if not metrics or any(name not in table[m] for m in metrics)]
    if missing:
        return done("undecided", "Undecided: the run did not measure every mechanism on every metric "
                    f"(missing: {', '.join(missing)}), and 'the fastest' is a comparison with all of them.", [])
    if not measured & set(shared) or not measured - set(shared):
        return done("undecided", "Undecided: the run needs shared-memory and other mechanisms to compare.", [])

    evidence = [compare_metric(m, table[m], shared) for m in metrics]
    won = [e for e in evidence if e["outcome"] == "shared-memory-faster"]
    lost = [e for e in evidence if e["outcome"] == "other-faster"]
    tied = [e for e in evidence if e["outcome"] == "tie"]
    details = " ".join(f"{e['text']}." for e in evidence)
    shm_measured = [name for name in required if name in shared]

    if len(won) == len(evidence):
        always = [name for name in shm_measured if all(name in e["winners"] for e in won)]
        if len(always) == len(shm_measured):
            return done("holds", f"Holds: every shared-memory variant is clearly faster than every other "
                        f"mechanism on every metric measured. {details}", evidence)
        condition = (f"only with {', '.join(always)}" if always else
                     "only when the variant is chosen per metric (no single variant wins everywhere)")
        return done("holds-with-conditions", f"Holds with conditions: shared memory is clearly faster on every "
                    f"metric measured, but {condition}. {details}", evidence)
    if won:
        others = [f"{e['label']} ({'tie' if e['outcome'] == 'tie' else e['best_other']['mechanism'] + ' is faster'})"
                  for e in lost + tied]
        wins = [e["label"] + ("" if len(e["winners"]) == len(shm_measured) else
                              f" (only with {', '.join(e['winners'])})") for e in won]
        return done("holds-with-conditions", "Holds with conditions: shared memory is clearly faster only for "
                    f"{'; '.join(wins)}; not for {'; '.join(others)}. {details}", evidence)
    if lost:
        return done("does-not-hold", "Does not hold on this system: on no metric is shared memory clearly "
                    f"faster, and on {'; '.join(e['label'] for e in lost)} another mechanism is. {details}",
                    evidence)
    return done("undecided", "Undecided: on every metric the best shared-memory variant and the best other "
                f"mechanism are within each other's spread. {details}", evidence)


def ordering(table: Table) -> dict[str, list[str]]:
    """Per metric, the mechanisms fastest first, by median."""
    out = {}
    for metric, rows in table.items():
        sign = 1.0 if lower_is_better(metric) else -1.0
        medians = {name: sign * summary.median for name, summary in rows.items()}
        out[metric] = sorted(medians, key=medians.__getitem__)
    return out
