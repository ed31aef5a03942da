"""Which modules go into the initramfs, in which order."""

from __future__ import annotations

import lzma

import pytest

from conformance.kernels import KernelError, elf
from conformance.kernels.modules import (
    ModuleTree,
    decompress,
    load_order,
    modinfo,
    module_name,
    parse_modules_dep,
)

from .fakes import module, module_tree

# the shape of Debian's 6.1 generic kernel: virtio_pci is a module
DEBIAN_61 = {
    "virtio_ring": "",
    "virtio": "virtio_ring",
    "virtio_pci_modern_dev": "",
    "virtio_pci_legacy_dev": "",
    "virtio_pci": "virtio_pci_modern_dev,virtio_ring,virtio,virtio_pci_legacy_dev",
    "9pnet": "",
    "9pnet_virtio": "9pnet,virtio_ring,virtio",
    "fscache": "netfs",
    "netfs": "",
    "9p": "9pnet,netfs,fscache",
    "unrelated": "9p",
}


def assert_dependencies_first(order, deps):
    for position, name in enumerate(order):
        for dep in filter(None, deps[name].split(",")):
            assert order.index(dep) < position, f"{dep} must load before {name}: {order}"


@pytest.mark.parametrize("path, name", [
    ("kernel/fs/9p/9p.ko", "9p"),
    ("kernel/net/9p/9pnet_virtio.ko.xz", "9pnet_virtio"),
    ("kernel/drivers/virtio/virtio-pci.ko.zst", "virtio_pci"),
    ("snd-hda-intel.ko.gz", "snd_hda_intel"),
])
def test_module_names(path, name):
    assert module_name(path) == name


def test_modinfo_reads_the_depends_field():
    info = modinfo(module("netfs,9pnet", "9p"))
    assert info["depends"] == ["netfs,9pnet"]
    assert info["name"] == ["9p"]


def test_every_needed_module_comes_after_its_dependencies(tmp_path):
    tree = ModuleTree(module_tree(tmp_path, "6.1.0-1-amd64", DEBIAN_61))
    order = tree.load_order()
    assert set(order) == set(DEBIAN_61) - {"unrelated"}
    assert_dependencies_first(order, DEBIAN_61)


def test_built_in_modules_are_left_out(tmp_path):
    # 6.12: virtio and virtio_pci are built into the image
    deps = {"9pnet": "", "9pnet_virtio": "9pnet", "netfs": "", "9p": "9pnet,netfs"}
    tree = ModuleTree(module_tree(tmp_path, "6.12.1+deb12-amd64", deps, builtin=("virtio/virtio_pci",)))
    assert tree.load_order() == ["9pnet", "9pnet_virtio", "netfs", "9p"]


def test_xz_modules_are_decompressed(tmp_path):
    deps = {"9pnet": "", "9pnet_virtio": "9pnet", "9p": "9pnet"}
    tree = ModuleTree(module_tree(tmp_path, "6.12.1+deb12-amd64", deps, builtin=("virtio_pci",), xz=tuple(deps)))
    for name in tree.load_order():
        assert tree.read(name).startswith(elf.MAGIC)


def test_modules_dep_wins_over_modinfo(tmp_path):
    root = module_tree(tmp_path, "6.1.0-1-amd64", {"a": "", "b": "", "9p": "a"},
                       builtin=("virtio_pci", "9pnet_virtio"))
    (root / "modules.dep").write_text("kernel/fs/9p/9p.ko: kernel/fs/b/b.ko\nkernel/fs/b/b.ko:\n")
    assert ModuleTree(root).load_order() == ["b", "9p"]


def test_parse_modules_dep():
    text = "kernel/fs/9p/9p.ko.xz: kernel/fs/netfs/netfs.ko.xz kernel/net/9p/9pnet.ko.xz\nkernel/x.ko:\n"
    assert parse_modules_dep(text) == {"9p": ["netfs", "9pnet"], "x": []}


def test_a_missing_module_in_a_tree_is_named(tmp_path):
    tree = ModuleTree(module_tree(tmp_path, "6.1.0-1-amd64", {"9p": "9pnet"}, builtin=("virtio_pci",)))
    with pytest.raises(KernelError, match="'9pnet_virtio' is neither"):
        tree.load_order()


def test_a_cycle_is_an_error():
    deps = {"a": ["b"], "b": ["c"], "c": ["a"]}
    with pytest.raises(KernelError, match="a -> b -> c -> a"):
        load_order(["a"], deps.__getitem__)


def test_shared_dependencies_appear_once():
    deps = {"x": ["z", "y"], "y": ["z"], "z": []}
    assert load_order(["x", "y"], deps.__getitem__) == ["z", "y", "x"]


def test_decompress_by_suffix():
    data = module()
    assert decompress(lzma.compress(data), "a.ko.xz") == data
    assert decompress(data, "a.ko") == data
