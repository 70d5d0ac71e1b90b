"""The drift measures against scipy's reference implementations and known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from mlgitops.drift import stats


@pytest.mark.parametrize("lam", [0.05, 0.3, 0.7, 1.0, 1.17, 1.18, 1.19, 1.6, 2.5, 4.0])
def test_kolmogorov_sf_matches_scipy(lam: float) -> None:
    assert stats.kolmogorov_sf(lam) == pytest.approx(sp.kstwobign.sf(lam), rel=1e-9, abs=1e-15)


def test_kolmogorov_sf_is_one_at_zero() -> None:
    assert stats.kolmogorov_sf(0.0) == 1.0


@pytest.mark.parametrize(
    ("x", "dof"), [(0.5, 1), (3.0, 2), (10.0, 5), (50.0, 49), (100.0, 49), (200.0, 10), (1e-3, 3)]
)
def test_chi2_sf_matches_scipy(x: float, dof: int) -> None:
    assert stats.chi2_sf(x, dof) == pytest.approx(sp.chi2.sf(x, dof), rel=1e-9, abs=1e-300)


def test_chi2_sf_without_degrees_of_freedom_is_one() -> None:
    assert stats.chi2_sf(5.0, 0) == 1.0


def test_ks_pvalue_agrees_with_scipy_two_sample_test() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 4000), rng.normal(0.08, 1, 3000)
    result = sp.ks_2samp(a, b, method="asymp")
    mine = stats.ks_pvalue(float(result.statistic), a.size, b.size)
    assert mine == pytest.approx(result.pvalue, rel=0.05)


def test_psi_of_identical_distributions_is_zero() -> None:
    p = np.array([0.2, 0.3, 0.5])
    assert stats.psi(p, p) == 0.0


def test_psi_known_value() -> None:
    e, a = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    expected = (0.25 - 0.5) * math.log(0.5) + (0.75 - 0.5) * math.log(1.5)
    assert stats.psi(e, a) == pytest.approx(expected)


def test_psi_with_an_empty_bin_stays_finite() -> None:
    value = stats.psi(np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    assert math.isfinite(value)
    assert value > 2


def test_chi2_homogeneity_matches_scipy_contingency() -> None:
    ref, cur = np.array([100.0, 200.0, 300.0, 0.0]), np.array([120.0, 180.0, 310.0, 0.0])
    statistic, p = stats.chi2_homogeneity(ref, cur)
    expected = sp.chi2_contingency(np.vstack([ref[:3], cur[:3]]), correction=False)
    assert statistic == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_homogeneity_with_one_category_tests_nothing() -> None:
    assert stats.chi2_homogeneity(np.array([5.0, 0.0]), np.array([7.0, 0.0])) == (0.0, 1.0)


def test_chi2_homogeneity_drops_a_category_too_small_to_test() -> None:
    ref, cur = np.array([600.0, 400.0, 0.0]), np.array([300.0, 200.0, 3.0])
    assert stats.chi2_homogeneity(ref, cur) == stats.chi2_homogeneity(ref[:2], cur[:2])


def test_chi2_homogeneity_pools_small_categories_together() -> None:
    ref, cur = np.array([600.0, 400.0, 4.0, 4.0]), np.array([300.0, 200.0, 4.0, 4.0])
    pooled = stats.chi2_homogeneity(np.array([600.0, 400.0, 8.0]), np.array([300.0, 200.0, 8.0]))
    assert stats.chi2_homogeneity(ref, cur) == pooled


@pytest.mark.parametrize(("q", "dof"), [(0.01, 9), (0.01, 1), (1e-6, 9), (0.05, 50), (0.5, 3)])
def test_chi2_isf_matches_scipy(q: float, dof: int) -> None:
    assert stats.chi2_isf(q, dof) == pytest.approx(sp.chi2.isf(q, dof), rel=1e-9)


@pytest.mark.parametrize("level", [0.01, 0.05])
def test_psi_noise_of_many_rows_is_the_chi2_quantile_over_the_two_sample_sizes(
    level: float,
) -> None:
    """Where every bin expects many rows, PSI·n·N/(n+N) is about chi-squared with a degree
    of freedom fewer than the bins: the drawn quantile and the approximation agree."""
    shares = np.full(10, 0.1)
    approximated = sp.chi2.isf(level, 9) * (1 / 5_000 + 1 / 20_000)
    assert stats.psi_noise(shares, 5_000, 20_000, level) == pytest.approx(approximated, rel=0.1)
    # Without the training rows' own noise, the draws alone are the chi-squared quantile.
    assert stats.psi_noise(shares, 5_000, 10**12, level) == pytest.approx(
        sp.chi2.isf(level, 9) / 5_000, rel=0.1
    )


def test_features_with_the_same_training_shares_draw_their_noise_once() -> None:
    """Every numeric feature of a file has the deciles' shares: their noise is drawn once
    (a few milliseconds a draw; 3,000 drifted features took 15 s), and is what a draw of
    its own gives."""
    stats._noise_of.cache_clear()
    first = stats.psi_noise(np.full(10, 0.1), 50, 2_000, 0.01)
    again = stats.psi_noise([5] * 10, 50, 2_000, 0.01)  # counts: the same shares
    other = stats.psi_noise(np.full(10, 0.1), 51, 2_000, 0.01)
    assert again == first and other != first
    assert stats._noise_of.cache_info()[:2] == (1, 2)  # hits, misses
    stats._noise_of.cache_clear()
    assert stats.psi_noise(np.full(10, 0.1), 50, 2_000, 0.01) == first


def test_psi_noise_of_a_few_rows_is_over_the_chi2_approximation() -> None:
    """50 rows over 10 deciles leave a bin empty one time in 20, which adds about 0.69 to
    PSI (the 0.0001 stand-in's logarithm) and far less to the chi-squared distance."""
    shares = np.full(10, 0.1)
    approximated = sp.chi2.isf(0.01, 9) * (1 / 50 + 1 / 20_000)
    assert stats.psi_noise(shares, 50, 20_000, 0.01) > 1.3 * approximated
    assert stats.psi_noise(shares, 50, 20_000, 0.01) == stats.psi_noise(shares, 50, 20_000, 0.01)


def test_psi_noise_of_one_bin_is_zero() -> None:
    assert stats.psi_noise(np.array([1.0, 0.0]), 30, 20_000, 0.01) == 0.0
