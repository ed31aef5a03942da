"""The ctypes layouts of the System V structures, checked against C and the kernel.

Three independent witnesses:

* a C compiler: ``offsetof`` and ``sizeof`` of every field the backend
  reads, from the very headers a C program includes (skipped without ``cc``);
* the kernel: what ``/proc/sysvipc/{msg,sem,shm}`` prints for an object must
  be what the structure says, field by field (times too, not as booleans);
* the namespace limits in ``/proc/sys/kernel``, which ``IPC_INFO`` copies.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.backends import sysv_kernel as sk
from conformance.backends.kernel import KernelProcessOps
from conformance.backends.sysv_ops import (
    IPC_CREAT,
    IPC_EXCL,
    IPC_INFO,
    IPC_NOWAIT,
    IPC_RMID,
    KEY_BASE,
    MSG_INFO,
    SEM_INFO,
    SETVAL,
    SHM_INFO,
)

NEW = IPC_CREAT | IPC_EXCL

#: (C struct, C field, ctypes structure, ctypes field)
FIELDS: list[tuple[str, str, type[ctypes.Structure], str]] = [
    ("ipc_perm", "__key", sk.IpcPerm, "key"),
    *[("ipc_perm", f, sk.IpcPerm, f) for f in ("uid", "gid", "cuid", "cgid", "mode")],
    ("ipc_perm", "__seq", sk.IpcPerm, "seq"),
    ("msqid_ds", "msg_perm", sk.MsqidDs, "msg_perm"),
    *[("msqid_ds", f, sk.MsqidDs, f) for f in
      ("msg_stime", "msg_rtime", "msg_ctime", "msg_qnum", "msg_qbytes", "msg_lspid", "msg_lrpid")],
    ("msqid_ds", "__msg_cbytes", sk.MsqidDs, "msg_cbytes"),
    *[("semid_ds", f, sk.SemidDs, f) for f in ("sem_perm", "sem_otime", "sem_ctime", "sem_nsems")],
    *[("shmid_ds", f, sk.ShmidDs, f) for f in
      ("shm_perm", "shm_segsz", "shm_atime", "shm_dtime", "shm_ctime", "shm_cpid", "shm_lpid",
       "shm_nattch")],
    *[("msginfo", f, sk.MsgInfo, f) for f in
      ("msgpool", "msgmap", "msgmax", "msgmnb", "msgmni", "msgssz", "msgtql", "msgseg")],
    *[("seminfo", f, sk.SemInfo, f) for f in
      ("semmap", "semmni", "semmns", "semmnu", "semmsl", "semopm", "semume", "semusz", "semvmx",
       "semaem")],
    *[("shminfo", f, sk.ShmInfoLimits, f) for f in ("shmmax", "shmmin", "shmmni", "shmseg", "shmall")],
    *[("shm_info", f, sk.ShmInfo, f) for f in
      ("used_ids", "shm_tot", "shm_rss", "shm_swp", "swap_attempts", "swap_successes")],
    *[("sembuf", f, sk.Sembuf, f) for f in ("sem_num", "sem_op", "sem_flg")],
]
STRUCTS = {c_name: py for c_name, _f, py, _pf in FIELDS}


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, int]]:
    """``{"struct.field": (offset, size), "struct": (0, sizeof)}`` from the C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to compare the layouts with")
    lines = ["#define _GNU_SOURCE", "#include <stdio.h>", "#include <stddef.h>",
             "#include <sys/ipc.h>", "#include <sys/msg.h>", "#include <sys/sem.h>",
             "#include <sys/shm.h>", "int main(void) {"]
    for c_struct, c_field, _py, _pf in FIELDS:
        lines.append(f'  printf("{c_struct}.{c_field} %zu %zu\\n", offsetof(struct {c_struct}, {c_field}), '
                     f"sizeof(((struct {c_struct} *)0)->{c_field}));")
    for c_struct in STRUCTS:
        lines.append(f'  printf("{c_struct} 0 %zu\\n", sizeof(struct {c_struct}));')
    lines += ["  return 0;", "}"]
    work = tmp_path_factory.mktemp("layout")
    (work / "layout.c").write_text("\n".join(lines) + "\n")
    subprocess.run([cc, "-o", str(work / "layout"), str(work / "layout.c")], check=True)
    out = subprocess.run([str(work / "layout")], check=True, capture_output=True, text=True).stdout
    return {name: (int(off), int(size)) for name, off, size in (row.split() for row in out.splitlines())}


