"""Pull requests whose data change would make the verdict unfair, crash or mislead, played
through the real stages as in :mod:`tests.compare.test_stages` (its deployed ``main``, one
server for this module): changed labels, a test file made of training rows, copied rows,
targets near the largest float, renamed classes, a split that leaves one class."""

from __future__ import annotations

import json
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgitops.report.markdown import escape
from tests.compare.test_stages import (
    FEATURES,
    NAME,
    SPEC,
    Deployed,
    PullRequest,
    _max_drop,
    cli,
    deployed,
    generated,
    git,
    pr,
    write_data,
)
from tests.fixtures.mlflow_server import MlflowServer

pytestmark = pytest.mark.slow
__all__ = ["deployed", "pr"]  # the fixtures this module's tests use


def _trained_on(deployed: Deployed, frame: pd.DataFrame) -> np.ndarray:
    """Which rows of ``frame`` (the data main trained on) the deployed model trained on,
    from the fingerprints its run recorded."""
    import mlflow

    from mlgitops.features import row_fingerprints

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = mlflow.artifacts.download_artifacts(
            run_id=deployed.run_id,
            artifact_path="mlgitops/training_rows.parquet",
            tracking_uri=deployed.server.uri,
        )
    recorded = pd.read_parquet(local)["fingerprint"].to_numpy()
    return np.isin(row_fingerprints(frame, [*FEATURES, "y"]), recorded)


def test_rows_whose_label_changed_are_not_compared_as_unseen(
    pr: PullRequest, deployed: Deployed
) -> None:
    """A pull request flips one label in four. A changed label changes a row's fingerprint,
    and with it its side of the split: rows the deployed model was trained on (with their
    old labels) land in the holdout, where it was scored against labels it never saw. That
    made a candidate trained on the damaged labels pass (roc_auc +0.018 against the deployed
    model); the deployed model has seen those inputs and the candidate has not, so they are
    left out of the paired comparison, and the candidate fails."""
    before = pr.data
    after = before.copy()
    flipped = np.arange(len(after)) % 4 == 0
    after.loc[flipped, "y"] = 1 - after.loc[flipped, "y"]
    write_data(pr.root, after)
    code, out = pr.run()
    holdout = pd.read_parquet(pr.root / ".mlgitops" / NAME / "holdout.parquet")
    rows = holdout["__row__"].to_numpy() - 1  # the 1-based record number
    seen = int((_trained_on(deployed, before)[rows] & flipped[rows]).sum())
    assert 40 < seen < flipped[rows].sum()  # the rest were in main's holdout already
    verdict = pr.verdict()
    assert (verdict["holdout"]["rows"], verdict["holdout"]["excluded"]) == (len(holdout), seen)
    assert verdict["holdout"]["compared"] == len(holdout) - seen
    assert verdict["holdout"]["excluded_reason"] == (
        "the deployed model was trained on them (matched by fingerprints over 7 columns; "
        f"{seen} of them by their 6 feature columns alone: it was trained on these inputs "
        "with another target, which the candidate was not)"
    )
    assert code == 1, out
    assert _max_drop(verdict)["status"] == "fail"
    assert (
        f"compared on {len(holdout) - seen} of {len(holdout)} holdout rows; {seen} excluded" in out
    )


def test_training_rows_that_are_not_fingerprints_are_bad_input(pr: PullRequest) -> None:
    assert cli(pr.root, "train", NAME) == 0
    path = pr.root / ".mlgitops" / NAME / "training_rows.parquet"
    rows = pd.read_parquet(path)
    rows["inputs"] = "not a fingerprint"
    rows.to_parquet(path, index=False)
    assert cli(pr.root, "compare", NAME) == 2
    _, err = pr.capsys.readouterr()
    assert err.startswith(f"mlgitops compare: error: {path}: cannot be read (")


def _with_test_file(pr: PullRequest, text: str) -> None:
    """The pull request holds out ``text`` as data/test.csv (data.test_path), committed."""
    (pr.root / "data" / "test.csv").write_text(text)
    pr.spec("  split: {test_size: 0.3, seed: 42}\n", "  test_path: data/test.csv\n")
    git(pr.root, "add", "-A")
    git(pr.root, "commit", "-q", "-m", "A test file")


