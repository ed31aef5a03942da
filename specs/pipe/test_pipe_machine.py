"""Pipes shared by several processes, checked step by step against the model."""

from conformance.clauses import spec
from conformance.strategies.machine import PipeMachine, run_machine


@spec(
    "pipe.model.multi-process",
    "Any sequence of pipe, read, write (blocking and not), close, dup, fork, exit and kill "
    "by several processes has the outcomes the reference model predicts, including which "
    "blocked reader or writer completes, and when.",
    sources=[
        ("pipe(7)", "If a process attempts to read from an empty pipe, then read(2) will block "
                    "until data is available. If a process attempts to write to a full pipe "
                    "(see below), then write(2) blocks until sufficient data has been read from "
                    "the pipe to allow the write to complete."),
        ("pipe(7)", "If all file descriptors referring to the write end of a pipe have been "
                    "closed, then an attempt to read(2) from the pipe will see end-of-file "
                    "(read(2) will return 0). If all file descriptors referring to the read end "
                    "of a pipe have been closed, then a write(2) will cause a SIGPIPE signal to "
                    "be generated for the calling process."),
        ("pipe(7)", "POSIX.1 says that writes of less than PIPE_BUF bytes must be atomic"),
    ],
    supports={"S12": "one-way, and a read waits for data, for any interleaving of processes"},
)
def test_pipe_machine(new_scenario):
    run_machine(PipeMachine, new_scenario)
