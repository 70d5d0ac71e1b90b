"""Walking a CSV file record by record as pandas reads it: problems and row lines.

The slow, exact path of :mod:`mlgitops.data.csv`, taken only when the file is
not one line per record or pyarrow refused it.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path


class ScanResult:
    def __init__(self) -> None:
        self.problem: str | None = None
        self.lines: dict[int, int] = {}


def scan(path: Path, width: int | None, wanted: set[int]) -> ScanResult:
    """Walk the file record by record as pandas reads it: the first problem, and row lines.

    Python's ``csv`` module, not strict (a quote inside an unquoted value is
    text; text after a closing quote joins the value), skipping blank and
    whitespace-only lines. A quote left open at the end of the file is the one
    thing pandas rejects that this reading would accept: the last record is
    read again, strictly.
    """
    result = ScanResult()
    text = _Utf8Lines(path)
    reader = csv.reader(text)
    row, start = 0, 1
    last: tuple[int, list[str]] = (1, [])
    try:
        for record in reader:
            if record and not (len(record) == 1 and width != 1 and not record[0].strip(" \t")):
                width = len(record) if width is None else width
                if len(record) != width:
                    _strictly(text.record)  # a quote never closed swallows the rest of the file
                    result.problem = f"{start}: expected {width} fields, found {len(record)}"
                    return result
                if row in wanted:
                    result.lines[row] = start
                row += 1
            last = (start, text.take_record())
            start = reader.line_num + 1
        start = last[0]
        _strictly(last[1])
    except csv.Error as exc:
        result.problem = f"{start}: malformed CSV ({exc}; a quote is not closed?)"
    except UnicodeDecodeError as exc:
        result.problem = (
            f"{text.line_no}: not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)"
        )
    return result


def _strictly(lines: list[str]) -> None:
    """Raise csv.Error when the record's quote is never closed (pandas rejects that)."""
    try:
        for _ in csv.reader(lines, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise


_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n|$)")


class _Utf8Lines:
    """Physical lines (ended by LF, CRLF or CR) decoded as strict UTF-8, and the current record's."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.line_no = 0
        self.record: list[str] = []

    def take_record(self) -> list[str]:
        """The lines of the record just read; the next record starts a new list."""
        record, self.record = self.record, []
        return record

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        with self._path.open("rb") as handle:
            for raw in handle:
                for piece in _LINE.findall(raw) if b"\r" in raw else (raw,):
                    if not piece:
                        continue
                    self.line_no += 1
                    line = decoder.decode(piece)
                    self.record.append(line)
                    yield line
            decoder.decode(b"", final=True)
