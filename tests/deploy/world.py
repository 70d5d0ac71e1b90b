"""A GitOps world for deploy tests: a bare remote, clones, reviewed MLflow runs."""

from __future__ import annotations

import io
import json
import subprocess
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops import cli, proc
from mlgitops.commands.init import scaffold_files
from tests.fixtures.github_state import GitHubState

SCAFFOLD_NAME = "tumors"


def git(root: Path, *args: str) -> str:
    return proc.git(*args, cwd=root)


def unique_name() -> str:
    """A pipeline name no other test uses (experiments and registered models are per name)."""
    return f"t{uuid.uuid4().hex[:8]}"


#: The serving image the deploy workflow builds (``deploy.server.build``), and its lock.
IMAGE_REPOSITORY = "ghcr.io/my-org/serve"
IMAGE_BUILD = (
    "  server:\n"
    "    port: 8080\n"
    "    build:\n"
    f"      repository: {IMAGE_REPOSITORY}\n"
    "      base: python:3.11-slim-bookworm@sha256:" + "ab" * 32 + "\n"
    "      requirements: serving/requirements.txt\n"
)
#: An environment that runs nothing yet, for a spec to put first.
CANARY_BLOCK = """\
    - name: canary
      namespace: ml-canary
      cluster: https://kubernetes.default.svc
"""
IMAGE_LOCK = "mlgitops[serve]==0.1.0 --hash=sha256:" + "1" * 64 + "\n"


#: The example's boosting rounds, and those of the pipelines here (:func:`write_pipeline`).
EXAMPLE_ROUNDS, ROUNDS = "max_iter: 200", "max_iter: 50"


def write_pipeline(
    root: Path, name: str, *, build_image: bool = False, kserve: bool = False
) -> None:
    """The scaffold's example pipeline under another name (building its serving image;
    served by a KServe InferenceService where ``kserve``)."""
    spec = scaffold_files()[f"pipelines/{SCAFFOLD_NAME}.yaml"].decode()
    text = spec.replace(f"name: {SCAFFOLD_NAME}\n", f"name: {name}\n", 1)
    # 50 boosting rounds, not the example's 200: these tests judge what ships, not how well
    # the model scores, and the fit is most of each train's time
    assert f"{{{EXAMPLE_ROUNDS}, " in text
    text = text.replace(f"{{{EXAMPLE_ROUNDS}, ", f"{{{ROUNDS}, ", 1)
    if build_image:
        assert "  server: {port: 8080}\n" in text
        text = text.replace("  server: {port: 8080}\n", IMAGE_BUILD)
        (root / "serving").mkdir(exist_ok=True)
        (root / "serving" / "requirements.txt").write_text(IMAGE_LOCK, "utf-8")
    if kserve:
        assert text.count("\ndeploy:\n") == 1
        text = text.replace("\ndeploy:\n", "\ndeploy:\n  target: kserve\n")
        # no pause: `promote --env --when-healthy` would hold each share for it; these
        # worlds judge what moves a canary, and test_kserve_canary_metrics.py its pause
        for pause in (", pause: 2m}", ", pause: 10m}"):
            assert text.count(pause) == 1
            text = text.replace(pause, "}")
    (root / "pipelines" / f"{name}.yaml").write_text(text, "utf-8")


def cli_run(root: Path, *args: str) -> int:
    return cli.main(["-C", str(root), *args])


@dataclass(frozen=True)
class World:
    """``remote.git`` (bare) and its first clone ``work`` holding ``names``' pipelines."""

    tmp: Path
    names: tuple[str, ...]

    @property
    def remote(self) -> Path:
        return self.tmp / "remote.git"

    @property
    def work(self) -> Path:
        return self.tmp / "work"

    @property
    def name(self) -> str:
        return self.names[0]

    def clone(self, label: str) -> Path:
        dest = self.tmp / label
        subprocess.run(
            ["git", "clone", "-q", str(self.remote), str(dest)], check=True, capture_output=True
        )
        return dest

    def remote_head(self) -> str:
        return git(self.remote, "rev-parse", "refs/heads/main")

    def remote_file(self, rel: str) -> str:
        return git(self.remote, "show", f"main:{rel}")


def make_world(
    tmp: Path, count: int = 1, *, build_image: bool = False, kserve: bool = False
) -> World:
    """Scaffold ``count`` uniquely named pipelines, render, commit, push to a bare remote.

    ``build_image``: their specs set ``deploy.server.build`` (:data:`IMAGE_BUILD`);
    ``kserve``: ``deploy.target: kserve``.
    """
    world = World(tmp, tuple(unique_name() for _ in range(count)))
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(world.remote)], check=True)
    world.work.mkdir()
    git(world.work, "init", "-q", "-b", "main")
    git(world.work, "remote", "add", "origin", str(world.remote))
    assert cli_run(world.work, "init") == 0
    (world.work / "pipelines" / f"{SCAFFOLD_NAME}.yaml").unlink()
    for name in world.names:
        write_pipeline(world.work, name, build_image=build_image, kserve=kserve)
    assert cli_run(world.work, "render") == 0
    git(world.work, "add", "-A")
    git(world.work, "commit", "-q", "-m", "Adopt mlgitops")
    git(world.work, "push", "-q", "origin", "main")
    return world


def pr_workflow(world: World) -> str:
    """The path of the pipeline's PR workflow (what deploy's anchor asks GitHub for)."""
    return f".github/workflows/mlgitops-{world.name}-pr.yml"


def reviewed_run(uri: str, root: Path, name: str, *, passes: bool = True) -> str:
    """Train and compare ``root``'s pipeline for real: the hand-off folder a review leaves."""
    assert cli_run(root, "train", name, "--tracking-uri", uri) == 0
    code = cli_run(root, "compare", name, "--tracking-uri", uri)
    assert code == (0 if passes else 1)
    return str(handoff(root, name, "train.json")["run_id"])


def handoff(root: Path, name: str, file: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((root / ".mlgitops" / name / file).read_text("utf-8"))
    return doc


def results_zip(root: Path, name: str) -> bytes:
    """The PR workflow's ``mlgitops-<name>-train`` artifact, as upload-artifact zips it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in ("train.json", "verdict.json"):
            path = root / ".mlgitops" / name / file
            if path.is_file():
                archive.writestr(f"{name}/{file}", path.read_bytes())
    return buffer.getvalue()


def publish_review(state: GitHubState, root: Path, name: str, pr: int = 12) -> dict[str, Any]:
    """GitHub's record of a merged pull request whose PR workflow uploaded ``root``'s results.

    The merge is ``root``'s HEAD (what the push to the default branch deploys).
    """
    head = git(root, "rev-parse", "HEAD")
    state.add_pull(pr, head)
    run = state.add_workflow_run(
        head,
        name=f"mlgitops {name}: pull request",
        path=f".github/workflows/mlgitops-{name}-pr.yml",
    )
    state.add_artifact(run["id"], f"mlgitops-{name}-train", results_zip(root, name))
    state.merge_pull(pr, head)
    return run


def deployed_review(world: World, uri: str, state: GitHubState, pr: int) -> None:
    """Work's HEAD trained and compared for real, reviewed in pull request ``pr``, merged and
    deployed to staging; work then pulls the deploy commit."""
    reviewed_run(uri, world.work, world.name)
    publish_review(state, world.work, world.name, pr=pr)
    args = ("deploy", world.name, "--env", "staging", "--tracking-uri", uri)
    assert cli_run(world.work, *args) == 0
    git(world.work, "pull", "-q", "origin", "main")
