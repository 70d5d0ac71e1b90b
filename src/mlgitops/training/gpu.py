"""The runner's GPUs: what there is, what a fit used, and the device it asks for.

NVML comes from the optional ``nvidia-ml-py`` package (the ``gpu`` extra).
Without it, ``nvidia-smi`` still names the GPUs; with neither, without a
driver, or with no device, the run records that it had no GPU: never a guess.
While a fit runs, a sampling thread reads every device's utilisation and
memory in use through NVML; :class:`Usage` keeps the peak memory and the mean
utilisation (none without NVML). GPU-seconds are the fit's wall time times
the number of GPUs the runner holds (what a pool bills).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mlgitops import proc
from mlgitops.errors import ServiceError

SAMPLE_SECONDS = 0.2
NVML = "NVML"
NVIDIA_SMI = "nvidia-smi"


@dataclass(frozen=True)
class DeviceParam:
    """An estimator parameter that selects the device."""

    name: str
    gpu: str
    cpu: str
    #: Whether the fitted model also predicts on the device the parameter names.
    predicts_there: bool


#: The device settings of the estimators that have one, in the order they are looked for.
DEVICE_PARAMS = (
    DeviceParam("device", "cuda", "cpu", predicts_there=True),  # XGBoost
    DeviceParam("device_type", "gpu", "cpu", predicts_there=False),  # LightGBM
    DeviceParam("task_type", "GPU", "CPU", predicts_there=False),  # CatBoost
)


@dataclass(frozen=True)
class Gpus:
    """The GPUs a runner has: ``count`` 0 means none (or no way to see them)."""

    count: int = 0
    model: str | None = None
    driver: str | None = None
    why_none: str = ""
    #: What told: ``NVML`` (usage is sampled) or ``nvidia-smi`` (names only).
    source: str = ""


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
    """The runner's GPUs through NVML, else ``nvidia-smi``; none (with the reason) when
    neither can tell."""
    found = _probe_nvml()
    if found.count:
        return found
    named = _probe_nvidia_smi()
    if named.count:
        return named
    return Gpus(why_none="; ".join(why for why in (found.why_none, named.why_none) if why))


def _probe_nvml() -> Gpus:
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
        return Gpus(count, model, _text(nvml.nvmlSystemGetDriverVersion()), source=NVML)
    except nvml.NVMLError as exc:
        return Gpus(why_none=f"NVML: {exc}")
    finally:
        nvml.nvmlShutdown()


def _probe_nvidia_smi() -> Gpus:
    if shutil.which(NVIDIA_SMI) is None:
        return Gpus()  # no driver tools: nothing more to say than NVML's reason
    query = [NVIDIA_SMI, "--query-gpu=name,driver_version", "--format=csv,noheader"]
    try:
        out = proc.run(query, check=False, timeout=10)
    except ServiceError as exc:
        return Gpus(why_none=f"nvidia-smi: {exc}")
    if out.returncode != 0:
        first = (out.stdout.strip() or out.stderr.strip()).splitlines()[:1]
        return Gpus(why_none=f"nvidia-smi exited {out.returncode}: {''.join(first)}".strip())
    rows = [line.split(",", 1) for line in out.stdout.strip().splitlines() if "," in line]
    if not rows:
        return Gpus(why_none="nvidia-smi lists no GPU")
    name, driver = (part.strip() for part in rows[0])
    return Gpus(len(rows), name, driver, source=NVIDIA_SMI)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def metered(gpus: Gpus) -> Iterator[Usage]:
    """Time the block; with GPUs, sample their memory and utilisation meanwhile."""
    usage = Usage(gpus)
    stop = threading.Event()
    sampler = None
    if gpus.count and gpus.source == NVML:
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
    for setting in DEVICE_PARAMS:
        if setting.name in accepted and setting.name not in params:
            return {setting.name: setting.gpu}
    return {}


def serving_params(chosen: dict[str, Any]) -> dict[str, Any]:
    """What puts a model fitted with ``chosen`` (from :func:`device_params`) back on the
    CPU to predict: the logged model predicts where it is served, and on the holdout as
    served."""
    return {
        setting.name: setting.cpu
        for setting in DEVICE_PARAMS
        if setting.predicts_there and setting.name in chosen
    }
