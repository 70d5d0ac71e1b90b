"""The three edits of an overlay — deploy, promote, rollback — as pure functions of a snapshot.

Each reads the overlay's ``kustomization.yaml`` and ``model.json`` from the
commit it is applied to (the branch tip, again on every retry), and returns
the new contents with the commit message, or :class:`Unchanged` with the
reason when the environment already is as wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from mlgitops import console, proc, results
from mlgitops.errors import BadInput
from mlgitops.gitops import message, provenance
from mlgitops.gitops.overlay import (
    MODEL_DIGEST_KEY,
    Overlay,
    read_image,
    read_model_digest,
    read_model_uri,
    read_traffic,
    set_image,
    set_model_digest,
    set_model_uri,
    set_traffic,
    share_of,
)
from mlgitops.gitops.publish import Change, Edit, Snapshot, Unchanged
from mlgitops.results import ProvenanceRecord
from mlgitops.spec.deploy import Environment


def read_record(snapshot: Snapshot, overlay: Overlay) -> ProvenanceRecord | None:
    """The overlay's ``model.json`` at the snapshot; ``None`` before the first deploy."""
    text = snapshot.read(overlay.model_json)
    if text is None:
        return None
    place = (overlay.pipeline, overlay.environment)
    return results.load_provenance(text, overlay.model_json, overlay=place)


def _kustomization(snapshot: Snapshot, overlay: Overlay) -> str:
    text = snapshot.read(overlay.kustomization)
    if text is None:
        raise BadInput(
            f"{overlay.kustomization} is not in commit {snapshot.commit[:12]}: "
            "run `mlgitops render` and commit the manifests first"
        )
    return text


def usable_overlay(snapshot: Snapshot, overlay: Overlay, image: str = "") -> None:
    """Raise BadInput unless the overlay exists and holds one ``MODEL_URI=`` literal, and,
    for a built image, an ``images`` entry that ``image`` or an earlier deploy pins."""
    kustomization = _kustomization(snapshot, overlay)
    read_model_uri(kustomization, overlay)
    read_record(snapshot, overlay)
    if overlay.repository is not None and not image and read_image(kustomization, overlay) is None:
        raise BadInput(_no_image(overlay))


def _no_image(overlay: Overlay, source: str | None = None) -> str:
    """Why ``overlay`` cannot get an image; ``source``: the environment a promotion copies."""
    where = f"no serving image is deployed to {overlay.environment} yet ({overlay.kustomization} pins none)"
    if source is not None:
        return (
            f"{where}, and the model of {source} names none: deploy to {source} with --image "
            f"{overlay.repository}@sha256:<digest> first"
        )
    return (
        f"{where}: pass --image {overlay.repository}@sha256:<digest>, the image the deploy "
        "workflow's image job built"
    )


def _with_image(
    record: ProvenanceRecord, kustomization: str, overlay: Overlay, source: str | None = None
) -> ProvenanceRecord:
    """``record`` naming the serving image the overlay will pin: its own, else the one
    deployed there now (a model deployed, promoted or restored without one keeps it)."""
    if overlay.repository is None:
        return record
    if record.image:
        if not record.image.startswith(f"{overlay.repository}@"):
            raise BadInput(
                f"model v{record.version} ran on {record.image}, not an image of "
                f"deploy.server.build.repository ({overlay.repository}): deploy it with --image"
            )
        return record
    current = read_image(kustomization, overlay)
    if current is None:
        raise BadInput(_no_image(overlay, source))
    return replace(record, image=current)


def _files(overlay: Overlay, kustomization: str, record: ProvenanceRecord) -> dict[str, str]:
    text = set_model_uri(kustomization, overlay, record.model_uri)
    if read_model_digest(text, overlay) is None:
        console.error_line(
            f"mlgitops: warning: {overlay.kustomization} has no {MODEL_DIGEST_KEY}= literal, so "
            f"the model server loads {record.model_uri} without checking its files: run "
            "`mlgitops render` and commit the overlay"
        )
    text = set_model_digest(text, overlay, record.model_digest)
    if overlay.repository is not None:
        text = set_image(text, overlay, record.image)
    share = share_of(record, overlay)
    if share is not None:
        text = set_traffic(text, overlay, share)
    return {overlay.kustomization: text, overlay.model_json: results.dumps(record)}


