"""Lineage: where a run came from (commit, branch, PR, runner, GPU), as MLflow tags."""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlgitops import __version__, proc
from mlgitops.errors import ServiceError
from mlgitops.results import Hashes
from mlgitops.training.gpu import Gpus
from mlgitops.training.tracking import CONTENT_KEY_TAG

_PR_REF = re.compile(r"^refs/pull/(\d+)/")


@dataclass(frozen=True)
class Lineage:
    commit: str | None = None
    branch: str | None = None
    pr: int | None = None
    runner: str | None = None
    gpu: str | None = None
    gpu_driver: str | None = None
    gpus: Gpus = field(default_factory=Gpus)


def gather(root: Path, env: Mapping[str, str]) -> Lineage:
    """Facts from GitHub Actions' environment when present, else from git and the host."""
    from mlgitops.training.gpu import probe

    gpus = probe()
    return Lineage(
        commit=env.get("GITHUB_SHA") or _git(root, "rev-parse", "HEAD"),
        branch=env.get("GITHUB_HEAD_REF")
        or env.get("GITHUB_REF_NAME")
        or _git(root, "rev-parse", "--abbrev-ref", "HEAD"),
        pr=pr_number(env),
        runner=env.get("RUNNER_NAME") or socket.gethostname(),
        gpu=gpus.model,
        gpu_driver=gpus.driver,
        gpus=gpus,
    )


def pr_number(env: Mapping[str, str]) -> int | None:
    """The pull request number from ``GITHUB_REF`` (refs/pull/N/merge) or the event file."""
    match = _PR_REF.match(env.get("GITHUB_REF", ""))
    if match:
        return int(match.group(1))
    from mlgitops.github.payloads import event_from_env

    pull = event_from_env(env).get("pull_request")
    number = pull.get("number") if isinstance(pull, dict) else None
    return number if isinstance(number, int) else None


def _git(root: Path, *args: str) -> str | None:
    try:
        out = proc.git(*args, cwd=root, check=False)
    except ServiceError:
        return None
    return out or None


def tags(
    pipeline: str,
    source: str,
    spec_file_hash: str,
    hashes: Hashes,
    content_key: str,
    trainer: str,
    lineage: Lineage,
    device: str = "cpu",
) -> dict[str, str]:
    """Every lineage tag a training run carries (docs/train.md, "Lineage tags")."""
    found = {
        CONTENT_KEY_TAG: content_key,
        "mlgitops.pipeline": pipeline,
        "mlgitops.version": __version__,
        "mlgitops.trainer": trainer,
        "mlgitops.spec_file": source,
        "mlgitops.spec_file_hash": spec_file_hash,
        **{f"mlgitops.hash.{k}": v for k, v in asdict(hashes).items()},
        "mlflow.source.name": source,
        "mlflow.source.type": "JOB",
        # Recorded even without a GPU, so "no GPU" is a fact rather than a missing tag.
        "mlgitops.gpu_count": str(lineage.gpus.count),
        "mlgitops.device": device,
    }
    optional = {
        "mlgitops.git.commit": lineage.commit,
        "mlflow.source.git.commit": lineage.commit,
        "mlgitops.git.branch": lineage.branch,
        "mlflow.source.git.branch": lineage.branch,
        "mlgitops.git.pr": str(lineage.pr) if lineage.pr is not None else None,
        "mlgitops.runner": lineage.runner,
        "mlgitops.gpu": lineage.gpu or "none",
        "mlgitops.gpu_driver": lineage.gpu_driver,
    }
    found.update({k: v for k, v in optional.items() if v})
    return found
