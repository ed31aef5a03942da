"""POSIX shared memory used by several processes, checked step by step against the model.

A Hypothesis state machine: each rule is one operation of one idle actor —
shm_open (with and without O_CREAT, O_EXCL, O_TRUNC, read-only and
read-write, on a small pool of names), ftruncate to sizes around the page
boundaries, fstat, stat of /dev/shm/NAME, mmap (MAP_SHARED, MAP_PRIVATE,
shared anonymous; read-only and read-write; one to three pages), stores and
loads at offsets around the page boundaries — within the object, past its
end inside its last page, and in pages wholly beyond it (SIGBUS) — munmap,
close, shm_unlink, and fork, exit and kill — run on the system under test
and on the process model with its
:class:`~conformance.models.posix.shm.ShmModel` in lockstep
(:class:`~conformance.harness.checked.CheckedScenario`). Every outcome,
every byte a load returns and every death must agree.

Every run starts alike: ``a0`` creates an object of one page and 100 bytes,
maps two pages of it MAP_SHARED, forks ``a1``, and ``a1`` loads what ``a0``
stored; the rules go on from there.
"""

import os

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from conformance.clauses import spec
from conformance.models import ProcessModel
from conformance.models.submodel import host_params
from conformance.strategies.machine import MechanismMachine, machine_for, model_limits

PAGE = os.sysconf("SC_PAGE_SIZE")
CREAT, EXCL, RDWR, RDONLY, TRUNC = os.O_CREAT, os.O_EXCL, os.O_RDWR, os.O_RDONLY, os.O_TRUNC
OPEN_FLAGS = st.sampled_from([CREAT | RDWR, CREAT | EXCL | RDWR, RDWR, RDONLY, CREAT | RDONLY,
                              RDWR | TRUNC])
SIZES = st.sampled_from([0, 1, 100, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 3 * PAGE])
LENGTHS = st.sampled_from([1, PAGE, 2 * PAGE, 3 * PAGE])
#: around the page boundaries, and around the setup object's end (PAGE + 100, inside its last page)
OFFSETS = st.sampled_from([0, 100, PAGE - 8, PAGE + 96, 2 * PAGE - 8, 2 * PAGE + 3, 3 * PAGE])
COUNTS = st.sampled_from([0, 1, 16, 160])


