from __future__ import annotations

import requests

from tests.fixtures.mlflow_server import MlflowServer


def test_mlflow_server_answers_the_tracking_api(mlflow_server: MlflowServer) -> None:
    answer = requests.post(
        f"{mlflow_server.uri}/api/2.0/mlflow/experiments/create", json={"name": "probe"}, timeout=10
    )
    assert answer.status_code == 200
    assert answer.json()["experiment_id"]


def test_free_ports_are_distinct_and_below_the_ephemeral_range() -> None:
    """Outgoing connections take their local ports from the kernel's ephemeral range: a
    port a test hands to a server it starts comes from below it, and never twice."""
    import socket

    from tests.fixtures.mlflow_server import _ephemeral_low, free_port

    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(1024 <= port < _ephemeral_low() for port in ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))  # free when handed out
