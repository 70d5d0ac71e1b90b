"""The seeded paired bootstrap of a metric's candidate-minus-baseline delta.

Each resample draws ``n`` holdout rows with replacement, *once*, and scores the
candidate and the baseline on that same draw, so the interval reflects the
uncertainty of the difference, not of each model alone (which would be far wider
for two correlated models). The interval is the percentile interval of the
resampled deltas.

Two ways to draw, chosen per metric:

``exact``
    Resample counts per cell (see :mod:`.kernels`), distributed exactly as counts
    of resampled row indices. Used whenever a metric's cells are few (accuracy,
    precision, recall, f1: always) or ``rows x resamples`` is at most
    :data:`EXACT_LIMIT`.
``linearised``
    For larger holdouts of the rank and mean metrics: the delta's first-order
    (influence-function) expansion, whose bootstrap is the bootstrap of a mean.
    That mean is resampled over :data:`INFLUENCE_BINS` equal-width bins of the
    per-row influence values (exact multinomial bin counts), with the within-bin
    spread added back as a normal term so that mean and variance stay exact. Its error against the exact bootstrap shrinks like ``1/n``; the
    tests check both agree. r2's delta, a ratio of two means, is drawn as the ratio of
    both means drawn together (:func:`_linearised_ratio`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from mlgitops.evaluation import tails
from mlgitops.evaluation.kernels import Kernel
from mlgitops.evaluation.metrics import Array, Floats

#: Largest ``rows x resamples`` for which rank and mean metrics resample rows exactly.
EXACT_LIMIT = 10_000_000
#: Bins of the influence values in the linearised bootstrap.
INFLUENCE_BINS = 1024
#: Counts held in memory at once (resamples are drawn in chunks of this size).
CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Replicates:
    """The resampled deltas of one metric and how they were drawn."""

    deltas: Floats
    method: str

    def interval(self, confidence: float) -> tuple[float, float] | None:
        """Percentile interval; None with fewer resamples than one in each tail, or where
        more resamples leave the metric undefined than a tail holds: the others are then a
        selected sample, not a random one (a precision on one predicted positive is 1 in
        every resample that draws it)."""
        finite = self.deltas[np.isfinite(self.deltas)]
        cut = tails.tail(confidence)
        if len(self.deltas) < tails.fewest_resamples(confidence) or not len(finite):
            return None
        if len(self.deltas) - len(finite) > cut * len(self.deltas):
            return None
        low, high = np.quantile(finite, [cut, 1.0 - cut])
        return float(low), float(high)


def metric_rng(seed: int, metric: str) -> np.random.Generator:
    """The generator of one metric: adding or dropping a metric never moves another's CI."""
    return np.random.default_rng([seed, zlib.crc32(metric.encode("utf-8"))])


def paired_bootstrap(
    kernel: Kernel,
    *,
    delta: float,
    resamples: int,
    rng: np.random.Generator,
    exact_limit: int = EXACT_LIMIT,
) -> Replicates:
    """``resamples`` paired replicates of the delta (candidate minus baseline).

    ``delta`` is the delta on the holdout itself (the centre of the linearised draw).
    """
    sizes = kernel.sizes
    rows = int(sizes.sum())
    if rows * resamples <= exact_limit:
        return Replicates(_exact(kernel, sizes, resamples, rng), "exact")
    parts = kernel.ratio()
    if parts is not None:
        return Replicates(_linearised_ratio(*parts, resamples, rng), "linearised")
    influence = kernel.influence()
    if influence is None:
        return Replicates(_exact(kernel, sizes, resamples, rng), "exact")
    return Replicates(delta + _linearised(influence, resamples, rng), "linearised")


def draw_counts(rng: np.random.Generator, sizes: Array, resamples: int) -> Floats:
    """Counts per cell of ``resamples`` draws of ``sum(sizes)`` rows with replacement."""
    rows, cells = int(sizes.sum()), len(sizes)
    if cells * 4 <= rows or cells <= 64:
        drawn: Floats = rng.multinomial(rows, sizes / rows, size=resamples).astype(np.float64)
        return drawn
    picks = rng.integers(0, rows, size=(resamples, rows))
    if cells != rows:
        picks = np.repeat(np.arange(cells), sizes)[picks]
    picks += (np.arange(resamples) * cells)[:, None]
    flat = np.bincount(picks.ravel(), minlength=resamples * cells)
    return flat.reshape(resamples, cells).astype(np.float64)