def test_a_test_file_holding_training_rows_never_scores_the_candidate_on_them(
    pr: PullRequest,
) -> None:
    """A pull request makes the first 400 rows of the data its test file, and the data keeps
    them: the candidate was trained on its whole holdout, scored 1.0 and passed every gate.
    Those rows are left out of training, and train says so."""
    lines = (pr.root / "data" / "shapes.csv").read_text().splitlines()
    _with_test_file(pr, "\n".join(lines[:401]) + "\n")
    assert cli(pr.root, "train", NAME) == 0
    out = pr.capsys.readouterr().out
    assert (
        f"train {NAME}: 400 row(s) of data/shapes.csv are also in data.test_path "
        "(data/test.csv), the holdout: left out of training (rows 1, 2, 3, 4, 5 (+395))"
    ) in out
    folder = pr.root / ".mlgitops" / NAME
    holdout = pd.read_parquet(folder / "holdout.parquet")
    trained = pd.read_parquet(folder / "training_rows.parquet")["fingerprint"]
    assert len(holdout) == 400 and len(trained) == 1100
    from mlgitops.features import row_fingerprints

    assert not np.isin(row_fingerprints(holdout, [*FEATURES, "y"]), trained).any()
    code = cli(pr.root, "compare", NAME)
    verdict = pr.verdict()
    [accuracy] = [m for m in verdict["metrics"] if m["name"] == "accuracy"]
    assert accuracy["candidate"] < 0.95  # 1.0 on rows it was trained on
    assert code in (0, 1)


def test_a_parquet_test_file_holding_csv_training_rows_leaves_them_out_whatever_their_types(
    pr: PullRequest,
) -> None:
    """A column the schema gives no dtype is text in a CSV and a number in Parquet. With the
    data in CSV and the test file in Parquet, the rows both hold were told apart by that
    column's type: the candidate trained on 400 rows of its holdout, and its absolute gates
    judged it on them. The test file's columns are made the data's before rows are matched."""
    frame = pr.data
    dtypes = {c: ("int64" if c == "y" else "float64") for c in frame.columns}
    write_data(pr.root, frame, {**dtypes, "f5": "null"})
    frame.iloc[:400].to_parquet(pr.root / "data" / "test.parquet", index=False)
    pr.spec("  split: {test_size: 0.3, seed: 42}\n", "  test_path: data/test.parquet\n")
    git(pr.root, "add", "-A")
    git(pr.root, "commit", "-q", "-m", "A test file in Parquet")
    assert cli(pr.root, "validate", NAME) == 0
    assert cli(pr.root, "train", NAME) == 0
    out = pr.capsys.readouterr().out
    assert (
        f"train {NAME}: 400 row(s) of data/shapes.csv are also in data.test_path "
        "(data/test.parquet), the holdout: left out of training"
    ) in out
    trained = pd.read_parquet(pr.root / ".mlgitops" / NAME / "training_rows.parquet")
    assert len(trained) == 1100


def test_a_test_file_that_holds_every_training_row_trains_nothing(pr: PullRequest) -> None:
    _with_test_file(pr, (pr.root / "data" / "shapes.csv").read_text())
    assert cli(pr.root, "train", NAME) == 2
    _, err = pr.capsys.readouterr()
    assert err == (
        "mlgitops train: error: data/shapes.csv: every one of its 1500 rows is also in "
        "data.test_path (data/test.csv): nothing is left to train on that the holdout does "
        "not hold\n"
    )


def test_a_test_file_that_fails_the_schema_fails_validation_where_every_pull_request_runs(
    pr: PullRequest,
) -> None:
    """A pull request puts a word in a float column of its test file (data.test_path, the
    holdout both models are scored on). validate checked data.path alone and passed, and the
    report said every check passed: a fork's pull request, which never trains, got no word
    of it. validate now checks the holdout file too, at its own lines; train still refuses
    it, and the report and the status say why."""
    lines = (pr.root / "data" / "shapes.csv").read_text().splitlines()
    broken = lines[400].split(",")
    broken[3] = "unknown"
    _with_test_file(pr, "\n".join([lines[0], *lines[401:405], ",".join(broken)]) + "\n")
    assert cli(pr.root, "validate", NAME) == 1
    out = pr.capsys.readouterr().out
    assert "shapes: data/shapes.csv, 1,500 rows: passed\n" in out
    assert "shapes: data/test.csv (the holdout), 5 rows: FAILED (1 check(s))\n" in out
    assert "f3      dtype('float64')     1  data/test.csv:6: 'unknown'" in out
    document = json.loads(pr.output("validation.json"))
    assert (document["passed"], document["failures"]) == (False, [])
    holdout = document["holdout"]
    assert (holdout["data"], holdout["rows"], holdout["passed"]) == ("data/test.csv", 5, False)
    [failure] = holdout["failures"]
    assert failure["column"] == "f3"
    assert failure["examples"] == [{"row": 5, "line": 6, "value": "unknown"}]
    assert cli(pr.root, "train", NAME) == 1
    _, err = pr.capsys.readouterr()
    assert "data/test.csv fails validation (1 check(s)); not training on it." in err
    assert cli(pr.root, "report", NAME) == 0
    report = pr.output("report.md")
    assert "✅ `data/shapes.csv`: 1,500 rows, every check passed." in report
    assert "❌ `data/test.csv` (the holdout): 5 rows, 1 failed check:" in report
    assert "| 1 | data/test.csv:6: `unknown` |" in report
    assert "data validation failed" in report


