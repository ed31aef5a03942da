"""The results file of a run and its renderings.

* :mod:`~conformance.report.schema` -- the versioned JSON Schema of
  ``results.json`` and a loader whose errors are one line;
* :mod:`~conformance.report.build` -- the summary and claim verdicts computed
  from the clauses, and :func:`~conformance.report.build.write_report`;
* :mod:`~conformance.report.html`, :mod:`~conformance.report.markdown` --
  ``report.html`` and ``summary.md``, drawn from ``templates/``;
* :mod:`~conformance.report.console` -- the per-family lines printed at the
  end of a run;
* :mod:`~conformance.report.merge` -- several runs side by side
  (``merge.html``, ``merge.md``).

Gating a run on expectations files is :mod:`conformance.gating`.
"""
