"""CSV in chunks parsed by pyarrow, with exact line numbers.

The file is cut into blocks of whole records here (no read-ahead, so memory
stays at about one block) and each block is parsed by pyarrow. pyarrow tells
neither line numbers nor which quote is unbalanced, so each block is checked
for blank lines and quoted newlines: when the file has exactly one line per record (the usual case), data row
``k`` (1-based) is line ``k + 1``. When it does not (quoted newlines, blank
lines, a quote left open), one pass of Python's strict ``csv`` module finds
the first malformed line, or maps rows to their first line.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from mlgitops.data.base import ConversionFailed
from mlgitops.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

_SAMPLE = 1 << 16
#: Target block size bounds; a block (one record run) may grow to _MAX_BLOCK.
_MIN_BLOCK, _BLOCK_LIMIT, _MAX_BLOCK = 1 << 20, 4 << 20, 256 << 20
#: Blocks parsed ahead on a worker thread (more costs CPU in thread hand-offs).
_WORKERS = 1


class _Block(NamedTuple):
    """``data[:size]`` holds whole records (no copy of the bytes read is made)."""

    data: bytes
    size: int

    def has(self, what: bytes) -> bool:
        return self.data.find(what, 0, self.size) >= 0

    def count(self, what: bytes) -> int:
        return self.data.count(what, 0, self.size)


def _blocks(path: Path, size: int) -> Iterator[_Block]:
    """The file in blocks that end at a record boundary (after a newline, quotes balanced).

    In RFC 4180 CSV a quote inside a quoted value is doubled, so a run of
    whole records always holds an even number of quote characters: a block
    with an odd count ends inside a quoted value and is extended. A block
    that keeps growing past ``_MAX_BLOCK`` has a quote that is never closed.
    Each read starts where the previous block ended (the partial record at
    the end of a read is read again), so no bytes are copied to join blocks.
    """
    with path.open("rb") as handle:
        start = 0
        while data := handle.read(size):
            cut = _record_end(data, 0)
            while cut < 0:
                more = handle.read(size)
                if not more:
                    if data.count(b'"') % 2:
                        raise _Unbalanced()
                    cut = len(data)
                    break
                data += more
                if len(data) > _MAX_BLOCK:
                    raise _Unbalanced()
                cut = _record_end(data, 0)
            yield _Block(data, cut)
            start += cut
            handle.seek(start)


def _record_end(data: bytes, odd: int) -> int:
    """Where the last whole record of ``data`` ends (-1: none); ``odd``: quote parity before it."""
    if not odd and data.find(b'"') < 0:  # no quotes at all: the usual numeric file
        return data.rfind(b"\n") + 1 or -1
    odd ^= data.count(b'"') % 2
    end = len(data)
    for _ in range(10_000):  # walk back newline by newline, tracking the quote parity
        cut = data.rfind(b"\n", 0, end)
        if cut < 0:
            return -1
        odd ^= data.count(b'"', cut + 1, end) % 2
        if not odd:
            return cut + 1
        end = cut
    return -1


def _one_line_per_record(block: _Block, rows: int, first: bool) -> bool:
    """Whether every record of the block is exactly one line (then row k is line k + 1)."""
    if block.has(b'"') or block.has(b"\r"):  # quoted newlines or odd line ends: count
        ends = block.count(b"\n") + (1 if block.data[block.size - 1 : block.size] != b"\n" else 0)
        return ends == rows + (1 if first else 0)
    return not block.has(b"\n\n") and block.data[:1] != b"\n"  # no blank lines


class _Unbalanced(Exception):
    """A quote that no later line closes."""


class CsvReader:
    """A CSV file on disk; ``display`` is how messages name it."""

    line_based = True

    def __init__(self, path: Path, display: str, annotate_file: str | None) -> None:
        self.path = path
        self.display = display
        self.annotate_file = annotate_file
        self._regular = True
        self._header: list[str] | None = None

    def columns(self) -> list[str]:
        """The header's column names."""
        if self._header is None:
            self._header = self._read_header()
        return list(self._header)

    def _read_header(self) -> list[str]:
        import pyarrow as pa
        import pyarrow.csv as pc

        if self.path.stat().st_size == 0:
            raise DataError(f"{self.display}: the file is empty (no header, no rows)")
        with self.path.open("rb") as handle:
            head = handle.readline()
        try:
            table = pc.read_csv(io.BytesIO(head), read_options=pc.ReadOptions(use_threads=False))
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._diagnose(str(exc)) from exc
        return list(table.column_names)

    def batches(
        self, types: Mapping[str, pa.DataType], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[pa.Table]:
        """Chunks of about ``chunk_rows`` rows, holding ``columns`` typed as given.

        Raises :class:`ConversionFailed` when a value does not parse as its
        column's type, and DataError when the file is not well-formed CSV.
        """
        import pyarrow as pa

        header = self.columns()
        wanted = list(columns) or header[:1]
        kinds = {name: types.get(name, pa.string()) for name in wanted}
        rows = 0
        regular = True
        blocks = _blocks(self.path, self._block_size(chunk_rows))
        try:
            # pyarrow parses with the GIL released: two blocks are parsed on
            # worker threads while the caller checks the one before them.
            with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="csv") as workers:
                pending: deque[Future[tuple[pa.Table, bool]]] = deque()
                for index, block in enumerate(blocks):
                    pending.append(workers.submit(self._parse, block, header, kinds, index == 0))
                    del block
                    while len(pending) > _WORKERS:
                        table, one_line = pending.popleft().result()
                        regular, rows = regular and one_line, rows + table.num_rows
                        yield table
                        del table
                while pending:
                    table, one_line = pending.popleft().result()
                    regular, rows = regular and one_line, rows + table.num_rows
                    yield table
                    del table
        except _Unbalanced as exc:
            raise self._diagnose("a quoted value is never closed") from exc
        except pa.ArrowInvalid as exc:
            raise self._translate(str(exc), wanted) from exc
        except UnicodeDecodeError as exc:
            raise self._diagnose(str(exc)) from exc
        self._finish(rows, regular)

    def _parse(
        self, block: _Block, header: list[str], kinds: dict[str, pa.DataType], first: bool
    ) -> tuple[pa.Table, bool]:
        """The block's table, and whether each of its records is one line."""
        table = self._table(block, header, kinds, first)
        return table, _one_line_per_record(block, table.num_rows, first)

    def _table(
        self, block: _Block, header: list[str], kinds: dict[str, pa.DataType], first: bool
    ) -> pa.Table:
        import pyarrow.csv as pc

        # One pyarrow block per chunk, one thread: the least CPU per row (the
        # chunk already ends at a record boundary, so quoted newlines are safe).
        read = pc.ReadOptions(
            column_names=header,
            skip_rows=1 if first else 0,
            use_threads=False,
            block_size=block.size + 1,
        )
        parse = pc.ParseOptions(newlines_in_values=False)
        convert = pc.ConvertOptions(
            column_types=kinds, include_columns=list(kinds), strings_can_be_null=True
        )
        import pyarrow as pa

        source = pa.BufferReader(pa.py_buffer(block.data).slice(0, block.size))
        try:
            return pc.read_csv(
                source,
                read_options=read,
                parse_options=parse,
                convert_options=convert,
                memory_pool=_pool(),
            )
        finally:
            source.close()

    def lines(self, rows: Collection[int]) -> dict[int, int]:
        """1-based line where each 1-based data row starts."""
        if self._regular:
            return {row: row + 1 for row in rows}
        return _scan(self.path, None, set(rows)).lines

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

    def _finish(self, rows: int, regular: bool) -> None:
        if rows == 0:
            raise DataError(f"{self.display}: the file has a header but no data rows")
        self._regular = regular
        if not self._regular:
            problem = _scan(self.path, None, set()).problem
            if problem:
                raise DataError(f"{self.display}:{problem}")

    def _translate(self, message: str, columns: list[str]) -> Exception:
        if "CSV conversion error" in message and "invalid UTF8" not in message:
            index = message.split("In CSV column #", 1)[-1].split(":", 1)[0]
            column = columns[int(index)] if index.isdigit() and int(index) < len(columns) else ""
            return ConversionFailed(column)
        return self._diagnose(message)

    def _diagnose(self, message: str) -> DataError:
        problem = _scan(self.path, None, set()).problem
        if problem:
            return DataError(f"{self.display}:{problem}")
        return DataError(f"{self.display}: cannot read as CSV: {message}")


