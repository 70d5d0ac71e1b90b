"""Walking a CSV file record by record as pandas reads it: problems, row lines, padding.

The slow, exact path of :mod:`mlgitops.data.csv`, taken only when the file is
not one line per record, pyarrow refused it, or a record lacks fields.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

#: The largest record read (the ``csv`` module's own limit is 128 KiB): far above any real
#: value (pyarrow's own reader takes 1 MiB), the largest block the blocks grow to, and what
#: a quote left open holds in memory before it is reported.
FIELD_LIMIT = 32 << 20
_BLOCK = 1 << 20
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


class TooLong(csv.Error):
    """A record (or line, or value) longer than :data:`FIELD_LIMIT` characters."""

    def __init__(self) -> None:
        super().__init__(
            f"a record longer than {FIELD_LIMIT >> 20} MiB ({FIELD_LIMIT:,} characters), the "
            "most one record may hold here (a quote left open takes in the rest of the file)"
        )


class ScanResult:
    def __init__(self) -> None:
        self.problem: str | None = None
        self.lines: dict[int, int] = {}


class Problem(Exception):
    """Where and why pandas would refuse the file: ``"<line>: <what>"``."""


class Place(NamedTuple):
    """A record's start inside the file, after the header: its byte, its line, and the
    header's width."""

    byte: int
    line: int
    width: int


def scan(path: Path, wanted: set[int], place: Place | None = None) -> ScanResult:
    """Walk the file record by record as pandas reads it: the first problem, and the line of
    each wanted data row (1-based, counted from ``place`` when given). A walk for rows
    stops at the last of them."""
    result = ScanResult()
    try:
        for row, (start, _, _) in enumerate(records(path, place), start=place is not None):
            if row in wanted:
                result.lines[row] = start
                if len(result.lines) == len(wanted):
                    break
    except Problem as exc:
        result.problem = str(exc)
    return result


def records(path: Path, place: Place | None = None) -> Iterator[tuple[int, list[str], list[str]]]:
    """The header, then each data record as pandas reads it: its first line, fields and lines;
    from ``place`` on, the data records after it only.

    Python's ``csv`` module, not strict (a quote inside an unquoted value is
    text; text after a closing quote joins the value). Lines holding only
    spaces and tabs are skipped, as pandas skips them (a quoted ``""`` is a
    record). A record may have fewer fields than the header (pandas reads
    the missing ones as null), not more. A quote left open at the end of the
    file is the one thing pandas rejects that this reading would accept: the
    last record is read again, strictly. Raises :class:`Problem`.
    """
    text = _Utf8Lines(path, place.byte if place else 0, place.line - 1 if place else 0)
    reader = csv.reader(text)
    width: int | None = place.width if place else None
    first = place is None  # the next record is the first after the header
    start = text.line_no + 1
    last, ending = 0, [""]
    try:
        for record in reader:
            lines, count = text.take_record()
            if len(record) > 1 or (record and (record[0].strip(" \t") or _quoted(lines))):
                if width is None:  # the header
                    width = len(record)
                    _strictly(lines)
                elif len(record) > width:
                    _strictly(lines)  # a quote never closed swallows the rest of the file
                    why = _why(record, width, first)
                    raise Problem(f"{start}: expected {width} fields, found {len(record)}{why}")
                else:
                    first = False
                yield start, record, lines
            last, ending = count, lines
            start = text.line_no + 1
        start -= last  # where the last record starts
        _strictly(ending)
    except TooLong as exc:
        raise Problem(f"{start}: {exc}") from exc
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # the csv module's own words
            raise Problem(f"{start}: {TooLong()}") from exc
        raise Problem(f"{start}: malformed CSV ({exc}; a quote is not closed?)") from exc
    except UnicodeDecodeError as exc:
        raise Problem(
            f"{text.line_no}: not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)"
        ) from exc


def padded(path: Path, skip: int, size: int) -> Iterator[bytes]:
    """The data records after the first ``skip``, as CSV of whole records in pieces of about
    ``size`` bytes, each record given the fields it lacks as empty (null) ones.

    A record of the header's width is passed on as written, so pyarrow reads
    its values as it reads them anywhere else.
    """
    width = 0
    piece: list[str] = []
    length = 0
    for index, (_, record, lines) in enumerate(records(path)):
        if index == 0:
            width = len(record)
        if index <= skip:
            continue
        text = "".join(lines)
        if len(record) < width:
            text = text.rstrip("\r\n") + "," * (width - len(record)) + "\n"
        elif not text.endswith(("\n", "\r")):
            text += "\n"
        piece.append(text)
        length += len(text)
        if length >= size:
            yield "".join(piece).encode("utf-8")
            piece, length = [], 0
    if piece:
        yield "".join(piece).encode("utf-8")


