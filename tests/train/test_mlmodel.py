"""The model folder mlgitops writes in MLflow's sklearn format: what it says it needs."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from mlgitops.training.mlmodel import ModelIdentity, write_sklearn_model


def _written(folder: Path) -> tuple[list[str], str]:
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    identity = ModelIdentity("m-1", "mlflow-artifacts:/1/models/m-1/artifacts", "r" * 32)
    write_sklearn_model(folder, model, frame, model.predict(frame), identity)
    requirements = (folder / "requirements.txt").read_text().splitlines()
    return requirements, yaml.safe_load((folder / "MLmodel").read_text())["mlflow_version"]


def test_mlflow_s_version_is_the_client_s_where_mlflow_skinny_installed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The train-remote extra installs the package ``mlflow`` through ``mlflow-skinny``
    alone: the model still pins the MLflow it was saved with, never ``mlflow==0``."""
    version = importlib.metadata.version("mlflow-skinny")
    assert _written(tmp_path / "full") == ([f"mlflow=={version}", _sklearn()], version)

    real = importlib.metadata.version

    def without_mlflow(name: str) -> str:
        if name == "mlflow":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", without_mlflow)
    assert _written(tmp_path / "skinny") == ([f"mlflow=={version}", _sklearn()], version)


def _sklearn() -> str:
    return f"scikit-learn=={importlib.metadata.version('scikit-learn')}"
