"""``datetime64[ns]`` columns: plain pandera's verdict on the whole file, read in chunks.

pandas' coercion reads every value of a column in the format of its first
value, so one value written in another format (``2024-02-02`` after
``2024-01-01 10:00:00``) fails the whole column, where no value fails on its
own. The file is validated by the real ``mlgitops validate`` in chunks of two or
three rows, and the failing checks and rows must be those of ``pandas.read_csv`` then
``schema.validate`` on the whole file; pandera's value-by-value coercion is
never run (it costs about a millisecond a value).
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

from tests.validate.corpus import make_repo, run_cli

Verdict = set[tuple[str, str, int | None]]

#: (case, values of column ``ts``; "" is a gap)
CASES = [
    ("one-format", ["2024-01-01", "2024-02-02", "2024-02-03"]),
    ("one-format-and-a-gap", ["2024-01-01", "", "2024-02-03"]),
    ("time-first", ["2024-01-01 10:00:00", "2024-02-02", "2024-02-03", "2024-02-04"]),
    ("date-first", ["2024-02-02", "2024-01-01 10:00:00", "2024-02-03"]),
    ("another-format-from-the-second-chunk", ["2024-02-02", "2024-02-03", "2024-02-04 10:00:00",
                                              "2024-02-05 11:00:00"]),
    ("not-a-date", ["2024-02-02", "2024-02-03", "abc", "2024-02-04"]),
    ("no-such-day", ["2024-02-02", "2024-02-30", "2024-02-03"]),
    ("a-number", ["2024-02-02", "12", "2024-02-03"]),
    ("another-format-and-not-a-date", ["2024-01-01 10:00:00", "2024-02-02", "2024-02-03", "abc"]),
    ("another-format-and-a-gap", ["2024-01-01 10:00:00", "2024-02-02", "", "2024-02-03"]),
    ("a-gap-first", ["", "2024-01-01 10:00:00", "2024-02-02"]),
    ("slashes-then-iso", ["01/02/2024", "02/03/2024", "2024-02-02"]),
    ("a-time-zone-later", ["2024-01-01 10:00:00", "2024-01-02 10:00:00", "2024-02-02 10:00:00+01:00"]),
    ("out-of-range", ["2024-01-01", "2024-01-02", "1500-01-01"]),
    ("fractions-later", ["2024-01-01 10:00:00", "2024-01-02 10:00:00", "2024-01-03 10:00:00.5"]),
    ("a-nat-and-another-format", ["2024-01-01 10:00:00", "NaT", "2024-02-02", "2024-02-03"]),
    ("a-nat-in-one-format", ["2024-01-01", "NaT", "2024-02-02"]),
    # pandas reads whole numbers as numbers: nanoseconds since 1970 to pandera's coercion
    ("whole-numbers", ["20240101", "20240315", "20241231", "20240102"]),
    ("whole-numbers-and-a-gap", ["20240101", "", "20240315", "20240102"]),
    ("small-whole-numbers", ["5", "7", "-3"]),
    ("a-whole-number-then-dates", ["20240101", "2024-01-02", "2024-01-03"]),
    ("whole-numbers-then-a-date-in-another-chunk", ["20240101", "20240102", "20240103", "2024-01-04"]),
    # ... unless pandas reads one of them as no number: then the column is text, dates
    ("whole-numbers-and-a-nat", ["20240101", "NaT", "20240102"]),
    ("whole-numbers-and-nan-in-capitals", ["20240101", "20240103", "20240104", "NAN", "20240102"]),
    ("whole-numbers-and-today", ["20240101", "today", "20240102"]),
    ("a-nat-then-whole-numbers", ["NaT", "5", "6"]),
    ("numbers-with-an-exponent", ["5", "1e3"]),
    ("whole-numbers-and-a-fraction", ["20240101", "1.5", "20240102"]),
    ("whole-numbers-with-spaces-and-signs", ["20240101", " 7", "+6", "-5"]),
    ("a-number-twice-spelt-two-ways", ["5", "7", "6", "5.0"]),
    ("a-fraction-first", ["1.5", "5", "1e3", "20240101.0"]),
    ("a-date-twice-in-two-chunks", ["20240101", "", "20240103", "20240101"]),
    # pandas reads today and now as the moment, numbers out of range as NaT (one gap each:
    # pandera names two gaps in a unique column in its message, not in its failure cases)
    ("today-alone", ["", "today"]),
    ("now-before-the-first-date", ["now", "", "2024-01-02", "2024-01-03"]),
    ("a-number-out-of-range", ["5", "1e30", "6"]),
    ("minus-infinity", ["-inf", "5", "7"]),
    ("the-least-int64", ["5", "6", "-9223372036854775808"]),
]  # fmt: skip


@pytest.fixture(autouse=True)
def chunks_of_a_few_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlgitops.data import csv as csv_reader
    from mlgitops.validation import engine

    real = engine.Limits
    monkeypatch.setattr(engine, "Limits", lambda **kw: real(**{**kw, "chunk_rows": 3}))
    monkeypatch.setattr(csv_reader, "_MIN_BLOCK", 1)


def _repo(root: Path, values: list[str], schema: str | None) -> Path:
    """A repository validating ``ts`` (and an id): with a schema file ``schema``, or inline
    columns where None."""
    repo = make_repo(root)
    spec = repo / "pipelines" / "accounts.yaml"
    text = spec.read_text().replace("target: plan\n", "target: id\n")
    if schema is None:
        inline = "  columns:\n    id: {dtype: int64}\n    ts: {dtype: 'datetime64[ns]'}\n"
        text = text.replace("  schema: schemas/accounts.yaml\n", inline)
    else:
        (repo / "schemas" / "accounts.yaml").write_text(schema)
    spec.write_text(text)
    rows = "".join(f"{i},{v}\n" for i, v in enumerate(values))
    (repo / "data" / "accounts.csv").write_text("id,ts\n" + rows)
    return repo


def _schema(coerce: bool, nullable: bool, checks: str = "") -> str:
    return (
        "schema_type: dataframe\ncolumns:\n  id: {dtype: int64}\n"
        f"  ts: {{dtype: 'datetime64[ns]', nullable: {str(nullable).lower()}{checks}}}\n"
        f"coerce: {str(coerce).lower()}\nstrict: true\n"
    )


def _inline_pandera() -> str:
    """The inline columns as pandera's schema file: strict and coercing."""
    return _schema(True, False)


