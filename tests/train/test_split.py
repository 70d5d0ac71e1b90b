"""The split's rows and the training-row fingerprints it hands to ``training_rows.parquet``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgitops.features import row_fingerprints
from mlgitops.spec import load_repo
from mlgitops.training.data import Split, load_split

_COLUMNS = """\
    x: {dtype: float64}
    city: {dtype: str, nullable: true}
    code: {dtype: category}
    y: {dtype: int64}
"""


def _split(root: Path, split: str, extra_data: str = "") -> Split:
    rng = np.random.default_rng(5)
    rows = 300
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=rows).round(3),
            "city": rng.choice(["north", "south", ""], size=rows),
            "code": rng.integers(0, 4, size=rows),
            "y": rng.integers(0, 2, size=rows),
        }
    )
    frame.loc[::7, "city"] = None
    (root / "data").mkdir(parents=True)
    (root / "pipelines").mkdir()
    frame.to_csv(root / "data" / "d.csv", index=False)
    frame.iloc[:50].to_csv(root / "data" / "test.csv", index=False)
    (root / "pipelines" / "p.yaml").write_text(
        "name: p\ndata:\n  path: data/d.csv\n  target: y\n"
        f"  columns:\n{_COLUMNS}  {split}\n{extra_data}"
        "model: {estimator: sklearn.linear_model.LogisticRegression}\n"
        "task: classification\nmetrics: [accuracy]\n"
    )
    repo = load_repo(root)
    return load_split(repo.root, repo.pipeline("p"), root)


@pytest.mark.parametrize(
    ("split", "reused"),
    [
        ("split: {test_size: 0.25, seed: 3}", True),
        ("split: {test_size: 0.25, seed: 3, key: [y, code, city, x]}", True),
        ("split: {test_size: 0.25, seed: 3, key: [x, city]}", False),
        ("test_path: data/test.csv", False),
    ],
    ids=["default-key", "same-columns-as-key", "other-key", "test-file"],
)
def test_training_fingerprints_are_those_of_the_training_rows(
    tmp_path: Path, split: str, reused: bool
) -> None:
    """Whether or not the split's own hashes are reused, training_rows.parquet holds the
    fingerprints of exactly the training rows, over every feature and the target."""
    found = _split(tmp_path, split)
    assert found.categorical == ("city", "code")
    assert (found.known_fingerprints is not None) is reused
    expected = row_fingerprints(found.train, ("x", "city", "code", "y"))
    assert found.training_fingerprints().tolist() == expected.tolist()
    assert len(expected) == len(found.train)


@pytest.mark.parametrize("split", ["split: {test_size: 0.25, seed: 3}", "test_path: data/test.csv"])
def test_columns_a_schema_wide_dtype_judges_but_does_not_declare_are_no_features(
    tmp_path: Path, split: str
) -> None:
    """Coercing, pandera judges every column of the file as the schema's dtype: validation
    reads the undeclared ones too, and training still takes only the declared columns
    (a test file need not have the others)."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({name: rng.random(40).round(3) for name in ("x", "y", "z")})
    (tmp_path / "data").mkdir()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "schemas").mkdir()
    frame.to_csv(tmp_path / "data" / "d.csv", index=False)
    frame[["x", "y"]].iloc[:10].to_csv(tmp_path / "data" / "test.csv", index=False)
    (tmp_path / "schemas" / "s.yaml").write_text(
        "schema_type: dataframe\ndtype: float64\ncoerce: true\ncolumns:\n  x: {}\n  y: {}\n"
    )
    (tmp_path / "pipelines" / "p.yaml").write_text(
        "name: p\ndata:\n  path: data/d.csv\n  schema: schemas/s.yaml\n  target: y\n"
        f"  {split}\nmodel: {{estimator: sklearn.linear_model.LinearRegression}}\n"
        "task: regression\nmetrics: [rmse]\n"
    )
    repo = load_repo(tmp_path)
    found = load_split(repo.root, repo.pipeline("p"), tmp_path)
    assert (found.features, list(found.train.columns)) == (("x",), ["__row__", "x", "y"])


def test_a_float32_fraction_is_the_decimal_numpy_writes_it_as() -> None:
    """:func:`float32_decimals` against numpy's shortest repr of the same float32s, over
    magnitudes from 1e-8 to 1e8; decimals read as float64, and whole numbers, unchanged."""
    from mlgitops.features import float32_decimals

    rng = np.random.default_rng(7)
    scaled = rng.normal(size=50_000) * 10.0 ** rng.integers(-8, 9, 50_000)
    narrow = np.concatenate([scaled, np.round(rng.normal(size=20_000), 6)]).astype(np.float32)
    expected = [
        float(v) if v == np.floor(v) else float(np.format_float_positional(v, unique=True))
        for v in narrow
    ]
    assert float32_decimals(narrow.astype(np.float64)).tolist() == expected
    decimals = np.round(rng.normal(size=20_000) * 100, 4)
    wide = np.concatenate([decimals, [0.5, 3.0, 2.0**30, -0.0, np.inf, np.nan, 1e300]])
    np.testing.assert_array_equal(float32_decimals(wide), wide)


def test_rows_written_as_float32_have_the_fingerprints_of_their_decimals() -> None:
    frame = pd.DataFrame({"x": [1.234567, -0.1, 17.99, 2.5], "y": [0, 1, 0, 1]})
    narrow = frame.astype({"x": "float32"}).astype({"x": "float64"})
    assert narrow["x"].tolist() != frame["x"].tolist()
    assert row_fingerprints(narrow, ["x", "y"]).tolist() == (
        row_fingerprints(frame, ["x", "y"]).tolist()
    )
