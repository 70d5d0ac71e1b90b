"""Pull requests from forks: nothing posted by the PR workflow; the workflow_run path
posts the artifact's results as untrusted data, after checking its claims with GitHub."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mlgitops.cli import main
from tests.fixtures.github_server import GitHubServer
from tests.report.conftest import HEAD, ReportRepo, fixture, pull_request_event, workflow_run_event

MARKER = "<!-- mlgitops:report:tumors -->"
Env = Callable[..., Path]


def artifact(repo: ReportRepo, tmp_path: Path, pr: int = 7, **extra: dict[str, object]) -> Path:
    claim = {"schema_version": 1, "pipeline": "tumors", "pr": pr, "head_sha": HEAD}
    docs: dict[str, dict[str, object]] = {
        "validation": fixture("validation.json"),
        "pr": claim,
        **extra,
    }
    return repo.write(tmp_path / "artifact", **docs)


def report(repo: ReportRepo, *args: str) -> int:
    return main(["-C", str(repo.root), "report", "tumors", *args])


def test_fork_pull_request_workflow_posts_nothing(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report_repo.write(validation=fixture("validation.json"))
    github_env(
        github_server.api_url,
        "pull_request",
        pull_request_event(7, head_repo="fork/ml"),
        "read-only",
    )
    assert report(report_repo) == 0
    assert capsys.readouterr().out == (
        "report tumors: fork pull request: nothing posted here; the report workflow posts it "
        "from this run's artifact\n"
    )
    assert github_server.log == []
    claim = json.loads((report_repo.handoff / "pr.json").read_text("utf-8"))
    assert claim == {"schema_version": 1, "pipeline": "tumors", "pr": 7, "head_sha": HEAD}
    assert (
        "> [!NOTE]\n> This pull request comes from a fork"
        in (report_repo.handoff / "report.md").read_text()
    )


def test_workflow_run_posts_a_fork_report_and_ignores_forged_results(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    forged = fixture("verdict.json")  # a fork can upload anything: a verdict it never earned
    folder = artifact(report_repo, tmp_path, verdict=forged, train=fixture("train.json"))
    github_server.state.add_pull(7, HEAD, head_repo="fork/ml", files=["pipelines/tumors.yaml"])
    github_env(github_server.api_url, "workflow_run", workflow_run_event(), github_server.token)
    assert report(report_repo, "--from-artifact", str(folder)) == 0
    [comment] = github_server.state.comments_on(7)
    body = str(comment["body"])
    assert body.startswith(
        MARKER
        + "\n\n## ⏸️ mlgitops `tumors`: not trained: needs a run on this repository's runners\n"
    )
    assert "This pull request comes from a fork" in body
    assert "### Metrics" not in body and "9f8e7d6c5b4a" not in body
    [status] = github_server.state.statuses
    assert (status["state"], status["sha"]) == ("pending", HEAD)
    assert [e.operation for e in github_server.log][:2] == ["pulls/get", "pulls/list-files"]
    assert capsys.readouterr().out.splitlines()[-1] == (
        "report tumors: status mlgitops/tumors is pending on cccccccccccc: "
        "not trained: needs a run on this repository's runners"
    )


def test_workflow_run_refuses_a_pull_request_whose_head_differs(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = artifact(report_repo, tmp_path, pr=8)  # claims someone else's pull request
    github_server.state.add_pull(7, HEAD, head_repo="fork/ml")
    github_server.state.add_pull(8, "d" * 40)
    github_env(github_server.api_url, "workflow_run", workflow_run_event(), github_server.token)
    assert report(report_repo, "--from-artifact", str(folder)) == 0
    assert github_server.state.comments == {}
    assert capsys.readouterr().out.splitlines()[0] == (
        "report tumors: no comment: pull request #8 has head dddddddddddd, not cccccccccccc "
        "(the workflow run's head commit)"
    )
    assert [s["state"] for s in github_server.state.statuses] == ["pending"]


def test_workflow_run_of_a_same_repository_pull_request(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env, tmp_path: Path
) -> None:
    folder = report_repo.write(
        tmp_path / "artifact",
        validation=fixture("validation.json"),
        verdict=fixture("verdict.json"),
        train=fixture("train.json"),
    )
    github_server.state.add_pull(7, HEAD)
    event = workflow_run_event(head_repo="octo/ml", pulls=[7])
    github_env(github_server.api_url, "workflow_run", event, github_server.token)
    assert report(report_repo, "--from-artifact", str(folder)) == 0
    [comment] = github_server.state.comments_on(7)
    assert "## ✅ mlgitops `tumors`: all 3 gates passed" in str(comment["body"])
    assert [s["state"] for s in github_server.state.statuses] == ["success"]


def test_an_invalid_artifact_is_refused_before_anything_is_posted(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    verdict = fixture("verdict.json")
    verdict["metrics"][0]["candidate"] = "<script>"
    del verdict["summary"]
    folder = artifact(report_repo, tmp_path, verdict=verdict)
    github_env(
        github_server.api_url,
        "workflow_run",
        workflow_run_event(head_repo="octo/ml"),
        github_server.token,
    )
    assert report(report_repo, "--from-artifact", str(folder)) == 2
    shown = folder / "verdict.json"
    assert capsys.readouterr().err == (
        f"mlgitops report: error: {shown}: at (top): 'summary' is a required property\n"
        f"{shown}: at metrics/0/candidate: '<script>' is not of type 'number', 'null'\n"
    )
    assert github_server.log == []


def test_an_artifact_that_is_not_json(
    report_repo: ReportRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = artifact(report_repo, tmp_path)
    (folder / "train.json").write_text('{"run_id": ', "utf-8")
    assert report(report_repo, "--from-artifact", str(folder)) == 2
    assert capsys.readouterr().err == (
        f"mlgitops report: error: {folder / 'train.json'}:1:12: not valid JSON (Expecting value)\n"
    )


def test_untrusted_echo_disables_workflow_commands(
    report_repo: ReportRepo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validation = fixture("validation-failed.json")
    validation["failures"][0]["message"] = "::add-mask::x\n::error::forged"
    folder = artifact(report_repo, tmp_path, validation=validation)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert report(report_repo, "--from-artifact", str(folder), "--sha", HEAD) == 0
    lines = capsys.readouterr().out.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
    assert all(not line.startswith("::") for line in lines[1:-1])


@pytest.mark.parametrize(
    ("files", "state"),
    [(["ml/pipelines/tumors.yaml"], "failure"), (["README.md", "ml/README.md"], "success")],
)
def test_a_fork_s_files_are_matched_from_the_folder_the_specs_live_in(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
    files: list[str],
    state: str,
) -> None:
    """The specs in a folder ``ml/`` of the repository: GitHub lists the pull request's
    files from the repository's top (``ml/pipelines/tumors.yaml``), which never matched
    the specs' ``pipelines/tumors.yaml``: a change to the spec was "inputs unchanged"."""
    top = tmp_path / "top"
    shutil.copytree(report_repo.root, top / "ml")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "ml"]):
        subprocess.run(["git", *args], cwd=top, check=True, capture_output=True)
    github_server.state.add_pull(7, HEAD, head_repo="fork/ml", head_ref="docs", files=files)
    event = workflow_run_event(head_branch="docs")
    github_env(github_server.api_url, "workflow_run", event, github_server.token)
    code = report(ReportRepo(top / "ml"), "--from-artifact", str(tmp_path / "none"))
    assert code == (1 if state == "failure" else 0)
    [status] = github_server.state.statuses
    assert status["state"] == state, status
    if state == "success":
        assert status["description"] == "inputs unchanged"


