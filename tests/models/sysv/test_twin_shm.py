"""Shared memory with several actors: fork, exit, exec and kill move shm_nattch and shm_lpid.

The model's claims checked here: a child inherits every attachment (one
more in shm_nattch each, and shm_lpid names the *parent*, which made the
copies); exit, death and exec drop all of a process's attachments (shm_lpid
then names it); a segment marked by IPC_RMID lives until the last of those,
can still be attached by id meanwhile, and then is gone (EINVAL).
"""

from __future__ import annotations

import signal

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import IPC_PRIVATE, SHM_RDONLY
from conformance.harness.zygote import ZygoteClient
from conformance.outcome import Errno, Killed

from .twin import SysVTwin


def test_fork_exit_exec_and_the_attachment_count(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a", "other")
        m = t.step("a", "shmget", IPC_PRIVATE, 5000, 0o600).detail
        t.step("a", "shmat", m, 0)
        t.step("a", "shmat", m, SHM_RDONLY)
        t.step("a", "shm_write", 0, 4990, b"0123456789")
        t.step("a", "fork", "child")                  # +2 attachments, lpid = a
        t.step("other", "shmctl_stat", m)
        t.step("child", "shm_read", 1, 4990, 10)
        t.step("child", "shm_write", 0, 0, b"from the child")
        t.step("a", "shm_read", 1, 0, 14)
        t.step("child", "shmdt", 1)
        t.step("child", "shmat", m, 0)                # handle 1 again
        t.step("other", "shmctl_stat", m)
        t.step("child", "exec_self")                  # drops both
        t.step("other", "shmctl_stat", m)
        t.step("child", "shm_read", 0, 0, 1)          # no handle any more: EFAULT
        t.step("a", "fork", "doomed")
        t.step("a", "shmctl_rmid", m)
        t.step("child", "shmat", m, 0)                # attach after RMID, by id
        t.step("other", "shmctl_stat", m)             # SHM_DEST, key 0
        t.step("a", "kill", ActorRef("doomed"), signal.SIGKILL)
        t.step("a", "exit", 0)
        t.step("other", "shmctl_stat", m)
        t.step("child", "shm_read", 0, 4990, 10)
        t.step("child", "exit", 0)                    # the last attachment: destroyed
        t.step("other", "shmctl_stat", m)


def test_read_only_store_kills_only_that_process(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        m = t.step("a", "shmget", IPC_PRIVATE, 64, 0o600).detail
        t.step("a", "shmat", m, 0)
        t.step("a", "fork", "reader")
        t.step("reader", "shmdt", 0)
        t.step("reader", "shmat", m, SHM_RDONLY)
        assert t.step("reader", "shm_write", 0, 0, b"x") == Killed("SIGSEGV")
        stat = t.step("a", "shmctl_stat", m).detail
        assert stat["nattch"] == 1 and stat["lpid"] == ActorRef("reader")
        t.step("a", "shmctl_rmid", m)
        t.step("a", "shmdt", 0)
        assert t.step("a", "shmctl_stat", m) == Errno("EINVAL")
