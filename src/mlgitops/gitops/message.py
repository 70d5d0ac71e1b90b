"""Commit messages of deploy, promote and rollback: a conventional subject and trailers.

Subjects (``type(pipeline): what``)::

    deploy(tumors): model v7 to staging (canary 50%→100%)
    promote(tumors): model v7 from staging to production (canary 10%→50%→100%)
    promote(tumors): model v7 takes 50% of production's traffic (canary 10%→50%→100%)
    rollback(tumors): production back to model v6 (from v7)

Trailers, machine-readable with ``git interpret-trailers --parse``::

    Mlgitops-Pipeline: tumors
    Mlgitops-Environment: staging
    Mlgitops-Model-Version: 7
    Mlgitops-Run-Id: 0f1e…
    Mlgitops-Content-Key: 9a8b…
    Mlgitops-Image: ghcr.io/…@sha256:…     (a built serving image)
    Mlgitops-Promoted-From: staging        (promote)
    Mlgitops-Rolled-Back-From: 7           (rollback)
    Mlgitops-Traffic-Percent: 50           (a KServe canary's next share)
"""

from __future__ import annotations

from mlgitops.results import ProvenanceRecord
from mlgitops.spec.deploy import Environment

TRAILER_PREFIX = "Mlgitops-"


def rollout_text(environment: Environment) -> str:
    """`` (canary 10%→50%→100%)`` for a canary environment, else nothing."""
    if environment.canary is None:
        return ""
    return " (canary " + "→".join(f"{step}%" for step in environment.canary.steps) + ")"


def trailers(record: ProvenanceRecord, **extra: str) -> list[str]:
    """The ``Mlgitops-*`` trailer lines of a commit that deploys ``record``."""
    fields = {
        "Pipeline": record.pipeline,
        "Environment": record.environment,
        "Model-Version": record.version,
        "Run-Id": record.run_id,
        "Content-Key": record.content_key,
        "Image": record.image,
        **{key.replace("_", "-").title(): value for key, value in extra.items()},
    }
    return [f"{TRAILER_PREFIX}{key}: {value}" for key, value in fields.items() if value]


def _compose(subject: str, body: list[str], trailer_lines: list[str]) -> str:
    return "\n\n".join([subject, "\n".join(body), "\n".join(trailer_lines)]) + "\n"


def _lineage(record: ProvenanceRecord) -> list[str]:
    lines = [f"Model {record.model_uri} from MLflow run {record.run_id}"]
    if record.content_key:
        lines.append(f"(content key {record.content_key[:12]}).")
    else:
        lines[-1] += "."
    if record.pr is not None:
        lines.append(f"Reviewed in pull request #{record.pr}.")
    if record.image:
        lines.append(f"Image {record.image}.")
    return lines


def deploy_message(record: ProvenanceRecord, environment: Environment, verdict: str) -> str:
    subject = (
        f"deploy({record.pipeline}): model v{record.version} to {record.environment}"
        f"{rollout_text(environment)}"
    )
    body = [*_lineage(record)]
    if verdict:
        body.append(f"Verdict: {verdict}")
    return _compose(subject, body, trailers(record))


def promote_message(record: ProvenanceRecord, environment: Environment) -> str:
    source = record.promoted_from or ""
    subject = (
        f"promote({record.pipeline}): model v{record.version} from {source} to "
        f"{record.environment}{rollout_text(environment)}"
    )
    return _compose(subject, _lineage(record), trailers(record, promoted_from=source))


def traffic_message(record: ProvenanceRecord, before: int, steps: tuple[int, ...]) -> str:
    """A KServe canary's next share: ``record`` holds it, ``before`` was the last."""
    share = record.traffic_percent
    subject = (
        f"promote({record.pipeline}): model v{record.version} takes {share}% of "
        f"{record.environment}'s traffic (canary " + "→".join(f"{s}%" for s in steps) + ")"
    )
    body = [
        f"KServe's canary of model v{record.version}: from {before}% to {share}%.",
        *_lineage(record),
    ]
    return _compose(subject, body, trailers(record, traffic_percent=str(share)))


def rollback_message(record: ProvenanceRecord) -> str:
    gone = record.rolled_back_from
    old = gone.version if gone else "?"
    subject = (
        f"rollback({record.pipeline}): {record.environment} back to model v{record.version} "
        f"(from v{old})"
    )
    body = [f"Model v{old} ({gone.model_uri if gone else '?'}) is rolled back.", *_lineage(record)]
    return _compose(subject, body, trailers(record, rolled_back_from=old))


def parse_trailers(message: str) -> dict[str, str]:
    """The ``Mlgitops-*`` trailers of a commit message, without the prefix."""
    found = {}
    last_paragraph = message.strip().split("\n\n")[-1]
    for line in last_paragraph.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.startswith(TRAILER_PREFIX):
            found[key.removeprefix(TRAILER_PREFIX)] = value.strip()
    return found
