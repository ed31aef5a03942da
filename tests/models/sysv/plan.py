"""Building step lists with Hypothesis, aimed by a model of their own.

A generator that picks arguments blindly mostly produces EINVAL. A
:class:`Planner` runs every step it emits on a private :class:`SysVModel`
as it goes, so the next step can name an id that exists or a handle that is
attached - and, now and then on purpose, one that does not. Since the
steps then run in a fresh IPC namespace (:mod:`.fresh`), where the model's
ids are the kernel's, the planned ids are right on both sides.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conformance.models.errors import Unmodelled
from conformance.models.sysv import Limits, SysVModel
from conformance.outcome import BLOCKED, Outcome

from .fresh import Step


class Planner:
    def __init__(self, data: st.DataObject, limits: Limits | None = None) -> None:
        self.data = data
        self.model = SysVModel(limits)
        self.model.spawn("a")
        self.steps: list[Step] = []
        self.stopped = False

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    def add(self, op: str, *args: Any) -> Outcome | None:
        """Emit a step; its predicted outcome (None once the plan can go no further)."""
        if self.stopped:
            return None
        self.steps.append((op, args))
        try:
            outcome = self.model.step("a", op, *args)
        except Unmodelled:
            self.stopped = True
            return None
        if outcome == BLOCKED:
            self.model.interrupt("a")  # as the runner will
            self.model.settle()
        if "a" not in self.model.alive():
            self.stopped = True
        return outcome

    def add_step(self, step: Step) -> Outcome | None:
        return self.add(step[0], *step[1])

    def some_id(self, kind: str) -> int:
        """A live id of ``kind`` mostly; sometimes a dead, made-up or negative one."""
        live = self.model.ids(kind)
        if live and self.draw(st.integers(0, 19)):
            return int(self.draw(st.sampled_from(live)))
        return int(self.draw(st.sampled_from([-1, 7, 32768, 0])))

    def some_handle(self) -> int:
        held = self.model.handles("a")
        if held and self.draw(st.integers(0, 5)):
            return int(self.draw(st.sampled_from(held)))
        return int(self.draw(st.integers(0, 3)))