def test_a_fork_that_touches_no_input_gets_inputs_unchanged(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The fork's own run is unaffected and uploads nothing; the status still arrives.

    Decided here, in the trusted context, from the files GitHub says the pull
    request changes and this repository's own specs: nothing the fork wrote.
    """
    github_server.state.add_pull(
        7, HEAD, head_repo="fork/ml", head_ref="docs", files=["README.md", "docs/x.md"]
    )
    event = workflow_run_event(head_branch="docs")
    github_env(github_server.api_url, "workflow_run", event, github_server.token)
    missing = tmp_path / "artifact" / "tumors"  # download-artifact found nothing
    assert report(report_repo, "--from-artifact", str(missing)) == 0
    [status] = github_server.state.statuses
    assert (status["state"], status["description"], status["sha"]) == (
        "success",
        "inputs unchanged",
        HEAD,
    )
    assert github_server.state.comments == {}
    assert [e.operation for e in github_server.log] == [
        "pulls/list",
        "pulls/list-files",
        "pulls/list",  # whether open pull requests into other bases share its head
        "repos/create-commit-status",
        "issues/list-comments",  # a report an earlier push left would say so now: none
    ]
    assert capsys.readouterr().out.splitlines()[0] == (
        "report tumors: pull request #7 changes none of the pipeline's inputs "
        "(2 files, per GitHub): inputs unchanged"
    )


def test_a_fork_s_report_an_earlier_push_left_says_its_inputs_are_now_unchanged(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The fork's earlier push touched the pipeline and got a ❌ report; its next push
    takes the change back. The status turns green, "inputs unchanged", and the comment
    must not keep the failed verdict under it."""
    state = github_server.state
    state.add_pull(7, HEAD, head_repo="fork/ml", head_ref="docs", files=["README.md"])
    earlier = state.add_comment(7, "<!-- mlgitops:report:tumors -->\n\n## ❌ mlgitops `tumors`")
    event = workflow_run_event(head_branch="docs")
    github_env(github_server.api_url, "workflow_run", event, github_server.token)
    assert report(report_repo, "--from-artifact", str(tmp_path / "none")) == 0
    [status] = state.statuses
    assert (status["state"], status["description"]) == ("success", "inputs unchanged")
    [comment] = state.comments_on(7)
    assert comment["id"] == earlier["id"]
    body = str(comment["body"])
    assert body.startswith("<!-- mlgitops:report:tumors -->\n\n## ✅ mlgitops `tumors`: inputs")
    assert "❌" not in body and f"<code>{HEAD[:12]}</code>" in body, body
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"report tumors: updated the comment on pull request #7 (inputs unchanged): "
        f"{comment['html_url']}"
    )


