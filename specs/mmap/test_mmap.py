"""Memory maps: sharing a file through memory (claim S30, and S31's "page unit").

The seed's sender opens temp.txt with O_RDWR|O_CREAT, maps 40 bytes
MAP_SHARED and copies a string in; its receiver maps the same 40 bytes and
prints them. These specs check what that relies on — and what happens when
the file is new and therefore empty.
"""

import os

from conformance.clauses import spec
from conformance.outcome import Killed, Value

MMAP_2 = "mmap(2)"
RW_CREAT = os.O_RDWR | os.O_CREAT
SHARED_QUOTE = ("MAP_SHARED Share this mapping. Updates to the mapping are visible to other "
                "processes mapping the same region, and (in the case of file-backed mappings) "
                "are carried through to the underlying file.")
PAGE = os.sysconf("SC_PAGE_SIZE")


def mapped_file(actor, name, size, length, kind="shared", prot="rw"):
    """Open (creating) ``name``, give it ``size`` bytes, map ``length``; returns (fd, handle)."""
    fd = actor.call("open", name, RW_CREAT, 0o644)
    actor.call("ftruncate", fd, size)
    return fd, actor.call("mmap", fd, length, prot, kind)


@spec(
    "mmap.shared.unrelated-processes",
    "Two unrelated processes mapping one file MAP_SHARED see each other's writes through memory.",
    sources=[(MMAP_2, SHARED_QUOTE),
             ("seed S30", "Two processes mapping one file MAP_SHARED see each other's writes")],
    supports={"S30": "a store by one process is a load away for the other, no read(2) involved",
              "S31": "a memory map is two-way between processes"},
)
def test_shared_mapping_between_unrelated_processes(scenario):
    sender, receiver = scenario.spawn("sender"), scenario.spawn("receiver")
    _fd, out = mapped_file(sender, "temp.txt", 40, 40)
    _fd2, inp = mapped_file(receiver, "temp.txt", 40, 40)
    sender.call("map_write", out, 0, b"This is the memory map!\n")
    scenario.expect(receiver.do("map_read", inp, 0, 24), Value(b"This is the memory map!\n"))
    receiver.call("map_write", inp, 30, b"ack")
    scenario.expect(sender.do("map_read", out, 30, 3), Value(b"ack"), "and back the other way")


@spec(
    "mmap.shared.reaches-the-file",
    "Stores to a MAP_SHARED file mapping are seen by read(2) on the file, without msync.",
    source=(MMAP_2, SHARED_QUOTE),
    supports={"S30": "the mapping is the file: no copy through a user buffer"},
)
def test_shared_mapping_reaches_the_file(scenario):
    a = scenario.spawn("a")
    fd, handle = mapped_file(a, "f", 16, 16)
    a.call("map_write", handle, 0, b"through memory")
    other = scenario.spawn("b")
    rfd = other.call("open", "f", os.O_RDONLY, 0)
    scenario.expect(other.do("read", rfd, 14), Value(b"through memory"))
    scenario.expect(a.do("msync", handle), Value(0))


@spec(
    "mmap.private.copy-on-write",
    "Stores to a MAP_PRIVATE mapping are seen neither by other processes nor in the file.",
    source=(MMAP_2, "MAP_PRIVATE Create a private copy-on-write mapping. Updates to the mapping "
                    "are not visible to other processes mapping the same file, and are not "
                    "carried through to the underlying file."),
    qualifies={"S30": "only MAP_SHARED shares: MAP_PRIVATE gives each process its own copy"},
)
def test_private_mapping_is_copy_on_write(scenario):
    a, b = scenario.spawn("a"), scenario.spawn("b")
    fd, private = mapped_file(a, "f", 8, 8, kind="private")
    a.call("map_write", private, 0, b"mine")
    _fd, shared = mapped_file(b, "f", 8, 8)
    scenario.expect(b.do("map_read", shared, 0, 4), Value(b"\0\0\0\0"), "not visible to others")
    scenario.expect(a.do("read", fd, 4), Value(b"\0\0\0\0"), "not in the file")
    scenario.expect(a.do("map_read", private, 0, 4), Value(b"mine"), "but kept in the copy")


