"""Expectations files: the format, its validation, and which entry applies."""

from __future__ import annotations

import textwrap

import pytest

from conformance.gating.expectations import (
    Expectations,
    ExpectationsError,
    System,
    load_expectations,
    parse_expectations,
)
from conformance.gating.known import check_backend_names, check_clause_names

HERE = System(kernel_release="6.1.0-18-amd64", backend="kernel", python="3.11.2", root=True)


def entries(toml: str, source: str = "x.toml"):
    return parse_expectations(textwrap.dedent(toml), source)


def one_line_error(toml: str, *words: str) -> str:
    with pytest.raises(ExpectationsError) as info:
        entries(toml)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("x.toml: ")
    for word in words:
        assert word in message
    return message


def test_a_full_entry():
    [entry] = entries('''
        [[expect]]
        clause = "fd.dup3.*"
        outcome = "failed"
        reason = "emulated with dup2"
        link = "https://example.org/bug/1"
        kernel = ">=6.1,<6.12"
        backend = ["kernel", "model"]
        python = ">=3.11"
        root = true
        intermittent = true
    ''')
    assert entry.clause == "fd.dup3.*" and entry.is_glob
    assert entry.names("fd.dup3.flags") and not entry.names("fd.dup.flags")
    assert entry.backends == ("kernel", "model")
    assert entry.applies(HERE)
    assert entry.accepts("failed") and entry.accepts("expected-fail") and entry.accepts("passed")
    assert not entry.accepts("broken")
    assert entry.where == "x.toml: entry 1 (fd.dup3.*)"


@pytest.mark.parametrize(("condition", "applies"), [
    ('kernel = ">=6.12"', False),
    ('kernel = "<6.2"', True),
    ('backend = "model"', False),
    ('backend = ["model", "kernel"]', True),
    ('python = ">=3.12"', False),
    ("root = false", False),
    ("root = true", True),
])
def test_conditions(condition, applies):
    [entry] = entries(f'''
        [[expect]]
        clause = "fd.dup.lowest-free"
        outcome = "failed"
        reason = "r"
        {condition}
    ''')
    assert entry.applies(HERE) is applies


def test_what_each_outcome_accepts():
    accepted = {}
    for outcome in ("passed", "failed", "broken", "expected-fail", "unsupported"):
        [entry] = entries(f'[[expect]]\nclause = "fd.a.b"\noutcome = "{outcome}"\nreason = "r"\n')
        accepted[outcome] = {o for o in ("passed", "failed", "broken", "unsupported", "expected-fail")
                             if entry.accepts(o)}
    assert accepted == {
        "passed": {"passed"},
        "failed": {"failed", "expected-fail", "unsupported"},
        "broken": {"broken", "expected-fail", "unsupported"},
        "expected-fail": {"failed", "broken", "expected-fail", "unsupported"},
        "unsupported": {"unsupported"},
    }


def test_the_most_specific_entry_wins(tmp_path):
    shared = tmp_path / "shared.toml"
    shared.write_text('[[expect]]\nclause = "fd.dup.a"\noutcome = "failed"\nreason = "exact"\n'
                      '[[expect]]\nclause = "fd.dup.*"\noutcome = "broken"\nreason = "glob"\n')
    local = tmp_path / "local.toml"
    local.write_text('[[expect]]\nclause = "fd.dup.*"\noutcome = "unsupported"\nreason = "later glob"\n'
                     '[[expect]]\nclause = "fd.dup.b"\noutcome = "failed"\nreason = "elsewhere"\n'
                     'backend = "model"\n')
    found = load_expectations([shared, local])
    assert found.lookup("fd.dup.a", HERE).reason == "exact"  # exact beats any glob
    assert found.lookup("fd.dup.b", HERE).reason == "later glob"  # the exact one does not apply
    assert found.lookup("fd.pipe.x", HERE) is None
    assert found.accepts("fd.pipe.x", "unsupported", HERE)
    assert not found.accepts("fd.pipe.x", "failed", HERE)


def test_an_empty_file_expects_nothing():
    assert entries("# nothing known yet\n") == []


@pytest.mark.parametrize(("toml", "words"), [
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\n', ["entry 1 (fd.a.b)", "reason is required"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "  "\n', ["reason is empty"]),
    ('[[expect]]\noutcome = "failed"\nreason = "r"\n', ["entry 1", "clause is required"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "fails"\nreason = "r"\n', ["'fails' is not one of"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "r"\noutcom = "x"\n',
     ["unknown key 'outcom'"]),
    ('[[expect]]\nclause = "Not An Id"\noutcome = "failed"\nreason = "r"\n', ["neither a clause id"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "r"\nkernel = "6.1"\n',
     ["kernel:", "not a version range"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "r"\nroot = "yes"\n',
     ["root must be true or false"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "r"\nbackend = []\n',
     ["backend must be a name"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "r"\nlink = "javascript:x"\n',
     ["not an http(s) URL"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "passed"\nreason = "r"\nintermittent = true\n',
     ["intermittent"]),
    ('[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "r"\n'
     '[[expect]]\nclause = 3\noutcome = "failed"\nreason = "r"\n',
     ["entry 2:", "clause must be a string"]),
    ('expect = "fd.a.b"\n', ["list of tables"]),
    ('[expectations]\nclause = "fd.a.b"\n', ["unknown top-level key 'expectations'"]),
    ('[[expect]\nclause = "fd.a.b"\n', ["not valid TOML", "line 1"]),
    ('[[expect]]\nclause = "fd.a.b\n', ["not valid TOML"]),
])
def test_bad_entries_are_one_line_naming_file_and_entry(toml, words):
    one_line_error(toml, *words)


def test_unreadable_files(tmp_path):
    with pytest.raises(ExpectationsError, match="no such expectations file"):
        load_expectations([tmp_path / "missing.toml"])
    with pytest.raises(ExpectationsError, match="is a directory"):
        load_expectations([tmp_path])
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe[[expect]]")
    with pytest.raises(ExpectationsError, match="not UTF-8"):
        load_expectations([binary])


def test_entries_must_name_a_known_clause():
    found = Expectations(tuple(entries('[[expect]]\nclause = "fd.dup.*"\noutcome = "failed"\nreason = "r"\n'
                                       '[[expect]]\nclause = "fd.nosuch.x"\noutcome = "failed"\nreason = "r"\n')))
    asked = []

    def registry():
        asked.append(True)
        return frozenset({"fd.other.clause"})

    with pytest.raises(ExpectationsError, match=r"entry 2 \(fd.nosuch.x\): names no known clause \(none in "
                                                r"r.json, none of the 1 registered"):
        check_clause_names(found, ["fd.dup.shared-offset"], "r.json", registry)
    assert asked == [True]  # the registry is consulted only for the entry the results miss


def test_the_registry_knows_the_specs_clauses():
    from conformance.gating.known import registered_clause_ids

    known = registered_clause_ids()
    assert {"fd.dup.cloexec-not-shared", "pipe.read.blocks-when-empty"} <= known


def test_backend_conditions_must_name_a_backend():
    found = Expectations(tuple(entries(
        '[[expect]]\nclause = "fd.a.b"\noutcome = "failed"\nreason = "r"\nbackend = ["kernel", "kernal"]\n')))
    with pytest.raises(ExpectationsError, match="entry 1 .*unknown backend 'kernal'; installed backends: "):
        check_backend_names(found)
    check_backend_names(found, also=["kernal"])  # the backend the results were written with
