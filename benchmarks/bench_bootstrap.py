"""The paired bootstrap over a large holdout: 1,000,000 rows x 1,000 resamples.

    python benchmarks/bench_bootstrap.py [--rows 1000000] [--resamples 1000] [--naive 5] [--exact 10]

Times what ``compare`` does for the metrics roc_auc and accuracy of a binary
classifier against a baseline: both point scores plus the paired bootstrap of
each delta (``score_metrics``; target: under 1 s). roc_auc uses the linearised
draw above ``EXACT_LIMIT`` (rows x resamples), accuracy the exact multinomial
draw over its confusion cells (see mlgitops/evaluation/bootstrap.py).

Reference, measured in the same run: the textbook paired bootstrap, a loop
that draws row indices and calls scikit-learn's ``roc_auc_score`` and
``accuracy_score`` for both models, timed over ``--naive`` resamples and
extrapolated to ``--resamples``. Also printed: the exact draw (row indices
resampled, metrics vectorised over them) on the same data for a few resamples,
extrapolated, and how far the linearised interval is from the naive one.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np


def _holdout(rows: int) -> tuple[Any, Any, Any]:
    from mlgitops.evaluation.metrics import Holdout, Predictions

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, rows)
    shared = rng.normal(size=rows)

    def model(shift: float) -> Predictions:
        score = shift * y + 0.6 * shared + 0.8 * rng.normal(size=rows)
        p = 1 / (1 + np.exp(-score))
        return Predictions((p > 0.5).astype(np.int64), np.column_stack([1 - p, p]))

    return Holdout("classification", y, (0, 1)), model(1.0), model(0.98)


def _naive(holdout: Any, cand: Any, base: Any, resamples: int) -> tuple[float, Any]:
    from sklearn.metrics import accuracy_score, roc_auc_score

    rng = np.random.default_rng(1)
    deltas = []
    start = time.perf_counter()
    for _ in range(resamples):
        rows = rng.integers(0, holdout.rows, holdout.rows)
        y = holdout.y[rows]
        deltas.append(roc_auc_score(y, cand.proba[rows, 1]) - roc_auc_score(y, base.proba[rows, 1]))
        accuracy_score(y, cand.labels[rows]) - accuracy_score(y, base.labels[rows])
    return time.perf_counter() - start, np.array(deltas)


def main() -> None:
    from mlgitops.evaluation.scoring import BootstrapSettings, score_metrics

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=5, help="resamples of the reference loop")
    parser.add_argument("--exact", type=int, default=10, help="resamples of the exact draw")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    holdout, cand, base = _holdout(args.rows)
    settings = BootstrapSettings(resamples=args.resamples)
    times, results = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        results = score_metrics(["roc_auc", "accuracy"], holdout, cand, base, settings)
        times.append(time.perf_counter() - start)
    ours = min(times)
    naive_s, naive_deltas = _naive(holdout, cand, base, args.naive)
    naive = naive_s / args.naive * args.resamples
    exact_s, exact_deltas = _exact(holdout, cand, base, args.exact)
    exact = exact_s / args.exact * args.resamples
    print(f"holdout rows: {args.rows:,}; resamples: {args.resamples:,}; metrics: roc_auc, accuracy")
    for r in results:
        print(
            f"  {r.name:<9} delta {r.delta:+.5f}  CI [{r.ci[0]:+.5f}, {r.ci[1]:+.5f}]  "
            f"({r.method} draw)"
        )
    print(f"compare's paired bootstrap (best of {args.repeat}): {ours:.3f} s  (target < 1 s)")
    print(
        f"reference: sklearn loop, {args.naive} resamples = {naive_s:.2f} s, "
        f"extrapolated to {args.resamples:,}: {naive:.1f} s  -> {naive / ours:.0f}x faster"
    )
    print(
        f"exact row-index draw (metrics vectorised), {args.exact} resamples = {exact_s:.2f} s, "
        f"extrapolated to {args.resamples:,}: {exact:.1f} s  -> {exact / ours:.0f}x faster"
    )
    ci = results[0].ci
    sd = (ci[1] - ci[0]) / (2 * 1.96) if ci else float("nan")
    print(
        f"roc_auc delta spread: linearised {sd:.6f}; sample sd of the exact draws "
        f"{np.std(exact_deltas, ddof=1):.6f}, of the sklearn loop {np.std(naive_deltas, ddof=1):.6f}"
    )


def _exact(holdout: Any, cand: Any, base: Any, resamples: int) -> tuple[float, Any]:
    """The exact draw of roc_auc, kernel set-up excluded (it is paid once, not per resample)."""
    from mlgitops.evaluation import bootstrap
    from mlgitops.evaluation.metrics import kernel

    paired = kernel("roc_auc", holdout, cand, base)
    start = time.perf_counter()
    drawn = bootstrap.paired_bootstrap(
        paired, delta=0.0, resamples=resamples, rng=np.random.default_rng(2), exact_limit=10**15
    )
    return time.perf_counter() - start, drawn.deltas


if __name__ == "__main__":
    main()
