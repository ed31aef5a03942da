"""``ipc-conformance kernels`` as a user runs it: errors, Ctrl-C, SIGTERM, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .fakes import alive, entry, env_with, fake_qemu


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def world(tmp_path):
    """A cache with one fake 6.1 kernel, a fake QEMU on PATH, and a private TMPDIR."""
    entry(tmp_path / "xdg" / "ipc-conformance" / "kernels" / "6.1.0-99-amd64")
    fake_qemu(tmp_path / "bin")
    (tmp_path / "tmp").mkdir()
    record = tmp_path / "runs.jsonl"
    env = env_with(tmp_path / "bin", XDG_CACHE_HOME=str(tmp_path / "xdg"), TMPDIR=str(tmp_path / "tmp"),
                   FAKE_QEMU_RECORD=str(record))
    return env, record, tmp_path


def test_a_kernel_not_fetched(world):
    env, _, _ = world
    one_line_error(cli("kernels", "run", "--kernel", "6.6", env=env), "6.6", "kernels fetch 6.6")


def test_not_a_kernel_name(world):
    env, _, _ = world
    one_line_error(cli("kernels", "fetch", "newest", env=env), "newest", "neither a kernel series")


def test_fetch_and_list_take_no_run_options(world):
    env, _, _ = world
    one_line_error(cli("kernels", "list", "-k", "dup", env=env), "unrecognized arguments")


def test_list_shows_the_cache(world):
    env, _, _ = world
    done = cli("kernels", "list", env=env)
    assert done.returncode == 0 and "6.1.0-99-amd64" in done.stdout


def test_the_exit_status_is_the_guests_and_options_reach_the_guest(world):
    env, record, tmp_path = world
    reports = tmp_path / "reports"
    done = cli("kernels", "run", "--kernel", "6.1", "--report-dir", str(reports), "--accel", "tcg",
               "-k", "dup", env={**env, "FAKE_QEMU_MODE": "status:1"})
    assert done.returncode == 1, done.stderr
    assert "status 1" in done.stdout and (reports / "console.log").is_file()
    (run,) = [json.loads(line) for line in record.read_text().splitlines()]
    assert run["accel"] == "tcg"


def test_a_timeout_is_one_line_and_exit_2(world):
    env, record, tmp_path = world
    done = cli("kernels", "run", "--kernel", "6.1", "--report-dir", str(tmp_path / "r"), "--timeout", "2",
               env={**env, "FAKE_QEMU_MODE": "hang"})
    one_line_error(done, "no result within 2 s", "QEMU was stopped")
    run = json.loads(record.read_text())
    assert not alive(run["pid"]) and not alive(run["child"])


def start_and_wait_for_qemu(world, mode: str = "hang") -> tuple[subprocess.Popen[str], dict]:
    env, record, tmp_path = world
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "kernels", "run", "--kernel", "6.1",
                             "--report-dir", str(tmp_path / "r")], env={**env, "FAKE_QEMU_MODE": mode},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if record.exists() and record.read_text().strip():
            run = json.loads(record.read_text().splitlines()[-1])
            if run["child"] is not None:
                return proc, run
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the fake QEMU did not start")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_command_stops_qemu_and_removes_its_files(world, sig):
    _, _, tmp_path = world
    proc, run = start_and_wait_for_qemu(world)
    time.sleep(0.3)  # into the console loop
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; QEMU stopped" in err and "Traceback" not in err
    assert not alive(run["pid"]) and not alive(run["child"])
    assert os.listdir(tmp_path / "tmp") == []


def test_killing_the_command_outright_still_takes_qemu_with_it(world):
    proc, run = start_and_wait_for_qemu(world)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while alive(run["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(run["pid"]), "PR_SET_PDEATHSIG ends QEMU with its parent"
    os.kill(run["child"], signal.SIGKILL)  # the fake's own child has no such guard; real QEMU has none


def test_the_report_dir_defaults_under_reports(world, tmp_path):
    env, _, _ = world
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "kernels", "run", "--kernel", "6.1"],
                          capture_output=True, text=True, timeout=120, cwd=work,
                          env={**env, "FAKE_QEMU_MODE": "status:0"})
    assert done.returncode == 0, done.stderr
    (made,) = list((work / "reports").iterdir())
    assert made.name.endswith("-6.1.0-99-amd64-kernel") and (made / "console.log").is_file()
    assert Path(made).is_dir()
