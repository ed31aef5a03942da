"""Descriptors across processes, checked step by step against the model."""

from conformance.clauses import spec
from conformance.strategies.machine import DescriptorMachine, run_machine


@spec(
    "fd.model.multi-process",
    "Any sequence of open, close, dup, dup2, read, write, lseek, fcntl, fork, exit and kill "
    "by several processes has the outcomes the reference model predicts.",
    sources=[
        ("open(2)", "A call to open() creates a new open file description, an entry in the "
                    "system-wide table of open files. The open file description records the "
                    "file offset and the file status flags"),
        ("fork(2)", "The child inherits copies of the parent's set of open file descriptors. "
                    "Each file descriptor in the child refers to the same open file description "
                    "(see open(2)) as the corresponding file descriptor in the parent."),
        ("dup(2)", "After a successful return, the old and new file descriptors may be used "
                   "interchangeably. Since the two file descriptors refer to the same open file "
                   "description, they share file offset and file status flags"),
    ],
    supports={"S05": "descriptions are kernel-wide objects that processes share, "
                     "as the model of one table of descriptions predicts"},
)
def test_descriptor_machine(new_scenario):
    run_machine(DescriptorMachine, new_scenario)
