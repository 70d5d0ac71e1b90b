"""What is deployed is what deploy, promote and rollback recorded: a pull request cannot
choose the record a merge is judged against, nor bring back what was replaced.

Each test plays what code on a pull request's branch, or a merge of one, can do against a
real MLflow server, real git with a bare remote and the loopback GitHub, then runs
``mlgitops deploy`` (or promote, rollback) as the deploy workflow does.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.deploy.test_anchor import model_json
from tests.deploy.test_deploy import alias, deploy, merge_a_change, versions
from tests.deploy.test_trust import another_model
from tests.deploy.world import (
    ROUNDS,
    World,
    cli_run,
    deployed_review,
    git,
    handoff,
    pr_workflow,
    publish_review,
    results_zip,
    reviewed_run,
)
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer


def merged_pull(
    on_github: GitHubServer,
    world: World,
    head: str,
    files: list[str],
    archive: bytes,
    *,
    merge: str | None = None,
) -> None:
    """GitHub's record of pull request #12 on ``head``, listing ``files``, whose PR workflow
    uploaded ``archive``, merged as ``merge`` (default: ``head``)."""
    on_github.state.add_pull(12, head, files=files)
    run = on_github.state.add_workflow_run(head, name="x", path=pr_workflow(world))
    on_github.state.add_artifact(run["id"], f"mlgitops-{world.name}-train", archive)
    on_github.state.merge_pull(12, merge or head)


# -- what the environment already decided ------------------------------------------------


@pytest.mark.parametrize("where", ["the merge", "an earlier commit"])
def test_a_pull_request_that_changes_the_deployed_record_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
    where: str,
) -> None:
    """Deleting the record would make the re-score a first deployment (absolute gates only).
    Rebased onto the branch commit by commit, the merge's first parent already holds the
    pull request's earlier commits: GitHub's list of its files still names the record."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 11)  # v1 in staging
    record = f"manifests/{world.name}/overlays/staging/model.json"
    git(world.work, "rm", "-q", record)
    if where == "an earlier commit":
        git(world.work, "commit", "-qm", "Tidy the manifests")
    merge_a_change(world)  # the pull request's last commit
    reviewed_run(uri, world.work, world.name)
    head = git(world.work, "rev-parse", "HEAD")
    files = [record, f"pipelines/{world.name}.yaml"] if where == "an earlier commit" else []
    merged_pull(on_github, world, head, files, results_zip(world.work, world.name))
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 2
    by = f"the merged commit {head[:12]}" if where == "the merge" else "pull request #12"
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: {by} changes {record}, the record of what is deployed to "
        "staging, which only deploy, promote and rollback write: revert that change in a pull "
        "request of its own; nothing deployed\n"
    )
    assert versions(uri, world.name) == ["1"]
    assert world.remote_head() == before


STAGING_BLOCK = """\
    - name: staging
      namespace: ml-staging
      cluster: https://kubernetes.default.svc
      canary: {steps: [50, 100], pause: 2m}
"""


