"""A Parquet column of the wrong type: each problem once, in the user's words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.validate.corpus import make_repo, run_cli, target_is


def _parquet_repo(tmp_path: Path) -> Path:
    """The corpus repository, its pipeline reading data/accounts.parquet."""
    root = make_repo(tmp_path)
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(spec.read_text().replace("data/accounts.csv", "data/accounts.parquet"))
    return root


def test_a_text_column_where_numbers_belong_is_reported_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _parquet_repo(tmp_path)
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "age": ["34", "x", "51", "130"],
            "score": [0.5, 1.0, None, 2.0],
            "plan": ["free", "pro", "free", "team"],
        }
    )
    frame.to_parquet(root / "data" / "accounts.parquet", index=False)
    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts")
    assert (outcome.code, outcome.stderr) == (1, "")
    assert outcome.stdout == (
        "accounts: data/accounts.parquet, 4 rows: FAILED (2 check(s))\n"
        "column  check             rows  first offending value\n"
        "age     dtype('int64')       1  row 2: 'x'\n"
        "age     in_range(0, 120)     1  row 4: 130\n"
    )


def test_whole_numbers_stored_as_text_are_integers_as_in_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``2.0`` stored as text in an integer column is the integer 2, as it is in a CSV file
    (each value judged on its own); pandera's ``int64`` refuses it in a Parquet text column
    (docs/validate.md), and the duplicate it makes with ``2`` is found either way."""
    import pandera.pandas as pa

    from mlgitops.spec import load_repo
    from mlgitops.validation.schema import load_schema

    root = _parquet_repo(tmp_path)
    frame = pd.DataFrame(
        {
            "id": ["1", "2.0", "3", "4"],
            "age": ["34", "51.0", " 29", "+40"],
            "score": [0.5, 1.0, None, 2.0],
            "plan": ["free", "pro", "free", "team"],
        }
    )
    frame.to_parquet(root / "data" / "accounts.parquet", index=False)
    assert run_cli(capsys, "-C", str(root), "validate", "accounts").code == 0
    schema = load_schema(root, load_repo(root).pipeline("accounts"))
    with pytest.raises(pa.errors.SchemaErrors):
        schema.pandera.validate(pd.read_parquet(root / "data" / "accounts.parquet"), lazy=True)
    frame.loc[2, "id"] = "2"
    frame.to_parquet(root / "data" / "accounts.parquet", index=False)
    assert run_cli(capsys, "-C", str(root), "validate", "accounts").code == 1
    (failure,) = json.loads((root / ".mlgitops/accounts/validation.json").read_text())["failures"]
    assert (failure["check"], failure["examples"]) == (
        "field_uniqueness",
        [{"row": 2, "line": None, "value": 2}, {"row": 3, "line": None, "value": 2}],
    )


def test_a_column_name_twice_in_a_parquet_file_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = _parquet_repo(tmp_path)
    columns = [pa.array([1, 2]), pa.array([34, 51]), pa.array([0.5, 1.0]), pa.array([35, 52])]
    table = pa.Table.from_arrays(columns, names=["id", "age", "score", "age"])
    pq.write_table(table, root / "data" / "accounts.parquet")
    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts")
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr == (
        "mlgitops validate: error: data/accounts.parquet: its schema names a column more "
        "than once: 'age' (columns 2, 4); each column needs a name of its own\n"
    )


def test_values_pandera_itself_fails_on_are_bad_input_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandera's own ``date`` check raises on a list value: the file cannot be checked
    (exit 2, naming the rows and columns), where it was an internal error (exit 3)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = _parquet_repo(tmp_path)
    schema = root / "schemas" / "accounts.yaml"
    schema.write_text(schema.read_text().replace("coerce:", "  seen: {dtype: date}\ncoerce:"))
    table = pa.table(
        {
            "id": [1, 2, 3],
            "age": [34, 51, 20],
            "score": [0.5, 1.0, None],
            "plan": ["free", "pro", "free"],
            "seen": pa.array([[1], [2, 3], []]),
        }
    )
    pq.write_table(table, root / "data" / "accounts.parquet")
    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts")
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr.startswith(
        "mlgitops validate: error: data/accounts.parquet: pandera cannot check rows 1-3 "
        "(column seen): ValueError: The truth value of an array"
    ), outcome.stderr
    report = json.loads((root / ".mlgitops" / "accounts" / "validation.json").read_text())
    assert report["error"].startswith("data/accounts.parquet: pandera cannot check rows 1-3")


