"""Chunked, lazy validation of one data file against one pandera schema.

Every chunk is screened with Arrow compute; a chunk (or the columns of it)
the screen cannot clear is validated by pandera with ``lazy=True``, and its
failure cases are folded into per-column, per-check totals. Table-wide
checks (uniqueness, ``unique_values_eq``, row-count bounds) are gathered
across chunks. When a value does not parse as its column's type, the file is
read again with those columns as text and parsed here, so that every bad
value is reported with its row instead of stopping the read. A ``datetime64[ns]``
column is parsed in the format of its first value in the file, as pandas' coercion of
the whole column parses it (:mod:`mlgitops.validation.dates`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mlgitops.data.base import ConversionFailed, Reader
from mlgitops.errors import BadInput, DataError, Problem
from mlgitops.validation.dates import DateColumn, DatesAsText, judged, native
from mlgitops.validation.failures import (
    EXAMPLES,
    STRUCTURE_CHECKS,
    Example,
    Failure,
    Tally,
    plain_value,
)
from mlgitops.validation.parsing import is_text, parse_column
from mlgitops.validation.plan import ColumnPlan, Plan, bool_gaps, coerced_bool, make_plan
from mlgitops.validation.profile import Profiler
from mlgitops.validation.rules import DATA_FILE, Schema, regex_names
from mlgitops.validation.screen import clean
from mlgitops.validation.tablewide import Uncomparable, ValueSet, row_bounds
from mlgitops.validation.uniqueness import Uniqueness

#: Columns re-read as text one by one before reading all of them as text.
_RESTARTS = 3

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class DatesBroken(Exception):
    """A ``datetime64[ns]`` column whose coercion fails in a chunk after chunks of it were
    judged as dates: the file is read again, those columns judged as text throughout."""

    def __init__(self, columns: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(columns)))
        self.columns = columns


@dataclass(frozen=True)
class Outcome:
    """What validating one file found."""

    rows: int
    failures: tuple[Failure, ...]
    profile: dict[str, Any] | None = None
    #: The declared columns as read (typed as the schema says), when asked to keep them.
    table: pa.Table | None = None
    #: Columns of numbers or booleans read as text and kept as text in ``table`` (a dtype
    #: with no Arrow type of its own, such as ``Sparse[int64]``); the others hold what their
    #: values parse to, a value that is not of the type as a gap.
    text_columns: frozenset[str] = frozenset()
    #: Per column of numbers or booleans: how many values are not one (gaps in ``table``).
    unparsed: Mapping[str, int] = field(default_factory=dict)
    #: Per column of ``unparsed``: the first such value, its row and (in a CSV) its line.
    first_unparsed: Mapping[str, Example] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Limits:
    chunk_rows: int = 250_000
    min_rows: int | None = None
    max_rows: int | None = None


def validate(
    reader: Reader, schema: Any, limits: Limits, *, profile: bool = False, keep: bool = False
) -> Outcome:
    """Validate the whole file in chunks; lazily: every failure, not the first.

    ``keep``: also return the declared columns as read, so that a stage that
    needs the data (``train``) reads the file once, exactly as it was validated.
    """
    _numbers_against_text(reader, schema)
    plan = make_plan(schema, reader.columns())
    text: set[str] = set()
    broken: set[str] = set()
    textual: set[str] = set()
    while True:
        try:
            return _run(
                reader,
                schema,
                plan,
                limits,
                text=frozenset(text),
                profile=profile,
                keep=keep,
                broken=frozenset(broken),
                textual=frozenset(textual),
            )
        except DatesAsText as exc:
            # Read those columns as pandas reads text, from the first row on.
            if exc.columns <= textual:
                raise  # they were read as text throughout: a bug here
            textual |= exc.columns
        except DatesBroken as exc:
            # Judge those columns as text from the first row on, as pandera does.
            if exc.columns <= broken:
                raise  # they were judged as text throughout: a bug here
            broken |= exc.columns
        except Uncomparable as exc:
            raise DataError(f"{reader.display}: {exc}") from exc
        except ConversionFailed as exc:
            # Read those columns as text next time; after a few, all of them.
            if text == set(plan.names):
                raise DataError(f"{reader.display}: column {exc.column!r} cannot be read") from exc
            found = {exc.column, *exc.others}
            many = len(text) >= _RESTARTS or not exc.column or found <= text
            text = set(plan.names) if many else text | found


def _numbers_against_text(reader: Reader, schema: Any) -> None:
    """BadInput (the schema file's problems, reported like bad data) where a column without
    a dtype, whose checks take numbers, is text in this file: its values would never equal
    or order with those numbers."""
    pending = getattr(schema, "numbers_if_text", None) or {}
    present = reader.columns() if pending else []
    found = [
        Problem(
            problem.path,
            problem.line,
            problem.col,
            problem.message.replace(DATA_FILE, reader.display),
        )
        for name, column in pending.items()
        if any(reader.holds_text(each) for each in column.columns(name, present))
        for problem in column.problems
    ]
    if found:
        raise BadInput("\n".join(str(problem) for problem in sorted(found)))


def profile_only(reader: Reader, schema: Any, chunk_rows: int) -> dict[str, Any]:
    """The data profile alone (the base branch's data, for the diff)."""
    plan = make_plan(schema, reader.columns())
    numbers = _numbers(plan)
    profiler = Profiler(numbers)
    try:
        types = plan.types(frozenset(), as_stored=reader.typed)
        for batch in reader.batches(types, plan.names, chunk_rows):
            profiler.add(batch)
    except ConversionFailed:
        profiler = Profiler(numbers)
        for batch in reader.batches(plan.types(frozenset(plan.names)), plan.names, chunk_rows):
            profiler.add(batch)
    return profiler.result()


def _run(
    reader: Reader,
    schema: Any,
    plan: Plan,
    limits: Limits,
    *,
    text: frozenset[str],
    profile: bool,
    keep: bool = False,
    broken: frozenset[str] = frozenset(),
    textual: frozenset[str] = frozenset(),
) -> Outcome:
    tally = Tally()
    for failure in structure(schema, plan.header):
        tally.add(failure)
    hint = reader.size_hint() if plan.unique_keys else 0
    numbers = _numbers(plan)
    gaps = bool_gaps(plan, reader.gap_as_bool)
    chunker = _Chunker(plan, tally, text, reader, keep, broken, textual, gaps)
    uniques = [
        Uniqueness(keys, hint, numbers, checks, chunker.dates, gaps)
        for keys, checks in plan.unique_keys.items()
    ]
    parsed = numbers | {c.name: c for c in plan.columns if c.kind == "M"}  # dates: text
    value_sets = [ValueSet(c, check, parsed.get(c), gaps.get(c)) for c, check in plan.value_sets]
    profiler = Profiler(numbers) if profile else None
    compared = [*(k for u in uniques for k in u.keys), *(v.column for v in value_sets)]
    coerced = _Coerced(plan, compared, reader)
    gatherers: list[_Gatherer] = [*uniques, *value_sets]
    rows = 0
    kept: list[tuple[pa.Table, dict[str, pa.Array]]] = []
    declared = plan.declared  # what the stages take
    types = plan.types(text, as_stored=reader.typed)
    for batch in reader.batches(types, plan.names, limits.chunk_rows):
        chunker.check(batch, rows)
        as_coerced = coerced(batch)
        for gatherer in gatherers:
            gatherer.add(as_coerced)
        if profiler is not None:
            profiler.add(batch)
        rows += batch.num_rows
        if keep:
            parsed = {k: v for k, v in chunker.parsed.items() if k in declared}
            kept.append(
                (batch.select(declared) if len(declared) < batch.num_columns else batch, parsed)
            )
        del batch, as_coerced  # let the chunk go before the next one is read
    for unique in uniques:
        tally.add_all(_confirm(reader, unique, types, limits.chunk_rows, coerced))
    tally.add_all([v.failure() for v in value_sets])
    tally.add_all(row_bounds(rows, limits.min_rows, limits.max_rows))
    found = tally.failures()
    marked = {e.row for f in found for e in f.examples} | chunker.date_rows()
    marked |= {e.row for e in chunker.first_unparsed.values()}
    lines = reader.lines(marked) if marked and reader.line_based else {}
    tally.add_all(chunker.date_failures(lines))
    failures = tuple(f.with_lines(lines) for f in tally.failures())
    if not keep:
        return Outcome(rows, failures, profiler.result() if profiler else None, None, text)
    table, typed = _typed(kept, plan)
    unread = (text - typed) & set(declared)
    first = {name: e.with_line(lines) for name, e in chunker.first_unparsed.items()}
    return Outcome(
        rows,
        failures,
        profiler.result() if profiler else None,
        table,
        unread,
        chunker.unparsed,
        first,
    )


def _numbers(plan: Plan) -> dict[str, ColumnPlan]:
    """The columns declared as numbers or booleans: text in them is parsed, also where a
    check over the whole table (uniqueness, the distinct values, the profile) compares it."""
    return {c.name: c for c in plan.columns if c.kind in ("i", "u", "f", "b")}


def _typed(
    kept: list[tuple[pa.Table, dict[str, pa.Array]]], plan: Plan
) -> tuple[pa.Table, frozenset[str]]:
    """The kept chunks as one table, with the number and boolean columns that were read as
    text (a value pyarrow does not read, such as ``6.0`` in an integer column; a Parquet
    column stored as text) holding the values validation parsed, in every chunk; and those
    columns. A value that is not of its column's type is a gap there."""
    typed = set.intersection(*(set(found) for _, found in kept)) if kept else set()
    batches = []
    for batch, found in kept:
        for name in typed:
            batch = batch.set_column(batch.schema.get_field_index(name), name, found[name])
        batches.append(batch)
    return _concat(batches, plan), frozenset(typed)


def _arrow(values: pd.Series, kind: pa.DataType) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, type=kind, from_pandas=True)


def _concat(batches: list[pa.Table], plan: Plan) -> pa.Table:
    import pyarrow as pa

    if not batches:
        types = plan.types(frozenset())
        schema = pa.schema([(name, types[name]) for name in plan.declared])
        return schema.empty_table()
    return pa.concat_tables(batches)


class _Gatherer(Protocol):
    def add(self, batch: pa.Table) -> None: ...


def _confirm(
    reader: Reader,
    unique: Uniqueness,
    types: dict[str, Any],
    chunk_rows: int,
    coerced: _Coerced,
) -> list[Failure]:
    keys = list(unique.keys)
    wanted = {k: v for k, v in types.items() if k in unique.keys}
    return unique.confirm(
        unique.repeated(), lambda: map(coerced, reader.batches(wanted, keys, chunk_rows))
    )


class _Coerced:
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


def structure(schema: Any, header: tuple[str, ...]) -> list[Failure]:
    """Missing, unexpected and out-of-order columns, from the header alone."""
    rules = Schema.of(schema)
    if _exactly_declared(rules, header):
        return []  # the declared columns, each once: pandera finds nothing
    return pandera_structure(rules, header)


def pandera_structure(rules: Schema, header: tuple[str, ...]) -> list[Failure]:
    """What pandera's schema finds wrong in the header: its structural failures on a frame
    of no rows."""
    import pandas as pd
    import pandera.pandas as pa

    frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in header})
    tally = Tally()
    try:
        rules.pandera.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        # a required regex column that matches no column: its check names the regex
        nothing = cases["check"].astype(str).str.startswith("no_regex_column_match(")
        tally.add_cases(cases[cases["check"].isin(STRUCTURE_CHECKS) | nothing], set())
    return list(tally.failures())


