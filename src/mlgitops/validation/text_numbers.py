"""A chunk's columns of numbers or booleans read as text, parsed here as pandas parses them.

A column is read as text where a value of it does not read as its type (``6.0`` in an
integer column), and a Parquet file may store it so. Each value that does not parse is
one ``dtype`` failure with its row, not pandera's coerce, dtype and check errors about
the same value; it is counted, and is a gap in what a stage keeps of the column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgitops.validation.failures import EXAMPLES, Example, Tally, plain_value
from mlgitops.validation.parsing import is_text, parse_column
from mlgitops.validation.plan import ColumnPlan, Plan

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class TextNumbers:
    """The columns of numbers or booleans read as text, parsed chunk by chunk; ``text``:
    those read as text from the file (others a file stores as text are parsed too)."""

    def __init__(self, plan: Plan, tally: Tally, text: frozenset[str], keep: bool) -> None:
        self.plan = plan
        self.tally = tally
        self.text = text
        self.keep = keep
        #: With ``keep``: the last chunk's text columns of numbers or booleans as parsed, in
        #: the Arrow type the column is read as (every value read).
        self.parsed: dict[str, pa.Array] = {}
        #: Per column of numbers or booleans read as text: the values that are not one.
        self.unparsed: dict[str, int] = {}
        #: Per column of ``unparsed``: the first value that is not one, with its row.
        self.first_unparsed: dict[str, Example] = {}

    def parse(self, frame: pd.DataFrame, text: frozenset[str]) -> set[tuple[str, int]]:
        """Parse text columns meant to be numbers or booleans; report what does not parse."""
        told: set[tuple[str, int]] = set()
        for column in self.plan.columns:
            kind = column.kind
            if column.name not in text or column.name not in frame:
                continue
            if kind not in ("i", "u", "f", "b"):
                continue
            raw = frame[column.name]
            parsed, bad = parse_column(raw, column.target)
            frame[column.name] = parsed
            if column.name in self.text and _read_as_floats(column, raw, bad):
                frame[column.name] = parsed.astype("float64")
            if self.keep and not is_text(column.arrow):  # (Sparse[int64]: always read as text)
                # a value that is not of the type is a gap in what is kept: invalid data a
                # stage takes anyway (train allowed to, drift) keeps its column's type
                self.parsed[column.name] = _arrow(parsed, column.arrow)
            if bad.any():
                rows = [(int(i) + 1, v) for i, v in raw[bad].items()]
                told.update((column.name, r) for r, _ in rows)
                examples = [Example(r, plain_value(v)) for r, v in rows[:EXAMPLES]]
                self.tally.add_rows(column.name, f"dtype('{column.target}')", examples, len(rows))
                self.unparsed[column.name] = self.unparsed.get(column.name, 0) + len(rows)
                self.first_unparsed.setdefault(column.name, examples[0])
        return told

    def as_written(self, frame: pd.DataFrame, text: frozenset[str]) -> pd.DataFrame:
        """Examples as the file wrote them: whole numbers of an integer column parsed from
        text (floats, when a value did not parse) shown as ``130``, not ``130.0``."""
        import pandas as pd

        shown = frame
        for column in self.plan.columns:
            if column.name in text and column.name in frame and column.kind in "iu":
                shown = shown.copy() if shown is frame else shown
                values = frame[column.name]
                shown[column.name] = pd.Series(
                    [_whole(v) for v in values], index=values.index, dtype=object
                )
        return shown


def stored_as_text(batch: pa.Table, names: list[str]) -> frozenset[str]:
    """Columns a file stores as text (a Parquet string column where the schema wants
    numbers): parsed like CSV text, so a bad value is one failure, not pandera's
    coerce, dtype and check errors about the same value."""
    return frozenset(n for n in names if is_text(batch.column(n).type))


def _read_as_floats(column: ColumnPlan, raw: pd.Series, bad: pd.Series) -> bool:
    """Whether pandera, not coercing, judges this chunk of a CSV integer column as the floats
    pandas reads it as: it has a gap, and every value is a number (else pandas reads text,
    where numpy's integers still refuse each gap and pandas' nullable ones take it)."""
    if column.rule.coerce or column.kind not in ("i", "u") or not raw.isna().any():
        return False
    return not column.rule.missing or not bad.any()


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _arrow(values: pd.Series, kind: pa.DataType) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, type=kind, from_pandas=True)
