"""``mlgitops compare`` end to end: a real git remote, a real MLflow server, real models."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from tests.compare.world import World, git, labels_only, make_world, with_rows
from tests.fixtures.mlflow_server import MlflowServer

Capsys = pytest.CaptureFixture[str]


def _data(seed: int = 0, rows: int = 1200) -> tuple[pd.DataFrame, pd.DataFrame]:
    x, y = make_classification(
        n_samples=rows,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        class_sep=1.5,
        random_state=seed,
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    frame["y"] = y
    return frame.iloc[: rows // 2], with_rows(frame.iloc[rows // 2 :])


class _Only(LogisticRegression):
    """A weaker model: logistic regression that sees only some of the features."""


def _fit(train: pd.DataFrame, keep: tuple[str, ...] | None = None) -> LogisticRegression:
    x = train.drop(columns=["y"])
    if keep is not None:
        x = x.assign(**{c: 0.0 for c in x.columns if c not in keep})
    return LogisticRegression().fit(x, train["y"])


def _world(
    tmp_path: Path, server: MlflowServer | None, capsys: Capsys, name: str, **spec: Any
) -> World:
    return make_world(tmp_path, server, capsys, name, **spec)


# -- without a deployed model (no MLflow needed) ---------------------------------------


def test_without_a_deployed_model_only_absolute_gates_apply(
    tmp_path: Path, capsys: Capsys, verdict_schema: dict[str, Any]
) -> None:
    world = _world(
        tmp_path,
        None,
        capsys,
        "fresh",
        gates="  roc_auc: {min: 0.8, max_drop: 0.01}\n  accuracy: {min: 0.95}\n",
    )
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    code, out, err = world.compare()
    assert (code, err) == (
        1,
        "mlgitops: no MLflow tracking URI set ($MLFLOW_TRACKING_URI, mlgitops.yaml "
        f"mlflow.tracking_uri or --tracking-uri): using the local store {world.tracking_uri()}\n",
    )
    run_id = json.loads((world.output / "train.json").read_text())["run_id"]
    assert world.run_tags(run_id)["mlgitops.verdict"] == "failed"
    assert out == (
        f"compare fresh: candidate run {run_id}, 600 holdout rows\n"
        "baseline: none; first deployment: no deployed model yet, absolute gates only "
        "(origin/main:manifests/fresh/overlays/staging/model.json does not exist)\n"
        "paired bootstrap: 400 resamples, 95% confidence, seed 7\n"
        "\n"
        "metric    candidate   baseline      delta  95% CI of delta       significant\n"
        "roc_auc      0.8284          -          -  -                     -\n"
        "accuracy     0.7483          -          -  -                     -\n"
        "f1           0.7356          -          -  -                     -\n"
        "log_loss     0.5048          -          -  -                     -\n"
        "\n"
        "gates:\n"
        "  FAIL  accuracy min 0.95: accuracy 0.7483 is below the floor 0.95\n"
        "  pass  roc_auc min 0.8: roc_auc 0.8284 >= 0.8\n"
        "  n/a   roc_auc max_drop 0.01: not applicable: first deployment\n"
        "\n"
        "verdict: failed: 1 of 2 gates failed (accuracy min), 1 not applicable; "
        "first deployment: no deployed model yet, absolute gates only\n"
        "wrote .mlgitops/fresh/verdict.json\n"
    )
    verdict = world.verdict()
    jsonschema.validate(verdict, verdict_schema)
    assert verdict["baseline"] == {
        "available": False,
        "reason": "first deployment: no deployed model yet, absolute gates only",
        "source": "origin/main:manifests/fresh/overlays/staging/model.json",
        "environment": "staging",
    }
    assert verdict["metrics"][0] == {
        "name": "roc_auc",
        "higher_is_better": True,
        "candidate": pytest.approx(0.8284, abs=5e-5),
        "baseline": None,
        "delta": None,
        "ci": None,
        "significant": None,
        "method": None,
        "paired_candidate": None,
    }
    assert verdict["comparison"] == {
        "status": "not_applicable",
        "reasons": ["first deployment"],
        "notes": [],
    }
    assert verdict["counts"] == {
        "pass": 1,
        "fail": 1,
        "not_evaluable": 0,
        "allowed": 0,
        "not_applicable": 1,
    }


def test_the_verdict_goes_to_github_outputs(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _world(tmp_path, None, capsys, "outputs", gates="  roc_auc: {min: 0.5}\n")
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    github_output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    assert world.compare()[0] == 0
    assert github_output.read_text() == "verdict=pass\n"


def test_the_model_a_pull_request_is_judged_against_is_the_default_branch_s(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into main, or into another branch (``release``, not even in this clone): the verdict
    is the commit's status, which a pull request into main may share, so the model it is
    judged against is the one ``origin/main`` records."""
    world = _world(tmp_path, None, capsys, "prbase")
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    for into in ("release", "main"):
        monkeypatch.setenv("GITHUB_BASE_REF", into)
        code, out, err = world.compare(base=None)
        assert code == 0, out + err
        source = json.loads((world.output / "verdict.json").read_text())["baseline"]["source"]
        assert source.startswith("origin/main:"), source


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_a_branch_that_changes_the_deployed_record_gets_no_verdict(
    tmp_path: Path, capsys: Capsys, environment: str
) -> None:
    """Deploy refuses to ship what such a pull request trained; its review says so first."""
    world = _world(tmp_path, None, capsys, "record")
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    rel = f"manifests/record/overlays/{environment}/model.json"
    (world.root / rel).parent.mkdir(parents=True, exist_ok=True)
    (world.root / rel).write_text("{}\n")
    git(world.root, "add", rel)
    git(world.root, "commit", "-q", "-m", "Pick my own baseline")
    code, out, err = world.compare()
    assert (code, out) == (2, "")
    assert err == (
        f"mlgitops compare: error: the commits since origin/main change {rel}, the record of "
        f"what is deployed to {environment}, which only deploy, promote and rollback write: "
        "do not merge them, promote would copy the changed record and deploy judge against it; revert that change in a pull request of its own\n"
    )
    assert not (world.output / "verdict.json").exists()
    git(world.root, "revert", "--no-edit", "HEAD")
    assert world.compare()[0] == 0  # a verdict again
    assert (world.output / "verdict.json").exists()


