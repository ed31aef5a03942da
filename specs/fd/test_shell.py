"""Shell redirections: the shell opens the file on a numbered descriptor, then execs.

``[n]> file`` means: in the program about to be run, descriptor n (1 when n
is left out) is ``file``. The shell opens the file, moves it to n and execs
the program, which therefore starts with one more descriptor open. These
specs run ``/bin/sh`` (Debian: dash) in an actor and exec small peer programs
from ``fixtures/``, so what is observed is exactly what a C program sees.
"""

import os
import shlex

from conformance.clauses import spec
from conformance.outcome import Value

DASH_REDIRECT = (
    "dash(1)",
    "[n]> file   Redirect standard output (or n) to file.",
)
DASH_N = (
    "dash(1)",
    "The [n] is an optional number between 0 and 9, as in ‘3’ (not ‘[3]’), that refers to a "
    "file descriptor.",
)
SEED_S10 = (
    "seed S10",
    "In echo \"hello\" > temp.txt, the redirected stream is echo's descriptor 0 (stdin); "
    "without redirection it is as if > 0.",
)
SEED_S10_ORIGINAL = [
    ("seed 000 §2.1.3", "echo의 출력(0, stdin)의 방향을 파일로 바꾸어 주라는 뜻이다."),
    ("seed 000 §2.1.3", "리다이렉트를 쓰지 않으면 echo \"hello\" > 0과 동일한 의미이다."),
]


@spec(
    "fd.shell.redirect-3",
    "A program run as `program 3> temp.txt` starts with descriptor 3 open, so its first "
    "open() returns 4 (3 without the redirection).",
    sources=[
        DASH_REDIRECT,
        DASH_N,
        ("open(2)", "The file descriptor returned by a successful call will be the "
                    "lowest-numbered file descriptor not currently open for the process."),
        ("seed S11", "Run as ./program 3> temp.txt, the program's first open() returns 4."),
        ("seed 000 §2.1.3", "./program 3> temp.txt 명령으로 실행하면 fd 값이 4가 된다."),
    ],
    requires=("processes", "command:cc"),
    supports={"S11": "the seed's program prints 4 under `3> temp.txt` (and 3 without it)"},
)
def test_redirect_3_makes_first_open_4(scenario, peer):
    program = shlex.quote(peer("first_open"))
    a = scenario.spawn("a")
    # The seed's program opens temp.txt with O_RDWR alone: make sure it exists.
    a.call("close", a.call("open", "temp.txt", os.O_RDWR | os.O_CREAT, 0o644))
    scenario.expect(a.do("shell", f"{program} temp.txt"), Value((0, "3\n")),
                    "without redirection: 0, 1, 2 are open, so 3")
    scenario.expect(a.do("shell", f"{program} temp.txt 3> temp.txt"), Value((0, "4\n")),
                    "3> temp.txt leaves 3 open in the program, so its first open() gets 4")


@spec(
    "fd.shell.redirect-is-stdout",
    "`>` redirects the program's descriptor 1 (standard output); descriptor 0 is redirected "
    "only by `0>`.",
    sources=[
        DASH_REDIRECT,
        ("stdin(3)", "On program startup, the integer file descriptors associated with the "
                     "streams stdin, stdout, and stderr are 0, 1, and 2, respectively."),
        SEED_S10,
        *SEED_S10_ORIGINAL,
    ],
    requires=("processes", "command:cc"),
    contradicts={"S10": "`> temp.txt` redirects descriptor 1, standard output, which is where "
                        "echo writes; descriptor 0 is standard input and is redirected only by "
                        "`0>` (or `<`)"},
)
def test_redirect_without_number_is_descriptor_1(scenario, peer):
    fdwrite = shlex.quote(peer("fdwrite"))
    a = scenario.spawn("a")
    # fdwrite writes "fd0\n" to its descriptor 0 and "fd1\n" to 1: which one
    # lands in the file shows which descriptor the redirection replaced.
    scenario.expect(a.do("shell", f"{fdwrite} 0 1 > out.txt"), Value((0, "")),
                    "nothing reaches the shell's stdout: descriptor 1 is the file")
    out = a.call("open", "out.txt", os.O_RDONLY)
    scenario.expect(a.do("read", out, 100), Value(b"fd1\n"), "> captured descriptor 1 only")
    scenario.expect(a.do("shell", f"{fdwrite} 0 1 0> zero.txt"), Value((0, "fd1\n")),
                    "with 0>, descriptor 1 is still the shell's stdout")
    zero = a.call("open", "zero.txt", os.O_RDONLY)
    scenario.expect(a.do("read", zero, 100), Value(b"fd0\n"), "0> captured descriptor 0")


@spec(
    "fd.shell.redirect-to-0-names-a-file",
    "In `echo hello > 0`, 0 is a file name: the shell creates a file named 0; output with "
    "no redirection goes to descriptor 1, not to 0.",
    sources=[DASH_REDIRECT, SEED_S10, *SEED_S10_ORIGINAL],
    requires=("processes",),
    contradicts={"S10": "`echo \"hello\" > 0` is not the default: it writes hello into a new "
                        "file named \"0\"; without redirection echo writes to its descriptor 1, "
                        "the shell's standard output"},
)
def test_redirect_to_0_creates_a_file(scenario):
    a = scenario.spawn("a")
    scenario.expect(a.do("shell", "echo hello"), Value((0, "hello\n")),
                    "no redirection: echo's descriptor 1 is the shell's stdout")
    scenario.expect(a.do("shell", "echo hello > 0"), Value((0, "")))
    scenario.expect(a.do("stat", "0"), Value(("-", 6)), "a regular file named 0 now exists")
    zero = a.call("open", "0", os.O_RDONLY)
    scenario.expect(a.do("read", zero, 100), Value(b"hello\n"))
