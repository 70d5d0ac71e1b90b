"""What a drift reference must hold for the measures to compute with it.

A reference comes from ``train`` (the run's artifact, the hand-off folder) or
``--reference``: the pull request's MLflow user can write the run's copy, so a
reference is checked as input is, before any measure reads it
(:func:`reference_problems`). So is one computed from the data, and what is left of one
once the columns the schema declares as dates are taken out (:func:`refuse_unusable`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from mlgitops.errors import BadInput

_REQUIRED = {
    "numeric": ("count", "nulls", "bins", "cdf"),
    "categorical": ("count", "nulls", "top", "other"),
}
#: The measures compute with counts in float64, which holds whole numbers exactly up to here.
_MAX_COUNT = 2**53
_COUNT = f"must be a whole number from 0 to {_MAX_COUNT}"


def refuse_unusable(doc: dict[str, Any], what: str) -> None:
    """BadInput naming ``what`` and each of :func:`reference_problems`, where there are any:
    the one check of every reference drift judges with (read, computed, or left once the
    dates are taken out)."""
    problems = reference_problems(doc)
    if problems:
        raise BadInput("\n".join(f"{what}: {problem}" for problem in problems))


def reference_problems(doc: dict[str, Any]) -> list[str]:
    """What makes ``doc`` unusable as a reference, in document order; empty when it is usable.

    Whatever the measures (:mod:`mlgitops.drift.measure`) and the verdict compute with is
    checked, so that no reference that passes makes them raise: counts, lengths that must
    agree, finite and ordered values, proportions from 0 to 1. The features first; the
    rest of the document once they are usable.
    """
    features = doc.get("features")
    if not isinstance(features, list):
        return ["'features' must be a list"]
    if not features:
        return [_no_feature(doc.get("skipped"))]
    problems = [problem for i, f in enumerate(features) for problem in _feature_problems(i, f)]
    if problems:
        return problems
    if not _is_count(doc.get("rows")):
        problems.append(f"'rows' {_COUNT}")
    if not isinstance(doc.get("target"), str | None):
        problems.append("'target' must be a string or null")
    skipped = doc.get("skipped", [])
    if not isinstance(skipped, list) or not all(
        isinstance(s, dict) and isinstance(s.get("name"), str) for s in skipped
    ):
        problems.append("'skipped' must be a list of objects with a name")
    return problems


def _no_feature(skipped: Any) -> str:
    """Why a reference that profiles no feature is refused, with the columns it skipped."""
    said = [
        f"{s['name']}: {s['reason']}" if isinstance(s.get("reason"), str) else s["name"]
        for s in (skipped if isinstance(skipped, list) else [])
        if isinstance(s, dict) and isinstance(s.get("name"), str)
    ]
    shown = f" (not judged: {'; '.join(said)})" if said else ""
    return (
        f"'features' is empty{shown}: a reference that profiles no feature judges nothing, "
        "and would find no drift in any data"
    )


def _feature_problems(i: int, feature: Any) -> list[str]:
    kind = feature.get("kind") if isinstance(feature, dict) else None
    if kind not in ("numeric", "categorical") or not isinstance(feature.get("name"), str):
        return [f"features[{i}]: expected a numeric or categorical feature with a name"]
    where = f"features[{i}] ({feature['name']})"
    missing = [key for key in _REQUIRED[kind] if key not in feature]
    if missing:
        return [f"{where}: missing {', '.join(missing)}"]
    found = [*_common_problems(feature)]
    found += _numeric_problems(feature) if kind == "numeric" else _categorical_problems(feature)
    return [f"{where}: {problem}" for problem in found]


def _common_problems(feature: dict[str, Any]) -> list[str]:
    problems = [f"{key} {_COUNT}" for key in ("count", "nulls") if not _is_count(feature[key])]
    if "distinct" in feature and not _is_count(feature["distinct"]):
        problems.append(f"distinct {_COUNT}")
    if "null_rate" in feature and not _is_share(feature["null_rate"]):
        problems.append("null_rate must be a number from 0 to 1")
    for key in ("mean", "std", "min", "max"):
        if feature.get(key) is not None and not _is_finite(feature[key]):
            problems.append(f"{key} must be a finite number or null")
    return problems


def _numeric_problems(feature: dict[str, Any]) -> list[str]:
    bins, cdf = feature["bins"], feature["cdf"]
    parts = [
        f"{key} must be an object" for key in ("bins", "cdf") if not isinstance(feature[key], dict)
    ]
    if parts:
        return parts
    problems = [
        problem
        for problem in (
            _points_problem(bins.get("edges"), "bins.edges"),
            _shares_problem(bins.get("proportions"), "bins.proportions", rising=False),
            _points_problem(cdf.get("values"), "cdf.values"),
            _shares_problem(cdf.get("proportions"), "cdf.proportions", rising=True),
        )
        if problem
    ]
    return problems or _agreement_problems(feature, bins, cdf)


def _agreement_problems(
    feature: dict[str, Any], bins: dict[str, Any], cdf: dict[str, Any]
) -> list[str]:
    """The arrays of one numeric profile against each other (each is well formed)."""
    problems = []
    edges, shares = len(bins["edges"]), len(bins["proportions"])
    if shares != edges + 1:
        problems.append(
            f"bins.proportions must hold one more value than bins.edges ({shares} for {edges} edge(s))"
        )
    values, proportions = cdf["values"], cdf["proportions"]
    if len(values) != len(proportions):
        problems.append(
            "cdf.values and cdf.proportions must be as long as each other "
            f"({len(values)} and {len(proportions)})"
        )
    low = feature.get("min")
    if _is_finite(low) and values and values[0] is not None and low > values[0]:
        problems.append(f"min must not be above cdf.values[0] ({low:g} > {values[0]:g})")
    return problems


def _points_problem(values: Any, field: str) -> str | None:
    """Data values in ascending order. ``null`` stands for an infinite training value
    (JSON has no infinity), so it may come first or last, nowhere else."""
    if not isinstance(values, list):
        return f"{field} must be a list of numbers"
    first = 1 if values and values[0] is None else 0
    last = len(values) - 1 if len(values) > first and values[-1] is None else len(values)
    for j in range(first, last):
        if not _is_finite(values[j]):
            return f"{field}[{j}] must be a finite number"
    if any(a >= b for a, b in itertools.pairwise(values[first:last])):
        return f"{field} must be strictly increasing"
    return None


def _shares_problem(values: Any, field: str, *, rising: bool) -> str | None:
    if not isinstance(values, list):
        return f"{field} must be a list of numbers"
    for j, value in enumerate(values):
        if not _is_share(value):
            return f"{field}[{j}] must be a number from 0 to 1"
    if rising and any(a > b for a, b in itertools.pairwise(values)):
        return f"{field} must not decrease"
    return None


def _categorical_problems(feature: dict[str, Any]) -> list[str]:
    top = feature["top"]
    problems = [] if _is_count(feature["other"]) else [f"other {_COUNT}"]
    if not isinstance(top, dict):
        return ["top must be an object of category counts", *problems]
    bad = next((key for key, count in top.items() if not _is_count(count)), None)
    if bad is not None:
        problems.insert(0, f"top[{bad!r}] {_COUNT}")
    return problems


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_COUNT


def _is_finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def _is_share(value: Any) -> bool:
    return _is_finite(value) and 0 <= value <= 1
