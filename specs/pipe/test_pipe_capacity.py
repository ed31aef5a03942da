"""How much a pipe holds: 16 pages by default, adjustable with fcntl().

The capacity is counted in pages, not bytes: ``F_SETPIPE_SZ`` rounds a
request up to a power-of-two number of pages and returns what it set, and
it refuses (EBUSY) to shrink a pipe below the pages its data already uses.
"""

import os
from fcntl import F_GETFL, F_GETPIPE_SZ, F_SETFL, F_SETPIPE_SZ

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.clauses import spec
from conformance.outcome import Errno, Value

PAGE = os.sysconf("SC_PAGE_SIZE")
CAPACITY = 16 * PAGE


def _pipe_max_size() -> int:
    """The largest capacity an unprivileged process may set (proc(5))."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return int(f.read())
    except OSError:
        return 1 << 20  # the documented default


#: requests stay within what any user may ask for, so root is not needed
MAX_REQUEST = _pipe_max_size()
CAPACITY_TEXT = ("pipe(7)", "Since Linux 2.6.35, the default pipe capacity is 16 pages, but the "
                            "capacity can be queried and set using the fcntl(2) F_GETPIPE_SZ and "
                            "F_SETPIPE_SZ operations.")


def rounded_capacity(request: int) -> int:
    """What F_SETPIPE_SZ sets: at least a page, and a power-of-two number of pages."""
    pages = max(1, -(-request // PAGE))
    return PAGE * (1 << (pages - 1).bit_length())


@spec(
    "pipe.capacity.default",
    "A new pipe's capacity is 16 pages (65536 bytes with 4 KiB pages): F_GETPIPE_SZ reports it, "
    "and exactly that many bytes fit before a non-blocking write fails with EAGAIN.",
    sources=[
        CAPACITY_TEXT,
        ("fcntl(2), F_GETPIPE_SZ", "Return (as the "
                     "function result) the capacity of the pipe referred to by fd."),
    ],
)
def test_default_capacity_is_16_pages(scenario):
    a = scenario.spawn("a")
    r, w = a.call("pipe")
    scenario.expect(a.do("fcntl", w, F_GETPIPE_SZ), Value(CAPACITY), "16 pages")
    scenario.expect(a.do("fcntl", r, F_GETPIPE_SZ), Value(CAPACITY), "either end tells")
    # Not only the reported figure: the pipe really holds that much and no more.
    flags = a.call("fcntl", w, F_GETFL)
    a.call("fcntl", w, F_SETFL, flags | os.O_NONBLOCK)
    scenario.expect(a.do("write", w, b"." * CAPACITY), Value(CAPACITY), "the capacity fits")
    scenario.expect(a.do("write", w, b"."), Errno("EAGAIN"), "one byte more does not")


@spec(
    "pipe.capacity.set",
    "F_SETPIPE_SZ sets the capacity to the requested size rounded up to at least one page and to "
    "a power-of-two number of pages, and returns the capacity it set.",
    sources=[
        CAPACITY_TEXT,
        ("fcntl(2)", "When allocating the buffer for the pipe, the kernel may use a capacity larger "
                     "than arg, if that is convenient for the implementation.  (In the current "
                     "implementation, the allocation is the next higher power-of-two page-size "
                     "multiple of the requested size.)  The actual capacity (in bytes) that is set "
                     "is returned as the function result."),
        ("fcntl(2)", "Attempts to set the pipe capacity below the page size are silently rounded "
                     "up to the page size."),
    ],
)
@given(request=st.integers(1, MAX_REQUEST))
@example(request=1)
@example(request=3 * PAGE + 1)
@example(request=CAPACITY + 1)
def test_set_capacity_rounds_up(new_scenario, request):
    expected = rounded_capacity(request)
    with new_scenario() as sc:
        a = sc.spawn("a")
        r, w = a.call("pipe")
        sc.expect(a.do("fcntl", w, F_SETPIPE_SZ, request), Value(expected),
                  f"{request} bytes rounds to {expected // PAGE} page(s)")
        sc.expect(a.do("fcntl", r, F_GETPIPE_SZ), Value(expected), "the pipe now has that capacity")


@st.composite
def shrink_below_content(draw: st.DrawFn) -> tuple[int, int]:
    """(content, request): a request that rounds to fewer pages than the content fills.

    One write of ``content`` bytes into an empty pipe fills ceil(content /
    page) pages; every request up to the largest power-of-two number of
    pages below that rounds to too few pages to hold it.
    """
    content = draw(st.integers(PAGE + 1, CAPACITY), label="content")
    pages_used = -(-content // PAGE)
    below = 1 << ((pages_used - 1).bit_length() - 1)
    return content, draw(st.integers(1, below * PAGE), label="request")


@spec(
    "pipe.capacity.set-busy",
    "F_SETPIPE_SZ fails with EBUSY when the new capacity is smaller than the buffer space the "
    "pipe's data occupies; the pipe keeps its capacity and its data.",
    sources=[
        ("fcntl(2)", "Attempting to set the pipe capacity smaller than the amount of buffer space "
                     "currently used to store data produces the error EBUSY."),
        ("fcntl(2)", "EBUSY  cmd is F_SETPIPE_SZ and the new pipe capacity specified in arg is "
                     "smaller than the amount of buffer space currently used to store data in the "
                     "pipe."),
    ],
)
@given(case=shrink_below_content())
@example(case=(3 * PAGE, 2 * PAGE))
def test_cannot_shrink_below_content(new_scenario, case):
    content, request = case
    pages_used = -(-content // PAGE)
    payload = bytes(i % 256 for i in range(content))
    with new_scenario() as sc:
        a = sc.spawn("a")
        r, w = a.call("pipe")
        sc.expect(a.do("write", w, payload), Value(content))
        sc.expect(a.do("fcntl", w, F_SETPIPE_SZ, request), Errno("EBUSY"),
                  f"{content} bytes fill {pages_used} pages; {request} bytes round to "
                  f"{rounded_capacity(request) // PAGE}")
        sc.expect(a.do("fcntl", w, F_GETPIPE_SZ), Value(CAPACITY), "the capacity is unchanged")
        sc.expect(a.do("read", r, CAPACITY), Value(payload), "and so is the data")