@spec(
    "mmap.beyond-eof.sigbus",
    "Touching a mapped page that lies wholly beyond the end of the file kills the process with "
    "SIGBUS; mapping an empty file succeeds, so the seed's sender dies on its first store when "
    "temp.txt was just created.",
    source=(MMAP_2, "SIGBUS Attempted access to a page of the buffer that lies beyond the end of "
                    "the mapped file."),
    qualifies={"S30": "only if temp.txt already holds 40 bytes: the seed creates it empty "
                      "(O_CREAT) and never extends it, and its first strcpy then dies of SIGBUS"},
)
def test_store_beyond_end_of_file_is_sigbus(scenario):
    sender = scenario.spawn("sender")
    fd = sender.call("open", "temp.txt", RW_CREAT, 0o644)
    handle = sender.call("mmap", fd, 40, "rw", "shared")
    scenario.expect(sender.do("map_write", handle, 0, b"This is the memory map!\n"),
                    Killed("SIGBUS"))


@spec(
    "mmap.page-unit",
    "A file is mapped in whole pages: the rest of the last page past the end of the file reads "
    "as zeros, can be written without a fault, and is not written to the file.",
    source=(MMAP_2, "A file is mapped in multiples of the page size. For a file that is not a "
                    "multiple of the page size, the remaining bytes in the partial page at the "
                    "end of the mapping are zeroed when mapped, and modifications to that region "
                    "are not written out to the file."),
    supports={"S31": "a memory map works in page units"},
)
def test_mapping_works_in_pages(scenario):
    a = scenario.spawn("a")
    fd, handle = mapped_file(a, "f", 10, 10)
    scenario.expect(a.do("map_read", handle, 10, 6), Value(bytes(6)), "zeros past the end")
    scenario.expect(a.do("map_write", handle, PAGE - 4, b"tail"), Value(4), "no fault in the page")
    scenario.expect(a.do("fstat", fd), Value(("-", 10)), "the file did not grow")


@spec(
    "mmap.fork.shared-anonymous",
    "A MAP_SHARED|MAP_ANONYMOUS mapping made before fork() is shared by parent and child; a "
    "MAP_PRIVATE one is copied.",
    sources=[(MMAP_2, SHARED_QUOTE),
             ("fork(2)", "The child process and the parent process run in separate memory spaces. "
                         "At the time of fork() both memory spaces have the same content.")],
    contradicts={"S03": "memory is not shared after fork() unless it was mapped MAP_SHARED "
                        "before: then a variable in it is shared"},
)
def test_shared_anonymous_mapping_across_fork(scenario):
    parent = scenario.spawn("parent")
    shared = parent.call("mmap", -1, PAGE, "rw", "shared-anon")
    private = parent.call("mmap", -1, PAGE, "rw", "private-anon")
    child = parent.fork("child")
    child.call("map_write", shared, 0, b"hello")
    child.call("map_write", private, 0, b"hello")
    scenario.expect(parent.do("map_read", shared, 0, 5), Value(b"hello"), "shared")
    scenario.expect(parent.do("map_read", private, 0, 5), Value(bytes(5)), "copied")


@spec(
    "mmap.read-only.segv",
    "A store into a PROT_READ mapping kills the process with SIGSEGV.",
    source=(MMAP_2, "SIGSEGV Attempted write into a region mapped as read-only."),
)
def test_store_into_read_only_mapping_is_sigsegv(scenario):
    a = scenario.spawn("a")
    _fd, handle = mapped_file(a, "f", 8, 8, prot="r")
    scenario.expect(a.do("map_write", handle, 0, b"x"), Killed("SIGSEGV"))
