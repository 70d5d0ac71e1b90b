"""Any scikit-learn-API estimator trains (XGBoost); GPU facts and the GPU budget per PR.

Without a GPU, runs must say so (``mlgitops.gpu`` "none", zero GPUs, the fit on
the CPU), and the budget counts runner time instead of GPU time. On a runner with
an NVIDIA GPU and XGBoost's CUDA build (the ``gpu`` extra), ``train.gpu: true``
fits on the GPU, the run records what ``nvidia-smi`` says the runner has and
what NVML saw the fit use, and the logged model predicts on the CPU, as served.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mlgitops import results
from tests.fixtures.gpu import GPUS, nvidia_smi, off_gpu, on_gpu, thread_errors
from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, commit, runs_of, tags_of, unique
from tests.train.test_trainers import _repo, _rides

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),  # MLflow's import warns about type hints
]

XGB = "  estimator: xgboost.XGBRegressor\n  params: {n_estimators: 30, max_depth: 3}\n"


def _metrics(run: dict[str, object]) -> dict[str, float]:
    data = run["data"]
    assert isinstance(data, dict)
    return {m["key"]: float(m["value"]) for m in data.get("metrics", [])}


def _ask_for_the_gpu(root: Path, name: str) -> None:
    spec = root / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text() + "train:\n  gpu: true\n")
    commit(root, "gpu")


def _train_json(root: Path, name: str) -> results.TrainResult:
    return results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())


def _trained_on_the_gpu(root: Path, name: str, uri: str) -> results.TrainResult:
    """``train`` with ``train.gpu: true``: the fit ran on the GPUs ``nvidia-smi`` lists, and
    they were billed for it."""
    assert cli(root, "train", name, "--tracking-uri", uri) == 0
    result = _train_json(root, name)
    model, driver, count = nvidia_smi()
    assert (result.device, result.gpu, result.gpu_driver, result.gpu_count) == (
        "cuda", model, driver, count,
    )  # fmt: skip
    assert result.gpu_seconds == pytest.approx(result.fit_s * count, abs=0.01)
    return result


def test_an_xgboost_regressor_trains(tmp_path: Path, mlflow_server: MlflowServer) -> None:
    name = unique("xgb")
    root = _repo(tmp_path / "repo", name, XGB)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    result = _train_json(root, name)
    assert result.metrics["r2"] > 0.8
    # Not asked for the GPU: the fit runs on the CPU. The runner's GPUs are recorded all
    # the same (a pool bills them), and without one the record says so.
    assert (result.gpu, result.gpu_count, result.device) == (GPUS.model, GPUS.count, "cpu")
    assert result.gpu_seconds == pytest.approx(result.fit_s * GPUS.count, abs=0.01)
    assert result.fit_s > 0
    [run] = runs_of(mlflow_server.uri, name)
    tags = tags_of(run)
    assert (tags["mlgitops.gpu"], tags["mlgitops.gpu_count"], tags["mlgitops.device"]) == (
        GPUS.model or "none",
        str(GPUS.count),
        "cpu",
    )
    metrics = _metrics(run)
    assert metrics["mlgitops.gpu_seconds"] == pytest.approx(result.gpu_seconds)
    assert metrics["mlgitops.budget_seconds"] == pytest.approx(
        result.fit_s * max(1, GPUS.count), abs=0.01
    )
    assert metrics["mlgitops.runner_seconds"] >= result.fit_s


@off_gpu
def test_asking_for_the_gpu_without_one_trains_on_the_cpu_and_says_so(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("xgb-gpu")
    root = _repo(tmp_path / "repo", name, XGB)
    _ask_for_the_gpu(root, name)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    out = capsys.readouterr().out
    assert f"train {name}: train.gpu is true, but this runner has no GPU (" in out
    assert "): training on the CPU" in out
    result = _train_json(root, name)
    assert (result.device, result.gpu_count) == ("cpu", 0)
    [run] = runs_of(mlflow_server.uri, name)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["device"] == "None"  # the estimator keeps its own default: no CUDA asked for


#: Predicts the rows of a parquet file with a logged model, in a process that sees no GPU.
PREDICT_WITHOUT_GPU = """
import sys, warnings
warnings.simplefilter("error")  # XGBoost warns when a model asks for a GPU it cannot find
import mlflow.sklearn, pandas as pd
model = mlflow.sklearn.load_model(sys.argv[1])
frame = pd.read_parquet(sys.argv[2])
pd.DataFrame({"y_pred": model.predict(frame[sys.argv[4].split(",")])}).to_parquet(sys.argv[3])
"""


@on_gpu
def test_asking_for_the_gpu_trains_on_it_and_the_model_predicts_on_the_cpu(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.sklearn

    name = unique("xgb-on-gpu")
    deep = "  estimator: xgboost.XGBRegressor\n  params: {n_estimators: 300, max_depth: 8}\n"
    root = _repo(tmp_path / "repo", name, deep)
    _rides(400_000).to_csv(root / "data" / "rides.csv", index=False)  # seconds of GPU work
    _ask_for_the_gpu(root, name)
    result = _trained_on_the_gpu(root, name, mlflow_server.uri)
    assert result.metrics["r2"] > 0.95
    # NVML sampled the fit: the CUDA context alone holds memory, and the GPU was busy.
    assert result.gpu_peak_memory_mb is not None and result.gpu_peak_memory_mb > 100
    assert result.gpu_utilization is not None and result.gpu_utilization > 0
    [run] = runs_of(mlflow_server.uri, name)
    assert tags_of(run)["mlgitops.device"] == "cuda"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["device"] == "cuda"  # the run records how it was fitted
    # The model it logged predicts on the CPU, as a model server without a GPU runs it,
    # and there it predicts the holdout exactly as the pull request's comment judged it.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    logged = mlflow.sklearn.load_model(result.model_uri)
    assert logged[-1].get_params()["device"] == "cpu"
    out = root / ".mlgitops" / name
    served = tmp_path / "served.parquet"
    subprocess.run(
        [sys.executable, "-c", PREDICT_WITHOUT_GPU, result.model_uri,
         str(out / "holdout.parquet"), str(served), "distance,city,zone"],
        check=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )  # fmt: skip
    reviewed = pd.read_parquet(out / "predictions.parquet")
    holdout = pd.read_parquet(out / "holdout.parquet")
    assert reviewed["__row__"].tolist() == holdout["__row__"].tolist()
    assert pd.read_parquet(served)["y_pred"].tolist() == reviewed["y_pred"].tolist()


@on_gpu
def test_without_nvml_bindings_nvidia_smi_names_the_gpu(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` fails, as uninstalled
    name = unique("xgb-no-nvml")
    root = _repo(tmp_path / "repo", name, XGB)
    _ask_for_the_gpu(root, name)
    with thread_errors() as errors:
        result = _trained_on_the_gpu(root, name, mlflow_server.uri)
    assert errors == []  # no thread tried NVML to sample the fit
    # Nothing sampled the fit: no figure rather than a guess.
    assert (result.gpu_peak_memory_mb, result.gpu_utilization) == (None, None)


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
    said = re.fullmatch(
        r"GPU budget: the last run took ([0-9.]+) GPU minutes and pull request #8 has "
        r"([0-9.]+) of ([0-9.]+) left; training did not start",
        record["message"],
    )
    assert said is not None, record["message"]
    took, left, budget = (float(said[i]) for i in (1, 2, 3))
    # A short fit and half its time as the budget: figures that are not all 0.0.
    assert took > budget > 0 and left == budget == record["budget_minutes"]
    assert len(runs_of(mlflow_server.uri, name)) == 1


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0.0, 0.0), (0.12, 0.002), (0.29, 0.0048), (0.3, 0.01), (90.6, 1.51), (-0.12, -0.002)],
)
def test_budget_minutes_keep_a_short_fit_from_reading_as_nothing(
    seconds: float, minutes: float
) -> None:
    """Two decimals, but two significant digits under 0.005 minutes (a short fit on a fast
    GPU, the budget half of it): 'took 0.0 of 0.0' said nothing."""
    from mlgitops.training.budget import _minutes

    assert _minutes(seconds) == minutes


def test_budget_messages_write_the_smallest_figures_as_decimals() -> None:
    """A figure under 1e-4 minutes is written as a decimal, not as ``1.7e-06``."""
    from mlgitops.training.budget import Allowance, BudgetExceeded, check_before, stopped

    with pytest.raises(BudgetExceeded) as caught:
        check_before(Allowance("p", 8, 0.0001, 0.0, 0.0002))
    assert str(caught.value) == (
        "GPU budget: the last run took 0.0000033 GPU minutes and pull request #8 has "
        "0.0000017 of 0.0000017 left; training did not start"
    )
    assert caught.value.record["budget_minutes"] == 1.7e-06
    said = str(stopped(Allowance("p", None, 0.0001, 0.0, None), 0.0002))
    assert said == (
        "GPU budget: training was stopped after 0.0000033 GPU minutes, when this run "
        "reached its budget of 0.0000017 GPU minutes"
    )


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.0001, "0.0000017"), (0.0006, "0.00001"), (0.12, "0.002"), (90.6, "1.51")],
)
def test_budget_figures_are_written_without_trailing_zeros(seconds: float, said: str) -> None:
    from mlgitops.training.budget import _said

    assert _said(seconds) == said
