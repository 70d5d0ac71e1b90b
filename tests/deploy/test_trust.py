"""Nothing a pull request's job can write decides what deploy ships, or how it is judged.

Each test plays what code on a pull request's branch can do (with the PR
MLflow credentials, or as the PR workflow's uploads) against a real MLflow
server, real git with a bare remote and the loopback GitHub, then runs
``mlgitops deploy`` as the deploy job does.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from mlgitops.digest import folder_digest
from mlgitops.evaluation.apart import child_environment
from mlgitops.evaluation.deployed import task_of
from mlgitops.results import load_provenance
from mlgitops.training.tracking import open_tracking
from tests.deploy.test_anchor import model_json
from tests.deploy.test_deploy import deploy, merge_a_change, versions
from tests.deploy.world import (
    World,
    deployed_review,
    git,
    handoff,
    pr_workflow,
    publish_review,
    results_zip,
    reviewed_run,
)
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer

FEATURES = [
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
]
TARGET = "malignant"


def data(world: World) -> pd.DataFrame:
    return pd.read_csv(world.work / "data" / "tumors.csv")


def saved(model: Any, folder: Path) -> Path:
    import mlflow.sklearn

    with warnings.catch_warnings():  # MLflow's advice on pickles and type hints
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            model,
            str(folder),
            serialization_format="pickle",
            pip_requirements=["scikit-learn"],  # MLflow's inference loads the model in a process
        )
    return folder


def log_model(uri: str, root: Path, name: str, folder: Path) -> tuple[str, str, str]:
    """A run and logged model of the PR trainer's own (what the PR credentials allow):
    its run id, model id and the digest deploy computes of the model's files."""
    import mlflow

    tracking = open_tracking(uri, root, env={})
    experiment = tracking.experiment(name, create=False) or ""
    answer = requests.post(
        f"{uri}/api/2.0/mlflow/runs/create",
        json={"experiment_id": experiment, "run_name": "pr-trainer"},
        timeout=30,
    )
    answer.raise_for_status()
    run_id = str(answer.json()["run"]["info"]["run_id"])
    model = tracking.create_model(experiment, run_id, "model", {})
    tracking.upload(model.artifact_uri, folder)
    tracking.finalize_model(model.model_id, ready=True)
    rows = root.parent / f"{run_id}-rows"  # the rows it trained on and their profile,
    rows.mkdir()  # as train logs them
    for file in ("training_rows.parquet", "train.json", "reference.json"):
        shutil.copy(root / ".mlgitops" / name / file, rows / file)
    answer = requests.get(f"{uri}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30)
    tracking.upload(answer.json()["run"]["info"]["artifact_uri"], rows, "mlgitops")
    tracking.end_run(run_id, "FINISHED")
    logged = mlflow.MlflowClient(tracking_uri=uri).get_logged_model(model.model_id)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=logged.artifact_location, dst_path=str(root.parent / run_id), tracking_uri=uri
    )
    return run_id, model.model_id, folder_digest(Path(local))


def results(root: Path, name: str, logged: tuple[str, str, str], **train: Any) -> bytes:
    """The PR workflow's upload, as its job's code can leave it: train.json naming
    ``logged`` (changed by ``train``), and a verdict that says it passed."""
    run_id, model_id, digest = logged
    doc = handoff(root, name, "train.json")
    doc.update(run_id=run_id, model_uri=f"models:/{model_id}", model_digest=digest, **train)
    verdict = handoff(root, name, "verdict.json")
    verdict["candidate"]["run_id"] = run_id
    verdict.update(passed=True, summary="all gates passed")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}/train.json", json.dumps(doc))
        archive.writestr(f"{name}/verdict.json", json.dumps(verdict))
    return buffer.getvalue()


def reviewed_inputs(world: World) -> dict[str, Any]:
    """The content key and hashes of work's HEAD, as a review of that commit records them:
    a job that trains a model of its own still reviews the merged commit's inputs."""
    from dataclasses import asdict

    from mlgitops.spec import load_repo
    from mlgitops.training.run import inputs_of

    loaded = load_repo(world.work)
    inputs = inputs_of(loaded, loaded.pipeline(world.name))
    return {"content_key": inputs.content_key, "hashes": asdict(inputs.hashes)}


