"""A Parquet column of the wrong type: each problem once, in the user's words."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.validate.corpus import make_repo, run_cli


def test_a_text_column_where_numbers_belong_is_reported_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path)
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(spec.read_text().replace("data/accounts.csv", "data/accounts.parquet"))
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
