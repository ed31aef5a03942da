"""Boot a kernel under QEMU, run one job in it, and always clean up.

One run: a temporary directory with the initramfs (the cached base plus
this run's ``/init`` and job, :mod:`.guest`) and the ``ctl`` share; QEMU
started in its own session; its console read line by line, echoed with the
kernel's name and the elapsed time, and kept in ``console.log``; the job's
exit status read from ``ctl/status`` once QEMU has exited.

What can go wrong, and what the user sees (a :class:`GuestFailed`, one line,
exit status 2; the console log has the rest):

* the overall deadline passes (a hung guest, or a far too slow one): QEMU is
  stopped;
* the guest kernel panics: ``panic=-1`` and ``-no-reboot`` make QEMU exit,
  and the panic line is quoted;
* ``/init`` fails (a module does not load, a share does not mount): its
  ``error:`` line is quoted;
* QEMU itself fails, e.g. an option this QEMU does not know.

Nothing outlives a run: QEMU is killed (SIGTERM, then SIGKILL, to its whole
process group) in a ``finally`` — also on Ctrl-C or SIGTERM/SIGHUP to this
process, which are turned into :class:`KeyboardInterrupt` for the duration —
and it is started with ``PR_SET_PDEATHSIG`` so that even a SIGKILL of this
process takes QEMU with it. The host mounts nothing (QEMU serves 9p from
user space), so there is no mount to undo; the temporary directory is
removed.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import KernelError, accel, guest, initramfs, qemu
from .cache import KernelEntry

PR_SET_PDEATHSIG = 1
_STOP_GRACE = 5.0
_HEARTBEAT = 60.0


class GuestFailed(KernelError):
    """The guest produced no exit status: deadline, panic, /init error, QEMU error."""


#: host directories the guest covers with its own filesystems (see :mod:`.guest`)
GUEST_MASKED = (Path("/tmp"), Path("/run"), Path("/dev"))


def _hidden_interpreter_dirs() -> list[Path]:
    """The running Python's environment, when the guest's own /tmp or /run would hide it.

    A virtual environment made under /tmp is common; without this share the
    guest's chroot finds no interpreter there and the job fails with 127.
    """
    hidden = []
    for prefix in dict.fromkeys((Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve())):
        if any(prefix == masked or masked in prefix.parents for masked in GUEST_MASKED):
            hidden.append(prefix)
    return hidden


@dataclass
class Job:
    """What to run in which kernel, and how long it may take."""

    entry: KernelEntry
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: str
    writable: Sequence[Path] = ()
    console_log: Path | None = None
    timeout: float = 1800.0
    accel: str = "auto"
    memory_mb: int = 2048
    cpus: int = 2
    qemu: str = qemu.QEMU
    label: str = ""

    def name(self) -> str:
        return self.label or self.entry.series


@dataclass
class Result:
    status: int
    accel: str
    boot_seconds: float | None
    seconds: float


@dataclass
class _Attempt:
    """What one QEMU process did."""

    returncode: int | None = None
    init_started: bool = False
    running_at: float | None = None
    timed_out: bool = False
    fell_back: bool = False
    error: str | None = None
    panic: str | None = None
    kvm_error: bool = False
    last_lines: list[str] = field(default_factory=list)


def _die_with_parent() -> None:
    # runs in the child between fork and exec: if this process dies, even
    # by SIGKILL, the kernel sends QEMU SIGKILL
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt, like Ctrl-C, until the block ends."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop(proc: subprocess.Popen[Any]) -> None:
    """End QEMU and anything it started: SIGTERM to its group, SIGKILL after a grace period."""
    if proc.poll() is None:
        for sig, grace in ((signal.SIGTERM, _STOP_GRACE), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    _end_group(proc.pid)


def _end_group(group: int, within: float = _STOP_GRACE) -> None:
    """Wait until no process of ``group`` is left, killing what remains.

    QEMU's exit does not mean its helpers have gone: they got the same
    signal but may still be on their way out, or may have ignored it. A
    group is empty when ``killpg`` finds no one (a zombie counts until its
    new parent reaps it; ``within`` bounds the wait for that).
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.01)  # a poll for the kernel to finish the exits, not an ordering


