"""``ipc-conformance merge``: runs side by side, rows that differ first."""

from __future__ import annotations

import copy

from conformance.report.merge import build_matrix, render_merge_html, render_merge_markdown, run_label

from ..test_cli import assert_one_line_error, cli
from .samples import clause, results_for, write_json
from .test_render import INJECTED, parse


def run(kernel: str, backend: str, clauses, python: str = "3.11.2"):
    results = results_for(clauses, run_id=f"r-{kernel}-{backend}")
    results["provenance"].update(kernel_release=kernel, backend=backend, python=python)
    return results


def two_runs():
    old = run("6.1.0-18-amd64", "kernel", [
        clause("fd.dup.lowest-free"),
        clause("pipe.read.blocks-when-empty"),
        clause("fd.fork.shared-offset", "failed", reason="offset not shared"),
        clause("fifo.open.nonblock-reader"),
    ])
    new = run("6.12.9-amd64", "kernel", [
        clause("fd.dup.lowest-free"),
        clause("pipe.read.blocks-when-empty", "broken", reason="actor died"),
        clause("fd.fork.shared-offset"),
        clause("sysv.msg.send.blocks", "unsupported", reason="needs root"),
    ])
    return [("a/results.json", old), ("b/results.json", new)]


def test_columns_are_labelled_from_the_provenance():
    matrix = build_matrix(two_runs())
    assert [r.label for r in matrix.runs] == ["Linux 6.1.0-18-amd64 · kernel · Python 3.11.2",
                                              "Linux 6.12.9-amd64 · kernel · Python 3.11.2"]
    assert run_label({"kernel_release": "6.8", "backend": "model", "python": "3.12.1"}) == \
        "Linux 6.8 · model · Python 3.12.1"


def test_rows_that_differ_come_first_in_family_order():
    matrix = build_matrix(two_runs())
    assert [(row.clause, row.differs) for row in matrix.rows] == [
        ("fd.fork.shared-offset", True),
        ("pipe.read.blocks-when-empty", True),
        ("fd.dup.lowest-free", False),
        ("fifo.open.nonblock-reader", False),   # only one run has it: not a disagreement
        ("sysv.msg.send.blocks", False),
    ]
    cells = {row.clause: [c.outcome for c in row.cells] for row in matrix.rows}
    assert cells["fifo.open.nonblock-reader"] == ["passed", None]
    assert cells["sysv.msg.send.blocks"] == [None, "unsupported"]
    shared = next(row for row in matrix.rows if row.clause == "pipe.read.blocks-when-empty")
    assert shared.cells[1].reason == "actor died"


def test_identical_labels_are_numbered():
    runs = two_runs()
    matrix = build_matrix([runs[0], ("c/results.json", copy.deepcopy(runs[0][1]))])
    assert [r.label for r in matrix.runs] == ["Linux 6.1.0-18-amd64 · kernel · Python 3.11.2",
                                              "Linux 6.1.0-18-amd64 · kernel · Python 3.11.2 (2)"]


def test_html_matrix_is_well_formed_coloured_and_escaped():
    runs = two_runs()
    runs[0][1]["clauses"][1]["statement"] = f"reads block {INJECTED}"
    runs[1][1]["clauses"][1]["reason"] = f"died {INJECTED}"
    runs[1][1]["provenance"]["kernel_release"] = f"6.12 {INJECTED}"
    page = render_merge_html(build_matrix(runs))
    markup = parse(page)
    assert INJECTED not in page
    assert [attrs for tag, attrs in markup.tags if tag == "script"] == [{}]  # only the page's own
    rows = [attrs for tag, attrs in markup.tags if tag == "tr" and attrs.get("class") == "row"]
    assert [r["id"] for r in rows][:2] == ["clause-fd.fork.shared-offset", "clause-pipe.read.blocks-when-empty"]
    assert rows[1]["data-outcomes"] == "passed broken"
    cells = [attrs["class"] for tag, attrs in markup.tags if tag == "td" and "cell" in attrs.get("class", "")]
    assert cells[:4] == ["cell o-failed", "cell o-passed", "cell o-passed", "cell o-broken"]
    assert "cell not-run" in cells
    text = " ".join(markup.text)
    assert "Differ across runs (2)" in text and "Agree across runs (3)" in text
    assert f"reads block {INJECTED}" in text


def test_cells_link_to_each_runs_report_when_it_is_beside_the_results(tmp_path):
    runs = two_runs()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "report.html").write_text("<!doctype html>")
    runs = [(str(tmp_path / "a" / "results.json"), runs[0][1]), (str(tmp_path / "b" / "results.json"), runs[1][1])]
    matrix = build_matrix(runs, tmp_path / "merged")
    assert matrix.runs[0].report == "../a/report.html" and matrix.runs[1].report is None
    first = matrix.rows[0]
    assert first.cells[0].href == "../a/report.html#clause-fd.fork.shared-offset"
    assert first.cells[1].href is None


def test_markdown_matrix():
    runs = two_runs()
    runs[0][1]["clauses"][0]["statement"] = "a | b"
    md = render_merge_markdown(build_matrix(runs))
    assert "**5 clauses:** 2 differ across runs, 3 agree across runs" in md
    assert ("| clause | Linux 6.1.0-18-amd64 · kernel · Python 3.11.2 | "
            "Linux 6.12.9-amd64 · kernel · Python 3.11.2 |") in md
    assert "| `fd.fork.shared-offset` | **failed** | passed |" in md
    assert "| `pipe.read.blocks-when-empty` | passed | **broken** |" in md
    assert "| `sysv.msg.send.blocks` | *not run* | unsupported |" in md
    assert md.index("## Differ across runs (2)") < md.index("## Agree across runs (3)")


def test_merge_command_writes_both_renderings(tmp_path):
    paths = []
    for name, results in two_runs():
        target = tmp_path / name
        target.parent.mkdir()
        paths.append(str(write_json(target, results)))
    out = tmp_path / "merged"
    proc = cli("merge", *paths, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(out / "merge.html"), str(out / "merge.md")]
    assert "fd.fork.shared-offset" in (out / "merge.html").read_text()
    only_md = cli("merge", paths[0], "-o", str(tmp_path / "md"), "--format", "md")
    assert only_md.returncode == 0 and not (tmp_path / "md" / "merge.html").exists()


def test_merge_rejects_bad_input_in_one_line(tmp_path):
    good = str(write_json(tmp_path / "good.json", two_runs()[0][1]))
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    assert_one_line_error(cli("merge", good, str(corrupt), "-o", str(tmp_path / "o")),
                          str(corrupt), "not valid JSON")
    newer = two_runs()[0][1]
    newer["schema_version"] = 3
    newer_path = write_json(tmp_path / "newer.json", newer)
    assert_one_line_error(cli("merge", good, str(newer_path), "-o", str(tmp_path / "o")),
                          str(newer_path), "schema version 3")
    assert_one_line_error(cli("merge", good), "-o/--output")
