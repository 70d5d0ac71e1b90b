"""Chunked, lazy validation of one data file against one pandera schema.

Every chunk is screened with Arrow compute; a chunk (or the columns of it)
the screen cannot clear is validated by pandera with ``lazy=True``, and its
failure cases are folded into per-column, per-check totals
(:mod:`mlgitops.validation.chunks`). Table-wide checks (uniqueness,
``unique_values_eq``, row-count bounds) are gathered across chunks. When a value
does not parse as its column's type, the file is read again with those columns as
text and parsed (:mod:`mlgitops.validation.text_numbers`), so that every bad value
is reported with its row instead of stopping the read. A ``datetime64[ns]`` column
is parsed in the format of its first value in the file, as pandas' coercion of the
whole column parses it (:mod:`mlgitops.validation.dates`).

A CSV file is first offered to the native pass (:mod:`mlgitops.validation.native`),
which reads plain forms in one pass over the bytes and can only clear a file: where
it does not, the chunks are read from the start as above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from mlgitops.data.base import ConversionFailed, Reader
from mlgitops.errors import BadInput, DataError, Problem
from mlgitops.validation.chunks import Chunker, DatesBroken
from mlgitops.validation.dates import DatesAsText
from mlgitops.validation.failures import Example, Failure, Tally
from mlgitops.validation.plan import ColumnPlan, Plan, bool_gaps, make_plan
from mlgitops.validation.profile import Profiler
from mlgitops.validation.rules import DATA_FILE
from mlgitops.validation.structure import structure
from mlgitops.validation.tablewide import Coerced, Uncomparable, ValueSet, row_bounds
from mlgitops.validation.uniqueness import Uniqueness

#: Columns re-read as text one by one before reading all of them as text.
_RESTARTS = 3

if TYPE_CHECKING:
    import pyarrow as pa


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
    if not keep:  # (train keeps the columns it reads: the pass builds none)
        from mlgitops.validation import native

        cleared = native.screen(reader, plan, profile=profile)
        if isinstance(cleared, native.Screened) and not any(
            row_bounds(cleared.rows, limits.min_rows, limits.max_rows)
        ):
            return Outcome(cleared.rows, (), cleared.profile)
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
    from mlgitops.validation import native

    read = native.screen(reader, plan, profile=True, checks=False)
    if isinstance(read, native.Screened) and read.profile is not None:
        return read.profile
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
    chunker = Chunker(plan, tally, text, reader, keep, broken, textual, gaps)
    uniques = [
        Uniqueness(keys, hint, numbers, checks, chunker.dates, gaps)
        for keys, checks in plan.unique_keys.items()
    ]
    parsed = numbers | {c.name: c for c in plan.columns if c.kind == "M"}  # dates: text
    value_sets = [ValueSet(c, check, parsed.get(c), gaps.get(c)) for c, check in plan.value_sets]
    profiler = Profiler(numbers) if profile else None
    compared = [*(k for u in uniques for k in u.keys), *(v.column for v in value_sets)]
    coerced = Coerced(plan, compared, reader)
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
            parsed = {k: v for k, v in chunker.numbers.parsed.items() if k in declared}
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
    marked |= {e.row for e in chunker.numbers.first_unparsed.values()}
    lines = reader.lines(marked) if marked and reader.line_based else {}
    tally.add_all(chunker.date_failures(lines))
    failures = tuple(_hinted(f.with_lines(lines), plan, reader) for f in tally.failures())
    if not keep:
        return Outcome(rows, failures, profiler.result() if profiler else None, None, text)
    table, typed = _typed(kept, plan)
    unread = (text - typed) & set(declared)
    first = {name: e.with_line(lines) for name, e in chunker.numbers.first_unparsed.items()}
    return Outcome(
        rows,
        failures,
        profiler.result() if profiler else None,
        table,
        unread,
        chunker.numbers.unparsed,
        first,
    )


def _hinted(failure: Failure, plan: Plan, reader: Reader) -> Failure:
    """A CSV column's ``dtype('category')`` failure without coercion, told why: pandas reads
    text or numbers there, and pandera's coercion alone makes categories of them."""
    if reader.typed or failure.check != "dtype('category')":
        return failure
    if any(c.name == failure.column and not c.rule.coerce for c in plan.columns):
        hint = "pandas reads a CSV column as text or numbers; pandera makes categories of it"
        return replace(failure, message=f"{failure.message} ({hint} only with coerce: true)")
    return failure


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
    coerced: Coerced,
) -> list[Failure]:
    keys = list(unique.keys)
    wanted = {k: v for k, v in types.items() if k in unique.keys}
    return unique.confirm(
        unique.repeated(), lambda: map(coerced, reader.batches(wanted, keys, chunk_rows))
    )
