"""IPC_RMID on a segment: marked now, destroyed when the last attachment goes.

Removing a message queue or a semaphore set takes effect at once. A
segment is different, because processes have it mapped: ``shmctl(IPC_RMID)``
only *marks* it. The seed puts it this way (S24): the segment is deleted
not at once but when every attached process has detached. Until then the
attached processes go on using it; IPC_STAT shows ``SHM_DEST`` in the mode,
and the key no longer names it (it reads as IPC_PRIVATE), so the key is
free for a new segment. Each way an attachment can end counts — ``shmdt``,
the exit of the process, an ``execve`` — and when the last one ends, the
segment is destroyed and its id answers EINVAL. A segment nobody has
attached is destroyed by IPC_RMID at once. Linux, unlike other systems,
even lets a process attach a marked segment by its id while it lasts.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT, IPC_PRIVATE, SHM_DEST, SHM_RDONLY
from conformance.clauses import spec
from conformance.outcome import Errno, Exited, Value

SIZE = 4096
S24_TEXT = ("`shmctl(IPC_RMID)` only marks the segment; it is destroyed when the last attached process "
            "detaches.")
L08_TEXT = ("Common control commands: `IPC_STAT` reads the object's data structure, `IPC_SET` sets it, "
            "`IPC_RMID` removes the object.")
MARK = ("shmctl(2)", "IPC_RMID Mark the segment to be destroyed. The segment will actually be destroyed "
                     "only after the last process detaches it (i.e., when the shm_nattch member of the "
                     "associated structure shmid_ds is zero).")
DEST_FLAG = ("shmctl(2)", "If a segment has been marked for destruction, then the (nonstandard) SHM_DEST "
                          "flag of the shm_perm.mode field in the associated data structure retrieved by "
                          "IPC_STAT will be set.")
GONE = ("shmctl(2)", "EINVAL shmid is not a valid identifier, or cmd is not a valid command.")
DETACH_DESTROYS = ("shmop(2)", "shm_nattch is decremented by one. If it becomes 0 and the segment is marked "
                               "for deletion, the segment is deleted.")


def _stat(actor, shmid, field):
    """One field of the segment's IPC_STAT (or the failed outcome)."""
    out = actor.do("shmctl_stat", shmid)
    return Value(out.detail[field]) if out.ok else out


def _attached_pair(sc, keys):
    """Actors a and b, each with an attachment of one new segment: (a, b, shmid, key, ha, hb)."""
    key = keys.new()
    a = sc.spawn("a")
    shmid = a.call("shmget", key, SIZE, IPC_CREAT | 0o600)
    ha = a.call("shmat", shmid, 0)
    b = sc.spawn("b")
    hb = b.call("shmat", b.call("shmget", key, 0, 0), 0)
    return a, b, shmid, key, ha, hb


@spec(
    "sysv.shm.rmid-keeps-attached-working",
    "After IPC_RMID the processes still attached keep reading and writing the segment, and still "
    "share it: the contents from before are there, and a store by one is seen by the other.",
    sources=[MARK, ("seed S24", S24_TEXT)],
    supports={"S24": "IPC_RMID did not take the memory away from the attached processes"},
)
@given(before=st.binary(min_size=1, max_size=64), after=st.binary(min_size=1, max_size=64))
@example(before=b"before", after=b"after")
def test_attached_processes_keep_using_it(new_scenario, keys, before, after):
    with new_scenario() as sc:
        a, b, shmid, _key, ha, hb = _attached_pair(sc, keys)
        a.call("shm_write", ha, 0, before)
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))
        sc.expect(b.do("shm_read", hb, 0, len(before)), Value(before), "the contents survived IPC_RMID")
        sc.expect(b.do("shm_write", hb, 100, after), Value(len(after)))
        sc.expect(a.do("shm_read", ha, 100, len(after)), Value(after), "the two still share the memory")
        sc.expect(a.do("shmdt", ha), Value(0))
        sc.expect(b.do("shmdt", hb), Value(0))


