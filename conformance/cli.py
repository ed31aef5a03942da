"""``ipc-conformance``: run the suite and work with its results.

    ipc-conformance run [--report-dir DIR] [--backend NAME] [--profile P] [pytest args...]
    ipc-conformance report RESULTS.json [--format html|md|all] [-o DIR]
    ipc-conformance claims [RESULTS.json]
    ipc-conformance backends

Bad input (an unknown backend or profile, an unwritable report directory, an
unreadable results file) is reported in one line on stderr with exit status 2.
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

    from .backends import UnknownBackend, resolve
    from .profiles import PROFILES

    try:
        resolve(args.backend)
    except UnknownBackend as exc:
        raise CliError(str(exc)) from None
    if args.profile not in PROFILES:
        raise CliError(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
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
        *passthrough,
    ]
    return int(pytest.main(pytest_args))


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
    from .backends import available

    for info in available().values():
        print(f"{info.name:12} {', '.join(info.mechanisms):28} {info.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ipc-conformance", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run the conformance suite on this system")
    run.add_argument("--report-dir", help="where to write the report (default reports/<run-id>)")
    run.add_argument("--backend", default="kernel", help="implementation under test (default kernel)")
    run.add_argument("--profile", default="dev", help="quick, dev, ci or thorough (default dev)")
    report = sub.add_parser("report", help="render a stored results.json")
    report.add_argument("results")
    report.add_argument("--format", default="all", choices=("html", "md", "all"))
    report.add_argument("-o", "--output", help="output directory (default: beside the results)")
    claims = sub.add_parser("claims", help="verdicts for the seed claims")
    claims.add_argument("results", nargs="?")
    claims.add_argument("--json", action="store_true")
    sub.add_parser("backends", help="list installed backends")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args, rest)
        if rest:
            raise CliError(f"unrecognized arguments: {' '.join(rest)}")
        handler = {"report": cmd_report, "claims": cmd_claims, "backends": cmd_backends}[args.command]
        return handler(args)
    except CliError as exc:
        _fail(str(exc))
    except BrokenPipeError:
        # the reader went away (e.g. "| head"): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
