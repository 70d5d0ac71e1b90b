"""Measure one column of current data against its reference profile (vectorised numpy).

Numeric columns: one ``searchsorted`` of the current values into the stored
CDF points and bin edges gives both the current CDF there (KS statistic) and
the current decile proportions (PSI). Categorical columns: one
``value_counts``, folded into the reference's top-K categories + other.
Missing values are a bin of their own in PSI, so a jump in the null rate
shows as drift too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlgitops.drift import stats
from mlgitops.drift.profile import as_float, category_counts

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

OTHER = "(other)"


@dataclass(frozen=True)
class Measures:
    """What was measured for one feature, before any threshold is applied."""

    psi: float
    test: str | None  # "ks", "chi2", or None when there is nothing to test
    statistic: float | None
    pvalue: float | None
    rows: int
    null_rate: float
    mean: float | None = None
    new_categories: dict[str, int] = field(default_factory=dict)
    not_numeric: int = 0
    #: The training rows' share of each of PSI's bins (the missing values' bin included).
    shares: tuple[float, ...] = ()


def measure(feature: dict[str, Any], series: pd.Series) -> Measures:
    """Compare ``series`` (current data) with one reference feature profile."""
    if feature["kind"] == "numeric":
        return _numeric(feature, series)
    return _categorical(feature, series)


def _with_nulls(
    ref_props: npt.NDArray[np.float64],
    cur_props: npt.NDArray[np.float64],
    ref_null: float,
    cur_null: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Scale non-null proportions by the non-null share and add a null bin when either side has one."""
    import numpy as np

    if ref_null == 0 and cur_null == 0:
        return ref_props, cur_props
    return (
        np.append(ref_props * (1 - ref_null), ref_null),
        np.append(cur_props * (1 - cur_null), cur_null),
    )


def _null_rate(feature: dict[str, Any]) -> float:
    total = feature["count"] + feature["nulls"]
    return float(feature["nulls"] / total) if total else 0.0


def _numeric(feature: dict[str, Any], series: pd.Series) -> Measures:
    import numpy as np

    raw_nulls = int(series.isna().sum())
    values = as_float(series)
    nan = np.isnan(values)
    nulls = int(nan.sum())
    rows = values.size - nulls
    cur_null = nulls / values.size if values.size else 0.0
    grid = np.asarray(feature["cdf"]["values"], dtype=np.float64)
    ref_cdf = np.asarray(feature["cdf"]["proportions"], dtype=np.float64)
    edges = np.asarray(feature["bins"]["edges"], dtype=np.float64)
    ref_bins = np.asarray(feature["bins"]["proportions"], dtype=np.float64)
    grid, ref_cdf = _below(feature, grid, ref_cdf)
    cur_bins, cur_cdf = _current_bins_and_cdf(values, nulls, grid, edges)
    ref_p, cur_p = _with_nulls(ref_bins, cur_bins, _null_rate(feature), cur_null)
    statistic = pvalue = None
    if rows and feature["count"] and grid.size:
        statistic = float(np.max(np.abs(cur_cdf - ref_cdf)))
        pvalue = stats.ks_pvalue(statistic, int(feature["count"]), rows)
    with np.errstate(over="ignore", invalid="ignore"):  # infinite or huge values: no mean
        mean = float(np.nanmean(values)) if rows else None
    return Measures(
        psi=stats.psi(ref_p, cur_p),
        shares=tuple(ref_p.tolist()),
        test="ks" if statistic is not None else None,
        statistic=statistic,
        pvalue=pvalue,
        rows=rows,
        null_rate=cur_null,
        mean=mean if mean is None or np.isfinite(mean) else None,
        not_numeric=nulls - raw_nulls,
    )


def _below(
    feature: dict[str, Any], grid: npt.NDArray[np.float64], ref_cdf: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The CDF grid with a point just below the training minimum, where the training CDF is
    0: values that all moved below it (a feature constant in training that now varies)
    count in KS. Above the maximum, the grid's last point (the maximum, CDF 1) counts them."""
    import numpy as np

    low = feature.get("min")
    if low is None or not grid.size:
        return grid, ref_cdf
    below = np.nextafter(float(low), -np.inf)
    return np.insert(grid, 0, below), np.insert(ref_cdf, 0, 0.0)


def _current_bins_and_cdf(
    values: npt.NDArray[np.float64],
    nulls: int,
    grid: npt.NDArray[np.float64],
    edges: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Current bin proportions (right-closed bins at ``edges``) and CDF at ``grid``."""
    import numpy as np

    points = np.union1d(grid, edges)
    cell = np.searchsorted(points, values, side="left")  # NaN sorts last: cell == len(points)
    counts = np.bincount(cell, minlength=points.size + 1).astype(np.float64)
    counts[-1] -= nulls
    present = counts.sum()
    if present == 0:
        return np.full(edges.size + 1, 1.0 / (edges.size + 1)), np.zeros(grid.size)
    below = np.cumsum(counts[:-1]) / present  # share of values <= points[i]
    cdf = below[np.searchsorted(points, grid)]
    at_edges = below[np.searchsorted(points, edges)]
    bins = np.diff(at_edges, prepend=0.0, append=1.0)
    return bins, cdf


def _categorical(feature: dict[str, Any], series: pd.Series) -> Measures:
    import numpy as np

    counts = category_counts(series)
    rows = int(counts.sum())
    cur_null = 1 - rows / len(series) if len(series) else 0.0
    top: dict[str, int] = feature["top"]
    names = [*top, OTHER]
    ref_counts = np.array([*top.values(), feature["other"]], dtype=np.float64)
    in_top = counts.reindex(list(top), fill_value=0).to_numpy(dtype=np.float64)
    cur_counts = np.append(in_top, rows - in_top.sum())
    complete = feature["other"] == 0 and feature.get("distinct", len(top)) == len(top)
    outside = counts[~counts.index.isin(list(top))]
    new = {str(k): int(v) for k, v in outside.head(20).items()} if complete else {}
    ref_total, cur_total = ref_counts.sum(), cur_counts.sum()
    ref_props = ref_counts / ref_total if ref_total else np.zeros(len(names))
    cur_props = cur_counts / cur_total if cur_total else np.zeros(len(names))
    ref_p, cur_p = _with_nulls(ref_props, cur_props, _null_rate(feature), cur_null)
    statistic, pvalue = stats.chi2_homogeneity(ref_counts, cur_counts)
    tested = bool(ref_total and cur_total)
    return Measures(
        psi=stats.psi(ref_p, cur_p),
        shares=tuple(ref_p.tolist()),
        test="chi2" if tested else None,
        statistic=statistic if tested else None,
        pvalue=pvalue if tested else None,
        rows=rows,
        null_rate=cur_null,
        new_categories=new,
    )
