"""What a fit or a prediction failed on that scikit-learn's words do not name: a feature
without a value in any training row, a number the estimator cannot take (its feature and
data row)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlgitops.outputs import ROW


def emptied(frame: Any) -> str:
    """Why a fit may have failed that scikit-learn does not say: a feature without a value
    in any training row (its words for that depend on the estimator)."""
    empty = [str(name) for name in frame.columns if frame[name].isna().all()]
    if not empty:
        return ""
    return (
        f" (feature {empty[0]!r} has no value in any training row: give it values, or leave "
        "it out of the schema)"
    )


def beyond(exc: ValueError, frame: Any, features: Sequence[str]) -> str:
    """Where scikit-learn refuses a number it does not say which ("Input X contains infinity
    or a value too large for dtype('float32')"): the first such value of ``frame``'s
    ``features``, with its data row (infinite first, then past what 32-bit floats hold)."""
    import numpy as np

    if "infinity" not in str(exc):
        return ""
    found = []
    for name in features:
        values = frame[name]
        if values.dtype.kind != "f":
            continue
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            found += [(0, i, name) for i in np.flatnonzero(np.isinf(numbers))[:1]]
            large = np.isfinite(numbers) & (np.abs(numbers) > np.finfo(np.float32).max)
            found += [(1, i, name) for i in np.flatnonzero(large)[:1]]
    if not found:
        return ""
    _, at, name = min(found)
    row = frame[ROW].iloc[at] if ROW in frame.columns else at + 1
    value = float(frame[name].iloc[at])
    return (
        f" (feature {name!r} holds {value!r} in data row {row}: the estimator takes finite "
        "numbers that 32-bit floats hold)"
    )
