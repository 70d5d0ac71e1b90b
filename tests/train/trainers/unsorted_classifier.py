"""A custom classifier that writes its probability columns in its own order (1 before 0)."""

import json
import os
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

train = pd.read_parquet(os.environ["MLGITOPS_TRAIN"])
holdout = pd.read_parquet(os.environ["MLGITOPS_HOLDOUT"])
target = os.environ["MLGITOPS_TARGET"]
features = json.loads(os.environ["MLGITOPS_FEATURES"])
out = Path(os.environ["MLGITOPS_OUTPUT"])

model = LogisticRegression(max_iter=500).fit(train[features], train[target])
proba = model.predict_proba(holdout[features])
mlflow.sklearn.save_model(
    model,
    out / "model",
    signature=infer_signature(holdout[features], model.predict(holdout[features])),
    pip_requirements=["scikit-learn"],  # MLflow's inference would load the model in a process
)
pd.DataFrame(
    {
        "__row__": holdout["__row__"],
        "y_pred": model.predict(holdout[features]),
        "proba_1": proba[:, list(model.classes_).index(1)],
        "proba_0": proba[:, list(model.classes_).index(0)],
    }
).to_parquet(out / "predictions.parquet")
