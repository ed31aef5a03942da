"""Every benchmark of the suite's own speed, in one run: ``python3 -m benchmarks``.

1. actor spawn plus one round trip, as a ratio to a C fork/pipe/wait loop
   measured in alternating rounds of the same run (:mod:`benchmarks.harness`);
2. examples per second of each state machine (:mod:`benchmarks.machines`);
3. with ``--scaling``: whole profile runs with ``-n 1`` and ``-n 2`` in
   alternating rounds, beside a CPU-bound loop run alone and in pairs
   (:mod:`benchmarks.scaling`; minutes).

Figures are printed and written as JSON to ``benchmarks/results/``
(ignored by git). Nothing here is a test: the machine is shared and noisy,
so ratios are what to read, not absolute times.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import tempfile
from pathlib import Path

from . import machines, scaling
from .harness import harness_figures, print_figures

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating C/harness rounds")
    parser.add_argument("--iterations", type=int, default=200, help="spawns per round")
    parser.add_argument("--profile", default="ci", help="profile of the machine runs (default ci)")
    parser.add_argument("--scaling", action="store_true", help="also time whole runs, -n 1 vs -n 2")
    parser.add_argument("--scaling-rounds", type=int, default=3, help="alternating -n 1/-n 2 rounds (default 3)")
    parser.add_argument("--skip-machines", action="store_true", help="only the spawn ratio")
    args = parser.parse_args(argv)
    from conformance.profiles import PROFILES

    if args.profile not in PROFILES:
        print(f"error: unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}",
              file=sys.stderr)
        return 2
    if args.rounds < 1 or args.iterations < 1 or args.scaling_rounds < 1:
        print("error: --rounds, --iterations and --scaling-rounds must be at least 1", file=sys.stderr)
        return 2
    figures: dict[str, object] = {"cpus": os.cpu_count(), "load": os.getloadavg()}
    print("== actor spawn + one round trip vs C fork/pipe/wait")
    spawn = harness_figures(args.rounds, args.iterations)
    figures["spawn"] = spawn
    print_figures(spawn)
    if not args.skip_machines:
        print(f"== state machines, profile {args.profile}, one worker")
        figures["machines"] = found = machines.measure(args.profile)
        for line in machines.report(found):
            print(line)
    if args.scaling:
        print(f"== whole runs, profile {args.profile}: -n 1 vs -n 2, {args.scaling_rounds} rounds")
        figures["scaling"] = scaled = scaling.measure(args.profile, args.scaling_rounds)
        for line in scaling.report(scaled):
            print(line)
    RESULTS.mkdir(exist_ok=True)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"{stamp}.json"
    with tempfile.NamedTemporaryFile("w", dir=RESULTS, delete=False) as f:
        json.dump(figures, f, indent=2)
    os.replace(f.name, target)
    print(f"figures written to {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