def _exactly_declared(schema: Schema, header: tuple[str, ...]) -> bool:
    """The header names each column once, every required one, and (strict) no other:
    no structural failure, without asking pandera. Anything else (regex columns,
    ordered or dataframe-level settings) goes to pandera."""
    plain = not schema.ordered and schema.strict in (True, False) and not schema.unique
    if not plain or any(c.regex for c in schema.columns.values()):
        return False
    names = set(header)
    if len(names) != len(header):
        return False
    required = {n for n, c in schema.columns.items() if c.required}
    return required <= names and (not schema.strict or names <= set(schema.columns))


class _Chunker:
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
        self.keep = keep
        self._schemas: dict[tuple[tuple[str, ...], frozenset[str]], Any] = {}
        #: The schema of each column judged apart (:meth:`_alone`).
        self._apart: dict[str, Any] = {}
        #: The ``datetime64[ns]`` columns read as text, parsed here over the whole file
        #: (``broken``: those whose coercion fails somewhere, known from an earlier read).
        self.dates = {
            c.name: DateColumn(c, display, broken=c.name in broken, textual=c.name in textual)
            for c in plan.columns
            if judged(c)
        }
        #: With ``keep``: the last chunk's text columns of numbers or booleans as parsed, in
        #: the Arrow type the column is read as (every value read).
        self.parsed: dict[str, pa.Array] = {}
        #: Per column of numbers or booleans read as text: the values that are not one.
        self.unparsed: dict[str, int] = {}
        #: Per column of ``unparsed``: the first value that is not one, with its row.
        self.first_unparsed: dict[str, Example] = {}

    def check(self, batch: pa.Table, start: int) -> None:
        self.parsed = {}
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
        text = self.text | _stored_as_text(batch, dirty)
        told = self._parse_text(frame, text) if text else set()
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
            shown = self._as_written(frame, text)
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

    def _as_written(self, frame: pd.DataFrame, text: frozenset[str]) -> pd.DataFrame:
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

    def _parse_text(self, frame: pd.DataFrame, text: frozenset[str]) -> set[tuple[str, int]]:
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


def _read_as_floats(column: ColumnPlan, raw: pd.Series, bad: pd.Series) -> bool:
    """Whether pandera, not coercing, judges this chunk of a CSV integer column as the floats
    pandas reads it as: it has a gap, and every value is a number (else pandas reads text,
    where numpy's integers still refuse each gap and pandas' nullable ones take it)."""
    if column.rule.coerce or column.kind not in ("i", "u") or not raw.isna().any():
        return False
    return not column.rule.missing or not bad.any()


def _with_a_gap(values: pd.Series) -> pd.DataFrame:
    """``values`` (categories) and a gap of their dtype as row -1, in a frame of one column."""
    import pandas as pd

    gap = pd.Series(pd.Categorical([None], dtype=values.dtype), index=[-1], name=values.name)
    return pd.concat([values, gap]).to_frame()


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _stored_as_text(batch: pa.Table, names: list[str]) -> frozenset[str]:
    """Columns a file stores as text (a Parquet string column where the schema wants
    numbers): parsed like CSV text, so a bad value is one failure, not pandera's
    coerce, dtype and check errors about the same value."""
    return frozenset(n for n in names if is_text(batch.column(n).type))


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
