"""What a model's process wrote is checked by what its files declare before they are read
(:func:`mlgitops.evaluation.apart.read_outputs`). The files here are written by pyarrow as
a model's code could write them; the whole deploy through them is in
``test_trust.py::test_outputs_of_another_model_or_holdout_deploy_nothing``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlgitops.evaluation.apart import (
    CLASSES_A_ROW,
    OUTPUT_FLOOR,
    ModelFailed,
    read_outputs,
)
from mlgitops.evaluation.runner import CLASSES, PREDICTED, PROBA
from mlgitops.frames import write_frame

ROWS = 6


def outputs(
    folder: Path, predictions: pa.Table | pd.DataFrame, proba: Any = None, classes: Any = None
) -> Path:
    folder.mkdir()
    if isinstance(predictions, pd.DataFrame):
        write_frame(predictions, folder / PREDICTED)
    else:
        pq.write_table(predictions, folder / PREDICTED)
    if proba is not None:
        if isinstance(proba, pd.DataFrame):
            write_frame(proba, folder / PROBA)
        else:
            pq.write_table(proba, folder / PROBA)
        (folder / CLASSES).write_text(json.dumps(classes))
    return folder


LABELS = ["cat", None, "dog", "cat", "cat", "dog"]


def test_honest_outputs_read_as_pandas_reads_them(tmp_path: Path) -> None:
    """Labels with a missing one, and their probabilities, as the runner writes them."""
    proba = pd.DataFrame({"0": np.linspace(0, 1, ROWS), "1": np.linspace(1, 0, ROWS)})
    folder = outputs(tmp_path / "o", pd.DataFrame({"y_pred": LABELS}), proba, ["cat", "dog"])
    read = read_outputs(folder, ROWS)
    expected = pd.read_parquet(folder / PREDICTED)["y_pred"].to_numpy()
    assert read.values.dtype == expected.dtype
    assert [v if isinstance(v, str) else None for v in read.values] == LABELS
    assert pd.isna(read.values[1])
    assert read.proba is not None and read.proba.shape == (ROWS, 2)
    assert read.classes == ["cat", "dog"]


def test_labels_up_to_the_limit_are_read(tmp_path: Path) -> None:
    """The same long label named by every row, dictionary-encoded: 64 MiB in all once
    each row's text is written out is read; a byte more is not."""

    def named(size: int) -> pa.Table:
        label = pa.array(["x" * size])
        return pa.table({"y_pred": pa.DictionaryArray.from_arrays(pa.array([0] * ROWS), label)})

    largest = OUTPUT_FLOOR // ROWS
    folder = outputs(tmp_path / "fits", named(largest))
    assert len(read_outputs(folder, ROWS).values[0]) == largest
    folder = outputs(tmp_path / "over", named(largest + 1))
    with pytest.raises(ModelFailed, match=f"{ROWS * (largest + 1):,} bytes once read"):
        read_outputs(folder, ROWS)


def test_text_stored_beyond_the_limit_is_not_read(tmp_path: Path) -> None:
    """One label of 65 MiB, stored as it is (no dictionary): refused by its stored size,
    before anything is read."""
    labels = ["a"] * (ROWS - 1) + ["b" * (65 << 20)]
    table = pa.table({"y_pred": labels})
    folder = tmp_path / "o"
    folder.mkdir()
    pq.write_table(table, folder / PREDICTED, use_dictionary=False, compression="zstd")
    with pytest.raises(ModelFailed, match=r"bytes stored \(predictions.parquet\), more than"):
        read_outputs(folder, ROWS)


@pytest.mark.parametrize(
    ("column", "said"),
    [
        (pa.array([{"a": 1}] * ROWS), "y_pred.a is not one value a row"),
        (pa.array([[1.0]] * ROWS), "is not one value a row"),
    ],
    ids=["record", "list"],
)
def test_predictions_that_are_not_one_value_a_row_are_not_read(
    tmp_path: Path, column: pa.Array, said: str
) -> None:
    folder = outputs(tmp_path / "o", pa.table({"y_pred": column}))
    with pytest.raises(ModelFailed, match=said):
        read_outputs(folder, ROWS)


def test_probabilities_that_are_not_numbers_are_not_read(tmp_path: Path) -> None:
    proba = pa.table({"0": ["0.5"] * ROWS, "1": ["0.5"] * ROWS})
    folder = outputs(tmp_path / "o", pd.DataFrame({"y_pred": LABELS}), proba, ["cat", "dog"])
    with pytest.raises(ModelFailed, match=r"proba\.parquet: 0 holds BYTE_ARRAY, not numbers"):
        read_outputs(folder, ROWS)


def test_probabilities_of_more_classes_than_are_read_are_not_read(tmp_path: Path) -> None:
    """A holdout of a million rows reads the probabilities of 1,024 classes; a small one as
    many as 64 MiB hold."""
    rows = 100
    limit = OUTPUT_FLOOR // (8 * rows)
    assert limit > CLASSES_A_ROW
    predicted = pd.DataFrame({"y_pred": np.zeros(rows)})
    proba = pd.DataFrame({"0": np.ones(rows)})
    classes = [str(i) for i in range(limit + 1)]
    folder = outputs(tmp_path / "o", predicted, proba, classes)
    with pytest.raises(ModelFailed, match=f"probabilities of {limit + 1:,} classes"):
        read_outputs(folder, rows)
    many = 1_000_000
    predicted = pd.DataFrame({"y_pred": np.zeros(many)})
    proba = pd.DataFrame({"0": np.ones(many)})
    folder = outputs(tmp_path / "big", predicted, proba, classes[: CLASSES_A_ROW + 1])
    with pytest.raises(ModelFailed, match=f"of 1,025 classes for each of the {many:,} holdout"):
        read_outputs(folder, many)
    (folder / CLASSES).write_text(json.dumps(classes[:CLASSES_A_ROW]))
    with pytest.raises(ModelFailed, match="does not give one prediction"):  # one column only
        read_outputs(folder, many)
