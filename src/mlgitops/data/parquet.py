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
    typed = True

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

    @functools.cached_property
    def _pandas_metadata(self) -> dict[str, Any]:
        """What pandas wrote of its frame into the schema (``df.to_parquet``): its index and
        each column's dtype; empty without (or where it is not JSON, which pandas ignores)."""
        try:
            metadata = self._schema.pandas_metadata
        except ValueError:
            return {}
        return metadata if isinstance(metadata, dict) else {}

    def columns(self) -> list[str]:
        """The column names, in file order; not the columns pandas' metadata names as the
        frame's index (``df.to_parquet`` keeps a filtered frame's index as
        ``__index_level_0__``), which ``pandas.read_parquet`` makes the index again."""
        index = _index_columns(self._pandas_metadata)
        names = [name for name in self._schema.names if name not in index]
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
        """Chunks of ``chunk_rows`` rows; a column is cast to its type in ``types`` where it
        can be, as pandas' coercion would cast it (:func:`_cast`); not one of numbers or
        booleans pandas' metadata gives a dtype of its own, which :meth:`frame` reads so."""
        import pyarrow as pa

        handle = self._open()
        if handle.metadata.num_rows == 0:
            raise DataError(f"{self.display}: the file has no rows")
        try:
            for batch in handle.iter_batches(batch_size=chunk_rows, columns=list(columns)):
                yield pa.Table.from_batches([_cast(batch, types, self._restored)])
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
        """One row of gaps in every column, as ``pandas.read_parquet`` reads it (None: a type
        pandas holds no dtype of)."""
        import pyarrow as pa

        try:
            row = pa.Table.from_pylist([{}], schema=self._nullable)
            return row.replace_schema_metadata(self._metadata).to_pandas()
        except (pa.ArrowException, TypeError, ValueError):
            return None

    @functools.cached_property
    def _metadata(self) -> dict[bytes, bytes] | None:
        """The schema's metadata that pandas reads, None where it reads none."""
        return self._schema.metadata if self._pandas_metadata else None

    @functools.cached_property
    def _dtypes(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Each column's dtype to pandas, read from the footer: that of its stored type
        alone, and as ``pandas.read_parquet`` reads it (pandas' metadata gives ``Int64``,
        ``boolean``, ``string`` …) where it holds no gap and where it holds one (integers
        with a gap are floats, booleans objects)."""
        import pyarrow as pa

        row = self._gap_row
        if row is None:
            return {}, {}, {}
        empty = self._nullable.empty_table()
        try:
            plain = empty.to_pandas().dtypes
            alone = empty.replace_schema_metadata(self._metadata).to_pandas().dtypes
        except (pa.ArrowException, TypeError, ValueError):
            return {}, {}, {}
        return dict(plain.items()), dict(alone.items()), dict(row.dtypes.items())

    @functools.cached_property
    def _restored(self) -> frozenset[str]:
        """The columns pandas' metadata gives a dtype of their own (``Int64`` for ``int64``,
        ``boolean`` for ``bool``, ``string`` for text): read as stored, for pandera to judge
        (or coerce) that dtype; text is read as numbers as any other text."""
        plain, alone, _ = self._dtypes
        return frozenset(name for name, dtype in alone.items() if dtype != plain.get(name))

    def _gapped(self, column: str) -> Any:
        """The dtype a gap gives all of ``column`` (integers are floats, booleans objects)
        where it is not the dtype without one and the file holds a gap there; else None."""
        _, alone, gapped = self._dtypes
        dtype = gapped.get(column)
        if dtype is None or dtype == alone.get(column) or not self.holds_gaps(column):
            return None
        return dtype

    def read_plainly(self, column: str) -> bool:
        """Whether pandas reads ``column`` as the dtype of its stored type: not a column
        pandas' metadata gives a dtype of its own, nor integers with a gap anywhere."""
        plain, alone, _ = self._dtypes
        dtype = plain.get(column)
        return dtype is not None and alone.get(column) == dtype and self._gapped(column) is None

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """``table``'s columns as ``pandas.read_parquet`` reads them from the whole file, each
        column :meth:`batches` read as stored: in the dtype pandas' metadata gives it
        (``Int64``, ``boolean``, ``string`` …, pyarrow's own conversion with the file's
        metadata), and integers or booleans where the file holds a gap anywhere as floats or
        objects in every chunk, as pandas reads the whole column (``8`` is ``8.0`` to
        pandera's ``str``, whichever chunk holds it). A column cast to the type pandera
        coerces it to holds its values in that type."""
        import pyarrow as pa

        stored = [
            n
            for n in table.column_names
            if table.schema.field(n).type == self._schema.field(n).type
        ]
        restored = [n for n in stored if n in self._restored]
        frame = (table.drop_columns(restored) if restored else table).to_pandas()
        for name in restored:  # each converted once, in its place
            alone = table.select([name]).replace_schema_metadata(self._metadata)
            try:
                values = alone.to_pandas()[name].array
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise DataError(
                    f"{self.display}: pandas cannot read column {name!r} as its "
                    f"metadata says: {exc}"
                ) from exc
            frame.insert(table.column_names.index(name), name, values)
        for name in stored:
            wanted = None if name in self._restored else self._gapped(name)
            if wanted is not None and wanted != frame[name].dtype:  # a gap in another chunk
                frame[name] = frame[name].astype(wanted)
        return frame

    def size_hint(self) -> int:
        """The number of rows, from the file's metadata."""
        return int(self._open().metadata.num_rows)

    def lines(self, rows: Collection[int]) -> dict[int, int]:
        return {}


