"""Getting an object: msgget, semget and shmget turn a key into an id.

The three ``*get`` calls share one set of rules, which the seed's lecture
slides (L06) give as a table: without flags a missing key is ``ENOENT`` and
an existing one gives its id; ``IPC_CREAT`` creates what is missing;
``IPC_CREAT | IPC_EXCL`` insists on creating and fails with ``EEXIST`` when
the key is taken. Two things the table leaves out: the key ``IPC_PRIVATE``
always makes a new object, whatever the flags; and opening an existing
object checks the permission bits the caller asks for against the object's
mode (``EACCES``). Creation also has a limit per IPC namespace (``ENOSPC``).

Every spec here runs three times, for message queues, semaphore sets and
shared memory segments (the ``ipc_kind`` fixture).
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT, IPC_EXCL, IPC_PRIVATE
from conformance.clauses import spec
from conformance.outcome import Errno, Value

L06_TEXT = ("Flag matrix for all three `*get` calls: no flag — missing key gives `ENOENT`, existing "
            "gives its id; `IPC_CREAT` — new id or existing id; `IPC_CREAT|IPC_EXCL` — new id, or "
            "`EEXIST` if the key exists.")
CREATES = ("msgget(2)", "A new message queue is created if key has the value IPC_PRIVATE or key isn't "
                        "IPC_PRIVATE, no message queue with the given key key exists, and IPC_CREAT is "
                        "specified in msgflg.")
EXCL = ("msgget(2)", "If msgflg specifies both IPC_CREAT and IPC_EXCL and a message queue already "
                     "exists for key, then msgget() fails with errno set to EEXIST.  (This is analogous "
                     "to the effect of the combination O_CREAT | O_EXCL for open(2).)")
ENOENT = ("msgget(2)", "ENOENT No message queue exists for key and msgflg did not specify IPC_CREAT.")
SEM_CREATES = ("semget(2)", "A new set of nsems semaphores is created if key has the value IPC_PRIVATE or "
                            "if no existing semaphore set is associated with key and IPC_CREAT is "
                            "specified in semflg.")
SHM_CREATES = ("shmget(2)", "A new shared memory segment, with size equal to the value of size rounded up "
                            "to a multiple of PAGE_SIZE, is created if key has the value IPC_PRIVATE or key "
                            "isn't IPC_PRIVATE, no shared memory segment corresponding to key exists, and "
                            "IPC_CREAT is specified in shmflg.")

#: the rows of the seed's table
FLAG_ROWS = {
    "no flag": 0,
    "IPC_CREAT": IPC_CREAT,
    "IPC_CREAT|IPC_EXCL": IPC_CREAT | IPC_EXCL,
}


@spec(
    "sysv.ipc.get-flag-matrix",
    "For a key other than IPC_PRIVATE, a *get call follows the flag table: without IPC_CREAT a "
    "missing key is ENOENT and an existing one gives its id; IPC_CREAT creates a missing object "
    "and opens an existing one; IPC_CREAT|IPC_EXCL creates, or fails with EEXIST.",
    sources=[CREATES, EXCL, ENOENT, SEM_CREATES, SHM_CREATES, ("seed L06", L06_TEXT)],
    supports={"L06": "all six cells of the table hold, for msgget, semget and shmget alike"},
)
@given(row=st.sampled_from(list(FLAG_ROWS)), exists=st.booleans())
def test_get_follows_the_flag_matrix(new_scenario, keys, ipc_kind, row, exists):
    key = keys.new()
    flags = FLAG_ROWS[row] | 0o600
    with new_scenario() as sc:
        # Two unrelated processes: a key names the object for everyone.
        maker, opener = sc.spawn("maker"), sc.spawn("opener")
        existing = ipc_kind.create(maker, key) if exists else None
        out = ipc_kind.get(opener, key, flags)
        if exists:
            wanted = Errno("EEXIST") if flags & IPC_EXCL and flags & IPC_CREAT else Value(existing)
            sc.expect(out, wanted, f"{row} on a key that exists")
        elif flags & IPC_CREAT:
            if not out.ok:
                sc.expect(out, Value("<the id of a new object>"), f"{row} on a missing key")
            sc.expect(ipc_kind.get(maker, key, 0), Value(out.detail),
                      "the object just created now answers to the key")
        else:
            sc.expect(out, Errno("ENOENT"), f"{row} on a missing key")


@spec(
    "sysv.ipc.get-missing-enoent",
    "A *get call without IPC_CREAT on a key no object carries fails with ENOENT and creates "
    "nothing, whatever permission bits it passes.",
    sources=[ENOENT, ("seed L06", L06_TEXT)],
    supports={"L06": "no flag on a missing key: ENOENT"},
)
def test_get_without_creat_on_a_missing_key(scenario, keys, ipc_kind):
    key = keys.new()
    a = scenario.spawn("a")
    for flags in (0, 0o666):
        scenario.expect(ipc_kind.get(a, key, flags), Errno("ENOENT"), f"flags {flags:#o}")
    # Nothing was created on the way: an exclusive creation still succeeds.
    out = ipc_kind.get(a, key, IPC_CREAT | IPC_EXCL | 0o600)
    if not out.ok:
        scenario.expect(out, Value("<the id of a new object>"), "the key is still free")


@spec(
    "sysv.ipc.get-excl-eexist",
    "IPC_CREAT|IPC_EXCL on a key that already names an object fails with EEXIST and leaves "
    "that object as it was.",
    sources=[EXCL, ("seed L06", L06_TEXT)],
    supports={"L06": "IPC_CREAT|IPC_EXCL on an existing key: EEXIST"},
)
def test_exclusive_create_of_an_existing_key(scenario, keys, ipc_kind):
    key = keys.new()
    maker, other = scenario.spawn("maker"), scenario.spawn("other")
    ident = ipc_kind.create(maker, key, 0o640)
    before = ipc_kind.stat(maker, ident)
    scenario.expect(ipc_kind.get(other, key, IPC_CREAT | IPC_EXCL | 0o666), Errno("EEXIST"))
    scenario.expect(ipc_kind.stat(maker, ident), before,
                    "the failed creation changed nothing (the mode stays 0640)")
    scenario.expect(ipc_kind.get(other, key, 0), Value(ident), "the key still names the first object")


@spec(
    "sysv.ipc.excl-alone-ignored",
    "IPC_EXCL without IPC_CREAT asks for nothing: on a missing key the *get call fails with "
    "ENOENT (it does not create), on an existing key it returns the object's id (no EEXIST).",
    sources=[ENOENT,
             ("msgget(2)", "EEXIST IPC_CREAT and IPC_EXCL were specified in msgflg, but a message queue "
                           "already exists for key."),
             ("seed L06", L06_TEXT)],
    supports={"L06": "as the table's rows imply, IPC_EXCL means something only together with "
                     "IPC_CREAT: alone it neither creates nor gives EEXIST"},
)
def test_excl_without_creat(scenario, keys, ipc_kind):
    key = keys.new()
    a = scenario.spawn("a")
    scenario.expect(ipc_kind.get(a, key, IPC_EXCL | 0o600), Errno("ENOENT"), "a missing key")
    ident = ipc_kind.create(a, key, 0o600)
    scenario.expect(ipc_kind.get(a, key, IPC_EXCL | 0o600), Value(ident), "an existing key")
    scenario.expect(ipc_kind.rmid(a, ident), Value(0))


@spec(
    "sysv.ipc.private-always-new",
    "The key IPC_PRIVATE makes a new object on every call, whatever the flags: without "
    "IPC_CREAT, and with IPC_CREAT|IPC_EXCL, it neither fails with ENOENT or EEXIST nor returns "
    "an existing object.",
    sources=[
        CREATES,
        ("msgget(2)", "IPC_PRIVATE isn't a flag field but a key_t type.  If this special value is "
                      "used for key, the system call ignores everything but the least significant 9 "
                      "bits of msgflg and creates a new message queue (on success)."),
        ("semget(2)", "IPC_PRIVATE isn't a flag field but a key_t type.  If this special value is "
                      "used for key, the system call ignores all but the least significant 9 bits of "
                      "semflg and creates a new semaphore set (on success)."),
        ("seed L06", L06_TEXT),
    ],
    qualifies={"L06": "the table holds for real keys only: IPC_PRIVATE creates even with no flag "
                      "and never gives EEXIST"},
)
@given(rows=st.lists(st.sampled_from(list(FLAG_ROWS)), min_size=2, max_size=4))
@example(rows=["no flag", "no flag"])
@example(rows=["IPC_CREAT|IPC_EXCL", "IPC_CREAT|IPC_EXCL"])
def test_ipc_private_always_creates(new_scenario, cleanup, ipc_kind, rows):
    with new_scenario() as sc:
        a = sc.spawn("a")
        seen: list[int] = []
        for row in rows:
            out = ipc_kind.get(a, IPC_PRIVATE, FLAG_ROWS[row] | 0o600)
            if not out.ok:
                sc.expect(out, Value("<the id of a new object>"), f"IPC_PRIVATE with {row}")
            cleanup.track(ipc_kind.name, out.detail)
            if out.detail in seen:
                sc.expect(out, Value("<an id not returned before>"),
                          f"IPC_PRIVATE with {row} returned an existing object")
            seen.append(out.detail)
        for ident in seen:
            sc.expect(ipc_kind.rmid(a, ident), Value(0), "every one is an object of its own")


#: r/w bits in any of the three positions (the execute bits are left out)
RW_BITS = 0o666


def _asked(flags: int) -> int:
    """The access a *get call asks for: its r/w bits, from whichever position (r=4, w=2)."""
    return (flags | flags >> 3 | flags >> 6) & 0o6


@spec(
    "sysv.ipc.get-eacces",
    "Opening an existing object checks the permission bits passed to the *get call: when they "
    "ask for read or write access (in any of the three positions) that the object's mode does "
    "not grant the caller's class, an unprivileged caller gets EACCES; flags asking for "
    "nothing always open it.",
    sources=[
        ("msgget(2)", "If the message queue already exists the permissions are verified, and a check "
                      "is made to see if it is marked for destruction."),
        ("msgget(2)", "EACCES A message queue exists for key, but the calling process does not have "
                      "permission to access the queue, and does not have the CAP_IPC_OWNER capability "
                      "in the user namespace that governs its IPC namespace."),
        ("semget(2)", "If the semaphore set already exists, the permissions are verified."),
    ],
    requires=("root",),
)
@given(mode=st.integers(0, 0o777), asked=st.integers(0, 0o777).map(lambda m: m & RW_BITS),
       creat=st.booleans())
@example(mode=0o600, asked=0o600, creat=False)
@example(mode=0o600, asked=0o666, creat=True)
@example(mode=0o640, asked=0o644, creat=False)
@example(mode=0o000, asked=0o000, creat=False)
def test_get_checks_the_asked_permissions(new_scenario, keys, principals, ipc_kind, mode, asked,
                                          creat):
    key = keys.new()
    flags = asked | (IPC_CREAT if creat else 0)
    with new_scenario() as sc:
        admin = sc.spawn("admin")
        ident = ipc_kind.create(admin, key, mode)
        sc.expect(ipc_kind.set(admin, ident, {"uid": principals.owner.uid, "gid": principals.group,
                                              "mode": mode}), Value(0))
        for who in principals.roles:
            actor = principals.fork_as(admin, who.name, who)
            denied = _asked(flags) & ~ipc_kind.class_bits(mode, who.name)
            wanted = Errno("EACCES") if denied else Value(ident)
            sc.expect(ipc_kind.get(actor, key, flags), wanted,
                      f"{who.name} asks {flags:#o} of mode {mode:#o}")


_LIMITS = {"msg": "msgmni", "sem": "sem", "shm": "shmmni"}


@spec(
    "sysv.ipc.get-enospc",
    "Creating an object when the namespace already holds as many objects of its kind as the "
    "limit allows (MSGMNI, SEMMNI, SHMMNI) fails with ENOSPC, for a key and for IPC_PRIVATE; "
    "removing one makes room again.",
    sources=[
        ("msgget(2)", "ENOSPC A message queue has to be created but the system limit for the maximum "
                      "number of message queues (MSGMNI) would be exceeded."),
        ("semget(2)", "ENOSPC A semaphore set has to be created but the system limit for the maximum "
                      "number of semaphore sets (SEMMNI), or the system wide maximum number of "
                      "semaphores (SEMMNS), would be exceeded."),
        ("shmget(2)", "ENOSPC All possible shared memory IDs have been taken (SHMMNI), or allocating a "
                      "segment of the requested size would cause the system to exceed the system-wide "
                      "limit on shared memory (SHMALL)."),
    ],
    requires=("root",),
)
def test_get_beyond_the_limit(scenario, keys, sysv_limits, ipc_kind):
    limit = _LIMITS[ipc_kind.name]
    room = sysv_limits.in_use(ipc_kind.name) + 1
    if limit == "sem":
        semmsl, semmns, semopm, _semmni = sysv_limits.get("sem")
        sysv_limits.set("sem", (semmsl, semmns, semopm, room))
    else:
        sysv_limits.set(limit, room)
    a = scenario.spawn("a")
    last = ipc_kind.create(a, keys.new())
    scenario.expect(ipc_kind.get(a, keys.new(), IPC_CREAT | 0o600), Errno("ENOSPC"),
                    f"{limit} allows {room} objects and there are {room}")
    scenario.expect(ipc_kind.get(a, IPC_PRIVATE, 0o600), Errno("ENOSPC"), "IPC_PRIVATE too")
    scenario.expect(ipc_kind.rmid(a, last), Value(0))
    again = ipc_kind.get(a, keys.new(), IPC_CREAT | 0o600)
    if not again.ok:
        scenario.expect(again, Value("<the id of a new object>"), "a removal made room")
