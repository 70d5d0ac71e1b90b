"""Random small files with odd CSV and numbers written many ways: plain pandera's verdict.

Each file mixes what exports contain: quoted and unquoted values, quoted newlines,
LF, CRLF or CR line endings (or all three in one file), a byte-order mark, blank
lines, numbers written ``5``, `` 5``, ``+5``, ``05``, ``5.0``, ``1e1``, ``2_0`` or
quoted, ``nan`` and ``inf``, ids that repeat in another spelling, gaps, booleans written six ways,
values out of range, too long or outside the allowed set. Whenever
pandas reads a file, ``validate`` (in chunks of three rows) must find exactly
what ``schema.validate`` finds on pandas' frame: the same checks on the same
columns, failing on the same rows, each on the line where its record starts.
Seeded, so a failure names a file that can be replayed.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

from mlgitops.data import open_data
from mlgitops.errors import DataError
from mlgitops.validation import failures, text_numbers, uniqueness
from mlgitops.validation.engine import Limits, validate
from mlgitops.validation.rules import with_schema_dtype
from mlgitops.validation.schema import Schema, from_yaml_text
from tests.validate.test_odd_csv import SCHEMA as TEXT_AND_COUNTS

EVERY_KIND = """\
schema_type: dataframe
columns:
  id: {dtype: int64, unique: true}
  x: {dtype: float64, nullable: true, checks: {in_range: {min_value: -10, max_value: 10}}}
  n: {dtype: Int64, nullable: true, checks: {greater_than_or_equal_to: 0}}
  flag: {dtype: bool}
  s: {dtype: str, nullable: true, checks: {str_length: {min_value: 1, max_value: 5}}}
  k: {dtype: int64, checks: {isin: [1, 2, 3]}}
coerce: true
strict: true
"""
#: Gaps written many ways, and dates written two ways in one format, in unique columns:
#: pandera's coercion makes ``NAN``, ``NaT`` and an empty cell one gap, ``9:00`` 09:00.
UNIQUE_GAPS = """\
schema_type: dataframe
columns:
  id: {dtype: int64, unique: true}
  score: {dtype: float64, nullable: true, unique: true}
  day: {dtype: "datetime64[ns]", nullable: true, unique: true}
  at: {dtype: "datetime64[ns]", nullable: true}
unique: [at, id]
coerce: true
"""
#: The schema's own dtype, which pandera gives every column it declares (over their own), and
#: with ``coerce`` every other column of the frame too.
SCHEMA_WIDE = """\
schema_type: dataframe
dtype: float64
columns:
  x: {nullable: true, checks: {in_range: {min_value: -10, max_value: 10}}}
  y: {dtype: int64, greater_than: 0}
