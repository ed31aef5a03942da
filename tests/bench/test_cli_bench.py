"""``ipc-conformance bench`` on the command line: bad input is one line and exit 2; a small run writes its files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conformance.bench.catalogue import placements_here


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.parametrize(("args", "word"), [
    (["--mechanisms", "pipe,carrier-pigeon"], "carrier-pigeon"),
    (["--mechanisms", ","], "empty"),
    (["--sizes", "4X"], "4X"),
    (["--sizes", "0"], "'0'"),
    (["--sizes", "65M"], "65M"),
    (["--repeat", "0"], "--repeat"),
    (["--repeat", "many"], "many"),
    (["--frobnicate"], "frobnicate"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, word):
    proc = cli("bench", "--out", str(tmp_path / "out"), *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert word in lines[0]
    assert not (tmp_path / "out").exists()


def test_unreadable_bench_file_for_claims(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text('{"kind": "ipc-conformance-bench"')
    proc = cli("claims", "--bench", str(path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and str(path) in proc.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")
def test_a_small_run_writes_every_file(tmp_path):
    out = tmp_path / "bench"
    proc = cli("bench", "--quick", "--repeat", "1", "--mechanisms", "pipe,posix-shm-futex", "--sizes", "4K",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "bench: round 1/1" in proc.stderr
    doc = json.loads((out / "bench.json").read_text())
    placements = placements_here()
    assert {(r["mechanism"], r["metric"]) for r in doc["results"]} == {
        (m, f"{test}@{p}") for m in ("pipe", "posix-shm-futex") for test in ("latency", "throughput-4096")
        for p in placements}
    assert all(len(r["samples"]) == 1 for r in doc["results"])
    # a subset cannot decide "the fastest"
    assert doc["claims"][0]["id"] == "S20" and doc["claims"][0]["verdict"] == "undecided"
    assert (out / "bench.md").is_file() and (out / "bench.html").is_file()
    assert str(out / "bench.json") in proc.stdout
