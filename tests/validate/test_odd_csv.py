"""Odd but valid CSV files: read as pandas reads them, validated as pandera validates them.

Every file here is one pandas reads without complaint (quotes inside unquoted
values, quoted newlines, CRLF, CR, a byte-order mark, blank lines, text after
a closing quote, ...). For each, the reader's values must equal pandas' values,
``validate`` must find exactly what plain pandera finds on pandas' frame, and
each failure's line must be the physical line where the offending record
starts. The hand-written parts (block cutting, line numbers) are tested against
the library, never against themselves.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pandera.errors import SchemaErrors

from mlgitops.data import open_data
from mlgitops.validation.engine import Limits, validate
from mlgitops.validation.schema import from_yaml_text

SCHEMA = """\
schema_type: dataframe
columns:
  id: {dtype: int64, unique: true}
  age: {dtype: int64, in_range: {min_value: 0, max_value: 120}}
  note: {dtype: str, nullable: true}
  plan: {dtype: str, isin: [free, pro, team]}
coerce: true
strict: true
"""
HEAD = b"id,age,note,plan"


def _many(rows: int, short_every: int = 0, quotes: bool = True) -> bytes:
    """Many records whose quotes and newlines fall across the reader's blocks.

    With ``short_every``, every such record ends after its note (no plan field),
    as pandas reads it: a null plan.
    """
    notes = [b"plain", b'5" tall', b'"two\nlines"', b'"a ""quoted"" word"', b'x"y"']
    out = [HEAD]
    for i in range(1, rows + 1):
        age = 130 if i % 9_973 == 0 else 20 + i % 50
        note = notes[i % 5] if quotes else b"n%d" % (i % 7)
        plan = b"gold" if i % 12_345 == 0 else [b"free", b"pro", b"team"][i % 3]
        if short_every and i % short_every == 0:
            out.append(b"%d,%d,%s" % (i, age, note))
        else:
            out.append(b"%d,%d,%s,%s" % (i, age, note, plan))
    return b"\n".join(out) + b"\n"


CASES: dict[str, bytes] = {
    "lone_inch_mark": HEAD + b'\n1,34,5" tall,free\n2,130,b,pro\n3,5,c,team\n',
    "inch_marks": HEAD + b'\n1,34,5" tall,free\n2,130,6" wide,pro\n3,41,ok,team\n',
    "quotes_inside_values": HEAD
    + b'\n1,34,say "hi" twice,free\n2,130,ends with",pro\n3,41,a"b"c",gold\n',
    "quoted_newlines": HEAD
    + b'\n1,34,"two\nlines",free\n2,52,"three\n\nlines",pro\n3,130,plain,team\n',
    "crlf": HEAD + b'\r\n1,34,"a\r\nb",free\r\n2,130,c,pro\r\n3,5,d,gold\r\n',
    "cr_only": HEAD + b"\r1,34,a,free\r2,130,b,pro\r3,7,c,team\r",
    "bom": b"\xef\xbb\xbf" + HEAD + b"\n1,34,a,free\n2,130,b,pro\n",
    "bom_crlf_quoted": b"\xef\xbb\xbf"
    + HEAD
    + b'\r\n1,34,"x\r\ny",free\r\n2,130,"5"" tall",pro\r\n',
    "doubled_quotes": HEAD + b'\n1,34,"say ""hi""",free\n2,130,"""",pro\n3,9,"""""",gold\n',
    "text_after_closing_quote": HEAD + b'\n1,34,"abc"def,free\n2,130,x,pro\n',
    "blank_and_whitespace_lines": HEAD + b"\n\n1,34,a,free\n   \n2,130,b,pro\n\n\t\n3,4,c,team\n\n",
    "no_final_newline": HEAD + b'\n1,34,a,free\n2,130,"b\nc",pro',
    "quoted_delimiters": HEAD + b'\n1,34,"a,b",free\n2,130,"c,""d"",e",gold\n',
    "unicode": 'id,age,note,plan\n1,34,héllo "wörld",free\n2,130,日本,pro\n'.encode(),
    "quoted_numbers": HEAD + b'\n"1","34",a,"free"\n"2","130",b,pro\n',
    "empty_and_null_like": HEAD + b'\n1,34,,free\n2,130,"",pro\n3,5,NA,team\n4,6,None,free\n',
    "many_records": _many(60_000),
    "short_records": HEAD + b"\n1,34,a\n2,130\n3,5,c,team\n4,6\n5,7\n",
    "short_records_crlf_quoted": HEAD
    + b'\r\n1,34,"two\r\nlines"\r\n2,130,b,pro\r\n3,5\r\n\r\n4,7,"x,y",gold\r\n',
    "short_records_cr_only": HEAD + b"\r1,34,a\r2,130,b,pro\r3,5",
    "quoted_header_plain_data": b'"id","age","note","plan"\n1,34,a,free\n2,130,b,pro\n',
    "quoted_header_blank_lines": b'"id","age","note","plan"\n1,34,a,free\n\n2,130,b,pro\n',
    "blank_lines_before_header": b"\n  \n" + HEAD + b"\n1,34,a,free\n2,130,b,pro\n",
    "value_larger_than_a_block": HEAD
    + b'\n1,34,"'
    + b"long\n" * 1_200_000
    + b'",free\n2,130,b,pro\n3,4\n',
    "quoted_newlines_over_many_blocks": _many(120_000),
    "quoted_crlf_over_many_blocks": _many(120_000).replace(b"\n", b"\r\n"),
    "short_records_after_many_blocks": _many(60_000, short_every=7_919),
    "short_records_unquoted_after_many_blocks": _many(60_000, short_every=7_919, quotes=False),
}
TYPES = {"id": "int64", "age": "int64", "note": "string", "plan": "string"}
CHUNK_ROWS = 500  # small chunks: blocks end in the middle of everything above


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, bytes, Path]:
    name: str = request.param
    path = tmp_path / f"{name}.csv"
    path.write_bytes(CASES[name])
    return name, CASES[name], path


def _pandas(data: bytes) -> Any:
    import pandas as pd

    return pd.read_csv(io.BytesIO(data), dtype={"note": object, "plan": object})


def _plain(value: Any) -> Any:
    import pandas as pd

    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def test_values_equal_pandas(case: tuple[str, bytes, Path], tmp_path: Path) -> None:
    import pyarrow as pa

    _, data, path = case
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    types = {name: getattr(pa, kind)() for name, kind in TYPES.items()}
    tables = list(reader.batches(types, list(TYPES), CHUNK_ROWS))
    ours = pa.concat_tables(tables).to_pydict()
    expected = _pandas(data)
    assert reader.columns() == list(expected.columns)
    for column in TYPES:
        assert [_plain(v) for v in ours[column]] == [_plain(v) for v in expected[column]], column


def _pandera(data: bytes) -> dict[tuple[str, str], list[int]]:
    import pandera.pandas as pa

    schema = from_yaml_text("schema.yaml", SCHEMA).pandera
    try:
        schema.validate(_pandas(data), lazy=True)
    except pa.errors.SchemaErrors as exc:
        found: dict[tuple[str, str], list[int]] = {}
        for row in exc.failure_cases.itertuples():
            found.setdefault((row.column, row.check), []).append(int(row.index) + 1)
        return {key: sorted(rows) for key, rows in found.items()}
    return {}


def _physical_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig")
    return re.split(r"\r\n|\r|\n", text)


def assert_pandera_s_verdict(outcome: Any, data: bytes, *, quoted_ids: bool = True) -> None:
    """``outcome`` finds what plain pandera finds on pandas' frame of ``data``, and each
    failure's line is the physical line where its record (``id,`` or ``"id",``) starts."""
    expected = _pandera(data)
    assert expected, "every case has a failure whose line is checked"
    assert outcome.rows == len(_pandas(data))
    ours = {(f.column, f.check): f for f in outcome.failures}
    assert set(ours) == set(expected)
    frame, lines = _pandas(data), _physical_lines(data)
    for key, rows in expected.items():
        failure = ours[key]
        assert failure.failing_rows == len(rows), key
        assert [e.row for e in failure.examples] == rows[:5], key
        for example in failure.examples:
            record_id = str(frame["id"].iloc[example.row - 1])
            assert example.line is not None, key
            opening = lines[example.line - 1]
            starts = (f"{record_id},", f'"{record_id}",') if quoted_ids else f"{record_id},"
            assert opening.startswith(starts), (key, opening)


