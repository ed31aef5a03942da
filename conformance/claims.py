"""The seed claims, and the rule that turns clause outcomes into a verdict.

The suite's first body of documentation is two course texts about Linux IPC
(a blog post, seed ``000``, and lecture slides, seed ``004``). Each statement
they make is a *claim* with a stable id (``S01``-``S31`` for the post,
``L01``-``L09`` for the slides), kept here in English paraphrase.

Teaching texts simplify, so the suite never assumes a claim is right. Clauses
(see :mod:`conformance.clauses`) declare how they bear on a claim:

``supports``
    if the clause passes, that is evidence the claim holds; if it fails, the
    claim does not hold on this system.
``qualifies``
    if the clause passes, the claim holds only under a condition; the
    clause's note says which. If it fails, the condition itself is wrong here.
``contradicts``
    if the clause passes, the claim is wrong on this system; the clause's
    note says what happens instead.

:func:`decide` applies these rules to the outcomes of one run. It is a pure
function of its arguments, so the verdict of a stored ``results.json`` can
always be recomputed and checked.

    >>> decide("S08", [("fd.dup.lowest-free", "contradicts", "passed",
    ...                 "dup returns a new, different number")])[0]
    'does-not-hold'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["holds", "holds-with-conditions", "does-not-hold", "undecided"]
VERDICTS: tuple[Verdict, ...] = ("holds", "holds-with-conditions", "does-not-hold", "undecided")
RELATIONS = ("supports", "qualifies", "contradicts")
#: what a clause can end as; ``None`` means it did not run at all
OUTCOMES = ("passed", "failed", "broken", "unsupported", "expected-fail")

#: one clause's bearing on a claim: (clause id, relation, outcome or None, note)
ClauseRelation = tuple[str, str, str | None, str]


@dataclass(frozen=True)
class Claim:
    """One statement of a seed text.

    ``seed`` names the source text (``"000"`` the blog post, ``"004"`` the
    slides), ``section`` the numbered section of the post it comes from
    (empty for the slides, which are not numbered).
    """

    id: str
    seed: str
    section: str
    text: str

    @property
    def where(self) -> str:
        """A short citation: ``"seed 000 §2.1.1"``."""
        return f"seed {self.seed} §{self.section}" if self.section else f"seed {self.seed}"


_SEED_CLAIMS: tuple[tuple[str, str, str, str], ...] = (
    ("S01", "000", "1", "Writing to a file, seeking back to 0 and reading returns the written bytes."),
    ("S02", "000", "2", "A descriptor opened before fork() is shared by parent and child: they share "
     "one file offset, so what one writes at the offset the other reads after seeking."),
    ("S03", "000", "2", "Global variables are not shared between parent and child after fork()."),
    ("S04", "000", "2.1", "A descriptor is a non-negative integer, per process; the same file can have "
     "different numbers in different processes and the same number can name different files."),
    ("S05", "000", "2.1.1", "The kernel keeps one open file table shared by all processes; each entry "
     "holds the offset, status flags, a reference count and the inode."),
    ("S06", "000", "2.1.1", "Opening the same file three times (in one process or in different ones) "
     "makes three separate entries, each with reference count 1."),
    ("S07", "000", "2.1.1", "fork() and dup() make no new entry: the new descriptor refers to the "
     "existing entry, whose reference count rises by one."),
    ("S08", "000", "2.1.1", "After fd2 = dup(fd1), fd1 and fd2 have the same value."),
    ("S09", "000", "2.1.2", "Descriptors 0, 1, 2 are reserved for stdin, stdout, stderr, so the first "
     "open() in a program returns 3."),
    ("S10", "000", "2.1.3", "In echo \"hello\" > temp.txt, the redirected stream is echo's descriptor 0 "
     "(stdin); without redirection it is as if > 0."),
    ("S11", "000", "2.1.3", "Run as ./program 3> temp.txt, the program's first open() returns 4."),
    ("S12", "000", "3", "A pipe is one-way: pipefd[0] is the read end, pipefd[1] the write end; a read "
     "waits for data (synchronous)."),
    ("S13", "000", "3", "Communication through pipe() is possible only between parent and child."),
    ("S14", "000", "3", "Two pipes give two-way communication between parent and child."),
    ("S15", "000", "3.1", "A FIFO is a special file (type p in ls -l) that unrelated processes open by "
     "name; an unnamed pipe has no file-system entry."),
    ("S16", "000", "3.1", "A FIFO reader opened O_RDONLY keeps reading garbage; opening it O_RDWR makes "
     "read() block instead."),
    ("S17", "000", "3.1", "mkfifo on a path that exists fails."),
    ("S18", "000", "3.1", "echo \"hello\" > fifo pushes data into the FIFO for its reader."),
    ("S19", "000", "4", "Sockets: socket/bind/listen/connect/accept then read/write; two-way, stream, "
     "same or different machines."),
    ("S20", "000", "5", "Shared memory is the fastest IPC method."),
    ("S21", "000", "5", "Processes sharing a segment must ask for the same size."),
    ("S22", "000", "5.1", "shmget returns the existing segment's id if the key exists, else creates one "
     "(with IPC_CREAT); size is a minimum; 0 is used to attach to an existing one."),
    ("S23", "000", "5.1", "shmat with a NULL address lets the system choose where to attach."),
    ("S24", "000", "5.1", "shmctl(IPC_RMID) only marks the segment; it is destroyed when the last "
     "attached process detaches."),
    ("S25", "000", "5", "A segment outlives the processes that made it, until removed."),
    ("S26", "000", "5.2", "Shared memory is synchronized, but a reader cannot tell whether a value is "
     "old or new."),
    ("S27", "000", "6", "A message queue keeps message boundaries (block units, unlike a pipe's byte "
     "stream), needs no extra synchronization, and lets a reader tell new data from old."),
    ("S28", "000", "6", "msgrcv with type 5 receives only type-5 messages and waits for one; msgsnd "
     "with IPC_NOWAIT does not wait."),
    ("S29", "000", "6", "msgsnd(id, &msg, sizeof(struct msgbuf), ...) sends a message whose size is "
     "the whole struct."),
    ("S30", "000", "7", "Two processes mapping one file MAP_SHARED see each other's writes; mapping "
     "avoids the copies of read/write."),
    ("S31", "000", "8", "Pipe: one-way, parent/child, stream; FIFO: one-way stream between any "
     "processes; message queue: one-way, memory, structured; shared memory: two-way; memory map: "
     "two-way, page unit; socket: two-way, same or other machine."),
    ("L01", "004", "", "Linux IPC: pipes, message queues, shared memory, semaphores, sockets, signals."),
    ("L02", "004", "", "With a message queue, sender and receiver need not exist at the same time."),
    ("L03", "004", "", "A semaphore carries no data; it synchronizes access to shared resources."),
    ("L04", "004", "", "Shared memory needs a separate synchronization mechanism such as a semaphore."),
    ("L05", "004", "", "Create/open with msgget/semget/shmget; control/remove with "
     "msgctl/semctl/shmctl; operate with msgsnd/msgrcv, semop, shmat/shmdt."),
    ("L06", "004", "", "For all three *get calls: no flag - a missing key gives ENOENT, an existing one "
     "its id; IPC_CREAT - a new id or the existing id; IPC_CREAT|IPC_EXCL - a new id, or EEXIST if "
     "the key exists."),
    ("L07", "004", "", "Permissions: read/write bits for user (MSG_R, MSG_W, likewise SEM_*, SHM_*), "
     "group (>> 3) and other (>> 6)."),
    ("L08", "004", "", "Common control commands: IPC_STAT reads the object's data structure, IPC_SET "
     "sets it, IPC_RMID removes the object."),
    ("L09", "004", "", "A signal is a software interrupt by which one process notifies another "
     "asynchronously."),
)

#: claims about speed, which no clause decides: ``ipc-conformance bench`` measures them
#: (:mod:`conformance.bench`) and ``ipc-conformance claims --bench bench.json`` shows
#: that verdict. S31's summary table ranks no method by speed, so only S20 is here.
MEASURED_CLAIMS = {"S20": "a claim about speed: run 'ipc-conformance bench' and pass its bench.json to "
                   "'ipc-conformance claims --bench'"}

#: every seed claim by id, in the order of CLAIMS.md (S01..S31, then L01..L09)
CLAIMS: dict[str, Claim] = {cid: Claim(cid, seed, section, text) for cid, seed, section, text in _SEED_CLAIMS}


def decide(claim_id: str, relations: Sequence[ClauseRelation]) -> tuple[Verdict, str]:
    """The verdict on one claim, and a sentence that explains it.

    ``relations`` lists every clause that bears on the claim, as
    ``(clause id, relation, outcome, note)``; ``outcome`` is ``None`` when the
    clause did not run. The rules, in order:

    1. ``undecided`` when no clause bears on the claim, or when any of them
       neither passed nor failed (broken, unsupported, expected-fail, not run):
       an incomplete body of evidence is never guessed from.
    2. ``does-not-hold`` when a *contradicts* clause passed or a *supports*
       clause failed.
    3. ``holds-with-conditions`` when a *qualifies* clause passed.
    4. ``holds`` when at least one *supports* clause passed. A *qualifies*
       clause that failed is named as a condition that is wrong here; a
       *contradicts* clause that failed is named as a contradiction that
       did not happen.
    5. ``undecided`` otherwise: only failed *qualifies* or *contradicts*
       clauses remain, which rule something out but show nothing positive.

    Raises :class:`ValueError` for an unknown relation or outcome, which is a
    programming error, not a verdict.
    """
    for cid, relation, outcome, _note in relations:
        if relation not in RELATIONS:
            raise ValueError(f"clause {cid}: unknown relation {relation!r} to {claim_id}")
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"clause {cid}: unknown outcome {outcome!r}")
    if not relations:
        if claim_id in MEASURED_CLAIMS:
            return "undecided", f"Undecided: no clause decides {claim_id}, {MEASURED_CLAIMS[claim_id]}."
        return "undecided", f"Undecided: no clause of this run bears on {claim_id}."

    def having(relation: str, outcome: str) -> list[ClauseRelation]:
        return [r for r in relations if r[1] == relation and r[2] == outcome]

    pending = [r for r in relations if r[2] not in ("passed", "failed")]
    if pending:
        decided = [r for r in relations if r[2] in ("passed", "failed")]
        text = f"Undecided: {_join([_pending(r) for r in pending])}, and a verdict needs every " \
               "clause that bears on the claim to pass or fail."
        if decided:
            text += f" Evidence so far: {_join([_evidence(r) for r in decided])}."
        return "undecided", text

    against = having("contradicts", "passed")
    unsupported = having("supports", "failed")
    support = having("supports", "passed")
    conditions = having("qualifies", "passed")
    wrong_conditions = having("qualifies", "failed")
    not_seen = having("contradicts", "failed")

    if against or unsupported:
        return "does-not-hold", _paragraph("Does not hold on this system.", [
            ("Instead", against),
            ("Expected but not observed", unsupported),
        ])
    if conditions:
        verdict: Verdict = "holds-with-conditions"
        head = "Holds with conditions."
        labelled = [("Conditions" if len(conditions) > 1 else "Condition", conditions),
                    ("Supported by", support)]
    elif support:
        verdict, head, labelled = "holds", "Holds.", [("Shown by", support)]
    else:
        verdict, head, labelled = "undecided", "Undecided: no clause gives positive evidence.", []
    return verdict, _paragraph(head, [
        *labelled,
        ("A stated condition is wrong on this system", wrong_conditions),
        ("A contradiction did not happen", not_seen),
    ])


def _note(note: str) -> str:
    return note.strip().rstrip(".") or "(no note)"


def _evidence(relation: ClauseRelation) -> str:
    cid, _rel, outcome, note = relation
    return f"{_note(note)} ({cid} {outcome})"


_PENDING_WORDS = {
    None: "did not run",
    "broken": "was broken",
    "unsupported": "was unsupported here",
    "expected-fail": "is an expected failure",
}


def _pending(relation: ClauseRelation) -> str:
    cid, rel, outcome, _note = relation
    return f"{cid} ({rel}) {_PENDING_WORDS[outcome]}"


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return "; ".join(items[:-1]) + "; and " + items[-1]


def _paragraph(head: str, labelled: list[tuple[str, list[ClauseRelation]]]) -> str:
    """``head`` followed by one ``Label: evidence.`` sentence per non-empty group."""
    sentences = [head]
    sentences += [f"{label}: {_join([_evidence(r) for r in group])}." for label, group in labelled if group]
    return " ".join(sentences)
