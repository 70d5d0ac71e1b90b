"""``promote`` and ``rollback``: commits that copy or restore a model, idempotent."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from mlgitops.gitops.edits import promote_edit, read_record, traffic_edit
from mlgitops.gitops.message import parse_trailers
from mlgitops.gitops.overlay import overlay_of
from mlgitops.gitops.publish import Snapshot, Unchanged
from mlgitops.results import DeployedModel, ProvenanceRecord, dumps
from mlgitops.spec import load_repo
from tests.deploy.kube_api import KubeApi
from tests.deploy.test_deploy import alias, check_overlays, deploy, merge_a_change, versions
from tests.deploy.test_status import (
    ABORTED_BY_ANALYSIS,
    FAILED_RUN,
    HEALTHY_ROLLOUT,
    PAUSED_ROLLOUT,
    READY,
    analysis_run,
    cluster_objects,
    inference_service,
    install,
    served,
)
from tests.deploy.world import World, cli_run, git, make_world, reviewed_run
from tests.fixtures.mlflow_server import MlflowServer


def record(world: World, env: str) -> dict[str, object]:
    return json.loads(world.remote_file(f"manifests/{world.name}/overlays/{env}/model.json"))  # type: ignore[no-any-return]


def promote(world: World, uri: str, *extra: str) -> int:
    return cli_run(
        world.work, "promote", world.name, "--to", "production", "--tracking-uri", uri, *extra
    )


def rollback(world: World, uri: str, *extra: str) -> int:
    return cli_run(
        world.work, "rollback", world.name, "--env", "staging", "--tracking-uri", uri, *extra
    )


def synced(world: World, at: Path | None = None) -> dict[str, str]:
    """Argo CD's sync status of an Application synced to the remote's tip (or to the HEAD of
    the checkout ``at``)."""
    commit = git(at, "rev-parse", "HEAD") if at else world.remote_head()
    return {"status": "Synced", "revision": commit}


def healthy(sync: dict[str, str], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Argo CD's status of an Application synced as ``sync`` says, and healthy; its history
    ``history``, or that sync alone, completed now."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    done = [{"id": 1, "revision": sync["revision"], "deployedAt": now}]
    return {"sync": sync, "health": {"status": "Healthy"}, "history": history or done}


@pytest.fixture
def staged(world: World, mlflow_server: MlflowServer) -> World:
    """Model v1 deployed to staging."""
    reviewed_run(mlflow_server.uri, world.work, world.name)
    assert deploy(world, mlflow_server.uri) == 0
    return world


def test_promote_copies_staging_to_production(
    staged: World, mlflow_server: MlflowServer, contracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri = staged, mlflow_server.uri
    capsys.readouterr()
    assert promote(world, uri) == 0
    head = world.remote_head()
    subject = f"promote({world.name}): model v1 from staging to production (canary 10%→50%→100%)"
    assert capsys.readouterr().out == (
        f"promote {world.name}: committed {head[:12]} {subject}\n"
        "  pushed to origin/main\n"
        f"  MLflow alias {world.name}@production -> version 1\n"
    )
    trailers = parse_trailers(git(world.remote, "log", "-1", "--format=%B", "main"))
    assert (trailers["Environment"], trailers["Promoted-From"]) == ("production", "staging")
    staging, production = record(world, "staging"), record(world, "production")
    assert production["promoted_from"] == "staging"
    same = ("version", "model_uri", "run_id", "content_key", "metrics", "commit", "pr")
    same += ("model_digest", "training_rows_digest", "reference_digest")
    assert {k: production[k] for k in same} == {k: staging[k] for k in same}
    overlay = world.remote_file(f"manifests/{world.name}/overlays/production/kustomization.yaml")
    assert overlay.endswith(
        f"MODEL_URI=models:/{world.name}/1\n      - MODEL_DIGEST={staging['model_digest']}"
    )  # the production servers check the files staging's deploy checked
    assert alias(uri, world.name, "production") == "1"
    check_overlays(world, contracts)
    capsys.readouterr()

    assert promote(world, uri) == 0
    assert capsys.readouterr().out == (
        f"promote {world.name}: model v1 is already deployed to production; nothing committed\n"
        f"  MLflow alias {world.name}@production -> version 1\n"
    )
    assert world.remote_head() == head


def _share(world: World, env: str) -> int:
    """The canaryTrafficPercent of the InferenceService the overlay builds, on the remote."""
    kustomization = world.remote_file(f"manifests/{world.name}/overlays/{env}/kustomization.yaml")
    [share] = [
        int(line.split(":")[1])
        for line in kustomization.splitlines()
        if "canaryTrafficPercent:" in line
    ]
    return share


def test_a_kserve_canary_moves_through_its_steps_by_commits(
    tmp_path: Path, mlflow_server: MlflowServer, contracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """KServe keeps the share canaryTrafficPercent gives a new model until a commit changes
    it: every model after the first kept the first step's share, the rest of the traffic
    on the first model, for good. Staging's steps are [50, 100], production's [10, 50, 100]."""
    world, uri = make_world(tmp_path, kserve=True), mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    assert (_share(world, "staging"), record(world, "staging")["traffic_percent"]) == (50, 50)
    check_overlays(world, contracts)
    capsys.readouterr()

    step = ("promote", world.name, "--tracking-uri", uri, "--env")
    assert cli_run(world.work, *step, "staging") == 0
    head = world.remote_head()
    subject = f"promote({world.name}): model v1 takes 100% of staging's traffic (canary 50%→100%)"
    assert capsys.readouterr().out == (
        f"promote {world.name}: committed {head[:12]} {subject}\n  pushed to origin/main\n"
    )
    trailers = parse_trailers(git(world.remote, "log", "-1", "--format=%B", "main"))
    assert (trailers["Environment"], trailers["Traffic-Percent"]) == ("staging", "100")
    assert (_share(world, "staging"), record(world, "staging")["traffic_percent"]) == (100, 100)
    changed = git(world.remote, "diff", "--name-only", "main~1", "main").split()
    assert sorted(changed) == [
        f"manifests/{world.name}/overlays/staging/{file}"
        for file in ("kustomization.yaml", "model.json")
    ]
    check_overlays(world, contracts)
    capsys.readouterr()
    assert cli_run(world.work, *step, "staging") == 0
    assert capsys.readouterr().out == (
        f"promote {world.name}: model v1 already takes all of staging's traffic; "
        "nothing committed\n"
    )
    assert world.remote_head() == head

    # the next environment gets the model at its first step, then each step in turn
    git(world.work, "pull", "-q", "origin", "main")
    assert promote(world, uri) == 0
    assert (_share(world, "production"), record(world, "production")["traffic_percent"]) == (10, 10)
    assert cli_run(world.work, *step, "production") == 0
    assert _share(world, "production") == 50
    assert cli_run(world.work, *step, "production", "--full") == 0
    assert (_share(world, "production"), record(world, "production")["traffic_percent"]) == (
        100,
        100,
    )
    check_overlays(world, contracts)

    # a new model starts at the first step again; a rollback restores the old one in full
    git(world.work, "pull", "-q", "origin", "main")
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    assert (record(world, "staging")["version"], _share(world, "staging")) == ("2", 50)
    git(world.work, "pull", "-q", "origin", "main")
    assert rollback(world, uri) == 0
    assert (record(world, "staging")["version"], _share(world, "staging")) == ("1", 100)
    assert record(world, "staging")["traffic_percent"] == 100
    check_overlays(world, contracts)


def test_promote_when_healthy_waits_for_no_kserve_canary_only_a_commit_moves(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A KServe canary holds its share until a commit raises it: waiting for it to finish
    would wait for ever, so --wait stops at once and says what moves it on."""
    world, uri = make_world(tmp_path / "kserve", kserve=True), mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    app, _ = cluster_objects(world, "staging", kind="InferenceService")
    kube_api.put({**app, "status": healthy(synced(world))})
    kube_api.put(inference_service(world, "staging", 50, served(world, 50, READY)))
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    head = world.remote_head()
    capsys.readouterr()

    assert promote(world, uri, "--when-healthy", "--wait", "2m", "--kubeconfig", kubeconfig) == 1
    out, err = capsys.readouterr()
    assert "waiting up to" not in out
    assert err == (
        "mlgitops promote: error: staging is not healthy (the canary's model takes 50% of the "
        f"traffic (canary step 1/2): KServe holds it there until `mlgitops promote {world.name} "
        "--env staging` gives it the next share); nothing promoted\n"
    )
    assert world.remote_head() == head

    kube_api.put(inference_service(world, "staging", 100, served(world, 100, READY)))
    assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 0
    assert (record(world, "production")["version"], _share(world, "production")) == ("1", 10)


