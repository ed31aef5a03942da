"""``kernels fetch``: from a series name to a bootable cache entry.

Steps, each of which can fail with a one-line reason:

1. :func:`debian.resolve` picks the package, :func:`debian.download` and
   :func:`debian.unpack` bring its files into a temporary directory inside
   the cache (same filesystem, so the final rename is atomic);
2. the package must have 9p over virtio (the ``-cloud`` flavour has not);
3. :class:`ModuleTree` orders the modules the guest needs, and
   :func:`initramfs.build_base` packs them with busybox;
4. :func:`image.extract_vmlinux` decompresses the kernel when it has a PVH
   entry point; otherwise (or without the ``zstd`` program for a
   zstd-compressed kernel) the bzImage is kept, which boots too, only slower;
5. the entry directory gets ``kernel.json`` and is renamed into place; the
   unpacked package (hundreds of MB) and the ``.deb`` are deleted.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import KernelError, debian, elf, image, initramfs
from .cache import KernelEntry, cache_root, series_of
from .modules import ModuleTree


def _needs_9p(config: str) -> None:
    for option in ("CONFIG_NET_9P_VIRTIO", "CONFIG_9P_FS"):
        if not re.search(rf"^{option}=[ym]$", config, re.M):
            raise KernelError(f"this kernel has no 9p over virtio ({option} is off); "
                              "use Debian's generic -amd64 flavour")


def _banner(vmlinux: bytes) -> str:
    at = vmlinux.find(b"Linux version ")
    if at < 0:
        return ""
    return vmlinux[at:vmlinux.index(b"\n", at)].decode("ascii", "replace").strip()


def build_entry(root: Path, package: str, version: str, into: Path, log: Callable[[str], None]) -> KernelEntry:
    """Turn an unpacked package at ``root`` into a cache entry in ``into``."""
    module_dirs = sorted((root / "lib" / "modules").glob("*"))
    if len(module_dirs) != 1:
        raise KernelError(f"{package}: expected one lib/modules/<release> directory, found {len(module_dirs)}")
    release = module_dirs[0].name
    boot = root / "boot"
    config = (boot / f"config-{release}").read_text()
    _needs_9p(config)
    tree = ModuleTree(module_dirs[0])
    order = tree.load_order()
    busybox = initramfs.find_busybox()
    (into / "initramfs.cpio").write_bytes(initramfs.build_base(tree, order, busybox))
    (into / "config").write_text(config)
    bz = (boot / f"vmlinuz-{release}").read_bytes()
    extracted = image.extract_vmlinux(bz)
    if extracted and elf.has_pvh_entry(extracted[0]):
        vmlinux, kind = extracted
        (into / "vmlinux").write_bytes(vmlinux)
        name, how, banner = "vmlinux", f"vmlinux (decompressed from {kind})", _banner(vmlinux)
    else:
        missing = image.compressor_missing(bz)
        log("keeping the compressed bzImage (boots slower)"
            + (f": install {missing} to extract vmlinux" if missing else ""))
        (into / "bzImage").write_bytes(bz)
        name, how, banner = "bzImage", "bzImage", ""
    entry = KernelEntry(release=release, package=package, package_version=version, image=name,
                        image_kind=how, modules=order, busybox=str(busybox), banner=banner)
    entry.save(into)
    entry.directory = str(into)
    return entry


def fetch(spec: str, *, force: bool = False, root: Path | None = None,
          log: Callable[[str], None] = print) -> KernelEntry:
    """Download and prepare one kernel (a series like ``6.1`` or a package name)."""
    root = root or cache_root()
    package, version = debian.resolve(spec, log)
    for existing in root.glob("*/kernel.json") if root.is_dir() else ():
        entry = KernelEntry.load(existing.parent)
        if (entry.package, entry.package_version) == (package, version) and not force:
            log(f"{package} {version} is already in the cache: {entry.path}")
            return entry
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    try:
        log(f"downloading {package} {version}")
        deb = debian.download(package, version, work, log)
        unpacked = work / "package"
        debian.unpack(deb, unpacked)
        staged = work / "entry"
        staged.mkdir()
        log("building the initramfs and extracting vmlinux")
        entry = build_entry(unpacked, package, version, staged, log)
        series_of(entry.release)  # a release we can name by series
        final = root / entry.release
        if final.exists():
            shutil.rmtree(final)
        staged.rename(final)
        entry = KernelEntry.load(final)
        log(f"{entry.release}: {entry.image_kind}, modules {' '.join(entry.modules) or '(all built in)'}")
        log(f"cached in {final}")
        return entry
    finally:
        shutil.rmtree(work, ignore_errors=True)