def test_predictions_that_do_not_cover_the_holdout_are_bad_input(
    tmp_path: Path, capsys: Capsys
) -> None:
    world = _world(tmp_path, None, capsys, "partial")
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    predictions = pd.read_parquet(world.output / "predictions.parquet")
    predictions.iloc[3:].to_parquet(world.output / "predictions.parquet", index=False)
    code, out, err = world.compare()
    assert (code, out) == (2, "")
    assert err == (
        f"mlgitops compare: error: {world.output / 'predictions.parquet'}: its rows do not "
        "match the holdout's (first differing data rows: 2, 3, 4)\n"
    )


def test_a_holdout_that_holds_a_row_twice_names_the_row(tmp_path: Path, capsys: Capsys) -> None:
    """Rows appended to the hand-off holdout again: the error named no row ("first
    differing data rows: ")."""
    world = _world(tmp_path, None, capsys, "twice")
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    path = world.output / "holdout.parquet"
    frame = pd.read_parquet(path)
    pd.concat([frame, frame.iloc[[4, 7]]]).to_parquet(path, index=False)
    code, out, err = world.compare()
    assert (code, out) == (2, "")
    row = int(frame["__row__"].iloc[4])
    assert err == (
        f"mlgitops compare: error: {path}: data row {row} is in it more than once (the hand-off "
        "holdout was changed since train wrote it: run train again)\n"
    )


def test_a_missing_train_result_says_what_to_run(tmp_path: Path, capsys: Capsys) -> None:
    world = _world(tmp_path, None, capsys, "untrained")
    code, _, err = world.compare()
    assert code == 2
    assert err == (
        f"mlgitops compare: error: {world.output / 'train.json'}: not found; "
        "run `mlgitops train untrained` first\n"
    )


@pytest.mark.parametrize(("spec_task", "written"), [("classification", "regression"),
                                                  ("regression", "classification")])  # fmt: skip