def _pool() -> pa.MemoryPool:
    """jemalloc, returning freed pages at once, where pyarrow has it: steadier RSS."""
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:
        return pa.default_memory_pool()
    return pool


class _ScanResult:
    def __init__(self) -> None:
        self.problem: str | None = None
        self.lines: dict[int, int] = {}


def _scan(path: Path, width: int | None, wanted: set[int]) -> _ScanResult:
    """Walk the file with the strict csv module: the first problem, and row lines."""
    result = _ScanResult()
    text = _Utf8Lines(path)
    reader = csv.reader(text, strict=True)
    row = 0
    start = 1
    try:
        for record in reader:
            if record:
                width = len(record) if width is None else width
                if len(record) != width:
                    result.problem = f"{start}: expected {width} fields, found {len(record)}"
                    return result
                if row in wanted:
                    result.lines[row] = start
                row += 1
            start = reader.line_num + 1
    except csv.Error as exc:
        result.problem = f"{start}: malformed CSV ({exc}; a quote is not closed?)"
    except UnicodeDecodeError as exc:
        result.problem = (
            f"{text.line_no}: not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)"
        )
    return result


class _Utf8Lines:
    """Lines of a file decoded as strict UTF-8, numbering the physical lines."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.line_no = 0

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        with self._path.open("rb") as handle:
            for raw in handle:
                self.line_no += 1
                yield decoder.decode(raw)
            decoder.decode(b"", final=True)