def test_validation_equals_plain_pandera(case: tuple[str, bytes, Path], tmp_path: Path) -> None:
    _, data, path = case
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    outcome = validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    assert_pandera_s_verdict(outcome, data)


#: Integers written in hexadecimal: pyarrow reads ``0x1e`` as 30, pandas reads it as text,
#: and pandera's coercion to int64 fails. Read in blocks, by the streaming reader (line ends
#: of a lone CR) and on the exact path (short records).
HEX_CASES = {
    "hex": HEAD + b"\n1,34,a,free\n2,0x1e,b,pro\n0x3,13,c,team\n",
    "hex_upper_cr_only": HEAD + b"\r1,34,a,free\r2,0X1E,b,pro\r3,7,c,team\r",
    "hex_short_records": HEAD + b"\n1,34,a\n2,0x1e\n3,5,c,team\n",
    "hex_after_many_blocks": _many(60_000).replace(b"\n54777,", b"\n0xd5f9,", 1),
}


#: Records that start with a byte-order mark after the header: pandas keeps it in the id
#: (text, which pandera's coercion to int64 refuses); pyarrow drops one that starts the
#: bytes it reads. In blocks (every block starts with one), on the exact path, and by the
#: streaming reader (lone CRs: the marks are inside what it reads).
BOM_CASES = {
    "bom_after_the_header": HEAD + b"\n\xef\xbb\xbf1,34,a,free\n2,130,b,pro\n",
    "bom_on_every_record": _many(60_000).replace(b"\n", b"\n\xef\xbb\xbf")[:-3],
    "bom_short_records": HEAD + b"\n\xef\xbb\xbf1,34,a\n2,130\n3,5,c,team\n",
    "bom_cr_only": HEAD + b"\r\xef\xbb\xbf1,34,a,free\r2,130,b,pro\r",
}


