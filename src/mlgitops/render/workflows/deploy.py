"""The deploy workflow's context: on push, the model jobs, the serving image's build and
deploy; on dispatch, promote or rollback."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mlgitops.gha import expr
from mlgitops.render.workflows.common import (
    MLFLOW_ENV,
    OUTPUT_DIR,
    attests,
    common_context,
    quote,
    workflow_name,
)
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.deploy import image_files, model_job_minutes, traffic_steps
from mlgitops.spec.model import PR_ENVIRONMENT, is_url

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

REPO_CONFIG = "mlgitops.yaml"

#: Minutes the deploy and image jobs may run on GitHub's runners.
DEPLOY_TIMEOUT = 20
IMAGE_TIMEOUT = 30

#: MLflow settings of deploy, promote and rollback: environment secrets of the
#: target's GitHub environment, the only credentials that may register models.
DEPLOY_MLFLOW_ENV = (
    ("MLFLOW_TRACKING_URI", expr("secrets.MLFLOW_TRACKING_URI || vars.MLFLOW_TRACKING_URI")),
    ("MLFLOW_TRACKING_USERNAME", expr("secrets.MLFLOW_DEPLOY_TRACKING_USERNAME")),
    ("MLFLOW_TRACKING_PASSWORD", expr("secrets.MLFLOW_DEPLOY_TRACKING_PASSWORD")),
    ("MLFLOW_TRACKING_TOKEN", expr("secrets.MLFLOW_DEPLOY_TRACKING_TOKEN")),
)
#: The deploy workflow's jobs that run a model, each writing its outputs on the merged
#: holdout for the deploy job to read (``deploy --predict``), and what they write.
MODEL_JOBS = {
    "candidate": "the reviewed model's outputs",
    "deployed": "the deployed model's outputs",
}
PREDICTIONS_DIR = OUTPUT_DIR + "/predictions"
#: The push to the default branch: a GitHub App's token held in the environment
#: (allowed past the branch ruleset), else the workflow's own token.
PUSH_TOKEN = expr("secrets.MLGITOPS_PUSH_TOKEN || github.token")


#: The dispatch's inputs: its actions, and the descriptions of the action and environment.
DISPATCH = {
    "actions": ["promote", "rollback"],
    "action": "promote the deployed model to an environment, or roll an environment back",
    "environment": "the environment to promote to, or to roll back",
}
#: ... where an environment has a KServe canary, whose next share is a dispatch too.
CANARY_DISPATCH = {
    "actions": ["promote", "rollback", "canary"],
    "action": "promote the deployed model to an environment, roll an environment back, or "
    "give its KServe canary the next share of the traffic",
    "environment": "the environment to promote to, to roll back, or whose canary takes its "
    "next share",
}


def deploy_context(repo: Repo, pipeline: Pipeline) -> dict[str, Any]:
    """Context of ``deploy.yml.j2``: the model jobs, then deploy, on push; promote or
    rollback on dispatch."""
    assert pipeline.deploy is not None
    environments = [e.name for e in pipeline.deploy.environments]
    paths = _input_paths(pipeline, repo.root)
    build = pipeline.deploy.server.build is not None
    canary = any(traffic_steps(pipeline.deploy.target, e) for e in pipeline.deploy.environments)
    return {
        **common_context(repo, pipeline),
        "name": quote(workflow_name(pipeline.name, "deploy")),
        "branch": quote(_literal(repo.config.default_branch, _BRANCH_SPECIALS)),
        "paths": _path_filters([*paths, REPO_CONFIG]),
        "environments": [quote(name) for name in environments],
        "first_environment": quote(environments[0]),
        "deploy_job_name": quote(f"deploy to {environments[0]}"),
        "timeout": DEPLOY_TIMEOUT,
        "model_timeout": model_job_minutes(pipeline.deploy.model_timeout),
        "is_push": expr("github.event_name == 'push'"),
        "is_dispatch": expr("github.event_name == 'workflow_dispatch'"),
        "chosen_environment": expr("inputs.environment"),
        "is_promote": expr("inputs.action == 'promote'"),
        "is_rollback": expr("inputs.action == 'rollback'"),
        "is_canary": expr("inputs.action == 'canary'"),
        # a KServe canary keeps its share until a commit changes it: the dispatch that does
        "canary": canary,
        "dispatch": CANARY_DISPATCH if canary else DISPATCH,
        # Per environment and per verb: GitHub cancels a *pending* run when a newer one
        # joins its group, so a queued rollback must share its group with no deploy.
        "deploy_group": quote(f"mlgitops-{pipeline.name}-{environments[0]}-deploy"),
        "dispatch_group": f"mlgitops-{pipeline.name}-"
        + expr("inputs.environment")
        + "-"
        + expr("inputs.action"),
        "push_token": PUSH_TOKEN,
        "attest": attests(repo, pipeline),
        "mlflow_env": DEPLOY_MLFLOW_ENV,
        "model_mlflow_env": MLFLOW_ENV,
        "pr_environment": quote(PR_ENVIRONMENT),
        "models": [_model_job(pipeline.name, which) for which in MODEL_JOBS],
        "predictions": PREDICTIONS_DIR,
        "deploy_needs": "[" + ", ".join([*(["image"] if build else []), *MODEL_JOBS]) + "]",
        "image": image_context(repo, pipeline),
    }


def _model_job(pipeline: str, which: str) -> dict[str, str]:
    """A job of the deploy workflow that runs one model (``candidate`` or ``deployed``)."""
    outputs = MODEL_JOBS[which]
    return {
        "job": which,
        "name": quote(outputs),
        "step": quote(f"Write {outputs} on the merged holdout"),
        "outputs": outputs,
        "group": quote(f"mlgitops-{pipeline}-{which}"),
        "predict": which,
        "artifact": f"mlgitops-{pipeline}-{which}",
        "id": expr(f"needs.{which}.outputs.artifact-id"),
        "variable": which.upper(),
    }


def image_context(repo: Repo, pipeline: Pipeline) -> dict[str, Any] | None:
    """The deploy workflow's ``image`` job, for ``deploy.server.build``; None without it.

    It builds the generated Dockerfile with only the lock in its context, with
    ``SOURCE_DATE_EPOCH=0`` and rewritten file times, so the same base, lock and
    Dockerfile give the same digest on every run; pushes it tagged with the
    commit; and hands the digest to deploy. BuildKit's own provenance is off: it
    records the build's time, which would make every digest new (the GitHub
    attestation records the build instead, when attestation is on).
    """
    assert pipeline.deploy is not None
    build = pipeline.deploy.server.build
    if build is None:
        return None
    dockerfile, _ = image_files(pipeline.name)
    folder = dockerfile.rsplit("/", 1)[0]
    credentials = build.credentials
    if credentials is None:  # ghcr.io (deploy_checks.py): the workflow's own token may push there
        login = (expr("github.actor"), expr("github.token"))
    else:
        login = (expr(f"secrets.{credentials.username}"), expr(f"secrets.{credentials.password}"))
    attest = repo.config.attest if build.attest is None else build.attest
    # repository and requirements match the schema's patterns: no quote, no "${{" in them
    outputs = f"type=image,name={build.repository}:{expr('github.sha')},push=true"
    return {
        "timeout": IMAGE_TIMEOUT,
        "group": quote(f"mlgitops-{pipeline.name}-image"),
        "environment": credentials is not None,
        "packages": credentials is None,
        "attest": attest,
        "sparse": quote(f"/{folder}/\n/{build.requirements}\n"),
        "registry": quote(build.registry),
        "login_name": quote(f"Log in to {build.registry}"),
        "username": login[0],
        "password": login[1],
        "dockerfile": quote(dockerfile),
        "outputs": json.dumps(f"{outputs},rewrite-timestamp=true"),
        "repository": quote(build.repository),
        "ref": json.dumps(f"{build.repository}@" + expr("needs.image.outputs.digest")),
        "digest": expr("steps.build.outputs.digest"),
    }


def _input_paths(pipeline: Pipeline, root: Path) -> list[str]:
    """What affects the pipeline, as ``plan`` decides (:mod:`mlgitops.training.planning`):
    its inputs (code entries may be folders, so their contents count too), the files of
    ``root`` they link to, and ``.gitattributes`` files."""
    from mlgitops.links import linked

    paths = [path.rstrip("/") for path in pipeline.inputs() if not is_url(path)]
    paths += [*linked(root, paths), GIT_ATTRIBUTES]
    # model.code entries may be folders; so may the command's, when they have no suffix
    maybe_folders = [
        *pipeline.model.code,
        *(p for p in pipeline.trainer_inputs() if "." not in p.rsplit("/", 1)[-1]),
    ]
    folders = [f"{code.rstrip('/')}/**" for code in maybe_folders if not is_url(code)]
    return paths + folders


_GLOB_SPECIALS = re.compile(r"([*?+\[\]!])")


#: What a branch filter escapes (GitHub's filters escape no ``]``; Git's branch names hold
#: no ``*?[\``, which the spec refuses, but may hold ``+`` and ``!``).
_BRANCH_SPECIALS = re.compile(r"([*?+\[!])")


def _literal(name: str, specials: re.Pattern[str] = _GLOB_SPECIALS) -> str:
    """``name`` as a filter pattern of GitHub's that matches it alone: glob characters
    escaped (a branch ``a+b``, a file ``x[1].csv``)."""
    return specials.sub(r"\\\1", name)


#: Every ``.gitattributes`` file, the top one included (``**/`` matches no folder too).
GIT_ATTRIBUTES = "**/.gitattributes"


def _path_filters(paths: list[str]) -> list[str]:
    """Sorted, unique ``paths:`` entries; glob characters in real file names escaped."""
    escaped = set()
    for path in paths:
        if path == GIT_ATTRIBUTES:
            escaped.add(path)
            continue
        stem, glob = (path[:-3], "/**") if path.endswith("/**") else (path, "")
        escaped.add(_literal(stem) + glob)
    return [quote(path) for path in sorted(escaped)]
