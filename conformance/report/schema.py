"""The results file: its JSON Schema, and a loader that fails in one line.

``results.json`` is a public contract: CI gates and dashboards read it, and
``ipc-conformance report`` renders it long after the run. :data:`SCHEMA` is
its JSON Schema (draft 2020-12); :data:`SCHEMA_VERSION` is bumped whenever a
change could break a reader (a key removed, renamed or retyped, a new
required key). Print the schema with ``python3 -m conformance.report.schema``.

The schema is strict (no unknown keys) so that a typo in a writer is caught by
the suite's own tests rather than by a dashboard. Beyond what JSON Schema can
say, :func:`validate` also checks that the document is consistent: clause ids
are unique, each clause's ``family`` matches its id, and every clause a claim
names is in the file.

Anything wrong with the input raises :class:`ReportInputError`, whose message
is one line naming the file and the problem, ready to print to a user::

    reports/r1/results.json: written by schema version 2, this suite reads 1
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from ..claims import RELATIONS, VERDICTS
from ..clauses import FAMILIES, family_of

__all__ = [
    "SCHEMA_VERSION", "SCHEMA", "OUTCOMES", "FAMILIES", "ReportInputError",
    "family_of", "validate", "load_results",
]

SCHEMA_VERSION = 1
#: the outcomes of a clause, most severe first (the order reports list them in)
OUTCOMES = ("passed", "failed", "broken", "unsupported", "expected-fail")

_CLAUSE_ID = r"^[a-z0-9]+(\.[a-z0-9][a-z0-9-]*)+$"
_CLAIM_ID = r"^(S|L)\d\d$"
# ISO 8601 date and time with a zone, as datetime.isoformat() writes it
_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
# a path inside the report directory: relative, no "..", no URL scheme
_RELATIVE_PATH = r"^(?![/\\])(?![A-Za-z][A-Za-z0-9+.-]*:)(?!.*(^|/)\.\.(/|$)).+$"

_STRING = {"type": "string"}
_TEXT = {"type": "string", "minLength": 1}
_COUNTS = {
    "type": "object",
    "properties": {o: {"type": "integer", "minimum": 0} for o in OUTCOMES},
    "required": list(OUTCOMES),
    "additionalProperties": False,
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ipc-conformance results",
    "description": "One run of the suite: where it ran, each clause's outcome, each seed claim's verdict.",
    "type": "object",
    "required": ["schema_version", "run_id", "provenance", "summary", "clauses", "claims"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "run_id": _TEXT,
        "provenance": {"$ref": "#/$defs/provenance"},
        "summary": {"$ref": "#/$defs/summary"},
        "clauses": {"type": "array", "items": {"$ref": "#/$defs/clause"}},
        "claims": {"type": "array", "items": {"$ref": "#/$defs/claim"}},
    },
    "$defs": {
        "provenance": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "suite_version", "kernel_release", "kernel_version", "machine", "libc", "python",
                "backend", "backend_versions", "hypothesis_seed", "profile", "started_at",
                "finished_at", "root", "ipc_namespace", "command", "hostname",
            ],
            "properties": {
                "suite_version": _STRING,
                "kernel_release": _STRING,
                "kernel_version": _STRING,
                "machine": _STRING,
                "libc": _STRING,
                "python": _STRING,
                "backend": _TEXT,
                "backend_versions": {"type": "object", "additionalProperties": _STRING},
                "hypothesis_seed": {"type": ["string", "null"]},
                "profile": _STRING,
                "started_at": {"type": "string", "format": "date-time", "pattern": _TIMESTAMP},
                "finished_at": {"type": "string", "format": "date-time", "pattern": _TIMESTAMP},
                "root": {"type": "boolean"},
                "ipc_namespace": {"enum": ["private", "host"]},
                "actors": {"enum": ["native", "python"]},
                "command": {"type": "array", "items": _STRING},
                "hostname": _STRING,
            },
        },
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": ["totals", "by_family"],
            "properties": {
                "totals": _COUNTS,
                "by_family": {
                    "type": "object",
                    "propertyNames": {"enum": list(FAMILIES)},
                    "additionalProperties": _COUNTS,
                },
            },
        },
        "source": {
            "type": "object",
            "additionalProperties": False,
            "required": ["ref", "quote"],
            "properties": {
                "ref": _TEXT,
                "quote": _STRING,
                "url": {"type": ["string", "null"]},
            },
        },
        "claim_link": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "relation", "note"],
            "properties": {
                "id": {"type": "string", "pattern": _CLAIM_ID},
                "relation": {"enum": list(RELATIONS)},
                "note": _STRING,
            },
        },
        "counterexample": {
            "type": "object",
            "additionalProperties": False,
            "required": ["steps", "text", "reproducer"],
            "properties": {
                "steps": {"type": "array", "items": _STRING},
                "text": _STRING,
                "reproducer": {"anyOf": [{"type": "string", "pattern": _RELATIVE_PATH}, {"type": "null"}]},
                # optional: the C program replaying the same steps, or why there is none
                "reproducer_c": {"anyOf": [{"type": "string", "pattern": _RELATIVE_PATH}, {"type": "null"}]},
                "reproducer_c_note": {"anyOf": [_STRING, {"type": "null"}]},
            },
        },
        "clause": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "id", "family", "outcome", "statement", "sources", "requires", "claims",
                "examples", "duration_s", "reason", "tests", "counterexample",
            ],
            "properties": {
                "id": {"type": "string", "pattern": _CLAUSE_ID},
                "family": {"enum": list(FAMILIES)},
                "outcome": {"enum": list(OUTCOMES)},
                "statement": _TEXT,
                "sources": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/source"}},
                "requires": {"type": "array", "items": _STRING},
                "claims": {"type": "array", "items": {"$ref": "#/$defs/claim_link"}},
                "examples": {"type": "integer", "minimum": 0},
                "duration_s": {"type": "number", "minimum": 0},
                "reason": {"type": ["string", "null"]},
                "tests": {"type": "array", "items": _STRING},
                "counterexample": {"anyOf": [{"$ref": "#/$defs/counterexample"}, {"type": "null"}]},
            },
        },
        "claim": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "text", "verdict", "explanation", "clauses"],
            "properties": {
                "id": {"type": "string", "pattern": _CLAIM_ID},
                "text": _TEXT,
                "verdict": {"enum": list(VERDICTS)},
                "explanation": _TEXT,
                "clauses": {"type": "array", "items": {"type": "string", "pattern": _CLAUSE_ID}},
            },
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


class ReportInputError(Exception):
    """A results file that cannot be used; ``str()`` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
        self.message = str(self)


