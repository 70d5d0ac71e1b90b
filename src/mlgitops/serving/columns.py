"""Lists and objects sent where the model's signature declares one value per row.

MLflow checks a column against its declared type by converting it, and a list or an
object survives some of those conversions: numpy reads ``[[]]`` sent for a number
column as a row holding no numbers, which pandas then gives the model as NaN, and a
text column keeps a list or an object as it is. The model then fails on a value the
client put where the signature declares a single one: the client's error, not the
model's. ``nested_value`` finds such a value in the rows as MLflow hands them to the
model: a DataFrame (``dataframe_split``, ``dataframe_records``, CSV, Parquet), a dict
of columns (``inputs``, ``instances``) or a list of records (``inputs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

#: What pandas' ``infer_dtype`` says of values that all are single values of one kind.
_SINGLE_VALUES = frozenset(
    {"string", "bytes", "integer", "floating", "mixed-integer-float", "boolean", "empty"}
)


def nested_value(data: Any, schema: Any) -> str | None:
    """Why ``data`` does not fit ``schema``, an MLflow input schema, where one of the
    columns it declares a single value per row holds a list or an object (the first such
    column, in the signature's order, and its first such row); None: none does."""
    declared = _single_value_columns(schema)
    for name, rows in _columns(data, declared):
        for row, value in enumerate(rows, start=1):
            if (kind := _nested_kind(value)) is not None:
                return (
                    f"column {name!r} holds {kind} in row {row}: the model's signature "
                    f"declares one {declared[name]} per row"
                )
    return None


def _single_value_columns(schema: Any) -> dict[str, str]:
    """The columns ``schema`` declares by name as one value per row, with their type."""
    from mlflow.types.schema import DataType

    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return {}
    return {
        str(spec.name): spec.type.name
        for spec in schema.inputs
        if isinstance(spec.type, DataType)  # not an Array, Object, Map or Any column
    }


def _columns(data: Any, declared: dict[str, str]) -> Iterator[tuple[str, Iterable[Any]]]:
    """The rows of each declared column present in ``data``, in the signature's order."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        found = {str(name): column for name, column in data.items() if _may_nest(column)}
        yield from ((name, found[name]) for name in declared if name in found)
    elif isinstance(data, dict):
        yield from ((name, _rows(data[name])) for name in declared if name in data)
    elif isinstance(data, list) and all(isinstance(record, dict) for record in data):
        yield from ((name, [record.get(name) for record in data]) for name in declared)


def _may_nest(column: Any) -> bool:
    """Whether a DataFrame column or a 1-d array can hold lists or objects: only one of
    Python objects can, unless they all are single values of one kind (as pandas tells
    in one pass in C: text, the common case, or numbers)."""
    import pandas as pd

    if column.dtype != object:
        return False
    return pd.api.types.infer_dtype(column, skipna=True) not in _SINGLE_VALUES


def _rows(column: Any) -> Iterable[Any]:
    """A column of a dict of columns, row by row (a single value is one for every row);
    none where it cannot hold a list or an object."""
    import numpy as np

    if isinstance(column, np.ndarray) and column.ndim == 1 and not _may_nest(column):
        return ()
    if (isinstance(column, np.ndarray) and column.ndim > 0) or isinstance(column, list | tuple):
        return column
    return (column,)


def _nested_kind(value: Any) -> str | None:
    """What JSON calls ``value`` ("a list", "an object") where it holds more than one
    value; None: it is a single value."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return "a list" if value.ndim > 0 else _nested_kind(value[()])
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list | tuple | set) else None
