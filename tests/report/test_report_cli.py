"""``mlgitops report`` end to end against the loopback GitHub that enforces the contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mlgitops.cli import main
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.github_state import GitHubState
from tests.report.conftest import HEAD, ReportRepo, fixture, pull_request_event

MARKER = "<!-- mlgitops:report:tumors -->"
RUN_URL = "https://github.com/octo/ml/actions/runs/4242"

Env = Callable[..., Path]


def report(repo: ReportRepo, *args: str) -> int:
    return main(["-C", str(repo.root), "report", "tumors", *args])


def marked(server: GitHubServer, number: int = 7) -> list[dict[str, object]]:
    return [c for c in server.state.comments_on(number) if str(c["body"]).startswith(MARKER)]


def test_local_mode_prints_the_comment(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    report_repo.full()
    assert report(report_repo, "--sha", HEAD) == 0
    out, err = capsys.readouterr()
    golden = (Path(__file__).parent / "fixtures" / "golden.md").read_text("utf-8")
    commit_link = f"[`cccccccccccc`](https://github.com/octo/ml/commit/{HEAD})"
    assert out == golden.replace(commit_link, "`cccccccccccc`")
    assert err == (
        "mlgitops report tumors: no GITHUB_TOKEN, so nothing was posted (local mode); "
        "the report is in .mlgitops/tumors/report.md\n"
    )
    assert (report_repo.handoff / "report.md").read_text("utf-8") == out


def test_first_post_then_update_then_unchanged(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report_repo.full()
    github_server.state.add_pull(7, HEAD)
    summary = github_env(
        github_server.api_url, "pull_request", pull_request_event(7), github_server.token
    )
    assert report(report_repo) == 0
    [comment] = marked(github_server)
    url = comment["html_url"]
    assert capsys.readouterr().out == (
        f"report tumors: created the comment on pull request #7: {url}\n"
        f"report tumors: status mlgitops/tumors is success on cccccccccccc: all 3 gates passed\n"
    )
    assert comment["body"] == (report_repo.handoff / "report.md").read_text("utf-8")
    assert summary.read_text("utf-8") == comment["body"]
    [status] = github_server.state.statuses
    assert {k: status[k] for k in ("sha", "state", "context", "description", "target_url")} == {
        "sha": HEAD,
        "state": "success",
        "context": "mlgitops/tumors",
        "description": "all 3 gates passed",
        "target_url": RUN_URL,
    }
    claim = json.loads((report_repo.handoff / "pr.json").read_text("utf-8"))
    assert claim == {"schema_version": 1, "pipeline": "tumors", "pr": 7, "head_sha": HEAD}

    failed = fixture("verdict.json")
    failed["passed"] = False
    failed["gates"][2].update(status="fail", value=0.8, reason="0.8 < 0.85")
    failed["counts"].update({"pass": 2, "fail": 1})
    report_repo.write(verdict=failed)
    assert report(report_repo) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"report tumors: updated the comment on pull request #7: {url}",
        "report tumors: status mlgitops/tumors is failure on cccccccccccc: 1 of 3 gates failed",
    ]
    [again] = marked(github_server)
    assert again["id"] == comment["id"] and "❌ mlgitops `tumors`: 1 of 3 gates failed" in str(
        again["body"]
    )

    patches = len(github_server.calls("issues/update-comment"))
    assert report(report_repo) == 0
    assert capsys.readouterr().out.startswith(
        f"report tumors: unchanged the comment on pull request #7: {url}\n"
    )
    assert len(github_server.calls("issues/update-comment")) == patches
    assert len(github_server.state.comments) == 1


def test_a_comment_deleted_after_it_was_listed_is_posted_anew_and_the_status_still_set(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A user deletes the report comment while the next report runs, after it listed the
    comments: the update answers 404. The report is posted anew, and the required status
    of the new verdict still arrives (a 404 stopped the command before it set any)."""
    report_repo.full()
    github_server.state.add_pull(7, HEAD)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 0
    [comment] = marked(github_server)
    failed = fixture("verdict.json")
    failed["passed"] = False
    failed["gates"][2].update(status="fail", value=0.8, reason="0.8 < 0.85")
    failed["counts"].update({"pass": 2, "fail": 1})
    report_repo.write(verdict=failed)
    capsys.readouterr()

    def delete(state: GitHubState) -> None:
        del state.comments[int(str(comment["id"]))]

    github_server.before_next("issues/update-comment", delete)
    assert report(report_repo) == 0
    [again] = marked(github_server)
    assert again["id"] != comment["id"]
    assert "## ❌ mlgitops `tumors`: 1 of 3 gates failed" in str(again["body"])
    assert capsys.readouterr().out.splitlines() == [
        f"report tumors: created the comment on pull request #7: {again['html_url']}",
        "report tumors: status mlgitops/tumors is failure on cccccccccccc: 1 of 3 gates failed",
    ]
    assert [s["state"] for s in github_server.state.statuses] == ["success", "failure"]


