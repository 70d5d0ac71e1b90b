"""The files generated once for the whole repository: the report workflow, which posts a
fork's pull-request results, and actionlint's configuration."""

from __future__ import annotations

import json

import mlgitops.render as rendering
from mlgitops.gha import expr
from mlgitops.render.workflows.actions import PINNED, action_ref
from mlgitops.render.workflows.common import (
    REPORT_TIMEOUT,
    plain_or_quoted,
    quote,
    workflow_name,
)
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.repo_checks import SELF_HOSTED_LABELS, is_hosted

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: Where the report workflow downloads the PR workflow's artifact.
ARTIFACT_DIR = expr("runner.temp") + "/mlgitops-artifact"


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
            "pipeline_value": plain_or_quoted(p.name),
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
        "name": quote("mlgitops: report"),
        "workflows": [quote(workflow_name(p.name, "pull request")) for p in pipelines],
        "jobs": jobs,
        "action": action_ref(repo).uses,
        "python": quote(repo.config.python),
        "runs_on": quote(repo.config.runs_on),
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
        "labels": [quote(x) for x in custom],
    }