@pytest.mark.parametrize("moved", [False, True])
def test_a_pull_request_that_renames_the_pipeline_is_judged_against_the_deployed_model(
    pr: PullRequest, deployed: Deployed, moved: bool
) -> None:
    """Renamed with its spec file (``git mv``), the pipeline was judged as a first
    deployment: the base has no spec at the new path, so the old name and its record were
    never found, the relative gates did not apply and a weaker model passed."""
    source = pr.root / "pipelines" / f"{NAME}.yaml"
    if moved:
        git(pr.root, "mv", f"pipelines/{NAME}.yaml", f"pipelines/{NAME}-v2.yaml")
        source = pr.root / "pipelines" / f"{NAME}-v2.yaml"
    source.write_text(source.read_text().replace(f"name: {NAME}\n", f"name: {NAME}-v2\n", 1))
    git(pr.root, "add", "-A")
    git(pr.root, "commit", "-q", "-m", "Rename the pipeline")
    assert cli(pr.root, "train", f"{NAME}-v2") == 0
    cli(pr.root, "compare", f"{NAME}-v2")
    verdict = json.loads((pr.root / ".mlgitops" / f"{NAME}-v2" / "verdict.json").read_text())
    baseline = verdict["baseline"]
    assert (baseline["available"], baseline["run_id"]) == (True, deployed.run_id), baseline
    assert baseline["source"] == f"origin/main:manifests/{NAME}/overlays/staging/model.json"


