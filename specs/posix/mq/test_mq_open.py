"""Opening a POSIX message queue: names, the O_CREAT/O_EXCL matrix, attributes, permission.

A queue is named like a file in a flat directory of its own: ``/name``, one
leading slash and no other, at most NAME_MAX characters. ``mq_open`` with
O_CREAT makes the queue if the name is free and opens it either way; with
O_CREAT|O_EXCL it insists on making it. The attributes fixed at creation
(``mq_maxmsg``, ``mq_msgsize``) must be positive and, for a process without
CAP_SYS_RESOURCE, within the ``/proc/sys/fs/mqueue`` ceilings. The mode bits
decide who may open it for what, as for a file.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.posix_mq_ops import NAME_MAX
from conformance.clauses import spec
from conformance.outcome import Errno, Value

MQ_OPEN_DESC = ("mq_open(3)", "mq_open() creates a new POSIX message queue or opens an existing queue.  "
                              "The queue is identified by name.")
NAME_FORM = ("mq_overview(7)", "Each message queue is identified by a name of the form /somename; that is, "
                               "a null-terminated string of up to NAME_MAX (i.e., 255) characters "
                               "consisting of an initial slash, followed by one or more characters, none "
                               "of which are slashes.")
#: an actor that is not the queue's owner nor in its group, for permission specs
OTHER_UID = OTHER_GID = 65534


def _rdwr_create(actor, name, attr=(4, 64)):
    return actor.do("mq_open", name, os.O_CREAT | os.O_RDWR, 0o600, attr)


def _proc(name: str) -> int:
    with open(f"/proc/sys/fs/mqueue/{name}") as f:
        return int(f.read())


@spec(
    "posix.mq.open.create",
    "mq_open with O_CREAT on a free name creates an empty queue with the attributes asked for and "
    "returns a descriptor: the lowest free one, since a queue descriptor is a file descriptor on Linux.",
    sources=[MQ_OPEN_DESC,
             ("mq_open(3)", "O_CREAT Create the message queue if it does not exist."),
             ("mq_overview(7)", "On Linux, a message queue descriptor is actually a file descriptor."),
             ("mq_getattr(3)", "The mq_maxmsg and mq_msgsize fields are set when the message queue is "
                               "created by mq_open(3).")],
    supports={"L01": "POSIX message queues are an IPC mechanism of Linux: a queue is made and opened"},
)
def test_create_makes_an_empty_queue(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    scenario.expect(_rdwr_create(a, name, (3, 100)), Value(3), "0, 1, 2 are taken: the queue gets 3")
    scenario.expect(a.do("mq_getattr", 3), Value({"flags": 0, "maxmsg": 3, "msgsize": 100, "curmsgs": 0}),
                    "the attributes asked for, no message yet")
    scenario.expect(a.do("mq_close", 3), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.open.excl-existing",
    "mq_open with O_CREAT|O_EXCL fails with EEXIST when a queue of that name exists.",
    sources=[("mq_open(3)", "O_EXCL If O_CREAT was specified in oflag, and a queue with the given name "
                            "already exists, then fail with the error EEXIST.")],
)
def test_excl_refuses_an_existing_name(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = a.call("mq_open", name, os.O_CREAT | os.O_RDWR, 0o600, (4, 64))
    scenario.expect(a.do("mq_open", name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600, (4, 64)),
                    Errno("EEXIST"), "the name is taken")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.open.creat-opens-existing",
    "mq_open with O_CREAT (no O_EXCL) on an existing name opens that queue: the attributes passed are "
    "ignored and a message sent through one descriptor is received through the other.",
    sources=[MQ_OPEN_DESC,
             ("mq_open(3)", "O_CREAT Create the message queue if it does not exist.")],
)
def test_creat_opens_the_existing_queue(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    first = a.call("mq_open", name, os.O_CREAT | os.O_RDWR, 0o600, (2, 32))
    second = a.do("mq_open", name, os.O_CREAT | os.O_RDWR, 0o600, (5, 80))
    scenario.expect(second, Value(first + 1), "opened again, on the next descriptor")
    if second.ok:
        scenario.expect(a.do("mq_getattr", second.detail),
                        Value({"flags": 0, "maxmsg": 2, "msgsize": 32, "curmsgs": 0}),
                        "the existing queue's attributes, not the ones passed the second time")
        scenario.expect(a.do("mq_send", first, b"one queue", 1), Value(0))
        scenario.expect(a.do("mq_receive", second.detail, 32), Value((b"one queue", 1)),
                        "both descriptors reach the same queue")
        scenario.expect(a.do("mq_close", second.detail), Value(0))
    scenario.expect(a.do("mq_close", first), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.open.missing",
    "mq_open without O_CREAT fails with ENOENT when no queue has the name.",
    sources=[("mq_open(3)", "ENOENT The O_CREAT flag was not specified in oflag, and no queue with this "
                            "name exists.")],
)
def test_open_without_creat_needs_the_queue(scenario, mq_names):
    a = scenario.spawn("a")
    scenario.expect(a.do("mq_open", mq_names.new(), os.O_RDWR), Errno("ENOENT"), "nothing to open")


@spec(
    "posix.mq.open.name-form",
    "Queue names follow /somename: a name without the leading slash is EINVAL, \"/\" alone is "
    "ENOENT, a name with a second slash is EACCES; 255 characters after the slash are accepted, "
    "256 are ENAMETOOLONG.",
    sources=[NAME_FORM,
             ("mq_open(3)", "EINVAL name doesn't follow the format in mq_overview(7)."),
             ("mq_open(3)", "ENOENT name was just \"/\" followed by no other characters."),
             ("mq_open(3)", "EACCES name contained more than one slash."),
             ("mq_open(3)", "ENAMETOOLONG name was too long.")],
)
def test_name_rules(scenario, mq_names):
    a = scenario.spawn("a")
    base = mq_names.new()
    create = os.O_CREAT | os.O_RDWR
    scenario.expect(a.do("mq_open", base[1:], create, 0o600, (4, 64)), Errno("EINVAL"), "no leading slash")
    scenario.expect(a.do("mq_open", "/", create, 0o600, (4, 64)), Errno("ENOENT"), "a slash and nothing")
    scenario.expect(a.do("mq_open", base + "/x", create, 0o600, (4, 64)), Errno("EACCES"),
                    "a second slash")
    longest = base + "x" * (NAME_MAX + 1 - len(base))
    mq_names.given.append(longest)
    scenario.expect(a.do("mq_open", longest + "y", create, 0o600, (4, 64)), Errno("ENAMETOOLONG"),
                    f"{NAME_MAX + 1} characters after the slash")
    scenario.expect(a.do("mq_open", longest, create, 0o600, (4, 64)), Value(3),
                    f"{NAME_MAX} characters after the slash are fine")
    scenario.expect(a.do("mq_close", 3), Value(0))
    scenario.expect(a.do("mq_unlink", longest), Value(0))


@spec(
    "posix.mq.open.bad-attr",
    "mq_open with O_CREAT and an attr whose mq_maxmsg or mq_msgsize is zero or negative fails with "
    "EINVAL and creates nothing.",
    sources=[("mq_open(3)", "EINVAL O_CREAT was specified in oflag, and attr was not NULL, but "
                            "attr->mq_maxmsg or attr->mq_msqsize was invalid.  Both of these fields must "
                            "be greater than zero.")],
)
@given(maxmsg=st.integers(-(2**31), 4), msgsize=st.integers(-(2**31), 64))
@example(maxmsg=0, msgsize=64)
@example(maxmsg=4, msgsize=0)
@example(maxmsg=-1, msgsize=-1)
def test_attr_must_be_positive(new_scenario, mq_names, maxmsg, msgsize):
    if maxmsg > 0 and msgsize > 0:
        maxmsg = -maxmsg  # keep at least one field invalid: the clause is about invalid ones
    with new_scenario() as sc:
        a = sc.spawn("a")
        name = mq_names.new()
        sc.expect(a.do("mq_open", name, os.O_CREAT | os.O_RDWR, 0o600, (maxmsg, msgsize)),
                  Errno("EINVAL"), f"maxmsg {maxmsg}, msgsize {msgsize}")
        sc.expect(a.do("mq_open", name, os.O_RDWR), Errno("ENOENT"), "no queue was made")


@spec(
    "posix.mq.open.attr-ceiling",
    "For a process without CAP_SYS_RESOURCE, mq_open with O_CREAT fails with EINVAL when mq_maxmsg "
    "exceeds /proc/sys/fs/mqueue/msg_max or mq_msgsize exceeds msgsize_max; values at the ceilings "
    "are accepted.",
    sources=[("mq_open(3)", "In a process that is unprivileged (does not have the CAP_SYS_RESOURCE "
                            "capability), attr->mq_maxmsg must be less than or equal to the msg_max "
                            "limit, and attr->mq_msgsize must be less than or equal to the msgsize_max "
                            "limit.")],
)
def test_attr_ceilings_for_the_unprivileged(scenario, mq_names):
    msg_max, msgsize_max = _proc("msg_max"), _proc("msgsize_max")
    a = scenario.spawn("a")
    if os.geteuid() == 0:
        a.call("become", OTHER_UID, OTHER_GID)
    create = os.O_CREAT | os.O_RDWR
    scenario.expect(a.do("mq_open", mq_names.new(), create, 0o600, (msg_max + 1, 64)), Errno("EINVAL"),
                    f"maxmsg above msg_max ({msg_max})")
    scenario.expect(a.do("mq_open", mq_names.new(), create, 0o600, (4, msgsize_max + 1)), Errno("EINVAL"),
                    f"msgsize above msgsize_max ({msgsize_max})")
    name = mq_names.new()
    scenario.expect(a.do("mq_open", name, create, 0o600, (msg_max, msgsize_max)), Value(3),
                    "both at their ceiling")
    scenario.expect(a.do("mq_close", 3), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.open.default-attr",
    "mq_open with O_CREAT and a NULL attr creates the queue with mq_maxmsg = min(msg_default, msg_max) "
    "and mq_msgsize = min(msgsize_default, msgsize_max) from /proc/sys/fs/mqueue.",
    sources=[("mq_overview(7)", "A new queue's default mq_maxmsg value will be the smaller of msg_default "
                                "and msg_max."),
             ("mq_overview(7)", "If msgsize_default exceeds msgsize_max, a new queue's default mq_msgsize "
                                "value is capped to the msgsize_max limit.")],
)
def test_null_attr_takes_the_defaults(scenario, mq_names):
    maxmsg = min(_proc("msg_default"), _proc("msg_max"))
    msgsize = min(_proc("msgsize_default"), _proc("msgsize_max"))
    a = scenario.spawn("a")
    name = mq_names.new()
    q = a.call("mq_open", name, os.O_CREAT | os.O_RDWR, 0o600, None)
    scenario.expect(a.do("mq_getattr", q),
                    Value({"flags": 0, "maxmsg": maxmsg, "msgsize": msgsize, "curmsgs": 0}),
                    "the defaults of /proc/sys/fs/mqueue")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.open.permission",
    "A queue's mode bits govern who may open it: a user who is neither its owner nor in its group "
    "gets EACCES opening a mode-0600 queue for reading or writing, and opens a 0604 queue read-only "
    "but not for writing.",
    sources=[("mq_open(3)", "EACCES The queue exists, but the caller does not have permission to open it "
                            "in the specified mode."),
             ("mq_open(3)", "The mode argument specifies the permissions to be placed on the new queue, "
                            "as for open(2).")],
    requires=("root",),
)
def test_mode_bits_decide_who_opens(scenario, mq_names):
    owner = scenario.spawn("owner")
    private, readable = mq_names.new(), mq_names.new()
    q1 = owner.call("mq_open", private, os.O_CREAT | os.O_RDWR, 0o600, (4, 64))
    q2 = owner.call("mq_open", readable, os.O_CREAT | os.O_RDWR, 0o604, (4, 64))
    other = owner.fork("other")
    other.call("become", OTHER_UID, OTHER_GID)
    scenario.expect(other.do("mq_open", private, os.O_RDONLY), Errno("EACCES"), "0600: no read for others")
    scenario.expect(other.do("mq_open", private, os.O_WRONLY), Errno("EACCES"), "0600: no write for others")
    scenario.expect(other.do("mq_open", readable, os.O_WRONLY), Errno("EACCES"), "0604: no write for others")
    out = other.do("mq_open", readable, os.O_RDONLY)
    scenario.expect(out, Value(q2 + 1), "0604: others may read; the lowest free descriptor")
    if out.ok:
        scenario.expect(other.do("mq_close", out.detail), Value(0))
    for q in (q1, q2):
        scenario.expect(owner.do("mq_close", q), Value(0))
    for name in (private, readable):
        scenario.expect(owner.do("mq_unlink", name), Value(0))
