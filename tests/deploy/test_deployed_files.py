"""The deployed model's files are the ones deploy checked: ``model.json`` and the
overlay's ``MODEL_DIGEST`` record their digest, and everything that loads the deployed
model (compare's baseline, the deploy workflow's ``deployed`` job, the model server the
overlay runs) checks it first. The PR MLflow credentials can write the
files of any model logged in the pipeline's experiment, the deployed one's included: a
swapped baseline would make relative gates judge against anything, and run its code."""

from __future__ import annotations

import io
import json
import pickle
import shutil

import pandas as pd
import pytest
import requests

from mlgitops.digest import training_rows_digest
from mlgitops.training.tracking import open_tracking
from tests.deploy.test_deploy import deploy, merge_a_change, versions
from tests.deploy.world import (
    World,
    cli_run,
    deployed_review,
    git,
    handoff,
    publish_review,
    reviewed_run,
)
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.k8s import kustomize_build
from tests.fixtures.mlflow_server import MlflowServer
from tests.serve import lab

pytestmark = pytest.mark.slow


class _Planted:
    """Runs code when unpickled: what a swapped model.pkl can do."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("planted code ran",))


def _swap_deployed(world: World, uri: str) -> str:
    """Overwrite version 1's model.pkl in MLflow, as the PR credentials can."""
    model_json = world.work / "manifests" / world.name / "overlays" / "staging" / "model.json"
    record = json.loads(model_json.read_text())
    version = requests.get(
        f"{uri}/api/2.0/mlflow/model-versions/get",
        params={"name": world.name, "version": record["version"]},
        timeout=30,
    ).json()["model_version"]
    model_id = str(version["source"]).removeprefix("models:/")  # the logged model it is
    logged = requests.get(f"{uri}/api/2.0/mlflow/logged-models/{model_id}", timeout=30).json()
    swapped = world.tmp / "swapped"
    swapped.mkdir()
    (swapped / "model.pkl").write_bytes(pickle.dumps(_Planted()))
    open_tracking(uri, world.work, env={}).upload(logged["model"]["info"]["artifact_uri"], swapped)
    return str(record["model_digest"])


def _swap_training_rows(world: World, uri: str, run_id: str, rows: bytes = b"") -> None:
    """Overwrite a run's training_rows.parquet in MLflow, as the PR credentials can: rows
    named here are left out of every comparison with the model the run trained. (``rows``:
    those bytes, else rows of its choosing.)"""
    forged = world.tmp / "forged"
    shutil.rmtree(forged, ignore_errors=True)
    forged.mkdir()
    if not rows:
        buffer = io.BytesIO()
        frame = pd.DataFrame({"fingerprint": [1, 2, 3], "inputs": [4, 5, 6]}, dtype="uint64")
        frame.to_parquet(buffer)
        rows = buffer.getvalue()
    (forged / "training_rows.parquet").write_bytes(rows)
    run = requests.get(
        f"{uri}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30
    ).json()["run"]
    open_tracking(uri, world.work, env={}).upload(run["info"]["artifact_uri"], forged, "mlgitops")


