"""What a change does to the data: schema diff and data-profile diff against a base.

Pure functions over schemas (:mod:`mlgitops.validation.rules`, normalised to
plain values) and the profiles of :mod:`mlgitops.validation.profile`.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mlgitops.validation.failures import plain_value

_RANGE = {
    "in_range": None,
    "greater_than": (">", "min_value"),
    "greater_than_or_equal_to": (">=", "min_value"),
    "less_than": ("<", "max_value"),
    "less_than_or_equal_to": ("<=", "max_value"),
}
_TABLE_FIELDS = ("dtype", "strict", "coerce", "ordered", "unique")
UNDECLARED = "not declared in the schema: not a feature, and no column of the schema validates it"


def describe_schema(schema: Any) -> dict[str, Any]:
    """A schema (or pandera DataFrameSchema) as plain, comparable values."""
    from mlgitops.validation.rules import Schema

    rules = Schema.of(schema)
    columns = {str(name): _column(col) for name, col in rules.columns.items()}
    table = {f: _plain(getattr(rules, f, None)) for f in _TABLE_FIELDS}
    table["checks"] = sorted(_check_text(c) for c in rules.checks)
    return {"columns": columns, "table": table}


def _column(column: Any) -> dict[str, Any]:
    from mlgitops.validation.inline_rules import SPEC_NAMES

    out: dict[str, Any] = {
        "dtype": SPEC_NAMES.get(column.dtype, column.dtype),
        "nullable": bool(column.nullable),
        "unique": bool(column.unique),
        "required": bool(column.required),
    }
    bounds, other = [], []
    for check in column.checks:
        if check.name == "in_range":
            s = check.statistics
            low = "[" if s.get("include_min", True) else "("
            high = "]" if s.get("include_max", True) else ")"
            bounds.append(f"{low}{s['min_value']}, {s['max_value']}{high}")
        elif check.name in _RANGE:
            op, key = _RANGE[check.name]  # type: ignore[misc]
            bounds.append(f"{op} {check.statistics[key]}")
        elif check.name == "isin":
            out["allowed_values"] = sorted(map(_plain, check.statistics["allowed_values"]), key=str)
        elif check.name == "str_matches":
            out["regex"] = check.statistics.get("pattern")
        else:
            other.append(_check_text(check))
    out["range"] = " and ".join(sorted(bounds)) or None
    out.setdefault("allowed_values", None)
    out.setdefault("regex", None)
    out["checks"] = sorted(other)
    return out


def _check_text(check: Any) -> str:
    stats = ", ".join(f"{k}={_plain(v)!r}" for k, v in sorted((check.statistics or {}).items()))
    return f"{check.name}({stats})"


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return plain_value(value)


def schema_diff(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    """Columns added and removed, and each field that changed."""
    old, new = base["columns"], head["columns"]
    changes = []
    for name in sorted(set(old) & set(new)):
        for field in new[name]:
            if old[name].get(field) != new[name][field]:
                changes.append(
                    {
                        "column": name,
                        "field": field,
                        "base": old[name].get(field),
                        "head": new[name][field],
                    }
                )
    for field, value in head["table"].items():
        if base["table"].get(field) != value:
            changes.append(
                {"column": None, "field": field, "base": base["table"].get(field), "head": value}
            )
    return {
        "columns_added": sorted(set(new) - set(old)),
        "columns_removed": sorted(set(old) - set(new)),
        "changes": changes,
    }


def profile_diff(base: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    """Row count, null rates, numeric ranges and category sets, base vs head."""
    old, new = base["columns"], head["columns"]
    columns = []
    for name in [n for n in new if n in old]:
        entry = _column_change(name, old[name], new[name])
        if entry:
            columns.append(entry)
    return {
        "rows": {"base": base["rows"], "head": head["rows"], "delta": head["rows"] - base["rows"]},
        "columns_added": [n for n in new if n not in old],
        "columns_removed": [n for n in old if n not in new],
        "columns": columns,
    }


def data_columns(
    base: Sequence[str], head: Sequence[str], declared: Collection[str]
) -> dict[str, list[str]]:
    """Columns of the data files themselves, declared in the schema or not.

    A column the schema does not declare is neither validated nor a feature,
    so the schema diff cannot show it: this says it is there.
    """
    return {
        "added": [c for c in head if c not in base],
        "removed": [c for c in base if c not in head],
        "undeclared": [c for c in head if c not in declared],
    }


def _column_change(name: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    entry: dict[str, Any] = {"column": name}
    for field in ("null_rate", "min", "max", "mean"):
        if old.get(field) != new.get(field):
            entry[field] = {"base": old.get(field), "head": new.get(field)}
    if old.get("values") is not None and new.get("values") is not None:
        before, after = old["values"], new["values"]
        added = [v for v in after if v not in before]
        removed = [v for v in before if v not in after]
        if added or removed:
            entry["values_added"], entry["values_removed"] = added, removed
    return entry if len(entry) > 1 else None


def markdown(diff: dict[str, Any]) -> str:
    """datadiff.md: the reviewer's view of what the change does to the data."""
    lines = [f"### Data changes against `{_esc(diff['base'])}`"]
    notes = [f"- {_esc(note)}" for note in diff.get("notes", [])]
    if notes:
        lines += ["", *notes]
    schema = diff.get("schema_diff")
    if schema is not None:
        lines += ["", "**Schema**", ""]
        lines += _schema_lines(schema) or ["No schema changes."]
    columns = _data_column_lines(diff.get("data_columns"), schema)
    if columns:
        lines += ["", "**Data columns**", "", *columns]
    profile = diff.get("profile_diff")
    if profile is not None:
        lines += ["", "**Data profile**", ""]
        lines += _profile_lines(profile)
    return "\n".join([*lines, ""])


