"""A custom trainer as a user would write one, following mlgitops's trainer contract.

Reads the split mlgitops made, fits a ridge regression with one-hot encoded
categories, saves an MLflow model and the holdout predictions.
"""

import json
import os
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

train = pd.read_parquet(os.environ["MLGITOPS_TRAIN"])
holdout = pd.read_parquet(os.environ["MLGITOPS_HOLDOUT"])
target = os.environ["MLGITOPS_TARGET"]
features = json.loads(os.environ["MLGITOPS_FEATURES"])
categorical = json.loads(os.environ["MLGITOPS_CATEGORICAL"])
out = Path(os.environ["MLGITOPS_OUTPUT"])
assert os.environ["MLGITOPS_TASK"] == "regression"
assert os.environ["MLGITOPS_SPLIT_SEED"] == "7"

encode = ColumnTransformer(
    [("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)], remainder="passthrough"
)
model = Pipeline([("encode", encode), ("ridge", Ridge(alpha=0.5))])
model.fit(train[features], train[target])
predicted = model.predict(holdout[features])
mlflow.sklearn.save_model(
    model,
    out / "model",
    signature=infer_signature(holdout[features], predicted),
    input_example=holdout[features].head(3),
)
pd.DataFrame({"__row__": holdout["__row__"], "y_pred": predicted}).to_parquet(
    out / "predictions.parquet"
)
(out / "params.json").write_text(json.dumps({"alpha": 0.5}))
(out / "metrics.json").write_text(json.dumps({"train_rows": len(train)}))
print(f"trained on {len(train)} rows")
