"""KVM or software emulation (TCG): which accelerator to ask QEMU for.

KVM runs the guest at native speed when the host's KVM can run a stock
kernel. It cannot always: on the development machine ``/dev/kvm`` opens, but
the module behind it is ``kvm_pvm`` (a paravirtualized backend that runs only
guest kernels built for it). A stock Debian 6.1 kernel there crawls — 15 s
of boot reached ``setup_percpu``, where TCG finishes the whole boot in
2.5 s — until QEMU prints ``KVM internal error. Suberror: 1`` (after 40-70 s)
and pauses the guest, without exiting; elsewhere QEMU has been seen to
abort on an MSR access. TCG always works and costs 20-50x in Python speed.

``auto`` therefore decides in two steps:

* before booting (:func:`choose`): no usable ``/dev/kvm``, or only the PVM
  backend loaded -> TCG at once, with the reason;
* while booting (:func:`should_fall_back`): with KVM, QEMU dying or
  reporting a KVM internal error before the guest's ``/init`` says hello,
  or ``/init`` not starting within
  :data:`KVM_BOOT_GRACE` seconds, means "KVM cannot run this kernel": the
  runner stops QEMU and boots again under TCG, saying so. Nothing of the job
  has run by then, so nothing is repeated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: a working KVM reaches /init in about a second; TCG in 2-3 s
KVM_BOOT_GRACE = 30.0
CHOICES = ("auto", "kvm", "tcg")
#: KVM backends that run unmodified guest kernels
_FULL_BACKENDS = ("kvm_intel", "kvm_amd")


@dataclass(frozen=True)
class KvmStatus:
    usable: bool
    reason: str


@dataclass(frozen=True)
class Choice:
    """Accelerators to try, in order, and what to tell the user about it."""

    order: tuple[str, ...]
    note: str | None


def kvm_status(device: str = "/dev/kvm", modules: Path = Path("/sys/module")) -> KvmStatus:
    """Can this process use KVM for a stock kernel, as far as can be seen without booting?"""
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return KvmStatus(False, f"{device}: {exc.strerror}")
    os.close(fd)
    loaded = {p.name for p in modules.iterdir()} if modules.is_dir() else set()
    if "kvm_pvm" in loaded and not loaded.intersection(_FULL_BACKENDS):
        return KvmStatus(False, "KVM here is the PVM backend (kvm_pvm), which cannot run a stock kernel")
    return KvmStatus(True, "KVM available")


def choose(requested: str, status: KvmStatus) -> Choice:
    """The accelerators to try for ``--accel requested``."""
    if requested == "tcg":
        return Choice(("tcg",), None)
    if requested == "kvm":
        note = None if status.usable else f"--accel kvm although {status.reason}"
        return Choice(("kvm",), note)
    if not status.usable:
        return Choice(("tcg",), f"{status.reason}: using software emulation (TCG), "
                                "which runs Python 20-50x slower")
    return Choice(("kvm", "tcg"), None)


def should_fall_back(accel: str, remaining: tuple[str, ...], init_started: bool,
                     qemu_failed: bool, waited: float) -> bool:
    """Stop this attempt and try the next accelerator?

    Only before the guest's ``/init`` started (nothing has run yet), only
    when there is a next accelerator, and only for KVM: QEMU failed (it
    exited, or reported a KVM internal error and paused the guest) or the
    boot is taking far longer than KVM ever does.
    """
    if accel != "kvm" or not remaining or init_started:
        return False
    return qemu_failed or waited >= KVM_BOOT_GRACE
