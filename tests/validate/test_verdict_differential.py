"""Random small files with odd CSV and numbers written many ways: plain pandera's verdict.

Each file mixes what exports contain: quoted and unquoted values, quoted newlines,
LF, CRLF or CR line endings, a byte-order mark, blank lines, numbers written
``5``, `` 5``, ``+5``, ``05``, ``5.0``, ``1e1``, ``2_0`` or quoted, ``nan`` and
``inf``, ids that repeat in another spelling, gaps, booleans written six ways,
values out of range, too long or outside the allowed set. Whenever
pandas reads a file, ``validate`` (in chunks of three rows) must find exactly
what ``schema.validate`` finds on pandas' frame: the same checks on the same
columns, failing on the same rows, each on the line where its record starts.
Seeded, so a failure names a file that can be replayed.
"""

from __future__ import annotations

import csv
import io
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

from mlgitops.data import open_data
from mlgitops.errors import DataError
from mlgitops.validation import engine, failures, tablewide
from mlgitops.validation.engine import Limits, validate
from mlgitops.validation.schema import from_yaml_text
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

Verdict = tuple[bool, dict[tuple[str, str], set[int | None]]]


def _file(chance: random.Random, columns: dict[str, list[str]]) -> bytes:
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
    text = eol.join(lines) + (eol if chance.random() < 0.8 else "")
    return (b"\xef\xbb\xbf" if chance.random() < 0.2 else b"") + text.encode()


def _pandera(data: bytes, schema: str) -> Verdict | None:
    """Plain pandera on pandas' frame: the verdict and each check's failing rows; None
    where pandas does not read the file."""
    import pandas as pd
    import pandera.pandas as pa

    try:
        text = {c: object for c in ("note", "plan", "s")}  # what pandas infers is not the point
        frame = pd.read_csv(io.BytesIO(data), dtype=text)
    except (ValueError, pd.errors.ParserError):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from_yaml_text("s.yaml", schema).pandera.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        found: dict[tuple[str, str], set[int | None]] = {}
        cases = exc.failure_cases
        for case in cases.itertuples():
            row = None if pd.isna(case.index) else int(case.index) + 1
            found.setdefault((case.column, case.check), set()).add(row)
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
        outcome = validate(reader, from_yaml_text("s.yaml", schema), Limits(chunk_rows=3))
    except DataError:
        return None
    lines = _record_lines(data)
    for failure in outcome.failures:
        assert [e.line for e in failure.examples] == [lines[e.row - 1] for e in failure.examples]
    found = {
        (f.column or "", f.check): {e.row for e in f.examples} if f.failing_rows else {None}
        for f in outcome.failures
    }
    return outcome.passed, found


@pytest.fixture
def every_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every failing row as an example (the report shows 5), so rows can be compared."""
    for module in (engine, failures, tablewide):
        monkeypatch.setattr(module, "EXAMPLES", 1_000)


@pytest.mark.usefixtures("every_example")
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_random_files_are_judged_as_plain_pandera_judges_them(
    shape: str, seed: int, tmp_path: Path
) -> None:
    schema, columns = SHAPES[shape]
    chance = random.Random(seed)
    judged = 0
    for case in range(100):
        data = _file(chance, columns)
        expected: Any = _pandera(data, schema)
        assert _ours(data, schema, tmp_path / "data.csv") == expected, (seed, case, data)
        judged += expected is not None and not expected[0]
    assert judged > 50  # most files hold something to find
