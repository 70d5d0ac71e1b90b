"""``mlgitops deploy NAME --env E``: ship the reviewed model as a commit that Argo CD syncs.

Runs on the default branch after a merge: finds the MLflow run the pull
request reviewed (by content key), refuses unless its verdict passed,
registers the model version, rewrites the overlay's ``MODEL_URI`` and
``model.json``, commits and pushes (race-safe), then points the registry
alias ``E`` at the version. Deploying what is already deployed commits nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgitops import console, proc
from mlgitops.errors import EXIT_OK, CheckFailed
from mlgitops.gitops import delivery
from mlgitops.gitops.edits import deploy_edit, usable_overlay
from mlgitops.gitops.overlay import Overlay
from mlgitops.gitops.publish import Snapshot, Unchanged, publish
from mlgitops.gitops.registry import ensure_version, open_registry
from mlgitops.gitops.reviewed import Review, find_review
from mlgitops.outputs import Outputs
from mlgitops.results import ProvenanceRecord
from mlgitops.spec import load_repo
from mlgitops.spec.model import Pipeline

PR_TAG = "mlgitops.git.pr"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline to deploy")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="hand-off folder holding compare's verdict.json (default: .mlgitops/NAME/)",
    )
    delivery.add_git_options(parser)


def run(
    *,
    repo: Path,
    name: str,
    env: str,
    output: Path | None,
    remote: str,
    no_push: bool,
    attempts: int,
    tracking_uri: str | None,
) -> int:
    """Deploy the reviewed run of ``name`` to ``env``."""
    from mlgitops.training.run import inputs_of
    from mlgitops.training.tracking import open_tracking, resolve_tracking_uri

    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    environment = delivery.environment_of(pipeline, env)
    where = delivery.target(loaded, remote, no_push, attempts)
    inputs = inputs_of(loaded, pipeline)
    uri = resolve_tracking_uri(root, tracking_uri, loaded.config)
    verdict = Outputs.for_pipeline(root, name, output).verdict_json
    registry = open_registry(uri, root)
    tracking = open_tracking(uri, root)
    review = find_review(tracking, registry, name, inputs.content_key, inputs.hashes, verdict)
    if not review.passed:
        raise CheckFailed(
            f"run {review.run.run_id} did not pass its review"
            f"{': ' + review.summary if review.summary else ''}; nothing deployed"
        )
    head = proc.git("rev-parse", "HEAD", cwd=root)
    snapshot = Snapshot(root, head)
    overlay = Overlay(name, env)
    usable_overlay(snapshot, overlay)  # before anything is registered
    version = ensure_version(registry, name, review.run.run_id, review.run.tags)
    record = _record(pipeline, env, review, version.version, version.uri, head)
    blobs = {rel: snapshot.blob_id(rel) for rel in pipeline.inputs()}
    edit = deploy_edit(overlay, record, environment, review.summary, blobs)
    outcome = publish(root, edit, where)
    values = delivery.report("deploy", name, outcome, where)
    if not isinstance(outcome, Unchanged) or outcome.settled:
        delivery.point_alias(root, uri, name, env, version.version, committed=True)
        console.line(f"  MLflow alias {name}@{env} -> version {version.version}")
    delivery.github_outputs({**values, "model-version": version.version, "model-uri": version.uri})
    return EXIT_OK


def _record(
    pipeline: Pipeline, env: str, review: Review, version: str, uri: str, head: str
) -> ProvenanceRecord:
    run = review.run
    wanted = set(pipeline.metrics)
    metrics = {k: v for k, v in run.metrics.items() if k in wanted} or dict(run.metrics)
    pr = run.tags.get(PR_TAG, "")
    return ProvenanceRecord(
        pipeline=pipeline.name,
        environment=env,
        model_name=pipeline.name,
        version=version,
        model_uri=uri,
        run_id=run.run_id,
        content_key=review.content_key,
        metrics=metrics,
        data_hash=review.hashes.data,
        spec_hash=pipeline.spec_hash,
        commit=head,
        pr=int(pr) if pr.isdigit() else None,
        deployed_at=delivery.now(),
    )
