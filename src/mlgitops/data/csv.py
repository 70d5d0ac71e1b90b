"""CSV in chunks parsed by pyarrow, with exact line numbers.

The file is read once, in blocks cut where records end, and the blocks are parsed on
every core (:mod:`mlgitops.data.csvblocks`, :mod:`mlgitops.data.csvparse`). From where
no block can be cut (lines that end in a lone CR only, a record larger than a block, a
cut inside a value over many lines that a short look-back cannot settle) pyarrow's
streaming reader reads on (:mod:`mlgitops.data.csvstream`); it finds record ends with a
real CSV lexer. Either way pyarrow reads what pandas reads (quoted newlines, a quote
inside an unquoted value such as ``5" tall``, LF, CRLF or CR line ends, a byte-order
mark), and memory stays at a few blocks whatever the file's size. pyarrow tells no line
numbers, so line ends are counted as the blocks pass: when the file has exactly one line
per record (the usual case), data row ``k`` (1-based) is line ``k + 1``. When it does
not (quoted newlines, blank lines) and a row fails, one pass of Python's ``csv`` module,
reading records as pandas does, maps the failing rows to the line where each starts,
from the start of the block holding each. That pass also finds a quote never closed,
where the last lines leave it in doubt. Where pyarrow refuses what pandas reads (a
record with fewer fields than the header, a value larger than a block), that pass reads
the rest of the file (:mod:`mlgitops.data.csvscan`).
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.data import csvblocks, csvparse, csvstream
from mlgitops.data.base import ConversionFailed, distinct_names
from mlgitops.data.csvheader import read_header
from mlgitops.data.csvscan import Place, Problem, padded, scan
from mlgitops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_SAMPLE = 1 << 16
#: Block size bounds: a batch is one block of the file; a record may not exceed a block.
_MIN_BLOCK, _BLOCK_LIMIT = 1 << 20, 4 << 20


class CsvReader:
    """A CSV file on disk; ``display`` is how messages name it."""

    line_based = True
    typed = False

    def __init__(self, path: Path, display: str, annotate_file: str | None) -> None:
        self.path = path
        self.display = display
        self.annotate_file = annotate_file
        self._regular = True
        self._header: list[str] | None = None
        #: Whether the file may hold a quote (False: it was read to its end without one).
        self._quoted = True
        self._exact: bool | None = None
        #: Whether a read went through the whole file with every column read as text where
        #: not asked for (so each is UTF-8, as pandas requires of the whole file).
        self._all_decoded = False
        self._header_line = 1
        #: Where each block of the last read starts, after the rows before it (None: the
        #: file was not read in blocks).
        self._places: list[tuple[int, Place]] | None = None
        #: The header record's size in bytes (a byte-order mark included) and physical lines.
        self._header_size = self._header_lines = 0

    def holds_text(self, column: str) -> bool:
        """Text, every column: a CSV file stores nothing else."""
        return True

    def gap_as_bool(self, column: str) -> bool | None:
        """True, every column: pandas reads an empty field as NaN."""
        return True

    def read_plainly(self, column: str) -> bool:
        """True: pandas infers each column's dtype from its text alone."""
        return True

    def holds_gaps(self, column: str) -> bool:
        """True: it may (not known without reading the whole file)."""
        return True

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """``table`` as pandas holds its Arrow types (a chunk's text parsed as pandas would
        parse it)."""
        return table.to_pandas()

    def columns(self) -> list[str]:
        """The header's column names; one left empty is named as pandas names it."""
        if self._header is None:
            header = read_header(self.path, self.display)
            self._header_line, self._header_lines = header.line, header.lines
            self._header_size = header.size
            self._header = distinct_names(self.display, header.names)
        return list(self._header)

    def data_start(self) -> int | None:
        """The byte where the first data record starts, when the header is the file's first
        line and ends in a line end (LF or CRLF); None otherwise."""
        self.columns()
        if self._header_line != 1 or self._header_lines != 1 or not self._header_size:
            return None
        with self.path.open("rb") as handle:
            handle.seek(self._header_size - 1)
            return self._header_size if handle.read(1) == b"\n" else None

    def batches(
        self, types: Mapping[str, pa.DataType], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[pa.Table]:
        """Chunks of about ``chunk_rows`` rows, holding ``columns`` typed as given.

        Raises :class:`ConversionFailed` when a value does not parse as its
        column's type, and DataError when the file is not well-formed CSV. A NaN
        in a float column counts as such a value: pyarrow reads ``nan(123)`` (C's
        NaN with a payload) as one, where pandas reads text that pandera's float
        refuses; read as text, each spelling is judged as pandera judges it
        (NaN spellings pandas counts as missing are nulls, not NaN).
        """
        import pyarrow as pa

        floats = [name for name in columns if pa.types.is_floating(types.get(name, pa.string()))]
        with csvparse.quiet_undecodable_rows():
            for table in self._batches(types, columns, chunk_rows):
                if table.num_columns > max(len(columns), 1):  # others, read to check their text
                    table = table.select(list(columns) or table.column_names[:1])
                if floats:
                    csvparse.refuse_nan(table, floats)
                yield table

    def _batches(
        self, types: Mapping[str, pa.DataType], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[pa.Table]:
        import pyarrow as pa

        header = self.columns()
        wanted = list(columns) or header[:1]
        # pandas refuses a file whose text is not UTF-8 in any column: until a read has gone
        # through the file, the text of the columns not asked for is checked too (blocks
        # decode their bytes; the streaming reader reads those columns as text; the exact
        # path decodes every line)
        others = [] if self._all_decoded else [name for name in header if name not in wanted]
        convert, everything = csvparse.conversions(types, wanted, others)
        if self._exact is None:  # pyarrow skips lines before the header, and keeps a
            # one-column file's lines of spaces: pandas skips those lines, then the header
            self._exact = self._header_line != 1 or (
                len(header) == 1 and csvblocks.blank_lines(self.path)
            )
        # pyarrow first, on every core; where it refuses the file (a record with fewer fields
        # than the header, which pandas fills with nulls; one larger than a block; a header
        # alone on its line), the exact path goes on from the row after the last handed out,
        # and refuses only what pandas refuses, naming the line.
        read = csvparse.Read()
        if not self._exact:
            size = self._block_size(chunk_rows)
            try:
                if csvblocks.cuttable(self.path, self._header_size):
                    regular, places = yield from self._blocks(
                        header, (convert, everything), size, read, decode=bool(others)
                    )
                else:
                    regular = yield from self._stream(header, everything, size, read)
                    places = None
            except pa.ArrowInvalid as exc:
                if csvparse.conversion_column(str(exc), header) is not None:
                    raise self._translate(str(exc), header) from exc
            except UnicodeDecodeError:
                pass
            else:
                self._finish(read.rows, regular, places=places)
                self._all_decoded = True
                return
        yield from self._padded(header, convert, chunk_rows, read)
        self._finish(read.rows, False, walked=True)
        self._all_decoded = True

    def _stream(
        self,
        header: list[str],
        convert: Any,
        size: int,
        read: csvparse.Read,
        place: Place | None = None,
    ) -> Generator[pa.Table, None, bool]:
        """pyarrow's streaming reader over the file (:func:`~mlgitops.data.csvstream.streamed`),
        from the data's start or from ``place``, a record's start; whether one line is one
        row in what it read."""
        lines = self._header_lines
        return (yield from csvstream.streamed(self.path, header, convert, size, read, lines, place))

    def _blocks(
        self,
        header: list[str],
        converts: tuple[Any, Any],
        size: int,
        read: csvparse.Read,
        *,
        decode: bool,
    ) -> Generator[pa.Table, None, tuple[bool, list[tuple[int, Place]]]]:
        """Blocks cut at record ends, parsed side by side, then the streaming reader from
        where a cut was not settled, if one was not; whether one line is one row, and where
        each block (and the streamed rest) starts, after the rows before it. ``converts``:
        the blocks' conversion, and the streaming reader's; ``decode``: each block's bytes
        are decoded as UTF-8 too (UnicodeDecodeError where they are not)."""
        convert, streamed = converts
        newlines = 0
        last = b""
        places: list[tuple[int, Place]] = []
        blocks = csvblocks.Blocks(self.path, self._header_size, size)
        parsed = csvparse.parsed(blocks, header, convert, read, csvparse.pool(), decode=decode)
        for start, table, count, end in parsed:
            places.append((read.rows, Place(start, self._header_lines + newlines + 1, len(header))))
            read.rows, newlines, last = read.rows + table.num_rows, newlines + count, end
            yield table
            del table
        regular = read.rows == newlines
        if blocks.stop is not None:
            place = Place(blocks.stop, self._header_lines + newlines + 1, len(header))
            places.append((read.rows, place))
            regular = (yield from self._stream(header, streamed, size, read, place)) and regular
        else:
            self._quoted = blocks.quoted
            regular = read.rows == newlines + (1 if last not in (b"", b"\n", b"\r") else 0)
        return regular, places

    def _padded(
        self, header: list[str], convert: Any, chunk_rows: int, read: csvparse.Read
    ) -> Iterator[pa.Table]:
        """The rows after ``read.rows`` on the exact path: records walked as pandas reads them,
        the fields a record lacks given as nulls, and each piece parsed by pyarrow."""
        import pyarrow as pa
        import pyarrow.csv as pc

        parse = pc.ParseOptions(newlines_in_values=True)
        try:
            for data in padded(self.path, read.rows, self._block_size(chunk_rows)):
                table = csvparse.piece(data, header, convert, parse)
                read.rows += table.num_rows
                yield table
                del table
        except Problem as exc:
            raise DataError(f"{self.display}:{exc}") from exc
        except pa.ArrowInvalid as exc:
            raise self._translate(str(exc), header) from exc

    def lines(self, rows: Collection[int]) -> dict[int, int]:
        """1-based line where each 1-based data row starts: walked from the start of the
        block holding it, where the file was read in blocks."""
        if self._regular:
            return {row: row + self._header_lines for row in rows}
        if not self._places:
            return scan(self.path, set(rows)).lines
        found: dict[int, int] = {}
        firsts = [before for before, _ in self._places]
        by_block: dict[int, set[int]] = {}
        for row in rows:
            by_block.setdefault(bisect.bisect_left(firsts, row) - 1, set()).add(row)
        for index, wanted in by_block.items():
            before, place = self._places[index]
            walked = scan(self.path, {row - before for row in wanted}, place).lines
            found |= {before + row: line for row, line in walked.items()}
        return found

    def size_hint(self) -> int:
        """About how many data rows the file holds (from a sample of its lines)."""
        return int(self.path.stat().st_size / self._bytes_per_row() * 1.1) + 1

    def _bytes_per_row(self) -> float:
        with self.path.open("rb") as handle:
            sample = handle.read(_SAMPLE)
        return len(sample) / max(sample.count(b"\n"), 1)

    def _block_size(self, chunk_rows: int) -> int:
        per_row = self._bytes_per_row()
        return int(min(max(per_row * chunk_rows, _MIN_BLOCK), _BLOCK_LIMIT))

    def _finish(
        self,
        rows: int,
        regular: bool,
        walked: bool = False,
        places: list[tuple[int, Place]] | None = None,
    ) -> None:
        """After the last row: no rows is bad input; a file whose last record may leave a
        quote open (pyarrow reads it as closed at the end, pandas refuses the file) is walked
        as pandas reads it, unless it just was."""
        if rows == 0:
            raise DataError(f"{self.display}: the file has a header but no data rows")
        closed = walked or self._closed_at_end(places)
        self._regular = regular and closed
        self._places = places
        if not closed:
            problem = scan(self.path, set()).problem
            if problem:
                raise DataError(f"{self.display}:{problem}")

    def _closed_at_end(self, places: list[tuple[int, Place]] | None) -> bool:
        """Whether the last record surely closes its quotes (else the file is walked); read
        back to the last block's start (a record's start) at most."""
        if not self._quoted:
            return True
        start = places[-1][1].byte if places else self._header_size
        return csvblocks.closed_at_end(self.path, start) is True

    def _translate(self, message: str, header: list[str]) -> Exception:
        column = csvparse.conversion_column(message, header)
        if column is not None:
            return ConversionFailed(column)
        return self._diagnose(message)

    def _diagnose(self, message: str) -> DataError:
        problem = scan(self.path, set()).problem
        if problem:
            return DataError(f"{self.display}:{problem}")
        return DataError(f"{self.display}: cannot read as CSV: {message}")
