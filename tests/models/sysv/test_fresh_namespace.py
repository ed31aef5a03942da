"""Keys, ids, permissions and limits, one process in a fresh namespace, model against kernel.

* **Ids.** In a fresh namespace the model must predict the kernel's ids
  exactly, including index reuse and the sequence number that grows each
  time the cyclic index wraps.
* **The get matrix.** Each example creates an object as root, gives it to an
  owner uid and a group, drops to one identity with ``become`` (the owner,
  the creator, a group member, a stranger, or root itself), and then
  performs a ``*get`` with random flags and size/nsems, plus the usual
  read/write/control probes: EEXIST, ENOENT, EINVAL, EACCES (execute bits
  included) and EPERM must all come out as the kernel says.
* **ENOSPC** at msgmni, semmni, semmns, shmmni and shmall, lowered.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conformance.backends.sysv_ops import (
    GETVAL,
    IPC_CREAT,
    IPC_EXCL,
    IPC_NOWAIT,
    IPC_PRIVATE,
    IPC_RMID,
    KEY_BASE,
    SHM_RDONLY,
)
from conformance.outcome import Value

from .fresh import Step, needs_root, run_fresh
from .plan import Planner

pytestmark = needs_root
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ("msg", "sem", "shm")
OWNER, GROUP, CREATOR, MEMBER, STRANGER = 3001, 3500, 3002, 3003, 3004
#: identity -> (uid, gid); "creator" makes the object itself before handing it over
ROLES = {"owner": (OWNER, 4000), "creator": (CREATOR, CREATOR), "member": (MEMBER, GROUP),
         "stranger": (STRANGER, STRANGER), "root": (0, 0)}


def _get(kind: str, key: int, flags: int, amount: int = 2) -> Step:
    if kind == "msg":
        return ("msgget", (key, flags))
    if kind == "sem":
        return ("semget", (key, amount, flags))
    return ("shmget", (key, amount * 2048, flags))


def _rmid(kind: str, ident: int) -> Step:
    if kind == "sem":
        return ("semctl", (ident, 0, IPC_RMID))
    return (f"{kind}ctl_rmid", (ident,))


@fast
@given(data=st.data())
@example(data=None)  # the explicit churn below
def test_ids_are_the_kernels(data: st.DataObject | None) -> None:
    if data is None:
        # 70 create/remove rounds: the index runs through the 64-slot window
        # and wraps, and the sequence number goes up (ids 32768 + ...).
        steps: list[Step] = []
        for i in range(70):
            steps += [_get("msg", IPC_PRIVATE, 0o600), _rmid("msg", i if i < 64 else 32768 + i - 64)]
        steps.append(_get("msg", IPC_PRIVATE, 0o600))
        run = run_fresh(steps)
        run.assert_agree()
        assert run.records[-1].model == Value(32768 + 6)
        return
    p = Planner(data)
    for _ in range(p.draw(st.integers(1, 90))):
        kind = p.draw(st.sampled_from(KINDS))
        live = p.model.ids(kind)
        if live and p.draw(st.integers(0, 2)) == 0:
            p.add_step(_rmid(kind, p.draw(st.sampled_from(live))))
        else:
            p.add_step(_get(kind, IPC_PRIVATE, 0o600))
    run_fresh(p.steps).assert_agree()


def _probes(kind: str, ident: int) -> list[Step]:
    """Reading, writing and controlling the object, the operations the mode bits guard."""
    if kind == "msg":
        ops = [("msgsnd", (ident, 1, b"p", IPC_NOWAIT)), ("msgrcv", (ident, 8, 0, IPC_NOWAIT)),
               ("msgctl_stat", (ident,)), ("msgctl_set", (ident, {"mode": 0o600}))]
    elif kind == "sem":
        ops = [("semop", (ident, ((0, 1, IPC_NOWAIT),))), ("semop", (ident, ((0, 0, IPC_NOWAIT),))),
               ("semctl", (ident, 0, GETVAL)), ("semctl_stat", (ident,)),
               ("semctl_set", (ident, {"mode": 0o600}))]
    else:
        ops = [("shmat", (ident, 0)), ("shmat", (ident, SHM_RDONLY)), ("shmctl_stat", (ident,)),
               ("shmctl_set", (ident, {"mode": 0o600}))]
    return [*ops, _rmid(kind, ident)]


@fast
@given(kind=st.sampled_from(KINDS), role=st.sampled_from(list(ROLES)), exists=st.booleans(),
       mode=st.integers(0, 0o777), asked=st.integers(0, 0o777),
       creat=st.sampled_from([0, IPC_CREAT, IPC_CREAT | IPC_EXCL, IPC_EXCL]),
       amount=st.sampled_from([0, 1, 2, 3]))
@example(kind="msg", role="owner", exists=True, mode=0o600, asked=0o100, creat=0, amount=2)
@example(kind="shm", role="member", exists=True, mode=0o040, asked=0o004, creat=0, amount=2)
@example(kind="sem", role="stranger", exists=True, mode=0o666, asked=0o666, creat=0, amount=3)
@example(kind="shm", role="creator", exists=True, mode=0o000, asked=0, creat=IPC_CREAT, amount=0)
def test_get_matrix_and_permissions(kind: str, role: str, exists: bool, mode: int, asked: int,
                                    creat: int, amount: int) -> None:
    uid, gid = ROLES[role]
    steps: list[Step] = []
    if exists:
        if role == "creator":
            steps.append(("become", (uid, gid)))
        steps.append(_get(kind, KEY_BASE, IPC_CREAT | IPC_EXCL | mode))
        steps.append((f"{kind}ctl_set", (0, {"uid": OWNER, "gid": GROUP})))
    if role not in ("root", "creator") or not exists:
        steps.append(("become", (uid, gid)))
    steps.append(_get(kind, KEY_BASE, creat | asked, amount))
    steps += _probes(kind, 0)
    run_fresh(steps).assert_agree()


def test_enospc_at_every_limit() -> None:
    sysctl = {"msgmni": "2", "sem": "250 5 32 2", "shmmni": "2", "shmall": "3"}
    steps = [
        ("msgget", (IPC_PRIVATE, 0o600)), ("msgget", (KEY_BASE, IPC_CREAT | 0o600)),
        ("msgget", (IPC_PRIVATE, 0o600)), ("msgget", (KEY_BASE, IPC_CREAT | 0o600)),
        ("msgget", (KEY_BASE + 1, IPC_CREAT | 0o600)),
        ("semget", (IPC_PRIVATE, 3, 0o600)), ("semget", (IPC_PRIVATE, 3, 0o600)),   # SEMMNS 5
        ("semget", (IPC_PRIVATE, 2, 0o600)), ("semget", (IPC_PRIVATE, 1, 0o600)),   # SEMMNI 2
        ("shmget", (IPC_PRIVATE, 8193, 0o600)),                                    # 3 pages: all
        ("shmget", (IPC_PRIVATE, 1, 0o600)),                                       # SHMALL
        ("shmctl_rmid", (0,)), ("shmget", (IPC_PRIVATE, 4096, 0o600)),
        ("shmget", (IPC_PRIVATE, 4096, 0o600)), ("shmget", (IPC_PRIVATE, 1, 0o600)),  # SHMMNI 2
    ]
    run = run_fresh(steps, sysctl)
    run.assert_agree()
    assert [r.model.detail for r in run.records].count("ENOSPC") == 6


def test_limits_read_from_proc() -> None:
    """Limits.from_proc() in a namespace whose limits were changed: the model follows them."""
    sysctl = {"msgmax": "10", "msgmnb": "20", "msgmni": "7", "sem": "9 90 3 11", "shmmax": "5000",
              "shmmni": "13", "shmall": "17", "shm_rmid_forced": "1"}
    steps: list[Step] = [("msgget", (IPC_PRIVATE, 0o600)), ("msgctl_stat", (0,)),
                         ("msgsnd", (0, 1, bytes(11), IPC_NOWAIT)),
                         ("semget", (IPC_PRIVATE, 10, 0o600)), ("shmget", (IPC_PRIVATE, 5001, 0o600)),
                         # shm_rmid_forced: the last detach destroys even an unremoved segment
                         ("shmget", (IPC_PRIVATE, 5000, 0o600)), ("shmat", (0, 0)),
                         ("shmdt", (0,)), ("shmctl_stat", (0,))]
    run = run_fresh(steps, sysctl)
    run.assert_agree()
    assert run.records[1].model.detail["qbytes"] == 20
    assert run.records[-1].model.detail == "EINVAL"
