"""The trainer plug-in interface and the records that cross it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlgitops import console
from mlgitops.errors import Problem
from mlgitops.spec.model import Pipeline
from mlgitops.training.mlmodel import ModelIdentity

if TYPE_CHECKING:
    import pandas as pd

    from mlgitops.training.data import Split


@dataclass(frozen=True)
class TrainJob:
    """What a trainer gets: the pipeline, the repository, the split, a scratch folder."""

    pipeline: Pipeline
    root: Path
    split: Split
    workdir: Path
    spec_text: str = ""
    #: ``cuda`` when the spec asks for the GPU and the runner has one, else ``cpu``.
    device: str = "cpu"


@dataclass(frozen=True)
class Fitted:
    """What a trainer returns.

    ``predictions`` has ``__row__``, ``y_pred`` and, for classifiers, one
    ``proba_<class>`` column per class in ``classes`` order. ``save_model``
    writes the MLflow model folder once MLflow has given the model its id.
    """

    predictions: pd.DataFrame
    save_model: Callable[[Path, ModelIdentity], None]
    classes: list[Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


class Trainer(Protocol):
    """A way to fit a model for a pipeline (built-in estimator, custom command, ...)."""

    name: str

    def check(self, pipeline: Pipeline, spec_text: str) -> list[Problem]:
        """Problems with the spec that this trainer finds before any data is read."""
        ...

    def fit(self, job: TrainJob) -> Fitted:
        """Fit on ``job.split.train`` and predict ``job.split.holdout``."""
        ...


@contextmanager
def progress(title: str) -> Iterator[None]:
    """A folded group in Actions; a ticking elapsed-time line on a terminal."""
    done = threading.Event()
    start = time.perf_counter()

    def tick() -> None:
        while not done.wait(1.0):
            console.status(f"… {title} ({time.perf_counter() - start:.0f}s)")

    ticker = threading.Thread(target=tick, daemon=True)
    with console.group(title):
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()
            console.status("")
