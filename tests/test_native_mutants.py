"""The specs catch a broken native actor, not only a broken Python backend.

The kernel backend's actors are the native C program (see
``conformance.harness.native``), so a mistake in one of its operations is a
mistake in what the suite observes. Each mutant here is a C file whose
``mutant_ops`` table replaces one operation with a broken one; the specs of
the clause it breaks run in a separate pytest process against a build that
includes it, and the results must show that clause ``failed`` — and the same
specs on the suite's own build must show it ``passed``, so the failure is the
mutant's doing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.harness.native import ENGINE_VARIABLE, MUTANT_VARIABLE, NativeBuildError, build

ROOT = Path(__file__).resolve().parent.parent
NATIVE_MUTANTS = ROOT / "tests" / "mutants" / "native"

#: mutant file -> (spec files to run, the clause it breaks)
CASES = {
    "dup_skips_lowest.c": (("specs/fd/test_dup.py",), "fd.dup.number-differs"),
    "msgrcv_ignores_noerror.c": (("specs/sysv/msg/test_msg_limits.py",), "sysv.msg.noerror-truncates"),
}


def _clause_outcomes(specs: tuple[str, ...], report_dir: Path, mutant: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env[ENGINE_VARIABLE] = "c"
    env.pop(MUTANT_VARIABLE, None)
    if mutant is not None:
        env[MUTANT_VARIABLE] = str(mutant)
    cmd = [sys.executable, "-m", "pytest", *specs, "--ipc-profile", "quick",
           "--ipc-report-dir", str(report_dir), "-q", "-p", "no:cacheprovider"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    results = report_dir / "results.json"
    assert results.exists(), f"no results written:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert json.loads(results.read_text())["provenance"]["actors"] == "native"
    return {c["id"]: c["outcome"] for c in json.loads(results.read_text())["clauses"]}


@pytest.mark.parametrize("mutant", sorted(CASES))
def test_a_broken_native_operation_fails_its_clause(mutant: str, tmp_path: Path) -> None:
    try:
        build(partial=False)
    except NativeBuildError as exc:
        pytest.skip(f"no native actor here: {exc}")
    specs, clause = CASES[mutant]
    broken = _clause_outcomes(specs, tmp_path / "mutant", NATIVE_MUTANTS / mutant)
    assert broken[clause] == "failed", f"{mutant} was not caught by {clause}: {broken}"
    sound = _clause_outcomes(specs, tmp_path / "sound", None)
    assert sound[clause] == "passed", f"{clause} fails on the suite's own native actor: {sound}"


def test_every_native_mutant_is_exercised() -> None:
    assert sorted(p.name for p in NATIVE_MUTANTS.glob("*.c")) == sorted(CASES)