def merged_with(state: Any, world: World, pr: int, archive: bytes) -> dict[str, Any]:
    """Pull request ``pr`` (work's HEAD) whose run uploaded ``archive``, then merged."""
    head = git(world.work, "rev-parse", "HEAD")
    state.add_pull(pr, head)
    run: dict[str, Any] = state.add_workflow_run(
        head, name=f"mlgitops {world.name}: pull request", path=pr_workflow(world)
    )
    state.add_artifact(run["id"], f"mlgitops-{world.name}-train", archive)
    state.merge_pull(pr, head)
    return run


def another_model(world: World, uri: str, label: str) -> tuple[str, str, str]:
    from sklearn.ensemble import RandomForestClassifier

    frame = data(world)
    model = RandomForestClassifier(n_estimators=20, random_state=1)
    model.fit(frame[FEATURES], frame[TARGET])
    return log_model(uri, world.work, world.name, saved(model, world.tmp / label))


# -- which run is the review -------------------------------------------------------------


@pytest.mark.parametrize("borrowed", ["another branch", "after the merge"])
def test_a_newer_run_on_the_same_commit_that_is_not_the_pull_requests_is_not_the_review(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer, borrowed: str
) -> None:
    """A branch of its own pointing at the same commit, its pull request into a base whose
    workflow file it wrote; or a run that started after the merge: a newer run, naming a
    model of its own."""
    uri = mlflow_server.uri
    reviewed = reviewed_run(uri, world.work, world.name)
    forged = results(world.work, world.name, another_model(world, uri, "other"))
    head, state = git(world.work, "rev-parse", "HEAD"), on_github.state
    artifact = f"mlgitops-{world.name}-train"
    state.add_pull(12, head)
    ours = state.add_workflow_run(head, name="x", path=pr_workflow(world))
    state.add_artifact(ours["id"], artifact, results_zip(world.work, world.name))
    if borrowed == "after the merge":
        state.merge_pull(12, head)
    else:  # before the merge, newer than the review
        state.add_pull(13, head, base="mine", head_ref="mine-too")
    branch = "mine-too" if borrowed == "another branch" else "feature"
    theirs = state.add_workflow_run(head, name="x", path=pr_workflow(world), head_branch=branch)
    state.add_artifact(theirs["id"], artifact, forged)
    if borrowed == "another branch":
        state.merge_pull(12, head)

    assert deploy(world, uri) == 0
    assert model_json(world)["run_id"] == reviewed


def test_another_pull_request_from_the_same_branch_into_another_base_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    head = git(world.work, "rev-parse", "HEAD")
    # opened before the merge, from the reviewed branch into a base whose workflow it wrote:
    # its runs name the same branch and commit
    on_github.state.add_pull(13, head, base="mine")
    run = on_github.state.add_workflow_run(head, name="x", path=pr_workflow(world))
    forged = results(world.work, world.name, another_model(world, uri, "same-branch"))
    on_github.state.add_artifact(run["id"], f"mlgitops-{world.name}-train", forged)
    publish_review(on_github.state, world.work, world.name, pr=12)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    assert capsys.readouterr().err == (
        "mlgitops deploy: error: pull request #12 comes from branch feature, and so does #13 "
        f"into another base branch, open when {pr_workflow(world)} ran on {head[:12]}: those "
        "runs cannot be told apart from #12's, so none of them is a review; nothing deployed "
        "(merge the change again through a pull request from a branch of its own)\n"
    )
    assert versions(uri, world.name) == []
    assert world.remote_head() == before


def test_a_pull_request_from_the_same_branch_closed_before_the_review_is_no_doubt(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer
) -> None:
    """Branch names are used again: one closed before the runs could not have made them."""
    uri = mlflow_server.uri
    reviewed = reviewed_run(uri, world.work, world.name)
    on_github.state.add_pull(3, "1" * 40, base="gh-pages", state="closed")
    publish_review(on_github.state, world.work, world.name, pr=12)

    assert deploy(world, uri) == 0
    assert model_json(world)["run_id"] == reviewed


# -- how the model is judged -------------------------------------------------------------


