"""Exceptions of the reference model.

Two different things can stop the model:

* :class:`Unmodelled` - the scenario asks about behaviour the model does not
  predict (a feature left out on purpose, or an outcome the kernel itself
  leaves to a race). The caller should discard the scenario, not report a
  conformance failure. After it is raised mid-step the model instance is in
  an undefined state and must be thrown away.
* :class:`ModelUsageError` - the scenario itself is malformed (stepping a
  dead or blocked actor, an unknown actor name, arguments of the wrong type).
  That is a bug in the spec, so it is loud.
"""

from __future__ import annotations


class Unmodelled(NotImplementedError):
    """The model deliberately does not predict this operation or situation."""


class ModelUsageError(ValueError):
    """The model was driven in a way no real scenario could be."""
