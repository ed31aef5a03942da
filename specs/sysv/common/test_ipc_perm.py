"""Who may use a System V object: nine mode bits, an owner, a creator, and root.

Every object carries an ``ipc_perm`` structure: the owner's uid and gid,
the creator's uid and gid, and a mode whose nine low bits read like a file's
``rw-rw-rw-`` (the execute bits are unused). The seed's slides (L07) name
them per mechanism: ``MSG_R``/``MSG_W`` for the owner, shifted right by 3
for the group and by 6 for others.

Operations that look at or change the *contents* check those bits:
sending a message needs write, receiving or IPC_STAT needs read, altering a
semaphore needs write ("alter"), attaching a segment read-write needs both.
Exactly one class of bits applies to a caller, as for files. Operations
that change the object's *identity* — IPC_SET and IPC_RMID — ignore the
bits altogether: only the owner or the creator may perform them. Root
(CAP_IPC_OWNER, CAP_SYS_ADMIN) bypasses both checks.

Each spec drops actors to unprivileged identities with ``become``, which
needs root; each runs for msg, sem and shm.
"""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import Errno, Value

L07_TEXT = ("Permissions: read/write bits for user (`MSG_R`, `MSG_W`, likewise `SEM_*`, `SHM_*`), "
            "group (`>> 3`) and other (`>> 6`).")
L08_TEXT = ("Common control commands: `IPC_STAT` reads the object's data structure, `IPC_SET` sets "
            "it, `IPC_RMID` removes the object.")
MODE_BITS = ("msgctl(2)", "The least significant 9 bits of the mode field of the ipc_perm structure "
                          "define the access permissions for the message queue.  The permission bits "
                          "are as follows:")
MSGOP_PERM = ("msgop(2)", "The calling process must have write permission on the message queue in "
                          "order to send a message, and read permission to receive a message.")
STAT_PERM = ("msgctl(2)", "IPC_STAT Copy information from the kernel data structure associated with "
                          "msqid into the msqid_ds structure pointed to by buf.  The caller must have "
                          "read permission on the message queue.")
SEMOP_PERM = ("semop(2)", "This operation can always proceed—it never forces a thread to wait.  The "
                          "calling process must have alter permission on the semaphore set.")
SEMGET_PERM = ("semget(2)", "Upon creation, the least significant 9 bits of the argument semflg define "
                            "the permissions (for owner, group, and others) for the semaphore set.  These "
                            "bits have the same format, and the same meaning, as the mode argument of "
                            "open(2) (though the execute permissions are not meaningful for semaphores, "
                            "and write permissions mean permission to alter semaphore values).")
SET_OWNER = ("msgctl(2)", "The effective UID of the calling process must match the owner (msg_perm.uid) "
                          "or creator (msg_perm.cuid) of the message queue, or the caller must be "
                          "privileged.")
EPERM = ("msgctl(2)", "EPERM  The argument cmd has the value IPC_SET or IPC_RMID, but the effective user "
                      "ID of the calling process is not the creator (as found in msg_perm.cuid) or the "
                      "owner (as found in msg_perm.uid) of the message queue, and the caller is not "
                      "privileged (Linux: does not have the CAP_SYS_ADMIN capability).")
RMID_OWNER = ("msgctl(2)", "IPC_RMID Immediately remove the message queue, awakening all waiting reader "
                           "and writer processes (with an error return and errno set to EIDRM).  The "
                           "calling process must have appropriate privileges or its effective user ID "
                           "must be either that of the creator or owner of the message queue.")

#: one bit of a class cleared from rw-rw-rw-: the brief matrix of user/group/other x read/write
ONE_BIT_CLEAR = [0o666 & ~bit for bit in (0o400, 0o200, 0o040, 0o020, 0o004, 0o002)]


def _hand_over(sc, kind, admin, ident, principals, mode):
    """Make the object belong to the owner principal and the principals' group, with ``mode``."""
    sc.expect(kind.set(admin, ident, {"uid": principals.owner.uid, "gid": principals.group,
                                      "mode": mode}), Value(0), "root hands the object over")


def _check_probes(sc, kind, admin, actor, role, ident, mode):
    """Run every probe of ``kind`` as ``actor``; each must be allowed exactly when ``mode`` says."""
    for probe in kind.probes:
        out = kind.run_probe(probe, admin, actor, ident)
        allowed = kind.permits(mode, role, probe.needs)
        wanted = kind.allowed(probe, out) if allowed else Errno("EACCES")
        bits = oct(kind.class_bits(mode, role))
        sc.expect(out, wanted, f"{probe} needs {probe.needs!r}; {role}'s bits in {mode:#o} are {bits}")
        kind.undo(probe, admin, actor, ident, out)


