"""Artifact attestations: deploy can require that GitHub attested the reviewed model digest.

With ``attest: true`` (``mlgitops.yaml``, or a pipeline's ``train.attest``)
the PR workflow's train job runs ``actions/attest-build-provenance`` on the
model digest. Deploy then asks GitHub's REST API for the attestations of that
digest and requires one whose SLSA provenance names this repository's PR
workflow, the very workflow run deploy anchored on (the run on the pull
request's last head commit) and that pull request's merge ref.

Limits (docs/security.md): mlgitops reads the statement GitHub returns over
the deploy token's TLS connection; it does not verify the Sigstore signature
itself (``gh attestation verify`` does). Attestations need a public
repository, or GitHub Enterprise Cloud for private ones.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from mlgitops.digest import hex_of
from mlgitops.errors import CheckFailed
from mlgitops.gitops.anchor import Anchor

PROVENANCE = "https://slsa.dev/provenance/v1"


def required(repo_default: bool, pipeline_setting: bool | None) -> bool:
    """A pipeline's ``train.attest`` when set, else ``mlgitops.yaml``'s ``attest``."""
    return repo_default if pipeline_setting is None else pipeline_setting


def require(anchor: Anchor, environ: Mapping[str, str], workflow: str) -> str:
    """A line saying which attestation matched; CheckFailed when none does."""
    from mlgitops.github import client_from_env, token_from_env

    digest = anchor.train.model_digest
    token, repo = token_from_env(environ), environ.get("GITHUB_REPOSITORY", "")
    if anchor.local or not token or anchor.workflow_run is None:
        raise CheckFailed(
            "attest is on, so deploy requires a GitHub artifact attestation of model digest "
            f"{digest}, but the anchor is local ({anchor.source}); nothing deployed"
        )
    client = client_from_env(token, environ)
    found = client.list_attestations(repo, digest)
    for item in found:
        if matches(statement_of(item), digest, repo, workflow, anchor.workflow_run, anchor.pr):
            return (
                f"attestation: {digest} attested by workflow run {anchor.workflow_run} ({workflow})"
            )
    raise CheckFailed(
        f"attest is on, but none of the {len(found)} attestation(s) of model digest {digest} "
        f"comes from {workflow} in workflow run {anchor.workflow_run} ({anchor.source}); "
        "nothing deployed"
    )


def statement_of(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The in-toto statement inside an attestation's Sigstore bundle (DSSE payload)."""
    bundle = item.get("bundle")
    envelope = bundle.get("dsseEnvelope") if isinstance(bundle, Mapping) else None
    payload = envelope.get("payload") if isinstance(envelope, Mapping) else None
    if not isinstance(payload, str):
        return None
    try:
        doc = json.loads(base64.b64decode(payload, validate=True))
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def matches(
    statement: Mapping[str, Any] | None,
    digest: str,
    repo: str,
    workflow: str,
    run_id: int,
    pr: int | None = None,
) -> bool:
    """The statement attests ``digest`` with provenance from ``workflow``'s run ``run_id``,
    run for pull request ``pr`` (on its merge ref) when given."""
    if not statement or statement.get("predicateType") != PROVENANCE:
        return False
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not any(
        isinstance(s, Mapping) and (s.get("digest") or {}).get("sha256") == hex_of(digest)
        for s in subjects
    ):
        return False
    predicate = _mapping(statement.get("predicate"))
    build = _mapping(_mapping(predicate.get("buildDefinition")).get("externalParameters"))
    called = _mapping(build.get("workflow"))
    if called.get("path") != workflow or not str(called.get("repository", "")).endswith(f"/{repo}"):
        return False
    if pr is not None and called.get("ref") != f"refs/pull/{pr}/merge":
        return False
    metadata = _mapping(_mapping(predicate.get("runDetails")).get("metadata"))
    return f"/{repo}/actions/runs/{run_id}/" in str(metadata.get("invocationId", ""))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
