"""The pytest plugin: options, fixtures, one outcome per clause, the report.

Loaded through the ``pytest11`` entry point, so ``pytest specs/`` and
``ipc-conformance run`` behave the same. What it does, in order:

1. ``pytest_configure``: validates ``--backend`` and ``--ipc-profile``, loads
   the Hypothesis profile, and — when root — moves this process (each xdist
   worker) into a private IPC namespace before any actor exists.
2. Collection: a test marked with clauses whose requirements this system
   lacks is skipped as ``unsupported`` with the reason; with
   ``--ipc-expectations FILE``, a test of a clause the file expects to fail
   is marked ``xfail`` with the entry's reason (:mod:`conformance.gating.marks`).
3. Fixtures: ``scenario`` (one per test) and ``new_scenario`` (a factory, one
   scenario per Hypothesis example), both on the selected backend; an
   autouse leak guard checks after every spec that nothing was left behind.
4. Each test's phases are folded into one record per test (outcome, examples,
   duration, counterexample) carried on the report, so it survives xdist.
5. The controlling process folds records into one outcome per clause and
   writes ``results.json``, ``report.html`` and ``summary.md``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import requirements
from .backends.registry import BackendInfo, UnknownBackend, resolve
from .clauses import REGISTRY
from .harness import scenario as scenario_mod
from .harness.isolation import LeakGuard, enter_private_ipc_namespace, pin_to_one_cpu
from .harness.native import NativeBuildError, engine_choice
from .harness.scenario import BackendUnsupported, HarnessError, Scenario
from .harness.zygote import ZygoteClient
from .profiles import PROFILES, load_profile
from .results import RunRecorder, classify, remember_ipc_limits, test_record

_STATE = pytest.StashKey["RunState"]()
_PHASES = pytest.StashKey[list[tuple[str, str, str | None]]]()


class RunState:
    """What one pytest process (controller or worker) knows about the run."""

    def __init__(self, config: pytest.Config, backend: BackendInfo) -> None:
        self.config = config
        self.backend = backend
        self.private_ipc = False
        self.zygote: ZygoteClient | None = None
        self.base_dir = tempfile.mkdtemp(prefix="ipc-conformance-")
        self.recorder = RunRecorder(config, backend.name)

    def get_zygote(self) -> ZygoteClient:
        if self.zygote is None:
            assert self.backend.process_ops is not None
            self.zygote = ZygoteClient(self.backend.process_ops)
        return self.zygote

    def actors(self) -> str | None:
        """Which engine runs (or ran) this run's actors: "native", "python", or None without actors."""
        if self.zygote is not None:
            return self.zygote.engine
        if self.backend.process_ops is None:
            return None  # the model backend runs no processes
        from .harness.native import zygote_command

        try:
            native = zygote_command(self.backend.process_ops)
        except NativeBuildError:
            native = None
        return "native" if native else "python"

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        shutil.rmtree(self.base_dir, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipc-conformance")
    group.addoption("--backend", dest="ipc_backend", default="kernel",
                    help="implementation under test: kernel, model, or an installed backend")
    group.addoption("--ipc-profile", dest="ipc_profile", default="dev",
                    help=f"Hypothesis effort: {', '.join(PROFILES)} (default dev)")
    group.addoption("--ipc-report-dir", dest="ipc_report_dir", default=None,
                    help="write results.json, report.html and summary.md here")
    group.addoption("--ipc-run-id", dest="ipc_run_id", default=None,
                    help="the run id recorded in results.json")
    group.addoption("--ipc-no-pin", dest="ipc_no_pin", action="store_true", default=False,
                    help="let each worker and its actors run on every CPU (default: one CPU each)")
    group.addoption("--ipc-expectations", dest="ipc_expectations", action="append", default=[],
                    metavar="FILE", help="expectations file (TOML): its expected failures run as xfail")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the clause this test is a spec of")
    try:
        backend = resolve(config.getoption("ipc_backend"))
    except UnknownBackend as exc:
        raise pytest.UsageError(str(exc)) from None
    profile = config.getoption("ipc_profile")
    if profile not in PROFILES:
        raise pytest.UsageError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    load_profile(profile)
    try:
        engine_choice()
    except NativeBuildError as exc:
        raise pytest.UsageError(str(exc)) from None
    state = RunState(config, backend)
    state.private_ipc = enter_private_ipc_namespace()
    _pin(config)
    config.stash[_STATE] = state


def _pin(config: pytest.Config) -> None:
    """Each worker (or a run without workers) on one CPU; an xdist controller is left free."""
    if config.getoption("ipc_no_pin"):
        return
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        pin_to_one_cpu(int(worker["workerid"].lstrip("gw") or 0))
    elif not config.getoption("numprocesses", None):
        pin_to_one_cpu(0)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    backend = config.stash[_STATE].backend.name
    for item in items:
        for clause_id in _clause_ids(item):
            clause = REGISTRY[clause_id]
            reason = requirements.first_unmet(clause.requires, backend)
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"unsupported: {reason}"))
                break
    if config.getoption("ipc_expectations"):
        _mark_expected_failures(config, items, backend)


