"""The C peer: it builds, measures every mechanism, and cleans up even when its deadline passes.

Tiny iteration counts, no assertion about speed: these tests check that each
mechanism really moves its messages (the peer checks every message's
sequence number and fails on a mismatch), that the record it prints is well
formed, and that nothing it creates outlives it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conformance.bench.catalogue import DEFAULT_SIZES, LATENCY_SIZE, MECHANISMS
from conformance.bench.command import PEER
from conformance.harness.peers import peer_path

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")

NAMES = [m.name for m in MECHANISMS]


@pytest.fixture(scope="module")
def binary() -> str:
    return peer_path(PEER)


def proc_limit(path: str) -> int:
    return int(Path(path).read_text())


def expected_chunk(mechanism: str, size: int) -> int:
    limits = {
        "sysv-msg": proc_limit("/proc/sys/kernel/msgmax"),
        "posix-mq": proc_limit("/proc/sys/fs/mqueue/msgsize_max"),
        "unix-dgram": 65536,
    }
    return min(size, limits.get(mechanism, size))


def run(binary: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("mechanism", NAMES)
def test_every_mechanism_gives_a_well_formed_record(binary, mechanism):
    shared = next(m.shared_memory for m in MECHANISMS if m.name == mechanism)
    allowed = sorted(os.sched_getaffinity(0))
    placements = ["any", "same", "split"] if len(allowed) >= 2 else ["any", "same"]
    expected_cpus = {"any": [-1, -1], "same": [allowed[0]] * 2, "split": allowed[:2]}
    tests = [("latency", LATENCY_SIZE, 20), *(("throughput", s, 3) for s in DEFAULT_SIZES)]
    for placement, (test, size, iterations) in [(p, t) for p in placements for t in tests]:
        proc = run(binary, mechanism, test, str(size), str(iterations), "30", placement)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        record = json.loads(proc.stdout)
        assert set(record) == {"mechanism", "test", "size", "iterations", "warmup", "chunk", "slots",
                               "placement", "cpus", "elapsed_ns"}
        assert (record["mechanism"], record["test"], record["size"], record["iterations"]) == \
            (mechanism, test, size, iterations)
        assert (record["placement"], record["cpus"]) == (placement, expected_cpus[placement])
        assert record["warmup"] == max(1, iterations // 10)
        assert record["chunk"] == expected_chunk(mechanism, size)
        assert (record["slots"] >= 2) if shared else (record["slots"] == 0)
        assert isinstance(record["elapsed_ns"], int) and record["elapsed_ns"] > 0


@pytest.mark.parametrize("args", [
    ("nosuch", "latency", "64", "1"),
    ("pipe", "sideways", "64", "1"),
    ("pipe", "latency", "0", "1"),
    ("pipe", "latency", "64", "0"),
    ("pipe", "latency", "64"),
    ("pipe", "latency", "64", "1", "10", "sideways"),
])
def test_bad_usage_is_exit_status_2(binary, args):
    proc = run(binary, *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1


def _sysv_ids() -> set[str]:
    found = set()
    for kind in ("msg", "sem", "shm"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        found |= {f"{kind} {line.split()[1]}" for line in lines if line.split()}
    return found


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            members.append(int(entry))
    return members


# Those with objects that only the peer's own cleanup removes (a semaphore
# set, a message queue, FIFO paths), and one whose objects go at once.
@pytest.mark.parametrize("mechanism", ["sysv-msg", "sysv-shm-sem", "fifo", "posix-shm-sem", "posix-mq", "posix-shm-spin"])
def test_deadline_removes_objects_and_reaps_the_child(binary, mechanism):
    before = _sysv_ids()
    tmp_before = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("ipcbench-")}
    # far more iterations than one second allows: the peer's alarm must end it
    peer = subprocess.Popen([binary, mechanism, "throughput", "4096", str(10**12), "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    out, err = peer.communicate(timeout=60)
    assert peer.returncode == 3, err
    assert out == "" and "deadline" in err
    assert _session_members(peer.pid) == [], "the peer's child survived it"
    assert _sysv_ids() - before == set()
    assert not [p for p in os.listdir("/dev/shm") if p == f"ipcbench-{peer.pid}"]
    tmp_after = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("ipcbench-")}
    assert tmp_after - tmp_before == set()