def label_model(world: World, uri: str) -> tuple[str, str, str]:
    """After a real review: a "model" of the label alone (perfect when handed the label),
    logged by the PR trainer."""
    from sklearn.tree import DecisionTreeClassifier

    reviewed_run(uri, world.work, world.name)
    frame = data(world)
    cheat = DecisionTreeClassifier(max_depth=1).fit(frame[[TARGET]], frame[TARGET])
    return log_model(uri, world.work, world.name, saved(cheat, world.tmp / "cheat"))


def test_the_re_score_gives_the_model_the_merged_schemas_features_not_train_jsons(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    logged = label_model(world, uri)
    as_label = [{"name": TARGET, "dtype": "int64"}]
    merged_with(
        on_github.state, world, 12, results(world.work, world.name, logged, features=as_label)
    )
    capsys.readouterr()

    assert deploy(world, uri) == 1
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pull request #12, workflow run "
        f"{max(on_github.state.workflow_runs)} on {git(world.work, 'rev-parse', 'HEAD')[:12]}: "
        f"the model was trained with features {TARGET}, but the merged commit's spec and "
        f"schema say {', '.join(FEATURES)}; nothing deployed\n"
    )
    assert versions(uri, world.name) == []


def test_a_model_that_cannot_score_the_merged_features_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    logged = label_model(world, uri)
    merged_with(on_github.state, world, 12, results(world.work, world.name, logged))
    capsys.readouterr()

    assert deploy(world, uri) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"mlgitops deploy: error: model of run {logged[0]} does not load, or does not predict "
        f"on the merged holdout's features ({', '.join(FEATURES)}): "
    ), err
    assert err.endswith(": - malignant; nothing deployed\n"), err  # scikit-learn's last line
    assert versions(uri, world.name) == []


