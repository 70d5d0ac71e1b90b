"""A data schema as plain values: what every stage reads from it, without pandera.

pandera stays the judge of every value a screen cannot clear, and of every
structural problem; but most of what the stages need from a schema (each
column's dtype, checks and flags) is plain data. A :class:`Schema` holds that
data and builds the pandera schema only when something asks for it:

- from pandera (a schema file, loaded by pandera): :meth:`Schema.of` reads it;
- from the spec's inline ``data.columns``:
  :func:`~mlgitops.validation.inline_rules.inline` writes the same values from the
  spec alone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandera.pandas as pa
    import pyarrow

    from mlgitops.errors import Problem


@dataclass(frozen=True)
class CheckRule:
    """One check, in the terms pandera's ``Check`` uses for it."""

    name: str
    statistics: Mapping[str, Any]
    ignore_na: bool = True
    groupby: Any = None
    element_wise: bool = False
    raise_warning: bool = False
    #: pandera's label for the check, which a table-wide check's failure carries; the
    #: inline checks are never table-wide, and leave it to pandera.
    error: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ColumnRule:
    """One schema column (or regex of columns)."""

    #: ``str()`` of pandera's dtype (``int64``, ``string[pyarrow]``); None: any dtype.
    dtype: str | None
    #: The dtype in the user's words: ``float64``, ``int64``, ``bool``, ``str``, ``category``.
    words: str
    #: The Arrow type to read the column as (an alias for ``pyarrow.type_for_alias``),
    #: and whether it is exactly what pandera expects.
    arrow: str
    exact: bool
    #: numpy's kind of the expected values (``i``, ``u``, ``f``, ``b``, ``M``, ``O``):
    #: what text that did not read as the column's type is parsed into.
    kind: str
    #: The expected dtype itself (a numpy or pandas dtype), resolved when first asked.
    target: Callable[[], Any]
    #: Whether that dtype can hold a missing value: numpy's integers cannot (pandas reads
    #: an integer column with a gap as floats, which pandera's ``int64`` refuses), pandas'
    #: nullable ``Int64`` can.
    missing: bool = True
    nullable: bool = False
    unique: bool = False
    required: bool = True
    regex: bool = False
    #: Whether pandera coerces the column to its dtype (the schema's or the column's
    #: ``coerce``); else it judges the dtype pandas read the column as.
    coerce: bool = False
    checks: tuple[CheckRule, ...] = ()
    #: Which occurrences of a duplicate ``unique`` reports: ``all``, ``exclude_first``,
    #: ``exclude_last`` (pandera's ``report_duplicates``).
    report_duplicates: str = "all"


#: Where a :class:`TextOnly` problem names the data file that holds the column as text.
DATA_FILE = "{data file}"


@dataclass(frozen=True)
class TextOnly:
    """A column without a dtype whose checks take numbers: its problems (naming the file
    :data:`DATA_FILE`) where a data file holds it, or a column its regex matches, as text."""

    regex: bool
    problems: tuple[Problem, ...]

    def columns(self, name: str, present: Sequence[str]) -> list[str]:
        """The file's columns this one stands for."""
        if self.regex:
            return [c for c in present if regex_names(name, c)]
        return [name] if name in present else []


def regex_names(pattern: str, name: str) -> bool:
    """Whether a regex column ``pattern`` stands for the column ``name``: as pandera matches
    it, from the name's start (``f`` stands for ``f1``; ``pandas.Series.str.match``)."""
    import re

    return re.match(pattern, name) is not None


