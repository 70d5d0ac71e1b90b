"""The report's sections on the data: its validation, what the candidate was trained on,
and the schema and data diff against the base."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlgitops.figures import counted
from mlgitops.report.markdown import clipped, code, escape, table
from mlgitops.validation.diff import category_changes, column_notes
from mlgitops.validation.report import place

Doc = Mapping[str, Any]


def validation_section(doc: Doc | None) -> list[str]:
    """What validating the data (and a holdout file of its own) found."""
    if doc is None:
        return []
    lines = ["", "### Data validation", ""]
    lines += _validated(doc)
    holdout = doc.get("holdout")
    if isinstance(holdout, dict):  # data.test_path: the holdout the verdict rests on
        lines += ["", *_validated(holdout, " (the holdout)")]
    return lines


def _validated(doc: Doc, role: str = "") -> list[str]:
    """One validated file: passed, failed (with its failures) or not readable."""
    rows_read = doc.get("rows")
    where = code(doc.get("data", "?")) + role
    where += f": {counted(rows_read, 'row')}" if isinstance(rows_read, int) else ""
    if doc.get("error"):
        return [f"❌ {where} could not be validated: {escape(doc['error'])}"]
    failures = doc.get("failures") or []
    if not failures:
        return [f"✅ {where}, every check passed."]
    rows = [_failure_row(f, str(doc.get("data", "?"))) for f in failures]
    title = ["column", "check", "failing rows", "examples (where: value)"]
    failed = counted(len(failures), "failed check")
    return [f"❌ {where}, {failed}:", "", *table(title, rows, "llrl")]


def training_data_section(train_doc: Doc | None) -> list[str]:
    """What the candidate was trained on that a reviewer should know about."""
    train = train_doc or {}
    notes = []
    undeclared = [str(c) for c in train.get("undeclared") or []]
    if undeclared:
        names = ", ".join(code(c) for c in undeclared)
        notes.append(f"- Not used as features (not declared in the schema): {names}")
    invalid = train.get("invalid_data") or []
    if invalid:
        failed = counted(len(invalid), "failed check")
        notes.append(
            f"- ⚠️ Trained on data that fails validation ({failed}), "
            "as `train.allow_invalid_data` allows."
        )
    return ["", "### Training data", "", *notes] if notes else []


def _failure_row(failure: Doc, data: str) -> list[str]:
    column = code(failure["column"]) if failure.get("column") is not None else "(table)"
    check = code(failure["check"])
    if failure.get("message"):
        check += f": {escape(failure['message'])}"
    count = failure.get("failing_rows")
    examples = ", ".join(
        f"{escape(_place(data, e))}: {_value(e.get('value'))}"
        for e in failure.get("examples") or []
    )
    return [column, check, "-" if count is None else f"{int(count):,}", examples or "-"]


def _place(data: str, example: Doc) -> str:
    line = example.get("line")
    return place(data, int(example["row"]), line if isinstance(line, int) else None)


def diff_section(datadiff: Doc | None, validation: Doc | None) -> list[str]:
    """The schema and data diff against the base: ``datadiff``, else the one validation
    wrote."""
    diff: Doc | None = datadiff
    if diff is None and validation is not None:
        parts = {k: validation.get(k) for k in ("schema_diff", "profile_diff")}
        diff = {**parts, "notes": []} if any(v is not None for v in parts.values()) else None
    if diff is None:
        return []
    against = f" against {code(diff['base'])}" if diff.get("base") else ""
    lines = ["", f"### Schema and data diff{against}"]
    lines += (
        ["", *(f"- {escape(note)}" for note in diff.get("notes") or [])]
        if diff.get("notes")
        else []
    )
    schema, profile = diff.get("schema_diff"), diff.get("profile_diff")
    if schema is not None:
        lines += ["", "**Schema**", "", *(_schema_changes(schema) or ["No schema changes."])]
    columns = _column_changes(diff.get("data_columns"), schema)
    if columns:
        lines += ["", "**Data columns**", "", *columns]
    if profile is not None:
        lines += ["", "**Data profile**", "", *_profile_changes(profile)]
    return lines


def _change(base: Any, head: Any) -> str:
    return f"{_value(base)} → {_value(head)}"


def _value(value: Any) -> str:
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        if not isinstance(value, str)
        else value
    )
    return code(clipped(text, 60))


def _schema_changes(diff: Doc) -> list[str]:
    lines = [f"- column added: {code(c)}" for c in diff["columns_added"]]
    lines += [f"- column removed: {code(c)}" for c in diff["columns_removed"]]
    for change in diff["changes"]:
        where = code(change["column"]) if change.get("column") is not None else "the whole schema"
        lines.append(
            f"- {where} {escape(change['field'])}: {_change(change['base'], change['head'])}"
        )
    return lines


def _column_changes(columns: Doc | None, schema: Doc | None) -> list[str]:
    return [
        f"- {what}: {code(name)}" + (f" ({why})" if why else "")
        for what, name, why in column_notes(columns, schema)
    ]


def _profile_changes(diff: Doc) -> list[str]:
    rows = diff["rows"]
    lines = [f"- rows: {int(rows['base']):,} → {int(rows['head']):,} ({int(rows['delta']):+,})"]
    lines += [f"- column added: {code(c)}" for c in diff["columns_added"]]
    lines += [f"- column removed: {code(c)}" for c in diff["columns_removed"]]
    if not diff["columns"]:
        return lines
    rows_out = []
    for col in diff["columns"]:
        cells = [
            _change(col[f]["base"], col[f]["head"]) if f in col else ""
            for f in ("null_rate", "min", "max", "mean")
        ]
        cats = ", ".join(f"{what} {_value(values)}" for what, values in category_changes(col))
        rows_out.append([code(col["column"]), *cells, cats])
    head = ["column", "null rate", "min", "max", "mean", "categories"]
    return [*lines, "", *table(head, rows_out)]