@pytest.mark.parametrize(
    ("check", "named"),
    [("unique: true", "uniqueness"), ("unique_values_eq: [1, 2]", "unique_values_eq([1, 2])")],
)
def test_lists_in_a_column_checked_over_the_whole_table_are_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], check: str, named: str
) -> None:
    """Embeddings stored as Parquet lists cannot be hashed or counted: the column and the
    check are named (exit 2), where it was an internal error (exit 3)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = _parquet_repo(tmp_path)
    schema = root / "schemas" / "accounts.yaml"
    declared = f"  emb: {{dtype: object, {check}}}\ncoerce:"
    schema.write_text(schema.read_text().replace("coerce:", declared))
    table = pa.table(
        {
            "id": [1, 2, 3],
            "age": [34, 51, 20],
            "score": [0.5, 1.0, None],
            "plan": ["free", "pro", "free"],
            "emb": pa.array([[1], [2, 3], [1]]),
        }
    )
    pq.write_table(table, root / "data" / "accounts.parquet")
    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts")
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr == (
        "mlgitops validate: error: data/accounts.parquet: column 'emb' holds list<element: int64> "
        f"values, which {named} cannot compare\n"
    )


def test_half_floats_have_their_distinct_values_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Parquet column of half floats that no read type converts (flags kept as 1.0 and
    0.0): its distinct values are counted (Arrow counts none of half floats), where it was
    an internal error (exit 3)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = _parquet_repo(tmp_path)
    schema = root / "schemas" / "accounts.yaml"
    declared = "  h: {dtype: bool, unique_values_eq: [true, false]}\ncoerce:"
    schema.write_text(schema.read_text().replace("coerce:", declared))
    columns = {"id": [1, 2, 3], "age": [34, 51, 20], "score": [0.5, 1.0, None]}
    columns |= {"plan": ["free", "pro", "free"]}
    for values, code in (([1.0, 0.0, 1.0], 0), ([1.0, 1.0, 1.0], 1)):
        halves = pa.array(np.array(values, dtype=np.float16))
        pq.write_table(pa.table({**columns, "h": halves}), root / "data" / "accounts.parquet")
        outcome = run_cli(capsys, "-C", str(root), "validate", "accounts")
        assert (outcome.code, outcome.stderr) == (code, ""), outcome.stdout


def test_an_inline_str_column_of_bytes_fails_in_the_spec_s_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes where the spec's inline columns say ``str``: the failing checks name the dtype
    as the spec does, not as pandera calls it (``string[pyarrow]``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = _parquet_repo(tmp_path)
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  schema: schemas/accounts.yaml\n",
            "  columns:\n    id: {dtype: int64}\n    region: {dtype: str}\n    plan: {dtype: str}\n",
        )
    )
    regions = pa.array([b"eu", b"\xff"], pa.binary())
    table = pa.table({"id": [1, 2], "region": regions, "plan": ["free", "pro"]})
    pq.write_table(table, root / "data" / "accounts.parquet")
    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts")
    assert outcome.code == 1, outcome.render()
    folder = root / ".mlgitops" / "accounts"
    report = json.loads((folder / "validation.json").read_text())
    assert {(f["column"], f["check"]) for f in report["failures"]} == {
        ("region", "coerce_dtype('str')"),
        ("region", "dtype('str')"),
    }
    shown = outcome.stdout + json.dumps(report) + (folder / "validation.md").read_text()
    assert "string[pyarrow]" not in shown


def _both_verdicts(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, set[tuple[str, str]], set[tuple[str, str]]]:
    """``validate``'s exit code and failing (column, check) pairs, and plain pandera's on
    the frame ``pandas.read_parquet`` gives."""
    import pandera.pandas as pa

    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts", "--format", "json")
    assert outcome.code in (0, 1), outcome.render()
    ours = {(f["column"], f["check"]) for f in json.loads(outcome.stdout)["failures"]}
    schema = pa.DataFrameSchema.from_yaml(root / "schemas" / "accounts.yaml")
    try:
        schema.validate(pd.read_parquet(root / "data" / "accounts.parquet"), lazy=True)
        theirs: set[tuple[str, str]] = set()
    except pa.errors.SchemaErrors as exc:
        theirs = {(c.column, c.check) for c in exc.failure_cases.itertuples()}
    return outcome.code, ours, theirs


def _dated_repo(tmp_path: Path, schema_ts: str, when: pd.Series) -> Path:
    """The corpus repository reading a Parquet file whose ``when`` column is ``when``."""
    root = _parquet_repo(tmp_path)
    schema = root / "schemas" / "accounts.yaml"
    text = schema.read_text()
    head, columns = text.split("columns:\n", 1)
    columns = columns.replace(
        "coerce: true\n", "coerce: false\n" if "false" in schema_ts else "coerce: true\n"
    )
    schema.write_text(f"{head}columns:\n  when:\n{schema_ts}{columns}")
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "age": [34, 40, 51, 29],
            "score": [0.5, 1.0, None, 2.0],
            "plan": ["free", "pro", "free", "team"],
            "when": when,
        }
    )
    frame.to_parquet(root / "data" / "accounts.parquet", index=False)
    return root


@pytest.mark.parametrize("coerce", [False, True])
@pytest.mark.parametrize(
    "when",
    [
        pd.Series(pd.date_range("2024-01-01", periods=4, freq="h")),
        pd.Series(pd.date_range("2024-01-01", periods=4, freq="h")).astype("datetime64[ms]"),
        pd.Series([pd.Timestamp("2024-01-01"), pd.NaT, pd.Timestamp("2024-03-01"), pd.NaT]),
        pd.Series(pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")),
        pd.Series([1, 2, 3, 4]),
    ],
    ids=["timestamps", "milliseconds", "with-gaps", "with-a-time-zone", "integers"],
)
def test_a_parquet_timestamp_column_is_judged_as_plain_pandera_judges_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], coerce: bool, when: pd.Series
) -> None:
    """A Parquet file stores dates as timestamps, which pandas reads as dates: no text to
    parse, and the verdict is pandera's on the frame ``pandas.read_parquet`` gives."""

    schema_ts = (
        "    dtype: datetime64[ns]\n    nullable: true\n    required: true\n"
        f"    coerce: {str(coerce).lower()}\n"
    )
    root = _dated_repo(tmp_path, schema_ts, when)
    code, ours, theirs = _both_verdicts(root, capsys)
    assert ours == theirs
    assert (code == 0) == (not theirs)