@spec(
    "sysv.ipc.permission-bits",
    "An unprivileged process may perform an operation on an object exactly when the mode bits of "
    "its class (owner, group member, other) include the access the operation needs: write to "
    "send a message or alter a semaphore, read to receive, to read a semaphore or to IPC_STAT, "
    "read and write to attach a segment for writing.",
    sources=[
        MODE_BITS, MSGOP_PERM, STAT_PERM, SEMGET_PERM, SEMOP_PERM,
        ("semctl(2)", "GETVAL Return semval (i.e., the semaphore value) for the semnum-th semaphore of "
                      "the set.  The calling process must have read permission on the semaphore set."),
        ("shmat(2), SHM_RDONLY", "Attach the segment for read-only access.  The process must have "
                                 "read permission for the segment.  If this flag is not specified, the "
                                 "segment is attached for read and write access, and the process must "
                                 "have read and write permission for the segment."),
        ("seed L07", L07_TEXT),
    ],
    requires=("root",),
    supports={"L07": "each of the six bits (user, group, other x read, write) grants exactly its "
                     "access, for messages, semaphores and segments"},
)
@given(mode=st.integers(0, 0o777))
@example(mode=0o666)
@example(mode=ONE_BIT_CLEAR[0])
@example(mode=ONE_BIT_CLEAR[1])
@example(mode=ONE_BIT_CLEAR[2])
@example(mode=ONE_BIT_CLEAR[3])
@example(mode=ONE_BIT_CLEAR[4])
@example(mode=ONE_BIT_CLEAR[5])
def test_mode_bits_decide_access(new_scenario, keys, principals, ipc_kind, mode):
    with new_scenario() as sc:
        admin = sc.spawn("admin")
        ident = ipc_kind.create(admin, keys.new(), 0o600)
        _hand_over(sc, ipc_kind, admin, ident, principals, mode)
        for who in principals.roles:
            actor = principals.fork_as(admin, who.name, who)
            _check_probes(sc, ipc_kind, admin, actor, who.name, ident, mode)
        sc.expect(ipc_kind.rmid(admin, ident), Value(0))


@spec(
    "sysv.ipc.permission-class-exclusive",
    "Only one class of mode bits applies to a caller: the owner is judged by the owner bits "
    "alone and a group member by the group bits alone, so they are refused even when the "
    "bits of the group or of others would grant the access.",
    sources=[
        MODE_BITS,
        ("msgget(2)", "Upon creation, the least significant bits of the argument msgflg define the "
                      "permissions of the message queue.  These permission bits have the same format "
                      "and semantics as the permissions specified for the mode argument of open(2).  "
                      "(The execute permissions are not used.)"),
        ("seed L07", L07_TEXT),
    ],
    requires=("root",),
    qualifies={"L07": "the bits are not added up: the owner's class is the owner bits only, "
                      "however generous the group and other bits are"},
)
def test_only_the_callers_class_counts(scenario, keys, principals, ipc_kind):
    admin = scenario.spawn("admin")
    ident = ipc_kind.create(admin, keys.new(), 0o600)
    owner = principals.fork_as(admin, "owner", principals.owner)
    member = principals.fork_as(admin, "member", principals.member)
    # rw for group and others, nothing for the owner: the owner is refused.
    _hand_over(scenario, ipc_kind, admin, ident, principals, 0o066)
    _check_probes(scenario, ipc_kind, admin, owner, "owner", ident, 0o066)
    # rw for owner and others, nothing for the group: the member is refused.
    scenario.expect(ipc_kind.set(admin, ident, {"mode": 0o606}), Value(0))
    _check_probes(scenario, ipc_kind, admin, member, "member", ident, 0o606)
    scenario.expect(ipc_kind.rmid(admin, ident), Value(0))


@spec(
    "sysv.ipc.root-bypasses-mode",
    "A privileged process (root, with CAP_IPC_OWNER) reads, writes and inspects an object whose "
    "mode grants nobody anything, and that it neither owns nor created; it may also remove it.",
    sources=[
        ("msgop(2)", "EACCES The calling process does not have write permission on the message queue, "
                     "and does not have the CAP_IPC_OWNER capability in the user namespace that "
                     "governs its IPC namespace."),
        ("msgctl(2)", "EACCES The argument cmd is equal to IPC_STAT or MSG_STAT, but the calling process "
                      "does not have read permission on the message queue msqid, and does not have the "
                      "CAP_IPC_OWNER capability in the user namespace that governs its IPC namespace."),
        RMID_OWNER,
        ("seed L07", L07_TEXT),
    ],
    requires=("root",),
    qualifies={"L07": "the bits bind unprivileged processes only: root (holding CAP_IPC_OWNER) is "
                     "never refused"},
)
def test_root_ignores_the_mode(scenario, keys, principals, ipc_kind):
    for capability in ("CAP_IPC_OWNER", "CAP_SYS_ADMIN"):
        if not principals.root_has(capability):
            pytest.skip(f"unsupported: root lacks {capability} here")
    key = keys.new()
    creator = principals.spawn_as(scenario, "creator", principals.creator)
    ident = ipc_kind.create(creator, key, 0o000)
    root = scenario.spawn("root")
    scenario.expect(ipc_kind.get(root, key, 0o666), Value(ident), "root may ask for rw on mode 000")
    for probe in ipc_kind.probes:
        out = ipc_kind.run_probe(probe, root, root, ident)
        scenario.expect(out, ipc_kind.allowed(probe, out), f"root's {probe} on mode 000")
        ipc_kind.undo(probe, root, root, ident, out)
    scenario.expect(ipc_kind.rmid(root, ident), Value(0), "root may remove another user's object")


