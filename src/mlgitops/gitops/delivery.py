"""What deploy, promote and rollback share: options, the environment, the commit, the alias."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from mlgitops import console, proc
from mlgitops.errors import BadInput, ServiceError
from mlgitops.gitops.overlay import Overlay
from mlgitops.gitops.publish import Edit, Published, Snapshot, Target, Unchanged, remote_tip
from mlgitops.gitops.registry import (
    COMMIT_TAG,
    MODEL_DIGEST_TAG,
    TRAINING_ROWS_TAG,
    ModelVersion,
    Registry,
    open_registry,
)
from mlgitops.outputs import set_github_outputs
from mlgitops.results import ProvenanceRecord
from mlgitops.spec import Repo
from mlgitops.spec.model import Environment, Pipeline

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


def overlay_of(pipeline: Pipeline, environment: str) -> Overlay:
    """The environment's overlay, with the built image's repository when there is one."""
    build = pipeline.deploy.server.build if pipeline.deploy else None
    return Overlay(pipeline.name, environment, build.repository if build else None)


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


def check_registry(root: Path, uri: str, pipeline: str, planned: Planned) -> None:
    """Before anything is committed: the registry answers and holds the planned record's
    version of ``pipeline``, registered from the run the record names; the record's model
    is that version (a record a merge changed by hand names another model).

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
    if _another_model(record, found):
        raise BadInput(
            f"{rel} names {record.model_uri} of run {record.run_id} as version {version}, "
            f"where the registry's version {version} is {found.source} of run "
            f"{found.run_id or '?'}: the record was changed by other than deploy, promote and "
            f"rollback; restore it from Git's history; {state}"
        )


def _another_model(record: ProvenanceRecord, found: ModelVersion) -> bool:
    """Whether ``record`` names another model or run than the registry's version it names."""
    ours = record.model_uri in (found.uri, found.source)
    return not ours or bool(found.run_id and record.run_id != found.run_id)


def check_records(
    root: Path,
    uri: str,
    pipeline: Pipeline,
    head: str,
    target: Target,
    *,
    writing: Writing | None = None,
) -> None:
    """BadInput unless every record of what is deployed (each environment's ``model.json``)
    agrees with the registry: with the alias of its environment, which only deploy, promote
    and rollback move, and with the digests deploy registered its version with. A record a
    merge changed or removed (a pull request that changes only a record starts no deploy)
    would otherwise choose what later models are judged against, or what is promoted.

    Read at ``head``. Where it disagrees there but agrees at the tip of ``target`` (a job
    re-run, or queued, after later deploys, promotes or rollbacks), ``head``'s records pass
    only where a commit deploy, promote or rollback made wrote them (the registry tags each
    such commit on its version, :data:`COMMIT_TAG`), or where none was ever there.
    ``writing``: the environment the command writes, whose alias may lag behind a record
    that names its registered version (the commit landed, the alias could not be moved:
    running the command again moves it)."""
    registry = open_registry(uri, root)
    problems = _disagreements(root, registry, pipeline, head, writing)
    if not problems:
        return
    if target.remote is not None:
        tip = remote_tip(root, target)
        moved_on = tip != head and not _disagreements(root, registry, pipeline, tip, writing)
        if moved_on and all(_made_by_us(root, registry, place) for place, _ in problems):
            return
    raise BadInput(problems[0][1])


class Writing(NamedTuple):
    """The environment a command writes, and the run whose model it writes there (None:
    any version the registry holds as the record names it)."""

    environment: str
    run_id: str | None = None


class _Place(NamedTuple):
    """A record of what is deployed: at ``commit``, its path, its environment as shown,
    and the registered model and alias it belongs to."""

    commit: str
    rel: str
    label: str
    name: str
    env: str


