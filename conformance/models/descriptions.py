"""Open file descriptions: what a descriptor number points at.

A description is created by each successful open(), pipe(), socketpair() or
reopen through /proc. dup(), fork() and SCM_RIGHTS only add references to an
existing one, which is why they share its offset and status flags. The
description stays alive while any descriptor or in-flight SCM_RIGHTS message
refers to it; releasing it is what a pipe or socket peer can observe (EOF,
EPIPE), and that happens in :func:`.lifecycle.drop_ref`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY
from .files import DevNull, FifoInode, RegularFile
from .pipes import Pipe
from .sockets import SocketEnd

FileObject = RegularFile | DevNull | Pipe | SocketEnd


@dataclass(eq=False)
class Description:
    """One ``struct file``. Compared by identity, as kcmp(KCMP_FILE) does."""

    obj: FileObject
    #: O_RDONLY, O_WRONLY, O_RDWR, or 3 (open for neither: ioctl-only)
    accmode: int
    #: status flags exactly as F_GETFL reports them, without the access mode
    flags: int
    #: the FIFO this was opened through, None for anonymous pipes and others
    fifo: FifoInode | None = None
    offset: int = 0
    refs: int = 0
    #: FASYNC set through F_SETFL (registered with the file's fasync list);
    #: FASYNC passed to open() sets the flag without registering, and then
    #: F_SETFL can no longer clear it
    fasync_registered: bool = False

    @property
    def readable(self) -> bool:
        return self.accmode in (O_RDONLY, O_RDWR)

    @property
    def writable(self) -> bool:
        return self.accmode in (O_WRONLY, O_RDWR)

    @property
    def status(self) -> int:
        """The F_GETFL value."""
        return (self.accmode & O_ACCMODE) | self.flags

    @property
    def file_type(self) -> str:
        if isinstance(self.obj, RegularFile):
            return "-"
        if isinstance(self.obj, Pipe):
            return "p"
        if isinstance(self.obj, SocketEnd):
            return "s"
        return "c"

    @property
    def seekable(self) -> bool:
        return isinstance(self.obj, (RegularFile, DevNull))
