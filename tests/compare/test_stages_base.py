"""The model a pull request is judged against is the one the default branch records as
deployed, whatever branch the pull request is into; played through the real stages as in
:mod:`tests.compare.test_stages` (its deployed ``main``, one server for this module)."""

from __future__ import annotations

import pytest

from tests.compare.test_stages import NAME, PullRequest, deployed, git, pr

pytestmark = pytest.mark.slow
__all__ = ["deployed", "pr"]  # the fixtures this module's tests use


def test_a_pull_request_into_another_branch_is_judged_against_the_default_branch_s_model(
    pr: PullRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A branch ``old`` records no deployed model (or an older one). A pull request into it
    was judged against that: "first deployment", absolute gates only, and the status it
    earned is its commit's, which a pull request into main shares. It is judged against
    the model main deployed."""
    record = f"manifests/{NAME}/overlays/staging/model.json"
    git(pr.root, "checkout", "-q", "-b", "old")
    git(pr.root, "rm", "-q", record)
    git(pr.root, "commit", "-qm", "A branch from before the deploy")
    git(pr.root, "push", "-q", "origin", "old")
    git(pr.root, "checkout", "-q", "pr")
    (pr.root / "NOTES.md").write_text("notes\n")
    monkeypatch.setenv("GITHUB_BASE_REF", "old")
    code, out = pr.run()
    assert code == 0, out
    baseline = pr.verdict()["baseline"]
    assert baseline["source"] == f"origin/main:{record}", baseline
    assert baseline["version"] == "1", baseline
    assert "first deployment" not in out, out
