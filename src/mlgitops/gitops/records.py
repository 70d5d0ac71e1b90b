"""Whether Git's records of what is deployed are the ones deploy, promote and rollback wrote.

Each environment's ``model.json`` is a file in the repository: a pull request that changes
only a record starts no deploy, so one merged against its failed check would choose what
the next deploy judges against, or what promote copies on. The registry is the witness
the pull request credentials cannot write: only deploy, promote and rollback move an
environment's alias (``NAME@ENV``), tag a version with the digests deploy checked
(:data:`~mlgitops.gitops.registry.MODEL_DIGEST_TAG`,
:data:`~mlgitops.gitops.registry.TRAINING_ROWS_TAG`,
:data:`~mlgitops.gitops.registry.REFERENCE_TAG`) and with each commit they made
(:data:`~mlgitops.gitops.registry.COMMIT_TAG`). :func:`check_records` holds every record to
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from mlgitops import proc
from mlgitops.errors import BadInput
from mlgitops.gitops.overlay import MODEL_JSON
from mlgitops.gitops.publish import Target, remote_tip
from mlgitops.gitops.registry import (
    COMMIT_TAG,
    MODEL_DIGEST_TAG,
    REFERENCE_TAG,
    TRAINING_ROWS_TAG,
    ModelVersion,
    Registry,
    open_registry,
)
from mlgitops.results import RESTORE, ProvenanceRecord
from mlgitops.spec.model import Pipeline


def another_model(record: ProvenanceRecord, found: ModelVersion) -> bool:
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


def model_lines_problems(root: Path, pipeline: Pipeline, commit: str) -> list[tuple[str, str]]:
    """(overlay, why) for each environment's overlay at ``commit`` whose model lines name
    other than the record beside it (:func:`~mlgitops.gitops.overlay.model_lines_problem`):
    Argo CD would serve what no deploy, promote or rollback shipped."""
    from mlgitops.gitops.overlay import model_lines_problem, overlay_of
    from mlgitops.results import load_provenance

    found = []
    for env in pipeline.deploy.environments if pipeline.deploy else ():
        overlay = overlay_of(pipeline, env.name)
        text = proc.git_text(root, commit, overlay.kustomization)
        if text is None:  # not rendered yet
            continue
        held = proc.git_text(root, commit, overlay.model_json)
        where = f"{commit[:12]}:{overlay.model_json}"
        place = (pipeline.name, env.name)
        record = None if held is None else load_provenance(held, where, overlay=place)
        if (problem := model_lines_problem(text, overlay, record)) is not None:
            found.append((overlay.kustomization, problem))
    return found


class Disagreement(NamedTuple):
    """A record of what is deployed that disagrees with the registry: where it is, why,
    and whether a commit deploy, promote or rollback made wrote it there (or none was
    ever there): then a later one may have replaced it, and the checkout is behind."""

    rel: str
    problem: str
    replaced: bool


def disagreements(
    root: Path, registry: Registry, pipeline: Pipeline, commit: str
) -> list[Disagreement]:
    """The records of what is deployed at ``commit`` (each environment's ``model.json``)
    that disagree with the registry, as :func:`check_records` holds them."""
    return [
        Disagreement(place.rel, problem, _made_by_us(root, registry, place))
        for place, problem in _disagreements(root, registry, pipeline, commit, None)
    ]


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
    for rel, problem in model_lines_problems(root, pipeline, commit):
        env = rel.split("/")[-2]
        found.append((_Place(commit, rel, env, pipeline.name, env), problem))
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
    if text is None:
        return (
            f"{commit[:12]} holds no {rel}, where the registry's alias {name}@{env} points "
            f"at version {pointed}: a merge removed the record of what {label} runs "
            f"({RESTORE}), or the alias was set by other than deploy, promote and rollback "
            "(remove it)"
        )
    record = load_provenance(text, f"{commit[:12]}:{rel}", overlay=(name, env))
    if aliases is None:
        return (
            f"{rel} records version {record.version} as deployed to {label}, where MLflow "
            f"registry {registry.uri} has no registered model '{name}' (is this the tracking "
            "server that deployed it?)"
        )
    found = registry.get_version(name, record.version)
    ours = found is not None and not another_model(record, found)
    if pointed != record.version and not (ours and lag and lag.run_id in (None, record.run_id)):
        shown = " has no alias" if pointed is None else "'s alias"
        points = "" if pointed is None else f" points at version {pointed}"
        return (
            f"{rel} records version {record.version} as deployed to {label}, where the "
            f"registry{shown} {name}@{env}{points}: a merge changed the record ({RESTORE}), "
            "or the alias is behind it (the deploy, promote or rollback that wrote it is "
            "still running, or failed to move it: run it again)"
        )
    return unregistered(record, found, rel)


def unregistered(record: ProvenanceRecord, found: ModelVersion | None, rel: str) -> str | None:
    """Why ``record`` (in ``rel``) is not the registry's version ``found`` (None: the
    registry holds none of that number) as deploy, promote and rollback registered it: its
    model and run, and the digests deploy checked (None: it is that version)."""
    if found is None or another_model(record, found):
        return (
            f"{rel} names {record.model_uri} of run {record.run_id} as version "
            f"{record.version}, where the registry's version {record.version} is "
            f"{found.source if found else 'gone'}: the record was changed by other than "
            f"deploy, promote and rollback; {RESTORE}"
        )
    return other_digests(record, found, rel)


def other_digests(record: ProvenanceRecord, found: ModelVersion, rel: str) -> str | None:
    """Why ``record`` (in ``rel``) names other digests than deploy registered its version
    ``found`` with (None: it names those, or deploy registered none)."""
    for key, field, value in (
        (MODEL_DIGEST_TAG, "model_digest", record.model_digest),
        (TRAINING_ROWS_TAG, "training_rows_digest", record.training_rows_digest),
        (REFERENCE_TAG, "reference_digest", record.reference_digest),
    ):
        registered = found.tags.get(key)
        if registered is not None and value != registered:
            return (
                f"{rel} records {field} {value or '(none)'} for version {record.version}, "
                f"where deploy registered that version with {registered}: the record was "
                f"changed by other than deploy, promote and rollback; {RESTORE}"
            )
    return None


def _made_by_us(root: Path, registry: Registry, place: _Place) -> bool:
    """Whether the record ``place`` names at its commit was written there by a commit deploy,
    promote or rollback made (tagged on its version), or no record was ever there."""
    from mlgitops.results import load_provenance

    commit, rel, _, name, env = place
    if not rel.endswith(f"/{MODEL_JSON}"):  # an overlay's model lines that disagree with
        return False  # their record: no deploy, promote or rollback writes such lines
    writer = proc.git("log", "-1", "--first-parent", "--format=%H", commit, "--", rel, cwd=root)
    text = proc.git_text(root, commit, rel)
    if text is None:
        return not writer
    record = load_provenance(text, f"{commit[:12]}:{rel}", overlay=(name, env))
    found = registry.get_version(name, record.version)
    return found is not None and found.tags.get(COMMIT_TAG + writer) == env
