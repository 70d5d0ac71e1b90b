"""GitHub Actions workflows for each pipeline (PR, deploy, drift) and the shared report workflow.

The templates under ``templates/workflows/`` are dumb: every decision (which
jobs, which permissions, which labels, every ``${{ }}`` expression) is taken
in pure functions that build each template's context, a module per workflow
(:mod:`.pull_request`, :mod:`.deploy`, :mod:`.drift`, :mod:`.repository`).
User strings reach the YAML only through :func:`.common.quote`, as
double-quoted scalars; :mod:`.templates` runs the templates.
"""

from __future__ import annotations

from mlgitops.render.workflows.common import WORKFLOWS_DIR
from mlgitops.render.workflows.deploy import deploy_context
from mlgitops.render.workflows.drift import drift_context
from mlgitops.render.workflows.pull_request import pr_context
from mlgitops.render.workflows.repository import actionlint_context, report_context
from mlgitops.render.workflows.templates import render_template
from mlgitops.spec import Pipeline, Repo

__all__ = ["deploy_path", "drift_path", "pr_path", "render"]

ACTIONLINT_CONFIG = ".github/actionlint.yaml"


def render(repo: Repo) -> dict[str, str]:
    """Repo-relative path -> file text for every generated workflow."""
    files: dict[str, str] = {}
    pipelines = sorted(repo.pipelines, key=lambda p: p.name)
    for pipeline in pipelines:
        files[pr_path(pipeline)] = render_template("pr.yml.j2", pr_context(repo, pipeline))
        if pipeline.deploy is not None:
            files[deploy_path(pipeline)] = render_template(
                "deploy.yml.j2", deploy_context(repo, pipeline)
            )
        if pipeline.drift is not None and pipeline.drift.schedule:
            files[drift_path(pipeline)] = render_template(
                "drift.yml.j2", drift_context(repo, pipeline)
            )
    if pipelines:
        files[f"{WORKFLOWS_DIR}/mlgitops-report.yml"] = render_template(
            "report.yml.j2", report_context(repo, pipelines)
        )
        files[ACTIONLINT_CONFIG] = render_template("actionlint.yaml.j2", actionlint_context(repo))
    return dict(sorted(files.items()))


def pr_path(pipeline: Pipeline) -> str:
    return f"{WORKFLOWS_DIR}/mlgitops-{pipeline.name}-pr.yml"


def deploy_path(pipeline: Pipeline) -> str:
    return f"{WORKFLOWS_DIR}/mlgitops-{pipeline.name}-deploy.yml"


def drift_path(pipeline: Pipeline) -> str:
    return f"{WORKFLOWS_DIR}/mlgitops-{pipeline.name}-drift.yml"
