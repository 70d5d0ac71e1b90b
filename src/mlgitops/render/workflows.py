"""GitHub Actions workflows for each pipeline (PR, deploy, drift) and the shared report workflow."""

from __future__ import annotations

from mlgitops.spec import Repo


def render(repo: Repo) -> dict[str, str]:
    """Repo-relative path -> file text for every generated workflow."""
    return {}
