"""The native actor: complete, faithful on the wire, and chosen only where it applies.

The specs themselves compare every outcome of the native actor with the
reference models and the clauses; these tests cover what the specs cannot
see: that the program performs the whole catalogue (an incomplete build
never becomes the default), that every shape of value crosses its channel
unchanged, and which engine each backend gets.
"""

from __future__ import annotations

import signal
import socket

import pytest

from conformance.backends.ops import OPS, ActorRef
from conformance.harness import native, protocol
from conformance.harness.native import KERNEL_BACKEND, NativeBuildError
from conformance.harness.scenario import Scenario
from conformance.harness.zygote import ZygoteClient
from conformance.outcome import BLOCKED, Exited


@pytest.fixture(scope="module")
def native_zygote():
    try:
        zygote = ZygoteClient(KERNEL_BACKEND, engine="c")
    except NativeBuildError as exc:
        pytest.skip(f"no native actor here: {exc}")
    yield zygote
    zygote.close()


def test_the_program_performs_every_operation_of_the_catalogue() -> None:
    binary = native.build(partial=False)
    assert native.missing_operations(binary) == []
    assert set(OPS) <= native.operations(binary)


def test_an_incomplete_program_is_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "missing_operations", lambda _binary: ["mq_notify"])
    assert native.zygote_command(KERNEL_BACKEND, "auto") is None
    # forced, it runs anyway (and answers "unsupported" for what it lacks)
    assert native.zygote_command(KERNEL_BACKEND, "c") is not None


def test_other_backends_keep_python_actors() -> None:
    mutant = "tests.mutants.fd:OpenSkipsLowest"
    assert native.zygote_command(mutant, "auto") is None
    assert native.zygote_command(mutant, "c") is None
    assert native.zygote_command(KERNEL_BACKEND, "python") is None
    assert native.zygote_command(KERNEL_BACKEND, "auto") is not None


def test_an_unknown_engine_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.ENGINE_VARIABLE, "java")
    with pytest.raises(NativeBuildError, match="not an engine; use one of auto, c, python"):
        native.zygote_command(KERNEL_BACKEND)


def test_names_come_from_python_tables() -> None:
    headers = native.generated_headers()
    header = headers["names.h"]
    assert '[2] = "ENOENT"' in header and '[11] = "EAGAIN"' in header
    assert f'[{int(signal.SIGUSR1)}] = "SIGUSR1"' in header
    assert f'[{signal.SIGRTMIN}] = "SIGRTMIN"' in header
    socket_names = headers["socket_names.h"]
    assert '{"POLLIN", 0x1}' in socket_names and '{"MSG_PEEK", 0x2}' in socket_names
    assert "['MSG_DONTWAIT', 'MSG_EOR', 'MSG_NOSIGNAL', 'MSG_OOB', 'MSG_PEEK', 'MSG_WAITALL']" in socket_names


#: every shape of value the harness sends: the pickle opcodes for small and
#: large ints, str and bytes of every length class, nesting, memoised
#: repeats, lists, dicts, and an IntEnum member (sent as a class call)
VALUES = [
    0, 1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -1, -256, -(2**31), -(2**31) - 1,
    2**62, -(2**63), 2**63 - 1, True, False, None,
    "", "f", "é☃ name", "x" * 300, b"", b"\x00\xff", b"y" * 300, bytes(range(256)) * 1024,
    (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((1, "a"), (b"b", (None,))),
    {"mode": 0o600, "uid": 65534}, {},
]


def _echo(channel: socket.socket, args: tuple[object, ...]) -> object:
    protocol.send(channel, ("__echo__", args))
    (kind, value), _fds = protocol.recv(channel)
    assert kind == "value", value
    return value


def test_values_cross_the_channel_unchanged(native_zygote: ZygoteClient) -> None:
    _pid, channel = native_zygote.spawn("/")
    try:
        for value in VALUES:
            assert _echo(channel, (value,)) == (value,), value
        shared = "the same object twice"
        assert _echo(channel, (shared, shared, (shared,))) == (shared, shared, (shared,))
        assert _echo(channel, ([1, 2, [3]],)) == ((1, 2, (3,)),)  # lists arrive as tuples
        sigusr1 = _echo(channel, (signal.SIGUSR1,))
        assert sigusr1 == (int(signal.SIGUSR1),) and type(sigusr1[0]) is int
    finally:
        protocol.send(channel, ("exit", (0,)))
        channel.close()
        native_zygote.reap_all()


def test_a_malformed_request_is_an_error_reply(native_zygote: ZygoteClient) -> None:
    _pid, channel = native_zygote.spawn("/")
    try:
        protocol.send(channel, ("getpid",))  # not (op, args)
        (kind, text), _fds = protocol.recv(channel)
        assert kind == "error" and "bad request" in text
        protocol.send(channel, ("__echo__", (1.5,)))  # floats are not part of the protocol
        (kind, text), _fds = protocol.recv(channel)
        assert kind == "error" and "unsupported pickle opcode" in text
        assert _echo(channel, (7,)) == (7,)  # and it serves on
    finally:
        channel.close()
        native_zygote.reap_all()


def test_scenarios_run_on_native_actors(native_zygote: ZygoteClient) -> None:
    assert native_zygote.engine == "native"
    with Scenario(native_zygote) as sc:
        parent = sc.spawn("parent")
        read_end, write_end = parent.call("pipe")
        child = parent.fork("child")
        assert child.do("getpid").detail.name == "child"
        assert parent.call("write", write_end, b"hi") == 2
        assert child.call("read", read_end, 10) == b"hi"  # the child inherited the pipe
        assert child.do("read", read_end, 10) == BLOCKED
        parent.call("write", write_end, b"!")
        assert child.completion is not None and child.completion.detail == b"!"
        assert child.do("exit", 7) == Exited(7)
        assert parent.call("wait", ActorRef("child")) == ("exited", 7)
