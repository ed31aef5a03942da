"""The verdict rule: one test per branch, with exact verdicts."""

from __future__ import annotations

import pytest

from conformance.claims import CLAIMS, decide
from conformance.report.build import claim_verdicts

from .samples import clause, sample_results

SUPPORT_OK = ("fd.dup.same-description", "supports", "passed", "dup refers to the same description")
SUPPORT_BAD = ("fd.dup.refcount", "supports", "failed", "the reference count rises by one")
QUALIFY_OK = ("fd.open.first-is-3", "qualifies", "passed", "only if 0, 1 and 2 are open")
QUALIFY_BAD = ("fd.open.regular-only", "qualifies", "failed", "only for regular files")
CONTRA_OK = ("fd.dup.lowest-free", "contradicts", "passed", "dup returns a different number")
CONTRA_BAD = ("fd.dup.same-number", "contradicts", "failed", "dup returns fd1 itself")


def test_no_relations_is_undecided():
    verdict, why = decide("S05", [])
    assert verdict == "undecided"
    assert "S05" in why


def test_a_passed_supporting_clause_holds():
    verdict, why = decide("S07", [SUPPORT_OK])
    assert verdict == "holds"
    assert "dup refers to the same description (fd.dup.same-description passed)" in why


def test_a_failed_supporting_clause_does_not_hold():
    verdict, why = decide("S07", [SUPPORT_OK, SUPPORT_BAD])
    assert verdict == "does-not-hold"
    assert "the reference count rises by one (fd.dup.refcount failed)" in why


def test_a_passed_contradicting_clause_does_not_hold():
    verdict, why = decide("S08", [CONTRA_OK])
    assert verdict == "does-not-hold"
    assert "Instead: dup returns a different number (fd.dup.lowest-free passed)" in why


def test_contradiction_wins_over_support_and_conditions():
    assert decide("S08", [SUPPORT_OK, QUALIFY_OK, CONTRA_OK])[0] == "does-not-hold"


def test_a_passed_qualifying_clause_holds_with_conditions():
    verdict, why = decide("S09", [SUPPORT_OK, QUALIFY_OK])
    assert verdict == "holds-with-conditions"
    assert "Condition: only if 0, 1 and 2 are open (fd.open.first-is-3 passed)" in why
    assert "fd.dup.same-description passed" in why


def test_a_passed_qualifying_clause_alone_holds_with_conditions():
    assert decide("S09", [QUALIFY_OK])[0] == "holds-with-conditions"


def test_a_failed_qualifying_clause_says_the_condition_is_wrong_and_holds():
    verdict, why = decide("S09", [SUPPORT_OK, QUALIFY_BAD])
    assert verdict == "holds"
    assert "condition is wrong on this system: only for regular files (fd.open.regular-only failed)" in why


def test_a_failed_contradicting_clause_with_support_holds():
    verdict, why = decide("S08", [SUPPORT_OK, CONTRA_BAD])
    assert verdict == "holds"
    assert "did not happen: dup returns fd1 itself (fd.dup.same-number failed)" in why


@pytest.mark.parametrize("relations", [[QUALIFY_BAD], [CONTRA_BAD], [QUALIFY_BAD, CONTRA_BAD]])
def test_nothing_positive_is_undecided(relations):
    verdict, why = decide("S16", relations)
    assert verdict == "undecided"
    assert "no clause gives positive evidence" in why


@pytest.mark.parametrize(("outcome", "words"), [
    ("broken", "was broken"),
    ("unsupported", "was unsupported"),
    ("expected-fail", "is an expected failure"),
    (None, "did not run"),
])
@pytest.mark.parametrize("others", [[SUPPORT_OK], [CONTRA_OK], [SUPPORT_BAD, QUALIFY_OK]])
def test_an_undecided_clause_makes_the_claim_undecided(outcome, words, others):
    pending = ("pipe.read.blocks", "supports", outcome, "a read waits for data")
    verdict, why = decide("S12", [*others, pending])
    assert verdict == "undecided"
    assert f"pipe.read.blocks (supports) {words}" in why
    assert others[0][0] in why  # the evidence so far is named too


def test_unknown_relation_or_outcome_is_an_error():
    with pytest.raises(ValueError, match="relation"):
        decide("S01", [("fd.x.y", "endorses", "passed", "")])
    with pytest.raises(ValueError, match="outcome"):
        decide("S01", [("fd.x.y", "supports", "skipped", "")])


def test_the_forty_seed_claims():
    ids = list(CLAIMS)
    assert ids == [f"S{n:02}" for n in range(1, 32)] + [f"L{n:02}" for n in range(1, 10)]
    assert CLAIMS["S09"].where == "seed 000 §2.1.2" and CLAIMS["L06"].where == "seed 004"
    assert all(claim.text.strip() for claim in CLAIMS.values())


def test_every_claim_gets_a_verdict_even_when_nothing_ran():
    verdicts = claim_verdicts([])
    assert [v["id"] for v in verdicts] == list(CLAIMS)
    assert {v["verdict"] for v in verdicts} == {"undecided"}
    assert all(v["clauses"] == [] for v in verdicts)


def test_claim_verdicts_gather_links_from_clauses():
    clauses = [
        clause("fd.open.first-is-3", claims=[("S09", "supports", "first open returns 3"),
                                             ("S09", "qualifies", "only if 0, 1, 2 are open")]),
        clause("fd.redirect.first-is-4", "failed", claims=[("S09", "supports", "3 is free"),
                                                           ("S99", "supports", "not a seed claim")]),
    ]
    by_id = {v["id"]: v for v in claim_verdicts(clauses)}
    assert len(by_id) == 40
    assert by_id["S09"]["verdict"] == "does-not-hold"
    assert by_id["S09"]["clauses"] == ["fd.open.first-is-3", "fd.redirect.first-is-4"]


def test_sample_verdicts():
    by_id = {v["id"]: v["verdict"] for v in sample_results()["claims"]}
    assert by_id["S02"] == "does-not-hold"  # its supporting clause failed
    assert by_id["S07"] == "holds"
    assert by_id["S08"] == "does-not-hold"  # contradicted
    assert by_id["S09"] == "holds-with-conditions"
    assert by_id["S12"] == "undecided"  # broken
    assert by_id["S17"] == "undecided"  # expected-fail
    assert by_id["S01"] == "undecided"  # no clause
