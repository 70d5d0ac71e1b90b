"""A custom trainer that breaks its contract one way, named by its argument (see
tests/train/test_trainer_outputs.py). Light on purpose: pandas only, an MLmodel written by
hand (mlgitops checks its signature and logs the folder as it is)."""

import json
import os
import sys
from pathlib import Path

import pandas as pd

mode = sys.argv[1]
train = pd.read_parquet(os.environ["MLGITOPS_TRAIN"])
holdout = pd.read_parquet(os.environ["MLGITOPS_HOLDOUT"])
target = os.environ["MLGITOPS_TARGET"]
features = json.loads(os.environ["MLGITOPS_FEATURES"])
out = Path(os.environ["MLGITOPS_OUTPUT"])

(out / "model").mkdir()
kinds = {"distance": "double"}  # the others are text
inputs = json.dumps([{"name": f, "type": kinds.get(f, "string")} for f in features])
signature = {"inputs": 5} if mode == "signature_not_text" else {"inputs": inputs}
mlmodel = "- 1\n- 2\n" if mode == "mlmodel_list" else json.dumps({"signature": signature})
(out / "model" / "MLmodel").write_text(mlmodel)

rows = {"__row__": holdout["__row__"]}
if os.environ["MLGITOPS_TASK"] == "regression":
    rows["y_pred"] = ["abc"] * len(holdout) if mode == "text_predictions" else train[target].mean()
else:
    high = (holdout["distance"] > train["distance"].median()).astype(float)
    rows["y_pred"] = high.astype(int).astype(str) if mode == "text_labels" else high.astype(int)
    rows["proba_1"] = 0.1 + 0.8 * high
    if mode != "positive_only":
        rows["proba_0"] = 1 - rows["proba_1"]
    if mode == "negative_proba":
        rows["proba_0"] = -0.25 + 0 * rows["proba_1"]
    if mode == "zero_proba":
        rows["proba_0"] = rows["proba_1"] = 0.0
    if mode == "proba_unknown":
        rows["proba_2"] = 0.0
    if mode == "no_proba":
        del rows["proba_1"], rows["proba_0"]
predictions = pd.DataFrame(rows)
if mode == "duplicate_row":
    predictions["__row__"] = predictions["__row__"].replace(
        predictions["__row__"].iloc[1], predictions["__row__"].iloc[0]
    )
predictions.to_parquet(out / "predictions.parquet")

files = {
    "metrics_text": ("metrics.json", '{"x": "abc"}'),
    "metrics_nan": ("metrics.json", '{"x": NaN}'),
    "metrics_own": ("metrics.json", '{"mlgitops.fit_seconds": 5}'),
    "metrics_spec": ("metrics.json", '{"accuracy": 1.0}'),
    "metrics_bad_name": ("metrics.json", '{"a/b c!": 1}'),
    "params_own": ("params.json", '{"trainer": "mine"}'),
    "params_nested": ("params.json", '{"y": [1, 2]}'),
}
if mode in files:
    name, text = files[mode]
    (out / name).write_text(text)
