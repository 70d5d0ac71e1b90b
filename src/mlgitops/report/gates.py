"""The verdict's gates, their table and its comparison with the deployed model, as report
text.

Every number comes from the verdict as ``compare`` wrote it (``counts``,
``holdout``, ``comparison``, ``features``): the report never recounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgitops import figures
from mlgitops.report.markdown import code, escape, table

Doc = Mapping[str, Any]


def counted(counts: Mapping[str, int]) -> str:
    """The gate counts compare wrote, in words (the verdict's numbers, never recounted)."""
    passed, failed = int(counts["pass"]), int(counts["fail"])
    allowed = int(counts["allowed"])
    refused = int(counts["not_evaluable"]) - allowed
    parts = []
    if failed:
        parts.append(f"{failed} of {figures.counted(passed + failed, 'gate')} failed")
    if refused:  # with what failed, the gates are counted there
        judged = "" if failed else f" of {figures.counted(passed + refused + allowed, 'gate')}"
        parts.append(f"{refused}{judged} not evaluable")
    if not parts:
        parts.append(_all_passed(passed))
    if allowed:
        parts.append(f"{allowed} not evaluable (allowed)")
    if counts["not_applicable"]:
        parts.append(f"{int(counts['not_applicable'])} not applicable")
    return ", ".join(parts)


def _all_passed(passed: int) -> str:
    if passed > 1:
        return f"all {passed} gates passed"
    return "1 gate passed" if passed else "no gates evaluated"


def compared_rows(verdict: Doc) -> str:
    """How many holdout rows the deployed model was compared on, for the metrics' caption."""
    holdout = verdict["holdout"]
    if not verdict["baseline"].get("available") or verdict["comparison"]["status"] != "evaluable":
        return ""
    compared, excluded = int(holdout["compared"]), int(holdout["excluded"])
    if not excluded:
        return f", all {compared} compared with the deployed model"
    why = escape(holdout.get("excluded_reason") or "")
    return (
        f"; the deployed model is compared on {compared} of them, {excluded} excluded because {why}"
    )


def gate_status(gate: Doc) -> str:
    status = gate["status"]
    if status == "not_evaluable":
        return "⚠️ not evaluable (allowed)" if gate.get("allowed") else "❌ not evaluable"
    return {"pass": "✅ pass", "fail": "❌ fail"}.get(status, "⏭️ not applicable")


def comparison(verdict: Doc) -> list[str]:
    """Why the relative gates could not be evaluated, notes, and the feature diff."""
    if not verdict["baseline"].get("available"):
        return []
    comparison, features = verdict["comparison"], verdict.get("features")
    lines = [f"- ❌ {escape(reason)}" for reason in comparison["reasons"]]
    lines += [f"- {escape(note)}" for note in comparison["notes"]]
    changes = _feature_changes(features) if features else []
    if not lines and not changes:
        return []
    out = ["", "### Against the deployed model", ""]
    if lines:
        out += [*lines, ""]
    if changes:
        out += ["Features of the candidate against the deployed model's signature:", ""]
        out += table(["change", "column", "deployed model", "candidate"], changes)
    elif features is not None:
        out.append("Features: the same as the deployed model's signature.")
    return out if out[-1] else out[:-1]


def _feature_changes(features: Doc) -> list[list[str]]:
    rows = [["added", code(c["name"]), "-", code(c["type"])] for c in features["added"]]
    rows += [["removed", code(c["name"]), code(c["type"]), "-"] for c in features["removed"]]
    for c in features["type_changed"]:
        kind = "type changed" if c["compatible"] else "type changed (incompatible)"
        rows.append([kind, code(c["name"]), code(c["baseline"]), code(c["candidate"])])
    if features["reordered"]:
        rows.append(["reordered", "-", "-", "-"])
    return rows


def number(value: Any, signed: bool = False) -> str:
    """A number of the verdict to four decimals (``signed``: with its sign); ``-`` where
    there is none."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return figures.figure(value, signed)


def gate_threshold(gate: Doc) -> str | None:
    """A gate's threshold as the spec wrote it (``0.05``); None where the verdict has none
    (null: ``require_significant`` has none, and the schema allows null for every gate)."""
    threshold = gate.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        return None
    try:
        return f"{float(threshold):g}"
    except OverflowError:  # an integer beyond float range
        return None


def _gate_name(gate: Doc) -> str:
    threshold = gate_threshold(gate)
    limit = f" {threshold}" if threshold is not None else ""
    return f"{code(gate['metric'])} {escape(gate['condition'])}{limit}"


def gates_section(verdict: Doc | None) -> list[str]:
    """The gates table: each gate's result, its value and why."""
    if verdict is None:
        return []
    if not verdict["gates"]:
        return ["", "### Gates", "", "No gates are declared: every candidate passes."]
    rows = []
    for gate in verdict["gates"]:
        rows.append(
            [
                gate_status(gate),
                _gate_name(gate),
                number(gate.get("value")),
                escape(gate["reason"]),
            ]
        )
    return ["", "### Gates", "", *table(["result", "gate", "value", "why"], rows, "llrl")]