def _exact(kernel: Kernel, sizes: Array, resamples: int, rng: np.random.Generator) -> Floats:
    rows, cells = int(sizes.sum()), len(sizes)
    per_resample = cells if cells * 4 <= rows or cells <= 64 else cells + rows
    chunk = max(1, CHUNK_ELEMENTS // per_resample)
    parts = []
    for start in range(0, resamples, chunk):
        counts = draw_counts(rng, sizes, min(chunk, resamples - start))
        cand, base = kernel.values(counts)
        parts.append(cand - base)
    return np.concatenate(parts)


def _bins(values: Floats, count: int) -> Array:
    """Each value's equal-width bin of ``count`` between the smallest and the largest."""
    low, high = float(values.min()), float(values.max())
    scale = count / (high - low) if high > low else 0.0
    index: Array = np.minimum(((values - low) * scale).astype(np.int64), count - 1)
    return index


def _linearised(influence: Floats, resamples: int, rng: np.random.Generator) -> Floats:
    """Resampled mean of the (centred) influence values, via equal-width bins.

    Bin counts are drawn exactly (multinomial); the rows drawn within a bin add
    their bin mean plus a normal term with the bin's variance, so the mean and
    the variance of the draw are exact and only the within-bin shape is smoothed.
    """
    rows = len(influence)
    centred = influence - influence.mean()
    index = _bins(centred, INFLUENCE_BINS)
    sizes = np.bincount(index, minlength=INFLUENCE_BINS)
    used = np.flatnonzero(sizes)
    bin_mean = np.bincount(index, weights=centred, minlength=INFLUENCE_BINS) / np.maximum(sizes, 1)
    deviation = centred - bin_mean[index]
    spread = np.bincount(index, weights=deviation**2, minlength=INFLUENCE_BINS)[used] / sizes[used]
    means = bin_mean[used]
    counts = rng.multinomial(rows, sizes[used] / rows, size=resamples).astype(np.float64)
    noise = np.sqrt(counts @ spread) * rng.standard_normal(resamples)
    result: Floats = (counts @ means + noise) / rows
    return result


#: Bins of each of the two per-row terms of a ratio (32 x 32: ``INFLUENCE_BINS`` cells).
RATIO_BINS = 32


def _linearised_ratio(
    numerator: Floats, denominator: Floats, resamples: int, rng: np.random.Generator
) -> Floats:
    """Resampled ratio of two means drawn together (r2's delta: SST is shared, and its
    spread is part of the delta's).

    The rows are binned on both terms (equal-width: a far row gets a cell of its own);
    cell counts are drawn exactly (multinomial), and the rows drawn within a cell add
    its two means plus a normal term with the cell's variances and covariance, so that
    both sums' means, variances and covariance are exact.
    """
    rows = len(numerator)
    cell = _bins(numerator, RATIO_BINS) * RATIO_BINS + _bins(denominator, RATIO_BINS)
    sizes = np.bincount(cell, minlength=RATIO_BINS**2)
    used = np.flatnonzero(sizes)
    held = sizes[used].astype(np.float64)

    def cell_mean(values: Floats) -> Floats:
        result: Floats = np.bincount(cell, weights=values, minlength=RATIO_BINS**2)[used] / held
        return result

    mean_n, mean_d = cell_mean(numerator), cell_mean(denominator)
    index = np.searchsorted(used, cell)
    off_n, off_d = numerator - mean_n[index], denominator - mean_d[index]
    var_n, var_d, cov = cell_mean(off_n**2), cell_mean(off_d**2), cell_mean(off_n * off_d)
    counts = rng.multinomial(rows, held / rows, size=resamples).astype(np.float64)
    spread_n, spread_d, together = counts @ var_n, counts @ var_d, counts @ cov
    first, second = rng.standard_normal((2, resamples))
    root_n = np.sqrt(spread_n)
    lean = np.divide(together, root_n, out=np.zeros(resamples), where=root_n > 0)
    rest = np.sqrt(np.maximum(spread_d - lean**2, 0.0))
    sum_n = counts @ mean_n + root_n * first
    sum_d = counts @ mean_d + lean * first + rest * second
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Floats = np.where(sum_d > 0, sum_n / sum_d, np.nan)
    return result
