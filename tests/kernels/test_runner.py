"""The runner against a fake QEMU: exit status, deadline, panic, KVM fallback, cleanup."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time

import pytest

from conformance.kernels import accel, runner

from .fakes import alive, entry, fake_qemu

NO_KVM = accel.KvmStatus(False, "no /dev/kvm in this test")
KVM = accel.KvmStatus(True, "KVM available")


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A fake kernel, a fake QEMU first on PATH, a private TMPDIR, a record of QEMU's runs."""
    bin_dir = tmp_path / "bin"
    fake_qemu(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    record = tmp_path / "qemu-runs.jsonl"
    monkeypatch.setenv("FAKE_QEMU_RECORD", str(record))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    def job(mode: str, **options) -> runner.Job:
        monkeypatch.setenv("FAKE_QEMU_MODE", mode)
        defaults = dict(entry=entry(tmp_path / "cache" / "6.1.0-99-amd64"),
                        argv=[sys.executable, "-c", "pass"], env={"PATH": "/usr/bin"}, cwd="/",
                        console_log=tmp_path / "console.log", timeout=30.0)
        return runner.Job(**{**defaults, **options})

    def runs() -> list[dict]:
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []

    return job, runs, tmp


def test_the_guest_status_is_the_result_and_the_console_is_echoed_and_logged(setup, tmp_path):
    job, runs, tmp = setup
    out = io.StringIO()
    result = runner.run(job("status:3"), out=out, kvm=NO_KVM)
    assert result.status == 3 and result.accel == "tcg" and result.boot_seconds is not None
    text = out.getvalue()
    assert "[6.1" in text and "job: partial line... done" in text and "booted in" in text
    assert "ipc-conformance-guest:" not in text, "markers are translated, not echoed"
    assert "ipc-conformance-guest: status 3" in (tmp_path / "console.log").read_text()
    assert os.listdir(tmp) == [], "the temporary directory is removed"
    assert not alive(runs()[0]["pid"])


def test_the_deadline_stops_qemu_and_everything_it_started(setup):
    job, runs, tmp = setup
    with pytest.raises(runner.GuestFailed, match=r"no result within 2 s; QEMU was stopped"):
        runner.run(job("hang", timeout=2.0), out=io.StringIO(), kvm=NO_KVM)
    (run,) = runs()
    assert not alive(run["pid"]) and not alive(run["child"])
    assert os.listdir(tmp) == []


def test_a_panic_is_quoted(setup):
    job, _, _ = setup
    with pytest.raises(runner.GuestFailed, match="panicked: .*Kernel panic - not syncing"):
        runner.run(job("panic"), out=io.StringIO(), kvm=NO_KVM)


def test_an_init_error_is_quoted(setup):
    job, _, _ = setup
    with pytest.raises(runner.GuestFailed, match="could not run the job: cannot mount the host's root"):
        runner.run(job("error"), out=io.StringIO(), kvm=NO_KVM)


@pytest.mark.parametrize("mode", ["status:0:kvm-abort", "status:0:kvm-internal-error", "status:0:kvm-slow"])
def test_kvm_that_cannot_boot_the_kernel_falls_back_to_tcg(setup, monkeypatch, mode):
    job, runs, _ = setup
    monkeypatch.setattr(accel, "KVM_BOOT_GRACE", 1.5)
    out = io.StringIO()
    result = runner.run(job(mode), out=out, kvm=KVM)
    assert result.status == 0 and result.accel == "tcg"
    assert [run["accel"] for run in runs()] == ["kvm", "tcg"]
    assert "falling back to software emulation (TCG)" in out.getvalue()
    assert not any(alive(run["pid"]) for run in runs())


def test_kvm_that_works_is_kept(setup):
    job, runs, _ = setup
    assert runner.run(job("status:0"), out=io.StringIO(), kvm=KVM).accel == "kvm"
    assert [run["accel"] for run in runs()] == ["kvm"]


def test_interrupt_stops_qemu_and_cleans_up(setup, monkeypatch):
    job, runs, tmp = setup

    def interrupted_watch(*args, **kwargs):
        deadline = time.monotonic() + 20
        while (not runs() or runs()[-1]["child"] is None) and time.monotonic() < deadline:
            time.sleep(0.05)
        raise KeyboardInterrupt  # as Ctrl-C would, in the middle of reading the console

    monkeypatch.setattr(runner, "_watch", interrupted_watch)
    with pytest.raises(KeyboardInterrupt):
        runner.run(job("hang"), out=io.StringIO(), kvm=NO_KVM)
    (run,) = runs()
    assert not alive(run["pid"]) and not alive(run["child"])
    assert os.listdir(tmp) == []


def test_a_missing_qemu_says_what_to_install(setup):
    job, _, _ = setup
    with pytest.raises(runner.KernelError, match="apt-get install qemu-system-x86"):
        runner.run(job("status:0", qemu="qemu-that-does-not-exist"), out=io.StringIO(), kvm=NO_KVM)
