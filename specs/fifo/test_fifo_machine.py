"""FIFOs opened by several processes, checked step by step against the model."""

from conformance.clauses import spec
from conformance.strategies.machine import FifoMachine, run_machine


@spec(
    "fifo.model.multi-process",
    "Any sequence of mkfifo, open (read, write, read-write, non-blocking), read, write, close, "
    "fork, exit and kill by several processes has the outcomes the reference model predicts, "
    "including which blocked open completes when the other end is opened.",
    sources=[
        ("fifo(7)", "The kernel maintains exactly one pipe object for each FIFO special file "
                    "that is opened by at least one process. The FIFO must be opened on both "
                    "ends (reading and writing) before data can be passed. Normally, opening "
                    "the FIFO blocks until the other end is opened also."),
        ("fifo(7)", "A process can open a FIFO in nonblocking mode. In this case, opening for "
                    "read-only succeeds even if no one has opened on the write side yet and "
                    "opening for write-only fails with ENXIO (no such device or address) unless "
                    "the other end has already been opened."),
    ],
    supports={"S15": "unrelated processes meet through the FIFO's name, in any interleaving"},
)
def test_fifo_machine(new_scenario):
    run_machine(FifoMachine, new_scenario)