@pytest.mark.parametrize("nullable", [False, True])
@pytest.mark.parametrize("stored", ["date32", "date64"])
@pytest.mark.parametrize("floor", ["2024-01-01 00:00:00", "2025-01-01 00:00:00"])
def test_a_parquet_date_column_is_judged_as_plain_pandera_judges_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nullable: bool, stored: str, floor: str
) -> None:
    """Arrow's dates (no time of day) are ``datetime.date`` objects to pandas: they were
    parsed as text, every one a gap, so dates in 2024 passed a 2025 floor where nullable
    and failed as gaps where not."""
    import datetime

    import pyarrow
    import pyarrow.parquet as pq

    schema_ts = (
        f"    dtype: datetime64[ns]\n    nullable: {str(nullable).lower()}\n"
        f"    checks:\n      greater_than_or_equal_to: '{floor}'\n"
    )
    root = _dated_repo(tmp_path, schema_ts, pd.Series([1, 2, 3, 4]))
    days = [datetime.date(2024, 1, 5), datetime.date(2024, 3, 1), None, datetime.date(2024, 12, 31)]
    table = pq.read_table(root / "data" / "accounts.parquet")
    column = pyarrow.array(days, pyarrow.date32()).cast(getattr(pyarrow, stored)())
    table = table.set_column(table.column_names.index("when"), "when", column)
    pq.write_table(table, root / "data" / "accounts.parquet")
    _, ours, theirs = _both_verdicts(root, capsys)
    assert ours == theirs
    assert bool(theirs) == (floor.startswith("2025") or not nullable)


@pytest.mark.parametrize("coerce", [False, True])
def test_numbers_where_text_belongs_are_judged_as_plain_pandera_judges_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], coerce: bool
) -> None:
    """pandas reads a Parquet file's numbers as numbers: a ``str`` column of them fails
    pandera's dtype unless pandera coerces them, whatever their text would be."""

    root = _parquet_repo(tmp_path)
    schema = root / "schemas" / "accounts.yaml"
    text = schema.read_text().replace("isin: [free, pro, team]", "isin: ['1', '2', '3']")
    schema.write_text(text.replace("coerce: true", f"coerce: {str(coerce).lower()}"))
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "age": [34, 40, 51], "score": [0.5, 1.0, None], "plan": [1, 2, 3]}
    )
    frame.to_parquet(root / "data" / "accounts.parquet", index=False)
    _, ours, theirs = _both_verdicts(root, capsys)
    assert ours == theirs
    assert theirs == (
        set()
        if coerce
        else {("plan", "dtype('string[pyarrow]')"), ("plan", "isin(['1', '2', '3'])")}
    )


