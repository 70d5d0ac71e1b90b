"""A pipeline whose holdout is a file of its own (``data.test_path``): ``validate`` checks it
with the data, at its own lines, in every report it writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.validate.corpus import CORPUS, make_repo, run_cli

PASSING = "id,age,score,plan\n1,34,,free\n2,51,2.5,team\n3,20,1.0,pro\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``accounts`` with data that passes, holding out ``data/test.csv`` (out of range)."""
    root = make_repo(tmp_path / "repo")
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(spec.read_text().replace("  target: plan\n", _TEST_PATH, 1))
    (root / "data" / "accounts.csv").write_text(PASSING)
    shutil.copy(CORPUS / "out_of_range.csv", root / "data" / "test.csv")
    return root


_TEST_PATH = "  target: plan\n  test_path: data/test.csv\n"


def test_a_holdout_file_that_fails_the_schema_fails_validate_at_its_own_lines(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stderr) == (1, "")
    assert outcome.stdout == (
        "accounts: data/accounts.csv, 3 rows: passed\n"
        "accounts: data/test.csv (the holdout), 4 rows: FAILED (2 check(s))\n"
        "column  check                        rows  first offending value\n"
        "age     in_range(0, 120)                2  data/test.csv:3: 130\n"
        "score   greater_than_or_equal_to(0)     1  data/test.csv:4: -1.0\n"
    )
    document = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    assert (document["data"], document["rows"], document["failures"]) == (
        "data/accounts.csv",
        3,
        [],
    )
    assert document["passed"] is False
    holdout = document["holdout"]
    assert {k: holdout[k] for k in ("data", "format", "rows", "passed", "error")} == {
        "data": "data/test.csv",
        "format": "csv",
        "rows": 4,
        "passed": False,
        "error": None,
    }
    import hashlib

    assert holdout["data_hash"] == hashlib.sha256((repo / "data/test.csv").read_bytes()).hexdigest()
    assert [(f["column"], f["examples"]) for f in holdout["failures"]] == [
        ("age", [{"row": 2, "line": 3, "value": 130}, {"row": 4, "line": 5, "value": -3}]),
        ("score", [{"row": 3, "line": 4, "value": -1.0}]),
    ]
    assert (repo / ".mlgitops/accounts/validation.md").read_text() == (
        "### ❌ Data validation: `accounts`\n"
        "\n"
        "3 rows of `data/accounts.csv` against `schemas/accounts.yaml`: every check passes.\n"
        "\n"
        "2 check(s) fail on 4 rows of `data/test.csv` (data.test_path, the holdout) against "
        "`schemas/accounts.yaml`.\n"
        "\n"
        "| column | check | failing rows | first offending values |\n"
        "|---|---|---:|---|\n"
        "| `age` | in_range(0, 120) | 2 | data/test.csv:3: <code>130</code>, "
        "data/test.csv:5: <code>-3</code> |\n"
        "| `score` | greater_than_or_equal_to(0) | 1 | data/test.csv:4: <code>-1.0</code> |\n"
    )


def test_the_holdout_file_s_failures_are_annotated_on_it(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "data" / "accounts.csv").write_text(PASSING.replace("51", "151"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert outcome.code == 1
    lines = outcome.stdout.splitlines()
    assert lines[:4] == [
        "::group::validate data/accounts.csv",
        "::endgroup::",
        "::group::validate data/test.csv",
        "::endgroup::",
    ]
    errors = [line.split("::")[1] for line in lines if line.startswith("::error")]
    assert errors == [
        "error file=data/accounts.csv,line=3,title=age%3A in_range(0%2C 120)",
        "error file=data/test.csv,line=3,title=age%3A in_range(0%2C 120)",
        "error file=data/test.csv,line=4,title=score%3A greater_than_or_equal_to(0)",
    ]


def test_a_holdout_file_that_passes_passes_with_the_data(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "data" / "test.csv").write_text(PASSING)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stdout) == (
        0,
        "accounts: data/accounts.csv, 3 rows: passed\n"
        "accounts: data/test.csv (the holdout), 3 rows: passed\n",
    )
    document = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    assert (document["passed"], document["holdout"]["passed"]) == (True, True)


def test_a_holdout_file_that_cannot_be_read_is_bad_input_and_the_report_says_so(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "data" / "test.csv").unlink()
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stdout, outcome.stderr) == (
        2,
        "accounts: data/accounts.csv, 3 rows: passed\n",
        "mlgitops validate: error: data/test.csv: no such file\n",
    )
    document = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    assert (document["passed"], document["rows"], document["error"]) == (False, 3, None)
    assert {k: document["holdout"][k] for k in ("rows", "passed", "error", "data_hash")} == {
        "rows": None,
        "passed": False,
        "error": "data/test.csv: no such file",
        "data_hash": None,
    }
    assert (repo / ".mlgitops/accounts/validation.md").read_text() == (
        "### ❌ Data validation: `accounts`\n"
        "\n"
        "3 rows of `data/accounts.csv` against `schemas/accounts.yaml`: every check passes.\n"
        "\n"
        "The holdout file (`data/test.csv`) cannot be validated: data/test.csv: no such file\n"
    )


def test_the_row_bounds_are_the_data_s_and_not_the_holdout_file_s(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As train holds them: ``data.rows`` bounds ``data.path``."""
    spec = repo / "pipelines" / "accounts.yaml"
    spec.write_text(spec.read_text().replace(_TEST_PATH, _TEST_PATH + "  rows: {min: 3}\n"))
    (repo / "data" / "test.csv").write_text(PASSING.replace("3,20,1.0,pro\n", ""))
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 0
    (repo / "data" / "accounts.csv").write_text(PASSING.replace("3,20,1.0,pro\n", ""))
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert outcome.code == 1
    assert "accounts: data/accounts.csv, 2 rows: FAILED (1 check(s))\n" in outcome.stdout


def test_another_file_is_validated_alone(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--data`` names one file: the holdout is the pipeline's data's, not that file's."""
    (repo / "data" / "june.csv").write_text(PASSING)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", "data/june.csv")
    assert (outcome.code, outcome.stdout) == (0, "accounts: data/june.csv, 3 rows: passed\n")
    document = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    assert document["holdout"] is None
