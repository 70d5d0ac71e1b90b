"""Random odd CSV files, read by the reader and by pandas: the same values, or both refuse.

Each file mixes what real exports contain: quoted and unquoted values, quotes
inside unquoted values, doubled quotes, quoted delimiters and newlines, LF, CRLF
or CR line endings, a byte-order mark, blank lines, a missing final newline,
records with fewer fields than the header (pandas reads the missing ones as
null) and header names left empty (pandas calls them ``Unnamed: <index>``).
Whenever pandas reads a file, the reader must give the same values (in chunks
of three rows). Seeded, so a failure names a file that can be replayed.

One shape is left out, because pandas is the odd one there: blank lines in a
file whose lines end in a lone CR. pandas shifts the next record's values one
column left when that record starts with an empty field (Python's ``csv``
module and pyarrow read them in place).
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest

from mlgitops.data import open_data
from mlgitops.errors import DataError, MlgitopsError

VALUES = [
    "a",
    "b c",
    " x ",
    '5" tall',
    '"q"',
    '"a,b"',
    '"two\nlines"',
    '"cr\r\nlf"',
    '""',
    "",
    "héllo",
    'x"y"z',
    '"ab"cd',
    "NA",
    "nan",
    "\t",
    '"\n"',
    '"a""b"',
    ' "sp"',
    "'s'",
    "#c",
    "1.5",
    "-3",
]


def _file(
    rng: random.Random, most: int = 8, eols: tuple[str, ...] = ("\n", "\r\n", "\r")
) -> tuple[list[str], bytes]:
    """A random odd file of 1 to ``most`` records, its lines ending in one of ``eols``."""
    width = rng.randint(1, 4)
    names = [rng.choice([f"c{i}"] * 3 + [""] * (width > 1)) for i in range(width)]
    columns = [name or f"Unnamed: {i}" for i, name in enumerate(names)]  # as pandas names them
    eol = rng.choice(eols)
    rows = [
        ",".join(rng.choice(VALUES) for _ in range(rng.choice([width] * 4 + [1, width - 1])))
        for _ in range(rng.randint(1, most))
    ]
    if eol == "\r":  # no blank line (see above): a record of one empty field would be one
        rows = [row if row.strip(" \t") else "a" for row in rows]
    else:
        for _ in range(1 + most // 20 if rng.random() < 0.3 else 0):
            rows.insert(rng.randrange(len(rows) + 1), rng.choice(["", "  "]))
    if rng.random() < 0.1:  # the file ends inside a quoted value (cut short): refused
        rows[-1] = rows[-1].rpartition(",")[0] + rng.choice([',"open', ',"open,', ',"open\nx'])
    text = ",".join(names) + eol + eol.join(rows) + rng.choice([eol, ""])
    if rng.random() < 0.2:
        text = "\ufeff" + text
    return columns, text.encode("utf-8")


def _plain(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


@pytest.mark.parametrize(
    ("seed", "most", "block"),
    [(seed, 8, None) for seed in range(8)] + [(100 + seed, 120, 64) for seed in range(4)],
)
def test_random_odd_files_read_as_pandas_reads_them(
    seed: int, most: int, block: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files, and files of up to 120 records cut into blocks of 64 to 256 bytes (so
    cuts fall everywhere: inside quoted values, quoted CRLFs and blank lines; a file whose
    lines end in a lone CR is not cut, it goes to the streaming reader)."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader

    if block:
        monkeypatch.setattr(csv_reader, "_MIN_BLOCK", block)
        monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", block * 4)
    rng = random.Random(seed)
    compared = refused = 0
    for trial in range(60):
        columns, data = _file(rng, most, ("\n", "\r\n") if block else ("\n", "\r\n", "\r"))
        path = tmp_path / f"{seed}-{trial}.csv"
        path.write_bytes(data)
        reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
        try:
            expected = pd.read_csv(io.BytesIO(data), dtype=object)
        except (ValueError, pd.errors.ParserError):  # pandas refuses it: so does the reader
            with pytest.raises(DataError):
                list(reader.batches({}, reader.columns(), 3))
            refused += 1
            continue
        if list(expected.columns) != columns:
            continue  # pandas took a quoted newline in the header differently
        if not isinstance(expected.index, pd.RangeIndex):  # a first record ending in a
            # delimiter: pandas takes each record's first value as its index (refused)
            with pytest.raises(DataError, match="ends in a delimiter the header does not have"):
                list(reader.batches({}, columns, 3))
            refused += 1
            continue
        if expected.empty:  # a header and blank lines: data without rows is bad input
            with pytest.raises(DataError, match="no data rows"):
                list(reader.batches({}, columns, 3))
            continue
        try:
            assert reader.columns() == columns, data
            types = {c: pa.string() for c in columns}
            read = pa.concat_tables(list(reader.batches(types, columns, 3))).to_pydict()
        except MlgitopsError as exc:
            pytest.fail(f"{data!r}: refused ({exc}), but pandas reads it")
        for column in columns:
            ours = [_plain(v) for v in read[column]]
            theirs = [_plain(v) for v in expected[column]]
            assert ours == theirs, (data, column)
        compared += 1
    assert compared >= 30  # most files are ones pandas reads
    assert refused >= 1


def _long_file(rng: random.Random, rows: int) -> tuple[list[str], bytes]:
    """A file of many records, blank lines between some, short ones only in its second half."""
    width = rng.randint(2, 4)
    columns = [f"c{i}" for i in range(width)]
    eol = rng.choice(["\n", "\r\n"])
    quoted = rng.random() < 0.5  # without a quote the file is cut into blocks anywhere
    values = VALUES if quoted else [v for v in VALUES if '"' not in v]
    out = []
    for index in range(rows):
        short = index > rows // 2 and rng.random() < 0.01
        fields = rng.choice([1, width - 1]) if short else width
        row = ",".join(rng.choice(values) for _ in range(fields))
        out.append(row if row.strip(" \t") else "a")
        if rng.random() < 0.01:
            out.append("")
    return columns, (",".join(columns) + eol + eol.join(out) + eol).encode("utf-8")


@pytest.mark.parametrize("seed", range(4))
def test_blocks_read_on_from_where_pyarrow_stopped(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small blocks, so a short record stops pyarrow after some of them: the rows handed
    out before it, and those read on the exact path after it, are pandas' rows."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 2048)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 4096)
    rng = random.Random(1000 + seed)
    columns, data = _long_file(rng, 3000)
    expected = pd.read_csv(io.BytesIO(data), dtype=object)
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    tables = list(reader.batches({c: pa.string() for c in columns}, columns, 50))
    assert len(tables) > 5
    read = pa.concat_tables(tables).to_pydict()
    for column in columns:
        assert [_plain(v) for v in read[column]] == [_plain(v) for v in expected[column]]


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_a_line_end_inside_quotes_split_between_blocks_stays_whole(
    eol: bytes, streamed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow's streaming reader drops the LF of a quoted CRLF whose CR ends a block it
    reads; wherever the blocks fall, the value keeps both characters (also where the file
    is cut into blocks)."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 64)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 64)
    if streamed:
        monkeypatch.setattr(csvblocks, "cuttable", lambda *_: False)
    for pad in range(40, 140):
        data = b"a,b" + eol + b'1,"' + b"y" * pad + b'\r\nz"' + eol + b"2,w" + eol
        path = tmp_path / f"{pad}.csv"
        path.write_bytes(data)
        reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
        read = pa.concat_tables(list(reader.batches({"b": pa.string()}, ["a", "b"], 1)))
        expected = pd.read_csv(io.BytesIO(data), dtype=object)
        assert read.column("b").to_pylist() == list(expected["b"]), pad


def _quoted_file(rng: random.Random, rows: int, eol: str) -> tuple[list[str], bytes]:
    """Many records with LF or CRLF line ends, quotes everywhere, and values over several
    lines (a quoted CRLF among them)."""
    values = VALUES + ['"a\nb\nc"', '"x,\n""y"""', '"\n\n"'] * 2
    width = rng.randint(2, 4)
    columns = [f"c{i}" for i in range(width)]
    out = [",".join(rng.choice(values) for _ in range(width)) for _ in range(rows)]
    out = [row if row.strip(" \t") else "a" for row in out]
    return columns, (",".join(columns) + eol + eol.join(out) + eol).encode("utf-8")


