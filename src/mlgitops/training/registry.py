"""The trainers, registered by name: ``sklearn`` (``model.estimator``) and ``command``
(``model.command``); a plug-in adds its own to :data:`TRAINERS`."""

from __future__ import annotations

from mlgitops.spec.model import Pipeline
from mlgitops.training.base import Trainer
from mlgitops.training.command_trainer import CommandTrainer
from mlgitops.training.sklearn_trainer import SklearnTrainer

TRAINERS: dict[str, Trainer] = {
    "sklearn": SklearnTrainer(),
    "command": CommandTrainer(),
}


def trainer_for(pipeline: Pipeline) -> Trainer:
    """The registered trainer that this pipeline's ``model`` section asks for."""
    return TRAINERS["command" if pipeline.model.command else "sklearn"]