def test_targets_near_the_largest_float_judge_as_undefined_metrics(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A regression whose targets reach 1e200: every stage runs, and the metrics that overflow
    are undefined, which fails their gates. train said the tracking server was unreachable
    (an infinite rmse is no JSON number), and then compare crashed writing the verdict."""
    root = tmp_path / "repo"
    for folder in ("pipelines", "data", "schemas"):
        (root / folder).mkdir(parents=True)
    (root / "pipelines" / "shapes.yaml").write_text(
        SPEC.replace("RandomForestClassifier", "RandomForestRegressor")
        .replace("task: classification", "task: regression")
        .replace("metrics: [roc_auc, accuracy]", "metrics: [rmse, r2]")
        .replace("  roc_auc: {max_drop: 0.05}\n  accuracy: {min: 0.5}\n", "  r2: {min: 0.1}\n")
    )
    (root / "mlgitops.yaml").write_text(f"mlflow:\n  tracking_uri: {mlflow_server.uri}\n")
    frame = generated()
    frame["y"] = 2 * frame["f0"] + frame["f1"]
    frame.loc[[5, 77, 300, 900], "y"] = 1e200
    write_data(root, frame, {c: "float64" for c in frame.columns})
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Data")
    assert cli(root, "validate", NAME) == 0
    assert cli(root, "train", NAME) == 0
    capsys.readouterr()
    assert cli(root, "compare", NAME, "--base", "HEAD") == 1
    out = capsys.readouterr().out
    assert "FAIL  r2 min 0.1: r2 is undefined for the candidate on this holdout" in out
    verdict = json.loads((root / ".mlgitops" / NAME / "verdict.json").read_text())
    assert {m["name"]: m["candidate"] for m in verdict["metrics"]} == {"rmse": None, "r2": None}
    assert cli(root, "report", NAME) == 0


def test_renamed_classes_make_the_relative_gates_not_evaluable_and_say_why(
    pr: PullRequest,
) -> None:
    """The labels 0 and 1 become "no" and "yes": the deployed model still predicts 0 and 1,
    which no holdout row can be. Scoring those as errors would pass any candidate."""
    frame = pr.data
    frame["y"] = frame["y"].map({0: "no", 1: "yes"})
    write_data(pr.root, frame, {**{c: "float64" for c in FEATURES}, "y": "str"})
    code, out = pr.run()
    assert code == 1, out
    comparison = pr.verdict()["comparison"]
    assert comparison["status"] == "not_evaluable"
    [reason] = comparison["reasons"]
    assert reason.endswith(
        "which the holdout's target does not have (its classes: 'no', 'yes'): the classes "
        "changed since it was trained"
    ), reason
    # the class as the data writes it, not numpy's repr of it (np.int64(1))
    assert re.search(r"the baseline model predicts class [01], which", reason), reason
    # rows left out of a comparison that did not happen are not counted as compared
    holdout = pr.verdict()["holdout"]
    assert holdout["compared"] == 0 and holdout["excluded"] > 0
    assert "compared on 0 of" not in out
    assert (
        f"{holdout['excluded']} of {holdout['rows']} holdout rows excluded: the deployed model "
        f"was trained on them"
    ) in out
    assert f"the other {holdout['rows'] - holdout['excluded']} were not compared either" in out


def test_copied_rows_are_named_as_narrowing_the_intervals(pr: PullRequest) -> None:
    """The pull request writes every row twice: the bootstrap would count each copy as a new
    observation and narrow every interval by √2, unnoticed."""
    write_data(pr.root, pd.concat([pr.data, pr.data]))
    _, out = pr.run()
    verdict = pr.verdict()
    compared = verdict["holdout"]["compared"]
    note = (
        f"{compared // 2} of the {compared} compared rows are exact copies of other compared "
        "rows (every feature and the target): the bootstrap counts each as another "
        f"observation, so the intervals are narrower than {compared // 2} distinct rows support"
    )
    assert compared % 2 == 0 and verdict["comparison"]["notes"] == [note]
    assert f"note: {note}" in out
    assert note in pr.output("report.md")


def test_a_split_that_leaves_one_class_to_train_on_says_so(pr: PullRequest) -> None:
    """The key is the target: each class lands on one side. The candidate's own predictions
    were then refused as "class 1 is not one of the model's classes (0)"."""
    pr.spec("split: {test_size: 0.3, seed: 42}", "split: {test_size: 0.3, seed: 42, key: [y]}")
    git(pr.root, "commit", "-qam", "Split by the target")
    assert cli(pr.root, "train", NAME) == 2
    _, err = pr.capsys.readouterr()
    assert err == (
        "mlgitops train: error: data/shapes.csv: the training rows hold one class of 'y' (0); "
        "a classifier needs at least two: data.split.key includes the target 'y', so all rows "
        "of a class land on the same side of the split\n"
    )


def test_a_train_that_refuses_the_data_leaves_no_candidate_for_compare_to_pass(
    pr: PullRequest,
) -> None:
    """Locally, stage after stage in one checkout: the branch's first commit trains and
    passes; the next one appends a row with a word in a float column. validate fails it and
    train refuses it, and compare then judged the first commit's candidate, still in the
    hand-off folder: "passed", exit 0, on data nobody trained on."""
    for stage in ("validate", "train", "compare"):
        assert cli(pr.root, stage, NAME) == 0, stage
    folder = pr.root / ".mlgitops" / NAME
    assert (folder / "train.json").is_file() and (folder / "verdict.json").is_file()
    with (pr.root / "data" / "shapes.csv").open("a") as data:
        data.write("abc," + ",".join(["0.5"] * (len(FEATURES) - 1)) + ",1\n")
    git(pr.root, "commit", "-qam", "A row in the wrong shape")
    assert cli(pr.root, "validate", NAME) == 1
    assert cli(pr.root, "train", NAME) == 1
    pr.capsys.readouterr()
    left = sorted(p.name for p in folder.iterdir())
    # validate's files (its diff against the base among them), and why train stopped
    assert [n for n in left if not n.startswith("datadiff.")] == [
        "failed.json",
        "validation.json",
        "validation.md",
    ], left
    assert json.loads((folder / "failed.json").read_text())["stage"] == "train"
    assert cli(pr.root, "compare", NAME) == 2
    _, err = pr.capsys.readouterr()
    assert "train.json" in err and "mlgitops train shapes" in err, err
    assert not (folder / "verdict.json").exists()
    # report had refused: validation.json was for other data than the stale candidate's
    assert cli(pr.root, "report", NAME) == 0
    comment = pr.output("report.md")
    assert "## ❌ mlgitops `shapes`: data validation failed" in comment
    assert (
        "| `f0` | `dtype('float64')`: values that are not of type float64 | 1 | "
        "data/shapes.csv:1502: `abc` |" in comment
    )
    assert "### Gates" not in comment and "passed" not in comment


def test_a_class_only_the_holdout_holds_is_scored_as_one_the_model_never_predicts(
    pr: PullRequest,
) -> None:
    """The test file holds rows of a class no training row holds (a rare class, or one the
    pull request adds). train created a run, then stopped with exit 2, blaming "the
    predictions" for class 2 and naming no file. The model cannot predict a class it never
    saw: it is scored as giving it probability 0, as compare scores a deployed model that
    never saw a class, and train says so."""
    test = pr.data.iloc[:300].copy()
    test[FEATURES] = test[FEATURES] + 0.001  # rows of their own: none is left out of training
    test.loc[test.index[:20], "y"] = 2
    _with_test_file(pr, test.to_csv(index=False))
    assert cli(pr.root, "train", NAME) == 0
    out = pr.capsys.readouterr().out
    assert (
        f"train {NAME}: class 2 of 'y' is in the holdout only (20 rows, data/test.csv): no "
        "training row holds it, so the model never predicts it (probability 0)"
    ) in out
    folder = pr.root / ".mlgitops" / NAME
    assert json.loads((folder / "train.json").read_text())["classes"] == [0, 1, 2]
    predicted = pd.read_parquet(folder / "predictions.parquet")
    assert (predicted["proba_2"] == 0).all() and not (predicted["y_pred"] == 2).any()
    np.testing.assert_allclose(predicted[["proba_0", "proba_1"]].sum(axis=1), 1.0)
    code = cli(pr.root, "compare", NAME)
    verdict = pr.verdict()
    assert code in (0, 1) and verdict["comparison"]["status"] != "not_evaluable", verdict
    [accuracy] = [m for m in verdict["metrics"] if m["name"] == "accuracy"]
    assert accuracy["candidate"] <= 280 / 300  # the 20 rows of class 2 are all wrong
    assert accuracy["baseline"] <= 280 / 300


WEAKER = ("{n_estimators: 40, random_state: 0}", "{n_estimators: 1, max_depth: 1, random_state: 0}")
STAGING = "deploy:\n  environments:\n    - name: staging\n      namespace: ml-staging\n"
PRODUCTION_FIRST = "    - name: production\n      namespace: ml\n"


@pytest.mark.parametrize(
    ("change", "environments", "first"),
    [
        (
            "production put first",
            STAGING.replace("    - ", PRODUCTION_FIRST + "    - ", 1),
            "production",
        ),
        ("staging renamed", STAGING.replace("name: staging", "name: stage"), "stage"),
        ("environments removed", "", None),
    ],
)
def test_a_pull_request_that_deploys_elsewhere_first_is_judged_against_the_deployed_model(
    pr: PullRequest, change: str, environments: str, first: str | None
) -> None:
    """A pull request that reorders, renames or removes environments keeps its baseline. The
    baseline was the record of the pull request's own first environment, which holds none:
    a much weaker model was a "first deployment", its relative gates not applicable, and it
    passed (and deploy, judging the same way, shipped it over the deployed model)."""
    pr.spec(*WEAKER)
    pr.spec(STAGING, environments)
    code, out = pr.run()
    verdict = pr.verdict()
    baseline = verdict["baseline"]
    assert baseline["available"] is True, (change, baseline)
    assert baseline["environment"] == "staging"
    assert baseline["source"] == f"origin/main:manifests/{NAME}/overlays/staging/model.json"
    assert baseline["reason"] == (
        f"{first}, where this pipeline deploys first, runs no model yet at origin/main: the "
        "baseline is what staging runs"
        if first
        else "the spec deploys to no environment; the baseline is what staging runs"
    )
    assert f"from {baseline['source']} ({baseline['reason']})" in out
    assert (code, verdict["passed"], _max_drop(verdict)["status"]) == (1, False, "fail"), out
    assert f"({baseline['reason']})" in pr.output("report.md")


def test_a_pull_request_that_changes_the_record_of_an_environment_it_no_longer_names(
    pr: PullRequest,
) -> None:
    """The records of every environment are the baseline's, named by the spec or not."""
    pr.spec(STAGING, STAGING.replace("name: staging", "name: stage"))
    record = pr.root / "manifests" / NAME / "overlays" / "staging" / "model.json"
    record.unlink()
    git(pr.root, "add", "-A")
    git(pr.root, "commit", "-q", "-m", "Rename staging, tidy its record")
    assert cli(pr.root, "train", NAME) == 0
    pr.capsys.readouterr()
    assert cli(pr.root, "compare", NAME) == 2
    assert pr.capsys.readouterr().err == (
        f"mlgitops compare: error: the commits since origin/main change manifests/{NAME}/"
        "overlays/staging/model.json, the record of what is deployed to staging, which only "
        "deploy, promote and rollback write: do not merge them, promote would copy the changed record and deploy judge against it; revert that change in a pull request of "
        "its own\n"
    )


def test_a_new_target_makes_the_relative_gates_not_evaluable(pr: PullRequest) -> None:
    """The pull request predicts another column, and the old target becomes a feature. The
    deployed model, scored against the new target, was judged on what it never learnt to
    predict (here it passed every gate, its log_loss delta "significant")."""
    frame = pr.data
    frame["big"] = (frame["f0"] > 0).astype(int)
    write_data(pr.root, frame)
    pr.spec("  target: y\n", "  target: big\n")
    code, out = pr.run()
    verdict = pr.verdict()
    assert (code, verdict["passed"], verdict["comparison"]["status"]) == (
        1,
        False,
        "not_evaluable",
    ), out
    assert verdict["comparison"]["reasons"] == [
        "the deployed model predicts 'y' and the candidate 'big': the target changed, so the "
        "two models cannot be scored on the same thing"
    ]
    assert _max_drop(verdict)["status"] == "not_evaluable"
    assert all(m["baseline"] is None for m in verdict["metrics"]), verdict["metrics"]


def test_a_new_task_makes_the_relative_gates_not_evaluable(pr: PullRequest) -> None:
    """Classification turned into regression of the same column: the deployed classifier's
    labels were scored as regression predictions, as if it had been trained for that."""
    pr.spec("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForestRegressor")
    pr.spec("task: classification\n", "task: regression\n")
    pr.spec("metrics: [roc_auc, accuracy]\n", "metrics: [rmse, r2]\n")
    pr.spec("  roc_auc: {max_drop: 0.05}\n  accuracy: {min: 0.5}\n", "  r2: {max_drop: 0.5}\n")
    code, out = pr.run()
    verdict = pr.verdict()
    assert (code, verdict["comparison"]["status"]) == (1, "not_evaluable"), out
    assert verdict["comparison"]["reasons"] == [
        "the deployed model was judged as a classification model and the candidate is a "
        "regression one: the task changed, so the two models cannot be scored alike"
    ]
    assert _max_drop(verdict)["status"] == "not_evaluable"
    assert "relative gates not evaluable: the deployed model was judged as a classification" in out


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ("spec", "the spec's training settings"),
        ("data", "the data"),
        ("both", "the data and the spec's training settings"),
    ],
)
def test_a_candidate_trained_before_its_inputs_changed_gets_no_verdict(
    pr: PullRequest, change: str, what: str
) -> None:
    """train, then a commit that changes the training inputs, then compare: the verdict (a
    pass, and the report's) was on a model this commit never trained."""
    git(pr.root, "commit", "-q", "--allow-empty", "-m", "Nothing yet")
    assert cli(pr.root, "train", NAME) == 0
    train = json.loads(pr.output("train.json"))
    if change in ("spec", "both"):
        pr.spec(*WEAKER)
    if change in ("data", "both"):
        write_data(pr.root, pr.data.iloc[:-10])
    git(pr.root, "commit", "-qam", "Change the inputs")
    pr.capsys.readouterr()
    assert cli(pr.root, "compare", NAME) == 2
    assert pr.capsys.readouterr().err == (
        f"mlgitops compare: error: .mlgitops/{NAME}/train.json: run {train['run_id']} was "
        f"trained before {what} changed: run `mlgitops train {NAME}` again\n"
    )
    assert not (pr.root / ".mlgitops" / NAME / "verdict.json").exists()
    assert json.loads(pr.output("failed.json"))["stage"] == "compare"


