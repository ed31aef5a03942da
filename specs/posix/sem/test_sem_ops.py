"""sem_wait, sem_trywait, sem_timedwait, sem_post, sem_getvalue.

A semaphore is a non-negative integer. sem_post adds one; sem_wait takes
one away, sleeping while the value is 0 until a post makes that possible;
sem_trywait refuses with EAGAIN instead of sleeping, sem_timedwait gives up
with ETIMEDOUT at an absolute deadline (the contract makes it relative).
"""

import os
import signal

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.posix_semshm_ops import SEM_VALUE_MAX
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

CREAT, EXCL = os.O_CREAT, os.O_EXCL
POST = ("sem_post(3)", "sem_post() increments (unlocks) the semaphore pointed to by sem. If the "
                       "semaphore's value consequently becomes greater than zero, then another process "
                       "or thread blocked in a sem_wait(3) call will be woken up and proceed to lock the "
                       "semaphore.")
WAIT = ("sem_wait(3)", "sem_wait() decrements (locks) the semaphore pointed to by sem. If the "
                       "semaphore's value is greater than zero, then the decrement proceeds, and the "
                       "function returns, immediately. If the semaphore currently has the value zero, "
                       "then the call blocks until either it becomes possible to perform the decrement "
                       "(i.e., the semaphore value rises above zero), or a signal handler interrupts "
                       "the call.")


@spec(
    "posix.sem.trywait-eagain",
    "sem_trywait of a semaphore whose value is 0 fails with EAGAIN at once and leaves the value 0.",
    source=("sem_wait(3)", "EAGAIN The operation could not be performed without blocking (i.e., "
                           "sem_trywait() was called, and the semaphore value was zero)."),
)
def test_trywait_at_zero_fails(scenario, posix_names):
    name = posix_names.new()
    a = scenario.spawn("a")
    h = a.call("sem_open", name, CREAT | EXCL, 0o600, 0)
    scenario.expect(a.do("sem_trywait", h), Errno("EAGAIN"))
    scenario.expect(a.do("sem_getvalue", h), Value(0), "the value stays 0")
    scenario.expect(a.do("sem_unlink", name), Value(0))