class ShmMachine(MechanismMachine):
    """Shared memory objects, their mappings and processes; no files, pipes or FIFOs."""

    names: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        #: the offsets stores went to: loads look there half the time
        self.stored: list[int] = []
        #: the actor that stored last: loads are made by another when they can
        self.storer = ""

    def setup_objects(self, actor: str) -> None:
        # an object ending inside its second page, mapped over two pages by two processes
        fd = self.do(actor, "shm_open", self.names[0], CREAT | RDWR, 0o600).detail
        self.do(actor, "ftruncate", fd, PAGE + 100)
        self.do(actor, "mmap", fd, 2 * PAGE, "rw", "shared")
        child = f"a{self.spawned}"
        self.spawned += 1
        self.do(actor, "fork", child)
        # and one store seen by the other process, so every run starts from shared data
        self.stored.append(0)
        self.do(actor, "map_write", 0, 0, b"setup")
        self.do(child, "map_read", 0, 0, 5)

    def _shm(self):  # type: ignore[no-untyped-def]
        return self.sc.model.submodel("posix_shm")

    def _holder(self, data: st.DataObject, table: str) -> str:
        """Mostly an idle actor holding descriptors (``fds``) or mappings (``maps``), sometimes any."""
        holders = [a for a in self.idle() if getattr(self._shm().procs[a], table)]
        if holders and data.draw(st.integers(0, 9), label="aim") < 9:
            return data.draw(st.sampled_from(holders), label="actor")
        return self.actor(data)

    def shm_fd(self, data: st.DataObject, actor: str) -> int:
        held = sorted(self._shm().procs[actor].fds)
        if held and data.draw(st.integers(0, 9), label="aim") < 9:
            return data.draw(st.sampled_from(held), label="fd")
        return data.draw(st.integers(3, 6), label="fd")

    def handle(self, data: st.DataObject, actor: str) -> int:
        held = sorted(self._shm().procs[actor].maps)
        if held and data.draw(st.integers(0, 9), label="aim") < 9:
            return data.draw(st.sampled_from(held), label="handle")
        return data.draw(st.integers(0, 3), label="handle")

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), which=st.integers(0, 1), flags=OPEN_FLAGS,
          op=st.sampled_from(["shm_open", "shm_open", "shm_unlink", "stat"]))
    def by_name(self, data: st.DataObject, which: int, flags: int, op: str) -> None:
        actor, name = self.actor(data), self.names[which]
        if op == "shm_open":
            self.do(actor, op, name, flags, 0o600)
        elif op == "shm_unlink":
            self.do(actor, op, name)
        else:
            self.do(actor, op, f"/dev/shm{name}")

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=SIZES, op=st.sampled_from(["ftruncate", "fstat", "close"]))
    def by_descriptor(self, data: st.DataObject, size: int, op: str) -> None:
        actor = self._holder(data, "fds")
        if op == "close":
            held = sorted(self._shm().procs[actor].fds)
            if held:  # close of a number nobody holds is the descriptor machines' business
                self.do(actor, "close", data.draw(st.sampled_from(held), label="fd"))
        else:
            fd = self.shm_fd(data, actor)
            self.do(actor, op, *((fd, size) if op == "ftruncate" else (fd,)))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), length=LENGTHS, prot=st.sampled_from(["rw", "r"]),
          kind=st.sampled_from(["shared", "shared", "private", "shared-anon"]))
    def mmap(self, data: st.DataObject, length: int, prot: str, kind: str) -> None:
        actor = self.actor(data) if kind.endswith("anon") else self._holder(data, "fds")
        fd = -1 if kind.endswith("anon") else self.shm_fd(data, actor)
        self.do(actor, "mmap", fd, length, prot, kind)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), offset=OFFSETS, size=st.integers(1, 8))
    def store(self, data: st.DataObject, offset: int, size: int) -> None:
        actor = self._holder(data, "maps")
        self.tag += 1
        payload = bytes((self.tag * 37 + i) % 255 + 1 for i in range(size))
        self.stored.append(offset)
        self.storer = actor
        self.do(actor, "map_write", self.handle(data, actor), offset, payload)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), offset=OFFSETS, count=COUNTS)
    def load(self, data: st.DataObject, offset: int, count: int) -> None:
        others = [a for a in self.idle() if a != self.storer and self._shm().procs[a].maps]
        actor = data.draw(st.sampled_from(others), label="actor") if others else self._holder(data, "maps")
        if self.stored and data.draw(st.booleans(), label="where a store went"):
            offset = data.draw(st.sampled_from(self.stored), label="offset")
        self.do(actor, "map_read", self.handle(data, actor), offset, count)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def munmap(self, data: st.DataObject) -> None:
        actor = self._holder(data, "maps")
        self.do(actor, "munmap", self.handle(data, actor))


@spec(
    "posix.shm.model.multi-process",
    "Any sequence of shm_open, ftruncate, fstat, mmap, stores and loads, munmap, close, shm_unlink, "
    "fork, exit and kill by several processes has the outcomes the reference model predicts: "
    "MAP_SHARED stores are every mapper's loads, MAP_PRIVATE ones the storer's alone, a page past "
    "the object's end is SIGBUS, and an unlinked object lives while a descriptor or mapping holds it.",
    sources=[("shm_overview(7)", "POSIX shared memory objects have kernel persistence: a shared memory "
                                 "object will exist until the system is shut down, or until all "
                                 "processes have unmapped the object and it has been deleted with "
                                 "shm_unlink(3)"),
             ("mmap(2)", "MAP_SHARED Share this mapping. Updates to the mapping are visible to other "
                         "processes mapping the same region"),
             ("mmap(2)", "SIGBUS Attempted access to a page of the buffer that lies beyond the end of the "
                         "mapped file."),
             ("shm_open(3)", "A new shared memory object initially has zero length—the size of the object "
                             "can be set using ftruncate(2).")],
)
def test_posix_shm_machine(new_scenario, posix_names):
    names = [posix_names.new(), posix_names.new()]

    def make_scenario():  # type: ignore[no-untyped-def]
        posix_names.given.extend(names)
        posix_names.sweep()  # each run starts with no objects
        posix_names.given.extend(names)  # and the fixture removes what it leaves
        return new_scenario()

    machine = machine_for(make_scenario,
                          lambda: ProcessModel(**model_limits(), mechanisms=host_params()), ShmMachine)
    machine.names = names
    run_state_machine_as_test(machine)
