"""Training: trainers as plug-ins, the content key, MLflow tracking.

A trainer is anything with the :class:`~mlgitops.training.base.Trainer`
shape, registered by name in :data:`TRAINERS`. A spec with ``model.command``
uses the ``command`` trainer, otherwise the ``sklearn`` trainer.

Nothing here imports pandas, scikit-learn or MLflow at module level, and the
trainers load when first asked for: ``validate`` reads the content key's
module alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgitops.training.base import Fitted, Trainer, TrainJob
    from mlgitops.training.registry import TRAINERS, trainer_for

_FROM = {
    "Fitted": "base",
    "Trainer": "base",
    "TrainJob": "base",
    "TRAINERS": "registry",
    "trainer_for": "registry",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_FROM[name]}"), name)


__all__ = ["TRAINERS", "Fitted", "TrainJob", "Trainer", "trainer_for"]