def test_a_train_result_of_another_task_than_the_spec_s_is_bad_input(
    tmp_path: Path, capsys: Capsys, spec_task: str, written: str
) -> None:
    """A train.json that says another task than the spec (the spec's hash unchanged, so not
    caught as a changed spec) was scored as that task: exit 3 (numpy's TypeError casting the
    regression holdout's floats to class codes) for a classification spec."""
    world = _world(
        tmp_path,
        None,
        capsys,
        "tasky",
        task=spec_task,
        metrics="[accuracy]" if spec_task == "classification" else "[rmse]",
    )
    train, holdout = _data()
    if spec_task == "classification":
        world.candidate(World.local(_fit(train)), holdout, [0, 1])
    else:
        model = LinearRegression().fit(train.drop(columns=["y"]), train["y"])
        world.candidate(World.local(model), holdout, None)
    path = world.output / "train.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "task": written, "classes": [0, 1]}))
    code, out, err = world.compare()
    assert (code, out) == (2, "")
    assert err == (
        f"mlgitops compare: error: {path}: written for task {written!r}, not the spec's "
        f"{spec_task!r}: run `mlgitops train tasky` again\n"
    )
    failed = json.loads((world.output / "failed.json").read_text())
    assert (failed["stage"], failed["exit_code"]) == ("compare", 2)
    assert not (world.output / "verdict.json").exists()


def test_slices_report_every_segment_and_gate_the_largest_gap(
    tmp_path: Path, capsys: Capsys, verdict_schema: dict[str, Any]
) -> None:
    world = _world(
        tmp_path,
        None,
        capsys,
        "fairness",
        metrics="[accuracy, roc_auc]",
        slices="    column: segment\n    max_gap: {accuracy: 0.05}\n    min_rows: 30\n",
    )
    train, holdout = _data()
    rng = np.random.default_rng(0)
    segment = np.where(
        np.arange(len(holdout)) < 590, rng.choice(["north", "south"], len(holdout)), "isle"
    )
    # the model is much worse on "south": flip a third of its true labels
    flip = (segment == "south") & (rng.random(len(holdout)) < 0.35)
    holdout = holdout.assign(y=np.where(flip, 1 - holdout["y"], holdout["y"]))
    train = train.assign(segment=0.0)
    holdout = holdout.assign(segment=segment)
    model = LogisticRegression().fit(train.drop(columns=["y", "segment"]), train["y"])
    world.candidate(World.local(_Dropping(model)), holdout, [0, 1])
    code, out, _ = world.compare()
    assert code == 1
    verdict = world.verdict()
    jsonschema.validate(verdict, verdict_schema)
    slices = verdict["slices"]
    assert [(s["value"], s["rows"], s["gated"]) for s in slices["slices"]] == [
        ("isle", 10, False),
        ("north", 273, True),
        ("south", 317, True),
    ]
    north, south = slices["slices"][1]["candidate"], slices["slices"][2]["candidate"]
    assert slices["gaps"]["accuracy"] == pytest.approx(north["accuracy"] - south["accuracy"])
    [gate] = verdict["gates"]
    assert (gate["condition"], gate["status"]) == ("max_gap", "fail")
    assert "slices by segment (gated: at least 30 rows):" in out
    assert "  isle         10" in out and "(not gated)" in out


class _Dropping:
    """A fitted model that ignores the slice column (as a pipeline would drop it)."""

    def __init__(self, model: LogisticRegression) -> None:
        self.model, self.classes_ = model, model.classes_

    def predict(self, x: pd.DataFrame) -> Any:
        return self.model.predict(x.drop(columns=["segment"]))

    def predict_proba(self, x: pd.DataFrame) -> Any:
        return self.model.predict_proba(x.drop(columns=["segment"]))


# -- against a deployed model in MLflow ------------------------------------------------


@pytest.mark.slow
def test_a_truly_better_candidate_passes_with_a_significant_improvement(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys, verdict_schema: dict[str, Any]
) -> None:
    world = _world(
        tmp_path,
        mlflow_server,
        capsys,
        "better",
        gates="  roc_auc: {min: 0.7, max_drop: 0.01, require_significant: true}\n",
    )
    train, holdout = _data()
    base = world.log(_fit(train, keep=("f0",)), register=True)
    world.deploy(base)
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    code, out, err = world.compare()
    assert (code, err) == (0, "")
    verdict = world.verdict()
    jsonschema.validate(verdict, verdict_schema)
    roc = verdict["metrics"][0]
    assert (roc["name"], roc["significant"], roc["method"]) == ("roc_auc", True, "exact")
    assert roc["ci"][0] > 0 and roc["delta"] > 0.05
    assert verdict["baseline"]["model_uri"] == base.model_uri
    assert [(g["condition"], g["status"]) for g in verdict["gates"]] == [
        ("min", "pass"),
        ("max_drop", "pass"),
        ("require_significant", "pass"),
    ]
    assert out.splitlines()[-2] == f"verdict: passed: 3 of 3 gates hold against {base.model_uri}"