@spec(
    "posix.sem.value-counts",
    "For any sequence of sem_post and sem_trywait the value is the initial value plus the posts "
    "minus the successful trywaits; it never goes below 0 (a trywait at 0 fails with EAGAIN).",
    sources=[POST, WAIT,
             ("sem_overview(7)", "A POSIX semaphore is an integer whose value is never allowed to "
                                 "fall below zero.")],
)
@given(initial=st.integers(0, 3), ops=st.lists(st.sampled_from(["post", "trywait"]), max_size=12))
@example(initial=0, ops=["trywait", "post", "trywait", "trywait"])
def test_value_follows_posts_and_trywaits(new_scenario, posix_names, initial, ops):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        h = a.call("sem_open", name, CREAT | EXCL, 0o600, initial)
        value = initial
        for op in ops:
            if op == "post":
                sc.expect(a.do("sem_post", h), Value(0))
                value += 1
            elif value:
                sc.expect(a.do("sem_trywait", h), Value(0), f"trywait at {value}")
                value -= 1
            else:
                sc.expect(a.do("sem_trywait", h), Errno("EAGAIN"), "trywait at 0")
            sc.expect(a.do("sem_getvalue", h), Value(value))
        sc.expect(a.do("sem_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.sem.post-overflow",
    "sem_post of a semaphore at SEM_VALUE_MAX fails with EOVERFLOW and leaves the value.",
    source=("sem_post(3)", "EOVERFLOW The maximum allowable value for a semaphore would be exceeded."),
)
def test_post_at_max_fails(scenario, posix_names):
    name = posix_names.new()
    a = scenario.spawn("a")
    h = a.call("sem_open", name, CREAT | EXCL, 0o600, SEM_VALUE_MAX - 1)
    scenario.expect(a.do("sem_post", h), Value(0), "up to SEM_VALUE_MAX")
    scenario.expect(a.do("sem_post", h), Errno("EOVERFLOW"))
    scenario.expect(a.do("sem_getvalue", h), Value(SEM_VALUE_MAX))
    scenario.expect(a.do("sem_unlink", name), Value(0))


@spec(
    "posix.sem.timedwait-etimedout",
    "sem_timedwait of a semaphore whose value stays 0 fails with ETIMEDOUT when the deadline "
    "passes; with a value above 0 it decrements at once.",
    source=("sem_wait(3)", "ETIMEDOUT The call timed out before the semaphore could be locked."),
)
@given(nsec=st.integers(1, 20_000_000))
def test_timedwait_times_out(new_scenario, posix_names, nsec):
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        h = a.call("sem_open", name, CREAT | EXCL, 0o600, 1)
        sc.expect(a.do("sem_timedwait", h, 0, nsec), Value(0), "value 1: no wait")
        out = a.do("sem_timedwait", h, 0, nsec)
        if out == BLOCKED:
            out = sc.finish(a)
        sc.expect(out, Errno("ETIMEDOUT"), f"value 0, {nsec} ns")
        sc.expect(a.do("sem_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.sem.timedwait-bad-nsec-einval",
    "sem_timedwait of a semaphore at 0, given a deadline whose tv_nsec is below 0 or from 1000 "
    "million, fails with EINVAL instead of sleeping, and the value stays 0.",
    source=("sem_wait(3)", "EINVAL The value of abs_timeout.tv_nsecs is less than 0, or greater than "
                           "or equal to 1000 million."),
)
@given(nsec=st.sampled_from([-1, 1_000_000_000, 2_000_000_000, -999]))
def test_timedwait_bad_nsec(new_scenario, posix_names, nsec):
    # Only the case that would block: POSIX lets an implementation skip the
    # check when the semaphore can be locked at once, and glibc does not skip it.
    name = posix_names.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        h = a.call("sem_open", name, CREAT | EXCL, 0o600, 0)
        sc.expect(a.do("sem_timedwait", h, 1, nsec), Errno("EINVAL"), f"tv_nsec {nsec}")
        sc.expect(a.do("sem_getvalue", h), Value(0))
        sc.expect(a.do("sem_unlink", name), Value(0))
    posix_names.sweep()


@spec(
    "posix.sem.wait-wakes-on-post",
    "sem_wait of a semaphore at 0 sleeps; a sem_post by another process (here a forked child "
    "sharing the semaphore) wakes it, the wait succeeds and the value is back at 0.",
    sources=[WAIT, POST,
             ("sem_overview(7)", "Two processes can operate on the same named semaphore by passing the "
                                 "same name to sem_open(3).")],
    supports={"L01": "POSIX semaphores are an IPC mechanism of Linux: one process's post releases another",
              "L03": "the waiter learns nothing but that it may go on: the post carries no data"},
)
def test_wait_wakes_on_post(scenario, posix_names):
    name = posix_names.new()
    a = scenario.spawn("a")
    h = a.call("sem_open", name, CREAT | EXCL, 0o600, 0)
    child = a.fork("child")
    scenario.expect(a.do("sem_wait", h), BLOCKED)
    scenario.expect(child.do("sem_post", h), Value(0))
    scenario.expect_event(a, Value(0), "the post woke the waiter")
    scenario.expect(child.do("sem_getvalue", h), Value(0), "the waiter took the post")
    scenario.expect(a.do("sem_unlink", name), Value(0))


@spec(
    "posix.sem.wait-eintr",
    "A sem_wait sleeping on a semaphore at 0 is interrupted by a signal caught by a handler: it fails "
    "with EINTR (whatever SA_RESTART says) and the value stays 0.",
    sources=[("sem_wait(3)", "EINTR The call was interrupted by a signal handler; see signal(7)."),
             ("signal(7)", "The following interfaces are never restarted after being interrupted by "
                           "a signal handler, regardless of the use of SA_RESTART; they always fail with "
                           "the error EINTR when interrupted by a signal handler:")],
)
def test_wait_interrupted(scenario, posix_names):
    name = posix_names.new()
    a, b = scenario.spawn("a"), scenario.spawn("b")
    a.call("signal", signal.SIGUSR1, "count")
    h = a.call("sem_open", name, CREAT | EXCL, 0o600, 0)
    scenario.expect(a.do("sem_wait", h), BLOCKED)
    b.call("kill", ActorRef("a"), signal.SIGUSR1)
    scenario.expect_event(a, Errno("EINTR"))
    scenario.expect(a.do("sem_getvalue", h), Value(0))
    scenario.expect(a.do("sem_unlink", name), Value(0))


@spec(
    "posix.sem.unlink-while-open",
    "sem_unlink removes the name at once (a later sem_open without O_CREAT fails with ENOENT), but "
    "processes that have the semaphore open keep using it.",
    source=("sem_unlink(3)", "sem_unlink() removes the named semaphore referred to by name. The semaphore "
                             "name is removed immediately. The semaphore is destroyed once all other "
                             "processes that have the semaphore open close it."),
)
def test_unlink_while_open(scenario, posix_names):
    name = posix_names.new()
    a, b = scenario.spawn("a"), scenario.spawn("b")
    ha = a.call("sem_open", name, CREAT | EXCL, 0o600, 0)
    hb = b.call("sem_open", name, 0, 0o600, 0)
    scenario.expect(a.do("sem_unlink", name), Value(0))
    scenario.expect(b.do("sem_open", name, 0, 0o600, 0), Errno("ENOENT"), "the name is gone")
    scenario.expect(a.do("sem_post", ha), Value(0))
    scenario.expect(b.do("sem_getvalue", hb), Value(1), "the open semaphore still works, and is shared")
    scenario.expect(b.do("sem_trywait", hb), Value(0))
    scenario.expect(a.do("sem_close", ha), Value(0))
    scenario.expect(b.do("sem_close", hb), Value(0))


@spec(
    "posix.sem.shared-by-name",
    "Unrelated processes that sem_open the same name share one semaphore: a post in one is seen, "
    "and taken, in the other.",
    source=("sem_overview(7)", "Two processes can operate on the same named semaphore by passing the "
                               "same name to sem_open(3)."),
)
@given(posts=st.integers(1, 4))
def test_shared_by_name(new_scenario, posix_names, posts):
    name = posix_names.new()
    with new_scenario() as sc:
        a, b = sc.spawn("a"), sc.spawn("b")
        ha = a.call("sem_open", name, CREAT | EXCL, 0o600, 0)
        hb = b.call("sem_open", name, 0, 0o600, 0)
        for _ in range(posts):
            a.call("sem_post", ha)
        sc.expect(b.do("sem_getvalue", hb), Value(posts))
        for _ in range(posts):
            sc.expect(b.do("sem_trywait", hb), Value(0))
        sc.expect(a.do("sem_trywait", ha), Errno("EAGAIN"), "b took every post")
        sc.expect(a.do("sem_unlink", name), Value(0))
    posix_names.sweep()
