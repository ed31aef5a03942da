"""The model's parameters for the machine the suite runs on.

The model itself makes no system calls; this helper reads, once, the host
facts its predictions depend on, so a model can be built to match the real
actors of this machine::

    ProcessModel(**host_parameters())

``privileged`` means "holds CAP_SYS_RESOURCE", the capability pipe_set_size()
checks before growing a pipe past /proc/sys/fs/pipe-max-size. Note that root
in a container often lacks it.
"""

from __future__ import annotations

import os
import resource
from typing import Any

CAP_SYS_RESOURCE = 24


def host_parameters() -> dict[str, Any]:
    return {
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "pipe_max_size": _read_int("/proc/sys/fs/pipe-max-size", 1048576),
        "privileged": _has_capability(CAP_SYS_RESOURCE),
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "arch": os.uname().machine,
    }


def _read_int(path: str, default: int) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return default


def _has_capability(bit: int) -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        pass
    return os.geteuid() == 0
