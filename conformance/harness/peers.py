"""Peer programs: small C programs that specs run as real, exec'd processes.

Some behaviors are only visible to a program the shell starts: what the
first ``open()`` of a freshly exec'd program returns after ``3> file``, or
which descriptor ``>`` redirects. An actor cannot show these (it is a forked
Python process, not an exec'd program), so such specs run a *peer*: a C
source file ``fixtures/NAME.c`` compiled at run time with ``cc``.

Binaries are cached outside the source tree, in a directory keyed by the
source's hash and the compile command, so editing a peer recompiles it and
parallel workers share one build:

* ``$XDG_CACHE_HOME/ipc-conformance/peers/`` when ``XDG_CACHE_HOME`` is set,
* otherwise ``/tmp/ipc-conformance-peers-<uid>/``.

A clause that runs a peer declares ``requires=("command:cc", ...)``, so on a
system without a compiler it is reported ``unsupported`` before it runs;
:func:`peer_path` raising :class:`PeerError` (the harness could not decide:
``broken``) is for the remaining failures, such as a source that does not
compile.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from .scenario import HarnessError

#: the peers' sources: ``fixtures/`` at the top of the source tree
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
#: warnings on, so a peer that drifts into undefined behavior says so in the log
CFLAGS = ("-O1", "-Wall", "-Wextra", "-std=c11", "-D_GNU_SOURCE")


class PeerError(HarnessError):
    """A peer program could not be found or built."""


def cache_dir() -> Path:
    """The directory compiled peers are kept in, created private to this user."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        path = Path(xdg) / "ipc-conformance" / "peers"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    else:
        path = Path(tempfile.gettempdir()) / f"ipc-conformance-peers-{os.getuid()}"
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass
    # /tmp is shared: a directory another user made (or made writable) could
    # hold a planted binary that the specs would then execute.
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise PeerError(f"peer cache {path} is not a directory owned by uid {os.getuid()} "
                        "and writable only by it; remove it or set XDG_CACHE_HOME")
    return path


def peer_path(name: str) -> str:
    """Compile ``fixtures/NAME.c`` if needed and return the binary's absolute path.

    ``NAME`` may name a subdirectory of ``fixtures/``: ``"bench/ipcbench"``.
    """
    source = FIXTURES / f"{name}.c"
    try:
        text = source.read_bytes()
    except OSError as exc:
        raise PeerError(f"peer program {name!r}: cannot read {source}: {exc.strerror}") from exc
    compiler = shutil.which("cc")
    if compiler is None:
        raise PeerError(f"peer program {name!r} needs a C compiler: no 'cc' on PATH "
                        "(on Debian: apt-get install gcc)")
    key = hashlib.sha256(text + repr(CFLAGS).encode()).hexdigest()[:16]
    directory = cache_dir()
    # a peer in a subdirectory ("bench/ipcbench") is cached flat, as "bench-ipcbench-KEY"
    flat = name.replace("/", "-")
    binary = directory / f"{flat}-{key}"
    if binary.exists():
        return str(binary)
    # Build under a unique name and rename into place: rename is atomic, so a
    # parallel worker sees either no binary or a complete one.
    fd, scratch = tempfile.mkstemp(prefix=f".{flat}-", dir=directory)
    os.close(fd)
    try:
        result = subprocess.run(
            [compiler, *CFLAGS, "-o", scratch, str(source)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        if result.returncode != 0:
            raise PeerError(f"peer program {name!r} did not compile:\n{result.stderr.strip()}")
        os.chmod(scratch, 0o700)
        os.replace(scratch, binary)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    return str(binary)
