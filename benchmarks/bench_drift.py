"""Drift computation on 1M rows x 20 features, against doing the same tests naively.

    python benchmarks/bench_drift.py [--rows 1000000] [--repeat 3]

Prints the time of `detect` (PSI + KS/chi-squared for every feature of the
current data against a stored reference; the target is under 2 s), of
`build_reference` on the training data (what `train` adds), and, as the
reference measured in the same run, scipy's exact two-sample KS test
(`scipy.stats.ks_2samp` on the full training and current columns) plus
pandas' `value_counts` for the categorical features.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

NUMERIC, CATEGORICAL = 16, 4


def _frame(rows: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(NUMERIC):
        columns[f"num{i:02d}"] = rng.normal(shift if i < 4 else 0.0, 1.0 + i / 10, rows)
    for i in range(CATEGORICAL):
        labels = np.array([f"c{j}" for j in range(5 + 10 * i)])
        columns[f"cat{i}"] = labels[rng.integers(0, labels.size, rows)]
    columns["label"] = rng.integers(0, 2, rows)
    return pd.DataFrame(columns)


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from scipy import stats as sp

    from mlgitops.drift.detect import Thresholds, detect
    from mlgitops.drift.profile import build_reference, dumps_reference

    train, current = _frame(args.rows, 1, 0.0), _frame(args.rows, 2, 0.2)
    build_s, reference = _best(lambda: build_reference(train, "label"), args.repeat)

    def run_detect() -> Any:
        return detect(
            reference,
            current,
            Thresholds(),
            pipeline="bench",
            reference_source="bench",
            current_source="bench",
        )

    detect_s, report = _best(run_detect, args.repeat)

    def naive() -> None:
        for i in range(NUMERIC):
            sp.ks_2samp(train[f"num{i:02d}"].to_numpy(), current[f"num{i:02d}"].to_numpy())
        for i in range(CATEGORICAL):
            current[f"cat{i}"].value_counts()

    naive_s, _ = _best(naive, 1)
    features = NUMERIC + CATEGORICAL
    print(
        f"{args.rows:,} rows x {features} features; reference.json {len(dumps_reference(reference)):,} bytes"
    )
    print(f"{'scipy ks_2samp + value_counts':32} {naive_s:7.3f} s  (reference)")
    print(
        f"{'drift detect (target < 2 s)':32} {detect_s:7.3f} s  {detect_s / naive_s:5.2f}x reference, "
        f"{1000 * detect_s / features:6.1f} ms/feature"
    )
    print(
        f"{'build_reference (train side)':32} {build_s:7.3f} s  {build_s / naive_s:5.2f}x reference"
    )
    print(f"drifted features: {', '.join(f.name for f in report.failed_features) or 'none'}")


if __name__ == "__main__":
    main()
