"""Hypothesis effort profiles: how hard the suite searches.

``dev``       quick feedback while writing specs (a minute or two)
``ci``        the gate in continuous integration
``thorough``  nightly depth: many more examples and longer scenarios
``quick``     the smallest profile, for guest kernels under software emulation
              and for the proofs that every spec can fail: derandomized and
              without the example database, so two runs explore the same cases

Deadlines are off in every profile: a step's duration depends on the
scheduler, and the harness has its own per-step deadline that reports
``broken`` instead of a false failure.
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, int]] = {
    "quick": {"max_examples": 10, "stateful_step_count": 15},
    "dev": {"max_examples": 25, "stateful_step_count": 20},
    "ci": {"max_examples": 60, "stateful_step_count": 30},
    "thorough": {"max_examples": 400, "stateful_step_count": 60},
}


def load_profile(name: str) -> None:
    # Imported here so the command line can validate a profile name without
    # importing Hypothesis before pytest (whose assertion rewriting wants it).
    from hypothesis import HealthCheck, settings

    values = PROFILES[name]
    repeatable: dict[str, Any] = {"derandomize": True, "database": None} if name == "quick" else {}
    settings.register_profile(
        f"ipc-{name}",
        max_examples=values["max_examples"],
        stateful_step_count=values["stateful_step_count"],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.data_too_large],
        print_blob=True,
        **repeatable,
    )
    settings.load_profile(f"ipc-{name}")


def examples_for(name: str) -> int:
    return PROFILES[name]["max_examples"]
