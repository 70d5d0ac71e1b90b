"""The verdict's metrics, with their chart, and its per-slice table, as report text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgitops.report.chart import charts
from mlgitops.report.gates import compared_rows, gate_status, gate_threshold, number
from mlgitops.report.markdown import code, table

Doc = Mapping[str, Any]


def metrics_section(verdict: Doc | None) -> list[str]:
    """The metrics table, candidate against baseline with the deltas' intervals, and the
    chart."""
    if verdict is None:
        return []
    confidence = f"{float(verdict['confidence']):.0%}"
    holdout = verdict["holdout"]
    paired = int(holdout["excluded"]) > 0
    head = ["metric", "candidate", "baseline", "delta", f"{confidence} CI of delta", "significant"]
    if paired:
        head[1:2] = ["candidate (all rows)", "candidate (compared rows)"]
    rows = []
    for m in verdict["metrics"]:
        ci = m.get("ci")
        interval = f"[{number(ci[0], True)}, {number(ci[1], True)}]" if ci else "-"
        significant = {True: "yes", False: "no"}.get(m.get("significant"), "-")
        arrow = "↑" if m["higher_is_better"] else "↓"
        both = [number(m["paired_candidate"])] if paired else []
        rows.append(
            [
                f"{code(m['name'])} {arrow}",
                number(m["candidate"]),
                *both,
                number(m["baseline"]),
                number(m["delta"], True),
                interval,
                significant,
            ]
        )
    about = (
        f"Holdout of {int(holdout['rows'])} rows{compared_rows(verdict)}; paired bootstrap, "
        f"{int(verdict['resamples'])} resamples, seed {int(verdict['seed'])}. "
        "↑ higher is better, ↓ lower is better."
    )
    return [
        "",
        "### Metrics",
        "",
        about,
        "",
        *table(head, rows, "lrrrrll" if paired else "lrrrll"),
        "",
        *charts(verdict["metrics"]),
    ]


def slices_section(verdict: Doc | None) -> list[str]:
    """Per-slice metrics (candidate, and the deployed model's in parentheses), gaps, gates."""
    slices = verdict.get("slices") if verdict else None
    if not slices:
        return []
    names = list(slices["gaps"])
    base_gaps = slices.get("baseline_gaps") or {}
    column = code(slices["column"])
    rows = []
    for s in slices["slices"]:
        label = code(s["value"]) + ("" if s["gated"] else " (not gated)")
        baseline = s.get("baseline") or {}
        cells = [_pair(s["candidate"].get(n), baseline.get(n), baseline) for n in names]
        rows.append([label, f"{int(s['rows']):,}", *cells])
    rows.append(
        ["gap", "", *(_pair(slices["gaps"][n], base_gaps.get(n), base_gaps) for n in names)]
    )
    rows.append(["gate", "", *(_gap_gate(verdict, n) for n in names)])
    about = (
        f"The candidate per value of {column}"
        + (" (the deployed model in parentheses)" if base_gaps else "")
        + f"; slices with fewer than {int(slices['min_rows'])} rows are shown but not gated."
    )
    head = [column, "rows", *(code(n) for n in names)]
    return [
        "",
        f"### Slices by {column}",
        "",
        about,
        "",
        *table(head, rows, "lr" + "r" * len(names)),
    ]


def _pair(value: Any, base: Any, baseline: Doc) -> str:
    return number(value) + (f" ({number(base)})" if baseline else "")


def _gap_gate(verdict: Doc | None, metric: str) -> str:
    for gate in (verdict or {}).get("gates", []):
        if gate["metric"] == metric and gate["condition"] == "max_gap":
            icon = gate_status(gate).split(" ")[0]
            return f"{icon} max_gap {gate_threshold(gate) or '-'}"
    return "-"
