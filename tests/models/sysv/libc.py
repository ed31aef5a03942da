"""System V operations performed in this very process, straight through libc.

A deliberately small, second implementation of the contract of
:mod:`conformance.backends.sysv_ops`, independent of the backends: every
operation is one ``ctypes.CDLL(None)`` call (``msgget msgsnd msgrcv msgctl
semget semop semtimedop semctl shmget shmat shmdt shmctl``) and its result
is put in the contract's form. Only the structure layouts are borrowed from
the kernel backend; ``tests/backends/test_sysv_layouts.py`` checks those
against a C compiler and against ``/proc/sysvipc``.

It runs inside a forked child (:mod:`.fresh`), so a SIGSEGV from a write
through a read-only attachment kills only that child.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import Any

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_kernel import IpcPerm, MsqidDs, Sembuf, SemidDs, ShmidDs
from conformance.backends.sysv_ops import (
    GETALL,
    GETPID,
    IPC_RMID,
    IPC_SET,
    IPC_STAT,
    SETALL,
    SHM_RDONLY,
)
from conformance.outcome import Errno, Outcome, Value

libc = ctypes.CDLL(None, use_errno=True)
libc.msgget.argtypes = [ctypes.c_int, ctypes.c_int]
libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long, ctypes.c_int]
libc.msgrcv.restype = ctypes.c_ssize_t
libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.semget.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
libc.semop.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.semtimedop.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.setgroups.argtypes = [ctypes.c_size_t, ctypes.c_void_p]
# semctl is variadic: every call passes explicit ctypes objects

MSG_STAT_ANY, SEM_STAT_ANY, SHM_STAT_ANY = 13, 20, 15
_SHMAT_FAILED = ctypes.c_void_p(-1).value


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _wrap(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class Failed(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _check(result: int) -> int:
    if result == -1:
        raise Failed(errno.errorcode[ctypes.get_errno()])
    return result


class Libc:
    """The contract's operations for one process; ``me`` names it in results."""

    def __init__(self, me: str) -> None:
        self.me = me
        self.pid = os.getpid()
        #: handle -> (address, size, read-only)
        self.attachments: dict[int, tuple[int, int, bool]] = {}

    def run(self, op: str, args: tuple[Any, ...]) -> Outcome:
        try:
            return Value(getattr(self, op)(*args))
        except Failed as exc:
            return Errno(exc.name)

    def _pid(self, pid: int) -> ActorRef | int:
        return ActorRef(self.me) if pid == self.pid and pid else pid

    def _perm(self, perm: IpcPerm) -> dict[str, int]:
        return {"uid": perm.uid, "gid": perm.gid, "cuid": perm.cuid, "cgid": perm.cgid,
                "mode": perm.mode}

    # -- message queues --------------------------------------------------
    def msgget(self, key: int, flags: int) -> int:
        return _check(libc.msgget(_wrap(key, 32), flags))

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        buf = ctypes.create_string_buffer(struct.pack("=q", _wrap(mtype, 64)) + text)
        return _check(libc.msgsnd(qid, buf, len(text), flags))

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        buf = ctypes.create_string_buffer(8 + max(maxsize, 0))
        n = _check(libc.msgrcv(qid, buf, maxsize & (2**64 - 1), _wrap(msgtyp, 64), flags))
        return struct.unpack_from("=q", buf, 0)[0], buf.raw[8:8 + n]

    def msgctl_stat(self, qid: int) -> dict[str, Any]:
        ds = MsqidDs()
        _check(libc.msgctl(qid, IPC_STAT, ctypes.byref(ds)))
        return {"qnum": ds.msg_qnum, "cbytes": ds.msg_cbytes, "qbytes": ds.msg_qbytes,
                "lspid": self._pid(ds.msg_lspid), "lrpid": self._pid(ds.msg_lrpid),
                "stime": ds.msg_stime != 0, "rtime": ds.msg_rtime != 0,
                "ctime": ds.msg_ctime != 0, **self._perm(ds.msg_perm)}

    def msgctl_set(self, qid: int, changes: dict[str, int]) -> int:
        ds = MsqidDs()
        # *_STAT_ANY takes the slot index and needs no read permission
        if qid < 0 or libc.msgctl(qid & 0x7FFF, MSG_STAT_ANY, ctypes.byref(ds)) != qid:
            _check(libc.msgctl(qid, IPC_STAT, ctypes.byref(ds)))
        self._change(ds.msg_perm, changes)
        if "qbytes" in changes:
            ds.msg_qbytes = changes["qbytes"] & (2**64 - 1)
        return _check(libc.msgctl(qid, IPC_SET, ctypes.byref(ds)))

    def msgctl_rmid(self, qid: int) -> int:
        return _check(libc.msgctl(qid, IPC_RMID, None))

    @staticmethod
    def _change(perm: IpcPerm, changes: dict[str, int]) -> None:
        for name in ("uid", "gid", "mode"):
            if name in changes:
                setattr(perm, name, changes[name] & 0xFFFFFFFF)

    # -- semaphore sets --------------------------------------------------
    def semget(self, key: int, nsems: int, flags: int) -> int:
        return _check(libc.semget(_wrap(key, 32), nsems, flags))

    @staticmethod
    def _sembufs(sops: tuple[tuple[int, int, int], ...]) -> Any:
        array = (Sembuf * max(len(sops), 1))()
        for slot, (num, op, flg) in zip(array, sops, strict=False):
            slot.sem_num, slot.sem_op, slot.sem_flg = num & 0xFFFF, _wrap(op, 16), _wrap(flg, 16)
        return array

    def semop(self, semid: int, sops: tuple[tuple[int, int, int], ...]) -> int:
        return _check(libc.semop(semid, self._sembufs(sops), len(sops)))

    def semtimedop(self, semid: int, sops: tuple[tuple[int, int, int], ...], timeout_ns: int) -> int:
        ts = _Timespec(timeout_ns // 10**9, timeout_ns % 10**9)
        return _check(libc.semtimedop(semid, self._sembufs(sops), len(sops), ctypes.byref(ts)))

    def _semctl(self, semid: int, semnum: int, cmd: int, arg: Any) -> int:
        return int(libc.semctl(ctypes.c_int(semid), ctypes.c_int(semnum), ctypes.c_int(cmd), arg))

    def _nsems(self, semid: int) -> int:
        ds = SemidDs()
        if semid >= 0 and self._semctl(semid & 0x7FFF, 0, SEM_STAT_ANY, ctypes.byref(ds)) == semid:
            return int(ds.sem_nsems)
        return 0

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        if cmd in (GETALL, SETALL):
            values = arg if isinstance(arg, tuple) else ()
            nsems = self._nsems(semid)
            array = (ctypes.c_ushort * max(nsems, len(values), 1))()
            for i, value in enumerate(values):
                array[i] = value & 0xFFFF
            _check(self._semctl(semid, semnum, cmd, ctypes.byref(array)))
            return 0 if cmd == SETALL else tuple(array[:nsems])
        if cmd == IPC_STAT:
            return self.semctl_stat(semid)
        assert isinstance(arg, int)
        result = _check(self._semctl(semid, semnum, cmd, ctypes.c_long(_wrap(arg, 32))))
        if cmd == GETPID:
            return self._pid(result)
        return result if cmd in (11, 12, 14, 15) else 0

    def semctl_stat(self, semid: int) -> dict[str, Any]:
        ds = SemidDs()
        _check(self._semctl(semid, 0, IPC_STAT, ctypes.byref(ds)))
        return {"nsems": ds.sem_nsems, "otime": ds.sem_otime != 0, "ctime": ds.sem_ctime != 0,
                **self._perm(ds.sem_perm)}

    def semctl_set(self, semid: int, changes: dict[str, int]) -> int:
        ds = SemidDs()
        if semid < 0 or self._semctl(semid & 0x7FFF, 0, SEM_STAT_ANY, ctypes.byref(ds)) != semid:
            _check(self._semctl(semid, 0, IPC_STAT, ctypes.byref(ds)))
        self._change(ds.sem_perm, changes)
        return _check(self._semctl(semid, 0, IPC_SET, ctypes.byref(ds)))

    # -- shared memory ---------------------------------------------------
    def shmget(self, key: int, size: int, flags: int) -> int:
        return _check(libc.shmget(_wrap(key, 32), size & (2**64 - 1), flags))

    def _segsz(self, shmid: int) -> int:
        ds = ShmidDs()
        if libc.shmctl(shmid & 0x7FFF, SHM_STAT_ANY, ctypes.byref(ds)) == shmid:
            return int(ds.shm_segsz)
        return 0

    def shmat(self, shmid: int, flags: int) -> int:
        addr = libc.shmat(shmid, None, flags)
        if addr == _SHMAT_FAILED or addr is None:
            raise Failed(errno.errorcode[ctypes.get_errno()])
        handle = min(set(range(len(self.attachments) + 1)) - set(self.attachments))
        self.attachments[handle] = (addr, self._segsz(shmid), bool(flags & SHM_RDONLY))
        return handle

    def _within(self, handle: int, offset: int, count: int) -> int:
        att = self.attachments.get(handle)
        if att is None or offset < 0 or count < 0 or offset + count > att[1]:
            raise Failed("EFAULT")  # the contract's bounds check, not the kernel's
        return att[0] + offset

    def shm_write(self, handle: int, offset: int, data: bytes) -> int:
        ctypes.memmove(self._within(handle, offset, len(data)), data, len(data))
        return len(data)

    def shm_read(self, handle: int, offset: int, count: int) -> bytes:
        return ctypes.string_at(self._within(handle, offset, count), count)

    def shmdt(self, handle: int) -> int:
        att = self.attachments.pop(handle, None)
        if att is None:
            raise Failed("EINVAL")
        return _check(libc.shmdt(att[0]))

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        ds = ShmidDs()
        _check(libc.shmctl(shmid, IPC_STAT, ctypes.byref(ds)))
        return {"segsz": ds.shm_segsz, "nattch": ds.shm_nattch, "cpid": self._pid(ds.shm_cpid),
                "lpid": self._pid(ds.shm_lpid), "atime": ds.shm_atime != 0,
                "dtime": ds.shm_dtime != 0, "ctime": ds.shm_ctime != 0, **self._perm(ds.shm_perm),
                "key": ds.shm_perm.key}

    def shmctl_set(self, shmid: int, changes: dict[str, int]) -> int:
        ds = ShmidDs()
        if shmid < 0 or libc.shmctl(shmid & 0x7FFF, SHM_STAT_ANY, ctypes.byref(ds)) != shmid:
            _check(libc.shmctl(shmid, IPC_STAT, ctypes.byref(ds)))
        self._change(ds.shm_perm, changes)
        return _check(libc.shmctl(shmid, IPC_SET, ctypes.byref(ds)))

    def shmctl_rmid(self, shmid: int) -> int:
        return _check(libc.shmctl(shmid, IPC_RMID, None))

    # -- identity ----------------------------------------------------------
    def become(self, uid: int, gid: int) -> int:
        _check(libc.setgroups(0, None))
        _check(libc.setgid(gid))
        _check(libc.setuid(uid))
        return 0
