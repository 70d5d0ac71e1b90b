"""A GitOps world for deploy tests: a bare remote, clones, reviewed MLflow runs."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlgitops import cli, proc
from mlgitops.commands.init import scaffold_files
from mlgitops.gitops.reviewed import verdict_tags
from mlgitops.spec import load_repo
from mlgitops.training.run import inputs_of
from mlgitops.training.tracking import open_tracking

SCAFFOLD_NAME = "tumors"


def git(root: Path, *args: str) -> str:
    return proc.git(*args, cwd=root)


def unique_name() -> str:
    """A pipeline name no other test uses (experiments and registered models are per name)."""
    return f"t{uuid.uuid4().hex[:8]}"


def write_pipeline(root: Path, name: str) -> None:
    """The scaffold's example pipeline under another name."""
    spec = scaffold_files()[f"pipelines/{SCAFFOLD_NAME}.yaml"].decode()
    text = spec.replace(f"name: {SCAFFOLD_NAME}\n", f"name: {name}\n", 1)
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


def make_world(tmp: Path, count: int = 1) -> World:
    """Scaffold ``count`` uniquely named pipelines, render, commit, push to a bare remote."""
    world = World(tmp, tuple(unique_name() for _ in range(count)))
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(world.remote)], check=True)
    world.work.mkdir()
    git(world.work, "init", "-q", "-b", "main")
    git(world.work, "remote", "add", "origin", str(world.remote))
    assert cli_run(world.work, "init") == 0
    (world.work / "pipelines" / f"{SCAFFOLD_NAME}.yaml").unlink()
    for name in world.names:
        write_pipeline(world.work, name)
    assert cli_run(world.work, "render") == 0
    git(world.work, "add", "-A")
    git(world.work, "commit", "-q", "-m", "Adopt mlgitops")
    git(world.work, "push", "-q", "origin", "main")
    return world


def reviewed_run(
    uri: str,
    root: Path,
    name: str,
    *,
    verdict: str | None = "passed",
    summary: str = "all gates passed",
    pr: int = 12,
) -> str:
    """A FINISHED run with the content key of ``root``'s pipeline and a logged model."""
    tracking = open_tracking(uri, root, env={})
    loaded = load_repo(root)
    inputs = inputs_of(loaded, loaded.pipeline(name))
    experiment = tracking.experiment(name, create=True) or ""
    tags = {"mlgitops.content_key": inputs.content_key, "mlgitops.git.pr": str(pr)}
    if verdict is not None:
        tags |= verdict_tags(verdict == "passed", summary)
    run = tracking.create_run(experiment, f"{name}-pr-{pr}", tags)
    metrics = {"roc_auc": 0.991, "accuracy": 0.958, "f1": 0.943, "log_loss": 0.121}
    tracking.log_batch(run.run_id, {}, metrics, {})
    model = tracking.create_model(experiment, run.run_id, "model", {})
    tracking.finalize_model(model.model_id, ready=True)
    tracking.link_model(run.run_id, model.model_id)
    tracking.log_batch(run.run_id, {}, {}, {"mlgitops.model_id": model.model_id})
    tracking.end_run(run.run_id, "FINISHED")
    return run.run_id
