"""Parquet in record batches; rows have numbers but no lines."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.data.base import distinct_names
from mlgitops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class ParquetReader:
    """A Parquet file on disk; ``display`` is how messages name it."""

    line_based = False

    def __init__(self, path: Path, display: str, annotate_file: str | None) -> None:
        self.path = path
        self.display = display
        self.annotate_file = annotate_file
        #: Per column asked about: whether the file holds a gap in it.
        self._gaps: dict[str, bool] = {}

    def _open(self) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.path.stat().st_size == 0:
            raise DataError(f"{self.display}: the file is empty")
        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{self.display}: not a readable Parquet file ({exc})") from exc

    @functools.cached_property
    def _schema(self) -> pa.Schema:
        """The file's schema, read from its footer once."""
        return self._open().schema_arrow

    def columns(self) -> list[str]:
        """The column names, in file order; not the columns pandas' metadata names as the
        frame's index (``df.to_parquet`` keeps a filtered frame's index as
        ``__index_level_0__``), which ``pandas.read_parquet`` makes the index again."""
        schema = self._schema
        index = _index_columns(schema)
        names = [name for name in schema.names if name not in index]
        return distinct_names(self.display, names, "its schema")

    def holds_text(self, column: str) -> bool:
        """Whether the file stores ``column`` as text or bytes (or a dictionary of them)."""
        import pyarrow as pa

        stored = self._schema.field(column).type
        if pa.types.is_dictionary(stored):
            stored = stored.value_type
        kinds = (
            *("string", "large_string", "string_view"),
            *("binary", "large_binary", "binary_view", "fixed_size_binary"),
        )
        return any(getattr(pa.types, f"is_{kind}", lambda _: False)(stored) for kind in kinds)

    def gap_as_bool(self, column: str) -> bool | None:
        """The boolean numpy's ``bool`` makes of a gap in ``column`` as pandas reads it, by
        pandas' own cast: True for NaN (numbers; text, to pandas 3), False for None
        (booleans); None where the cast fails, or keeps a category's gap a gap."""
        import pandas as pd

        row = self._gap_row
        if row is None or column not in row or isinstance(row[column].dtype, pd.CategoricalDtype):
            return None
        try:
            return bool(row[column].astype(bool).iloc[0])
        except (TypeError, ValueError):
            return None

    def batches(
        self, types: Mapping[str, pa.DataType], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[pa.Table]:
        """Chunks of ``chunk_rows`` rows; a column is cast to its type when it can be."""
        import pyarrow as pa

        handle = self._open()
        if handle.metadata.num_rows == 0:
            raise DataError(f"{self.display}: the file has no rows")
        try:
            for batch in handle.iter_batches(batch_size=chunk_rows, columns=list(columns)):
                yield pa.Table.from_batches([_cast(batch, types)])
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{self.display}: cannot read: {exc}") from exc

    def holds_gaps(self, column: str) -> bool:
        """Whether the file holds a gap anywhere in ``column``: from the footer's statistics
        of each row group, or, where one has none, by reading the column."""
        if column not in self._gaps:
            self._gaps[column] = self._find_gaps(column)
        return self._gaps[column]

    def _find_gaps(self, column: str) -> bool:
        import pyarrow as pa

        handle = self._open()
        footer = handle.metadata
        leaves = [j for j in range(footer.num_columns) if footer.schema.column(j).path == column]
        if len(leaves) == 1:
            found = [
                footer.row_group(g).column(leaves[0]).statistics
                for g in range(footer.num_row_groups)
            ]
            if all(s is not None and s.has_null_count for s in found):
                return any(s.null_count for s in found)
        try:
            return any(b.column(0).null_count for b in handle.iter_batches(columns=[column]))
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{self.display}: cannot read: {exc}") from exc

    @functools.cached_property
    def _nullable(self) -> pa.Schema:
        """The file's schema, every field nullable (a row of gaps fits it)."""
        import pyarrow as pa

        return pa.schema([field.with_nullable(True) for field in self._schema])

    @functools.cached_property
    def _gap_row(self) -> pd.DataFrame | None:
        """One row of gaps in every column, as pandas reads it (None: a type pandas holds no
        dtype of)."""
        import pyarrow as pa

        try:
            return pa.Table.from_pylist([{}], schema=self._nullable).to_pandas()
        except (pa.ArrowException, TypeError, ValueError):
            return None

    @functools.cached_property
    def _dtypes(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Each column's dtype to pandas, read from the footer: where it holds no gap, and
        where it holds one (pandas reads integers with a gap as floats, booleans with one as
        objects)."""
        row = self._gap_row
        if row is None:
            return {}, {}
        alone = self._nullable.empty_table().to_pandas().dtypes
        return dict(alone.items()), dict(row.dtypes.items())

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """``table``'s columns as ``pandas.read_parquet`` reads them from the whole file: a
        column that holds integers or booleans, read as stored, is floats or objects in every
        chunk where the file holds a gap in it anywhere, as pandas reads the whole column
        (``8`` is ``8.0`` to pandera's ``str``, whichever chunk holds it)."""
        frame = table.to_pandas()
        alone, gapped = self._dtypes
        for name in table.column_names:
            wanted = gapped.get(name)
            if wanted is None or wanted == alone.get(name) or wanted == frame[name].dtype:
                continue  # its dtype does not hang on a gap, or the chunk holds one
            stored = table.schema.field(name).type == self._schema.field(name).type
            if stored and self.holds_gaps(name):  # (not cast to the type pandera coerces to)
                frame[name] = frame[name].astype(wanted)
        return frame

    def size_hint(self) -> int:
        """The number of rows, from the file's metadata."""
        return int(self._open().metadata.num_rows)

    def lines(self, rows: Collection[int]) -> dict[int, int]:
        return {}


def _index_columns(schema: pa.Schema) -> set[str]:
    """The stored columns pandas' metadata names as the index (a range index stores none)."""
    try:
        metadata = schema.pandas_metadata
    except ValueError:  # metadata that is not JSON: pandas reads the columns as they are
        return set()
    listed = metadata.get("index_columns") if isinstance(metadata, dict) else None
    return {name for name in listed if isinstance(name, str)} if isinstance(listed, list) else set()


def _cast(batch: pa.RecordBatch, types: Mapping[str, pa.DataType]) -> pa.RecordBatch:
    """Cast losslessly where the file's type differs; leave it for pandera otherwise.

    Nothing becomes text that the file stores otherwise (timestamps, numbers): pandas
    reads those as they are, and pandera judges them so (a column read as text is
    there for a CSV file's sake, which stores nothing else)."""
    import pyarrow as pa

    arrays = []
    for name, array in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_string_view(array.type):  # text as every kernel takes it
            array = array.cast(pa.large_string())
        elif pa.types.is_binary_view(array.type):
            array = array.cast(pa.large_binary())
        wanted = types.get(name)
        textual = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        if wanted is not None and pa.types.is_string(wanted) and not textual:
            wanted = None
        if wanted is not None and array.type != wanted:
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                array = array.cast(wanted, safe=True)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
