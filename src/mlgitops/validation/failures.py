"""Failures aggregated per column and check, over all chunks.

Rows are 1-based data rows (row 1 is the first record after the header);
``line`` is filled in at the end by the reader (CSV only).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: Offending values kept per failure.
EXAMPLES = 5
#: pandera's checks of a unique key: a column's ``unique``, and the schema's.
COLUMN_UNIQUE = "field_uniqueness"
TABLE_UNIQUE = "multiple_fields_uniqueness"
_TEXT_LIMIT = 200


@dataclass(frozen=True)
class Example:
    row: int
    value: Any
    line: int | None = None

    def with_line(self, lines: Mapping[int, int]) -> Example:
        return replace(self, line=lines.get(self.row))


@dataclass(frozen=True)
class Failure:
    """One check failing on one column (``column`` None: the table as a whole)."""

    column: str | None
    check: str
    message: str
    #: Failing rows; None when the failure is not about rows (a missing column).
    failing_rows: int | None
    examples: tuple[Example, ...] = ()

    def with_lines(self, lines: dict[int, int]) -> Failure:
        found = tuple(replace(e, line=lines.get(e.row)) for e in self.examples)
        return replace(self, examples=found)


@dataclass
class _Entry:
    message: str
    rows: int | None = None
    examples: list[Example] = field(default_factory=list)


class Tally:
    """Failures as they come in, chunk by chunk; :meth:`failures` sorts them."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str | None, str], _Entry] = {}

    def add_rows(
        self, column: str | None, check: str, examples: Iterable[Example], count: int
    ) -> None:
        entry = self._entries.setdefault((column, check), _Entry(describe(column, check), 0))
        entry.rows = (entry.rows or 0) + count
        room = EXAMPLES - len(entry.examples)
        if room > 0:
            entry.examples.extend(sorted(examples, key=lambda e: e.row)[:room])

    def add_table(self, column: str | None, check: str, message: str) -> None:
        self._entries.setdefault((column, check), _Entry(message))

    def add_all(self, failures: Iterable[Failure | None]) -> None:
        for failure in failures:
            if failure is not None:
                self.add(failure)

    def add(self, failure: Failure) -> None:
        self._entries[(failure.column, failure.check)] = _Entry(
            failure.message, failure.failing_rows, list(failure.examples)
        )

    def failures(self) -> tuple[Failure, ...]:
        out = [
            Failure(col, check, e.message, e.rows, tuple(e.examples))
            for (col, check), e in self._entries.items()
        ]
        return tuple(sorted(out, key=lambda f: (f.column is not None, f.column or "", f.check)))

    def add_cases(self, cases: Any, skip: set[tuple[str, int]], frame: Any = None) -> None:
        """Fold pandera's ``failure_cases`` frame in; ``skip``: (column, row) already told.

        Example values are read back from ``frame`` (indexed by 0-based row)
        where possible: pandera's failure cases share one column, which turns
        an int 7 into 7.0 next to a NaN.
        """
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
            name = None if _missing(column) else str(column)
            rows = list(zip(group["index"], group["failure_case"], strict=True))
            for _, case in (pair for pair in rows if _missing(pair[0])):
                # the structure's failures: pandera names the schema (or nothing), the case
                # names the column; another check with no column is the table's (or the
                # index's), whose case is a value, not a column
                where = str(case) if str(check) in STRUCTURE_CHECKS else name
                self.add_table(where, str(check), _table_message(where, str(check), case))
            located = {int(r) + 1: v for r, v in rows if not _missing(r)}
            unique = {r: v for r, v in located.items() if (name or "", r) not in skip}
            if unique:
                ordered = sorted(unique.items())[:EXAMPLES]
                if frame is not None and name in frame.columns:
                    ordered = [(r, frame.at[r - 1, name]) for r, _ in ordered]
                examples = [Example(r, plain_value(v)) for r, v in ordered]
                self.add_rows(name, str(check), examples, len(unique))


#: Structural failures pandera reports from the header alone; each failure case is a
#: column's name.
STRUCTURE_CHECKS = frozenset(
    {
        "column_in_dataframe",
        "column_in_schema",
        "column_ordered",
        "duplicate_dataframe_column_labels",
    }
)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, float) and math.isnan(value)


def plain_value(value: Any) -> Any:
    """A JSON-safe copy of an offending value (NaN becomes null; long text is cut)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, TypeError):
            value = str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    text = str(value)
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def describe(column: str | None, check: str) -> str:
    """What a failing check means, in words."""
    head = check.split("(", 1)[0]
    args = check[len(head) :]
    inner = args.strip("()'")
    words = {
        "not_nullable": "null values in a non-nullable column",
        "field_uniqueness": "duplicate values in a unique column",
        "multiple_fields_uniqueness": "duplicate combinations of a unique key",
        "dtype": f"values that are not of type {inner}",
        "coerce_dtype": f"values that cannot be converted to {inner}",
        "in_range": "values out of range",
        "greater_than": f"values not above {inner}",
        "greater_than_or_equal_to": f"values below {inner}",
        "less_than": f"values not below {inner}",
        "less_than_or_equal_to": f"values above {inner}",
        "equal_to": f"values other than {inner}",
        "not_equal_to": f"values equal to {inner}",
        "isin": f"values not in the allowed set {args}",
        "notin": f"forbidden values {args}",
        "str_matches": f"text not matching the pattern {args}",
    }
    return words.get(head, f"values failing {check}")


def _table_message(column: str | None, check: str, case: Any) -> str:
    if check == "column_in_dataframe":
        return f"column '{case!s}' is required by the schema but missing from the data"
    if check == "column_in_schema":
        return f"column '{case!s}' is in the data but not in the schema (the schema is strict)"
    if check == "column_ordered":
        return f"columns are not in the schema's order (first out of place: {case!s})"
    if check.startswith("dtype"):
        return f"column '{column}' has type {case!s}; the schema wants {check[6:-1]}"
    return f"{check} failed: {case!s}"
