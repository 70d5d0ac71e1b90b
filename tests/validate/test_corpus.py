"""Every file of the bad-data corpus gives its exact, expected outcome."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from tests.validate.corpus import CORPUS, make_repo, run_cli

CASES = sorted(p.stem for p in CORPUS.glob("*.csv"))
SCHEMA = Path(__file__).parents[2] / "src" / "mlgitops" / "schemas" / "validation.schema.json"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_corpus_is_complete() -> None:
    wanted = {
        "wrong_types", "nulls", "out_of_range", "unknown_category", "missing_column",
        "extra_column", "duplicate_keys", "empty", "header_only", "unclosed_quote",
        "wrong_field_count", "non_utf8",
    }  # fmt: skip
    assert wanted <= set(CASES)
    assert {p.stem for p in CORPUS.glob("*.expected")} == set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_case(case: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(CORPUS / f"{case}.csv", repo / "data" / f"{case}.csv")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", f"data/{case}.csv")
    assert outcome.render() == (CORPUS / f"{case}.expected").read_text()
    document = json.loads((repo / ".mlgitops" / "accounts" / "validation.json").read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(document)
    assert document["passed"] is (outcome.code == 0)
    assert (document["error"] is not None) is (outcome.code == 2)


@pytest.mark.parametrize(
    ("case", "line", "text"),
    [
        ("out_of_range", 3, "2,130,1.5,pro"),
        ("multiline_value", 5, "3,141,3.0,team"),
        ("blank_lines", 6, "3,141,3.0,team"),
        ("crlf", 3, "2,152,1.5,pro"),
    ],
)
def test_reported_line_opens_the_offending_row(
    case: str, line: int, text: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CORPUS / f"{case}.csv", repo / "data" / f"{case}.csv")
    run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", f"data/{case}.csv")
    document = json.loads((repo / ".mlgitops" / "accounts" / "validation.json").read_text())
    ages = [f for f in document["failures"] if f["column"] == "age"]
    assert ages[0]["examples"][0]["line"] == line
    file_lines = (CORPUS / f"{case}.csv").read_bytes().decode().splitlines()
    assert file_lines[line - 1] == text
