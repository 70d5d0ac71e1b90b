"""The runner's GPUs: what there is (NVML), what a fit used, and the device it asks for.

NVML comes from the optional ``nvidia-ml-py`` package (the ``gpu`` extra);
without it, or without a driver, or with no device, the run records that it
had no GPU: never a guess. While a fit runs, a sampling thread reads every
device's utilisation and memory in use; :class:`Usage` keeps the peak memory
and the mean utilisation. GPU-seconds are the fit's wall time times the
number of GPUs the runner holds (what a pool bills).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SAMPLE_SECONDS = 0.2

#: Estimator parameter that selects the device -> (value for the GPU, value for the CPU).
DEVICE_PARAMS = {
    "device": ("cuda", "cpu"),  # XGBoost
    "device_type": ("gpu", "cpu"),  # LightGBM
    "task_type": ("GPU", "CPU"),  # CatBoost
}


@dataclass(frozen=True)
class Gpus:
    """The GPUs a runner has: ``count`` 0 means none (or no way to see them)."""

    count: int = 0
    model: str | None = None
    driver: str | None = None
    why_none: str = ""


@dataclass
class Usage:
    """What one fit used; ``peak_memory_mb``/``utilization`` stay None without samples."""

    gpus: Gpus
    wall_s: float = 0.0
    peak_memory_mb: float | None = None
    utilization: float | None = None
    _samples: list[float] = field(default_factory=list)

    @property
    def gpu_seconds(self) -> float:
        return round(self.wall_s * self.gpus.count, 3)

    @property
    def budget_seconds(self) -> float:
        """What the GPU budget counts: GPU-seconds, or runner seconds without a GPU."""
        return round(self.wall_s * max(1, self.gpus.count), 3)


def _nvml() -> Any:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


def probe() -> Gpus:
    """The runner's GPUs through NVML; none (with the reason) when it cannot tell."""
    nvml = _nvml()
    if nvml is None:
        return Gpus(why_none="nvidia-ml-py is not installed (pip install 'mlgitops[gpu]')")
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        return Gpus(why_none=f"NVML: {exc}")
    try:
        count = int(nvml.nvmlDeviceGetCount())
        if count == 0:
            return Gpus(why_none="NVML sees no GPU")
        model = _text(nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(0)))
        return Gpus(count, model, _text(nvml.nvmlSystemGetDriverVersion()))
    except nvml.NVMLError as exc:
        return Gpus(why_none=f"NVML: {exc}")
    finally:
        nvml.nvmlShutdown()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def metered(gpus: Gpus) -> Iterator[Usage]:
    """Time the block; with GPUs, sample their memory and utilisation meanwhile."""
    usage = Usage(gpus)
    stop = threading.Event()
    sampler = None
    if gpus.count:
        sampler = threading.Thread(target=_sample, args=(usage, stop), daemon=True)
        sampler.start()
    start = time.perf_counter()
    try:
        yield usage
    finally:
        usage.wall_s = round(time.perf_counter() - start, 3)
        stop.set()
        if sampler is not None:
            sampler.join()
        if usage._samples:
            usage.utilization = round(sum(usage._samples) / len(usage._samples), 1)


def _sample(usage: Usage, stop: threading.Event) -> None:
    nvml = _nvml()
    try:
        nvml.nvmlInit()
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(usage.gpus.count)]
        while True:
            used = sum(nvml.nvmlDeviceGetMemoryInfo(h).used for h in handles) / 2**20
            busy = [nvml.nvmlDeviceGetUtilizationRates(h).gpu for h in handles]
            usage.peak_memory_mb = round(max(usage.peak_memory_mb or 0.0, used), 1)
            usage._samples.append(sum(busy) / len(busy))
            if stop.wait(SAMPLE_SECONDS):
                break
        nvml.nvmlShutdown()
    except nvml.NVMLError:
        return  # a device that stops answering leaves the samples taken so far


def device_params(params: dict[str, Any], accepted: dict[str, Any], gpu: bool) -> dict[str, Any]:
    """The device setting to add to an estimator's ``params`` (never one the spec set)."""
    if not gpu:
        return {}
    for name, (on_gpu, on_cpu) in DEVICE_PARAMS.items():
        if name in accepted and name not in params:
            return {name: on_gpu if gpu else on_cpu}
    return {}