@dataclass(eq=False)
class Schema:
    """A dataframe schema's columns and settings; its pandera form on demand."""

    columns: dict[str, ColumnRule]
    checks: tuple[CheckRule, ...] = ()
    strict: Any = False
    coerce: bool = False
    ordered: bool = False
    unique: Any = None
    #: ``report_duplicates`` of the table's ``unique`` key.
    report_duplicates: str = "all"
    #: The schema's own ``dtype`` (``str()`` of pandera's), which pandera gives every column
    #: it declares, over the column's own; None where the schema has none.
    dtype: str | None = None
    #: The rule of each column the schema does not name, where pandera judges those too: a
    #: schema-wide dtype with no column declared (each column is then one of that dtype), or
    #: coercing (pandera coerces the whole frame to it); never with ``strict: filter``.
    others: ColumnRule | None = None
    #: pandera judges the frame's index (a CSV file's row numbers from 0): whole chunks go
    #: to pandera.
    index: bool = False
    #: pandera's name of a dtype -> the schema's, where failures name it as the schema does
    #: (an inline ``str`` column: :data:`~mlgitops.validation.inline_rules.SPEC_NAMES`).
    dtype_names: Mapping[str, str] = field(default_factory=dict)
    #: Columns without a dtype whose checks take numbers (by name, or regex): their problems
    #: where the data holds such a column as text (:func:`~mlgitops.validation.schema.numbers_if_text`).
    numbers_if_text: Mapping[str, TextOnly] = field(default_factory=dict)
    _build: Callable[[], pa.DataFrameSchema] | None = field(default=None, repr=False)
    _pandera: pa.DataFrameSchema | None = field(default=None, repr=False)

    @property
    def pandera(self) -> pa.DataFrameSchema:
        """The pandera schema (built, and pandera imported, on the first call)."""
        if self._pandera is None:
            assert self._build is not None
            self._pandera = self._build()
        return self._pandera

    @property
    def pandera_loaded(self) -> bool:
        return self._pandera is not None

    @classmethod
    def of(cls, schema: Any) -> Schema:
        """``schema`` itself, or a pandera ``DataFrameSchema`` read into rules."""
        if isinstance(schema, Schema):
            return schema
        coerce = bool(schema.coerce)
        typed = with_schema_dtype(schema)
        columns = {str(k): _from_pandera_column(c, coerce) for k, c in typed.columns.items()}
        others = _others(schema)
        return cls(
            columns,
            tuple(_from_pandera_check(c) for c in schema.checks),
            strict=schema.strict,
            coerce=bool(schema.coerce),
            ordered=bool(schema.ordered),
            unique=schema.unique,
            report_duplicates=str(schema.report_duplicates),
            dtype=None if schema.dtype is None else str(schema.dtype),
            others=None if others is None else _from_pandera_column(others, coerce),
            index=schema.index is not None,
            _pandera=schema,
        )


def with_schema_dtype(schema: pa.DataFrameSchema, header: Sequence[str] = ()) -> pa.DataFrameSchema:
    """``schema`` with its schema-wide dtype written into the columns pandera gives it to:
    every declared column, over the column's own, and, where pandera judges the columns it
    does not declare (:func:`_others`), each of ``header``'s that no column names or
    matches. The same judgement, column by column: a chunk's columns can then be read, and
    given to pandera, one by one."""
    if schema.dtype is None:
        return schema
    typed = copy.deepcopy(schema)
    coerced = _coerced(schema)
    for column in [*typed.columns.values(), *_index_parts(typed)]:
        column.dtype = schema.dtype
        column.coerce = column.coerce or coerced
    other = _others(schema)
    if other is not None:
        declared = [k for k, c in schema.columns.items() if not c.regex]
        patterns = [str(k) for k, c in schema.columns.items() if c.regex]
        named = {
            name: other.set_name(name)
            for name in header
            if name not in declared and not any(regex_names(p, name) for p in patterns)
        }
        typed = typed.add_columns(named) if named else typed
    typed.dtype = None
    return typed


def _coerced(schema: pa.DataFrameSchema) -> bool:
    """Whether pandera coerces: the schema's ``coerce``, any column's or the index's. With a
    schema-wide dtype, any of them coerces the whole frame to it, every column included."""
    parts = [*schema.columns.values(), *_index_parts(schema)]
    return bool(schema.coerce) or any(c.coerce for c in parts)


def _index_parts(schema: pa.DataFrameSchema) -> list[Any]:
    """The schema's index, or the levels of its multi-index (none without one): pandera gives
    them the schema-wide dtype too."""
    index = schema.index
    return [] if index is None else list(getattr(index, "indexes", None) or [index])


