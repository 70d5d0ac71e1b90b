"""Apply the spec's thresholds to the measures of every feature: the drift verdict.

A feature drifts when its PSI exceeds its threshold (``drift.psi``, or
``drift.features.<col>.psi``) or its test p-value falls below
``drift.ks_pvalue`` (KS for numeric features, chi-squared for categorical
ones). A PSI over its threshold counts only where it also passes what
sampling alone gives at that same level (:func:`~mlgitops.drift.stats.psi_noise`):
on a few rows, unchanged data passes the threshold by chance (status ``within
noise``, and a note). A
feature of the reference that the current data lacks counts as drift too;
extra columns in the current data are reported, not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlgitops.drift import stats
from mlgitops.drift.measure import Measures, measure
from mlgitops.spec.model import Drift, FeatureDrift

if TYPE_CHECKING:
    import pandas as pd

    from mlgitops.validation.failures import Example

#: Feature statuses, most severe first (the order of the report table).
STATUSES = ("missing", "drift", "within noise", "moderate", "stable", "ignored")


@dataclass(frozen=True)
class Thresholds:
    """When a feature counts as drifted."""

    psi: float = 0.25
    pvalue: float = 0.01
    features: Mapping[str, FeatureDrift] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, drift: Drift | None) -> Thresholds:
        spec = drift or Drift()
        return cls(psi=spec.psi, pvalue=spec.ks_pvalue, features=dict(spec.features))

    def psi_for(self, name: str) -> float:
        override = self.features.get(name)
        return override.psi if override and override.psi is not None else self.psi

    def ignores(self, name: str) -> bool:
        override = self.features.get(name)
        return bool(override and override.ignore)


@dataclass(frozen=True)
class FeatureResult:
    """One feature's verdict: its status, why, and what was measured."""

    name: str
    kind: str
    status: str
    psi_threshold: float
    reasons: tuple[str, ...] = ()
    measures: Measures | None = None
    reference_null_rate: float = 0.0
    reference_mean: float | None = None
    #: The training rows of the feature (its missing values included).
    reference_rows: int = 0
    #: Where PSI is over its threshold: what these rows pass by chance where nothing
    #: changed, at the tests' level (:func:`~mlgitops.drift.stats.psi_noise`).
    psi_noise: float | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("drift", "missing")


@dataclass(frozen=True)
class DriftReport:
    """The whole drift check of one pipeline."""

    pipeline: str
    reference_source: str
    current_source: str
    reference_rows: int
    current_rows: int
    thresholds: Thresholds
    features: tuple[FeatureResult, ...]
    new_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return any(f.failed for f in self.features)

    @property
    def failed_features(self) -> tuple[FeatureResult, ...]:
        return tuple(f for f in self.features if f.failed)

    def ordered(self) -> list[FeatureResult]:
        """Most severe first; within a status, the largest PSI (to 4 places), then column order."""
        order = {f.name: i for i, f in enumerate(self.features)}

        def key(f: FeatureResult) -> tuple[int, float, int]:
            psi = round(f.measures.psi, 4) if f.measures else 0.0
            return (STATUSES.index(f.status), -psi, order[f.name])

        return sorted(self.features, key=key)


def detect(
    reference: dict[str, Any],
    current: pd.DataFrame,
    thresholds: Thresholds,
    *,
    pipeline: str,
    reference_source: str,
    current_source: str,
    undeclared: tuple[str, ...] = (),
    unparsed: Mapping[str, int] | None = None,
    first_unparsed: Mapping[str, Example] | None = None,
    dtypes: Mapping[str, str] | None = None,
) -> DriftReport:
    """Measure every reference feature in ``current`` and judge it against ``thresholds``.

    ``undeclared``: columns of the current data the schema does not declare (not read).
    ``unparsed``: per column, the values that were not of its type when read (gaps in
    ``current`` already); ``first_unparsed``: the first of them, with its row and line;
    ``dtypes``: each column's dtype in the schema, which the notes name.
    """
    results = tuple(_judge(f, current, thresholds) for f in reference["features"])
    known = {f["name"] for f in reference["features"]}
    known |= {s["name"] for s in reference.get("skipped", [])}
    known.add(reference.get("target"))
    new_columns = tuple(
        str(c) for c in current.columns if c not in known and not str(c).startswith("__")
    ) + tuple(c for c in undeclared if c not in known)
    unread = Unread(unparsed or {}, first_unparsed or {}, dtypes or {})
    notes = tuple(_notes(results, unread, len(current), thresholds.pvalue))
    notes += tuple(f"{s['name']}: not judged: {s['reason']}" for s in reference.get("skipped", []))
    return DriftReport(
        pipeline=pipeline,
        reference_source=reference_source,
        current_source=current_source,
        reference_rows=int(reference["rows"]),
        current_rows=len(current),
        thresholds=thresholds,
        features=results,
        new_columns=new_columns,
        notes=notes,
    )


