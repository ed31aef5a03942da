"""Attaching a segment: one piece of memory in several address spaces.

``shmat`` maps a segment into the calling process; from then on the
process reads and writes it with ordinary memory accesses, and every other
process that attached the same segment sees the same bytes at once — no
call copies anything. With a NULL address the kernel picks a free place,
so one process can attach a segment twice, at two addresses. ``fork``
copies a process's attachments into the child (they still share the
segment), ``SHM_RDONLY`` maps it read-only, so that a store faults, and the
segment itself belongs to no process: it stays, contents and all, after
its creator has gone, until someone removes it.

Addresses never appear in the specs: ``shmat`` returns a small *handle*
that ``shm_read``, ``shm_write`` and ``shmdt`` take.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import IPC_CREAT, SHM_RDONLY
from conformance.clauses import spec
from conformance.outcome import Exited, Killed, Value

SIZE = 4096
L05_TEXT = ("Create/open with msgget/semget/shmget; control/remove with msgctl/semctl/shmctl; operate "
            "with msgsnd/msgrcv, semop, shmat/shmdt.")
S23_TEXT = "`shmat` with a NULL address lets the system choose where to attach."
S25_TEXT = "A segment outlives the processes that made it, until removed."
ATTACH = ("shmop(2)", "shmat() attaches the System V shared memory segment identified by shmid to the "
                      "address space of the calling process.")
NULL_ADDRESS = ("shmop(2)", "If shmaddr is NULL, the system chooses a suitable (unused) page-aligned "
                            "address to attach the segment.")
#: a piece of data and where it goes in the segment
WRITES = st.tuples(st.integers(0, SIZE - 64), st.binary(min_size=1, max_size=64))


def _nattch(actor, shmid):
    """The segment's shm_nattch (or the failed outcome)."""
    out = actor.do("shmctl_stat", shmid)
    return Value(out.detail["nattch"]) if out.ok else out


