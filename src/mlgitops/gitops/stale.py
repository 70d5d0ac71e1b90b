"""A review is of one commit's inputs, judged against one deployed model: where the merge
moved the one or a deploy since moved the other, the reviewed model would ship unreviewed.

GitHub does not run a pull request's checks again when its base branch moves, so a review
may be of other inputs than those merged (:func:`merged_inputs`). Deploy judges the
reviewed model against what the branch before its merge deployed
(:mod:`mlgitops.gitops.before_merge`); merges outrun deploys, and another merge's deploy, a
promote or a rollback may land in between (:func:`unless_judged_against_another`).
"""

from __future__ import annotations

from pathlib import Path

from mlgitops.errors import CheckFailed
from mlgitops.gitops.publish import Change, Edit, Snapshot, Unchanged
from mlgitops.results import ProvenanceRecord
from mlgitops.spec import Repo
from mlgitops.spec.model import Pipeline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mlgitops.gitops.anchor import Anchor
    from mlgitops.training.run import Inputs


def judged_against(root: Path, before: str, pipeline: Pipeline) -> ProvenanceRecord | None:
    """The record of the model ``before`` (the branch before the merge) says is deployed:
    the one the reviewed model is judged against; None where it says none is."""
    from mlgitops.evaluation.baseline import find_baseline

    return find_baseline(root, before, pipeline)[1]


def unless_judged_against_another(
    edit: Edit,
    pipeline: Pipeline,
    judged: ProvenanceRecord | None,
    before: str,
    new: ProvenanceRecord,
) -> Edit:
    """``edit``, unless the model a review would be judged against at the tip is neither
    ``judged`` (what the reviewed model, ``new``, was judged against) nor the reviewed
    model itself (deployed to an environment before this one):
    CheckFailed, naming it. Runs after the edits that find a newer merge deploys itself."""

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        from mlgitops.evaluation.baseline import find_baseline

        outcome = edit(snapshot)
        if isinstance(outcome, Unchanged):
            return outcome
        now = find_baseline(snapshot.root, snapshot.commit, pipeline)[1]
        if _model(now) in (_model(judged), _model(new)):
            return outcome
        was = f"v{judged.version}" if judged else "no model"
        if now is None:
            moved, since = "no model is deployed now, though this model was judged", "it"
        else:
            by = f" of {now.commit[:12]}" if now.commit else ""
            moved = f"model v{now.version}{by} was deployed to {now.environment} after this "
            moved, since = moved + "model was judged", f"v{now.version}"
        raise CheckFailed(
            f"{moved} against {was} (what {before[:12]}, the branch before this merge, "
            f"deployed): it was never compared with {since}; a pull request that touches "
            f"{pipeline.source} is judged against what is deployed now (version {new.version} stays "
            "registered, deployed nowhere); nothing deployed"
        )

    return apply


def _model(record: ProvenanceRecord | None) -> tuple[str, str, str] | None:
    return (record.version, record.model_uri, record.run_id) if record else None


def merged_inputs(loaded: Repo, pipeline: Pipeline, anchor: Anchor) -> Inputs:
    """The merged commit's training inputs, hashed as ``train`` hashes them: the data hash
    and content key ``model.json`` records (``train.json``'s are the pull request job's to
    write). CheckFailed where the reviewed run was trained on other inputs: the base branch
    brought in other code, settings or data after the review ran (GitHub does not run a pull
    request's checks again when its base moves), so the reviewed model is not the merged
    commit's."""
    from mlgitops.training.content import differences
    from mlgitops.training.run import inputs_of

    inputs = inputs_of(loaded, pipeline)
    reviewed = anchor.train
    if inputs.content_key == reviewed.content_key:
        return inputs
    parts = differences(inputs.hashes, reviewed.hashes)
    what = " and ".join(parts) if parts else "its training inputs"
    raise CheckFailed(
        f"the reviewed run {reviewed.run_id} was trained on other inputs than the merged "
        f"commit's (content key {reviewed.content_key[:12]}, the merged commit's "
        f"{inputs.content_key[:12]}): {what} changed since its review, on the base branch; "
        f"this model is not the merged commit's, and a pull request that touches "
        f"{pipeline.source} trains on what is merged (requiring branches to be up to date "
        "before merging keeps each review on what it merges with); nothing deployed"
    )