def test_the_base_branchs_order_of_environments_decides_the_baseline(pr: PullRequest) -> None:
    """The base runs a model in staging and one in production, and its spec deploys to
    staging first. A pull request that renames staging was judged against production's
    model (the first its own spec names that runs one), which may be older and weaker than
    the staging model it deploys over."""
    staging = pr.root / "manifests" / NAME / "overlays" / "staging" / "model.json"
    production = staging.parent.parent / "production" / "model.json"
    production.parent.mkdir()
    record = json.loads(staging.read_text())
    production.write_text(json.dumps({**record, "environment": "production"}, indent=2) + "\n")
    git(pr.root, "checkout", "-q", "-b", "base")
    git(pr.root, "add", "-A")
    git(pr.root, "commit", "-q", "-m", "Production runs a model too")
    git(pr.root, "checkout", "-q", "-b", "renamed")
    pr.spec(STAGING, STAGING.replace("name: staging", "name: stage") + PRODUCTION_FIRST)
    code, out = pr.run("base")
    baseline = pr.verdict()["baseline"]
    assert (code, baseline["available"], baseline["environment"]) == (0, True, "staging"), out
    assert baseline["reason"] == (
        "stage, where this pipeline deploys first, runs no model yet at base: the baseline "
        "is what staging runs"
    )


