"""Running one step list on the model and on the kernel, and comparing."""

from __future__ import annotations

from conformance.models import ProcessModel, Unmodelled
from conformance.models.host import host_parameters
from conformance.outcome import BLOCKED, Outcome

from .realrun import Step, run_real

NOFILE = 64
#: the model configured like this machine, except for the descriptor limit
#: the real child sets for itself
HOST = {**host_parameters(), "nofile": NOFILE}


def model_run(steps: list[Step], **config: object) -> tuple[list[Step], list[Outcome]]:
    """The prefix of ``steps`` that runs without blocking, and its outcomes.

    A step the model says blocks, and everything after it, is cut off: a
    single process would sleep there forever. So is a step the model
    declines to predict (Unmodelled). A step after which the actor is dead
    ends the list too.
    """
    model = ProcessModel(**{**HOST, **config})
    model.spawn("a")
    done: list[Step] = []
    outcomes: list[Outcome] = []
    for op, args in steps:
        try:
            outcome = model.step("a", op, *args)
        except Unmodelled:
            break
        model.settle()
        if outcome == BLOCKED:
            break
        done.append((op, args))
        outcomes.append(outcome)
        if "a" not in model.alive():
            break
    return done, outcomes


def assert_same(steps: list[Step], **config: object) -> list[Outcome]:
    """Model and kernel agree on every step of the non-blocking prefix."""
    done, predicted = model_run(steps, **config)
    observed = run_real(done, nofile=NOFILE)
    for index, (step, want, got) in enumerate(zip(done, predicted, observed, strict=True)):
        if want != got:
            shown = "\n".join(f"  {i}: {s[0]}{_short(s[1])} model {p} kernel {o}"
                              for i, (s, p, o) in enumerate(zip(done, predicted, observed, strict=True))
                              if i <= index)
            raise AssertionError(f"step {index} {step[0]} differs:\n{shown}")
    return observed


def _short(args: tuple[object, ...]) -> str:
    parts = []
    for a in args:
        if isinstance(a, bytes) and len(a) > 16:
            parts.append(f"<{len(a)} bytes>")
        else:
            parts.append(repr(a))
    return "(" + ", ".join(parts) + ")"