@spec(
    "sysv.shm.rmid-marks-dest",
    "A segment removed while attached is still there for IPC_STAT, with SHM_DEST set in its mode "
    "beside the permission bits.",
    sources=[MARK, DEST_FLAG, ("seed S24", S24_TEXT), ("seed L08", L08_TEXT)],
    supports={"S24": "IPC_RMID marks the segment (SHM_DEST) instead of destroying it"},
    qualifies={"L08": "for an attached segment IPC_RMID removes nothing yet: it marks the segment for "
                      "destruction"},
)
@given(mode=st.integers(0o400, 0o777))
@example(mode=0o600)
def test_rmid_sets_shm_dest(new_scenario, keys, mode):
    with new_scenario() as sc:
        a = sc.spawn("a")
        shmid = a.call("shmget", keys.new(), SIZE, IPC_CREAT | mode)
        h = a.call("shmat", shmid, _attach_flags(mode))
        sc.expect(_stat(a, shmid, "mode"), Value(mode), "not marked yet")
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))
        sc.expect(_stat(a, shmid, "mode"), Value(mode | SHM_DEST), "marked for destruction")
        sc.expect(a.do("shmdt", h), Value(0))


def _attach_flags(mode):
    """The shmat flags the owner may use under ``mode``: SHM_RDONLY unless it may write."""
    return 0 if mode & 0o200 else SHM_RDONLY


@spec(
    "sysv.shm.rmid-frees-key",
    "A segment marked for destruction no longer has its key: IPC_STAT shows the key as IPC_PRIVATE, "
    "shmget of the old key without IPC_CREAT fails with ENOENT, and with IPC_CREAT it makes a new, "
    "different segment while the marked one lives on.",
    sources=[
        MARK,
        ("shmget(2)", "If the shared memory segment already exists, the permissions are verified, and a "
                      "check is made to see if it is marked for destruction."),
        ("shmget(2)", "ENOENT No segment exists for the given key, and IPC_CREAT was not specified."),
        ("seed S24", S24_TEXT),
    ],
    qualifies={"S24": "the marked segment lives on for those attached, but for everyone else it is "
                      "already gone: its key names nothing, or a new segment"},
)
def test_marked_segment_loses_its_key(scenario, keys):
    key = keys.new()
    a = scenario.spawn("a")
    shmid = a.call("shmget", key, SIZE, IPC_CREAT | 0o600)
    h = a.call("shmat", shmid, 0)
    scenario.expect(_stat(a, shmid, "key"), Value(key))
    scenario.expect(a.do("shmctl_rmid", shmid), Value(0))
    scenario.expect(_stat(a, shmid, "key"), Value(IPC_PRIVATE), "the marked segment's key")
    other = scenario.spawn("other")
    scenario.expect(other.do("shmget", key, 0, 0), Errno("ENOENT"), "the key names nothing now")
    fresh = other.call("shmget", key, SIZE, IPC_CREAT | 0o600)
    scenario.expect(Value(fresh != shmid), Value(True), "IPC_CREAT made a second segment for the key")
    scenario.expect(_stat(a, shmid, "nattch"), Value(1), "the marked one is still there")
    scenario.expect(other.do("shmctl_rmid", fresh), Value(0))
    scenario.expect(a.do("shmdt", h), Value(0))


@spec(
    "sysv.shm.destroyed-at-last-shmdt",
    "A marked segment lasts as long as any attachment: it survives every shmdt but the last, and "
    "the last one destroys it — IPC_STAT then fails with EINVAL.",
    sources=[MARK, DETACH_DESTROYS, GONE, ("seed S24", S24_TEXT)],
    supports={"S24": "the segment is destroyed exactly when the last attached process detaches"},
)
@given(order=st.sampled_from(["ab", "ba"]))
def test_last_detach_destroys(new_scenario, keys, order):
    with new_scenario() as sc:
        a, b, shmid, _key, ha, hb = _attached_pair(sc, keys)
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))
        (first, fh), (last, lh) = [(a, ha), (b, hb)] if order == "ab" else [(b, hb), (a, ha)]
        sc.expect(first.do("shmdt", fh), Value(0))
        sc.expect(_stat(last, shmid, "nattch"), Value(1), f"{last.name} is still attached")
        sc.expect(last.do("shmdt", lh), Value(0))
        sc.expect(last.do("shmctl_stat", shmid), Errno("EINVAL"), "the last detach destroyed it")