@pytest.mark.parametrize(("c_struct", "c_field", "py_struct", "py_field"), FIELDS,
                         ids=[f"{c}.{f}" for c, f, _p, _pf in FIELDS])
def test_field_offset_and_size_match_c(c_layout: dict[str, tuple[int, int]], c_struct: str,
                                       c_field: str, py_struct: type[ctypes.Structure],
                                       py_field: str) -> None:
    descriptor = getattr(py_struct, py_field)
    assert (descriptor.offset, descriptor.size) == c_layout[f"{c_struct}.{c_field}"]


@pytest.mark.parametrize("c_struct", sorted(STRUCTS))
def test_struct_size_matches_c(c_layout: dict[str, tuple[int, int]], c_struct: str) -> None:
    assert ctypes.sizeof(STRUCTS[c_struct]) == c_layout[c_struct][1]


def test_generic_semid_ds_has_no_padding_words() -> None:
    """aarch64's semid_ds: glibc's generic sem-pad.h pads only 32-bit time (none here)."""
    layout = sk._SemidDsGeneric
    offsets = (layout.sem_otime.offset, layout.sem_ctime.offset, layout.sem_nsems.offset)  # type: ignore[attr-defined]
    assert offsets == (48, 56, 64) and ctypes.sizeof(layout) == 88


# -- against the kernel's own listing ------------------------------------------------
def _proc_row(kind: str, ident: int) -> dict[str, int]:
    with open(f"/proc/sysvipc/{kind}") as f:
        header, *rows = f.read().splitlines()
    names = header.split()
    for row in rows:
        values = dict(zip(names, row.split(), strict=True))
        id_column = {"msg": "msqid", "sem": "semid", "shm": "shmid"}[kind]
        if int(values[id_column]) == ident:
            return {k: int(v, 8) if k == "perms" else int(v) for k, v in values.items()}
    raise AssertionError(f"{kind} {ident} is not in /proc/sysvipc/{kind}")


@pytest.fixture
def ops() -> Iterator[KernelProcessOps]:
    """The kernel backend in this process (the plugin's private IPC namespace as root)."""
    made: list[tuple[str, int]] = []
    backend = KernelProcessOps()
    backend.made = made  # type: ignore[attr-defined]
    yield backend
    for kind, ident in made:
        try:
            if kind == "msg":
                backend.msgctl_rmid(ident)
            elif kind == "sem":
                backend.semctl(ident, 0, IPC_RMID)
            else:
                backend.shmctl_rmid(ident)
        except OSError:
            pass


def test_msqid_ds_against_proc(ops: KernelProcessOps) -> None:
    q = ops.msgget(KEY_BASE, NEW | 0o640)
    ops.made.append(("msg", q))  # type: ignore[attr-defined]
    ops.msgsnd(q, 1, b"12345", 0)
    ops.msgsnd(q, 2, b"678", 0)
    ops.msgrcv(q, 64, 2, IPC_NOWAIT)
    ds = ops._msq_stat(q)
    row = _proc_row("msg", q)
    assert ds.msg_perm.key == row["key"] and ds.msg_perm.mode == row["perms"]
    assert (ds.msg_cbytes, ds.msg_qnum, ds.msg_lspid, ds.msg_lrpid) == (
        row["cbytes"], row["qnum"], row["lspid"], row["lrpid"]) == (5, 1, os.getpid(), os.getpid())
    for name in ("uid", "gid", "cuid", "cgid"):
        assert getattr(ds.msg_perm, name) == row[name]
    assert (ds.msg_stime, ds.msg_rtime, ds.msg_ctime) == (row["stime"], row["rtime"], row["ctime"])
    assert ds.msg_qbytes == _kernel_limits("msgmnb")[0]


def test_semid_ds_against_proc(ops: KernelProcessOps) -> None:
    s = ops.semget(KEY_BASE + 1, 5, NEW | 0o604)
    ops.made.append(("sem", s))  # type: ignore[attr-defined]
    ops.semctl(s, 3, SETVAL, 2)
    ops.semop(s, ((3, -1, 0),))
    ds = ops._sem_current(s)
    row = _proc_row("sem", s)
    assert (ds.sem_perm.key, ds.sem_perm.mode, ds.sem_nsems) == (row["key"], row["perms"], row["nsems"])
    assert (ds.sem_otime, ds.sem_ctime) == (row["otime"], row["ctime"]) and ds.sem_otime != 0
    for name in ("uid", "gid", "cuid", "cgid"):
        assert getattr(ds.sem_perm, name) == row[name]


