"""Things a name in the scenario directory can refer to: regular files, FIFOs.

Plus ``/dev/null``, the one device the actors start with, and the socket
files ``unix_bind`` leaves in the directory. An inode here is
only the state the kernel keeps per file, not per open: the bytes of a regular
file, the pipe a FIFO is currently attached to. Offsets and status flags live
in the open file description (:mod:`.descriptions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .constants import MAX_MODEL_FILE, NAME_MAX
from .errors import ModelUsageError, Unmodelled

if TYPE_CHECKING:
    from .pipes import Pipe
    from .sockets import SocketEnd

DEV_NULL = "/dev/null"


@dataclass(eq=False)
class RegularFile:
    """A regular file: its bytes, and whether a write past the end left a hole."""

    data: bytearray = field(default_factory=bytearray)
    #: the mode given at creation; only its owner bits are ever consulted
    mode: int = 0o644
    #: a hole makes SEEK_DATA/SEEK_HOLE depend on the filesystem's block size
    has_hole: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    def truncate(self) -> None:
        self.data.clear()
        self.has_hole = False

    def write_at(self, offset: int, payload: bytes) -> None:
        """Write ``payload`` at ``offset``; a gap past the end reads as zeros."""
        end = offset + len(payload)
        if end > MAX_MODEL_FILE:
            raise Unmodelled(f"a regular file larger than {MAX_MODEL_FILE} bytes")
        if offset > len(self.data):
            self.has_hole = True
            self.data.extend(bytes(offset - len(self.data)))
        self.data[offset:end] = payload

    def read_at(self, offset: int, count: int) -> bytes:
        return bytes(self.data[offset : offset + count])


@dataclass(eq=False)
class DevNull:
    """``/dev/null``: reads are at end of file, writes vanish, seeks go to 0."""


@dataclass(eq=False)
class FifoInode:
    """A named pipe. Its pipe exists only while some description has it open.

    The kernel allocates ``pipe_inode_info`` at the first open and frees it
    (with any unread bytes and any F_SETPIPE_SZ size) when the last open file
    description of the FIFO goes away; an open blocked in the kernel counts.
    """

    pipe: Pipe | None = None
    mode: int = 0o644


@dataclass(eq=False)
class SocketInode:
    """The name a datagram socket was bound to; it outlives the socket."""

    end: SocketEnd | None = None


Inode = RegularFile | FifoInode | DevNull | SocketInode


def check_name(path: object) -> str:
    """Validate a path argument; return it. Errors as ``ENOENT``-style strings.

    Only simple names in the scenario directory (and ``/dev/null``) are
    modelled: directories, symbolic links and other absolute paths are not.
    """
    if not isinstance(path, str):
        raise ModelUsageError(f"a path must be a str, not {type(path).__name__}")
    if path == DEV_NULL:
        return path
    if "/" in path or path in (".", ".."):
        raise Unmodelled(f"path {path!r}: only simple names and /dev/null are modelled")
    if "\0" in path:
        raise Unmodelled("a path with a NUL byte")
    return path


def name_error(path: str) -> str | None:
    """The errno name a lookup of ``path`` fails with before touching any inode."""
    if path == "":
        return "ENOENT"
    if len(path.encode()) > NAME_MAX:
        return "ENAMETOOLONG"
    return None
