"""CSV files cut into blocks at record ends, for the blocks to be parsed side by side.

pyarrow's streaming reader tokenizes on one thread, and its multi-threaded
reader holds the whole file in memory. So the file is read a block at a time,
each block cut at its last newline where a record ends, and the blocks are
parsed on every core, each as one pyarrow block (pyarrow cuts nothing
further, so it splits no quoted value: :mod:`mlgitops.data.csvparse`). Finding
the cuts is part of reading the blocks: the file is read once.

A block starts where a record starts. Without a quote in it, its every
newline ends a record. With one, a newline may lie inside a quoted value, so
the cut is settled first: the lines before it are read with Python's ``csv``
module (records as pandas reads them) twice, once as if they start a record
and once as if they start inside a quoted value. Where both readings agree,
that is the answer whatever came before; where they differ, more lines are
read, back to the block's start (a known record start) if need be. A cut
inside a quoted value moves back to the newline before; where the lines were
read from the block's start, that one reading tells where its last record
ends (a value of many short lines is not read again for each of them).

A block with no cut in it (a record larger than a block) is read again four
times as large. Where a cut is still not settled (a block of 32 MiB without a
newline, as in a file whose lines end in a lone carriage return; a value
spanning more lines than the look-back settles) the blocks stop, at a
record's start, and pyarrow's streaming reader reads on from there.

The file is read, never mapped: a mapped file's pages count in the process's
resident memory.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

from mlgitops.data.csvscan import FIELD_LIMIT, ends_record, last_record_end, whole_lines

_CHUNK = 1 << 20
#: Lines read back from a cut: from about 4 KiB, growing to 1 MiB before giving up.
_LOOK, _LOOK_LIMIT = 1 << 12, 1 << 20
#: Newlines tried for one cut before giving up (a value spanning that many lines).
_TRIES = 64
#: The largest block: one that holds no cut is read again larger, up to this (the largest
#: record the exact path reads, so that every row read has a line).
_LARGEST = FIELD_LIMIT
#: What a cut is when no record ends in a block, and when where one does is not settled.
_NO_CUT, _UNSETTLED = 0, -1
#: What is read of the data first, to tell a file whose lines end in a lone CR.
_SAMPLE = 1 << 16
#: A byte-order mark. pandas drops one only where the file starts; pyarrow drops one
#: wherever the bytes it is given start, which for the readers here is a record's start.
BOM = b"\xef\xbb\xbf"
#: What goes before bytes that start with a mark, so that pyarrow keeps it in the record's
#: first value: a blank line, which it skips as pandas does.
KEEP_MARK = b"\n"


def cuttable(path: Path, start: int) -> bool:
    """Whether the data, starting at byte ``start``, may be cut into blocks: not when its
    first lines end in a lone CR (no newline would cut such a file)."""
    with path.open("rb") as handle:
        sample = os.pread(handle.fileno(), _SAMPLE, start)
    return b"\n" in sample or b"\r" not in sample


class Blocks:
    """The data of a file, from byte ``start`` on, in blocks of at most ``size`` bytes,
    each ending where a record ends; a block is read again four times as large, up to
    :data:`_LARGEST`, where it holds no cut (a record larger than a block).

    Iterating gives each block as a buffer read from the file and how much of
    it belongs to the block (the rest, a record's beginning, is read again with
    the next block). A buffer is used again once :meth:`release` hands it back
    (pyarrow copies what it parses), so a file is read without allocating, and
    faulting in, memory for each block.

    Where a cut is not settled the iteration ends early: ``stop`` is then where
    the blocks ended, the start of a record. ``quoted``: whether a block held a
    quote (a file read to its end without one cannot leave a quote open).
    """

    def __init__(self, path: Path, start: int, size: int) -> None:
        self.path = path
        self.start = start
        self.size = size
        self.stop: int | None = None
        self.quoted = False
        self._free: list[bytearray] = []

    def release(self, buffer: bytearray) -> None:
        """``buffer``, handed out before, is no longer read."""
        if len(buffer) == self.size:  # one grown for a large record is let go
            self._free.append(buffer)

    def __iter__(self) -> Iterator[Block]:
        with self.path.open("rb") as handle:
            end = os.fstat(handle.fileno()).st_size
            floor = self.start
            while floor < end:
                data = self._free.pop() if self._free else bytearray(self.size)
                while True:
                    read = _fill(handle, data, floor)
                    if floor + read >= end:
                        quoted = data.find(b'"', 0, read) >= 0
                        self.quoted = self.quoted or quoted
                        yield Block(floor, data, read, quoted)
                        return
                    length, quoted = self._cut(handle, floor, data, read)
                    if length != _NO_CUT or len(data) >= _LARGEST:
                        break
                    data = bytearray(min(len(data) * 4, _LARGEST))
                if length <= 0:
                    self.stop = floor
                    return
                yield Block(floor, data, length, quoted)
                floor += length

    def _cut(self, handle: IO[bytes], floor: int, data: bytearray, read: int) -> tuple[int, bool]:
        """How many of the ``read`` bytes of ``data`` (read from ``floor``, a record's start)
        are whole records: up to the last newline where a record ends (:data:`_NO_CUT` when
        no record ends in them, :data:`_UNSETTLED` when where one does is not settled); and
        whether they hold a quote."""
        length = data.rfind(b"\n", 0, read) + 1
        if length == 0:
            return _NO_CUT, True
        if data.find(b'"', 0, length) < 0:
            return length, False  # no quote: every newline ends a record
        self.quoted = True
        for _ in range(_TRIES):
            settled = _settle(handle, floor, floor + length, _LOOK)
            if settled.at_end is None:
                return _UNSETTLED, True
            if settled.at_end:
                return length, True
            if settled.lines is not None:  # read from the block's start: one reading tells
                return (_last_record_end(settled.lines) or _NO_CUT), True
            length = data.rfind(b"\n", 0, length - 1) + 1
            if length == 0:
                return _NO_CUT, True  # a record (a quoted value over lines) fills the block
        return _UNSETTLED, True


def _fill(handle: io.BufferedReader, data: bytearray, position: int) -> int:
    """Read the file from ``position`` into ``data``, as much as it holds or the file has;
    how many bytes were read."""
    handle.seek(position)
    view, done = memoryview(data), 0
    while done < len(data) and (count := handle.readinto(view[done:])):
        done += count
    return done


class Block(NamedTuple):
    """A block of the file: its first byte, the buffer holding it, its length (the buffer
    may hold more), and whether it holds a quote."""

    start: int
    data: bytearray
    length: int
    quoted: bool


def closed_at_end(path: Path, start: int) -> bool | None:
    """Whether the file's last record closes its quotes, ``start`` being a record's start
    (pandas refuses a file that ends inside a quoted value); None when a bounded look-back
    could not settle it. Where ``start`` (the last block's start) is near the end, twice
    the look-back's limit at most, the look-back goes back to it if need be, and settles
    it: its lines are held in memory as text, about 50 bytes each."""
    with path.open("rb") as handle:
        end = os.fstat(handle.fileno()).st_size
        quote = _last_quote(handle, start, end)
        if quote < 0:
            return True
        near = end - start <= 2 * _LOOK_LIMIT
        limit = max(_LOOK_LIMIT, end - start) if near else _LOOK_LIMIT
        if end - quote > limit:
            return None
        return _settle(handle, start, end, max(_LOOK, end - quote), limit).at_end


def _last_quote(handle: IO[bytes], start: int, end: int) -> int:
    """Where the file's last quote is, at ``start`` or after; -1 when there is none."""
    while end > start:
        begin = max(start, end - _CHUNK)
        if (quote := os.pread(handle.fileno(), end - begin, begin).rfind(b'"')) >= 0:
            return begin + quote
        end = begin
    return -1


class _Settled(NamedTuple):
    """Whether a record ends at a cut (None: not settled); and the lines read, decoded,
    where the look-back went back to the known record start (else None)."""

    at_end: bool | None
    lines: list[str] | None


def _settle(
    handle: IO[bytes], floor: int, cut: int, look: int, limit: int | None = None
) -> _Settled:
    """Whether a record ends at ``cut`` (after a line end, or at the end of the file),
    ``floor`` being a record's start before it, and the lines where it read them from
    ``floor``. It reads back ``look`` bytes first, then more, no more than about ``limit``
    (:data:`_LOOK_LIMIT` unless given); not settled within that, the answer is None."""
    limit = _LOOK_LIMIT if limit is None else limit
    while True:
        begin = _line_start(handle, floor, cut - look) if cut - look > floor else floor
        data = os.pread(handle.fileno(), cut - begin, begin)
        try:
            lines = [line.decode() for line in data.splitlines(keepends=True)]
            if begin == 0 and lines:
                lines[0] = lines[0].removeprefix("\ufeff")
            at_start = ends_record(lines, inside=False)
            if begin == floor:
                return _Settled(at_start, lines)
            if at_start == ends_record(lines, inside=True):
                return _Settled(at_start, None)
        except (UnicodeDecodeError, csv.Error):
            return _Settled(None, None)
        if look >= limit:
            return _Settled(None, None)
        look *= 4


def _last_record_end(lines: list[str]) -> int:
    """How many bytes of ``lines`` (read from a record's start, the last one not ending a
    record) are whole records; 0 when none ends before the last line."""
    ends = last_record_end(lines)
    return sum(len(line.encode()) for line in lines[:ends])


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