def test_a_kserve_canary_s_next_share_waits_for_the_cluster_to_serve_the_present_one(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``promote --env --when-healthy``: no more traffic to a revision that is not Ready, or
    before the cluster applied the last step."""
    world, uri = make_world(tmp_path / "kserve", kserve=True), mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0  # staging's steps: [50, 100]
    app, _ = cluster_objects(world, "staging", kind="InferenceService")
    kube_api.put({**app, "status": healthy(synced(world))})
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    step = ("promote", world.name, "--tracking-uri", uri, "--env", "staging", "--when-healthy")
    step += ("--kubeconfig", kubeconfig)
    head = world.remote_head()
    failed = {
        "type": "Ready",
        "status": "False",
        "reason": "RevisionFailed",
        "message": "OOMKilled",
    }
    for latest, ready, said in (
        (50, failed, "InferenceService is NotReady (OOMKilled)"),
        (
            20,
            READY,
            "the latest revision takes 20% of the traffic, less than the 50% the overlay "
            "gives it: the cluster has not applied the last step yet",
        ),
    ):
        kube_api.put(inference_service(world, "staging", 50, served(world, latest, ready)))
        capsys.readouterr()
        assert cli_run(world.work, *step) == 1
        assert capsys.readouterr().err == (
            f"mlgitops promote: error: staging is not ready for its canary's next share ({said}); "
            "nothing promoted\n"
        )
        assert world.remote_head() == head

    kube_api.put(inference_service(world, "staging", 50, served(world, 50, READY)))
    assert cli_run(world.work, *step) == 0
    assert (_share(world, "staging"), record(world, "staging")["traffic_percent"]) == (100, 100)


def test_a_kserve_canary_rises_only_from_the_share_its_checkout_read(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``promote --env`` raises the share it read (and, with ``--when-healthy``, the one it
    checked the cluster serves), or nothing: from a checkout behind the remote, it raised
    whatever share the tip held by then, a step no one had read or checked, or the first
    step of a model deployed since."""
    world, uri = make_world(tmp_path / "kserve", kserve=True), mlflow_server.uri
    # production without analysis: what is checked here is the cluster's share, not the
    # canary's requests (tests/deploy/test_kserve_canary_metrics.py measures those)
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    [analysis] = [line for line in spec.read_text().splitlines() if "analysis:" in line]
    spec.write_text(spec.read_text().replace(analysis + "\n", ""))
    assert cli_run(world.work, "render") == 0
    git(world.work, "commit", "-qam", "No analysis in production")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0  # staging's steps: [50, 100]
    git(world.work, "pull", "-q", "origin", "main")
    assert promote(world, uri) == 0  # production's steps: [10, 50, 100]
    git(world.work, "pull", "-q", "origin", "main")
    other = world.clone("other")  # a second operator, or a second dispatch of `canary`
    step = ("promote", world.name, "--tracking-uri", uri, "--env", "production")
    assert cli_run(other, *step) == 0
    assert _share(world, "production") == 50
    # and a commit after it (else this checkout's own step from 10% could be the very same
    # commit, made in the same second)
    (other / "NOTES.md").write_text("production at 50%\n")
    git(other, "add", "NOTES.md")
    git(other, "commit", "-q", "-m", "Note the canary")
    git(other, "push", "-q", "origin", "main")
    head = world.remote_head()

    app, _ = cluster_objects(world, "production", kind="InferenceService")
    at_10 = healthy(synced(world, world.work))
    kube_api.put({**app, "status": at_10})  # the checkout's commit: Argo CD is behind the tip
    kube_api.put(inference_service(world, "production", 10, served(world, 10, READY)))
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    for checked in ((), ("--when-healthy", "--kubeconfig", kubeconfig)):
        capsys.readouterr()
        assert cli_run(world.work, *step, *checked) == 0
        assert capsys.readouterr().out.endswith(
            f"promote {world.name}: superseded: model v1 takes 50% of production's traffic at "
            f"{head[:12]}, not the 10% this checkout read: run promote --env again from there; "
            "nothing committed\n"
        )
        assert world.remote_head() == head
        assert (_share(world, "production"), record(world, "production")["traffic_percent"]) == (
            50,
            50,
        )

    # another model at the same share is no more the one read
    at = Snapshot(world.work, world.remote_head())
    overlay = overlay_of(load_repo(world.work).pipeline(world.name), "production")
    read = read_record(at, overlay)
    assert read is not None
    outcome = traffic_edit(overlay, False, replace(read, version="0", run_id="r0"))(at)
    assert outcome == Unchanged(
        f"superseded: model v1 takes 50% of production's traffic at {at.commit[:12]}, not "
        "the 50% of model v0 this checkout read: run promote --env again from there",
        settled=False,
    )

    git(world.work, "pull", "-q", "origin", "main")
    assert cli_run(world.work, *step) == 0
    assert _share(world, "production") == 100


def _v2_deployed_after(world: World, uri: str) -> dict[str, str]:
    """Argo CD's sync status at the remote's tip, where staging runs model v1; then model
    v2 merged, trained and committed to staging (the checkout pulled), not synced yet."""
    git(world.work, "pull", "-q", "origin", "main")
    ran = synced(world)
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    return ran


def test_promote_when_healthy_promotes_only_the_model_the_cluster_ran(
    staged: World,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Argo CD reports an Application Synced and Healthy at the commit it last synced, for
    minutes after a newer one lands: staging's health was that of model v1 while the
    checkout's staging record named v2, and v2 went to production without ever running."""
    world, uri = staged, mlflow_server.uri
    ran = _v2_deployed_after(world, uri)
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    install(kube_api, world, "staging", healthy(ran), HEALTHY_ROLLOUT)
    head = world.remote_head()
    capsys.readouterr()
    assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 1
    assert capsys.readouterr().err == (
        "mlgitops promote: error: staging does not run the model this checkout promotes yet "
        f"(Argo CD synced staging to {ran['revision'][:12]}, where "
        f"manifests/{world.name}/overlays/staging/model.json names model v1, not the model v2 "
        "of this checkout); nothing promoted\n"
    )
    assert world.remote_head() == head

    # a commit the checkout does not hold (the cluster is ahead of it), or no commit at all
    for revision, said in (
        (
            "f" * 40,
            f"Argo CD synced staging to {'f' * 12}, a commit this checkout does not hold: "
            "pull (in a shallow clone, fetch more history), then run again",
        ),
        ("main", "Argo CD names no commit it synced staging to ('main')"),
    ):
        sync = {"status": "Synced", "revision": revision}
        install(kube_api, world, "staging", healthy(sync), HEALTHY_ROLLOUT)
        assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 1
        assert capsys.readouterr().err == (
            "mlgitops promote: error: staging does not run the model this checkout promotes "
            f"yet ({said}); nothing promoted\n"
        )
        assert world.remote_head() == head

    # once Argo CD has synced v2's commit, v2 is what ran, and it is promoted
    install(kube_api, world, "staging", healthy(synced(world)), HEALTHY_ROLLOUT)
    assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 0
    assert record(world, "production")["version"] == "2"

    # from a checkout that read another deployment of staging's model than the tip's, nothing
    at = Snapshot(world.work, world.remote_head())
    pipeline = load_repo(world.work).pipeline(world.name)
    staging, production = (overlay_of(pipeline, env) for env in ("staging", "production"))
    read = read_record(at, staging)
    assert read is not None and pipeline.deploy is not None
    edit = promote_edit(
        staging, production, pipeline.deploy.environments[1], "now", replace(read, run_id="r0")
    )
    assert edit(at) == Unchanged(
        f"superseded: staging holds model v2 at {at.commit[:12]}, not the model v2 (another "
        "deployment of it) this checkout read: run promote again from there",
        settled=False,
    )


def test_a_kserve_canary_s_next_share_goes_only_to_the_model_the_cluster_serves(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Model v1 serves its 50% Ready; v2 is committed at its first step, 50%, and Argo CD
    has not synced it: the cluster's 50% was v1's, and v2 took all of the traffic."""
    world, uri = make_world(tmp_path / "kserve", kserve=True), mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0  # staging's steps: [50, 100]
    ran = _v2_deployed_after(world, uri)
    app, _ = cluster_objects(world, "staging", kind="InferenceService")
    kube_api.put({**app, "status": healthy(ran)})
    kube_api.put(inference_service(world, "staging", 50, served(world, 50, READY)))
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    step = ("promote", world.name, "--tracking-uri", uri, "--env", "staging", "--when-healthy")
    step += ("--kubeconfig", kubeconfig)
    head = world.remote_head()
    capsys.readouterr()
    assert cli_run(world.work, *step) == 1
    assert capsys.readouterr().err == (
        "mlgitops promote: error: staging is not ready for its canary's next share (Argo CD "
        f"synced staging to {ran['revision'][:12]}, where "
        f"manifests/{world.name}/overlays/staging/model.json names model v1 at 50%, not the "
        "model v2 at 50% of this checkout); nothing promoted\n"
    )
    assert world.remote_head() == head

    kube_api.put({**app, "status": healthy(synced(world))})
    assert cli_run(world.work, *step) == 0
    assert (record(world, "staging")["version"], _share(world, "staging")) == ("2", 100)


def test_a_canary_share_is_promoted_only_where_kserve_keeps_it(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Argo Rollouts moves its canary through the steps in the cluster."""
    head = world.remote_head()
    assert cli_run(world.work, "promote", world.name, "--env", "staging") == 2
    err = capsys.readouterr().err
    assert f"`kubectl argo rollouts promote {world.name} -n ml-staging`" in err, err
    assert cli_run(world.work, "promote", world.name, "--to", "production", "--full") == 2
    assert "--full is for --env" in capsys.readouterr().err
    assert world.remote_head() == head


def test_promote_to_the_first_environment_is_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_run(world.work, "promote", world.name, "--to", "staging") == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: staging is the first environment of '{world.name}': nothing "
        f"comes before it to promote; use `mlgitops deploy {world.name} --env staging`\n"
    )


def test_promote_with_nothing_deployed_before_is_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    head = world.remote_head()
    assert cli_run(world.work, "promote", world.name, "--to", "production") == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: nothing is deployed to staging (manifests/{world.name}/"
        "overlays/staging/model.json does not exist); deploy there first\n"
    )
    assert world.remote_head() == head


def test_promote_when_healthy_waits_for_a_finished_canary(
    staged: World,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world, uri = staged, mlflow_server.uri
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    install(
        kube_api,
        world,
        "staging",
        {"sync": synced(world), "health": {"status": "Suspended"}},
        PAUSED_ROLLOUT,
    )
    head = world.remote_head()
    capsys.readouterr()
    assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith(f"{world.name}/staging: not healthy")
    assert err == (
        "mlgitops promote: error: staging is not healthy yet (Argo CD health is Suspended; "
        "Rollout is Paused at canary step 1/2); nothing promoted\n"
    )
    assert world.remote_head() == head

    install(kube_api, world, "staging", healthy(synced(world)), HEALTHY_ROLLOUT)
    assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 0
    assert record(world, "production")["version"] == "1"


def test_promote_when_healthy_waits_for_the_canary_to_finish(
    staged: World,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world, uri = staged, mlflow_server.uri
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    suspended = {"sync": synced(world), "health": {"status": "Suspended"}}
    install(kube_api, world, "staging", suspended, PAUSED_ROLLOUT)

    def finish_after_the_first_reading() -> None:
        for _ in range(600):  # the first reading: Application, Rollout, AnalysisRun
            if len(kube_api.requests) >= 3:
                break
            time.sleep(0.05)
        install(kube_api, world, "staging", healthy(synced(world)), HEALTHY_ROLLOUT)

    finisher = threading.Thread(target=finish_after_the_first_reading)
    finisher.start()
    capsys.readouterr()
    try:
        code = promote(world, uri, "--when-healthy", "--wait", "2m", "--kubeconfig", kubeconfig)
    finally:
        finisher.join()
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "waiting up to 120s for staging: Argo CD health is Suspended; "
        "Rollout is Paused at canary step 1/2"
    )
    assert out[1] == f"{world.name}/staging: healthy"
    assert len(kube_api.requests) >= 5  # read again after the canary finished
    assert record(world, "production")["version"] == "1"


def test_promote_when_healthy_stops_waiting_when_the_analysis_fails(
    staged: World,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world, uri = staged, mlflow_server.uri
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    run = f"{world.name}-6d4f8b9c7-2"
    aborted = json.loads(json.dumps(ABORTED_BY_ANALYSIS).replace("RUN", run))
    degraded = {"sync": synced(world), "health": {"status": "Degraded"}}
    install(kube_api, world, "staging", degraded, aborted)
    kube_api.put(analysis_run(world, "production", run, FAILED_RUN, namespace="ml-staging"))
    head = world.remote_head()
    capsys.readouterr()
    assert promote(world, uri, "--when-healthy", "--wait", "1h", "--kubeconfig", kubeconfig) == 1
    out, err = capsys.readouterr()
    assert f"  AnalysisRun ml-staging/{run}: Failed, stopped by success-rate" in out.splitlines()[3]
    assert err.startswith("mlgitops promote: error: staging is not healthy (")
    assert err.endswith("; the canary analysis Failed on success-rate); nothing promoted\n")
    assert len(kube_api.requests) == 3  # one reading: nothing to wait for
    assert world.remote_head() == head


def _v2_with_history(
    world: World, uri: str, change: Callable[[dict[str, Any]], object], message: str
) -> str:
    """v2 deployed over staging's v1, then a commit that applies ``change`` to every entry
    of the record's history (``previous`` included); the record's path."""
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    doc = json.loads((world.work / rel).read_text())
    for entry in (doc["previous"], *doc["history"]):
        change(entry)
    (world.work / rel).write_text(json.dumps(doc, indent=2))
    git(world.work, "commit", "-qam", message)
    git(world.work, "push", "-q", "origin", "main")
    return rel


@pytest.mark.parametrize(
    "missing",
    [
        ("model_digest", "training_rows_digest", "reference_digest"),
        ("training_rows_digest",),
        ("reference_digest",),
    ],
    ids=["no digests", "no training rows digest", "no reference digest"],
)
def test_rollback_restores_the_previous_model_once(
    staged: World,
    mlflow_server: MlflowServer,
    contracts: Path,
    capsys: pytest.CaptureFixture[str],
    missing: tuple[str, ...],
) -> None:
    world, uri = staged, mlflow_server.uri
    v1 = record(world, "staging")
    # v1's history entry as an older mlgitops wrote it, without the digests (or without
    # the training rows' alone): the rollback finds them where v1's deploy recorded them

    def older(entry: dict[str, Any]) -> None:
        for field in missing:
            del entry[field]

    _v2_with_history(world, uri, older, "A record from an older mlgitops")
    capsys.readouterr()

    assert rollback(world, uri) == 0
    head = world.remote_head()
    subject = f"rollback({world.name}): staging back to model v1 (from v2)"
    assert capsys.readouterr().out == (
        f"rollback {world.name}: committed {head[:12]} {subject}\n"
        "  pushed to origin/main\n"
        f"  MLflow alias {world.name}@staging -> version 1\n"
    )
    restored = record(world, "staging")
    assert restored["rolled_back_from"]["version"] == "2"  # type: ignore[index]
    kept = (
        "version",
        "model_uri",
        "run_id",
        "content_key",
        "metrics",
        "data_hash",
        "spec_hash",
        "commit",
        "pr",
        "model_digest",  # the model server and compare check the restored files against it
        "training_rows_digest",  # compare checks the rows it keeps the model off against it
        "reference_digest",  # drift checks the reference it judges recent data against
    )
    assert str(v1["model_digest"]).startswith("sha256:")
    assert str(v1["reference_digest"]).startswith("sha256:")
    assert str(v1["training_rows_digest"]).startswith("sha256:")
    assert {k: restored[k] for k in kept} == {k: v1[k] for k in kept}
    assert (restored["previous"], restored["history"]) == (None, [])
    kustomization = world.remote_file(f"manifests/{world.name}/overlays/staging/kustomization.yaml")
    assert kustomization.endswith(
        f"MODEL_URI=models:/{world.name}/1\n      - MODEL_DIGEST={v1['model_digest']}"
    )
    assert alias(uri, world.name, "staging") == "1"
    check_overlays(world, contracts)
    capsys.readouterr()

    assert rollback(world, uri) == 0
    assert capsys.readouterr().out == (
        f"rollback {world.name}: staging is already rolled back from v2 to v1 (pass --to VERSION "
        "to go further back); nothing committed\n"
        f"  MLflow alias {world.name}@staging -> version 1\n"
    )
    assert world.remote_head() == head


def test_rollback_in_a_shallow_clone_warns_only_where_the_model_s_digest_is_missing(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """CI checkouts are shallow: the commit of v1's own deploy is out of reach. A history
    entry from before entries kept the reference's digest still names the model's: its
    files are checked, and nothing says they are loaded unchecked."""
    world, uri = staged, mlflow_server.uri
    _v2_with_history(world, uri, lambda entry: entry.pop("reference_digest"), "Older entry")
    untagged = {"name": world.name, "version": "1", "key": "mlgitops.reference_digest"}
    answer = requests.delete(  # nor did the older deploy tag the version with it
        f"{uri}/api/2.0/mlflow/model-versions/delete-tag", json=untagged, timeout=30
    )
    answer.raise_for_status()
    shallow = world.tmp / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{world.remote}", str(shallow)], check=True
    )
    capsys.readouterr()
    args = ("rollback", world.name, "--env", "staging", "--tracking-uri", uri)
    assert cli_run(shallow, *args) == 0
    assert capsys.readouterr().err == ""
    restored = json.loads(world.remote_file(f"manifests/{world.name}/overlays/staging/model.json"))
    assert restored["version"] == "1" and restored["model_digest"].startswith("sha256:")


@pytest.mark.parametrize("field", ["model_digest", "training_rows_digest", "reference_digest"])
def test_rollback_refuses_a_history_entry_whose_digests_deploy_did_not_register(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    """A merge that changes only a record (no deploy runs for it) rewrites v1's history
    entry: the model server and compare would hold v1's files, or the rows compare keeps
    it off, and drift its reference, to digests deploy never checked."""
    world, uri = staged, mlflow_server.uri
    v1 = record(world, "staging")
    forged = "sha256:" + "0" * 64
    rel = _v2_with_history(world, uri, lambda entry: entry.update({field: forged}), "Tidy")
    head = world.remote_head()
    capsys.readouterr()

    assert rollback(world, uri) == 2

    assert capsys.readouterr().err == (
        f"mlgitops rollback: error: {rel} records {field} {forged} for version 1, where "
        f"deploy registered that version with {v1[field]}: the record was changed by other "
        "than deploy, promote and rollback; restore it from Git's history; nothing committed\n"
    )
    assert world.remote_head() == head
    assert alias(uri, world.name, "staging") == "2"


def test_rollback_to_a_version_and_with_nothing_to_restore(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri = staged, mlflow_server.uri
    capsys.readouterr()
    assert rollback(world, uri) == 2
    assert capsys.readouterr().err == (
        "mlgitops rollback: error: nothing to roll back to: model v1 is the only model "
        "recorded for staging\n"
    )
    assert rollback(world, uri, "--to", "v1") == 0
    assert capsys.readouterr().out.startswith(
        f"rollback {world.name}: model v1 is already deployed to staging; nothing committed\n"
    )


def test_promote_from_a_branch_no_one_merged_pushes_none_of_its_commits(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The deploy workflow's "Run workflow" checks out the branch it is run on: promote
    from a pull request's branch must not push that branch's commits to the default one."""
    world, uri = staged, mlflow_server.uri
    head = world.remote_head()
    git(world.work, "checkout", "-q", "-b", "unreviewed")
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(world.work, "commit", "-qam", "A change no one reviewed")
    branch = git(world.work, "rev-parse", "HEAD")
    capsys.readouterr()
    assert promote(world, uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: HEAD {branch[:12]} is not on origin/main: pushing would "
        "land commits there that were never merged; check out main as it is on origin, or "
        "use --no-push\n"
    )
    assert world.remote_head() == head
    assert alias(uri, world.name, "production") is None


def test_a_tag_named_as_the_default_branch_does_not_choose_what_promote_builds_on(
    staged: World, mlflow_server: MlflowServer
) -> None:
    """Anyone who can push a tag can name it ``main``; fetching ``main`` by its short name
    takes the tag over the branch, and a retried push would land its commits."""
    world, uri = staged, mlflow_server.uri
    other = world.clone("other")
    (other / "NOTES.md").write_text("a merge that lands first\n", "utf-8")
    git(other, "add", "NOTES.md")
    git(other, "commit", "-qm", "A merge that lands first")
    git(other, "push", "-q", "origin", "main")
    merged = world.remote_head()
    rollout = other / "manifests" / world.name / "base" / "rollout.yaml"
    rollout.write_text(rollout.read_text().replace("runAsNonRoot: true", "runAsNonRoot: false"))
    git(other, "commit", "-qam", "A change no one reviewed")
    git(other, "tag", "main")
    git(other, "push", "-q", "origin", "refs/tags/main")
    unreviewed = git(other, "rev-parse", "HEAD")

    assert promote(world, uri) == 0  # from a checkout behind the branch: the push races
    head = world.remote_head()
    assert git(world.remote, "rev-parse", f"{head}^") == merged
    ancestor = ["git", "merge-base", "--is-ancestor", unreviewed, head]
    assert subprocess.run(ancestor, cwd=world.remote, check=False).returncode == 1


def test_promote_in_a_fresh_clone_with_an_empty_registry_commits_nothing(
    staged: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world = staged
    fresh = world.clone("fresh")
    head = world.remote_head()
    capsys.readouterr()
    for _ in range(2):  # a rerun says the same, not "already deployed"
        assert cli_run(fresh, "promote", world.name, "--to", "production") == 2
        store = f"sqlite:///{fresh / '.mlgitops' / 'mlflow.db'}"
        assert capsys.readouterr().err == (
            "mlgitops: no MLflow tracking URI set ($MLFLOW_TRACKING_URI, mlgitops.yaml "
            f"mlflow.tracking_uri or --tracking-uri): using the local store {store}\n"
            f"mlgitops promote: error: MLflow registry {store} has no registered model "
            f"'{world.name}' (is this the tracking server that deployed it?); "
            "nothing committed\n"
        )
        assert world.remote_head() == head
        assert git(fresh, "rev-parse", "HEAD") == head


def test_rollback_to_an_unknown_version_says_so(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri = staged, mlflow_server.uri
    head = world.remote_head()
    capsys.readouterr()
    assert rollback(world, uri, "--to", "7") == 2
    assert capsys.readouterr().err == (
        "mlgitops rollback: error: model v7 is not in the history of staging (known: none; "
        "v1, deployed now, is the only model recorded there)\n"
    )
    assert world.remote_head() == head


def test_promote_of_a_version_missing_from_the_registry_commits_nothing(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri = staged, mlflow_server.uri
    staging = world.work / f"manifests/{world.name}/overlays/staging/model.json"
    doc = json.loads(staging.read_text())
    doc["version"], doc["model_uri"] = "9", f"models:/{world.name}/9"
    staging.write_text(json.dumps(doc, indent=2) + "\n")
    git(world.work, "commit", "-qam", "Name a version the registry lacks")
    git(world.work, "push", "-q", "origin", "main")
    head = world.remote_head()
    capsys.readouterr()
    assert promote(world, uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: MLflow registry {uri}: model '{world.name}' has no "
        "version 9; nothing committed\n"
    )
    assert world.remote_head() == head


def test_in_actions_a_missing_tracking_uri_is_an_error(
    staged: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = staged
    head = world.remote_head()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # what an unset secret gives the job
    capsys.readouterr()
    assert cli_run(world.work, "promote", world.name, "--to", "production") == 2
    assert capsys.readouterr().err == (
        "mlgitops promote: error: no MLflow tracking URI: set the repository secret or "
        "variable MLFLOW_TRACKING_URI (Settings → Secrets and variables → Actions), or "
        "mlflow.tracking_uri in mlgitops.yaml; in GitHub Actions the local store would be "
        "thrown away with the runner\n"
    )
    assert world.remote_head() == head


def test_a_rerun_against_another_registry_says_what_state_git_is_in(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world = staged
    assert promote(world, mlflow_server.uri) == 0
    head = world.remote_head()
    fresh = world.clone("fresh")
    store = f"sqlite:///{fresh / '.mlgitops' / 'mlflow.db'}"
    capsys.readouterr()
    assert cli_run(fresh, "promote", world.name, "--to", "production", "--tracking-uri", store) == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: MLflow registry {store} has no registered model "
        f"'{world.name}' (is this the tracking server that deployed it?); Git already names "
        f"v1 for production at {head[:12]}; only the MLflow alias is behind, run the command "
        "again once the registry holds it\n"
    )
    assert world.remote_head() == head
    assert not (fresh / ".mlgitops" / "mlflow.db").exists()


def committed_record(world: World, change: Callable[[dict[str, Any]], object]) -> str:
    """A staging ``model.json`` (v2, v1 in its history) committed by hand, as an edit in a
    pull request can leave it: ``change`` edits its document first. Its repo-relative path."""
    v1 = DeployedModel("1", f"models:/{world.name}/1", "run1", "key1", {"roc_auc": 0.8})
    current = ProvenanceRecord(
        pipeline=world.name,
        environment="staging",
        model_name=world.name,
        version="2",
        model_uri=f"models:/{world.name}/2",
        run_id="run2",
        content_key="key2",
        metrics={"roc_auc": 0.9},
        data_hash="d",
        spec_hash="s",
        commit="c" * 40,
        pr=5,
        previous=v1,
        history=[v1],
    )
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    doc = json.loads(dumps(current))
    change(doc)
    (world.work / rel).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    git(world.work, "add", rel)
    git(world.work, "commit", "-qm", "A hand-edited record")
    return rel


def _parent(doc: dict[str, Any], path: str) -> tuple[Any, str]:
    """The container of ``a.b.0.c``-style ``path`` in ``doc``, and the last key."""
    *parents, last = path.split(".")
    at: Any = doc
    for key in parents:
        at = at[int(key)] if isinstance(at, list) else at[key]
    return at, last


def _set(path: str, value: object) -> Callable[[dict[str, Any]], object]:
    def change(doc: dict[str, Any]) -> None:
        at, last = _parent(doc, path)
        at[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], object]:
    def change(doc: dict[str, Any]) -> None:
        at, last = _parent(doc, path)
        del at[last]

    return change


BAD_RECORDS = [
    (_set("metrics", None), "metrics: None is not a dict[str, float]"),
    (_set("metrics", {"roc_auc": "x"}), "metrics: {'roc_auc': 'x'} is not a dict[str, float]"),
    (_set("pr", "x"), "pr: 'x' is not a int | None"),
    (_set("model_uri", None), "model_uri: None is not a str"),
    (_set("version", None), "version: None is not a str"),
    (_set("history.0.metrics", None), "history[0].metrics: None is not a dict[str, float]"),
    (_set("previous.run_id", 5), "previous.run_id: 5 is not a str"),
    (_set("history", "v1"), "history: 'v1' is not a list[DeployedModel]"),
    (_set("rolled_back_from", []), "rolled_back_from: [] is not a DeployedModel | None"),
    (_drop("history.0.run_id"), "history[0].run_id: missing"),
    (_drop("run_id"), "run_id: missing"),
]


@pytest.mark.parametrize(("change", "problem"), BAD_RECORDS, ids=[p for _, p in BAD_RECORDS])
def test_rollback_of_a_record_with_a_value_of_the_wrong_type_names_the_file_and_field(
    world: World,
    change: Callable[[dict[str, Any]], object],
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rel = committed_record(world, change)
    refused(world, capsys, ("rollback", "--env", "staging"), rel, problem)


@pytest.mark.parametrize(
    ("change", "problem"), BAD_RECORDS[:3], ids=[p for _, p in BAD_RECORDS[:3]]
)
def test_promote_refuses_to_copy_a_record_with_a_value_of_the_wrong_type(
    world: World,
    change: Callable[[dict[str, Any]], object],
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rel = committed_record(world, change)
    refused(world, capsys, ("promote", "--to", "production"), rel, problem)


def refused(
    world: World,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
    rel: str,
    problem: str,
) -> None:
    """``command`` (its verb, then its options) refuses the record ``rel`` with exit 2 for
    ``problem``, and commits nothing."""
    head = git(world.work, "rev-parse", "HEAD")
    capsys.readouterr()
    verb, *options = command
    assert cli_run(world.work, verb, world.name, *options, "--no-push") == 2
    assert capsys.readouterr().err == (
        f"mlgitops {verb}: error: {rel}: not a valid provenance record ({problem})\n"
    )
    assert git(world.work, "rev-parse", "HEAD") == head


def test_rollback_of_a_record_nested_too_deeply_is_bad_input(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    (world.work / rel).write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    git(world.work, "add", rel)
    git(world.work, "commit", "-qm", "A record nested 100000 deep")
    capsys.readouterr()
    assert cli_run(world.work, "rollback", world.name, "--env", "staging", "--no-push") == 2
    assert capsys.readouterr().err == (
        f"mlgitops rollback: error: {rel}: not valid JSON (nested more than 100 levels deep)\n"
    )


def _staging_record_set(world: World, field: str, value: object) -> str:
    """Staging's ``model.json`` with ``field`` set to ``value`` by hand, committed and pushed
    (a pull request that changes only a record starts no deploy); its repo-relative path."""
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    doc = json.loads((world.work / rel).read_text("utf-8"))
    doc[field] = value
    (world.work / rel).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")
    git(world.work, "commit", "-qam", f"Set the staging record's {field}")
    git(world.work, "push", "-q", "origin", "main")
    return rel


VERBS = {
    "promote": ("--to", "production"),
    "rollback": ("--env", "staging"),
    "deploy": ("--env", "staging"),
}
CHANGED = "the record was changed by other than deploy, promote and rollback; restore it from Git's history"


def refused_by_every_reader(
    world: World, uri: str, capsys: pytest.CaptureFixture[str], verb: str, problem: str
) -> None:
    """``verb`` exits 2 on staging's record for ``problem`` (naming the file), and commits,
    registers and moves nothing."""
    head = world.remote_head()
    capsys.readouterr()
    assert cli_run(world.work, verb, world.name, *VERBS[verb], "--tracking-uri", uri) == 2
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    assert capsys.readouterr().err == f"mlgitops {verb}: error: {rel}: {problem}\n"
    assert (world.remote_head(), git(world.work, "rev-parse", "HEAD")) == (head, head)
    assert versions(uri, world.name) == ["1"]
    assert (alias(uri, world.name, "staging"), alias(uri, world.name, "production")) == ("1", None)


@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize(
    ("field", "value", "whose"),
    [
        ("environment", "production", "the overlay's (staging)"),
        ("pipeline", "other", "the overlay's ({name})"),
        ("model_name", "other", "the overlay's pipeline ({name})"),
    ],
)
def test_a_record_naming_another_pipeline_or_environment_than_its_overlay_is_refused(
    staged: World,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    verb: str,
    field: str,
    value: str,
    whose: str,
) -> None:
    """Staging's record edited by a merge to say ``"environment": "production"`` (or another
    pipeline): promote copied it on, committing "model v1 from production to production" or
    another pipeline's name in its subject, trailers and production's record."""
    world, uri = staged, mlflow_server.uri
    _staging_record_set(world, field, value)
    said = f"{field} {value!r} is not {whose.format(name=world.name)}: {CHANGED}"
    refused_by_every_reader(world, uri, capsys, verb, said)


@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("abc", "version 'abc' is no registry version"),
        ("01", "version '01' is no registry version"),
        ("²", "version '²' is no registry version"),
        (
            "9" * 30,
            f"version '{'9' * 30}' is too large for a registry version (at most 2147483647)",
        ),
    ],
)
def test_a_record_naming_no_registry_version_is_refused_naming_the_file(
    staged: World,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    verb: str,
    version: str,
    problem: str,
) -> None:
    """promote answered a version that is none with MLflow's own words ("Parameter 'version'
    must be an integer"), and promote and deploy one too large with SQLite's ("Python int
    too large to convert to SQLite INTEGER"), naming no file."""
    world, uri = staged, mlflow_server.uri
    _staging_record_set(world, "version", version)
    refused_by_every_reader(world, uri, capsys, verb, f"{problem}; restore it from Git's history")


def committed_text(world: World, text: str | None) -> str:
    """Staging's ``model.json`` committed holding ``text`` (None: a folder in its place); its
    repo-relative path."""
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    if text is None:
        (world.work / rel).mkdir()
        (world.work / rel / "x").write_text("", "utf-8")
    else:
        (world.work / rel).write_text(text, "utf-8")
    git(world.work, "add", rel)
    git(world.work, "commit", "-qm", "A record that is none")
    return rel


@pytest.mark.parametrize("verb", ["promote", "rollback"])
@pytest.mark.parametrize(
    ("text", "held"),
    [("[]\n", "an array"), ("null\n", "null"), ('"v1"\n', "a string"), ("1\n", "a number")],
)
def test_a_record_that_is_no_json_object_says_so(
    world: World, capsys: pytest.CaptureFixture[str], verb: str, text: str, held: str
) -> None:
    rel = committed_text(world, text)
    options = VERBS[verb]
    head = git(world.work, "rev-parse", "HEAD")
    capsys.readouterr()
    assert cli_run(world.work, verb, world.name, *options, "--no-push") == 2
    assert capsys.readouterr().err == (
        f"mlgitops {verb}: error: {rel}: not a valid provenance record (it holds {held}, "
        "not a JSON object)\n"
    )
    assert git(world.work, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("verb", ["promote", "rollback"])
def test_a_record_that_is_a_folder_says_so(
    world: World, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    rel = committed_text(world, None)
    head = git(world.work, "rev-parse", "HEAD")
    capsys.readouterr()
    assert cli_run(world.work, verb, world.name, *VERBS[verb], "--no-push") == 2
    assert capsys.readouterr().err == (
        f"mlgitops {verb}: error: {head}:{rel}: a folder, not a file\n"
    )
    assert git(world.work, "rev-parse", "HEAD") == head


def test_a_kserve_share_goes_to_no_record_a_merge_put_back(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """v2 replaced v1 in staging, both at the first step (50%). A merged pull request puts
    back v1's overlay as it was (record and model lines: Argo CD serves v1 again). Promote
    --env excused the record as one its alias lagged behind, and gave v1 all of staging's
    traffic; a share moves no alias, so no lag is excused: it is refused."""
    world, uri = make_world(tmp_path, kserve=True), mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    first = world.remote_head()
    git(world.work, "pull", "-q", "origin", "main")
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    overlay = f"manifests/{world.name}/overlays/staging"
    git(world.work, "checkout", first, "--", overlay)
    git(world.work, "commit", "-qm", "Put back the staging overlay")
    git(world.work, "push", "-q", "origin", "main")
    assert (record(world, "staging")["version"], _share(world, "staging")) == ("1", 50)
    before = world.remote_head()
    capsys.readouterr()

    step = ("promote", world.name, "--tracking-uri", uri, "--env", "staging")
    assert cli_run(world.work, *step) == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: {overlay}/model.json records version 1 as deployed to "
        f"staging, where the registry's alias {world.name}@staging points at version 2: a "
        "merge changed the record (restore it from Git's history), or the alias is behind "
        "it (the deploy, promote or rollback that wrote it is still running, or failed to "
        "move it: run it again); nothing committed\n"
    )
    assert world.remote_head() == before


def test_rollback_restores_no_version_its_environment_never_ran(
    staged: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """v1 in staging and production; v2 deployed to staging only. A merge that changes only
    production's record puts v2 in its history (v2 is registered, its digests are deploy's
    own): `rollback --env production` restored v2 to production, a model never promoted
    there. The registry tags each version with the commits deploy, promote and rollback
    made for it and the environment of each: v2's name staging alone."""
    world, uri = staged, mlflow_server.uri
    assert promote(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    staging = record(world, "staging")
    v2 = {key: staging[key] for key in staging["previous"]}
    assert v2["version"] == "2"
    rel = f"manifests/{world.name}/overlays/production/model.json"
    doc = json.loads((world.work / rel).read_text())
    doc.update(previous=v2, history=[v2, *doc["history"]])
    (world.work / rel).write_text(json.dumps(doc, indent=2))
    git(world.work, "commit", "-qam", "Tidy the production record")
    git(world.work, "push", "-q", "origin", "main")
    head = world.remote_head()
    capsys.readouterr()

    args = ("rollback", world.name, "--env", "production", "--tracking-uri", uri)
    assert cli_run(world.work, *args) == 2
    assert capsys.readouterr().err == (
        f"mlgitops rollback: error: {rel} names version 2 in its history, which deploy, "
        "promote and rollback never made production run (the registry's commit tags on it "
        "name staging): the record was changed by other than deploy, promote and rollback; "
        "restore it from Git's history; nothing committed\n"
    )
    assert world.remote_head() == head
    assert alias(uri, world.name, "production") == "1"
