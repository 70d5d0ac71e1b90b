"""A custom classifier whose regularisation comes from a module beside it, ``knobs``
(``knobs.C``): a ``.py``, or a sourceless ``.pyc`` that ``import`` loads as well."""

import json
import os
from pathlib import Path

import knobs
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

train = pd.read_parquet(os.environ["MLGITOPS_TRAIN"])
holdout = pd.read_parquet(os.environ["MLGITOPS_HOLDOUT"])
target = os.environ["MLGITOPS_TARGET"]
features = json.loads(os.environ["MLGITOPS_FEATURES"])
out = Path(os.environ["MLGITOPS_OUTPUT"])

model = LogisticRegression(C=knobs.C, max_iter=5000).fit(train[features], train[target])
predicted = model.predict(holdout[features])
mlflow.sklearn.save_model(
    model,
    out / "model",
    signature=infer_signature(holdout[features], predicted),
    pip_requirements=["scikit-learn"],  # MLflow's inference would load the model in a process
)
proba = model.predict_proba(holdout[features])
columns = {f"proba_{c}": proba[:, i] for i, c in enumerate(model.classes_)}
frame = pd.DataFrame({"__row__": holdout["__row__"], "y_pred": predicted, **columns})
frame.to_parquet(out / "predictions.parquet")
