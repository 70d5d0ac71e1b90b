"""Inputs the deployed model was never trained on: values outside the range of each number
feature, and categories it never saw, as its run's reference profile (``reference.json``,
what ``drift`` judges against) records its training data.

A deployed model given such inputs is scored on what it never learned from. Where the
world changed and its requests with it, that is what it now serves; where the data changed
and the requests did not (other units, a recomputed feature, renamed categories), its
scores say more of the change than of either model, and the candidate will be served other
inputs than it was judged on. Nothing in the rows tells which: a few such rows are named in
a note, and where more than a quarter of the compared rows hold one, the relative gates are
not evaluable unless the spec allows it (``compare.allow_unseen_inputs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgitops.figures import counted

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

#: A feature is named where more of the compared rows than this share hold an input outside
#: the deployed model's training data (a fresh sample of the same data holds ~2/n of them).
NAMED_SHARE = 0.05
#: Past this share of the compared rows, the relative gates are not evaluable.
REFUSED_SHARE = 0.25
_SHOWN = 3


@dataclass(frozen=True)
class Outside:
    """A feature whose compared rows hold inputs the deployed model was never trained on."""

    name: str
    rows: int
    what: str


@dataclass(frozen=True)
class Domain:
    """What the compared rows give the deployed model outside its training data."""

    compared: int
    features: tuple[Outside, ...]
    #: rows holding at least one of them
    rows: int

    @property
    def refused(self) -> bool:
        return self.rows > REFUSED_SHARE * self.compared

    def _listed(self) -> str:
        return "; ".join(f"{f.name}: {f.what} in {counted(f.rows, 'row')}" for f in self.features)

    def note(self) -> str:
        return (
            f"the deployed model is given inputs outside those it was trained on in {self.rows} "
            f"of the {self.compared} compared rows ({self._listed()}): scored on what it never "
            "learned from, which favours the candidate; where the data changed and its requests "
            "did not (other units, a recomputed feature, renamed categories), the candidate "
            "will be served other inputs than it was judged on"
        )

    def reason(self) -> str:
        return (
            f"the deployed model is given inputs outside those it was trained on in {self.rows} "
            f"of the {self.compared} compared rows ({self._listed()}): more than a quarter, so "
            "its scores say more of the change in the data (other units, a recomputed feature, "
            "renamed categories) than of either model; where the world changed and the "
            "requests it serves with it, allow the comparison (compare.allow_unseen_inputs: true)"
        )


def outside(
    frame: pd.DataFrame, reference: Mapping[str, Any] | None, columns: Sequence[str]
) -> Domain | None:
    """The inputs among ``columns`` of the compared rows ``frame`` that lie outside the
    deployed model's training data as ``reference`` profiles it; None where no feature's
    share passes :data:`NAMED_SHARE` (or there is no reference)."""
    import numpy as np

    if reference is None or not len(frame):
        return None
    profiles = {
        str(p.get("name")): p
        for p in reference.get("features") or []
        if isinstance(p, Mapping) and str(p.get("name")) in columns and p.get("name") in frame
    }
    found: list[Outside] = []
    union = np.zeros(len(frame), dtype=bool)
    for name, profile in profiles.items():
        measured = _outside(frame[name], profile)
        if measured is None:
            continue
        mask, what = measured
        rows = int(mask.sum())
        if rows > NAMED_SHARE * len(frame):
            found.append(Outside(name, rows, what))
            union |= mask
    if not found:
        return None
    return Domain(len(frame), tuple(found), int(union.sum()))


def _outside(
    series: pd.Series, profile: Mapping[str, Any]
) -> tuple[npt.NDArray[np.bool_], str] | None:
    if profile.get("kind") == "numeric":
        return _numbers(series, profile)
    if profile.get("kind") == "categorical":
        return _categories(series, profile)
    return None


def _numbers(
    series: pd.Series, profile: Mapping[str, Any]
) -> tuple[npt.NDArray[np.bool_], str] | None:
    import numpy as np
    from pandas.api import types

    from mlgitops.drift.profile import as_float

    low, high = profile.get("min"), profile.get("max")
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        return None
    if not (types.is_numeric_dtype(series.dtype) or types.is_bool_dtype(series.dtype)):
        return None  # text where it trained on numbers: the signature check says so
    values = as_float(series)
    with np.errstate(invalid="ignore"):
        mask = (values < low) | (values > high)
    return mask, f"outside {low:g} to {high:g}, the range it was trained on"


def _categories(
    series: pd.Series, profile: Mapping[str, Any]
) -> tuple[npt.NDArray[np.bool_], str] | None:
    import numpy as np

    from mlgitops.drift.profile import category_names

    top = profile.get("top")
    if not isinstance(top, Mapping) or profile.get("other") != 0:
        return None  # not every category it saw is listed
    counts = series.value_counts(dropna=True, sort=False)
    names = category_names(counts.index)
    unseen = [value for value, name in zip(counts.index, names, strict=True) if name not in top]
    if not unseen:
        return np.zeros(len(series), dtype=bool), ""
    shown = sorted((str(name) for name in names if name not in top), key=lambda n: (len(n), n))[
        :_SHOWN
    ]
    more = len(unseen) - len(shown)
    listed = ", ".join(repr(n) for n in shown) + (f" and {more} more" if more > 0 else "")
    return np.asarray(series.isin(unseen)), f"categories it never saw ({listed})"