class _Payload:
    """A pickle that runs ``code`` when loaded (and returns what it evaluates to)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (eval, (self.code,))


def _merged_model_that_runs(
    world: World, uri: str, github: GitHubServer, first: str, model: Any, number: int = 12
) -> tuple[str, str, str]:
    """A reviewed run, then ``model`` fitted, logged as the reviewed model and merged as
    pull request ``number``; unpickling it evaluates the Python expression ``first``
    before it loads: what ``log_model`` returned."""
    reviewed_run(uri, world.work, world.name)
    frame = data(world)
    model.fit(frame[FEATURES], frame[TARGET])
    folder = saved(model, world.tmp / "model")
    code = f"({first}, __import__('pickle').loads({pickle.dumps(model)!r}))[-1]"
    (folder / "model.pkl").write_bytes(pickle.dumps(_Payload(code)))
    logged = log_model(uri, world.work, world.name, folder)
    merged_with(github.state, world, number, results(world.work, world.name, logged))
    return logged


def test_the_model_is_loaded_in_a_process_without_the_deploy_jobs_credentials(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    uri = mlflow_server.uri
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "deploy-credential")
    monkeypatch.setenv("MLGITOPS_PUSH_TOKEN", "push-credential")
    seen = world.tmp / "seen.json"
    first = (
        f"__import__('pathlib').Path({str(seen)!r}).write_text(__import__('json').dumps("
        "{'environ': dict(v.decode().split('=', 1) for v in open('/proc/self/environ', 'rb')"
        ".read().split(bytes(1)) if v), 'cwd': __import__('os').getcwd()}))"
    )
    forest = RandomForestClassifier(n_estimators=30, random_state=0)
    logged = _merged_model_that_runs(world, uri, on_github, first, forest)

    assert deploy(world, uri) == 0  # it is a real model, and it passes
    loaded = json.loads(seen.read_text())
    given = set(loaded["environ"])  # what it was started with (/proc/self/environ)
    assert given <= set(child_environment(dict(os.environ), world.tmp)), sorted(given)
    assert not {"MLFLOW_TRACKING_TOKEN", "MLGITOPS_PUSH_TOKEN", "GITHUB_TOKEN"} & given
    assert not Path(loaded["cwd"]).is_relative_to(world.work)
    assert loaded["environ"]["MLFLOW_TRACKING_URI"].startswith("file:")
    assert model_json(world)["run_id"] == logged[0]


@pytest.mark.parametrize("limit", ["--model-timeout", "deploy.model_timeout", "--predict"])
def test_a_reviewed_model_that_gives_no_answer_in_its_time_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
    limit: str,
) -> None:
    """A reviewed model that hangs as it loads is ended at its time limit (the command
    line's, else the reviewed spec's), with the process it started: deploy says why and
    deploys nothing, where it waited for ever."""
    import time

    from sklearn.ensemble import RandomForestClassifier

    from tests.fixtures.processes import ended

    uri = mlflow_server.uri
    flags: tuple[str, ...] = ("--model-timeout", "3")
    if limit != "--model-timeout":  # merged with the pipeline, so reviewed with it
        spec = world.work / "pipelines" / f"{world.name}.yaml"
        text = spec.read_text()
        assert "\n  server: {port: 8080}\n" in text
        spec.write_text(
            text.replace(
                "\n  server: {port: 8080}\n", "\n  server: {port: 8080}\n  model_timeout: 3\n"
            )
        )
        git(world.work, "commit", "-qam", "Give each model 3 s")
        git(world.work, "push", "-q", "origin", "main")
        flags = ()
    if limit == "--predict":  # the deploy workflow's job that runs the reviewed model
        flags = ("--predict", "candidate", "--predictions", str(world.tmp / "outputs"))
    pids = world.tmp / "pids"
    first = (
        f"__import__('pathlib').Path({str(pids)!r}).write_text(' '.join(map(str, ["
        "__import__('os').getpid(), __import__('subprocess').Popen([__import__('sys')"
        ".executable, '-c', 'import time; time.sleep(600)']).pid]))), "
        "__import__('time').sleep(600)"
    )
    forest = RandomForestClassifier(n_estimators=5, random_state=0)
    logged = _merged_model_that_runs(world, uri, on_github, first, forest)
    before = world.remote_head()
    capsys.readouterr()

    started = time.monotonic()
    assert deploy(world, uri, *flags) == 1
    assert time.monotonic() - started < 120
    err = capsys.readouterr().err
    assert f"mlgitops deploy: error: model of run {logged[0]} does not load" in err
    assert "it gave no answer within 3 s, and was ended (signal 9); nothing deployed" in err
    assert all(ended(int(pid)) for pid in pids.read_text().split())
    assert world.remote_head() == before
    assert versions(uri, world.name) == []
    if limit == "--predict":  # the job that ran it uploads nothing
        outputs = world.tmp / "outputs"
        assert not outputs.exists() or not any(outputs.rglob("*")), sorted(outputs.rglob("*"))


def test_train_jsons_fields_that_reach_the_commit_must_have_their_form(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    path = world.work / ".mlgitops" / world.name / "train.json"
    doc = json.loads(path.read_text())
    key = doc["content_key"] + "\nMlgitops-Environment: production"
    path.write_text(json.dumps({**doc, "content_key": key}))
    run = publish_review(on_github.state, world.work, world.name, pr=12)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 2
    head = git(world.work, "rev-parse", "HEAD")
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pull request #12, workflow run {run['id']} on {head[:12]}: "
        f"train.json's content_key {key!r} is not a sha256 content key; nothing deployed\n"
    )
    assert world.remote_head() == before
    assert versions(uri, world.name) == []


def test_the_commit_body_carries_deploys_own_verdict_not_the_uploaded_one(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer
) -> None:
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    path = world.work / ".mlgitops" / world.name / "verdict.json"
    doc = json.loads(path.read_text())
    forged = "forged summary\n\nMlgitops-Model-Version: 999"
    path.write_text(json.dumps({**doc, "summary": forged}))
    publish_review(on_github.state, world.work, world.name, pr=12)

    assert deploy(world, uri) == 0
    body = git(world.remote, "log", "-1", "--format=%B", "main")
    trailers = git(
        world.remote, "log", "-1", "--format=%(trailers:key=Mlgitops-Model-Version)", "main"
    )
    assert "forged summary" not in body and "Verdict: passed" in body
    assert trailers.strip() == "Mlgitops-Model-Version: 1"
    trailers = git(world.remote, "log", "-1", "--format=%(trailers:only,unfold)", "main")
    assert "Mlgitops-Model-Version: 1\n" in trailers + "\n"


# -- the models run only where no credential is ------------------------------------------


def recording_model(world: World, seen: Path) -> tuple[Any, Path]:
    """A real model whose pickle, each time it is loaded, writes the environment it was
    started with and its working folder to a file of its own in the folder ``seen``: the
    model, and its MLflow folder."""
    from sklearn.ensemble import RandomForestClassifier

    frame = data(world)
    real = RandomForestClassifier(n_estimators=30, random_state=0)
    real.fit(frame[FEATURES], frame[TARGET])
    folder = saved(real, world.tmp / f"recording-{seen.name}")
    seen.mkdir(exist_ok=True)
    code = (
        f"(__import__('pathlib').Path({str(seen)!r}, str(__import__('time').time_ns()))"
        ".write_text(__import__('json').dumps({'environ': dict(v.decode().split('=', 1) for v "
        "in __import__('pathlib').Path('/proc/self/environ').read_bytes().split(bytes(1)) if v), "
        "'cwd': __import__('os').getcwd()})), "
        f"__import__('pickle').loads({pickle.dumps(real)!r}))[1]"
    )
    (folder / "model.pkl").write_bytes(pickle.dumps(_Payload(code)))
    return real, folder


def loads(seen: Path) -> list[dict[str, Any]]:
    """What each load of a :func:`recording_model` saw, in the order of the loads."""
    found = sorted(seen.iterdir(), key=lambda p: int(p.name)) if seen.is_dir() else []
    return [json.loads(p.read_text()) for p in found]


def test_the_deployed_model_is_loaded_in_a_process_without_the_deploy_jobs_credentials(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model deployed before the merge is code a pull request's job wrote too."""
    uri = mlflow_server.uri
    seen = world.tmp / "seen"
    real, folder = recording_model(world, seen)
    reviewed_run(uri, world.work, world.name)
    logged = log_model(uri, world.work, world.name, folder)
    merged_with(on_github.state, world, 12, results(world.work, world.name, logged))
    assert deploy(world, uri) == 0  # the recording model is deployed: v1
    assert len(loads(seen)) == 1
    git(world.work, "pull", "-q", "origin", "main")
    merge_a_change(world)
    same = log_model(uri, world.work, world.name, saved(real, world.tmp / "plain"))
    reviewed = results(world.work, world.name, same, **reviewed_inputs(world))
    merged_with(on_github.state, world, 13, reviewed)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "deploy-credential")
    monkeypatch.setenv("MLGITOPS_PUSH_TOKEN", "push-credential")

    # The same model, unwrapped: it predicts what v1 predicts, and deploys over it.
    assert deploy(world, uri) == 0
    [_, baseline] = loads(seen)  # v1, loaded as the baseline of the second deploy
    given = set(baseline["environ"])
    assert given <= set(child_environment(dict(os.environ), world.tmp)), sorted(given)
    assert not {"MLFLOW_TRACKING_TOKEN", "MLGITOPS_PUSH_TOKEN", "GITHUB_TOKEN"} & given
    assert not Path(baseline["cwd"]).is_relative_to(world.work)
    assert versions(uri, world.name) == ["1", "2"]


