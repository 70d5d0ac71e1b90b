"""Training: trainers as plug-ins, the content key, MLflow tracking.

A trainer is anything with the :class:`~mlgitops.training.base.Trainer`
shape, registered by name in :data:`TRAINERS`. A spec with ``model.command``
uses the ``command`` trainer, otherwise the ``sklearn`` trainer.

Nothing here imports pandas, scikit-learn or MLflow at module level.
"""

from __future__ import annotations

from mlgitops.spec.model import Pipeline
from mlgitops.training.base import Fitted, Trainer, TrainJob
from mlgitops.training.command_trainer import CommandTrainer
from mlgitops.training.sklearn_trainer import SklearnTrainer

TRAINERS: dict[str, Trainer] = {
    "sklearn": SklearnTrainer(),
    "command": CommandTrainer(),
}


def trainer_for(pipeline: Pipeline) -> Trainer:
    """The registered trainer that this pipeline's ``model`` section asks for."""
    return TRAINERS["command" if pipeline.model.command else "sklearn"]


__all__ = ["TRAINERS", "Fitted", "TrainJob", "Trainer", "trainer_for"]
