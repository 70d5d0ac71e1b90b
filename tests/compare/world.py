"""A repository with a pull-request branch, its bare remote, models in a real MLflow, and
the candidate's hand-off files, as ``mlgitops train`` and ``deploy`` leave them."""

from __future__ import annotations

import json
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgitops import results
from mlgitops.cli import main
from mlgitops.spec import load_repo
from mlgitops.training.content import hashes
from mlgitops.training.tracking import open_tracking
from tests.fixtures.mlflow_server import MlflowServer

SPEC = """\
name: {name}
data:
  path: data/{name}.csv
  target: {target}
  columns:
    {target}: {{dtype: float64}}
model:
  estimator: sklearn.linear_model.LogisticRegression
task: {task}
metrics: {metrics}
{gates}compare:
  resamples: {resamples}
  seed: 7
{compare}{slices}deploy:
  environments:
    - name: staging
      namespace: ml-staging
    - name: production
      namespace: ml
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@dataclass
class Model:
    estimator: Any
    run_id: str
    model_uri: str
    version: str | None = None


LOCAL_RUN = "c0ffee"


@dataclass
class World:
    root: Path
    name: str
    server: MlflowServer | None
    target: str
    capsys: pytest.CaptureFixture[str]
    logged: list[Model] = field(default_factory=list)

    @property
    def output(self) -> Path:
        return self.root / ".mlgitops" / self.name

    def log(self, estimator: Any, register: bool) -> Model:
        """Log a fitted estimator to MLflow (and register it as a new version)."""
        import mlflow

        assert self.server is not None
        mlflow.set_tracking_uri(self.server.uri)
        mlflow.set_registry_uri(self.server.uri)
        mlflow.set_experiment(self.name)
        with mlflow.start_run() as run, warnings.catch_warnings():
            # MLflow's advisory notices about signature inference are not under test here.
            warnings.simplefilter("ignore")
            info = mlflow.sklearn.log_model(
                estimator,
                name="model",
                registered_model_name=self.name if register else None,
                pip_requirements=["scikit-learn"],  # skips the slow requirement inference
            )
        if register:
            version = str(info.registered_model_version)
            return Model(estimator, run.info.run_id, f"models:/{self.name}/{version}", version)
        return Model(estimator, run.info.run_id, info.model_uri)

    def log_pyfunc(self, python_model: Any, example: pd.DataFrame) -> Model:
        """Log a pyfunc-only model with its input signature and register it as a new version."""
        import mlflow
        from mlflow.models import infer_signature

        assert self.server is not None
        mlflow.set_tracking_uri(self.server.uri)
        mlflow.set_registry_uri(self.server.uri)
        mlflow.set_experiment(self.name)
        with mlflow.start_run() as run, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's advisory notices are not under test here
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=python_model,
                signature=infer_signature(example),
                registered_model_name=self.name,
                pip_requirements=["scikit-learn"],
            )
        version = str(info.registered_model_version)
        return Model(python_model, run.info.run_id, f"models:/{self.name}/{version}", version)

    @staticmethod
    def local(estimator: Any, run_id: str = LOCAL_RUN) -> Model:
        """A candidate that compare never loads (it reads its predictions), kept out of MLflow."""
        return Model(estimator, run_id, f"runs:/{run_id}/model")

    def tracking_uri(self) -> str:
        return (
            self.server.uri if self.server else f"sqlite:///{self.root / '.mlgitops' / 'mlflow.db'}"
        )

    def run_tags(self, run_id: str) -> dict[str, str]:
        import mlflow

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's own deprecations are not under test
            client = mlflow.MlflowClient(self.tracking_uri())
            return dict(client.get_run(run_id).data.tags)

    def candidate_run(self) -> str:
        """The run that train would have made for the candidate (compare tags it with its verdict)."""
        tracking = open_tracking(self.tracking_uri(), self.root)
        experiment = tracking.experiment(self.name, create=True)
        assert experiment is not None
        run = tracking.create_run(experiment, "candidate", {})
        tracking.end_run(run.run_id, "FINISHED")
        return run.run_id

    def _digest(self, model: Model) -> str:
        """The digest deploy records of a registered version's files ("" for another)."""
        if self.server is None or not model.version:
            return ""
        import mlflow

        from mlgitops.digest import REGISTERED_MODEL_META, folder_digest

        with tempfile.TemporaryDirectory() as tmp:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=model.model_uri, dst_path=tmp, tracking_uri=self.server.uri
                )
            )
            (local / REGISTERED_MODEL_META).unlink(missing_ok=True)
            return folder_digest(local)

    def _rows_digest(self, model: Model) -> str:
        """The training rows' digest deploy records of the model's run ("" where it logged
        none)."""
        if self.server is None or not model.run_id:
            return ""
        import mlflow
        from mlflow.exceptions import MlflowException

        from mlgitops.digest import training_rows_digest

        with tempfile.TemporaryDirectory() as tmp:
            try:
                logged = Path(
                    mlflow.artifacts.download_artifacts(
                        run_id=model.run_id,
                        artifact_path="mlgitops",
                        dst_path=tmp,
                        tracking_uri=self.server.uri,
                    )
                )
            except MlflowException:
                return ""
            if not (logged / "training_rows.parquet").is_file():
                return ""
            doc = json.loads((logged / "train.json").read_text())
            rows = (logged / "training_rows.parquet").read_bytes()
            return training_rows_digest(rows, doc.get("fingerprint_columns"), doc.get("target"))

    def deploy(self, model: Model, claimed: dict[str, float] | None = None) -> None:
        """Commit the first environment's model.json on main (the base branch) and push."""
        record = results.ProvenanceRecord(
            pipeline=self.name,
            environment="staging",
            model_name=self.name,
            version=model.version or "1",
            model_uri=model.model_uri,
            run_id=model.run_id,
            content_key="sha256:base",
            metrics=claimed or {},
            data_hash="sha256:old-data",
            spec_hash="sha256:spec",
            commit="0" * 40,
            model_digest=self._digest(model),
            training_rows_digest=self._rows_digest(model),
        )
        git(self.root, "checkout", "-q", "main")
        path = self.root / "manifests" / self.name / "overlays" / "staging" / "model.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(results.dumps(record))
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", "Deploy")
        git(self.root, "push", "-q", "origin", "main")
        git(self.root, "checkout", "-q", "pr")

    def candidate(self, model: Model, holdout: pd.DataFrame, classes: list[Any] | None) -> None:
        """Write train.json, holdout.parquet and predictions.parquet for a candidate."""
        self.output.mkdir(parents=True, exist_ok=True)
        features = holdout.drop(columns=[self.target, "__row__"])
        predictions = pd.DataFrame(
            {
                "__row__": holdout["__row__"],
                "y_true": holdout[self.target],
                "y_pred": model.estimator.predict(features),
            }
        )
        if classes is not None:
            proba = model.estimator.predict_proba(features)
            for i, cls in enumerate(model.estimator.classes_):
                predictions[f"proba_{cls}"] = proba[:, i]
        holdout.to_parquet(self.output / "holdout.parquet", index=False)
        predictions.to_parquet(self.output / "predictions.parquet", index=False)
        run_id = self.candidate_run() if model.run_id == LOCAL_RUN else model.run_id
        # trained on this checkout's inputs, as compare checks
        parts = hashes(self.root, load_repo(self.root).pipeline(self.name))
        train = results.TrainResult(
            pipeline=self.name,
            run_id=run_id,
            experiment_id="1",
            tracking_uri=self.server.uri if self.server else "sqlite:///mlflow.db",
            content_key="sha256:candidate",
            model_uri=model.model_uri,
            task="classification" if classes is not None else "regression",
            target=self.target,
            metrics={},
            hashes=parts,
            classes=classes,
        )
        (self.output / "train.json").write_text(results.dumps(train))

    def compare(self, *extra: str, base: str | None = "origin/main") -> tuple[int, str, str]:
        self.capsys.readouterr()
        args = ["-C", str(self.root), "compare", self.name, *extra]
        if base is not None:
            args += ["--base", base]
        if self.server is not None:
            args += ["--tracking-uri", self.server.uri]
        code = main(args)
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def verdict(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.output / "verdict.json").read_text())
        return loaded