#: Run as a model loads: from then on, every histogram gradient boosting model in the same
#: process (the example pipeline's estimator) gives the opposite of its own scores.
REVERSE_OTHERS = (
    "(lambda C: setattr(C, '_raw_predict', (lambda f: lambda self, *a, **k: -f(self, *a, **k))"
    "(C._raw_predict)))(__import__('sklearn.ensemble', fromlist=['_'])"
    ".HistGradientBoostingClassifier)"
)


def test_the_reviewed_model_cannot_change_how_the_deployed_model_scores(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer
) -> None:
    """deploy run as one process runs both models: the reviewed model's code, run as it
    loads, must not reach the model it is judged against. A weak model whose pickle turns
    every other model of the deployed one's class upside down would otherwise beat it."""
    from sklearn.tree import DecisionTreeClassifier

    uri = mlflow_server.uri
    # v1: the example's histogram gradient boosting
    deployed_review(world, uri, on_github.state, 12)
    merge_a_change(world)
    weak = DecisionTreeClassifier(max_depth=1, random_state=0)
    _merged_model_that_runs(world, uri, on_github, REVERSE_OTHERS, weak, number=13)

    assert deploy(world, uri) == 1  # judged against v1 as v1 scores: a drop in roc_auc
    assert versions(uri, world.name) == ["1"]
    assert model_json(world)["version"] == "1"


def stage(world: World, uri: str, *extra: str) -> int:
    return deploy(world, uri, "--predictions", str(world.tmp / "outputs"), *extra)


