"""Mapping the model's ids to a real kernel's, for comparisons run in lockstep.

The model numbers objects as a *fresh* namespace would (see
:mod:`.namespace`). A real namespace that has seen other objects before hands
out other numbers - ``seq * 32768 + index`` depends on its whole history - so
a comparison that runs one scenario on both sides cannot compare ids, and
must give each side its own ids as arguments.

:class:`IdMap` does that bookkeeping, per kind (``msg``, ``sem``, ``shm``):

* **Pairing.** Whenever a ``*get`` step succeeds on both sides, the two ids
  returned are paired (:meth:`IdMap.agree`). A new pair is learnt when
  neither id is paired yet - both sides created an object in the same step,
  so pairs follow the order of creation. Otherwise the step agrees only if
  the ids are already each other's pair (both opened the same object).
* **Translating arguments.** The first argument of every operation that
  takes an id (``msgsnd``, ``semop``, ``shmat``, the ``*ctl`` ones...) is
  translated for the side it goes to (:meth:`IdMap.model_args`,
  :meth:`IdMap.real_args`). Negative ids pass unchanged: both sides refuse
  them before looking anything up.
* **Ids nobody paired** - an id a spec made up, or one of an object created
  outside the comparison - become *phantoms*: ids with sequence number
  65535, which neither Linux nor the model ever hands out
  (``ipcid_seq_max()`` is 65535 and the sequence wraps to 0 before reaching
  it), so the other side answers "no such object" too. A phantom pair gives
  way to a real pairing learnt later, since an id that named nothing may
  name a new object once one is created.

Only the default id layout (15 index bits) is covered; a kernel booted with
``ipcmni_extend`` makes different ids, which still pair but may collide
with phantoms.
"""

from __future__ import annotations

from typing import Any

from ...outcome import Outcome
from .limits import IPCMNI, IPCMNI_SHIFT, SEQ_MAX

#: the kind of the id each operation takes as its first argument
ID_ARGUMENT = {
    **dict.fromkeys(("msgsnd", "msgrcv", "msgctl_stat", "msgctl_set", "msgctl_rmid"), "msg"),
    **dict.fromkeys(("semop", "semtimedop", "semctl", "semctl_stat", "semctl_set"), "sem"),
    **dict.fromkeys(("shmat", "shmat_at", "shmctl_stat", "shmctl_set", "shmctl_rmid"), "shm"),
}
#: the operations that return an id, and its kind
ID_RESULT = {"msgget": "msg", "semget": "sem", "shmget": "shm"}
#: the first id no allocator ever returns
PHANTOM_BASE = SEQ_MAX << IPCMNI_SHIFT


class IdMap:
    """Pairs of (model id, real id) per kind; see the module documentation."""

    def __init__(self) -> None:
        self._real: dict[tuple[str, int], int] = {}
        self._model: dict[tuple[str, int], int] = {}
        #: phantoms, per direction: an unknown id of one side -> the id given to the other
        self._phantom_real: dict[tuple[str, int], int] = {}
        self._phantom_model: dict[tuple[str, int], int] = {}

    def pairs(self, kind: str) -> list[tuple[int, int]]:
        """Every learnt (model id, real id) pair of ``kind``, in order of learning."""
        return [(m, r) for (k, m), r in self._real.items() if k == kind]

    # -- translating ----------------------------------------------------------
    def to_model(self, kind: str, real_id: int) -> int:
        if real_id < 0:
            return real_id
        known = self._model.get((kind, real_id))
        return known if known is not None else self._phantom(self._phantom_model, kind, real_id)

    def to_real(self, kind: str, model_id: int) -> int:
        if model_id < 0:
            return model_id
        known = self._real.get((kind, model_id))
        return known if known is not None else self._phantom(self._phantom_real, kind, model_id)

    def model_args(self, op: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """``args`` as the real side got them, translated for the model."""
        return self._translate(op, args, self.to_model)

    def real_args(self, op: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """``args`` as the model got them, translated for the real side."""
        return self._translate(op, args, self.to_real)

    # -- pairing ----------------------------------------------------------------
    def agree(self, op: str, model: Outcome, real: Outcome) -> bool:
        """Whether two outcomes of one step match, learning ids from a ``*get``."""
        kind = ID_RESULT.get(op)
        if kind is None or not (model.ok and real.ok):
            return model == real
        model_id, real_id = model.detail, real.detail
        paired = self._real.get((kind, model_id))
        if paired is not None:
            return bool(paired == real_id)
        if (kind, real_id) in self._model:
            return False  # the real side opened an object the model paired elsewhere
        self._real[(kind, model_id)] = real_id
        self._model[(kind, real_id)] = model_id
        return True

    # -- helpers -----------------------------------------------------------------
    @staticmethod
    def _translate(op: str, args: tuple[Any, ...], convert: Any) -> tuple[Any, ...]:
        kind = ID_ARGUMENT.get(op)
        if kind is None or not args or isinstance(args[0], bool) or not isinstance(args[0], int):
            return args
        return (convert(kind, args[0]), *args[1:])

    @staticmethod
    def _phantom(table: dict[tuple[str, int], int], kind: str, ident: int) -> int:
        phantom = table.get((kind, ident))
        if phantom is None:
            used = sum(1 for k, _ in table if k == kind)
            phantom = table[(kind, ident)] = PHANTOM_BASE + used % IPCMNI
        return phantom
