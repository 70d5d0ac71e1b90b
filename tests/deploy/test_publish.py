"""Race-safe commit and push, against a real bare remote."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mlgitops import proc
from mlgitops.errors import BadInput, ServiceError
from mlgitops.gitops.edits import deploy_edit
from mlgitops.gitops.message import parse_trailers
from mlgitops.gitops.overlay import Overlay
from mlgitops.gitops.publish import Published, Snapshot, Target, Unchanged, publish
from mlgitops.results import ProvenanceRecord
from mlgitops.spec.deploy import Environment
from tests.deploy.world import World, git

STAGING = Environment("staging", "ml-staging")


def record(name: str, version: int) -> ProvenanceRecord:
    return ProvenanceRecord(
        pipeline=name,
        environment="staging",
        model_name=name,
        version=str(version),
        model_uri=f"models:/{name}/{version}",
        run_id=f"run{version}",
        content_key=f"key{version}",
        metrics={},
        data_hash="d",
        spec_hash="s",
        commit="c",
    )


def deploy(
    root: Path,
    name: str,
    version: int,
    attempts: int = 5,
    inputs: dict[str, str | None] | None = None,
) -> Published | Unchanged:
    edit = deploy_edit(Overlay(name, "staging"), record(name, version), STAGING, "", inputs or {})
    return publish(root, edit, Target("main", "origin", attempts), sleep=lambda _: None)


def deployed_version(world: World, commit: str = "main") -> dict[str, object]:
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    return json.loads(git(world.remote, "show", f"{commit}:{rel}"))  # type: ignore[no-any-return]


def test_a_commit_lands_on_the_remote_and_the_checkout(world: World) -> None:
    outcome = deploy(world.work, world.name, 1)
    assert isinstance(outcome, Published)
    assert (outcome.attempts, outcome.pushed) == (1, True)
    assert world.remote_head() == outcome.sha == git(world.work, "rev-parse", "HEAD")
    assert git(world.work, "status", "--porcelain") == ""


def test_deploying_what_is_deployed_commits_nothing(world: World) -> None:
    deploy(world.work, world.name, 1)
    head = world.remote_head()
    outcome = deploy(world.work, world.name, 1)
    assert outcome == Unchanged("model v1 is already deployed to staging", at=head)
    assert world.remote_head() == head


def test_a_push_race_is_retried_by_reapplying_the_edit_on_the_new_tip(world: World) -> None:
    late = world.clone("late")
    early = deploy(world.work, world.name, 1)
    outcome = deploy(late, world.name, 2, attempts=2)
    assert isinstance(outcome, Published) and isinstance(early, Published)
    assert outcome.attempts == 2
    assert git(world.remote, "rev-parse", "main~1") == early.sha
    record_now = deployed_version(world)
    assert record_now["version"] == "2"
    assert record_now["previous"]["version"] == "1"  # type: ignore[index]


def test_giving_up_leaves_the_remote_untouched_and_says_why(world: World) -> None:
    late = world.clone("late")
    late_head = git(late, "rev-parse", "HEAD")
    deploy(world.work, world.name, 1)
    head = world.remote_head()
    with pytest.raises(ServiceError) as caught:
        deploy(late, world.name, 2, attempts=1)
    assert str(caught.value) == (
        "push to origin/main was rejected 1 time(s) because others pushed first "
        "(non-fast-forward); gave up, nothing was pushed"
    )
    assert world.remote_head() == head
    assert git(late, "rev-parse", "HEAD") == late_head
    assert git(late, "status", "--porcelain") == ""


def test_a_remote_that_refuses_is_left_untouched_and_the_error_says_why(world: World) -> None:
    hook = world.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected: use a pull request' >&2\nexit 1\n")
    hook.chmod(0o755)
    head = world.remote_head()
    with pytest.raises(ServiceError) as caught:
        deploy(world.work, world.name, 1)
    assert str(caught.value) == (
        "push to origin/main failed, nothing was pushed: [remote rejected] "
        "(pre-receive hook declined); remote: main is protected: use a pull request"
    )
    assert world.remote_head() == head
    assert git(world.work, "rev-parse", "HEAD") == head


def test_a_newer_merge_of_the_inputs_supersedes_an_older_deploy(world: World) -> None:
    stale = world.clone("stale")
    snapshot = Snapshot(stale, git(stale, "rev-parse", "HEAD"))
    inputs = {
        rel: snapshot.blob_id(rel) for rel in ("data/tumors.csv", f"pipelines/{world.name}.yaml")
    }
    data = world.work / "data" / "tumors.csv"
    data.write_text(data.read_text() + data.read_text().splitlines()[-1] + "\n")
    git(world.work, "commit", "-qam", "More data")
    git(world.work, "push", "-q", "origin", "main")
    head = world.remote_head()
    outcome = deploy(stale, world.name, 1, inputs=inputs)
    assert outcome == Unchanged(
        f"superseded: {head[:12]} changed data/tumors.csv since; its own deploy ships that",
        settled=False,
        at=head,
    )
    assert world.remote_head() == head


def test_uncommitted_changes_to_the_overlay_are_refused(world: World) -> None:
    rel = f"manifests/{world.name}/overlays/staging/kustomization.yaml"
    (world.work / rel).write_text((world.work / rel).read_text() + "# mine\n")
    with pytest.raises(BadInput) as caught:
        deploy(world.work, world.name, 1)
    assert str(caught.value) == f"uncommitted changes in {rel}; commit or discard them first"


def test_an_unreachable_remote_is_an_error_naming_it(world: World) -> None:
    git(world.work, "remote", "set-url", "origin", str(world.tmp / "gone.git"))
    with pytest.raises(ServiceError) as caught:
        deploy(world.work, world.name, 1)
    assert str(caught.value) == (
        "fetch of origin/main failed, nothing was pushed: fatal: "
        f"'{world.tmp / 'gone.git'}' does not appear to be a git repository; "
        "fatal: Could not read from remote repository."
    )


def test_a_checkout_of_a_branch_no_one_merged_pushes_none_of_its_commits(world: World) -> None:
    head = world.remote_head()
    git(world.work, "checkout", "-q", "-b", "unreviewed")
    data = world.work / "data" / "tumors.csv"
    data.write_text(data.read_text() + data.read_text().splitlines()[-1] + "\n")
    git(world.work, "commit", "-qam", "Data no one reviewed")
    branch = git(world.work, "rev-parse", "HEAD")
    with pytest.raises(BadInput) as caught:
        deploy(world.work, world.name, 1)
    assert str(caught.value) == (
        f"HEAD {branch[:12]} is not on origin/main: pushing would land commits there that "
        "were never merged; check out main as it is on origin, or use --no-push"
    )
    assert world.remote_head() == head
    assert git(world.work, "rev-parse", "HEAD") == branch


def test_without_push_the_commit_stays_local(world: World) -> None:
    head = world.remote_head()
    edit = deploy_edit(Overlay(world.name, "staging"), record(world.name, 1), STAGING, "", {})
    outcome = publish(world.work, edit, Target("main", None))
    assert isinstance(outcome, Published) and not outcome.pushed
    assert git(world.work, "rev-parse", "HEAD") == outcome.sha
    assert world.remote_head() == head


def test_parallel_deploys_from_separate_clones_all_land(world: World) -> None:
    clones = [world.clone(f"clone{i}") for i in range(5)]
    start = world.remote_head()
    outcomes: dict[int, Published | Unchanged | BaseException] = {}
    barrier = threading.Barrier(len(clones))

    def worker(index: int, root: Path) -> None:
        barrier.wait()
        try:
            outcomes[index] = deploy(root, world.name, index + 1, attempts=10)
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(isinstance(o, Published) for o in outcomes.values()), outcomes
    commits = git(world.remote, "rev-list", "--reverse", f"{start}..main").split()
    assert len(commits) == len(clones)
    versions = [
        parse_trailers(git(world.remote, "log", "-1", "--format=%B", c))["Model-Version"]
        for c in commits
    ]
    assert sorted(versions) == ["1", "2", "3", "4", "5"]
    for parent, child in zip([None, *versions], versions, strict=False):
        record_at = deployed_version(world, commits[versions.index(child)])
        previous = record_at["previous"]
        assert (previous or {}).get("version") == parent  # type: ignore[union-attr]
    assert deployed_version(world)["version"] == versions[-1]
    rel = f"manifests/{world.name}/overlays/staging/kustomization.yaml"
    digest = deployed_version(world)["model_digest"]
    assert world.remote_file(rel).endswith(
        f"MODEL_URI=models:/{world.name}/{versions[-1]}\n      - MODEL_DIGEST={digest}"
    )


def test_a_checkout_without_a_git_identity_commits_as_mlgitops(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{role}_NAME")
        monkeypatch.delenv(f"GIT_{role}_EMAIL")
    outcome = deploy(world.work, world.name, 1)
    assert isinstance(outcome, Published)
    assert git(world.remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main") == (
        "mlgitops <mlgitops@users.noreply.github.com>|mlgitops <mlgitops@users.noreply.github.com>"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["deploy", "tumors", "--env", "staging", "--no-push"],
        ["promote", "tumors", "--to", "production", "--no-push"],
        ["rollback", "tumors", "--env", "staging", "--no-push"],
    ],
    ids=["deploy", "promote", "rollback"],
)
def test_a_repository_with_no_commit_yet_is_bad_input_saying_so(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``mlgitops init`` and a delivery command before the first commit: git's "ambiguous
    argument 'HEAD'" and its usage text were the error."""
    from mlgitops.cli import main

    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    assert main(["-C", str(root), "init"]) == 0
    capsys.readouterr()
    assert main(["-C", str(root), *command]) == 2
    err = capsys.readouterr().err
    assert err.endswith(
        f"mlgitops {command[0]}: error: HEAD names no commit in {root}: the repository has "
        "none yet (commit its files, then run this again)\n"
    ), err
    assert not proc.git("rev-parse", "--verify", "--quiet", "HEAD", cwd=root, check=False)
