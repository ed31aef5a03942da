"""shmget and sizes: what size creates a segment, and what size opens one.

The seed says processes sharing a segment "must ask for the same size"
(S21), and that the size is a minimum, with 0 used to open an existing
segment (S22). Linux's rule is simpler and looser: ``size`` matters when
a segment is *created* — it must be at least SHMMIN (1) and at most
SHMMAX, the segment records exactly that size in ``shm_segsz`` (the memory
behind it is a whole number of pages), and it starts filled with zeros.
When the key names an existing segment, ``size`` is only a check: any
size up to the segment's own is accepted, 0 included, and a larger one
fails with EINVAL — the segment is never resized.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT, IPC_EXCL
from conformance.clauses import spec
from conformance.outcome import Errno, Value

PAGE = os.sysconf("SC_PAGE_SIZE")
S21_TEXT = "Processes sharing a segment must ask for the same size."
S22_TEXT = ("`shmget` returns the existing segment's id if the key exists, else creates one (with "
            "`IPC_CREAT`); size is a minimum; 0 is used to attach to an existing one.")
TOO_LARGE = ("shmget(2)", "EINVAL A segment for the given key exists, but size is greater than the size "
                          "of that segment.")
OUT_OF_BOUNDS = ("shmget(2)", "EINVAL A new segment was to be created and size is less than SHMMIN or "
                              "greater than SHMMAX.")
SEGSZ = ("shmget(2)", "shm_segsz is set to the value of size.")
SIZES = st.integers(1, 3 * PAGE)


def _segsz(actor, shmid):
    """The segment's shm_segsz (or the failed outcome)."""
    out = actor.do("shmctl_stat", shmid)
    return Value(out.detail["segsz"]) if out.ok else out


@spec(
    "sysv.shm.open-with-smaller-size",
    "shmget of an existing segment's key accepts any size from 0 up to the segment's size, with or "
    "without IPC_CREAT, and returns the segment's id; the segment keeps its size.",
    sources=[
        ("shmget(2)", "shmget() returns the identifier of the System V shared memory segment associated "
                      "with the value of the argument key. It may be used either to obtain the "
                      "identifier of a previously created shared memory segment (when shmflg is zero and "
                      "key does not have the value IPC_PRIVATE), or to create a new set."),
        TOO_LARGE,
        ("seed S21", S21_TEXT),
        ("seed S22", S22_TEXT),
    ],
    contradicts={"S21": "the sizes need not be the same: any size up to the segment's own (0 included) "
                        "opens it; only a larger one is refused"},
    supports={"S22": "the key's existing segment is returned, and 0 opens it"},
)
@given(size=SIZES, asked=SIZES, flags=st.sampled_from([0, IPC_CREAT]))
@example(size=PAGE, asked=0, flags=0)
@example(size=PAGE, asked=100, flags=0)
def test_open_with_any_smaller_size(new_scenario, keys, size, asked, flags):
    asked = asked % (size + 1)  # 0 ..= size
    key = keys.new()
    with new_scenario() as sc:
        creator = sc.spawn("creator")
        shmid = creator.call("shmget", key, size, IPC_CREAT | 0o600)
        opener = sc.spawn("opener")
        sc.expect(opener.do("shmget", key, asked, flags), Value(shmid),
                  f"size {asked} for a segment of {size} bytes")
        sc.expect(_segsz(opener, shmid), Value(size), "the segment keeps its size")
        sc.expect(creator.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.open-with-larger-size-einval",
    "shmget of an existing segment's key with a size larger than the segment's fails with EINVAL, "
    "with or without IPC_CREAT — even when the larger size still fits in the segment's last page: "
    "the comparison is with the size it was created with.",
    sources=[TOO_LARGE, SEGSZ, ("seed S21", S21_TEXT), ("seed S22", S22_TEXT)],
    qualifies={
        "S21": "what is required is not the same size but no larger a size",
        "S22": "with IPC_CREAT an existing key returns its id only if size is not larger than the "
               "segment; shmget never makes a second, bigger segment for the key",
    },
)
@given(size=SIZES, extra=st.integers(1, PAGE), flags=st.sampled_from([0, IPC_CREAT]))
@example(size=100, extra=1, flags=0)
@example(size=PAGE, extra=PAGE, flags=IPC_CREAT)
def test_open_with_larger_size_fails(new_scenario, keys, size, extra, flags):
    key = keys.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        shmid = a.call("shmget", key, size, IPC_CREAT | 0o600)
        sc.expect(a.do("shmget", key, size + extra, flags), Errno("EINVAL"),
                  f"size {size + extra} for a segment of {size} bytes")
        sc.expect(_segsz(a, shmid), Value(size), "the segment was not resized")
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.create-size-zero-einval",
    "shmget that would create a segment of size 0 (below SHMMIN, 1 byte) fails with EINVAL and "
    "creates nothing: size 0 only opens an existing segment.",
    sources=[OUT_OF_BOUNDS,
             ("shmget(2)", "SHMMIN Minimum size in bytes for a shared memory segment: implementation "
                           "dependent (currently 1 byte, though PAGE_SIZE is the effective minimum size)."),
             ("seed S22", S22_TEXT)],
    qualifies={"S22": "0 is for opening only: creating with size 0 fails"},
)
def test_create_with_size_zero_fails(scenario, keys):
    key = keys.new()
    a = scenario.spawn("a")
    scenario.expect(a.do("shmget", key, 0, IPC_CREAT | 0o600), Errno("EINVAL"))
    scenario.expect(a.do("shmget", key, 0, 0), Errno("ENOENT"), "no segment was created")


