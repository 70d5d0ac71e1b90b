"""validation.json, validation.md, annotations and the terminal table, word for word."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.validate.corpus import CORPUS, make_repo, run_cli, target_is


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    shutil.copy(CORPUS / "out_of_range.csv", root / "data" / "accounts.csv")
    return root


def test_json_document(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--format", "json")
    assert outcome.code == 1
    document = json.loads(outcome.stdout)
    assert document == json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    assert document == {
        "schema_version": 1,
        "pipeline": "accounts",
        "data": "data/accounts.csv",
        "data_hash": hashlib.sha256((repo / "data/accounts.csv").read_bytes()).hexdigest(),
        "format": "csv",
        "schema": "schemas/accounts.yaml",
        "rows": 4,
        "passed": False,
        "error": None,
        "failures": [
            {
                "column": "age",
                "check": "in_range(0, 120)",
                "message": "values out of range",
                "failing_rows": 2,
                "examples": [
                    {"row": 2, "line": 3, "value": 130},
                    {"row": 4, "line": 5, "value": -3},
                ],
            },
            {
                "column": "score",
                "check": "greater_than_or_equal_to(0)",
                "message": "values below 0",
                "failing_rows": 1,
                "examples": [{"row": 3, "line": 4, "value": -1.0}],
            },
        ],
        "schema_diff": None,
        "profile_diff": None,
        "holdout": None,
    }


def test_markdown(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (repo / ".mlgitops/accounts/validation.md").read_text() == (
        "### ❌ Data validation: `accounts`\n"
        "\n"
        "2 check(s) fail on 4 rows of `data/accounts.csv` against `schemas/accounts.yaml`.\n"
        "\n"
        "| column | check | failing rows | first offending values |\n"
        "|---|---|---:|---|\n"
        "| `age` | in_range(0, 120) | 2 | data/accounts.csv:3: <code>130</code>, "
        "data/accounts.csv:5: <code>-3</code> |\n"
        "| `score` | greater_than_or_equal_to(0) | 1 | data/accounts.csv:4: <code>-1.0</code> |\n"
    )


def test_github_annotations(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    lines = outcome.stdout.splitlines()
    token = lines[2].removeprefix("::stop-commands::")
    assert lines[:2] == ["::group::validate data/accounts.csv", "::endgroup::"]
    assert lines[2:] == [
        f"::stop-commands::{token}",
        "accounts: data/accounts.csv, 4 rows: FAILED (2 check(s))",
        "column  check                        rows  first offending value",
        "age     in_range(0, 120)                2  data/accounts.csv:3: 130",
        "score   greater_than_or_equal_to(0)     1  data/accounts.csv:4: -1.0",
        f"::{token}::",
        "::error file=data/accounts.csv,line=3,title=age%3A in_range(0%2C 120)::2 row(s): "
        "values out of range; first at data/accounts.csv:3: 130",
        "::error file=data/accounts.csv,line=4,title=score%3A greater_than_or_equal_to(0)::"
        "1 row(s): values below 0; first at data/accounts.csv:4: -1.0",
    ]


def test_annotations_stay_within_githubs_cap(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = [f"c{i}" for i in range(14)]
    schema = "schema_type: dataframe\ncolumns:\n" + "".join(
        f"  {c}: {{dtype: int64, less_than: 0}}\n" for c in columns
    )
    (repo / "schemas" / "accounts.yaml").write_text(schema)
    (repo / "data" / "accounts.csv").write_text(
        ",".join(columns) + "\n" + ",".join("1" * 14) + "\n"
    )
    target_is(repo, "c0")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--format", "github")
    errors = [line for line in outcome.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 10
    assert errors[-1] == (
        "::error file=data/accounts.csv,title=more failures::5 more failing check(s) not "
        "annotated (GitHub shows 10 per step); see the job summary or validation.json"
    )


def test_offending_values_are_escaped(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = 'id,age,score,plan\n1,34,0.5,"<b>x</b>|`y`"\n'
    (repo / "data" / "accounts.csv").write_text(data)
    run_cli(capsys, "-C", str(repo), "validate", "accounts")
    markdown = (repo / ".mlgitops/accounts/validation.md").read_text()
    assert "<code>&lt;b&gt;x&lt;/b&gt;&#124;&#96;y&#96;</code>" in markdown


def test_passing_data(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "data" / "accounts.csv").write_text("id,age,score,plan\n1,34,,free\n2,51,2.5,team\n")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stdout, outcome.stderr) == (
        0,
        "accounts: data/accounts.csv, 2 rows: passed\n",
        "",
    )
    assert (repo / ".mlgitops/accounts/validation.md").read_text() == (
        "### ✅ Data validation: `accounts`\n\n"
        "2 rows of `data/accounts.csv` against `schemas/accounts.yaml`: every check passes.\n"
    )


def test_unreadable_data_still_leaves_a_complete_report(
    repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    outcome = run_cli(
        capsys,
        "-C",
        str(repo),
        "validate",
        "accounts",
        "--data",
        "data/nope.csv",
        "--output",
        str(out),
    )
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr == "mlgitops validate: error: data/nope.csv: no such file\n"
    document = json.loads((out / "validation.json").read_text())
    assert (document["passed"], document["rows"], document["error"]) == (
        False,
        None,
        "data/nope.csv: no such file",
    )
    assert (out / "validation.md").read_text() == (
        "### ❌ Data validation: `accounts`\n\n"
        "The data cannot be validated: data/nope.csv: no such file\n"
    )


def test_a_data_file_name_that_is_not_utf8_is_a_usage_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reports name the file, and are UTF-8: the name is refused before they are
    written."""
    import os

    name = os.fsdecode(b"data/accounts\xff.csv")
    shutil.copy(repo / "data" / "accounts.csv", repo / name)
    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", name)
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        "mlgitops validate: error: argument --data: data/accounts\\xff.csv: the file name is "
        "not UTF-8; rename it\n"
    )
    assert not (repo / ".mlgitops").exists()