def _with_column_x(tmp_path: Path, column: object, entry: str) -> Path:
    """The Parquet repository with a first column ``x`` of four rows (an Arrow array) that
    the schema declares with ``entry`` (its indented lines)."""
    import pyarrow
    import pyarrow.parquet as pq

    root = _parquet_repo(tmp_path)
    schema = root / "schemas" / "accounts.yaml"
    head, rest = schema.read_text().split("columns:\n", 1)
    schema.write_text(f"{head}columns:\n  x:\n{entry}{rest}")
    table = pyarrow.table(
        {
            "x": column,
            "id": [1, 2, 3, 4],
            "age": [34, 40, 51, 29],
            "score": [0.5, 1.0, None, 2.0],
            "plan": ["free", "pro", "free", "team"],
        }
    )
    pq.write_table(table, root / "data" / "accounts.parquet")
    return root


def _special(kind: str) -> tuple[object, str]:
    """A column ``x`` of an Arrow type pandas reads as Python objects (or another way than
    its values say), and its schema entry."""
    import datetime
    import decimal

    import pyarrow

    when = "    dtype: datetime64[ns]\n    nullable: true\n"
    built = {
        "string-view-unique": (
            pyarrow.array(["a", "b", "a", "c"], pyarrow.string_view()),
            "    dtype: str\n    unique: true\n",
        ),
        "time-as-dates": (
            pyarrow.array([datetime.time(1), datetime.time(2), None, datetime.time(3)]),
            when,
        ),
        "time-as-dates-not-coerced": (
            pyarrow.array([datetime.time(1), datetime.time(2), None, datetime.time(3)]),
            when + "    coerce: false\n",
        ),
        "decimals-as-dates": (
            pyarrow.array([decimal.Decimal("1.5"), None, decimal.Decimal("2"), None]),
            when,
        ),
        "bytes-as-dates": (pyarrow.array([b"x", b"y", None, b"z"]), when),
        "bytes-as-dates-not-coerced": (
            pyarrow.array([b"x", b"y", None, b"z"]),
            when + "    coerce: false\n",
        ),
    }
    return built[kind]


@pytest.mark.parametrize(
    "kind",
    [
        "string-view-unique",
        "time-as-dates",
        "time-as-dates-not-coerced",
        "decimals-as-dates",
        "bytes-as-dates",
        "bytes-as-dates-not-coerced",
    ],
)
def test_arrow_types_pandas_reads_as_objects_are_judged_as_plain_pandera_judges_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """Times, decimals and bytes in a date column were parsed as text, every one a gap (a
    nullable column passed what pandera fails), or exited 3 where pandera did not coerce;
    a ``string_view`` column exited 3 in a unique check."""

    column, entry = _special(kind)
    root = _with_column_x(tmp_path, column, entry)
    code, ours, theirs = _both_verdicts(root, capsys)
    assert ours == theirs
    assert theirs and code == 1