@pytest.mark.parametrize("name", sorted(BOM_CASES))
def test_a_byte_order_mark_starting_a_record_fails_as_in_plain_pandera(
    name: str, tmp_path: Path
) -> None:
    _fail_as_text_in_plain_pandera(name, BOM_CASES[name], "\ufeff", tmp_path)


@pytest.mark.parametrize("name", sorted(HEX_CASES))
def test_integers_written_in_hexadecimal_fail_as_in_plain_pandera(
    name: str, tmp_path: Path
) -> None:
    _fail_as_text_in_plain_pandera(name, HEX_CASES[name], "0x", tmp_path)


def _fail_as_text_in_plain_pandera(name: str, data: bytes, start: str, tmp_path: Path) -> None:
    """Integers pandas reads as text (they start with ``start``, in any case) fail ``dtype``
    on the rows pandera's coercion refuses, each with its record's line."""
    path = tmp_path / f"{name}.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    outcome = validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    frame, lines = _pandas(data), _physical_lines(data)
    expected = {
        (column, row + 1, value)
        for column in ("id", "age")
        for row, value in enumerate(frame[column])
        if isinstance(value, str) and value.lower().startswith(start)
    }
    assert expected, "the case writes an integer pandas reads as text"
    found = {f.column: f for f in outcome.failures if f.check == "dtype('int64')"}
    assert set(found) == {column for column, _, _ in expected}
    for column, failure in found.items():
        wanted = sorted((row, value) for name, row, value in expected if name == column)
        assert failure.failing_rows == len(wanted)
        assert [(e.row, e.value) for e in failure.examples] == wanted[: len(failure.examples)]
        assert len(failure.examples) == min(len(wanted), 5)
    for failure in outcome.failures:
        for example in failure.examples:
            assert example.line is not None
            opening = lines[example.line - 1]
            assert opening.startswith(f"{frame['id'].iloc[example.row - 1]},"), opening
    with pytest.raises(SchemaErrors) as plain:  # plain pandera fails the file too
        from_yaml_text("schema.yaml", SCHEMA).pandera.validate(frame, lazy=True)
    coerced = plain.value.failure_cases.query("check == \"coerce_dtype('int64')\"")
    assert {(c, v) for c, v in zip(coerced["column"], coerced["failure_case"], strict=True)} == {
        (column, value) for column, _, value in expected
    }