def _schema_lines(diff: dict[str, Any]) -> list[str]:
    lines = [f"- column added: `{_esc(c)}`" for c in diff["columns_added"]]
    lines += [f"- column removed: `{_esc(c)}`" for c in diff["columns_removed"]]
    for change in diff["changes"]:
        where = f"`{_esc(change['column'])}`" if change["column"] else "table"
        lines.append(
            f"- {where} {change['field']}: {_val(change['base'])} → {_val(change['head'])}"
        )
    return lines


def column_notes(
    columns: Mapping[str, list[str]] | None, schema: Mapping[str, Any] | None
) -> list[tuple[str, str, str]]:
    """(what happened, column, why it matters) for columns that came or went in the data.

    Columns the schema diff already shows are left out; a column the schema
    does not declare says so, since nothing validates it and no model uses it.
    """
    if columns is None:
        return []
    shown = set((schema or {}).get("columns_added", [])) | set(
        (schema or {}).get("columns_removed", [])
    )
    undeclared = set(columns["undeclared"])
    notes = [
        ("column added to the data", c, UNDECLARED if c in undeclared else "")
        for c in columns["added"]
        if c not in shown
    ]
    notes += [("column removed from the data", c, "") for c in columns["removed"] if c not in shown]
    return notes


def _data_column_lines(
    columns: dict[str, list[str]] | None, schema: dict[str, Any] | None
) -> list[str]:
    return [
        f"- {what}: `{_esc(name)}`" + (f" ({why})" if why else "")
        for what, name, why in column_notes(columns, schema)
    ]


def _profile_lines(diff: dict[str, Any]) -> list[str]:
    rows = diff["rows"]
    lines = [f"- rows: {rows['base']:,} → {rows['head']:,} ({rows['delta']:+,})"]
    lines += [f"- column added: `{_esc(c)}`" for c in diff["columns_added"]]
    lines += [f"- column removed: `{_esc(c)}`" for c in diff["columns_removed"]]
    if diff["columns"]:
        lines += [
            "",
            "| column | null rate | min | max | mean | categories |",
            "|---|---|---|---|---|---|",
        ]
        for col in diff["columns"]:
            cats = ", ".join(f"{what} {_val(values)}" for what, values in category_changes(col))
            cells = [_pair(col.get(f)) for f in ("null_rate", "min", "max", "mean")]
            lines.append(f"| `{_esc(col['column'])}` | " + " | ".join([*cells, cats]) + " |")
    return lines


def category_changes(column: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    """A profiled column's categories (``added``, ``removed``), each only where some were."""
    return [
        (what, column[f"values_{what}"])
        for what in ("added", "removed")
        if column.get(f"values_{what}")
    ]


def _pair(change: dict[str, Any] | None) -> str:
    return "" if change is None else f"{_val(change['base'])} → {_val(change['head'])}"


def _val(value: Any) -> str:
    text = "—" if value is None else str(value)
    text = text if len(text) <= 60 else text[:59] + "…"
    return f"<code>{_esc(text)}</code>"


def _esc(text: str) -> str:
    return (
        html.escape(str(text), quote=False)
        .replace("|", "&#124;")
        .replace("`", "'")
        .replace("\n", " ")
    )
