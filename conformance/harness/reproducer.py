"""Standalone reproducers: a failing trace as a script that needs no suite.

The harness modules (and the kernel backend) import only the standard
library, so a reproducer embeds their source text and loads it through a
small import hook. Running ``python3 repro.py`` starts its own zygote (the
script itself, with ``--zygote``), spawns the same actors, replays every step
in order, and prints, per step, the outcome the suite recorded, the outcome
the reference model or the spec expected (when known), and what happens now.
It exits 1 when a step still differs from what was expected — the failure
reproduces — and 0 otherwise.

System V ids depend on the history of the IPC namespace, so the replay runs
in a private one when it can (as root), passes the ids its own ``*get``
steps returned wherever the trace passed the recorded ones, counts any id a
``*get`` returns as matching, and removes the objects it created at the end.
An inet port that ``local_port`` reported is handled the same way: the
kernel picks another each run, so ``bind`` and ``connect`` get the replay's.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import pkgutil
from pathlib import Path
from typing import Any

from .scenario import Step

_EMBEDDED = (
    "conformance",
    "conformance.outcome",
    "conformance.names",
    "conformance.backends",
    "conformance.backends.ops",
    "conformance.backends.sysv_ops",
    "conformance.backends.kernel",
    "conformance.harness",
    "conformance.harness.procfs",
    "conformance.harness.protocol",
    "conformance.harness.actor",
    "conformance.harness.zygote",
    "conformance.harness.scenario",
)

_DRIVER = '''
import importlib.abc
import importlib.util
import sys


class _Embedded(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name in SOURCES:
            is_pkg = name in PACKAGES
            return importlib.util.spec_from_loader(name, self, is_package=is_pkg)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if module.__name__ in PACKAGES:
            module.__path__ = []
        exec(compile(SOURCES[module.__name__], "<" + module.__name__ + ">", "exec"), module.__dict__)


sys.meta_path.insert(0, _Embedded())


def main():
    if sys.argv[1:2] == ["--zygote"]:
        from conformance.harness.zygote import serve
        serve(int(sys.argv[2]), sys.argv[3])
        return 0
    from conformance.backends.ops import ActorRef  # noqa: F401 (used by STEPS)
    from conformance.outcome import Outcome  # noqa: F401
    from conformance.harness.scenario import Scenario
    from conformance.harness.zygote import ZygoteClient

    steps = eval(STEPS)
    private = _private_ipc_namespace()
    zygote = ZygoteClient(BACKEND, command=[sys.executable, __file__, "--zygote"])
    differs = 0
    #: System V ids and inet ports are the system's choice each run: the trace's -> the replay's
    ids = {}
    made = []
    try:
        with Scenario(zygote) as sc:
            for number, (actor, op, args, recorded, expected, events) in enumerate(steps, 1):
                if op == "spawn":
                    sc.spawn(actor)
                    continue
                if op == "settle":
                    now_events = sc.settle()
                    now = None
                elif op == "finish":
                    now = sc.actors[actor].finish()
                    now_events = sc.trace[-1].events
                else:
                    getter = ID_USERS.get(op)
                    sent = args
                    if getter and args and (getter, args[0]) in ids:
                        sent = (ids[(getter, args[0])],) + tuple(args[1:])
                    if op in PORT_USERS and ("local_port", args[1]) in ids:
                        sent = (args[0], ids[("local_port", args[1])]) + tuple(args[2:])
                    now = sc.actors[actor].do(op, *sent)
                    now_events = sc.trace[-1].events
                    if op in GETS and now.kind == "value" and recorded.kind == "value":
                        ids[(op, recorded.detail)] = now.detail
                        key, flags = args[0], args[-1]
                        if op != "local_port" and (private or key == 0 or flags & 0o3000 == 0o3000):
                            made.append((op, now.detail))
                shown = ", ".join(repr(a) for a in args)
                print(f"step {number}: {actor}: {op}({shown})")
                if now is not None:
                    print(f"    recorded {recorded}")
                    if expected is not None:
                        print(f"    expected {expected}")
                    print(f"    now      {now}")
                    an_id = op in GETS and now.kind == expected_kind(expected) == "value"
                    # Value("<a partial count...>") describes a value: any value matches
                    described = expected_kind(expected) == "value" == now.kind and \
                        str(expected.detail).startswith("<") and str(expected.detail).endswith(">")
                    if expected is not None and now != expected and not an_id and not described:
                        differs += 1
                        print("    ^^^ differs from what was expected")
                for name in sorted(set(events) | set(now_events)):
                    print(f"    then {name}: recorded {events.get(name)}, now {now_events.get(name)}")
    finally:
        zygote.close()
        _remove(made)
    print("reproduced" if differs else "did not reproduce a difference from the expectation")
    return 1 if differs else 0


#: results the system picks afresh each run (an id, a port): any value matches,
#: and later steps that pass the recorded one get the replay's instead
GETS = ("msgget", "semget", "shmget", "local_port")
#: operations whose second argument may be a port an earlier local_port gave
PORT_USERS = ("bind", "connect")
ID_USERS = {op: "msgget" for op in ("msgsnd", "msgrcv", "msgctl_stat", "msgctl_set", "msgctl_rmid")}
ID_USERS.update({op: "semget" for op in ("semop", "semtimedop", "semctl", "semctl_stat", "semctl_set")})
ID_USERS.update({op: "shmget" for op in ("shmat", "shmat_at", "shmctl_stat", "shmctl_set", "shmctl_rmid")})


def expected_kind(expected):
    return expected.kind if expected is not None else None


def _private_ipc_namespace():
    """unshare(CLONE_NEWIPC) when root: the replay's System V objects are its own."""
    import ctypes
    import os

    if os.geteuid() != 0:
        return False
    return ctypes.CDLL(None, use_errno=True).unshare(0x08000000) == 0


