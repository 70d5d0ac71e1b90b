"""Repositories for the training tests: the example pipeline under a unique name."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import requests

from mlgitops.cli import main
from tests.fixtures.mlflow_store import seed_local_store

SCAFFOLD = Path(__file__).resolve().parents[2] / "src" / "mlgitops" / "scaffold"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    """Pipeline names are experiment names on the shared server: keep tests apart."""
    return f"{prefix}-{os.getpid() % 100_000}-{next(_names)}"


def example_repo(root: Path, name: str) -> Path:
    """The scaffold's tumour pipeline renamed ``name``, committed on ``main``."""
    root.mkdir(parents=True, exist_ok=True)
    for part in ("schemas", "data"):
        shutil.copytree(SCAFFOLD / part, root / part)
    spec = (SCAFFOLD / "pipelines" / "tumors.yaml").read_text()
    (root / "pipelines").mkdir()
    (root / "pipelines" / f"{name}.yaml").write_text(spec.replace("name: tumors", f"name: {name}"))
    (root / ".gitignore").write_text(".mlgitops/\n")  # as `mlgitops init` or `adopt` write it
    commit(root, "example pipeline", init=True)
    return root


def commit(root: Path, message: str, *, init: bool = False) -> None:
    if init:
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=root, check=True)


def cli(root: Path, *args: str) -> int:
    """``mlgitops -C root *args`` in this process. A ``train`` that will use the
    repository's local default store (no ``--tracking-uri``, no ``$MLFLOW_TRACKING_URI``,
    no ``mlgitops.yaml``, not in GitHub Actions) finds an empty store there, as MLflow creates it
    (:mod:`tests.fixtures.mlflow_store`)."""
    if (
        args[:1] == ("train",)
        and "--tracking-uri" not in args
        and not os.environ.get("MLFLOW_TRACKING_URI")
        and os.environ.get("GITHUB_ACTIONS") != "true"
        and not (root / "mlgitops.yaml").exists()
    ):
        seed_local_store(root)
    return main(["-C", str(root), *args])


def runs_of(uri: str, experiment: str) -> list[dict[str, Any]]:
    """Every run (any status) of an experiment on the server, newest first."""
    found = requests.get(
        f"{uri}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": experiment},
        timeout=10,
    )
    if found.status_code == 404:
        return []
    experiment_id = found.json()["experiment"]["experiment_id"]
    answer = requests.post(
        f"{uri}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [experiment_id], "run_view_type": "ALL", "max_results": 100},
        timeout=10,
    )
    return list(answer.json().get("runs", []))


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}
