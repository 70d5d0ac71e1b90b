"""Kustomize base, overlays and Argo CD Applications for each pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from mlgitops.spec import Pipeline, Repo


def render(repo: Repo, deployed: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """Repo-relative path -> file text for every generated manifest."""
    return {}


def read_deployed(root: Path, pipelines: Iterable[Pipeline]) -> dict[tuple[str, str], str]:
    """(pipeline, environment) -> the MODEL_URI literal each existing overlay holds."""
    return {}