def test_the_deploy_stage_scores_what_the_model_stages_wrote_and_loads_no_model(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer
) -> None:
    """The deploy workflow's three jobs, in turn: the reviewed model's, the deployed
    model's, then the one that holds the credentials."""
    uri = mlflow_server.uri
    seen = world.tmp / "seen"
    deployed_review(world, uri, on_github.state, 12)  # v1: a plain model
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    _, folder = recording_model(world, seen)
    logged = log_model(uri, world.work, world.name, folder)
    merged_with(on_github.state, world, 13, results(world.work, world.name, logged))
    outputs = world.tmp / "outputs"

    assert stage(world, uri, "--predict", "candidate") == 0
    assert stage(world, uri, "--predict", "deployed") == 0
    assert len(loads(seen)) == 1  # the candidate, in its stage
    assert versions(uri, world.name) == ["1"]  # the model stages register nothing
    about = json.loads((outputs / "deployed" / "outputs.json").read_text())
    assert about["model_uri"] == f"models:/{world.name}/1"
    assert (outputs / "deployed" / "predictions.parquet").is_file()
    assert stage(world, uri) == 0
    assert len(loads(seen)) == 1  # the deploy stage loaded neither model
    assert versions(uri, world.name) == ["1", "2"]
    record = model_json(world)
    assert (record["run_id"], record["version"]) == (logged[0], "2")


def _swap(outputs: Path) -> None:
    """The deployed model's outputs where the reviewed model's go."""
    import shutil

    shutil.rmtree(outputs / "candidate")
    shutil.copytree(outputs / "deployed", outputs / "candidate")


def _edit(field: str, value: Any) -> Any:
    def edit(outputs: Path) -> None:
        path = outputs / "candidate" / "outputs.json"
        about = json.loads(path.read_text())
        path.write_text(json.dumps({**about, field: value}))

    return edit


def _fewer_rows(outputs: Path) -> None:
    path = outputs / "candidate" / "predictions.parquet"
    pd.read_parquet(path).iloc[1:].to_parquet(path, index=False)


def _lists(outputs: Path) -> None:
    """Each prediction a list: the re-score's encoding raised TypeError (exit 3)."""
    path = outputs / "candidate" / "predictions.parquet"
    frame = pd.read_parquet(path)
    frame["y_pred"] = [[v] for v in frame["y_pred"]]
    frame.to_parquet(path, index=False)


def _sparse(name: str) -> Any:
    """A file of the candidate's outputs made 64 GiB (sparse): the model's code writes its
    outputs, and such a file was read whole (MemoryError, exit 3)."""

    def grow(outputs: Path) -> None:
        with (outputs / "candidate" / name).open("r+b") as handle:
            handle.truncate(64 << 30)

    return grow


def _declared_rows(outputs: Path) -> None:
    """Predictions that declare 2**27 rows (a column of nulls, 260 KB): they were read, a
    gigabyte, before their rows were counted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"y_pred": pa.nulls(1 << 27, pa.float64())})
    pq.write_table(table, outputs / "candidate" / "predictions.parquet")


def _long_label(outputs: Path) -> None:
    """Each prediction the same 8 MiB text, one dictionary entry (a file of a few
    kilobytes): read, each row's text was written out whole, a gigabyte."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = outputs / "candidate" / "predictions.parquet"
    rows = pq.ParquetFile(path).metadata.num_rows
    label = pa.array(["m" * (8 << 20)])
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), label)
    pq.write_table(pa.table({"y_pred": column}), path, compression="zstd")


def _many_classes(outputs: Path) -> None:
    """Probabilities of 300,000 classes a row: as many float columns would be read."""
    (outputs / "candidate" / "classes.json").write_text(json.dumps(list(range(300_000))))


CHANGES = [
    (_long_label, "bytes once read (predictions.parquet), more than the 67,108,864 read for"),
    (_many_classes, "probabilities of 300,000 classes for each of the"),
    (_declared_rows, f"holdout rows (predictions.parquet holds {1 << 27:,})"),
    (_sparse("outputs.json"), f"{64 << 30:,} bytes, more than the"),
    (_sparse("classes.json"), f"its outputs cannot be read (classes.json: {64 << 30:,} bytes"),
    (_swap, "the outputs of the deployed model, where the candidate model's belong"),
    (_lists, "does not give one prediction (and one probability a class) for each"),
    (_edit("digest", "sha256:" + "0" * 64), "not of the reviewed model's"),
    (_edit("holdout", "0" * 64), "written for another pipeline or another holdout"),
    (_fewer_rows, "does not give one prediction (and one probability a class) for each"),
]