coerce: true
"""
#: No column declared: pandera judges every column of the frame as the schema's dtype.
SCHEMA_WIDE_ALONE = "schema_type: dataframe\ndtype: float64\ncoerce: true\n"
NUMBERS = ["5", " 5", "5 ", "+5", "05", "5.0", "1e1", "-3", "130", "7", "12", "0", '"6"', '" 6"']
NOTES = ["a", "b c", '"q,r"', '"two\nlines"', '5" tall', '"say ""hi"""', "", 'x"y', '"cr\r\nlf"']
#: (schema, the values each column is written with; ids are mostly 1-29, each once)
SHAPES = {
    "text-and-counts": (
        TEXT_AND_COUNTS,
        {
            "id": NUMBERS,
            "age": NUMBERS,
            "note": [*NOTES, "héllo", "NA"],
            "plan": ["free", "pro", "team", "gold", '"pro"', "", " free"],
        },
    ),
    "every-kind": (
        EVERY_KIND,
        {
            "id": ["5", "5.0", "+5", " 5", "05"],
            "x": ["1.5", "-2", "10", "10.5", "-11", "1e1", "+.5", " 3.25", "nan", "inf", "", "NA",
                  "2_0", '"4"', "1.0000000001"],
            "n": ["0", "1", "-1", "", "2.0", " 7", "+3", "NA", "1e2"],
            "flag": ["True", "False", "true", "FALSE", "1", "0", ""],
            "s": ["a", "abcde", "abcdef", "", '"x,y"', '"q""r"', "héllo", "  ", '"two\nl"'],
            "k": ["1", "2", "3", "4", "2.0", " 1", "+3", "0"],
        },
    ),
}  # fmt: skip
UNIQUE_GAP_VALUES = {
    "id": ["1", "2", "3"],
    "score": ["1.5", "NAN", "", "nan", "Nan", "2.5", "-0", "0", "NA"],
    "day": ["2024-01-05", "2024-01-5", "2024-01-06", "NaT", "", "nat", "NAT", "NA"],
    "at": ["2024-01-05 09:00:00", "2024-01-05 9:00:00", "2024-01-05 9:0:0", "NaT", ""],
}
#: (schema, the values each column is written with, the words among them: a word is one
#: failure here, two in pandera, whose other checks of its column then do not run)
SCHEMA_WIDE_SHAPES = {
    "declared-and-coerced": (
        SCHEMA_WIDE,
        {
            "id": NUMBERS,
            "x": ["1.5", "-2", "11", "", "NA", "word", "1e1", " 3"],
            "y": ["2.5", "0", "-1", "7", "", "x", "+4"],
            "z": ["1", "2.5", "", "many", "-0", "1e400"],
        },
        {"word", "x", "many"},
    ),
    "a-column-coerced": (
        SCHEMA_WIDE.replace("coerce: true\n", "").replace("y: {", "y: {coerce: true, "),
        {
            "id": NUMBERS,
            "x": ["1.5", "-2", "11", "", "NA", "word", "1e1", " 3"],
            "y": ["2.5", "0", "-1", "7", "+4"],
            "z": ["1", "2.5", "", "many", "-0"],
        },
        {"word", "many"},
    ),
    "filtered": (
        SCHEMA_WIDE + "strict: filter\n",
        {"id": NUMBERS, "x": ["1.5", "-2", "11", "", "word"], "y": ["2.5", "0", "7"],
         "z": ["1", "many", ""]},
        {"word"},
    ),
    "alone-filtered": (  # every column filtered out: nothing to judge, every file passes
        SCHEMA_WIDE_ALONE + "strict: filter\n",
        {"id": NUMBERS, "a": ["1", "x", ""]},
        {"x"},
    ),
    "alone": (
        SCHEMA_WIDE_ALONE,
        {"id": NUMBERS, "a": ["1", "2.5", "", "NA", "x", " 4", "-0"], "b": ["0", "-7", "+2.5"]},
        {"x"},
    ),
}  # fmt: skip

Verdict = tuple[bool, dict[tuple[str, str], set[int | None]]]


def _file(chance: random.Random, columns: dict[str, list[str]], *, mixed: bool = False) -> bytes:
    """A file of 1-12 records. ``mixed``: each line ends its own way (LF, CRLF or CR), as
    in a file edited on several systems."""
    eol = chance.choice(["\n", "\r\n", "\r"])
    ids = list(range(1, 30))
    chance.shuffle(ids)
    lines = [",".join(columns)]
    for i in range(chance.randint(1, 12)):
        written = [chance.choice(values) for values in columns.values()]
        if chance.random() < 0.85:
            written[0] = str(ids[i])
        lines.append(",".join(written))
        if chance.random() < 0.1:
            lines.append("")
    if mixed:
        ends = [chance.choice(["\n", "\r\n", "\r"]) for _ in lines]
        text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    else:
        text = eol.join(lines) + (eol if chance.random() < 0.8 else "")
    return (b"\xef\xbb\xbf" if chance.random() < 0.2 else b"") + text.encode()


@functools.cache
def _schema(text: str) -> Schema:
    """The schema validate checks with, read once per text, as a ``validate`` process reads
    it once for all its chunks (reading it takes longer than checking a file of a dozen
    rows)."""
    return from_yaml_text("s.yaml", text)


