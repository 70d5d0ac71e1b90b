"""CSV files cut into blocks at record ends, the blocks parsed side by side.

pyarrow's streaming reader tokenizes on one thread, and its multi-threaded
reader holds the whole file in memory. So a file is cut at newlines about a
block apart, and the blocks are parsed on every core, each as one pyarrow
block (pyarrow cuts nothing further, so it splits no quoted value).

Without a quote after the header, every newline ends a record. With quotes, a
newline may lie inside a quoted value, so each cut is settled before it is
used: the lines before it are read with Python's ``csv`` module (records as
pandas reads them) twice, once as if they start a record and once as if they
start inside a quoted value. Where both readings agree, that is the answer
whatever came before; where they differ, more lines are read, back to the
previous cut (a known record end) if need be. A cut inside a quoted value
moves to the next newline.

Left to the streaming reader: files with a lone carriage return (a line end
that no cut sees), and files with a cut not settled within a bounded
look-back (values spanning many lines).

The file is read, never mapped: a mapped file's pages count in the process's
resident memory.
"""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from mlgitops.data.csvscan import ends_record, whole_lines

if TYPE_CHECKING:
    import pyarrow as pa

_CHUNK = 1 << 20
#: Lines read back from a cut: from about 4 KiB, growing to 1 MiB before giving up.
_LOOK, _LOOK_LIMIT = 1 << 12, 1 << 20
#: Newlines tried for one cut before giving up (a value spanning that many lines).
_TRIES = 64


class Layout(NamedTuple):
    """Where the data starts (after the header), and whether a quote follows."""

    start: int
    quoted: bool


def layout(path: Path, start: int) -> Layout | None:
    """The file's layout, the data starting at byte ``start``, read in one pass; None when
    a carriage return in the file is not the first half of a CRLF (the streaming reader's
    files)."""
    quoted, offset, after_cr = False, 0, False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if after_cr and not chunk.startswith(b"\n"):
                return None
            after_cr = chunk.endswith(b"\r")
            if (cr := chunk.count(b"\r")) and cr != chunk.count(b"\r\n") + after_cr:
                return None
            if not quoted and offset + len(chunk) > start:
                quoted = chunk.find(b'"', max(start - offset, 0)) >= 0
            offset += len(chunk)
    return None if after_cr else Layout(start, quoted)


def cuts(path: Path, where: Layout, size: int) -> list[int] | None:
    """Where each block ends, about ``size`` bytes apart, each at the end of a record; the
    last at the end of the file. None when a cut is not settled (see the module's text)."""
    with path.open("rb") as handle:
        end = os.fstat(handle.fileno()).st_size
        ends: list[int] = []
        floor = where.start
        while end - floor > size:
            cut = _after_newline(handle, floor + size - 1, end)
            for _ in range(_TRIES):
                at_end = cut == end or not where.quoted or _record_ends(handle, floor, cut)
                if at_end is None:
                    return None
                if at_end:
                    break
                cut = _after_newline(handle, cut, end)
            else:
                return None
            if cut == end:
                break
            ends.append(cut)
            floor = cut
        ends.append(end)
    return ends


def _after_newline(handle: IO[bytes], position: int, end: int) -> int:
    """Just after the first newline at or after ``position``; ``end`` when there is none."""
    while position < end:
        data = os.pread(handle.fileno(), 1 << 16, position)
        if (newline := data.find(b"\n")) >= 0:
            return position + newline + 1
        position += len(data)
    return end


def closed_at_end(path: Path, start: int) -> bool | None:
    """Whether the file's last record closes its quotes, the data starting at byte
    ``start`` (pandas refuses a file that ends inside a quoted value); None when a
    bounded look-back could not settle it."""
    with path.open("rb") as handle:
        end = os.fstat(handle.fileno()).st_size
        quote = _last_quote(handle, start, end)
        if quote < 0:
            return True
        if end - quote > _LOOK_LIMIT:
            return None
        return _record_ends(handle, start, end, look=max(_LOOK, end - quote))