def labels_only(model: Any) -> Any:
    """A pyfunc-only wrapper of ``model``: it predicts labels, never probabilities."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's import-time notices are not under test
        import mlflow.pyfunc

        class LabelsOnly(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
            # Type hints, as MLflow asks of a PythonModel's predict.
            def predict(
                self,
                context: Any,
                model_input: pd.DataFrame,
                params: dict[str, Any] | None = None,
            ) -> Any:
                return model.predict(model_input)

    return LabelsOnly()


def make_world(
    tmp_path: Path,
    server: MlflowServer | None,
    capsys: pytest.CaptureFixture[str],
    name: str,
    *,
    target: str = "y",
    task: str = "classification",
    metrics: str = "[roc_auc, accuracy, f1, log_loss]",
    gates: str = "",
    slices: str = "",
    resamples: int = 400,
    compare: str = "  require_training_rows: false\n",
) -> World:
    """A clone of a bare remote with the spec on main, checked out on branch ``pr``.

    ``compare``: more ``compare:`` settings; by default baselines that record no training
    rows (models logged here by hand) are compared on every holdout row.
    """
    remote, root = tmp_path / "remote.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(root)], check=True, capture_output=True)
    git(root, "checkout", "-q", "-b", "main")
    (root / "pipelines").mkdir()
    (root / "data").mkdir()
    (root / "data" / f"{name}.csv").write_text(f"{target}\n0\n")
    spec = SPEC.format(
        name=name,
        target=target,
        task=task,
        metrics=metrics,
        gates=f"gates:\n{gates}" if gates else "",
        slices=f"  slices:\n{slices}" if slices else "",
        resamples=resamples,
        compare=compare,
    )
    (root / "pipelines" / f"{name}.yaml").write_text(spec)
    (root / ".gitignore").write_text(".mlgitops/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Adopt mlgitops")
    git(root, "push", "-q", "origin", "main")
    git(root, "checkout", "-q", "-b", "pr")
    return World(root, name, server, target, capsys)


def with_rows(frame: pd.DataFrame, start: int = 2) -> pd.DataFrame:
    """The frame with a 1-based data-file ``__row__`` column (row 1 is the CSV header)."""
    out = frame.reset_index(drop=True).copy()
    out["__row__"] = np.arange(start, start + len(out), dtype=np.int64)
    return out