def _why(record: list[str], width: int, first: bool) -> str:
    """What a record with too many fields looks like, where that is plain (``first``: the
    first record after the header, one field longer than it: pandas' index)."""
    if not any(record[width:]):
        return " (the record ends in a delimiter the header does not have)"
    if first and len(record) == width + 1:
        return (
            " (the header has no name for the first column, as R's write.table writes row "
            'names, which pandas reads as the index: name it, "" if need be)'
        )
    return ""


def _quoted(lines: list[str]) -> bool:
    """Whether a one-field record's text is more than spaces and tabs (a quote, say)."""
    return any(line.strip(" \t\r\n") for line in lines)


def _strictly(lines: list[str]) -> None:
    """Raise csv.Error when the record's quote is never closed (pandas rejects that)."""
    if not ends_record(lines):
        raise csv.Error("unexpected end of data")


def ends_record(lines: list[str], inside: bool = False) -> bool:
    """Whether, read from a record's start (or, ``inside``, from within a quoted value), a
    record ends where the last of ``lines`` ends; a quote left open takes in what follows."""
    if not lines:
        return True
    if inside:
        lines = ['"' + lines[0], *lines[1:]]
    reader = csv.reader(itertools.chain(lines, ["\n"]))
    for _ in reader:
        if reader.line_num >= len(lines):
            return reader.line_num == len(lines)
    return False


def last_record_end(lines: list[str]) -> int:
    """How many of ``lines``, read from a record's start, make whole records before the last
    line (where a quote left open takes in what follows): 0 when none does."""
    reader = csv.reader(lines)
    last = 0
    try:
        for _ in reader:
            if reader.line_num < len(lines):
                last = reader.line_num
    except csv.Error:
        pass  # what follows the last record is not one: its end is all that is asked
    return last


class _Utf8Lines:
    """Physical lines (ended by LF, CRLF or CR) decoded as strict UTF-8, and the current
    record's text.

    Read in blocks, so a file whose lines end in a lone CR is not one huge line;
    a record's text is kept in pieces of many lines (its lines as strings would
    take tens of bytes each). A record or line over :data:`FIELD_LIMIT`
    characters is reported as the ``csv`` module reports a value over it.
    """

    def __init__(self, path: Path, byte: int = 0, line_no: int = 0) -> None:
        self._path = path
        self._byte = byte
        self.line_no = line_no
        self._pieces: list[str] = []
        self._joined = 0
        self._size = 0
        self._lines = 0

    def take_record(self) -> tuple[list[str], int]:
        """The text of the record just read, in pieces, and how many lines it spans."""
        record = (self._pieces, self._lines)
        self._pieces, self._joined, self._size, self._lines = [], 0, 0, 0
        return record

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8" if self._byte else "utf-8-sig")("strict")
        with self._path.open("rb") as handle:
            handle.seek(self._byte)
            for data in whole_lines(handle):
                for piece in data.splitlines(keepends=True):
                    self.line_no += 1
                    line = decoder.decode(piece)
                    self._keep(line)
                    yield line
            decoder.decode(b"", final=True)

    def _keep(self, line: str) -> None:
        self._size += len(line)
        self._lines += 1
        if self._size > FIELD_LIMIT:
            raise TooLong
        self._pieces.append(line)
        if len(self._pieces) - self._joined >= 4096:  # many lines: one string
            self._pieces[self._joined :] = ["".join(self._pieces[self._joined :])]
            self._joined += 1


def whole_lines(handle: IO[bytes]) -> Iterator[bytes]:
    """The file in blocks that end at a line end (the last one as it ends)."""
    tail = b""
    while block := handle.read(_BLOCK):
        data = tail + block
        # a CR at the very end may be the first half of a CRLF
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
        if len(data) - cut > FIELD_LIMIT:
            raise TooLong
        tail = data[cut:]
        if cut:
            yield data[:cut]
    if tail:
        yield tail
