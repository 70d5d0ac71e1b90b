"""The pull-request workflow's context: plan, check, train (+compare), the runner
watchdog and the report."""

from __future__ import annotations

from mlgitops.gha import expr
from mlgitops.outputs import TRAIN_FILES, VALIDATE_FILES
from mlgitops.render.workflows.common import (
    REPORT_TIMEOUT,
    attests,
    common_context,
    lfs_inputs,
    quote,
    workflow_name,
)
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.model import PR_ENVIRONMENT
from mlgitops.spec.repo_checks import is_hosted

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: Minutes the check job may run on GitHub's runners (the train job takes the spec's).
CHECK_TIMEOUT = 30
#: Minutes the watchdog job may run beyond the wait it watches for (set-up, the report).
WATCHDOG_SLACK = 10

#: Where the PR workflow's report job downloads each job's artifact, a folder each.
RESULTS_DIR = expr("runner.temp") + "/mlgitops-results"
_SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"
SAME_REPO = expr(_SAME_REPO)
FORK = expr("github.event.pull_request.head.repo.full_name != github.repository")


def pr_context(repo: Repo, pipeline: Pipeline) -> dict[str, Any]:
    """Context of ``pr.yml.j2``: plan, check, train (+compare), the runner watchdog, report."""
    pool = repo.config.pool_for(pipeline.train.runs_on)
    container = None
    if pool is not None and pool.container_mode == "kubernetes":
        container = pool.job_image or pool.image
    hosted = all(is_hosted(label) for label in pipeline.train.runs_on)
    watchdog = 0 if hosted else pipeline.train.runner_wait_minutes
    affected = "needs.plan.outputs.affected == 'true'"
    in_lfs = lfs_inputs(repo, pipeline)
    data = pipeline.data.path
    return {
        **common_context(repo, pipeline, in_lfs),
        "name": quote(workflow_name(pipeline.name, "pull request")),
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
        "unaffected": expr(f"steps.decide.outputs.affected != 'true' && {_SAME_REPO}"),
        # Likewise: the earlier report comment, marked as not this commit's while it is checked.
        "affected_here": expr(f"steps.decide.outputs.affected == 'true' && {_SAME_REPO}"),
        "report_if": expr(f"!cancelled() && {affected}"),
        "attest": attests(repo, pipeline),
        "attest_subject": quote(f"mlgitops-{pipeline.name}-model"),
        "pr_environment": quote(PR_ENVIRONMENT),
        "validate_files": VALIDATE_FILES,
        "train_files": TRAIN_FILES,
        "downloads": [_download(job) for job in UPLOADS],
        # validate profiles the data at the base too: the check job fetches its LFS object
        "lfs_base": quote(data) if data in in_lfs else "",
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
    value = "[" + ", ".join(quote(label) for label in labels) + "]"
    if "self-hosted" not in labels:
        return value
    return (
        f"{value}  # zizmor: ignore[self-hosted-runner] the GPU runners, for pull requests "
        "from this repository only (if: above); docs/security.md#forks"
    )


def _container(image: str) -> str:
    """The train job's container (a kubernetes-mode pool's job image), with why if unpinned.

    A digest (``image@sha256:…``) pins it; a tag is the user's choice in
    ``mlgitops.yaml``, and the comment says how to pin it instead.
    """
    if "@sha256:" in image:
        return f"{quote(image)}  # the pool runs each job in a pod of its own (kubernetes mode)"
    return (
        f"{quote(image)}  # zizmor: ignore[unpinned-images] the pool's job_image in mlgitops.yaml; "
        "set it to image@sha256:<digest> to pin it (docs/runners.md)"
    )
