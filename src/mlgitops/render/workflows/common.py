"""What every generated workflow shares: names, folders, settings and the one quoting.

User strings reach the YAML only through :func:`quote`, as double-quoted scalars.
"""

from __future__ import annotations

import json

import mlgitops.render as rendering
from mlgitops.gha import expr
from mlgitops.render.workflows.actions import PINNED, action_ref
from mlgitops.render.yamltext import plain_reads_back
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.model import is_url

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

WORKFLOWS_DIR = ".github/workflows"

#: Minutes the report jobs may run.
REPORT_TIMEOUT = 10

#: Where the Action leaves each pipeline's hand-off folder on the runner.
OUTPUT_DIR = expr("runner.temp") + "/mlgitops"
NOT_CANCELLED = expr("!cancelled()")
#: MLflow settings of the jobs that run pull-request code (train, compare), of
#: drift and of the deploy workflow's model jobs: the URI from a secret or else a
#: variable; credentials that can log runs but hold no registry rights
#: (docs/adopting.md).
MLFLOW_ENV = (
    ("MLFLOW_TRACKING_URI", expr("secrets.MLFLOW_TRACKING_URI || vars.MLFLOW_TRACKING_URI")),
    ("MLFLOW_TRACKING_USERNAME", expr("secrets.MLFLOW_PR_TRACKING_USERNAME")),
    ("MLFLOW_TRACKING_PASSWORD", expr("secrets.MLFLOW_PR_TRACKING_PASSWORD")),
    ("MLFLOW_TRACKING_TOKEN", expr("secrets.MLFLOW_PR_TRACKING_TOKEN")),
)


def workflow_name(pipeline: str, kind: str) -> str:
    """The ``name:`` of a pipeline's workflow; the report workflow listens for the PR ones."""
    return f"mlgitops {pipeline}: {kind}"


def common_context(
    repo: Repo, pipeline: Pipeline, in_lfs: frozenset[str] | None = None
) -> dict[str, Any]:
    """What every workflow of ``pipeline`` uses; ``in_lfs``: its inputs in Git LFS, where
    the caller has them already."""
    return {
        "lfs": bool(lfs_inputs(repo, pipeline) if in_lfs is None else in_lfs),
        "header": rendering.header(pipeline.source).rstrip("\n"),
        "pipeline": pipeline.name,
        "pipeline_value": plain_or_quoted(pipeline.name),
        "action": action_ref(repo).uses,
        "python": quote(repo.config.python),
        "runs_on": quote(repo.config.runs_on),
        "pinned": {key: pin.uses for key, pin in PINNED.items()},
        "not_cancelled": NOT_CANCELLED,
        "output_dir": OUTPUT_DIR,
        "mlflow_env": MLFLOW_ENV,
    }


def lfs_inputs(repo: Repo, pipeline: Pipeline) -> frozenset[str]:
    """The pipeline's input files the repository stores in Git LFS: the jobs that read them
    check out the LFS objects (actions/checkout fetches pointers only)."""
    from mlgitops import lfs

    current = pipeline.drift.current if pipeline.drift else None  # drift reads it too
    paths = [p for p in (*pipeline.inputs(), current) if p and not is_url(p)]
    return lfs.tracked(repo.root, paths)


def attests(repo: Repo, pipeline: Pipeline) -> bool:
    """Whether the pipeline's model is attested (its own setting, else the repository's)."""
    setting = pipeline.train.attest
    return repo.config.attest if setting is None else setting


def plain_or_quoted(text: str) -> str:
    """``text`` as a whole YAML value: plain, or quoted where YAML would read it as no text
    (a pipeline named ``null``, ``true`` or ``on``)."""
    return text if plain_reads_back(text) else quote(text)


def quote(value: str) -> str:
    """A YAML double-quoted scalar; a literal ``${{`` stays literal for GitHub too."""
    return json.dumps(value.replace("${{", expr("'${{'")), ensure_ascii=False)
