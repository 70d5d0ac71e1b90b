"""CSV in chunks parsed by pyarrow, with exact line numbers.

The file is read once, in blocks cut where records end, and the blocks are
parsed on every core (:mod:`mlgitops.data.csvblocks`). From where no block
can be cut (lines that end in a lone CR only, a record larger than a block,
a cut inside a value over many lines that a short look-back cannot settle)
pyarrow's streaming reader reads on; it finds record ends with a real CSV
lexer. Either way pyarrow reads what pandas reads (quoted newlines, a quote
inside an unquoted value such as ``5" tall``, LF, CRLF or CR line ends, a
byte-order mark), and memory stays at a few blocks whatever the file's size.
pyarrow tells no line numbers, so line ends are counted as the blocks pass:
when the file has exactly one line per record (the usual case), data row ``k``
(1-based) is line ``k + 1``. When it does not (quoted newlines, blank lines)
and a row fails, one pass of Python's ``csv`` module, reading records as
pandas does, maps the failing rows to the line where each starts, from the
start of the block holding each. That pass also finds a quote never closed,
where the last lines leave it in doubt. Where pyarrow refuses what pandas
reads (a record with fewer fields than the header, a value larger than a
block), that pass reads the rest of the file (:mod:`mlgitops.data.csvscan`).
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import os
import queue
import sys
import threading
from collections.abc import Collection, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlgitops.data import csvblocks, csvparse
from mlgitops.data.base import ConversionFailed, distinct_names
from mlgitops.data.csvscan import Place, Problem, padded, records, scan
from mlgitops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_SAMPLE = 1 << 16
#: Block size bounds: a batch is one block of the file; a record may not exceed a block.
_MIN_BLOCK, _BLOCK_LIMIT = 1 << 20, 4 << 20
#: Blocks read ahead of the one being checked, and how long a read waits for its turn.
_AHEAD, _PATIENCE = 3, 0.5
#: What pandas reads as missing (pandas' default ``na_values``), so both agree.
NULL_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


class _Counted:
    """The file as pyarrow reads it: line ends counted on the way, read-ahead bounded.

    pyarrow's streaming reader reads blocks ahead on a thread of its own, as
    fast as the disk gives them (dozens of blocks: hundreds of MB); a read
    here waits while ``_AHEAD`` blocks are read and not yet taken by the
    consumer, so memory stays at a few blocks.

    No read ends in a CR while more follows: where a block ends between the CR
    and the LF of a line end inside a quoted value, pyarrow's reader drops the
    LF from the value (apache/arrow#51368). The CR is handed out with the next
    read. The other readers never split such a line end: they hand pyarrow
    each piece as one block, and the blocks of a file cut at newlines end in
    an LF.
    """

    def __init__(self, handle: IO[bytes], lead: bytes = b"") -> None:
        self._handle = handle
        self._turn = threading.Condition()
        self._reads = self._taken = self._inside = 0
        self._ended = False
        #: ``lead``: bytes handed out before the file's (not counted as its line ends)
        self._held = lead
        self.newlines = -lead.count(b"\n")
        self.lone_cr = False
        #: Whether the bytes read hold a field that starts ``0x`` or ``0X``
        #: (:func:`csvparse.hexadecimal`)
        self.hexadecimal = False
        self.last = b""
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        with self._turn:
            self._inside += 1
        try:
            wanted = size - len(self._held) if size > 0 else size
            data, self._held = self._held + self._next(wanted), b""
            if len(data) > 1 and data.endswith(b"\r"):
                data, self._held = data[:-1], b"\r"
        finally:
            with self._turn:
                self._inside -= 1
                self._ended = self._ended or not data
                self._turn.notify_all()
        if data:
            self.newlines += data.count(b"\n")
            if not self.hexadecimal:  # a 0 at the end of the last read may start one too
                across = self.last == b"0" and data[:1] in (b"x", b"X")
                self.hexadecimal = across or csvparse.hexadecimal(data)
            if not self.lone_cr and (b"\r" in data or self.last == b"\r"):
                joined = self.last + data
                lone = joined.count(b"\r") - int(joined.endswith(b"\r"))
                self.lone_cr = lone > joined.count(b"\r\n")
            self.last = data[-1:]
        return data

    def _next(self, size: int) -> bytes:
        with self._turn:
            # Not forever: a block that yields no batch (all blank lines) must not stall.
            self._turn.wait_for(
                lambda: self.closed or self._reads < self._taken + _AHEAD, timeout=_PATIENCE
            )
            if self.closed:  # the reader is done: end of file for pyarrow's read-ahead
                return b""
            self._reads += 1
        return self._handle.read(size)

    def taken(self) -> None:
        """The consumer took a batch: one more block may be read."""
        with self._turn:
            self._taken += 1
            self._turn.notify_all()

    def lines(self) -> int:
        """Physical lines (a last line without a line end counts)."""
        return self.newlines + (1 if self.last not in (b"", b"\n") else 0)

    def tell(self) -> int:
        return self._handle.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        """No more reads of the file; returns when none is under way (pyarrow reads on a
        thread of its own, which must not be inside Python when the interpreter exits)."""
        with self._turn:
            self.closed = True
            self._turn.notify_all()
            # pyarrow stops reading once it has seen the end; a stream dropped early may
            # never ask again, hence the bound.
            self._turn.wait_for(lambda: self._inside == 0 and self._ended, timeout=1.0)
            self._turn.wait_for(lambda: self._inside == 0)


_END = object()


def _parsed_ahead(stream: Any, counted: _Counted) -> Iterator[Any]:
    """The stream's batches, the next one parsed on a thread while the caller checks this one.

    pyarrow parses with the GIL released, so parsing and checking overlap on
    two cores; one batch waits at most (a bounded queue), so memory stays flat.
    """
    box: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in stream:
                counted.taken()
                if not put(batch):
                    return
            put(_END)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)

    worker = threading.Thread(target=produce, name="csv-parse", daemon=True)
    worker.start()
    try:
        while (item := box.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
            del item
    finally:
        stop.set()
        counted.close()
        worker.join()


class _Read:
    """One read of the file: the data rows handed out so far, and pyarrow's verdict on a row
    of the wrong width (pandas skips lines of only spaces and tabs)."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, row: Any) -> str:
        return "skip" if not row.text.strip(" \t\r\n") else "error"


@contextlib.contextmanager
def _quiet_undecodable_rows() -> Iterator[None]:
    """No traceback on stderr for a row of the wrong width that is not UTF-8.

    pyarrow decodes such a row to text before handing it to :class:`_Read`; the
    decoding raises inside pyarrow's callback, which Python reports as an
    "Exception ignored" traceback. pyarrow then refuses the row, and the reader
    names its line as not UTF-8 text: the traceback says nothing more.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.object, _Read) and isinstance(
            unraisable.exc_value, UnicodeDecodeError
        ):
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        if sys.unraisablehook is hook:  # (a reader started meanwhile restores its own)
            sys.unraisablehook = previous


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
            self._header = distinct_names(self.display, _unnamed(self._read_header()))
        return list(self._header)

    def _read_header(self) -> list[str]:
        if self.path.stat().st_size == 0:
            raise DataError(f"{self.display}: the file is empty (no header, no rows)")
        try:
            for line, names, lines in records(self.path):
                text = "".join(lines).encode()
                self._header_line, self._header_lines = line, len(text.splitlines())
                with self.path.open("rb") as handle:
                    mark = handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
                self._header_size = len(text) + (len(codecs.BOM_UTF8) if mark else 0)
                return names
        except Problem as exc:
            raise DataError(f"{self.display}:{exc}") from exc
        raise DataError(f"{self.display}: the file is empty (no header, no rows)")

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
        with _quiet_undecodable_rows():
            for table in self._batches(types, columns, chunk_rows):
                if table.num_columns > max(len(columns), 1):  # others, read to check their text
                    table = table.select(list(columns) or table.column_names[:1])
                if floats:
                    _refuse_nan(table, floats)
                yield table

    def _batches(
        self, types: Mapping[str, pa.DataType], columns: Sequence[str], chunk_rows: int
    ) -> Iterator[pa.Table]:
        import pyarrow as pa
        import pyarrow.csv as pc

        header = self.columns()
        wanted = list(columns) or header[:1]
        # pandas refuses a file whose text is not UTF-8 in any column: until a read has gone
        # through the file, the text of the columns not asked for is checked too (blocks
        # decode their bytes; the streaming reader reads those columns as text; the exact
        # path decodes every line)
        others = [] if self._all_decoded else [name for name in header if name not in wanted]
        options = {"strings_can_be_null": True, "null_values": list(NULL_VALUES)}
        typed = {name: types.get(name, pa.string()) for name in wanted}
        convert = pc.ConvertOptions(column_types=typed, include_columns=wanted, **options)
        everything = convert
        if others:
            also = {**typed, **{name: pa.string() for name in others}}
            everything = pc.ConvertOptions(
                column_types=also, include_columns=wanted + others, **options
            )
        if self._exact is None:  # pyarrow skips lines before the header, and keeps a
            # one-column file's lines of spaces: pandas skips those lines, then the header
            self._exact = self._header_line != 1 or (
                len(header) == 1 and csvblocks.blank_lines(self.path)
            )
        # pyarrow first, on every core; where it refuses the file (a record with fewer fields
        # than the header, which pandas fills with nulls; one larger than a block; a header
        # alone on its line), the exact path goes on from the row after the last handed out,
        # and refuses only what pandas refuses, naming the line.
        read = _Read()
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
        self, header: list[str], convert: Any, size: int, read: _Read, place: Place | None = None
    ) -> Generator[pa.Table, None, bool]:
        """pyarrow's streaming reader (quoted newlines allowed), from the data's start or from
        ``place``, a record's start; whether one line is one row in what it read."""
        import pyarrow as pa
        import pyarrow.csv as pc

        options = pc.ReadOptions(
            column_names=header,
            skip_rows=0 if place else self._header_lines,  # pyarrow skips lines, not records
            use_threads=True,
            block_size=size,
        )
        parse = pc.ParseOptions(newlines_in_values=True, invalid_row_handler=read)
        stream = None
        before = read.rows
        with self.path.open("rb") as handle:
            lead = b""
            if place:
                handle.seek(place.byte)
                if os.pread(handle.fileno(), len(csvblocks.BOM), place.byte) == csvblocks.BOM:
                    lead = csvblocks.KEEP_MARK  # a record's mark, which pyarrow would drop
            counted = _Counted(handle, lead)
            try:
                stream = pc.open_csv(
                    pa.PythonFile(counted, mode="r"),
                    read_options=options,
                    parse_options=parse,
                    convert_options=convert,
                    memory_pool=_pool(),
                )
                for batch in _parsed_ahead(stream, counted):
                    table = pa.Table.from_batches([batch])
                    if counted.hexadecimal:  # read, parsed or read ahead
                        csvparse.refuse_integers(table)
                    read.rows += batch.num_rows
                    yield table
                    del batch, table
            finally:
                counted.close()  # a read waiting for its turn gives up: the stream can close
                if stream is not None:  # now, not when a cycle is collected at exit
                    stream.close()
                del stream
        lines = counted.lines() - (0 if place else self._header_lines)
        return not counted.lone_cr and read.rows - before == lines

    def _blocks(
        self,
        header: list[str],
        converts: tuple[Any, Any],
        size: int,
        read: _Read,
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
        parsed = csvparse.parsed(blocks, header, convert, read, _pool(), decode=decode)
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
        self, header: list[str], convert: Any, chunk_rows: int, read: _Read
    ) -> Iterator[pa.Table]:
        """The rows after ``read.rows`` on the exact path: records walked as pandas reads them,
        the fields a record lacks given as nulls, and each piece parsed by pyarrow."""
        import pyarrow as pa
        import pyarrow.csv as pc

        parse = pc.ParseOptions(newlines_in_values=True)
        try:
            for data in padded(self.path, read.rows, self._block_size(chunk_rows)):
                if data.startswith(csvblocks.BOM):  # a record's mark, which pyarrow would drop
                    data = csvblocks.KEEP_MARK + data
                # one block: a record may be larger than any block size pyarrow would pick
                options = pc.ReadOptions(column_names=header, block_size=len(data) + 1)
                table = pc.read_csv(
                    pa.py_buffer(data),
                    read_options=options,
                    parse_options=parse,
                    convert_options=convert,
                    memory_pool=_pool(),
                )
                csvparse.refuse_hexadecimal(table, data)
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


def _unnamed(names: list[str]) -> list[str]:
    """``names`` with each empty one named as pandas names it: ``Unnamed: <index>``, or,
    where the header writes that name itself, the next ``Unnamed: <index>.<n>`` it does
    not (pandas gives the written names theirs first)."""
    taken = set(names)
    named = []
    for i, name in enumerate(names):
        if not name:
            name = base = f"Unnamed: {i}"
            suffix = 0
            while name in taken:
                suffix += 1
                name = f"{base}.{suffix}"
            taken.add(name)
        named.append(name)
    return named


def _refuse_nan(table: pa.Table, floats: Sequence[str]) -> None:
    """ConversionFailed naming the float columns of ``table`` that hold a NaN."""
    from mlgitops.validation.extremes import Extremes

    found = [name for name in floats if Extremes(table.column(name)).nan()]
    if found:
        raise ConversionFailed(found[0], found[1:])


def _pool() -> pa.MemoryPool:
    """jemalloc, where pyarrow has it. Its pages freed by one block are reused by the next
    (returning them to the system at once, then faulting them in again, cost about a tenth
    of the parse)."""
    import pyarrow as pa

    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()