def _settled(monkeypatch: pytest.MonkeyPatch) -> list[bool | None]:
    """Every answer of the cut settling, recorded."""
    from mlgitops.data import csvblocks

    answers: list[bool | None] = []
    settle = csvblocks._settle

    def recorded(*args: Any, **options: Any) -> Any:
        settled = settle(*args, **options)
        answers.append(settled.at_end)
        return settled

    monkeypatch.setattr(csvblocks, "_settle", recorded)
    return answers


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("seed", range(3))
def test_quoted_files_are_cut_into_blocks_where_records_end(
    seed: int, eol: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quoted file is parsed in blocks on every core, not by the streaming reader: cuts
    that fall inside a quoted value move on, and the values are pandas' values."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 2048)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 4096)
    monkeypatch.setattr(csvblocks, "_LOOK", 64)  # the look-back grows as it must

    def streaming(*_: Any) -> Any:
        raise AssertionError("the streaming reader read a file cut into blocks")

    monkeypatch.setattr(csv_reader.CsvReader, "_stream", streaming)
    answers = _settled(monkeypatch)
    columns, data = _quoted_file(random.Random(2000 + seed), 3000, eol)
    path = tmp_path / "quoted.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    tables = list(reader.batches({c: pa.string() for c in columns}, columns, 50))
    assert len(tables) > 10
    assert True in answers and False in answers  # some cuts fell inside a quoted value
    expected = pd.read_csv(io.BytesIO(data), dtype=object)
    read = pa.concat_tables(tables).to_pydict()
    for column in columns:
        assert [_plain(v) for v in read[column]] == [_plain(v) for v in expected[column]]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("seed", range(2))
def test_a_cut_is_settled_as_the_csv_module_reads_the_whole_file(
    seed: int, eol: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At every newline: whether a record ends there, read back from it over a few lines,
    is what Python's ``csv`` module says reading the file from its start, or unsettled."""
    import csv

    from mlgitops.data import csvblocks

    monkeypatch.setattr(csvblocks, "_LOOK", 16)
    _, data = _quoted_file(random.Random(3000 + seed), 400, eol)
    lines = [line + "\n" for line in data.decode().split("\n")[:-1]]
    reader = csv.reader(lines)
    record_ends = {reader.line_num for _ in reader}
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode()))
    path = tmp_path / "quoted.csv"
    path.write_bytes(data)
    start = offsets[1]
    answers = {True: 0, False: 0, None: 0}
    with path.open("rb") as handle:
        for count in range(2, len(lines) + 1):
            answer = csvblocks._settle(handle, start, offsets[count], csvblocks._LOOK).at_end
            assert answer in (count in record_ends, None), count
            answers[answer] += 1
    assert answers[True] > 100 and answers[False] > 10  # nearly all settled
    assert answers[None] < len(lines) // 20


