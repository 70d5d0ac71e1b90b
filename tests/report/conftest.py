"""A repository with the example pipeline, its staging overlay and a hand-off folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT

FIXTURES = Path(__file__).parent / "fixtures"
HEAD = "c" * 40
REPO = "octo/ml"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))
    return loaded


@dataclass
class ReportRepo:
    root: Path

    @property
    def handoff(self) -> Path:
        return self.root / ".mlgitops" / "tumors"

    def write(self, folder: Path | None = None, **docs: dict[str, Any] | None) -> Path:
        """Hand-off documents by kind (``verdict=...``); None leaves one out."""
        target = folder or self.handoff
        target.mkdir(parents=True, exist_ok=True)
        for kind, doc in docs.items():
            if doc is not None:
                (target / f"{kind}.json").write_text(json.dumps(doc, indent=2), "utf-8")
        return target

    def full(self) -> Path:
        return self.write(
            validation=fixture("validation.json"),
            datadiff=fixture("datadiff.json"),
            train=fixture("train.json"),
            verdict=fixture("verdict.json"),
        )


@pytest.fixture
def report_repo(tmp_path: Path) -> ReportRepo:
    root = tmp_path / "repo"
    for rel in ("mlgitops.yaml", "pipelines/tumors.yaml", "schemas/tumors.yaml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / rel, root / rel)
    overlay = root / "manifests/tumors/overlays/staging/kustomization.yaml"
    overlay.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "kustomization.yaml", overlay)
    return ReportRepo(root)


@pytest.fixture
def github_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Path]:
    """Set the variables a GitHub Actions step has; returns the job summary path."""

    def setup(api_url: str, event_name: str, event: dict[str, Any], token: str | None = "") -> Path:
        event_path = tmp_path / "event.json"
        event_path.write_text(json.dumps(event), "utf-8")
        summary = tmp_path / "summary.md"
        summary.touch()
        values = {
            "GITHUB_API_URL": api_url,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_RUN_ID": "4242",
            "GITHUB_SERVER_URL": "https://github.com",
        }
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        if token:
            monkeypatch.setenv("GITHUB_TOKEN", token)
        return summary

    return setup


def pull_request_event(number: int, head: str = HEAD, head_repo: str = REPO) -> dict[str, Any]:
    return {
        "pull_request": {
            "number": number,
            "head": {"sha": head, "repo": {"full_name": head_repo}},
            "base": {"repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO},
    }


def workflow_run_event(
    head: str = HEAD,
    head_repo: str = "fork/ml",
    pulls: list[int] | None = None,
    head_branch: str = "feature",
) -> dict[str, Any]:
    return {
        "workflow_run": {
            "id": 777,
            "head_sha": head,
            "head_branch": head_branch,
            "head_repository": {
                "full_name": head_repo,
                "owner": {"login": head_repo.split("/")[0]},
            },
            "pull_requests": [{"number": n} for n in pulls or []],
        },
        "repository": {"full_name": REPO},
    }