def test_a_merge_that_deploys_to_production_first_is_re_scored_against_the_deployed_model(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pull request reviewed while nothing was deployed (a first deployment) puts
    production before staging and trains a much weaker model; staging gets v1 before it is
    merged. Its re-score judged it against production's record, which holds none: a first
    deployment again, and the weaker model shipped. The baseline is what staging runs."""
    uri, name = mlflow_server.uri, world.name
    adopted = git(world.work, "rev-parse", "HEAD")
    git(world.work, "checkout", "-q", "-b", "feature")
    spec = world.work / "pipelines" / f"{name}.yaml"
    text = spec.read_text()
    assert STAGING_BLOCK in text
    text = text.replace(STAGING_BLOCK, "").replace("drift:\n", f"{STAGING_BLOCK}drift:\n", 1)
    text = text.replace(f"{ROUNDS}, learning_rate: 0.1", "max_iter: 3, learning_rate: 0.3")
    spec.write_text(text.replace("random_state: 0}", "random_state: 0, max_depth: 1}", 1))
    assert cli_run(world.work, "render") == 0
    git(world.work, "add", "-A")
    git(world.work, "commit", "-qm", "Production first, a smaller model")
    head = git(world.work, "rev-parse", "HEAD")
    assert cli_run(world.work, "train", name, "--tracking-uri", uri) == 0
    assert cli_run(world.work, "compare", name, "--tracking-uri", uri, "--base", adopted) == 0
    assert handoff(world.work, name, "verdict.json")["baseline"]["available"] is False
    archive = results_zip(world.work, name)

    git(world.work, "checkout", "-q", "main")
    reviewed_run(uri, world.work, name)
    publish_review(on_github.state, world.work, name, pr=11)
    assert deploy(world, uri) == 0  # v1 in staging, before the pull request is merged
    git(world.work, "pull", "-q", "origin", "main")
    git(world.work, "merge", "-q", "--no-ff", "-m", "Merge pull request #12", "feature")
    git(world.work, "push", "-q", "origin", "main")
    merge = git(world.work, "rev-parse", "HEAD")
    merged_pull(on_github, world, head, [f"pipelines/{name}.yaml"], archive, merge=merge)
    before = world.remote_head()
    capsys.readouterr()

    assert cli_run(world.work, "deploy", name, "--env", "production", "--tracking-uri", uri) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        f"re-scored on the merged holdout, fails the merged gates: failed: 1 of 3 gates failed "
        f"(roc_auc max_drop) against models:/{name}/1; nothing deployed\n"
    ), err
    assert versions(uri, name) == ["1"]
    assert world.remote_head() == before


def test_a_pull_request_that_removes_the_record_of_an_environment_it_renames_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The record of an environment the merged spec no longer names is a record of what is
    deployed all the same: the baseline is read from it where the environment deployed to
    first holds none. Renaming staging and deleting its record in an earlier commit of a
    pull request made the re-score a first deployment, and deploy shipped it."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 11)  # v1 in staging
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    spec.write_text(spec.read_text().replace("- name: staging", "- name: stage"))
    assert cli_run(world.work, "render") == 0
    record = f"manifests/{world.name}/overlays/staging/model.json"
    git(world.work, "rm", "-q", record)
    git(world.work, "add", "-A")
    git(world.work, "commit", "-qm", "Rename staging")
    merge_a_change(world)  # the pull request's last commit
    reviewed_run(uri, world.work, world.name)
    head = git(world.work, "rev-parse", "HEAD")
    files = [record, f"pipelines/{world.name}.yaml"]
    merged_pull(on_github, world, head, files, results_zip(world.work, world.name))
    before = world.remote_head()
    capsys.readouterr()

    args = ("deploy", world.name, "--env", "stage", "--tracking-uri", uri)
    assert cli_run(world.work, *args) == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pull request #12 changes {record}, the record of what is "
        "deployed to staging, which only deploy, promote and rollback write: revert that "
        "change in a pull request of its own; nothing deployed\n"
    )
    assert versions(uri, world.name) == ["1"]
    assert world.remote_head() == before


def test_promote_refuses_a_record_that_names_another_model_than_its_version(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pull request that changes only staging's record (no pipeline input: no deploy runs
    for it), merged against its failed check, pointed it at a model the PR credentials
    logged, its version kept: promote checked that the version exists, and shipped that
    model to production unreviewed."""
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=11)
    assert deploy(world, uri) == 0  # v1, reviewed, in staging
    _, model_id, digest = another_model(world, uri, "unreviewed")
    git(world.work, "pull", "-q", "origin", "main")
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    doc = json.loads((world.work / rel).read_text())
    run_id = doc["run_id"]
    doc.update(model_uri=f"models:/{model_id}", model_digest=digest)  # version stays "1"
    (world.work / rel).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    git(world.work, "commit", "-qam", "Tidy the staging record")
    git(world.work, "push", "-q", "origin", "main")
    before = world.remote_head()
    capsys.readouterr()

    promote = ("promote", world.name, "--to", "production", "--tracking-uri", uri)
    assert cli_run(world.work, *promote) == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: manifests/{world.name}/overlays/production/model.json names "
        f"models:/{model_id} of run {run_id} as version 1, where the registry's version 1 is "
        f"{handoff(world.work, world.name, 'train.json')['model_uri']} of run "
        f"{run_id}: the record was changed by other than deploy, promote and rollback; "
        "restore it from Git's history; nothing committed\n"
    )
    assert world.remote_head() == before


def set_alias(uri: str, name: str, alias: str, version: str) -> None:
    """Point ``name@alias`` at ``version`` in the registry, as no mlgitops command does."""
    answer = requests.post(
        f"{uri}/api/2.0/mlflow/registered-models/alias",
        json={"name": name, "alias": alias, "version": version},
        timeout=30,
    )
    answer.raise_for_status()