@spec(
    "sysv.shm.destroyed-at-last-exit",
    "The exit of the last attached process destroys a marked segment, as a shmdt would: exit "
    "detaches every segment.",
    sources=[MARK, ("shmop(2)", "Upon _exit(2), all attached shared memory segments are detached from the "
                                "process."), GONE, ("seed S24", S24_TEXT)],
    supports={"S24": "a process that ends without shmdt detaches too, and destroys the marked segment "
                     "if it was the last"},
)
def test_last_exit_destroys(scenario, keys):
    a, b, shmid, key, ha, _hb = _attached_pair(scenario, keys)
    observer = scenario.spawn("observer")
    scenario.expect(observer.do("shmget", key, 0, 0), Value(shmid))
    scenario.expect(a.do("shmctl_rmid", shmid), Value(0))
    scenario.expect(b.do("exit", 0), Exited(0), "b ends without detaching")
    scenario.expect(_stat(observer, shmid, "nattch"), Value(1), "a is still attached")
    scenario.expect(a.do("exit", 0), Exited(0), "the last attached process ends")
    scenario.expect(observer.do("shmctl_stat", shmid), Errno("EINVAL"), "the segment is gone")


@spec(
    "sysv.shm.destroyed-at-last-exec",
    "execve detaches every segment, so the exec of the last attached process destroys a marked "
    "segment, though the process goes on.",
    sources=[MARK, ("shmop(2)", "After an execve(2), all attached shared memory segments are detached from "
                                "the process."), GONE, ("seed S24", S24_TEXT)],
    supports={"S24": "an exec is a detach: it destroys the marked segment when it takes the last "
                     "attachment"},
)
def test_last_exec_destroys(scenario, keys):
    a, b, shmid, _key, ha, _hb = _attached_pair(scenario, keys)
    scenario.expect(a.do("shmctl_rmid", shmid), Value(0))
    scenario.expect(a.do("shmdt", ha), Value(0))
    scenario.expect(_stat(a, shmid, "nattch"), Value(1), "b is the last attached process")
    scenario.expect(b.do("exec_self"), Value(0), "b runs a new program image")
    scenario.expect(a.do("shmctl_stat", shmid), Errno("EINVAL"), "the exec detached b: the segment is gone")


@spec(
    "sysv.shm.rmid-unattached-destroys-at-once",
    "IPC_RMID of a segment nobody has attached destroys it at once: IPC_STAT fails with EINVAL and "
    "the key names nothing.",
    sources=[MARK, GONE, ("seed S24", S24_TEXT)],
    qualifies={"S24": "marking matters only while processes are attached; an unattached segment goes "
                      "at once"},
)
@given(used=st.booleans())
def test_rmid_of_unattached_segment(new_scenario, keys, used):
    key = keys.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        shmid = a.call("shmget", key, SIZE, IPC_CREAT | 0o600)
        if used:  # attached and detached once: nattch is back to 0
            a.call("shmdt", a.call("shmat", shmid, 0))
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))
        sc.expect(a.do("shmctl_stat", shmid), Errno("EINVAL"), "destroyed at once")
        sc.expect(a.do("shmget", key, 0, 0), Errno("ENOENT"))


@spec(
    "sysv.shm.attach-after-rmid",
    "On Linux a process can still attach a marked segment by its id while some attachment keeps it "
    "alive; the new attachment shares the memory and counts in shm_nattch.",
    sources=[("shmop(2)", "On Linux, it is possible to attach a shared memory segment even if it is "
                          "already marked to be deleted. However, POSIX.1 does not specify this behavior "
                          "and many other implementations do not support it."),
             ("shmctl(2)", "Linux permits a process to attach (shmat(2)) a shared memory segment that has "
                           "already been marked for deletion using shmctl(IPC_RMID).")],
    qualifies={"S24": "\"marked\" does not close the segment: on Linux new attachments can still join "
                      "and keep it alive"},
)
def test_attach_a_marked_segment(scenario, keys):
    key = keys.new()
    a = scenario.spawn("a")
    shmid = a.call("shmget", key, SIZE, IPC_CREAT | 0o600)
    ha = a.call("shmat", shmid, 0)
    a.call("shm_write", ha, 0, b"still here")
    scenario.expect(a.do("shmctl_rmid", shmid), Value(0))
    late = scenario.spawn("late")
    hl = late.do("shmat", shmid, 0)
    scenario.expect(Value(hl.ok), Value(True), f"shmat of the marked segment {hl}")
    scenario.expect(late.do("shm_read", hl.detail, 0, 10), Value(b"still here"))
    scenario.expect(_stat(a, shmid, "nattch"), Value(2), "the late attachment counts")
    scenario.expect(a.do("shmdt", ha), Value(0))
    scenario.expect(late.do("shm_read", hl.detail, 0, 10), Value(b"still here"),
                    "the late attachment alone keeps the segment")
    scenario.expect(late.do("shmdt", hl.detail), Value(0))
    scenario.expect(a.do("shmctl_stat", shmid), Errno("EINVAL"), "its last attachment went with it")
