"""What deploy, promote and rollback share: options, the environment, the commit, the alias."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from mlgitops import console, proc
from mlgitops.errors import BadInput, ServiceError
from mlgitops.gitops import records
from mlgitops.gitops.overlay import Overlay
from mlgitops.gitops.publish import Edit, Published, Snapshot, Target, Unchanged
from mlgitops.gitops.registry import (
    COMMIT_TAG,
    open_registry,
)
from mlgitops.outputs import set_github_outputs
from mlgitops.results import ProvenanceRecord
from mlgitops.spec import Repo
from mlgitops.spec.deploy import Environment
from mlgitops.spec.model import Pipeline

DEFAULT_ATTEMPTS = 5


def add_git_options(parser: argparse.ArgumentParser) -> None:
    """``--remote``, ``--no-push``, ``--attempts``, ``--tracking-uri``."""
    parser.add_argument(
        "--remote", default="origin", metavar="REMOTE", help="where to push (default: origin)"
    )
    parser.add_argument(
        "--no-push",
        action="store_true",
        help="commit on the local checkout only; push nothing",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=DEFAULT_ATTEMPTS,
        metavar="N",
        help=f"push attempts when others push at the same time (default: {DEFAULT_ATTEMPTS})",
    )
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, mlgitops.yaml, "
        "else sqlite:///<repo>/.mlgitops/mlflow.db)",
    )


def target(repo: Repo, remote: str, no_push: bool, attempts: int) -> Target:
    """The default branch of ``remote`` (or the local checkout with ``--no-push``)."""
    if attempts < 1:
        raise BadInput(f"--attempts must be at least 1, not {attempts}")
    return Target(repo.config.default_branch, None if no_push else remote, attempts)


def environment_of(pipeline: Pipeline, name: str) -> Environment:
    """The pipeline's environment ``name``; BadInput naming the known ones."""
    found = pipeline.deploy.environment(name) if pipeline.deploy else None
    if found is None:
        known = ", ".join(e.name for e in pipeline.deploy.environments) if pipeline.deploy else ""
        raise BadInput(
            f"pipeline {pipeline.name!r} has no environment {name!r} in {pipeline.source} "
            f"(known: {known or 'none; add deploy.environments'})"
        )
    return found


def pinned_image(pipeline: Pipeline, image: str | None) -> str:
    """``--image`` checked against the spec: the built repository, pinned by digest ("" if none)."""
    from mlgitops.gitops.overlay import IMAGE_REF

    if image is None:
        return ""
    build = pipeline.deploy.server.build if pipeline.deploy else None
    if build is None:
        raise BadInput(
            f"--image goes with deploy.server.build; {pipeline.source} names its image in "
            "deploy.server.image"
        )
    found = IMAGE_REF.fullmatch(image)
    if found is None or _tagged(found["repository"]):
        raise BadInput(
            f"--image {image!r} is not pinned by digest: expected REPOSITORY@sha256:<64 hex "
            "digits>, as the deploy workflow's image job pushes it"
        )
    if found["repository"] != build.repository:
        raise BadInput(
            f"--image names {found['repository']}, but deploy.server.build.repository of "
            f"{pipeline.source} is {build.repository}"
        )
    return image


def _tagged(repository: str) -> bool:
    """Whether ``registry[:port]/path`` ends in ``:tag`` (a port sits before the first '/')."""
    return ":" in repository.rsplit("/", 1)[-1]


def serving_image(root: Path, overlay: Overlay, at: str) -> None:
    """Print the built image the overlay's ``model.json`` names at commit ``at``."""
    from mlgitops.gitops.edits import read_record

    if overlay.repository is None:
        return
    record = read_record(Snapshot(root, at), overlay)
    if record is not None and record.image:
        console.line(f"  serving image {record.image}")