def validate(data: Any, source: str | Path = "results") -> None:
    """Check a results document; raise :class:`ReportInputError` if it is wrong.

    ``source`` names the document in the message (its file, usually). The
    schema version is checked first, so a file from an older or newer suite
    says so instead of listing every key that changed.
    """
    if not isinstance(data, dict):
        raise ReportInputError(f"{source}: not a results document (the top level is "
                               f"{_json_type(data)}, not an object)")
    if "schema_version" not in data:
        raise ReportInputError(f"{source}: not a results document (it has no schema_version)")
    version = data["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ReportInputError(f"{source}: written by schema version {json.dumps(version)}, "
                               f"this suite reads {SCHEMA_VERSION}")
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(data))
    if error is not None:
        raise ReportInputError(f"{source}: {error.json_path}: {_shorten(error.message)}")
    _check_consistency(data, source)


def _check_consistency(data: dict[str, Any], source: str | Path) -> None:
    seen: set[str] = set()
    for index, clause in enumerate(data["clauses"]):
        cid = clause["id"]
        where = f"{source}: $.clauses[{index}]"
        if cid in seen:
            raise ReportInputError(f"{where}.id: clause {cid} appears more than once")
        seen.add(cid)
        try:
            family = family_of(cid)
        except ValueError:
            raise ReportInputError(f"{where}.id: {cid} does not start with a known family") from None
        if clause["family"] != family:
            raise ReportInputError(f"{where}.family: {clause['family']!r} but the id {cid} "
                                   f"belongs to {family!r}")
    for index, claim in enumerate(data["claims"]):
        for position, cid in enumerate(claim["clauses"]):
            if cid not in seen:
                raise ReportInputError(f"{source}: $.claims[{index}].clauses[{position}]: claim "
                                       f"{claim['id']} names clause {cid}, which is not in the file")


def load_results(path: Path | str) -> dict[str, Any]:
    """Read and validate a ``results.json``; one-line :class:`ReportInputError` if unusable."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReportInputError(f"{path}: is a directory, not a results file") from None
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportInputError(f"{path}: not a results file (not UTF-8 text at byte {exc.start})") from None
    if not text.strip():
        raise ReportInputError(f"{path}: the file is empty (the run may have been interrupted)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if _ends_early(text, exc):
            raise ReportInputError(f"{path}: not valid JSON: it ends early, in line {exc.lineno} "
                                   "(truncated? the run may have been interrupted)") from None
        raise ReportInputError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, "
                               f"column {exc.colno})") from None
    validate(data, path)
    return data  # type: ignore[no-any-return]


def _ends_early(text: str, exc: json.JSONDecodeError) -> bool:
    """Whether ``text`` is a prefix of a JSON document: the mark of a truncated file."""
    rest = text[exc.pos:].rstrip()
    if not rest or exc.msg.startswith("Unterminated string"):
        return True
    if exc.msg == "Extra data":
        return False
    # cut inside a literal (``nu``) or a number (``0.``)
    return any(word.startswith(rest) for word in ("true", "false", "null")) or bool(
        re.fullmatch(r"[-+.eE0-9]+", rest))


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def _shorten(message: str, limit: int = 240) -> str:
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


if __name__ == "__main__":
    print(json.dumps(SCHEMA, indent=2))
