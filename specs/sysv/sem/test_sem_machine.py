"""System V semaphore sets used by several processes, checked step by step against the model."""

from conformance.clauses import spec
from conformance.strategies.sysv_machine import SemMachine, run_sysv_machine


@spec(
    "sysv.sem.model.multi-process",
    "Any sequence of semget (by key and IPC_PRIVATE), semop arrays (IPC_NOWAIT, SEM_UNDO, "
    "sleeping), semtimedop with a zero timeout, SETVAL, SETALL, GETVAL, GETPID, GETNCNT, GETZCNT,"
    " GETALL, IPC_STAT, IPC_SET and IPC_RMID by several processes that fork, exit, are killed or "
    "interrupted by a handled signal has the outcomes the reference model predicts: operations "
    "are all or nothing, sleepers complete in the kernel's order, undo adjustments apply at exit,"
    " under small SEMMSL/SEMMNS/SEMOPM/SEMMNI.",
    sources=[
        ("semop(2)", "The set of operations contained in sops is performed in array order, and "
                     "atomically, that is, the operations are performed either as a complete unit, or "
                     "not at all."),
        ("semop(2)", "If an operation specifies SEM_UNDO, it will be automatically undone when the "
                     "process terminates."),
    ],
    requires=("root", "processes"),
)
def test_sem_machine(new_scenario, keys, cleanup, sysv_limits, ipc_backend):
    run_sysv_machine(SemMachine, new_scenario, keys=keys, cleanup=cleanup, sysv_limits=sysv_limits,
                     ipc_backend=ipc_backend)
