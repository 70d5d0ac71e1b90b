"""What every data reader offers, and the signal for a value of the wrong type."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class ConversionFailed(Exception):
    """A value does not parse as the type asked for (read that column as text).

    ``others``: more columns of the same stretch of the file whose values do not
    parse either, where the reader found them (read them as text too).
    """

    def __init__(self, column: str, others: Sequence[str] = ()) -> None:
        super().__init__(column, *others)
        self.column = column
        self.others = tuple(others)


#: The repeated names a message shows, and the columns of each.
_SHOWN = 5


def distinct_names(display: str, names: list[str], where: str = "the header") -> list[str]:
    """``names``, when no column name repeats; otherwise a DataError naming the repeats and
    ``where`` the file names its columns (a CSV file's header, a Parquet file's schema)."""
    if len(set(names)) == len(names):
        return names
    from mlgitops.errors import DataError

    where_each: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        where_each.setdefault(name, []).append(i + 1)
    repeated = [(name, at) for name, at in where_each.items() if len(at) > 1]
    repeats = []
    for name, at in repeated[:_SHOWN]:  # a few of each: a file that is no CSV repeats many
        places = ", ".join(map(str, at[:_SHOWN]))
        places += f", … {len(at)} in all" if len(at) > _SHOWN else ""
        repeats.append(f"{name!r} (columns {places})")
    if len(repeated) > _SHOWN:
        repeats.append(f"and {len(repeated) - _SHOWN} more names")
    raise DataError(
        f"{display}: {where} names a column more than once: {'; '.join(repeats)}; "
        "each column needs a name of its own"
    )


class Reader(Protocol):
    """A tabular data file, read in record batches."""

    #: How messages name the data: a repo-relative path or a URL.
    display: str
    #: The repo-relative path for ``::error file=`` annotations, or None.
    annotate_file: str | None
    #: Whether rows map to lines (CSV) or only to row numbers (Parquet).
    line_based: bool
    #: Whether the file stores each column's type (Parquet), which pandas reads as it is: a
    #: column pandera does not coerce is then read as stored, not as the schema's type.
    typed: bool

    def columns(self) -> list[str]:
        """The column names, in file order."""
        ...

    def batches(
        self, types: Mapping[str, pa.DataType], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[pa.Table]:
        """Chunks of about ``chunk_rows`` rows holding ``columns`` (typed as ``types``)."""
        ...

    def size_hint(self) -> int:
        """About how many rows the file holds (to size buffers up front)."""
        ...

    def holds_text(self, column: str) -> bool:
        """Whether the file holds ``column`` as text (a CSV file holds nothing else)."""
        ...

    def gap_as_bool(self, column: str) -> bool | None:
        """The boolean numpy's ``bool`` makes of a gap in ``column`` as pandas reads it: True
        for NaN (every column of a CSV file; a Parquet file's numbers and text), False for
        None (a Parquet file's booleans); None where the cast fails (it keeps no gap)."""
        ...

    def read_plainly(self, column: str) -> bool:
        """Whether pandas reads ``column`` in the dtype of the Arrow type the file stores it
        as (every column of a CSV file, whose text alone decides). Not a Parquet column
        pandas' metadata gives a dtype of its own (``Int64`` for ``int64``), nor integers
        with a gap anywhere in the file (floats to pandas, in every row)."""
        ...

    def holds_gaps(self, column: str) -> bool:
        """Whether the file holds a gap in ``column`` anywhere (True where that is not known
        without reading the whole file: a CSV file)."""
        ...

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """``table``'s columns (a chunk :meth:`batches` gave) as pandas reads them from the
        whole file."""
        ...

    def lines(self, rows: Collection[int]) -> dict[int, int]:
        """The 1-based line of each 1-based data row (empty for non-line formats)."""
        ...