def test_a_renamed_pipeline_is_judged_against_the_model_its_old_name_runs(
    pr: PullRequest,
) -> None:
    """A pull request that renames the pipeline (its spec file kept) was a first
    deployment, its relative gates not applicable, however weak its model."""
    pr.spec(*WEAKER)
    pr.spec("name: shapes\n", "name: shapes-v2\n")
    git(pr.root, "add", "-A")
    git(pr.root, "commit", "-q", "-m", "Rename the pipeline")
    assert cli(pr.root, "validate", "shapes-v2") == 0
    assert cli(pr.root, "train", "shapes-v2") == 0
    pr.capsys.readouterr()
    code = cli(pr.root, "compare", "shapes-v2")
    out = pr.capsys.readouterr().out
    verdict = json.loads((pr.root / ".mlgitops" / "shapes-v2" / "verdict.json").read_text())
    baseline = verdict["baseline"]
    assert baseline["source"] == f"origin/main:manifests/{NAME}/overlays/staging/model.json"
    assert baseline["reason"] == (
        "the pipeline is named 'shapes' at origin/main, and 'shapes-v2' runs no model yet: "
        "the baseline is what staging of 'shapes' runs"
    )
    assert (code, _max_drop(verdict)["status"]) == (1, "fail"), out
    # and its old name's records are records of what is deployed
    (pr.root / "manifests" / NAME / "overlays" / "staging" / "model.json").unlink()
    git(pr.root, "commit", "-qam", "Tidy the old name's record")
    pr.capsys.readouterr()
    assert cli(pr.root, "compare", "shapes-v2") == 2
    assert pr.capsys.readouterr().err == (
        f"mlgitops compare: error: the commits since origin/main change manifests/{NAME}/"
        "overlays/staging/model.json, the record of what is deployed to staging of 'shapes', "
        "which only deploy, promote and rollback write: do not merge them, promote would copy the changed record and deploy judge against it; revert that change in a pull "
        "request of its own\n"
    )