def _pandera(repo: Path, schema: str) -> Verdict:
    """Plain pandera on the whole file: (column, check, 1-based row or None)."""
    import pandas as pd
    import pandera.pandas as pa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pa.DataFrameSchema.from_yaml(schema).validate(
                pd.read_csv(repo / "data" / "accounts.csv"), lazy=True
            )
        except pa.errors.SchemaErrors as exc:
            return {
                (c.column, c.check, None if pd.isna(c.index) else int(c.index) + 1)
                for c in exc.failure_cases.itertuples()
            }
    return set()


def _ours(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Verdict, list[Any]]:
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--format", "json")
    assert outcome.code in (0, 1), outcome.render()
    failures = json.loads(outcome.stdout)["failures"]
    found: Verdict = set()
    for f in failures:
        if f["failing_rows"] is None:
            found.add((f["column"], f["check"], None))
        found.update((f["column"], f["check"], e["row"]) for e in f["examples"])
    return found, failures


@pytest.fixture
def coercions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Calls of pandera's value-by-value coercion."""
    from pandera.engines import utils

    calls: list[object] = []
    real = utils.numpy_pandas_coerce_failure_cases

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(utils, "numpy_pandas_coerce_failure_cases", counted)
    return calls


@pytest.mark.parametrize(
    "schema",
    ["inline", "file-coerce", "file-coerce-nullable", "file-no-coerce", "file-in-range",
     "file-unique"],
)  # fmt: skip
@pytest.mark.parametrize(("case", "values"), CASES, ids=[c for c, _ in CASES])
def test_the_verdict_is_plain_pandera_s_on_the_whole_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    values: list[str],
    schema: str,
) -> None:
    written = {
        "inline": None,
        "file-coerce": _schema(True, False),
        "file-coerce-nullable": _schema(True, True),
        "file-no-coerce": _schema(False, False),
        "file-in-range": _schema(
            True, True, ", in_range: {min_value: '2024-01-02', max_value: '2100-01-01'}"
        ),
        "file-unique": _schema(True, True, ", unique: true"),
    }[schema]
    repo = _repo(tmp_path / "repo", values, written)
    ours, _ = _ours(repo, capsys)
    assert ours == _pandera(repo, written or _inline_pandera())


