"""Backends: the implementations under test, found by name.

A backend provides one or more *mechanisms*. For the process-level
mechanisms (descriptors, pipes, FIFOs) a backend is a class whose methods
perform the operations of :mod:`conformance.backends.ops` inside an actor
process; it is named by an import path ``module:Class`` so the zygote can
load it in a fresh interpreter. The ``model`` backend instead runs every
scenario on the reference model, so the suite can be run against its own
oracle.

Third-party backends register under the entry-point group
``ipc_conformance.backends``; the entry point's value is the ``module:Class``
path. ``--backend`` also accepts such a path directly, which is how the
suite's own tests plug in deliberately broken backends.

The registry of backends lives in :mod:`conformance.backends.registry`; this
package itself imports nothing, because every actor's zygote imports it on
the way to its backend and each module it holds is copied by every fork.
"""
