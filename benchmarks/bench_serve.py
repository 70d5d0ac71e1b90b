"""Per-request latency of ``mlgitops serve`` against MLflow's bare scoring server.

    python benchmarks/bench_serve.py [--requests 2000] [--rounds 5]

Both serve the same model from the same folder on this machine: a
HistGradientBoostingClassifier fitted on the example data and saved with
``mlflow.sklearn.save_model``. Two references: what ``mlflow models serve
--env-manager local`` runs (uvicorn with ``mlflow.pyfunc.scoring_server.app``,
access log on), and the same app with the uvicorn settings of ``mlgitops serve``
(no access log): the ratio to the second is the cost of the metrics layer alone. Both get
``OMP_NUM_THREADS=1``, as the generated manifests set it for a 500m CPU limit.
Requests go one at a time over a kept-alive connection, alternating between the
servers round by round; it prints median and p99 latency of 1-row and 100-row
requests, the ratio, and the added time per request. On a loaded machine the
end-to-end figures swing by more than the layer costs, so it also times the
layer's own work per request in this process (recording status, duration and
the predictions of a 1-row and a 100-row batch), against the median request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.mlflow_server import free_port  # noqa: E402

DATA = ROOT / "src" / "mlgitops" / "scaffold" / "data" / "tumors.csv"


def _save_model(folder: Path) -> list[dict[str, float]]:
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = pd.read_csv(DATA)
    features = frame.drop(columns=["malignant"])
    model = HistGradientBoostingClassifier(max_iter=200, random_state=0)
    model.fit(features, frame["malignant"])
    signature = infer_signature(features, model.predict(features))
    mlflow.sklearn.save_model(
        model, str(folder), signature=signature, serialization_format="cloudpickle"
    )
    return list(features.to_dict(orient="records"))


def _start(cmd: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/ping", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{cmd[0]} did not start")


def _latencies(session: requests.Session, url: str, bodies: list[str]) -> list[float]:
    found = []
    for body in bodies:
        start = time.perf_counter()
        answer = session.post(
            f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        found.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text
    return found


def _layer_cost_us(rows: int, repeat: int = 20000) -> float:
    """Microseconds the metrics layer spends per request (status, latency, predictions)."""
    import numpy as np

    from mlgitops.serving.metrics import ServerMetrics

    metrics = ServerMetrics("models:/bench/1", "classification")
    predictions = np.arange(rows) % 2
    start = time.perf_counter()
    for _ in range(repeat):
        metrics.request("/invocations", 200, 0.004)
        metrics.predicted(predictions)
    return (time.perf_counter() - start) / repeat * 1e6


def _p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests per server and size")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MLFLOW_ENABLE_TELEMETRY": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        rows = _save_model(model)
        bare_port, quiet_port, ours_port = free_port(), free_port(), free_port()
        metrics_port = free_port()
        bare_env = {**env, "__pyfunc_model_path__": str(model)}
        app = "mlflow.pyfunc.scoring_server.app:app"
        bare_cmd = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1"]
        quiet_cmd = [*bare_cmd, "--port", str(quiet_port), "--no-access-log"]
        quiet_cmd += ["--log-level", "warning", app]
        bare_cmd += ["--port", str(bare_port), app]
        ours_cmd = [str(Path(sys.executable).with_name("mlgitops")), "serve"]
        ours_cmd += ["--model-uri", str(model), "--port", str(ours_port)]
        ours_cmd += ["--metrics-port", str(metrics_port), "--task", "classification"]
        servers = {
            "mlflow models serve": f"http://127.0.0.1:{bare_port}",
            "same, no access log": f"http://127.0.0.1:{quiet_port}",
            "mlgitops serve": f"http://127.0.0.1:{ours_port}",
        }
        procs = [
            _start(bare_cmd, bare_env, servers["mlflow models serve"]),
            _start(quiet_cmd, bare_env, servers["same, no access log"]),
            _start(ours_cmd, env, servers["mlgitops serve"]),
        ]
        try:
            _run(servers, rows, options.requests, options.rounds)
            scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
            total = sum(
                float(line.split()[-1])
                for line in scraped.splitlines()
                if line.startswith('mlgitops_requests_total{code="2xx",handler="/invocations"}')
            )
            print(f"\nmlgitops serve counted {total:.0f} answered /invocations requests")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()


def _run(servers: dict[str, str], rows: list[dict[str, float]], count: int, rounds: int) -> None:
    sizes = {1: [json.dumps({"dataframe_records": [rows[i % len(rows)]]}) for i in range(count)]}
    sizes[100] = [
        json.dumps({"dataframe_records": [rows[(i + j) % len(rows)] for j in range(100)]})
        for i in range(count // 4)
    ]
    print(f"{'rows':>4} {'server':24} {'median ms':>10} {'p99 ms':>8} {'ratio':>6} {'added µs':>9}")
    print(f"{'':4} {'':24} {'':>10} {'':>8} {'(to the no-access-log reference)':>16}")
    for size, bodies in sizes.items():
        samples: dict[str, list[float]] = {name: [] for name in servers}
        with requests.Session() as session:
            for url in servers.values():  # warm up
                _latencies(session, url, bodies[:50])
            share = len(bodies) // rounds
            for index in range(rounds):
                for name, url in servers.items():
                    part = bodies[index * share : (index + 1) * share]
                    samples[name] += _latencies(session, url, part)
        base = statistics.median(samples["same, no access log"])
        for name, values in samples.items():
            median = statistics.median(values)
            print(
                f"{size:4} {name:24} {median * 1000:10.3f} {_p99(values) * 1000:8.3f}"
                f" {median / base:6.3f} {(median - base) * 1e6:+9.0f}"
            )
        cost = _layer_cost_us(size)
        print(
            f"{size:4} {'layer work, in process':24} {cost / 1000:10.3f} {'':>8}"
            f" {(base * 1e6 + cost) / (base * 1e6):6.3f} {cost:+9.0f}"
        )


if __name__ == "__main__":
    main()
