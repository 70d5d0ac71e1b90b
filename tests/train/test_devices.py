"""Which device setting an estimator gets, and what the GPU probe says on this machine."""

from __future__ import annotations

import shutil
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from mlgitops.spec.loader import parse_pipeline
from mlgitops.training import gpu
from mlgitops.training.base import TrainJob
from mlgitops.training.sklearn_trainer import _estimator, _extra_dists, _use_device
from tests.fixtures.gpu import nvidia_smi, thread_errors

SPEC = """name: fares
data:
  path: data/rides.csv
  columns:
    distance: {dtype: float64}
    fare: {dtype: float64}
  target: fare
model:
  estimator: xgboost.XGBRegressor
  params: {n_estimators: 10}
task: regression
train:
  gpu: true
"""


@pytest.mark.parametrize(
    ("accepted", "expected"),
    [
        ({"device": None, "n_estimators": 10}, {"device": "cuda"}),  # XGBoost
        ({"device_type": "cpu", "num_leaves": 31}, {"device_type": "gpu"}),  # LightGBM
        ({"task_type": None, "depth": 6}, {"task_type": "GPU"}),  # CatBoost
        ({"max_iter": 100}, {}),  # no device setting: nothing to set
    ],
)
def test_the_device_setting_of_each_library(
    accepted: dict[str, object], expected: dict[str, object]
) -> None:
    assert gpu.device_params({}, accepted, gpu=True) == expected
    assert gpu.device_params({}, accepted, gpu=False) == {}


def test_a_device_the_spec_sets_is_kept() -> None:
    assert gpu.device_params({"device": "cuda:1"}, {"device": None}, gpu=True) == {}


@pytest.mark.parametrize(
    ("chosen", "serving"),
    [
        ({"device": "cuda"}, {"device": "cpu"}),  # XGBoost predicts where `device` says
        ({"device_type": "gpu"}, {}),  # LightGBM and CatBoost predict on the CPU anyway
        ({"task_type": "GPU"}, {}),
        ({}, {}),  # nothing was set: nothing to take back
    ],
)
def test_a_model_fitted_on_the_gpu_is_logged_to_predict_on_the_cpu(
    chosen: dict[str, object], serving: dict[str, object]
) -> None:
    assert gpu.serving_params(chosen) == serving


def _job(text: str, device: str, tmp_path: Path) -> TrainJob:
    pipeline = parse_pipeline("pipelines/fares.yaml", text)
    return TrainJob(pipeline, tmp_path, None, tmp_path, text, device)  # type: ignore[arg-type]


def test_an_xgboost_estimator_is_pointed_at_the_gpu_only_when_there_is_one(
    tmp_path: Path,
) -> None:
    for device, expected in (("cuda", "cuda"), ("cpu", None)):
        job = _job(SPEC, device, tmp_path)
        estimator = _estimator(job.pipeline, SPEC)
        _use_device(estimator, job)
        assert estimator.get_params()["device"] == expected


def _installed(dist: str) -> bool:
    try:
        version(dist)
    except PackageNotFoundError:
        return False
    return True


def test_the_model_requires_the_installed_distribution(tmp_path: Path) -> None:
    estimator = _estimator(_job(SPEC, "cpu", tmp_path).pipeline, SPEC)
    # The CPU-only wheel (the dev extra) and the CUDA build (the gpu extra) both import as
    # `xgboost`: the model names the one installed.
    installed = tuple(d for d in ("xgboost", "xgboost-cpu") if _installed(d))
    assert len(installed) == 1
    assert _extra_dists(estimator) == installed


def test_the_probe_says_what_there_is_or_why_nothing() -> None:
    found = gpu.probe()
    with gpu.metered(found) as usage:
        pass
    if found.count == 0:  # this development machine, and CI
        assert (found.model, found.driver, found.source) == (None, None, "")
        assert found.why_none.startswith(("NVML: ", "nvidia-ml-py is not installed"))
        assert (usage.gpu_seconds, usage.peak_memory_mb, usage.utilization) == (0, None, None)
        assert usage.budget_seconds == usage.wall_s
    else:  # a GPU runner: what nvidia-smi lists
        assert (found.model, found.driver, found.count) == nvidia_smi()
        assert (found.why_none, found.source) == ("", gpu.NVML)
        assert usage.gpu_seconds == pytest.approx(usage.wall_s * found.count, abs=0.01)


def test_without_nvml_bindings_nothing_samples_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` fails, as uninstalled
    found = gpu.probe()
    if shutil.which("nvidia-smi") is None:  # no driver tools either: no GPU, and why
        assert found == gpu.Gpus(
            why_none="nvidia-ml-py is not installed (pip install 'mlgitops[gpu]')"
        )
    else:  # nvidia-smi still names the GPUs
        assert (found.model, found.driver, found.count) == nvidia_smi()
        assert found.source == gpu.NVIDIA_SMI
    # GPUs named by nvidia-smi are billed, but no thread tries NVML to sample them.
    named = gpu.Gpus(1, "NVIDIA H200", "580.159.04", source=gpu.NVIDIA_SMI)
    with thread_errors() as errors, gpu.metered(named) as usage:
        pass
    assert errors == []
    assert (usage.peak_memory_mb, usage.utilization) == (None, None)
    assert usage.gpu_seconds == pytest.approx(usage.wall_s, abs=0.01)