def test_outputs_of_another_model_or_holdout_deploy_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each change of the model stages' outputs, on a copy of them: the deployed model's
    where the reviewed model's go, lists for predictions, another digest, another holdout,
    a row short."""
    import shutil

    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=12)
    assert stage(world, uri, "--predict", "candidate") == 0
    assert stage(world, uri, "--predict", "deployed") == 0
    written = world.tmp / "outputs"
    before = world.remote_head()
    for i, (change, said) in enumerate(CHANGES):
        changed = world.tmp / f"changed-{i}"
        shutil.copytree(written, changed)
        change(changed)
        capsys.readouterr()

        assert deploy(world, uri, "--predictions", str(changed)) == 1, said
        err = capsys.readouterr().err
        assert said in err and "nothing deployed" in err, err
        assert versions(uri, world.name) == []
        assert world.remote_head() == before
    assert stage(world, uri) == 0  # the outputs as written deploy
    assert versions(uri, world.name) == ["1"]


def test_the_outputs_a_stage_needs_are_named_when_missing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=12)
    capsys.readouterr()
    assert deploy(world, uri, "--predict", "candidate") == 2
    assert "--predictions DIR" in capsys.readouterr().err
    assert stage(world, uri) == 1
    err = capsys.readouterr().err
    assert "candidate/outputs.json: not found" in err, err
    assert f"mlgitops deploy {world.name} --predict candidate" in err, err
    assert versions(uri, world.name) == []


def test_the_re_score_leaves_out_rows_whose_label_the_pull_request_changed(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Deploy's re-score pairs the rows compare paired: the deployed model is kept off
    the rows it was trained on with the labels a pull request changed (the merged split's
    training rows are the candidate's), whatever verdict the branch's job uploaded. A
    pull request flipping one label in four passed roc_auc's max_drop while they were
    paired."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)
    frame = data(world)
    frame.loc[::4, TARGET] = 1 - frame.loc[::4, TARGET]
    frame.to_csv(world.work / "data" / "tumors.csv", index=False)
    git(world.work, "commit", "-qam", "Relabel")
    reviewed_run(uri, world.work, world.name, passes=False)
    reviewed = handoff(world.work, world.name, "verdict.json")["holdout"]
    summary = handoff(world.work, world.name, "verdict.json")["summary"]
    train = handoff(world.work, world.name, "train.json")
    logged = (train["run_id"], train["model_uri"].removeprefix("models:/"), train["model_digest"])
    merged_with(on_github.state, world, 13, results(world.work, world.name, logged))
    capsys.readouterr()

    assert deploy(world, uri) == 1
    _, err = capsys.readouterr()
    assert "by their 10 feature columns alone" in reviewed["excluded_reason"]
    assert "roc_auc max_drop" in summary  # it passed while those rows were paired
    assert f"fails the merged gates: {summary}; nothing deployed" in err
    assert versions(uri, world.name) == ["1"]


def rewrite_signature(uri: str, world: World, model_uri: str, column: str) -> None:
    """What the PR credentials can do to the files of the deployed model (logged as
    ``model_uri``, ``models:/<id>``): its MLmodel's signature takes one more input,
    ``column``."""
    import yaml

    model_id = model_uri.removeprefix("models:/")
    tracking = open_tracking(uri, world.work, env={})
    logged = requests.get(f"{uri}/api/2.0/mlflow/logged-models/{model_id}", timeout=30).json()
    artifacts = logged["model"]["info"]["artifact_uri"]
    mlmodel = yaml.safe_load(tracking.download(artifacts, "MLmodel"))
    inputs = json.loads(mlmodel["signature"]["inputs"])
    inputs.append({"type": "double", "name": column, "required": True})
    mlmodel["signature"]["inputs"] = json.dumps(inputs)
    folder = world.tmp / "rewritten"
    folder.mkdir()
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    tracking.upload(artifacts, folder)


def test_the_deploy_stage_judges_the_deployed_model_by_the_signature_its_stage_checked(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The deployed model's stage reads its signature from the files whose digest it
    checked; the PR credentials can rewrite its MLmodel in MLflow once that stage ran, and
    the deploy stage, which downloads no model, would otherwise judge it by that one."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)  # v1
    deployed = handoff(world.work, world.name, "train.json")["model_uri"]
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    summary = handoff(world.work, world.name, "verdict.json")["summary"]
    publish_review(on_github.state, world.work, world.name, pr=13)
    assert stage(world, uri, "--predict", "candidate") == 0
    assert stage(world, uri, "--predict", "deployed") == 0
    rewrite_signature(uri, world, deployed, "ghost")
    malformed = world.tmp / "malformed"
    shutil.copytree(world.tmp / "outputs", malformed)
    about = malformed / "deployed" / "outputs.json"
    about.write_text(json.dumps({**json.loads(about.read_text()), "signature": ["radius"]}))
    capsys.readouterr()

    assert deploy(world, uri, "--predictions", str(malformed)) == 1
    assert capsys.readouterr().err.endswith(
        f"{about}: signature is not a list of [name, type] columns; nothing deployed\n"
    )
    assert stage(world, uri) == 0
    out, err = capsys.readouterr()
    assert f"re-scored on the merged holdout: {summary}\n" in out, out + err
    assert "ghost" not in out + err
    assert versions(uri, world.name) == ["1", "2"]


def test_model_json_holds_deploys_own_data_hash_not_train_jsons(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer
) -> None:
    """The content key a review names must be the merged commit's
    (``test_stale_review.py``); the hashes beside it are recorded as deploy computes them."""
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    train = handoff(world.work, world.name, "train.json")
    logged = (train["run_id"], train["model_uri"].removeprefix("models:/"), train["model_digest"])
    stated = {"hashes": {**train["hashes"], "data": "0" * 64}}
    merged_with(on_github.state, world, 12, results(world.work, world.name, logged, **stated))

    assert deploy(world, uri) == 0
    record = model_json(world)
    data_bytes = (world.work / "data" / "tumors.csv").read_bytes()
    assert record["data_hash"] == hashlib.sha256(data_bytes).hexdigest()
    assert record["content_key"] == train["content_key"]  # the merged commit's inputs'
    message = git(world.remote, "log", "-1", "--format=%B", "main")
    assert f"Mlgitops-Content-Key: {train['content_key']}" in message.splitlines()


def test_model_json_records_no_metric_deploy_did_not_re_score(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A classifier without probabilities, merged with a spec whose metrics are all scored
    on them and no gate: the re-score passes and scores no metric; the metrics the
    branch's job uploaded are not recorded as if deploy had scored them."""
    from sklearn.svm import LinearSVC

    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    text = spec.read_text()
    for old, new in (
        ("metrics: [roc_auc, accuracy, f1, log_loss]", "metrics: [roc_auc, log_loss]"),
        ("gates:\n  roc_auc: {min: 0.90, max_drop: 0.01}\n  accuracy: {min: 0.85}\n", ""),
    ):
        assert old in text
        text = text.replace(old, new)
    spec.write_text(text)
    git(world.work, "commit", "-qam", "Metrics of probabilities only, no gate")
    git(world.work, "push", "-q", "origin", "main")
    frame = data(world)
    model = LinearSVC(C=0.5, max_iter=5000).fit(frame[FEATURES], frame[TARGET])
    logged = log_model(uri, world.work, world.name, saved(model, world.tmp / "svc"))
    forged = {"roc_auc": 0.999, "log_loss": 0.001}
    uploaded = results(world.work, world.name, logged, metrics=forged, **reviewed_inputs(world))
    merged_with(on_github.state, world, 12, uploaded)
    capsys.readouterr()

    assert deploy(world, uri) == 0
    out = capsys.readouterr().out
    assert model_json(world)["metrics"] == {}
    assert (
        "  no metric could be re-scored on the merged holdout (roc_auc, log_loss): "
        "model.json records none\n"
    ) in out, out
    # the task it was judged as is recorded all the same: later reviews hold a candidate of
    # another task apart by it, where the metrics no longer tell
    recorded = load_provenance(json.dumps(model_json(world)), what="model.json")
    assert (model_json(world)["task"], task_of(recorded)) == ("classification", "classification")