@pytest.mark.parametrize("with_claim", [False, True])
def test_a_fork_that_touches_the_pipeline_cannot_pass_by_uploading_nothing(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    with_claim: bool,
) -> None:
    """The fork's workflow may skip its own steps; the verdict is not its to skip."""
    github_server.state.add_pull(7, HEAD, head_repo="fork/ml", files=["data/tumors.csv"])
    github_env(github_server.api_url, "workflow_run", workflow_run_event(), github_server.token)
    folder = tmp_path / "artifact" / "tumors"
    if with_claim:  # uploads only its claim that nothing changed
        folder = report_repo.write(
            folder, pr={"schema_version": 1, "pipeline": "tumors", "pr": 7, "head_sha": HEAD}
        )
    code = report(report_repo, "--from-artifact", str(folder))
    [status] = github_server.state.statuses
    assert status["state"] != "success"
    if not with_claim:
        assert code == 1
        assert (status["state"], status["description"]) == (
            "failure",
            "no results from the pull request's workflow run",
        )
        assert capsys.readouterr().err.splitlines()[-1] == (
            "mlgitops report: pull request #7 changes the pipeline's inputs (data/tumors.csv) "
            f"but its workflow run left no results in {folder}: "
            "status mlgitops/tumors set to failure, "
            '"no results from the pull request\'s workflow run"'
        )


def test_a_fork_pull_request_github_cannot_find_is_not_unchanged(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
) -> None:
    """No verified pull request, so no file list: never "inputs unchanged"."""
    github_server.state.add_pull(7, "d" * 40, head_repo="fork/ml", files=["README.md"])
    github_env(github_server.api_url, "workflow_run", workflow_run_event(), github_server.token)
    assert report(report_repo, "--from-artifact", str(tmp_path / "none")) == 1
    assert [s["state"] for s in github_server.state.statuses] == ["failure"]


def test_a_pull_request_too_large_to_list_is_not_unchanged(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
) -> None:
    """GitHub lists at most 3,000 files: the rest could touch the pipeline."""
    files = [f"docs/page{i}.md" for i in range(3001)]
    github_server.state.add_pull(7, HEAD, head_repo="fork/ml", files=files)
    github_env(github_server.api_url, "workflow_run", workflow_run_event(), github_server.token)
    assert report(report_repo, "--from-artifact", str(tmp_path / "none")) == 1
    assert [s["state"] for s in github_server.state.statuses] == ["failure"]


