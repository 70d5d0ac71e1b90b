"""A small model saved in MLflow's format, for the tests of the serving layer."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A logistic regression on two float columns (``radius``, ``texture``), with its
    signature: what ``mlgitops serve --model-uri <folder>`` serves."""
    import numpy as np
    import pandas as pd

    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore")
        import mlflow.sklearn
        from mlflow.models import infer_signature
        from sklearn.linear_model import LogisticRegression

        features = pd.DataFrame({"radius": [1.0, 2.0, 3.0, 4.0], "texture": [1.0, 0.0, 1.0, 0.0]})
        model = LogisticRegression().fit(features, np.array([0, 0, 1, 1]))
        folder = tmp_path_factory.mktemp("model") / "model"
        signature = infer_signature(features, model.predict(features))
        mlflow.sklearn.save_model(
            model,
            str(folder),
            signature=signature,
            serialization_format="pickle",
            pip_requirements=["scikit-learn"],  # MLflow's inference loads the model in a process
        )
    return folder