@pytest.mark.parametrize("seed", range(3))
def test_fields_starting_like_a_hexadecimal_number_are_found_as_a_pattern_finds_them(
    seed: int,
) -> None:
    """:func:`csvparse.hexadecimal` (a search for an x first, then numpy) against a regular
    expression over the same bytes, cut at the same length."""
    import random

    from mlgitops.data.csvparse import hexadecimal

    rng = random.Random(seed)
    for _ in range(2_000):
        data = bytes(rng.choice(b'0xX,\n\r" \t1a') for _ in range(rng.randint(0, 12)))
        length = rng.randint(0, len(data))
        pattern = re.search(rb'(?:^|[,\n\r" \t])0[xX]', data[:length])
        assert hexadecimal(bytearray(data), length) is (pattern is not None), (data, length)
        assert hexadecimal(data) is (re.search(rb'(?:^|[,\n\r" \t])0[xX]', data) is not None)


def test_a_text_that_starts_like_a_hexadecimal_number_leaves_pandera_s_verdict(
    tmp_path: Path,
) -> None:
    """The integer columns are read again as text, and judged as before."""
    data = HEAD + b"\n1,34,0xdeadbeef,free\n2,130,0X,pro\n3,5,c,team\n"
    path = tmp_path / "text.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    outcome = validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    assert_pandera_s_verdict(outcome, data)
    assert [(f.column, f.check) for f in outcome.failures] == [("age", "in_range(0, 120)")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HEAD + b'\n1,34,a,free\n2,52,"open,pro\n3,41,c,team\n', ":3: malformed CSV"),
        (HEAD + b"\n1,34,a,free\n2,52,b,pro,extra\n", ":3: expected 4 fields, found 5"),
        (HEAD + b"\n1,34\n\n2,52,b,pro,extra\n", ":4: expected 4 fields, found 5"),
        (_many(3_000, short_every=7, quotes=False) + b"9,9,a,b,c\n", ":3002: expected 4 fields"),
        # the file ends inside a quoted value (cut short): pyarrow reads it as closed there
        (HEAD + b'\n1,34,a,free\n2,52,b,"pro', ":3: malformed CSV"),
        (HEAD + b'\n1,34,a,free\n2,52,b,"pro\n', ":3: malformed CSV"),
        (HEAD + b'\n1,34,a,free\n2,52,"c"d,"open\nx\n', ":3: malformed CSV"),
        (_many(3_000) + b'9,9,a,"open', ":3602: malformed CSV"),
        (_many(3_000, quotes=False) + b'9,9,a,"open', ":3002: malformed CSV"),
    ],
)
def test_files_pandas_rejects_are_rejected_with_their_line(
    data: bytes, message: str, tmp_path: Path
) -> None:
    from mlgitops.errors import DataError

    with pytest.raises(Exception):  # noqa: B017 - what pandas says is not ours to match
        _pandas(data)
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    with pytest.raises(DataError) as caught:
        validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    assert message in str(caught.value)