@functools.cache
def _reference(text: str) -> Any:
    """Plain pandera's schema for the same text, read apart from :func:`_schema`'s."""
    return from_yaml_text("s.yaml", text).pandera


def _pandera(data: bytes, schema: str, *, column_by_column: bool = False) -> Verdict | None:
    """Plain pandera on pandas' frame: the verdict and each check's failing rows; None
    where pandas does not read the file. ``column_by_column``: the schema's own dtype
    written into each column it types (:func:`~mlgitops.validation.rules.with_schema_dtype`)."""
    import pandas as pd

    try:
        text = {c: object for c in ("note", "plan", "s")}  # what pandas infers is not the point
        frame = pd.read_csv(io.BytesIO(data), dtype=text)
    except (ValueError, pd.errors.ParserError):
        return None
    reference = _reference(schema)
    if column_by_column:
        reference = with_schema_dtype(reference, [str(name) for name in frame.columns])
    return _pandera_on(frame, reference)


def _pandera_on(frame: Any, reference: Any) -> Verdict:
    import pandas as pd
    import pandera.pandas as pa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        found: dict[tuple[str, str], set[int | None]] = {}
        cases = exc.failure_cases
        for case in cases.itertuples():
            row = None if pd.isna(case.index) else int(case.index) + 1
            column = "" if pd.isna(case.column) else case.column  # the index: no column
            found.setdefault((column, case.check), set()).add(row)
        return False, found
    return True, {}


def _record_lines(data: bytes) -> list[int]:
    """The physical line where each data record starts, as Python's ``csv`` module reads
    the file (blank lines are no record, as in pandas)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    starts, end = [], 0
    for record in reader:
        start, end = end + 1, reader.line_num
        if record:
            starts.append(start)
    return starts[1:]  # the header's is not a data row's


def _ours(data: bytes, schema: str, path: Path) -> Verdict | None:
    """mlgitops' verdict and failing rows; each failing row's line must be the line where
    its record starts."""
    path.write_bytes(data)
    reader = open_data(path.parent, path.name, fmt="csv", workdir=path.parent)
    try:
        outcome = validate(reader, _schema(schema), Limits(chunk_rows=3))
    except DataError:
        return None
    lines = _record_lines(data)
    for failure in outcome.failures:
        assert [e.line for e in failure.examples] == [lines[e.row - 1] for e in failure.examples]
    return _verdict(outcome)


def _verdict(outcome: Any) -> Verdict:
    found = {
        (f.column or "", f.check): {e.row for e in f.examples} if f.failing_rows else {None}
        for f in outcome.failures
    }
    return outcome.passed, found


@pytest.fixture
def every_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every failing row as an example (the report shows 5), so rows can be compared."""
    for module in (text_numbers, failures, uniqueness):
        monkeypatch.setattr(module, "EXAMPLES", 1_000)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize(("seed", "mixed"), [(1, False), (2, False), (3, True)])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_random_files_are_judged_as_plain_pandera_judges_them(
    shape: str, seed: int, mixed: bool, tmp_path: Path
) -> None:
    schema, columns = SHAPES[shape]
    chance = random.Random(seed)
    judged = 0
    for case in range(100):
        data = _file(chance, columns, mixed=mixed)
        expected: Any = _pandera(data, schema)
        assert _ours(data, schema, tmp_path / "data.csv") == expected, (seed, case, data)
        judged += expected is not None and not expected[0]
    assert judged > 50  # most files hold something to find


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gaps_and_dates_in_unique_keys_are_judged_as_plain_pandera_judges_them(
    seed: int, tmp_path: Path
) -> None:
    """Gaps written ``NAN``, ``NaT`` or left empty are one value in a unique key, and dates
    are the timestamps they write (``9:00`` is ``09:00``), in any chunk: the verdict is plain
    pandera's. pandera names duplicated gaps in its message but leaves them out of its
    failure cases, where they are failing rows here (docs/validate.md): the rows are
    compared without those whose value is a gap."""
    chance = random.Random(seed)
    duplicated_gaps = 0
    for case in range(100):
        data = _file(chance, UNIQUE_GAP_VALUES)
        expected: Any = _pandera(data, UNIQUE_GAPS)
        path = tmp_path / "data.csv"
        path.write_bytes(data)
        reader = open_data(path.parent, path.name, fmt="csv", workdir=path.parent)
        outcome = validate(reader, _schema(UNIQUE_GAPS), Limits(chunk_rows=3))
        found: dict[tuple[str, str], set[int | None]] = {}
        for f in outcome.failures:
            # pandera names each column of a unique key apart: (at, multiple_fields_uniqueness)
            for column in (f.column or "").split(", "):
                values = [(e.row, _part(e.value, column)) for e in f.examples]
                duplicated_gaps += any(value is None for _, value in values)
                rows = {r for r, value in values if value is not None} if f.failing_rows else {None}
                if rows:
                    found[(column, f.check)] = rows
        assert (outcome.passed, found) == expected, (seed, case, data)
    assert duplicated_gaps > 20


