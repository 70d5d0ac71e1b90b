"""Checks over the whole table, correct across chunk borders: ``unique_values_eq`` (the
distinct values of a column over every chunk) and the spec's row bounds; and what a
table-wide check compares of a column (as pandera's coercion makes it), or cannot
(uniqueness is :mod:`mlgitops.validation.uniqueness`'s).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mlgitops.data.base import Reader
from mlgitops.errors import DataError
from mlgitops.validation.failures import Failure, plain_value
from mlgitops.validation.parsing import Typed, as_values, is_text
from mlgitops.validation.plan import ColumnPlan, Plan

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_DISTINCT_LIMIT = 10_000


class Uncomparable(DataError):
    """A column whose values a table-wide check cannot compare (lists, structs, maps)."""


def comparable(array: pa.ChunkedArray, name: str, check: str) -> pa.ChunkedArray:
    """``array`` as a table-wide check compares it: half floats as single floats (which
    hold each exactly; Arrow counts no distinct half floats); Uncomparable for nested
    values (a Parquet list of embeddings, a struct)."""
    import pyarrow as pa

    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    if pa.types.is_nested(kind):
        raise Uncomparable(
            f"column {name!r} holds {array.type} values, which {check} cannot compare"
        )
    return array.cast(pa.float32()) if pa.types.is_float16(kind) else array


class ValueSet:
    """``unique_values_eq``: the set of distinct values over the whole column."""

    def __init__(
        self, column: str, check: Any, typed: Typed | None = None, gap: bool | None = None
    ) -> None:
        self.column = column
        #: The boolean pandera's coercion makes a gap (numpy's ``bool``); None: a gap.
        self._gap = gap
        self.expected = set(check.statistics.get("values") or [])
        self.label = str(check.error or check.name)
        #: pandera warns where the check fails, and passes the data.
        self.warns = bool(check.raise_warning)
        self.seen: set[Any] = set()
        #: The column's dtype where it is numbers, booleans or dates: text (``2.0``) is parsed.
        self._typed = typed

    def add(self, batch: pa.Table) -> None:
        if len(self.seen) <= _DISTINCT_LIMIT + len(self.expected):
            column = batch.column(self.column)
            if self._gap is not None and column.null_count:
                self.seen.add(self._gap)
            array = comparable(column, self.column, self.label).drop_null()
            distinct = array.unique()
            if self._typed is not None and is_text(distinct.type) and self._typed.kind == "M":
                self.seen.update(_dates(distinct.to_pylist()))
            elif self._typed is not None and is_text(distinct.type):
                self.seen.update(as_values(distinct, self._typed.target))
            else:
                self.seen.update(plain_value(v) for v in distinct.to_pylist())

    def failure(self) -> Failure | None:
        if self.seen == self.expected:
            return None
        missing = sorted(map(str, self.expected - self.seen))[:10]
        extra = sorted(map(str, self.seen - self.expected))[:10]
        message = (
            f"distinct values differ from the expected set: missing {missing}, unexpected {extra}"
        )
        if self.warns:
            from mlgitops import console

            said = f"column {self.column!r} {self.label}: {message} (raise_warning: not a failure)"
            console.error_line(f"mlgitops: warning: {said}")
            return None
        return Failure(self.column, self.label, message, None)


def _dates(texts: list[str]) -> Iterator[Any]:
    """Each text as the timestamp it writes, as pandera's expected dates are; the text
    itself where it writes none (its row fails ``dtype`` too); none for ``NaT``."""
    import pandas as pd

    for text in texts:
        try:
            stamp = pd.Timestamp(text)
        except (ValueError, TypeError, OverflowError):
            yield text
        else:
            if not pd.isna(stamp):  # NaT: a gap, as pandera's coercion makes it
                yield stamp


def row_bounds(rows: int, low: int | None, high: int | None) -> Iterable[Failure]:
    """The ``data.rows`` bounds of the spec."""
    if low is not None and rows < low:
        yield Failure(
            None, f"row_count >= {low}", f"{rows:,} rows; the spec wants at least {low:,}", None
        )
    if high is not None and rows > high:
        yield Failure(
            None, f"row_count <= {high}", f"{rows:,} rows; the spec allows at most {high:,}", None
        )


class Coerced:
    """The columns a check over the whole table compares (``unique``, ``unique_values_eq``)
    that pandera coerces, where the file holds another type than the schema's (Arrow casts
    only what pandas' coercion casts alike): as pandera's coercion makes them, so that the
    check compares what pandera compares (every timestamp is True to numpy's ``bool``). A
    column whose coercion fails is compared as read, as pandera then judges it."""

    def __init__(self, plan: Plan, names: Iterable[str], reader: Reader) -> None:
        wanted = set(names)
        #: (text is parsed as numbers here, dates as the timestamps they write, and
        #: pandera's ``object`` holds any value as it is)
        self.columns = {
            c.name: c
            for c in plan.columns
            if c.name in wanted
            and c.rule.coerce
            and c.rule.dtype not in (None, "object")
            and c.kind != "M"
        }
        self.frame = reader.frame

    def __call__(self, batch: pa.Table) -> pa.Table:
        for name, column in self.columns.items():
            if name not in batch.column_names:
                continue  # (another key's second pass)
            array = batch.column(name)
            if array.type == column.arrow or is_text(array.type):
                continue
            values = _coerce(self.frame(batch.select([name]))[name], column)
            if values is not None:
                batch = batch.set_column(batch.schema.get_field_index(name), name, values)
        return batch


def _coerce(values: pd.Series, column: ColumnPlan) -> pa.Array | None:
    """``values`` as pandera's coercion to ``column``'s dtype makes them, in Arrow; None where
    that coercion fails."""
    import pyarrow as pa
    from pandera.engines.pandas_engine import Engine
    from pandera.errors import ParserError

    try:
        coerced = Engine.dtype(column.rule.dtype).try_coerce(values)
        return pa.Array.from_pandas(coerced)
    except (ParserError, TypeError, ValueError, OverflowError, pa.ArrowException):
        return None
