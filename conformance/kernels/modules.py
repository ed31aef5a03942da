"""Kernel modules of a Debian kernel package: find, read, order by dependency.

The guest needs 9p over virtio to see the host's files. In Debian's generic
``-amd64`` kernels those are modules (``9p``, ``9pnet_virtio``, and, in 6.1,
``virtio_pci``), and each needs others loaded first (``9p`` needs ``netfs``
and ``9pnet``, ...). ``insmod`` does not resolve dependencies, so the
initramfs gets them in load order.

Where the order comes from: ``modules.dep`` when it exists (``depmod``
writes it). The *package* does not ship one — ``depmod`` runs in its
postinst — so otherwise each module's own ``depends=`` field in its
``.modinfo`` section is read. That field is written at build time by
``modpost`` from the same symbol resolution ``depmod`` repeats, so the two
agree. Modules listed in ``modules.builtin`` are part of the kernel image and
are skipped (``virtio_pci`` is built in from 6.12 on).

Debian compresses modules with xz from 6.12 on (``CONFIG_MODULE_COMPRESS_XZ``);
they are decompressed here, at fetch time, so the guest's busybox ``insmod``
need not (and the kernel need not support in-kernel decompression).
"""

from __future__ import annotations

import gzip
import lzma
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from . import KernelError, elf

#: what the guest needs; everything else comes in as a dependency
REQUIRED = ("virtio_pci", "9pnet_virtio", "9p")
_SUFFIXES = (".ko.xz", ".ko.zst", ".ko.gz", ".ko")


def module_name(path: str) -> str:
    """``kernel/fs/9p/9p.ko.xz`` -> ``9p``; dashes and underscores are the same name."""
    base = path.rsplit("/", 1)[-1]
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def decompress(data: bytes, path: str) -> bytes:
    """A module file's bytes, uncompressed according to its suffix."""
    if path.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.endswith(".ko.gz"):
        return gzip.decompress(data)
    if path.endswith(".ko.zst"):
        zstd = shutil.which("zstd")
        if zstd is None:
            raise KernelError(f"{path} is zstd-compressed: install zstd (apt-get install zstd)")
        return subprocess.run([zstd, "-dcq"], input=data, capture_output=True, check=True).stdout
    return data


def modinfo(data: bytes) -> dict[str, list[str]]:
    """The ``key=value`` strings of a module's ``.modinfo`` (keys may repeat)."""
    raw = elf.section(data, ".modinfo") or b""
    info: dict[str, list[str]] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep:
            info.setdefault(key, []).append(value)
    return info


def parse_modules_dep(text: str) -> dict[str, list[str]]:
    """``modules.dep`` lines (``kernel/a.ko: kernel/b.ko kernel/c.ko``) as names."""
    deps: dict[str, list[str]] = {}
    for line in text.splitlines():
        target, sep, rest = line.partition(":")
        if sep:
            deps[module_name(target)] = [module_name(dep) for dep in rest.split()]
    return deps


def load_order(wanted: Iterable[str], depends_on: Callable[[str], list[str]],
               builtin: frozenset[str] = frozenset()) -> list[str]:
    """Every module ``wanted`` needs, each after its dependencies (depth first).

    Built-in modules are left out, and so are their dependencies (which are
    then built in too). A dependency cycle cannot be loaded by ``insmod`` and
    is an error.
    """
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order or name in builtin:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name):], name])
            raise KernelError(f"module dependency cycle: {cycle}")
        visiting.append(name)
        for dep in depends_on(name):
            visit(dep)
        visiting.pop()
        order.append(name)

    for name in wanted:
        visit(name.replace("-", "_"))
    return order


class ModuleTree:
    """``lib/modules/<release>/`` of an unpacked kernel package."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Path] = {}
        for path in sorted(root.rglob("*.ko*")):
            if path.name.endswith(_SUFFIXES):
                self.files.setdefault(module_name(path.name), path)
        self.builtin = self._builtin()
        dep_file = root / "modules.dep"
        self._deps = parse_modules_dep(dep_file.read_text()) if dep_file.is_file() else None
        self._cache: dict[str, bytes] = {}

    def _builtin(self) -> frozenset[str]:
        path = self.root / "modules.builtin"
        if not path.is_file():
            return frozenset()
        return frozenset(module_name(line) for line in path.read_text().split())

    def read(self, name: str) -> bytes:
        """The module's uncompressed ``.ko``."""
        if name not in self._cache:
            path = self.files.get(name)
            if path is None:
                raise KernelError(f"kernel module {name!r} is neither in {self.root} nor built in")
            self._cache[name] = decompress(path.read_bytes(), path.name)
        return self._cache[name]

    def depends_on(self, name: str) -> list[str]:
        if self._deps is not None and name in self._deps:
            return self._deps[name]
        values = modinfo(self.read(name)).get("depends", [""])
        return [dep.replace("-", "_") for value in values for dep in value.split(",") if dep]

    def load_order(self, wanted: Iterable[str] = REQUIRED) -> list[str]:
        return load_order(wanted, self.depends_on, self.builtin)