def test_a_delimiter_ending_every_record_is_refused_not_read_as_an_index(tmp_path: Path) -> None:
    """pandas reads it, taking each record's first value for the row's index and moving
    every value one column left: data nobody wrote. Refused, saying what it looks like."""
    from mlgitops.errors import DataError

    data = HEAD + b"\n1,34,a,free,\n2,52,b,pro,\n"
    assert list(_pandas(data)["id"]) == [34, 52]  # what pandas makes of it
    path = tmp_path / "trailing.csv"
    path.write_bytes(data)
    reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
    with pytest.raises(DataError) as caught:
        validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
    assert str(caught.value).endswith(
        "trailing.csv:2: expected 4 fields, found 5 "
        "(the record ends in a delimiter the header does not have)"
    )


def test_a_header_that_repeats_many_names_is_refused_in_a_message_of_a_few_lines(
    tmp_path: Path,
) -> None:
    """A file that is no CSV (JSON records, say) makes a header of thousands of repeated
    names: the message named every one and its every column, tens of kilobytes."""
    from mlgitops.errors import DataError

    names = [f"n{i % 8}" for i in range(4_000)]
    path = tmp_path / "records.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    with pytest.raises(DataError) as caught:
        open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path).columns()
    assert str(caught.value) == (
        f"{path}: the header names a column more than once: 'n0' (columns 1, 9, 17, 25, "
        "33, … 500 in all); 'n1' (columns 2, 10, 18, 26, 34, … 500 in all); 'n2' (columns "
        "3, 11, 19, 27, 35, … 500 in all); 'n3' (columns 4, 12, 20, 28, 36, … 500 in all); "
        "'n4' (columns 5, 13, 21, 29, 37, … 500 in all); and 3 more names; each column "
        "needs a name of its own"
    )


def test_a_header_one_name_short_of_every_record_is_refused_saying_why(tmp_path: Path) -> None:
    """R's ``write.table(sep=",")`` writes row names without a name in the header: pandas
    takes each record's first value for the row's index. Refused, naming the header's
    missing name as the cause; a later record's extra field is not that."""
    from mlgitops.errors import DataError

    written = b'"id","age","name","plan"\n"1",1,34,"a","free"\n"2",2,52,"b","pro"\n'
    assert list(_pandas(written)["id"]) == [1, 2]  # the row names are pandas' index
    for data, why in ((written, True), (HEAD + b"\n1,34,a,free\n2,52,b,pro,extra\n", False)):
        path = tmp_path / "names.csv"
        path.write_bytes(data)
        reader = open_data(tmp_path, str(path), fmt="csv", workdir=tmp_path)
        with pytest.raises(DataError) as caught:
            validate(reader, from_yaml_text("schema.yaml", SCHEMA), Limits(CHUNK_ROWS))
        told = str(caught.value)
        assert (
            told.endswith(
                "names.csv:2: expected 4 fields, found 5 (the header has no name for the first "
                "column, as R's write.table writes row names, which pandas reads as the index: "
                'name it, "" if need be)'
            )
            is why
        ), told


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])  # cut into blocks; the streaming reader
def test_a_read_stopped_early_lets_the_process_exit(eol: bytes, tmp_path: Path) -> None:
    """pyarrow reads ahead on threads of its own: none may be left inside Python at exit."""
    import subprocess
    import sys

    path = tmp_path / "many.csv"
    path.write_bytes(_many(120_000).replace(b"\n", eol))
    code = (
        "from pathlib import Path\n"
        "from mlgitops.data import open_data\n"
        f"reader = open_data(Path('.'), {str(path)!r}, fmt='csv', workdir=Path('.'))\n"
        "batches = reader.batches({}, reader.columns(), 1000)\n"
        "print(next(batches).num_rows > 0)\n"
        "batches.close()\n"
        "print(sum(b.num_rows for b in reader.batches({}, reader.columns(), 1000)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "True\n120000\n", "")
