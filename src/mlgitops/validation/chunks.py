"""Each chunk of a file judged: screened with Arrow compute, and what the screen cannot
clear (the chunk's columns, or the whole chunk where the schema checks rows or the frame)
validated by pandera with ``lazy=True``, its failure cases folded into the tally.

Before pandera sees a chunk, its columns read as text are parsed as numbers
(:mod:`mlgitops.validation.text_numbers`) and its ``datetime64[ns]`` columns as pandas'
coercion of the whole column makes them (:mod:`mlgitops.validation.dates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlgitops.data.base import Reader
from mlgitops.errors import DataError
from mlgitops.validation.dates import DateColumn, judged, native
from mlgitops.validation.failures import Failure, Tally
from mlgitops.validation.plan import ColumnPlan, Plan, coerced_bool
from mlgitops.validation.rules import regex_names
from mlgitops.validation.screen import clean
from mlgitops.validation.text_numbers import TextNumbers, stored_as_text

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class DatesBroken(Exception):
    """A ``datetime64[ns]`` column whose coercion fails in a chunk after chunks of it were
    judged as dates: the file is read again, those columns judged as text throughout."""

    def __init__(self, columns: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(columns)))
        self.columns = columns


class Chunker:
    """Screens each chunk and sends what the screen cannot clear to pandera."""

    def __init__(
        self,
        plan: Plan,
        tally: Tally,
        text: frozenset[str],
        reader: Reader,
        keep: bool = False,
        broken: frozenset[str] = frozenset(),
        textual: frozenset[str] = frozenset(),
        gaps: Mapping[str, bool] | None = None,
    ) -> None:
        self.plan = plan
        #: The boolean pandera's coercion makes a gap of each column coerced to numpy's
        #: ``bool`` (:func:`~mlgitops.validation.plan.bool_gaps`).
        self.gaps = dict(gaps or {})
        self.coerced_bools = [c.name for c in plan.columns if coerced_bool(c)]
        self.tally = tally
        self.text = text
        self.display = display = reader.display
        #: A chunk's columns as pandas reads them from the whole file.
        self.frame = reader.frame
        #: Whether the file holds a gap in a column.
        self.holds_gaps = reader.holds_gaps
        #: Per column pandera does not coerce: whether pandas reads it in the dtype of the
        #: Arrow type the file stores (not so ``Int64`` from pandas' metadata): the screen
        #: clears it only then.
        self.plainly = {
            c.name: reader.read_plainly(c.name) for c in plan.columns if not c.rule.coerce
        }
        self._schemas: dict[tuple[tuple[str, ...], frozenset[str]], Any] = {}
        #: The schema of each column judged apart (:meth:`_alone`).
        self._apart: dict[str, Any] = {}
        #: The ``datetime64[ns]`` columns read as text, parsed here over the whole file
        #: (``broken``: those whose coercion fails somewhere, known from an earlier read).
        #: Text a file stores as text (a Parquet file's) is text to pandas whatever it
        #: reads: ``20240101`` is no number of nanoseconds there, as a CSV file's would be.
        stored = {c.name for c in plan.columns if reader.typed and reader.holds_text(c.name)}
        for c in plan.columns:
            if c.name in stored and not c.rule.coerce and c.kind in ("i", "u", "f", "b"):
                # pandera judges the dtype pandas reads, text, whatever the text says
                self.tally.add_table(c.name, f"dtype('{c.target}')", _stored_as_text(c))
        self.dates = {
            c.name: DateColumn(
                c, display, broken=c.name in broken, textual=c.name in textual | stored
            )
            for c in plan.columns
            if judged(c)
        }
        #: The columns of numbers or booleans read as text, parsed here.
        self.numbers = TextNumbers(plan, tally, text, keep)

    def check(self, batch: pa.Table, start: int) -> None:
        self.numbers.parsed = {}
        plan = self.plan
        plainly = self.plainly
        dirty = [
            c.name
            for c in plan.columns
            if not clean(c, batch.column(c.name), plainly.get(c.name, True))
        ]
        if plan.frame_checks:
            dirty = plan.names
        if not dirty:
            return
        import pandas as pd

        frame = self.frame(batch.select(dirty))
        frame.index = pd.RangeIndex(start, start + batch.num_rows)
        text = self.text | stored_as_text(batch, dirty)
        told = self.numbers.parse(frame, text) if text else set()
        self._coerced_gaps(frame)
        undated = self._parse_dates(frame)
        alone = self._alone(frame)
        rest = [name for name in dirty if name not in alone]
        rows = f"rows {start + 1}-{start + batch.num_rows}"
        if rest:
            judged = frame[rest] if alone else frame
            self._judge(judged, self._schema(tuple(rest), undated), told, text, rows)
        for name in alone:
            if name not in self._apart:
                self._apart[name] = self.plan.chunk_schema.select_columns([name])
            self._judge(_with_a_gap(frame[name]), self._apart[name], told, text, rows)

    def _judge(
        self,
        frame: pd.DataFrame,
        schema: Any,
        told: set[tuple[str, int]],
        text: frozenset[str],
        rows: str,
    ) -> None:
        """pandera's verdict on ``frame`` (of the chunk's ``rows``), folded into the tally;
        not its failures of a row numbered -1 (:func:`_with_a_gap`)."""
        import pandera.pandas as pa

        try:
            schema.validate(frame, lazy=True, inplace=True)
        except pa.errors.SchemaErrors as exc:
            shown = self.numbers.as_written(frame, text)
            cases = _named(exc.failure_cases, self.plan.schema.dtype_names)
            cases = cases[cases["index"].astype(object) != -1]
            self.tally.add_cases(_without_echoes(cases), told, shown)
        except Exception as exc:  # pandera's own checks raising on these values
            names = list(frame.columns)
            named = f"column{'s' if len(names) > 1 else ''} {', '.join(map(str, names))}"
            raise DataError(
                f"{self.display}: pandera cannot check {rows} ({named}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _alone(self, frame: pd.DataFrame) -> list[str]:
        """The chunk's columns that pandas reads as categories, without a gap, of a file that
        holds one in them, which the schema declares as another dtype (by name alone).
        pandera judges each value of the whole column; where a chunk holds no gap, pandas'
        map of its categories may give a Categorical, on which pandera's coercion raises and
        its dtype check names no row. Such a column is judged apart, a gap beside it, as in
        the whole column (:func:`_with_a_gap`)."""
        import pandas as pd

        if self.plan.frame_checks:
            return []
        declared = self.plan.chunk_schema.columns
        regexes = [str(k) for k, c in declared.items() if c.regex]
        found = []
        for name in frame.columns:
            values, own = frame[name], declared.get(name)
            if not isinstance(values.dtype, pd.CategoricalDtype) or values.isna().any():
                continue  # (pandas maps a gap's categories to plain values)
            if own is None or own.regex or any(regex_names(r, name) for r in regexes):
                continue  # (judged by a regex column too: with the chunk)
            wanted = getattr(own.dtype, "type", None)  # (None: no dtype, no coercion)
            if wanted is None or isinstance(wanted, pd.CategoricalDtype):
                continue
            if self.holds_gaps(name):
                found.append(name)
        return found

    def _coerced_gaps(self, frame: pd.DataFrame) -> None:
        """Each gap of a column pandera coerces to numpy's ``bool`` as that coercion makes it
        (:attr:`gaps`); one it refuses (pandas' ``NA``: a gap of ``Int64`` or ``string``),
        where the column was read or parsed as numpy's values, as that ``NA``."""
        import numpy as np
        import pandas as pd

        for name in self.coerced_bools:
            if name not in frame or not frame[name].isna().any():
                continue
            values = frame[name].astype(object)
            if name in self.gaps:
                frame[name] = values.where(values.notna(), self.gaps[name]).astype(bool)
            elif isinstance(frame[name].dtype, np.dtype):  # (pandas' own dtypes hold it)
                frame[name] = values.where(values.notna(), pd.NA)

    def date_rows(self) -> set[int]:
        """The rows the failures of the ``datetime64[ns]`` columns name."""
        return {r for d in self.dates.values() for r in d.rows()}

    def date_failures(self, lines: Mapping[int, int]) -> list[Failure]:
        """pandera's failures of the ``datetime64[ns]`` columns over the whole file."""
        names = self.plan.schema.dtype_names
        return [f for d in self.dates.values() for f in d.failures(lines, names)]

    def _parse_dates(self, frame: pd.DataFrame) -> frozenset[str]:
        """Put the chunk's dates in ``frame`` as pandas' coercion of the whole column makes
        them; the columns whose coercion fails, left as text for pandera to judge without
        their dtype (told at the end, over the whole file)."""
        failed = set()
        for name, dates in self.dates.items():
            if name not in frame or not dates.handled or native(frame[name]):
                continue
            parsed = dates.parse(frame[name])
            if parsed is not None:
                frame[name] = parsed
                dates.as_dates += 1
            elif dates.handled and dates.as_dates:
                # Earlier chunks were judged as dates: pandera judges the column as text.
                raise DatesBroken(frozenset({name}))
            elif dates.handled:
                failed.add(name)
        return frozenset(failed)

    def _schema(self, names: tuple[str, ...], text: frozenset[str] = frozenset()) -> Any:
        """The chunk schema of columns ``names``; those in ``text`` without their dtype."""
        key = (names, text)
        if key not in self._schemas:
            schema = self.plan.chunk_schema
            if not self.plan.frame_checks:
                wanted = [n for n in schema.columns if n in names]
                regex = [n for n, c in schema.columns.items() if c.regex]
                schema = schema.select_columns(wanted + regex)
            if text:
                schema = schema.update_columns({n: {"dtype": None} for n in text})
            self._schemas[key] = schema
        return self._schemas[key]


def _with_a_gap(values: pd.Series) -> pd.DataFrame:
    """``values`` (categories) and a gap of their dtype as row -1, in a frame of one column."""
    import pandas as pd

    gap = pd.Series(pd.Categorical([None], dtype=values.dtype), index=[-1], name=values.name)
    return pd.concat([values, gap]).to_frame()


def _named(cases: Any, names: Mapping[str, str]) -> Any:
    """pandera's failure cases with the dtype in a dtype check's name called as the schema
    calls it (``dtype('str')`` for an inline ``str`` column: pandera's ``string[pyarrow]``)."""
    if not names:
        return cases

    def spelt(check: Any) -> Any:
        if not isinstance(check, str) or not check.startswith(("dtype(", "coerce_dtype(")):
            return check
        for theirs, ours in names.items():
            check = check.replace(f"'{theirs}'", f"'{ours}'")
        return check

    return cases.assign(check=cases["check"].map(spelt))


def _without_echoes(cases: Any) -> Any:
    """Drop dtype failures on null values that ``not_nullable`` already reports."""
    nulls = cases[cases["check"] == "not_nullable"]
    if nulls.empty:
        return cases
    told = set(zip(nulls["column"], nulls["index"], strict=True))
    echo = (
        cases["check"].astype(str).str.startswith(("coerce_dtype", "dtype("))
        & cases["failure_case"].isna()
    )
    import numpy as np

    pairs = np.array([(c, i) in told for c, i in zip(cases["column"], cases["index"], strict=True)])
    return cases[~(echo.to_numpy() & pairs)]


def _stored_as_text(column: ColumnPlan) -> str:
    """Why a column a file stores as text fails a dtype pandera does not coerce."""
    return (
        f"column '{column.name}' has type str; the schema wants '{column.target}' (the file "
        f"stores text; with coerce: true each value is read as {column.target})"
    )