class Console:
    """Echo the guest's console with a ``[6.1 12s]`` prefix and keep a log of it."""

    def __init__(self, out: TextIO, name: str, log: Path | None, started: float) -> None:
        self.out = out
        self.name = name
        self.started = started
        self.log = log.open("w", encoding="utf-8", buffering=1) if log else None
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.partial = ""   # the current line so far
        self.echoed = 0     # how much of it has been echoed
        self.at_line_start = True
        self.last_output = started

    def prefix(self) -> str:
        return f"[{self.name} {time.monotonic() - self.started:4.0f}s] "

    def say(self, text: str) -> None:
        if not self.at_line_start:
            self.out.write("\n")
            self.at_line_start = True
        self.out.write(self.prefix() + text + "\n")
        self.out.flush()
        self.last_output = time.monotonic()

    def feed(self, data: bytes, final: bool = False) -> list[str]:
        """Echo ``data``; return the complete lines it finished (for the runner to inspect).

        Lines for the host (:data:`guest.MARK`) are not echoed as they are:
        the runner says what they mean. A line's start is held back while it
        could still become one.
        """
        text = self.decoder.decode(data, final).replace("\r", "")
        if self.log:
            self.log.write(text)
        lines = []
        for piece in text.splitlines(keepends=True):
            self.partial += piece
            complete = piece.endswith("\n")
            maybe_mark = guest.MARK.startswith(self.partial) and not complete
            if not self.partial.startswith(guest.MARK) and not maybe_mark:
                self._echo(self.partial[self.echoed:])
                self.echoed = len(self.partial)
            if complete:
                lines.append(self.partial[:-1])
                self.partial, self.echoed = "", 0
        if text:
            self.last_output = time.monotonic()
        return lines

    def _echo(self, piece: str) -> None:
        if not piece:
            return
        if self.at_line_start:
            self.out.write(self.prefix())
        self.out.write(piece)
        self.at_line_start = piece.endswith("\n")
        self.out.flush()

    def heartbeat(self) -> None:
        """Say we are alive after a long silence (pytest's dots count as output)."""
        if self.at_line_start and time.monotonic() - self.last_output >= _HEARTBEAT:
            self.say("(still running)")

    def close(self) -> None:
        if self.log:
            self.log.close()


