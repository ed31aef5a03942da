"""A real boot of each fetched kernel: runs only when the kernel cache has one.

``ipc-conformance kernels fetch 6.1`` fills the cache (``.ci/run`` does,
before the tests). Each boot runs a small Python program in the guest that
checks what the suite relies on there, writes what it saw to a writable
share, and exits with a status of its own choosing, which must come back.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap

import pytest

from conformance.kernels import cache, runner
from conformance.kernels.command import guest_env

LATEST = {entry.series: entry for entry in cache.entries()}  # the newest of each series

pytestmark = [
    pytest.mark.skipif(not LATEST, reason="no kernel in the cache (ipc-conformance kernels fetch 6.1)"),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 not installed"),
]

PROBE = textwrap.dedent('''
    import errno, json, os, platform, socket, stat, sys, tempfile
    out = sys.argv[1]
    seen = {"release": platform.release(), "uid": os.geteuid()}
    base = tempfile.mkdtemp(prefix="ipc-conformance-")
    os.mkfifo(os.path.join(base, "fifo"))          # 9p could not hold a FIFO
    seen["fifo"] = stat.S_ISFIFO(os.stat(os.path.join(base, "fifo")).st_mode)
    mounts = {}
    for line in open("/proc/self/mounts"):
        fields = line.split()
        mounts[fields[1]] = fields[2]
    seen["mounts"] = {p: mounts.get(p) for p in ("/", "/tmp", "/dev/shm", "/dev/mqueue", "/proc")}
    try:
        open("/usr/ipc-conformance-probe", "w")
        seen["host_root"] = "writable"
    except OSError as exc:
        seen["host_root"] = errno.errorcode[exc.errno]
    with socket.create_server(("127.0.0.1", 0)) as server:  # the loopback interface is up
        socket.create_connection(server.getsockname(), timeout=10).close()
        seen["loopback"] = True
    with open(os.path.join(out, "probe.json"), "w") as f:
        json.dump(seen, f)
    sys.exit(7)
''')


@pytest.mark.parametrize("series", sorted(LATEST))
def test_a_real_kernel_boots_runs_a_job_and_returns_its_status(series, tmp_path):
    entry = LATEST[series]
    out = tmp_path / "out"
    out.mkdir()
    job = runner.Job(entry=entry, argv=[sys.executable, "-c", PROBE, str(out)], env=guest_env(),
                     cwd="/", writable=[out], console_log=tmp_path / "console.log", timeout=600)
    result = runner.run(job)
    assert result.status == 7, (tmp_path / "console.log").read_text()[-3000:]
    seen = json.loads((out / "probe.json").read_text())
    assert seen["release"] == entry.release
    assert seen["uid"] == 0 and seen["fifo"] is True and seen["loopback"] is True
    assert seen["mounts"] == {"/": "9p", "/tmp": "tmpfs", "/dev/shm": "tmpfs", "/dev/mqueue": "mqueue",
                              "/proc": "proc"}
    assert seen["host_root"] == "EROFS", "the host's root is shared read-only"
