"""Deploy ships what the merged pull request's workflow reviewed, and nothing else.

Each attack of docs/security.md against a real MLflow server and the loopback
GitHub: a run planted under the reviewed content key, model files overwritten
after the review, a verdict committed to the repository, a push no pull
request reviewed.
"""

from __future__ import annotations

import base64
import io
import json
import random
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from mlgitops.gitops.workflow_runs import MAX_UPLOAD_BYTES
from mlgitops.jsondoc import MAX_BYTES
from mlgitops.training.tracking import open_tracking
from tests.deploy.test_deploy import deploy, versions
from tests.deploy.world import (
    World,
    cli_run,
    git,
    handoff,
    pr_workflow,
    publish_review,
    results_zip,
    reviewed_run,
)
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.github_state import GitHubState
from tests.fixtures.mlflow_server import MlflowServer
from tests.report.conftest import FIXTURES

FAR_FUTURE_MS = 4102444800000  # 2100-01-01


def model_json(world: World) -> dict[str, object]:
    doc: dict[str, object] = json.loads(
        world.remote_file(f"manifests/{world.name}/overlays/staging/model.json")
    )
    return doc


def plant_run(uri: str, root: Path, name: str) -> str:
    """What a branch's trainer can do with the PR credentials: a run under another PR's
    content key, a passed verdict tag, a start time far in the future, a model of its own."""
    content_key = handoff(root, name, "train.json")["content_key"]
    tracking = open_tracking(uri, root, env={})
    experiment = tracking.experiment(name, create=False) or ""
    answer = requests.post(
        f"{uri}/api/2.0/mlflow/runs/create",
        json={
            "experiment_id": experiment,
            "run_name": "planted",
            "start_time": FAR_FUTURE_MS,
            "tags": [
                {"key": "mlgitops.content_key", "value": content_key},
                {"key": "mlgitops.verdict", "value": "passed"},
                {"key": "mlgitops.verdict.summary", "value": "all gates passed"},
            ],
        },
        timeout=30,
    )
    answer.raise_for_status()
    run_id = str(answer.json()["run"]["info"]["run_id"])
    model = tracking.create_model(experiment, run_id, "model", {})
    folder = root.parent / "planted-model"
    folder.mkdir()
    (folder / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    tracking.upload(model.artifact_uri, folder)
    tracking.finalize_model(model.model_id, ready=True)
    tracking.log_batch(run_id, {}, {}, {"mlgitops.model_id": model.model_id})
    tracking.end_run(run_id, "FINISHED")
    return run_id


def test_deploy_anchors_on_the_merged_pull_requests_workflow_run(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    reviewed = reviewed_run(uri, world.work, world.name)
    run = publish_review(on_github.state, world.work, world.name, pr=12)
    planted = plant_run(uri, world.work, world.name)
    head = git(world.work, "rev-parse", "HEAD")
    capsys.readouterr()

    assert deploy(world, uri) == 0

    record = model_json(world)
    assert record["run_id"] != planted
    assert (record["run_id"], record["pr"]) == (reviewed, 12)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"deploy {world.name}: reviewed in pull request #12, workflow run {run['id']} "
        f"on {head[:12]}"
    )
    assert record["model_digest"] == handoff(world.work, world.name, "train.json")["model_digest"]
    assert [c.operation for c in on_github.log] == [
        "repos/list-pull-requests-associated-with-commit",
        "actions/list-workflow-runs-for-repo",
        "pulls/list",  # other pull requests from the same branch
        "actions/list-workflow-run-artifacts",
        "actions/download-artifact",
        "pulls/list-files",  # whether it changes a record of what is deployed
    ]


def test_model_files_overwritten_after_the_review_are_refused(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    run_id = reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name)
    train = handoff(world.work, world.name, "train.json")
    model_id = train["model_uri"].removeprefix("models:/")
    tracking = open_tracking(uri, world.work, env={})
    logged = requests.get(f"{uri}/api/2.0/mlflow/logged-models/{model_id}", timeout=30).json()
    swapped = world.tmp / "swapped"
    swapped.mkdir()
    (swapped / "model.pkl").write_bytes(b"not the reviewed model")
    tracking.upload(logged["model"]["info"]["artifact_uri"], swapped)
    head = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1

    err = capsys.readouterr().err
    assert err.startswith(
        f"mlgitops deploy: error: model {model_id} of run {run_id} in MLflow at {uri} has "
        "digest sha256:"
    )
    assert f", but the review recorded {train['model_digest']} (pull request #12, " in err
    assert err.endswith("its files changed after the review; nothing deployed\n")
    assert world.remote_head() == head
    assert versions(uri, world.name) == []


def test_a_committed_verdict_does_not_override_a_failed_review(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    spec.write_text(spec.read_text().replace("accuracy: {min: 0.85}", "accuracy: {min: 0.999}"))
    git(world.work, "commit", "-qam", "A gate this model cannot pass")
    run_id = reviewed_run(uri, world.work, world.name, passes=False)
    summary = handoff(world.work, world.name, "verdict.json")["summary"]
    publish_review(on_github.state, world.work, world.name)
    verdict = world.work / ".mlgitops" / world.name / "verdict.json"
    forged = {**json.loads(verdict.read_text()), "passed": True, "summary": "all gates passed"}
    verdict.write_text(json.dumps(forged))
    git(world.work, "add", "-f", str(verdict))
    git(world.work, "commit", "-qm", "Results")
    on_github.state.merge_pull(12, git(world.work, "rev-parse", "HEAD"))
    git(world.work, "push", "-q", "origin", "main")
    head = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1

    run = next(iter(on_github.state.workflow_runs))
    assert capsys.readouterr().err.splitlines(keepends=True)[-1] == (
        f"mlgitops deploy: error: run {run_id} did not pass its review (pull request #12, "
        f"workflow run {run} on {git(world.work, 'rev-parse', 'HEAD~1')[:12]}): {summary}; "
        "nothing deployed\n"
    )
    assert world.remote_head() == head
    assert versions(uri, world.name) == []


def test_a_committed_hand_off_folder_is_no_local_anchor(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = world.work / ".mlgitops" / world.name
    folder.mkdir(parents=True)
    (folder / "verdict.json").write_text('{"schema_version": 1, "passed": true}')
    git(world.work, "add", "-f", str(folder / "verdict.json"))
    git(world.work, "commit", "-qm", "Results")
    assert deploy(world, "http://127.0.0.1:9") == 1
    # the last line: mlgitops also warns about a tracked .mlgitops/ before it
    assert capsys.readouterr().err.splitlines(keepends=True)[-1] == (
        f"mlgitops deploy: error: .mlgitops/{world.name}/verdict.json is committed to Git: "
        "committed results are files anyone can write, never a review; remove them from the "
        "repository (they belong in .gitignore); nothing deployed\n"
    )


def test_a_push_that_no_pull_request_merged_deploys_nothing(
    world: World, on_github: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    head = git(world.work, "rev-parse", "HEAD")
    on_github.state.add_pull(5, head)  # open, not merged: its head is not a merge
    assert deploy(world, "http://127.0.0.1:9") == 1
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: commit {head[:12]} is not the merge of a pull request: "
        "deploy ships only what a pull request reviewed (merge through a pull request); "
        "nothing deployed\n"
    )


def test_a_pull_request_whose_workflow_never_ran_deploys_nothing(
    world: World, on_github: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    head = git(world.work, "rev-parse", "HEAD")
    on_github.state.add_pull(6, head, state="closed")
    on_github.state.merge_pull(6, head)
    other = on_github.state.add_workflow_run(
        head,
        name=f"mlgitops {world.name}: pull request",
        path=f".github/workflows/mlgitops-{world.name}-pr.yml",
        head_repo="someone/ml",  # a fork's run cannot vouch for this repository
    )
    assert other["id"]
    assert deploy(world, "http://127.0.0.1:9") == 1
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pull request #6: no completed run of "
        f".github/workflows/mlgitops-{world.name}-pr.yml on its last commit {head[:12]} "
        "(branch feature) from this repository before its merge, so nothing reviewed it; "
        "nothing deployed\n"
    )


def test_results_uploaded_again_after_the_merge_deploy_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The reviewed run, run again after the merge, trained anew and uploaded its results
    over the reviewed ones (``overwrite: true``): a model and a verdict nobody reviewed."""
    uri, state, name = mlflow_server.uri, on_github.state, world.name
    reviewed = reviewed_run(uri, world.work, name)
    run = publish_review(state, world.work, name, pr=12)
    merged_at = state.pulls[12]["merged_at"]
    state.rerun(run["id"], status="completed")
    assert cli_run(world.work, "train", name, "--tracking-uri", uri, "--force") == 0
    assert cli_run(world.work, "compare", name, "--tracking-uri", uri) == 0
    retrained = handoff(world.work, name, "train.json")["run_id"]
    assert retrained != reviewed
    aid = state.upload_artifact(run["id"], f"mlgitops-{name}-train", results_zip(world.work, name))
    head = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1

    uploaded = state.artifacts[aid]["created_at"]
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pull request #12: artifact mlgitops-{name}-train of workflow "
        f"run {run['id']} was uploaded at {uploaded}, after the merge at {merged_at} (the run "
        "was run again since): its results are not the ones reviewed; nothing deployed\n"
    )
    assert world.remote_head() == head
    assert versions(uri, name) == []


def test_results_whose_upload_github_gives_no_time_for_deploy_nothing(
    world: World, on_github: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The contract lets an artifact's times be null: whether it was uploaded before the
    merge cannot be told."""
    state = on_github.state
    run = publish_review(state, world.work, world.name, pr=12)
    (artifact,) = [a for a in state.artifacts.values() if a["workflow_run"]["id"] == run["id"]]
    artifact.update(created_at=None, updated_at=None)

    assert deploy(world, "http://127.0.0.1:9") == 1

    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pull request #12: GitHub gives no time for the upload of "
        f"artifact mlgitops-{world.name}-train (workflow run {run['id']}), so whether its "
        "results are the ones reviewed before the merge cannot be told; nothing deployed\n"
    )


def test_a_review_running_again_after_the_merge_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The pull request's newest run, run again after the merge, is not completed: an older
    run on the same commit is not its review in its place (the newest may have judged
    otherwise, against another deployed model)."""
    uri, state, name = mlflow_server.uri, on_github.state, world.name
    reviewed_run(uri, world.work, name)
    head = git(world.work, "rev-parse", "HEAD")
    state.add_pull(12, head)
    runs = []
    for _ in range(2):
        runs.append(
            state.add_workflow_run(
                head, name=f"mlgitops {name}: pull request", path=pr_workflow(world)
            )
        )
        state.add_artifact(runs[-1]["id"], f"mlgitops-{name}-train", results_zip(world.work, name))
    state.merge_pull(12, head)
    state.rerun(runs[-1]["id"])
    capsys.readouterr()

    assert deploy(world, uri) == 1

    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pull request #12: workflow run {runs[-1]['id']}, the newest "
        f"of {pr_workflow(world)} on its last commit {head[:12]}, is in_progress (attempt 2): "
        "its results are not settled; nothing deployed (once it completes, running the "
        "deploy again takes its results only where the attempt uploaded none: a new upload "
        "was made after the merge)\n"
    )
    assert versions(uri, name) == []


def merged_upload(
    world: World, state: GitHubState, write: Callable[[zipfile.ZipFile], None]
) -> tuple[dict[str, Any], bytes]:
    """A pull request merged as HEAD, whose PR workflow run uploaded what ``write`` puts in
    the zip (what the run's job wrote): the run, and the upload."""
    head = git(world.work, "rev-parse", "HEAD")
    state.add_pull(6, head, state="closed")
    run = state.add_workflow_run(
        head,
        name=f"mlgitops {world.name}: pull request",
        path=f".github/workflows/mlgitops-{world.name}-pr.yml",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        write(archive)
    state.add_artifact(run["id"], f"mlgitops-{world.name}-train", buffer.getvalue())
    state.merge_pull(6, head)
    return run, buffer.getvalue()


def test_a_reviewed_verdict_nested_too_deeply_deploys_nothing(
    world: World, on_github: GitHubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The PR workflow's upload is what its job wrote: a verdict.json nested 100,000 deep
    ran the parser's recursion out in the deploy job (exit 3)."""

    def write(archive: zipfile.ZipFile) -> None:
        archive.writestr(f"{world.name}/train.json", (FIXTURES / "train.json").read_bytes())
        archive.writestr(f"{world.name}/verdict.json", "[" * 100_000 + "]" * 100_000)

    run, _ = merged_upload(world, on_github.state, write)
    assert deploy(world, "http://127.0.0.1:9") == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: workflow run {run['id']}: verdict.json: not valid JSON "
        "(nested more than 100 levels deep)\n"
    )


@pytest.mark.parametrize("where", ["member", "archive"])
def test_a_reviewed_upload_larger_than_any_review_s_results_deploys_nothing(
    world: World, on_github: GitHubServer, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """The upload is what the PR workflow's job wrote: a train.json of gigabytes of spaces
    (a few megabytes zipped) was unpacked whole into the deploy job's memory. A results file
    past a hand-off document's limit (:data:`~mlgitops.jsondoc.MAX_BYTES`, which the report
    holds them to) is refused before it is unpacked, and an upload past
    :data:`~mlgitops.gitops.workflow_runs.MAX_UPLOAD_BYTES` before it is downloaded."""
    train = (FIXTURES / "train.json").read_bytes()
    padding = MAX_BYTES + 1 - len(train) if where == "member" else 0

    def write(archive: zipfile.ZipFile) -> None:
        archive.writestr(f"{world.name}/train.json", train + b" " * padding)
        archive.writestr(f"{world.name}/verdict.json", (FIXTURES / "verdict.json").read_bytes())
        if where == "archive":  # stored as it is: bytes of no pattern
            noise = random.Random(1).randbytes(MAX_UPLOAD_BYTES)
            archive.writestr("noise", noise, compress_type=zipfile.ZIP_STORED)

    run, uploaded = merged_upload(world, on_github.state, write)
    assert (len(uploaded) < MAX_BYTES) == (where == "member")
    assert deploy(world, "http://127.0.0.1:9") == 2
    what = f"artifact mlgitops-{world.name}-train of workflow run {run['id']}"
    said, limit = (
        (f"{world.name}/train.json unpacks to {MAX_BYTES + 1:,} bytes", MAX_BYTES)
        if where == "member"
        else (f"{len(uploaded):,} bytes", MAX_UPLOAD_BYTES)
    )
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: {what}: {said}, more than any review's results "
        f"({limit:,}); nothing deployed\n"
    )
    assert len(on_github.calls("actions/download-artifact")) == (where == "member")


def attestation_bundle(digest: str, workflow: str, run_id: int) -> dict[str, object]:
    """A Sigstore bundle as actions/attest-build-provenance stores it (signature elided)."""
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "mlgitops-model", "digest": {"sha256": digest.split(":", 1)[1]}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/pull/12/merge",
                        "repository": "https://github.com/octo/ml",
                        "path": workflow,
                    }
                }
            },
            "runDetails": {
                "metadata": {
                    "invocationId": f"https://github.com/octo/ml/actions/runs/{run_id}/attempts/1"
                }
            },
        },
    }
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {},
        "dsseEnvelope": {
            "payload": payload,
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [],
        },
    }