@spec(
    "sysv.shm.create-above-shmmax-einval",
    "shmget that would create a segment larger than SHMMAX (/proc/sys/kernel/shmmax) fails with "
    "EINVAL and creates nothing; SHMMAX bytes exactly is allowed.",
    sources=[OUT_OF_BOUNDS,
             ("shmget(2)", "SHMMAX Maximum size in bytes for a shared memory segment. On Linux, this limit "
                           "can be read and modified via /proc/sys/kernel/shmmax.")],
    requires=("root",),
)
@given(shmmax=st.integers(1, 4 * PAGE), over=st.integers(1, PAGE))
@example(shmmax=2 * PAGE, over=1)
def test_create_above_shmmax_fails(new_scenario, keys, sysv_limits, shmmax, over):
    sysv_limits.set("shmmax", shmmax)
    key = keys.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        sc.expect(a.do("shmget", key, shmmax + over, IPC_CREAT | 0o600), Errno("EINVAL"),
                  f"{shmmax + over} bytes with SHMMAX {shmmax}")
        sc.expect(a.do("shmget", key, 0, 0), Errno("ENOENT"), "no segment was created")
        shmid = a.call("shmget", key, shmmax, IPC_CREAT | 0o600)
        sc.expect(_segsz(a, shmid), Value(shmmax), "SHMMAX bytes exactly")
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.segsz-as-requested",
    "A new segment's shm_segsz is exactly the size asked for, not rounded up to a page.",
    sources=[SEGSZ,
             ("shmget(2)", "A new shared memory segment, with size equal to the value of size rounded up "
                           "to a multiple of PAGE_SIZE, is created if key has the value IPC_PRIVATE or "
                           "key isn't IPC_PRIVATE, no shared memory segment corresponding to key exists, "
                           "and IPC_CREAT is specified in shmflg."),
             ("seed S22", S22_TEXT)],
    qualifies={"S22": "the size is not a minimum the kernel may raise: shm_segsz is the size asked for "
                      "(only the memory behind it is rounded up to a page)"},
)
@given(size=SIZES)
@example(size=1)
@example(size=PAGE + 1)
def test_segsz_is_the_size_asked(new_scenario, keys, size):
    with new_scenario() as sc:
        a = sc.spawn("a")
        shmid = a.call("shmget", keys.new(), size, IPC_CREAT | 0o600)
        sc.expect(_segsz(a, shmid), Value(size))
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))


@spec(
    "sysv.shm.new-segment-zeroed",
    "A new segment's contents are all zero bytes.",
    sources=[("shmget(2)", "When a new shared memory segment is created, its contents are initialized to "
                           "zero values, and its associated data structure, shmid_ds (see shmctl(2)), is "
                           "initialized as follows:")],
)
@given(size=SIZES, flags=st.sampled_from([IPC_CREAT, IPC_CREAT | IPC_EXCL]))
@example(size=128, flags=IPC_CREAT)
@example(size=128, flags=IPC_CREAT | IPC_EXCL)
def test_new_segment_is_zeroed(new_scenario, keys, size, flags):
    with new_scenario() as sc:
        a = sc.spawn("a")
        shmid = a.call("shmget", keys.new(), size, flags | 0o600)
        h = a.call("shmat", shmid, 0)
        sc.expect(a.do("shm_read", h, 0, size), Value(bytes(size)), f"{size} new bytes")
        sc.expect(a.do("shmdt", h), Value(0))
        sc.expect(a.do("shmctl_rmid", shmid), Value(0))
