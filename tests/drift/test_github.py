"""The retraining pull request and the drift issue, against the loopback GitHub server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlgitops.cli import main
from mlgitops.drift.action import LABEL, branch_name, marker_path, update_marker
from tests.drift.repo import make_repo, shifted_rows, write_csv
from tests.fixtures.gha_runner import job_permissions
from tests.fixtures.github_server import TOKEN, GitHubServer

BRANCH = branch_name("demo")
MAIN_SHA = "a" * 40
COMPUTED = "mlgitops drift: no stored reference found; computed one from data/train.csv"


@pytest.fixture
def github(github_server: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> GitHubServer:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", github_server.state.repo)
    monkeypatch.setenv("GITHUB_API_URL", github_server.api_url)
    github_server.state.refs["heads/main"] = MAIN_SHA
    return github_server


Drift = Callable[..., tuple[int, str]]


@pytest.fixture
def drift(
    github: GitHubServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Drift:
    """``mlgitops drift demo ARGS`` in a repository, its exit code and last line; with the
    token the rendered drift workflow's job holds (unless ``--action`` overrides the spec's,
    which the workflow never does): a call its permissions do not grant is refused."""

    def run(repo: Path, *args: str) -> tuple[int, str]:
        if "--action" not in args and not (repo / DRIFT_WORKFLOW).is_file():
            spec = repo / "pipelines" / "demo.yaml"
            text = spec.read_text()
            if "schedule:" not in text:  # the schedule the drift workflow is rendered for
                spec.write_text(text.replace("drift:\n", 'drift:\n  schedule: "0 6 * * 1"\n'))
            assert main(["-C", str(repo), "render"]) == 0
            capsys.readouterr()
        if "--action" not in args:
            workflow = yaml.safe_load((repo / DRIFT_WORKFLOW).read_text())
            [job] = workflow["jobs"].values()
            monkeypatch.setenv("GITHUB_TOKEN", github.mint(job_permissions(workflow, job)))
        code = main(["-C", str(repo), "drift", "demo", *args])
        return code, capsys.readouterr().out.splitlines()[-1]

    return run


DRIFT_WORKFLOW = ".github/workflows/mlgitops-demo-drift.yml"


def _shift_more(repo: Path) -> None:
    write_csv(repo / "data" / "recent.csv", [(x + 80, "a", x % 2) for x in range(1, 101)])


def test_drift_opens_one_pull_request(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    code, last = drift(repo)
    assert code == 1
    assert last == (
        "mlgitops drift: drift found; opened pull request #1: "
        "https://github.com/octo/ml/pull/1 (drift report in its body)"
    )
    state = github.state
    (pull,) = state.pulls.values()
    assert pull["title"] == "Retrain demo: data drift detected"
    assert pull["body"] == (repo / ".mlgitops" / "demo" / "drift.md").read_text()
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (BRANCH, "main")
    assert state.refs[f"heads/{BRANCH}"] == MAIN_SHA
    marker = state.files[(BRANCH, marker_path("demo"))]
    assert marker == (repo / ".mlgitops" / "demo" / "drift.json").read_bytes()
    assert state.comments == {}


def test_rerun_with_the_same_drift_changes_nothing(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    drift(repo)
    writes = len(github.calls("repos/create-or-update-file-contents"))
    code, last = drift(repo)
    assert code == 1
    assert last == (
        "mlgitops drift: drift found; updated pull request #1: "
        "https://github.com/octo/ml/pull/1 (marker unchanged, report unchanged)"
    )
    assert len(github.state.pulls) == 1
    assert len(github.calls("repos/create-or-update-file-contents")) == writes == 1
    assert github.calls("pulls/create") and len(github.calls("pulls/create")) == 1
    assert github.state.comments == {}


def test_rerun_with_new_drift_commits_the_marker_and_keeps_one_comment(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    drift(repo)
    _shift_more(repo)
    assert drift(repo)[1] == (
        "mlgitops drift: drift found; updated pull request #1: "
        "https://github.com/octo/ml/pull/1 (marker committed, latest report commented)"
    )
    write_csv(repo / "data" / "recent.csv", [(x + 90, "b", x % 2) for x in range(1, 101)])
    assert drift(repo)[1].endswith("(marker committed, latest report comment updated)")
    assert len(github.state.pulls) == 1
    (comment,) = github.state.comments_on(1)
    report = (repo / ".mlgitops" / "demo" / "drift.md").read_text()
    assert comment["body"] == f"{update_marker('demo')}\n**Latest drift check**\n\n{report}"
    marker = github.state.files[(BRANCH, marker_path("demo"))]
    assert marker == (repo / ".mlgitops" / "demo" / "drift.json").read_bytes()
    assert len(github.calls("repos/create-or-update-file-contents")) == 3
    # back to the first drift: the body says it again, and the comment follows
    write_csv(repo / "data" / "recent.csv", shifted_rows())
    assert drift(repo)[1].endswith("(marker committed, latest report comment updated)")
    (comment,) = github.state.comments_on(1)
    assert comment["body"].endswith(github.state.pulls[1]["body"])


def test_after_the_pull_request_is_closed_a_new_one_starts_from_the_base(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    drift(repo)
    github.state.pulls[1]["state"] = github.state.issues[1]["state"] = "closed"
    github.state.refs[f"heads/{BRANCH}"] = "b" * 40  # the branch moved on while the PR was open
    github.state.refs["heads/main"] = "c" * 40
    code, last = drift(repo)
    assert (code, last) == (
        1,
        "mlgitops drift: drift found; opened pull request #2: "
        "https://github.com/octo/ml/pull/2 (drift report in its body)",
    )
    assert github.state.refs[f"heads/{BRANCH}"] == "c" * 40
    assert [c.body for c in github.calls("git/update-ref")] == [{"sha": "c" * 40, "force": True}]


def test_no_drift_touches_nothing(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo")
    assert drift(repo) == (0, "mlgitops drift: no drift; nothing opened")
    assert github.log == []


def test_issue_action_opens_one_issue_and_reruns_update_a_comment(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", extra="  action: issue\n", recent=shifted_rows())
    assert drift(repo) == (
        1,
        "mlgitops drift: drift found; opened issue #1: "
        "https://github.com/octo/ml/issues/1 (drift report in its body)",
    )
    (issue,) = github.state.issues.values()
    assert (issue["title"], [x["name"] for x in issue["labels"]]) == ("Data drift in demo", [LABEL])
    assert issue["body"] == (repo / ".mlgitops" / "demo" / "drift.md").read_text()
    assert drift(repo)[1] == (
        "mlgitops drift: drift found; updated issue #1: "
        "https://github.com/octo/ml/issues/1 (report unchanged)"
    )
    _shift_more(repo)
    assert drift(repo)[1].endswith(
        "updated issue #1: https://github.com/octo/ml/issues/1 (latest report commented)"
    )
    assert len(github.state.issues) == 1
    assert len(github.state.comments_on(1)) == 1
    assert github.state.refs == {"heads/main": MAIN_SHA}


def test_issue_found_by_its_marker_when_the_label_was_removed(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    drift(repo, "--action", "issue")
    github.state.issues[1]["labels"] = []
    assert drift(repo, "--action", "issue")[1].startswith(
        "mlgitops drift: drift found; updated issue #1"
    )
    assert len(github.state.issues) == 1


def test_missing_base_branch_is_bad_input(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    assert main(["-C", str(repo), "drift", "demo", "--base", "release"]) == 2
    assert capsys.readouterr().err == (
        f"{COMPUTED}\nmlgitops drift: error: base branch 'release' not found on GitHub\n"
    )
    assert github.state.pulls == {}


def test_github_refusal_is_a_service_error(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    github.inject(403, operation="pulls/create", message="Resource not accessible by integration")
    assert main(["-C", str(repo), "drift", "demo"]) == 2
    assert capsys.readouterr().err == (
        f"{COMPUTED}\n"
        "mlgitops drift: error: GitHub POST /repos/octo/ml/pulls: "
        "403 Resource not accessible by integration\n"
    )


def test_a_planted_drift_issue_by_someone_else_is_ignored(
    tmp_path: Path, github: GitHubServer, capsys: pytest.CaptureFixture[str], drift: Drift
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    drift(repo, "--action", "issue")
    planted = github.state.issues[1]
    planted["user"] = {"login": "mallory", "id": 666, "type": "User"}
    assert drift(repo, "--action", "issue")[1].startswith(
        "mlgitops drift: drift found; opened issue #2"
    )
    assert github.state.comments_on(1) == []
    assert github.state.issues[2]["user"]["login"] == "github-actions[bot]"
