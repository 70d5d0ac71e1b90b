"""The reference profile: its numbers for data with known quantiles, and loading it back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlgitops.drift.profile import build_reference, dumps_reference, load_reference
from mlgitops.errors import BadInput
from tests.drift.conftest import frame


def test_numeric_deciles_of_one_to_hundred() -> None:
    ref = build_reference(pd.DataFrame({"v": np.arange(1, 101, dtype=float)}), None)
    (feature,) = ref["features"]
    assert feature["bins"]["edges"] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
    assert feature["bins"]["proportions"] == [0.1] * 10
    assert feature["cdf"]["values"] == [float(v) for v in range(1, 101)]
    assert feature["cdf"]["proportions"][:3] == [0.01, 0.02, 0.03]
    assert (feature["count"], feature["nulls"], feature["min"], feature["max"]) == (
        100,
        0,
        1.0,
        100.0,
    )
    assert feature["mean"] == 50.5


def test_ties_collapse_edges_and_keep_exact_proportions() -> None:
    values = [0.0] * 70 + [1.0] * 20 + [2.0] * 10
    ref = build_reference(pd.DataFrame({"v": values}), None)
    feature = ref["features"][0]
    assert feature["bins"]["edges"] == [0.0, 1.0]
    assert feature["bins"]["proportions"] == [0.7, 0.2, 0.1]
    assert feature["cdf"] == {"values": [0.0, 1.0, 2.0], "proportions": [0.7, 0.9, 1.0]}


def test_nulls_are_counted_apart() -> None:
    ref = build_reference(pd.DataFrame({"v": [1.0, None, 3.0, None]}), None)
    feature = ref["features"][0]
    assert (feature["count"], feature["nulls"], feature["null_rate"]) == (2, 2, 0.5)


def test_categorical_keeps_top_k_and_the_rest() -> None:
    data = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None]})
    feature = build_reference(data, None, top_k=2)["features"][0]
    assert feature["top"] == {"a": 5, "b": 3}
    assert (feature["other"], feature["distinct"], feature["nulls"]) == (3, 4, 1)


def test_target_is_left_out_and_dates_are_skipped() -> None:
    data = frame(50, 0)
    data["when"] = pd.Timestamp("2024-01-01")
    ref = build_reference(data, "label")
    assert [f["name"] for f in ref["features"]] == ["x", "z", "k", "color"]
    assert [f["kind"] for f in ref["features"]] == ["numeric", "numeric", "numeric", "categorical"]
    assert ref["target"] == "label"
    assert ref["skipped"] == [{"name": "when", "reason": "unsupported dtype datetime64[us]"}]


def test_all_null_numeric_column() -> None:
    feature = build_reference(pd.DataFrame({"v": [np.nan, np.nan]}), None)["features"][0]
    assert feature["cdf"] == {"values": [], "proportions": []}
    assert feature["mean"] is None


def test_dumps_and_load_round_trip() -> None:
    ref = build_reference(frame(200, 3), "label", source={"data": "data/x.csv"})
    assert load_reference(dumps_reference(ref)) == json.loads(dumps_reference(ref))
    assert load_reference(dumps_reference(ref))["source"] == {"data": "data/x.csv"}


def test_profile_is_compact() -> None:
    ref = build_reference(frame(100_000, 4), "label")
    assert len(dumps_reference(ref)) < 20_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{",
            "ref.json: not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        (
            '{"kind": "other"}',
            "ref.json: not a drift reference (expected kind 'mlgitops.drift.reference')",
        ),
        (
            '{"kind": "mlgitops.drift.reference", "schema_version": 9}',
            "ref.json: unsupported schema_version 9 (expected 1)",
        ),
        (
            '{"kind": "mlgitops.drift.reference", "schema_version": 1, "features": {}}',
            "ref.json: 'features' must be a list",
        ),
        (
            '{"kind": "mlgitops.drift.reference", "schema_version": 1, "features": [{"kind": "x"}]}',
            "ref.json: features[0]: expected a numeric or categorical feature with a name",
        ),
        (
            '{"kind": "mlgitops.drift.reference", "schema_version": 1,'
            ' "features": [{"name": "a", "kind": "numeric", "count": 1}]}',
            "ref.json: features[0] (a): missing nulls, bins, cdf",
        ),
    ],
)
def test_load_reference_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        load_reference(text, "ref.json")
    assert str(caught.value) == message


def test_internal_row_column_is_not_a_feature() -> None:
    data = frame(20, 0).assign(__row__=range(1, 21))
    assert [f["name"] for f in build_reference(data, "label")["features"]] == [
        "x",
        "z",
        "k",
        "color",
    ]


def test_features_argument_chooses_the_columns() -> None:
    ref = build_reference(frame(20, 0), "label", features=("color", "x"))
    assert [f["name"] for f in ref["features"]] == ["color", "x"]


def test_integer_codes_read_as_floats_match_the_integer_categories() -> None:
    from mlgitops.drift.profile import category_counts

    counts = category_counts(pd.Series([1.0, 2.0, np.nan, 1.0]))
    assert counts.to_dict() == {"1": 2, "2": 1}


@pytest.mark.parametrize(
    ("dtype", "temporal"),
    [
        ("datetime64[ns]", True),
        ("datetime64[ns, UTC]", True),
        ("timedelta64[ns]", True),
        ("date", True),
        ("float64", False),
        ("Int64", False),
        ("str", False),
        ("category", False),
        ("bool", False),
        ("int64[pyarrow]", False),
    ],
)
def test_the_dtypes_of_dates_and_times_are_told_apart(dtype: str, temporal: bool) -> None:
    """As the schema's rule reads the dtype (pandera refuses Arrow's timestamps there)."""
    from mlgitops.features import contract
    from mlgitops.validation.schema import from_yaml_text

    text = f"schema_type: dataframe\ncolumns:\n  a: {{dtype: '{dtype}'}}\n  y: {{dtype: int64}}\n"
    found = contract(from_yaml_text("s.yaml", text), ["a", "y"], "y").temporal
    assert found == (("a",) if temporal else ())