def test_finds_its_comment_among_160_others(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env
) -> None:
    report_repo.full()
    state = github_server.state
    state.add_pull(7, HEAD)
    for i in range(130):
        state.add_comment(7, f"review comment {i}", user={"login": f"dev{i % 3}", "type": "User"})
    ours = state.add_comment(7, MARKER + "\nold report")
    state.add_comment(
        7, "> " + MARKER + "\n> quoted by a reviewer", user={"login": "dev1", "type": "User"}
    )
    for i in range(30):
        state.add_comment(7, f"later comment {i}")
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 0
    assert [c["id"] for c in marked(github_server)] == [ours["id"]]
    assert state.comments[ours["id"]]["body"].startswith(MARKER + "\n\n## ✅")
    assert len(state.comments_on(7)) == 162
    assert len(github_server.calls("issues/list-comments")) == 2  # 162 comments, 100 a page


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (502, {}, 1.0),
        (503, {"Retry-After": "3"}, 3.0),
        (429, {"Retry-After": "20"}, 20.0),
        (403, {"Retry-After": "60"}, 60.0),  # the secondary rate limit
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}, 1.0),
    ],
)
def test_survives_injected_faults(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    status: int,
    headers: dict[str, str],
    wait: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report_repo.full()
    github_server.state.add_pull(7, HEAD)
    waits: list[float] = []
    # The command sleeps through time.sleep; recording instead of waiting keeps the test fast.
    monkeypatch.setattr("time.sleep", waits.append)
    for operation in (
        "issues/list-comments",
        "issues/create-comment",
        "repos/create-commit-status",
    ):
        github_server.inject(status, operation=operation, headers=headers)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 0
    assert len(marked(github_server)) == 1 and len(github_server.state.statuses) == 1
    assert waits == [wait, wait, wait]
    assert [e.status for e in github_server.calls("issues/create-comment")] == [status, 201]


def test_a_fault_past_the_cap_is_a_clear_error(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report_repo.full()
    github_server.state.add_pull(7, HEAD)
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # no real waiting in tests
    github_server.inject(503, operation="issues/list-comments", times=5)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 2
    assert capsys.readouterr().err == (
        "mlgitops report: error: GitHub GET /repos/octo/ml/issues/7/comments: "
        "503 Service Unavailable (gave up after 5 attempts)\n"
    )
    assert github_server.state.comments == {} and github_server.state.statuses == []


def test_github_enterprise_api_url(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env
) -> None:
    report_repo.full()
    github_server.prefix = "/api/v3"
    github_server.state.add_pull(7, HEAD)
    github_env(
        github_server.root + "/api/v3", "pull_request", pull_request_event(7), github_server.token
    )
    assert report(report_repo) == 0
    assert len(marked(github_server)) == 1
    assert {e.operation for e in github_server.log} == {
        "issues/list-comments",
        "issues/create-comment",
        # whether another open pull request into another base shares the head commit
        "repos/list-pull-requests-associated-with-commit",
        "repos/create-commit-status",
    }


def test_check_run_instead_of_status(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report_repo.full()
    github_server.state.add_pull(7, HEAD)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo, "--check-run") == 0
    [run] = github_server.state.check_runs.values()
    assert {k: run[k] for k in ("name", "head_sha", "status", "conclusion", "details_url")} == {
        "name": "mlgitops/tumors",
        "head_sha": HEAD,
        "status": "completed",
        "conclusion": "success",
        "details_url": RUN_URL,
    }
    assert run["output"]["summary"] == (report_repo.handoff / "report.md").read_text("utf-8")
    assert github_server.state.statuses == []
    assert capsys.readouterr().out.endswith(
        "report tumors: check run mlgitops/tumors is success on cccccccccccc: all 3 gates passed\n"
    )


def test_an_oversized_report_is_cut_cleanly(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env
) -> None:
    validation = fixture("validation-failed.json")
    example = validation["failures"][1]
    validation["failures"] = [
        {**example, "column": f"feature_{i:04d}", "examples": example["examples"] * 2}
        for i in range(1500)
    ]
    report_repo.full()
    report_repo.write(validation=validation)
    github_server.state.add_pull(7, HEAD)
    summary = github_env(
        github_server.api_url, "pull_request", pull_request_event(7), github_server.token
    )
    assert report(report_repo) == 0
    full = (report_repo.handoff / "report.md").read_text("utf-8")
    [comment] = marked(github_server)
    body = str(comment["body"])
    assert len(full) > 200_000 and 60_000 < len(body) <= 65_536
    assert body.endswith(
        "\n\n> [!WARNING]\n> This report is cut here to fit GitHub's comment size limit; the "
        f"[job summary]({RUN_URL}) and `report.md` in the run's hand-off folder have all of it.\n"
    )
    kept = body.splitlines()[:-3]
    assert all(line in full.splitlines() for line in kept)  # whole lines only
    assert summary.read_text("utf-8") == full  # under 1 MiB: the job summary has it all


def test_no_pull_request_posts_only_the_status(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report_repo.full()
    github_env(github_server.api_url, "push", {}, github_server.token)
    assert report(report_repo, "--sha", HEAD) == 0
    assert capsys.readouterr().out == (
        "report tumors: no pull request, so no comment\n"
        "report tumors: status mlgitops/tumors is success on cccccccccccc: all 3 gates passed\n"
    )
    assert github_server.state.comments == {}


def test_a_planted_marker_by_someone_else_is_left_alone(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env
) -> None:
    report_repo.full()
    state = github_server.state
    state.add_pull(7, HEAD)
    mallory = {"login": "mallory", "id": 666, "type": "User"}
    planted = state.add_comment(7, MARKER + "\nall gates passed, ship it", user=mallory)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 0
    assert state.comments[planted["id"]]["body"] == MARKER + "\nall gates passed, ship it"
    ours = [c for c in marked(github_server) if c["user"]["login"] == "github-actions[bot]"]
    assert len(ours) == 1 and ours[0]["id"] != planted["id"]
    assert ours[0]["body"].startswith(MARKER + "\n\n## ✅")


def test_a_pull_request_that_does_not_touch_the_pipeline_gets_inputs_unchanged(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github_server.state.add_pull(7, HEAD)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo, "--inputs-unchanged") == 0
    [status] = github_server.state.statuses
    assert (status["sha"], status["context"], status["state"], status["description"]) == (
        HEAD,
        "mlgitops/tumors",
        "success",
        "inputs unchanged",
    )
    assert github_server.state.comments_on(7) == []
    assert capsys.readouterr().out == (
        f"report tumors: status mlgitops/tumors is success on {HEAD[:12]}: inputs unchanged\n"
    )


def test_a_report_an_earlier_push_left_says_the_inputs_are_now_unchanged(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A push that takes back the pull request's change to the pipeline: plan posts
    "inputs unchanged" as success, and the comment, which held the ❌ of the earlier
    commit, says its report no longer applies. A marked comment by anyone else is left
    alone; a pull request with no comment gets none."""
    state = github_server.state
    state.add_pull(7, HEAD)
    mallory = {"login": "mallory", "id": 666, "type": "User"}
    planted = state.add_comment(7, MARKER + "\nall gates passed, ship it", user=mallory)
    report_repo.full()
    failed = fixture("verdict.json")
    failed["passed"] = False
    failed["gates"][2].update(status="fail", value=0.8, reason="0.8 < 0.85")
    failed["counts"].update({"pass": 2, "fail": 1})
    report_repo.write(verdict=failed)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 0
    [ours] = [c for c in marked(github_server) if c["id"] != planted["id"]]
    assert "❌" in str(ours["body"])
    capsys.readouterr()

    head = "d" * 40
    state.add_pull(7, head)
    github_env(
        github_server.api_url, "pull_request", pull_request_event(7, head), github_server.token
    )
    assert report(report_repo, "--inputs-unchanged") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"report tumors: status mlgitops/tumors is success on {head[:12]}: inputs unchanged",
        f"report tumors: updated the comment on pull request #7 (inputs unchanged): "
        f"{ours['html_url']}",
    ]
    body = state.comments[ours["id"]]["body"]
    assert body == (
        f"{MARKER}\n\n## ✅ mlgitops `tumors`: inputs unchanged\n\n> [!NOTE]\n"
        "> The pull request no longer changes any of the pipeline's inputs, so nothing was "
        "validated, trained or compared for this commit. The report this comment held was "
        "for an earlier commit and no longer applies.\n\n"
        f"<sub>Updated by <code>mlgitops report</code> for commit <code>{head[:12]}</code>.</sub>\n"
    )
    assert state.comments[planted["id"]]["body"] == MARKER + "\nall gates passed, ship it"
    assert len(state.comments) == 2
    updates = len(github_server.calls("issues/update-comment"))
    assert report(report_repo, "--inputs-unchanged") == 0  # the plan job run again
    assert len(github_server.calls("issues/update-comment")) == updates


@pytest.mark.parametrize("kind", ["failed", "budget"])
def test_a_document_holding_text_that_is_not_unicode_is_bad_input_naming_it(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """JSON can spell a lone surrogate (``\\udcff``), which no UTF-8 text holds: the report
    crashed writing report.md (exit 3) on a document the train job wrote."""
    report_repo.full()
    (report_repo.handoff / "verdict.json").unlink()
    (report_repo.handoff / "train.json").unlink()
    fields = (
        {"stage": "train", "exit_code": 2}
        if kind == "failed"
        else {
            "stopped": "before",
            "budget_minutes": 10,
        }
    )
    doc = {"schema_version": 1, "pipeline": "tumors", **fields, "message": "bad \udcff"}
    path = report_repo.handoff / f"{kind}.json"
    path.write_text(json.dumps(doc))  # ensure_ascii: the surrogate as the escape \udcff
    assert report(report_repo, "--sha", HEAD) == 2
    _, err = capsys.readouterr()
    assert err == (
        f"mlgitops report: error: .mlgitops/tumors/{kind}.json: at message: text that is not "
        "Unicode (a lone surrogate, \\udcff)\n"
    )


def test_a_lone_surrogate_deep_in_a_document_or_in_a_key_is_named_where_it_is() -> None:
    from mlgitops.errors import BadInput
    from mlgitops.report.documents import parse

    deep = {"schema_version": 1, "pipeline": "tumors", "passed": False, "failures": [
        {"check": "ok"}, {"check": "bad \udc80"},
    ]}  # fmt: skip
    with pytest.raises(BadInput, match=r"^v.json: at failures/1/check: text that is not Unicode"):
        parse(json.dumps(deep).encode(), "v.json", "validation", "tumors")
    keyed = {"schema_version": 1, "pipeline": "tumors", "passed": True, "failures": [],
             "k\udc80": 1}  # fmt: skip
    with pytest.raises(BadInput, match=r"^v.json: at \(top\): .* \\udc80\)$"):
        parse(json.dumps(keyed).encode(), "v.json", "validation", "tumors")


def test_credentials_a_document_quotes_are_masked_in_the_comment(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Documents an older mlgitops or another tool wrote may quote a tracking URI with its
    password, or a secret of the job: the comment is public, and GitHub masks only logs."""
    report_repo.full()
    (report_repo.handoff / "verdict.json").unlink()
    train = fixture("train.json")
    train["tracking_uri"] = "https://ci:pw-in-uri@mlflow.example.com"
    failed = {"schema_version": 1, "pipeline": "tumors", "stage": "compare", "exit_code": 2,
              "message": "MLflow at https://ci:pw-in-uri@mlflow.example.com/api refused "
                         "token tok-in-the-job"}  # fmt: skip
    report_repo.write(train=train, failed=failed)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-in-the-job")
    github_server.state.add_pull(7, HEAD)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 0
    capsys.readouterr()
    [comment] = marked(github_server)
    body = str(comment["body"])
    assert "trained, but not compared: compare failed" in body
    # markdown-escaped, and @ kept from mentioning anyone
    masked = (
        "MLflow at https:\u200b//\\*\\*\\*@\u200bmlflow.example.com/api refused token \\*\\*\\*"
    )
    assert masked in body
    assert "(https://mlflow.example.com/#/experiments/" in body  # the run's link, bare
    for text in (body, (report_repo.handoff / "report.md").read_text("utf-8")):
        assert "pw-in-uri" not in text and "tok-in-the-job" not in text


@pytest.mark.parametrize("kind", ["validation", "train", "datadiff", "verdict"])
def test_a_document_nested_too_deeply_is_bad_input_naming_it(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A JSON document nested 100,000 deep (200 KB, well under the size cap) made the
    parser's recursion run out (RecursionError, exit 3)."""
    report_repo.full()
    (report_repo.handoff / f"{kind}.json").write_text("[" * 100_000 + "]" * 100_000)
    assert report(report_repo, "--sha", HEAD) == 2
    assert capsys.readouterr().err == (
        f"mlgitops report: error: .mlgitops/tumors/{kind}.json: not valid JSON "
        "(nested more than 100 levels deep)\n"
    )


def test_a_document_larger_than_any_hand_off_document_is_bad_input_before_it_is_read(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """An artifact could hold anything: a verdict.json of 64 GiB (a sparse file here) was read
    whole before its size was checked (MemoryError, exit 3). Its size is checked first."""
    from mlgitops.jsondoc import MAX_BYTES

    report_repo.full()
    with (report_repo.handoff / "verdict.json").open("r+b") as handle:
        handle.truncate(64 << 30)
    assert report(report_repo, "--sha", HEAD) == 2
    assert capsys.readouterr().err == (
        f"mlgitops report: error: .mlgitops/tumors/verdict.json: {64 << 30:,} bytes, more "
        f"than the {MAX_BYTES:,} a hand-off document may have\n"
    )


def test_a_slice_gap_gate_without_a_threshold_shows_a_dash(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """verdict.schema.json lets a gate's threshold be null: the slice table's gate row
    crashed on ``float(None)`` (exit 3)."""
    verdict = fixture("verdict.json")
    verdict["slices"] = {
        "column": "c",
        "min_rows": 1,
        "gaps": {"roc_auc": 0.1},
        "baseline_gaps": None,
        "slices": [
            {
                "value": "a",
                "rows": 3,
                "gated": True,
                "candidate": {"roc_auc": 0.5},
                "baseline": None,
            }
        ],
    }
    verdict["gates"].append(
        {
            "metric": "roc_auc",
            "condition": "max_gap",
            "threshold": None,
            "value": 0.1,
            "status": "pass",
            "reason": "r",
            "allowed": False,
            "judge": None,
        }
    )
    verdict["counts"]["pass"] += 1
    report_repo.full()
    report_repo.write(verdict=verdict)
    assert report(report_repo, "--sha", HEAD) == 0
    out = capsys.readouterr().out
    section = out.split("### Slices by `c`\n", 1)[1].split("\n### ", 1)[0]
    assert [line for line in section.splitlines() if line.startswith("|")] == [
        "| `c` | rows | `roc_auc` |",
        "| --- | ---: | ---: |",
        "| `a` | 3 | 0.5000 |",
        "| gap |  | 0.1000 |",
        "| gate |  | ✅ max_gap - |",
    ]
    assert "| ✅ pass | `roc_auc` max\\_gap | 0.1000 | r |" in out.splitlines()


FLOATLESS = "is more than a float holds"
BOUNDS = "is out of bounds (maximum 1000000000)"


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("duration_s", "1" + "0" * 400, f"a number of 401 digits {FLOATLESS}"),
        ("fit_s", "1" + "0" * 400, f"a number of 401 digits {FLOATLESS}"),
        ("gpu_seconds", "1" + "0" * 400, f"a number of 401 digits {FLOATLESS}"),
        ("gpu_peak_memory_mb", "1" + "0" * 400, f"a number of 401 digits {FLOATLESS}"),
        ("duration_s", "1e400", f"1e400 {FLOATLESS}"),  # Python reads it as infinity
        ("fit_s", str(2**1024 - 1), f"a number of 309 digits {FLOATLESS}"),  # rounds to inf
        ("gpu_seconds", "1e300", f"1e+300 {BOUNDS}"),
        ("fit_s", "1" + "0" * 30, f"a number of 31 digits {BOUNDS}"),
    ],
)
def test_a_train_time_or_memory_no_run_can_have_is_bad_input_naming_it(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str], field: str, value: str, shown: str
) -> None:
    """An integer past float's range passed the schema (``"number"``) and crashed the
    lineage's arithmetic (OverflowError, exit 3); infinity showed as ``inf runner minutes``."""
    report_repo.full()
    train = (report_repo.handoff / "train.json").read_text("utf-8")
    old = json.dumps(fixture("train.json")[field])
    assert f'"{field}": {old},' in train
    (report_repo.handoff / "train.json").write_text(
        train.replace(f'"{field}": {old},', f'"{field}": {value},'), "utf-8"
    )
    assert report(report_repo, "--sha", HEAD) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"mlgitops report: error: .mlgitops/tumors/train.json: at {field}: {shown}\n",
    )
    assert not (report_repo.handoff / "report.md").exists()


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("undeclared", 1, "1 is not of type 'array'"),
        ("undeclared", [["x"]], "['x'] is not of type 'string'"),
        ("invalid_data", True, "True is not of type 'array'"),
        ("invalid_data", {"a": 1}, "{'a': 1} is not of type 'array'"),
        ("model_digest", 7, "7 is not of type 'string'"),
    ],
)
def test_a_train_field_the_report_shows_is_checked_before_it_is_shown(
    report_repo: ReportRepo,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: object,
    shown: str,
) -> None:
    """The report lists ``undeclared`` and counts ``invalid_data``: a fork's artifact that
    held a number or a boolean there crashed it (TypeError, exit 3)."""
    report_repo.full()
    path = report_repo.handoff / "train.json"
    doc = json.loads(path.read_text("utf-8"))
    doc[field] = value
    path.write_text(json.dumps(doc), "utf-8")
    where = f"at {field}" if not isinstance(value, list) else f"at {field}/0"
    assert report(report_repo, "--sha", HEAD) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"mlgitops report: error: .mlgitops/tumors/train.json: {where}: {shown}\n",
    )
    assert not (report_repo.handoff / "report.md").exists()


