"""The reference profile: a compact JSON summary of the training data.

``build_reference(frame, target)`` is called by ``train`` on the training
rows; the result is stored as ``reference.json`` (MLflow run artifact and
hand-off folder) and is all that ``drift`` needs to know about the training
data. Per numeric feature it keeps the empirical CDF at up to 101 quantile
points (the KS test) and decile bins with their proportions (PSI); per
categorical feature the top-K category counts plus the rest. See docs/drift.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
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
#: Why a date or time column is not profiled.
TEMPORAL = "dates and times are not profiled"


def build_reference(
    frame: pd.DataFrame,
    target: str | None,
    *,
    bins: int = DEFAULT_BINS,
    grid: int = DEFAULT_GRID,
    top_k: int = DEFAULT_TOP_K,
    source: dict[str, Any] | None = None,
    features: Sequence[str] | None = None,
    temporal: Collection[str] = (),
) -> dict[str, Any]:
    """Profile the feature columns of ``frame``; a JSON-ready dict.

    ``features`` names the columns to profile (default: every column except
    ``target`` and internal ``__name__`` columns such as ``__row__``).

    ``bins`` quantile bins for PSI (10 = deciles), ``grid`` quantile steps for
    the stored CDF (100 = percentiles; the KS statistic is measured there),
    ``top_k`` categories kept per categorical column. ``source`` is free
    metadata stored as is (e.g. data path, data hash, run id). ``temporal``: the columns the
    schema declares as dates or times, which the stages read as text: not profiled.
    """
    profiles: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    names = list(features) if features is not None else _feature_names(frame, target)
    for name in names:
        kind = "temporal" if name in temporal else column_kind(frame[name])
        if kind == "temporal":
            skipped.append({"name": str(name), "reason": TEMPORAL})
        elif kind == "numeric":
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


def without_temporal(reference: dict[str, Any], temporal: Collection[str]) -> dict[str, Any]:
    """``reference`` with the features the schema declares as dates or times moved under
    ``skipped`` (an earlier train profiled them as categories of text)."""
    moved = [f for f in reference["features"] if f["name"] in temporal]
    if not moved:
        return reference
    kept = [f for f in reference["features"] if f["name"] not in temporal]
    skipped = [
        *reference.get("skipped", []),
        *({"name": f["name"], "reason": TEMPORAL} for f in moved),
    ]
    return {**reference, "features": kept, "skipped": skipped}


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
    counts = series.value_counts(dropna=True, sort=False)
    counts.index = category_names(counts.index)
    merged = counts.groupby(level=0, sort=True).sum().astype("int64")
    return merged.sort_values(ascending=False, kind="stable")


def category_names(values: pd.Index) -> pd.Index:
    """Distinct category values as the text a reference names them by (integer codes read
    as floats, in a column with gaps, as the integers)."""
    from pandas.api import types

    if types.is_float_dtype(values.dtype) and bool((values == values.astype("int64")).all()):
        values = values.astype("int64")
    return values.astype(str)


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
    from mlgitops.drift.reference_check import refuse_unusable

    refuse_unusable(doc, what)
    return doc
