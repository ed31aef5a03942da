"""The renderings of a ``bench.json``: Markdown table, PNG plot, HTML page.

The Markdown and HTML come from Jinja2 templates beside the conformance
report's (``conformance/report/templates/bench.md.j2`` and
``bench.html.j2``); the HTML environment escapes every value. The plot
needs matplotlib (the optional extra ``bench``: ``pip install -e
'.[bench]'``); without it :func:`write_png` returns ``None`` and the page
says the plot was not drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..report.templating import TEMPLATES
from .catalogue import PLACEMENTS, format_value, lower_is_better, metric_label, split_metric


@cache
def _environment(html: bool) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=html, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["metric_label"] = metric_label
    env.filters["column_label"] = lambda metric: metric_label(split_metric(metric)[0])
    return env


def metrics_of(doc: Mapping[str, Any]) -> list[str]:
    """The metrics of a document in table order: per placement, latency, then throughput by size."""
    keys = {row["metric"]: (row.get("placement", ""), row["test"] != "latency", row["size"])
            for row in doc["results"]}
    order = {placement: i for i, placement in enumerate(PLACEMENTS)}
    return sorted(keys, key=lambda m: (order.get(keys[m][0], len(order)), keys[m][1], keys[m][2]))


def tables(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the templates draw: one table per placement.

    Each is ``{"title", "metrics", "rows"}``; a row is ``{"mechanism",
    "shared_memory", "counts", "cells"}`` and a cell ``{"median", "spread",
    "best"}``: formatted median, formatted IQR and range, and whether it is
    the best median of its column.
    """
    by_key = {(row["mechanism"], row["metric"]): row for row in doc["results"]}
    best = {metric: names[0] for metric, names in doc["ordering"].items() if names}
    groups: dict[str | None, list[str]] = {}
    for metric in metrics_of(doc):
        groups.setdefault(split_metric(metric)[1], []).append(metric)
    out = []
    for placement, metrics in groups.items():
        rows = []
        for mech in doc["mechanisms"]:
            cells = []
            for metric in metrics:
                row = by_key.get((mech["name"], metric))
                if row is None:
                    cells.append({"median": "-", "spread": "", "best": False})
                    continue
                cells.append({
                    "median": format_value(metric, row["median"]),
                    "spread": f"IQR {format_value(metric, row['q1'])}-{format_value(metric, row['q3'])}; "
                              f"range {format_value(metric, row['min'])}-{format_value(metric, row['max'])}",
                    "best": best.get(metric) == mech["name"],
                })
            rows.append({"mechanism": mech["name"], "shared_memory": mech["shared_memory"],
                         "counts": mech["counts"], "cells": cells})
        title = PLACEMENTS.get(placement or "", "processes not pinned")
        title = title[0].upper() + title[1:]
        out.append({"title": title, "metrics": metrics, "rows": rows})
    return out


def render_markdown(doc: Mapping[str, Any]) -> str:
    return _environment(False).get_template("bench.md.j2").render(doc=doc, tables=tables(doc))


def render_html(doc: Mapping[str, Any], png: str | None) -> str:
    return _environment(True).get_template("bench.html.j2").render(doc=doc, tables=tables(doc), png=png)


def write_png(doc: Mapping[str, Any], target: Path) -> Path | None:
    """Draw the medians with IQR error bars, one panel per metric and placement, on log axes."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return None
    groups = [group["metrics"] for group in tables(doc)]
    names = [m["name"] for m in doc["mechanisms"]]
    shared = {m["name"] for m in doc["mechanisms"] if m["shared_memory"]}
    by_key = {(row["mechanism"], row["metric"]): row for row in doc["results"]}
    columns = max(len(metrics) for metrics in groups)
    fig, axes = plt.subplots(len(groups), columns, figsize=(4.2 * columns, 4.4 * len(groups)), squeeze=False)
    for r, metrics in enumerate(groups):
        for c in range(columns):
            ax = axes[r][c]
            if c >= len(metrics):
                ax.axis("off")
                continue
            metric = metrics[c]
            low = lower_is_better(metric)
            scale, unit = (1e3, "µs, one-way") if low else (1e9, "GB/s")
            present = [n for n in names if (n, metric) in by_key]
            rows = [by_key[(n, metric)] for n in present]
            medians = [row["median"] / scale for row in rows]
            errors = [[(row["median"] - row["q1"]) / scale for row in rows],
                      [(row["q3"] - row["median"]) / scale for row in rows]]
            colours = ["#c0392b" if n in shared else "#7f8c8d" for n in present]
            # a logarithmic axis: one mechanism can be a thousand times slower than the rest
            floor = min(row["q1"] for row in rows) / scale / 2
            ax.barh(range(len(present)), [m - floor for m in medians], left=floor, xerr=errors,
                    color=colours, capsize=2)
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short decade overlap
            ax.set_yticks(range(len(present)), present, fontsize=8)
            ax.invert_yaxis()
            ax.set_title(metric_label(metric), fontsize=8)
            ax.set_xlabel(f"{unit} ({'lower' if low else 'higher'} is better)", fontsize=8)
            ax.tick_params(axis="x", labelsize=8)
    provenance = doc["provenance"]
    fig.suptitle(f"IPC speed on {provenance.get('hostname', '?')}, Linux {provenance.get('kernel_release', '?')} "
                 "(median, bars: IQR; red: shared memory)", fontsize=10)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