@pytest.mark.parametrize("field", ["candidate", "baseline", "delta"])
def test_a_verdict_number_no_float_holds_is_bad_input_naming_it(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    """Every number of a hand-off document is read as a float somewhere: one past its range
    crashed the table's formatting (OverflowError, exit 3)."""
    report_repo.full()
    path = report_repo.handoff / "verdict.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["metrics"][0][field] = 0.5
    path.write_text(
        json.dumps(doc).replace(f'"{field}": 0.5', f'"{field}": 1{"0" * 400}', 1), "utf-8"
    )
    assert report(report_repo, "--sha", HEAD) == 2
    assert capsys.readouterr() == (
        "",
        f"mlgitops report: error: .mlgitops/tumors/verdict.json: at metrics[0].{field}: a "
        f"number of 401 digits {FLOATLESS}\n",
    )
    assert not (report_repo.handoff / "report.md").exists()


@pytest.mark.parametrize("change", ["counts", "no gates", "passed"])
def test_a_verdict_whose_counts_or_outcome_are_not_its_gates_is_bad_input(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    """The headline and the status show ``counts`` and ``passed``, never recounted: a verdict
    that said ``all 10000000000000000000000000000000000000000 gates passed`` over no gates,
    or passed with a failed gate, was shown as it said."""
    report_repo.full()
    path = report_repo.handoff / "verdict.json"
    doc = json.loads(path.read_text("utf-8"))
    tally = dict(doc["counts"])
    if change == "counts":
        doc["counts"]["pass"] = 10**40
        said = f"at counts: {doc['counts']} is not the tally of its gates ({tally})"
    elif change == "no gates":
        doc["gates"] = []
        none = dict.fromkeys(tally, 0)
        said = f"at counts: {tally} is not the tally of its gates ({none})"
    else:
        doc["gates"][0]["status"] = "fail"
        assert doc["passed"] is True
        doc["counts"]["pass"] -= 1
        doc["counts"]["fail"] += 1
        said = "at passed: true, where a gate fails the verdict (roc_auc min)"
    path.write_text(json.dumps(doc), "utf-8")
    assert report(report_repo, "--sha", HEAD) == 2
    assert capsys.readouterr() == (
        "",
        f"mlgitops report: error: .mlgitops/tumors/verdict.json: {said}\n",
    )
    assert not (report_repo.handoff / "report.md").exists()


@pytest.mark.parametrize("given", ["0", "-3", "7.5", "seven", "٣"])
def test_a_pull_request_number_that_is_none_is_a_usage_error(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    """``--pr 0`` or ``--pr -3`` was taken, and asked GitHub for that pull request."""
    with pytest.raises(SystemExit) as stopped:
        report(report_repo, "--inputs-unchanged", "--pr", given)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"mlgitops report: error: argument --pr: expected a pull request number (1, 2, ...): "
        f"{given!r}\n"
    )


def test_a_report_an_earlier_push_left_says_it_is_not_the_head_s_while_the_head_is_checked(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A push that touches the pipeline: until its run reports, the comment held the last
    push's verdict as if it were this commit's. Plan marks it (``--pending``) above the
    report, once per commit: the next push's mark replaces it, and the new report removes
    it. A pull request with no comment gets none; a marked comment by someone else is left
    alone."""
    state = github_server.state
    state.add_pull(7, HEAD)
    mallory = {"login": "mallory", "id": 666, "type": "User"}
    planted = state.add_comment(7, MARKER + "\nall gates passed, ship it", user=mallory)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo, "--pending") == 0  # no report of ours yet: nothing to mark
    assert len(state.comments) == 1 and capsys.readouterr().out == ""
    report_repo.full()
    assert report(report_repo) == 0
    [ours] = [c for c in marked(github_server) if c["id"] != planted["id"]]
    earlier = str(ours["body"])
    capsys.readouterr()

    def note(sha: str) -> str:
        return (
            f"{MARKER}\n\n<!-- mlgitops:pending -->\n\n> [!IMPORTANT]\n"
            f"> ⏳ Commit <code>{sha[:12]}</code> is being validated, trained and compared. "
            "The report below is for an earlier commit: this commit's replaces it when its "
            "run ends, and the required status waits for it.\n\n<!-- /mlgitops:pending -->\n\n"
        )

    for head in ("d" * 40, "e" * 40, "e" * 40):  # two pushes, then a re-run of the second
        state.add_pull(7, head)
        event = pull_request_event(7, head)
        github_env(github_server.api_url, "pull_request", event, github_server.token)
        assert report(report_repo, "--pending") == 0
        body = state.comments[ours["id"]]["body"]
        assert body == note(head) + earlier.removeprefix(MARKER + "\n\n"), body
    assert capsys.readouterr().out.splitlines() == [
        f"report tumors: {action} the comment on pull request #7 "
        f"(commit {sha[:12]} is being checked): {ours['html_url']}"
        for action, sha in [("updated", "d" * 40), ("updated", "e" * 40), ("unchanged", "e" * 40)]
    ]
    assert state.comments[planted["id"]]["body"] == MARKER + "\nall gates passed, ship it"
    assert len(state.comments) == 2 and state.statuses[-1]["sha"] == HEAD  # no status posted
    github_env(
        github_server.api_url, "pull_request", pull_request_event(7, "e" * 40), github_server.token
    )
    assert report(report_repo, "--sha", "e" * 40) == 0  # the new commit's report
    assert "mlgitops:pending" not in state.comments[ours["id"]]["body"]


def test_a_marked_report_still_fits_github_s_limit(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env
) -> None:
    """The mark goes above a report that may already be as long as a comment can be: the
    report is cut to fit, with the note that says where all of it is."""
    state = github_server.state
    state.add_pull(7, HEAD)
    longest = MARKER + "\n\n## ✅ mlgitops `tumors`\n\n" + "row\n" * 16_000
    longest += "x" * (65_536 - len(longest))
    ours = state.add_comment(7, longest)
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo, "--pending") == 0
    body = str(state.comments[ours["id"]]["body"])
    assert len(body) <= 65_536 and body.startswith(MARKER + "\n\n<!-- mlgitops:pending -->")
    assert body.rstrip().endswith("have all of it."), body[-300:]
    assert RUN_URL not in body  # this run's summary holds no earlier report


def test_pending_and_inputs_unchanged_together_are_bad_input(
    report_repo: ReportRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(report_repo, "--pending", "--inputs-unchanged") == 2
    assert capsys.readouterr().err == (
        "mlgitops report: error: --pending and --inputs-unchanged: a pull request is one or "
        "the other\n"
    )


@pytest.mark.parametrize("args", [(), ("--inputs-unchanged",), ("--check-run",)])
def test_a_commit_at_the_head_of_pull_requests_into_two_bases_cannot_pass(
    report_repo: ReportRepo,
    github_server: GitHubServer,
    github_env: Env,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
) -> None:
    """A commit status is the commit's: with the same head in pull requests into ``main``
    and ``dev``, whichever run reported last decided the required status of both, each run
    judging its own merge. Neither may pass it; once one of them is closed, the other can."""
    report_repo.full()
    github_server.state.add_pull(7, HEAD, head_ref="feature", base="main")
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    if args == ("--inputs-unchanged",):  # an earlier push's report, for the retraction
        assert report(report_repo) == 0
    github_server.state.add_pull(8, HEAD, head_ref="feature", base="dev")
    capsys.readouterr()
    assert report(report_repo, *args) == 0
    out = capsys.readouterr().out
    said = "the head of #7 into main and #8 into dev: its one status cannot pass for both"
    if "--check-run" in args:
        [run] = github_server.state.check_runs.values()
        assert (run["conclusion"], run["output"]["title"]) == ("failure", said), run
        summary = run["output"]["summary"]
        assert summary.startswith(f"{MARKER}\n\n> [!CAUTION]\n> This commit is {said}"), summary
    else:
        status = github_server.state.statuses[-1]
        assert (status["state"], status["description"]) == ("failure", said), status
    assert f"is failure on {HEAD[:12]}: {said}" in out, out
    assert "close all but one of them" in out, out
    if "--check-run" not in args:  # the comment says why the status fails under a pass
        [comment] = marked(github_server)
        body = str(comment["body"])
        assert body.startswith(f"{MARKER}\n\n> [!CAUTION]\n> This commit is {said}"), body
        assert ("inputs unchanged" in body) == bool(args), body

    github_server.state.pulls[8].update(state="closed", closed_at=github_server.state.now())
    assert report(report_repo, *args) == 0
    state = (
        list(github_server.state.check_runs.values())[-1]["conclusion"]
        if "--check-run" in args
        else github_server.state.statuses[-1]["state"]
    )
    assert state == "success"
    if "--check-run" not in args:
        [comment] = marked(github_server)
        assert "[!CAUTION]" not in str(comment["body"])


def test_pull_requests_from_two_branches_at_one_commit_into_one_base_may_pass(
    report_repo: ReportRepo, github_server: GitHubServer, github_env: Env
) -> None:
    """Two pull requests into the same base judge the same merge: the status can pass."""
    report_repo.full()
    github_server.state.add_pull(7, HEAD, head_ref="feature", base="main")
    github_server.state.add_pull(9, HEAD, head_ref="copy", base="main")
    github_env(github_server.api_url, "pull_request", pull_request_event(7), github_server.token)
    assert report(report_repo) == 0
    assert [s["state"] for s in github_server.state.statuses] == ["success"]
