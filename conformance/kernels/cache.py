"""Where fetched kernels live, and what is recorded about each.

The cache is outside the source tree (a kernel is tens of megabytes and is
the same for every checkout)::

    $XDG_CACHE_HOME/ipc-conformance/kernels/     (default ~/.cache/...)
        6.1.0-56-amd64/
            vmlinux          the uncompressed kernel (or the bzImage, see image)
            initramfs.cpio   busybox and the 9p/virtio modules (uncompressed)
            config           the kernel's build configuration, for reference
            kernel.json      this entry: release, package, modules, ...

A directory is complete once ``kernel.json`` exists: :mod:`.fetch` builds the
entry in a temporary sibling and renames it into place.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import KernelError

RECORD = "kernel.json"
_SERIES = re.compile(r"^(\d+)\.(\d+)")


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/ipc-conformance/kernels`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ipc-conformance" / "kernels"


def series_of(release: str) -> str:
    """``6.1.0-56-amd64`` -> ``6.1``; ``6.12.117+deb12-amd64`` -> ``6.12``."""
    match = _SERIES.match(release)
    if not match:
        raise KernelError(f"cannot tell the kernel series of {release!r}")
    return f"{match[1]}.{match[2]}"


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Sort key that orders ``6.1.0-9`` before ``6.1.0-56`` (numbers as numbers)."""
    return tuple((int(part), "") if part.isdigit() else (-1, part)
                 for part in re.findall(r"\d+|\D+", text))


@dataclass
class KernelEntry:
    """One fetched kernel, as recorded in its ``kernel.json``."""

    release: str                 # uname -r inside the guest
    package: str                 # the Debian package it came from
    package_version: str         # that package's version: the upstream version is in it
    image: str                   # file name of what QEMU boots ("vmlinux" or "bzImage")
    image_kind: str              # "vmlinux (from xz)" or "bzImage": how it was obtained
    initramfs: str = "initramfs.cpio"
    modules: list[str] = field(default_factory=list)   # in load order
    busybox: str = ""
    banner: str = ""             # the kernel's "Linux version ..." string
    directory: str = ""          # filled in when loaded; not stored

    @property
    def series(self) -> str:
        return series_of(self.release)

    @property
    def path(self) -> Path:
        return Path(self.directory)

    @property
    def image_path(self) -> Path:
        return self.path / self.image

    @property
    def initramfs_path(self) -> Path:
        return self.path / self.initramfs

    def save(self, directory: Path) -> None:
        data = asdict(self)
        data.pop("directory")
        (directory / RECORD).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> KernelEntry:
        try:
            data = json.loads((directory / RECORD).read_text())
            entry = cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise KernelError(f"{directory / RECORD} is unreadable ({exc}); fetch the kernel again") from None
        entry.directory = str(directory)
        return entry


def entries(root: Path | None = None) -> list[KernelEntry]:
    """Every complete entry in the cache, oldest series and release first."""
    root = root or cache_root()
    if not root.is_dir():
        return []
    found = [KernelEntry.load(d) for d in root.iterdir() if (d / RECORD).is_file()]
    return sorted(found, key=lambda e: natural_key(e.package_version))


def find(spec: str, root: Path | None = None) -> KernelEntry:
    """The cached kernel for ``6.1``, ``6.12``, a release or a package name (newest wins)."""
    found = [e for e in entries(root) if spec in (e.series, e.release, e.package)]
    if not found:
        have = ", ".join(e.release for e in entries(root)) or "none"
        raise KernelError(f"kernel {spec} is not in the cache {root or cache_root()} (have: {have}); "
                          f"run: ipc-conformance kernels fetch {spec}")
    return found[-1]
