"""Which MLflow run a merge deploys, and whether its review passed.

The run is found by content key: the default branch after the merge has the
same pipeline inputs (data, schema, spec, code) that the pull request's
``train`` hashed, so the same key finds the same run — the one ``compare``
judged. Its verdict comes from the hand-off folder's ``verdict.json`` when
that file judges this very run, else from the run's tags, which ``compare``
sets: :data:`VERDICT_TAG` (``passed`` / ``failed``) and
:data:`VERDICT_SUMMARY_TAG`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.errors import CheckFailed
from mlgitops.gitops.registry import Registry
from mlgitops.results import VERDICT_SCHEMA_VERSION, Hashes
from mlgitops.training.tracking import CONTENT_KEY_TAG, RunRecord, Tracking

VERDICT_TAG = "mlgitops.verdict"
VERDICT_SUMMARY_TAG = "mlgitops.verdict.summary"
#: MLflow keeps tag values up to 8000 characters; the summary is one line anyway.
_SUMMARY_LIMIT = 5000


def verdict_tags(passed: bool, summary: str) -> dict[str, str]:
    """The run tags that record a verdict on the candidate run (set by ``compare``)."""
    line = " ".join(summary.split())
    if len(line) > _SUMMARY_LIMIT:
        line = line[: _SUMMARY_LIMIT - 1] + "…"
    return {VERDICT_TAG: "passed" if passed else "failed", VERDICT_SUMMARY_TAG: line}


@dataclass(frozen=True)
class Review:
    """The reviewed run and its verdict."""

    run: RunRecord
    content_key: str
    hashes: Hashes
    passed: bool
    summary: str
    #: where the verdict was read: ``verdict.json`` or ``run tag``
    source: str


def find_review(
    tracking: Tracking,
    registry: Registry,
    pipeline: str,
    content_key: str,
    hashes: Hashes,
    verdict_json: Path,
) -> Review:
    """The run with this content key and its verdict; CheckFailed when there is none."""
    experiment = tracking.experiment(pipeline, create=False)
    run = tracking.find_run(experiment, content_key) if experiment else None
    if run is None:
        raise CheckFailed(
            f"no finished MLflow run of {pipeline!r} at {tracking.uri} has content key "
            f"{content_key[:12]} (tag {CONTENT_KEY_TAG}): the pull request's train and compare "
            "checks must run on exactly this content before it deploys; nothing deployed"
        )
    run = registry.get_run(run.run_id)  # the search may return a run without its tags
    passed, summary, source = _verdict(run, content_key, verdict_json)
    return Review(run, content_key, hashes, passed, summary, source)


def _verdict(run: RunRecord, content_key: str, path: Path) -> tuple[bool, str, str]:
    doc = _verdict_file(path) or {}
    candidate = doc.get("candidate")
    if isinstance(candidate, dict) and (
        candidate.get("run_id") == run.run_id or candidate.get("content_key") == content_key
    ):
        return doc.get("passed") is True, str(doc.get("summary") or ""), "verdict.json"
    value = run.tags.get(VERDICT_TAG)
    if value not in ("passed", "failed"):
        raise CheckFailed(
            f"run {run.run_id} has no verdict (tag {VERDICT_TAG} is "
            f"{'missing' if value is None else repr(value)}): `mlgitops compare` must judge it "
            "before it deploys; nothing deployed"
        )
    return value == "passed", run.tags.get(VERDICT_SUMMARY_TAG, ""), "run tag"


def _verdict_file(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("schema_version") != VERDICT_SCHEMA_VERSION:
        return None
    return doc
