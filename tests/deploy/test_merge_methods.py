"""How the pull request was merged does not change what its merge is judged against.

A rebase merge adds the pull request's commits one by one: the last one's first parent
is the pull request's own earlier commit. Played with real train, compare, deploy and
promote against a real MLflow server, a bare remote and the loopback GitHub server.
"""

from __future__ import annotations

import json

import pytest

from tests.deploy.test_deploy import deploy, versions
from tests.deploy.test_trust_records import merged_pull
from tests.deploy.world import (
    CANARY_BLOCK,
    ROUNDS,
    World,
    cli_run,
    git,
    publish_review,
    results_zip,
    reviewed_run,
)
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer

WEAK = (f"{ROUNDS}, learning_rate: 0.1", "max_iter: 3, learning_rate: 0.3, max_depth: 1")


def test_a_rebase_merge_is_re_scored_against_what_the_branch_deployed_before_the_push(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pull request of two commits: the first puts production before staging, the second
    adds a canary environment first and retrains, reviewed against staging's v1 (production
    runs v1 too). Then staging gets a stronger v2, and the pull request is merged by rebase.
    The merge deploys to canary first, which holds no record, so the baseline is the first
    environment holding one in the base's order: staging, v2. The merge's first parent is the
    pull request's first commit, rebased, whose order put production first: re-scored against
    v1 there, the model v2 outdoes shipped. The push event's ``before`` is the branch before
    the merge, whatever the method."""
    uri, name = mlflow_server.uri, world.name
    spec = world.work / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text().replace(*WEAK))
    git(world.work, "commit", "-qam", "A smaller model")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, name)
    publish_review(on_github.state, world.work, name, pr=10)
    assert deploy(world, uri) == 0  # v1 in staging
    git(world.work, "pull", "-q", "origin", "main")
    promote = ("promote", name, "--to", "production", "--tracking-uri", uri)
    assert cli_run(world.work, *promote) == 0  # and in production
    git(world.work, "pull", "-q", "origin", "main")

    git(world.work, "checkout", "-q", "-b", "feature")
    text = spec.read_text()
    staging, production = text.split("    - name: staging\n")[1].split("    - name: production\n")
    production = production.split("drift:\n")[0]
    text = text.replace(f"    - name: staging\n{staging}", "")
    spec.write_text(text.replace("drift:\n", f"    - name: staging\n{staging}drift:\n", 1))
    assert cli_run(world.work, "render") == 0
    git(world.work, "add", "-A")
    git(world.work, "commit", "-qm", "Production first")
    spec.write_text(
        spec.read_text().replace("  environments:\n", f"  environments:\n{CANARY_BLOCK}")
    )
    schema = world.work / "schemas" / "tumors.yaml"
    schema.write_text(schema.read_text().replace("mean radius", "mean radius (µm)", 1))
    assert cli_run(world.work, "render") == 0
    git(world.work, "add", "-A")
    git(world.work, "commit", "-qm", "A canary first; the radius's unit")
    head = git(world.work, "rev-parse", "HEAD")
    reviewed_run(uri, world.work, name)  # against staging's v1: the same model
    archive = results_zip(world.work, name)
    files = [f"pipelines/{name}.yaml", "schemas/tumors.yaml"]

    git(world.work, "checkout", "-q", "main")
    spec.write_text(spec.read_text().replace(WEAK[1], WEAK[0]))
    git(world.work, "commit", "-qam", "The larger model again")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, name)
    publish_review(on_github.state, world.work, name, pr=11)
    assert deploy(world, uri) == 0  # v2 in staging
    git(world.work, "pull", "-q", "origin", "main")
    pushed_over = git(world.work, "rev-parse", "HEAD")
    git(world.work, "rebase", "-q", "main", "feature")
    git(world.work, "checkout", "-q", "main")
    git(world.work, "merge", "-q", "--ff-only", "feature")
    git(world.work, "push", "-q", "origin", "main")
    merge = git(world.work, "rev-parse", "HEAD")
    merged_pull(on_github, world, head, files, archive, merge=merge)
    event = world.tmp / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "before": pushed_over, "after": merge}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    before = world.remote_head()
    capsys.readouterr()

    code = cli_run(world.work, "deploy", name, "--env", "canary", "--tracking-uri", uri)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert (
        f"  the push added 2 commits: what was deployed is read at {pushed_over[:12]}, the "
        "branch before them\n"
    ) in out, out
    assert err.endswith(
        f"re-scored on the merged holdout, fails the merged gates: failed: 1 of 3 gates failed "
        f"(roc_auc max_drop) against models:/{name}/2; nothing deployed\n"
    ), err
    assert versions(uri, name) == ["1", "2"]
    assert world.remote_head() == before