def _judge(feature: dict[str, Any], current: pd.DataFrame, thresholds: Thresholds) -> FeatureResult:
    name = feature["name"]
    base = {
        "name": name,
        "kind": feature["kind"],
        "psi_threshold": thresholds.psi_for(name),
        "reference_null_rate": float(feature.get("null_rate", 0.0)),
        "reference_mean": feature.get("mean"),
    }
    if thresholds.ignores(name):
        return FeatureResult(status="ignored", reasons=("ignored by the spec",), **base)
    if name not in current.columns:
        return FeatureResult(status="missing", reasons=("column missing",), **base)
    measures = measure(feature, current[name])
    reference_rows = int(feature["count"]) + int(feature["nulls"])
    noise = None
    if measures.psi > base["psi_threshold"]:  # what the current rows give by chance
        noise = stats.psi_noise(measures.shares, len(current), reference_rows, thresholds.pvalue)
    reasons = _reasons(measures, base["psi_threshold"], thresholds.pvalue, noise)
    if reasons:
        status = "drift"
    elif measures.psi > base["psi_threshold"]:
        status = "within noise"
    else:
        status = _calm_status(measures.psi, base["psi_threshold"])
    return FeatureResult(
        status=status,
        reasons=reasons,
        measures=measures,
        reference_rows=reference_rows,
        psi_noise=noise,
        **base,
    )


def _reasons(
    m: Measures, psi_threshold: float, pvalue: float, noise: float | None
) -> tuple[str, ...]:
    reasons = []
    if m.psi > psi_threshold and noise is not None and m.psi > noise:
        reasons.append(f"PSI {m.psi:.3f} > {psi_threshold:g}")
    if m.pvalue is not None and m.pvalue < pvalue:
        test = "KS" if m.test == "ks" else "chi-squared"
        reasons.append(f"{test} p {format_pvalue(m.pvalue)} < {pvalue:g}")
    return tuple(reasons)


def _calm_status(psi: float, threshold: float) -> str:
    return "moderate" if stats.PSI_MODERATE < psi <= threshold else "stable"


@dataclass(frozen=True)
class Unread:
    """The values of the current data that were not of their column's type when read."""

    counts: Mapping[str, int]
    first: Mapping[str, Example]
    dtypes: Mapping[str, str]

    def said(self, name: str, count: int) -> str:
        """What the note says of ``count`` such values of column ``name``."""
        dtype = self.dtypes.get(name, "")
        floats = not dtype or dtype.lower().startswith(("float", "double", "half"))
        what = "numbers" if floats else f"{dtype} values"
        first = self.first.get(name)
        where = ""
        if first is not None:
            at = f"on line {first.line}" if first.line else f"in row {first.row}"
            where = f" (the first {at}: {first.value!r})"
        return f"{name}: {count} value(s) are not {what}{where}; counted as missing"


def _notes(
    results: tuple[FeatureResult, ...], unread: Unread, rows: int, level: float
) -> list[str]:
    notes = []
    for r in results:
        count = (r.measures.not_numeric if r.measures else 0) + unread.counts.get(r.name, 0)
        if count:
            notes.append(unread.said(r.name, count))
    for r in results:
        if r.status == "within noise" and r.measures is not None:
            notes.append(_within_noise(r, r.measures, rows, level))
    return notes


def _within_noise(r: FeatureResult, m: Measures, rows: int, level: float) -> str:
    """Why a PSI over its threshold is not drift: unchanged data of these rows gives it."""
    sizes = f"{rows:,} row{'' if rows == 1 else 's'} against {r.reference_rows:,}"
    said = f"PSI {m.psi:.3f} is over {r.psi_threshold:g}, but {sizes} pass "
    said += f"{r.psi_noise or 0:.3f} by chance with probability {level:g} where nothing changed"
    test = {"ks": "KS", "chi2": "χ²"}.get(m.test or "")
    return f"{r.name}: {said}; " + (f"its {test} test finds no drift" if test else "no drift")


def format_pvalue(p: float | None) -> str:
    """A p-value for people: 4 decimals, or scientific notation when tiny."""
    if p is None:
        return "-"
    if p == 0:
        return "<1e-300"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.4f}"
