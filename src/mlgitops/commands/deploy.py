"""``mlgitops deploy NAME --env E``: ship the reviewed model as a commit that Argo CD syncs.

Runs on the default branch after a merge. It anchors on what was reviewed
(:mod:`mlgitops.gitops.anchor`: the merged pull request's workflow run and its
uploaded results, or locally the hand-off folder), refuses unless that review
passed, checks the model's digest and re-scores it on the merged holdout
(:mod:`mlgitops.gitops.verify`), optionally requires an artifact attestation,
then registers that very model, rewrites the overlay's ``MODEL_URI`` and
``model.json``, commits and pushes (race-safe), and points the registry alias
``E`` at the version. Deploying what is already deployed commits nothing.

No model is loaded where credentials are: the reviewed model and the one
deployed before the merge run in a process of their own
(:mod:`mlgitops.evaluation.apart`), and the deploy workflow runs them in jobs of
their own, which hold no write permission and no deploy secret:
``--predict candidate|deployed --predictions DIR`` writes one model's outputs
on the merged holdout to ``DIR`` and nothing else; the deploy job then runs
``--predictions DIR``, which reads both, holds them to the model, record and
holdout it finds itself (:mod:`mlgitops.gitops.predicted`), and scores them.
Without ``--predictions``, one process does both stages.

With ``deploy.server.build``, ``--image REPOSITORY@sha256:…`` (what the deploy
workflow's image job pushed) is pinned in the overlay's ``images`` entry and
recorded in ``model.json``; without it the environment keeps the image it runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mlgitops import console, proc
from mlgitops.commands import seconds
from mlgitops.errors import EXIT_OK, BadInput
from mlgitops.gitops import anchor as anchors
from mlgitops.gitops import attestation, delivery
from mlgitops.gitops.anchor import Anchor
from mlgitops.gitops.anchor_github import from_github
from mlgitops.gitops.before_merge import before_merge
from mlgitops.gitops.edits import (
    deploy_edit,
    unless_a_later_commit_is_deployed,
    unless_replaced_since,
    usable_overlay,
)
from mlgitops.gitops.overlay import overlay_of
from mlgitops.gitops.provenance import deployed
from mlgitops.gitops.publish import Published, Snapshot, publish
from mlgitops.gitops.records import Writing, check_records
from mlgitops.gitops.registry import (
    MODEL_DIGEST_TAG,
    REFERENCE_TAG,
    TRAINING_ROWS_TAG,
    ensure_version,
    open_registry,
)
from mlgitops.gitops.stale import judged_against, merged_inputs, unless_judged_against_another
from mlgitops.gitops.verify import (
    Verified,
    merged_holdout,
    predict_candidate,
    predict_deployed,
    verify,
)
from mlgitops.outputs import Outputs
from mlgitops.spec import Repo, load_repo
from mlgitops.spec.deploy import MODEL_TIMEOUT_MOST_S, MODEL_TIMEOUT_S
from mlgitops.spec.model import Pipeline


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline to deploy")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="local anchor only (no GitHub): the hand-off folder holding train.json and "
        "verdict.json (default: .mlgitops/NAME/)",
    )
    parser.add_argument(
        "--image",
        metavar="REPOSITORY@DIGEST",
        help="with deploy.server.build: the serving image to pin, by digest "
        "(REPOSITORY@sha256:<hex>, as the deploy workflow's image job pushes it); "
        "default: the image the environment runs",
    )
    parser.add_argument(
        "--predict",
        choices=["candidate", "deployed"],
        help="only run this model (the reviewed one, or the one deployed before the merge) "
        "on the merged holdout, in a process without credentials, and write its outputs to "
        "--predictions DIR/<model>/; registers, commits and pushes nothing (the deploy "
        "workflow's model jobs)",
    )
    parser.add_argument(
        "--predictions",
        type=Path,
        metavar="DIR",
        help="with --predict: where to write; without it: score the outputs two --predict "
        "runs wrote (DIR/candidate/, DIR/deployed/) and load no model (the deploy job)",
    )
    parser.add_argument(
        "--model-timeout",
        type=seconds(MODEL_TIMEOUT_MOST_S),
        metavar="SECONDS",
        help="the longest each model may take to load, or to give its outputs on the merged "
        "holdout, before its process is ended; the reviewed model then deploys nothing "
        f"(default: the spec's deploy.model_timeout, else {MODEL_TIMEOUT_S:g})",
    )
    delivery.add_git_options(parser)


def run(
    *,
    repo: Path,
    name: str,
    env: str,
    output: Path | None,
    image: str | None,
    predict: str | None,
    predictions: Path | None,
    remote: str,
    no_push: bool,
    attempts: int,
    tracking_uri: str | None,
    model_timeout: float | None = None,
) -> int:
    """Deploy the reviewed model of ``name`` to ``env``."""
    from mlgitops.training.tracking import resolve_tracking_uri

    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    environment = delivery.environment_of(pipeline, env)
    pinned = delivery.pinned_image(pipeline, image)
    where = delivery.target(loaded, remote, no_push, attempts)
    uri = resolve_tracking_uri(root, tracking_uri, loaded.config)
    head = proc.head_commit(root)
    if predict is not None and predictions is None:
        raise BadInput("--predict writes the model's outputs to --predictions DIR: name it")
    if model_timeout is None:  # the reviewed spec's, where the command line names none
        model_timeout = pipeline.deploy.model_timeout if pipeline.deploy else MODEL_TIMEOUT_S
    anchor = _anchor(root, loaded, pipeline, head, output, os.environ)
    anchors.check(anchor, name)
    console.line(f"deploy {name}: reviewed in {anchor.source}")
    before = head if anchor.local else before_merge(root, pipeline, head, anchor, os.environ)
    if predict is not None and predictions is not None:
        return _predict(root, pipeline, anchor, predict, before, uri, predictions, model_timeout)
    snapshot = Snapshot(root, head)
    overlay = overlay_of(pipeline, env)
    usable_overlay(snapshot, overlay, pinned)  # before anything is registered
    writing = Writing(env, anchor.train.run_id)  # its alias may lag behind this run
    try:
        check_records(root, uri, pipeline, head, where, writing=writing)
    except BadInput as exc:
        raise BadInput(f"{exc}; nothing deployed") from exc
    if attestation.required(loaded.config.attest, pipeline.train.attest):
        workflow = _pr_workflow(pipeline)
        console.line(f"  {attestation.require(anchor, os.environ, workflow)}")
    verified = _verified(root, pipeline, anchor, before, uri, predictions, model_timeout)
    console.line(
        f"  model {verified.model_id}: digest {verified.digest} as reviewed; "
        f"re-scored on the merged holdout: {verified.verdict.summary}"
    )
    inputs = merged_inputs(loaded, pipeline, anchor)
    judged = judged_against(root, before, pipeline)
    registry = open_registry(uri, root)
    checked = {
        MODEL_DIGEST_TAG: verified.digest,
        TRAINING_ROWS_TAG: verified.training_rows_digest,
        REFERENCE_TAG: verified.reference_digest,
    }
    version = ensure_version(
        registry, name, anchor.train.run_id, verified.model_id, digests=checked
    )
    record = deployed(
        pipeline, env, anchor, verified, inputs, version.version, version.uri, head, delivery.now()
    )
    if not record.metrics:
        listed = ", ".join(pipeline.metrics)
        console.line(
            f"  no metric could be re-scored on the merged holdout ({listed}): "
            "model.json records none"
        )
    blobs = {rel: snapshot.blob_id(rel) for rel in pipeline.inputs()}
    summary = verified.verdict.summary
    edit = unless_replaced_since(
        deploy_edit(overlay, replace(record, image=pinned), environment, summary, blobs),
        overlay,
        head,
        record,
    )
    edit = unless_a_later_commit_is_deployed(edit, overlay, head)
    edit = unless_judged_against_another(edit, pipeline, judged, record)
    outcome = publish(root, edit, where)
    values = delivery.report("deploy", name, outcome, where)
    if isinstance(outcome, Published) or outcome.settled:
        at = outcome.sha if isinstance(outcome, Published) else outcome.at
        delivery.serving_image(root, overlay, at)
        if delivery.moves_alias(where, uri, name, env):
            record_at = (overlay.model_json, at)
            delivery.point_alias(root, uri, name, env, version.version, True, record_at)
            console.line(f"  MLflow alias {name}@{env} -> version {version.version}")
    delivery.github_outputs({**values, "model-version": version.version, "model-uri": version.uri})
    return EXIT_OK


def _predict(
    root: Path,
    pipeline: Pipeline,
    anchor: Anchor,
    which: str,
    before: str,
    uri: str,
    into: Path,
    limit: float,
) -> int:
    """Write one model's outputs on the merged holdout to ``into``; nothing else. ``limit``:
    the seconds the model has to load, and to give them."""
    from mlgitops.evaluation.apart import Apart

    with Apart(limit) as apart:  # started first: its imports overlap the reading and download
        merged = merged_holdout(root, pipeline, anchor)
        if which == "candidate":
            written = predict_candidate(pipeline, anchor, merged, uri, into, apart)
        else:
            written = predict_deployed(root, pipeline, merged, before, uri, into, apart)
    console.line(f"  the {which} model's outputs on the merged holdout: {written}")
    return EXIT_OK


def _verified(
    root: Path,
    pipeline: Pipeline,
    anchor: Anchor,
    before: str,
    uri: str,
    outputs: Path | None,
    limit: float,
) -> Verified:
    """The anchored model checked and judged on ``outputs`` (None: both models run here,
    each in the process of its own and with ``limit`` seconds to load and answer, first)."""
    from mlgitops.evaluation.apart import Apart

    if outputs is not None:
        return verify(
            pipeline, anchor, merged_holdout(root, pipeline, anchor), uri, before, outputs
        )
    with tempfile.TemporaryDirectory(prefix="mlgitops-outputs-") as tmp, Apart(limit) as apart:
        merged = merged_holdout(root, pipeline, anchor)
        predict_candidate(pipeline, anchor, merged, uri, Path(tmp), apart)
        predict_deployed(root, pipeline, merged, before, uri, Path(tmp), apart)
        return verify(pipeline, anchor, merged, uri, before, Path(tmp), digested=True)


def _anchor(
    root: Path,
    loaded: Repo,
    pipeline: Pipeline,
    head: str,
    output: Path | None,
    environ: Mapping[str, str],
) -> Anchor:
    """GitHub's record of the merged pull request's review; the hand-off folder locally."""
    from mlgitops.github import client_from_env, token_from_env

    token, slug = token_from_env(environ), environ.get("GITHUB_REPOSITORY", "")
    if token and slug.count("/") == 1:
        if output is not None:
            raise BadInput("--output names a local anchor; with GitHub the anchor is the PR's run")
        client = client_from_env(token, environ)
        return from_github(client, slug, head, pipeline.name, _pr_workflow(pipeline))
    if environ.get("GITHUB_ACTIONS") == "true":
        raise BadInput(
            "deploy in GitHub Actions needs GITHUB_TOKEN and GITHUB_REPOSITORY to find the "
            "reviewed pull request; a local anchor is refused there"
        )
    outputs = Outputs.for_pipeline(root, pipeline.name, output)
    return anchors.from_handoff(root, outputs, pipeline.name)


def _pr_workflow(pipeline: Pipeline) -> str:
    from mlgitops.render.workflows import pr_path

    return pr_path(pipeline)
