"""Features the stages read as text (dates and times, booleans) with gaps in them.

A date column is a categorical feature, read as text; a gap in it came to the model as
pandas' ``NaT`` object beside the dates' text, and a boolean's gap as ``NA`` beside
``True``: scikit-learn's encoders refuse a column of mixed types, so training failed
("Encoders require their input argument must be uniformly strings or numbers. Got
['NaTType', 'str']") on data that validation had passed. A gap is the same missing value
(NaN) in every categorical feature, as it is where the data holds text.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.train.helpers import cli, commit, example_repo

pytestmark = pytest.mark.slow

SCHEMA = """\
schema_type: dataframe
columns:
  num: {dtype: float64}
  seen: {dtype: 'datetime64[ns]', nullable: true}
  flag: {dtype: boolean, nullable: true}
  churned: {dtype: int64}
coerce: true
"""


def _frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    num = rng.normal(size=rows)
    seen = pd.Series(pd.date_range("2024-01-01", periods=rows, freq="D"))
    seen[::23] = pd.NaT
    flag = pd.Series(rng.random(rows) > 0.5, dtype="boolean")
    flag[::29] = pd.NA
    churned = (num + rng.normal(scale=0.3, size=rows) > 0).astype("int64")
    return pd.DataFrame({"num": num, "seen": seen, "flag": flag, "churned": churned})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_gaps_in_date_and_boolean_features_train_and_compare(tmp_path: Path, fmt: str) -> None:
    root = example_repo(tmp_path / "repo", "gaps")
    (root / "data" / "tumors.csv").unlink()
    data = f"data/gaps.{fmt}"
    if fmt == "csv":
        _frame().to_csv(root / data, index=False)
    else:
        _frame().to_parquet(root / data, index=False)
    (root / "schemas" / "tumors.yaml").write_text(SCHEMA)
    spec = root / "pipelines" / "gaps.yaml"
    text = spec.read_text()
    for old, new in (
        ("data/tumors.csv", data),
        ("target: malignant", "target: churned"),
        ("roc_auc: {min: 0.90, max_drop: 0.01}", "roc_auc: {min: 0.5}"),
        ("accuracy: {min: 0.85}", "accuracy: {min: 0.5}"),
    ):
        assert old in text
        text = text.replace(old, new)
    spec.write_text(text)
    commit(root, "gaps")

    assert cli(root, "validate", "gaps") == 0
    assert cli(root, "train", "gaps") == 0
    train = json.loads((root / ".mlgitops" / "gaps" / "train.json").read_text())
    assert {f["name"] for f in train["features"]} == {"num", "seen", "flag"}
    assert cli(root, "compare", "gaps") == 0
    verdict = json.loads((root / ".mlgitops" / "gaps" / "verdict.json").read_text())
    assert verdict["passed"] is True
