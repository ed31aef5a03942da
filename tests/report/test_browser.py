"""The HTML pages in a real browser: headless Chromium runs their script.

The other report tests read the markup; these check what a person sees once
the page's JavaScript has run: the overview, the filters (set from the URL,
``report.html#outcome=failed`` or ``?family=pipe``), and the failing
clause's counterexample. Each test keeps a screenshot under
``reports/test-artifacts/`` (git-ignored) for a human to look at.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it);
without ``/usr/bin/chromium`` these tests are skipped.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.report.build import write_report
from conformance.report.merge import write_merge

from .samples import STEPS, sample_results
from .test_merge import two_runs

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "test-artifacts"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs /usr/bin/chromium (Debian package 'chromium'; .ci/run installs it)")


def chromium(tmp_path: Path, url: str, *args: str) -> str:
    """Run headless Chromium on ``url``; its stdout (the DOM with ``--dump-dom``)."""
    profile = tmp_path / "chromium-profile"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}", *args, url,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def screenshot(tmp_path: Path, url: str, name: str, size: str = "1280,2200") -> Path:
    """Save a screenshot of ``url`` as ``reports/test-artifacts/NAME``; check it is a PNG of that size."""
    shot = tmp_path / name
    chromium(tmp_path, url, f"--screenshot={shot}", f"--window-size={size}")
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == tuple(int(n) for n in size.split(","))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(shot, ARTIFACTS / name))


class Dom(HTMLParser):
    """The elements of a dumped DOM, each with its attributes, text, and whether it is hidden.

    An element is hidden when it or any ancestor has the ``hidden``
    attribute (what the page's script sets), or a closed ``<details>``
    ancestor hides it (except for its ``<summary>``).
    """

    VOID = {"meta", "br", "wbr", "hr", "img", "input", "link"}

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self.stack: list[dict] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        parent = self.stack[-1] if self.stack else None
        hidden = "hidden" in attrs or bool(parent and parent["hidden"])
        if parent and parent["tag"] == "details" and "open" not in parent["attrs"] and tag != "summary":
            hidden = True
        element = {"tag": tag, "attrs": attrs, "hidden": hidden, "text": []}
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element["text"].append(data)

    def find(self, tag: str, **attrs: str) -> list[dict]:
        return [e for e in self.elements if e["tag"] == tag
                and all(e["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, element_id: str) -> dict:
        [element] = [e for e in self.elements if e["attrs"].get("id") == element_id]
        return element

    @staticmethod
    def text(element: dict) -> str:
        return " ".join("".join(element["text"]).split())


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(sample_results(), out, formats=("html",))
    return out / "report.html"


def clause_rows(dom: Dom) -> dict[str, bool]:
    """Each clause row's id and whether it is visible."""
    return {e["attrs"]["id"].removeprefix("clause-"): not e["hidden"]
            for e in dom.elements if e["tag"] == "tr" and "clause" in e["attrs"].get("class", "").split()}


def test_the_overview_and_every_clause_show_without_filters(report, tmp_path):
    dom = Dom(chromium(tmp_path, report.as_uri(), "--dump-dom"))
    assert dom.find("table", **{"class": "families"}) and not dom.by_id("overview")["hidden"]
    overview = Dom.text(dom.by_id("overview"))
    # family, clauses, then one count per outcome (passed failed broken unsupported expected-fail)
    for row in ("fd 4 3 1 0 0 0", "pipe 1 0 0 1 0 0", "fifo 1 0 0 0 0 1", "sysv.ipc 1 0 0 0 1 0"):
        assert row in overview
    assert not dom.by_id("filters")["hidden"]  # the script ran and showed the filters
    assert all(clause_rows(dom).values()) and len(clause_rows(dom)) == 8
    assert Dom.text(dom.by_id("filter-count")) == "showing 8 of 8 clauses"


def test_an_outcome_filter_from_the_url_shows_the_failing_clause_and_its_counterexample(report, tmp_path):
    dom = Dom(chromium(tmp_path, report.as_uri() + "#outcome=failed", "--dump-dom"))
    assert [cid for cid, visible in clause_rows(dom).items() if visible] == ["fd.fork.shared-offset"]
    assert Dom.text(dom.by_id("filter-count")) == "showing 1 of 8 clauses"
    [details] = [e for e in dom.find("details") if "counterexample" in e["attrs"].get("class", "")]
    assert not details["hidden"] and "open" in details["attrs"]
    steps = [Dom.text(li) for li in dom.find("li") if not li["hidden"] and "a: " in Dom.text(li)]
    assert steps[0] == STEPS[0] and steps[-1].startswith(STEPS[3])
    assert "but expected -> b'xy'" in steps[-1]
    assert not dom.by_id("overview")["hidden"]
    shot = screenshot(tmp_path, report.as_uri() + "#outcome=failed", "report-failed.png")
    assert shot.stat().st_size > 10_000


def test_a_family_filter_from_the_query(report, tmp_path):
    dom = Dom(chromium(tmp_path, report.as_uri() + "?family=pipe", "--dump-dom"))
    assert [cid for cid, visible in clause_rows(dom).items() if visible] == ["pipe.read.blocks-when-empty"]
    unknown = Dom(chromium(tmp_path, report.as_uri() + "#family=nosuch&outcome=passed", "--dump-dom"))
    visible = [cid for cid, shown in clause_rows(unknown).items() if shown]
    assert len(visible) == 4  # an unknown family is ignored; the outcome filter still applies


def test_the_merge_matrix_in_a_browser(tmp_path):
    out = tmp_path / "merged"
    write_merge(two_runs(), out, formats=("html",))
    page = (out / "merge.html").as_uri()
    dom = Dom(chromium(tmp_path, page + "#family=pipe", "--dump-dom"))
    rows = {e["attrs"]["id"]: not e["hidden"] for e in dom.find("tr", **{"class": "row"})}
    assert [cid for cid, shown in rows.items() if shown] == ["clause-pipe.read.blocks-when-empty"]
    assert Dom.text(dom.by_id("filter-count")) == "showing 1 of 5 clauses"
    screenshot(tmp_path, page, "merge.png", size="1280,1000")