def test_a_fork_that_touches_no_input_gets_a_check_run_when_asked(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env, tmp_path: Path
) -> None:
    github_server.state.add_pull(7, HEAD, head_repo="fork/ml", files=["README.md"])
    github_env(github_server.api_url, "workflow_run", workflow_run_event(), github_server.token)
    assert report(report_repo, "--from-artifact", str(tmp_path / "none"), "--check-run") == 0
    [check] = github_server.state.check_runs.values()
    assert (check["name"], check["head_sha"], check["conclusion"]) == (
        "mlgitops/tumors",
        HEAD,
        "success",
    )
    assert github_server.state.statuses == []


def test_an_artifact_nested_too_deeply(
    report_repo: ReportRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fork's artifact is untrusted: a verdict.json nested 100,000 deep (200 KB) made the
    parser's recursion run out (exit 3 in the report workflow)."""
    folder = artifact(report_repo, tmp_path)
    (folder / "verdict.json").write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    assert report(report_repo, "--from-artifact", str(folder)) == 2
    assert capsys.readouterr().err == (
        f"mlgitops report: error: {folder / 'verdict.json'}: not valid JSON "
        "(nested more than 100 levels deep)\n"
    )


#: Every character ``str.splitlines`` breaks a line at, besides ``\n``.
LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def test_a_unicode_line_break_in_an_artifact_never_breaks_a_line_of_the_cut_comment(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    tmp_path: Path,
) -> None:
    """A NEL (U+0085) in a failure's column survived ``one_line``; cutting the comment to
    GitHub's limit split it with ``str.splitlines`` and joined with ``\\n``: a live
    @mention and a raw HTML comment came out of their code span."""
    validation = fixture("validation-failed.json")
    example = validation["failures"][1]
    hostile = "radius\x85@octocat please review\u2028<!-- hidden -->" + LINE_BREAKS + "end"
    validation["failures"] = [{**example, "column": hostile}] + [
        {**example, "column": f"c{i:03d}", "examples": example["examples"] * 2} for i in range(400)
    ]
    folder = artifact(report_repo, tmp_path, validation=validation)
    github_server.state.add_pull(7, HEAD, head_repo="fork/ml", files=["data/tumors.csv"])
    github_env(github_server.api_url, "workflow_run", workflow_run_event(), github_server.token)
    assert report(report_repo, "--from-artifact", str(folder)) == 0
    [comment] = github_server.state.comments_on(7)
    body = str(comment["body"])
    assert "This report is cut here to fit GitHub's comment size limit" in body
    lines = body.split("\n")
    [row] = [line for line in lines if "radius" in line and line.startswith("| ")]
    [headline] = [line for line in lines if line.startswith("## ")]
    assert "radius" in headline and "@octocat" not in headline, headline
    assert row == (
        "| `radius @octocat please review <!-- hidden --> end` | "
        "`greater_than_or_equal_to(0)`: values below 0 | 2 | "
        "data/tumors.csv:13: `-3.5`, data/tumors.csv:41: ``-0.25 \\| `@admin` <b>x</b>`` |"
    )
    assert not any(line.startswith(("@", "<!-- hidden")) for line in lines)
    assert not any(ch in body for ch in LINE_BREAKS)


def test_a_fork_s_commit_in_pull_requests_into_two_bases_is_not_inputs_unchanged(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env, tmp_path: Path
) -> None:
    """GitHub lists no pull request for a commit only a fork holds: the fork's others from
    the same branch are found by its head label. Into main the commit changes no input,
    but its one status is also the pull request's into ``dev``: it does not pass."""
    for number, base in ((7, "main"), (8, "dev")):
        github_server.state.add_pull(
            number, HEAD, head_repo="fork/ml", head_ref="docs", base=base, files=["README.md"]
        )
    event = workflow_run_event(head_branch="docs", pulls=[])
    github_env(github_server.api_url, "workflow_run", event, github_server.token)
    missing = tmp_path / "artifact" / "tumors"  # the fork's run found the pipeline unaffected
    assert report(report_repo, "--from-artifact", str(missing), "--pr", "7") == 0
    [status] = github_server.state.statuses
    assert (status["state"], status["description"]) == (
        "failure",
        "the head of #7 into main and #8 into dev: its one status cannot pass for both",
    )
