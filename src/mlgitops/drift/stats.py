"""The drift measures: PSI, and the tail probabilities of the KS and chi-squared tests.

Pure functions over numbers and numpy arrays; no scipy, so that the drift
command needs only the ``data`` extra. Tests check them against scipy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Proportion that stands in for an empty bin, so that PSI stays finite.
PSI_EPSILON = 1e-4
#: PSI below this is "stable"; from here to the drift threshold it is "moderate".
PSI_MODERATE = 0.1


def psi(expected: npt.NDArray[np.float64], actual: npt.NDArray[np.float64]) -> float:
    """Population stability index of two distributions over the same bins.

    ``sum((a - e) * ln(a / e))``, with empty bins counted as ``PSI_EPSILON``
    (and both sides renormalised after that), so that one empty bin gives a
    large but finite value instead of infinity.
    """
    import numpy as np

    one = np.asarray(actual, dtype=np.float64)[np.newaxis]
    return float(_psi_each(np.asarray(expected, dtype=np.float64), one)[0])


def kolmogorov_sf(lam: float) -> float:
    """``P(K > lam)`` for the Kolmogorov distribution (the limit of sqrt(n)·D_n)."""
    if lam <= 0:
        return 1.0
    if lam < 1.18:
        # The theta-function form converges fast for small lambda.
        factor = math.sqrt(2 * math.pi) / lam
        w = math.pi**2 / (8 * lam * lam)
        cdf = factor * math.fsum(math.exp(-((2 * k - 1) ** 2) * w) for k in range(1, 6))
        return min(1.0, max(0.0, 1.0 - cdf))
    total = math.fsum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return min(1.0, max(0.0, 2.0 * total))


def ks_pvalue(statistic: float, n_reference: int, n_current: int) -> float:
    """Asymptotic p-value of the two-sample Kolmogorov-Smirnov statistic.

    Uses the effective sample size ``n·m/(n+m)`` and Stephens' small-sample
    correction ``(sqrt(ne) + 0.12 + 0.11/sqrt(ne))·D``.
    """
    if n_reference <= 0 or n_current <= 0:
        return 1.0
    ne = n_reference * n_current / (n_reference + n_current)
    root = math.sqrt(ne)
    return kolmogorov_sf((root + 0.12 + 0.11 / root) * statistic)


def chi2_sf(statistic: float, dof: int) -> float:
    """``P(X > statistic)`` for a chi-squared variable with ``dof`` degrees of freedom."""
    if dof <= 0 or statistic <= 0:
        return 1.0
    return _gamma_q(dof / 2.0, statistic / 2.0)


def chi2_isf(q: float, dof: int) -> float:
    """The value a chi-squared variable with ``dof`` degrees of freedom passes with
    probability ``q`` (0 < q < 1): :func:`chi2_sf` inverted by bisection."""
    low, high = 0.0, float(max(dof, 1))
    while chi2_sf(high, dof) > q:
        low, high = high, high * 2
    for _ in range(200):
        middle = (low + high) / 2
        if chi2_sf(middle, dof) > q:
            low = middle
        else:
            high = middle
        if high - low <= high * 1e-13:
            break
    return (low + high) / 2


#: The smallest level whose noise :func:`psi_noise` draws (smaller ones take the
#: chi-squared approximation's, and the draws' at this level where larger).
NOISE_DRAWN_LEVEL = 1e-3


def psi_noise(
    shares: Sequence[float] | npt.NDArray[np.float64], rows: int, reference_rows: int, level: float
) -> float:
    """The PSI that ``rows`` current rows pass with probability ``level`` where nothing
    changed: drawn from the training rows' ``shares`` of PSI's bins, ``reference_rows``
    of them.

    Two estimates, the larger taken. PSI is the symmetric Kullback-Leibler divergence,
    which for near distributions is Pearson's chi-squared distance: between samples of
    ``n`` and ``N`` rows of one distribution, ``PSI·n·N/(n+N)`` is about chi-squared with
    a degree of freedom fewer than the bins, so the noise is about ``q·(1/n + 1/N)``
    (``q`` the chi-squared value passed with probability ``level``). On a few rows a bin
    is often empty, and an empty bin adds far more to PSI than to the chi-squared
    distance (its 0.0001 stand-in's logarithm): the tail is heavier. So PSI is also
    drawn: ``rows`` rows from the shares, many times (a fixed seed, so one file gives
    one report), and the quantile of those PSIs taken at ``level`` (at
    :data:`NOISE_DRAWN_LEVEL` when smaller).
    """
    import numpy as np

    held = np.asarray(shares, dtype=np.float64)
    held = held[held > 0]
    if held.size <= 1:
        return 0.0
    if rows <= 0 or reference_rows <= 0:
        return math.inf
    held = held / held.sum()
    return _noise_of(held.tobytes(), rows, reference_rows, level)


@functools.lru_cache(maxsize=256)
def _noise_of(held: bytes, rows: int, reference_rows: int, level: float) -> float:
    """:func:`psi_noise` of normalised shares without an empty bin (their bytes): drawn
    once for the features that share them (the deciles of every numeric feature of one
    file have the same shares), a few milliseconds each."""
    import numpy as np

    shares = np.frombuffer(held, dtype=np.float64)
    approximated = chi2_isf(level, shares.size - 1) * (1 / rows + 1 / reference_rows)
    drawn_level = max(level, NOISE_DRAWN_LEVEL)
    draws = max(2_000, math.ceil(50 / drawn_level))
    counts = np.random.default_rng(0).multinomial(rows, shares, size=draws)
    drawn = np.quantile(_psi_each(shares, counts / rows), 1 - drawn_level, method="higher")
    return max(approximated, float(drawn))


def _psi_each(
    expected: npt.NDArray[np.float64], actual: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """:func:`psi` of ``expected`` against each row of ``actual``."""
    import numpy as np

    e = np.clip(expected, PSI_EPSILON, None)
    a = np.clip(actual, PSI_EPSILON, None)
    e, a = e / e.sum(), a / a.sum(axis=1, keepdims=True)
    result: npt.NDArray[np.float64] = np.sum((a - e) * np.log(a / e), axis=1)
    return result


def _gamma_q(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function Q(a, x)."""
    if x < a + 1.0:
        return max(0.0, 1.0 - _gamma_p_series(a, x))
    return _gamma_q_fraction(a, x)


def _gamma_p_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    ap = a
    for _ in range(10_000):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_q_fraction(a: float, x: float) -> float:
    """Lentz's continued fraction for Q(a, x), valid for x >= a + 1."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_homogeneity(
    reference: npt.NDArray[np.float64], current: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """Chi-squared test that two count vectors over the same categories share one distribution.

    Both sides are samples, so this is the 2 x k test of homogeneity, not a
    goodness-of-fit test against fixed proportions. Cochran's rule keeps the
    chi-squared approximation honest: categories with an expected count below
    5 on either side are pooled into one, and that pool is dropped when it is
    still that small, so a handful of rows in a new category is reported but
    does not by itself count as drift. Returns ``(statistic, p-value)``.
    """
    import numpy as np

    table = np.vstack([reference, current]).astype(np.float64)
    table = _pool_small(table[:, table.sum(axis=0) > 0])
    rows = table.sum(axis=1)
    if table.shape[1] < 2 or np.any(rows == 0):
        return 0.0, 1.0
    expected = _expected(table)
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, chi2_sf(statistic, table.shape[1] - 1)


def _expected(table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    import numpy as np

    total = table.sum()
    if total == 0:
        return np.zeros_like(table)
    result: npt.NDArray[np.float64] = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    return result


def _pool_small(table: npt.NDArray[np.float64], minimum: float = 5.0) -> npt.NDArray[np.float64]:
    import numpy as np

    small = np.any(_expected(table) < minimum, axis=0)
    if not small.any():
        return table
    pooled = table[:, small].sum(axis=1, keepdims=True)
    kept = table[:, ~small]
    if np.all(_expected(np.hstack([kept, pooled]))[:, -1] >= minimum):
        kept = np.hstack([kept, pooled])
    return kept
