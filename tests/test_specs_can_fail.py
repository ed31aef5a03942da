"""Every clause's spec can fail: it catches a backend that breaks the clause.

For each mutant, the specs it names run in a separate pytest process against
the mutant backend; the results file must show every clause the mutant
breaks as ``failed``. A second test checks that every registered clause of
the families built so far is broken by at least one mutant, so no spec goes
unproven.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.clauses import REGISTRY
from tests.mutants import load_all

ROOT = Path(__file__).resolve().parent.parent
PROVEN_FAMILIES = ("fd", "pipe", "fifo", "signal", "socket", "mmap", "sysv.ipc", "sysv.msg", "sysv.sem",
                   "sysv.shm", "posix.mq", "posix.sem", "posix.shm")
MUTANTS = load_all()


def _load_spec_modules() -> None:
    for path in sorted((ROOT / "specs").rglob("test_*.py")):
        name = "specs_" + "_".join(path.relative_to(ROOT / "specs").with_suffix("").parts)
        if name in sys.modules:
            continue
        module_spec = importlib.util.spec_from_file_location(name, path)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)


def run_specs(backend: str, specs: tuple[str, ...], report_dir: Path) -> dict:
    cmd = [
        sys.executable, "-m", "pytest", *specs,
        "--backend", backend, "--ipc-profile", "quick",
        "--ipc-report-dir", str(report_dir), "-q", "-p", "no:cacheprovider",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    results_file = report_dir / "results.json"
    assert results_file.exists(), f"no results written:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(results_file.read_text())


def _mutant_id(mutant) -> str:
    """``<module>:<name>``, so ``-k sysv_sem`` or ``-k posix_mq`` selects one family's proofs."""
    module = mutant.backend.split(":", 1)[0].rsplit(".", 1)[-1]
    return f"{module}:{mutant.name}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[_mutant_id(m) for m in MUTANTS])
def test_mutant_is_caught(mutant, tmp_path):
    results = run_specs(mutant.backend, mutant.specs, tmp_path)
    outcomes = {c["id"]: c for c in results["clauses"]}
    for clause_id in mutant.kills:
        assert clause_id in outcomes, f"{clause_id} did not run against {mutant.name}"
        clause = outcomes[clause_id]
        assert clause["outcome"] == "failed", (
            f"{clause_id} is {clause['outcome']} against mutant {mutant.name}"
            f" (reason: {clause['reason']})"
        )
        assert clause["counterexample"] and clause["counterexample"]["steps"], (
            f"{clause_id} failed without a counterexample"
        )


def test_every_clause_has_a_mutant():
    _load_spec_modules()
    killed = {cid for m in MUTANTS for cid in m.kills}
    unproven = sorted(
        cid for cid, clause in REGISTRY.items()
        if clause.family in PROVEN_FAMILIES and cid not in killed
    )
    assert not unproven, f"clauses no mutant proves can fail: {unproven}"


def test_mutants_name_registered_clauses():
    _load_spec_modules()
    unknown = sorted({cid for m in MUTANTS for cid in m.kills} - set(REGISTRY))
    assert not unknown, f"mutants name clauses that do not exist: {unknown}"