def _merge_record_change(world: World, text: str | None, message: str) -> None:
    """A pull request that changes only staging's record, merged against its failed check:
    it changes no pipeline input, so no deploy runs for it."""
    path = world.work / "manifests" / world.name / "overlays" / "staging" / "model.json"
    if text is None:
        path.unlink()
    else:
        path.write_text(text)
    git(world.work, "add", "-A")
    git(world.work, "commit", "-qm", message)
    git(world.work, "push", "-q", "origin", "main")


def _merge_reviewed(world: World, on_github: GitHubServer, pr: int) -> str:
    """A later pull request merged with the review in the hand-off folder; its head."""
    git(world.work, "commit", "-q", "--allow-empty", "-m", f"Merge pull request #{pr}")
    git(world.work, "push", "-q", "origin", "main")
    publish_review(on_github.state, world.work, world.name, pr=pr)
    return git(world.work, "rev-parse", "HEAD")


def test_model_lines_a_pull_request_edits_are_refused_by_render_compare_and_deploy(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pull request that edits staging's ``MODEL_URI=`` line (what Argo CD serves) and
    leaves model.json alone passed ``render --check`` (which carried the line over) and
    compare (which guards the record), and once merged Argo CD served the model it named,
    with no deploy run. The lines are held to the record everywhere they are judged."""
    uri, name = mlflow_server.uri, world.name
    deployed_review(world, uri, on_github.state, 11)  # v1 in staging
    rel = f"manifests/{name}/overlays/staging/kustomization.yaml"
    path = world.work / rel
    git(world.work, "checkout", "-q", "-b", "edit")
    path.write_text(
        path.read_text().replace(f"MODEL_URI=models:/{name}/1", f"MODEL_URI=models:/{name}/7")
    )
    merge_a_change(world)  # commits the edit with a change that trains (new params)
    capsys.readouterr()
    assert cli_run(world.work, "render", "--check") == 1
    assert f"+      - MODEL_URI=models:/{name}/1" in capsys.readouterr().out
    assert cli_run(world.work, "train", name, "--tracking-uri", uri) == 0
    capsys.readouterr()
    assert cli_run(world.work, "compare", name, "--tracking-uri", uri, "--base", "origin/main") == 2
    problem = (
        f"{rel}: MODEL_URI is models:/{name}/7, but model.json beside it records "
        f"models:/{name}/1: only deploy, promote and rollback change what an environment runs "
        "(Argo CD would serve a model nobody reviewed); `mlgitops render` writes the lines the "
        "record names"
    )
    assert capsys.readouterr().err == (
        f"mlgitops compare: error: the commits since origin/main edit {problem}\n"
    )

    git(world.work, "checkout", "-q", "main")  # merged against its failed check
    git(world.work, "merge", "-q", "--ff-only", "edit")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, name)
    _merge_reviewed(world, on_github, 12)
    before = world.remote_head()
    capsys.readouterr()
    assert deploy(world, uri) == 2
    assert capsys.readouterr().err == f"mlgitops deploy: error: {problem}; nothing deployed\n"
    assert (world.remote_head(), versions(uri, name)) == (before, ["1"])
    cli_run(world.work, "doctor", "--tracking-uri", uri)
    head = git(world.work, "rev-parse", "HEAD")[:12]
    named = f"deployed records of {name} at {head}: {problem}; deploy and promote refuse it"
    assert named in capsys.readouterr().out


def test_a_record_a_merge_changed_or_removed_is_no_baseline_for_the_next_deploy(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A merged pull request that removes staging's record, or puts back an older one,
    would have the next deploy judge against no model, or a weaker one. Each record of
    what is deployed must agree with the registry's alias of its environment, which only
    deploy, promote and rollback move (the PR credentials cannot)."""
    uri = mlflow_server.uri
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    deployed_review(world, uri, on_github.state, 11)  # v1 in staging
    v1_record = (world.work / rel).read_text()
    _merge_record_change(world, None, "Tidy the manifests")
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    head = _merge_reviewed(world, on_github, 12)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: {head[:12]} holds no {rel}, where the registry's alias "
        f"{world.name}@staging points at version 1: a merge removed the record of what "
        "staging runs (restore it from Git's history), or the alias was set by other than "
        "deploy, promote and rollback (remove it); nothing deployed\n"
    )
    assert (world.remote_head(), versions(uri, world.name)) == (before, ["1"])

    _merge_record_change(world, v1_record, "Restore the staging record")
    _merge_reviewed(world, on_github, 13)
    assert deploy(world, uri) == 0  # judged against v1, as the registry says
    assert (versions(uri, world.name), alias(uri, world.name, "staging")) == (["1", "2"], "2")
    git(world.work, "pull", "-q", "origin", "main")
    v2_record = (world.work / rel).read_text()
    _merge_record_change(world, v1_record, "Put back the staging record")  # v1, not v2
    merged = _merge_reviewed(world, on_github, 14)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: {rel} records version 1 as deployed to staging, where the "
        f"registry's alias {world.name}@staging points at version 2: a merge changed the "
        "record (restore it from Git's history), or the alias is behind it (the deploy, "
        "promote or rollback that wrote it is still running, or failed to move it: run it "
        "again); nothing deployed\n"
    )
    assert (world.remote_head(), alias(uri, world.name, "staging")) == (before, "2")

    promote = ("promote", world.name, "--to", "production", "--tracking-uri", uri)
    assert cli_run(world.work, *promote) == 2  # v1 is a version, but not staging's model
    assert capsys.readouterr().err.startswith(
        f"mlgitops promote: error: {rel} records version 1 as deployed to staging, where the "
        f"registry's alias {world.name}@staging points at version 2: a merge changed the "
    )
    assert (world.remote_head(), alias(uri, world.name, "production")) == (before, None)

    answer = requests.delete(  # with the deploy credentials
        f"{uri}/api/2.0/mlflow/registered-models/alias",
        json={"name": world.name, "alias": "staging"},
        timeout=30,
    )
    assert answer.ok, answer.text
    assert deploy(world, uri) == 2  # staging's record is another run's: it is no lagging alias
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: {rel} records version 1 as deployed to staging, where the "
        f"registry has no alias {world.name}@staging: a merge changed the record (restore it "
        "from Git's history), or the alias is behind it (the deploy, promote or rollback "
        "that wrote it is still running, or failed to move it: run it again); nothing "
        "deployed\n"
    )

    # Restored afterwards, the record agrees at the branch's tip; the job of the merge in
    # between, run again (or run late), still reads v1's record there as what was deployed,
    # put back by a merge, not by deploy, promote or rollback
    set_alias(uri, world.name, "staging", "2")
    _merge_record_change(world, v2_record, "Restore the staging record again")
    job = world.clone("job")
    git(job, "checkout", "-q", "--detach", merged)
    capsys.readouterr()
    assert deploy(world, uri, root=job) == 2
    assert capsys.readouterr().err.startswith(
        f"mlgitops deploy: error: {rel} records version 1 as deployed to staging, where the "
        f"registry's alias {world.name}@staging points at version 2: a merge changed the "
    )

    # What the alias cannot tell: the digests deploy checked, which compare and the model
    # server hold the deployed files to, blanked; a version that is none
    for field, value, said in (
        ("model_digest", "", "records model_digest (none) for version 2, where deploy "),
        ("version", "2.0", "version '2.0' is no registry version; restore it from Git's "),
    ):
        doc = json.loads(v2_record)
        doc[field] = value
        _merge_record_change(world, json.dumps(doc, indent=2), f"Tidy the record's {field}")
        _merge_reviewed(world, on_github, 16 if field == "version" else 15)
        capsys.readouterr()
        assert deploy(world, uri) == 2
        assert said in capsys.readouterr().err
    assert versions(uri, world.name) == ["1", "2"]


