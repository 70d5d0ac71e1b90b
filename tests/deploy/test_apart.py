"""The process that runs a model for deploy, on its own: what a model may do there."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgitops.evaluation.apart import Apart, Outputs
from tests.deploy.test_trust import _Payload, saved


def test_a_model_that_prints_more_than_a_pipe_holds_is_still_run(tmp_path: Path) -> None:
    """What a model prints (and MLflow's warnings) goes to a file: a full pipe that nobody
    reads would stop the child, and deploy would wait for it until the job times out."""
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    folder = saved(model, tmp_path / "model")
    code = (
        "(print('x' * 300_000), __import__('sys').stderr.write('y' * 300_000), "
        f"__import__('pickle').loads({pickle.dumps(model)!r}))[2]"
    )
    (folder / "model.pkl").write_bytes(pickle.dumps(_Payload(code)))
    got: dict[str, Any] = {}
    with Apart() as apart:

        def run() -> None:
            got["outputs"] = apart.run(folder, features, tmp_path / "out")

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=120)
        stuck = worker.is_alive()
    assert not stuck, "the model's process stopped, its output unread"
    outputs: Outputs = got["outputs"]
    assert outputs.values.tolist() == model.predict(features).tolist()
    assert np.allclose(outputs.proba, model.predict_proba(features))
    assert outputs.classes == [0, 1]