def test_cuts_not_settled_leave_the_file_to_the_streaming_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value over many lines, with little look-back: the streaming reader reads the file."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 2048)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 2048)
    monkeypatch.setattr(csvblocks, "_LOOK", 64)
    monkeypatch.setattr(csvblocks, "_LOOK_LIMIT", 256)
    streamed: list[bool] = []
    stream = csv_reader.CsvReader._stream

    def streaming(self: Any, *args: Any) -> Any:
        streamed.append(True)
        return (yield from stream(self, *args))

    monkeypatch.setattr(csv_reader.CsvReader, "_stream", streaming)
    long_value = '"' + "x\n" * 3000 + '"'
    data = ("a,b\n" + "".join(f"{i},v\n" for i in range(500)) + f"9,{long_value}\n").encode()
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    read = pa.concat_tables(list(reader.batches({}, ["a", "b"], 50))).to_pydict()
    expected = pd.read_csv(io.BytesIO(data), dtype=object)
    assert streamed == [True]
    assert read == {column: list(expected[column]) for column in ["a", "b"]}


@pytest.mark.parametrize("eol", ["\n", "\r\n"])  # cut into blocks; the streaming reader
def test_a_header_name_holding_a_newline_leaves_no_row_behind(eol: str, tmp_path: Path) -> None:
    """The header is one record over two lines: the data starts after both."""
    import pandas as pd
    import pyarrow as pa

    data = ('"a' + eol + 'b",c' + eol + "".join(f'{i},"v"{eol}' for i in range(50))).encode()
    path = tmp_path / "header.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    columns = reader.columns()
    read = pa.concat_tables(list(reader.batches({}, columns, 10))).to_pydict()
    expected = pd.read_csv(io.BytesIO(data), dtype=object)
    assert columns == list(expected.columns) == ["a" + eol + "b", "c"]
    assert read == {column: list(expected[column]) for column in columns}
    assert reader.lines({1, 50}) == {1: 3, 50: 52}


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    "text",
    [
        "a,b\n" + "".join(f"{i},x{i}\n" for i in range(3000)),
        "a,b\r\n" + "".join(f"{i},x{i}\r\n" for i in range(3000)),
        '"a","b"\n' + "".join(f'{i},"x{i}"\n' for i in range(3000)),
        "a,b\n" + "".join(f'{i},"x{i}"\n' for i in range(3000)) + "3000,y",
    ],
    ids=["unquoted", "crlf", "quoted", "no-final-newline"],
)
def test_a_file_of_one_record_per_line_is_not_walked_again(
    text: str, streamed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walking a file record by record in Python costs seconds per million rows: a file
    read one row per line, ending outside quotes, is read once, by pyarrow."""
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 2048)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 4096)
    if streamed:
        monkeypatch.setattr(csvblocks, "cuttable", lambda *_: False)

    def walked(*_: Any) -> Any:
        raise AssertionError("the file was walked record by record")

    monkeypatch.setattr(csv_reader, "scan", walked)
    monkeypatch.setattr(csv_reader, "padded", walked)
    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode())
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    rows = sum(t.num_rows for t in reader.batches({"a": pa.int64()}, ["a", "b"], 100))
    assert rows == text.count("\n") - 1 + (not text.endswith("\n"))
    assert reader.lines({1, rows}) == {1: 2, rows: rows + 1}


def test_values_over_several_lines_are_walked_only_to_find_a_failing_rows_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text column whose values span lines: read once by pyarrow; when a row's line is
    asked for, only the block holding it is walked, from where that block starts."""
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 4096)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 4096)
    walks: list[tuple[set[int], Any]] = []
    scan = csv_reader.scan

    def walked(path: Path, rows: set[int], place: Any = None) -> Any:
        walks.append((rows, place))
        return scan(path, rows, place)

    monkeypatch.setattr(csv_reader, "scan", walked)
    text = "id,review\n" + "".join(f'{i},"good\nvery ""good"""\n' for i in range(1, 2001))
    path = tmp_path / "reviews.csv"
    path.write_text(text)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    tables = list(reader.batches({"id": pa.int64()}, ["id", "review"], 100))
    assert len(tables) > 10
    assert pa.concat_tables(tables)["review"][1999].as_py() == 'good\nvery "good"'
    assert walks == []
    assert reader.lines({1, 2, 1500, 2000}) == {1: 2, 2: 4, 1500: 3000, 2000: 4000}
    assert len(walks) == 3 and all(place is not None for _, place in walks)
    assert max(max(rows) for rows, _ in walks) < 200  # rows counted in their block
    assert max(place.byte for _, place in walks) > path.stat().st_size * 3 // 4