def _in_place(kustomization: str, overlay: Overlay, record: ProvenanceRecord | None) -> bool:
    if record is None or read_model_uri(kustomization, overlay) != record.model_uri:
        return False
    if read_model_digest(kustomization, overlay) not in (None, record.model_digest):
        return False
    if overlay.traffic and read_traffic(kustomization, overlay) != share_of(record, overlay):
        return False
    return overlay.repository is None or read_image(kustomization, overlay) == record.image


def _first_share(record: ProvenanceRecord, overlay: Overlay) -> ProvenanceRecord:
    """``record`` as a model new to the overlay's environment: a KServe canary gives it the
    first share (a model without a canary, all of the traffic)."""
    return replace(record, traffic_percent=overlay.traffic[0] if overlay.traffic else None)


def _place(current: ProvenanceRecord | None, new: ProvenanceRecord) -> ProvenanceRecord:
    """``new`` after ``current``; re-placing the same model keeps its history as it is."""
    if current is not None and provenance.same_model(current, new):
        return replace(new, previous=current.previous, history=list(current.history))
    return provenance.succeed(current, new)


def deploy_edit(
    overlay: Overlay,
    new: ProvenanceRecord,
    environment: Environment,
    verdict: str,
    inputs: Mapping[str, str | None],
) -> Edit:
    """Point the overlay at ``new``. ``inputs``: the pipeline's input files' blob ids at
    the deployed commit; a tip where they differ belongs to a newer merge, which deploys
    itself."""

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        changed = sorted(rel for rel, blob in inputs.items() if snapshot.blob_id(rel) != blob)
        if changed:
            return Unchanged(
                f"superseded: {snapshot.commit[:12]} changed {', '.join(changed)} since; "
                "its own deploy ships that",
                settled=False,
            )
        kustomization = _kustomization(snapshot, overlay)
        current = read_record(snapshot, overlay)
        wanted = _first_share(_with_image(new, kustomization, overlay), overlay)
        if provenance.same_model(current, wanted) and _in_place(kustomization, overlay, current):
            return Unchanged(f"model v{new.version} is already deployed to {new.environment}")
        record = _place(current, wanted)
        text = message.deploy_message(record, environment, " ".join(verdict.split()))
        return Change(_files(overlay, kustomization, record), text)

    return apply


def unless_replaced_since(edit: Edit, overlay: Overlay, since: str, new: ProvenanceRecord) -> Edit:
    """``edit``, unless model ``new`` was deployed to the overlay's environment after commit
    ``since`` (the deployed commit) and replaced there since, by a rollback, a promote or
    another deploy: a re-run of that commit's deploy job must not bring it back. (A model
    never deployed since its commit deploys whatever happened to the environment.)"""

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        outcome = edit(snapshot)
        if isinstance(outcome, Unchanged):
            return outcome
        changes = proc.git(
            "log", "--format=%H", f"{since}..{snapshot.commit}", "--", overlay.model_json,
            cwd=snapshot.root,
        ).split()  # fmt: skip
        for commit in changes:
            earlier = read_record(Snapshot(snapshot.root, commit), overlay)
            if earlier is not None and (earlier.version, earlier.run_id) == (
                new.version,
                new.run_id,
            ):
                current = read_record(snapshot, overlay)
                now = f"model v{current.version}" if current else "no model"
                return Unchanged(
                    f"superseded: model v{new.version} was deployed to {overlay.environment} "
                    f"at {commit[:12]}, after this commit, and replaced since ({now} at "
                    f"{snapshot.commit[:12]}): running this deploy again does not bring it back",
                    settled=False,
                )
        return outcome

    return apply