@pytest.mark.parametrize("schema", ["inline", "file-no-coerce"])
@pytest.mark.parametrize(
    "values",
    [
        ["2024-01-01 10:00:00", "2024-02-02", "2024-02-03", "2024-02-04"],
        ["2024-02-02", "2024-02-03", "abc", "2024-02-04"],
    ],
    ids=["another-format", "not-a-date"],
)
def test_pandera_does_not_coerce_value_by_value(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    coercions: list[object],
    values: list[str],
    schema: str,
) -> None:
    repo = _repo(tmp_path / "repo", values, None if schema == "inline" else _schema(False, False))
    ours, _ = _ours(repo, capsys)
    assert ours
    assert coercions == []


def test_the_message_names_the_first_value_and_the_values_in_another_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = ["2024-01-01 10:00:00", "2024-02-02", "2024-02-03 11:00:00", "2024-02-04", "", "2024-02-05", "2024-02-06"]  # fmt: skip
    repo = _repo(tmp_path / "repo", values, None)
    _, failures = _ours(repo, capsys)
    why = (
        "the dates are not all in one format: pandas reads the column in the format of its "
        "first value, '2024-01-01 10:00:00' (data/accounts.csv:2, %Y-%m-%d %H:%M:%S), and 4 "
        "values ('2024-02-02' at data/accounts.csv:3, '2024-02-04' at data/accounts.csv:5, "
        "'2024-02-05' at data/accounts.csv:7 …) are not in that format; write every value in "
        "one format"
    )
    assert failures == [
        {
            "column": "ts",
            "check": "coerce_dtype('datetime64[ns]')",
            "message": why,
            "failing_rows": None,
            "examples": [],
        },
        {
            "column": "ts",
            "check": "dtype('datetime64[ns]')",
            "message": "column 'ts' has type str; the schema wants 'datetime64[ns]' "
            "(its dates are not all in one format)",
            "failing_rows": None,
            "examples": [],
        },
        {
            "column": "ts",
            "check": "not_nullable",
            "message": "null values in a non-nullable column",
            "failing_rows": 1,
            "examples": [{"row": 5, "line": 6, "value": None}],
        },
    ]
    table = run_cli(capsys, "-C", str(repo), "validate", "accounts").stdout
    assert f"ts      coerce_dtype('datetime64[ns]')     -  {why}" in table.splitlines()


def test_a_value_that_is_not_a_date_is_reported_on_its_row_with_the_other_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path / "repo", ["2024-01-01 10:00:00", "2024-02-02", "abc"], None)
    _, failures = _ours(repo, capsys)
    assert [(f["check"], f["failing_rows"], f["examples"]) for f in failures] == [
        ("coerce_dtype('datetime64[ns]')", 1, [{"row": 3, "line": 4, "value": "abc"}]),
        ("dtype('datetime64[ns]')", 1, [{"row": 3, "line": 4, "value": "abc"}]),
    ]
    assert failures[0]["message"].startswith(
        "values that cannot be converted to datetime64[ns]: the dates are not all in one "
        "format: pandas reads the column in the format of its first value, "
        "'2024-01-01 10:00:00' (data/accounts.csv:2, %Y-%m-%d %H:%M:%S), and 2 values "
        "('2024-02-02' at data/accounts.csv:3, 'abc' at data/accounts.csv:4) are not in"
    )


