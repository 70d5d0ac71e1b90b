"""CSV files without quotes or carriage returns, parsed block by block on every core.

Without a quote character a newline always ends a record, so the file can be
cut at any newline, and each block parsed by pyarrow's multi-threaded reader
(pyarrow's streaming reader, needed for quoted newlines, tokenizes on one
thread). Whether a file qualifies is one ``memchr`` pass over it, mapped.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def plain(path: Path) -> bool:
    """Whether the file has no quote and no carriage return (every newline ends a record)."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(b'"') < 0 and data.find(b"\r") < 0


def blocks(path: Path, size: int) -> Iterator[bytes]:
    """The file in blocks of whole lines of about ``size`` bytes."""
    with path.open("rb") as handle:
        while data := handle.read(size):
            if not data.endswith(b"\n"):
                data += handle.readline()
            yield data


def parsed(
    path: Path, size: int, header: list[str], convert: Any, blank: Any, pool: Any
) -> Iterator[tuple[pa.Table, int, bytes]]:
    """Each block's table, the newlines it holds, and its last byte."""
    import pyarrow as pa
    import pyarrow.csv as pc

    parse = pc.ParseOptions(newlines_in_values=False, invalid_row_handler=blank)
    for index, data in enumerate(blocks(path, size)):
        read = pc.ReadOptions(
            column_names=header,
            skip_rows=1 if index == 0 else 0,
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