def _disagreements(
    root: Path, registry: Registry, pipeline: Pipeline, commit: str, writing: Writing | None
) -> list[tuple[_Place, str]]:
    """The records of what is deployed at ``commit`` that disagree with the registry, and
    why."""
    from mlgitops.evaluation.baseline import (
        pipeline_names,
        record_environment,
        record_path,
        recorded_environments,
    )

    named = {e.name for e in pipeline.deploy.environments} if pipeline.deploy else set()
    names = pipeline_names(root, commit, pipeline)
    found = []
    for name in names:
        aliases = registry.aliases(name)
        held = recorded_environments(root, commit, name)
        for env in sorted(held | (named & set(aliases or {}))):
            rel = record_path(name, env)
            where = _Place(commit, rel, record_environment(names, rel) or env, name, env)
            lag = (
                writing if writing and (name, env) == (pipeline.name, writing.environment) else None
            )
            text = proc.git_text(root, commit, rel)
            if (problem := _disagreement(registry, text, where, aliases, lag)) is not None:
                found.append((where, problem))
    return found


def _disagreement(
    registry: Registry,
    text: str | None,
    where: _Place,
    aliases: Mapping[str, str] | None,
    lag: Writing | None,
) -> str | None:
    """Why the record ``text`` (None: there is none) of an environment disagrees with the
    registry, whose aliases of the pipeline's name are ``aliases`` (None: no registered
    model of that name); ``lag``: the command writes this environment, whose alias may lag
    behind."""
    from mlgitops.results import load_provenance

    commit, rel, label, name, env = where
    pointed = (aliases or {}).get(env)
    restore = "restore it from Git's history"
    if text is None:
        return (
            f"{commit[:12]} holds no {rel}, where the registry's alias {name}@{env} points "
            f"at version {pointed}: a merge removed the record of what {label} runs "
            f"({restore}), or the alias was set by other than deploy, promote and rollback "
            "(remove it)"
        )
    record = load_provenance(text, what=f"{commit[:12]}:{rel}")
    if not record.version.isdigit():
        return f"{commit[:12]}:{rel}: version {record.version!r} is no registry version; {restore}"
    if aliases is None:
        return (
            f"{rel} records version {record.version} as deployed to {label}, where MLflow "
            f"registry {registry.uri} has no registered model '{name}' (is this the tracking "
            "server that deployed it?)"
        )
    found = registry.get_version(name, record.version)
    ours = found is not None and not _another_model(record, found)
    if pointed != record.version and not (ours and lag and lag.run_id in (None, record.run_id)):
        shown = " has no alias" if pointed is None else "'s alias"
        points = "" if pointed is None else f" points at version {pointed}"
        return (
            f"{rel} records version {record.version} as deployed to {label}, where the "
            f"registry{shown} {name}@{env}{points}: a merge changed the record ({restore}), "
            "or the alias is behind it (the deploy, promote or rollback that wrote it is "
            "still running, or failed to move it: run it again)"
        )
    if found is None or not ours:
        return (
            f"{rel} names {record.model_uri} of run {record.run_id} as version "
            f"{record.version}, where the registry's version {record.version} is "
            f"{found.source if found else 'gone'}: the record was changed by other than "
            f"deploy, promote and rollback; {restore}"
        )
    for key, field, value in (
        (MODEL_DIGEST_TAG, "model_digest", record.model_digest),
        (TRAINING_ROWS_TAG, "training_rows_digest", record.training_rows_digest),
    ):
        registered = found.tags.get(key)
        if registered is not None and value != registered:
            return (
                f"{rel} records {field} {value or '(none)'} for version {record.version}, "
                f"where deploy registered that version with {registered}: the record was "
                f"changed by other than deploy, promote and rollback; {restore}"
            )
    return None


def _made_by_us(root: Path, registry: Registry, place: _Place) -> bool:
    """Whether the record ``place`` names at its commit was written there by a commit deploy,
    promote or rollback made (tagged on its version), or no record was ever there."""
    from mlgitops.results import load_provenance

    commit, rel, _, name, env = place
    writer = proc.git("log", "-1", "--format=%H", commit, "--", rel, cwd=root)
    text = proc.git_text(root, commit, rel)
    if text is None:
        return not writer
    record = load_provenance(text, what=f"{commit[:12]}:{rel}")
    found = registry.get_version(name, record.version) if record.version.isdigit() else None
    return found is not None and found.tags.get(COMMIT_TAG + writer) == env


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

    snapshot = Snapshot(root, proc.git("rev-parse", "HEAD", cwd=root))
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
    record = load_provenance(text, overlay.model_json)
    return Planned(record, overlay.model_json, "nothing committed")


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
            writer = proc.git("log", "-1", "--format=%H", at, "--", rel, cwd=root)
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
