"""What IPC_STAT tells about a segment's use: attachments, processes, times.

A segment's ``shmid_ds`` keeps a small record of how it is used:
``shm_nattch`` counts the current attachments, ``shm_cpid`` names the
process that created it, ``shm_lpid`` the last one that attached or
detached it, and ``shm_atime``/``shm_dtime`` the times of the last attach
and detach (0 until there has been one). Reads and writes of the memory
are not recorded at all — that is the subject of ``test_shm_sync.py``.

The man page calls ``shm_nattch`` the number of *processes* that have the
segment attached; Linux counts attachments, so one process that attached
twice counts twice.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import IPC_CREAT
from conformance.clauses import spec
from conformance.outcome import Value

SIZE = 4096
L08_TEXT = ("Common control commands: `IPC_STAT` reads the object's data structure, `IPC_SET` sets it, "
            "`IPC_RMID` removes the object.")
ATTACH_UPDATES = ("shmop(2)", "A successful shmat() call updates the members of the shmid_ds structure (see "
                              "shmctl(2)) associated with the shared memory segment as follows: shm_atime is "
                              "set to the current time.  shm_lpid is set to the process-ID of the calling "
                              "process.  shm_nattch is incremented by one.")
DETACH_UPDATES = ("shmop(2)", "On a successful shmdt() call, the system updates the members of the shmid_ds "
                              "structure associated with the shared memory segment as follows: shm_dtime is "
                              "set to the current time.  shm_lpid is set to the process-ID of the calling "
                              "process.  shm_nattch is decremented by one.")


def _stat(actor, shmid, *fields):
    """The named fields of the segment's IPC_STAT as a dict (or the failed outcome)."""
    out = actor.do("shmctl_stat", shmid)
    return Value({f: out.detail[f] for f in fields}) if out.ok else out


@spec(
    "sysv.shm.stat-nattch-counts-attachments",
    "shm_nattch is the number of current attachments: every shmat adds one and every shmdt takes "
    "one away, so a process that attached the segment twice counts twice.",
    sources=[ATTACH_UPDATES, DETACH_UPDATES,
             ("shmctl(2)", "shm_nattch Number of processes that have this segment attached."),
             ("seed L08", L08_TEXT)],
    supports={"L08": "IPC_STAT reads the segment's current attachment count"},
)
@given(steps=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["attach", "detach"])),
                      min_size=1, max_size=10))
@example(steps=[("a", "attach"), ("a", "attach"), ("b", "attach"), ("a", "detach")])
def test_nattch_counts_each_attachment(new_scenario, keys, steps):
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        shmid = owner.call("shmget", keys.new(), SIZE, IPC_CREAT | 0o600)
        actors = {"a": sc.spawn("a"), "b": sc.spawn("b")}
        held: dict[str, list[int]] = {"a": [], "b": []}
        for name, action in steps:
            actor = actors[name]
            if action == "attach":
                held[name].append(actor.call("shmat", shmid, 0))
            elif held[name]:
                actor.call("shmdt", held[name].pop())
            else:
                continue
            total = sum(len(h) for h in held.values())
            sc.expect(_stat(owner, shmid, "nattch"), Value({"nattch": total}),
                      f"a holds {len(held['a'])}, b holds {len(held['b'])}")
        for name, handles in held.items():
            for h in handles:
                actors[name].call("shmdt", h)
        sc.expect(owner.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.stat-cpid-creator",
    "shm_cpid names the process that created the segment, whoever attaches it later.",
    sources=[("shmctl(2)", "shm_cpid ID of the process that created the shared memory segment.")],
)
def test_cpid_is_the_creator(scenario, keys):
    key = keys.new()
    creator = scenario.spawn("creator")
    shmid = creator.call("shmget", key, SIZE, IPC_CREAT | 0o600)
    user = scenario.spawn("user")
    h = user.call("shmat", user.call("shmget", key, 0, 0), 0)
    scenario.expect(_stat(user, shmid, "cpid"), Value({"cpid": ActorRef("creator")}))
    scenario.expect(user.do("shmdt", h), Value(0))
    scenario.expect(_stat(user, shmid, "cpid"), Value({"cpid": ActorRef("creator")}))
    scenario.expect(creator.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.stat-lpid-last-attach-detach",
    "shm_lpid is 0 in a new segment, then names the process of the last shmat or shmdt on it — "
    "not the creator, and not a process that only read or wrote the memory.",
    sources=[ATTACH_UPDATES, DETACH_UPDATES,
             ("shmget(2)", "shm_lpid, shm_nattch, shm_atime, and shm_dtime are set to 0."),
             ("shmctl(2)", "shm_lpid ID of the last process that executed a shmat(2) or shmdt(2) system "
                           "call on this segment.")],
)
def test_lpid_follows_attach_and_detach(scenario, keys):
    creator = scenario.spawn("creator")
    shmid = creator.call("shmget", keys.new(), SIZE, IPC_CREAT | 0o600)
    scenario.expect(_stat(creator, shmid, "lpid"), Value({"lpid": 0}), "nobody attached yet")
    a, b = scenario.spawn("a"), scenario.spawn("b")
    ha = a.call("shmat", shmid, 0)
    scenario.expect(_stat(creator, shmid, "lpid"), Value({"lpid": ActorRef("a")}), "a attached")
    hb = b.call("shmat", shmid, 0)
    scenario.expect(_stat(creator, shmid, "lpid"), Value({"lpid": ActorRef("b")}), "b attached")
    scenario.expect(a.do("shmdt", ha), Value(0))
    scenario.expect(_stat(creator, shmid, "lpid"), Value({"lpid": ActorRef("a")}), "a detached")
    scenario.expect(b.do("shmdt", hb), Value(0))
    scenario.expect(_stat(creator, shmid, "lpid"), Value({"lpid": ActorRef("b")}), "b detached")
    scenario.expect(creator.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.stat-atime-dtime",
    "shm_atime and shm_dtime are 0 in a new segment; the first shmat sets shm_atime only, and the "
    "first shmdt sets shm_dtime.",
    sources=[ATTACH_UPDATES, DETACH_UPDATES,
             ("shmget(2)", "shm_lpid, shm_nattch, shm_atime, and shm_dtime are set to 0.")],
)
def test_attach_and_detach_times(scenario, keys):
    a = scenario.spawn("a")
    shmid = a.call("shmget", keys.new(), SIZE, IPC_CREAT | 0o600)
    scenario.expect(_stat(a, shmid, "atime", "dtime"), Value({"atime": False, "dtime": False}), "new")
    h = a.call("shmat", shmid, 0)
    scenario.expect(_stat(a, shmid, "atime", "dtime"), Value({"atime": True, "dtime": False}),
                    "attached, never detached")
    scenario.expect(a.do("shmdt", h), Value(0))
    scenario.expect(_stat(a, shmid, "atime", "dtime"), Value({"atime": True, "dtime": True}), "detached")
    scenario.expect(a.do("shmctl_rmid", shmid), Value(0))
