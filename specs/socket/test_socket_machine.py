"""AF_UNIX socket pairs shared by several processes, checked step by step against the model.

A Hypothesis state machine: each rule is one operation of one idle actor —
socketpair of each type (stream, seqpacket, datagram), read and write of
small and medium sizes (zero-length ones included: on seqpacket and
datagram sockets an empty write is a message of its own), shutdown with
each ``how``, sendfd/recvfd, close, dup, dup2, fcntl(F_SETFL) with and
without O_NONBLOCK, fstat, kcmp, SIGPIPE ignored or not, and fork, exit and
kill — run on the system under test and on the process model in lockstep
(:class:`~conformance.harness.checked.CheckedScenario`). Every outcome,
every sleeping read that a write, a shutdown or a close completes, and
every death (SIGPIPE on a stream) must agree.

What the model declines to predict, the machine drops (the example is
rejected, not failed): several processes asleep reading one *stream* socket
(they race for the data), a send that could block on the send buffer, a
descriptor of a socket passed over a socket (its lifetime then belongs to
the garbage collector), and closing a seqpacket end whose only unread
message is empty (whether the peer then sees ECONNRESET changed between
kernel versions). ``sendfd`` passes what the actors hold besides sockets:
the /dev/null description of descriptors 0, 1 and 2.
"""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule, run_state_machine_as_test

from conformance.clauses import spec
from conformance.models import ProcessModel
from conformance.strategies.machine import ProcessMachine, machine_for, model_limits, payload

KINDS = ("stream", "seqpacket", "dgram")
#: small and medium: a few of each kind queued stay well below the model's
#: send-buffer budget, so no send can block; reads are mostly short (a
#: message does not fit, stream bytes are left behind), writes mostly small
WRITE_SIZES = st.sampled_from([0, 1, 1, 7, 7, 512, 4096, 8192])
READ_SIZES = st.sampled_from([0, 1, 3, 7, 512, 8192])
SMALL_SIZES = st.sampled_from([0, 1, 2, 5])
#: what sendfd passes: the actors' /dev/null (a socket's lifetime in flight is unmodelled)
PASSED = st.sampled_from([0, 1, 2])
#: shutdown's ``how``: SHUT_RD, SHUT_WR, SHUT_RDWR, and now and then one out of range
HOWS = st.sampled_from([0, 1, 2, 0, 1, 2, 3])
#: a socket finding takes a write, a close or shutdown and reads on the right
#: pair, with the descriptor and process steps in between: examples of at
#: least this many steps, and at least this many of them, whatever the profile
MIN_STEPS = 40
MIN_EXAMPLES = 20


