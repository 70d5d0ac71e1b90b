"""Which device setting an estimator gets, and what the GPU probe says on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgitops.spec.loader import parse_pipeline
from mlgitops.training import gpu
from mlgitops.training.base import TrainJob
from mlgitops.training.sklearn_trainer import _estimator, _extra_dists, _use_device

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


def test_the_model_requires_the_installed_distribution(tmp_path: Path) -> None:
    estimator = _estimator(_job(SPEC, "cpu", tmp_path).pipeline, SPEC)
    # This machine has the CPU-only wheel, which imports as `xgboost`.
    assert _extra_dists(estimator) == ("xgboost-cpu",)


def test_the_probe_says_what_there_is_or_why_nothing() -> None:
    found = gpu.probe()
    with gpu.metered(found) as usage:
        pass
    if found.count == 0:  # this development machine, and CI
        assert (found.model, found.driver) == (None, None)
        assert found.why_none.startswith(("NVML: ", "nvidia-ml-py is not installed"))
        assert (usage.gpu_seconds, usage.peak_memory_mb, usage.utilization) == (0, None, None)
        assert usage.budget_seconds == usage.wall_s
    else:  # a GPU runner
        assert found.model and found.driver and found.why_none == ""
        assert usage.gpu_seconds == pytest.approx(usage.wall_s * found.count, abs=0.01)
