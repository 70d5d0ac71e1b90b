"""``load_reference`` refuses a reference whose profiles the measures cannot use.

A reference comes from ``--reference``, the hand-off folder or an MLflow artifact that a
pull request's credentials can write: exact messages for each kind of damage, and no
reference that passes the check makes ``drift`` raise.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgitops.drift import report as rep
from mlgitops.drift.detect import Thresholds, detect
from mlgitops.drift.profile import build_reference, load_reference
from mlgitops.errors import BadInput

COUNT = "must be a whole number from 0 to 9007199254740992"


def _reference() -> dict[str, Any]:
    """x: 1..20 and a gap (numeric, features[0]); color: a/b (categorical, features[1])."""
    rows = pd.DataFrame(
        {
            "x": [*map(float, range(1, 21)), None],
            "color": ["a"] * 12 + ["b"] * 9,
            "label": [0, 1] * 10 + [0],
        }
    )
    return build_reference(rows, "label", bins=4, grid=10)


def _edited(path: str, value: Any) -> str:
    """The reference as JSON with the value at ``path`` (``features.0.bins.edges``) replaced,
    or removed when ``value`` is ``...``."""
    doc = _reference()
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = doc
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return json.dumps(doc)


def _problems(text: str) -> list[str]:
    with pytest.raises(BadInput) as caught:
        load_reference(text, "ref.json")
    return str(caught.value).splitlines()


X = "ref.json: features[0] (x): "
COLOR = "ref.json: features[1] (color): "


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "features.0.bins.edges",
            [5.0],
            X + "bins.proportions must hold one more value than bins.edges (4 for 1 edge(s))",
        ),
        (
            "features.0.bins.proportions",
            [0.5, 0.5],
            X + "bins.proportions must hold one more value than bins.edges (2 for 3 edge(s))",
        ),
        (
            "features.0.cdf.values",
            [1.0],
            X + "cdf.values and cdf.proportions must be as long as each other (1 and 11)",
        ),
        (
            "features.0.cdf.proportions",
            [1.0],
            X + "cdf.values and cdf.proportions must be as long as each other (11 and 1)",
        ),
        ("features.0.bins", [1], X + "bins must be an object"),
        ("features.0.cdf", None, X + "cdf must be an object"),
        ("features.0.bins.edges", ..., X + "bins.edges must be a list of numbers"),
        ("features.0.bins.edges", "5,10", X + "bins.edges must be a list of numbers"),
        ("features.0.bins.edges", [5, "10", 15], X + "bins.edges[1] must be a finite number"),
        ("features.0.bins.edges", [5, None, 15], X + "bins.edges[1] must be a finite number"),
        ("features.0.bins.edges", [5, True, 15], X + "bins.edges[1] must be a finite number"),
        (  # no float holds it: refused as the document is read, at its place
            "features.0.bins.edges",
            [5, 10**400, 15],
            "ref.json: at features[0].bins.edges[1]: a number of 401 digits is more than a "
            "float holds",
        ),
        ("features.0.bins.edges", [5, 15, 10], X + "bins.edges must be strictly increasing"),
        ("features.0.bins.edges", [5, 10, 10], X + "bins.edges must be strictly increasing"),
        ("features.0.cdf.values", [float("nan")] * 11, X + "cdf.values[0] must be a finite number"),
        (
            "features.0.bins.proportions",
            [0.5, 0.5, 1.5, 0],
            X + "bins.proportions[2] must be a number from 0 to 1",
        ),
        (
            "features.0.bins.proportions",
            [0.5, 0.5, -0.1, 0],
            X + "bins.proportions[2] must be a number from 0 to 1",
        ),
        (
            "features.0.cdf.proportions",
            [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.4, 0.7, 0.8, 0.9, 1],
            X + "cdf.proportions must not decrease",
        ),
        ("features.0.cdf.proportions", "all", X + "cdf.proportions must be a list of numbers"),
        ("features.0.min", 3.0, X + "min must not be above cdf.values[0] (3 > 1)"),
        ("features.0.min", "1", X + "min must be a finite number or null"),
        ("features.0.mean", float("inf"), X + "mean must be a finite number or null"),
        ("features.0.std", [1.0], X + "std must be a finite number or null"),
        ("features.0.count", -1, X + "count " + COUNT),
        ("features.0.count", 2.5, X + "count " + COUNT),
        ("features.0.nulls", 2**53 + 1, X + "nulls " + COUNT),
        ("features.0.null_rate", 1.5, X + "null_rate must be a number from 0 to 1"),
        ("features.0.null_rate", None, X + "null_rate must be a number from 0 to 1"),
        ("features.1.top", ["a", "b"], COLOR + "top must be an object of category counts"),
        ("features.1.top", {"a": 12, "b": "9"}, COLOR + "top['b'] " + COUNT),
        (
            "features.1.top",
            {"a": 10**400},
            "ref.json: at features[1].top.a: a number of 401 digits is more than a float holds",
        ),
        ("features.1.top", {"a": 2**60}, COLOR + "top['a'] " + COUNT),
        ("features.1.other", None, COLOR + "other " + COUNT),
        ("features.1.distinct", -2, COLOR + "distinct " + COUNT),
        (
            "features.1.kind",
            ["categorical"],
            "ref.json: features[1]: expected a numeric or categorical feature with a name",
        ),
        (
            "features",
            [],
            "ref.json: 'features' is empty: a reference that profiles no feature judges "
            "nothing, and would find no drift in any data",
        ),
        ("rows", ..., "ref.json: 'rows' " + COUNT),
        ("rows", "21", "ref.json: 'rows' " + COUNT),
        ("target", ["label"], "ref.json: 'target' must be a string or null"),
        ("skipped", None, "ref.json: 'skipped' must be a list of objects with a name"),
        ("skipped", [{"name": ["d"]}], "ref.json: 'skipped' must be a list of objects with a name"),
    ],
)
def test_each_kind_of_damage_is_named(path: str, value: Any, message: str) -> None:
    assert _problems(_edited(path, value)) == [message]


def test_every_problem_is_reported_in_document_order() -> None:
    doc = _reference()
    doc["features"][0]["bins"]["edges"] = [1.0]
    doc["features"][0]["cdf"]["proportions"] = [0.5]
    doc["features"][0]["count"] = None
    doc["features"][1]["other"] = -1
    assert _problems(json.dumps(doc)) == [
        X + "count " + COUNT,
        X + "bins.proportions must hold one more value than bins.edges (4 for 1 edge(s))",
        X + "cdf.values and cdf.proportions must be as long as each other (11 and 1)",
        COLOR + "other " + COUNT,
    ]


def test_infinite_training_values_stored_as_null_at_either_end_load_and_measure() -> None:
    rows = pd.DataFrame({"x": [-np.inf, *map(float, range(1, 10)), np.inf]})
    reference = build_reference(rows, None, bins=4, grid=10)
    assert reference["features"][0]["cdf"]["values"][0] is None
    assert reference["features"][0]["cdf"]["values"][-1] is None
    loaded = load_reference(json.dumps(reference))
    result = _detect(loaded)
    assert [f.status for f in result.features] == ["drift"]


_ODD = [None, -1, 0, 0.5, 1, 2, 1e308, -1e308, 2**60, "a", [], {}, True, [1.0], {"a": 1}]


def _mutate(doc: Any, rng: random.Random) -> None:
    """Replace, drop, shorten or lengthen one randomly chosen value inside ``doc``."""
    node, key = doc, rng.choice(list(doc))
    while isinstance(node[key], dict | list) and node[key] and rng.random() < 0.8:
        node = node[key]
        key = rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
    choice = rng.random()
    if choice < 0.1:
        del node[key]
    elif choice < 0.25 and isinstance(node[key], list) and node[key]:
        node[key] = node[key][: rng.randrange(len(node[key]))]
    elif choice < 0.35 and isinstance(node[key], list):
        node[key] = [*node[key], copy.deepcopy(rng.choice(_ODD))]
    else:
        node[key] = copy.deepcopy(rng.choice(_ODD))


def _detect(reference: dict[str, Any]) -> Any:
    current = pd.DataFrame(
        {
            "x": [*map(float, range(-5, 30)), None, np.inf],
            "color": ["a"] * 20 + ["b"] * 10 + ["c"] * 6 + [None],
        }
    )
    return detect(
        reference, current, Thresholds(), pipeline="p", reference_source="r", current_source="c"
    )


def test_no_reference_that_passes_the_check_makes_drift_raise() -> None:
    rng = random.Random(20240611)
    accepted = 0
    for _ in range(200):
        doc = copy.deepcopy(_reference())
        for _ in range(rng.randint(1, 3)):
            _mutate(doc, rng)
        try:
            loaded = load_reference(json.dumps(doc))
        except BadInput:
            continue
        accepted += 1
        result = _detect(loaded)
        json.dumps(rep.to_json(result), allow_nan=False)
        rep.to_markdown(result)
    assert accepted > 20  # the mutations also reach values the measures do not read
