"""How an environment's ``model.json`` changes: deploy, promote, rollback (pure).

``history`` lists the models deployed there before the current one, newest
first, at most :data:`HISTORY_LIMIT` long; ``previous`` is its first entry.
A deploy or promote pushes the current model onto the history; a rollback
pops it back off, so rolling back twice goes two models back, never forth.
"""

from __future__ import annotations

from dataclasses import replace

from mlgitops.errors import BadInput
from mlgitops.results import DeployedModel, ProvenanceRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mlgitops.gitops.anchor import Anchor
    from mlgitops.gitops.verify import Verified
    from mlgitops.spec.model import Pipeline
    from mlgitops.training.run import Inputs

HISTORY_LIMIT = 10


def short(record: ProvenanceRecord) -> DeployedModel:
    """The record as a history entry (enough to restore it)."""
    return DeployedModel(
        version=record.version,
        model_uri=record.model_uri,
        run_id=record.run_id,
        content_key=record.content_key,
        metrics=dict(record.metrics),
        data_hash=record.data_hash,
        spec_hash=record.spec_hash,
        commit=record.commit,
        pr=record.pr,
        deployed_at=record.deployed_at,
        image=record.image,
        model_digest=record.model_digest,
        training_rows_digest=record.training_rows_digest,
        reference_digest=record.reference_digest,
        task=record.task,
    )


def same_model(a: ProvenanceRecord | DeployedModel | None, b: ProvenanceRecord) -> bool:
    """Whether ``a`` is the deployment of ``b``: the same version, URI and run, on the
    same serving image (a new image under the same model is a deployment of its own)."""
    return a is not None and (a.version, a.model_uri, a.run_id, a.image) == (
        b.version,
        b.model_uri,
        b.run_id,
        b.image,
    )


def succeed(current: ProvenanceRecord | None, new: ProvenanceRecord) -> ProvenanceRecord:
    """``new`` as the environment's record, with ``current`` pushed onto the history."""
    history = [] if current is None else [short(current), *current.history]
    history = history[:HISTORY_LIMIT]
    return replace(
        new,
        previous=history[0] if history else None,
        history=history,
        rolled_back_from=None,
    )


def deployed(
    pipeline: Pipeline,
    env: str,
    anchor: Anchor,
    verified: Verified,
    inputs: Inputs,
    version: str,
    uri: str,
    head: str,
    now: str,
) -> ProvenanceRecord:
    """What ``model.json`` records for a deploy at ``now``: the metrics deploy re-scored (none where it scored
    none: never the ones ``train.json`` states) and the merged commit's data hash and
    content key (``inputs``)."""
    wanted = set(pipeline.metrics)
    scored = {m.name: m.candidate for m in verified.verdict.metrics if m.candidate is not None}
    return ProvenanceRecord(
        pipeline=pipeline.name,
        environment=env,
        model_name=pipeline.name,
        version=version,
        model_uri=uri,
        run_id=anchor.train.run_id,
        content_key=inputs.content_key,
        metrics={k: v for k, v in scored.items() if k in wanted},
        data_hash=inputs.hashes.data,
        spec_hash=pipeline.spec_hash,
        commit=head,
        pr=anchor.pr,
        deployed_at=now,
        model_digest=verified.digest,
        training_rows_digest=verified.training_rows_digest,
        reference_digest=verified.reference_digest,
        task=pipeline.task,
    )


def promoted(source: ProvenanceRecord, environment: str, now: str) -> ProvenanceRecord:
    """The source environment's model as a record of ``environment`` (no history yet)."""
    return replace(
        source,
        environment=environment,
        deployed_at=now,
        promoted_from=source.environment,
        previous=None,
        history=[],
        rolled_back_from=None,
    )


def rollback_target(current: ProvenanceRecord, to_version: str | None) -> int:
    """The index in ``current.history`` of the model to restore."""
    if to_version is None:
        if not current.history:
            raise BadInput(
                f"nothing to roll back to: model v{current.version} is the only model "
                f"recorded for {current.environment}"
            )
        return 0
    for index, entry in enumerate(current.history):
        if entry.version == to_version:
            return index
    known = ", ".join(f"v{h.version}" for h in current.history)
    if not known:
        known = f"none; v{current.version}, deployed now, is the only model recorded there"
    raise BadInput(
        f"model v{to_version} is not in the history of {current.environment} (known: {known})"
    )


def rolled_back(current: ProvenanceRecord, index: int, now: str) -> ProvenanceRecord:
    """``current.history[index]`` restored as the record; newer entries leave the history."""
    entry = current.history[index]
    history = list(current.history[index + 1 :])
    return ProvenanceRecord(
        pipeline=current.pipeline,
        environment=current.environment,
        model_name=current.model_name,
        version=entry.version,
        model_uri=entry.model_uri,
        run_id=entry.run_id,
        content_key=entry.content_key,
        metrics=dict(entry.metrics),
        data_hash=entry.data_hash,
        spec_hash=entry.spec_hash,
        commit=entry.commit,
        pr=entry.pr,
        deployed_at=now,
        previous=history[0] if history else None,
        history=history,
        rolled_back_from=short(current),
        image=entry.image,
        model_digest=entry.model_digest,
        training_rows_digest=entry.training_rows_digest,
        reference_digest=entry.reference_digest,
        task=entry.task,
    )
