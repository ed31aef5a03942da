"""Shared memory does not synchronize: readers see half-written data and cannot tell new from old.

The seed says of shared memory that "it is synchronized, but another
process cannot know when a value was written, that is, whether it is an
old value or a new one" (S26), and the slides that shared memory needs a
separate synchronization mechanism such as a semaphore (L04). The second
half of S26 holds; the first does not. A segment is plain memory: a store
is seen by every attached process as soon as it is made, one store at a
time. Nothing groups the stores of a record into one update, nothing makes
a reader wait for a writer, and nothing records that a store happened. A
reader that runs between two stores of a writer sees a record that was
never written as such — a *torn read* — and a reader that finds a value
cannot learn whether it was just written or has been there all along.

The harness makes the interleavings explicit: each store and each read is
one step, so "the reader runs between the writer's two stores" is a
schedule, not a race that might or might not happen.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT
from conformance.clauses import spec
from conformance.outcome import Value

SIZE = 4096
S26_TEXT = "Shared memory is synchronized, but a reader cannot tell whether a value is old or new."
L04_TEXT = "Shared memory needs a separate synchronization mechanism such as a semaphore."
PLAIN_MEMORY = ("shmop(2)", "The two programs shown below exchange a string using a shared memory segment.")
#: fields of a record: 1 to 8 bytes each
FIELD = st.integers(1, 8)


def _writer_and_reader(sc, keys, initial=b""):
    """Actors writer and reader, both attached to one new segment: (writer, reader, shmid, wh, rh).

    The writer stores ``initial`` at offset 0 before the reader attaches.
    """
    key = keys.new()
    writer = sc.spawn("writer")
    shmid = writer.call("shmget", key, SIZE, IPC_CREAT | 0o600)
    wh = writer.call("shmat", shmid, 0)
    if initial:
        writer.call("shm_write", wh, 0, initial)
    reader = sc.spawn("reader")
    rh = reader.call("shmat", reader.call("shmget", key, 0, 0), 0)
    return writer, reader, shmid, wh, rh


def _done(sc, writer, reader, shmid, wh, rh):
    sc.expect(writer.do("shmdt", wh), Value(0))
    sc.expect(reader.do("shmdt", rh), Value(0))
    sc.expect(writer.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.torn-read",
    "A reader that reads a record between the stores of a writer updating it sees the new values of "
    "the fields already stored and the old values of the rest: a mixture that was never written as "
    "a whole. Shared memory groups no stores into one update and makes no reader wait.",
    sources=[
        ("sysvipc(7)", "System V shared memory allows processes to share a region a memory (a "
                       "\"segment\")."),
        ("shmop(2), EXAMPLES", "The \"writer\" program takes three command-line arguments: the IDs of the "
                               "shared memory segment and semaphore set that have already been created by "
                               "the \"reader\", and a string. It attaches the existing shared memory "
                               "segment, copies the string to the shared memory, and modifies the "
                               "semaphore value."),
        ("seed S26", S26_TEXT),
        ("seed L04", L04_TEXT),
    ],
    contradicts={"S26": "shared memory is not synchronized: a reader can see a record half old, half "
                        "new, and nothing makes it wait for the writer"},
    supports={"L04": "without a separate mechanism, readers see half-written records"},
)
@given(widths=st.lists(FIELD, min_size=2, max_size=4), cut=st.integers(1, 3))
@example(widths=[8, 8], cut=1)
def test_reader_sees_half_a_record(new_scenario, keys, widths, cut):
    cut = 1 + (cut - 1) % (len(widths) - 1)  # 1 ..= len(widths) - 1 stores before the read
    old = [bytes([0x0A]) * w for w in widths]
    new = [bytes([0xB0 + i]) * w for i, w in enumerate(widths)]
    offsets = [sum(widths[:i]) for i in range(len(widths))]
    with new_scenario() as sc:
        writer, reader, shmid, wh, rh = _writer_and_reader(sc, keys)
        writer.call("shm_write", wh, 0, b"".join(old))
        for i in range(cut):  # the writer has stored only the first ``cut`` fields so far
            sc.expect(writer.do("shm_write", wh, offsets[i], new[i]), Value(widths[i]))
        torn = b"".join(new[:cut] + old[cut:])
        sc.expect(reader.do("shm_read", rh, 0, sum(widths)), Value(torn),
                  f"{cut} of {len(widths)} fields stored: the reader sees them and the old rest")
        for i in range(cut, len(widths)):
            sc.expect(writer.do("shm_write", wh, offsets[i], new[i]), Value(widths[i]))
        sc.expect(reader.do("shm_read", rh, 0, sum(widths)), Value(b"".join(new)), "the whole new record")
        _done(sc, writer, reader, shmid, wh, rh)


@spec(
    "sysv.shm.writes-leave-no-trace",
    "A store into a segment changes its bytes and nothing else: IPC_STAT is the same before and "
    "after (no field names the writer, counts or times the write), and storing the bytes that were "
    "there already is invisible — a reader cannot tell a rewritten value from an untouched one.",
    sources=[
        ("shmctl(2)", "shm_lpid ID of the last process that executed a shmat(2) or shmdt(2) system call "
                      "on this segment."),
        ("shmctl(2)", "shm_atime Time of the last shmat(2) system call that attached this segment."),
        ("seed S26", S26_TEXT),
    ],
    supports={"S26": "the second half holds: nothing — not the bytes, not shmid_ds — records that or "
                     "when a value was written, so a reader cannot tell new from old"},
)
@given(value=st.binary(min_size=1, max_size=32), rewrite=st.booleans())
@example(value=b"same", rewrite=True)
def test_a_store_is_not_recorded(new_scenario, keys, value, rewrite):
    with new_scenario() as sc:
        writer, reader, shmid, wh, rh = _writer_and_reader(sc, keys, initial=value)
        first_read = reader.do("shm_read", rh, 0, len(value))
        before = reader.do("shmctl_stat", shmid)
        if rewrite:
            sc.expect(writer.do("shm_write", wh, 0, value), Value(len(value)), "the same bytes again")
        sc.expect(reader.do("shm_read", rh, 0, len(value)), first_read,
                  "rewritten or not, the reader reads the same")
        sc.expect(reader.do("shmctl_stat", shmid), before, "IPC_STAT did not change")
        _done(sc, writer, reader, shmid, wh, rh)


@spec(
    "sysv.shm.read-does-not-consume",
    "Reading a segment takes nothing out of it: every read returns the bytes stored last, as often "
    "as it is repeated, so a value read again looks exactly like a new one.",
    sources=[PLAIN_MEMORY, ("seed S26", S26_TEXT)],
    supports={"S26": "unlike a message queue, reading leaves the value in place; whether it is new is "
                     "not something a read can tell"},
)
@given(value=st.binary(min_size=1, max_size=64), reads=st.integers(2, 4))
def test_reads_leave_the_value(new_scenario, keys, value, reads):
    with new_scenario() as sc:
        writer, reader, shmid, wh, rh = _writer_and_reader(sc, keys)
        writer.call("shm_write", wh, 0, value)
        for n in range(reads):
            sc.expect(reader.do("shm_read", rh, 0, len(value)), Value(value), f"read {n + 1}")
        sc.expect(writer.do("shm_read", wh, 0, len(value)), Value(value), "the writer's view is unchanged")
        _done(sc, writer, reader, shmid, wh, rh)
