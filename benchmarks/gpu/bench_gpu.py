"""Train one XGBoost model on the GPU and on the CPU through `mlgitops train`.

    python benchmarks/gpu/bench_gpu.py [--rows 200000] [--features 40] [--rounds 300]

Generates a regression table, writes two pipelines that differ only in
``train.gpu`` (``xgboost.XGBRegressor``, ``tree_method: hist``), and times
`mlgitops train NAME --force` for each against a real `mlflow server` on
loopback. Then checks what the GPU run recorded:

- train.json: ``device`` is ``cuda``, ``gpu_count`` >= 1, NVML sampled a
  non-zero utilisation and some GPU memory;
- the MLflow run's lineage tags: ``mlgitops.device`` = ``cuda`` and
  ``mlgitops.gpu`` = the GPU's model; the metric ``mlgitops.gpu_seconds`` > 0.

Prints the GPU and CPU wall times and their ratio. Without a GPU (or without
NVML, ``pip install 'mlgitops[gpu]'``) the GPU checks are printed as SKIPPED
with the reason, and the script checks instead that both runs say truthfully
that they had no GPU. Needs the GPU build of XGBoost (the ``gpu`` extra) on a
GPU machine; ``xgboost-cpu`` cannot use CUDA. Exit 0 when every check that
ran passed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fixtures.mlflow_server import start_mlflow_server  # noqa: E402

from mlgitops.training.gpu import probe  # noqa: E402

SPEC = """name: {name}
data:
  path: data/bench.csv
  columns:
{columns}
  target: y
  split: {{test_size: 0.2, seed: 42}}
model:
  estimator: xgboost.XGBRegressor
  params: {{n_estimators: {rounds}, max_depth: 8, tree_method: hist, random_state: 0}}
task: regression
metrics: [rmse, r2]
train:
  gpu: {gpu}
"""


def _data(root: Path, rows: int, features: int) -> str:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features))
    y = x[:, 0] * 3 + np.sin(x[:, 1]) * 2 + x[:, 2] * x[:, 3] + rng.normal(0, 0.1, rows)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(features)]).assign(y=y)
    (root / "data").mkdir(parents=True)
    frame.to_csv(root / "data" / "bench.csv", index=False)
    names = [*frame.columns]
    return "\n".join(f"    {n}: {{dtype: float64}}" for n in names)


def _repo(root: Path, rows: int, features: int, rounds: int) -> None:
    columns = _data(root, rows, features)
    (root / "pipelines").mkdir()
    for name, gpu in (("bench-gpu", "true"), ("bench-cpu", "false")):
        text = SPEC.format(name=name, columns=columns, rounds=rounds, gpu=gpu)
        (root / "pipelines" / f"{name}.yaml").write_text(text)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=root, check=True)


def _train(root: Path, name: str, uri: str) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlgitops", "train", name, "--force", "--tracking-uri", uri],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"mlgitops train {name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print(done.stdout.rstrip())
    return wall, json.loads((root / ".mlgitops" / name / "train.json").read_text())


def _run(uri: str, run_id: str) -> tuple[dict[str, str], dict[str, float]]:
    answer = requests.get(f"{uri}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=10)
    data = answer.json()["run"]["data"]
    tags = {t["key"]: t["value"] for t in data.get("tags", [])}
    return tags, {m["key"]: float(m["value"]) for m in data.get("metrics", [])}


def _check(results: list[tuple[str, bool]], label: str, ok: bool) -> None:
    results.append((label, ok))
    print(f"  {'PASS' if ok else 'FAIL'}  {label}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    gpus = probe()
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-gpu-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        _repo(root, args.rows, args.features, args.rounds)
        server, proc = start_mlflow_server(Path(tmp) / "mlflow")
        try:
            gpu_wall, gpu_doc = _train(root, "bench-gpu", server.uri)
            cpu_wall, cpu_doc = _train(root, "bench-cpu", server.uri)
            gpu_tags, gpu_metrics = _run(server.uri, gpu_doc["run_id"])
            cpu_tags, _ = _run(server.uri, cpu_doc["run_id"])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\n{args.rows:,} rows x {args.features} features, {args.rounds} boosting rounds")
    print(f"  GPU run (train.gpu: true):  {gpu_wall:6.2f} s wall, fit {gpu_doc['fit_s']:.2f} s")
    print(f"  CPU run (train.gpu: false): {cpu_wall:6.2f} s wall, fit {cpu_doc['fit_s']:.2f} s")
    checks: list[tuple[str, bool]] = []
    print("\nchecks:")
    _check(checks, "the CPU run records device cpu", cpu_doc["device"] == "cpu")
    _check(checks, "the CPU run's lineage tag says cpu", cpu_tags.get("mlgitops.device") == "cpu")
    if not gpus.count:
        print(f"  SKIPPED  every GPU check: no GPU on this machine ({gpus.why_none})")
        print("  SKIPPED  GPU against CPU wall time: nothing to compare")
        _check(checks, "without a GPU the GPU run trains on the cpu", gpu_doc["device"] == "cpu")
        _check(checks, "and records no GPU", (gpu_doc["gpu_count"], gpu_doc["gpu"]) == (0, None))
        _check(checks, "and its lineage tag says none", gpu_tags.get("mlgitops.gpu") == "none")
    else:
        print(f"  GPU: {gpus.count}x {gpus.model}, driver {gpus.driver}")
        _check(checks, "the GPU run trained on cuda", gpu_doc["device"] == "cuda")
        _check(checks, "train.json counts the GPUs", gpu_doc["gpu_count"] == gpus.count)
        _check(checks, "NVML saw the GPU busy", (gpu_doc["gpu_utilization"] or 0) > 0)
        _check(checks, "NVML saw GPU memory in use", (gpu_doc["gpu_peak_memory_mb"] or 0) > 0)
        _check(
            checks, "lineage tag mlgitops.device=cuda", gpu_tags.get("mlgitops.device") == "cuda"
        )
        _check(checks, "lineage tag names the GPU", gpu_tags.get("mlgitops.gpu") == gpus.model)
        _check(checks, "GPU-seconds logged", gpu_metrics.get("mlgitops.gpu_seconds", 0) > 0)
        ratio = gpu_doc["fit_s"] / cpu_doc["fit_s"] if cpu_doc["fit_s"] else float("nan")
        print(f"\nGPU fit / CPU fit: {ratio:.2f}x (wall {gpu_wall / cpu_wall:.2f}x)")
    failed = [label for label, ok in checks if not ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
