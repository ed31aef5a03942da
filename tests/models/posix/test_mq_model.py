"""The POSIX message queue model: every spec of ``specs/posix/mq`` run on it, and its sleeping rules.

The specs are written against the harness's scenario interface (spawn, do,
call, fork, expect, expect_event); :class:`ModelRun` offers that interface
over :class:`~conformance.models.posix.mq.MqModel`, so each spec function
runs unchanged on the model — the same expectations that pass on the kernel
must pass here. The two timed specs also check that the call *waited* for
its timeout, which a model answers without time passing; their timeout
rule is checked by the unit tests below instead.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.backends.ops import ActorRef
from conformance.models.posix.mq import MqLimits, MqModel
from conformance.outcome import BLOCKED, Errno, Killed, Outcome, Value

ROOT = Path(__file__).resolve().parents[3]
SPEC_DIR = ROOT / "specs" / "posix" / "mq"
TIMED = {"test_timedsend_times_out", "test_timedreceive_times_out"}
#: specs that read the notification with sigprocmask and sigtimedwait: the
#: process model's signal operations, which the standalone queue model lacks
#: (they run on the hosted model through --backend model)
HOST_SIGNALS = {"test_notification_names_the_sender"}
USR1 = int(signal.SIGUSR1)


class ModelActor:
    def __init__(self, run: ModelRun, name: str) -> None:
        self.run, self.name = run, name

    def do(self, op: str, *args: Any) -> Outcome:
        outcome = self.run.model.step(self.name, op, *args)
        self.run.collect()
        return outcome

    def call(self, op: str, *args: Any) -> Any:
        outcome = self.do(op, *args)
        assert outcome.ok, f"{self.name}: {op}{args!r} {outcome}"
        return outcome.detail

    def fork(self, child: str) -> ModelActor:
        assert self.call("fork", child) == ActorRef(child)
        return self.run.actors.setdefault(child, ModelActor(self.run, child))

    def finish(self) -> Outcome:
        self.run.model.expire(self.name)
        self.run.collect()
        return self.run.events.pop(self.name)


class ModelRun:
    """The scenario interface the specs use, answered by the model."""

    def __init__(self) -> None:
        root_caps = os.geteuid() == 0 and _cap_sys_resource()
        self.model = MqModel(MqLimits.from_proc(root_sys_resource=root_caps))
        self.actors: dict[str, ModelActor] = {}
        self.events: dict[str, Outcome] = {}

    def __enter__(self) -> ModelRun:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def spawn(self, name: str) -> ModelActor:
        self.model.spawn(name)
        return self.actors.setdefault(name, ModelActor(self, name))

    def collect(self) -> None:
        self.events.update(self.model.settle())

    def expect(self, outcome: Outcome, wanted: Outcome, why: str = "") -> None:
        assert outcome == wanted, f"got {outcome}, expected {wanted} ({why})"

    def expect_event(self, actor: ModelActor, wanted: Outcome, why: str = "") -> None:
        self.expect(self.events.pop(actor.name, BLOCKED), wanted, why)


class Names:
    """The ``mq_names`` fixture's interface, for specs run on the model alone."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def new(self) -> str:
        self.given.append(f"/ipcc-mq-{os.getpid()}-{len(self.given)}")
        return self.given[-1]


def _cap_sys_resource() -> bool:
    with open("/proc/self/status") as f:
        effective = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    return bool(effective >> 24 & 1)


def _spec_functions() -> list[Any]:
    found = []
    for path in sorted(SPEC_DIR.glob("test_mq_*.py")):
        if path.name == "test_mq_machine.py":
            continue
        name = "mq_model_" + path.stem
        module = sys.modules.get(name)
        if module is None:
            module_spec = importlib.util.spec_from_file_location(name, path)
            assert module_spec and module_spec.loader
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        found += [getattr(module, n) for n in dir(module) if n.startswith("test_") and n not in TIMED | HOST_SIGNALS]
    return found


SPECS = _spec_functions()


@pytest.mark.parametrize("spec_function", SPECS, ids=[f.__name__ for f in SPECS])
def test_spec_holds_on_the_model(spec_function: Any) -> None:
    names = Names()
    if hasattr(spec_function, "hypothesis"):
        spec_function(new_scenario=ModelRun, mq_names=names)
    else:
        spec_function(scenario=ModelRun(), mq_names=names)


