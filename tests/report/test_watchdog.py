"""The stuck-runner watchdog and the GPU budget in the report, against the loopback GitHub."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlgitops.cli import main
from mlgitops.github import GitHub
from mlgitops.report.watchdog import TRAIN_JOB, verdict, watch
from tests.fixtures.github_server import GitHubServer
from tests.report.conftest import HEAD, REPO, ReportRepo, fixture, pull_request_event

Env = Callable[..., Path]
MARKER = "<!-- mlgitops:report:tumors -->"
T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z


def _job(status: str, created: str = "2025-01-01T00:00:00Z") -> dict[str, object]:
    return {"name": TRAIN_JOB, "status": status, "created_at": created, "runner_name": "gpu-1"}


def test_the_train_job_states() -> None:
    limit = 20 * 60.0
    assert verdict([_job("queued")], T0 + 60, limit).state == "waiting"
    stuck = verdict([_job("queued")], T0 + limit, limit)
    assert (stuck.state, stuck.waited_s) == ("stuck", limit)
    started = verdict([_job("in_progress")], T0 + 90, limit)
    assert (started.state, started.runner) == ("started", "gpu-1")
    assert verdict([{"name": "check and validate", "status": "completed"}], T0, limit).state == (
        "missing"
    )
    skipped = {**_job("completed"), "conclusion": "skipped"}
    assert verdict([skipped], T0 + limit * 2, limit).state == "skipped"


def test_watch_polls_the_jobs_api_until_a_runner_takes_the_job(
    github_server: GitHubServer,
) -> None:
    import requests

    client = GitHub(requests.Session(), token=github_server.token, api_url=github_server.api_url)
    job = github_server.state.add_job(4242, TRAIN_JOB, created_at="2025-01-01T00:00:00Z")
    github_server.state.add_job(4242, "check and validate", status="completed")
    now = [T0]
    polls = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        now[0] += seconds
        if len(polls) == 3:  # the node autoscaler found a GPU: the runner starts the job
            job.update(status="in_progress", runner_id=7, runner_name="gpu-l4-x7k2p")

    found = watch(lambda: client.list_run_jobs(REPO, 4242), 20, clock=lambda: now[0], sleep=sleep)
    assert (found.state, found.runner, found.waited_s) == ("started", "gpu-l4-x7k2p", 90.0)
    assert polls == [30.0, 30.0, 30.0]
    assert len(github_server.calls("actions/list-jobs-for-workflow-run")) == 4

    job.update(status="queued", runner_name=None)
    now[0] = T0
    found = watch(lambda: client.list_run_jobs(REPO, 4242), 2, clock=lambda: now[0], sleep=sleep)
    assert (found.state, found.waited_s) == ("stuck", 120.0)

    found = watch(lambda: client.list_run_jobs(REPO, 9999), 2, clock=lambda: now[0], sleep=sleep)
    assert found.state == "missing"  # nothing to watch: no waiting either


def test_no_runner_in_time_is_reported_on_the_pull_request(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github_server.state.add_pull(7, HEAD)
    github_server.state.add_job(4242, TRAIN_JOB, created_at="2025-01-01T00:00:00Z")
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    args = ["-C", str(report_repo.root), "report", "tumors", "--wait-for-runner", "20"]
    assert main(args) == 0
    [comment] = github_server.state.comments_on(7)
    body = str(comment["body"])
    assert body.startswith(
        f"{MARKER}\n\n## ❌ mlgitops `tumors`: no GPU runner picked up the job in 20 minutes\n"
    )
    assert "> No GPU runner picked up the job in 20 minutes: the train job is still queued." in body
    [status] = github_server.state.statuses
    assert (status["state"], status["description"]) == (
        "failure",
        "no GPU runner picked up the job in 20 minutes",
    )
    out = capsys.readouterr()
    assert "::warning title=mlgitops tumors::No GPU runner picked up the job in 20 minutes" in (
        out.err
    )


def test_a_started_train_job_leaves_the_pull_request_alone(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github_server.state.add_pull(7, HEAD)
    github_server.state.add_job(4242, TRAIN_JOB, status="in_progress", runner="gpu-a100-abcde")
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    args = ["-C", str(report_repo.root), "report", "tumors", "--wait-for-runner", "20"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith(
        "report tumors: a runner (gpu-a100-abcde) picked up the train job after "
    )
    assert github_server.state.comments_on(7) == []
    assert github_server.state.statuses == []


def test_the_watchdog_needs_the_run(report_repo: ReportRepo, github_env: Env) -> None:
    github_env("http://127.0.0.1:9", "pull_request", pull_request_event(7), token=None)
    args = ["-C", str(report_repo.root), "report", "tumors", "--wait-for-runner", "20"]
    assert main(args) == 2


def test_a_run_stopped_at_the_budget_says_so(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
) -> None:
    message = (
        "GPU budget: training was stopped after 30.02 GPU minutes, when pull request #7 "
        "reached its budget of 30.0 GPU minutes"
    )
    budget = {
        "schema_version": 1,
        "pipeline": "tumors",
        "pr": 7,
        "stopped": "during",
        "budget_minutes": 30.0,
        "spent_minutes": 30.02,
        "estimate_minutes": 12.5,
        "message": message,
    }
    report_repo.write(validation=fixture("validation.json"), budget=budget)
    github_server.state.add_pull(7, HEAD)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert main(["-C", str(report_repo.root), "report", "tumors"]) == 0
    [comment] = github_server.state.comments_on(7)
    body = str(comment["body"])
    assert "## ❌ mlgitops `tumors`: stopped at the GPU budget\n" in body
    shown = message.replace("#7", "#\u200b7")  # the train job wrote it: no reference
    assert f"> [!NOTE]\n> {shown}.\n" in body
    [status] = github_server.state.statuses
    assert (status["state"], status["description"]) == ("failure", "stopped at the GPU budget")