def unless_a_later_commit_is_deployed(edit: Edit, overlay: Overlay, since: str) -> Edit:
    """``edit``, unless the overlay's environment holds a model deployed from a commit after
    ``since`` (the deployed commit; one that has it as an ancestor): that model was judged
    against the one before it, this commit's never against it, though their input files may
    be the same (data behind a URL whose bytes changed, ``train --force``). (A rollback to a
    model older than ``since`` is :func:`mlgitops.gitops.stale.unless_judged_against_another`'s
    to refuse.)"""

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        outcome = edit(snapshot)
        if isinstance(outcome, Unchanged):
            return outcome
        current = read_record(snapshot, overlay)
        if current is not None and current.commit and current.commit != since:
            later = proc.run(
                ["git", "merge-base", "--is-ancestor", since, current.commit],
                cwd=snapshot.root,
                check=False,
            )
            if later.returncode not in (0, 1):  # not a commit of this clone
                raise BadInput(
                    f"{overlay.model_json} records model v{current.version} of commit "
                    f"{current.commit[:12]}, which this clone does not hold: deploy cannot "
                    "tell whether it is later than this commit (fetch the whole history: "
                    "fetch-depth: 0); nothing deployed"
                )
            if later.returncode == 0:
                return Unchanged(
                    f"superseded: model v{current.version} of {current.commit[:12]}, a later "
                    f"commit, is deployed to {overlay.environment} (at "
                    f"{snapshot.commit[:12]}); this commit's model was not judged against it",
                    settled=False,
                )
        return outcome

    return apply


def promote_edit(
    source: Overlay, target: Overlay, environment: Environment, now: str, read: ProvenanceRecord
) -> Edit:
    """Copy the model of ``source``'s environment to ``target``'s. ``read``: the record of
    ``source`` the command read (and, with ``--when-healthy``, found the cluster running) at
    its checkout; where the tip holds another model of ``source`` by the time the commit is
    pushed (a deploy landed in between), nothing is promoted: no one checked that one."""

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        origin = deployed_record(snapshot, source, "deploy there first")
        if not provenance.same_model(origin, read):
            return Unchanged(
                f"superseded: {source.environment} holds model v{origin.version} at "
                f"{snapshot.commit[:12]}, not the model v{read.version} "
                f"{_ANOTHER_DEPLOYMENT if origin.version == read.version else ''}this checkout "
                "read: run promote again from there",
                settled=False,
            )
        kustomization = _kustomization(snapshot, target)
        current = read_record(snapshot, target)
        wanted = _with_image(origin, kustomization, target, source.environment)
        if provenance.same_model(current, wanted) and _in_place(kustomization, target, current):
            return Unchanged(f"model v{origin.version} is already deployed to {target.environment}")
        promoted = provenance.promoted(wanted, target.environment, now)
        record = _place(current, _first_share(promoted, target))
        text = message.promote_message(record, environment)
        return Change(_files(target, kustomization, record), text)

    return apply


#: Said of a record of the same version whose deployment differs (its run, URI or image).
_ANOTHER_DEPLOYMENT = "(another deployment of it) "


def deployed_record(snapshot: Snapshot, overlay: Overlay, then: str) -> ProvenanceRecord:
    """The overlay's record at the snapshot; BadInput ending in ``then`` where there is none."""
    current = read_record(snapshot, overlay)
    if current is None:
        raise BadInput(
            f"nothing is deployed to {overlay.environment} ({overlay.model_json} does not "
            f"exist); {then}"
        )
    return current


