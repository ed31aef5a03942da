"""Who can use a pipe: any process that holds a descriptor for one of its ends.

A pipe has no name, so a process reaches it only through a descriptor. The
usual way to get one is to inherit it across ``fork()`` — which makes the
parent/child pattern common, but not required. Siblings inherit the same
descriptors; a descriptor can be sent to any process over a UNIX domain
socket (SCM_RIGHTS); and on Linux another process can open the pipe through
``/proc/PID/fd/N``. None of these needs a parent/child relation.
"""

import os

from conformance.backends.ops import ActorRef
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Value

S13_TEXT = "Communication through `pipe()` is possible only between parent and child."
S14_TEXT = "Two pipes give two-way communication between parent and child."
S31_TEXT = ("Summary table: pipe one-way parent/child stream; FIFO one-way stream between any "
            "processes; message queue one-way, memory, structured; shared memory two-way; memory "
            "map two-way, page unit; socket two-way, same or other machine.")
RELATED_USE = ("pipe(7)", "Pipes can be used to create a communication channel between related "
                        "processes; see pipe(2) for an example.")


@spec(
    "pipe.share.parent-child",
    "A pipe made before fork() connects parent and child: the child inherits both ends, and "
    "what the parent writes the child reads (the seed's own example).",
    sources=[
        RELATED_USE,
        ("seed S13", S13_TEXT),
    ],
    supports={"S13": "the parent/child case the seed describes works as shown"},
)
def test_parent_writes_child_reads(scenario):
    parent = scenario.spawn("parent")
    r, w = parent.call("pipe")
    child = parent.fork("child")
    # The seed's program: each side closes the end it does not use.
    parent.call("close", r)
    child.call("close", w)
    scenario.expect(parent.do("write", w, b"Hello?\n"), Value(7))
    scenario.expect(child.do("read", r, 128), Value(b"Hello?\n"))


@spec(
    "pipe.share.siblings",
    "Two children of one parent communicate through a pipe the parent made before forking "
    "them; the parent itself takes no part.",
    sources=[
        RELATED_USE,
        ("seed S13", S13_TEXT),
        ("seed S31", S31_TEXT),
    ],
    contradicts={"S13": "siblings, which are not parent and child, use the pipe just as well; "
                        "what matters is holding a descriptor"},
    qualifies={"S31": "'parent/child' is the usual use of a pipe, not a limit: any processes "
                      "holding its descriptors can use it"},
)
def test_siblings_share_a_pipe(scenario):
    parent = scenario.spawn("parent")
    r, w = parent.call("pipe")
    left = parent.fork("left")
    right = parent.fork("right")
    # Like a shell running `left | right`: the parent keeps no end.
    parent.call("close", r)
    parent.call("close", w)
    left.call("close", r)
    right.call("close", w)
    scenario.expect(right.do("read", r, 100), BLOCKED, "the pipe is empty; left still writes")
    scenario.expect(left.do("write", w, b"from a sibling"), Value(14))
    scenario.expect_event(right, Value(b"from a sibling"))
    left.call("close", w)
    scenario.expect(right.do("read", r, 100), Value(b""), "the only writer, a sibling, is gone")


@spec(
    "pipe.share.scm-rights",
    "A pipe end sent over a UNIX domain socket with SCM_RIGHTS works in a process that is not "
    "related to the pipe's creator at all.",
    sources=[
        ("unix(7), SCM_RIGHTS", "Send or receive a set of open file descriptors from "
                    "another process.  The data portion contains an integer array of the file "
                    "descriptors."),
        ("unix(7)", "Semantically, this operation is equivalent to duplicating (dup(2)) a file "
                    "descriptor into the file descriptor table of another process."),
        ("seed S13", S13_TEXT),
    ],
    requires=("processes",),
    contradicts={"S13": "a separately started process, neither parent nor child of the creator, "
                        "receives the read end over a socket and reads the creator's data"},
)
def test_pipe_end_passed_over_a_socket(scenario):
    # Two root actors: each a separate process tree, sharing nothing but the
    # scenario directory, where the receiver binds a socket to meet on.
    creator = scenario.spawn("creator")
    stranger = scenario.spawn("stranger")
    inbox = stranger.call("unix_bind", "inbox")
    r, w = creator.call("pipe")
    sock = creator.call("unix_connect", "inbox")
    scenario.expect(creator.do("sendfd", sock, r), Value(1))
    # The creator lets go of its read end: from now on the stranger's copy
    # is the only reader the pipe has.
    creator.call("close", r)
    got = stranger.do("recvfd", inbox)
    scenario.expect(got, Value(inbox + 1), "a new descriptor, the lowest free one")
    scenario.expect(creator.do("write", w, b"via a socket"), Value(12), "a reader exists: no SIGPIPE")
    scenario.expect(stranger.do("read", inbox + 1, 100), Value(b"via a socket"))


@spec(
    "pipe.share.proc-fd",
    "A process unrelated to a pipe's owner can open the pipe through /proc/PID/fd/N and "
    "exchange data with the owner over it.",
    sources=[
        ("proc(5)", "This is a subdirectory containing one entry for each file which the process "
                    "has open, named by its file descriptor, and which is a symbolic link to the "
                    "actual file."),
        ("proc(5)", "For file descriptors for pipes and sockets, the entries will be symbolic "
                    "links whose content is the file type with the inode."),
        ("seed S13", S13_TEXT),
    ],
    requires=("processes",),
    contradicts={"S13": "a separately started process opens another process's pipe by its /proc "
                        "link and reads what the owner writes"},
)
def test_pipe_opened_through_proc(scenario):
    owner = scenario.spawn("owner")
    stranger = scenario.spawn("stranger")
    r, w = owner.call("pipe")
    # Opening the link opens the pipe itself (like opening a FIFO), giving
    # the stranger its own descriptor for the read side.
    mine = stranger.do("open_proc_fd", ActorRef("owner"), r, os.O_RDONLY)
    scenario.expect(mine, Value(3), "a new descriptor in the stranger")
    scenario.expect(owner.do("write", w, b"via /proc"), Value(9))
    scenario.expect(stranger.do("read", 3, 100), Value(b"via /proc"))


@spec(
    "pipe.two-way.two-pipes",
    "Two pipes give a parent and child one channel each way: each side's messages reach only "
    "the other side, even when both write before either reads.",
    sources=[
        ("pipe(2)", "pipe() creates a pipe, a unidirectional data channel that can be used for "
                    "interprocess communication."),
        ("seed S14", S14_TEXT),
    ],
    supports={"S14": "with one pipe per direction, parent and child talk both ways"},
)
def test_two_pipes_talk_both_ways(scenario):
    parent = scenario.spawn("parent")
    down_r, down_w = parent.call("pipe")  # parent -> child
    up_r, up_w = parent.call("pipe")  # child -> parent
    child = parent.fork("child")
    for fd in (down_r, up_w):
        parent.call("close", fd)
    for fd in (down_w, up_r):
        child.call("close", fd)
    # Both write first: with a single shared pipe each would now read its
    # own message (or both); with two, each reads only the other's.
    scenario.expect(parent.do("write", down_w, b"ping"), Value(4))
    scenario.expect(child.do("write", up_w, b"pong"), Value(4))
    scenario.expect(child.do("read", down_r, 100), Value(b"ping"), "only the parent's message")
    scenario.expect(parent.do("read", up_r, 100), Value(b"pong"), "only the child's message")
