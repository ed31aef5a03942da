"""What ``ipc-conformance kernels fetch|run|list`` do (``conformance/cli.py`` parses).

``run`` runs, inside the guest, the same ``ipc-conformance run`` a user runs
on the host — with the host's Python (``sys.executable``, so a virtualenv's
packages come along), from the same working directory, with ``--profile
quick`` unless told otherwise, writing to a report directory on the host.
The guest's ``results.json`` records the guest kernel's release in its
provenance (it reads ``platform.release()``), so runs on several kernels
can be merged. The exit status is the guest run's: 0 all passed, 1 some
clause failed, 2 the run could not be made.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import KernelError, cache, runner
from .fetch import fetch

#: environment variables the suite in the guest gets from the host, if set
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "IPC_CONFORMANCE_SPECS",
              "PYTHONHASHSEED", "HYPOTHESIS_PROFILE", "IPC_CONFORMANCE_ACTORS")


def project_dir() -> Path:
    """The checkout the suite runs from (it holds ``specs/``)."""
    override = os.environ.get("IPC_CONFORMANCE_SPECS")
    if override:
        return Path(override).resolve().parent
    return Path(__file__).resolve().parent.parent.parent


def guest_env(host: dict[str, str] | None = None) -> dict[str, str]:
    """The guest job's environment: a few of the host's variables, and ``TMPDIR`` on the guest's tmpfs.

    ``XDG_CACHE_HOME`` is deliberately not passed: peer programs are then
    compiled in the guest, under ``/tmp``, instead of being shared with the
    host's cache.
    """
    host = dict(os.environ) if host is None else host
    env = {key: host[key] for key in PASSED_ENV if key in host}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin")
    env.setdefault("HOME", "/root")
    env.setdefault("LANG", "C.UTF-8")
    env.update({"TMPDIR": "/tmp", "PYTHONUNBUFFERED": "1", "COLUMNS": "100"})
    return env


def guest_argv(profile: str, report_dir: Path, passthrough: Sequence[str],
               python: str | None = None) -> list[str]:
    """``ipc-conformance run`` as the guest runs it."""
    return [python or sys.executable, "-m", "conformance.cli", "run", "--profile", profile,
            "--report-dir", str(report_dir), *passthrough]


def fetch_command(specs: Sequence[str], force: bool = False) -> int:
    for spec in specs:
        def log(line: str, spec: str = spec) -> None:
            print(f"[{spec}] {line}", flush=True)

        fetch(spec, force=force, log=log)
    return 0


def list_command() -> int:
    found = cache.entries()
    if not found:
        print(f"no kernels in {cache.cache_root()}; fetch one with: ipc-conformance kernels fetch 6.1")
    for entry in found:
        print(f"{entry.series:6} {entry.release:26} {entry.package_version:22} {entry.image_kind}")
    return 0


def run_command(kernel: str, *, profile: str = "quick", report_dir: str | None = None,
                accel: str = "auto", timeout: float = 1800.0, memory_mb: int = 2048, cpus: int = 2,
                passthrough: Sequence[str] = (), out: TextIO | None = None) -> int:
    out = out or sys.stdout
    entry = cache.find(kernel)
    if report_dir:
        reports = Path(report_dir).resolve()
    else:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        reports = (Path("reports") / f"{stamp}-{entry.release}-kernel").resolve()
    try:
        reports.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KernelError(f"cannot create the report directory {reports}: {exc.strerror}") from None
    for stale in ("results.json", "console.log"):
        (reports / stale).unlink(missing_ok=True)
    project = project_dir()
    job = runner.Job(
        entry=entry,
        argv=guest_argv(profile, reports, passthrough),
        env=guest_env(),
        cwd=os.getcwd(),
        writable=[project, reports] if (project / "specs").is_dir() else [reports],
        console_log=reports / "console.log",
        timeout=timeout, accel=accel, memory_mb=memory_mb, cpus=cpus,
        label=entry.series,
    )
    try:
        with runner.signals_interrupt():
            result = runner.run(job, out=out)
    except KeyboardInterrupt:
        print(f"ipc-conformance: kernel {entry.release}: interrupted; QEMU stopped", file=sys.stderr)
        return 130
    boot = f", booted in {result.boot_seconds:.1f} s" if result.boot_seconds is not None else ""
    print(f"[{entry.series}] {entry.release}: status {result.status} after {result.seconds:.0f} s "
          f"({result.accel.upper()}{boot}); report: {reports}", file=out, flush=True)
    return result.status