def test_a_frame_s_index_pandas_stored_is_no_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``df.to_parquet`` keeps a filtered frame's index as ``__index_level_0__``, which
    ``pandas.read_parquet`` makes the index again: a strict schema failed the file on an
    unexpected column."""
    root = _parquet_repo(tmp_path)
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "age": [34, 40, 51, 29, 7],
            "score": [0.5, 1.0, None, 2.0, 0.1],
            "plan": ["free", "pro", "free", "team", "pro"],
        }
    )
    frame[frame["age"] > 20].to_parquet(root / "data" / "accounts.parquet")
    code, ours, theirs = _both_verdicts(root, capsys)
    assert (code, ours, theirs) == (0, set(), set())


@pytest.mark.parametrize(
    ("stored", "check", "fails"),
    [
        ([0, None, 0, 0], "equal_to: false", True),
        ([1.0, None, 1.0, 1.0], "isin: [true]", False),
        ([True, None, True, True], "isin: [true]", True),
        (["True", None, "True", "True"], "isin: [true]", False),
    ],
    ids=[
        "integers-a-gap-is-true",
        "floats-a-gap-is-true",
        "booleans-a-gap-is-false",
        "text-a-gap-is-true",
    ],
)
def test_a_gap_pandera_coerces_to_bool_is_what_pandas_read_it_as(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    stored: list[object],
    check: str,
    fails: bool,
) -> None:
    """pandas reads a gap in a Parquet column of numbers or text as NaN, which pandera's
    ``bool`` makes True, and in a column of booleans as None, which it makes False: every
    gap in a Parquet file was False, so ``eq: false`` passed what pandera fails, and a gap in
    text was False where pandas 3 reads it as NaN."""
    import pyarrow

    entry = f"    dtype: bool\n    nullable: true\n    checks:\n      {check}\n"
    root = _with_column_x(tmp_path, pyarrow.array(stored), entry)
    code, ours, theirs = _both_verdicts(root, capsys)
    assert ours == theirs
    assert (code == 1) == bool(theirs) == fails


def _failures(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[tuple[str, str], tuple[int | None, list[int]]], dict[Any, Any]]:
    """``validate``'s exit code, and per failing (column, check) the number of failing rows
    and the first five (None and []: a failure of no row), from ``validate`` and from plain
    pandera on the frame ``pandas.read_parquet`` gives."""
    import pandera.pandas as pa

    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts", "--format", "json")
    assert outcome.code in (0, 1), outcome.render()
    ours = {
        (f["column"], f["check"]): (f["failing_rows"], [e["row"] for e in f["examples"]])
        for f in json.loads(outcome.stdout)["failures"]
    }
    schema = pa.DataFrameSchema.from_yaml(root / "schemas" / "accounts.yaml")
    theirs: dict[Any, Any] = {}
    try:
        schema.validate(pd.read_parquet(root / "data" / "accounts.parquet"), lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            rows = sorted(int(i) + 1 for i in group["index"] if not pd.isna(i))
            theirs[(column, check)] = (len(rows), rows[:5]) if rows else (None, [])
    return outcome.code, ours, theirs


def _judged(
    tmp_path: Path, entry: str, data: Any, chunk_rows: int = 1000, coerce: bool = True
) -> Path:
    """The Parquet repository whose schema holds ``y`` and a column ``x`` declared with
    ``entry`` (``{dtype: ...}``), its data ``data`` (a pandas frame, written by pandas, or
    an Arrow table), read in chunks of ``chunk_rows`` rows."""
    import pyarrow.parquet as pq

    root = _parquet_repo(tmp_path)
    target_is(root, "y")
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(
        spec.read_text().replace("  target: y\n", f"  target: y\n  chunk_rows: {chunk_rows}\n")
    )
    (root / "schemas" / "accounts.yaml").write_text(
        "schema_type: dataframe\ncolumns:\n  y: {dtype: int64}\n"
        f"  x: {entry}\ncoerce: {str(coerce).lower()}\n"
    )
    if isinstance(data, pd.DataFrame):
        data.to_parquet(root / "data" / "accounts.parquet", index=False)
    else:
        pq.write_table(data, root / "data" / "accounts.parquet")
    return root


def test_integers_with_a_gap_anywhere_are_floats_in_every_chunk_as_pandas_reads_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandas reads a Parquet column of integers holding a gap anywhere as floats, so
    pandera's ``str`` makes ``8.0`` of every 8: a chunk without the gap was integers, whose
    text ``8`` passed ``^\\d+$``, and the verdict hung on ``data.chunk_rows``."""
    import pyarrow
    import pyarrow.parquet as pq

    codes = pyarrow.array([1, None] + [8] * 998 + [9] * 1000, pyarrow.int64())
    table = pyarrow.table({"y": list(range(2000)), "x": codes})
    entry = "{dtype: str, nullable: true, checks: {str_matches: '^\\d+$'}}"
    for chunk_rows, statistics in ((1000, True), (1000, False), (250_000, True)):
        root = _judged(tmp_path / f"{chunk_rows}-{statistics}", entry, table, chunk_rows)
        # a file without the footer's statistics is read for the column's gaps
        pq.write_table(table, root / "data" / "accounts.parquet", write_statistics=statistics)
        code, ours, theirs = _failures(root, capsys)
        assert ours == theirs == {("x", "str_matches('^\\d+$')"): (1999, [1, 3, 4, 5, 6])}
        assert code == 1


