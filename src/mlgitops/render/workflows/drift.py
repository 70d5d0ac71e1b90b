"""The drift workflow's context: the scheduled drift check and what it may write."""

from __future__ import annotations

from mlgitops.render.workflows.common import common_context, quote, workflow_name
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.model import DRIFT_ENVIRONMENT

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: Minutes the drift job may run on GitHub's runners.
DRIFT_TIMEOUT = 30


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
        **common_context(repo, pipeline),
        "name": quote(workflow_name(pipeline.name, "drift")),
        "cron": quote(pipeline.drift.schedule),
        "permissions": permissions,
        "timeout": DRIFT_TIMEOUT,
        "drift_environment": quote(DRIFT_ENVIRONMENT),
    }