def _mark_expected_failures(config: pytest.Config, items: list[pytest.Item], backend: str) -> None:
    from .gating.expectations import ExpectationsError, System, load_expectations
    from .gating.marks import mark_expected_failures

    try:
        expectations = load_expectations(config.getoption("ipc_expectations"))
    except ExpectationsError as exc:
        raise pytest.UsageError(str(exc)) from None
    mark_expected_failures(items, expectations, System.here(backend), _clause_ids)


def _clause_ids(item: pytest.Item) -> list[str]:
    ids = []
    for mark in item.iter_markers("clause"):
        cid = mark.args[0]
        if cid not in REGISTRY:
            raise pytest.UsageError(f"{item.nodeid}: clause {cid!r} is not registered")
        if cid not in ids:
            ids.append(cid)
    return ids


# -- fixtures ---------------------------------------------------------------
@pytest.fixture(scope="session")
def ipc_backend(pytestconfig: pytest.Config) -> BackendInfo:
    """The backend selected with --backend."""
    return pytestconfig.stash[_STATE].backend


@pytest.fixture
def new_scenario(pytestconfig: pytest.Config) -> Iterator[Any]:
    """A factory of scenarios: ``with new_scenario() as sc: ...`` per example."""
    state: RunState = pytestconfig.stash[_STATE]
    made: list[Any] = []

    def make() -> Any:
        if state.backend.process_ops is None:
            from .harness.model_scenario import ModelScenario

            sc: Any = ModelScenario()
        else:
            sc = Scenario(state.get_zygote(), base_dir=state.base_dir)
        made.append(sc)
        return sc

    yield make
    for sc in made:
        sc.close()


@pytest.fixture
def scenario(new_scenario: Any) -> Iterator[Any]:
    """One scenario for the whole test, closed afterwards."""
    with new_scenario() as sc:
        yield sc


@pytest.fixture(autouse=True)
def _ipc_leak_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    state: RunState = request.config.stash[_STATE]
    if state.backend.process_ops is not None:
        state.get_zygote()  # started before the snapshot: it lives all run
    guard = LeakGuard(state.base_dir)
    before = guard.snapshot()
    scenario_mod.RECENT.clear()
    scenario_mod.COUNT[0] = 0
    yield
    for sc in scenario_mod.RECENT:
        sc.close()
    leaks = guard.leaks(before)
    if leaks:
        raise HarnessError("leak: " + "; ".join(leaks))


# -- outcomes ---------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    try:
        return (yield)
    except BackendUnsupported as exc:
        pytest.skip(f"unsupported: {exc}")



@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    phases = item.stash.setdefault(_PHASES, [])
    phases.append((call.when, *classify(report, call)))
    if call.when == "call":
        item.stash[_STARTED] = call.duration
        if report.failed:
            remember_ipc_limits(item)
    if call.when == "teardown" and _clause_ids(item):
        report.ipc_conformance = test_record(  # type: ignore[attr-defined]
            item, phases, _clause_ids(item), item.stash.get(_STARTED, 0.0),
            item.config.stash[_STATE].recorder,
        )
    return report


_STARTED = pytest.StashKey[float]()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    record = getattr(report, "ipc_conformance", None)
    if record is not None:
        _RECORDS.append(record)


_RECORDS: list[dict[str, Any]] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _RECORDS.clear()
    session.config.stash[_STATE].recorder.started = time.time()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # workers hand their records to the controller
    state: RunState = session.config.stash[_STATE]
    report_dir = session.config.getoption("ipc_report_dir")
    if not _RECORDS and report_dir is None:
        return  # no spec ran (e.g. only the suite's own tests): nothing to report
    state.recorder.finish(_RECORDS, Path(report_dir) if report_dir else None,
                          private_ipc=state.private_ipc, actors=state.actors())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    lines = config.stash[_STATE].recorder.summary_lines()
    if lines:
        terminalreporter.section("ipc-conformance clauses")
        for line in lines:
            terminalreporter.write_line(line)