def _part(value: Any, column: str) -> Any:
    """A failing row's value in ``column``: its own, or its part of a key's values."""
    return value.get(column) if isinstance(value, dict) else value


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("shape", sorted(SCHEMA_WIDE_SHAPES))
def test_a_schema_wide_dtype_is_judged_as_plain_pandera_judges_it(
    shape: str, seed: int, tmp_path: Path
) -> None:
    """pandera gives the schema's own dtype to every column it declares, and (coercing, or
    with no column declared) to every other column. The verdict is plain pandera's on every
    file. pandera coerces the whole frame at once and reports what does not coerce without
    its column or row, so the failing rows are compared with the same judgement written
    column by column, on files without words (a word is one failure here, see above)."""
    schema, columns, words = SCHEMA_WIDE_SHAPES[shape]
    without_words = {
        name: [v for v in values if v not in words] for name, values in columns.items()
    }
    chance = random.Random(seed)
    judged = 0
    for case in range(60):
        data = _file(chance, columns)
        expected: Any = _pandera(data, schema)
        ours = _ours(data, schema, tmp_path / "data.csv")
        assert (ours and ours[0]) == (expected and expected[0]), (seed, case, data)
        judged += expected is not None and not expected[0]
        data = _file(chance, without_words)
        expected = _pandera(data, schema, column_by_column=True)
        assert _ours(data, schema, tmp_path / "data.csv") == expected, (seed, case, data)
        judged += expected is not None and not expected[0]
    assert judged == 0 if shape == "alone-filtered" else judged > 60


def _stored(chance: random.Random, name: str, rows: int) -> Any:
    """Column ``name`` of the every-kind schema as a Parquet file may store it: in its own
    type, a narrower or wider one, as floats, or as text."""
    import pyarrow as pa

    how = chance.random()
    if name == "id":
        ids = chance.sample(range(1, 30), rows)
        if chance.random() < 0.2:
            ids[-1] = ids[0]
        return [pa.array([str(i) for i in ids]), pa.array(ids, pa.int32()),
                pa.array([float(i) for i in ids]), pa.array(ids)][int(how * 4)]  # fmt: skip
    if name == "x":
        picks = [1.5, -2.0, 10.5, -11.0, None, float("nan"), float("inf"), 0.0]
        xs = [chance.choice(picks) for _ in range(rows)]
        spelt = [None if x is None else str(x) for x in xs]
        return pa.array(spelt) if how < 0.3 else pa.array(xs, pa.float32() if how < 0.5 else None)
    if name == "n":
        ns = [chance.choice([0, 1, 5, -1, None, 3]) for _ in range(rows)]
        return [pa.array([None if n is None else str(n) for n in ns]),
                pa.array([None if n is None else float(n) for n in ns]),
                pa.array(ns, pa.int64()), pa.array(ns, pa.int8())][int(how * 4)]  # fmt: skip
    if name == "flag":
        flags: list[Any] = [chance.random() < 0.5 for _ in range(rows)]
        flags[0] = None if how < 0.2 else flags[0]
        spelt = [None if f is None else str(f) for f in flags]
        return pa.array(spelt) if how < 0.4 else pa.array(flags, pa.bool_())
    if name == "s":
        words = [chance.choice(["a", "abcde", "abcdef", "", None, "héllo"]) for _ in range(rows)]
        return pa.array(words, pa.large_string() if how < 0.3 else pa.string())
    ks = [chance.choice([1, 2, 3, 4, 0]) for _ in range(rows)]
    return [pa.array([str(k) for k in ks]), pa.array([float(k) for k in ks]),
            pa.array(ks, pa.uint8()), pa.array(ks)][int(how * 4)]  # fmt: skip