def test_a_file_pandas_wrote_from_nullable_columns_is_read_back_as_pandas_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``df.to_parquet`` of pandas' nullable ``Int64`` and ``boolean`` columns: pandas reads
    them back as such (its metadata in the file), which pandera's ``Int64`` and ``boolean``
    pass without coercing; they failed ``dtype`` here, read as floats and objects."""
    root = _judged(tmp_path, "{dtype: Int64, nullable: true}", pd.DataFrame(), coerce=False)
    schema = root / "schemas" / "accounts.yaml"
    schema.write_text(
        schema.read_text().replace("coerce:", "  b: {dtype: boolean, nullable: true}\ncoerce:")
    )
    frame = pd.DataFrame(
        {
            "y": [0, 1, 2],
            "x": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array([True, None, False], dtype="boolean"),
        }
    )
    frame.to_parquet(root / "data" / "accounts.parquet", index=False)
    assert _failures(root, capsys) == (0, {}, {})


#: Columns of pandas' own dtypes, which ``df.to_parquet`` names in the file's metadata and
#: ``pandas.read_parquet`` restores: a value for each chunk of 1000 rows, and where asked a
#: gap in the first.
RESTORED = {
    "Int64": ([1, 2, 0], "Int64"),
    "Int8": ([1, 2, 0], "Int8"),
    "UInt32": ([1, 2, 0], "UInt32"),
    "Float32": ([1.5, 2.0, 0.0], "Float32"),
    "Float64": ([1.0, 2.0, 0.0], "Float64"),
    "boolean": ([True, True, False], "boolean"),
    "int64[pyarrow]": ([1, 2, 0], "int64[pyarrow]"),
    "string": (["a", "b", "a"], "string"),
}


def _three_chunks(values: list[Any], dtype: str, gap: bool) -> pd.DataFrame:
    """Columns ``y`` and ``x``: 3000 rows, ``x`` each of ``values`` 1000 times, in ``dtype``;
    row 2 a gap where asked."""
    column: list[Any] = [v for v in values for _ in range(1000)]
    if gap:
        column[1] = None
    return pd.DataFrame({"y": range(3000), "x": pd.array(column, dtype=dtype)})


#: What a column is declared as; text (pandas' ``string``) only as text: a number or date
#: written as text is parsed here as in a CSV file (docs/validate.md).
DECLARED = [
    "int64",
    "Int64",
    "Int8",
    "uint32",
    "float64",
    "Float64",
    "bool",
    "boolean",
    "int64[pyarrow]",
    "bool[pyarrow]",
    "str",
    "string",
    "category",
    "datetime64[ns]",
]


@pytest.mark.parametrize("coerce", [False, True])
@pytest.mark.parametrize("stored", sorted(RESTORED))
def test_a_column_pandas_metadata_gives_its_dtype_is_judged_in_that_dtype(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stored: str, coerce: bool
) -> None:
    """Each dtype pandas' metadata restores, judged as every dtype, coercing or not, with a
    gap or without, in chunks of 1000 rows: the failures and rows of plain pandera on
    ``pandas.read_parquet``'s frame. Without coercing, pandera judges the restored dtype
    (``Int64`` is not ``float64``); the screen cleared ``int64`` and ``float64`` columns read
    as numpy's, and the pandas path read them as numpy's floats and objects."""
    declared = DECLARED if stored != "string" else ["str", "string", "category", "object"]
    for dtype in declared:
        for gap in (False, True):
            frame = _three_chunks(*RESTORED[stored], gap)
            place = tmp_path / f"{dtype}-{gap}"
            root = _judged(place, f"{{dtype: '{dtype}', nullable: true}}", frame, coerce=coerce)
            _, ours, theirs = _failures(root, capsys)
            assert ours == theirs, (dtype, gap)


@pytest.mark.parametrize("coerce", [False, True])
@pytest.mark.parametrize(
    ("stored", "dtype"),
    [("int32", "int64"), ("int64", "float64"), ("double", "int64"), ("bool", "int64")],
)
def test_numbers_pandera_does_not_coerce_are_judged_in_the_type_the_file_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stored: str, dtype: str, coerce: bool
) -> None:
    """Without coercing, pandera judges the dtype pandas reads (``int32`` is not ``int64``):
    the column was cast to the schema's type first, and passed."""
    import pyarrow

    values = pyarrow.array([1, 0, 1] * 1000).cast(pyarrow.type_for_alias(stored))
    table = pyarrow.table({"y": list(range(3000)), "x": values})
    root = _judged(tmp_path, f"{{dtype: {dtype}}}", table, coerce=coerce)
    code, ours, theirs = _failures(root, capsys)
    assert ours == theirs
    assert code == (0 if coerce else 1)


