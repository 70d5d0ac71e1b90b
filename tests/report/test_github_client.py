"""The GitHub client against the loopback server that enforces GitHub's contract."""

from __future__ import annotations

import pytest
import requests

from mlgitops.errors import ServiceError
from mlgitops.github import GitHub, GitHubError, api_url_from_env, token_from_env
from tests.fixtures.github_server import SECONDARY_RATE_LIMIT, GitHubServer

REPO = "octo/ml"
SHA = "a" * 40


class Sleeps(list[float]):
    """An injected ``sleep``: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(
    server: GitHubServer, sleeps: Sleeps | None = None, token: str | None = None, **options: float
) -> GitHub:
    return GitHub(
        requests.Session(),
        token=token or server.token,
        api_url=server.api_url,
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=lambda: 1_000_000.0,
        **options,  # type: ignore[arg-type]
    )


def test_pages_through_all_comments(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    for i in range(230):
        github_server.state.add_comment(7, f"comment {i}")
    comments = client(github_server).list_issue_comments(REPO, 7)
    assert [c["body"] for c in comments] == [f"comment {i}" for i in range(230)]
    pages = [entry.status for entry in github_server.calls("issues/list-comments")]
    assert pages == [200, 200, 200]


def test_5xx_is_retried_with_backoff(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    github_server.inject(502, operation="issues/create-comment")
    github_server.inject(503, operation="issues/create-comment")
    sleeps = Sleeps()
    made = client(github_server, sleeps).create_issue_comment(REPO, 7, "hello")
    assert made["body"] == "hello"
    assert sleeps == [1.0, 2.0]
    assert [e.status for e in github_server.calls("issues/create-comment")] == [502, 503, 201]


def test_429_waits_as_long_as_retry_after_says(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    github_server.inject(429, headers={"Retry-After": "7"})
    sleeps = Sleeps()
    assert client(github_server, sleeps).get_pull(REPO, 7)["number"] == 7
    assert sleeps == [7.0]


def test_secondary_rate_limit_403_is_retried(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    github_server.inject(403, headers={"Retry-After": "30"})
    github_server.inject(403)  # no header: GitHub says wait at least a minute
    sleeps = Sleeps()
    assert client(github_server, sleeps).get_pull(REPO, 7)["number"] == 7
    assert sleeps == [30.0, 120.0]


def test_primary_rate_limit_waits_until_reset(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000042"}
    github_server.inject(403, headers=headers, message="API rate limit exceeded for installation")
    sleeps = Sleeps()
    client(github_server, sleeps).get_pull(REPO, 7)
    assert sleeps == [42.0]


def test_a_plain_403_is_not_retried(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    github_server.inject(403, message="Resource not accessible by integration")
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(github_server, sleeps).create_issue_comment(REPO, 7, "x")
    assert str(caught.value) == (
        f"GitHub POST /repos/{REPO}/issues/7/comments: 403 Resource not accessible by integration"
    )
    assert sleeps == []
    assert isinstance(caught.value, ServiceError)


def test_gives_up_after_the_attempt_cap(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    github_server.inject(500, times=5)
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(github_server, sleeps, max_attempts=4).get_pull(REPO, 7)
    assert str(caught.value) == (
        f"GitHub GET /repos/{REPO}/pulls/7: 500 Server Error (gave up after 4 attempts)"
    )
    assert sleeps == [1.0, 2.0, 4.0]
    github_server.faults.clear()


def test_refuses_a_wait_longer_than_the_cap(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    github_server.inject(403, headers={"Retry-After": "3600"}, message=SECONDARY_RATE_LIMIT)
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(github_server, sleeps, max_wait=300).get_pull(REPO, 7)
    assert str(caught.value) == (
        f"GitHub GET /repos/{REPO}/pulls/7: 403 {SECONDARY_RATE_LIMIT} "
        "(asked to wait 3600 s, more than the 300 s cap)"
    )
    assert sleeps == []


def test_github_enterprise_base_url(github_server: GitHubServer) -> None:
    github_server.prefix = "/api/v3"
    github_server.state.add_pull(7, SHA)
    api = client(github_server)
    assert api.api_url.endswith("/api/v3")
    api.create_commit_status(REPO, SHA, state="success", context="mlgitops/x", description="ok")
    assert [e.path for e in github_server.log] == [f"/repos/{REPO}/statuses/{SHA}"]
    assert (
        api_url_from_env({"GITHUB_API_URL": "https://ghe.example/api/v3/"})
        == "https://ghe.example/api/v3"
    )
    assert api_url_from_env({}) == "https://api.github.com"


def test_token_from_env() -> None:
    assert token_from_env({"GITHUB_TOKEN": "a", "GH_TOKEN": "b"}) == "a"
    assert token_from_env({"GH_TOKEN": "b"}) == "b"
    assert token_from_env({"GITHUB_TOKEN": ""}) is None


def test_check_run_limits_are_enforced(github_server: GitHubServer) -> None:
    api = client(github_server)
    payload = {
        "name": "mlgitops/x",
        "head_sha": SHA,
        "status": "completed",
        "conclusion": "success",
        "output": {"title": "x", "summary": "s" * 65_536},
    }
    with pytest.raises(GitHubError, match=r"422 Validation Failed: summary is too long"):
        api.create_check_run(REPO, payload)
    annotations = [
        {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "failure", "message": "m"}
    ] * 51
    payload["output"] = {"title": "x", "summary": "s", "annotations": annotations}
    with pytest.raises(
        GitHubError, match=r"422 Validation Failed: at most 50 annotations per request"
    ):
        api.create_check_run(REPO, payload)


def test_comment_limit_is_enforced(github_server: GitHubServer) -> None:
    github_server.state.add_pull(7, SHA)
    api = client(github_server)
    api.create_issue_comment(REPO, 7, "x" * 65_536)
    with pytest.raises(
        GitHubError, match=r"422 Validation Failed: Body is too long \(maximum is 65536"
    ):
        api.create_issue_comment(REPO, 7, "x" * 65_537)


def test_the_server_rejects_what_the_contract_does_not_describe(
    github_server: GitHubServer,
) -> None:
    api = client(github_server)
    with pytest.raises(GitHubError, match=r"GitHub DELETE /repos/octo/ml/git/refs/heads/x: 404 "):
        api.request("DELETE", f"/repos/{REPO}/git/refs/heads/x")
    with pytest.raises(
        GitHubError, match=r"422 POST /repos/octo/ml/statuses/a+: InvalidRequestBody"
    ):
        api.request("POST", f"/repos/{REPO}/statuses/{SHA}", body={"state": "great"})
    assert len(github_server.violations) == 2
    github_server.violations.clear()


def test_a_job_s_token_may_do_what_its_permissions_grant_and_nothing_else(
    github_server: GitHubServer,
) -> None:
    """GitHub answers 403 where a job's ``permissions`` lack what the request needs; the
    test server does too, and counts it a violation (a generated workflow short of a
    permission fails on GitHub)."""
    github_server.state.add_pull(7, SHA)
    reader = client(github_server, token=github_server.mint({"pull-requests": "read"}))
    assert reader.list_issue_comments(REPO, 7) == []
    assert reader.get_pull(REPO, 7)["number"] == 7
    with pytest.raises(GitHubError, match=r"403 .*issues/create-comment needs pull-requests: "):
        reader.create_issue_comment(REPO, 7, "hello")
    with pytest.raises(GitHubError, match=r"403 .*needs statuses: write; the job's token holds"):
        reader.request("POST", f"/repos/{REPO}/statuses/{SHA}", body={"state": "success"})
    assert len(github_server.violations) == 2
    github_server.violations.clear()
    writer = client(github_server, token=github_server.mint({"issues": "write"}))
    writer.create_issue_comment(REPO, 7, "hello")  # a pull request's comments are its issue's
    assert [c["body"] for c in github_server.state.comments_on(7)] == ["hello"]
    client(github_server).create_commit_status(  # the server's own token may do anything
        REPO, SHA, state="success", context="c", description="d", target_url=None
    )
    nothing = client(github_server, token=github_server.mint({}))
    with pytest.raises(GitHubError, match=r"403 .*holds nothing"):
        nothing.get_pull(REPO, 7)
    github_server.violations.clear()


def test_every_operation_the_server_answers_says_what_a_job_needs_for_it() -> None:
    from tests.fixtures.github_server import HANDLERS, NEEDS

    assert set(HANDLERS) - set(NEEDS) == {"rate-limit/get"}
    assert set(NEEDS) <= set(HANDLERS)


def test_refs_pulls_issues_and_artifacts(github_server: GitHubServer) -> None:
    api = client(github_server)
    github_server.state.refs["heads/main"] = SHA
    assert api.get_ref(REPO, "heads/main")["object"]["sha"] == SHA
    api.create_ref(REPO, "refs/heads/retrain", SHA)
    with pytest.raises(GitHubError, match="422 Validation Failed: Reference already exists"):
        api.create_ref(REPO, "refs/heads/retrain", SHA)
    api.update_ref(REPO, "heads/retrain", "b" * 40)
    pull = api.create_pull(REPO, title="Retrain", head="retrain", base="main", body="why")
    assert [p["number"] for p in api.list_pulls(REPO, state="open")] == [pull["number"]]
    assert api.pulls_for_commit(REPO, "b" * 40)[0]["number"] == pull["number"]
    issue = api.create_issue(REPO, title="Drift", body="psi", labels=["mlgitops"])
    assert [i["number"] for i in api.list_issues(REPO, labels="mlgitops")] == [issue["number"]]
    aid = github_server.state.add_artifact(99, "mlgitops-x", b"PK-zip-bytes")
    assert [a["id"] for a in api.list_run_artifacts(REPO, 99, "mlgitops-x")] == [aid]
    assert api.download_artifact(REPO, aid) == b"PK-zip-bytes"