def _remove(made):
    """IPC_RMID every object the replay created (an object already removed just fails)."""
    from conformance.backends.sysv_kernel import SysVKernelOps

    ops = SysVKernelOps()
    for op, ident in made:
        try:
            if op == "semget":
                ops.semctl(ident, 0, 0)
            else:
                getattr(ops, {"msgget": "msgctl_rmid", "shmget": "shmctl_rmid"}[op])(ident)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
'''


def _spec(module_name: str) -> importlib.machinery.ModuleSpec:
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot embed {module_name}: no source file")
    return spec


def _source(module_name: str) -> str:
    """The module's source, read without importing it (a backend's library may be absent)."""
    return Path(_spec(module_name).origin or "").read_text()


def write_reproducer(trace: list[Step], path: Path, backend_path: str, title: str) -> None:
    """Write ``trace`` as a standalone script replaying it on ``backend_path``."""
    modules = list(_EMBEDDED)
    # Every backend module rides along (a source is imported only if used):
    # the backends import one another's mixins and operation contracts.
    backends = importlib.import_module("conformance.backends")
    modules += [f"conformance.backends.{info.name}" for info in pkgutil.iter_modules(backends.__path__)
                if f"conformance.backends.{info.name}" not in modules]
    backend_module = backend_path.partition(":")[0] if backend_path else ""
    parts = backend_module.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name and name not in modules:
            modules.append(name)
    packages = [m for m in modules if _spec(m).submodule_search_locations is not None]
    sources = {m: _source(m) for m in modules}
    steps: list[tuple[Any, ...]] = [
        (s.actor, s.op, s.args, s.outcome, s.expected, s.events) for s in trace
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "#!/usr/bin/env python3\n"
        f'"""Reproducer: {_safe(title)}\n\n'
        "Replays the failing steps with real processes. Needs only Python 3 on Linux:\n"
        "    python3 " + path.name + "\n"
        '"""\n'
    )
    body = (
        f"SOURCES = {sources!r}\n"
        f"PACKAGES = {packages!r}\n"
        f"BACKEND = {(backend_path or 'conformance.backends.kernel:KernelProcessOps')!r}\n"
        f"STEPS = {repr(repr(steps))}\n"
    )
    path.write_text(header + body + _DRIVER)
    path.chmod(0o755)


def _safe(text: str) -> str:
    return text.replace('"""', "'''").replace("\\", "/")[:300]
