"""The zygote's interpreter holds only what actors need.

Every actor is a fork of the zygote, and a fork costs in proportion to the
memory it copies: each module the zygote imports is paid for again by every
actor, at fork (page tables), as it runs (copy-on-write faults) and at exit
(tear-down). Importing ``typing``, ``dataclasses`` (which brings ``inspect``,
``ast`` and ``tokenize``), ``re`` or ``subprocess`` doubled an actor's cost;
this keeps them out of the import chain the zygote follows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: modules an actor never needs; each one is paid for by every fork
HEAVY = ("typing", "dataclasses", "inspect", "ast", "re", "subprocess", "tempfile", "shutil",
         "pickle", "random", "threading", "importlib.metadata", "pathlib")


def zygote_modules(backend_module: str) -> set[str]:
    """The modules a zygote has loaded once it has imported ``backend_module``."""
    program = (
        "import importlib, sys; import conformance.harness.zygote; "
        f"importlib.import_module({backend_module!r}); print(' '.join(sorted(sys.modules)))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-S", "-c", program], env=env, check=True,
                         capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.parametrize("backend_module", ["conformance.backends.kernel"])
def test_zygote_imports_nothing_heavy(backend_module: str) -> None:
    loaded = zygote_modules(backend_module)
    assert backend_module in loaded
    heavy = sorted(m for m in HEAVY if m in loaded)
    assert not heavy, f"the zygote imports {heavy}: every actor fork copies them"


def test_the_check_sees_a_heavy_import() -> None:
    """The check above can fail: a module that imports typing is caught."""
    assert "typing" in zygote_modules("conformance.outcome")
