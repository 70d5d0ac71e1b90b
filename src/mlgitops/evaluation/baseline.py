"""The baseline: what the base branch says is deployed (loaded from MLflow by
:mod:`mlgitops.evaluation.deployed`).

The deployed model is the one in the base branch's
``manifests/<name>/overlays/<environment>/model.json`` (a provenance record) of the
environment the pipeline deploys to first, else of another (:func:`find_baseline`). Git is
the source of truth: no record there means nothing is deployed yet, whatever MLflow holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from mlgitops import proc
from mlgitops.basebranch import is_commit
from mlgitops.errors import BadInput
from mlgitops.evaluation.verdict import NO_BASELINE, Baseline
from mlgitops.results import ProvenanceRecord, load_provenance
from mlgitops.spec.model import Pipeline

NO_ENVIRONMENTS = "the spec deploys to no environment: absolute gates only"
#: A name a pipeline may have (the spec schema's), and so a folder under ``manifests/``.
PIPELINE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")


def record_of(pipeline: Pipeline, environment: str) -> str:
    """The record of what is deployed to ``environment`` (only deploy, promote and rollback
    write it): its overlay's ``model.json``."""
    return record_path(pipeline.name, environment)


def record_path(name: str, environment: str) -> str:
    """:func:`record_of` a pipeline named ``name``."""
    from mlgitops.gitops.overlay import Overlay

    return Overlay(name, environment).model_json


def unchanged_records(root: Path, ref: str, pipeline: Pipeline) -> None:
    """BadInput where the commits since ``ref`` (``ref...HEAD``: a pull request's, on its
    branch or merged) change a record of what is deployed, of any environment, under the
    pipeline's name or the one ``ref`` gives it: deploy would refuse to ship their model
    (:mod:`mlgitops.gitops.before_merge`), so the review says so first."""
    _check_ref(root, ref)
    names = pipeline_names(root, ref, pipeline)
    every = [f":(glob)./{record_path(name, '*')}" for name in names]
    changed = proc.git_names(
        "diff", "-z", "--relative", "--name-only", f"{ref}...HEAD", "--", *every, cwd=root
    )
    for rel in changed:
        raise BadInput(
            f"the commits since {ref} change {rel}, the record of what is deployed to "
            f"{record_environment(names, rel)}, which only deploy, promote and rollback write: "
            "do not merge them, promote would copy the changed record and deploy judge against it; revert that change in a pull request of its own"
        )
    # the model lines of an overlay the commits edit: Argo CD serves them once merged
    from mlgitops.gitops.records import model_lines_problems

    edited = set(
        proc.git_names(
            "diff", "-z", "--relative", "--name-only", f"{ref}...HEAD", "--",
            f":(glob)./manifests/{pipeline.name}/overlays/*/kustomization.yaml", cwd=root,
        )
    )  # fmt: skip
    for rel, problem in model_lines_problems(root, pipeline, "HEAD"):
        if rel in edited:
            raise BadInput(f"the commits since {ref} edit {problem}")


def find_baseline(
    root: Path, ref: str, pipeline: Pipeline
) -> tuple[Baseline, ProvenanceRecord | None]:
    """The provenance record of what ``ref`` says is deployed, if anything is.

    That is the record of the environment the pipeline deploys to first. Where that one
    holds none, it is the record of the first environment that holds one in the order
    ``ref``'s own spec gives them (a pull request cannot change it), then in the pull
    request's, then by name; under the pipeline's name, else the one ``ref`` gives it. A pull
    request that reorders, renames or removes environments, or renames the pipeline, is
    judged against the model ``ref`` runs all the same.
    """
    first = pipeline.first_environment
    _check_ref(root, ref)
    names, base = _as_at(root, ref, pipeline)
    held = {name: recorded_environments(root, ref, name) for name in names}
    named = [e.name for e in pipeline.deploy.environments] if pipeline.deploy else []
    order = [(pipeline.name, first.name)] if first else []
    order += [(names[-1], env) for env in base]
    order += [(pipeline.name, env) for env in named]
    order += [(name, env) for name in names for env in sorted(held[name])]
    chosen = next(((n, env) for n, env in order if env in held[n]), None)
    if chosen is None:
        if first is None:
            return Baseline(False, NO_ENVIRONMENTS), None
        source = f"{ref}:{record_of(pipeline, first.name)}"
        return Baseline(False, NO_BASELINE, source=source, environment=first.name), None
    name, env = chosen
    path = record_path(name, env)
    source = f"{ref}:{path}"
    text = proc.git_text(root, ref, path)
    if text is None:  # listed a moment ago: the ref moved, or the repository is changing
        raise BadInput(f"{source}: listed by git, but it cannot be read")
    record = load_provenance(text, source, overlay=(name, env))
    info = Baseline(
        True,
        reason=_why_elsewhere(pipeline, ref, name, env),
        model_uri=record.model_uri,
        version=record.version,
        run_id=record.run_id,
        source=source,
        environment=env,
    )
    return info, record