@pytest.mark.parametrize("seed", range(3))
def test_lines_ending_every_way_in_one_file_are_cut_into_blocks(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LF, CRLF and lone CR line ends mixed in one file: read in blocks, not by the streaming
    reader, with pandas' values, and each row's line counted as a line end of any kind ends
    a line."""
    import re

    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 256)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 256)

    def streaming(*_: Any) -> Any:
        raise AssertionError("the streaming reader read a file cut into blocks")

    monkeypatch.setattr(csv_reader.CsvReader, "_stream", streaming)
    rng = random.Random(seed)
    rows = [f'{i},"v{i}",{rng.choice(["x", "5 in", ""])}' for i in range(400)]
    ends = [rng.choice(["\n", "\n", "\r\n", "\r"]) for _ in rows]
    text = "a,b,c\n" + "".join(row + end for row, end in zip(rows, ends, strict=True))
    data = text.encode()
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    tables = list(reader.batches({"a": pa.int64()}, ["a", "b", "c"], 10))
    assert len(tables) > 10
    expected = pd.read_csv(io.BytesIO(data), dtype=object)
    read = pa.concat_tables(tables).to_pydict()
    assert read["a"] == [int(v) for v in expected["a"]]
    assert [_plain(v) for v in read["c"]] == [_plain(v) for v in expected["c"]]
    assert len(re.findall(r"\r\n|\r|\n", text)) == 401
    assert reader.lines({1, 200, 400}) == {1: 2, 200: 201, 400: 401}


def _big_record_file(lines: int) -> str:
    """300 short records, one of about 1.2 KB over ``lines`` lines, then records over two
    lines."""
    big = '"' + "\n".join(["word, " * (200 // lines)] * lines) + '"'
    rows = [f"{i},v{i}" for i in range(300)] + [f"300,{big}"]
    rows += [f'{i},"w{i}\nsecond line"' for i in range(301, 350)]
    rows += [f"{i},u" for i in range(350, 400)]
    return "a,b\n" + "\n".join(rows) + "\n"


def _record_starts(text: str) -> list[int]:
    """The line each record starts on, the header's first (Python's ``csv`` module)."""
    import csv

    records = csv.reader(io.StringIO(text, newline=""))
    starts, line = [], 1
    for _ in records:
        starts.append(line)
        line = records.line_num + 1
    return starts


@pytest.mark.parametrize("lines", [1, 12])
@pytest.mark.parametrize("largest", [512, 1 << 20])
def test_a_record_larger_than_a_block(
    largest: int, lines: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record larger than a block is read in a block four times as large, and the blocks go
    on; larger than the largest block, it stops them, and the streaming reader reads on from
    that record. Either way the values are pandas', and a row's line is right on either side."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 512)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 512)
    monkeypatch.setattr(csvblocks, "_LARGEST", largest)
    streamed: list[int] = []
    stream = csv_reader.CsvReader._stream

    def streaming(self: Any, header: Any, convert: Any, size: int, read: Any, *rest: Any) -> Any:
        streamed.append(read.rows)
        return (yield from stream(self, header, convert, size, read, *rest))

    monkeypatch.setattr(csv_reader.CsvReader, "_stream", streaming)
    text = _big_record_file(lines)
    path = tmp_path / "big.csv"
    path.write_text(text)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    read = pa.concat_tables(list(reader.batches({"a": pa.int64()}, ["a", "b"], 10))).to_pydict()
    expected = pd.read_csv(io.StringIO(text), dtype=object)
    assert read["a"] == list(range(400))
    assert read["b"] == list(expected["b"])
    if largest == 512:
        assert len(streamed) == 1 and 0 < streamed[0] <= 300  # blocks first, then the stream
    else:
        assert streamed == []
    starts = _record_starts(text)
    wanted = {1, 250, 301, 302, 349, 400}
    assert reader.lines(wanted) == {row: starts[row] for row in wanted}


def _over_many_lines(lines: int, rows: int = 300) -> bytes:
    """Rows, one value over ``lines`` lines of one character (each line reads the same
    inside a quoted value and out of one), more rows; then another such value, last."""
    value = '"' + "x\n" * lines + '"'
    before = "".join(f"{i},v\n" for i in range(rows))
    after = "".join(f"{i},w\n" for i in range(rows, 2 * rows))
    return f"a,b\n{before}{rows * 2},{value}\n{after}{rows * 2 + 1},{value}\n".encode()


def test_a_value_over_many_lines_is_cut_around_from_one_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the lines before a cut read alike inside a quoted value and out of one, the
    look-back reads back to the block's start once, and that one reading tells where the
    block's last record ends: the block is not read again for each newline before it."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 1 << 15)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 1 << 15)
    monkeypatch.setattr(csvblocks, "_LOOK_LIMIT", 1 << 16)
    parsed = [0]  # characters read by Python's csv module to settle cuts
    for name in ("ends_record", "last_record_end"):
        settle = getattr(csvblocks, name, None)
        if settle is None:
            continue

        def counted(lines: list[str], settle: Any = settle, **inside: bool) -> Any:
            parsed[0] += sum(map(len, lines))
            return settle(lines, **inside)

        monkeypatch.setattr(csvblocks, name, counted)

    def streaming(*_: Any) -> Any:
        raise AssertionError("the streaming reader read a file cut into blocks")

    monkeypatch.setattr(csv_reader.CsvReader, "_stream", streaming)
    data = _over_many_lines(12_000)  # each value about 24 KiB: most of a block
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    read = pa.concat_tables(list(reader.batches({}, ["a", "b"], 50))).to_pydict()
    expected = pd.read_csv(io.BytesIO(data), dtype=object)
    assert read == {column: list(expected[column]) for column in ["a", "b"]}
    # the cuts, and the last record's end: a few readings of a block, not one per newline
    assert parsed[0] < 4 * len(data), (parsed[0], len(data))


@pytest.mark.parametrize("closed", [True, False])
def test_the_end_of_a_value_longer_than_the_look_back_is_settled_from_the_last_block(
    closed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose last value spans more lines than the look-back reads is not walked
    from its start to learn whether that value is closed: read back to the last block's
    start (a record's start) at most, the answer is certain. One left open is refused."""
    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 1 << 14)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 1 << 14)
    monkeypatch.setattr(csvblocks, "_LOOK_LIMIT", 1 << 13)
    walks: list[Any] = []
    scan = csv_reader.scan

    def walked(*args: Any) -> Any:
        walks.append(args)
        return scan(*args)

    monkeypatch.setattr(csv_reader, "scan", walked)
    data = _over_many_lines(6_000)  # 12 KiB: more than the look-back, less than a block
    data = data if closed else data.rstrip(b'"\n') + b"\n"
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    if closed:
        assert sum(t.num_rows for t in reader.batches({}, ["a", "b"], 50)) == 602
        assert walks == []
    else:
        with pytest.raises(DataError, match="malformed CSV"):
            list(reader.batches({}, ["a", "b"], 50))
        assert len(walks) == 1  # walked once, to name the line where the open value starts


