"""The reference profile: a compact JSON summary of the training data.

``build_reference(frame, target)`` is called by ``train`` on the training
rows; the result is stored as ``reference.json`` (MLflow run artifact and
hand-off folder) and is all that ``drift`` needs to know about the training
data. Per numeric feature it keeps the empirical CDF at up to 101 quantile
points (the KS test) and decile bins with their proportions (PSI); per
categorical feature the top-K category counts plus the rest. See docs/drift.md.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlgitops import jsondoc
from mlgitops.errors import BadInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

REFERENCE_KIND = "mlgitops.drift.reference"
REFERENCE_VERSION = 1
DEFAULT_BINS = 10
DEFAULT_GRID = 100
DEFAULT_TOP_K = 50


def build_reference(
    frame: pd.DataFrame,
    target: str | None,
    *,
    bins: int = DEFAULT_BINS,
    grid: int = DEFAULT_GRID,
    top_k: int = DEFAULT_TOP_K,
    source: dict[str, Any] | None = None,
    features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Profile the feature columns of ``frame``; a JSON-ready dict.

    ``features`` names the columns to profile (default: every column except
    ``target`` and internal ``__name__`` columns such as ``__row__``).

    ``bins`` quantile bins for PSI (10 = deciles), ``grid`` quantile steps for
    the stored CDF (100 = percentiles; the KS statistic is measured there),
    ``top_k`` categories kept per categorical column. ``source`` is free
    metadata stored as is (e.g. data path, data hash, run id).
    """
    profiles: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    names = list(features) if features is not None else _feature_names(frame, target)
    for name in names:
        kind = column_kind(frame[name])
        if kind == "numeric":
            profiles.append(_numeric(str(name), frame[name], bins, grid))
        elif kind == "categorical":
            profiles.append(_categorical(str(name), frame[name], top_k))
        else:
            skipped.append({"name": str(name), "reason": f"unsupported dtype {frame[name].dtype}"})
    return {
        "kind": REFERENCE_KIND,
        "schema_version": REFERENCE_VERSION,
        "rows": len(frame),
        "target": target,
        "source": dict(source or {}),
        "settings": {"bins": bins, "grid": grid, "top_k": top_k},
        "features": profiles,
        "skipped": skipped,
    }


def _feature_names(frame: pd.DataFrame, target: str | None) -> list[str]:
    internal = [c for c in frame.columns if str(c).startswith("__") and str(c).endswith("__")]
    return [c for c in frame.columns if c != target and c not in internal]


def dumps_reference(reference: dict[str, Any]) -> str:
    """The reference as stable JSON text (what ``reference.json`` holds)."""
    return json.dumps(reference, indent=1, sort_keys=False, allow_nan=False) + "\n"


def column_kind(series: pd.Series) -> str:
    """``numeric``, ``categorical`` or ``unsupported`` (dates and times)."""
    from pandas.api import types

    dtype = series.dtype
    if types.is_bool_dtype(dtype):
        return "categorical"
    if types.is_numeric_dtype(dtype):
        return "numeric"
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
        return "unsupported"
    return "categorical"


def as_float(series: pd.Series) -> npt.NDArray[np.float64]:
    """A column as float64 with NaN for missing (and for non-numbers, when coerced)."""
    import numpy as np
    import pandas as pd
    from pandas.api import types

    if not types.is_numeric_dtype(series.dtype) or types.is_bool_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")
    values: npt.NDArray[np.float64] = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def category_counts(series: pd.Series) -> pd.Series:
    """Non-null values as strings -> how often each occurs, most frequent first (ties by name)."""
    from pandas.api import types

    counts = series.value_counts(dropna=True, sort=False)
    index = counts.index
    if types.is_float_dtype(index.dtype) and bool((index == index.astype("int64")).all()):
        index = index.astype("int64")  # integer codes read as floats (a column with gaps)
    counts.index = index.astype(str)
    merged = counts.groupby(level=0, sort=True).sum().astype("int64")
    return merged.sort_values(ascending=False, kind="stable")


