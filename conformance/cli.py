"""``ipc-conformance``: run the suite and work with its results.

    ipc-conformance run [--report-dir DIR] [--backend NAME] [--profile P]
                        [--expectations FILE ...] [pytest args...]
    ipc-conformance report RESULTS.json [--format html|md|all] [-o DIR]
    ipc-conformance merge RESULTS.json... -o DIR [--format html|md|all]
    ipc-conformance gate RESULTS.json [--expectations FILE ...]
    ipc-conformance claims [RESULTS.json] [--bench BENCH.json]
    ipc-conformance bench [--out DIR] [--repeat N] [--quick] [--mechanisms a,b] [--sizes 4K,64K,1M]
    ipc-conformance backends
    ipc-conformance kernels fetch 6.1|6.12|PACKAGE... [--force]
    ipc-conformance kernels run --kernel 6.1 [--accel auto|kvm|tcg] [--timeout S] [run options...]
    ipc-conformance kernels list

Bad input (an unknown backend or profile, an unwritable report directory, an
unreadable results or expectations file) is reported in one line on stderr
with exit status 2. ``gate`` exits 0 when every clause matches its
expectation and 1 when not, listing the regressions and stale expectations.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import NoReturn

USAGE_ERROR = 2


class CliError(Exception):
    """A problem with the user's input: one line, exit status 2."""


def _fail(message: str) -> NoReturn:
    print(f"ipc-conformance: error: {message}", file=sys.stderr)
    raise SystemExit(USAGE_ERROR)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see: {self.prog} --help)")


def specs_dir() -> Path:
    override = os.environ.get("IPC_CONFORMANCE_SPECS")
    candidate = Path(override) if override else Path(__file__).resolve().parent.parent / "specs"
    if not candidate.is_dir():
        raise CliError(
            f"the specs directory {candidate} does not exist; install the suite from a "
            "checkout with 'pip install -e .' or set IPC_CONFORMANCE_SPECS"
        )
    return candidate


def _writable_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise CliError(f"cannot write the report directory {path}: {exc.strerror}") from None
    return path


def cmd_run(args: argparse.Namespace, passthrough: list[str]) -> int:
    import pytest

    from .backends.registry import UnknownBackend, resolve
    from .profiles import PROFILES

    try:
        resolve(args.backend)
    except UnknownBackend as exc:
        raise CliError(str(exc)) from None
    if args.profile not in PROFILES:
        raise CliError(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
    expectations = _checked_expectations(args.expectations, backend=args.backend)
    _choose_actors(args.actors)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp}-{platform.release()}-{args.backend.replace(':', '_')}"
    report_dir = _writable_dir(Path(args.report_dir) if args.report_dir else Path("reports") / run_id)
    pytest_args = [
        str(specs_dir()),
        "--backend", args.backend,
        "--ipc-profile", args.profile,
        "--ipc-report-dir", str(report_dir),
        "--ipc-run-id", run_id,
        f"--junitxml={report_dir / 'junit.xml'}",
        "-o", "junit_family=xunit2",
        "-p", "no:cacheprovider",
        *(arg for path in expectations for arg in ("--ipc-expectations", path)),
        *passthrough,
    ]
    return int(pytest.main(pytest_args))


