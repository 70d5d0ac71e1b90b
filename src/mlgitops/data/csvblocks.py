"""CSV files without quotes or carriage returns, parsed block by block on every core.

Without a quote character a newline always ends a record, so the file can be
cut at any newline, and each block parsed by pyarrow's multi-threaded reader
(pyarrow's streaming reader, needed for quoted newlines, tokenizes on one
thread). Whether a file qualifies is one ``memchr`` pass over it, mapped.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def plain(path: Path) -> int:
    """Where the data starts (after the header's line), when no line after it has a quote and
    none a carriage return (every newline ends a record); else 0.

    A quoted header name is common (pyarrow and R quote every name); a header
    that spans lines has a quote on a later line.
    """
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(b"\n") + 1
        if not start or data.find(b'"', start) >= 0 or data.find(b"\r") >= 0:
            return 0
        return start


_BLANK_LINE = re.compile(rb"(?:\A|[\r\n])[ \t]+(?:[\r\n]|\Z)")


def blank_lines(path: Path) -> bool:
    """Whether a line of the file holds only spaces and tabs (pandas skips such a line)."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return _BLANK_LINE.search(data) is not None


def blocks(path: Path, start: int, size: int) -> Iterator[bytes]:
    """The file from ``start`` on, in blocks of whole lines of about ``size`` bytes."""
    with path.open("rb") as handle:
        handle.seek(start)
        while data := handle.read(size):
            if not data.endswith(b"\n"):
                data += handle.readline()
            yield data


def parsed(
    path: Path, start: int, size: int, header: list[str], convert: Any, blank: Any, pool: Any
) -> Iterator[tuple[pa.Table, int, bytes]]:
    """Each block's table (from ``start``, where the data starts), the newlines it holds,
    and its last byte."""
    import pyarrow as pa
    import pyarrow.csv as pc

    parse = pc.ParseOptions(newlines_in_values=False, invalid_row_handler=blank)
    for data in blocks(path, start, size):
        read = pc.ReadOptions(
            column_names=header,
            use_threads=True,
            block_size=max(1 << 18, len(data) // 4 + 1),
        )
        table = pc.read_csv(
            pa.py_buffer(data),
            read_options=read,
            parse_options=parse,
            convert_options=convert,
            memory_pool=pool,
        )
        yield table, data.count(b"\n"), data[-1:]
