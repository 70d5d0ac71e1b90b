"""In a pull request's workflow a cached run is reused only where a run of the same
workflow on the same commit uploaded results saying it trained it: the PR credentials can
put a run under any content key (a planted run), and MLflow cannot say who made it.

A real MLflow server, the loopback GitHub server (every request checked against the
contract) and the real ``train`` command, in a repository at one commit."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, example_repo, unique

pytestmark = pytest.mark.slow


def _results(root: Path, name: str, **changes: Any) -> bytes:
    """The train job's ``mlgitops-<name>-train`` upload of the hand-off's train.json."""
    doc = json.loads((root / ".mlgitops" / name / "train.json").read_text())
    doc.update(changes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}/train.json", json.dumps(doc))
    return buffer.getvalue()


class PullRequestWorkflow:
    """A repository at one commit, and a pull request's workflow runs on it."""

    def __init__(
        self, root: Path, name: str, uri: str, github: GitHubServer, mp: pytest.MonkeyPatch
    ):
        self.root, self.name, self.uri, self.github = root, name, uri, github
        self.head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        event = root.parent / "event.json"
        pull = {"number": 7, "head": {"sha": self.head, "ref": "feature"}, "base": {"ref": "main"}}
        event.write_text(json.dumps({"pull_request": pull}))
        self.env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_TOKEN": github.token,
            "GITHUB_REPOSITORY": github.state.repo,
            "GITHUB_API_URL": github.api_url,
        }
        self.mp = mp

    def train(
        self, capsys: pytest.CaptureFixture[str], *, in_workflow: bool = True, force: bool = False
    ) -> str:
        """``mlgitops train`` (in the workflow's environment, or elsewhere): its output."""
        with self.mp.context() as env:
            for key, value in self.env.items():
                if in_workflow:
                    env.setenv(key, value)
                else:
                    env.delenv(key, raising=False)
            capsys.readouterr()
            extra = ["--force"] if force else []
            assert cli(self.root, "train", self.name, "--tracking-uri", self.uri, *extra) == 0
        return capsys.readouterr().out

    def uploaded(self, sha: str | None = None, **changes: Any) -> int:
        """A finished run of the PR workflow on ``sha`` (default: this commit) that uploaded
        the hand-off folder's train.json (with ``changes``); its id."""
        run = self.github.state.add_workflow_run(
            sha or self.head,
            name=f"mlgitops {self.name}: pull request",
            path=f".github/workflows/mlgitops-{self.name}-pr.yml",
        )
        archive = _results(self.root, self.name, **changes)
        self.github.state.add_artifact(run["id"], f"mlgitops-{self.name}-train", archive)
        return int(run["id"])

    def run_id(self) -> str:
        doc = json.loads((self.root / ".mlgitops" / self.name / "train.json").read_text())
        return str(doc["run_id"])