def _index_columns(metadata: Mapping[str, Any]) -> set[str]:
    """The stored columns pandas' metadata names as the index (a range index stores none)."""
    listed = metadata.get("index_columns")
    return {name for name in listed if isinstance(name, str)} if isinstance(listed, list) else set()


def _cast(
    batch: pa.RecordBatch, types: Mapping[str, pa.DataType], stored: Collection[str] = ()
) -> pa.RecordBatch:
    """Cast losslessly where the file's type differs; leave it for pandera otherwise, and
    the columns ``stored`` as stored (those pandas' metadata gives a dtype of their own, as
    ``Int64``, whose gap pandera's coercion judges as pandas' ``NA``), but for text, which
    is read as numbers as any other text.

    Nothing becomes text that the file stores otherwise (timestamps, numbers): pandas
    reads those as they are, and pandera judges them so (a column read as text is
    there for a CSV file's sake, which stores nothing else)."""
    import pyarrow as pa

    if not batch.num_columns:  # (its rows counted: from_arrays of none would hold none)
        return batch
    arrays = []
    for name, array in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_string_view(array.type):  # text as every kernel takes it
            array = array.cast(pa.large_string())
        elif pa.types.is_binary_view(array.type):
            array = array.cast(pa.large_binary())
        textual = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        wanted = None if name in stored and not textual else types.get(name)
        if wanted is not None and pa.types.is_string(wanted) and not textual:
            wanted = None
        if wanted is not None and array.type != wanted and _as_pandas_casts(array, wanted):
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                array = array.cast(wanted, safe=True)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _as_pandas_casts(array: pa.Array, wanted: pa.DataType) -> bool:
    """Whether Arrow's cast of ``array`` to ``wanted`` gives the values pandas' coercion
    gives: that of numbers and booleans to numbers (and of text, which is parsed as any
    text). Not that of times: pandas refuses to make ``Int64`` of durations or timestamps,
    and makes numpy's ``int64`` of a gap (NaT) a number, where Arrow keeps the gap. Numbers
    become booleans only where each is 0 or 1: pandas' ``boolean`` refuses any other, which
    numpy's ``bool`` makes True (and Arrow too). Else pandera coerces what pandas reads."""
    import pyarrow as pa
    import pyarrow.compute as pc

    source = array.type
    numbers = pa.types.is_integer(source) or pa.types.is_floating(source)
    if pa.types.is_boolean(wanted) and numbers:
        try:
            flags = pc.or_(pc.equal(array, 0), pc.equal(array, 1))  # (NaN is neither)
        except pa.ArrowNotImplementedError:  # half floats: no comparison
            return False
        return pc.all(flags).as_py() is not False
    textual = pa.types.is_string(source) or pa.types.is_large_string(source)
    return bool(numbers or textual or pa.types.is_boolean(source))
