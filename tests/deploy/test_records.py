"""Which records of what is deployed a merged pull request may not change, where mlgitops
runs in a folder of a larger repository (``-C ml``, the Action's ``working-directory``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlgitops.errors import BadInput
from mlgitops.gitops.anchor import Anchor
from mlgitops.gitops.before_merge import before_merge
from mlgitops.results import Hashes, TrainResult
from mlgitops.spec import load_repo
from tests.deploy.world import cli_run, git


def _anchor(changed: tuple[str, ...]) -> Anchor:
    train = TrainResult(
        pipeline="tumors", run_id="0" * 32, experiment_id="1", tracking_uri="", content_key="",
        model_uri="models:/m-0", task="classification", target="malignant", metrics={},
        hashes=Hashes("", "", "", "", ""),
    )  # fmt: skip
    return Anchor(train, {}, "pull request #12", local=False, pr=12, changed=changed)


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    """A repository whose folder ``ml`` holds the example pipeline, staging's record
    committed."""
    git(tmp_path, "init", "-q", "-b", "main", str(tmp_path / "mono"))
    ml = tmp_path / "mono" / "ml"
    ml.mkdir()
    assert cli_run(ml, "init") == 0
    assert cli_run(ml, "render") == 0
    record = ml / "manifests" / "tumors" / "overlays" / "staging" / "model.json"
    record.write_text("{}\n")
    git(ml, "add", "-A")
    git(ml, "commit", "-q", "-m", "Adopt mlgitops in ml/")
    return ml


@pytest.mark.parametrize("how", ["listed by GitHub", "changed by the merge"])
def test_a_merge_that_deletes_a_record_in_a_folder_deploys_nothing(mono: Path, how: str) -> None:
    """GitHub lists the pull request's files from the repository's top (``ml/manifests/…``)
    and git resolved ``commit:manifests/…`` from there too: neither matched the record, and
    a merge that renamed staging and deleted its record deployed as a first deployment."""
    spec = mono / "pipelines" / "tumors.yaml"
    spec.write_text(spec.read_text().replace("- name: staging", "- name: stage"))
    (mono / "manifests" / "tumors" / "overlays" / "staging" / "model.json").unlink()
    git(mono, "add", "-A")
    git(mono, "commit", "-q", "-m", "Rename staging")
    head = git(mono, "rev-parse", "HEAD")
    listed = (
        ("ml/manifests/tumors/overlays/staging/model.json",) if how.startswith("listed") else ()
    )
    pipeline = load_repo(mono).pipeline("tumors")
    with pytest.raises(BadInput) as raised:
        before_merge(mono, pipeline, head, _anchor(listed), {})
    by = "pull request #12" if listed else f"the merged commit {head[:12]}"
    assert str(raised.value) == (
        f"{by} changes manifests/tumors/overlays/staging/model.json, the record of what is "
        "deployed to staging, which only deploy, promote and rollback write: revert that "
        "change in a pull request of its own; nothing deployed"
    )


def test_a_merge_that_changes_no_record_in_a_folder_goes_on(mono: Path) -> None:
    spec = mono / "pipelines" / "tumors.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(mono, "commit", "-qam", "Tune")
    head = git(mono, "rev-parse", "HEAD")
    parent = git(mono, "rev-parse", "HEAD~1")
    pipeline = load_repo(mono).pipeline("tumors")
    assert before_merge(mono, pipeline, head, _anchor(("ml/pipelines/tumors.yaml",)), {}) == parent
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=mono, capture_output=True, text=True
        ).stdout
        == ""
    )


def _push(tmp_path: Path, event: dict[str, str]) -> dict[str, str]:
    """The deploy job's environment for a push event ``event``."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(path)}


def test_a_push_of_several_commits_is_read_from_the_branch_before_it(
    mono: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rebase merge's commits, pushed together: what was deployed is read where the push
    event says the branch was, not at the last commit's parent (the pull request's own
    earlier commit); an event about another commit, a branch created by the push, a commit
    that is no ancestor, or another event leave the first parent."""
    before = git(mono, "rev-parse", "HEAD")
    spec = mono / "pipelines" / "tumors.yaml"
    for old, new in (("0.1", "0.05"), ("0.05", "0.02")):
        spec.write_text(spec.read_text().replace(f"learning_rate: {old}", f"learning_rate: {new}"))
        git(mono, "commit", "-qam", f"Tune to {new}")
    head, parent = git(mono, "rev-parse", "HEAD"), git(mono, "rev-parse", "HEAD~1")
    pipeline = load_repo(mono).pipeline("tumors")
    anchor = _anchor(("ml/pipelines/tumors.yaml",))
    environ = _push(tmp_path, {"before": before, "after": head})
    capsys.readouterr()
    assert before_merge(mono, pipeline, head, anchor, environ) == before
    assert capsys.readouterr().out == (
        f"  the push added 2 commits: what was deployed is read at {before[:12]}, the branch "
        "before them\n"
    )
    git(mono, "checkout", "-q", "-b", "elsewhere", before)
    (mono / "elsewhere.txt").write_text("x\n")
    git(mono, "add", "-A")
    git(mono, "commit", "-qm", "Not on the branch")
    elsewhere = git(mono, "rev-parse", "HEAD")
    for event in (
        {"before": before, "after": parent},
        {"before": "0" * 40, "after": head},
        {"before": elsewhere, "after": head},
        {"before": "HEAD~2", "after": head},
    ):
        assert before_merge(mono, pipeline, head, anchor, _push(tmp_path, event)) == parent
    other = {**environ, "GITHUB_EVENT_NAME": "workflow_dispatch"}
    assert before_merge(mono, pipeline, head, anchor, other) == parent
    assert capsys.readouterr().out == ""
    Path(environ["GITHUB_EVENT_PATH"]).write_text("{")
    with pytest.raises(BadInput) as raised:
        before_merge(mono, pipeline, head, anchor, environ)
    assert str(raised.value).startswith(
        f"{environ['GITHUB_EVENT_PATH']}: cannot read the GitHub event payload ("
    )
