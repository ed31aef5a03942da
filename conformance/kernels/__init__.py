"""Other kernels: run the suite inside real Debian kernels under QEMU.

The host runs one kernel; a clause whose behavior changed between releases is
only seen by running the suite on several. This package boots a stock Debian
kernel package in ``qemu-system-x86_64`` and runs ``ipc-conformance run``
inside it, against the host's own Python and project files:

``ipc-conformance kernels fetch 6.1``
    :mod:`.debian` finds and downloads the newest ``linux-image-6.1.*-amd64``
    with apt, :mod:`.fetch` unpacks it into the cache
    (:mod:`.cache`, outside the source tree), pulls out an uncompressed
    ``vmlinux`` (:mod:`.image`), and builds a small initramfs
    (:mod:`.initramfs`, :mod:`.cpio`): a static busybox plus the 9p and
    virtio modules, their dependencies resolved by :mod:`.modules`.

``ipc-conformance kernels run --kernel 6.1``
    :mod:`.runner` boots it (:mod:`.qemu` builds the command line, :mod:`.accel`
    picks KVM or software emulation). The guest's ``/init`` (:mod:`.guest`)
    mounts the host's root read-only over 9p, the project and report
    directories writable, a tmpfs for every IPC object and FIFO, then chroots
    into the host's root and runs the suite; its exit status comes back
    through a file on a shared directory.

:mod:`.command` holds what the ``kernels`` subcommand calls.
"""

from __future__ import annotations


class KernelError(Exception):
    """Something the user can act on: one line, exit status 2."""
