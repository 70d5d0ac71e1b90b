"""The serving image that the deploy workflow builds: its generated Dockerfile and the overlays.

A scaffolded repository whose spec sets ``deploy.server.build`` is rendered with
the real ``mlgitops render``; the Dockerfile is linted with hadolint, the overlays
are built with the real ``kubectl kustomize`` and validated against the contracts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlgitops.cli import main
from mlgitops.render import header, manifests
from mlgitops.spec import load_repo
from tests.fixtures.k8s import kustomize_build, validate_objects

BIN = Path(sys.executable).parent
REPOSITORY = "ghcr.io/my-org/tumors-serve"
BASE = "python:3.11-slim-bookworm@sha256:" + "ab" * 32
UNDEPLOYED = "sha256:" + "0" * 64
DEPLOYED = "sha256:" + "7e" * 32
LOCK = """\
mlgitops[serve]==0.1.0 \\
    --hash=sha256:1111111111111111111111111111111111111111111111111111111111111111
"""
BUILD = (
    "  server:\n"
    "    port: 8080\n"
    "    build:\n"
    f"      repository: {REPOSITORY}\n"
    f"      base: {BASE}\n"
    "      requirements: serving/requirements.txt\n"
)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """The scaffold, its spec building the serving image, rendered."""
    assert main(["-C", str(git_repo), "init"]) == 0
    spec = git_repo / "pipelines" / "tumors.yaml"
    spec.write_text(spec.read_text().replace("  server: {port: 8080}\n", BUILD))
    (git_repo / "serving").mkdir()
    (git_repo / "serving" / "requirements.txt").write_text(LOCK)
    assert main(["-C", str(git_repo), "render"]) == 0
    return git_repo


def _container_image(objects: list[dict[str, Any]]) -> str:
    rollout = next(o for o in objects if o["kind"] == "Rollout")
    return str(rollout["spec"]["template"]["spec"]["containers"][0]["image"])


def test_render_writes_the_dockerfile_and_its_ignore_file(repo: Path) -> None:
    folder = repo / "manifests" / "tumors" / "image"
    assert sorted(p.name for p in folder.iterdir()) == ["Dockerfile", "Dockerfile.dockerignore"]
    assert (folder / "Dockerfile").read_text() == header("pipelines/tumors.yaml") + (
        "#\n"
        "# The serving image of tumors: the pinned base and the locked requirements,\n"
        "# nothing else. The manifests give the command (mlgitops serve), the user, the\n"
        "# read-only root filesystem and a writable /tmp; the model is downloaded from\n"
        "# MODEL_URI when the container starts, so a new model needs no new image.\n"
        "# Built by the deploy workflow's image job; docs/serving.md#the-image.\n"
        f"FROM {BASE}\n"
        "\n"
        "# BuildKit passes the build's SOURCE_DATE_EPOCH (the workflow sets it): pip then\n"
        "# writes byte-code checked by hash, not by time, so it holds no build time.\n"
        "ARG SOURCE_DATE_EPOCH\n"
        "\n"
        "# Exactly the locked wheels: each checked against its hash, no dependency\n"
        "# resolved, nothing compiled. The lock is mounted, so no layer keeps it.\n"
        "RUN --mount=type=bind,source=serving/requirements.txt,target=/tmp/requirements.txt \\\n"
        "    PYTHONHASHSEED=0 python -m pip install --no-cache-dir --no-input \\\n"
        "      --disable-pip-version-check --require-hashes --no-deps --only-binary :all: \\\n"
        "      -r /tmp/requirements.txt \\\n"
        "    && PYTHONDONTWRITEBYTECODE=1 mlgitops --version\n"
        "\n"
        "# Nothing is installed when the container starts: there is no index to reach.\n"
        "ENV PIP_NO_INDEX=1 PYTHONDONTWRITEBYTECODE=1\n"
        "USER 10001:10001\n"
    )
    assert (folder / "Dockerfile.dockerignore").read_text() == header("pipelines/tumors.yaml") + (
        "#\n"
        "# The build context (the repository root) admits the locked requirements only;\n"
        "# BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile.\n"
        "*\n"
        "!serving/requirements.txt\n"
    )


def test_hadolint_finds_nothing_in_the_dockerfile(repo: Path) -> None:
    dockerfile = repo / "manifests" / "tumors" / "image" / "Dockerfile"
    result = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


def test_hadolint_would_see_an_unpinned_base(repo: Path, tmp_path: Path) -> None:
    """The check above can fail: the same file with a tag-only base is a finding."""
    dockerfile = repo / "manifests" / "tumors" / "image" / "Dockerfile"
    unpinned = tmp_path / "Dockerfile"
    unpinned.write_text(dockerfile.read_text().replace(f"FROM {BASE}", "FROM python:latest"))
    result = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", "--format", "json", str(unpinned)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert [f["code"] for f in json.loads(result.stdout)] == ["DL3007"]


def test_every_overlay_pins_a_digest_that_deploy_sets(repo: Path, contracts: Path) -> None:
    base = kustomize_build(repo / "manifests" / "tumors" / "base")
    assert _container_image(base) == REPOSITORY
    for env in ("staging", "production"):
        overlay = repo / "manifests" / "tumors" / "overlays" / env
        objects = kustomize_build(overlay)
        # Before the first deploy: a digest no registry holds, so no pod starts on a guess.
        assert _container_image(objects) == f"{REPOSITORY}@{UNDEPLOYED}"
        validate_objects(objects, contracts)
        text = (overlay / "kustomization.yaml").read_text()
        assert text.endswith(
            "images:\n"
            f"  - name: {REPOSITORY}\n"
            f"    digest: {UNDEPLOYED}\n"
            "configMapGenerator:\n"
            "  - name: tumors-model\n"
            "    literals:\n"
            f"      - MODEL_URI=models:/tumors@{env}\n"
            "      - MODEL_DIGEST=\n"
        )


def test_a_deployed_digest_survives_a_re_render(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = repo / "manifests" / "tumors" / "overlays" / "production" / "kustomization.yaml"
    path.write_text(path.read_text().replace(UNDEPLOYED, DEPLOYED))  # as deploy writes it,
    record = {"model_uri": "models:/tumors@production", "image": f"{REPOSITORY}@{DEPLOYED}"}
    (path.parent / "model.json").write_text(json.dumps(record))  # with its record
    loaded = load_repo(repo)
    assert manifests.read_deployed_images(repo, loaded.pipelines) == {
        ("tumors", "production"): f"{REPOSITORY}@{DEPLOYED}",
    }
    capsys.readouterr()
    assert main(["-C", str(repo), "render", "--check"]) == 0
    assert main(["-C", str(repo), "render"]) == 0
    assert f"digest: {DEPLOYED}" in path.read_text()
    objects = kustomize_build(path.parent)
    assert _container_image(objects) == f"{REPOSITORY}@{DEPLOYED}"


@pytest.mark.parametrize("recorded", [None, f"{REPOSITORY}@sha256:{'5a' * 32}"])
def test_an_image_digest_edited_by_hand_is_stale_to_render_check(
    repo: Path, capsys: pytest.CaptureFixture[str], recorded: str | None
) -> None:
    """The image a pull request pins by hand would reach the cluster with the merge, no
    deploy run: ``render --check`` carried the overlay's digest over, and passed."""
    path = repo / "manifests" / "tumors" / "overlays" / "production" / "kustomization.yaml"
    if recorded is not None:
        path.write_text(path.read_text().replace(UNDEPLOYED, recorded.split("@")[1]))
        record = {"model_uri": "models:/tumors@production", "image": recorded}
        (path.parent / "model.json").write_text(json.dumps(record))
    rendered = path.read_text()
    path.write_text(rendered.replace(recorded.split("@")[1] if recorded else UNDEPLOYED, DEPLOYED))
    capsys.readouterr()
    assert main(["-C", str(repo), "render", "--check"]) == 1
    assert f"-    digest: {DEPLOYED}" in capsys.readouterr().out
    assert main(["-C", str(repo), "render"]) == 0
    assert path.read_text() == rendered


