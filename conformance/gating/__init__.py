"""Gating: decide from a results file whether a CI job passes.

A run's outcomes alone cannot gate a build: a library may deviate from the
kernel on purpose (Python's ``os.dup`` sets close-on-exec), a sandbox may
lack a feature, a kernel may have a known bug. An *expectations file* lists
those known cases, each with a reason; the gate then fails only on what is
new.

* :mod:`~conformance.gating.versions` -- version ranges such as
  ``">=6.1,<6.12"`` for kernels and Python;
* :mod:`~conformance.gating.expectations` -- the TOML file format, its
  validation (one-line errors naming the file and the entry), and the lookup
  of the expectation that applies to a clause on a given system;
* :mod:`~conformance.gating.known` -- what an expectation may name: the
  clauses and backends that exist;
* :mod:`~conformance.gating.gate` -- the comparison of a results file with
  expectations: regressions, stale expectations, the exit status;
* :mod:`~conformance.gating.marks` -- the same expectations applied while a
  run is collected, so listed clauses run as ``xfail``.
"""
