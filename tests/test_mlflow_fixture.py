from __future__ import annotations

import pytest
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


def test_parallel_workers_hand_out_ports_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under pytest-xdist each worker takes the ports of its own residue, so two workers
    never start servers on one port."""
    from tests.fixtures import mlflow_server

    handed = {}
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setattr(mlflow_server, "_HANDED", set())
        handed[worker] = {mlflow_server.free_port() for _ in range(30)}
    assert [{port % 3 for port in ports} for ports in handed.values()] == [
        {(mlflow_server._ephemeral_low() - 12_000 + i) % 3} for i in range(3)
    ]
