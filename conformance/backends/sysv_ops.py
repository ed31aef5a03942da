"""The System V IPC operations an actor can perform: the shared contract.

Like :mod:`conformance.backends.ops`, this is the agreement between the
backends that perform these operations inside actors (``kernel`` through
libc, ``sysv_ipc`` through that library), the reference model that predicts
them, and the specs that name them. Every operation returns plain data or
raises ``OSError`` with the errno the call set.

Conventions:

* **keys** are passed as ints. Inside the worker's private IPC namespace any
  key is free; specs draw keys from :data:`KEY_BASE` upward so runs without
  a private namespace (not root) stay out of the way of the host's objects.
* **ids** are the ints the ``*get`` calls return; specs pass them back.
* **addresses** are never exposed: ``shmat`` returns an *attachment handle*
  (a small int local to the actor), used by ``shm_read``/``shm_write``/
  ``shmdt``. The model predicts handles exactly: the lowest unused one.
* **pids** in results (``msg_lspid``, ``shm_cpid``, ``GETPID``...) are
  ints; the harness maps the pids of actors back to ``ActorRef``s.
* **times** (``msg_stime``, ``sem_otime``, ...) are reported as booleans
  "set" (non-zero) so the model can predict them; a clause about a time
  moving forward compares two stats itself.
* **stat results** are dicts with the field names of ``<sys/msg.h>`` etc.
  without the struct prefix: ``{"qnum": 0, "cbytes": 0, "qbytes": 16384,
  "lspid": 0, "lrpid": 0, "stime": False, "rtime": False, "ctime": True,
  "uid": 0, "gid": 0, "cuid": 0, "cgid": 0, "mode": 0o600}``.
"""

from __future__ import annotations

from .opspec import OpSpec

#: specs use keys KEY_BASE, KEY_BASE + 1, ...; never IPC_PRIVATE by accident
KEY_BASE = 0x1C0F0000

# Constants not in Python's standard library (values from <sys/ipc.h>,
# <sys/msg.h>, <sys/sem.h>, <sys/shm.h> on Linux).
IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_NOWAIT = 0o4000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
MSG_NOERROR = 0o10000
MSG_EXCEPT = 0o20000
MSG_COPY = 0o40000
MSG_STAT, MSG_INFO = 11, 12
SEM_UNDO = 0x1000
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO = 18, 19
SHM_RDONLY = 0o10000
SHM_RND = 0o20000
SHM_REMAP = 0o40000
SHM_EXEC = 0o100000
SHM_LOCK, SHM_UNLOCK = 11, 12
SHM_STAT, SHM_INFO = 13, 14
SHM_DEST = 0o1000  # in shm_perm.mode after IPC_RMID with attachments left
SHM_LOCKED = 0o2000

SYSV_OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        # -- message queues ------------------------------------------------
        OpSpec("msgget", "msgget(key: int, flags: int)", "queue id"),
        OpSpec("msgsnd", "msgsnd(qid: int, mtype: int, text: bytes, flags: int)", "0",
               ("msgsnd",)),
        OpSpec("msgrcv", "msgrcv(qid: int, maxsize: int, msgtyp: int, flags: int)",
               "(mtype, text)", ("msgrcv",)),
        OpSpec("msgctl_stat", "msgctl_stat(qid: int)", "dict of msqid_ds fields (see module doc)"),
        OpSpec("msgctl_set", "msgctl_set(qid: int, changes: dict)",
               "0; changes may hold uid, gid, mode (low 9 bits), qbytes"),
        OpSpec("msgctl_rmid", "msgctl_rmid(qid: int)", "0"),
        # -- semaphore sets --------------------------------------------------
        OpSpec("semget", "semget(key: int, nsems: int, flags: int)", "set id"),
        OpSpec("semop", "semop(semid: int, sops: tuple[tuple[int, int, int], ...])",
               "0; each sop is (sem_num, sem_op, sem_flg)", ("semop", "semtimedop")),
        OpSpec("semtimedop",
               "semtimedop(semid: int, sops: tuple[tuple[int, int, int], ...], timeout_ns: int)",
               "0; EAGAIN when the timeout expires", ("semtimedop",)),
        OpSpec("semctl", "semctl(semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0)",
               "GETVAL/GETPID/GETNCNT/GETZCNT: int; GETALL: tuple; SETVAL/SETALL/IPC_RMID: 0"),
        OpSpec("semctl_stat", "semctl_stat(semid: int)",
               "dict of semid_ds fields: nsems, otime, ctime, uid, gid, cuid, cgid, mode"),
        OpSpec("semctl_set", "semctl_set(semid: int, changes: dict)", "0; uid, gid, mode"),
        # -- shared memory ---------------------------------------------------
        OpSpec("shmget", "shmget(key: int, size: int, flags: int)", "segment id"),
        OpSpec("shmat", "shmat(shmid: int, flags: int)",
               "attachment handle (lowest unused small int); the kernel picks the address"),
        OpSpec("shmat_at", "shmat_at(shmid: int, address_hint: str, flags: int)",
               "attachment handle; address_hint 'null' (kernel chooses) or 'previous' "
               "(the address of this actor's last detached attachment)"),
        OpSpec("shm_write", "shm_write(handle: int, offset: int, data: bytes)",
               "bytes written; a write through a read-only attachment kills with SIGSEGV"),
        OpSpec("shm_read", "shm_read(handle: int, offset: int, count: int)", "bytes"),
        OpSpec("shmdt", "shmdt(handle: int)", "0; EINVAL for an unknown handle"),
        OpSpec("shmctl_stat", "shmctl_stat(shmid: int)",
               "dict of shmid_ds fields: segsz, nattch, cpid, lpid, atime, dtime, ctime, "
               "uid, gid, cuid, cgid, mode (including SHM_DEST), key"),
        OpSpec("shmctl_set", "shmctl_set(shmid: int, changes: dict)", "0; uid, gid, mode"),
        OpSpec("shmctl_rmid", "shmctl_rmid(shmid: int)", "0"),
        # -- identity, for permission clauses ---------------------------------
        OpSpec("become", "become(uid: int, gid: int)",
               "0; the actor drops to this uid and gid for good (setgroups([]), setgid, setuid)"),
        OpSpec("exec_self", "exec_self()",
               "0; the actor re-executes itself (exec drops System V attachments)"),
    )
}