@spec(
    "sysv.ipc.set-needs-owner",
    "IPC_SET by an unprivileged process that is neither the owner nor the creator fails with "
    "EPERM and changes nothing, even when the mode grants it read and write.",
    sources=[SET_OWNER, EPERM, ("seed L08", L08_TEXT)],
    requires=("root",),
    qualifies={"L08": "IPC_SET is reserved to the owner, the creator and privileged processes"},
)
def test_set_by_a_stranger(scenario, keys, principals, ipc_kind):
    creator = principals.spawn_as(scenario, "creator", principals.creator)
    ident = ipc_kind.create(creator, keys.new(), 0o666)
    stranger = principals.spawn_as(scenario, "stranger", principals.stranger)
    before = ipc_kind.stat(stranger, ident)
    scenario.expect(ipc_kind.set(stranger, ident, {"mode": 0o600}), Errno("EPERM"),
                    "mode 0666 lets the stranger read and write, not change the object")
    scenario.expect(ipc_kind.set(stranger, ident, {"uid": principals.stranger.uid,
                                                   "gid": principals.stranger.gid}),
                    Errno("EPERM"), "nor take it over")
    scenario.expect(ipc_kind.stat(stranger, ident), before, "the object is unchanged")
    scenario.expect(ipc_kind.rmid(creator, ident), Value(0))


@spec(
    "sysv.ipc.rmid-needs-owner",
    "IPC_RMID by an unprivileged process that is neither the owner nor the creator fails with "
    "EPERM and the object stays, even when the mode grants that process read and write.",
    sources=[RMID_OWNER, EPERM, ("seed L08", L08_TEXT)],
    requires=("root",),
    qualifies={"L08": "IPC_RMID is reserved to the owner, the creator and privileged processes"},
)
def test_rmid_by_a_stranger(scenario, keys, principals, ipc_kind):
    key = keys.new()
    creator = principals.spawn_as(scenario, "creator", principals.creator)
    ident = ipc_kind.create(creator, key, 0o666)
    stranger = principals.spawn_as(scenario, "stranger", principals.stranger)
    scenario.expect(ipc_kind.rmid(stranger, ident), Errno("EPERM"))
    scenario.expect(ipc_kind.get(stranger, key, 0), Value(ident), "the object is still there")
    out = ipc_kind.use(stranger, ident)
    if not out.ok:
        scenario.expect(out, Value("<the object still works>"), "the object is still there")
    scenario.expect(ipc_kind.rmid(creator, ident), Value(0), "its creator may remove it")


@spec(
    "sysv.ipc.creator-keeps-control",
    "Owner and creator are distinct: IPC_SET can give the object to another uid (changing the "
    "owner, never cuid/cgid), after which both the new owner and the creator may IPC_SET and "
    "IPC_RMID it.",
    sources=[
        SET_OWNER, RMID_OWNER,
        ("msgctl(2)", "The following members of the structure are updated: msg_qbytes, msg_perm.uid, "
                      "msg_perm.gid, and (the least significant 9 bits of) msg_perm.mode."),
        ("seed L08", L08_TEXT),
    ],
    requires=("root",),
    qualifies={"L08": "who may use IPC_SET and IPC_RMID is decided by two uids, owner and creator"},
)
def test_creator_keeps_control(scenario, keys, principals, ipc_kind):
    creator = principals.spawn_as(scenario, "creator", principals.creator)
    ident = ipc_kind.create(creator, keys.new(), 0o644)
    owner = principals.spawn_as(scenario, "owner", principals.owner)
    scenario.expect(ipc_kind.set(creator, ident, {"uid": principals.owner.uid,
                                                  "gid": principals.owner.gid}), Value(0),
                    "the creator gives the object away")
    out = ipc_kind.stat(owner, ident)
    who = {k: out.detail[k] for k in ("uid", "gid", "cuid", "cgid")} if out.ok else out
    scenario.expect(Value(who), Value({"uid": principals.owner.uid, "gid": principals.owner.gid,
                                       "cuid": principals.creator.uid, "cgid": principals.creator.gid}),
                    "a new owner, the same creator")
    scenario.expect(ipc_kind.set(owner, ident, {"mode": 0o640}), Value(0), "the new owner may IPC_SET")
    scenario.expect(ipc_kind.set(creator, ident, {"mode": 0o600}), Value(0),
                    "so may the creator, who no longer owns it")
    scenario.expect(ipc_kind.rmid(creator, ident), Value(0), "and the creator may remove it")
