"""The built serving image through deploy, promote and rollback: pinned by digest in Git.

The specs set ``deploy.server.build``; the image digests stand for what the deploy
workflow's image job pushed (no registry here: nothing pulls them). Real git remote,
real MLflow server, real ``kubectl kustomize`` and the contract CRDs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.gitops.message import parse_trailers
from tests.deploy.test_deploy import check_overlays, deploy, merge_a_change, versions
from tests.deploy.test_promote_rollback import promote, record, rollback
from tests.deploy.world import (
    IMAGE_BUILD,
    IMAGE_LOCK,
    IMAGE_REPOSITORY,
    World,
    cli_run,
    git,
    make_world,
    reviewed_run,
)
from tests.fixtures.k8s import kustomize_build, validate_objects
from tests.fixtures.mlflow_server import MlflowServer

FIRST = f"{IMAGE_REPOSITORY}@sha256:{'a1' * 32}"
SECOND = f"{IMAGE_REPOSITORY}@sha256:{'b2' * 32}"
UNDEPLOYED = "sha256:" + "0" * 64


@pytest.fixture
def built(tmp_path: Path) -> World:
    """One pipeline whose serving image the deploy workflow builds."""
    return make_world(tmp_path, build_image=True)


def served_image(world: World, env: str) -> str:
    """The image of the Rollout that ``kubectl kustomize`` builds from the overlay."""
    objects = kustomize_build(world.work / f"manifests/{world.name}/overlays/{env}")
    rollout = next(o for o in objects if o["kind"] == "Rollout")
    return str(rollout["spec"]["template"]["spec"]["containers"][0]["image"])


def changed(world: World, rel: str) -> list[str]:
    diff = git(world.work, "diff", "-U0", "HEAD~1", "HEAD", "--", rel)
    return [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


def test_deploy_pins_the_built_image_by_digest(
    built: World, mlflow_server: MlflowServer, contracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri = built, mlflow_server.uri
    assert served_image(world, "staging") == f"{IMAGE_REPOSITORY}@{UNDEPLOYED}"
    reviewed_run(uri, world.work, world.name)
    capsys.readouterr()

    assert deploy(world, uri, "--image", FIRST) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[2:] == [
        f"deploy {world.name}: committed {world.remote_head()[:12]} "
        f"deploy({world.name}): model v1 to staging (canary 50%→100%)",
        "  pushed to origin/main",
        f"  serving image {FIRST}",
        f"  MLflow alias {world.name}@staging -> version 1",
    ]
    overlay = f"manifests/{world.name}/overlays/staging"
    assert changed(world, f"{overlay}/kustomization.yaml") == [
        f"-    digest: {UNDEPLOYED}",
        f"+    digest: sha256:{'a1' * 32}",
        f"-      - MODEL_URI=models:/{world.name}@staging",
        "-      - MODEL_DIGEST=",
        f"+      - MODEL_URI=models:/{world.name}/1",
        f"+      - MODEL_DIGEST={record(world, 'staging')['model_digest']}",
    ]
    assert record(world, "staging")["image"] == FIRST
    message = git(world.remote, "log", "-1", "--format=%B", "main")
    assert f"Image {FIRST}." in message.splitlines()
    assert parse_trailers(message)["Image"] == FIRST
    assert served_image(world, "staging") == FIRST
    assert served_image(world, "production") == f"{IMAGE_REPOSITORY}@{UNDEPLOYED}"
    check_overlays(world, contracts)  # builds, validates, and render --check agrees


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (
            f"{IMAGE_REPOSITORY}:v1",
            f"--image '{IMAGE_REPOSITORY}:v1' is not pinned by digest: expected "
            "REPOSITORY@sha256:<64 hex digits>, as the deploy workflow's image job pushes it",
        ),
        (
            f"{IMAGE_REPOSITORY}:v1@sha256:{'a1' * 32}",
            f"--image '{IMAGE_REPOSITORY}:v1@sha256:{'a1' * 32}' is not pinned by digest: "
            "expected REPOSITORY@sha256:<64 hex digits>, as the deploy workflow's image job "
            "pushes it",
        ),
        (
            f"ghcr.io/other/serve@sha256:{'a1' * 32}",
            "--image names ghcr.io/other/serve, but deploy.server.build.repository of "
            "pipelines/{name}.yaml is " + IMAGE_REPOSITORY,
        ),
    ],
)
def test_an_image_that_is_not_the_built_one_pinned_by_digest_is_refused(
    built: World, capsys: pytest.CaptureFixture[str], image: str, error: str
) -> None:
    head = built.remote_head()
    assert deploy(built, "http://127.0.0.1:9", "--image", image) == 2  # nothing is contacted
    message = error.replace("{name}", built.name)
    assert capsys.readouterr().err == f"mlgitops deploy: error: {message}\n"
    assert built.remote_head() == head


def test_an_image_without_a_build_in_the_spec_is_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(world, "http://127.0.0.1:9", "--image", FIRST) == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: --image goes with deploy.server.build; "
        f"pipelines/{world.name}.yaml names its image in deploy.server.image\n"
    )


def test_a_first_deploy_without_an_image_registers_nothing(
    built: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed_run(mlflow_server.uri, built.work, built.name)
    head = built.remote_head()
    capsys.readouterr()
    assert deploy(built, mlflow_server.uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: no serving image is deployed to staging yet "
        f"(manifests/{built.name}/overlays/staging/kustomization.yaml pins none): pass "
        f"--image {IMAGE_REPOSITORY}@sha256:<digest>, the image the deploy workflow's image "
        "job built\n"
    )
    assert built.remote_head() == head
    assert versions(mlflow_server.uri, built.name) == []


def _kept(entry: Any) -> tuple[str, str]:
    return str(entry["version"]), str(entry["image"])


def test_images_travel_with_deploy_promote_and_rollback(
    built: World, mlflow_server: MlflowServer, contracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world, uri = built, mlflow_server.uri
    overlay = f"manifests/{world.name}/overlays/staging/kustomization.yaml"
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri, "--image", FIRST) == 0
    head = world.remote_head()
    assert deploy(world, uri, "--image", FIRST) == 0  # the same model and image: no commit
    assert world.remote_head() == head

    merge_a_change(world)
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri, "--image", SECOND) == 0
    assert _kept(record(world, "staging")) == ("2", SECOND)

    # Promote copies the image with the model.
    assert promote(world, uri) == 0
    assert _kept(record(world, "production")) == ("2", SECOND)
    assert served_image(world, "production") == SECOND

    # Rollback restores the model and the image it ran with.
    v2_digest = record(world, "staging")["model_digest"]
    assert rollback(world, uri) == 0
    assert _kept(record(world, "staging")) == ("1", FIRST)
    v1_digest = record(world, "staging")["model_digest"]
    assert changed(world, overlay) == [
        f"-    digest: sha256:{'b2' * 32}",
        f"+    digest: sha256:{'a1' * 32}",
        f"-      - MODEL_URI=models:/{world.name}/2",
        f"-      - MODEL_DIGEST={v2_digest}",
        f"+      - MODEL_URI=models:/{world.name}/1",
        f"+      - MODEL_DIGEST={v1_digest}",
    ]
    assert served_image(world, "staging") == FIRST

    # Deployed again without --image, the model keeps the image that runs there ...
    capsys.readouterr()
    assert deploy(world, uri) == 0
    assert f"  serving image {FIRST}" in capsys.readouterr().out.splitlines()
    assert _kept(record(world, "staging")) == ("2", FIRST)
    # ... and a new image under the same model is a deployment of its own, with history.
    assert deploy(world, uri, "--image", SECOND) == 0
    staging = record(world, "staging")
    assert _kept(staging) == ("2", SECOND)
    assert [_kept(h) for h in staging["history"]] == [("2", FIRST), ("1", FIRST)]  # type: ignore[union-attr]
    assert changed(world, overlay) == [
        f"-    digest: sha256:{'a1' * 32}",
        f"+    digest: sha256:{'b2' * 32}",
    ]
    check_overlays(world, contracts)  # builds, validates, and render --check agrees
    for env in ("staging", "production"):
        objects = kustomize_build(world.work / f"manifests/{world.name}/overlays/{env}")
        validate_objects(objects, contracts)
        assert record(world, env)["image"] == served_image(world, env)


def test_turning_the_build_on_after_deploys_asks_for_an_image_first(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Staging runs a model deployed before the spec built its image: nothing to copy."""
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    assert record(world, "staging")["image"] == ""
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    spec.write_text(spec.read_text().replace("  server: {port: 8080}\n", IMAGE_BUILD))
    (world.work / "serving").mkdir()
    (world.work / "serving" / "requirements.txt").write_text(IMAGE_LOCK)
    assert cli_run(world.work, "render") == 0
    git(world.work, "add", "-A")
    git(world.work, "commit", "-qm", "Build the serving image")
    git(world.work, "push", "-q", "origin", "main")
    head = world.remote_head()
    capsys.readouterr()

    assert promote(world, uri) == 2
    assert capsys.readouterr().err == (
        "mlgitops promote: error: no serving image is deployed to production yet "
        f"(manifests/{world.name}/overlays/production/kustomization.yaml pins none), and the "
        f"model of staging names none: deploy to staging with --image {IMAGE_REPOSITORY}"
        "@sha256:<digest> first\n"
    )
    assert world.remote_head() == head

    assert deploy(world, uri, "--image", FIRST) == 0
    assert promote(world, uri) == 0
    assert _kept(record(world, "production")) == ("1", FIRST)
    assert served_image(world, "production") == FIRST
