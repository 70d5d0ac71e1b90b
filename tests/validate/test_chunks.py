"""Checks over the whole table stay right when the file is read in many chunks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.validate.corpus import make_repo, run_cli

ROWS = 60_000  # about 1.3 MB: many chunks of 1,000 rows


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(
        spec.read_text().replace("  target: plan\n", "  target: plan\n  chunk_rows: 1000\n")
    )
    return root


def _write(path: Path, rows: list[str]) -> None:
    path.write_text("id,age,score,plan\n" + "".join(r + "\n" for r in rows))


def _rows() -> list[str]:
    return [
        f"{i},{20 + i % 50},{i % 7}.5,{('free', 'pro', 'team')[i % 3]}" for i in range(1, ROWS + 1)
    ]


def _report(repo: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((repo / ".mlgitops/accounts/validation.json").read_text())  # type: ignore[no-any-return]


def test_the_file_is_read_in_many_chunks(repo: Path) -> None:
    from mlgitops.data import open_data

    _write(repo / "data" / "accounts.csv", _rows())
    reader = open_data(repo, "data/accounts.csv", fmt=None, workdir=repo)
    chunks = list(reader.batches({}, ["id"], 1000))
    assert len(chunks) > 1
    assert sum(c.num_rows for c in chunks) == ROWS


@pytest.mark.parametrize("written", ["10", "10.0", "+10", " 10", "1e1", "010"])
def test_duplicates_in_different_chunks(
    repo: Path, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    """``10`` and ``10.0`` (or ``+10``, `` 10``, ``1e1``) are the same id, as pandas reads
    them and pandera judges them. Some make the column text to pyarrow; duplicates must
    still be found by the number, not the text, and shown as the number."""
    rows = _rows()
    rows[54_999] = rows[54_999].replace("55000,", f"{written},", 1)
    _write(repo / "data" / "accounts.csv", rows)
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    (failure,) = _report(repo)["failures"]
    assert failure == {
        "column": "id",
        "check": "field_uniqueness",
        "message": "duplicate values in a unique column",
        "failing_rows": 2,
        "examples": [
            {"row": 10, "line": 11, "value": 10},
            {"row": 55000, "line": 55001, "value": 10},
        ],
    }


def test_a_bad_value_deep_in_the_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows()
    rows[49_999] = "50000,old,1.5,pro"
    rows[59_999] = "60000,200,1.5,pro"
    _write(repo / "data" / "accounts.csv", rows)
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    failures = {f["check"]: f for f in _report(repo)["failures"]}
    assert failures["dtype('int64')"]["examples"] == [{"row": 50000, "line": 50001, "value": "old"}]
    assert failures["in_range(0, 120)"]["examples"] == [{"row": 60000, "line": 60001, "value": 200}]
    assert len(failures) == 2


def test_values_of_the_wrong_type_in_several_columns_cost_one_more_read(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows appended in the wrong shape break several columns at once, deep in the file:
    the file is read once more with all of them as text, not once more per column."""
    from mlgitops.data.csv import CsvReader

    reads: list[list[str]] = []
    batches = CsvReader.batches

    def counted(self: CsvReader, types: Any, columns: Any, chunk_rows: int) -> Any:
        reads.append(sorted(name for name, kind in types.items() if str(kind) == "string"))
        return batches(self, types, columns, chunk_rows)

    monkeypatch.setattr(CsvReader, "batches", counted)
    rows = _rows()
    rows[-3:] = ["59998,old,1.5,pro", "59999,40,high,pro", "x60000,40,1.5,pro"]
    _write(repo / "data" / "accounts.csv", rows)
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    failures = {(f["column"], f["check"]): f["examples"] for f in _report(repo)["failures"]}
    assert failures == {
        ("age", "dtype('int64')"): [{"row": 59998, "line": 59999, "value": "old"}],
        ("score", "dtype('float64')"): [{"row": 59999, "line": 60000, "value": "high"}],
        ("id", "dtype('int64')"): [{"row": 60000, "line": 60001, "value": "x60000"}],
    }
    assert reads == [["plan"], ["age", "id", "plan", "score"]]


def test_past_sixteen_failing_columns_in_a_block_the_reader_stops_looking(
    tmp_path: Path,
) -> None:
    """The block is read again once per column found (up to sixteen), then the caller is
    told: it reads every column as text on its next read."""
    import pyarrow as pa

    from mlgitops.data import ConversionFailed, open_data

    names = [f"n{i}" for i in range(20)]
    rows = [",".join(str(i + j) for j in range(20)) for i in range(50)]
    rows.append(",".join("word" for _ in range(20)))
    (tmp_path / "wide.csv").write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    reader = open_data(tmp_path, "wide.csv", fmt=None, workdir=tmp_path)
    with pytest.raises(ConversionFailed) as caught:
        list(reader.batches({n: pa.int64() for n in names}, names, 1000))
    assert [caught.value.column, *caught.value.others] == names[:16]


