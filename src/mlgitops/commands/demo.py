"""``mlgitops demo``: the pull-request-to-canary loop, played locally on embedded defaults.

Everything happens in a sandbox folder: a bare Git remote, a working clone with the
example pipeline, a local MLflow store (sqlite) and no GitHub token, so the PR comment
is printed instead of posted. Each stage runs as the ``mlgitops`` command a CI job
would run, so what you see is what your workflows do.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlgitops import console, proc
from mlgitops.errors import EXIT_OK, BadInput

PIPELINE = "tumors"
FIRST_ENV = "staging"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        dest="workdir",
        type=Path,
        default=None,
        help="sandbox folder (default: a new temporary folder, kept for you to look at)",
    )


@dataclass(frozen=True)
class Sandbox:
    root: Path

    @property
    def remote(self) -> Path:
        return self.root / "remote.git"

    @property
    def work(self) -> Path:
        return self.root / "work"


def _step(number: int, title: str) -> None:
    console.line("")
    console.line(f"── {number}. {title}")


def _mlgitops(box: Sandbox, *args: str, expect: tuple[int, ...] = (0,)) -> str:
    """Run a stage as its CLI; show its output; fail the demo on an unexpected exit code."""
    console.line(f"$ mlgitops {' '.join(args)}")
    # A sandbox, not the Actions job it may run in: deploy's anchor is the local hand-off.
    env = {
        "GITHUB_TOKEN": "",
        "GITHUB_ACTIONS": "",
        "MLFLOW_TRACKING_URI": f"sqlite:///{box.root / 'mlflow.db'}",
    }
    result = proc.run([sys.executable, "-m", "mlgitops", *args], cwd=box.work, env=env, check=False)
    output = (result.stdout + result.stderr).rstrip()
    if output:
        console.line("  " + output.replace("\n", "\n  "))
    if result.returncode not in expect:
        raise BadInput(f"demo stopped: `mlgitops {' '.join(args)}` exited {result.returncode}")
    return result.stdout


def _git(box: Sandbox, *args: str) -> str:
    return proc.git(*args, cwd=box.work)


def _edit_params(box: Sandbox, old: str, new: str) -> None:
    spec = box.work / "pipelines" / f"{PIPELINE}.yaml"
    text = spec.read_text("utf-8")
    if old not in text:
        raise BadInput(f"demo: {spec} does not contain {old!r}")
    spec.write_text(text.replace(old, new, 1), "utf-8")


def _setup(box: Sandbox) -> None:
    _step(1, "A repository with the example pipeline, and its bare remote")
    proc.git("init", "-q", "--bare", "-b", "main", str(box.remote), cwd=box.root)
    proc.git("clone", "-q", str(box.remote), str(box.work), cwd=box.root)
    # The sandbox commits as itself, so the demo works where git has no identity yet.
    _git(box, "config", "user.name", "mlgitops demo")
    _git(box, "config", "user.email", "demo@mlgitops.invalid")
    _git(box, "checkout", "-q", "-b", "main")
    _mlgitops(box, "init")
    _mlgitops(box, "render")
    _git(box, "add", "-A")
    _git(box, "commit", "-q", "-m", "Adopt mlgitops")
    _git(box, "push", "-q", "origin", "main")


def _pull_request(box: Sandbox, number: int, branch: str, change: tuple[str, str]) -> str:
    _step(number, f"Pull request `{branch}`: {change[0]} -> {change[1]}")
    _git(box, "checkout", "-q", "-b", branch, "origin/main")
    _edit_params(box, *change)
    _git(box, "commit", "-q", "-am", f"Tune {PIPELINE}: {change[1]}")
    _mlgitops(box, "render", "--check")
    _mlgitops(box, "plan", "--base", "origin/main")
    _mlgitops(box, "validate", PIPELINE, "--base", "origin/main")
    _mlgitops(box, "train", PIPELINE)
    _mlgitops(box, "compare", PIPELINE, "--base", "origin/main", expect=(0, 1))
    return _mlgitops(box, "report", PIPELINE)


def _merge_and_deploy(box: Sandbox, number: int, branch: str) -> str:
    _step(number, f"Merge `{branch}`; the deploy job commits the canary manifest")
    _git(box, "checkout", "-q", "main")
    _git(box, "pull", "-q", "--ff-only", "origin", "main")
    _git(box, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    _git(box, "push", "-q", "origin", "main")
    _mlgitops(box, "deploy", PIPELINE, "--env", FIRST_ENV)
    _git(box, "pull", "-q", "--ff-only", "origin", "main")
    overlay = box.work / "manifests" / PIPELINE / "overlays" / FIRST_ENV
    built = proc.run(["kubectl", "kustomize", str(overlay)]).stdout
    # the ConfigMap's data: the model the server loads, and the digest its files must have
    data = [ln.strip() for ln in built.splitlines() if ln.startswith("  MODEL_")]
    console.line(
        f"$ kubectl kustomize {overlay.relative_to(box.work)}  ->  {', '.join(data) or '?'}"
    )
    return proc.git("log", "-1", "--format=%h %s", "origin/main", cwd=box.work)


def run(*, repo: Path, workdir: Path | None) -> int:
    del repo  # the demo builds its own repository
    for tool in ("git", "kubectl"):
        if shutil.which(tool) is None:
            raise BadInput(f"the demo needs `{tool}` on PATH")
    root = workdir or Path(tempfile.mkdtemp(prefix="mlgitops-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise BadInput(f"{root} is not empty: give an empty or new folder with --dir")
    box = Sandbox(root.resolve())
    _setup(box)
    _pull_request(box, 2, "tune-learning-rate", ("learning_rate: 0.1", "learning_rate: 0.05"))
    first = _merge_and_deploy(box, 3, "tune-learning-rate")
    _pull_request(box, 4, "more-iterations", ("max_iter: 200", "max_iter: 400"))
    out = box.work / ".mlgitops" / PIPELINE
    console.line("")
    console.line("── Where to look")
    console.line(f"  the PR comment:    {out / 'report.md'}")
    console.line(f"  the verdict:       {out / 'verdict.json'}")
    console.line(f"  the deploy commit: {first}  (git -C {box.work} show HEAD)")
    console.line(
        f"  the manifest:      {box.work / 'manifests' / PIPELINE / 'overlays' / FIRST_ENV}"
    )
    console.line(
        f"  MLflow runs:       mlflow ui --backend-store-uri sqlite:///{box.root / 'mlflow.db'}"
    )
    return EXIT_OK
