"""bench.json: built from measurements, read back with its verdict recomputed, rendered, used by ``claims``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.bench.catalogue import DEFAULT_SIZES, MECHANISMS, BenchInputError
from conformance.bench.document import apply_bench, build, load_bench
from conformance.bench.render import render_html, render_markdown
from conformance.bench.runner import Case, CaseResult, cases, value_of
from conformance.report.build import claim_verdicts

PROVENANCE = {"hostname": "host<1>", "kernel_release": "6.1.0", "cpu_model": "cpu", "cpus": 2, "repeat": 3,
              "quick": True, "started_at": "2026-01-01T00:00:00+00:00", "load_average_start": "0.1"}


def synthetic(shm_speed: float) -> list[CaseResult]:
    """Three samples per case; shared memory ``shm_speed`` times as fast as the rest."""
    shared = {m.name for m in MECHANISMS if m.shared_memory}
    out = []
    for case in cases([m.name for m in MECHANISMS], DEFAULT_SIZES, ["same", "split"]):
        speed = shm_speed if case.mechanism in shared else 1.0
        base = 1000.0 / speed if case.test == "latency" else 1e9 * speed
        out.append(CaseResult(case, iterations=10, chunk=case.size, slots=0,
                              samples=[base * 0.99, base, base * 1.01], elapsed_ns=[1, 2, 3]))
    return out


def write(tmp_path, doc) -> str:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_round_trip_keeps_the_verdict(tmp_path):
    doc = build(synthetic(2.0), PROVENANCE)
    assert doc["claims"][0]["verdict"] == "holds"
    loaded = load_bench(Path(write(tmp_path, doc)))
    assert loaded["claims"][0]["verdict"] == "holds"
    assert loaded["ordering"]["latency@split"][0] in {m.name for m in MECHANISMS if m.shared_memory}
    assert len(loaded["claims"][0]["evidence"]) == 8  # 4 tests x 2 placements


def test_a_verdict_that_does_not_follow_from_the_numbers_is_refused(tmp_path):
    doc = build(synthetic(0.5), PROVENANCE)
    assert doc["claims"][0]["verdict"] == "does-not-hold"
    doc["claims"][0]["verdict"] = "holds"
    with pytest.raises(BenchInputError, match="does not follow"):
        load_bench(Path(write(tmp_path, doc)))


@pytest.mark.parametrize("text", ["", "{", '{"kind": "other"}', '{"kind": "ipc-conformance-bench", '
                                  '"bench_schema_version": 1, "results": [{}], "claims": []}'])
def test_unusable_files_are_refused(tmp_path, text):
    path = tmp_path / "bench.json"
    path.write_text(text)
    with pytest.raises(BenchInputError, match=str(path)):
        load_bench(path)


def test_apply_replaces_only_s20():
    claims = claim_verdicts([])
    doc = build(synthetic(2.0), PROVENANCE)
    merged = apply_bench(claims, doc, "b.json")
    by_id = {c["id"]: c for c in merged}
    assert by_id["S20"]["verdict"] == "holds"
    assert by_id["S20"]["explanation"].endswith("(Measured by ipc-conformance bench: b.json.)")
    assert {k: v for k, v in by_id.items() if k != "S20"} == {c["id"]: c for c in claims if c["id"] != "S20"}
    assert {c["id"]: c for c in claims}["S20"]["verdict"] == "undecided"


def test_renderings_show_every_mechanism_and_escape_text():
    doc = build(synthetic(2.0), PROVENANCE)
    md = render_markdown(doc)
    html = render_html(doc, "bench.png")
    for m in MECHANISMS:
        assert md.count(f"| {m.name}") == 2  # one table per placement
        assert html.count(f"<th>{m.name}</th>") == 2
    assert "## Both processes on one CPU" in md and "<h3>The processes on two CPUs</h3>" in html
    assert "host&lt;1&gt;" in html and "host<1>" not in html
    assert '<img src="bench.png"' in html
    assert "matplotlib" in render_html(doc, None)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_claims_command_takes_the_bench_verdict(tmp_path):
    path = write(tmp_path, build(synthetic(0.5), PROVENANCE))
    without = cli("claims", "--json")
    with_bench = cli("claims", "--json", "--bench", path)
    assert without.returncode == with_bench.returncode == 0, with_bench.stderr
    assert {c["id"]: c for c in json.loads(without.stdout)}["S20"]["verdict"] == "undecided"
    assert {c["id"]: c for c in json.loads(with_bench.stdout)}["S20"]["verdict"] == "does-not-hold"


def test_value_of():
    assert value_of(Case("pipe", "latency", 64, "same"), 10, 20_000) == 1000.0
    assert value_of(Case("pipe", "throughput", 4096, "same"), 1000, 1_000_000_000) == 4096_000.0
    assert Case("pipe", "throughput", 4096, "split").metric == "throughput-4096@split"



def test_plot_is_a_png(tmp_path):
    # in a child process: matplotlib keeps descriptors open, which the leak guard would report
    pytest.importorskip("matplotlib")
    doc = tmp_path / "bench.json"
    doc.write_text(json.dumps(build(synthetic(2.0), PROVENANCE)))
    code = ("import json, sys; from pathlib import Path; from conformance.bench.render import write_png; "
            "print(write_png(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])))")
    proc = subprocess.run([sys.executable, "-c", code, str(doc), str(tmp_path / "bench.png")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
