"""Bad input to the command line: one line on stderr, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def cli(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0]


def test_unknown_backend(tmp_path):
    assert_one_line_error(cli("run", "--backend", "nosuch", "--report-dir", str(tmp_path)),
                          "nosuch", "installed backends")


def test_unknown_profile(tmp_path):
    assert_one_line_error(cli("run", "--profile", "fastest", "--report-dir", str(tmp_path)),
                          "fastest", "dev")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; uses a file instead")
def test_unwritable_report_dir_unprivileged():
    assert_one_line_error(cli("run", "--report-dir", "/proc/nope"), "/proc/nope")


def test_report_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = blocker / "report"
    assert_one_line_error(cli("run", "--report-dir", str(target)), str(target))


def test_unreadable_results_for_claims(tmp_path):
    broken = tmp_path / "results.json"
    broken.write_text('{"schema_version": 1, "clau')
    assert_one_line_error(cli("claims", str(broken)), str(broken))


def test_unknown_subcommand():
    assert_one_line_error(cli("frobnicate"), "frobnicate")


def test_unknown_actor_engine(tmp_path):
    assert_one_line_error(cli("run", "--actors", "java", "--report-dir", str(tmp_path)), "java", "python")


def test_unknown_actor_engine_in_the_environment(tmp_path):
    env = dict(os.environ, IPC_CONFORMANCE_ACTORS="java")
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert_one_line_error(proc, "IPC_CONFORMANCE_ACTORS='java'", "auto, c, python")


def test_native_actors_without_a_compiler(tmp_path):
    env = dict(os.environ, CC=str(tmp_path / "no-such-cc"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--actors", "c",
                           "--report-dir", str(tmp_path / "report")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert_one_line_error(proc, "--actors c", "no-such-cc", "--actors python")
