"""A review is of one commit's inputs, judged against one deployed model: where the merge
moved the one or a deploy since moved the other, the reviewed model would ship unreviewed.

GitHub does not run a pull request's checks again when its base branch moves, so a review
may be of other inputs than those merged (:func:`merged_inputs`). Deploy judges the
reviewed model against what the branch before its merge deployed
(:mod:`mlgitops.gitops.before_merge`); merges outrun deploys, and another merge's deploy, a
promote or a rollback may land in between (:func:`unless_judged_against_another`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlgitops import console
from mlgitops.errors import CheckFailed
from mlgitops.gitops.publish import Change, Edit, Snapshot, Unchanged
from mlgitops.results import ProvenanceRecord
from mlgitops.spec import Repo
from mlgitops.spec.model import Pipeline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mlgitops.gitops.anchor import Anchor
    from mlgitops.training.run import Inputs


@dataclass(frozen=True)
class Judged:
    """The model the reviewed model was judged against, and where it was read: the record
    at ``path`` (from the root) that ``before``, the branch before the merge, holds."""

    record: ProvenanceRecord | None
    path: str | None
    before: str
    #: the pipeline and environment whose record ``path`` is (None with no ``path``)
    place: tuple[str, str] | None = None


def judged_against(root: Path, before: str, pipeline: Pipeline) -> Judged:
    """The record of the model ``before`` (the branch before the merge) says is deployed:
    the one the reviewed model is judged against (None where it says none is), and the
    record file it was read from, or would be."""
    from mlgitops.evaluation.baseline import find_baseline

    found, record = find_baseline(root, before, pipeline)
    if not found.source or found.environment is None:
        return Judged(record, None, before)
    path = found.source.split(":", 1)[1]
    name = record.pipeline if record is not None else pipeline.name  # checked at its place
    return Judged(record, path, before, (name, found.environment))


def unless_judged_against_another(
    edit: Edit, pipeline: Pipeline, judged: Judged, new: ProvenanceRecord
) -> Edit:
    """``edit``, unless the record the reviewed model (``new``) was judged against holds
    another model at the tip, neither the judged one nor ``new`` itself (deployed to an
    environment before this one): a deploy, promote or rollback landed after the merge.
    CheckFailed, naming it. Read at the same place, whatever the merged spec says of the
    pipeline's name and environments. Runs after the edits that find a newer merge deploys
    itself."""
    from mlgitops import proc
    from mlgitops.results import load_provenance

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        outcome = edit(snapshot)
        if isinstance(outcome, Unchanged) or judged.path is None:
            return outcome
        text = proc.git_text(snapshot.root, snapshot.commit, judged.path)
        shown = f"{snapshot.commit[:12]}:{judged.path}"
        now = None if text is None else load_provenance(text, shown, overlay=judged.place)
        if _model(now) in (_model(judged.record), _model(new)):
            return outcome
        raise CheckFailed(_moved(now, judged, pipeline, new))

    return apply


def _moved(
    now: ProvenanceRecord | None, judged: Judged, pipeline: Pipeline, new: ProvenanceRecord
) -> str:
    was = f"v{judged.record.version}" if judged.record else "no model"
    if now is None:
        moved, since = "no model is deployed now, though this model was judged", "it"
    else:
        by = f" of {now.commit[:12]}" if now.commit else ""
        moved = f"model v{now.version}{by} was deployed to {now.environment} after this "
        moved, since = moved + "model was judged", f"v{now.version}"
    return (
        f"{moved} against {was} (what {judged.before[:12]}, the branch before this merge, "
        f"deployed): it was never compared with {since}; a pull request that touches "
        f"{pipeline.source} is judged against what is deployed now (version {new.version} "
        "stays registered, deployed nowhere); nothing deployed"
    )


def _model(record: ProvenanceRecord | None) -> tuple[str, str, str] | None:
    return (record.version, record.model_uri, record.run_id) if record else None


def merged_inputs(loaded: Repo, pipeline: Pipeline, anchor: Anchor) -> Inputs:
    """The merged commit's training inputs, hashed as ``train`` hashes them: the data hash
    and content key ``model.json`` records (``train.json``'s are the pull request job's to
    write). CheckFailed where the reviewed run was trained on another schema, spec or code
    than the merged commit's: the base branch brought them in after the review ran (GitHub
    does not run a pull request's checks again when its base moves), so the reviewed model
    is not the merged commit's. The data is the training rows' check's to hold (deploy
    computes them from the merged data; a holdout behind a URL may be refreshed), and
    another mlgitops (a tag that moves, a runner's own install) makes the same model: both
    are said, not refused."""
    from mlgitops.training.content import REVIEWED_PARTS, differences
    from mlgitops.training.run import inputs_of

    inputs = inputs_of(loaded, pipeline)
    reviewed = anchor.train
    if inputs.content_key == reviewed.content_key:
        return inputs
    keys = f"content key {reviewed.content_key[:12]}, the merged commit's {inputs.content_key[:12]}"
    changed = differences(inputs.hashes, reviewed.hashes, REVIEWED_PARTS)
    if not changed:
        others = " and ".join(differences(inputs.hashes, reviewed.hashes)) or "its inputs"
        console.line(
            f"  run {reviewed.run_id} was reviewed under another content key ({keys}: "
            f"{others}): model.json records the merged commit's"
        )
        return inputs
    raise CheckFailed(
        f"the reviewed run {reviewed.run_id} was trained on other inputs than the merged "
        f"commit's ({keys}): {' and '.join(changed)} changed between its review and the "
        f"merge; this model is not the merged commit's, and a pull request that touches "
        f"{pipeline.source} trains on what is merged (requiring branches to be up to date "
        "before merging keeps each review on what it merges with); nothing deployed"
    )