class _Cautious:
    """A fitted model that predicts the positive class only above ``threshold``."""

    def __init__(self, model: LogisticRegression, threshold: float) -> None:
        self.model, self.threshold, self.classes_ = model, threshold, model.classes_

    def predict(self, x: pd.DataFrame) -> Any:
        return (self.model.predict_proba(x)[:, 1] >= self.threshold).astype(np.int64)

    def predict_proba(self, x: pd.DataFrame) -> Any:
        positive = np.where(self.predict(x) == 1, 0.99, 0.01)
        return np.column_stack([1 - positive, positive])


@pytest.mark.slow
def test_a_precision_of_one_on_a_single_predicted_positive_is_not_judged(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys
) -> None:
    world = _world(
        tmp_path,
        mlflow_server,
        capsys,
        "cautious",
        metrics="[precision, accuracy]",
        gates="  precision: {min: 0.9, require_significant: true}\n",
        resamples=1000,
    )
    train, holdout = _data()
    base = _fit(train)
    world.deploy(world.log(base, register=True))
    features = holdout.drop(columns=["y", "__row__"])
    candidate = _Cautious(base, float(base.predict_proba(features)[:, 1].max()))
    predicted = candidate.predict(features)
    assert predicted.sum() == 1 and holdout["y"].to_numpy()[predicted == 1].all()
    world.candidate(World.local(candidate), holdout, [0, 1])
    code, out, _ = world.compare()
    precision = next(m for m in world.verdict()["metrics"] if m["name"] == "precision")
    assert precision["candidate"] == 1.0
    gates = {g["condition"]: (g["status"], g["reason"]) for g in world.verdict()["gates"]}
    one_row = (
        "precision is taken over the rows a model predicts positive, and the candidate "
        "predicts only 1 row as class 1, fewer than compare.min_rows (30)"
    )
    assert gates == {
        "min": ("not_evaluable", f"min cannot be evaluated: {one_row}"),
        "require_significant": (
            "not_evaluable",
            f"require_significant cannot be evaluated: {one_row}",
        ),
    }
    assert code == 1
    assert out.splitlines()[-2] == (
        "verdict: failed: 2 gates not evaluable (precision min, precision require_significant) "
        "against models:/cautious/1"
    )


