"""What runs inside the guest: its ``/init`` and the job the host gives it.

The guest kernel starts ``/init`` (busybox ``sh``) from the initramfs. It

1. loads the 9p/virtio modules in the order the fetch worked out;
2. mounts the host's root read-only at ``/newroot`` (9p tag ``hostroot``,
   ``cache=loose``: nothing changes it under the guest, and Python's imports
   then read each file once) and the control directory at ``/ctl``;
3. brings up the loopback interface (the specs' inet sockets use
   127.0.0.1; there is no other network) and gives the chroot its own
   kernel filesystems: ``proc``, ``sysfs``,
   ``devtmpfs``, ``devpts``, a tmpfs at ``/dev/shm`` (POSIX shared memory),
   ``mqueue`` at ``/dev/mqueue`` and a tmpfs at ``/tmp`` and ``/run``. 9p
   cannot hold FIFOs or sockets, and the scenario base directory is made
   with ``tempfile`` under ``TMPDIR=/tmp``, so every IPC object lives on a
   guest filesystem. Then each writable share at its host path inside
   ``/newroot`` — the project and the report directory, so paths are the
   same inside and out (a report directory under ``/tmp`` too);
4. runs the job in a chroot of the host's root, so the host's Python, libc
   and compiler are used unchanged, and writes its exit status to
   ``/ctl/status`` (written to a temporary name, then renamed);
5. powers off. An error on the way is one console line
   ``ipc-conformance-guest: error: ...`` and a power-off without a status.

Console lines starting with :data:`MARK` are for the host (:mod:`.runner`).
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import KernelError
from .cpio import CpioWriter

MARK = "ipc-conformance-guest:"
#: 9p message size: the virtio transport's limit in 6.1 ((128 - 3) pages), so
#: each of Python's file reads over 9p takes fewer round trips than with 8 KiB
MSIZE = 512000

INIT = r"""#!/bin/busybox sh
# /init of an ipc-conformance guest: see conformance/kernels/guest.py
/bin/busybox --install -s /bin
export PATH=/bin
say() { echo "@MARK@ $*"; }
die() { say "error: $*"; sync; poweroff -f; sleep 10; }

mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
say "init $(cut -d' ' -f1 /proc/uptime)"
# the loopback interface starts down: inet sockets to 127.0.0.1 need it
ip link set lo up || die "cannot bring up the loopback interface"
for module in $(cat /modules/order); do
    insmod "/modules/$module.ko" || die "insmod $module failed"
done

NINEP=trans=virtio,version=9p2000.L,msize=@MSIZE@
R=/newroot
mount -t 9p -o "$NINEP,ro,cache=loose" hostroot "$R" || die "cannot mount the host's root over 9p"
mount -t 9p -o "$NINEP" ctl /ctl || die "cannot mount the control directory"

mount -t proc proc "$R/proc" || die "cannot mount /proc"
mount -t sysfs sysfs "$R/sys" || die "cannot mount /sys"
mount -t devtmpfs dev "$R/dev" || die "cannot mount /dev"
mkdir -p "$R/dev/shm" "$R/dev/mqueue" "$R/dev/pts"
mount -t tmpfs -o mode=1777 shm "$R/dev/shm" || die "cannot mount /dev/shm"
mount -t mqueue mqueue "$R/dev/mqueue" || die "cannot mount /dev/mqueue"
mount -t devpts devpts "$R/dev/pts" || die "cannot mount /dev/pts"
mount -t tmpfs -o mode=1777 tmp "$R/tmp" || die "cannot mount /tmp"
mount -t tmpfs -o mode=755 run "$R/run" || die "cannot mount /run"
# the writable shares last, so a report directory under /tmp is the host's,
# not hidden by the guest's tmpfs (mkdir: it must exist on that tmpfs)
while read -r tag path; do
    mkdir -p "$R$path" 2>/dev/null
    mount -t 9p -o "$NINEP" "$tag" "$R$path" || die "cannot mount $path (9p tag $tag)"
done < /job/mounts
mkdir -p "$R/run/ipc-conformance"
cp /job/run.sh "$R/run/ipc-conformance/run.sh"

say "running $(cut -d' ' -f1 /proc/uptime)"
# through a pipe: the job's output is then not a terminal, so pytest draws
# no colours and no "collecting ..." line rewritten in place
( chroot "$R" /bin/sh /run/ipc-conformance/run.sh; echo $? > /job/status ) 2>&1 | cat
status=$(cat /job/status)
echo "$status" > /ctl/status.tmp && mv /ctl/status.tmp /ctl/status
say "status $status"
sync
poweroff -f
sleep 10
"""


def init_script() -> str:
    return INIT.replace("@MARK@", MARK).replace("@MSIZE@", str(MSIZE))


def run_script(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> str:
    """The job, run by the host's ``/bin/sh`` inside the chroot.

    ``env -i`` gives the suite exactly ``env`` and nothing of init's
    environment; the exit status is the suite's.
    """
    assignments = " ".join(shlex.quote(f"{key}={value}") for key, value in sorted(env.items()))
    command = " ".join(shlex.quote(arg) for arg in argv)
    return (
        "# the job of an ipc-conformance guest: see conformance/kernels/guest.py\n"
        f"cd {shlex.quote(cwd)} || exit 2\n"
        f"exec /usr/bin/env -i {assignments} {command}\n"
    )


def mounts_file(mounts: Sequence[tuple[str, Path]]) -> str:
    """``tag path`` lines, parents first (a report directory may be inside the project)."""
    ordered = sorted(mounts, key=lambda item: len(item[1].parts))
    for _tag, path in ordered:
        if any(c.isspace() for c in str(path)):
            raise KernelError(f"a directory shared with the guest may not have whitespace in its path: {path}")
    return "".join(f"{tag} {path}\n" for tag, path in ordered)


def overlay(argv: Sequence[str], env: Mapping[str, str], cwd: str,
            mounts: Sequence[tuple[str, Path]]) -> bytes:
    """The second initramfs archive of a run: ``/init`` and ``/job/*``."""
    out = io.BytesIO()
    archive = CpioWriter(out)
    archive.file("init", init_script().encode(), mode=0o755)
    archive.file("job/mounts", mounts_file(mounts).encode())
    archive.file("job/run.sh", run_script(argv, env, cwd).encode(), mode=0o755)
    archive.close()
    return out.getvalue()
