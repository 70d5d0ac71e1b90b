"""`mlgitops train` against a bare scikit-learn script doing the same fit and score.

    python benchmarks/bench_train.py [--rows 200000] [--runs 5]

Generates a table (numeric and text-category columns, a binary target), then
times, alternately and in the same run:

  bare     a plain script in a subprocess: pandas.read_csv, the same
           train_test_split, the same HistGradientBoostingClassifier (the same
           ordinal encoding of the categories), predict and the same 4 metrics;
  train    `mlgitops train NAME --force` in a subprocess, logging to a real
           `mlflow server` on loopback (sqlite backend, proxied artifacts):
           params, metrics, lineage tags, the model with signature and input
           example, holdout and predictions artifacts, the hand-off folder;
  cached   `mlgitops train NAME` again with unchanged inputs (cache hit).

Prints the medians and the ratio train / bare (target <= 1.10, issue 17), the ratio of
the fastest runs (robust against other load on a shared machine) and the cache
hit time (target <= 0.5 s). mlgitops' bytecode is compiled first, as installing it does
(the reference's libraries have theirs).
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.mlflow_server import start_mlflow_server  # noqa: E402

TARGET_RATIO, TARGET_CACHE_S = 1.10, 0.5
SPEC = """name: bench
data:
  path: data/bench.csv
  columns:
{columns}
  target: label
  split: {{test_size: 0.2, seed: 42, stratify: true}}
model:
  estimator: sklearn.ensemble.HistGradientBoostingClassifier
  params: {{max_iter: 100, random_state: 0}}
task: classification
metrics: [roc_auc, accuracy, f1, log_loss]
"""
BARE = """
import sys
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

frame = pd.read_csv(sys.argv[1])
cats = ["region", "plan"]
features = [c for c in frame.columns if c != "label"]
train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["label"])
numeric = [f for f in features if f not in cats]
encode = ColumnTransformer([("categorical", OrdinalEncoder(handle_unknown="use_encoded_value",
    unknown_value=np.nan, encoded_missing_value=np.nan, max_categories=255), cats)],
    remainder="passthrough")
model = Pipeline([("encode", encode), ("model", HistGradientBoostingClassifier(
    max_iter=100, random_state=0, categorical_features=[True] * len(cats) + [False] * len(numeric)))])
model.fit(train[features], train["label"])
proba = model.predict_proba(test[features])
pred = model.predict(test[features])
print(roc_auc_score(test["label"], proba[:, 1]), accuracy_score(test["label"], pred),
      f1_score(test["label"], pred), log_loss(test["label"], proba))
"""


def make_data(path: Path, rows: int) -> str:
    """A synthetic churn-like table; returns the spec's inline columns."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows).round(5) for i in range(12)})
    frame["region"] = rng.choice(["north", "south", "east", "west", "center"], size=rows)
    frame["plan"] = rng.choice([f"plan-{i}" for i in range(30)], size=rows)
    signal = frame["x0"] + frame["x1"] * frame["x2"] + (frame["region"] == "north") * 0.8
    frame["label"] = (signal + rng.normal(size=rows) > 0.3).astype(int)
    frame.to_csv(path, index=False)
    lines = [f"    x{i}: {{dtype: float64}}" for i in range(12)]
    lines += ["    region: {dtype: str}", "    plan: {dtype: str}", "    label: {dtype: int64}"]
    return "\n".join(lines)


def compile_package() -> None:
    """Compile mlgitops' bytecode, as installing it does (pip compiles what it installs, and
    the reference's libraries were installed so). An editable install with
    ``PYTHONDONTWRITEBYTECODE`` set would otherwise compile every module it imports from
    source in every run: about 0.08 s a process here."""
    import mlgitops

    compileall.compile_dir(Path(mlgitops.__file__).parent, quiet=1)


def load_line(before: float) -> str:
    """The machine's load (1-minute average) when the run began and ended: ratios taken
    on a busy machine are not comparable (other processes share the cores)."""
    after = os.getloadavg()[0]
    return (
        f"load average: {before:.2f} at the start, {after:.2f} at the end ({os.cpu_count()} cores)"
    )


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5, help="alternating runs (median)")
    args = parser.parse_args()
    compile_package()
    cli = str(Path(sys.executable).with_name("mlgitops"))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        repo = Path(tmp) / "repo"
        (repo / "data").mkdir(parents=True)
        (repo / "pipelines").mkdir()
        columns = make_data(repo / "data" / "bench.csv", args.rows)
        (repo / "pipelines" / "bench.yaml").write_text(SPEC.format(columns=columns))
        (Path(tmp) / "bare.py").write_text(BARE)
        server, proc = start_mlflow_server(Path(tmp) / "mlflow")
        try:
            train = [cli, "train", "bench", "--tracking-uri", server.uri]
            timed([*train, "--force"], repo)  # warm-up: page cache, experiment creation
            bare_s, train_s = [], []
            for _ in range(args.runs):
                bare_s.append(
                    timed([sys.executable, str(Path(tmp) / "bare.py"), "data/bench.csv"], repo)
                )
                train_s.append(timed([*train, "--force"], repo))
            cached_s = [timed(train, repo) for _ in range(5)]
        finally:
            proc.terminate()
            proc.wait()
    bare, trained, cached = (statistics.median(s) for s in (bare_s, train_s, cached_s))
    ratio = trained / bare
    print(
        f"data: {args.rows} rows x 14 features (2 text categories); runs: {args.runs} alternating"
    )
    print("tracking: a real `mlflow server` on loopback (sqlite backend, proxied artifacts)")
    print(load_line(load_before))
    print(f"{'bare script (fit + score)':32} {bare:7.2f} s")
    print(
        f"{'mlgitops train --force':32} {trained:7.2f} s   ratio {ratio:.2f}x "
        f"(target <= {TARGET_RATIO}x: {'ok' if ratio <= TARGET_RATIO else 'OVER'})"
    )
    print(
        f"{'mlgitops train (cache hit)':32} {cached:7.2f} s   "
        f"(target <= {TARGET_CACHE_S} s: {'ok' if cached <= TARGET_CACHE_S else 'OVER'})"
    )
    best = min(train_s) / min(bare_s)
    print(f"{'best-of-runs ratio':32} {best:7.2f}x  (less sensitive to other load on the machine)")
    print(
        f"samples: bare {[round(s, 2) for s in bare_s]} train {[round(s, 2) for s in train_s]} "
        f"cached {[round(s, 2) for s in cached_s]}"
    )


if __name__ == "__main__":
    main()