def test_row_count_bounds(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = repo / "pipelines" / "accounts.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  chunk_rows: 1000\n", "  chunk_rows: 1000\n  rows: {min: 100000, max: 200000}\n"
        )
    )
    _write(repo / "data" / "accounts.csv", _rows())
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    assert _report(repo)["failures"] == [
        {
            "column": None,
            "check": "row_count >= 100000",
            "message": "60,000 rows; the spec wants at least 100,000",
            "failing_rows": None,
            "examples": [],
        }
    ]


def test_distinct_values_stay_distinct_beside_a_value_that_is_not_a_number(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A word makes the column text: ids that differ as numbers are not duplicates, and the
    same word twice is (pandas' ``duplicated`` on the column as pandas reads it)."""
    rows = _rows()
    for at in (99, 30_000, 59_000):
        rows[at] = rows[at].replace(f"{at + 1},", "x7,", 1)
    _write(repo / "data" / "accounts.csv", rows)
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    failures = {f["check"]: f for f in _report(repo)["failures"]}
    assert set(failures) == {"dtype('int64')", "field_uniqueness"}
    assert failures["dtype('int64')"]["failing_rows"] == 3
    assert failures["field_uniqueness"]["failing_rows"] == 3
    assert [e["row"] for e in failures["field_uniqueness"]["examples"]] == [100, 30_001, 59_001]


def test_the_set_of_distinct_values_is_of_numbers_however_they_are_written(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``unique_values_eq`` on a column of numbers: ``2``, ``2.0`` and ``\u0662`` (an
    Arabic-Indic 2, which makes pyarrow read the column as text) are one value, and a value
    that is not a number is one that is not expected."""
    schema = repo / "schemas" / "accounts.yaml"
    text = schema.read_text()
    assert "  score:\n    dtype: float64\n" in text
    schema.write_text(
        text.replace(
            "  score:\n    dtype: float64\n",
            "  score:\n    dtype: float64\n    unique_values_eq: [1.5, 2]\n",
        )
    )
    rows = ["1,30,1.5,free", "2,31,2,pro", "3,32,2.0,team", "4,33,+1.50,free", "5,34,\u0662,pro"]
    _write(repo / "data" / "accounts.csv", rows)
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 0
    _write(repo / "data" / "accounts.csv", [*rows, "6,35,x,pro"])
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    found = {f["check"]: f for f in _report(repo)["failures"]}
    assert set(found) == {"dtype('float64')", "unique_values_eq([1.5, 2])"}
    assert "unexpected ['x']" in found["unique_values_eq([1.5, 2])"]["message"]


@pytest.mark.parametrize("age", ["30", "30.0"], ids=["integers", "whole-floats"])
def test_unique_key_over_two_columns(
    repo: Path, capsys: pytest.CaptureFixture[str], age: str
) -> None:
    """``30.0`` (which makes pyarrow read the column as text) is the same age as ``30``."""
    schema = repo / "schemas" / "accounts.yaml"
    text = (
        schema.read_text()
        .replace("    unique: true\n", "")
        .replace("strict: true", "strict: true\nunique: [age, plan]")
    )
    schema.write_text(text)
    _write(
        repo / "data" / "accounts.csv",
        ["1,30,1.0,free", f"2,{age},1.0,pro", "3,31,1.0,free", f"4,{age},2.0,free"],
    )
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    (failure,) = _report(repo)["failures"]
    assert failure["column"] == "age, plan"
    assert failure["check"] == "multiple_fields_uniqueness"
    assert failure["failing_rows"] == 2
    assert failure["examples"] == [
        {"row": 1, "line": 2, "value": {"age": 30, "plan": "free"}},
        {"row": 4, "line": 5, "value": {"age": 30, "plan": "free"}},
    ]


def test_parquet_in_chunks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = list(range(1, 5001))
    ids[4000] = 7
    ages = [30] * 5000
    ages[2500] = None
    table = pa.table({"id": ids, "age": ages, "score": [1.0] * 5000, "plan": ["pro"] * 5000})
    pq.write_table(table, repo / "data" / "accounts.parquet", row_group_size=1000)
    outcome = run_cli(
        capsys, "-C", str(repo), "validate", "accounts", "--data", "data/accounts.parquet"
    )
    assert outcome.code == 1
    assert outcome.stdout.splitlines() == [
        "accounts: data/accounts.parquet, 5,000 rows: FAILED (2 check(s))",
        "column  check             rows  first offending value",
        "age     not_nullable         1  row 2501: null",
        "id      field_uniqueness     2  row 7: 7",
    ]
    assert _report(repo)["format"] == "parquet"


def test_a_file_that_is_not_parquet(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "data" / "accounts.parquet").write_text("id,age\n1,2\n")
    outcome = run_cli(
        capsys, "-C", str(repo), "validate", "accounts", "--data", "data/accounts.parquet"
    )
    assert outcome.code == 2
    assert outcome.stderr.startswith(
        "mlgitops validate: error: data/accounts.parquet: not a readable Parquet file ("
    )