def _others(schema: pa.DataFrameSchema) -> Any:
    """pandera's column for each column ``schema`` does not declare, where it judges those:
    its dtype with no column declared (not nullable, as pandera's ``Column`` is by default),
    or coercing (then coerced alone: a gap is kept); else None, and with ``strict:
    filter``, which drops them first."""
    if schema.dtype is None or schema.strict == "filter":
        return None
    if schema.columns and not _coerced(schema):
        return None
    from pandera.api.pandas.components import Column

    return Column(schema.dtype, nullable=bool(schema.columns), coerce=_coerced(schema))


def _from_pandera_check(check: Any) -> CheckRule:
    return CheckRule(
        check.name,
        dict(check.statistics or {}),
        bool(check.ignore_na),
        check.groupby,
        bool(check.element_wise),
        bool(check.raise_warning),
        check.error,
    )


def _from_pandera_column(column: Any, coerce: bool) -> ColumnRule:
    import numpy as np

    dtype = column.dtype
    coerced = coerce or bool(column.coerce)
    arrow, exact = _arrow_type(dtype, coerced)
    native = getattr(dtype, "type", None)
    return ColumnRule(
        dtype=None if dtype is None else str(dtype),
        words=dtype_words(dtype),
        arrow=str(arrow),
        exact=exact,
        kind=str(getattr(native, "kind", "O")),
        target=lambda: native,
        missing=not (isinstance(native, np.dtype) and native.kind in "iu"),
        nullable=bool(column.nullable),
        unique=bool(column.unique),
        required=bool(column.required),
        regex=bool(column.regex),
        coerce=coerced,
        checks=tuple(_from_pandera_check(c) for c in column.checks),
        report_duplicates=str(column.report_duplicates),
    )


def _arrow_type(dtype: Any, coerce: bool) -> tuple[pyarrow.DataType, bool]:
    """The Arrow type to read a pandera dtype as, and whether it maps exactly.

    pandas' nullable numbers (``Int64``, ``Float64``) and Arrow-backed ones
    (``int64[pyarrow]``) are read as the Arrow type of their values, nulls
    kept; a chunk's frame holds them as numpy's numbers, so they are exact
    only where pandera coerces (``coerce``). Half floats, which no CSV reader
    parses to, are read as single floats and left to pandera.
    """
    import numpy as np
    import pandas as pd
    import pyarrow

    native = getattr(dtype, "type", None)
    if isinstance(native, np.dtype) and native.kind == "f" and native.itemsize < 4:
        return pyarrow.float32(), False
    if isinstance(native, np.dtype) and native.kind in "iuf":
        return pyarrow.from_numpy_dtype(native), True
    if isinstance(native, pd.ArrowDtype):
        values = native.pyarrow_dtype
        numeric = pyarrow.types.is_integer(values) or pyarrow.types.is_floating(values)
        if (numeric and not pyarrow.types.is_float16(values)) or pyarrow.types.is_boolean(values):
            return values, coerce
    elif isinstance(native, pd.BooleanDtype):
        return pyarrow.bool_(), coerce
    elif isinstance(native, pd.api.extensions.ExtensionDtype):
        numbers = getattr(native, "numpy_dtype", None)
        if isinstance(numbers, np.dtype) and numbers.kind in "iuf":  # Int64, UInt8, Float64
            return pyarrow.from_numpy_dtype(numbers), coerce
    if isinstance(native, np.dtype) and native.kind == "b":
        return pyarrow.bool_(), True
    if isinstance(native, pd.StringDtype):
        return pyarrow.string(), True
    return pyarrow.string(), False


def dtype_words(dtype: Any) -> str:
    """A pandera dtype in the user's words: ``float64``, ``int64``, ``bool``, ``str``, ``category``."""
    if dtype is None:
        return ""
    import pandas as pd

    native = getattr(dtype, "type", dtype)
    if isinstance(native, pd.CategoricalDtype):
        return "category"
    if isinstance(native, pd.StringDtype) or str(native) in ("str", "string", "object"):
        return "str"
    return str(getattr(native, "name", native))