@pytest.mark.usefixtures("every_example")
def test_random_parquet_files_are_judged_as_plain_pandera_judges_them(tmp_path: Path) -> None:
    """The same with Parquet: each column stored in its own type, a narrower or wider one,
    as floats or as text, in row groups of 2, 3 or all rows; pandera judges pandas'
    ``read_parquet``."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, columns = SHAPES["every-kind"]
    chance = random.Random(3)
    path = tmp_path / "data.parquet"
    judged = 0
    for case in range(150):
        rows = chance.randint(1, 10)
        table = pa.table({name: _stored(chance, name, rows) for name in columns})
        pq.write_table(table, path, row_group_size=chance.choice([2, 3, 100]))
        expected = _pandera_on(pd.read_parquet(path), _reference(schema))
        reader = open_data(tmp_path, path.name, fmt=None, workdir=tmp_path)
        outcome = validate(reader, _schema(schema), Limits(chunk_rows=3))
        assert _verdict(outcome) == expected, (case, table.schema, table.to_pydict())
        judged += not expected[0]
    assert judged > 75


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("nullable", [True, False])
@pytest.mark.parametrize(
    "spelling", ["nan(123)", "NaN(x)", "-nan(ind)", "NAN", "Nan", "+nan", "-NAN", "nAn"]
)
def test_nan_spelled_as_pyarrow_reads_it_is_judged_as_plain_pandera_judges_it(
    spelling: str, nullable: bool, tmp_path: Path
) -> None:
    """pyarrow reads ``nan(123)`` (C's spelling of a NaN with a payload) as a NaN; pandas
    reads it as text, which pandera's float64 refuses (Python's ``float()`` does). The
    spellings ``float()`` reads are a gap, as pandera makes them. (A value that is not of
    the type is one failure here, where pandera reports it twice, as ``coerce_dtype`` and
    ``dtype``.)"""
    schema = (
        "schema_type: dataframe\ncolumns:\n  id: {dtype: int64}\n"
        f"  x: {{dtype: float64, nullable: {str(nullable).lower()}}}\ncoerce: true\n"
    )
    for rows in (["1,1.5", f"2,{spelling}", "3,2.5"], [f"1,{spelling}"] * 3):
        data = ("id,x\n" + "\n".join(rows) + "\n").encode()
        assert _ours(data, schema, tmp_path / "f.csv") == _one_type_failure(_pandera(data, schema))


def _one_type_failure(verdict: Verdict | None) -> Verdict | None:
    """pandera's verdict, its ``coerce_dtype`` failures counted as the ``dtype`` ones."""
    if verdict is None:
        return None
    found: dict[tuple[str, str], set[int | None]] = {}
    for (column, check), rows in verdict[1].items():
        found.setdefault((column, check.removeprefix("coerce_")), set()).update(rows)
    return verdict[0], found


def _fails_as_in_pandera(data: bytes, schema: str, tmp_path: Path) -> None:
    """``data`` fails ``schema`` in plain pandera, and here on the same checks and rows."""
    expected = _pandera(data, schema)
    assert expected is not None and not expected[0]
    assert _ours(data, schema, tmp_path / "data.csv") == expected


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize(
    "check",
    [
        "greater_than: [1]",
        "less_than_or_equal_to: [100]",
        "in_range: {min_value: [0], max_value: [9]}",
    ],
)
def test_a_bound_written_as_a_list_is_judged_as_plain_pandera_judges_it(
    check: str, tmp_path: Path
) -> None:
    """pandas compares a column with a list element by element: a column of another length
    fails the check (pandera's 'Lengths must match to compare'), whatever its values."""
    schema = f"schema_type: dataframe\ncolumns:\n  x:\n    dtype: int64\n    {check}\n"
    _fails_as_in_pandera(b"x\n5\n6\n7\n", schema, tmp_path)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("pattern", ["f", "f\\\\d", "(f|g)1", "x?f"])
