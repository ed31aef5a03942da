"""The per-namespace limits and host facts the System V model depends on.

Every IPC namespace has its own copy of the tunables in ``/proc/sys/kernel``
(``msgmax``, ``msgmnb``, ``msgmni``, ``sem``, ``shmmax``, ``shmall``,
``shmmni``, ``shm_rmid_forced``); a new namespace starts with the compiled-in
defaults, which are also the defaults of :class:`Limits`. The model reads
them once, when it is built, exactly as a scenario's actors see them: a
limit changed later is not noticed (build a new model).

Two facts that are not tunables ride along because predictions depend on
them too:

* ``root_caps`` - the capabilities an actor running as uid 0 holds. Root in
  a container often lacks some (``CAP_SYS_RESOURCE`` is a common one), and
  the permission rules name capabilities, not uid 0.
* ``msg_copy`` - whether the kernel was built with CHECKPOINT_RESTORE, which
  gives ``msgrcv`` its ``MSG_COPY`` flag (``/proc/sys/kernel/msg_next_id``
  exists exactly then).

:meth:`Limits.from_proc` is the only function of the model that touches the
system; everything else is pure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: the capabilities the rules of ipc/ consult (bit numbers of <linux/capability.h>)
CAPABILITY_BITS = {
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_IPC_OWNER": 15,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_RESOURCE": 24,
}
ALL_CAPS = frozenset(CAPABILITY_BITS)

#: the largest semaphore value, and the largest undo adjustment (both 32767 on Linux)
SEMVMX = 32767
SEMAEM = SEMVMX
#: the smallest segment shmget creates
SHMMIN = 1
#: ipc_mni: a table never holds more objects than this, whatever msgmni says
IPCMNI = 32768
#: ids are ``seq << IPCMNI_SHIFT | index`` (without the ipcmni_extend boot option)
IPCMNI_SHIFT = 15
#: idr_alloc_cyclic never cycles through fewer slots than this (RADIX_TREE_MAP_SIZE)
IPC_MIN_CYCLE = 64
#: sequence numbers run from 0 to SEQ_MAX - 1 (ipcid_seq_max(): INT_MAX >> 15)
SEQ_MAX = (2**31 - 1) >> IPCMNI_SHIFT
#: ULONG_MAX - 2**24: the default SHMMAX and SHMALL of include/uapi/linux/shm.h
_SHM_DEFAULT = 2**64 - 1 - 2**24


@dataclass(frozen=True)
class Limits:
    """One IPC namespace's limits, with the Linux defaults of a fresh namespace."""

    msgmax: int = 8192
    msgmnb: int = 16384
    msgmni: int = 32000
    semmsl: int = 32000
    semmns: int = 1024000000
    semopm: int = 500
    semmni: int = 32000
    shmmax: int = _SHM_DEFAULT
    #: in pages
    shmall: int = _SHM_DEFAULT
    shmmni: int = 4096
    shm_rmid_forced: bool = False
    page_size: int = 4096
    msg_copy: bool = True
    root_caps: frozenset[str] = field(default=ALL_CAPS)
    #: the model refuses (Unmodelled) to create segments larger than this:
    #: whether the memory can be committed is the host's business
    shm_modelled_size: int = 1 << 30

    @classmethod
    def from_proc(cls) -> Limits:
        """The limits of the calling process's IPC namespace, and its capabilities.

        Reads ``/proc/sys/kernel/{msgmax,msgmnb,msgmni,sem,shmmax,shmmni,
        shmall,shm_rmid_forced}`` and the effective capabilities of this
        process, which is what actors forked from it as root will hold.
        """
        sem = _read("sem").split()
        semmsl, semmns, semopm, semmni = (int(v) for v in sem[:4])
        return cls(
            msgmax=int(_read("msgmax")),
            msgmnb=int(_read("msgmnb")),
            msgmni=int(_read("msgmni")),
            semmsl=semmsl,
            semmns=semmns,
            semopm=semopm,
            semmni=semmni,
            shmmax=int(_read("shmmax")),
            shmall=int(_read("shmall")),
            shmmni=int(_read("shmmni")),
            shm_rmid_forced=_read("shm_rmid_forced", "0").strip() != "0",
            page_size=os.sysconf("SC_PAGE_SIZE"),
            msg_copy=os.path.exists("/proc/sys/kernel/msg_next_id"),
            root_caps=_effective_caps(),
        )


def _read(name: str, default: str | None = None) -> str:
    try:
        with open(f"/proc/sys/kernel/{name}") as f:
            return f.read()
    except OSError:
        if default is None:
            raise
        return default


def _effective_caps() -> frozenset[str]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    mask = int(line.split()[1], 16)
                    return frozenset(n for n, bit in CAPABILITY_BITS.items() if mask >> bit & 1)
    except OSError:
        pass
    return ALL_CAPS if os.geteuid() == 0 else frozenset()