def test_an_unreadable_overlay_takes_the_image_from_model_json(repo: Path) -> None:
    folder = repo / "manifests" / "tumors" / "overlays" / "staging"
    (folder / "kustomization.yaml").write_text("images: [\n")
    record = {"model_uri": "models:/tumors/4", "image": f"{REPOSITORY}@{DEPLOYED}"}
    (folder / "model.json").write_text(json.dumps(record))
    loaded = load_repo(repo)
    assert manifests.read_deployed_images(repo, loaded.pipelines) == {
        ("tumors", "staging"): f"{REPOSITORY}@{DEPLOYED}",
    }
    assert main(["-C", str(repo), "render"]) == 0
    assert _container_image(kustomize_build(folder)) == f"{REPOSITORY}@{DEPLOYED}"


def test_an_image_of_another_repository_is_not_carried_over(repo: Path) -> None:
    """A new ``repository`` in the spec: the old digest names nothing there."""
    spec = repo / "pipelines" / "tumors.yaml"
    overlay = repo / "manifests" / "tumors" / "overlays" / "staging" / "kustomization.yaml"
    overlay.write_text(overlay.read_text().replace(UNDEPLOYED, DEPLOYED))
    from mlgitops import results

    record = results.ProvenanceRecord(  # what deploy recorded
        pipeline="tumors",
        environment="staging",
        model_name="tumors",
        version="3",
        model_uri="models:/tumors/3",
        run_id="r" * 32,
        content_key="k",
        metrics={},
        data_hash="",
        spec_hash="",
        commit="0" * 40,
        image=f"{REPOSITORY}@{DEPLOYED}",
    )
    (overlay.parent / "model.json").write_text(results.dumps(record))
    spec.write_text(spec.read_text().replace(REPOSITORY, "ghcr.io/my-org/other"))
    assert main(["-C", str(repo), "render"]) == 0
    objects = kustomize_build(overlay.parent)
    assert _container_image(objects) == f"ghcr.io/my-org/other@{UNDEPLOYED}"
    [config] = [o for o in objects if o["kind"] == "ConfigMap"]
    assert config["data"]["MODEL_URI"] == "models:/tumors/3"
    # the record's image is another repository's: it names none the overlay pins, so the
    # lines agree with it, and deploy (with --image) and promote are not refused
    from mlgitops.gitops.records import model_lines_problems

    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "Rename the image"], cwd=repo, check=True)
    assert model_lines_problems(repo, load_repo(repo).pipeline("tumors"), "HEAD") == []