def _choose_actors(engine: str | None) -> None:
    """Set the actor engine for this run and its workers; a forced native build must work."""
    from .harness.native import ENGINE_VARIABLE, NativeBuildError, build, engine_choice, missing_operations

    if engine is None:  # the environment's choice, checked here rather than in every worker
        try:
            engine = engine_choice()
        except NativeBuildError as exc:
            raise CliError(str(exc)) from None
    os.environ[ENGINE_VARIABLE] = engine
    if engine != "c":
        return
    try:
        missing = missing_operations(build())
    except (NativeBuildError, OSError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise CliError(f"--actors c: {first}; install a C compiler (cc) or use --actors python") from None
    if missing:
        raise CliError(f"--actors c: the native actor lacks {', '.join(missing)}; use --actors python")


def _checked_expectations(paths: list[str], backend: str) -> list[str]:
    """Validate expectations files before a run (clause ids against the registry); absolute paths."""
    if not paths:
        return []
    from .gating.expectations import ExpectationsError, load_expectations
    from .gating.known import check_backend_names, check_clause_names, registered_clause_ids_apart

    specs = specs_dir()
    try:
        expectations = load_expectations(paths)
        check_backend_names(expectations, also=[backend])
        check_clause_names(expectations, registry=lambda: registered_clause_ids_apart(specs))
    except ExpectationsError as exc:
        raise CliError(str(exc)) from None
    return [str(Path(path).resolve()) for path in paths]


def cmd_report(args: argparse.Namespace) -> int:
    from .report.build import write_report
    from .report.schema import ReportInputError, load_results

    try:
        results = load_results(Path(args.results))
    except ReportInputError as exc:
        raise CliError(str(exc)) from None
    out = _writable_dir(Path(args.output) if args.output else Path(args.results).parent)
    formats = ("html", "md") if args.format == "all" else (args.format,)
    write_report(results, out, formats=formats)
    for fmt in formats:
        print(out / ("report.html" if fmt == "html" else "summary.md"))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from .report.merge import write_merge
    from .report.schema import ReportInputError, load_results

    try:
        runs = [(path, load_results(Path(path))) for path in args.results]
    except ReportInputError as exc:
        raise CliError(str(exc)) from None
    out = _writable_dir(Path(args.output))
    formats = ("html", "md") if args.format == "all" else (args.format,)
    for path in write_merge(runs, out, formats=formats):
        print(path)
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from .gating.expectations import ExpectationsError, load_expectations
    from .gating.gate import gate
    from .gating.known import check_backend_names, check_clause_names
    from .report.schema import ReportInputError, load_results

    try:
        results = load_results(Path(args.results))
        expectations = load_expectations(args.expectations)
        check_backend_names(expectations, also=[results["provenance"]["backend"]])
        check_clause_names(expectations, (c["id"] for c in results["clauses"]), args.results)
        if not results["clauses"]:
            raise CliError(f"{args.results}: the run recorded no clauses, so there is nothing to gate; "
                           "check the run's test selection (-k, paths)")
    except (ReportInputError, ExpectationsError) as exc:
        raise CliError(str(exc)) from None
    verdict = gate(results, expectations, source=args.results)
    for line in verdict.lines():
        print(line)
    return verdict.exit_status


def cmd_claims(args: argparse.Namespace) -> int:
    from .report.schema import ReportInputError, load_results

    if args.results:
        try:
            claims = load_results(Path(args.results))["claims"]
        except ReportInputError as exc:
            raise CliError(str(exc)) from None
    else:
        from .report.build import claim_verdicts

        claims = claim_verdicts([])
    if args.bench:
        from .bench.catalogue import BenchInputError
        from .bench.document import apply_bench, load_bench

        try:
            claims = apply_bench(claims, load_bench(Path(args.bench)), args.bench)
        except BenchInputError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(claims, indent=2))
        return 0
    for claim in claims:
        print(f"{claim['id']:4} {claim['verdict']:22} {claim['text']}")
        print(f"     {claim['explanation']}")
        if claim["clauses"]:
            print(f"     decided by: {', '.join(claim['clauses'])}")
    return 0


def cmd_backends(_args: argparse.Namespace) -> int:
    """One line per backend: its name, the mechanisms it covers, where it comes from.

    Built-in backends come first, then those registered under the entry-point
    group ``ipc_conformance.backends``, with the ``module:Class`` they name.
    """
    from .backends.registry import BUILTIN, available

    rows = [("backend", "mechanisms", "description")]
    for info in available().values():
        origin = "" if info.name in BUILTIN else f" ({info.process_ops})"
        rows.append((info.name, ", ".join(info.mechanisms), info.description + origin))
    name_width = max(len(row[0]) for row in rows)
    mech_width = max(len(row[1]) for row in rows)
    for name, mechanisms, description in rows:
        print(f"{name:{name_width}}  {mechanisms:{mech_width}}  {description}")
    return 0


def cmd_kernels(args: argparse.Namespace, passthrough: list[str]) -> int:
    """Other kernels under QEMU: see ``conformance/kernels``."""
    from .kernels import KernelError
    from .kernels.command import fetch_command, list_command, run_command

    try:
        if args.kernels_command == "run":
            return run_command(args.kernel, profile=args.profile, report_dir=args.report_dir,
                               accel=args.accel, timeout=args.timeout, memory_mb=args.memory,
                               cpus=args.cpus, passthrough=passthrough)
        if passthrough:
            raise CliError(f"unrecognized arguments: {' '.join(passthrough)}")
        if args.kernels_command == "fetch":
            return fetch_command(args.kernels, force=args.force)
        return list_command()
    except KernelError as exc:
        raise CliError(str(exc)) from None


def _add_kernels_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kernels = sub.add_parser("kernels", help="run the suite inside other (Debian) kernels under QEMU")
    actions = kernels.add_subparsers(dest="kernels_command", required=True, parser_class=_Parser)
    fetch = actions.add_parser("fetch", help="download a Debian kernel and prepare it for booting")
    fetch.add_argument("kernels", nargs="+", metavar="KERNEL", help="6.1, 6.12 or a linux-image-... package")
    fetch.add_argument("--force", action="store_true", help="fetch again even if cached")
    krun = actions.add_parser("run", help="boot a fetched kernel and run the suite inside it")
    krun.add_argument("--kernel", required=True, help="6.1, 6.12, a release or a package name")
    krun.add_argument("--profile", default="quick", help="as for run (default quick)")
    krun.add_argument("--report-dir", help="where to write the report (default reports/<stamp>-<release>-kernel)")
    krun.add_argument("--accel", default="auto", choices=("auto", "kvm", "tcg"),
                      help="KVM or software emulation (default: KVM if it can boot the kernel)")
    krun.add_argument("--timeout", type=float, default=1800.0, help="overall deadline in seconds (default 1800)")
    krun.add_argument("--memory", type=int, default=2048, help="guest memory in MiB (default 2048)")
    krun.add_argument("--cpus", type=int, default=2, help="guest CPUs (default 2)")
    actions.add_parser("list", help="list fetched kernels")


