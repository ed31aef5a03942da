"""Finding and downloading a Debian kernel package with apt.

``6.1`` means the newest ``linux-image-6.1.0-N-amd64`` apt can install;
``6.12`` the newest ``linux-image-6.12.N+debM-amd64``. On Debian 12 the
former is in ``bookworm`` and ``bookworm-security``, the latter in
``bookworm-security`` (Debian ships 6.12 to bookworm as the ``linux-6.12``
source package) and in ``bookworm-backports``; ``apt-cache policy`` decides,
so any configured suite works. Only the generic ``-amd64`` flavour matches:
``-cloud-amd64`` has no 9p at all (virtiofs only), ``-rt-`` and ``-dbg`` are
not what users run, ``-unsigned`` is the same kernel as the signed one.

Nothing is installed: ``apt-get download`` fetches the ``.deb`` into a
directory and ``dpkg-deb -x`` unpacks it there. When apt knows no package of
the series (its lists were never downloaded) and we are root,
``apt-get update`` runs once.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from . import KernelError
from .cache import natural_key

_SERIES = re.compile(r"\d+\.\d+")


def package_pattern(series: str) -> re.Pattern[str]:
    """Names of the generic amd64 image packages of one series (no meta-packages)."""
    return re.compile(rf"linux-image-{re.escape(series)}(?:\.\d+)+(?:-\d+)?(?:\+deb\d+)?-amd64")


def choose_package(series: str, names: Iterable[str],
                   candidate: Callable[[str], str | None]) -> tuple[str, str] | None:
    """(name, version) of the newest installable package of ``series``.

    ``names`` are package names apt knows; ``candidate(name)`` is the version
    apt would install, or None. Names are tried newest first (numbers compared
    as numbers), and the first with a candidate wins.
    """
    pattern = package_pattern(series)
    matching = sorted((n for n in set(names) if pattern.fullmatch(n)), key=natural_key, reverse=True)
    for name in matching:
        version = candidate(name)
        if version:
            return name, version
    return None


def _run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=cwd,
                              env={**os.environ, "LC_ALL": "C"})
    except FileNotFoundError:
        raise KernelError(f"{argv[0]} not found: fetching kernels needs Debian's apt and dpkg") from None


def _names(series: str) -> list[str]:
    return _run(["apt-cache", "pkgnames", f"linux-image-{series}"]).stdout.split()


def candidate_version(name: str) -> str | None:
    """The version ``apt-get download name`` would fetch, from ``apt-cache policy``."""
    for line in _run(["apt-cache", "policy", name]).stdout.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Candidate":
            value = value.strip()
            return None if value in ("", "(none)") else value
    return None


def apt_update(log: Callable[[str], None]) -> None:
    if os.geteuid() != 0:
        raise KernelError("apt knows no matching kernel package and only root may run 'apt-get update'")
    log("apt-get update (the package lists are missing or stale)")
    done = _run(["apt-get", "update", "-q"])
    if done.returncode != 0:
        raise KernelError(f"apt-get update failed: {_last_line(done.stderr or done.stdout)}")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def resolve(spec: str, log: Callable[[str], None]) -> tuple[str, str]:
    """(package, version) for ``6.1``, ``6.12`` or an explicit ``linux-image-...`` name."""
    if spec.startswith("linux-image-"):
        if "cloud" in spec:
            raise KernelError(f"{spec}: the cloud flavour has no 9p filesystem; use the generic -amd64 one")
        version = candidate_version(spec)
        if version is None:
            apt_update(log)
            version = candidate_version(spec)
        if version is None:
            raise KernelError(f"apt has no installable package {spec} (apt-cache policy {spec})")
        return spec, version
    if not _SERIES.fullmatch(spec):
        raise KernelError(f"{spec!r} is neither a kernel series like 6.1 nor a linux-image-... package name")
    found = choose_package(spec, _names(spec), candidate_version)
    if found is None:
        apt_update(log)
        found = choose_package(spec, _names(spec), candidate_version)
    if found is None:
        raise KernelError(
            f"apt knows no linux-image-{spec}.*-amd64 package; add a suite that has one "
            f"(for 6.12 on Debian 12: bookworm-backports or bookworm-security) and run apt-get update")
    return found


def download(package: str, version: str, into: Path, log: Callable[[str], None]) -> Path:
    """``apt-get download package=version`` into ``into``; the ``.deb``'s path."""
    argv = ["apt-get", "download", "-q", f"{package}={version}"]
    done = _run(argv, cwd=into)
    if done.returncode != 0:
        # a stale list names a file the mirror no longer has: refresh once
        apt_update(log)
        done = _run(argv, cwd=into)
    debs = sorted(into.glob(f"{package}_*.deb"))
    if done.returncode != 0 or not debs:
        raise KernelError(f"apt-get download {package}={version} failed: "
                          f"{_last_line(done.stderr or done.stdout)}")
    return debs[0]


def unpack(deb: Path, into: Path) -> None:
    """``dpkg-deb -x``: the package's files, without installing it."""
    done = _run(["dpkg-deb", "-x", str(deb), str(into)])
    if done.returncode != 0:
        raise KernelError(f"dpkg-deb -x {deb.name} failed: {_last_line(done.stderr)}")
