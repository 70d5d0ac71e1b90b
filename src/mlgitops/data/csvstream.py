"""pyarrow's streaming reader of a CSV file, where the file is not cut into blocks: from
the data's start (lines that end in a lone CR only), or from a record's start where a cut
was not settled (:mod:`mlgitops.data.csvblocks`). pyarrow finds record ends with a real
CSV lexer; the file is handed to it with its line ends counted and its read-ahead
bounded, and each batch is parsed on a thread while the one before is checked.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlgitops.data.csvblocks import BOM, KEEP_MARK
from mlgitops.data.csvparse import Read, hexadecimal, pool, refuse_integers
from mlgitops.data.csvscan import Place

if TYPE_CHECKING:
    import pyarrow as pa

#: Blocks read ahead of the one being checked, and how long a read waits for its turn.
_AHEAD, _PATIENCE = 3, 0.5


def streamed(
    path: Path,
    header: list[str],
    convert: Any,
    size: int,
    read: Read,
    header_lines: int,
    place: Place | None = None,
) -> Generator[pa.Table, None, bool]:
    """pyarrow's streaming reader (quoted newlines allowed) of the file at ``path``, from the
    data's start (after the ``header_lines`` lines of its header) or from ``place``, a
    record's start; whether one line is one row in what it read."""
    import pyarrow as pa
    import pyarrow.csv as pc

    options = pc.ReadOptions(
        column_names=header,
        skip_rows=0 if place else header_lines,  # pyarrow skips lines, not records
        use_threads=True,
        block_size=size,
    )
    parse = pc.ParseOptions(newlines_in_values=True, invalid_row_handler=read)
    stream = None
    before = read.rows
    with path.open("rb") as handle:
        lead = b""
        if place:
            handle.seek(place.byte)
            if os.pread(handle.fileno(), len(BOM), place.byte) == BOM:
                lead = KEEP_MARK  # a record's mark, which pyarrow would drop
        counted = _Counted(handle, lead)
        try:
            stream = pc.open_csv(
                pa.PythonFile(counted, mode="r"),
                read_options=options,
                parse_options=parse,
                convert_options=convert,
                memory_pool=pool(),
            )
            for batch in _parsed_ahead(stream, counted):
                table = pa.Table.from_batches([batch])
                if counted.hexadecimal:  # read, parsed or read ahead
                    refuse_integers(table)
                read.rows += batch.num_rows
                yield table
                del batch, table
        finally:
            counted.close()  # a read waiting for its turn gives up: the stream can close
            if stream is not None:  # now, not when a cycle is collected at exit
                stream.close()
            del stream
    lines = counted.lines() - (0 if place else header_lines)
    return not counted.lone_cr and read.rows - before == lines


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
        #: (:func:`~mlgitops.data.csvparse.hexadecimal`)
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
                self.hexadecimal = across or hexadecimal(data)
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