@pytest.mark.parametrize("check", ["unique: true", "checks: {unique_values_eq: [true]}"])
@pytest.mark.parametrize("zone", [None, "UTC"])
def test_a_column_pandera_coerces_is_compared_over_the_table_as_coerced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], check: str, zone: str | None
) -> None:
    """pandera's ``bool`` makes every timestamp True: the whole column repeats one value and
    holds only True. The checks over the whole table compared the timestamps, all distinct,
    which Arrow does not cast to booleans: ``unique`` passed, ``unique_values_eq`` failed."""
    import pyarrow

    stamps = pd.date_range("2024-01-01", periods=3000, freq="h", tz=zone).to_pydatetime()
    table = pyarrow.table(
        {"y": range(3000), "x": pyarrow.array(stamps, pyarrow.timestamp("us", zone))}
    )
    root = _judged(tmp_path, f"{{dtype: bool, {check}}}", table)
    code, ours, theirs = _failures(root, capsys)
    assert ours == theirs
    assert code == (1 if check.startswith("unique:") else 0)


@pytest.mark.parametrize("check", ["", ", checks: {unique_values_eq: [true, false]}"])
@pytest.mark.parametrize("dtype", ["boolean", "bool", "bool[pyarrow]"])
@pytest.mark.parametrize(
    "values", [[1, 0, 5], [1.5, 0.0, 1.0], [1.0, float("nan"), 0.0], [1, 0, 1]], ids=str
)
def test_numbers_coerced_to_booleans_are_judged_as_pandas_casts_them(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    values: list[Any],
    dtype: str,
    check: str,
) -> None:
    """pandas' ``boolean`` takes 1 and 0 alone (pandera fails ``coerce_dtype`` and ``dtype``
    on 5 or 1.5), numpy's ``bool`` makes any number but 0 True: a Parquet column of numbers
    was cast to booleans by Arrow, 5 and 1.5 to True, and passed ``boolean``."""
    import pyarrow

    table = pyarrow.table({"y": list(range(3000)), "x": [v for v in values for _ in range(1000)]})
    root = _judged(tmp_path, f"{{dtype: '{dtype}', nullable: true{check}}}", table)
    code, ours, theirs = _failures(root, capsys)
    assert ours == theirs
    assert code == (1 if theirs else 0)


@pytest.mark.parametrize("gap", [False, True])
@pytest.mark.parametrize("dtype", ["Int64", "int64", "float64"])
@pytest.mark.parametrize("stored", ["duration[s]", "timestamp[us, tz=UTC]", "timestamp[ms]"])
def test_times_coerced_to_numbers_are_judged_as_pandas_casts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stored: str, dtype: str, gap: bool
) -> None:
    """pandas refuses to make ``Int64`` of durations or timestamps (pandera fails every row),
    and makes numpy's ``int64`` of a gap (NaT) -9223372036854775808, a number: Arrow cast
    them to integers and a gap to a gap, so ``Int64`` passed, and a gap failed ``int64``."""
    import pyarrow

    kinds = {
        "duration[s]": pyarrow.duration("s"),
        "timestamp[us, tz=UTC]": pyarrow.timestamp("us", "UTC"),
        "timestamp[ms]": pyarrow.timestamp("ms"),
    }
    counts: list[int | None] = list(range(3000))
    if gap:
        counts[1] = None
    table = pyarrow.table({"y": range(3000), "x": pyarrow.array(counts).cast(kinds[stored])})
    entry = f"{{dtype: {dtype}, nullable: true, checks: {{le: 5}}}}"
    root = _judged(tmp_path, entry, table)
    code, ours, theirs = _failures(root, capsys)
    assert ours == theirs
    assert code == 1


