"""``promote`` and ``rollback``: commits that copy or restore a model, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgitops.gitops.message import parse_trailers
from tests.deploy.kube_api import KubeApi
from tests.deploy.test_deploy import alias, check_overlays, deploy, merge_a_change
from tests.deploy.test_status import HEALTHY_ROLLOUT, PAUSED_ROLLOUT, SYNCED, install
from tests.deploy.world import World, cli_run, git, reviewed_run
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
    assert {k: production[k] for k in same} == {k: staging[k] for k in same}
    assert alias(uri, world.name, "production") == "1"
    check_overlays(world, contracts)
    capsys.readouterr()

    assert promote(world, uri) == 0
    assert capsys.readouterr().out == (
        f"promote {world.name}: model v1 is already deployed to production; nothing committed\n"
        f"  MLflow alias {world.name}@production -> version 1\n"
    )
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
        {"sync": SYNCED, "health": {"status": "Suspended"}},
        PAUSED_ROLLOUT,
    )
    head = world.remote_head()
    capsys.readouterr()
    assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith(f"{world.name}/staging: not healthy")
    assert err == (
        "mlgitops promote: error: staging is not healthy yet (Argo CD health is Suspended; "
        "Rollout is Paused at canary step 1/3); nothing promoted\n"
    )
    assert world.remote_head() == head

    install(
        kube_api,
        world,
        "staging",
        {"sync": SYNCED, "health": {"status": "Healthy"}},
        HEALTHY_ROLLOUT,
    )
    assert promote(world, uri, "--when-healthy", "--kubeconfig", kubeconfig) == 0
    assert record(world, "production")["version"] == "1"


def test_rollback_restores_the_previous_model_once(
    staged: World, mlflow_server: MlflowServer, contracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri = staged, mlflow_server.uri
    v1 = record(world, "staging")
    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
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
    )
    assert {k: restored[k] for k in kept} == {k: v1[k] for k in kept}
    assert (restored["previous"], restored["history"]) == (None, [])
    kustomization = world.remote_file(f"manifests/{world.name}/overlays/staging/kustomization.yaml")
    assert kustomization.endswith(f"MODEL_URI=models:/{world.name}/1")
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