def test_shmid_ds_against_proc(ops: KernelProcessOps) -> None:
    m = ops.shmget(KEY_BASE + 2, 12345, NEW | 0o660)
    ops.made.append(("shm", m))  # type: ignore[attr-defined]
    handle = ops.shmat(m, 0)
    ds = ops._shm_stat(m)
    row = _proc_row("shm", m)
    assert (ds.shm_perm.key, ds.shm_perm.mode, ds.shm_segsz) == (row["key"], row["perms"], row["size"])
    assert (ds.shm_cpid, ds.shm_lpid, ds.shm_nattch) == (row["cpid"], row["lpid"], row["nattch"]) == (
        os.getpid(), os.getpid(), 1)
    assert (ds.shm_atime, ds.shm_dtime, ds.shm_ctime) == (row["atime"], row["dtime"], row["ctime"])
    for name in ("uid", "gid", "cuid", "cgid"):
        assert getattr(ds.shm_perm, name) == row[name]
    ops.shmdt(handle)


def _kernel_limits(name: str) -> tuple[int, ...]:
    with open(f"/proc/sys/kernel/{name}") as f:
        return tuple(int(v) for v in f.read().split())


def test_info_structures_against_the_namespace_limits(ops: KernelProcessOps) -> None:
    limits = ops.msgctl_info(IPC_INFO)
    assert (limits["msgmax"], limits["msgmnb"], limits["msgmni"]) == (
        _kernel_limits("msgmax")[0], _kernel_limits("msgmnb")[0], _kernel_limits("msgmni")[0])
    sem = ops.semctl_info(IPC_INFO)
    assert (sem["semmsl"], sem["semmns"], sem["semopm"], sem["semmni"]) == _kernel_limits("sem")
    shm = ops.shmctl_info(IPC_INFO)
    assert (shm["shmmax"], shm["shmall"], shm["shmmni"]) == (
        _kernel_limits("shmmax")[0], _kernel_limits("shmall")[0], _kernel_limits("shmmni")[0])


def test_usage_info_counts_what_exists(ops: KernelProcessOps) -> None:
    q = ops.msgget(KEY_BASE, NEW | 0o600)
    ops.made.append(("msg", q))  # type: ignore[attr-defined]
    s = ops.semget(KEY_BASE + 1, 4, NEW | 0o600)
    ops.made.append(("sem", s))  # type: ignore[attr-defined]
    m = ops.shmget(KEY_BASE + 2, 100, NEW | 0o600)
    ops.made.append(("shm", m))  # type: ignore[attr-defined]
    ops.msgsnd(q, 1, b"abc", 0)
    ops.msgsnd(q, 1, b"de", 0)

    def rows(kind: str) -> int:
        with open(f"/proc/sysvipc/{kind}") as f:
            return len(f.read().splitlines()) - 1

    msg = ops.msgctl_info(MSG_INFO)
    assert msg["msgpool"] == rows("msg")  # queues in use
    sem = ops.semctl_info(SEM_INFO)
    assert sem["semusz"] == rows("sem")  # sets in use
    shm = ops.shmctl_info(SHM_INFO)
    assert shm["used_ids"] == rows("shm")
    if rows("msg") == 1:  # only ours: the totals are ours too
        assert (msg["msgmap"], msg["msgtql"]) == (2, 5)
    if rows("sem") == 1:
        assert sem["semaem"] == 4


def test_reproducer_replays_exec_self(tmp_path: Path) -> None:
    """A standalone reproducer embeds sysv_kernel and survives exec_self (the boot path)."""
    import sys

    from conformance.harness.reproducer import write_reproducer
    from conformance.harness.scenario import Scenario
    from conformance.harness.zygote import ZygoteClient
    from conformance.outcome import Value

    zygote = ZygoteClient("conformance.backends.kernel:KernelProcessOps")
    try:
        with Scenario(zygote, base_dir=str(tmp_path)) as sc:
            a = sc.spawn("a")
            sc.expect(a.do("exec_self"), Value(0))
            sc.expect(a.do("fd_list"), Value((0, 1, 2)))
            trace = list(sc.trace)
    finally:
        zygote.close()
    script = tmp_path / "repro.py"
    write_reproducer(trace, script, "conformance.backends.kernel:KernelProcessOps", "exec_self")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, "-S", str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "did not reproduce" in run.stdout
