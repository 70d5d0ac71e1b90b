"""One data file of a pipeline as train reads it: read and validated in one pass as
``validate`` does, its declared columns typed by the schema, and refused where it fails
validation unless the spec says ``train.allow_invalid_data: true``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput, CheckFailed, DataError
from mlgitops.features import (
    FeatureContract,
    contract,
    declared_columns,
    missing_as_nan,
    named_columns,
)
from mlgitops.outputs import ROW, ROW_RESERVED
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    import pandas as pd

    from mlgitops.validation.failures import Example

#: Failures named in the message when ``train`` refuses invalid data.
_FIRST_FAILURES = 3


@dataclass(frozen=True)
class Table:
    """One data file as read: ``__row__`` and the declared columns, typed by the schema."""

    frame: pd.DataFrame
    contract: FeatureContract
    failures: tuple[str, ...]
    #: Per column: the values that are not of its type, gaps in ``frame`` (invalid data read
    #: anyway: training allowed to, drift).
    unparsed: Mapping[str, int] = field(default_factory=dict)
    #: Per column of ``unparsed``: the first such value, with its row and line.
    first_unparsed: Mapping[str, Example] = field(default_factory=dict)


def read_table(
    root: Path,
    pipeline: Pipeline,
    location: str,
    workdir: Path,
    *,
    refuse_invalid: bool = True,
    labelled: bool = True,
) -> Table:
    """Read and validate one data file of ``pipeline`` in one pass.

    ``refuse_invalid``: failing validation is an error (exit 1) unless the spec
    allows training on invalid data; ``drift`` reads current data that may well fail.
    ``labelled``: a file other than the pipeline's own data must hold the target (current
    data for drift need not: what a model served has no labels).
    """
    from mlgitops.data import open_data
    from mlgitops.validation.engine import Limits, validate
    from mlgitops.validation.schema import load_schema

    data = pipeline.data
    schema = load_schema(root, pipeline)
    fmt = data.format_of(location)
    reader = open_data(root, location, fmt=fmt, workdir=workdir)
    header = reader.columns()
    require_spec_columns(root, pipeline, schema, header, location, labelled=labelled)
    bounds = data.rows if location == data.path else None
    limits = Limits(
        chunk_rows=data.chunk_rows,
        min_rows=bounds.min if bounds else None,
        max_rows=bounds.max if bounds else None,
    )
    outcome = validate(reader, schema, limits, keep=True)
    failures = tuple(_describe(f, location) for f in outcome.failures)
    if failures and refuse_invalid and not pipeline.train.allow_invalid_data:
        import shlex

        shown = "" if location == data.path else f" --data {shlex.quote(location)}"
        raise CheckFailed(_refusal(location, f"{pipeline.name}{shown}", failures))
    if outcome.text_columns:
        names = ", ".join(sorted(outcome.text_columns))
        raise DataError(f"{location}: column(s) {names} have values that are not of their dtype")
    assert outcome.table is not None  # asked for with keep=True
    frame = missing_as_nan(_as_pandas(_bytes_as_text(outcome.table, location)))
    if outcome.rows and not len(frame.columns):  # (current data for drift: no target needed)
        raise DataError(_no_declared_column(location, outcome.rows, schema, header))
    if frame.empty:
        raise DataError(f"{location}: no data rows")
    if ROW in frame.columns:
        raise DataError(f"{location}: {ROW_RESERVED}")
    frame.insert(0, ROW, range(1, len(frame) + 1))
    features = contract(schema, header, data.target, frame)
    return Table(frame, features, failures, outcome.unparsed, outcome.first_unparsed)


def _no_declared_column(location: str, rows: int, schema: Any, header: list[str]) -> str:
    from mlgitops.validation.rules import Schema

    declared = ", ".join(map(str, Schema.of(schema).columns))
    return (
        f"{location}: {rows:,} data rows, but none of the columns the schema declares "
        f"({declared}); the file's columns: {', '.join(map(str, header))}"
    )


def _bytes_as_text(table: Any, location: str) -> Any:
    """``table`` with each column of bytes (Parquet's binary) as the UTF-8 text it holds: a
    served model gets text in its requests, and so do training, evaluation and drift. A
    DataError names the first row whose bytes are not UTF-8, and a column of nested values
    (structs, lists, maps), which no model input can be."""
    import pyarrow as pa

    for index, name in enumerate(table.column_names):
        column = table.column(index)
        if pa.types.is_nested(column.type):
            raise DataError(
                f"{location}: column {name!r} holds nested values ({column.type}), which no "
                "model takes as one input: store each part as a column of its own, or leave "
                "it out of the schema"
            )
        if pa.types.is_dictionary(column.type):
            if not _is_bytes(column.type.value_type):
                continue
            column = pa.chunked_array(
                [chunk.dictionary_decode() for chunk in column.chunks], column.type.value_type
            )
        if not _is_bytes(column.type):
            continue
        if pa.types.is_fixed_size_binary(column.type) or pa.types.is_binary_view(column.type):
            column = column.cast(pa.large_binary())
        try:
            text = column.cast(pa.large_string())
        except pa.ArrowInvalid:
            row, value = next(
                (i + 1, v)
                for i, v in enumerate(column.to_pylist())
                if v is not None and not _utf8(v)
            )
            raise DataError(
                f"{location}: column {name!r} holds bytes that are not UTF-8 text in row "
                f"{row} ({value[:40]!r}): a served model gets text, so store the column as "
                "text, or leave it out of the schema"
            ) from None
        table = table.set_column(index, name, text)
    return table


def _is_bytes(kind: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
        or pa.types.is_binary_view(kind)
    )


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_pandas(table: Any) -> pd.DataFrame:
    """The validated table as pandas: booleans with gaps as pandas' ``boolean`` (a bool
    column with gaps would otherwise be Python objects, which read as text)."""
    import pandas as pd
    import pyarrow as pa

    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_boolean(column.type) and column.null_count:
            frame[name] = column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    return frame


def require_spec_columns(
    root: Path,
    pipeline: Pipeline,
    schema: Any,
    header: list[str],
    location: str,
    *,
    labelled: bool = True,
) -> None:
    """An error where a column the spec names is not a column of the data file at
    ``location`` (``header``): the target (in one of the pipeline's own data files, a
    SpecError at its line of the spec, with ``compare.slices.column``; in another file, a
    DataError naming the file, unless it need not be ``labelled``); BadInput where the
    schema does not declare the target."""
    data = pipeline.data
    if location not in (data.path, data.test_path):
        if labelled and data.target not in header:
            shown = ", ".join(map(str, header))
            raise DataError(f"{location}: no target column {data.target!r} (columns: {shown})")
    else:
        named_columns(root, pipeline, schema, header, location, declared_too=False)
    if data.target not in dict(declared_columns(schema, [data.target])):
        where = pipeline.data.schema or f"{pipeline.source} (data.columns)"
        raise BadInput(
            f"{where}: the target column {data.target!r} is not declared: declare it with its dtype"
        )


def _describe(failure: Any, location: str) -> str:
    """``file:line: column 'c': message (value)`` for the first failing row, as ``validate``
    shows it (a failure without rows names its column in its message)."""
    example = failure.examples[0] if failure.examples else None
    if example is None:
        return f"{location}: {failure.message}"
    place = f"{location}:{example.line}" if example.line else f"{location} row {example.row}"
    column = f"column {failure.column!r}: " if failure.column is not None else ""
    rows = f" ({failure.failing_rows} row(s))" if failure.failing_rows else ""
    return f"{place}: {column}{failure.message}{rows}, e.g. {example.value!r}"


def _refusal(location: str, name: str, failures: tuple[str, ...]) -> str:
    """Why ``location`` is not trained on; ``name``: the arguments of the ``validate``
    command that reports it in full (the pipeline, and ``--data`` for another file)."""
    shown = failures[:_FIRST_FAILURES]
    more = len(failures) - len(shown)
    lines = [
        f"{location} fails validation ({len(failures)} check(s)); not training on it. "
        f"Run `mlgitops validate {name}` for the full report, or set "
        "train.allow_invalid_data: true to train anyway.",
        *(f"  {text}" for text in shown),
    ]
    if more:
        lines.append(f"  … and {more} more")
    return "\n".join(lines)
