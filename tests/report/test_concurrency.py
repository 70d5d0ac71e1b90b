"""Two reports racing on one pull request still leave exactly one report comment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import requests

from mlgitops.github import GitHub
from mlgitops.report.publish import Posted, upsert_comment
from tests.fixtures.github_server import GitHubServer
from tests.report.conftest import HEAD, REPO, ReportRepo, pull_request_event

MARKER = "<!-- mlgitops:report:tumors -->"


def race(server: GitHubServer, bodies: list[str]) -> list[Posted]:
    results: list[Posted] = []
    errors: list[BaseException] = []

    def one(body: str) -> None:
        client = GitHub(
            requests.Session(), token=server.token, api_url=server.api_url, sleep=lambda s: None
        )
        try:
            results.append(upsert_comment(client, REPO, 7, MARKER, body))
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def test_two_threads_racing_on_the_first_comment(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, HEAD)
    # Both first listings answer only once both have asked: both see no comment and create one.
    github_server.barrier("issues/list-comments", parties=2)
    results = race(github_server, [f"{MARKER}\nreport A", f"{MARKER}\nreport B"])
    comments = github_server.state.comments_on(7)
    reports = [c for c in comments if c["body"].startswith(MARKER)]
    assert len(github_server.calls("issues/create-comment")) == 2
    assert len(reports) == 1
    winner = reports[0]
    assert winner["id"] == min(c["id"] for c in comments)
    assert {r.comment_id for r in results} == {winner["id"]}
    [pointer] = [c for c in comments if c is not winner]
    assert pointer["body"] == (
        f"<sub>mlgitops: this comment was merged into [the report comment]({winner['html_url']}).</sub>"
    )
    # A later run finds the one report and leaves the pointer alone.
    del github_server.barriers["issues/list-comments"]
    [later] = race(github_server, [f"{MARKER}\nreport C"])
    assert (later.action, later.comment_id) == ("updated", winner["id"])
    assert len(github_server.state.comments_on(7)) == 2


def test_two_threads_racing_on_an_existing_comment(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, HEAD)
    existing = github_server.state.add_comment(7, f"{MARKER}\nold")
    github_server.barrier("issues/list-comments", parties=2)
    results = race(github_server, [f"{MARKER}\nreport A", f"{MARKER}\nreport B"])
    assert [c["id"] for c in github_server.state.comments_on(7)] == [existing["id"]]
    assert {r.action for r in results} == {"updated"}
    assert github_server.calls("issues/create-comment") == []


def test_two_report_processes_racing(
    report_repo: ReportRepo, github_server: GitHubServer, tmp_path: Path
) -> None:
    report_repo.full()
    github_server.state.add_pull(7, HEAD)
    github_server.barrier("issues/list-comments", parties=2)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(pull_request_event(7)), "utf-8")
    env = {
        **os.environ,
        "GITHUB_TOKEN": github_server.token,
        "GITHUB_API_URL": github_server.api_url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mlgitops", "-C", str(report_repo.root), "report", "tumors"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    reports = [c for c in github_server.state.comments_on(7) if c["body"].startswith(MARKER)]
    assert len(reports) == 1
    assert len(github_server.state.statuses) == 2