def test_a_value_read_at_once_is_a_date_on_its_own_as_pandas_reads_it() -> None:
    """The values ``undated`` reads at once (ISO 8601's forms) are those pandas reads one
    by one; the others it asks pandas about."""
    from mlgitops.validation.dates import _a_date, undated

    chance = random.Random(7)
    pieces = ["2024", "1999", "0001", "9999", "-", "01", "02", "12", "13", "29", "30", "31",
              " ", "T", ":", "00", "23", "24", "59", "60", ".", "5", "123456789", "Z", "+01:00"]  # fmt: skip
    values = ["".join(chance.choice(pieces) for _ in range(chance.randrange(1, 9))) for _ in range(3000)]  # fmt: skip
    dates = [f"{y}-{m}-{d}{t}" for y in ("2024", "2023", "1500", "2300")
             for m in ("01", "02", "12", "13") for d in ("01", "28", "29", "30", "31")
             for t in ("", " 10:00", "T23:59:59", " 24:00:00", " 10:00:00.123456789", " 10")]  # fmt: skip
    values += dates
    assert undated(values) == [not _a_date(v) for v in values]


#: Values of a date column as exports write them: numbers pandas reads as such (some out of
#: the range of dates, which pandas makes NaT), gaps, words pandas leaves as text or reads
#: as the moment, and dates (no whole number past int64: see docs/validate.md).
SPELLINGS = ["20240101", "20240102", "5", "-3", " 7", "+6", "1.5", "1e3", "20240101.0", "",
             "NA", "NaN", "NaT", "nat", "NAN", "2024-01-02", "2024-01-02 10:00:00", "abc", "0",
             "today", "now", "1e30", "inf", "-9223372036854775808"]  # fmt: skip
CHECKS = ["{}", "{greater_than: '2023-01-01'}", "{less_than: '1971-01-01'}",
          "{in_range: {min_value: '1970-01-01', max_value: '2100-01-01'}}"]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_random_date_columns_get_plain_pandera_s_verdict(tmp_path: Path, seed: int) -> None:
    """Numbers, gaps, words and dates mixed in a ``datetime64[ns]`` column, read in chunks of
    one to three rows: pandas reads the column as numbers (nanoseconds since 1970 to pandera)
    or as text (dates in the first value's format), and the verdict is pandera's either way."""
    import pandas as pd
    import pandera.pandas as pa

    from mlgitops.data import open_data
    from mlgitops.validation.engine import Limits, validate
    from mlgitops.validation.schema import from_yaml_text

    chance = random.Random(seed)
    judged = failed = 0
    for case in range(150):
        values = [chance.choice(SPELLINGS) for _ in range(chance.randint(1, 7))]
        values[0] = chance.choice(["20240101", "5", "1.5", values[0]])
        unique, nullable = chance.choice(["true", "false"]), chance.choice(["true", "false"])
        schema = (
            "schema_type: dataframe\ncolumns:\n  id: {dtype: int64}\n  ts:\n"
            f"    dtype: 'datetime64[ns]'\n    nullable: {nullable}\n    unique: {unique}\n"
            f"    checks: {chance.choice(CHECKS)}\ncoerce: {chance.choice(['true', 'false'])}\n"
        )
        path = tmp_path / "d.csv"
        path.write_text("id,ts\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pa.DataFrameSchema.from_yaml(schema).validate(pd.read_csv(path), lazy=True)
            expected = True
        except pa.errors.SchemaErrors:
            expected = False
        reader = open_data(path.parent, path.name, fmt="csv", workdir=path.parent)
        limits = Limits(chunk_rows=chance.choice([1, 2, 3]))
        outcome = validate(reader, from_yaml_text("s.yaml", schema), limits)
        assert outcome.passed == expected, (seed, case, values, schema)
        judged += 1
        failed += not expected
    assert judged == 150 and 10 < failed < 145  # both verdicts are drawn