def now() -> str:
    """The deploy time as recorded in model.json (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_registry(
    root: Path, uri: str, pipeline: str, planned: Planned, ran_in: str | None = None
) -> None:
    """Before anything is committed: the registry answers and holds the planned record's
    version of ``pipeline``, registered from the run the record names; the record's model
    is that version (a record a merge changed by hand names another model). ``ran_in``: an
    environment the version must have been deployed to by deploy, promote or rollback (a
    commit of theirs tagged on it names it: :data:`COMMIT_TAG`), as a version rollback
    restores from the environment's history was.

    ``planned.state`` says where Git stands when this fails ("nothing committed", or
    that Git already names the version and only the alias is behind).
    """
    record, rel, state = planned.record, planned.rel, planned.state
    version = record.version
    registry = open_registry(uri, root)
    try:
        known = registry.has_model(pipeline)
        found = registry.get_version(pipeline, version) if known else None
    except ServiceError as exc:
        raise ServiceError(f"{exc}; {state}") from exc
    if not known:
        raise BadInput(
            f"MLflow registry {uri} has no registered model '{pipeline}' (is this the "
            f"tracking server that deployed it?); {state}"
        )
    if found is None:
        raise BadInput(
            f"MLflow registry {uri}: model '{pipeline}' has no version {version}; {state}"
        )
    if records.another_model(record, found):
        raise BadInput(
            f"{rel} names {record.model_uri} of run {record.run_id} as version {version}, "
            f"where the registry's version {version} is {found.source} of run "
            f"{found.run_id or '?'}: the record was changed by other than deploy, promote and "
            f"rollback; restore it from Git's history; {state}"
        )
    digests = records.other_digests(record, found, rel)
    if digests is not None:
        raise BadInput(f"{digests}; {state}")
    ran = {env for key, env in found.tags.items() if key.startswith(COMMIT_TAG)}
    if ran_in is not None and ran_in not in ran:
        named = ", ".join(sorted(ran)) or "no environment"
        raise BadInput(
            f"{rel} names version {version} in its history, which deploy, promote and "
            f"rollback never made {ran_in} run (the registry's commit tags on it name "
            f"{named}): the record was changed by other than deploy, promote and rollback; "
            f"restore it from Git's history; {state}"
        )


class Planned(NamedTuple):
    """The record an edit leaves in an environment, its path, and the state Git is in
    should the registry refuse it."""

    record: ProvenanceRecord
    rel: str
    state: str


def planned_version(root: Path, edit: Edit, overlay: Overlay) -> Planned | None:
    """The record ``edit`` leaves in ``overlay`` when applied to HEAD, and the state Git is
    in should the registry refuse it; None when the edit does not apply."""
    from mlgitops.gitops.edits import read_record
    from mlgitops.results import load_provenance

    snapshot = Snapshot(root, proc.head_commit(root))
    change = edit(snapshot)
    if isinstance(change, Unchanged):
        record = read_record(snapshot, overlay) if change.settled else None
        if record is None:
            return None
        return Planned(
            record,
            overlay.model_json,
            f"Git already names v{record.version} for {overlay.environment} at "
            f"{snapshot.commit[:12]}; only the MLflow alias is behind, run the command again "
            "once the registry holds it",
        )
    text = change.files[overlay.model_json]
    record = load_provenance(
        text, overlay.model_json, overlay=(overlay.pipeline, overlay.environment)
    )
    return Planned(record, overlay.model_json, "nothing committed")


def moves_alias(where: Target, uri: str, pipeline: str, environment: str) -> bool:
    """Whether the command, once Git says so, moves the registry's alias now: where others
    see Git. With ``--no-push`` nothing is pushed, so a shared registry's alias stays where
    the remote's records say (it would run ahead of Git, and the next deploy would refuse
    the record); a registry of this machine alone (a sqlite or file store) follows the
    local commit."""
    from urllib.parse import urlsplit

    if where.remote is None and urlsplit(uri).scheme not in ("", "file", "sqlite"):
        console.line(
            f"  MLflow alias {pipeline}@{environment} not moved: nothing was pushed "
            "(--no-push) and the tracking server's registry is shared; push the commit, "
            "then run the command again to move it"
        )
        return False
    return True


def point_alias(
    root: Path,
    uri: str,
    pipeline: str,
    environment: str,
    version: str,
    committed: bool,
    record_at: tuple[str, str] | None = None,
) -> None:
    """Point the registry alias ``environment`` at ``version`` (after Git says so).
    ``record_at``: the record's path and a commit holding it; the commit that wrote it
    there is tagged on the version first (:data:`COMMIT_TAG`), as one deploy, promote or
    rollback made."""
    registry = open_registry(uri, root)
    try:
        if record_at is not None:
            rel, at = record_at
            writer = proc.git("log", "-1", "--first-parent", "--format=%H", at, "--", rel, cwd=root)
            if writer:
                registry.set_version_tag(pipeline, version, COMMIT_TAG + writer, environment)
        registry.set_alias(pipeline, environment, version)
    except ServiceError as exc:
        if not committed:
            raise
        raise ServiceError(
            f"the commit landed, but the MLflow alias {pipeline}@{environment} still points "
            f"elsewhere ({exc}); run the command again to retry"
        ) from exc


def report(
    verb: str, pipeline: str, outcome: Published | Unchanged, where: Target
) -> dict[str, str]:
    """Print what happened; the step outputs for GitHub Actions."""
    if isinstance(outcome, Unchanged):
        console.line(f"{verb} {pipeline}: {outcome.reason}; nothing committed")
        return {"committed": "false"}
    subject = outcome.change.message.splitlines()[0]
    console.line(f"{verb} {pipeline}: committed {outcome.sha[:12]} {subject}")
    if outcome.pushed:
        tries = "" if outcome.attempts == 1 else f" (after {outcome.attempts} attempts)"
        console.line(f"  pushed to {where.describe()}{tries}")
    else:
        console.line("  not pushed (--no-push)")
    return {"committed": "true", "commit": outcome.sha}


def github_outputs(values: Mapping[str, str]) -> None:
    set_github_outputs(dict(values))