def test_a_re_run_of_an_older_deploy_does_not_undo_a_rollback(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)  # v1
    merge_a_change(world)
    merged = git(world.work, "rev-parse", "HEAD")
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=13)
    assert deploy(world, uri) == 0  # v2
    assert (
        cli_run(world.work, "rollback", world.name, "--env", "staging", "--tracking-uri", uri) == 0
    )
    rolled_back = world.remote_head()
    rerun = world.clone("rerun")  # the deploy job of the second merge, run again
    git(rerun, "checkout", "-q", "--detach", merged)
    capsys.readouterr()

    assert deploy(world, uri, root=rerun) == 0
    out = capsys.readouterr().out
    deployed = git(world.remote, "log", "-1", "--format=%H", f"{rolled_back}~1")
    assert (
        f"superseded: model v2 was deployed to staging at {deployed[:12]}, after this commit, "
        f"and replaced since (model v1 at {rolled_back[:12]}): running this deploy again does "
        "not bring it back"
    ) in out, out
    assert world.remote_head() == rolled_back
    record = model_json(world)
    assert record["version"] == "1"
    assert (record["rolled_back_from"] or {})["version"] == "2"  # type: ignore[index]


def test_a_merges_first_deploy_after_a_rollback_of_the_model_it_was_judged_against_waits(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """v3 was judged against v2; v2 was rolled back to v1 before v3's deploy ran. v3 was
    never compared with v1 (a model that only had to hold its ground against a model
    rolled back may be worse than the one serving): it deploys nothing, and v1 stays."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)  # v1
    merge_a_change(world)
    deployed_review(world, uri, on_github.state, 13)  # v2
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.05", "learning_rate: 0.2"))
    git(world.work, "commit", "-qam", "Tune it again")
    git(world.work, "push", "-q", "origin", "main")
    merged = git(world.work, "rev-parse", "HEAD")
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=14)
    operator = world.clone("operator")  # v2 rolled back before the third merge's deploy ran
    assert cli_run(operator, "rollback", world.name, "--env", "staging", "--tracking-uri", uri) == 0
    rolled_back = world.remote_head()
    job = world.clone("job")
    git(job, "checkout", "-q", "--detach", merged)
    capsys.readouterr()

    assert deploy(world, uri, root=job) == 1
    err = capsys.readouterr().err
    assert "was deployed to staging after this model was judged against v2 (what " in err, err
    assert "it was never compared with v1; " in err, err
    assert "(version 3 stays registered, deployed nowhere); nothing deployed" in err, err
    assert world.remote_head() == rolled_back
    assert model_json(world)["version"] == "1"


def test_doctor_names_a_record_that_disagrees_with_the_registry(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``doctor`` holds each record of what is deployed to the registry, as deploy and
    promote do before they take one: a merged record change shows before a deploy fails;
    a checkout behind a later deploy is told to pull."""
    uri, rel = mlflow_server.uri, f"manifests/{world.name}/overlays/staging/model.json"
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0  # v1 in staging
    git(world.work, "pull", "-q", "origin", "main")
    first = git(world.work, "rev-parse", "HEAD")

    def records() -> tuple[int, list[str]]:
        capsys.readouterr()
        code = cli_run(world.work, "doctor", "--tracking-uri", uri)
        head = git(world.work, "rev-parse", "HEAD")[:12]
        subject = f"deployed records of {world.name} at {head}: "
        lines = capsys.readouterr().out.splitlines()
        return code, [line.replace(subject, "") for line in lines if subject in line]

    ok = "ok    each environment's model.json agrees with the registry"
    assert records() == (0, [ok])
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0  # v2
    git(world.work, "checkout", "-q", first)
    tip = world.remote_head()
    assert records() == (
        0,
        [
            f"note  {rel}: this checkout is behind origin/main ({tip[:12]}), whose records "
            "agree with the registry: pull"
        ],
    )
    git(world.work, "checkout", "-q", "main")
    git(world.work, "pull", "-q", "origin", "main")
    assert records() == (0, [ok])
    behind = f"{rel} records version 2 as deployed to staging, where the registry's alias "
    # deploy wrote the record, and its alias move failed: not a checkout behind, run it again
    set_alias(uri, world.name, "staging", "1")
    assert records() == (
        1,
        [
            f"fix   {behind}{world.name}@staging points at version 1: a merge changed the "
            "record (restore it from Git's history), or the alias is behind it (the deploy, "
            "promote or rollback that wrote it is still running, or failed to move it: run "
            "it again); deploy and promote refuse it"
        ],
    )
    set_alias(uri, world.name, "staging", "2")

    v2 = json.loads((world.work / rel).read_text())
    _merge_record_change(world, json.dumps({**v2, "version": "1"}), "Point staging back")
    assert records() == (
        1,
        [
            f"fix   {rel} records version 1 as deployed to staging, where the registry's "
            f"alias {world.name}@staging points at version 2: a merge changed the record "
            "(restore it from Git's history), or the alias is behind it (the deploy, promote "
            "or rollback that wrote it is still running, or failed to move it: run it "
            "again); deploy and promote refuse it"
        ],
    )


def test_a_record_a_merge_brought_back_from_an_older_deploy_is_no_deploy_s_record(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A branch from before the second deploy, merged into main with ``-s ours`` first, puts
    the first deploy's record back. Git's history simplification followed the merge into the
    branch and named the first deploy's commit as the record's writer: doctor called the
    checkout of that merge one behind a later deploy ("pull"), and deploy would have taken
    its record where the tip agreed. The writer on the default branch is the merge."""
    uri, rel = mlflow_server.uri, f"manifests/{world.name}/overlays/staging/model.json"
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0  # v1 in staging
    git(world.work, "pull", "-q", "origin", "main")
    first = git(world.work, "rev-parse", "HEAD")
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0  # v2
    git(world.work, "pull", "-q", "origin", "main")
    git(world.work, "checkout", "-q", "-b", "old", first)
    git(world.work, "merge", "-q", "-s", "ours", "main", "-m", "Keep this branch's files")
    git(world.work, "checkout", "-q", "main")
    git(world.work, "merge", "-q", "--no-ff", "old", "-m", "Merge pull request #9")
    merged = git(world.work, "rev-parse", "HEAD")
    assert json.loads((world.work / rel).read_text())["version"] == "1"
    git(world.work, "revert", "--no-edit", "-m", "1", merged)  # the tip agrees again
    git(world.work, "push", "-q", "origin", "main")
    git(world.work, "checkout", "-q", merged)
    capsys.readouterr()
    assert cli_run(world.work, "doctor", "--tracking-uri", uri) == 1
    subject = f"deployed records of {world.name} at {merged[:12]}: "
    lines = [
        line.replace(subject, "")
        for line in capsys.readouterr().out.splitlines()
        if subject in line
    ]
    assert lines == [
        f"fix   {rel} records version 1 as deployed to staging, where the registry's alias "
        f"{world.name}@staging points at version 2: a merge changed the record (restore it "
        "from Git's history), or the alias is behind it (the deploy, promote or rollback "
        "that wrote it is still running, or failed to move it: run it again); deploy and "
        "promote refuse it"
    ]


def test_an_older_merges_deploy_landing_after_a_newer_ones_does_not_replace_it(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two merges in a row, whose deploy jobs finish out of order: the older merge's model
    was judged against the model before both, never against the newer merge's, which is
    what main holds; it does not replace it."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)  # v1
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    merges = []
    for pr, rate in ((13, "0.05"), (14, "0.3")):
        text = spec.read_text()
        spec.write_text(text.replace(text.split("learning_rate: ")[1].split(",")[0], rate, 1))
        git(world.work, "commit", "-qam", f"learning rate {rate}")
        git(world.work, "push", "-q", "origin", "main")
        merges.append(git(world.work, "rev-parse", "HEAD"))
        reviewed_run(uri, world.work, world.name)
        publish_review(on_github.state, world.work, world.name, pr=pr)
    deployed, out = deploy_newer_then_older(world, uri, merges[1], merges[0], capsys)  # v2 first
    tip = world.remote_head()
    assert (
        f"superseded: {tip[:12]} changed pipelines/{world.name}.yaml since; its own deploy "
        "ships that"
    ) in out, out
    assert model_json(world) == deployed


def test_an_older_merges_deploy_does_not_replace_a_newer_merges_model_of_the_same_inputs(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The newer merge changed none of the pipeline's input files, yet trained another model
    (``train --force`` here; data behind a URL whose bytes changed does the same): the older
    merge's model, judged against the model before both, does not replace it."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, 12)  # v1
    merge_a_change(world)
    older_merge = git(world.work, "rev-parse", "HEAD")
    reviewed_run(uri, world.work, world.name)
    publish_review(on_github.state, world.work, world.name, pr=13)
    (world.work / "NOTES.md").write_text("retrained on the same inputs\n")
    git(world.work, "add", "NOTES.md")
    git(world.work, "commit", "-qm", "Retrain")
    git(world.work, "push", "-q", "origin", "main")
    newer_merge = git(world.work, "rev-parse", "HEAD")
    assert cli_run(world.work, "train", world.name, "--force", "--tracking-uri", uri) == 0
    assert cli_run(world.work, "compare", world.name, "--tracking-uri", uri) == 0
    publish_review(on_github.state, world.work, world.name, pr=14)
    deployed, out = deploy_newer_then_older(world, uri, newer_merge, older_merge, capsys)
    assert deployed["commit"] == newer_merge
    tip = world.remote_head()
    assert (
        f"superseded: model v{deployed['version']} of {newer_merge[:12]}, a later commit, is "
        f"deployed to staging (at {tip[:12]}); this commit's model was not judged against it"
    ) in out, out
    assert model_json(world) == deployed


def deploy_newer_then_older(
    world: World, uri: str, newer: str, older: str, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, object], str]:
    """Merge ``newer``'s deploy job, then ``older``'s (run late, or run again): the record
    the first deployed, and what the second printed. The second commits nothing."""
    job = world.clone("newer")
    git(job, "checkout", "-q", "--detach", newer)
    assert deploy(world, uri, root=job) == 0
    deployed = model_json(world)
    tip = world.remote_head()
    job = world.clone("older")
    git(job, "checkout", "-q", "--detach", older)
    capsys.readouterr()
    assert deploy(world, uri, root=job) == 0
    assert world.remote_head() == tip
    return deployed, capsys.readouterr().out


def _merge_production_record(world: World, doc: dict[str, object]) -> None:
    """A pull request that changes only production's record, and its model lines as render
    writes them from it, to ``doc``, merged against its failed check: no deploy runs for
    it, and Argo CD serves what it names."""
    overlay = world.work / "manifests" / world.name / "overlays" / "production"
    current = json.loads((overlay / "model.json").read_text())
    record = {**doc, "environment": "production"}
    record.update(history=current["history"], previous=current["previous"])
    (overlay / "model.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    kustomization = overlay / "kustomization.yaml"
    text = kustomization.read_text()
    for key, field in (("MODEL_URI", "model_uri"), ("MODEL_DIGEST", "model_digest")):
        text = re.sub(rf"{key}=\S*", f"{key}={record[field]}", text)
    kustomization.write_text(text)
    git(world.work, "commit", "-qam", "Tidy the production record")
    git(world.work, "push", "-q", "origin", "main")


def _staged_versions(world: World, uri: str, on_github: GitHubServer, count: int) -> None:
    """v1 in staging and production; then ``count`` - 1 more versions deployed to staging,
    each from a merged change; work pulls each deploy commit."""
    deployed_review(world, uri, on_github.state, 11)
    args = ("promote", world.name, "--to", "production", "--tracking-uri", uri)
    assert cli_run(world.work, *args) == 0
    git(world.work, "pull", "-q", "origin", "main")
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    for pr, rate in enumerate(("0.05", "0.07")[: count - 1], start=12):
        spec.write_text(
            re.sub(r"learning_rate: [0-9.]+", f"learning_rate: {rate}", spec.read_text())
        )
        git(world.work, "commit", "-qam", f"Tune the learning rate to {rate}")
        git(world.work, "push", "-q", "origin", "main")
        deployed_review(world, uri, on_github.state, pr)


def test_promote_refuses_a_production_record_a_merge_changed_to_another_staged_version(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """v1 in production, v2 and then v3 in staging: v2 never reached production. A merged
    pull request points production's record at v2, with the digests deploy registered it
    with (Argo CD serves it). Deploy refused it; promote excused it as an alias lagging
    behind its record, for any version the registry holds: it then promoted v3 over it,
    production's history holding v2, and a rollback restored v2 to production."""
    uri = mlflow_server.uri
    _staged_versions(world, uri, on_github, 3)
    staging = model_json(world)
    assert staging["version"] == "3" and alias(uri, world.name, "production") == "1"
    history = staging["history"]
    assert isinstance(history, list)
    [v2] = [h for h in history if h["version"] == "2"]
    _merge_production_record(world, {**staging, **v2})
    before = world.remote_head()
    capsys.readouterr()

    args = ("promote", world.name, "--to", "production", "--tracking-uri", uri)
    assert cli_run(world.work, *args) == 2
    rel = f"manifests/{world.name}/overlays/production/model.json"
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: {rel} records version 2 as deployed to production, where "
        f"the registry's alias {world.name}@production points at version 1: a merge changed "
        "the record (restore it from Git's history), or the alias is behind it (the deploy, "
        "promote or rollback that wrote it is still running, or failed to move it: run it "
        "again); nothing committed\n"
    )
    assert (world.remote_head(), alias(uri, world.name, "production")) == (before, "1")
