"""How the stages write frames for each other (hand-off files, a model's inputs and outputs):
the same values as pandas' own Parquet writer, dictionaries for text only."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlgitops.frames import frame_bytes, write_frame


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows = 5_000
    return {
        "features and text": pd.DataFrame(
            {
                "__row__": np.arange(rows, dtype="int64"),
                "x": rng.normal(size=rows),
                "count": rng.integers(0, 9, rows),
                "region": rng.choice(["north", "south", None], size=rows),
                "label": rng.integers(0, 2, rows),
            }
        ),
        "fingerprints": pd.DataFrame(
            {
                "fingerprint": rng.integers(0, 2**63, rows).astype("uint64"),
                "inputs": rng.integers(0, 2**63, rows).astype("uint64"),
            }
        ),
        "every kind": pd.DataFrame(
            {
                "flag": rng.integers(0, 2, rows).astype(bool),
                "when": pd.date_range("2020-01-01", periods=rows, freq="h"),
                "plan": pd.Categorical(rng.choice(["free", "pro"], size=rows)),
                "name": pd.array(rng.choice(["a", "b", None], size=rows), dtype="string"),
                "maybe": pd.array(rng.choice([1, 2, None], size=rows), dtype="Int64"),
                "ratio": np.where(rng.random(rows) < 0.1, np.nan, rng.random(rows)),
                7: rng.random(rows),  # names that are not text: written as "7", as pandas does
                8: rng.choice(["x", "y"], size=rows),
            }
        ),
        "no rows": pd.DataFrame(
            {"x": pd.Series([], dtype="float64"), "s": pd.Series([], dtype=object)}
        ),
    }


@pytest.mark.parametrize("name", list(_frames()))
def test_reads_back_as_pandas_own_file_does(name: str, tmp_path: Path) -> None:
    frame = _frames()[name]
    reference = io.BytesIO()
    frame.to_parquet(reference, index=False)
    reference.seek(0)
    ours = frame_bytes(frame)
    expected = pd.read_parquet(reference)
    got = pd.read_parquet(io.BytesIO(ours))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert pq.read_schema(io.BytesIO(ours)) == pq.read_schema(reference)
    write_frame(frame, tmp_path / "frame.parquet")  # the same file, on disk
    assert (tmp_path / "frame.parquet").read_bytes() == ours


def _dictionary_columns(data: bytes) -> set[str]:
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    group = meta.row_group(0)
    found = set()
    for index in range(group.num_columns):
        chunk = group.column(index)
        if chunk.has_dictionary_page:
            found.add(chunk.path_in_schema)
    return found


def test_only_text_columns_are_dictionary_encoded() -> None:
    assert _dictionary_columns(frame_bytes(_frames()["features and text"])) == {"region"}
    assert _dictionary_columns(frame_bytes(_frames()["fingerprints"])) == set()
    assert _dictionary_columns(frame_bytes(_frames()["every kind"])) == {"plan", "name", "8"}


def test_distinct_numbers_make_a_smaller_file_than_pandas_default() -> None:
    frame = _frames()["fingerprints"]
    reference = io.BytesIO()
    frame.to_parquet(reference, index=False)
    assert len(frame_bytes(frame)) < len(reference.getvalue())