def _queue(model: MqModel, actor: str = "a", flags: int = 0, maxmsg: int = 2) -> int:
    out = model.step(actor, "mq_open", "/q", os.O_CREAT | os.O_RDWR | flags, 0o600, (maxmsg, 16))
    assert out.ok
    return int(out.detail)


def test_timed_calls_sleep_until_expired() -> None:
    model = MqModel()
    model.spawn("a")
    q = _queue(model, maxmsg=1)
    assert model.step("a", "mq_timedreceive", q, 16, 0) == Errno("ETIMEDOUT"), "no time to wait: at once"
    assert model.step("a", "mq_timedreceive", q, 16, 10**9) == BLOCKED
    model.expire("a")
    assert model.settle() == {"a": Errno("ETIMEDOUT")}
    assert model.step("a", "mq_send", q, b"x", 0) == Value(0)
    assert model.step("a", "mq_timedsend", q, b"y", 0, 10**9) == BLOCKED
    model.expire("a")
    assert model.settle() == {"a": Errno("ETIMEDOUT")}
    assert model.step("a", "mq_getattr", q) == Value({"flags": 0, "maxmsg": 1, "msgsize": 16, "curmsgs": 1})


def test_sleepers_are_served_in_arrival_order() -> None:
    model = MqModel()
    model.spawn("a")
    q = _queue(model, maxmsg=1)
    for child in ("r1", "r2"):
        model.step("a", "fork", child)
        assert model.step(child, "mq_receive", q, 16) == BLOCKED
    assert model.step("a", "mq_send", q, b"first", 1) == Value(0)
    assert model.settle() == {"r1": Value((b"first", 1))}
    assert model.step("a", "mq_send", q, b"second", 1) == Value(0)
    assert model.settle() == {"r2": Value((b"second", 1))}
    assert model.step("a", "mq_send", q, b"fill", 0) == Value(0)
    for child in ("s1", "s2"):
        model.step("a", "fork", child)
        assert model.step(child, "mq_send", q, child.encode(), 5) == BLOCKED
    assert model.step("a", "mq_receive", q, 16) == Value((b"fill", 0))
    assert model.settle() == {"s1": Value(0)}, "the first sleeping sender's message went in"
    assert model.step("a", "mq_receive", q, 16) == Value((b"s1", 5))
    assert model.settle() == {"s2": Value(0)}


def test_notification_signal_default_kills_and_close_unregisters() -> None:
    model = MqModel()
    model.spawn("a")
    q = _queue(model)
    model.step("a", "fork", "listener")
    assert model.step("listener", "mq_notify", q, USR1) == Value(0)
    assert model.step("a", "mq_send", q, b"x", 0) == Value(0)
    assert model.settle() == {"listener": Killed(USR1)}, "SIGUSR1's default action ends the process"
    assert model.step("a", "mq_receive", q, 16) == Value((b"x", 0))
    assert model.step("a", "mq_notify", q, "none") == Value(0)
    assert model.step("a", "mq_close", q) == Value(0)
    q = int(model.step("a", "mq_open", "/q", os.O_RDWR).detail)
    model.step("a", "fork", "other")
    assert model.step("other", "mq_notify", q, USR1) == Value(0), "the owner's close removed its registration"


def test_counted_notification_interrupts_a_sleeping_call() -> None:
    model = MqModel()
    model.spawn("a")
    q = _queue(model)
    other = int(model.step("a", "mq_open", "/other", os.O_CREAT | os.O_RDWR, 0o600, (1, 16)).detail)
    model.step("a", "fork", "listener")
    model.step("listener", "signal", USR1, "count")
    assert model.step("listener", "mq_notify", q, USR1) == Value(0)
    assert model.step("listener", "mq_receive", other, 16) == BLOCKED
    assert model.step("a", "mq_send", q, b"x", 0) == Value(0)
    assert model.settle() == {"listener": Errno("EINTR")}
    assert model.step("listener", "signal_count", USR1) == Value(1)


def test_unlinked_queue_is_counted_until_its_last_description_goes() -> None:
    model = MqModel(MqLimits(queues_max=1, root_sys_resource=False))
    model.spawn("a")
    q = _queue(model)
    assert model.step("a", "mq_unlink", "/q") == Value(0)
    assert model.step("a", "mq_open", "/r", os.O_CREAT | os.O_RDWR, 0o600, (1, 16)) == Errno("ENOSPC")
    assert model.step("a", "mq_close", q) == Value(0)
    assert model.step("a", "mq_open", "/r", os.O_CREAT | os.O_RDWR, 0o600, (1, 16)) == Value(3)
