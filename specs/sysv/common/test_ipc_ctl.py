"""Controlling an object: IPC_STAT, IPC_SET and IPC_RMID, always by id.

The seed's slides split the System V calls three ways (L05): ``*get`` creates
or opens, ``*ctl`` controls and removes, and ``msgsnd``/``msgrcv``,
``semop``, ``shmat``/``shmdt`` operate. The split has a consequence the
slides leave implicit: only ``*get`` takes a key. Everything else takes the
*id* that ``*get`` returned — a number that means the same object in every
process of the namespace, unlike a file descriptor, and that stops meaning
anything once the object is removed.

The three control commands (L08) read the object's ``ipc_perm`` and
statistics (IPC_STAT), change its owner, group and permission bits
(IPC_SET, which takes only the nine low bits of a mode), and remove it
(IPC_RMID). These specs run for msg, sem and shm alike.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import Errno, Value

L05_TEXT = ("Create/open with msgget/semget/shmget; control/remove with msgctl/semctl/shmctl; operate "
            "with msgsnd/msgrcv, semop, shmat/shmdt.")
L08_TEXT = ("Common control commands: `IPC_STAT` reads the object's data structure, `IPC_SET` sets "
            "it, `IPC_RMID` removes the object.")
SYSVIPC = ("sysvipc(7)", "msgget(2) Create a new message queue or obtain the ID of an existing message "
                         "queue.  This call returns an identifier that is used in the remaining APIs.")
IPC_STAT_DOC = ("msgctl(2)", "IPC_STAT Copy information from the kernel data structure associated with "
                             "msqid into the msqid_ds structure pointed to by buf.  The caller must have "
                             "read permission on the message queue.")
IPC_SET_DOC = ("msgctl(2)", "IPC_SET Write the values of some members of the msqid_ds structure pointed "
                            "to by buf to the kernel data structure associated with this message queue, "
                            "updating also its msg_ctime member.")
IPC_SET_FIELDS = ("msgctl(2)", "The following members of the structure are updated: msg_qbytes, "
                               "msg_perm.uid, msg_perm.gid, and (the least significant 9 bits of) "
                               "msg_perm.mode.")


@spec(
    "sysv.ipc.stat-at-creation",
    "IPC_STAT on a new object reports the creating process's effective uid and gid as both owner "
    "and creator, the low 9 bits of the creation flags as its mode, and untouched statistics.",
    sources=[
        IPC_STAT_DOC,
        ("msgget(2)", "msg_perm.cuid and msg_perm.uid are set to the effective user ID of the calling "
                      "process."),
        ("msgget(2)", "msg_perm.cgid and msg_perm.gid are set to the effective group ID of the calling "
                      "process."),
        ("msgget(2)", "The least significant 9 bits of msg_perm.mode are set to the least significant 9 "
                      "bits of msgflg."),
        ("msgget(2)", "msg_qnum, msg_lspid, msg_lrpid, msg_stime, and msg_rtime are set to 0."),
        ("semget(2)", "The least significant 9 bits of sem_perm.mode are set to the least significant 9 "
                      "bits of semflg."),
        ("seed L08", L08_TEXT),
    ],
    supports={"L08": "IPC_STAT reads back exactly what creation put into the structure"},
)
@given(mode=st.integers(0, 0o777).map(lambda m: m | 0o400))
@example(mode=0o600)
@example(mode=0o777)
def test_stat_of_a_new_object(new_scenario, keys, ipc_kind, mode):
    # mode always grants the owner read: IPC_STAT needs it (unless root).
    with new_scenario() as sc:
        creator = sc.spawn("creator")
        ident = ipc_kind.create(creator, keys.new(), mode)
        uid, gid = os.geteuid(), os.getegid()  # actors run with the test process's ids
        wanted = {"uid": uid, "gid": gid, "cuid": uid, "cgid": gid, "mode": mode,
                  **ipc_kind.fresh_fields(creator)}
        out = ipc_kind.stat(creator, ident)
        got = {k: out.detail.get(k) for k in wanted} if out.ok else out
        sc.expect(Value(got), Value(wanted), f"a new {ipc_kind.name} object, created with mode {mode:#o}")
        sc.expect(ipc_kind.rmid(creator, ident), Value(0))


@spec(
    "sysv.ipc.set-changes-owner",
    "IPC_SET by the owner changes the owner's uid and gid to the values given — any values — "
    "and leaves the creator's cuid and cgid as they were.",
    sources=[IPC_SET_DOC, IPC_SET_FIELDS, ("seed L08", L08_TEXT)],
    supports={"L08": "IPC_SET sets the owner fields of the structure"},
)
@given(uid=st.sampled_from([0, 1, 1001, 65534]), gid=st.sampled_from([0, 1, 2000, 65534]))
def test_set_changes_the_owner(new_scenario, keys, ipc_kind, uid, gid):
    with new_scenario() as sc:
        creator = sc.spawn("creator")
        ident = ipc_kind.create(creator, keys.new(), 0o600)
        me, my_group = os.geteuid(), os.getegid()
        sc.expect(ipc_kind.set(creator, ident, {"uid": uid, "gid": gid}), Value(0))
        out = ipc_kind.stat(creator, ident)  # still the creator: still the owner's class
        got = {k: out.detail[k] for k in ("uid", "gid", "cuid", "cgid")} if out.ok else out
        sc.expect(Value(got), Value({"uid": uid, "gid": gid, "cuid": me, "cgid": my_group}),
                  "new owner fields, the same creator fields")
        sc.expect(ipc_kind.rmid(creator, ident), Value(0))


@spec(
    "sysv.ipc.set-mode-low-bits",
    "IPC_SET takes only the least significant 9 bits of the mode it is given: IPC_STAT then "
    "reports exactly those bits, whatever higher bits were passed.",
    sources=[IPC_SET_FIELDS,
             ("semctl(2)", "The following members of the structure are updated: sem_perm.uid, "
                           "sem_perm.gid, and (the least significant 9 bits of) sem_perm.mode."),
             ("shmctl(2)", "The following fields are updated: shm_perm.uid, shm_perm.gid, and (the "
                           "least significant 9 bits of) shm_perm.mode."),
             ("seed L08", L08_TEXT)],
    supports={"L08": "IPC_SET sets the permission bits of the structure"},
)
@given(new_mode=st.integers(0, 0xFFFF).map(lambda m: m | 0o400))
@example(new_mode=0o1000 | 0o640)  # IPC_CREAT's bit, and SHM_DEST's for a segment
@example(new_mode=0xFFFF)
def test_set_takes_nine_mode_bits(new_scenario, keys, ipc_kind, new_mode):
    with new_scenario() as sc:
        creator = sc.spawn("creator")
        ident = ipc_kind.create(creator, keys.new(), 0o600)
        sc.expect(ipc_kind.set(creator, ident, {"mode": new_mode}), Value(0))
        out = ipc_kind.stat(creator, ident)
        sc.expect(Value(out.detail["mode"]) if out.ok else out, Value(new_mode & 0o777),
                  f"IPC_SET with mode {new_mode:#o}")
        sc.expect(ipc_kind.rmid(creator, ident), Value(0))


@spec(
    "sysv.ipc.rmid-removes",
    "IPC_RMID removes an object that nobody uses at once: its id no longer works (EINVAL, or "
    "EIDRM) in any process, the key opens nothing (ENOENT), and IPC_CREAT makes a fresh object.",
    sources=[
        ("msgctl(2)", "IPC_RMID Immediately remove the message queue, awakening all waiting reader and "
                      "writer processes (with an error return and errno set to EIDRM)."),
        ("msgctl(2)", "EIDRM  The message queue was removed."),
        ("msgctl(2)", "EINVAL Invalid value for cmd or msqid."),
        ("semctl(2)", "IPC_RMID Immediately remove the semaphore set, awakening all processes blocked in "
                      "semop(2) calls on the set (with an error return and errno set to EIDRM)."),
        ("shmctl(2)", "IPC_RMID Mark the segment to be destroyed.  The segment will actually be destroyed "
                      "only after the last process detaches it (i.e., when the shm_nattch member of the "
                      "associated structure shmid_ds is zero)."),
        ("seed L08", L08_TEXT),
    ],
    supports={"L08": "IPC_RMID removes the object: id and key both stop naming it"},
)
def test_rmid_removes_the_object(scenario, keys, ipc_kind):
    key = keys.new()
    creator, user = scenario.spawn("creator"), scenario.spawn("user")
    ident = ipc_kind.create(creator, key, 0o600)
    scenario.expect(ipc_kind.get(user, key, 0o600), Value(ident), "another process opens it")
    out = ipc_kind.use(user, ident)
    if not out.ok:
        scenario.expect(out, Value("<the object works before removal>"))
    scenario.expect(ipc_kind.rmid(creator, ident), Value(0))
    ipc_kind.expect_gone(scenario, ipc_kind.use(user, ident), "the removed object's id, in another process")
    ipc_kind.expect_gone(scenario, ipc_kind.stat(creator, ident), "IPC_STAT of the removed id")
    ipc_kind.expect_gone(scenario, ipc_kind.rmid(creator, ident), "removing it twice")
    scenario.expect(ipc_kind.get(user, key, 0o600), Errno("ENOENT"), "the key is free again")
    fresh = ipc_kind.create(user, key, 0o600)
    out = ipc_kind.stat(user, fresh)
    unused = ipc_kind.renewed(user)
    got = {k: out.detail.get(k) for k in unused} if out.ok else out
    scenario.expect(Value(got), Value(unused), "IPC_CREAT on the key made a new object, not the old one")
    scenario.expect(ipc_kind.rmid(user, fresh), Value(0))


@spec(
    "sysv.ipc.ids-are-not-keys",
    "Only the *get calls take a key; every other call takes the id *get returned, and that id "
    "names the same object in every process: an unrelated process uses it without calling *get, "
    "its own *get returns the same number, and the key in place of the id names nothing.",
    sources=[
        SYSVIPC,
        ("msgop(2)", "The msgsnd() system call appends a copy of the message pointed to by msgp to the "
                     "message queue whose identifier is specified by msqid."),
        ("semget(2)", "The semget() system call returns the System V semaphore set identifier "
                      "associated with the argument key."),
        ("seed L05", L05_TEXT),
    ],
    supports={"L05": "create/open by key with *get, then operate and control by the id, from any "
                     "process"},
)
def test_ids_name_objects_everywhere(scenario, keys, cleanup, ipc_kind):
    key = keys.new()
    creator, stranger = scenario.spawn("creator"), scenario.spawn("stranger")
    ident = ipc_kind.create(creator, key, 0o600)
    out = ipc_kind.use(stranger, ident)
    if not out.ok:
        scenario.expect(out, Value("<success>"), "a process that never called *get uses the id")
    scenario.expect(ipc_kind.get(stranger, key, 0), Value(ident), "the same id in every process")
    ids_of_kind = {i for (kind, i) in cleanup.existing() if kind == ipc_kind.name}
    if key not in ids_of_kind:  # (a key can equal some id by chance; not this one)
        ipc_kind.expect_gone(scenario, ipc_kind.stat(stranger, key), "the key used as an id")
    scenario.expect(ipc_kind.rmid(stranger, ident), Value(0), "controlled by id, from anywhere")
    ipc_kind.expect_gone(scenario, ipc_kind.use(creator, ident), "gone for the creator too")

