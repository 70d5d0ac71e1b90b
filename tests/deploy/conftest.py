from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.kube_api import KubeApi, serve
from tests.deploy.world import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    """One pipeline, rendered, committed and pushed to a bare remote."""
    return make_world(tmp_path)


@pytest.fixture
def kube_api(contracts: Path) -> Iterator[KubeApi]:
    """A loopback Kubernetes API serving Argo objects valid against the contract CRDs."""
    with serve(contracts) as api:
        yield api
