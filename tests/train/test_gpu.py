"""Any scikit-learn-API estimator trains (XGBoost); GPU facts and the GPU budget per PR.

This machine has no GPU: runs must say so (``mlgitops.gpu`` "none", zero GPUs,
the fit on the CPU), and the budget counts runner time instead of GPU time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlgitops import results
from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, commit, runs_of, tags_of, unique
from tests.train.test_trainers import _repo

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),  # MLflow's import warns about type hints
]

XGB = "  estimator: xgboost.XGBRegressor\n  params: {n_estimators: 30, max_depth: 3}\n"


def _metrics(run: dict[str, object]) -> dict[str, float]:
    data = run["data"]
    assert isinstance(data, dict)
    return {m["key"]: float(m["value"]) for m in data.get("metrics", [])}


def _train_json(root: Path, name: str) -> results.TrainResult:
    return results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())


def test_an_xgboost_regressor_trains(tmp_path: Path, mlflow_server: MlflowServer) -> None:
    name = unique("xgb")
    root = _repo(tmp_path / "repo", name, XGB)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    result = _train_json(root, name)
    assert result.metrics["r2"] > 0.8
    # No GPU here, and the record says so rather than leaving it out.
    assert (result.gpu, result.gpu_count, result.device, result.gpu_seconds) == (None, 0, "cpu", 0)
    assert result.fit_s > 0
    [run] = runs_of(mlflow_server.uri, name)
    tags = tags_of(run)
    assert (tags["mlgitops.gpu"], tags["mlgitops.gpu_count"], tags["mlgitops.device"]) == (
        "none",
        "0",
        "cpu",
    )
    metrics = _metrics(run)
    assert metrics["mlgitops.gpu_seconds"] == 0
    assert metrics["mlgitops.budget_seconds"] == pytest.approx(result.fit_s, abs=0.01)
    assert metrics["mlgitops.runner_seconds"] >= result.fit_s


def test_asking_for_the_gpu_without_one_trains_on_the_cpu_and_says_so(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("xgb-gpu")
    root = _repo(tmp_path / "repo", name, XGB)
    spec = root / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text() + "train:\n  gpu: true\n")
    commit(root, "gpu")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    out = capsys.readouterr().out
    assert f"train {name}: train.gpu is true, but this runner has no GPU (" in out
    assert "): training on the CPU" in out
    result = _train_json(root, name)
    assert (result.device, result.gpu_count) == ("cpu", 0)
    [run] = runs_of(mlflow_server.uri, name)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["device"] == "None"  # the estimator keeps its own default: no CUDA asked for


def _budget(root: Path, name: str, minutes: float) -> None:
    spec = root / "pipelines" / f"{name}.yaml"
    text = spec.read_text().split("train:\n")[0]
    spec.write_text(text + f"train:\n  gpu_budget_minutes: {minutes}\n")
    commit(root, f"budget {minutes}")


def test_a_fit_over_the_budget_is_stopped_with_a_record(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("budget-during")
    slow = "  estimator: xgboost.XGBRegressor\n  params: {n_estimators: 20000, max_depth: 8}\n"
    root = _repo(tmp_path / "repo", name, slow)
    _budget(root, name, 0.01)  # 0.6 s of runner time on this GPU-less machine
    monkeypatch.setenv("GITHUB_REF", "refs/pull/41/merge")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 1
    record = json.loads((root / ".mlgitops" / name / "budget.json").read_text())
    assert record["stopped"] == "during"
    assert record["pr"] == 41
    # The timer fires at the budget; the fit stops at its next Python step (a boosting round).
    assert re.match(
        r"GPU budget: training was stopped after [0-9.]+ GPU minutes, ", record["message"]
    )
    assert record["message"].endswith(
        "when pull request #41 reached its budget of 0.01 GPU minutes"
    )
    [run] = runs_of(mlflow_server.uri, name)
    assert run["info"]["status"] == "FAILED"
    assert 0.5 <= _metrics(run)["mlgitops.budget_seconds"] < 60
    # The pull request has spent its budget: the next run does not start at all.
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri, "--force") == 1
    record = json.loads((root / ".mlgitops" / name / "budget.json").read_text())
    assert record["stopped"] == "before"
    assert record["message"].startswith("GPU budget spent: pull request #41 has used")
    assert len(runs_of(mlflow_server.uri, name)) == 1


def test_a_run_the_last_duration_says_would_not_fit_does_not_start(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("budget-before")
    root = _repo(tmp_path / "repo", name, XGB)
    monkeypatch.setenv("GITHUB_REF", "refs/pull/7/merge")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    last = _train_json(root, name).fit_s
    monkeypatch.setenv("GITHUB_REF", "refs/pull/8/merge")
    _budget(root, name, round(last / 60 / 2, 6))  # half of what the last run took
    # A cache hit costs no GPU time: the budget does not stand in its way.
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    assert _train_json(root, name).cached
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri, "--force") == 1
    record = json.loads((root / ".mlgitops" / name / "budget.json").read_text())
    assert (record["stopped"], record["pr"], record["spent_minutes"]) == ("before", 8, 0)
    assert record["message"].startswith("GPU budget: the last run took ")
    assert record["message"].endswith("training did not start")
    assert len(runs_of(mlflow_server.uri, name)) == 1
