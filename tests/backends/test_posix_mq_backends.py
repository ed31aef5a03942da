"""The POSIX message queue backends, checked directly (without the harness).

* **Layouts**: ``struct mq_attr``, ``struct sigevent`` and ``struct timespec``
  of :mod:`conformance.backends.posix_mq_kernel` against a C compiler, from
  the headers a C program includes (skipped without ``cc``).
* **The kernel backend** in this test process: a round trip, and the
  relative timeout of the timed calls.
* **The posix_ipc backend**: each library exception is mapped to the errno
  the failing call set, and what the library cannot express is
  ``NotImplementedError`` with the reason, never a made-up errno.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from conformance.backends import posix_mq_kernel as mk
from conformance.backends.kernel import KernelProcessOps
from conformance.backends.posix_ipc_backend import PosixIpcOps

FIELDS = [
    ("mq_attr", "mq_flags", mk.MqAttr, "mq_flags"),
    ("mq_attr", "mq_maxmsg", mk.MqAttr, "mq_maxmsg"),
    ("mq_attr", "mq_msgsize", mk.MqAttr, "mq_msgsize"),
    ("mq_attr", "mq_curmsgs", mk.MqAttr, "mq_curmsgs"),
    ("sigevent", "sigev_value", mk.SigEvent, "sigev_value"),
    ("sigevent", "sigev_signo", mk.SigEvent, "sigev_signo"),
    ("sigevent", "sigev_notify", mk.SigEvent, "sigev_notify"),
    ("timespec", "tv_sec", mk.Timespec, "tv_sec"),
    ("timespec", "tv_nsec", mk.Timespec, "tv_nsec"),
]
STRUCTS = {c: py for c, _f, py, _pf in FIELDS}


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, int]]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to compare the layouts with")
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <mqueue.h>", "#include <signal.h>",
             "#include <time.h>", "int main(void) {"]
    for c_struct, c_field, _py, _pf in FIELDS:
        lines.append(f'  printf("{c_struct}.{c_field} %zu %zu\\n", offsetof(struct {c_struct}, {c_field}), '
                     f"sizeof(((struct {c_struct} *)0)->{c_field}));")
    for c_struct in STRUCTS:
        lines.append(f'  printf("{c_struct} 0 %zu\\n", sizeof(struct {c_struct}));')
    lines += ['  printf("SIGEV_SIGNAL 0 %d\\nSIGEV_NONE 0 %d\\n", SIGEV_SIGNAL, SIGEV_NONE);',
              "  return 0;", "}"]
    work = tmp_path_factory.mktemp("mq-layout")
    (work / "layout.c").write_text("\n".join(lines) + "\n")
    subprocess.run([cc, "-o", str(work / "layout"), str(work / "layout.c")], check=True)
    out = subprocess.run([str(work / "layout")], check=True, capture_output=True, text=True).stdout
    return {name: (int(off), int(size)) for name, off, size in (row.split() for row in out.splitlines())}


@pytest.mark.parametrize(("c_struct", "c_field", "py_struct", "py_field"), FIELDS,
                         ids=[f"{c}.{f}" for c, f, _p, _pf in FIELDS])
def test_field_offset_and_size_match_c(c_layout: dict[str, tuple[int, int]], c_struct: str, c_field: str,
                                       py_struct: type[ctypes.Structure], py_field: str) -> None:
    descriptor = getattr(py_struct, py_field)
    assert (descriptor.offset, descriptor.size) == c_layout[f"{c_struct}.{c_field}"]


@pytest.mark.parametrize("c_struct", sorted(STRUCTS))
def test_struct_size_matches_c(c_layout: dict[str, tuple[int, int]], c_struct: str) -> None:
    assert ctypes.sizeof(STRUCTS[c_struct]) == c_layout[c_struct][1]


def test_sigev_constants_match_c(c_layout: dict[str, tuple[int, int]]) -> None:
    assert (mk.SIGEV_SIGNAL, mk.SIGEV_NONE) == (c_layout["SIGEV_SIGNAL"][1], c_layout["SIGEV_NONE"][1])


@pytest.fixture
def name() -> Iterator[str]:
    """A queue name of this test process, unlinked afterwards."""
    queue = f"/ipcc-mq-test-{os.getpid()}"
    yield queue
    ctypes.CDLL(None).mq_unlink(os.fsencode(queue))


@pytest.fixture(params=["kernel", "posix_ipc"])
def ops(request: pytest.FixtureRequest) -> Iterator[KernelProcessOps]:
    backend = KernelProcessOps() if request.param == "kernel" else PosixIpcOps()
    before = set(os.listdir("/proc/self/fd"))
    yield backend
    for fd in set(os.listdir("/proc/self/fd")) - before:  # descriptors the test left open
        try:
            os.close(int(fd))
        except OSError:
            pass


def _errno(call, *args) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(OSError) as info:
        call(*args)
    return info.value.errno  # type: ignore[no-any-return]


def test_round_trip_and_errors(ops: KernelProcessOps, name: str) -> None:
    q = ops.mq_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NONBLOCK, 0o600, (2, 16))
    assert ops.mq_getattr(q) == {"flags": os.O_NONBLOCK, "maxmsg": 2, "msgsize": 16, "curmsgs": 0}
    assert _errno(ops.mq_open, name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600, (2, 16)) == errno.EEXIST
    assert _errno(ops.mq_open, name + "-none", os.O_RDWR) == errno.ENOENT
    assert _errno(ops.mq_open, "/" + "n" * 256, os.O_CREAT | os.O_RDWR, 0o600, (2, 16)) == errno.ENAMETOOLONG
    assert _errno(ops.mq_open, name + "-bad", os.O_CREAT | os.O_RDWR, 0o600, (0, 16)) == errno.EINVAL
    assert ops.mq_send(q, b"low", 1) == 0
    assert ops.mq_send(q, b"high", 9) == 0
    assert _errno(ops.mq_send, q, b"full", 0) == errno.EAGAIN
    assert _errno(ops.mq_send, q, b"x" * 17, 0) == errno.EMSGSIZE
    assert ops.mq_receive(q, 16) == (b"high", 9)
    assert ops.mq_timedreceive(q, 16, 10**6) == (b"low", 1)
    assert _errno(ops.mq_receive, q, 16) == errno.EAGAIN
    assert ops.mq_setattr(q, 0)["flags"] == os.O_NONBLOCK
    started = time.monotonic()
    assert _errno(ops.mq_timedreceive, q, 16, 20 * 10**6) == errno.ETIMEDOUT
    assert time.monotonic() - started >= 0.02, "the timeout is relative: it was waited for"
    assert ops.mq_close(q) == 0
    assert _errno(ops.mq_getattr, q) == errno.EBADF
    assert ops.mq_unlink(name) == 0
    assert _errno(ops.mq_unlink, name) == errno.ENOENT


def test_descriptor_access_mode_is_ebadf(ops: KernelProcessOps, name: str) -> None:
    q = ops.mq_open(name, os.O_CREAT | os.O_WRONLY | os.O_NONBLOCK, 0o600, (2, 16))
    r = ops.mq_open(name, os.O_RDONLY | os.O_NONBLOCK)
    assert _errno(ops.mq_receive, q, 16) == errno.EBADF
    assert _errno(ops.mq_send, r, b"x", 0) == errno.EBADF
    ops.mq_close(q)
    ops.mq_close(r)


def test_posix_ipc_refuses_what_it_cannot_express(name: str) -> None:
    ops = PosixIpcOps()
    q = ops.mq_open(name, os.O_CREAT | os.O_RDWR | os.O_NONBLOCK, 0o600, (2, 16))
    with pytest.raises(NotImplementedError, match="buffer"):
        ops.mq_receive(q, 15)
    with pytest.raises(NotImplementedError, match="SIGEV_NONE"):
        ops.mq_notify(q, "none")
    with pytest.raises(NotImplementedError, match="O_EXCL"):
        ops.mq_open(name, os.O_EXCL | os.O_RDWR)
    with pytest.raises(NotImplementedError, match="never opened"):
        ops.mq_getattr(q + 50)
    ops.mq_close(q)


def test_posix_ipc_mq_unlink_tells_einval_from_enoent(name: str) -> None:
    ops = PosixIpcOps()
    assert _errno(ops.mq_unlink, name) == errno.ENOENT
    assert _errno(ops.mq_unlink, name.lstrip("/")) == errno.EINVAL