@pytest.mark.slow
def test_mlflow_progress_bars_are_drawn_only_when_the_user_asks(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloading the deployed model draws tqdm's bars (installed here, as beside most ML
    libraries) on stderr whatever it is: in a log, lines of carriage returns. Off unless on
    a terminal (the other tests' empty stderr), and on where the user's variable says so."""
    world = _world(tmp_path, mlflow_server, capsys, "bars", gates="  roc_auc: {max_drop: 0.5}\n")
    train, holdout = _data()
    base = world.log(_fit(train), register=True)
    world.deploy(base)
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")
    code, _, err = world.compare()
    assert code == 0
    assert "Downloading artifacts: 100%" in err
    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "true"  # the user's, kept
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    assert world.compare()[::2] == (0, "")
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ  # the command's alone


@pytest.mark.slow
def test_a_truly_worse_candidate_fails(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _world(
        tmp_path,
        mlflow_server,
        capsys,
        "worse",
        gates="  roc_auc: {max_drop: 0.01}\n  log_loss: {max_relative_drop: 0.05}\n",
    )
    train, holdout = _data()
    base = world.log(_fit(train), register=True)
    world.deploy(base)
    world.candidate(World.local(_fit(train, keep=("f0",))), holdout, [0, 1])
    github_output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    code, out, err = world.compare()
    assert (code, err) == (1, "")
    assert github_output.read_text() == "verdict=fail\n"
    run_id = json.loads((world.output / "train.json").read_text())["run_id"]
    assert out == (
        f"compare worse: candidate run {run_id}, 600 holdout rows\n"
        f"baseline: {base.model_uri} (run {base.run_id}) from "
        "origin/main:manifests/worse/overlays/staging/model.json\n"
        "note: the deployed model's run records no training rows: compared on every holdout "
        "row, some of which it may have been trained on (compare.require_training_rows is "
        "false)\n"
        "paired bootstrap: 400 resamples, 95% confidence, seed 7\n"
        "\n"
        "metric    candidate   baseline      delta  95% CI of delta       significant\n"
        "roc_auc      0.5205     0.8284    -0.3080  [-0.3727, -0.2535]    yes\n"
        "accuracy     0.5067     0.7483    -0.2417  [-0.2950, -0.1883]    yes\n"
        "f1           0.5759     0.7356    -0.1596  [-0.2129, -0.1114]    yes\n"
        "log_loss     0.6933     0.5048    +0.1886  [+0.1450, +0.2284]    yes\n"
        "\n"
        "gates:\n"
        "  FAIL  log_loss max_relative_drop 0.05: log_loss worsened by 37.36% of the "
        "baseline, more than the allowed 5.00%\n"
        "  FAIL  roc_auc max_drop 0.01: roc_auc worsened by 0.3080, more than the allowed 0.01\n"
        "\n"
        "verdict: failed: 2 of 2 gates failed (log_loss max_relative_drop, roc_auc max_drop) "
        f"against {base.model_uri}\n"
        "wrote .mlgitops/worse/verdict.json\n"
    )
    verdict = world.verdict()
    assert verdict["passed"] is False
    roc = verdict["metrics"][0]
    assert roc["significant"] is True and roc["ci"][1] < 0
    assert [(g["condition"], g["status"]) for g in verdict["gates"]] == [
        ("max_relative_drop", "fail"),
        ("max_drop", "fail"),
    ]


@pytest.mark.slow
def test_an_equal_candidate_changes_nothing_and_is_not_a_significant_improvement(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys
) -> None:
    world = _world(
        tmp_path,
        mlflow_server,
        capsys,
        "equal",
        gates="  roc_auc: {max_drop: 0.0, require_significant: true}\n",
    )
    train, holdout = _data()
    base = world.log(_fit(train), register=True)
    world.deploy(base)
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    code, _out, _ = world.compare()
    assert code == 1
    verdict = world.verdict()
    for m in verdict["metrics"]:
        assert (m["delta"], m["ci"], m["significant"]) == (0.0, [0.0, 0.0], False)
    assert [g["reason"] for g in verdict["gates"]] == [
        "roc_auc did not worsen (+0.0000 against the baseline)",
        "roc_auc did not improve significantly: 95% CI of the delta [+0.0000, +0.0000] includes 0",
    ]


@pytest.mark.slow
def test_a_baseline_trained_on_other_data_is_scored_on_the_candidates_holdout(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys
) -> None:
    world = _world(tmp_path, mlflow_server, capsys, "newdata")
    old_train, _ = _data(seed=11)
    train, holdout = _data(seed=0)
    old = _fit(old_train)
    base = world.log(old, register=True)
    world.deploy(base, claimed={"roc_auc": 0.99, "accuracy": 0.99})
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    assert world.compare()[0] == 0
    x, y = holdout.drop(columns=["y", "__row__"]), holdout["y"]
    metrics = {m["name"]: m for m in world.verdict()["metrics"]}
    assert metrics["roc_auc"]["baseline"] == pytest.approx(
        skm.roc_auc_score(y, old.predict_proba(x)[:, 1])
    )
    assert metrics["accuracy"]["baseline"] == pytest.approx(skm.accuracy_score(y, old.predict(x)))
    assert metrics["roc_auc"]["baseline"] < 0.9


@pytest.mark.slow
def test_a_record_pointing_at_a_deleted_model_version_is_an_error(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys
) -> None:
    world = _world(tmp_path, mlflow_server, capsys, "gone", gates="  roc_auc: {max_drop: 0.01}\n")
    train, holdout = _data()
    base = world.log(_fit(train), register=True)
    world.deploy(base)
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    mlflow.MlflowClient(mlflow_server.uri).delete_model_version("gone", base.version or "")
    code, out, err = world.compare()
    assert (code, out) == (2, "")
    assert err == (
        f"mlgitops compare: error: the deployed model {base.model_uri} (recorded in "
        "origin/main:manifests/gone/overlays/staging/model.json) is not in MLflow at "
        f"{mlflow_server.uri}: RESOURCE_DOES_NOT_EXIST: Model Version (name=gone, "
        f"version={base.version}) not found\n"
    )
    assert not (world.output / "verdict.json").exists()


@pytest.mark.slow
def test_a_record_whose_run_was_deleted_is_an_error(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys
) -> None:
    world = _world(tmp_path, mlflow_server, capsys, "trashed")
    train, holdout = _data()
    base = world.log(_fit(train), register=True)
    world.deploy(base)
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    mlflow.MlflowClient(mlflow_server.uri).delete_run(base.run_id)
    code, _, err = world.compare()
    assert code == 2
    assert err == (
        f"mlgitops compare: error: the deployed model {base.model_uri} (recorded in "
        "origin/main:manifests/trashed/overlays/staging/model.json) cannot be used: its run "
        f"{base.run_id} is deleted in MLflow at {mlflow_server.uri}\n"
    )


@pytest.mark.slow
def test_multiclass_with_named_classes(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys
) -> None:
    world = _world(
        tmp_path, mlflow_server, capsys, "iris", target="species", metrics="[roc_auc, f1, log_loss]"
    )
    iris = load_iris(as_frame=True)
    frame = iris.data.assign(species=iris.target_names[iris.target]).sample(
        frac=1.0, random_state=0
    )
    train, holdout = frame.iloc[:75], with_rows(frame.iloc[75:])
    x, y = train.drop(columns=["species"]), train["species"]
    weak = LogisticRegression(C=0.01).fit(
        x[["sepal width (cm)"]].assign(**{c: 0.0 for c in x.columns if c != "sepal width (cm)"})[
            x.columns
        ],
        y,
    )
    base = world.log(weak, register=True)
    world.deploy(base)
    world.candidate(
        World.local(LogisticRegression(max_iter=500).fit(x, y)), holdout, sorted(y.unique())
    )
    assert world.compare()[0] == 0
    metrics = {m["name"]: m for m in world.verdict()["metrics"]}
    hx, hy = holdout.drop(columns=["species", "__row__"]), holdout["species"]
    assert metrics["f1"]["baseline"] == pytest.approx(
        skm.f1_score(hy, weak.predict(hx), average="macro")
    )
    assert metrics["roc_auc"]["baseline"] == pytest.approx(
        skm.roc_auc_score(hy, weak.predict_proba(hx), multi_class="ovr")
    )
    assert metrics["log_loss"]["significant"] is True and metrics["log_loss"]["delta"] < 0


@pytest.mark.slow
def test_regression(tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys) -> None:
    world = _world(
        tmp_path,
        mlflow_server,
        capsys,
        "diabetes",
        target="progression",
        task="regression",
        metrics="[rmse, mae, r2]",
        gates="  rmse: {max_relative_drop: 0.01}\n  r2: {min: 0.3}\n",
    )
    data = load_diabetes(as_frame=True)
    frame = data.data.assign(progression=data.target)
    train, holdout = frame.iloc[:300], with_rows(frame.iloc[300:])
    x, y = train.drop(columns=["progression"]), train["progression"]
    base_model = Ridge(alpha=10.0).fit(x, y)
    base = world.log(base_model, register=True)
    world.deploy(base)
    world.candidate(World.local(LinearRegression().fit(x, y)), holdout, None)
    code, _, _ = world.compare()
    verdict = world.verdict()
    metrics = {m["name"]: m for m in verdict["metrics"]}
    hx, hy = holdout.drop(columns=["progression", "__row__"]), holdout["progression"]
    assert metrics["rmse"]["baseline"] == pytest.approx(
        skm.root_mean_squared_error(hy, base_model.predict(hx))
    )
    assert (
        metrics["r2"]["higher_is_better"] is True and metrics["rmse"]["higher_is_better"] is False
    )
    assert metrics["rmse"]["delta"] < 0 and metrics["rmse"]["significant"] is True
    assert (code, verdict["passed"]) == (0, True)


@pytest.mark.slow
def test_a_drop_gate_the_baseline_cannot_score_is_not_evaluable_and_fails_the_verdict(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys, verdict_schema: dict[str, Any]
) -> None:
    world = _world(
        tmp_path, mlflow_server, capsys, "labelsonly", gates="  roc_auc: {max_drop: 0.01}\n"
    )
    train, holdout = _data()
    base = world.log_pyfunc(labels_only(_fit(train)), train.drop(columns=["y"]).head())
    world.deploy(base)
    world.candidate(World.local(_fit(train, keep=("f0",))), holdout, [0, 1])
    code, out, err = world.compare()
    assert (code, err) == (1, "")
    verdict = world.verdict()
    jsonschema.validate(verdict, verdict_schema)
    assert verdict["passed"] is False
    [gate] = verdict["gates"]
    assert (gate["condition"], gate["status"], gate["allowed"]) == (
        "max_drop",
        "not_evaluable",
        False,
    )
    assert gate["reason"] == (
        "roc_auc cannot be computed for the deployed model (it gives no class probabilities), "
        "so max_drop cannot be evaluated"
    )
    assert verdict["counts"] == {
        "pass": 0,
        "fail": 0,
        "not_evaluable": 1,
        "allowed": 0,
        "not_applicable": 0,
    }
    assert out.splitlines()[-2] == (
        f"verdict: failed: 1 gate not evaluable (roc_auc max_drop) against {base.model_uri}"
    )


def test_the_default_base_is_the_remote_default_branch(tmp_path: Path, capsys: Capsys) -> None:
    world = _world(tmp_path, None, capsys, "stale", gates="  accuracy: {min: 0.5}\n")
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    code, out, _ = world.compare(base=None)
    assert code == 0
    assert out.splitlines()[1] == (
        "baseline: none; first deployment: no deployed model yet, absolute gates only "
        "(origin/main:manifests/stale/overlays/staging/model.json does not exist)"
    )


@pytest.mark.parametrize("base", [None, "origin/main"], ids=["default", "given"])
def test_a_tag_named_as_the_remote_branch_is_refused_as_the_base(
    tmp_path: Path, capsys: Capsys, base: str | None
) -> None:
    """Git reads a tag ``origin/main`` before the remote branch: the records of what is
    deployed, and so the model the candidate is judged against, would be the tag's."""
    world = _world(tmp_path, None, capsys, "shadowed", gates="  accuracy: {min: 0.5}\n")
    train, holdout = _data()
    world.candidate(World.local(_fit(train)), holdout, [0, 1])
    subprocess.run(["git", "tag", "origin/main"], cwd=world.root, check=True)
    code, _, err = world.compare(base=base)
    assert (code, err) == (
        2,
        "mlgitops compare: error: origin/main names the tag refs/tags/origin/main, not the "
        "remote branch refs/remotes/origin/main: delete the tag (git tag -d origin/main, and "
        "git push origin :refs/tags/origin/main where it was pushed)\n",
    )
    assert not (world.output / "verdict.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("fraction", [False, True])
def test_an_integer_feature_now_read_as_floats_is_compared_where_every_value_is_whole(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: Capsys, fraction: bool
) -> None:
    """The deployed model's signature takes ``f0`` as integers (MLflow enforces it); the
    pull request's holdout holds it as floats, as where the schema now declares it
    ``float64``. Whole numbers are given to it as the integers it takes, and compared; one
    fraction makes the comparison not evaluable, and says why."""
    world = _world(
        tmp_path, mlflow_server, capsys, "counts", gates="  accuracy: {max_drop: 0.05}\n"
    )
    train, holdout = _data()
    train = train.assign(f0=(train["f0"] * 10).round().astype("int64"))
    holdout = holdout.assign(f0=(holdout["f0"] * 10).round().astype("float64"))
    if fraction:
        holdout.loc[holdout.index[5], "f0"] += 0.5
    model = _fit(train)
    base = world.log_pyfunc(labels_only(model), train.drop(columns=["y"]).head())
    world.deploy(base)
    world.candidate(World.local(model), holdout, [0, 1])
    code, out, err = world.compare()
    verdict = world.verdict()
    [change] = verdict["features"]["type_changed"]
    assert (change["name"], change["baseline"], change["candidate"]) == ("f0", "long", "double")
    if fraction:
        assert (code, change["compatible"], verdict["passed"]) == (1, False, False), out
        assert verdict["comparison"]["reasons"] == [
            "column 'f0' changed type from long (what the deployed model takes) to double, "
            "which cannot be given to it: not every value is a whole number it holds"
        ]
        return
    assert (code, err, change["compatible"]) == (0, "", True), out
    assert verdict["comparison"]["status"] == "evaluable"
    [accuracy] = [m for m in verdict["metrics"] if m["name"] == "accuracy"]
    x = holdout.drop(columns=["y", "__row__"]).astype({"f0": "int64"})
    assert accuracy["baseline"] == pytest.approx(skm.accuracy_score(holdout["y"], model.predict(x)))