def traffic_edit(overlay: Overlay, full: bool, read: ProvenanceRecord) -> Edit:
    """Give the model of the overlay's environment the next share of its KServe canary (all
    of the traffic with ``full``): the record's ``traffic_percent`` and the patch's
    ``canaryTrafficPercent``, in one commit. KServe keeps a share until it is changed.

    ``read``: the record the command read (and, with ``--when-healthy``, checked the
    cluster against) at its checkout. Where the tip holds another model or another share
    by the time the commit is pushed (another step, or a deploy, landed in between), the
    share is not raised: the step would start from a share no one read."""

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        current = deployed_record(snapshot, overlay, "nothing to promote")
        kustomization = _kustomization(snapshot, overlay)
        share = share_of(current, overlay)
        seen = share_of(read, overlay)
        if not (provenance.same_model(current, read) and share == seen):
            of = ""
            if not provenance.same_model(current, read):
                again = _ANOTHER_DEPLOYMENT if current.version == read.version else ""
                of = f"of model v{read.version} {again}"
            return Unchanged(
                f"superseded: model v{current.version} takes {share}% of "
                f"{overlay.environment}'s traffic at {snapshot.commit[:12]}, not the {seen}% "
                f"{of}this checkout read: run promote --env again from there",
                settled=False,
            )
        if share is None or share >= 100:
            return Unchanged(
                f"model v{current.version} already takes all of {overlay.environment}'s traffic"
            )
        following = 100 if full else next((s for s in overlay.traffic if s > share), 100)
        record = replace(current, traffic_percent=following)
        text = message.traffic_message(record, share, overlay.traffic)
        return Change(_files(overlay, kustomization, record), text)

    return apply


def rollback_edit(overlay: Overlay, to_version: str | None, now: str) -> Edit:
    """Restore the model deployed before the current one (or model ``to_version``)."""

    def apply(snapshot: Snapshot) -> Change | Unchanged:
        current = deployed_record(snapshot, overlay, "nothing to roll back")
        kustomization = _kustomization(snapshot, overlay)
        done = _already(current, to_version)
        if done:
            return Unchanged(done)
        index = provenance.rollback_target(current, to_version)
        record = _with_image(provenance.rolled_back(current, index, now), kustomization, overlay)
        # the restored model takes all of the traffic at once: a KServe canary of it would
        # leave the rest on the model rolled back
        record = replace(record, traffic_percent=100 if overlay.traffic else None)
        if not (record.model_digest and record.training_rows_digest and record.reference_digest):
            record = _digests_of_its_deploy(snapshot, overlay, record)
        return Change(_files(overlay, kustomization, record), message.rollback_message(record))

    return apply


def _digests_of_its_deploy(
    snapshot: Snapshot, overlay: Overlay, record: ProvenanceRecord
) -> ProvenanceRecord:
    """``record`` with the digests its own deploy recorded in ``model.json``, found in the
    overlay's history: a history entry written before entries kept them has none. (A
    shallow checkout may not reach that commit: then what the entry lacks is restored
    unchecked, and a model without its digest is said.)"""
    commits = proc.git(
        "log", "--format=%H", snapshot.commit, "--", overlay.model_json, cwd=snapshot.root
    ).split()
    for commit in commits:
        earlier = read_record(Snapshot(snapshot.root, commit), overlay)
        if (
            earlier is not None
            and earlier.model_digest
            and (earlier.version, earlier.run_id, earlier.model_uri)
            == (record.version, record.run_id, record.model_uri)
        ):
            return replace(
                record,
                model_digest=earlier.model_digest,
                training_rows_digest=record.training_rows_digest or earlier.training_rows_digest,
                reference_digest=record.reference_digest or earlier.reference_digest,
            )
    if not record.model_digest:
        console.error_line(
            f"mlgitops: warning: model v{record.version} was recorded without its digest and "
            f"no commit of {overlay.model_json} here records it: the model server and compare "
            "load its files unchecked"
        )
    return record


def _already(current: ProvenanceRecord, to_version: str | None) -> str:
    """Why ``current`` already is the rollback's outcome ('' when it is not)."""
    if to_version is not None and current.version == to_version:
        return f"model v{to_version} is already deployed to {current.environment}"
    gone = current.rolled_back_from
    if to_version is None and gone is not None:
        return (
            f"{current.environment} is already rolled back from v{gone.version} to "
            f"v{current.version} (pass --to VERSION to go further back)"
        )
    return ""
