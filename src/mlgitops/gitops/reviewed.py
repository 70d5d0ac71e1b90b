"""The verdict tags ``compare`` sets on the candidate run, for people browsing MLflow.

They are information only: any job holding the pull-request credentials can
write tags, so ``deploy`` never reads them (it anchors on the reviewed pull
request's workflow run: :mod:`mlgitops.gitops.anchor`).
"""

from __future__ import annotations

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
