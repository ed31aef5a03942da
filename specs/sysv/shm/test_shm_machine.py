"""System V shared memory used by several processes, checked step by step against the model."""

from conformance.clauses import spec
from conformance.strategies.sysv_machine import ShmMachine, run_sysv_machine


@spec(
    "sysv.shm.model.multi-process",
    "Any sequence of shmget (by key and IPC_PRIVATE), shmat (read-write and SHM_RDONLY), stores, "
    "loads, shmdt, IPC_STAT, IPC_SET and IPC_RMID by several processes that fork, exit and are "
    "killed has the outcomes the reference model predicts: every attachment sees every store at "
    "once, attach counts follow forks and deaths, a removed segment lives while attached, under "
    "small SHMMAX/SHMALL/SHMMNI.",
    sources=[
        ("shmop(2)", "After a fork(2), the child inherits the attached shared memory segments."),
        ("shmop(2)", "Upon _exit(2), all attached shared memory segments are detached from the "
                     "process."),
        ("shmctl(2)", "IPC_RMID Mark the segment to be destroyed. The segment will actually be "
                      "destroyed only after the last process detaches it (i.e., when the shm_nattch "
                      "member of the associated structure shmid_ds is zero)."),
    ],
    requires=("root", "processes"),
)
def test_shm_machine(new_scenario, keys, cleanup, sysv_limits, ipc_backend):
    run_sysv_machine(ShmMachine, new_scenario, keys=keys, cleanup=cleanup, sysv_limits=sysv_limits,
                     ipc_backend=ipc_backend)