def test_a_pipeline_in_a_folder_of_its_repository_keeps_its_records(pr: PullRequest) -> None:
    """mlgitops run in a folder of a larger repository (``-C ml``, the Action's
    ``working-directory``): a change to a record of what is deployed was named with the
    repository's path and "deployed to None", and a record the spec no longer names was
    not recognised."""
    mono = pr.root.parent / "mono"
    (mono / "ml").mkdir(parents=True)
    git(mono, "init", "-q", "-b", "main")
    git(pr.root, "archive", "--format=tar", "-o", str(mono / "main.tar"), "HEAD")
    subprocess.run(["tar", "-xf", str(mono / "main.tar"), "-C", str(mono / "ml")], check=True)
    (mono / "main.tar").unlink()
    git(mono, "add", "-A")
    git(mono, "commit", "-q", "-m", "The pipeline in a folder")
    git(mono, "checkout", "-q", "-b", "pr")
    spec = mono / "ml" / "pipelines" / "shapes.yaml"
    spec.write_text(spec.read_text().replace("name: staging", "name: stage"))
    (mono / "ml" / "manifests" / NAME / "overlays" / "staging" / "model.json").unlink()
    git(mono, "add", "-A")
    git(mono, "commit", "-q", "-m", "Rename staging, tidy its record")
    ml = mono / "ml"
    assert cli(ml, "train", NAME) == 0
    pr.capsys.readouterr()
    assert cli(ml, "compare", NAME, "--base", "main") == 2
    assert pr.capsys.readouterr().err == (
        f"mlgitops compare: error: the commits since main change manifests/{NAME}/overlays/"
        "staging/model.json, the record of what is deployed to staging, which only deploy, "
        "promote and rollback write: do not merge them, promote would copy the changed record and deploy judge against it; revert that change in a pull request of its own\n"
    )
    git(mono, "checkout", "-q", "main", "--", "ml/manifests")
    git(mono, "commit", "-q", "-m", "Keep the record")
    assert cli(ml, "compare", NAME, "--base", "main") == 0
    verdict = json.loads((ml / ".mlgitops" / NAME / "verdict.json").read_text())
    assert verdict["baseline"]["source"] == f"main:manifests/{NAME}/overlays/staging/model.json"


def test_a_pull_request_that_loosens_its_own_gates_says_so(pr: PullRequest) -> None:
    """A much weaker model, and the gates that would stop it removed or lowered in the same
    pull request: the verdict passed on the pull request's own gates and the comment said
    "all 1 gates passed", with no word that the gates it passed are not the base branch's
    (the PR's file diff was the only place a reviewer could find it)."""
    pr.spec(*WEAKER)
    pr.spec("  roc_auc: {max_drop: 0.05}\n  accuracy: {min: 0.5}\n", "  accuracy: {min: 0.4}\n")
    code, out = pr.run()
    note = (
        "the gates are not those of origin/main:pipelines/shapes.yaml, and this verdict "
        "holds the candidate to the pull request's: accuracy min 0.5 -> 0.4; roc_auc "
        "max_drop 0.05 removed"
    )
    assert (code, pr.verdict()["comparison"]["notes"]) == (0, [note]), out
    assert f"note: {note}\n" in out
    assert f"- {escape(note)}\n" in pr.output("report.md")
    assert "## ✅ mlgitops `shapes`: 1 gate passed" in pr.output("report.md")