class SocketMachine(ProcessMachine):
    """Socket pairs of every type with descriptors and processes; no files, pipes or FIFOs.

    Steps aim where something can happen: the machine remembers which two
    numbers each socketpair returned and the descriptors last written to;
    a write often goes to the same descriptor again (a second message), a
    read or recvfd to the partner of one just written to, a close or
    shutdown to one just written to (so that the reader meets the end
    behind queued data). These are hints only: after dup2 or close the model
    alone knows what a number refers to.
    """

    open_file = None  # type: ignore[assignment]
    pipe = None  # type: ignore[assignment]
    mkfifo = None  # type: ignore[assignment]
    open_fifo = None  # type: ignore[assignment]
    lseek = None  # type: ignore[assignment]
    # F_GETFL of a socket is the descriptor specs' business; here it would only
    # dilute the socket steps
    get_status_flags = None  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        #: descriptor number -> the other number its socketpair returned
        self.partner: dict[int, int] = {}
        #: descriptors written to, most recent last
        self.written: list[int] = []

    @initialize(kind=st.sampled_from(KINDS))
    def first_actor(self, kind: str) -> None:  # type: ignore[override]
        # One pair (descriptors 3 and 4) of one type per example, so that
        # the steps meet on it, shared by a parent and a child from the
        # start, so that one can wake the other; the socketpair rule adds
        # more pairs of any type.
        self._spawn()
        self._pair("a0", kind)
        self.do("a0", "fork", f"a{self.spawned}")
        self.spawned += 1

    def _pair(self, actor: str, kind: str) -> None:
        got = self.do(actor, "socketpair_of", kind)
        if got.ok:
            first, second = got.detail
            self.partner[first], self.partner[second] = second, first

    def _send(self, actor: str, op: str, fd: int, *args: object) -> None:
        self.do(actor, op, fd, *args)
        if fd in self.partner:
            self.written = [w for w in self.written if w != fd][-3:] + [fd]

    def again(self, data: st.DataObject, actor: str, chance: int) -> int:
        """One of the descriptors just written to (1 in ``chance``), else any."""
        if self.written and data.draw(st.integers(1, chance), label="again") == 1:
            return data.draw(st.sampled_from(self.written), label="written")
        return self.fd(data, actor)

    def receiving(self, data: st.DataObject, actor: str) -> int:
        """Where to read: mostly the partner of a descriptor just written to."""
        if self.written and data.draw(st.integers(0, 2), label="aim at partner") > 0:
            return self.partner[data.draw(st.sampled_from(self.written), label="written")]
        return self.fd(data, actor)

    # -- moving data -------------------------------------------------------
    # Sockets are about moving data: two read rules (short reads that cut a
    # message or leave stream bytes behind, whole-buffer reads) and two write
    # rules (any size, tiny), and one more rule that draws among all the data
    # and end operations. Hypothesis turns rules off at random for whole
    # examples (swarm testing); with a dozen descriptor and process rules,
    # most examples would otherwise write without reading or read without
    # writing, while every example that has ``exchange`` mixes them.
    def _read(self, data: st.DataObject, size: int) -> None:
        actor = self.actor(data)
        self.do(actor, "read", self.receiving(data, actor), size)

    def _write(self, data: st.DataObject, size: int) -> None:
        self.tag += 1
        actor = self.actor(data)
        self._send(actor, "write", self.again(data, actor, 2), payload(size, self.tag))

    def _sendfd(self, data: st.DataObject, passed: int) -> None:
        actor = self.actor(data)
        self._send(actor, "sendfd", self.again(data, actor, 2), passed)

    def _recvfd(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.do(actor, "recvfd", self.receiving(data, actor))

    def _shutdown(self, data: st.DataObject, how: int) -> None:
        actor = self.actor(data)
        self.do(actor, "shutdown", self.again(data, actor, 2), how)

    def _close(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.do(actor, "close", self.again(data, actor, 3))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=READ_SIZES)
    def read(self, data: st.DataObject, size: int) -> None:
        self._read(data, size)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def read_all(self, data: st.DataObject) -> None:
        self._read(data, 65536)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=WRITE_SIZES)
    def write(self, data: st.DataObject, size: int) -> None:
        self._write(data, size)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=SMALL_SIZES)
    def write_small(self, data: st.DataObject, size: int) -> None:
        self._write(data, size)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), passed=PASSED)
    def sendfd(self, data: st.DataObject, passed: int) -> None:
        self._sendfd(data, passed)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def recvfd(self, data: st.DataObject) -> None:
        self._recvfd(data)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), op=st.sampled_from(["write", "write", "write_small", "read", "read",
                                              "read_all", "sendfd", "recvfd", "shutdown", "close"]))
    def exchange(self, data: st.DataObject, op: str) -> None:
        if op == "write":
            self._write(data, data.draw(WRITE_SIZES, label="size"))
        elif op == "write_small":
            self._write(data, data.draw(SMALL_SIZES, label="size"))
        elif op == "read":
            self._read(data, data.draw(READ_SIZES, label="size"))
        elif op == "read_all":
            self._read(data, 65536)
        elif op == "sendfd":
            self._sendfd(data, data.draw(PASSED, label="passed"))
        elif op == "recvfd":
            self._recvfd(data)
        elif op == "shutdown":
            self._shutdown(data, data.draw(HOWS, label="how"))
        else:
            self._close(data)

    # -- ends ----------------------------------------------------------------
    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), kind=st.sampled_from(KINDS))
    def socketpair(self, data: st.DataObject, kind: str) -> None:
        self._pair(self.actor(data), kind)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), how=HOWS)
    def shutdown(self, data: st.DataObject, how: int) -> None:
        self._shutdown(data, how)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        self._close(data)


@spec(
    "socket.model.multi-process",
    "Any sequence of socketpair (stream, seqpacket, datagram), read and write (blocking and not, "
    "zero-length included), shutdown (SHUT_RD, SHUT_WR, SHUT_RDWR), sendfd, recvfd, close, dup, "
    "dup2, fork, exit and kill by several processes has the outcomes the reference model "
    "predicts: stream bytes merge while seqpacket and datagram messages keep their boundaries "
    "(a short read discards the rest of a message); a closed or shut-down peer gives end of "
    "file after the queue is drained on stream and seqpacket sockets, never on datagram ones; "
    "writes then fail with EPIPE, with SIGPIPE on streams only; and which sleeping reader a "
    "write, a shutdown or a close completes, and when.",
    sources=[
        ("unix(7)", "Valid socket types in the UNIX domain are: SOCK_STREAM, for a "
                    "stream-oriented socket; SOCK_DGRAM, for a datagram-oriented socket that "
                    "preserves message boundaries (as on most UNIX implementations, UNIX domain "
                    "datagram sockets are always reliable and don't reorder datagrams); and "
                    "(since Linux 2.6.4) SOCK_SEQPACKET, for a sequenced-packet socket that is "
                    "connection-oriented, preserves message boundaries, and delivers messages "
                    "in the order that they were sent."),
        ("socket(2)", "SOCK_SEQPACKET Provides a sequenced, reliable, two-way connection-based "
                      "data transmission path for datagrams of fixed maximum length; a consumer "
                      "is required to read an entire packet with each input system call."),
        ("shutdown(2)", "If how is SHUT_RD, further receptions will be disallowed. If how is "
                        "SHUT_WR, further transmissions will be disallowed. If how is SHUT_RDWR, "
                        "further receptions and transmissions will be disallowed."),
    ],
    supports={"S31": "socket pairs are two-way between related processes, in any interleaving"},
)
def test_socket_machine(new_scenario):
    machine = machine_for(new_scenario, lambda: ProcessModel(**model_limits()), SocketMachine)
    profile = settings.default
    run_state_machine_as_test(machine, settings=settings(
        profile, stateful_step_count=max(profile.stateful_step_count, MIN_STEPS),
        max_examples=max(profile.max_examples, MIN_EXAMPLES)))