@spec(
    "sysv.shm.visible-across-processes",
    "Bytes one process stores through its attachment are there, at once, for another process "
    "reading through its own attachment of the segment (opened by key), and the other way round.",
    sources=[
        ATTACH,
        ("sysvipc(7)", "System V shared memory allows processes to share a region a memory (a "
                       "\"segment\")."),
        ("shmop(2), EXAMPLES", "It attaches the existing shared memory segment, copies the string to the "
                               "shared memory, and modifies the semaphore value."),
        ("seed L05", L05_TEXT),
    ],
    supports={"L01": "shared memory is an IPC mechanism of Linux: one process's writes are read by another",
              "L05": "shmget opens the segment by key, shmat attaches it, shmdt detaches it; the data "
                     "moves by plain memory access"},
)
@given(first=WRITES, reply=WRITES)
@example(first=(0, b"Hello?\n"), reply=(0, b"Can you hear me?\n"))
def test_stores_are_seen_by_the_other_process(new_scenario, keys, first, reply):
    key = keys.new()
    with new_scenario() as sc:
        writer = sc.spawn("writer")
        shmid = writer.call("shmget", key, SIZE, IPC_CREAT | 0o600)
        wh = writer.call("shmat", shmid, 0)
        reader = sc.spawn("reader")  # unrelated: finds the segment by its key
        rh = reader.call("shmat", reader.call("shmget", key, 0, 0), 0)
        for source, sh, sink, kh, (offset, data) in ((writer, wh, reader, rh, first),
                                                      (reader, rh, writer, wh, reply)):
            sc.expect(source.do("shm_write", sh, offset, data), Value(len(data)))
            sc.expect(sink.do("shm_read", kh, offset, len(data)), Value(data),
                      f"{source.name} stored it; {sink.name} reads it in its own attachment")
        for actor, h in ((writer, wh), (reader, rh)):
            sc.expect(actor.do("shmdt", h), Value(0))
        sc.expect(writer.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.null-address-distinct-attachments",
    "shmat with a NULL address lets the kernel place the segment; attaching one segment twice in "
    "one process that way gives two distinct attachments of the same memory: each works, and "
    "detaching one leaves the other attached.",
    sources=[
        NULL_ADDRESS,
        ("shmop(2)", "The same segment may be attached as a read and as a read-write one, and more than "
                     "once, in the process's address space."),
        ("shmop(2)", "Using shmat() with shmaddr equal to NULL is the preferred, portable way of "
                     "attaching a shared memory segment."),
        ("seed S23", S23_TEXT),
    ],
    supports={"S23": "with NULL the kernel chooses an unused place each time: a second attachment in "
                     "the same process lands elsewhere and works on its own"},
)
@given(data=WRITES)
@example(data=(0, b"twice"))
def test_null_address_attaches_anew(new_scenario, keys, data):
    offset, payload = data
    with new_scenario() as sc:
        a = sc.spawn("a")
        shmid = a.call("shmget", keys.new(), SIZE, IPC_CREAT | 0o600)
        first = a.call("shmat_at", shmid, "null", 0)
        second = a.call("shmat_at", shmid, "null", 0)
        sc.expect(Value(first != second), Value(True), "two attachments, two handles")
        sc.expect(_nattch(a, shmid), Value(2), "the kernel counts both")
        sc.expect(a.do("shm_write", first, offset, payload), Value(len(payload)))
        sc.expect(a.do("shm_read", second, offset, len(payload)), Value(payload), "one memory behind both")
        sc.expect(a.do("shmdt", first), Value(0))
        sc.expect(a.do("shm_read", second, offset, len(payload)), Value(payload),
                  "the second attachment outlives the first")
        sc.expect(_nattch(a, shmid), Value(1))
        sc.expect(a.do("shmdt", second), Value(0))
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.fork-inherits-attachments",
    "A child made by fork inherits its parent's attachments: shm_nattch rises by one, and parent "
    "and child read and write the same memory through them.",
    sources=[("shmop(2)", "After a fork(2), the child inherits the attached shared memory segments."),
             ("shmctl(2)", "shm_nattch Number of processes that have this segment attached.")],
)
@given(parent_data=WRITES, child_data=WRITES)
@example(parent_data=(0, b"from the parent"), child_data=(0, b"from the child"))
def test_fork_shares_the_attachment(new_scenario, keys, parent_data, child_data):
    with new_scenario() as sc:
        parent = sc.spawn("parent")
        shmid = parent.call("shmget", keys.new(), SIZE, IPC_CREAT | 0o600)
        h = parent.call("shmat", shmid, 0)
        offset, data = parent_data
        parent.call("shm_write", h, offset, data)
        child = parent.fork("child")
        sc.expect(_nattch(child, shmid), Value(2), "the child's inherited attachment is counted")
        sc.expect(child.do("shm_read", h, offset, len(data)), Value(data), "the child sees the segment")
        offset, data = child_data
        sc.expect(child.do("shm_write", h, offset, data), Value(len(data)))
        sc.expect(parent.do("shm_read", h, offset, len(data)), Value(data),
                  "the child's store is in the parent's memory too")
        sc.expect(child.do("exit", 0), Exited(0))
        sc.expect(_nattch(parent, shmid), Value(1), "the child's exit detached its copy")
        sc.expect(parent.do("shmdt", h), Value(0))
        sc.expect(parent.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.rdonly-write-faults",
    "A segment attached with SHM_RDONLY can be read but not written: a store through that "
    "attachment is a memory fault, and the process dies of SIGSEGV.",
    sources=[("shmop(2)", "SHM_RDONLY Attach the segment for read-only access. The process must have read "
                          "permission for the segment.")],
)
def test_store_through_rdonly_attachment_faults(scenario, keys):
    owner = scenario.spawn("owner")
    shmid = owner.call("shmget", keys.new(), SIZE, IPC_CREAT | 0o600)
    rw = owner.call("shmat", shmid, 0)
    owner.call("shm_write", rw, 0, b"read me")
    reader = scenario.spawn("reader")
    ro = reader.call("shmat", shmid, SHM_RDONLY)
    scenario.expect(reader.do("shm_read", ro, 0, 7), Value(b"read me"), "reading is allowed")
    scenario.expect(reader.do("shm_write", ro, 0, b"overwrite"), Killed("SIGSEGV"),
                    "the page is mapped read-only")
    scenario.expect(owner.do("shm_read", rw, 0, 7), Value(b"read me"), "nothing was stored")
    scenario.expect(owner.do("shmdt", rw), Value(0))
    scenario.expect(owner.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.outlives-creator",
    "A segment belongs to no process: after its creator has detached and exited, a process started "
    "afterwards opens it by key, finds the same id and creator, and reads what the creator wrote.",
    sources=[
        ("shmctl(2)", "IPC_RMID Mark the segment to be destroyed. The segment will actually be destroyed "
                      "only after the last process detaches it (i.e., when the shm_nattch member of the "
                      "associated structure shmid_ds is zero)."),
        ("shmctl(2)", "The caller must ensure that a segment is eventually destroyed; otherwise its pages "
                      "that were faulted in will remain in memory or swap."),
        ("seed S25", S25_TEXT),
    ],
    supports={"S25": "the creator is gone and nobody is attached, yet the segment and its contents "
                     "remain until IPC_RMID"},
)
def test_segment_outlives_its_creator(scenario, keys):
    key = keys.new()
    creator = scenario.spawn("creator")
    shmid = creator.call("shmget", key, SIZE, IPC_CREAT | 0o600)
    h = creator.call("shmat", shmid, 0)
    creator.call("shm_write", h, 0, b"left behind")
    scenario.expect(creator.do("shmdt", h), Value(0))
    scenario.expect(creator.do("exit", 0), Exited(0), "the creator is gone")
    later = scenario.spawn("later")  # did not exist while the creator lived
    scenario.expect(later.do("shmget", key, 0, 0), Value(shmid), "the key still names the segment")
    out = later.do("shmctl_stat", shmid)
    scenario.expect(Value(out.detail["cpid"] if out.ok else out), Value(ActorRef("creator")))
    h = later.call("shmat", shmid, 0)
    scenario.expect(later.do("shm_read", h, 0, 11), Value(b"left behind"), "the contents stayed too")
    scenario.expect(later.do("shmdt", h), Value(0))
    scenario.expect(later.do("shmctl_rmid", shmid), Value(0))