def _last_quote(handle: IO[bytes], start: int, end: int) -> int:
    """Where the file's last quote is, at ``start`` or after; -1 when there is none."""
    while end > start:
        begin = max(start, end - _CHUNK)
        if (quote := os.pread(handle.fileno(), end - begin, begin).rfind(b'"')) >= 0:
            return begin + quote
        end = begin
    return -1


def _record_ends(handle: IO[bytes], floor: int, cut: int, look: int = _LOOK) -> bool | None:
    """Whether a record ends at ``cut`` (after a line end, or at the end of the file),
    ``floor`` being a record's start before it; None when the look-back could not settle
    it. It reads back ``look`` bytes first, then more."""
    while True:
        begin = _line_start(handle, floor, cut - look) if cut - look > floor else floor
        data = os.pread(handle.fileno(), cut - begin, begin)
        try:
            lines = [line.decode() for line in data.splitlines(keepends=True)]
            if begin == 0 and lines:
                lines[0] = lines[0].removeprefix("\ufeff")
            at_start = ends_record(lines, inside=False)
            if begin == floor or at_start == ends_record(lines, inside=True):
                return at_start
        except (UnicodeDecodeError, csv.Error):
            return None
        if look >= _LOOK_LIMIT:
            return None
        look *= 4


def _line_start(handle: IO[bytes], floor: int, position: int) -> int:
    """The start of the line holding ``position`` (``floor`` at the earliest)."""
    while position > floor:
        begin = max(floor, position - (1 << 16))
        data = os.pread(handle.fileno(), position - begin, begin)
        if (end := max(data.rfind(b"\n"), data.rfind(b"\r"))) >= 0:
            return begin + end + 1
        position = begin
    return floor


def blank_lines(path: Path) -> bool:
    """Whether a line of the file holds only spaces and tabs (pandas skips such a line), or
    one too long to tell (the exact path reports it)."""
    with path.open("rb") as handle:
        try:
            for data in whole_lines(handle):
                if any(line and not line.strip(b" \t") for line in data.splitlines()):
                    return True
        except csv.Error:
            return True
    return False


def blocks(path: Path, ends: list[int], start: int) -> Iterator[bytes]:
    """The file from ``start`` on, in the blocks that ``ends`` marks."""
    with path.open("rb") as handle:
        handle.seek(start)
        for end in ends:
            yield handle.read(end - handle.tell())


def parsed(
    path: Path,
    start: int,
    ends: list[int],
    header: list[str],
    convert: Any,
    blank: Any,
    pool: Any,
) -> Iterator[tuple[pa.Table, int, bytes]]:
    """Each block's table (the data starting at byte ``start``), the newlines it holds, and
    its last byte, in order; blocks are parsed ahead on every core.

    Each block is one pyarrow block (pyarrow cuts nothing further, so a quoted
    newline needs no lexing pass to find record ends); the blocks are parsed
    side by side, pyarrow releasing the GIL.
    """
    import pyarrow as pa
    import pyarrow.csv as pc

    parse = pc.ParseOptions(newlines_in_values=False, invalid_row_handler=blank)

    def one(data: bytes) -> tuple[pa.Table, int, bytes]:
        read = pc.ReadOptions(column_names=header, use_threads=False, block_size=len(data) + 1)
        table = pc.read_csv(
            pa.py_buffer(data),
            read_options=read,
            parse_options=parse,
            convert_options=convert,
            memory_pool=pool,
        )
        return table, data.count(b"\n"), data[-1:]

    workers = os.cpu_count() or 1
    pending: deque[Future[tuple[pa.Table, int, bytes]]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="csv-parse") as executor:
        try:
            for data in blocks(path, ends, start):
                pending.append(executor.submit(one, data))
                del data
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # stopped early: what is not started never starts
            for future in pending:
                future.cancel()