# --- bench: latency and throughput of each IPC mechanism (conformance/bench) ---
def cmd_bench(args: argparse.Namespace) -> int:
    """Measure every mechanism with the C peer; write bench.json, .md, .html, .png; decide S20."""
    from .bench.catalogue import BenchInputError, parse_mechanisms, parse_sizes
    from .bench.command import plan, run_bench
    from .bench.runner import BenchRunError
    from .harness.peers import PeerError

    try:
        chosen = plan(parse_mechanisms(args.mechanisms), parse_sizes(args.sizes), args.repeat, args.quick)
    except BenchInputError as exc:
        raise CliError(str(exc)) from None
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = _writable_dir(Path(args.out) if args.out else Path("reports") / f"bench-{stamp}")
    try:
        written = run_bench(chosen, out)
    except PeerError as exc:
        raise CliError(" ".join(str(exc).split())) from None
    except BenchRunError as exc:
        print(f"ipc-conformance: bench failed: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    claims = json.loads((out / "bench.json").read_text())["claims"]
    for claim in claims:
        print(f"{claim['id']} {claim['verdict']}: {claim['explanation'].split('. ')[0]}.")
    return 0


def _add_bench_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = sub.add_parser("bench", help="latency and throughput of every IPC mechanism; decides claim S20")
    bench.add_argument("--out", help="output directory (default reports/bench-<timestamp>)")
    bench.add_argument("--repeat", type=int, help="rounds over all cases (default 11, 3 with --quick)")
    bench.add_argument("--quick", action="store_true", help="short runs: a few seconds in all")
    bench.add_argument("--mechanisms", help="comma-separated subset (default: all)")
    bench.add_argument("--sizes", help="throughput message sizes, e.g. 4K,64K,1M (the default)")
# --- end of bench ---


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ipc-conformance", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run the conformance suite on this system")
    run.add_argument("--report-dir", help="where to write the report (default reports/<run-id>)")
    run.add_argument("--backend", default="kernel", help="implementation under test (default kernel)")
    run.add_argument("--profile", default="dev", help="quick, dev, ci or thorough (default dev)")
    run.add_argument("--expectations", action="append", default=[], metavar="FILE",
                     help="expectations file (TOML); its expected failures run as xfail (repeatable)")
    run.add_argument("--actors", choices=("auto", "c", "python"),
                     help="actor engine: the native C program (c), Python interpreters (python), or "
                          "native whenever it serves the backend (auto, the default)")
    report = sub.add_parser("report", help="render a stored results.json")
    report.add_argument("results")
    report.add_argument("--format", default="all", choices=("html", "md", "all"))
    report.add_argument("-o", "--output", help="output directory (default: beside the results)")
    merge = sub.add_parser("merge", help="put several runs side by side (HTML and Markdown)")
    merge.add_argument("results", nargs="+", metavar="RESULTS.json")
    merge.add_argument("-o", "--output", required=True, help="output directory")
    merge.add_argument("--format", default="all", choices=("html", "md", "all"))
    gate_ = sub.add_parser("gate", help="compare a run with expectations; exit 1 on regressions")
    gate_.add_argument("results", metavar="RESULTS.json")
    gate_.add_argument("--expectations", action="append", default=[], metavar="FILE",
                       help="expectations file (TOML); repeatable, later files override earlier ones")
    claims = sub.add_parser("claims", help="verdicts for the seed claims")
    claims.add_argument("results", nargs="?")
    claims.add_argument("--json", action="store_true")
    claims.add_argument("--bench", metavar="BENCH.json", help="decide S20 from an 'ipc-conformance bench' result")
    sub.add_parser("backends", help="list installed backends")
    _add_kernels_parser(sub)
    _add_bench_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args, rest)
        if args.command == "kernels":
            return cmd_kernels(args, rest)
        if rest:
            raise CliError(f"unrecognized arguments: {' '.join(rest)}")
        handler = {"report": cmd_report, "merge": cmd_merge, "gate": cmd_gate, "claims": cmd_claims,
                   "backends": cmd_backends, "bench": cmd_bench}[args.command]
        return handler(args)
    except CliError as exc:
        _fail(str(exc))
    except BrokenPipeError:
        # the reader went away (e.g. "| head"): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
