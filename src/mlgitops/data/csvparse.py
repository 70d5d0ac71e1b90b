"""CSV parsed by pyarrow as pandas reads it: a file's blocks side by side on every core,
the exact path's pieces, and what every read by pyarrow shares (pandas' missing values,
the rows pandas skips, one memory pool). Where pyarrow reads a value otherwise than pandas
(an integer written in hexadecimal, which pandas reads as text; a NaN in a float column),
or a value does not parse as its column's type, its columns are named
(:class:`~mlgitops.data.base.ConversionFailed`) to be read again as text.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from mlgitops.data.base import ConversionFailed
from mlgitops.data.csvblocks import BOM, KEEP_MARK, Block, Blocks

if TYPE_CHECKING:
    import pyarrow as pa

#: What pandas reads as missing (pandas' default ``na_values``), so both agree.
NULL_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


def conversions(
    types: Mapping[str, pa.DataType], wanted: list[str], others: list[str]
) -> tuple[Any, Any]:
    """pyarrow's conversion of the columns ``wanted``, typed as ``types`` says (text where
    it names none); and of those and the ``others``, read as text: both with pandas'
    missing values."""
    import pyarrow as pa
    import pyarrow.csv as pc

    options = {"strings_can_be_null": True, "null_values": list(NULL_VALUES)}
    typed = {name: types.get(name, pa.string()) for name in wanted}
    convert = pc.ConvertOptions(column_types=typed, include_columns=wanted, **options)
    everything = convert
    if others:
        also = {**typed, **{name: pa.string() for name in others}}
        everything = pc.ConvertOptions(
            column_types=also, include_columns=wanted + others, **options
        )
    return convert, everything


class Read:
    """One read of the file: the data rows handed out so far, and pyarrow's verdict on a row
    of the wrong width (pandas skips lines of only spaces and tabs)."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, row: Any) -> str:
        return "skip" if not row.text.strip(" \t\r\n") else "error"


@contextlib.contextmanager
def quiet_undecodable_rows() -> Iterator[None]:
    """No traceback on stderr for a row of the wrong width that is not UTF-8.

    pyarrow decodes such a row to text before handing it to :class:`Read`; the
    decoding raises inside pyarrow's callback, which Python reports as an
    "Exception ignored" traceback. pyarrow then refuses the row, and the reader
    names its line as not UTF-8 text: the traceback says nothing more.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.object, Read) and isinstance(
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


def pool() -> pa.MemoryPool:
    """jemalloc, where pyarrow has it. Its pages freed by one block are reused by the next
    (returning them to the system at once, then faulting them in again, cost about a tenth
    of the parse)."""
    import pyarrow as pa

    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


def parsed(
    blocks: Blocks,
    header: list[str],
    convert: Any,
    blank: Any,
    pool: Any,
    *,
    decode: bool = False,
) -> Iterator[tuple[int, pa.Table, int, bytes]]:
    """Each block's first byte, its table, the line ends it holds (LF, CRLF or a lone CR),
    and its last byte, in order; blocks are parsed ahead on every core. ``decode``: each
    block's bytes are decoded as UTF-8 as well (UnicodeDecodeError where they are not), for
    the columns pyarrow does not convert.

    Each block is one pyarrow block (pyarrow cuts nothing further, so a quoted
    newline needs no lexing pass to find record ends); the blocks are parsed
    side by side, pyarrow releasing the GIL.
    """
    import pyarrow as pa
    import pyarrow.csv as pc

    parse = pc.ParseOptions(newlines_in_values=False, invalid_row_handler=blank)
    # without a quote in a block, pyarrow need not look for one (a few percent of the parse)
    plain = pc.ParseOptions(newlines_in_values=False, invalid_row_handler=blank, quote_char=False)

    def one(block: Block) -> tuple[int, pa.Table, int, bytes]:
        import numpy as np

        data, length = block.data, block.length
        if decode:
            str(memoryview(data)[:length], "utf-8")
        source = pa.py_buffer(data).slice(0, length)
        if data.startswith(BOM):
            source = pa.py_buffer(KEEP_MARK + data[:length])
        read = pc.ReadOptions(column_names=header, use_threads=False, block_size=source.size + 1)
        table = _converted(
            source,
            header,
            read_options=read,
            parse_options=parse if block.quoted else plain,
            convert_options=convert,
            memory_pool=pool,
        )
        refuse_hexadecimal(table, data, length)
        # numpy counts with the GIL released, four times as fast as bytes.count
        ends = int(np.count_nonzero(np.frombuffer(data, np.uint8, length) == ord("\n")))
        if data.find(b"\r", 0, length) >= 0:  # a lone CR ends a line too
            ends += data.count(b"\r", 0, length) - data.count(b"\r\n", 0, length)
        return block.start, table, ends, bytes(data[length - 1 : length])

    workers = os.cpu_count() or 1
    pending: deque[tuple[Future[tuple[int, pa.Table, int, bytes]], bytearray]] = deque()

    def done() -> tuple[int, pa.Table, int, bytes]:
        future, data = pending.popleft()
        result = future.result()
        blocks.release(data)
        return result

    with ThreadPoolExecutor(workers, thread_name_prefix="csv-parse") as executor:
        try:
            for block in blocks:
                pending.append((executor.submit(one, block), block.data))
                del block
                if len(pending) > workers:
                    yield done()
            while pending:
                yield done()
        finally:  # stopped early: what is not started never starts
            for future, _ in pending:
                future.cancel()


def piece(data: bytes, header: list[str], convert: Any, parse: Any) -> pa.Table:
    """A piece of the exact path (records walked as pandas reads them, the fields a record
    lacks given as nulls: :func:`~mlgitops.data.csvscan.padded`) parsed by pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pc

    if data.startswith(BOM):  # a record's mark, which pyarrow would drop
        data = KEEP_MARK + data
    # one block: a record may be larger than any block size pyarrow would pick
    options = pc.ReadOptions(column_names=header, block_size=len(data) + 1)
    table = pc.read_csv(
        pa.py_buffer(data),
        read_options=options,
        parse_options=parse,
        convert_options=convert,
        memory_pool=pool(),
    )
    refuse_hexadecimal(table, data)
    return table