@pytest.mark.parametrize("coerce", [False, True])
@pytest.mark.parametrize("dtype", ["int64", "Int64", "float64", "boolean", "str"])
def test_a_category_with_a_gap_is_judged_as_a_whole_in_every_chunk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dtype: str, coerce: bool
) -> None:
    """A Categorical of words with a gap, written by pandas, judged as another dtype: pandera
    judges each value of the whole column. A chunk without the gap was judged alone, where
    pandas' map of its one category gives a Categorical, on which pandera's coercion raised
    (exit 2: ``'Categorical' ... does not support operation 'all'``) and its dtype check
    named no row (the chunk's failing rows were lost)."""
    words = pd.Categorical([None] + ["a"] * 2999)
    frame = pd.DataFrame({"y": range(3000), "x": words})
    root = _judged(tmp_path, f"{{dtype: {dtype}, nullable: true}}", frame, coerce=coerce)
    code, ours, theirs = _failures(root, capsys)
    assert ours == theirs
    assert code == (0 if dtype == "str" and coerce else 1)


def test_a_column_pandas_cannot_read_as_its_metadata_says_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandas' metadata names ``Int8`` for a column that stores 1000: pandas cannot read the
    file (``pandas.read_parquet`` raises), and it is bad input naming the file and column
    (exit 2), where it was an internal error (exit 3)."""
    import pyarrow
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"y": [0, 1], "x": pd.array([1, 2], dtype="Int8")})
    root = _judged(tmp_path, "{dtype: Int8}", frame, coerce=False)
    path = root / "data" / "accounts.parquet"
    table = pq.read_table(path)
    wide = pyarrow.field("x", pyarrow.int64())
    table = table.set_column(1, wide, pyarrow.array([1, 1000])).replace_schema_metadata(
        table.schema.metadata
    )
    pq.write_table(table, path)
    with pytest.raises(pyarrow.ArrowInvalid):
        pd.read_parquet(path)
    outcome = run_cli(capsys, "-C", str(root), "validate", "accounts")
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr.startswith(
        "mlgitops validate: error: data/accounts.parquet: pandas cannot read column 'x' as its "
        "metadata says: "
    ), outcome.stderr


@pytest.mark.parametrize("floor", ["2023-01-01 00:00:00", "2025-01-01 00:00:00"])
@pytest.mark.parametrize(
    "written",
    [["20240101", "20240315", "20241231"], ["1", "2", "3"], ["2024-01-05", "2024-03-01", None]],
    ids=["yyyymmdd", "numbers", "iso-with-a-gap"],
)
def test_dates_a_parquet_file_stores_as_text_are_read_as_pandas_reads_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: list[Any], floor: str
) -> None:
    """Text is text to ``pandas.read_parquet``: ``20240101`` is the 1st of January 2024 to
    pandera's coercion, and ``1`` no date at all. They were read as a CSV file's numbers
    (nanoseconds since 1970): the first failed a 2023 floor pandera passes, the second
    passed where pandera fails every row."""
    import pyarrow

    table = pyarrow.table({"y": [0, 1, 0], "x": pyarrow.array(written, pyarrow.string())})
    entry = f"{{dtype: 'datetime64[ns]', nullable: true, checks: {{ge: '{floor}'}}}}"
    root = _judged(tmp_path, entry, table)
    code, ours, theirs = _failures(root, capsys)
    assert ours == theirs
    assert (code == 0) == (not theirs)


@pytest.mark.parametrize("coerce", [False, True])
@pytest.mark.parametrize(
    "dtype", ["int64", "Int64", "uint8", "float64", "Float64", "int64[pyarrow]", "bool"]
)
def test_numbers_a_parquet_file_stores_as_text_fail_a_dtype_pandera_does_not_coerce(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dtype: str, coerce: bool
) -> None:
    """A file that stores whole numbers (or booleans) as text, where the schema wants them
    typed and does not coerce: pandera fails the column's ``dtype``, as the file's type is
    text. The values read as numbers passed, failing open: they are judged as text only
    where pandera coerces (then they pass, as in pandera)."""
    import pyarrow

    words = ["1", "0", "1"] if dtype != "bool" else ["True", "False", "True"]
    table = pyarrow.table({"y": list(range(3000)), "x": pyarrow.array(words * 1000)})
    root = _judged(tmp_path, f"{{dtype: '{dtype}'}}", table, coerce=coerce)
    code, ours, theirs = _failures(root, capsys)
    assert code == (0 if coerce else 1)
    assert ours.keys() == theirs.keys()
    if not coerce:
        check = f"dtype('{dtype}')"
        assert ours == {("x", check): (None, [])}
        report = json.loads((root / ".mlgitops/accounts/validation.json").read_text())
        (failure,) = report["failures"]
        assert failure["message"] == (
            f"column 'x' has type str; the schema wants '{dtype}' (the file stores text; "
            f"with coerce: true each value is read as {dtype})"
        )
