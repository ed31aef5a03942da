"""The POSIX named semaphore model, driven directly."""

from __future__ import annotations

import os

import pytest

from conformance.backends.posix_semshm_ops import SEM_VALUE_MAX
from conformance.models.errors import ModelUsageError, Unmodelled
from conformance.models.posix.sem import SemModel, check_name
from conformance.models.submodel import SubModel
from conformance.outcome import BLOCKED, Errno, Value

CREAT, EXCL = os.O_CREAT, os.O_EXCL


@pytest.fixture
def model() -> SemModel:
    m = SemModel()
    m.spawn("a")
    m.spawn("b")
    return m


def test_is_a_submodel(model):
    assert isinstance(model, SubModel)


def test_open_matrix(model):
    assert model.step("a", "sem_open", "/s", 0, 0o600, 0) == Errno("ENOENT")
    assert model.step("a", "sem_open", "/s", CREAT | EXCL, 0o600, 2) == Value(0)
    assert model.step("b", "sem_open", "/s", CREAT | EXCL, 0o600, 0) == Errno("EEXIST")
    assert model.step("b", "sem_open", "/s", CREAT, 0o600, 7) == Value(0)
    assert model.step("b", "sem_getvalue", 0) == Value(2), "the value given to an existing one is ignored"
    assert model.step("a", "sem_open", "/t", CREAT, 0o600, SEM_VALUE_MAX + 1) == Errno("EINVAL")


@pytest.mark.parametrize(("name", "errno"), [
    ("/", "EINVAL"), ("/a/b", "EINVAL"), ("/" + "x" * 252, "ENAMETOOLONG"), ("/" + "x" * 256, "EINVAL"),
])
def test_names(name, errno):
    assert check_name(name) == errno
    assert check_name("/" + "x" * 251) is None and check_name("//a") is None


def test_wait_sleeps_until_post(model):
    h = model.step("a", "sem_open", "/s", CREAT, 0o600, 0).detail
    model.fork("a", "c")
    assert model.step("a", "sem_wait", h) == BLOCKED
    assert model.blocked() == {"a"}
    assert model.step("c", "sem_post", h) == Value(0)
    assert model.settle() == {"a": Value(0)}
    assert model.step("c", "sem_getvalue", h) == Value(0)


def test_two_sleepers_are_unmodelled(model):
    model.step("a", "sem_open", "/s", CREAT, 0o600, 0)
    model.step("b", "sem_open", "/s", 0, 0o600, 0)
    model.spawn("c")
    model.step("c", "sem_open", "/s", 0, 0o600, 0)
    model.step("a", "sem_wait", 0)
    model.step("b", "sem_wait", 0)
    with pytest.raises(Unmodelled):
        model.step("c", "sem_post", 0)


def test_interrupt_and_expire(model):
    model.step("a", "sem_open", "/s", CREAT, 0o600, 0)
    assert model.step("a", "sem_timedwait", 0, 1, 0) == BLOCKED
    model.expire("a")
    assert model.settle() == {"a": Errno("ETIMEDOUT")}
    assert model.step("a", "sem_wait", 0) == BLOCKED
    with pytest.raises(ModelUsageError):
        model.expire("a")
    assert model.interrupt("a") is True
    assert model.settle() == {"a": Errno("EINTR")}
    assert model.interrupt("a") is False
    assert model.step("a", "sem_timedwait", 0, 0, -1) == Errno("EINVAL")
    assert model.step("a", "sem_timedwait", 0, 0, 0) == Errno("ETIMEDOUT")


def test_limits_and_unlink(model):
    model.step("a", "sem_open", "/s", CREAT, 0o600, SEM_VALUE_MAX)
    assert model.step("a", "sem_post", 0) == Errno("EOVERFLOW")
    model.step("a", "sem_open", "/z", CREAT, 0o600, 0)
    assert model.step("a", "sem_trywait", 1) == Errno("EAGAIN")
    assert model.step("a", "sem_unlink", "/s") == Value(0)
    assert model.step("b", "sem_open", "/s", 0, 0o600, 0) == Errno("ENOENT")
    assert model.step("a", "sem_getvalue", 0) == Value(SEM_VALUE_MAX), "the handle still works"


def test_permission(model):
    model.step("a", "sem_open", "/s", CREAT, 0o600, 0)
    assert model.become("b", 65534, 65534) == Value(0)
    assert model.step("b", "sem_open", "/s", 0, 0o600, 0) == Errno("EACCES")
    assert model.become("b", 0, 0) == Errno("EPERM")


def test_exit_drops_the_sleeper(model):
    model.step("a", "sem_open", "/s", CREAT, 0o600, 0)
    model.step("b", "sem_open", "/s", 0, 0o600, 0)
    model.step("a", "sem_wait", 0)
    model.kill("a")
    assert model.blocked() == set() and model.alive() == {"b"}
    assert model.step("b", "sem_post", 0) == Value(0)
    assert model.step("b", "sem_getvalue", 0) == Value(1), "nobody took it"
    assert model.settle() == {}