def test_a_pull_request_that_draws_its_comparison_otherwise_says_so(pr: PullRequest) -> None:
    """The bootstrap that decides a significant or interval judged gate is the pull
    request's to set: a narrower confidence, or other draws (a seed or a number of
    resamples tried until the interval falls the right way), judges the candidate by other
    rules than the base branch's, and said nothing of it."""
    pr.spec(
        "compare:\n  resamples: 200\n",
        "compare:\n  resamples: 100\n  seed: 7\n  confidence: 0.6\n",
    )
    code, out = pr.run()
    note = (
        "the gates are not those of origin/main:pipelines/shapes.yaml, and this verdict "
        "holds the candidate to the pull request's: compare.confidence 0.95 -> 0.6; "
        "compare.resamples 200 -> 100; compare.seed 0 -> 7"
    )
    assert (code, pr.verdict()["comparison"]["notes"]) == (0, [note]), out


def test_a_pull_request_that_draws_another_holdout_says_so(pr: PullRequest) -> None:
    """The split's seed and size choose the rows both models are scored on: a pull request
    could try seeds until the holdout favoured its candidate, and said nothing of it."""
    pr.spec("split: {test_size: 0.3, seed: 42}", "split: {test_size: 0.25, seed: 7}")
    code, out = pr.run()
    note = (
        "the gates are not those of origin/main:pipelines/shapes.yaml, and this verdict "
        "holds the candidate to the pull request's: data.split.seed 42 -> 7; "
        "data.split.test_size 0.3 -> 0.25"
    )
    assert code in (0, 1), out
    assert note in pr.verdict()["comparison"]["notes"], out


def test_gates_the_pull_request_leaves_as_they_are_add_no_note(pr: PullRequest) -> None:
    """Another model, judged by the base branch's gates and comparison."""
    pr.spec("{n_estimators: 40, random_state: 0}", "{n_estimators: 60, random_state: 0}")
    code, out = pr.run()
    assert (code, pr.verdict()["comparison"]["notes"]) == (0, []), out


OUTSIDE = "the deployed model is given inputs outside those it was trained on in"


def test_a_feature_in_other_units_on_every_row_makes_the_relative_gates_not_evaluable(
    pr: PullRequest,
) -> None:
    """``f0`` ten times larger on every row: the deployed model was scored on inputs far outside
    those it learned from, and its scores were read as a judgement of either model (in a
    regression a model in other units passed as a significant improvement, rmse 2.58 against
    13.68; here a forest happens to hold up). Nothing in the rows says whether the world or
    only the data changed: not evaluable, unless the spec allows it, which the verdict
    names."""
    after = pr.data
    after["f0"] = after["f0"] * 10
    write_data(pr.root, after)
    code, out = pr.run()
    verdict = pr.verdict()
    gate = _max_drop(verdict)
    assert (code, gate["status"]) == (1, "not_evaluable"), out
    assert OUTSIDE in gate["reason"]
    assert "f0: outside " in gate["reason"] and "more than a quarter" in gate["reason"]
    report = pr.output("report.md")
    assert "outside those it was trained on" in report
    assert "compare.allow_unseen_inputs: true" in gate["reason"]
    pr.spec("compare:\n", "compare:\n  allow_unseen_inputs: true\n")
    code, out = pr.run()
    verdict = pr.verdict()
    assert _max_drop(verdict)["status"] in ("pass", "fail"), out  # judged
    assert code in (0, 1), out
    notes = verdict["comparison"]["notes"]
    assert [n for n in notes if n.startswith(OUTSIDE)], notes
    assert any("compare.allow_unseen_inputs true added" in n for n in notes), notes


def test_a_few_rows_outside_the_deployed_model_s_training_data_are_named_in_a_note(
    pr: PullRequest,
) -> None:
    """One row in ten with ``f1`` far past any value the deployed model was trained on (a
    check loosened, a new kind of input): compared, and named."""
    after = pr.data
    far = np.arange(len(after)) % 10 == 3
    after.loc[far, "f1"] = 40.0
    write_data(pr.root, after)
    code, out = pr.run()
    assert code in (0, 1), out
    verdict = pr.verdict()
    assert _max_drop(verdict)["status"] in ("pass", "fail"), out
    [note] = [n for n in verdict["comparison"]["notes"] if n.startswith(OUTSIDE)]
    assert re.search(r"\(f1: outside -?[0-9.]+ to [0-9.]+, the range it was trained on in", note)
    assert "f0" not in note


def test_rows_added_from_the_same_source_are_compared_with_no_such_note(pr: PullRequest) -> None:
    """Fresh rows of the same data: inside what the deployed model was trained on."""
    more = generated(2100).iloc[1500:]
    write_data(pr.root, pd.concat([pr.data, more], ignore_index=True))
    code, out = pr.run()
    notes = pr.verdict()["comparison"]["notes"]
    assert not [n for n in notes if n.startswith(OUTSIDE)], notes
    assert code in (0, 1), out
