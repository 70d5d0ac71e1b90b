"""The local runner's artifacts behave as GitHub's: ids, overwrite, where downloads land.

The deploy workflow's trust rests on these rules (the deploy job reads each model
job's artifact by the id that job reported), so the runner that plays it in
tests/e2e must not be kinder than GitHub.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.fixtures.gha_runner import SCOPES, Runner, WorkflowRun

UPLOAD = "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"
DOWNLOAD = "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"


def _upload_job(name: str, overwrite: bool = True) -> dict[str, object]:
    write = f'mkdir -p "$RUNNER_TEMP/out" && echo {name} > "$RUNNER_TEMP/out/{name}.txt"'
    return {
        "runs-on": "ubuntu-24.04",
        "outputs": {
            "id": "${{ steps.upload.outputs.artifact-id }}",
            "digest": "${{ steps.upload.outputs.artifact-digest }}",
        },
        "steps": [
            {"run": f'{write} && echo hidden > "$RUNNER_TEMP/out/.hidden"'},
            {
                "id": "upload",
                "uses": UPLOAD,
                "with": {"name": name, "path": "${{ runner.temp }}/out/", "overwrite": overwrite},
            },
        ],
    }


def _download(ids: str, path: str, **more: object) -> dict[str, object]:
    return {"uses": DOWNLOAD, "with": {"artifact-ids": ids, "path": path, **more}}


def _play(tmp_path: Path, jobs: dict[str, object]) -> WorkflowRun:
    workflow = tmp_path / "workflow.yml"
    workflow.write_text(yaml.safe_dump({"name": "t", "on": "push", "jobs": jobs}))
    runner = Runner(
        workspace=tmp_path,
        artifacts=tmp_path / "artifacts",
        repository="octo/ml",
        base_env={"PATH": os.environ["PATH"], "HOME": os.environ["HOME"]},
    )
    return runner.run_workflow(workflow, "push", {}, sha="0" * 40, ref="refs/heads/main")


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_downloads_by_id_land_as_github_puts_them(tmp_path: Path) -> None:
    one, two = "${{ needs.one.outputs.id }}", "${{ needs.two.outputs.id }}"
    reader = {
        "runs-on": "ubuntu-24.04",
        "needs": ["one", "two"],
        "steps": [
            _download(one, "single"),  # one artifact: its files directly in path
            _download(f"{one}, {two}", "several"),  # each in path/<name>/
            _download(f"{one},{two}", "merged", **{"merge-multiple": True}),
            {"run": 'test ! -e "$RUNNER_TEMP/out"'},  # a fresh machine: no other job's files
        ],
    }
    run = _play(tmp_path, {"one": _upload_job("one"), "two": _upload_job("two"), "c": reader})
    assert {job.job_id: job.result for job in run.jobs.values()} == {
        "one": "success",
        "two": "success",
        "c": "success",
    }, "\n".join(job.log for job in run.jobs.values())
    ids = [run.jobs[job].outputs["id"] for job in ("one", "two")]
    assert ids[0].isdigit() and ids[1].isdigit() and ids[0] != ids[1]
    assert len(run.jobs["one"].outputs["digest"]) == 64
    assert _files(tmp_path / "single") == ["one.txt"]  # hidden files are not uploaded
    assert _files(tmp_path / "several") == ["one/one.txt", "two/two.txt"]
    assert _files(tmp_path / "merged") == ["one.txt", "two.txt"]


def test_a_re_created_artifact_has_another_id(tmp_path: Path) -> None:
    """With ``overwrite`` the old artifact is deleted: its id finds nothing any more."""
    again = _upload_job("one")
    again["needs"] = "first"
    reader = {
        "runs-on": "ubuntu-24.04",
        "needs": ["first", "again"],
        "steps": [_download("${{ needs.first.outputs.id }}", "old")],
    }
    run = _play(tmp_path, {"first": _upload_job("one"), "again": again, "reader": reader})
    assert run.jobs["again"].result == "success"
    assert run.jobs["again"].outputs["id"] != run.jobs["first"].outputs["id"]
    assert run.jobs["reader"].result == "failure"
    assert "none of the artifact ids" in run.jobs["reader"].log
    assert not (tmp_path / "old").exists()


def test_an_upload_without_overwrite_refuses_a_taken_name(tmp_path: Path) -> None:
    second = _upload_job("one", overwrite=False)
    second["needs"] = "first"
    run = _play(tmp_path, {"first": _upload_job("one"), "second": second})
    assert (run.jobs["first"].result, run.jobs["second"].result) == ("success", "failure")
    assert run.jobs["second"].outputs == {"id": "", "digest": ""}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("null == ''", True),  # a skipped job's output against ''
        ("null != ''", False),
        ("null == 0", True),
        ("'' == 0", True),
        ("'1' == 1", True),
        ("'abc' == 0", False),
        ("'ABC' == 'abc'", True),
        ("true == 1", True),
        ("null == 'x'", False),
    ],
)
def test_expressions_compare_across_types_as_github_does(expression: str, expected: bool) -> None:
    from tests.fixtures.gha_expressions import evaluate

    assert evaluate(expression, {}) is expected


def test_each_job_gets_a_token_for_its_own_permissions(tmp_path: Path) -> None:
    """A job's ``permissions`` replace its workflow's; neither: the restricted default; a
    fork's pull request: read at most, and no OIDC token. ``github.token`` and
    ``secrets.GITHUB_TOKEN`` are the job's own."""
    minted: list[dict[str, str]] = []

    def mint(permissions: dict[str, str]) -> str:
        minted.append(permissions)
        return f"token-{len(minted)}"

    check = {"run": 'test "$T" = "${{ github.token }}" && test "$T" = "token-$N"'}
    jobs = {
        "own": {
            "runs-on": "ubuntu-24.04",
            "permissions": {"statuses": "write", "id-token": "write"},
            "env": {"T": "${{ secrets.GITHUB_TOKEN }}", "N": "1"},
            "steps": [check],
        },
        "inherits": {
            "runs-on": "ubuntu-24.04",
            "needs": "own",
            "env": {"T": "${{ secrets.GITHUB_TOKEN }}", "N": "2"},
            "steps": [check],
        },
    }
    workflow = tmp_path / "workflow.yml"
    every_read = dict.fromkeys(SCOPES, "read")
    for top, event, head, own, inherited in [
        ("read-all", "push", None, {"statuses": "write", "id-token": "write"}, every_read),
        (None, "push", None, {"statuses": "write", "id-token": "write"}, DEFAULT),
        (None, "pull_request", "octo/ml", {"statuses": "write", "id-token": "write"}, DEFAULT),
        (None, "pull_request", "fork/ml", {"statuses": "read"}, DEFAULT),
        ("write-all", "pull_request", "fork/ml", {"statuses": "read"}, FORK_ALL),
    ]:
        minted.clear()
        document: dict[str, object] = {"name": "t", "on": event, "jobs": jobs}
        if top is not None:
            document["permissions"] = top
        workflow.write_text(yaml.safe_dump(document))
        runner = Runner(
            workspace=tmp_path,
            artifacts=tmp_path / "artifacts",
            repository="octo/ml",
            base_env={"PATH": os.environ["PATH"], "HOME": os.environ["HOME"]},
            secrets={"GITHUB_TOKEN": "the-repository-s"},
            mint=mint,
        )
        payload = {"pull_request": {"head": {"repo": {"full_name": head}}}} if head else {}
        run = runner.run_workflow(workflow, event, payload, sha="0" * 40, ref="refs/heads/x")
        assert [j.result for j in run.jobs.values()] == ["success", "success"], [
            s.log for j in run.jobs.values() for s in j.steps
        ]
        assert minted == [own, inherited], (top, event, head)


DEFAULT = {"contents": "read", "packages": "read"}
#: ``write-all`` in a fork's pull request: every scope read, and no OIDC token.
FORK_ALL = {scope: "read" for scope in SCOPES if scope != "id-token"}
