from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.kube_api import KubeApi, serve
from tests.deploy.world import World, make_world
from tests.fixtures.github_server import GitHubServer


@pytest.fixture
def world(tmp_path: Path) -> World:
    """One pipeline, rendered, committed and pushed to a bare remote."""
    return make_world(tmp_path)


@pytest.fixture
def kube_api(contracts: Path) -> Iterator[KubeApi]:
    """A loopback Kubernetes API serving Argo objects valid against the contract CRDs."""
    with serve(contracts) as api:
        yield api


@pytest.fixture
def on_github(monkeypatch: pytest.MonkeyPatch, github_server: GitHubServer) -> GitHubServer:
    """The environment of the deploy job: GitHub's API, its token, this repository."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TOKEN", github_server.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", github_server.state.repo)
    monkeypatch.setenv("GITHUB_API_URL", github_server.api_url)
    for name in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH"):  # a test says its own event
        monkeypatch.delenv(name, raising=False)
    return github_server
