"""Metric charts as Mermaid ``xychart-beta`` blocks, which GitHub renders inline.

No image leaves the repository: the chart is text in the comment itself.
Scores bounded by 1 (AUC, accuracy, F1, precision, recall, R²) share one chart
with a 0 to 1 axis; error metrics (RMSE, MAE, log loss) get their own chart, as
their scale is the data's. Bars are the candidate, the line is the baseline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mlgitops.figures import figure

BOUNDED = ("roc_auc", "accuracy", "f1", "precision", "recall", "r2")


def charts(metrics: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown lines: up to two Mermaid charts and their legend; [] when nothing to draw."""
    drawn = [m for m in metrics if isinstance(m.get("candidate"), int | float)]
    bounded = [m for m in drawn if m["name"] in BOUNDED]
    errors = [m for m in drawn if m["name"] not in BOUNDED]
    lines: list[str] = []
    for group, title in ((bounded, "scores"), (errors, "errors (lower is better)")):
        if group:
            lines += [*([""] if lines else []), *_chart(group, title, bounded=group is bounded)]
    if not lines:
        return []
    with_baseline = any(isinstance(m.get("baseline"), int | float) for m in drawn)
    legend = (
        "Bars: candidate; line: baseline." if with_baseline else "Bars: candidate (no baseline)."
    )
    return [*lines, f"<sub>{legend}</sub>"]


def _bar(metric: dict[str, Any]) -> float:
    """The candidate's value on the rows the baseline's line stands on (where rows were left
    out of the comparison, those of the comparison), else on the whole holdout."""
    paired = metric.get("paired_candidate")
    if isinstance(metric.get("baseline"), int | float) and isinstance(paired, int | float):
        return float(paired)
    return float(metric["candidate"])


def _chart(metrics: Sequence[dict[str, Any]], title: str, *, bounded: bool) -> list[str]:
    names = ", ".join(f'"{_label(m["name"])}"' for m in metrics)
    candidate = [_bar(m) for m in metrics]
    baseline = [m.get("baseline") for m in metrics]
    values = candidate + [float(b) for b in baseline if isinstance(b, int | float)]
    low = min(0.0, *values)
    high = max(1.0, *values) if bounded else max(values) * 1.1 or 1.0
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f"    x-axis [{names}]",
        f"    y-axis {_number(low)} --> {_number(high)}",
        f"    bar [{', '.join(_number(v) for v in candidate)}]",
    ]
    if all(isinstance(b, int | float) for b in baseline):
        lines.append(f"    line [{', '.join(_number(float(b)) for b in baseline)}]")  # type: ignore[arg-type]
    return [*lines, "```"]


def _label(name: object) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))[:40]


def _number(value: float) -> str:
    text = figure(value)
    if "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