def refuse_hexadecimal(table: pa.Table, data: Any, length: int | None = None) -> None:
    """:func:`refuse_integers` where the bytes ``table`` was read from (the first ``length``
    of ``data``) hold a field that starts with ``0x`` or ``0X`` (:func:`hexadecimal`)."""
    if _integers(table) and hexadecimal(data, length):
        refuse_integers(table)


def refuse_integers(table: pa.Table) -> None:
    """ConversionFailed naming the integer columns of ``table`` (if it has any): pyarrow
    reads ``0x1e`` as the integer 30, where pandas reads text, which pandera's coercion
    refuses. Those columns are then read as text, and judged as pandera judges them (a
    ``0x`` in a text costs only that)."""
    integers = _integers(table)
    if integers:
        raise ConversionFailed(integers[0], integers[1:])


def refuse_nan(table: pa.Table, floats: Sequence[str]) -> None:
    """ConversionFailed naming the float columns of ``table`` that hold a NaN."""
    from mlgitops.validation.extremes import Extremes

    found = [name for name in floats if Extremes(table.column(name)).nan()]
    if found:
        raise ConversionFailed(found[0], found[1:])


def _integers(table: pa.Table) -> list[str]:
    import pyarrow as pa

    return [field.name for field in table.schema if pa.types.is_integer(field.type)]


#: The bytes a field may start after (a space: pyarrow reads `` 0x1e`` as 30 too).
_FIELD_STARTS = b',\n\r" \t'


def hexadecimal(data: Any, length: int | None = None) -> bool:
    """Whether the first ``length`` bytes of ``data`` (all: None) hold a field that starts
    with ``0x`` or ``0X``, as an integer pyarrow reads in hexadecimal does."""
    import numpy as np

    end = len(data) if length is None else length
    if data.find(b"x", 0, end) < 0 and data.find(b"X", 0, end) < 0:
        return False  # no x at all (found at memory's speed): most files of numbers
    raw = np.frombuffer(data, np.uint8, end)
    # numpy compares with the GIL released; an x is rare in numbers, a 0 is not
    zeros = np.flatnonzero((raw[1:] == ord("x")) | (raw[1:] == ord("X")))
    zeros = zeros[raw[zeros] == ord("0")]
    if not zeros.size:
        return False
    before = raw[np.maximum(zeros - 1, 0)]
    starts = np.isin(before, np.frombuffer(_FIELD_STARTS, np.uint8)) | (zeros == 0)
    return bool(np.any(starts))


#: Columns found not to convert in one block before the caller is told.
_FAILING_MOST = 16


def _converted(data: Any, header: list[str], *, convert_options: Any, **options: Any) -> pa.Table:
    """One block read as pyarrow reads it; where values do not parse as their columns' types,
    :class:`ConversionFailed` naming every such column of the block: it is read again with
    each one found as text until it converts (a few more reads of one block, so that rows
    appended in the wrong shape cost the caller one more pass, not one per column)."""
    import copy

    import pyarrow as pa
    import pyarrow.csv as pc

    failing: list[str] = []
    convert = convert_options
    while True:
        try:
            table = pc.read_csv(data, convert_options=convert, **options)
        except pa.ArrowInvalid as exc:
            column = conversion_column(str(exc), header)
            if not column or column in failing:
                if not failing:
                    raise
                break  # what more there is: the caller reads it again as text anyway
            failing.append(column)
            if len(failing) == _FAILING_MOST:
                break  # so many: the caller goes on to read every column as text
            convert = copy.copy(convert_options)
            convert.column_types = {
                **convert_options.column_types,
                **{name: pa.string() for name in failing},
            }
        else:
            if not failing:
                return table
            break
    raise ConversionFailed(failing[0], failing[1:])


def conversion_column(message: str, header: list[str]) -> str | None:
    """The column of pyarrow's error where it is a value that does not parse as its
    column's type ("" where the error names no column of ``header``); None for any other
    error."""
    if "CSV conversion error" not in message or "invalid UTF8" in message:
        return None
    index = message.split("In CSV column #", 1)[-1].split(":", 1)[0]
    return header[int(index)] if index.isdigit() and int(index) < len(header) else ""