def test_a_regex_column_stands_for_the_names_it_matches_from_their_start(
    pattern: str, tmp_path: Path
) -> None:
    """pandera matches a regex column's name from the start of each column's name
    (``f`` stands for ``f1``), not against the whole of it."""
    schema = (
        f'schema_type: dataframe\ncolumns:\n  "{pattern}":\n    regex: true\n    dtype: int64\n'
        "    in_range: {min_value: 0, max_value: 5}\n"
    )
    data = b"f1,f2x,g1,h\n1,99,7,99\n6,2,3,99\n"
    _fails_as_in_pandera(data, schema, tmp_path)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize(
    "columns",
    [
        "  f1: {dtype: int64}\n  f: {regex: true, dtype: int64, in_range: {min_value: 0, max_value: 5}}\n",
        "  f: {regex: true, dtype: int64, le: 5}\n  f1: {dtype: int64, le: 200}\n",
        "  f: {regex: true, dtype: int64, le: 5}\n  f.: {regex: true, dtype: int64}\n",
        "  f.: {regex: true, dtype: int64}\n  f: {regex: true, dtype: int64, le: 5}\n",
    ],
    ids=["named-first", "regex-first", "two-regexes", "two-regexes-the-second-checks"],
)  # fmt: skip
def test_a_column_two_schema_columns_stand_for_is_judged_by_both(
    columns: str, tmp_path: Path
) -> None:
    """pandera runs the checks of every schema column that stands for a column: its own
    and each regex that matches it."""
    schema = "schema_type: dataframe\ncolumns:\n" + columns
    data = b"f1,f2\n99,1\n3,2\n"
    _fails_as_in_pandera(data, schema, tmp_path)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize(
    "columns",
    [
        "  f:\n    regex: true\n    dtype: int64\n    unique: true\n",
        "  f:\n    regex: true\n    dtype: int64\n    unique: true\n    report_duplicates: exclude_first\n",
        "  f:\n    regex: true\n    dtype: int64\n    unique_values_eq: [1, 2]\n",
        "  f:\n    regex: true\n    dtype: int64\n  f1:\n    dtype: int64\n    unique: true\n",
        "  f1: {unique: true, report_duplicates: exclude_first}\n"
        "  f: {regex: true, unique: true, report_duplicates: all}\n",
        "  f: {regex: true, unique: true, report_duplicates: exclude_last}\n"
        "  f1: {unique: true, report_duplicates: exclude_first}\n",
        "  f: {regex: true, unique: true, report_duplicates: exclude_last}\n"
        "  f1: {unique: true, report_duplicates: exclude_last}\n",
    ],
    ids=[
        "unique",
        "exclude-first",
        "values-eq",
        "named-and-regex",
        "two-reports-first-all",
        "two-reports-last-first",
        "two-reports-the-same",
    ],
)
def test_a_regex_column_s_table_wide_checks_judge_each_column_it_stands_for(
    columns: str, tmp_path: Path
) -> None:
    """``unique`` and ``unique_values_eq`` of a regex column are each matched column's."""
    schema = "schema_type: dataframe\ncolumns:\n" + columns
    data = b"f1,f2,g\n1,2,0\n1,3,0\n2,3,0\n"
    _fails_as_in_pandera(data, schema, tmp_path)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize(
    ("schema", "data"),
    [
        ("columns:\n  a: {regex: true}\n", b"b\n1\n"),
        ("columns:\n  a: {required: false}\n  b: {dtype: int64}\nunique: [a, b]\n", b"b\n1\n1\n"),
    ],
    ids=["regex-matching-nothing", "unique-of-a-missing-column"],
)
def test_what_the_header_alone_decides_is_judged_as_in_pandera(
    schema: str, data: bytes, tmp_path: Path
) -> None:
    """A required regex column that matches no column fails; a table-wide ``unique`` judges
    the columns of it that the file has."""
    _fails_as_in_pandera(data, "schema_type: dataframe\n" + schema, tmp_path)


