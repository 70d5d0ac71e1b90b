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


def _file(rng: random.Random) -> tuple[list[str], bytes]:
    width = rng.randint(1, 4)
    names = [rng.choice([f"c{i}"] * 3 + [""] * (width > 1)) for i in range(width)]
    columns = [name or f"Unnamed: {i}" for i, name in enumerate(names)]  # as pandas names them
    eol = rng.choice(["\n", "\r\n", "\r"])
    rows = [
        ",".join(rng.choice(VALUES) for _ in range(rng.choice([width] * 4 + [1, width - 1])))
        for _ in range(rng.randint(1, 8))
    ]
    if eol == "\r":  # no blank line (see above): a record of one empty field would be one
        rows = [row if row.strip(" \t") else "a" for row in rows]
    elif rng.random() < 0.3:
        rows.insert(rng.randrange(len(rows) + 1), rng.choice(["", "  "]))
    text = ",".join(names) + eol + eol.join(rows) + rng.choice([eol, ""])
    if rng.random() < 0.2:
        text = "\ufeff" + text
    return columns, text.encode("utf-8")


def _plain(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


@pytest.mark.parametrize("seed", range(8))
def test_random_odd_files_read_as_pandas_reads_them(seed: int, tmp_path: Path) -> None:
    import pandas as pd
    import pyarrow as pa

    rng = random.Random(seed)
    compared = 0
    for trial in range(60):
        columns, data = _file(rng)
        try:
            expected = pd.read_csv(io.BytesIO(data), dtype=object)
        except (ValueError, pd.errors.ParserError):
            continue  # pandas refuses it too
        if list(expected.columns) != columns:
            continue  # pandas took a quoted newline in the header differently
        path = tmp_path / f"{seed}-{trial}.csv"
        path.write_bytes(data)
        reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
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


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_a_line_end_inside_quotes_split_between_blocks_stays_whole(
    eol: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow's streaming reader drops the LF of a quoted CRLF whose CR ends a block it
    reads; wherever the blocks fall, the value keeps both characters."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.data import csv as csv_reader

    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 64)
    monkeypatch.setattr(csv_reader, "_BLOCK_LIMIT", 64)
    for pad in range(40, 140):
        data = b"a,b" + eol + b'1,"' + b"y" * pad + b'\r\nz"' + eol + b"2,w" + eol
        path = tmp_path / f"{pad}.csv"
        path.write_bytes(data)
        reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
        read = pa.concat_tables(list(reader.batches({"b": pa.string()}, ["a", "b"], 1)))
        expected = pd.read_csv(io.BytesIO(data), dtype=object)
        assert read.column("b").to_pylist() == list(expected["b"]), pad
