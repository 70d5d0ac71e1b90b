"""Drift verdicts on synthetic data where the right answer is known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

from mlgitops.drift import stats
from mlgitops.drift.detect import DriftReport, Thresholds, detect
from mlgitops.drift.profile import build_reference
from mlgitops.spec.model import Drift, FeatureDrift
from tests.drift.conftest import frame

REFERENCE = build_reference(frame(20_000, seed=1), "label")


def _detect(
    current: pd.DataFrame,
    thresholds: Thresholds | None = None,
    reference: dict[str, Any] | None = None,
) -> DriftReport:
    return detect(
        reference or REFERENCE,
        current,
        thresholds or Thresholds(),
        pipeline="demo",
        reference_source="reference.json",
        current_source="recent.csv",
    )


def _status(report: DriftReport) -> dict[str, str]:
    return {f.name: f.status for f in report.features}


def test_same_distribution_is_no_drift() -> None:
    report = _detect(frame(10_000, seed=2))
    assert _status(report) == {"x": "stable", "z": "stable", "k": "stable", "color": "stable"}
    assert not report.drifted
    assert report.new_columns == ()


def test_mean_shift_of_half_a_standard_deviation_is_drift() -> None:
    report = _detect(frame(10_000, seed=2, shift=0.5))
    assert _status(report)["x"] == "drift"
    assert [f.name for f in report.failed_features] == ["x"]
    x = report.features[0]
    assert x.measures is not None and x.measures.pvalue is not None
    assert x.measures.pvalue < 1e-50
    assert x.reasons[-1].startswith("KS p ")


def test_large_shift_passes_the_psi_threshold() -> None:
    x = _detect(frame(10_000, seed=2, shift=1.0)).features[0]
    assert x.measures is not None
    assert x.measures.psi > 0.25
    assert x.reasons[0] == f"PSI {x.measures.psi:.3f} > 0.25"


def test_category_mix_change_is_drift() -> None:
    report = _detect(frame(10_000, seed=2, mix=(0.2, 0.3, 0.5)))
    color = next(f for f in report.features if f.name == "color")
    assert color.status == "drift"
    assert color.measures is not None and color.measures.test == "chi2"
    assert color.measures.psi > 0.25


def test_new_category_is_reported_and_a_large_one_drifts() -> None:
    current = frame(5_000, seed=2)
    current.loc[:999, "color"] = "purple"
    color = next(f for f in _detect(current).features if f.name == "color")
    assert color.measures is not None
    assert color.measures.new_categories == {"purple": 1000}
    assert color.status == "drift"


def test_a_few_rows_of_a_new_category_are_reported_but_not_drift() -> None:
    current = frame(5_000, seed=2)
    current.loc[:2, "color"] = "purple"
    color = next(f for f in _detect(current).features if f.name == "color")
    assert color.measures is not None
    assert color.measures.new_categories == {"purple": 3}
    assert color.status == "stable"


def test_missing_column_is_drift_and_new_column_is_reported() -> None:
    current = frame(5_000, seed=2).drop(columns=["z"]).assign(request_id=1)
    report = _detect(current)
    assert _status(report)["z"] == "missing"
    assert report.drifted
    assert report.new_columns == ("request_id",)


def test_target_in_current_data_is_not_a_new_column() -> None:
    assert _detect(frame(1_000, seed=2)).new_columns == ()


def test_ignored_feature_never_drifts() -> None:
    thresholds = Thresholds.from_spec(Drift(features={"x": FeatureDrift(ignore=True)}))
    report = _detect(frame(5_000, seed=2, shift=2.0).drop(columns=[]), thresholds)
    assert _status(report)["x"] == "ignored"
    assert not report.drifted


def test_per_feature_psi_threshold_overrides_the_global_one() -> None:
    current = frame(10_000, seed=2, mix=(0.4, 0.35, 0.25))
    strict = Thresholds.from_spec(Drift(features={"color": FeatureDrift(psi=0.01)}))
    report = _detect(current, strict)
    color = next(f for f in report.features if f.name == "color")
    assert color.measures is not None and 0.01 < color.measures.psi < 0.25
    assert (color.status, color.psi_threshold) == ("drift", 0.01)
    assert color.reasons[0] == f"PSI {color.measures.psi:.3f} > 0.01"
    assert _status(report)["x"] == "stable"
    default = next(f for f in _detect(current).features if f.name == "color")
    assert default.psi_threshold == 0.25 and not default.reasons[0].startswith("PSI")


def test_null_rate_jump_is_drift() -> None:
    current = frame(5_000, seed=2)
    current.loc[:1999, "z"] = np.nan
    z = next(f for f in _detect(current).features if f.name == "z")
    assert z.status == "drift"
    assert z.measures is not None and z.measures.null_rate == 0.4


def test_non_numbers_in_a_numeric_column_count_as_missing() -> None:
    current = frame(1_000, seed=2)
    current["k"] = current["k"].astype(object)
    current.loc[:9, "k"] = "n/a"
    report = _detect(current)
    assert report.notes == ("k: 10 value(s) are not numbers; counted as missing",)


def test_moderate_psi_is_reported_but_does_not_fail() -> None:
    thresholds = Thresholds(pvalue=1e-300)
    x = _detect(frame(10_000, seed=2, shift=0.35), thresholds).features[0]
    assert x.measures is not None and 0.1 < x.measures.psi <= 0.25
    assert x.status == "moderate"


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3])
def test_ks_on_the_stored_cdf_is_within_the_grid_step_of_the_exact_statistic(shift: float) -> None:
    train, current = frame(20_000, seed=1), frame(8_000, seed=5, shift=shift)
    exact = sp.ks_2samp(train["x"], current["x"]).statistic
    x = _detect(current).features[0]
    assert x.measures is not None and x.measures.statistic is not None
    step = float(np.max(np.diff(REFERENCE["features"][0]["cdf"]["proportions"])))
    assert x.measures.statistic <= exact + 1e-12
    assert exact <= x.measures.statistic + step + 1e-12


def test_unshifted_data_rarely_drifts_across_many_seeds() -> None:
    flagged = sum(_detect(frame(3_000, seed=s)).drifted for s in range(100, 140))
    assert flagged <= 3


@pytest.mark.parametrize("values", ["huge", "infinite"])
def test_infinite_or_huge_values_drift_without_a_numpy_warning(values: str) -> None:
    """Their mean overflows: no mean is shown, and no warning (an error under pytest's
    settings, noise in a scheduled job's log), on either side of the comparison."""
    current = frame(1_000, seed=2)
    odd = np.where(np.arange(len(current)) % 2, np.inf, -np.inf) if values == "infinite" else 1e308
    current["x"] = odd
    x = _detect(current).features[0]
    assert x.status == "drift" and x.measures is not None and x.measures.mean is None
    reference = build_reference(current, "label")
    assert _detect(frame(1_000, seed=3), reference=reference).features[0].status == "drift"


@pytest.mark.parametrize("constant", [5.0, -5.0, 0.0])
def test_a_feature_constant_in_training_drifts_when_it_varies(constant: float) -> None:
    """One training value makes one bin and one CDF point: values that all lie below it
    looked like the training data (PSI 0, KS 0). KS also reads the CDF just below the
    training minimum, where the training data has none."""
    training = frame(2_000, seed=1)
    training["x"] = constant
    reference = build_reference(training, "label")
    same = frame(1_000, seed=3)
    same["x"] = constant
    assert _detect(same, reference=reference).features[0].status == "stable"
    x = _detect(frame(1_000, seed=3), reference=reference).features[0]
    assert x.status == "drift" and x.measures is not None, x.reasons
    assert x.measures.statistic is not None and x.measures.statistic > 0.5


def test_unchanged_data_of_a_few_rows_does_not_drift_by_its_psi() -> None:
    """PSI of a small sample passes 0.25 by chance: 50 rows drawn from the training
    distribution did over its 10 deciles in half the runs, each a retraining pull request
    opened on noise. Now each feature's PSI and its test each err at the 1% level: about
    2% per feature, 4 features, about 16 of 200 runs."""
    flagged = [s for s in range(100, 300) if _detect(frame(50, seed=s)).drifted]
    assert len(flagged) <= 24, flagged


def test_a_few_rows_far_from_the_training_data_drift_by_psi_and_their_test() -> None:
    x = _detect(frame(30, seed=2, shift=2.0)).features[0]
    assert x.status == "drift" and x.measures is not None
    assert x.measures.psi > x.psi_noise > 0.25
    assert [reason.split()[0] for reason in x.reasons] == ["PSI", "KS"]


def test_a_psi_over_its_threshold_that_a_few_rows_give_by_chance_is_told_as_such() -> None:
    report = _detect(frame(30, seed=7))
    statuses = _status(report)
    assert statuses["x"] == "within noise" and not report.drifted, statuses
    x = report.features[0]
    assert x.measures is not None and x.psi_noise is not None
    assert 0.25 < x.measures.psi < x.psi_noise
    assert x.psi_noise >= sp.chi2.isf(0.01, 9) * (1 / 30 + 1 / 20_000)
    assert report.notes[0] == (
        f"x: PSI {x.measures.psi:.3f} is over 0.25, but 30 rows against 20,000 pass "
        f"{x.psi_noise:.3f} by chance with probability 0.01 where nothing changed; "
        "its KS test finds no drift"
    )
    assert report.ordered()[0].name == "x"
    assert _detect(frame(10_000, seed=7)).features[0].psi_noise is None  # PSI under 0.25


@pytest.mark.parametrize("rows", [40, 400])
def test_unchanged_data_passes_the_psi_noise_about_as_often_as_its_level(rows: int) -> None:
    """Drawn many times from the training distribution (continuous values, binned as the
    profile bins them), PSI passes the noise at level 0.01 in about 1% of the draws, and
    the noise at level 0.5 in about half (more where the chi-squared approximation is the
    larger of the two estimates)."""
    psi = [_detect(frame(rows, seed=s)).features[0].measures for s in range(1_000, 1_400)]
    values = np.array([m.psi for m in psi if m is not None])
    shares = np.array(REFERENCE["features"][0]["bins"]["proportions"])
    assert (values > stats.psi_noise(shares, rows, 20_000, 0.01)).sum() <= 10  # 4 expected
    assert 120 <= (values > stats.psi_noise(shares, rows, 20_000, 0.5)).sum() <= 250
