from __future__ import annotations

import requests

from tests.fixtures.mlflow_server import MlflowServer


def test_mlflow_server_answers_the_tracking_api(mlflow_server: MlflowServer) -> None:
    answer = requests.post(
        f"{mlflow_server.uri}/api/2.0/mlflow/experiments/create", json={"name": "probe"}, timeout=10
    )
    assert answer.status_code == 200
    assert answer.json()["experiment_id"]
