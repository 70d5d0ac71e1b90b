from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.mlflow_server import MlflowServer

if TYPE_CHECKING:
    from tests.compare.test_stages import Deployed


@pytest.fixture(scope="session")
def verdict_schema() -> dict[str, Any]:
    text = resources.files("mlgitops.schemas").joinpath("verdict.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.fixture(scope="session")
def stages_main(tmp_path_factory: pytest.TempPathFactory, mlflow_server: MlflowServer) -> Deployed:
    """The stage tests' ``main``, trained and deployed once per test process on its MLflow
    server (``test_stages*.py`` open their pull requests against it; pipeline ``shapes``)."""
    from tests.compare.test_stages import deployed_main

    return deployed_main(tmp_path_factory.mktemp("stages"), mlflow_server)