def test_training_rows_a_review_records_are_the_merged_data_s_own(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The pull request's train job writes the training rows its run logs and the digest
    its train.json records: a job that logs other rows than its model trained on (here it
    hides 40 of them, which later reviews would then score the deployed model on as
    unseen) with a digest to match deploys nothing. Deploy computes the rows from the
    merged commit's data and split, as train does, and holds the logged ones to them."""
    uri = mlflow_server.uri
    run_id = reviewed_run(uri, world.work, world.name)
    folder = world.work / ".mlgitops" / world.name
    train = handoff(world.work, world.name, "train.json")
    trained = pd.read_parquet(folder / "training_rows.parquet")
    buffer = io.BytesIO()
    trained.iloc[40:].to_parquet(buffer)
    forged = buffer.getvalue()
    _swap_training_rows(world, uri, run_id, forged)
    train["training_rows_digest"] = training_rows_digest(
        forged, train["fingerprint_columns"], train["target"]
    )
    (folder / "train.json").write_text(json.dumps(train))
    run = publish_review(on_github.state, world.work, world.name, pr=12)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    err = capsys.readouterr().err
    head = git(world.work, "rev-parse", "HEAD")
    assert err == (
        f"mlgitops deploy: error: the training rows run {run_id} logged "
        f"({len(trained) - 40} rows, {train['training_rows_digest']}; pull request #12, "
        f"workflow run {run['id']} on {head[:12]}) are not the {len(trained)} rows the "
        "merged commit's data and split give: 0 logged rows are not among them, 40 of "
        "them are not logged. The training job logged rows other than its model's, or the "
        "data or the split changed after the review ran (on the base branch: bring a "
        "branch up to date with its base before merging it; or at the data's URL); "
        "nothing deployed\n"
    )
    assert (world.remote_head(), versions(uri, world.name)) == (before, [])

    buffer = io.BytesIO()  # every row, but not each row's inputs
    trained[["fingerprint"]].to_parquet(buffer)
    _swap_training_rows(world, uri, run_id, buffer.getvalue())
    train["training_rows_digest"] = training_rows_digest(
        buffer.getvalue(), train["fingerprint_columns"], train["target"]
    )
    (folder / "train.json").write_text(json.dumps(train))
    publish_review(on_github.state, world.work, world.name, pr=12)
    assert deploy(world, uri) == 1
    assert (
        f"are not the {len(trained)} rows the merged commit's data and split give: they hold "
        "no inputs column (written before mlgitops recorded one?)."
    ) in capsys.readouterr().err


@pytest.fixture
def deployed_then_swapped(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer
) -> tuple[World, str, str]:
    """v1 deployed by mlgitops deploy (model.json records its digest); then a change
    reviewed against it and merged; then v1's files swapped. The checkout is on the merge."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=13)
    recorded = _swap_deployed(world, uri)
    assert recorded.startswith("sha256:")
    return world, uri, recorded


def test_compare_refuses_a_deployed_model_whose_files_changed(
    deployed_then_swapped: tuple[World, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri, recorded = deployed_then_swapped
    capsys.readouterr()
    assert cli_run(world.work, "compare", world.name, "--tracking-uri", uri) == 2
    captured = capsys.readouterr()
    assert "planted code ran" not in captured.out + captured.err
    model_uri = f"models:/{world.name}/1"
    where = f"origin/main:manifests/{world.name}/overlays/staging/model.json"
    assert captured.err.startswith(
        f"mlgitops compare: error: the deployed model {model_uri} (recorded in {where}) has "
        f"digest sha256:"
    )
    assert captured.err.endswith(
        f" in MLflow at {uri}, but {where} records {recorded}: its files changed after it was "
        "deployed, so nothing can be judged against it; restore its files, or roll back to a "
        "model whose files are intact\n"
    )
    assert not (world.work / ".mlgitops" / world.name / "verdict.json").exists()
    assert handoff(world.work, world.name, "failed.json")["stage"] == "compare"


def test_deploy_refuses_a_deployed_model_whose_files_changed(
    deployed_then_swapped: tuple[World, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri, recorded = deployed_then_swapped
    capsys.readouterr()
    outputs = world.tmp / "outputs"
    staged = ("--predictions", str(outputs), "--predict", "deployed")
    assert deploy(world, uri, *staged) == 2
    captured = capsys.readouterr()
    assert "planted code ran" not in captured.out + captured.err
    where = f":manifests/{world.name}/overlays/staging/model.json"  # at the merge's first parent
    assert f"{where} records {recorded}: its files changed after it was deployed" in captured.err
    assert not (outputs / "deployed").exists()
    assert deploy(world, uri) == 2  # as one process, likewise
    assert "planted code ran" not in "".join(capsys.readouterr())
    assert versions(uri, world.name) == ["1"]


def test_the_model_server_refuses_a_deployed_model_whose_files_changed(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer
) -> None:
    """The server runs as the built overlay says: it serves the deployed files, and once
    they are swapped it refuses to start (the canary never becomes ready), running none
    of their code."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)
    overlay = world.work / "manifests" / world.name / "overlays" / "staging"
    record = json.loads((overlay / "model.json").read_text())
    argv, env = lab.container_command(kustomize_build(overlay), world.tmp / "scratch")
    model_uri = f"models:/{world.name}/1"
    assert (env["MODEL_URI"], env["MODEL_DIGEST"]) == (model_uri, record["model_digest"])
    served = lab.start_server("deployed", argv, env, uri, world.tmp)
    try:
        lab.wait_ready(served)
    finally:
        served.proc.terminate()
        served.proc.wait(timeout=30)
    assert "warning" not in served.log.read_text()

    recorded = _swap_deployed(world, uri)
    refused = lab.start_server("swapped", argv, env, uri, world.tmp)
    assert refused.proc.wait(timeout=120) == 2
    log = refused.log.read_text()
    assert "planted code ran" not in log
    assert log.startswith(f"mlgitops serve: error: the model {model_uri} has digest sha256:")
    assert log.endswith(
        f", but the deployment names {recorded}: its files changed after it was "
        "deployed, so it is not served; restore its files, or roll back to a model whose "
        "files are intact\n"
    )


def test_an_overlay_from_before_the_digest_deploys_with_a_warning_and_render_adds_it(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """An overlay rendered before MODEL_DIGEST existed still deploys (the model server
    then checks nothing, and the deploy says so); `render` adds the literal with the
    digest model.json records, which the model server then gets."""
    uri = mlflow_server.uri
    rel = f"manifests/{world.name}/overlays/staging/kustomization.yaml"
    path = world.work / rel
    path.write_text(path.read_text().replace("      - MODEL_DIGEST=\n", ""))
    git(world.work, "commit", "-qam", "An overlay from before the digest")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=12)
    capsys.readouterr()

    assert deploy(world, uri) == 0
    assert (
        capsys.readouterr().err.count(
            f"mlgitops: warning: {rel} has no MODEL_DIGEST= literal, so the model server loads "
            f"models:/{world.name}/1 without checking its files: run `mlgitops render` and commit "
            "the overlay\n"
        )
        >= 1
    )
    assert world.remote_file(rel).endswith(f"      - MODEL_URI=models:/{world.name}/1")
    git(world.work, "pull", "-q", "origin", "main")
    assert cli_run(world.work, "render", "--check") == 1  # the literal is missing

    assert cli_run(world.work, "render") == 0
    record = json.loads((path.parent / "model.json").read_text())
    assert path.read_text().endswith(
        f"      - MODEL_URI=models:/{world.name}/1\n      - MODEL_DIGEST={record['model_digest']}\n"
    )
    _, env = lab.container_command(kustomize_build(path.parent), world.tmp / "scratch")
    assert env["MODEL_DIGEST"] == record["model_digest"]


def test_training_rows_changed_before_or_after_the_deploy_are_refused(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Compare keeps the deployed model off the rows its run logged as its training rows:
    whoever swaps them chooses the holdout rows both models are judged on. Swapped after
    the review, deploy refuses the model; swapped after the deploy, compare and the next
    deploy refuse to judge against it."""
    uri = mlflow_server.uri
    v1_run = reviewed_run(uri, world.work, world.name)
    reviewed = handoff(world.work, world.name, "train.json")["training_rows_digest"]
    assert reviewed.startswith("sha256:")
    run = publish_review(on_github.state, world.work, world.name, pr=12)
    logged = (world.work / ".mlgitops" / world.name / "training_rows.parquet").read_bytes()
    _swap_training_rows(world, uri, v1_run)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    err = capsys.readouterr().err
    head = git(world.work, "rev-parse", "HEAD")
    assert err.startswith(
        f"mlgitops deploy: error: the training rows of run {v1_run} "
        "(mlgitops/training_rows.parquet and mlgitops/train.json) in MLflow at "
        f"{uri} have digest sha256:"
    )
    assert err.endswith(
        f", but the review recorded {reviewed} (pull request #12, workflow run {run['id']} "
        f"on {head[:12]}): they changed after the review; nothing deployed\n"
    )
    assert (world.remote_head(), versions(uri, world.name)) == (before, [])

    _swap_training_rows(world, uri, v1_run, logged)  # restored: the review's rows
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    model_json = world.work / "manifests" / world.name / "overlays" / "staging" / "model.json"
    assert json.loads(model_json.read_text())["training_rows_digest"] == reviewed
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=13)
    _swap_training_rows(world, uri, v1_run)
    capsys.readouterr()

    assert cli_run(world.work, "compare", world.name, "--tracking-uri", uri) == 2
    err = capsys.readouterr().err
    where = f"origin/main:manifests/{world.name}/overlays/staging/model.json"
    assert err.startswith(
        f"mlgitops compare: error: the training rows of the deployed model "
        f"models:/{world.name}/1 (run {v1_run}, recorded in {where}) have digest sha256:"
    )
    assert err.endswith(
        f" in MLflow at {uri}, but {where} records {reviewed}: they changed after it was "
        "deployed, so nothing can be judged against it; restore its run's "
        "mlgitops/training_rows.parquet and mlgitops/train.json, or roll back to a model "
        "whose run is intact\n"
    )
    assert not (world.work / ".mlgitops" / world.name / "verdict.json").exists()
    assert deploy(world, uri) == 2
    assert f"records {reviewed}: they changed after it was deployed" in capsys.readouterr().err
    assert versions(uri, world.name) == ["1"]

    # Removed, they are no more a pass than changed ones (compare would judge on every row)
    (logged_rows,) = mlflow_server.root.rglob(f"{v1_run}/artifacts/mlgitops/training_rows.parquet")
    logged_rows.unlink()
    assert cli_run(world.work, "compare", world.name, "--tracking-uri", uri) == 2
    assert (
        f"(run {v1_run}, recorded in {where}) are missing in MLflow at {uri}, but {where} "
        f"records {reviewed}: they changed after it was deployed"
    ) in capsys.readouterr().err
