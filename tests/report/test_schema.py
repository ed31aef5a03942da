"""The results file contract: valid samples pass, bad input fails in one line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from conformance.report.schema import (
    FAMILIES,
    SCHEMA,
    SCHEMA_VERSION,
    ReportInputError,
    family_of,
    load_results,
    validate,
)

from .samples import sample_results, write_json


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def test_a_realistic_sample_validates_and_loads(tmp_path):
    data = sample_results()
    validate(data)
    assert load_results(write_json(tmp_path / "results.json", data)) == data


def test_a_run_with_no_clauses_is_valid():
    data = sample_results()
    data["clauses"], data["summary"]["by_family"] = [], {}
    data["summary"]["totals"] = dict.fromkeys(data["summary"]["totals"], 0)
    data["claims"] = [dict(c, clauses=[]) for c in data["claims"]]
    validate(data)


@pytest.mark.parametrize(("clause_id", "family"), [
    ("fd.dup.same-description", "fd"), ("pipe.write.atomic", "pipe"), ("fifo.open.rdwr", "fifo"),
    ("socket.stream.two-way", "socket"), ("mmap.shared.visible", "mmap"), ("signal.kill.async", "signal"),
    ("sysv.ipc.get.flag-matrix", "sysv.ipc"), ("sysv.msg.rcv.type", "sysv.msg"),
    ("sysv.sem.op.undo", "sysv.sem"), ("sysv.shm.rmid.delayed", "sysv.shm"),
    ("posix.mq.open.excl", "posix.mq"), ("posix.sem.wait.blocks", "posix.sem"),
    ("posix.shm.open.truncate", "posix.shm"),
])
def test_family_of(clause_id, family):
    assert family_of(clause_id) == family
    assert family in FAMILIES


def test_family_of_an_unknown_prefix():
    with pytest.raises(ValueError):
        family_of("sysv.queue.x")


def _broken(mutate):
    data = sample_results()
    mutate(data)
    return data


def _drop_hostname(d):
    del d["provenance"]["hostname"]


def _bad_outcome(d):
    d["clauses"][1]["outcome"] = "exploded"


def _absolute_reproducer(d):
    d["clauses"][2]["counterexample"]["reproducer"] = "/etc/passwd"


def _script_reproducer(d):
    d["clauses"][2]["counterexample"]["reproducer"] = "javascript:alert(1)"


def _escaping_reproducer(d):
    d["clauses"][2]["counterexample"]["reproducer"] = "repro/../../x.py"


def _duplicate_clause(d):
    d["clauses"].append(copy.deepcopy(d["clauses"][0]))


def _wrong_family(d):
    d["clauses"][0]["family"] = "pipe"


def _dangling_claim_clause(d):
    d["claims"][0]["clauses"] = ["fd.not.in-file"]


def _bad_verdict(d):
    d["claims"][3]["verdict"] = "maybe"


def _extra_key(d):
    d["clauses"][0]["colour"] = "green"


def _bad_timestamp(d):
    d["provenance"]["started_at"] = "yesterday"


@pytest.mark.parametrize(("mutate", "words"), [
    (_drop_hostname, "$.provenance: 'hostname' is a required property"),
    (_bad_outcome, "$.clauses[1].outcome: 'exploded' is not one of"),
    (_absolute_reproducer, "$.clauses[2].counterexample.reproducer"),
    (_script_reproducer, "$.clauses[2].counterexample.reproducer"),
    (_escaping_reproducer, "$.clauses[2].counterexample.reproducer"),
    (_duplicate_clause, "appears more than once"),
    (_wrong_family, "$.clauses[0].family: 'pipe' but the id fd.dup.same-description belongs to 'fd'"),
    (_dangling_claim_clause, "$.claims[0].clauses[0]: claim S01 names clause fd.not.in-file"),
    (_bad_verdict, "$.claims[3].verdict"),
    (_extra_key, "'colour' was unexpected"),
    (_bad_timestamp, "$.provenance.started_at"),
])
def test_schema_violations_name_the_file_and_the_json_path(tmp_path, mutate, words):
    path = write_json(tmp_path / "results.json", _broken(mutate))
    message = _one_line_error(path)
    assert words in message


def _one_line_error(path: Path) -> str:
    with pytest.raises(ReportInputError) as info:
        load_results(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{path}: "), message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _one_line_error(tmp_path / "nope" / "results.json")


def test_a_directory(tmp_path):
    assert "is a directory" in _one_line_error(tmp_path)


def test_truncated_json_says_so_wherever_the_cut_falls(tmp_path):
    text = json.dumps(sample_results(), indent=2)
    path = tmp_path / "results.json"
    for cut in range(1, len(text) - 1, 19):  # inside strings, numbers, literals, between keys
        path.write_text(text[:cut])
        assert "truncated" in _one_line_error(path), text[cut - 20:cut]


def test_empty_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("")
    assert "empty" in _one_line_error(path)


def test_not_json(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("<html>not json</html>\n")
    assert "not valid JSON" in _one_line_error(path)


def test_binary_garbage(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b"\xff\xfe\x00junk")
    assert "not UTF-8" in _one_line_error(path)


@pytest.mark.parametrize("version", [2, 0, "1", True])
def test_wrong_schema_version(tmp_path, version):
    data = sample_results()
    data["schema_version"] = version
    message = _one_line_error(write_json(tmp_path / "results.json", data))
    assert f"written by schema version {json.dumps(version)}, this suite reads 1" in message


def test_newer_file_reports_the_version_not_its_new_keys(tmp_path):
    data = sample_results()
    data["schema_version"] = 2
    data["something_new"] = {}
    message = _one_line_error(write_json(tmp_path / "results.json", data))
    assert message.endswith("written by schema version 2, this suite reads 1")


@pytest.mark.parametrize(("data", "words"), [
    ([1, 2], "top level is an array"),
    ({"run_id": "x"}, "has no schema_version"),
])
def test_not_a_results_document(tmp_path, data, words):
    assert words in _one_line_error(write_json(tmp_path / "results.json", data))


def test_validate_names_its_source():
    data = sample_results()
    data["run_id"] = ""
    with pytest.raises(ReportInputError, match=r"^run 7: \$\.run_id: "):
        validate(data, "run 7")