def _why_elsewhere(pipeline: Pipeline, ref: str, name: str, env: str) -> str | None:
    """Why the baseline is not the model of the environment the pipeline deploys to first."""
    first = pipeline.first_environment
    runs = f"what {env} runs" if name == pipeline.name else f"what {env} of {name!r} runs"
    if name != pipeline.name:
        return (
            f"the pipeline is named {name!r} at {ref}, and {pipeline.name!r} runs no model "
            f"yet: the baseline is {runs}"
        )
    if first is None:
        return f"the spec deploys to no environment; the baseline is {runs}"
    if env != first.name:
        return (
            f"{first.name}, where this pipeline deploys first, runs no model yet at {ref}: "
            f"the baseline is {runs}"
        )
    return None


def pipeline_names(root: Path, ref: str, pipeline: Pipeline) -> list[str]:
    """The pipeline's name, and the name ``ref``'s version of its spec file gives it where
    that is another."""
    return _as_at(root, ref, pipeline)[0]


def _moved_from(root: Path, ref: str, path: str) -> str | None:
    """Where the spec file ``path`` was at ``ref``, where the commits since (``ref...HEAD``)
    renamed it, as git's rename detection finds it; None where they did not."""
    listed = proc.git_names(
        "diff", "-z", "--relative", "-M", "--name-status", "--diff-filter=R",
        f"{ref}...HEAD", cwd=root, check=False,
    )  # fmt: skip
    for at in range(0, len(listed) - 2, 3):  # R<score>, the old path, the new
        if listed[at].startswith("R") and listed[at + 2] == path:
            return listed[at + 1]
    return None


def spec_at(root: Path, ref: str, pipeline: Pipeline) -> tuple[str, str | None]:
    """The path of the pipeline's spec file at ``ref`` (where the commits since renamed it,
    its old path) and its text there (None: it had none)."""
    source = pipeline.source
    text = proc.git_text(root, ref, source)
    if text is None and (moved := _moved_from(root, ref, source)) is not None:
        source, text = moved, proc.git_text(root, ref, moved)  # renamed with the pipeline
    return source, text


def pipeline_at(root: Path, ref: str, pipeline: Pipeline) -> Pipeline | None:
    """The pipeline as its spec file at ``ref`` declares it; None where ``ref`` holds no
    spec of it that this version of mlgitops reads."""
    from mlgitops.errors import SpecError
    from mlgitops.spec.loader import parse_pipeline

    source, text = spec_at(root, ref, pipeline)
    if text is None:
        return None
    try:
        return parse_pipeline(source, text)
    except SpecError:
        return None


def _as_at(root: Path, ref: str, pipeline: Pipeline) -> tuple[list[str], list[str]]:
    """:func:`pipeline_names`, and the environments ``ref``'s version of the pipeline's spec
    file names, in its order: the file read once."""
    from mlgitops.spec.loader import parse_yaml

    source, text = spec_at(root, ref, pipeline)
    doc = parse_yaml(source, text)[0] if text is not None else None
    if not isinstance(doc, Mapping):
        return [pipeline.name], []
    named = doc.get("name")
    names = [pipeline.name]
    if isinstance(named, str) and named != pipeline.name and PIPELINE_NAME.fullmatch(named):
        names.append(named)
    deploy = doc.get("deploy")
    listed = deploy.get("environments") if isinstance(deploy, Mapping) else None
    environments = []
    for entry in listed if isinstance(listed, list) else ():
        env = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(env, str) and env and "/" not in env:
            environments.append(env)
    return names, environments


def recorded_environments(root: Path, ref: str, name: str) -> set[str]:
    """The environments of the pipeline named ``name`` that hold a record of a deployed
    model at ``ref``."""
    folder = f"./{record_path(name, '*').partition('*')[0]}"
    listed = proc.git_names("ls-tree", "-z", "-r", "--name-only", ref, "--", folder, cwd=root)
    return {env for rel in listed if (env := record_environment([name], rel))}


def record_environment(names: list[str], rel: str) -> str | None:
    """The environment whose record of a deployed model ``rel`` is, for a pipeline named one
    of ``names`` (``env``, or ``env of 'name'`` for any but the first); None: it is none."""
    for i, name in enumerate(names):
        head, _, tail = record_path(name, "*").partition("*")
        env = rel[len(head) : len(rel) - len(tail)]
        if rel.startswith(head) and rel.endswith(tail) and env and "/" not in env:
            return env if i == 0 else f"{env} of {name!r}"
    return None


def _check_ref(root: Path, ref: str) -> None:
    inside = proc.run(["git", "rev-parse", "--git-dir"], cwd=root, check=False)
    if inside.returncode != 0:
        raise BadInput(
            f"{root} is not a Git repository: compare reads what is deployed from the base branch"
        )
    if not is_commit(root, ref):
        raise BadInput(
            f"base ref {ref!r} is not in this clone: fetch it (actions/checkout with "
            "fetch-depth: 0) or name another with --base REF"
        )
