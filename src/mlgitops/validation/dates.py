"""``datetime64[ns]`` columns read as text, judged as pandera judges the whole column.

(A column pandas reads as dates or numbers, as from a Parquet file's timestamps, is
left to pandera as it is: :func:`native`.)

pandera coerces such a column with ``pandas.to_datetime``, which reads every
value in the format of the column's first value: one value in another format
(``2024-02-02`` after ``2024-01-01 10:00:00``) fails the coercion of the whole
column, and pandera then coerces value by value to find the values that are not
dates on their own. Here the format is taken from the file's first value, each
chunk is parsed in it at once, and only the values that are not in it are
judged on their own; the failures are pandera's, told at the end of the file,
with the values that are in another format and their lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlgitops.validation.failures import EXAMPLES, Example, Failure, describe, plain_value

if TYPE_CHECKING:
    import pandas as pd

    from mlgitops.validation.plan import ColumnPlan

#: The dtype judged here: numpy's nanoseconds, no time zone.
DTYPE = "datetime64[ns]"
#: Why pandas leaves the column as text: values out of range, or in another format.
_BROKEN = ("some of its dates are out of range", "its dates are not all in one format")
#: Distinct values whose own verdict is kept from chunk to chunk, at most.
_REMEMBERED = 100_000
#: Values out of the first value's format named in the message.
SHOWN = 3
#: Text pandas reads as no date (``pandas._libs.tslibs.nattype.nat_strings``).
GAP_WORDS = frozenset({"NaT", "nat", "NAT", "NaN", "nan", "NAN"})
#: Words ``pandas.to_datetime`` reads as the moment it reads them, not as a format's value.
_NOW_WORDS = frozenset({"now", "today"})
#: Values ``pandas.to_datetime`` never takes for a first value (``tslib.first_non_null``).
_SKIPPED = GAP_WORDS | {""} | _NOW_WORDS
#: A date (and time) without a zone, in one of ISO 8601's forms: a date on its own when
#: ``format="ISO8601"`` reads it.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)?")


def judged(column: ColumnPlan) -> bool:
    """Whether ``column`` is judged here: ``datetime64[ns]`` read as text, by name."""
    return column.rule.dtype == DTYPE and not column.rule.regex


def native(values: pd.Series) -> bool:
    """Whether pandas read ``values`` as something else than text or gaps (a Parquet
    file's timestamps or numbers): pandera judges those as they are, as it does on the
    frame ``pandas.read_parquet`` gives."""
    import pandas as pd

    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return True
    if pd.api.types.is_object_dtype(dtype):  # Arrow's dates, times, decimals, bytes
        return pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty")
    if pd.api.types.is_string_dtype(dtype):
        return False
    return bool(values.notna().any())


@dataclass
class _Values:
    """Rows found in a class of values: how many, and the first few (row, value)."""

    count: int = 0
    first: list[tuple[int, Any]] = field(default_factory=list)

    def add(self, rows: list[tuple[int, Any]], total: int, keep: int = EXAMPLES) -> None:
        self.count += total
        self.first.extend(rows[: max(keep - len(self.first), 0)])


#: A value pandas' CSV reader reads as a number (``5``, `` 7``, ``+6``, ``1.5``, ``1e3``,
#: ``inf``); not ``NAN``, ``NaT``, ``1_000`` or ``0x10``, which make the column text.
NUMBER = re.compile(
    r"[ \t]*[-+]?(?:[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|(?i:inf|infinity))[ \t]*"
)
#: A number written whole (no point, no exponent): past int64, pandas reads the column as
#: ``uint64`` or text (unless a fraction makes it floats), which pandera's coercion refuses.
_WHOLE = re.compile(r"[ \t]*[-+]?[0-9]+[ \t]*")
#: The whole number ``pandas.to_datetime`` reads as NaT: int64's least, numpy's NaT.
_NAT_NUMBER = -(2**63)
#: The "format" of a column whose first value is a number (``20240101``, ``1.5``) and whose
#: every value pandas reads as a number: pandera's coercion makes each a count of
#: nanoseconds since 1970, not the date it may write.
EPOCH = "nanoseconds since 1970"


class DatesAsText(Exception):
    """``datetime64[ns]`` columns read as numbers (:data:`EPOCH`) that hold a value pandas
    reads as no number: to pandas the file's column is text, dates in the format of its
    first value. The file is read again, those columns so."""

    def __init__(self, columns: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(columns)))
        self.columns = columns


def _numbers(values: pd.Series) -> bool:
    """Whether pandas' CSV reader reads every value of the chunk as a number (or a gap)."""
    present = values[values.notna()].astype(object)
    return bool(present.map(lambda v: isinstance(v, str) and NUMBER.fullmatch(v) is not None).all())


def _past_int64(value: object) -> bool:
    """Whether ``value`` is a whole number pandas' CSV reader reads as no ``int64``: a
    column of ``uint64`` or text, which pandera's coercion refuses (NaT where a fraction
    in the column makes it floats; not matched, docs/validate.md)."""
    if not isinstance(value, str) or not _WHOLE.fullmatch(value):
        return False
    number = int(value)
    return not _NAT_NUMBER <= number < 2**63


class DateColumn:
    """One ``datetime64[ns]`` column over the whole file."""

    def __init__(
        self, column: ColumnPlan, display: str, *, broken: bool = False, textual: bool = False
    ) -> None:
        self.name = column.name
        #: Whether the column is text to pandas though its first value is a number.
        self.textual = textual
        #: Whether a value pandas reads as no number came before the first value.
        self._text_seen = False
        self.coerce = column.rule.coerce
        self.display = display
        #: The format of the file's first value; None before it, "" where pandas has none
        #: (no format, or one with a time zone): pandera judges the column, chunk by chunk.
        self.format: str | None = None
        self.first: tuple[int, str] | None = None
        #: Whether pandera's coercion of the whole column fails (``broken``: known before)
        self.broken = broken or not self.coerce
        #: Chunks handed back as dates (:meth:`parse`)
        self.as_dates = 0
        self.text_type = "str"
        self.out_of_format = _Values()
        self.out_of_range = _Values()
        self.alone = _Values()
        self._alone: dict[str, bool] = {}
        #: Whether any chunk came as text or gaps (see :func:`native`): else pandera judged
        #: every chunk, and nothing is told here.
        self.seen = False

    @property
    def handled(self) -> bool:
        return self.format != ""

    def compared(self, values: pd.Series) -> pd.Series | None:
        """The chunk's values as a check over the whole table (uniqueness) compares them:
        the timestamps :meth:`parse` makes, every gap (``NaT`` written too) NaT; None where
        pandera judges the column as text (no coercion, a coercion that fails, no format
        to read it in). Call after :meth:`parse` saw the chunk; it records nothing."""
        if self.broken or self.format == "":
            return None
        return self._read(values).astype(DTYPE)

    def _read(self, values: pd.Series) -> pd.Series:
        """``pandas.to_datetime`` of the chunk in the column's format, a gap where a value
        is not in it; in :data:`EPOCH`, numbers as nanoseconds since 1970 (NaT where out of
        range, as pandas makes them). Before the first value (no format yet): gaps, and
        ``today`` or ``now`` as the moment, as ``pandas.to_datetime`` reads them without a
        format."""
        import pandas as pd

        if self.format is None:
            return pd.to_datetime(values.where(values.isin(_NOW_WORDS)), errors="coerce")
        if self.format != EPOCH:
            return pd.to_datetime(values, format=self.format, errors="coerce")
        numbers = pd.to_numeric(values, errors="coerce")  # every value one: see _numbers
        return pd.to_datetime(numbers, unit="ns", errors="coerce")

    def parse(self, values: pd.Series) -> pd.Series | None:
        """The chunk's values as pandas' coercion of the whole column makes them; None
        where it fails on the whole column (the values stay text, and pandera judges
        them without the dtype). Call only while :attr:`handled`."""
        import pandas as pd

        self.seen = True
        self.text_type = str(values.dtype)
        present = values.notna() & ~values.isin(GAP_WORDS)
        if self.format is None:
            # chunks of gaps alone before the first value: a word among them (NaT, today)
            # is text to pandas, as any later one is
            self._text_seen = self._text_seen or not _numbers(values)
            self._first(values)
            if not self.handled:
                return None
        if self.format == EPOCH and (self._text_seen or not _numbers(values)):
            raise DatesAsText(frozenset({self.name}))
        if not self.coerce:
            if self.format != EPOCH:  # numbers to pandas: the dtype fails, no value on its own
                self._judge_alone(values[present])
            return None
        parsed = self._read(values)
        if self.format is None:  # gaps, today and now so far (judged as text where broken)
            return None if self.broken else parsed.astype(DTYPE)
        unread = present & parsed.isna()
        if self.format == EPOCH:  # a number pandas makes NaT is a gap; one past int64 is not
            unread &= values.map(_past_int64).astype(bool)
        wide = parsed.notna() & ((parsed < pd.Timestamp.min) | (parsed > pd.Timestamp.max))
        if not unread.any() and not wide.any():
            return None if self.broken else parsed.astype(DTYPE)
        self.broken = True
        self.out_of_format.add(_rows(values[unread], SHOWN), int(unread.sum()), SHOWN)
        self.out_of_range.add(_rows(values[wide], SHOWN), int(wide.sum()), SHOWN)
        self._judge_alone(values[unread | wide])
        return None

    def _first(self, values: pd.Series) -> None:
        from pandas.tseries.api import guess_datetime_format

        for row, value in values.items():
            if isinstance(value, str) and value not in _SKIPPED:
                if NUMBER.fullmatch(value) and not self.textual:
                    self.format = EPOCH
                else:
                    found = guess_datetime_format(value)
                    zoned = found is not None and ("%z" in found or "%Z" in found)
                    self.format = "" if found is None or zoned else found
                self.first = (int(row) + 1, value)
                return

    def _judge_alone(self, values: pd.Series) -> None:
        """Note the values that ``pandas.to_datetime`` does not read on their own."""
        import pandas as pd

        if len(self._alone) > _REMEMBERED:
            self._alone.clear()
        distinct = pd.unique(values.to_numpy(dtype=object))
        new = [v for v in distinct if v not in self._alone]
        self._alone.update(zip(new, undated(new), strict=True))
        bad = values.map(self._alone.get).astype(bool)
        self.alone.add(_rows(values[bad], EXAMPLES), int(bad.sum()))

    def rows(self) -> set[int]:
        """The rows the failures name."""
        if not self.broken or not self.seen:
            return set()
        named = [self.out_of_format, self.out_of_range, self.alone]
        return {r for v in named for r, _ in v.first} | ({self.first[0]} if self.first else set())

    def failures(self, lines: Mapping[int, int], names: Mapping[str, str]) -> list[Failure]:
        """pandera's failures of the column over the whole file (none if it passes)."""
        if not self.broken or not self.handled or not self.seen:
            return []
        dtype = names.get(DTYPE, DTYPE)
        checks = [f"coerce_dtype('{dtype}')"] if self.coerce else []
        checks.append(f"dtype('{dtype}')")
        why = self._why(lines)
        if self.alone.count:
            examples = tuple(Example(r, plain_value(v)) for r, v in self.alone.first)
            count = self.alone.count
            return [
                Failure(self.name, c, _joined(describe(self.name, c), why), count, examples)
                for c in checks
            ]
        found = self.text_type if self.first else "float64"
        wrong = f"column '{self.name}' has type {found}; the schema wants '{dtype}'"
        if not self.coerce:
            wrong += " (pandas reads dates as text; pandera converts them only with coerce: true)"
            return [Failure(self.name, checks[0], wrong, None)]
        return [
            Failure(self.name, checks[0], why, None),
            Failure(
                self.name, checks[1], f"{wrong} ({_BROKEN[bool(self.out_of_format.count)]})", None
            ),
        ]

    def _why(self, lines: Mapping[int, int]) -> str:
        """The values that break the column's coercion, where they are, and the fix."""
        said = []
        if self.first is not None and self.out_of_format.count:
            row, value = self.first
            said.append(
                "the dates are not all in one format: pandas reads the column in the format "
                f"of its first value, {value!r} ({self._where(row, lines)}, {self.format}), "
                f"and {self._listed(self.out_of_format, lines)} not in that format; write "
                "every value in one format"
            )
        if self.out_of_range.count:
            said.append(
                f"{self._listed(self.out_of_range, lines)} outside the range of {DTYPE} ({_span()})"
            )
        return "; ".join(said)

    def _listed(self, found: _Values, lines: Mapping[int, int]) -> str:
        """``3 values are`` and where the first are."""
        shown = ", ".join(f"{v!r} at {self._where(r, lines)}" for r, v in found.first)
        more = " …" if found.count > len(found.first) else ""
        if found.count == 1:
            return f"1 value ({shown}) is"
        return f"{found.count:,} values ({shown}{more}) are"

    def _where(self, row: int, lines: Mapping[int, int]) -> str:
        line = lines.get(row)
        return f"{self.display}:{line}" if line is not None else f"row {row}"


def _joined(head: str, why: str) -> str:
    return f"{head}: {why}" if why else head


def _rows(values: pd.Series, keep: int) -> list[tuple[int, Any]]:
    return [(int(i) + 1, v) for i, v in values.iloc[:keep].items()]


def undated(values: Sequence[str]) -> list[bool]:
    """For each value, whether ``pandas.to_datetime`` does not read it on its own (as
    pandera's coercion of one value does): a date without a zone in ISO 8601's form is
    read at once for all of them, any other value one by one."""
    import pandas as pd

    if not values:
        return []
    text = pd.Series(list(values), dtype=object)
    iso = text.str.fullmatch(_ISO.pattern).fillna(False).astype(bool)
    read = pd.to_datetime(text.where(iso), format="ISO8601", errors="coerce").notna()
    return [not dated and not _a_date(v) for v, dated in zip(values, read, strict=True)]


def _a_date(value: str) -> bool:
    """Whether ``pandas.to_datetime`` reads ``value`` on its own, as pandera's coercion of
    one value does."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pd.to_datetime(value)
        except Exception:  # any error of pandas' parsers: not a date
            return False
    return True


def _span() -> str:
    import pandas as pd

    return f"{pd.Timestamp.min:%Y-%m-%d} to {pd.Timestamp.max:%Y-%m-%d}"