@pytest.mark.usefixtures("every_example")
def test_a_unique_key_naming_a_column_twice_is_the_column_once(tmp_path: Path) -> None:
    schema = "schema_type: dataframe\ncolumns:\n  a: {dtype: int64}\nunique: [a, a]\n"
    for data in (b"a\n1\n2\n", b"a\n1\n1\n"):
        assert _ours(data, schema, tmp_path / "data.csv") == _pandera(data, schema)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("data", [b"a\n1\n2\n", b"a\n1\n1\n", b"a\n1\n\n01\n"])
def test_a_sparse_column_s_uniqueness_is_judged_as_in_pandera(data: bytes, tmp_path: Path) -> None:
    schema = "schema_type: dataframe\ncoerce: true\ncolumns:\n  a: {dtype: 'Sparse[int64]', unique: true}\n"
    assert _ours(data, schema, tmp_path / "data.csv") == _pandera(data, schema)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize(
    ("index", "data"),
    [
        ("index: [{dtype: int64, less_than: 0}]\n", b"b\n1\n2\n3\n4\n"),
        ("index: [{dtype: int64, less_than: 3}]\n", b"b\n1\n2\n3\n4\n"),
        ("index: [{dtype: str}]\n", b"b\n1\n2\n3\n4\n"),
        ("dtype: float64\nindex: [{dtype: int64}]\n", b"b\n1.5\n2.5\n"),
        ("dtype: float64\nindex: [{dtype: float64, coerce: true}]\n", b"b,z\n1.5,x\n2.5,3\n"),
    ],
    ids=["bounded", "bounded-some", "text", "schema-wide-dtype", "index-coerces-the-frame"],
)
def test_an_index_is_judged_as_pandera_judges_the_row_numbers(
    index: str, data: bytes, tmp_path: Path
) -> None:
    """A CSV file's frame is indexed by its row numbers from 0, which an ``index`` judges; a
    schema-wide dtype is the index's too, and an index that coerces coerces the frame."""
    schema = "schema_type: dataframe\ncolumns:\n  b: {dtype: int64}\n" + index
    plain = _pandera(data, schema)
    assert plain is not None and not plain[0]
    # pandera coerces the whole frame at once, and reports what does not coerce without its
    # column: the rows are those of the same judgement column by column (a word there is
    # one failure, dtype, as documented)
    expected = _one_type_failure(_pandera(data, schema, column_by_column=True))
    assert _ours(data, schema, tmp_path / "data.csv") == expected


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize(
    "data",
    [b"a\n2024-01-02\n2024-01-02\n", b"a\n2024-01-02\n2024-01-03\n", b"a\n2024-01-03\n",
     b"a\n2024-01-02\nNaT\n"],
)  # fmt: skip
def test_the_distinct_dates_of_a_date_column_are_compared_as_dates(
    data: bytes, tmp_path: Path
) -> None:
    schema = (
        "schema_type: dataframe\ncoerce: true\ncolumns:\n  a: {dtype: 'datetime64[ns]', "
        "nullable: true, unique_values_eq: ['2024-01-02 00:00:00']}\n"
    )
    assert _ours(data, schema, tmp_path / "data.csv") == _pandera(data, schema)


@pytest.mark.usefixtures("every_example")
def test_the_distinct_values_checks_of_two_schema_columns_each_judge_their_column(
    tmp_path: Path,
) -> None:
    """A column's own ``unique_values_eq`` and a regex column's both run (pandera reports
    the regex's failures on the last column it matches, so the verdict is compared)."""
    schema = (
        "schema_type: dataframe\ncoerce: true\ncolumns:\n"
        "  f1: {dtype: int64, unique_values_eq: [1, 2]}\n"
        "  f: {regex: true, dtype: int64, unique_values_eq: [1, 2, 3]}\n"
    )
    data = b"f1,f2\n1,1\n2,2\n3,3\n"
    expected = _pandera(data, schema)
    ours = _ours(data, schema, tmp_path / "data.csv")
    assert expected is not None and ours is not None and ours[0] is expected[0] is False
    assert ("f1", "unique_values_eq([1, 2])") in ours[1]