def _numeric(name: str, series: pd.Series, bins: int, grid: int) -> dict[str, Any]:
    import numpy as np

    values = as_float(series)
    present = np.sort(values[~np.isnan(values)])
    out: dict[str, Any] = {"name": name, "kind": "numeric", **_counts(len(values), len(present))}
    if present.size == 0:
        out.update(mean=None, std=None, min=None, max=None)
        out["bins"] = {"edges": [], "proportions": [1.0]}
        out["cdf"] = {"values": [], "proportions": []}
        return out
    points = np.unique(_quantiles(present, np.arange(grid + 1), grid))
    cdf = np.searchsorted(present, points, side="right") / present.size
    edges = np.unique(_quantiles(present, np.arange(1, bins), bins))
    below = np.searchsorted(present, edges, side="right") / present.size
    with np.errstate(over="ignore", invalid="ignore"):  # infinite or huge values: none
        mean = float(present.mean())
        std = float(present.std(ddof=1)) if present.size > 1 else math.nan
    out.update(
        mean=_num(mean),
        std=_num(std) if present.size > 1 else None,
        min=_num(float(present[0])),
        max=_num(float(present[-1])),
    )
    out["bins"] = {
        "edges": _floats(edges),
        "proportions": _props(np.diff(below, prepend=0.0, append=1.0)),
    }
    out["cdf"] = {"values": _floats(points), "proportions": _props(cdf)}
    return out


def _quantiles(
    ordered: npt.NDArray[np.float64], steps: npt.NDArray[np.int64], of: int
) -> npt.NDArray[np.float64]:
    """The ``steps/of`` quantiles as data values (inverted CDF), in integer arithmetic.

    Integers keep decile edges exactly on the percentile grid, which float
    probabilities (0.07 * 100 = 7.000000000000001) would not.
    """
    import numpy as np

    index = np.maximum((ordered.size * steps + of - 1) // of - 1, 0)
    return ordered[index]


def _categorical(name: str, series: pd.Series, top_k: int) -> dict[str, Any]:
    counts = category_counts(series)
    present = int(counts.sum())
    top = {str(k): int(v) for k, v in counts.head(top_k).items()}
    return {
        "name": name,
        "kind": "categorical",
        **_counts(len(series), present),
        "distinct": len(counts),
        "top": top,
        "other": present - sum(top.values()),
    }


def _counts(rows: int, present: int) -> dict[str, Any]:
    return {"count": present, "nulls": rows - present, "null_rate": _rate(rows - present, rows)}


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 9) if whole else 0.0


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _floats(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [_num(float(v)) for v in values]


def _props(values: npt.NDArray[np.float64]) -> list[float]:
    return [round(float(v), 9) for v in values]


def load_reference(text: str, what: str = "reference.json") -> dict[str, Any]:
    """Parse and check a reference document; BadInput naming ``what`` if it is not one."""
    try:
        doc = jsondoc.loads(text, what)
    except ValueError as exc:
        raise BadInput(f"{what}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != REFERENCE_KIND:
        raise BadInput(f"{what}: not a drift reference (expected kind {REFERENCE_KIND!r})")
    if doc.get("schema_version") != REFERENCE_VERSION:
        raise BadInput(
            f"{what}: unsupported schema_version {doc.get('schema_version')!r} "
            f"(expected {REFERENCE_VERSION})"
        )
    problems = reference_problems(doc)
    if problems:
        raise BadInput("\n".join(f"{what}: {problem}" for problem in problems))
    return doc


_REQUIRED = {
    "numeric": ("count", "nulls", "bins", "cdf"),
    "categorical": ("count", "nulls", "top", "other"),
}
#: The measures compute with counts in float64, which holds whole numbers exactly up to here.
_MAX_COUNT = 2**53
_COUNT = f"must be a whole number from 0 to {_MAX_COUNT}"


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
