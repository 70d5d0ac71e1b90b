"""The schema of the spec's inline ``data.columns``, written from the spec alone.

:func:`inline` gives the same :class:`~mlgitops.validation.rules.Schema` that
``Schema.of`` makes of pandera's ``DataFrameSchema(..., coerce=True, strict=True)``
of those columns, and builds that pandera schema (importing pandera) only if a chunk
is not clean, or the header does not match. A test builds each inline dtype and
check through pandera and holds that both give the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlgitops.spec.model import INLINE_KINDS
from mlgitops.validation.rules import CheckRule, ColumnRule, Schema

if TYPE_CHECKING:
    import pandera.pandas as pa

    from mlgitops.spec.model import Column


#: An inline dtype (the spec schema's enum) -> str() of pandera's dtype, the Arrow type
#: to read it as, whether that is exact, and numpy's kind of its values (the spec's
#: :data:`~mlgitops.spec.model.INLINE_KINDS`).
INLINE_DTYPES: dict[str, tuple[str, str, bool, str]] = {
    name: (*read, INLINE_KINDS[name])
    for name, read in {
        "int64": ("int64", "int64", True),
        "int32": ("int32", "int32", True),
        "float64": ("float64", "double", True),
        "float32": ("float32", "float", True),
        "str": ("string[pyarrow]", "string", True),
        "bool": ("bool", "bool", True),
        "category": ("category", "string", False),
        "datetime64[ns]": ("datetime64[ns]", "string", False),
    }.items()
}
#: pandera's name of a dtype -> the spec's, where they differ: pandas' text, which an inline
#: ``str`` column is (and a schema file's ``str`` or ``string``).
SPEC_NAMES = {"string[pyarrow]": "str"}
#: An inline integer dtype of a nullable column -> pandas' nullable integer dtype: numpy's
#: integers hold no missing value (pandera's ``int64`` refuses a gap), ``Int64`` does.
NULLABLE_INTEGERS = {"int64": "Int64", "int32": "Int32"}


def _inline_dtype(column: Column) -> str:
    """The pandera dtype of an inline column."""
    if column.nullable and column.dtype in NULLABLE_INTEGERS:
        return NULLABLE_INTEGERS[column.dtype]
    return INLINE_DTYPES[column.dtype][0]


def inline(columns: Sequence[Column], *, name: str | None = None) -> Schema:
    """The schema of the spec's inline columns: strict and coercing, like pandera's
    ``DataFrameSchema(..., coerce=True, strict=True)`` that :meth:`Schema.pandera` builds."""

    def build() -> pa.DataFrameSchema:
        import pandera.pandas as pa

        built = {
            c.name: pa.Column(
                _inline_dtype(c),
                [_pandera_check(r) for r in _checks(c)],
                nullable=c.nullable,
                unique=c.unique,
                required=c.required,
            )
            for c in columns
        }
        return pa.DataFrameSchema(built, coerce=True, strict=True, name=name)

    schema = Schema({}, strict=True, coerce=True, dtype_names=SPEC_NAMES, _build=build)
    schema.columns.update({c.name: _inline_column(c, schema) for c in columns})
    return schema


def _inline_column(column: Column, schema: Schema) -> ColumnRule:
    _, arrow, exact, kind = INLINE_DTYPES[column.dtype]
    shown, name = _inline_dtype(column), column.name
    return ColumnRule(
        dtype=shown,
        words=shown if column.dtype in NULLABLE_INTEGERS else column.dtype,
        arrow=arrow,
        exact=exact,
        kind=kind,
        target=lambda: getattr(schema.pandera.columns[name].dtype, "type", None),
        missing=kind not in "iu" or shown != column.dtype,
        nullable=column.nullable,
        unique=column.unique,
        required=column.required,
        coerce=True,
        checks=_checks(column),
    )


def _checks(column: Column) -> tuple[CheckRule, ...]:
    """The checks pandera's built-in ``Check`` constructors make, with their statistics."""
    found = []
    if column.min is not None and column.max is not None:
        stats = {"min_value": column.min, "max_value": column.max}
        found.append(CheckRule("in_range", stats | {"include_min": True, "include_max": True}))
    elif column.min is not None:
        found.append(CheckRule("greater_than_or_equal_to", {"min_value": column.min}))
    elif column.max is not None:
        found.append(CheckRule("less_than_or_equal_to", {"max_value": column.max}))
    if column.isin is not None:
        found.append(CheckRule("isin", {"allowed_values": list(column.isin)}))
    if column.regex is not None:
        found.append(CheckRule("str_matches", {"pattern": column.regex}))
    return tuple(found)


def _pandera_check(rule: CheckRule) -> Any:
    import pandera.pandas as pa

    stats = rule.statistics
    if rule.name == "in_range":
        return pa.Check.in_range(stats["min_value"], stats["max_value"])
    if rule.name == "greater_than_or_equal_to":
        return pa.Check.ge(stats["min_value"])
    if rule.name == "less_than_or_equal_to":
        return pa.Check.le(stats["max_value"])
    if rule.name == "isin":
        return pa.Check.isin(list(stats["allowed_values"]))
    assert rule.name == "str_matches", rule.name
    return pa.Check.str_matches(stats["pattern"])
