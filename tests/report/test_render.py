"""report.html and summary.md: content, escaping, and well-formed markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from conformance.report.build import write_report
from conformance.report.html import render_html
from conformance.report.markdown import render_markdown
from conformance.report.schema import ReportInputError

from .samples import REPRODUCER, STEPS, clause, counterexample, results_for, sample_clauses, sample_results

INJECTED = '<script>alert("pwned")</script>'
VOID = {"meta", "br", "wbr", "hr", "img", "input", "link"}


class _Markup(HTMLParser):
    """Records the tags, attributes and text of a page, and checks nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> _Markup:
    markup = _Markup()
    markup.feed(page)
    markup.close()
    assert not markup.errors, markup.errors[:3]
    assert markup.stack == [], markup.stack
    return markup


def hostile_results():
    clauses = sample_clauses()
    clauses[0]["statement"] = f"dup() returns {INJECTED} & more"
    clauses[0]["sources"] = [{"ref": "dup(2) <b>", "quote": 'They "refer" to <i>the same</i>',
                              "url": "javascript:alert(1)"}]
    clauses[2]["statement"] = f"fork shares the offset {INJECTED}"
    clauses[2]["counterexample"]["steps"] = [*STEPS, f"a: write(3, b'{INJECTED}') -> 1"]
    return results_for(clauses)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(hostile_results())


@pytest.fixture(scope="module")
def markup(page) -> _Markup:
    return parse(page)


def test_html_is_well_formed_and_self_contained(page, markup):
    assert page.startswith("<!doctype html>")
    for tag, attrs in markup.tags:
        assert not (tag in ("script", "img", "link", "iframe") and (attrs.get("src") or attrs.get("href"))), tag
    assert "http://" not in page.replace('href="https://man7.org', "")  # no external resources


def test_html_shows_every_clause_with_its_outcome(markup):
    rows = {attrs["id"]: attrs for tag, attrs in markup.tags if tag == "tr" and "clause" in (attrs.get("class") or "")}
    for c in sample_clauses():
        row = rows[f"clause-{c['id']}"]
        assert row["data-family"] == c["family"] and row["data-outcome"] == c["outcome"]
    text = "".join(markup.text)
    for c in sample_clauses():
        assert c["id"] in text


def test_html_escapes_injected_markup(page, markup):
    scripts = [attrs for tag, attrs in markup.tags if tag == "script"]
    assert len(scripts) == 1  # the report's own filter script, nothing injected
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
    text = "".join(markup.text)
    assert f"dup() returns {INJECTED} & more" in text
    assert 'They "refer" to <i>the same</i>' in text
    assert not any(tag in ("b", "i") for tag, _ in markup.tags)
    assert "javascript:" not in page  # an unsafe source URL is not linked


def test_html_counterexample_steps_and_reproducer_link(markup):
    text = "".join(markup.text)
    for line in STEPS:
        assert line.strip() in text
    assert f"a: write(3, b'{INJECTED}') -> 1" in text
    assert "shrunk to 5 steps" in text  # the indented "but expected" line belongs to step 4
    links = [attrs["href"] for tag, attrs in markup.tags if tag == "a"]
    assert REPRODUCER in links


def test_html_filters_list_the_families_and_outcomes(markup):
    def options(select_id):
        found, inside = [], False
        for tag, attrs in markup.tags:
            if tag == "select":
                inside = attrs.get("id") == select_id
            elif tag == "option" and inside:
                found.append(attrs["value"])
        return found

    assert options("filter-family") == ["", "fd", "pipe", "fifo", "sysv.ipc", "sysv.shm"]
    assert options("filter-outcome") == ["", "passed", "failed", "broken", "unsupported", "expected-fail"]


def test_html_stacked_bars_add_up(page):
    for bar in re.findall(r'<div class="bar".*?</div>', page, re.S):
        widths = [float(w) for w in re.findall(r"width: ([\d.]+)%", bar)]
        assert widths and abs(sum(widths) - 100) < 0.01


def test_html_lists_every_claim_with_its_verdict(markup):
    anchors = {attrs["id"] for tag, attrs in markup.tags if tag == "tr" and attrs.get("id", "").startswith("claim-")}
    assert len(anchors) == 40
    text = " ".join(markup.text)
    assert "Instead: dup returns a different number (fd.dup.lowest-free passed)." in text
    links = [attrs["href"] for tag, attrs in markup.tags if tag == "a"]
    assert "#clause-fd.dup.lowest-free" in links and "#claim-S08" in links


def test_markdown_summary():
    md = render_markdown(hostile_results())
    assert "| `fd` | 4 | 3 | 1 | 0 | 0 | 0 |" in md
    assert "| **total** | 8 | 4 | 1 | 1 | 1 | 1 |" in md
    assert "### `fd.fork.shared-offset`:" in md
    block = md.split("```text\n", 1)[1].split("\n```", 1)[0]
    assert block.splitlines()[: len(STEPS)] == STEPS
    assert f"`{REPRODUCER}`" in md
    assert "- `pipe.read.blocks-when-empty`: actor a died outside the scenario" in md
    assert "fork shares the offset \\<script\\>alert" in md
    assert INJECTED not in md.replace(block, "")  # raw only inside the code block
    claim_rows = [line for line in md.splitlines() if re.match(r"^\| [SL]\d\d \|", line)]
    assert len(claim_rows) == 40
    assert "| S08 | **does not hold** |" in md


def test_markdown_table_cells_survive_pipes_and_newlines():
    clauses = [clause("fd.dup.same-description", "failed", reason="a | b\nc",
                      counterexample=counterexample(["a: x() -> ``` tricky"]))]
    md = render_markdown(results_for(clauses))
    assert "> a \\| b c" in md
    assert "````text\na: x() -> ``` tricky\n````" in md


def test_write_report_writes_both_renderings(tmp_path):
    written = write_report(sample_results(), tmp_path / "out")
    assert [p.name for p in written] == ["report.html", "summary.md"]
    assert "fd.fork.shared-offset" in (tmp_path / "out" / "report.html").read_text()
    only_md = write_report(sample_results(), tmp_path / "md", formats=("md",))
    assert [p.name for p in only_md] == ["summary.md"]
    assert not (tmp_path / "md" / "report.html").exists()


def test_write_report_validates_first(tmp_path):
    data = sample_results()
    data["clauses"][0]["outcome"] = "exploded"
    with pytest.raises(ReportInputError, match=r"\$\.clauses\[0\]\.outcome"):
        write_report(data, tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        write_report(sample_results(), tmp_path, formats=("pdf",))


def test_an_empty_run_renders():
    empty = results_for([])
    assert "No clause ran in this run." in render_html(empty)
    assert "No clause ran in this run." in render_markdown(empty)
