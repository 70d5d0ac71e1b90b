"""A review is of one commit's inputs: a merge that brings in other inputs, or a model
deployed after the review judged against another, ships nothing unreviewed.

GitHub does not run a pull request's checks again when its base branch moves. Played with
real train, compare and deploy against a real MLflow server, a bare remote and the
loopback GitHub server.
"""

from __future__ import annotations

import pytest

from tests.deploy.test_anchor import model_json
from tests.deploy.test_deploy import deploy, versions
from tests.deploy.test_trust_records import merged_pull
from tests.deploy.world import World, cli_run, git, pr_workflow, results_zip, reviewed_run
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer


def _branch(world: World, name: str, rel: str, text: str) -> str:
    """A branch off work's HEAD adding ``rel``; work stays on main. Its head."""
    git(world.work, "checkout", "-q", "-b", name)
    (world.work / rel).write_text(text)
    git(world.work, "add", rel)
    git(world.work, "commit", "-qm", f"Add {rel}")
    head = git(world.work, "rev-parse", "HEAD")
    git(world.work, "checkout", "-q", "main")
    return head


def _merge(world: World, branch: str) -> str:
    git(world.work, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    git(world.work, "push", "-q", "origin", "main")
    return git(world.work, "rev-parse", "HEAD")


def test_a_review_of_inputs_the_merge_changed_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pull request #12 touches only a note and was reviewed on the spec as it was; another
    pull request then changed the spec's learning rate and merged first. #12's model was
    trained without that change: deploying it would serve a model the merged spec never
    made, recorded under the merged commit's inputs."""
    uri, name = mlflow_server.uri, world.name
    head = _branch(world, "notes", "NOTES.md", "notes\n")
    git(world.work, "checkout", "-q", "notes")
    reviewed_run(uri, world.work, name)
    archive = results_zip(world.work, name)
    git(world.work, "checkout", "-q", "main")
    spec = world.work / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(world.work, "commit", "-qam", "Tune the learning rate")
    merge = _merge(world, "notes")
    merged_pull(on_github, world, head, ["NOTES.md"], archive, merge=merge)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    out, err = capsys.readouterr()
    assert err.startswith("mlgitops deploy: error: the reviewed run "), out + err
    assert "the spec's training settings changed since its review" in err, err
    assert f"a pull request that touches pipelines/{name}.yaml trains on what is merged" in err
    assert err.endswith("; nothing deployed\n"), err
    assert versions(uri, name) == []
    assert world.remote_head() == before


def test_a_review_of_the_merged_inputs_deploys_though_other_files_changed(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
) -> None:
    """The base branch moved after the review, but not in the pipeline's inputs: the reviewed
    model is the merged commit's, and deploys."""
    uri, name = mlflow_server.uri, world.name
    head = _branch(world, "notes", "NOTES.md", "notes\n")
    git(world.work, "checkout", "-q", "notes")
    reviewed_run(uri, world.work, name)
    archive = results_zip(world.work, name)
    git(world.work, "checkout", "-q", "main")
    (world.work / "CHANGELOG.md").write_text("changes\n")
    git(world.work, "add", "CHANGELOG.md")
    git(world.work, "commit", "-qm", "A changelog")
    merge = _merge(world, "notes")
    merged_pull(on_github, world, head, ["NOTES.md"], archive, merge=merge)

    assert deploy(world, uri) == 0
    assert versions(uri, name) == ["1"]
    assert model_json(world)["commit"] == merge


def test_a_model_deployed_after_the_merge_was_judged_is_not_replaced_unjudged(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pull request #12 tunes the spec; #13 builds on it, adding a note, and trains its own
    model of the same inputs. Both merge before #12's deploy lands: #13's deploy judges its
    model against the branch before its merge, where nothing was deployed yet, while #12's
    lands v1. Replacing v1 with a model never compared with it would ship an unjudged
    model; v1 stays."""
    uri, name = mlflow_server.uri, world.name
    spec = world.work / "pipelines" / f"{name}.yaml"
    git(world.work, "checkout", "-q", "-b", "tune")
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(world.work, "commit", "-qam", "Tune the learning rate")
    tuned = git(world.work, "rev-parse", "HEAD")
    reviewed_run(uri, world.work, name)
    first = results_zip(world.work, name)
    noted = _branch(world, "notes", "NOTES.md", "notes\n")  # off tune
    git(world.work, "checkout", "-q", "notes")
    assert cli_run(world.work, "train", name, "--tracking-uri", uri, "--force") == 0
    assert cli_run(world.work, "compare", name, "--tracking-uri", uri) == 0
    second = results_zip(world.work, name)
    git(world.work, "checkout", "-q", "main")
    merged_first = _merge(world, "tune")
    merged_second = _merge(world, "notes")
    state = on_github.state
    files = [f"pipelines/{name}.yaml"]
    for pr, head, archive, merge, listed in (
        (12, tuned, first, merged_first, files),
        (13, noted, second, merged_second, [*files, "NOTES.md"]),
    ):
        state.add_pull(pr, head, files=listed)
        run = state.add_workflow_run(head, name="x", path=pr_workflow(world))
        state.add_artifact(run["id"], f"mlgitops-{name}-train", archive)
        state.merge_pull(pr, merge)
    earlier = world.clone("first")
    git(earlier, "checkout", "-q", merged_first)
    assert deploy(world, uri, root=earlier) == 0  # #12's model, v1
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    out, err = capsys.readouterr()
    assert "first deployment: no deployed model yet" in out, out
    assert err.startswith(
        f"mlgitops deploy: error: model v1 of {merged_first[:12]} was deployed to staging "
        f"after this model was judged against no model (what {merged_first[:12]}, the "
        "branch before this merge, deployed): it was never compared with v1; "
    ), err
    assert err.endswith("; nothing deployed\n"), err
    assert world.remote_head() == before
    assert model_json(world)["commit"] == merged_first