def test_every_record_the_blocks_read_the_walk_reads_too(tmp_path: Path) -> None:
    """A value of 20 MiB (a block grows to 32 MiB to hold it): read, and a failing row
    after it in a file that is not one line per row gets its line, found by walking the
    records from the start of its block."""
    import pyarrow as pa

    from mlgitops.data import csvblocks, csvscan

    assert csvblocks._LARGEST <= csvscan.FIELD_LIMIT
    value = "v" * (20 << 20)
    path = tmp_path / "big.csv"
    path.write_text(f'a,b\n1,"{value}"\n\n2,x\n3,"y\nz"\n')
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    read = pa.concat_tables(list(reader.batches({"a": pa.int64()}, ["a", "b"], 10)))
    assert read["a"].to_pylist() == [1, 2, 3]
    assert len(read["b"][0].as_py()) == len(value)
    assert reader.lines({1, 2, 3}) == {1: 2, 2: 4, 3: 5}


@pytest.mark.parametrize("quoted", [True, False])
def test_a_record_over_the_limit_is_refused_saying_so(quoted: bool, tmp_path: Path) -> None:
    """Over 32 MiB in one record (far beyond pyarrow's default of 1 MiB) is bad input, and
    the message names the limit, the line, and the likeliest cause."""
    from mlgitops.data import csvscan

    value = "v" * (csvscan.FIELD_LIMIT + 10)
    written = f'"{value}"' if quoted else value
    path = tmp_path / "huge.csv"
    path.write_text(f"a,b\n1,x\n2,{written}\n3,y\n")
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    with pytest.raises(DataError) as caught:
        list(reader.batches({}, ["a", "b"], 10))
    assert str(caught.value) == (
        f"{path}:3: a record longer than 32 MiB ({csvscan.FIELD_LIMIT:,} characters), the most "
        "one record may hold here (a quote left open takes in the rest of the file)"
    )