def test_render_check_sees_an_edited_dockerfile_and_drops_an_unused_one(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dockerfile = repo / "manifests" / "tumors" / "image" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("--require-hashes ", ""))
    capsys.readouterr()
    assert main(["-C", str(repo), "render", "--check"]) == 1
    assert "+      --disable-pip-version-check --require-hashes" in capsys.readouterr().out
    spec = repo / "pipelines" / "tumors.yaml"
    spec.write_text(spec.read_text().replace(BUILD, "  server: {port: 8080}\n"))
    assert main(["-C", str(repo), "render"]) == 0
    assert not (repo / "manifests" / "tumors" / "image").exists()
    overlay = repo / "manifests" / "tumors" / "overlays" / "staging"
    assert "images:" not in (overlay / "kustomization.yaml").read_text()
    default = "example.invalid/set-deploy.server.image-to-your-serving-image"
    assert _container_image(kustomize_build(overlay)) == default


def test_a_kserve_predictor_is_pinned_the_same_way(tmp_path: Path, contracts: Path) -> None:
    root = tmp_path / "repo"
    (root / "pipelines").mkdir(parents=True)
    (root / "pipelines" / "fraud.yaml").write_text(
        "name: fraud\n"
        "data: {path: data/fraud.csv, target: y, columns: {y: {dtype: int64}}}\n"
        "model: {estimator: sklearn.linear_model.LogisticRegression}\n"
        "task: classification\n"
        "deploy:\n"
        "  target: kserve\n" + BUILD.replace("tumors-serve", "fraud-serve") + "  environments:\n"
        "    - {name: live, namespace: fraud}\n"
    )
    loaded = load_repo(root)
    images = {("fraud", "live"): f"ghcr.io/my-org/fraud-serve@{DEPLOYED}"}
    for rel, text in manifests.render(loaded, {}, images).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    objects = kustomize_build(root / "manifests" / "fraud" / "overlays" / "live")
    validate_objects(objects, contracts)
    service = next(o for o in objects if o["kind"] == "InferenceService")
    container = service["spec"]["predictor"]["containers"][0]
    assert container["image"] == f"ghcr.io/my-org/fraud-serve@{DEPLOYED}"
