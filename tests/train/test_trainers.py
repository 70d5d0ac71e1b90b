"""The custom ``command:`` trainer (a real script) and categorical columns."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgitops import results
from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, commit, runs_of, unique

pytestmark = pytest.mark.slow
TRAINER = Path(__file__).with_name("trainers") / "fare_trainer.py"


def _rides(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["lyon", "paris", "nice"], size=rows)
    zone = rng.integers(1, 4, size=rows)  # numbers, but declared a category
    distance = rng.uniform(1, 20, size=rows).round(2)
    base = pd.Series(city).map({"lyon": 3.0, "paris": 6.0, "nice": 4.0}).to_numpy()
    fare = base + 2.0 * distance + zone + rng.normal(0, 0.5, size=rows)
    return pd.DataFrame({"distance": distance, "city": city, "zone": zone, "fare": fare.round(2)})


def _repo(
    root: Path, name: str, model: str, task: str = "regression", target: str = "fare"
) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "pipelines").mkdir()
    frame = _rides(600)
    if task == "classification":
        frame["expensive"] = (frame["fare"] > frame["fare"].median()).astype(int)
        frame = frame.drop(columns="fare")
    frame.to_csv(root / "data" / "rides.csv", index=False)
    metrics = "[rmse, r2]" if task == "regression" else "[roc_auc, accuracy]"
    (root / "pipelines" / f"{name}.yaml").write_text(
        f"name: {name}\n"
        "data:\n"
        "  path: data/rides.csv\n"
        "  columns:\n"
        "    distance: {dtype: float64}\n"
        "    city: {dtype: str}\n"
        "    zone: {dtype: category}\n"
        f"    {target}: {{dtype: {'float64' if task == 'regression' else 'int64'}}}\n"
        f"  target: {target}\n"
        "  split: {test_size: 0.25, seed: 7}\n"
        f"model:\n{model}"
        f"task: {task}\n"
        f"metrics: {metrics}\n"
    )
    commit(root, "rides", init=True)
    return root


@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's import warns about its type hints
def test_a_custom_trainer_script_under_the_contract(
    tmp_path: Path, mlflow_server: MlflowServer, capfd: pytest.CaptureFixture[str]
) -> None:
    import mlflow

    name = unique("fares")
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    shutil.copy(TRAINER, root / "src" / "train.py")
    _repo(root, name, "  command: python src/train.py\n")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    rows = _training_rows(root)
    assert f"trained on {rows} rows\n" in capfd.readouterr().out  # the trainer's own output
    result = results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())
    assert sorted(result.metrics) == ["r2", "rmse", "train_rows"]
    assert result.metrics["r2"] > 0.9
    assert result.metrics["train_rows"] == rows
    assert result.classes is None
    predictions = pd.read_parquet(root / ".mlgitops" / name / "predictions.parquet")
    assert list(predictions.columns) == ["__row__", "y_true", "y_pred"]
    [run] = runs_of(mlflow_server.uri, name)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert (params["trainer"], params["command"], params["alpha"]) == (
        "command",
        "python src/train.py",
        "0.5",
    )
    assert params["categorical"] == "city,zone"
    mlflow.set_tracking_uri(mlflow_server.uri)
    model = mlflow.pyfunc.load_model(result.model_uri)
    holdout = pd.read_parquet(root / ".mlgitops" / name / "holdout.parquet")
    served = model.predict(holdout[["distance", "city", "zone"]])
    assert np.allclose(served, predictions["y_pred"])
    # the trainer script is training code: changing it retrains
    script = root / "src" / "train.py"
    script.write_text(script.read_text().replace("alpha=0.5", "alpha=0.6"))
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    changed = results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())
    assert not changed.cached
    assert changed.hashes.code != result.hashes.code


@pytest.mark.parametrize(
    ("estimator", "encoding"),
    [
        ("sklearn.ensemble.HistGradientBoostingClassifier", "ordinal-native"),
        ("sklearn.linear_model.LogisticRegression", "one-hot"),
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's import warns about its type hints
def test_categorical_columns_are_encoded_inside_the_model(
    tmp_path: Path, mlflow_server: MlflowServer, estimator: str, encoding: str
) -> None:
    import mlflow

    name = unique("cats")
    root = _repo(
        tmp_path / "repo", name, f"  estimator: {estimator}\n", "classification", "expensive"
    )
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    result = results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())
    assert result.metrics["roc_auc"] > 0.8
    [run] = runs_of(mlflow_server.uri, name)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert (params["categorical"], params["categorical_encoding"]) == ("city,zone", encoding)
    mlflow.set_tracking_uri(mlflow_server.uri)
    model = mlflow.pyfunc.load_model(result.model_uri)
    inputs = {c.name: c.type.name for c in model.metadata.signature.inputs.inputs}
    assert inputs == {"distance": "double", "city": "string", "zone": "string"}
    unseen = pd.DataFrame({"distance": [3.0, 15.0], "city": ["oslo", "paris"], "zone": ["9", "2"]})
    assert model.predict(unseen).tolist() in ([0, 1], [0, 0], [1, 1], [1, 0])


def _training_rows(root: Path) -> int:
    """Rows on the training side of the split, recomputed from the file read as the schema says."""
    from mlgitops.training.holdout import holdout_mask

    data = pd.read_csv(root / "data" / "rides.csv", dtype={"zone": str})  # declared a category
    return int((~holdout_mask(data, tuple(data.columns), 7, 0.25)).sum())


#: A package a pull request commits at the top of the repository in place of joblib: it
#: leaves a mark, then hands over to the real joblib (the fit works as before).
PLANTED_JOBLIB = """\
import os, sys
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(here, "planted-ran"), "a") as mark:
    mark.write(f"{os.getpid()} {sys.argv[:3]}\\n")
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
del sys.modules["joblib"]
import joblib as _real
sys.modules["joblib"] = _real
"""


def test_no_process_the_fit_starts_imports_a_module_the_checkout_holds(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    """An estimator with ``n_jobs`` fits in worker processes joblib starts (``python -m
    joblib.externals.loky...``): each put its working folder, the checkout, first on its
    module path, and ran a ``joblib/`` package a pull request committed at the top (a
    file that is no pipeline input: "inputs unchanged") with the train job's MLflow
    credentials, in every later pull request's train job. The train command runs as the
    Action runs it: the console script, in the checkout."""
    name = unique("planted")
    model = (
        "  estimator: sklearn.ensemble.BaggingClassifier\n"
        "  params: {n_estimators: 4, n_jobs: 2, random_state: 0}\n"
    )
    root = _repo(tmp_path / "repo", name, model, task="classification", target="expensive")
    (root / "joblib").mkdir()
    (root / "joblib" / "__init__.py").write_text(PLANTED_JOBLIB)
    commit(root, "Notes")
    script = Path(sys.executable).with_name("mlgitops")
    done = subprocess.run(
        [str(script), "train", name, "--tracking-uri", mlflow_server.uri],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(runs_of(mlflow_server.uri, name)) == 1
    planted = root / "planted-ran"
    assert not planted.exists(), planted.read_text()
