"""GitHub Actions workflows for each pipeline (PR, deploy, drift) and the shared report workflow.

The templates under ``templates/workflows/`` are dumb: every decision (which
jobs, which permissions, which labels, every ``${{ }}`` expression) is taken
here, in pure functions that build each template's context. User strings
reach the YAML only through :func:`_q`, as double-quoted scalars.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from pathlib import Path
from types import ModuleType

import mlgitops.render as rendering
from mlgitops.gha import expr
from mlgitops.outputs import TRAIN_FILES, VALIDATE_FILES
from mlgitops.record import record
from mlgitops.render import jinja_shim
from mlgitops.render.yamltext import plain_reads_back
from mlgitops.sha import sha256_hex
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.model import (
    DRIFT_ENVIRONMENT,
    PR_ENVIRONMENT,
    image_files,
    is_url,
    model_job_minutes,
)
from mlgitops.spec.repo_checks import SELF_HOSTED_LABELS, is_hosted

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    import jinja2

__all__ = ["PINNED", "ActionRef", "action_ref", "render", "workflow_name"]

WORKFLOWS_DIR = ".github/workflows"
REPO_CONFIG = "mlgitops.yaml"
ACTIONLINT_CONFIG = ".github/actionlint.yaml"

#: Minutes each GitHub-hosted job may run (the train job takes the spec's).
CHECK_TIMEOUT = 30
REPORT_TIMEOUT = 10
DEPLOY_TIMEOUT = 20
IMAGE_TIMEOUT = 30
DRIFT_TIMEOUT = 30
#: Minutes the watchdog job may run beyond the wait it watches for (set-up, the report).
WATCHDOG_SLACK = 10

#: Where the Action leaves each pipeline's hand-off folder on the runner.
OUTPUT_DIR = expr("runner.temp") + "/mlgitops"
ARTIFACT_DIR = expr("runner.temp") + "/mlgitops-artifact"
#: Where the PR workflow's report job downloads each job's artifact, a folder each.
RESULTS_DIR = expr("runner.temp") + "/mlgitops-results"
SAME_REPO = expr("github.event.pull_request.head.repo.full_name == github.repository")
FORK = expr("github.event.pull_request.head.repo.full_name != github.repository")
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


@record
class Pinned:
    """A third-party action pinned to a full commit SHA, with the release it is."""

    name: str
    sha: str
    version: str

    @property
    def uses(self) -> str:
        return f"{self.name}@{self.sha} # {self.version}"


PINNED = {
    "checkout": Pinned("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "setup-python": Pinned(
        "actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"
    ),
    "upload-artifact": Pinned(
        "actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"
    ),
    "download-artifact": Pinned(
        "actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"
    ),
    "cache": Pinned("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "attest-build-provenance": Pinned(
        "actions/attest-build-provenance", "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32", "v4.1.0"
    ),
    "setup-buildx-action": Pinned(
        "docker/setup-buildx-action", "37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"
    ),
    "login-action": Pinned(
        "docker/login-action", "4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"
    ),
    "build-push-action": Pinned(
        "docker/build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"
    ),
}

_SHA_REF = re.compile(r"@[0-9a-f]{40}$")


@record
class ActionRef:
    """How generated workflows call the mlgitops Action (``mlgitops.yaml: action:``)."""

    ref: str

    @property
    def is_local(self) -> bool:
        return self.ref.startswith("./")

    @property
    def is_pinned(self) -> bool:
        return self.is_local or bool(_SHA_REF.search(self.ref))

    @property
    def uses(self) -> str:
        """The ``uses:`` value, with the reason next to any zizmor finding it accepts.

        ``./`` (this repository's own Action, run from the checked-out commit)
        is what a repository that develops the Action wants to test. A tag is
        the user's explicit choice in ``mlgitops.yaml``; the comment says how
        to pin a commit SHA instead, which needs no comment (docs/action.md).
        """
        if self.is_local:
            return (
                f"{self.ref} # zizmor: ignore[self-repository] the checked-out commit's own "
                f"Action, on purpose (mlgitops.yaml: action: {self.ref})"
            )
        if self.is_pinned:
            return self.ref
        return (
            f"{self.ref} # zizmor: ignore[unpinned-uses] tag chosen in mlgitops.yaml; "
            "set action: to owner/repo@<commit SHA> to pin it (docs/action.md#pinning)"
        )


def action_ref(repo: Repo) -> ActionRef:
    return ActionRef(repo.config.action)


def workflow_name(pipeline: str, kind: str) -> str:
    """The ``name:`` of a pipeline's workflow; the report workflow listens for the PR ones."""
    return f"mlgitops {pipeline}: {kind}"


def render(repo: Repo) -> dict[str, str]:
    """Repo-relative path -> file text for every generated workflow."""
    files: dict[str, str] = {}
    pipelines = sorted(repo.pipelines, key=lambda p: p.name)
    for pipeline in pipelines:
        files[pr_path(pipeline)] = _template("pr.yml.j2", pr_context(repo, pipeline))
        if pipeline.deploy is not None:
            files[deploy_path(pipeline)] = _template(
                "deploy.yml.j2", deploy_context(repo, pipeline)
            )
        if pipeline.drift is not None and pipeline.drift.schedule:
            files[drift_path(pipeline)] = _template("drift.yml.j2", drift_context(repo, pipeline))
    if pipelines:
        files[f"{WORKFLOWS_DIR}/mlgitops-report.yml"] = _template(
            "report.yml.j2", report_context(repo, pipelines)
        )
        files[ACTIONLINT_CONFIG] = _template("actionlint.yaml.j2", actionlint_context(repo))
    return dict(sorted(files.items()))


def pr_path(pipeline: Pipeline) -> str:
    return f"{WORKFLOWS_DIR}/mlgitops-{pipeline.name}-pr.yml"


def deploy_path(pipeline: Pipeline) -> str:
    return f"{WORKFLOWS_DIR}/mlgitops-{pipeline.name}-deploy.yml"


def drift_path(pipeline: Pipeline) -> str:
    return f"{WORKFLOWS_DIR}/mlgitops-{pipeline.name}-drift.yml"


def _common(repo: Repo, pipeline: Pipeline, in_lfs: frozenset[str] | None = None) -> dict[str, Any]:
    """What every workflow of ``pipeline`` uses; ``in_lfs``: its inputs in Git LFS, where
    the caller has them already."""
    return {
        "lfs": bool(_lfs(repo, pipeline) if in_lfs is None else in_lfs),
        "header": rendering.header(pipeline.source).rstrip("\n"),
        "pipeline": pipeline.name,
        "pipeline_value": _value(pipeline.name),
        "action": action_ref(repo).uses,
        "python": _q(repo.config.python),
        "runs_on": _q(repo.config.runs_on),
        "pinned": {key: pin.uses for key, pin in PINNED.items()},
        "not_cancelled": NOT_CANCELLED,
        "output_dir": OUTPUT_DIR,
        "mlflow_env": MLFLOW_ENV,
    }


def pr_context(repo: Repo, pipeline: Pipeline) -> dict[str, Any]:
    """Context of ``pr.yml.j2``: plan, check, train (+compare), the runner watchdog, report."""
    pool = repo.config.pool_for(pipeline.train.runs_on)
    container = None
    if pool is not None and pool.container_mode == "kubernetes":
        container = pool.job_image or pool.image
    hosted = all(is_hosted(label) for label in pipeline.train.runs_on)
    watchdog = 0 if hosted else pipeline.train.runner_wait_minutes
    affected = "needs.plan.outputs.affected == 'true'"
    in_lfs = _lfs(repo, pipeline)
    data = pipeline.data.path
    return {
        **_common(repo, pipeline, in_lfs),
        "name": _q(workflow_name(pipeline.name, "pull request")),
        "concurrency_group": f"mlgitops-{pipeline.name}-pr-"
        + expr("github.event.pull_request.number"),
        "check_timeout": CHECK_TIMEOUT,
        "train_runs_on": _train_runs_on(pipeline.train.runs_on),
        "train_timeout": pipeline.train.timeout_minutes,
        "train_container": _container(container) if container else "",
        "watchdog": watchdog,
        "watchdog_timeout": watchdog + WATCHDOG_SLACK,
        "report_timeout": REPORT_TIMEOUT,
        "same_repo": SAME_REPO,
        "fork": FORK,
        "affected": expr(affected),
        # A fork's token cannot post statuses (docs/security.md#forks says what then).
        "unaffected": expr(
            "steps.decide.outputs.affected != 'true' && "
            "github.event.pull_request.head.repo.full_name == github.repository"
        ),
        "report_if": expr(f"!cancelled() && {affected}"),
        "attest": _attest(repo, pipeline),
        "attest_subject": _q(f"mlgitops-{pipeline.name}-model"),
        "pr_environment": _q(PR_ENVIRONMENT),
        "validate_files": VALIDATE_FILES,
        "train_files": TRAIN_FILES,
        "downloads": [_download(job) for job in UPLOADS],
        # validate profiles the data at the base too: the check job fetches its LFS object
        "lfs_base": _q(data) if data in in_lfs else "",
    }


#: The PR workflow's jobs that upload results: what each is called in the report job's
#: steps, and the hand-off files it writes, the only ones its artifact carries and the report
#: job takes from it.
UPLOADS = {
    "check": ("validation results", VALIDATE_FILES),
    "train": ("training results", TRAIN_FILES),
}


def _download(job: str) -> dict[str, str]:
    """The report job's download of ``job``'s artifact, by the id the job reported."""
    what, files = UPLOADS[job]
    artifact_id = f"needs.{job}.outputs.artifact-id"
    return {
        "what": what,
        "condition": expr(f"{artifact_id} != ''"),
        "id": expr(artifact_id),
        "path": f"{RESULTS_DIR}/{job}",
        "variable": job.upper(),
        "files": " ".join(files),
    }


def _train_runs_on(labels: tuple[str, ...]) -> str:
    """The train job's ``runs-on``; self-hosted on purpose, and never for a fork's code."""
    value = "[" + ", ".join(_q(label) for label in labels) + "]"
    if "self-hosted" not in labels:
        return value
    return (
        f"{value}  # zizmor: ignore[self-hosted-runner] the GPU runners, for pull requests "
        "from this repository only (if: above); docs/security.md#forks"
    )


def _lfs(repo: Repo, pipeline: Pipeline) -> frozenset[str]:
    """The pipeline's input files the repository stores in Git LFS: the jobs that read them
    check out the LFS objects (actions/checkout fetches pointers only)."""
    from mlgitops import lfs

    current = pipeline.drift.current if pipeline.drift else None  # drift reads it too
    paths = [p for p in (*pipeline.inputs(), current) if p and not is_url(p)]
    return lfs.tracked(repo.root, paths)


def _attest(repo: Repo, pipeline: Pipeline) -> bool:
    setting = pipeline.train.attest
    return repo.config.attest if setting is None else setting


def deploy_context(repo: Repo, pipeline: Pipeline) -> dict[str, Any]:
    """Context of ``deploy.yml.j2``: the model jobs, then deploy, on push; promote or
    rollback on dispatch."""
    assert pipeline.deploy is not None
    environments = [e.name for e in pipeline.deploy.environments]
    paths = _input_paths(pipeline)
    build = pipeline.deploy.server.build is not None
    return {
        **_common(repo, pipeline),
        "name": _q(workflow_name(pipeline.name, "deploy")),
        "branch": _q(_literal(repo.config.default_branch, _BRANCH_SPECIALS)),
        "paths": _path_filters([*paths, REPO_CONFIG]),
        "environments": [_q(name) for name in environments],
        "first_environment": _q(environments[0]),
        "deploy_job_name": _q(f"deploy to {environments[0]}"),
        "timeout": DEPLOY_TIMEOUT,
        "model_timeout": model_job_minutes(pipeline.deploy.model_timeout),
        "is_push": expr("github.event_name == 'push'"),
        "is_dispatch": expr("github.event_name == 'workflow_dispatch'"),
        "chosen_environment": expr("inputs.environment"),
        "is_promote": expr("inputs.action == 'promote'"),
        "is_rollback": expr("inputs.action == 'rollback'"),
        # Per environment and per verb: GitHub cancels a *pending* run when a newer one
        # joins its group, so a queued rollback must share its group with no deploy.
        "deploy_group": _q(f"mlgitops-{pipeline.name}-{environments[0]}-deploy"),
        "dispatch_group": f"mlgitops-{pipeline.name}-"
        + expr("inputs.environment")
        + "-"
        + expr("inputs.action"),
        "push_token": PUSH_TOKEN,
        "attest": _attest(repo, pipeline),
        "mlflow_env": DEPLOY_MLFLOW_ENV,
        "model_mlflow_env": MLFLOW_ENV,
        "pr_environment": _q(PR_ENVIRONMENT),
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
        "name": _q(outputs),
        "step": _q(f"Write {outputs} on the merged holdout"),
        "outputs": outputs,
        "group": _q(f"mlgitops-{pipeline}-{which}"),
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
    if credentials is None:  # ghcr.io (checks.py): the workflow's own token may push there
        login = (expr("github.actor"), expr("github.token"))
    else:
        login = (expr(f"secrets.{credentials.username}"), expr(f"secrets.{credentials.password}"))
    attest = repo.config.attest if build.attest is None else build.attest
    # repository and requirements match the schema's patterns: no quote, no "${{" in them
    outputs = f"type=image,name={build.repository}:{expr('github.sha')},push=true"
    return {
        "timeout": IMAGE_TIMEOUT,
        "group": _q(f"mlgitops-{pipeline.name}-image"),
        "environment": credentials is not None,
        "packages": credentials is None,
        "attest": attest,
        "sparse": _q(f"/{folder}/\n/{build.requirements}\n"),
        "registry": _q(build.registry),
        "login_name": _q(f"Log in to {build.registry}"),
        "username": login[0],
        "password": login[1],
        "dockerfile": _q(dockerfile),
        "outputs": json.dumps(f"{outputs},rewrite-timestamp=true"),
        "repository": _q(build.repository),
        "ref": json.dumps(f"{build.repository}@" + expr("needs.image.outputs.digest")),
        "digest": expr("steps.build.outputs.digest"),
    }


def drift_context(repo: Repo, pipeline: Pipeline) -> dict[str, Any]:
    """Context of ``drift.yml.j2``: the scheduled drift check and what it may write."""
    assert pipeline.drift is not None and pipeline.drift.schedule
    if pipeline.drift.action == "issue":
        permissions = [
            ("contents", "read", "check out the repository"),
            ("issues", "write", "open or update the drift issue"),
        ]
    else:
        permissions = [
            ("contents", "write", "commit the drift marker on the retraining branch (API)"),
            ("pull-requests", "write", "open or update the retraining pull request"),
        ]
    return {
        **_common(repo, pipeline),
        "name": _q(workflow_name(pipeline.name, "drift")),
        "cron": _q(pipeline.drift.schedule),
        "permissions": permissions,
        "timeout": DRIFT_TIMEOUT,
        "drift_environment": _q(DRIFT_ENVIRONMENT),
    }


def report_context(repo: Repo, pipelines: list[Pipeline]) -> dict[str, Any]:
    """Context of ``report.yml.j2``: one job per pipeline posts a fork PR's results."""
    fork_run = (
        "github.event.workflow_run.event == 'pull_request'"
        " && github.event.workflow_run.conclusion != 'cancelled'"
        " && github.event.workflow_run.head_repository.full_name != github.repository"
    )
    jobs = [
        {
            "id": f"report-{p.name}",
            "pipeline": p.name,
            "pipeline_value": _value(p.name),
            # Quoted: the workflow's name holds ": ", which plain YAML cannot.
            "condition": json.dumps(
                expr(
                    f"{fork_run} && github.event.workflow_run.name == "
                    f"'{workflow_name(p.name, 'pull request')}'"
                )
            ),
        }
        for p in pipelines
    ]
    return {
        "header": rendering.header("pipelines/").rstrip("\n"),
        "name": _q("mlgitops: report"),
        "workflows": [_q(workflow_name(p.name, "pull request")) for p in pipelines],
        "jobs": jobs,
        "action": action_ref(repo).uses,
        "python": _q(repo.config.python),
        "runs_on": _q(repo.config.runs_on),
        "pinned": {key: pin.uses for key, pin in PINNED.items()},
        "concurrency_group": "mlgitops-report-" + expr("github.event.workflow_run.id"),
        "run_id": expr("github.event.workflow_run.id"),
        "token": expr("github.token"),
        "artifact_dir": ARTIFACT_DIR,
        "timeout": REPORT_TIMEOUT,
    }


def actionlint_context(repo: Repo) -> dict[str, Any]:
    """Context of ``actionlint.yaml.j2``: the self-hosted runner labels the specs use."""
    labels = {repo.config.runs_on, *(x for p in repo.pipelines for x in p.train.runs_on)}
    # actionlint knows GitHub's hosted images and the labels every self-hosted runner has
    custom = sorted(x for x in labels if x not in SELF_HOSTED_LABELS and not is_hosted(x))
    return {
        "header": rendering.header("pipelines/").rstrip("\n"),
        "labels": [_q(x) for x in custom],
    }


def _container(image: str) -> str:
    """The train job's container (a kubernetes-mode pool's job image), with why if unpinned.

    A digest (``image@sha256:…``) pins it; a tag is the user's choice in
    ``mlgitops.yaml``, and the comment says how to pin it instead.
    """
    if "@sha256:" in image:
        return f"{_q(image)}  # the pool runs each job in a pod of its own (kubernetes mode)"
    return (
        f"{_q(image)}  # zizmor: ignore[unpinned-images] the pool's job_image in mlgitops.yaml; "
        "set it to image@sha256:<digest> to pin it (docs/runners.md)"
    )


def _input_paths(pipeline: Pipeline) -> list[str]:
    """The pipeline's inputs; code entries may be folders, so their contents count too."""
    paths = [path.rstrip("/") for path in pipeline.inputs() if not is_url(path)]
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


def _path_filters(paths: list[str]) -> list[str]:
    """Sorted, unique ``paths:`` entries; glob characters in real file names escaped."""
    escaped = set()
    for path in paths:
        stem, glob = (path[:-3], "/**") if path.endswith("/**") else (path, "")
        escaped.add(_literal(stem) + glob)
    return [_q(path) for path in sorted(escaped)]


def _value(text: str) -> str:
    """``text`` as a whole YAML value: plain, or quoted where YAML would read it as no text
    (a pipeline named ``null``, ``true`` or ``on``)."""
    return text if plain_reads_back(text) else _q(text)


def _q(value: str) -> str:
    """A YAML double-quoted scalar; a literal ``${{`` stays literal for GitHub too."""
    return json.dumps(value.replace("${{", expr("'${{'")), ensure_ascii=False)


_PRECOMPILED = "mlgitops.render.precompiled"
_RUNTIME_IMPORT = re.compile(r"^from jinja2\.runtime import (.*)$", re.MULTILINE)


def _module_name(template: str) -> str:
    return re.sub(r"\W", "_", template.removesuffix(".j2"))


def _template_source(name: str) -> str:
    folder = Path(rendering.__file__).resolve().parent.parent / "templates" / "workflows"
    return (folder / name).read_text(encoding="utf-8")


def _fingerprint(source: str) -> str:
    """What a precompiled module is valid for: the template's exact text."""
    return "sha256:" + sha256_hex(source.encode("utf-8"))


def _precompiled(name: str) -> ModuleType | None:
    """The template's precompiled module, if there is one for its current text."""
    try:
        module = importlib.import_module(f"{_PRECOMPILED}.{_module_name(name)}")
    except ImportError:
        return None
    current = getattr(module, "SOURCE", None) == _source_fingerprint(name)
    return module if current else None


@functools.cache
def _source_fingerprint(name: str) -> str:
    """The fingerprint of the template's text as installed (read once a process)."""
    return _fingerprint(_template_source(name))


def _shimmed(code: str) -> str | None:
    """Jinja's compiled code, made to run on :mod:`jinja_shim`; None if it needs more."""
    match = _RUNTIME_IMPORT.search(code)
    if match is None:
        return None
    body = code[match.end() :]
    imported = {n.strip() for n in match.group(1).split(",")}
    used = {n for n in imported if re.search(rf"\b{n}\b", body)}
    attributes = set(re.findall(r"\benvironment\.(\w+)", body))
    calls = set(re.findall(r"\bcontext\.(\w+)", body))
    if (
        not used <= set(jinja_shim.SUPPORTED)
        or not attributes <= set(jinja_shim.ENVIRONMENT_ATTRIBUTES)
        or not calls <= set(jinja_shim.CONTEXT_ATTRIBUTES)
    ):
        return None
    names = ", ".join(sorted(used | {"environment"}))
    return f"{code[: match.start()]}from mlgitops.render.jinja_shim import {names}{body}"


def precompiled_modules() -> dict[str, str]:
    """module name -> Python source of each template that runs on the shim (``gen-templates``)."""
    environment = _environment()
    modules = {}
    for name in sorted(environment.list_templates()):
        source = _template_source(name)
        code = _shimmed(environment.compile(source, name, None, raw=True, defer_init=True))
        if code is None:
            continue
        header = (
            f"# Generated by scripts/gen-templates from {name}. Do not edit by hand.\n"
            "# mypy: ignore-errors\n"
        )
        modules[_module_name(name)] = f"{header}{code}\nSOURCE = {_fingerprint(source)!r}\n"
    return modules


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("mlgitops", "templates/workflows"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.globals["expr"] = expr
    return environment


def _template(name: str, context: dict[str, Any]) -> str:
    module = _precompiled(name)
    if module is not None:  # no Jinja to import: most of render's start-up time
        return jinja_shim.render(module, {"expr": expr, **context})
    return _environment().get_template(name).render(**context)
