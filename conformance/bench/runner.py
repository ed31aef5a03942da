"""Running the C peer: calibration, interleaved repetitions, parsing its output.

One *case* is a mechanism with a test (``latency``, or ``throughput`` at one
message size). :func:`measure` first calibrates every case (a short run
whose speed sets the iteration count, so each timed run lasts about the
same time whatever the mechanism), then runs ``repeat`` rounds; each round
runs every case once, in an order rotated by one each round. A burst of
load from another process on this shared machine therefore hits all
mechanisms, not the one that happened to be running.

Each run is a fresh process pair, with a deadline inside the peer
(``alarm``) and one outside (the subprocess timeout); a run that fails
raises :class:`BenchRunError` with the peer's own message.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .catalogue import LATENCY_SIZE

#: the peer's own deadline per run, seconds (SIGALRM, then cleanup)
PEER_DEADLINE_S = 30
#: the outer deadline, for a peer that cannot even die on time
RUN_TIMEOUT_S = 60
#: bounds on the calibrated iteration count
MIN_ITERATIONS = 8
MAX_ITERATIONS = 5_000_000

Progress = Callable[[str], None]


class BenchRunError(RuntimeError):
    """A run of the C peer failed: it exited non-zero, hung, or printed nonsense."""


@dataclass(frozen=True)
class Case:
    """What one run measures."""

    mechanism: str
    test: str  # "latency" | "throughput"
    size: int
    placement: str  # "same" | "split" | "any"

    @property
    def metric(self) -> str:
        """``"latency@same"`` or ``"throughput-<size>@split"``: the key the results are grouped by."""
        base = "latency" if self.test == "latency" else f"throughput-{self.size}"
        return f"{base}@{self.placement}"


@dataclass
class CaseResult:
    """The samples of one case: one value per repetition."""

    case: Case
    iterations: int
    chunk: int
    slots: int
    #: latency: one-way nanoseconds (round trip / 2); throughput: bytes per second
    samples: list[float] = field(default_factory=list)
    elapsed_ns: list[int] = field(default_factory=list)


def cases(mechanisms: Sequence[str], sizes: Sequence[int], placements: Sequence[str]) -> list[Case]:
    """Every case of a run: per placement and mechanism, the latency test, then each throughput size."""
    out = []
    for placement in placements:
        for name in mechanisms:
            out.append(Case(name, "latency", LATENCY_SIZE, placement))
            out.extend(Case(name, "throughput", size, placement) for size in sizes)
    return out


def value_of(case: Case, iterations: int, elapsed_ns: int) -> float:
    """The figure a run stands for: one-way latency in ns, or throughput in bytes/s."""
    if elapsed_ns <= 0:
        raise BenchRunError(f"{case.mechanism} {case.test}: elapsed time {elapsed_ns} ns")
    if case.test == "latency":
        return elapsed_ns / iterations / 2
    return case.size * iterations / (elapsed_ns / 1e9)


def run_peer(binary: str, case: Case, iterations: int) -> dict[str, Any]:
    """Run the peer once and return its JSON record, checked against the request."""
    argv = [binary, case.mechanism, case.test, str(case.size), str(iterations), str(PEER_DEADLINE_S),
            case.placement]
    what = f"{case.mechanism} {case.test} {case.size} B x {iterations} ({case.placement})"
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise BenchRunError(f"{what}: no result within {RUN_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        message = " ".join(proc.stderr.split()) or f"exit status {proc.returncode}"
        raise BenchRunError(f"{what}: {message}")
    try:
        record = json.loads(proc.stdout)
    except ValueError:
        raise BenchRunError(f"{what}: unreadable output {proc.stdout[:80]!r}") from None
    expected = {"mechanism": case.mechanism, "test": case.test, "size": case.size, "iterations": iterations,
                "placement": case.placement}
    if not isinstance(record, dict) or any(record.get(k) != v for k, v in expected.items()) \
            or not isinstance(record.get("elapsed_ns"), int):
        raise BenchRunError(f"{what}: output does not match the request: {proc.stdout.strip()[:200]}")
    return record


def calibrate(binary: str, case: Case, target_s: float) -> int:
    """The iteration count that makes one run of ``case`` last about ``target_s``.

    Two probes: a tiny one for the order of magnitude, then one of about a
    quarter of the target. A probe of a fraction of a millisecond fits
    between two interruptions of a virtual CPU and would promise a speed
    that longer runs on this machine do not reach.
    """
    def wanted(probe: int, fraction: float) -> int:
        record = run_peer(binary, case, probe)
        per_iteration_ns = max(record["elapsed_ns"], 1) / probe
        return max(MIN_ITERATIONS, min(MAX_ITERATIONS, int(fraction * target_s * 1e9 / per_iteration_ns)))

    first = 50 if case.test == "latency" else max(MIN_ITERATIONS, (2 * 1024 * 1024) // case.size)
    second = wanted(first, 0.25)
    return wanted(second, 1.0) if second > first else max(MIN_ITERATIONS, second * 4)


@dataclass
class Rounds:
    """How the rounds went: how many ran, how long each took, whether the budget cut them short."""

    requested: int
    seconds: list[float] = field(default_factory=list)
    stopped_early: bool = False


def measure(binary: str, mechanisms: Sequence[str], sizes: Sequence[int], placements: Sequence[str],
            repeat: int, target_s: float, progress: Progress, budget_s: float = float("inf"),
            min_rounds: int = 1) -> tuple[list[CaseResult], Rounds]:
    """Calibrate, then run every case ``repeat`` times, interleaved; see the module docstring.

    When another round would likely end past ``budget_s`` seconds (counted
    from the first round; the estimate is the longest round so far), the
    rounds stop early, but never before ``min_rounds``: a machine that
    slowed down after calibration still finishes in bounded time.
    """
    todo = cases(mechanisms, sizes, placements)
    results: list[CaseResult] = []
    progress(f"calibrating {len(todo)} cases ({len(mechanisms)} mechanisms, placements "
             f"{', '.join(placements)})")
    for case in todo:
        iterations = calibrate(binary, case, target_s)
        results.append(CaseResult(case, iterations, chunk=0, slots=0))
    rounds = Rounds(repeat)
    started = time.monotonic()
    for round_ in range(repeat):
        elapsed = time.monotonic() - started
        if round_ >= min_rounds and rounds.seconds and elapsed + max(rounds.seconds) > budget_s:
            rounds.stopped_early = True
            progress(f"stopping after {round_} rounds: another would pass the {budget_s:.0f} s budget")
            break
        begun = time.monotonic()
        shift = round_ % len(results)
        for result in results[shift:] + results[:shift]:
            record = run_peer(binary, result.case, result.iterations)
            result.chunk, result.slots = int(record.get("chunk", 0)), int(record.get("slots", 0))
            result.elapsed_ns.append(record["elapsed_ns"])
            result.samples.append(value_of(result.case, result.iterations, record["elapsed_ns"]))
        rounds.seconds.append(time.monotonic() - begun)
        progress(f"round {round_ + 1}/{repeat} done ({time.monotonic() - started:.0f} s)")
    return results, rounds
