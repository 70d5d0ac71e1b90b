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

    workflow.train(capsys, in_workflow=False, force=True)  # a newer run, same key: planted
    planted = workflow.run_id()
    assert planted != first
    out = workflow.train(capsys)
    assert f"cached run {planted} is not reused" in out
    assert workflow.run_id() not in (first, planted)


def test_a_cached_run_whose_digests_are_not_the_recorded_ones_is_not_reused(
    workflow: PullRequestWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    """The workflow run recorded the model's digest when it trained: files changed in
    MLflow since (as the PR credentials can change them) are not reused."""
    workflow.train(capsys)
    first = workflow.run_id()
    run = workflow.uploaded(model_digest="sha256:" + "0" * 64)

    out = workflow.train(capsys)

    assert (
        f"cached run {first} carries other digests than workflow run {run} recorded when it "
        f"trained the run on {workflow.head[:12]} (sha256:{'0' * 64})"
    ) in out
    assert workflow.run_id() != first


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