@pytest.mark.parametrize("eol", ["\n", "\r"])  # in blocks; by the streaming reader
def test_text_that_is_not_utf8_is_bad_input_in_a_column_no_one_asked_for(
    eol: str, tmp_path: Path
) -> None:
    """pandas refuses the whole file when any column's text is not UTF-8; so does reading
    a column of it (``strict: false`` schemas declare some columns only), naming the line.
    Once a read went through the file, others read only the columns they ask for."""
    import pyarrow as pa

    from mlgitops.validation.engine import Limits, validate
    from mlgitops.validation.schema import from_yaml_text

    schema = "schema_type: dataframe\ncolumns:\n  a: {dtype: int64, unique: true}\nstrict: false\n"
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,notes\n1,fine\n2,\xff\xfe\n3,ok\n".replace(b"\n", eol.encode()))
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    with pytest.raises(DataError, match=r"d.csv:3: not UTF-8 text"):
        validate(reader, from_yaml_text("s.yaml", schema), Limits(chunk_rows=2))

    path.write_bytes("a,notes\n1,fine\n2,héllo\n3,ok\n".replace("\n", eol).encode())
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    assert validate(reader, from_yaml_text("s.yaml", schema), Limits(chunk_rows=2)).passed
    tables = list(reader.batches({"a": pa.int64()}, ["a"], 2))
    assert tables and all(t.column_names == ["a"] for t in tables)
    assert reader._all_decoded