def _watch(proc: subprocess.Popen[bytes], console: Console, attempt: _Attempt, acc: str,
           remaining: tuple[str, ...], deadline: float, started: float) -> None:
    """Read QEMU's console until it exits, the deadline passes or KVM should be given up."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= deadline:
                attempt.timed_out = True
                return
            if accel.should_fall_back(acc, remaining, attempt.init_started, attempt.kvm_error,
                                      now - started):
                attempt.fell_back = True
                return
            if not sel.select(timeout=min(1.0, deadline - now)):
                console.heartbeat()
                continue
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not data:
                break
            for line in console.feed(data):
                _inspect(line, console, attempt, started)
    for line in console.feed(b"", final=True):
        _inspect(line, console, attempt, started)
    attempt.returncode = proc.wait()
    if accel.should_fall_back(acc, remaining, attempt.init_started, True, time.monotonic() - started):
        attempt.fell_back = True


def _inspect(line: str, console: Console, attempt: _Attempt, started: float) -> None:
    if line.strip():
        attempt.last_lines = [*attempt.last_lines[-19:], line]
    if "Kernel panic" in line and attempt.panic is None:
        attempt.panic = line.strip()
    if "KVM internal error" in line:
        attempt.kvm_error = True
    if not line.startswith(guest.MARK):
        return
    word, _, rest = line[len(guest.MARK):].strip().partition(" ")
    if word == "init":
        attempt.init_started = True
        console.say(f"kernel up after {time.monotonic() - started:.1f} s; mounting the host's files")
    elif word == "running":
        attempt.running_at = time.monotonic() - started
        console.say(f"booted in {attempt.running_at:.1f} s; running the job")
    elif word == "error:":
        attempt.error = rest
        console.say(f"error: {rest}")
    elif word == "status":
        console.say(f"the job exited with status {rest}")


def _read_status(ctl: Path) -> int | None:
    try:
        return int((ctl / "status").read_text().strip())
    except (OSError, ValueError):
        return None


def _failure(job: Job, attempt: _Attempt) -> str:
    where = f" (console log: {job.console_log})" if job.console_log else ""
    if attempt.timed_out:
        return f"kernel {job.entry.release}: no result within {job.timeout:.0f} s; QEMU was stopped{where}"
    if attempt.panic:
        return f"kernel {job.entry.release} panicked: {attempt.panic}{where}"
    if attempt.error:
        return f"kernel {job.entry.release}: the guest could not run the job: {attempt.error}{where}"
    last = attempt.last_lines[-1].strip() if attempt.last_lines else "no output"
    return (f"kernel {job.entry.release}: QEMU exited with status {attempt.returncode} before the guest "
            f"reported a result; last console line: {last}{where}")


def run(job: Job, out: TextIO | None = None, kvm: accel.KvmStatus | None = None) -> Result:
    """Boot, run ``job.argv`` in the guest, return its exit status; raise :class:`GuestFailed`."""
    out = out or sys.stdout
    if shutil.which(job.qemu) is None:
        raise KernelError(f"{job.qemu} not found: apt-get install qemu-system-x86")
    choice = accel.choose(job.accel, kvm or accel.kvm_status())
    started = time.monotonic()
    deadline = started + job.timeout
    console = Console(out, job.name(), job.console_log, started)
    workdir = Path(tempfile.mkdtemp(prefix="ipc-conformance-kernel-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        if choice.note:
            console.say(choice.note)
        ctl = workdir / "ctl"
        ctl.mkdir()
        writable = list(dict.fromkeys([*(Path(p) for p in job.writable), *_hidden_interpreter_dirs()]))
        mounts = [(f"rw{i}", path) for i, path in enumerate(writable)]
        initrd = workdir / "initrd.cpio"
        initramfs.with_overlay(job.entry.initramfs_path,
                               guest.overlay(job.argv, job.env, job.cwd, mounts), initrd)
        shares = [qemu.Share("hostroot", Path("/"), readonly=True), qemu.Share("ctl", ctl),
                  *(qemu.Share(tag, path) for tag, path in mounts)]
        attempt = _Attempt()
        for index, acc in enumerate(choice.order):
            argv = qemu.command(kernel=job.entry.image_path, initrd=initrd, accel=acc, shares=shares,
                                memory_mb=job.memory_mb, cpus=job.cpus, qemu=job.qemu)
            console.say(f"booting {job.entry.release} ({job.entry.package_version}) "
                        f"with {'KVM' if acc == 'kvm' else 'software emulation (TCG)'}")
            attempt_started = time.monotonic()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_die_with_parent)
            attempt = _Attempt()
            _watch(proc, console, attempt, acc, choice.order[index + 1:], deadline, attempt_started)
            stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()
            if not attempt.fell_back:
                break
            console.say("KVM could not boot this kernel (QEMU exited or /init did not start within "
                        f"{accel.KVM_BOOT_GRACE:.0f} s): falling back to software emulation (TCG)")
        status = None if attempt.timed_out else _read_status(ctl)
        if status is None:
            raise GuestFailed(_failure(job, attempt))
        return Result(status, acc, attempt.running_at, time.monotonic() - started)
    finally:
        if proc is not None:
            stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()
        console.close()
        shutil.rmtree(workdir, ignore_errors=True)
