"""Reading a run's own files from MLflow: the run's artifact root is asked for once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.evaluation import deployed
from tests.fixtures.mlflow_server import MlflowServer


def test_a_run_s_files_read_by_separate_checks_look_the_run_up_once(
    mlflow_server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deploy checks the reviewed run's drift reference and its training rows separately;
    each looked the run up in MLflow again, though its artifact root never changes."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.uri)
    experiment = client.create_experiment(f"run-files-{tmp_path.name}")
    run_id = client.create_run(experiment).info.run_id
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "b.txt").write_text("two")
    client.log_artifact(run_id, str(tmp_path / "a.txt"), "mlgitops")
    client.log_artifact(run_id, str(tmp_path / "b.txt"), "mlgitops")
    asked: list[str] = []
    get_run = mlflow.MlflowClient.get_run

    def counted(self: Any, run: str) -> Any:
        asked.append(run)
        return get_run(self, run)

    monkeypatch.setattr(mlflow.MlflowClient, "get_run", counted)
    assert deployed.run_file(run_id, "mlgitops/a.txt", mlflow_server.uri) == b"one"
    assert deployed.run_file(run_id, "mlgitops/b.txt", mlflow_server.uri) == b"two"
    assert deployed.run_file(run_id, "mlgitops/c.txt", mlflow_server.uri) is None
    assert asked == [run_id]
    assert deployed.run_file("f" * 32, "mlgitops/a.txt", mlflow_server.uri) is None
    assert deployed.run_file("f" * 32, "mlgitops/a.txt", mlflow_server.uri) is None
    assert asked == [run_id, "f" * 32, "f" * 32]  # a run MLflow does not have: asked again