@pytest.mark.parametrize("way", ["blocks", "stream", "exact"])
def test_a_byte_order_mark_starting_a_record_is_kept_as_pandas_keeps_it(
    way: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandas drops a byte-order mark only at the file's start; one that starts a later
    record is part of its first value. pyarrow drops one that starts the bytes it reads:
    the blocks (each starts at a record), the streaming reader from where a cut was not
    settled, and the exact path's pieces each start at a record whose mark stays."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader
    from mlgitops.data import csvblocks

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 2048)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 2048)
    monkeypatch.setattr(csvblocks, "_LOOK", 64)
    monkeypatch.setattr(csvblocks, "_LOOK_LIMIT", 256)
    ways: list[str] = []
    stream, padded = csv_reader.CsvReader._stream, csv_reader.CsvReader._padded

    def streaming(self: Any, *args: Any) -> Any:
        ways.append("stream")
        return (yield from stream(self, *args))

    def walking(self: Any, *args: Any) -> Any:
        ways.append("exact")
        return (yield from padded(self, *args))

    monkeypatch.setattr(csv_reader.CsvReader, "_stream", streaming)
    monkeypatch.setattr(csv_reader.CsvReader, "_padded", walking)
    bom = "\ufeff"
    records = "".join(f"{bom}{i},v{i}\n" for i in range(600))
    last = {"blocks": f"{bom}9,w\n", "stream": f'9,"{"x" + chr(10) * 3000}"\n', "exact": "9\n"}
    data = ("a,b\n" + records + last[way]).encode()
    path = tmp_path / "marks.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    read = pa.concat_tables(list(reader.batches({}, ["a", "b"], 50))).to_pydict()
    expected = pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=False)
    assert ways == ([] if way == "blocks" else [way])
    assert read["a"] == list(expected["a"])
    assert sum(value.startswith(bom) for value in read["a"]) >= 600


@pytest.mark.parametrize(
    "header",
    [
        ",Unnamed: 0,y",
        ",Unnamed: 0,Unnamed: 0.1,y",
        ",,Unnamed: 1,Unnamed: 0,y",
        "Unnamed: 2.1,x,,Unnamed: 2,y",
        ",x,y",
    ],
)
def test_a_name_left_empty_is_named_as_pandas_names_it_beside_the_names_written(
    header: str, tmp_path: Path
) -> None:
    """pandas calls an empty name ``Unnamed: <index>``, and where the header writes that
    name itself, gives the written one its name and the empty one the next free ``.<n>``."""
    import pandas as pd

    path = tmp_path / "d.csv"
    path.write_text(header + "\n" + ",".join(str(i) for i in range(header.count(",") + 1)) + "\n")
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    assert reader.columns() == list(pd.read_csv(path).columns)


@pytest.mark.parametrize("before", [1, 2])
def test_spaces_starting_a_record_stay_where_pandas_reads_a_new_piece_of_the_file(
    before: int, tmp_path: Path
) -> None:
    """pandas' C parser reads the file in pieces of 256 KiB, and drops the spaces that start
    a record where they lie before such a piece's start: there its value depends on a byte
    offset. Here it is the value as written, as Python's ``csv`` module and pyarrow read it
    (documented in docs/validate.md)."""
    import csv

    import pandas as pd

    piece = 1 << 18
    rows = [b"id,t,y\n"] + [b"r%d,abc,k\n" % i for i in range(1, 30_000)]
    body = b"".join(rows)
    body = body[: body.rindex(b"\n", 0, piece - before - 200) + 1]
    filler = piece - before - len(body) - len(b"f,,k\n")
    body += b"f,%s,k\n" % (b"a" * filler)
    assert len(body) == piece - before
    path = tmp_path / "d.csv"
    path.write_bytes(body + b"  rX,abc,k\nlast,abc,k\n")
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    ids = [v for t in reader.batches({}, ["id"], 100_000) for v in t.column("id").to_pylist()]
    with path.open(newline="") as handle:
        assert ids == [row[0] for row in list(csv.reader(handle))[1:]]
    assert ids[-2] == "  rX" != pd.read_csv(path)["id"].iloc[-2]