@pytest.mark.parametrize("dtype", ["float64", "Float64", "Int64", "str"])
def test_two_gaps_in_a_unique_column_fail_as_in_pandera(dtype: str, tmp_path: Path) -> None:
    """Missing values are equal to each other: two of them fail ``unique``, as in pandera,
    whose failure cases leave them out (its message names them); here they are the rows."""
    schema = f"columns:\n  a: {{dtype: {dtype}, nullable: true, unique: true}}\ncoerce: true\n"
    data = b"a\n1\nNA\n2\nnan\n"
    expected = _pandera(data, schema)
    assert expected == (False, {})  # failing, with no failure case
    assert _ours(data, schema, tmp_path / "data.csv") == (
        False,
        {("a", "field_uniqueness"): {2, 4}},
    )


#: Checks of a ``bool`` column whose verdict turns on what a gap is.
BOOL_CHECKS = [
    "checks: {ne: false}",
    "checks: {isin: [false]}",
    "checks: {isin: [true]}",
    "checks: {eq: true}",
    "checks: {notin: [false]}",
    "checks: {unique_values_eq: [true, false]}",
    "unique: true",
    "checks: {}",
]


def _bool_schema(column: str, nullable: str) -> str:
    return (
        "schema_type: dataframe\ncolumns:\n  y: {dtype: int64}\n"
        f"  a: {{dtype: bool, nullable: {nullable}, {column}}}\ncoerce: true\n"
    )


def _bool_values(chance: random.Random) -> list[bool | None]:
    return [chance.choice([True, False, None]) for _ in range(chance.randint(1, 5))]


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("column", BOOL_CHECKS)
@pytest.mark.parametrize("nullable", ["true", "false"])
def test_a_gap_in_a_coerced_bool_column_of_a_csv_file_is_true_as_in_pandera(
    column: str, nullable: str, tmp_path: Path
) -> None:
    """pandas reads a gap in a CSV file's boolean column as NaN, which pandera's coercion to
    numpy's ``bool`` makes True, nullable or not: the gap is judged so here (the same
    checks fail on the same rows), in chunks of 3, whether the screen, pandera, uniqueness
    or the set of distinct values looks at it."""
    schema, chance = _bool_schema(column, nullable), random.Random(5)
    for _ in range(40):
        written = {True: chance.choice(["true", "True"]), False: "false", None: ""}
        values = [written[v] for v in _bool_values(chance)]
        data = ("y,a\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))).encode()
        assert _ours(data, schema, tmp_path / "d.csv") == _pandera(data, schema), values


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("column", BOOL_CHECKS)
def test_a_gap_in_a_coerced_bool_column_of_a_parquet_file_is_false_as_in_pandera(
    column: str, tmp_path: Path
) -> None:
    """pandas reads a gap in a Parquet file's boolean column as None, which pandera's
    coercion to numpy's ``bool`` makes False: so here. (Text in a Parquet file is any
    other text to that coercion: docs/validate.md.)"""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, chance = _bool_schema(column, "true"), random.Random(6)
    path = tmp_path / "d.parquet"
    for _ in range(40):
        values = _bool_values(chance)
        table = pa.table({"y": list(range(len(values))), "a": pa.array(values, pa.bool_())})
        pq.write_table(table, path, row_group_size=chance.choice([1, 2, 100]))
        expected = _pandera_on(pd.read_parquet(path), _reference(schema))
        reader = open_data(tmp_path, path.name, fmt=None, workdir=tmp_path)
        outcome = validate(reader, _schema(schema), Limits(chunk_rows=3))
        assert _verdict(outcome) == expected, values