@pytest.fixture
def workflow(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> PullRequestWorkflow:
    name = unique("bound")
    root = example_repo(tmp_path / "repo", name)
    return PullRequestWorkflow(root, name, mlflow_server.uri, github_server, monkeypatch)


def test_a_run_made_outside_the_pull_requests_workflow_is_not_reused(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    """Planted: a run under the commit's content key, by code that is not this commit's
    workflow (here a train outside it; the PR credentials can create one with any tags)."""
    out = workflow.train(capsys, in_workflow=False)
    planted = workflow.run_id()
    assert f"trained run {planted}" in out
    workflow.uploaded(sha="f" * 40)  # a run on another commit says it trained it: no record

    out = workflow.train(capsys)

    assert (
        f"cached run {planted} is not reused: no run of this pull request's workflow on its "
        f"commit {workflow.head[:12]} uploaded results saying it trained that run"
    ) in out
    trained = workflow.run_id()
    assert trained != planted and f"trained run {trained} in" in out
    handed_off = json.loads(
        (workflow.root / ".mlgitops" / workflow.name / "train.json").read_text()
    )
    assert handed_off["cached"] is False


def test_a_run_this_commits_workflow_trained_is_reused_and_one_planted_after_it_is_not(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow.train(capsys)
    first = workflow.run_id()
    run = workflow.uploaded()

    out = workflow.train(capsys)  # a re-run of the commit's checks
    assert (
        f"cached run {first} was trained by workflow run {run} on this commit "
        f"({workflow.head[:12]}), as its uploaded results record"
    ) in out
    assert f"cache hit, reusing run {first}" in out

    # a newer run under the same key (planted, or a developer's train of the same inputs)
    # is not reused, and does not hide the run this commit's workflow trained
    workflow.train(capsys, in_workflow=False, force=True)
    planted = workflow.run_id()
    assert planted != first
    out = workflow.train(capsys)
    assert (
        f"cached run {planted}, the newest under the content key, is not one this pull "
        f"request's workflow trained; run {first} is: workflow run {run} trained it on this "
        f"commit ({workflow.head[:12]}), as its uploaded results record"
    ) in out
    assert f"cache hit, reusing run {first}" in out
    assert workflow.run_id() == first
    handed_off = json.loads(
        (workflow.root / ".mlgitops" / workflow.name / "train.json").read_text()
    )
    assert handed_off["cached"] is True and handed_off["run_id"] == first


def test_every_re_run_reuses_the_training_of_the_first_attempt(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each attempt of a workflow run uploads its results over the last one's
    (``overwrite: true``): after a re-run that reused the training, the run's record says
    ``cached: true``, and it still records the run its workflow trained on this commit."""
    workflow.train(capsys)
    first = workflow.run_id()
    run = workflow.uploaded()
    assert "cache hit, reusing run" in workflow.train(capsys)  # attempt 2
    state, name = workflow.github.state, f"mlgitops-{workflow.name}-train"
    state.rerun(run, status="completed")
    state.upload_artifact(run, name, _results(workflow.root, workflow.name))
    (uploaded,) = [a for a in state.artifacts.values() if a["workflow_run"]["id"] == run]
    assert json.loads(_member(state.blobs[uploaded["id"]], workflow.name))["cached"] is True

    out = workflow.train(capsys)  # attempt 3

    assert (
        f"cached run {first} was recorded by workflow run {run} on this commit "
        f"({workflow.head[:12]}), as its uploaded results say (it trained the run, or reused "
        "it from one that did)"
    ) in out
    assert f"cache hit, reusing run {first}" in out
    assert workflow.run_id() == first


def _member(archive: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return zipped.read(f"{name}/train.json")


def test_a_recorded_run_whose_hand_off_changed_gives_way_to_an_older_record(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two records of this commit's workflow, each for a run it trained: the newest run's
    training rows were rewritten in MLflow since, so the older record's run is reused."""
    workflow.train(capsys)
    first = workflow.run_id()
    older = workflow.uploaded()
    workflow.train(capsys, force=True)  # a re-run with the cache skipped: a second training
    second = workflow.run_id()
    newer = workflow.uploaded()
    assert second != first
    _upload(workflow, second, "training_rows.parquet", _rows(), tmp_path)

    out = workflow.train(capsys)

    assert f"cached run {second} is not what workflow run {newer} recorded" in out
    assert "its hand-off in MLflow changed since; not reused" in out
    assert (
        f"run {first} is: workflow run {older} trained it on this commit ({workflow.head[:12]})"
    ) in out
    assert workflow.run_id() == first


def test_a_cached_run_whose_digests_are_not_the_recorded_ones_is_not_reused(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    """The workflow run recorded the model's digest when it trained: a run whose hand-off
    says another is not the one it trained."""
    workflow.train(capsys)
    first = workflow.run_id()
    run = workflow.uploaded(model_digest="sha256:" + "0" * 64)

    out = workflow.train(capsys)

    assert (
        f"cached run {first} is not what workflow run {run} recorded when it trained it on "
        f"{workflow.head[:12]} (model digest sha256:{'0' * 64}, training rows sha256:"
    ) in out
    assert workflow.run_id() != first


def test_training_rows_rewritten_in_mlflow_after_the_training_are_not_reused(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The rows restored are digested: rewriting them (they choose the rows a review
    compares on) while leaving train.json as it was is found."""
    workflow.train(capsys)
    first = workflow.run_id()
    workflow.uploaded()
    _upload(workflow, first, "training_rows.parquet", _rows(), tmp_path)

    out = workflow.train(capsys)

    assert f"cached run {first} is not what workflow run" in out
    assert "its hand-off in MLflow changed since; training anew" in out
    assert workflow.run_id() != first


def test_a_run_of_the_commit_on_another_branch_is_no_record(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same commit pushed to another branch, in a pull request into a base whose
    workflow file uploads what it likes: its run is not this pull request's."""
    workflow.train(capsys)
    first = workflow.run_id()
    run = workflow.github.state.add_workflow_run(
        workflow.head,
        name=f"mlgitops {workflow.name}: pull request",
        path=f".github/workflows/mlgitops-{workflow.name}-pr.yml",
        head_branch="elsewhere",
    )
    workflow.github.state.add_artifact(
        run["id"], f"mlgitops-{workflow.name}-train", _results(workflow.root, workflow.name)
    )

    out = workflow.train(capsys)

    assert f"cached run {first} is not reused: no run of this pull request's workflow" in out


@pytest.mark.parametrize(
    "record",
    [
        {"cached": 0},
        {"model_digest": ""},
        {"run_id": "0' or attributes.status = 'FINISHED"},
        b"not a zip",
        b"PK\x03\x04cut",
    ],
    ids=[
        "cached not a bool",
        "no digest",
        "a run id that is a filter",
        "not a zip",
        "a broken zip",
    ],
)
def test_results_that_do_not_say_the_run_trained_it_are_no_record(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], record: Any
) -> None:
    workflow.train(capsys)
    first = workflow.run_id()
    if isinstance(record, bytes):
        run = workflow.uploaded()
        artifact = next(
            a for a in workflow.github.state.artifacts.values() if a["workflow_run"]["id"] == run
        )
        workflow.github.state.blobs[int(artifact["id"])] = record
    else:
        run = workflow.uploaded(**record)

    out = workflow.train(capsys)  # train exits 0 (asserted): no record is no crash

    if isinstance(record, dict) and "run_id" in record:  # a record naming no run MLflow holds
        assert (
            f"run {record['run_id']}, which workflow run {run} recorded, is not a FINISHED run "
            "under the content key whose hand-off reads in MLflow; training anew"
        ) in out
    else:
        assert f"cached run {first} is not reused: no run of this pull request's workflow" in out
    assert workflow.run_id() != first


def test_a_planted_run_whose_hand_off_does_not_read_trains_anew(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workflow.train(capsys, in_workflow=False)
    planted = workflow.run_id()
    _upload(workflow, planted, "train.json", b"\xff[not json", tmp_path)

    out = workflow.train(capsys)

    assert f"cached run {planted} is incomplete (run {planted}: train.json: not a valid" in out
    assert workflow.run_id() != planted


def _rows() -> bytes:
    import pandas as pd

    buffer = io.BytesIO()
    pd.DataFrame({"fingerprint": [1, 2, 3], "inputs": [4, 5, 6]}, dtype="uint64").to_parquet(buffer)
    return buffer.getvalue()


def _upload(
    workflow: PullRequestWorkflow, run_id: str, name: str, data: bytes, tmp_path: Path
) -> None:
    """Overwrite one hand-off file of ``run_id`` in MLflow, as the PR credentials can."""
    import requests

    from mlgitops.training.tracking import open_tracking

    folder = tmp_path / f"forged-{name}"
    folder.mkdir()
    (folder / name).write_bytes(data)
    run = requests.get(
        f"{workflow.uri}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30
    ).json()["run"]
    open_tracking(workflow.uri, workflow.root, env={}).upload(
        run["info"]["artifact_uri"], folder, "mlgitops"
    )


def test_without_github_a_cached_run_is_not_reused_in_the_workflow(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow.train(capsys)
    first = workflow.run_id()
    workflow.uploaded()
    del workflow.env["GITHUB_TOKEN"]
    workflow.mp.delenv("GITHUB_TOKEN", raising=False)

    out = workflow.train(capsys)

    assert f"cached run {first} is not reused: in a pull request's workflow" in out
    assert workflow.run_id() != first


def test_a_run_while_another_pull_request_from_the_branch_was_open_is_no_record(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub lists runs by head branch and commit: a run of the same commit for a pull
    request from this branch into another base ran that base's workflow file."""
    workflow.github.state.add_pull(8, workflow.head, base="release", head_ref="feature")
    workflow.train(capsys)
    first = workflow.run_id()
    workflow.uploaded()

    out = workflow.train(capsys)

    assert f"cached run {first} is not reused: no run of this pull request's workflow" in out
    assert workflow.run_id() != first


def _handed_off(workflow: PullRequestWorkflow) -> dict[str, Any]:
    return json.loads((workflow.root / ".mlgitops" / workflow.name / "train.json").read_text())


def _logged_train_json(workflow: PullRequestWorkflow, run_id: str) -> dict[str, Any]:
    """The train.json MLflow holds for ``run_id`` (what the PR credentials can rewrite)."""
    import requests

    from mlgitops.training.tracking import open_tracking

    run = requests.get(
        f"{workflow.uri}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30
    ).json()["run"]
    tracking = open_tracking(workflow.uri, workflow.root, env={})
    return dict(json.loads(tracking.download(run["info"]["artifact_uri"], "mlgitops/train.json")))


def _retag(workflow: PullRequestWorkflow, run_id: str, content_key: str) -> None:
    import requests

    from mlgitops.training.tracking import CONTENT_KEY_TAG

    requests.post(
        f"{workflow.uri}/api/2.0/mlflow/runs/set-tag",
        json={"run_id": run_id, "key": CONTENT_KEY_TAG, "value": content_key},
        timeout=30,
    ).raise_for_status()


def test_a_reused_run_is_handed_off_as_its_record_states_it_not_as_mlflow_does(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """train.json in MLflow rewritten to name other training rows (the rows left as they
    were, so their digest still matches the record): the hand-off states the record's
    digest, so deploy checks the rows against what the workflow run recorded."""
    workflow.train(capsys)
    first = workflow.run_id()
    recorded = _handed_off(workflow)
    workflow.uploaded()
    forged = _logged_train_json(workflow, first)
    forged.update(training_rows_digest="sha256:" + "1" * 64, metrics={"accuracy": 1.0})
    _upload(workflow, first, "train.json", json.dumps(forged).encode(), tmp_path)

    out = workflow.train(capsys)

    assert f"cache hit, reusing run {first}" in out
    handed = _handed_off(workflow)
    assert handed["training_rows_digest"] == recorded["training_rows_digest"]
    assert handed["metrics"] == recorded["metrics"]
    assert {k: v for k, v in handed.items() if k not in ("cached", "duration_s")} == {
        k: v for k, v in recorded.items() if k not in ("cached", "duration_s")
    }


def test_a_record_of_other_inputs_is_no_record_for_these(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The same commit's inputs can change (data behind a URL, another mlgitops): the
    recorded run is tagged with the new key in MLflow, and a newest run planted under it
    claims the old one. Neither is a run of these inputs."""
    workflow.train(capsys)
    first = workflow.run_id()
    old_key = _handed_off(workflow)["content_key"]
    workflow.uploaded()
    data = workflow.root / "data" / "tumors.csv"
    text = data.read_text()
    assert "17.99," in text
    data.write_text(text.replace("17.99,", "17.98,", 1))  # same commit, other data
    workflow.train(capsys, in_workflow=False)  # the newest run under the new key: planted
    planted = workflow.run_id()
    new_key = _handed_off(workflow)["content_key"]
    assert new_key != old_key
    forged = _logged_train_json(workflow, planted)
    forged["content_key"] = old_key
    _upload(workflow, planted, "train.json", json.dumps(forged).encode(), tmp_path)
    _retag(workflow, first, new_key)

    out = workflow.train(capsys)

    assert "cache hit" not in out
    assert workflow.run_id() not in (first, planted)
    assert _handed_off(workflow)["content_key"] == new_key


def test_a_newest_run_holding_a_recorded_runs_train_json_is_not_that_run(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A planted run's train.json copied from the recorded run's: its files are its own, so
    it is not the recorded run; the recorded run is reused, with its own files."""
    workflow.train(capsys)
    first = workflow.run_id()
    predictions = (workflow.root / ".mlgitops" / workflow.name / "predictions.parquet").read_bytes()
    workflow.uploaded()
    genuine = _logged_train_json(workflow, first)
    workflow.train(capsys, in_workflow=False, force=True)
    planted = workflow.run_id()
    _upload(workflow, planted, "train.json", json.dumps(genuine).encode(), tmp_path)

    out = workflow.train(capsys)

    assert f"cached run {planted} is incomplete (its train.json names run {first})" in out
    assert f"run {first} is: workflow run" in out
    assert f"cache hit, reusing run {first}" in out
    handed = workflow.root / ".mlgitops" / workflow.name / "predictions.parquet"
    assert handed.read_bytes() == predictions


@pytest.mark.parametrize("in_workflow", [True, False], ids=["in the workflow", "elsewhere"])
@pytest.mark.parametrize(
    "change",
    [{"metrics": {"accuracy": "high"}}, {"run_id": 123}, {"content_key": ["k"]}],
    ids=["a metric not a number", "a run id not a string", "a key not a string"],
)
def test_a_cached_train_json_of_the_wrong_types_trains_anew(
    workflow: PullRequestWorkflow,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    in_workflow: bool,
    change: dict[str, Any],
) -> None:
    """In MLflow, and in a workflow run's record: a value of the wrong type is a hand-off
    that does not read (train exits 0, asserted), not a crash."""
    workflow.train(capsys)
    first = workflow.run_id()
    workflow.uploaded(**change)
    forged = _logged_train_json(workflow, first) | change
    _upload(workflow, first, "train.json", json.dumps(forged).encode(), tmp_path)

    out = workflow.train(capsys, in_workflow=in_workflow)

    assert f"cached run {first} is incomplete (run {first}: train.json: not a valid" in out
    assert workflow.run_id() != first


def test_a_newest_run_whose_hand_off_does_not_read_hides_no_recorded_one(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workflow.train(capsys)
    first = workflow.run_id()
    run = workflow.uploaded()
    workflow.train(capsys, in_workflow=False, force=True)
    planted = workflow.run_id()
    _upload(workflow, planted, "train.json", b"\xff[not json", tmp_path)

    out = workflow.train(capsys)

    assert f"cached run {planted} is incomplete (run {planted}: train.json: not a valid" in out
    assert f"run {first} is: workflow run {run} trained it on this commit" in out
    assert f"cache hit, reusing run {first}" in out