def test_unknown_pipeline(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, "-C", str(repo), "validate", "nope")
    assert outcome.code == 2
    assert outcome.stderr == (
        "mlgitops validate: error: no pipeline named 'nope' in pipelines/ (known: accounts)\n"
    )
    assert not (repo / ".mlgitops").exists()


def test_help_loads_no_data_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from mlgitops.cli import main\n"
        "try:\n    main(['validate', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pandas', 'pandera', 'pyarrow', 'numpy', 'requests') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
    assert "--data PATH_OR_URL" in done.stdout


def test_a_column_name_holding_a_line_end_stays_on_its_line() -> None:
    """A quoted header may hold CR or LF in a name: the terminal table escapes it, and the
    comment's table row stays one row."""
    from mlgitops.validation.failures import Example, Failure
    from mlgitops.validation.report import Report, markdown, table

    failure = Failure("i\rd\n2", "dtype('int64')", "values that are not of type int64", 1, (
        Example(1, "x", 2),
    ))  # fmt: skip
    report = Report("p", "data/p.csv", "csv", "schemas/p.yaml", 1, (failure,), "data/p.csv")
    shown = table(report)
    assert shown[1:] == [
        "column   check           rows  first offending value",
        "i\\rd\\n2  dtype('int64')     1  data/p.csv:2: 'x'",
    ]
    row = next(line for line in markdown(report).splitlines() if "dtype" in line)
    assert "\r" not in row and row.startswith("| `i d 2` |")


def test_a_slices_column_the_schema_does_not_declare_is_a_spec_error_before_training(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The holdout holds the declared columns alone: validate and train passed, and every
    compare then refused the spec, after the GPU had trained."""
    schema = repo / "schemas" / "accounts.yaml"
    schema.write_text(schema.read_text().replace("strict: true", "strict: false"))
    (repo / "data" / "accounts.csv").write_text(
        "id,age,score,plan,region\n1,34,0.5,free,eu\n2,51,1.5,pro,us\n"
    )
    spec = repo / "pipelines" / "accounts.yaml"
    spec.write_text(spec.read_text() + "compare:\n  slices: {column: region}\n")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr == (
        "pipelines/accounts.yaml:10:20: compare.slices.column 'region' is not declared by "
        "schemas/accounts.yaml: the holdout holds the columns the schema declares; declare it\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n"
    )
    schema.write_text(
        schema.read_text().replace("columns:\n", "columns:\n  region: {dtype: str}\n")
    )
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 0