def test_with_attest_on_deploy_requires_the_attestation_of_the_reviewed_run(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri, name = mlflow_server.uri, world.name
    config = world.work / "mlgitops.yaml"
    config.write_text(config.read_text() + "attest: true\n")
    git(world.work, "commit", "-qam", "Attest models")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, name)
    run = publish_review(on_github.state, world.work, name)
    digest = handoff(world.work, name, "train.json")["model_digest"]
    workflow = f".github/workflows/mlgitops-{name}-pr.yml"
    other_run = int(run["id"]) + 1
    on_github.state.add_attestation(digest, attestation_bundle(digest, workflow, other_run))
    head = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: attest is on, but none of the 1 attestation(s) of model "
        f"digest {digest} comes from {workflow} in workflow run {run['id']} (pull request #12, "
        f"workflow run {run['id']} on {git(world.work, 'rev-parse', 'HEAD')[:12]}); "
        "nothing deployed\n"
    )
    assert world.remote_head() == head

    on_github.state.add_attestation(digest, attestation_bundle(digest, workflow, int(run["id"])))
    assert deploy(world, uri) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"  attestation: {digest} attested by workflow run {run['id']} ({workflow})"
    assert model_json(world)["model_digest"] == digest


@pytest.mark.parametrize(
    ("field", "what"),
    [("model_digest", "model digest"), ("training_rows_digest", "training rows digest")],
)
def test_a_review_that_records_no_digest_deploys_nothing(field: str, what: str) -> None:
    """Without either digest deploy could not tell the reviewed files from others: the
    model's, or the training rows compare keeps it off once it is deployed (a train job's
    code can leave either out of its train.json)."""
    from mlgitops import results
    from mlgitops.errors import CheckFailed
    from mlgitops.gitops.anchor import Anchor, check

    doc = json.loads((FIXTURES / "train.json").read_text())
    doc.update(training_rows_digest="sha256:" + "1" * 64, model_digest="sha256:" + "2" * 64)
    doc.update(model_uri="models:/m-0123")
    verdict = json.loads((FIXTURES / "verdict.json").read_text())
    verdict.update(passed=True)
    where = "pull request #12, workflow run 7 on 0123456789ab"
    anchor = Anchor(results.load_train_result(json.dumps(doc)), verdict, where, False, 12)
    check(anchor, "tumors")  # both recorded: nothing to say
    doc[field] = ""
    anchor = Anchor(results.load_train_result(json.dumps(doc)), verdict, where, False, 12)
    with pytest.raises(CheckFailed) as refused:
        check(anchor, "tumors")
    assert str(refused.value) == (
        f"{where}: train.json records no {what} (trained by an older mlgitops?): run the pull "
        "request's checks again; nothing deployed"
    )


@pytest.mark.parametrize("candidate", [["not", "a", "mapping"], "run", None])
def test_a_verdict_whose_candidate_is_no_record_deploys_nothing(candidate: object) -> None:
    """The PR workflow's job writes verdict.json: a candidate that is a list made the
    refusal's own message fail (exit 3)."""
    from mlgitops import results
    from mlgitops.errors import CheckFailed
    from mlgitops.gitops.anchor import Anchor, check

    doc = json.loads((FIXTURES / "train.json").read_text())
    doc.update(training_rows_digest="sha256:" + "1" * 64, model_digest="sha256:" + "2" * 64)
    doc.update(model_uri="models:/m-0123")
    verdict = json.loads((FIXTURES / "verdict.json").read_text())
    verdict.update(passed=True, candidate=candidate)
    train = results.load_train_result(json.dumps(doc))
    anchor = Anchor(train, verdict, "pull request #12", False, 12)
    with pytest.raises(CheckFailed) as refused:
        check(anchor, "tumors")
    assert str(refused.value) == (
        f"pull request #12: the verdict judged run None but train.json names run "
        f"{train.run_id}; nothing deployed"
    )
