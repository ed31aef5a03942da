"""The S20 verdict on synthetic measurements: every verdict is reachable, so it can fail."""

from __future__ import annotations

import pytest

from conformance.bench.catalogue import MECHANISMS
from conformance.bench.stats import Summary, summarise
from conformance.bench.verdict import clearly_faster, decide_s20, ordering

SHARED = [m.name for m in MECHANISMS if m.shared_memory]
OTHERS = [m.name for m in MECHANISMS if not m.shared_memory]
ALL = [m.name for m in MECHANISMS]
METRICS = ["latency", "throughput-4096", "throughput-65536", "throughput-1048576"]


def around(value: float, spread: float = 0.01) -> Summary:
    """A tight distribution centred on ``value``."""
    return Summary(median=value, q1=value * (1 - spread), q3=value * (1 + spread),
                   min=value * (1 - 2 * spread), max=value * (1 + 2 * spread), n=5)


def table(shm_factor: dict[str, dict[str, float]] | None = None, default: float = 1.0,
          ) -> dict[str, dict[str, Summary]]:
    """Others at speed 1; each shared-memory variant ``default`` times as fast unless overridden.

    Latency is stored as ns (speed s -> 1000 / s), throughput as bytes/s (s * 1e9).
    """
    shm_factor = shm_factor or {}
    out: dict[str, dict[str, Summary]] = {}
    for metric in METRICS:
        rows = {}
        for name in ALL:
            speed = shm_factor.get(metric, {}).get(name, default) if name in SHARED else 1.0
            rows[name] = around(1000 / speed if metric == "latency" else speed * 1e9)
        out[metric] = rows
    return out


def verdict(t):
    return decide_s20(t, shared=SHARED, required=ALL)


def test_holds_when_every_variant_wins_everywhere():
    record = verdict(table(default=2.0))
    assert record["verdict"] == "holds"
    assert all(e["outcome"] == "shared-memory-faster" for e in record["evidence"])
    assert "2.00x faster" in record["explanation"]


def test_holds_only_with_the_futex_handshake():
    slow_sem = {m: {"sysv-shm-sem": 1.0, "posix-shm-sem": 1.0, "posix-shm-spin": 1.0} for m in METRICS}
    record = verdict(table(slow_sem, default=2.0))
    assert record["verdict"] == "holds-with-conditions"
    assert "only with sysv-shm-futex, posix-shm-futex" in record["explanation"]


def test_holds_only_for_some_sizes():
    loses_small = {"latency": dict.fromkeys(SHARED, 0.5), "throughput-4096": dict.fromkeys(SHARED, 0.5)}
    record = verdict(table(loses_small, default=2.0))
    assert record["verdict"] == "holds-with-conditions"
    assert "only for throughput, 64 KiB messages; throughput, 1 MiB messages" in record["explanation"]
    assert [e["outcome"] for e in record["evidence"]] == ["other-faster", "other-faster",
                                                           "shared-memory-faster", "shared-memory-faster"]


def test_conditions_name_the_winning_variants_per_metric():
    only_spin_small = {"latency": {"sysv-shm-sem": 0.5, "sysv-shm-futex": 0.5, "posix-shm-sem": 0.5,
                                   "posix-shm-futex": 0.5}}
    only_spin_small |= {m: dict.fromkeys(SHARED, 0.5) for m in METRICS[2:]}
    record = verdict(table(only_spin_small, default=2.0))
    assert record["verdict"] == "holds-with-conditions"
    assert ("only for latency, 64 B one-way (only with posix-shm-spin); throughput, 4 KiB messages; not for"
            in record["explanation"])


def test_does_not_hold_when_another_mechanism_wins():
    record = verdict(table(default=0.5))
    assert record["verdict"] == "does-not-hold"
    assert "2.00x faster" in record["explanation"]


def test_undecided_when_everything_ties():
    record = verdict(table(default=1.02))  # 2 % apart: inside the spread, under the margin
    assert record["verdict"] == "undecided"
    assert all(e["outcome"] == "tie" for e in record["evidence"])


def test_undecided_without_every_mechanism():
    t = table(default=2.0)
    for rows in t.values():
        del rows["tcp"]
    record = verdict(t)
    assert record["verdict"] == "undecided"
    assert "missing: tcp" in record["explanation"]


def test_overlapping_spread_is_not_clearly_faster():
    wide = Summary(median=500, q1=300, q3=1100, min=200, max=1500, n=5)
    assert not clearly_faster("latency", wide, around(1000))
    assert clearly_faster("latency", around(500), around(1000))
    assert clearly_faster("throughput-4096", around(2e9), around(1e9))
    assert not clearly_faster("throughput-4096", around(1e9), around(2e9))


def test_ordering_is_fastest_first():
    t = {"latency": {"a": around(3), "b": around(1)}, "throughput-4096": {"a": around(3), "b": around(1)}}
    assert ordering(t) == {"latency": ["b", "a"], "throughput-4096": ["a", "b"]}


@pytest.mark.parametrize(("samples", "median", "q1", "q3"), [
    ([5.0], 5.0, 5.0, 5.0),
    ([1.0, 2.0, 3.0], 2.0, 1.5, 2.5),
    ([4.0, 1.0, 3.0, 2.0, 5.0], 3.0, 2.0, 4.0),
])
def test_summarise(samples, median, q1, q3):
    s = summarise(samples)
    assert (s.median, s.q1, s.q3, s.min, s.max, s.n) == (median, q1, q3, min(samples), max(samples), len(samples))
