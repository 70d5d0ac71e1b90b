"""Pipeline specs: ``pipelines/*.yaml`` and ``mlgitops.yaml``."""

from __future__ import annotations

import os
from pathlib import Path

from mlgitops import fsio
from mlgitops.errors import BadInput, Problem, SpecError
from mlgitops.record import record
from mlgitops.spec.collisions import duplicate_names, fork_runner_problems, unknown_pools
from mlgitops.spec.loader import parse_pipeline_doc, parse_repo_config
from mlgitops.spec.model import Pipeline
from mlgitops.spec.repo_config import RepoConfig

PIPELINES_DIR = "pipelines"
REPO_CONFIG = "mlgitops.yaml"


@record
class Repo:
    """Everything the specs of one repository say."""

    root: Path
    config: RepoConfig
    pipelines: tuple[Pipeline, ...]

    def pipeline(self, name: str) -> Pipeline:
        for p in self.pipelines:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.pipelines) or "none"
        raise BadInput(f"no pipeline named {name!r} in {PIPELINES_DIR}/ (known: {known})")


def _read(root: Path, rel: str) -> str:
    try:
        data = fsio.read_file(root / rel)
    except OSError as exc:
        raise SpecError([Problem(rel, 1, 1, f"cannot be read ({exc.strerror or exc})")]) from exc
    return utf8_text(rel, data)


def utf8_text(rel: str, data: bytes) -> str:
    """The file ``rel``'s bytes ``data`` as text; a SpecError at the line and column of the
    first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        why = f"not UTF-8 text ({exc.reason}: byte 0x{data[exc.start]:02x})"
        raise SpecError([Problem(rel, line, col, why)]) from exc


def spec_files(root: Path) -> list[str]:
    """Repo-relative paths of the pipeline specs, sorted (BadInput where ``pipelines`` is
    there but no folder that can be listed: an empty list would remove every generated file)."""
    folder = root / PIPELINES_DIR
    if not folder.exists() and not folder.is_symlink():
        return []
    if not folder.is_dir():
        raise BadInput(f"{PIPELINES_DIR}: not a folder (the pipeline specs live in it)")
    try:
        entries = [(e.name, e.is_dir()) for e in os.scandir(folder)]
    except OSError as exc:
        raise BadInput(f"{PIPELINES_DIR}: cannot be read ({exc.strerror or exc})") from exc
    named = [(n, is_dir) for n, is_dir in entries if n.lower().endswith((".yaml", ".yml"))]
    for name, is_dir in named:  # skipped, it would remove every file rendered from it
        if is_dir:
            raise BadInput(f"{PIPELINES_DIR}/{name}: a folder, where a spec file is expected")
        if not name.endswith((".yaml", ".yml")):
            raise BadInput(f"{PIPELINES_DIR}/{name}: a spec file's name ends in .yaml or .yml")
    found = sorted(f"{PIPELINES_DIR}/{n}" for n, _ in named)
    for rel in found:
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError as exc:
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise BadInput(f"{shown}: the file name is not UTF-8; rename it") from exc
    return found


def load_repo(root: Path, *, check_references: bool = False) -> Repo:
    """Load ``mlgitops.yaml`` and every pipeline; raise one SpecError with all problems.

    ``check_references``: also check that the files and estimator classes the
    specs name exist (:mod:`mlgitops.spec.references`), in the same round as
    every other problem: a spec that parsed is checked even when it breaks
    the schema elsewhere.
    """
    problems: list[Problem] = []
    config, config_text = RepoConfig(), None
    if (root / REPO_CONFIG).exists() or (root / REPO_CONFIG).is_symlink():
        try:
            config_text = _read(root, REPO_CONFIG)
            config = parse_repo_config(REPO_CONFIG, config_text)
        except SpecError as exc:
            problems += exc.problems
    pipelines, texts, docs = [], {}, {}
    for rel in spec_files(root):
        try:
            texts[rel] = _read(root, rel)
            pipeline, docs[rel] = parse_pipeline_doc(rel, texts[rel])
            pipelines.append(pipeline)
        except SpecError as exc:
            problems += exc.problems
            if exc.document is not None:
                docs[rel] = exc.document
    problems += duplicate_names(pipelines, texts, config)
    problems += unknown_pools(pipelines, texts, config)
    problems += fork_runner_problems(pipelines, config, REPO_CONFIG, config_text)
    if check_references:
        from mlgitops.spec.references import action_problems, reference_problems

        if config_text is not None and all(p.path != REPO_CONFIG for p in problems):
            problems += action_problems(root, config.action, REPO_CONFIG, config_text)

        # A value with a problem of its own (a path that escapes the repository,
        # an unsupported URL) is not looked for as well.
        flagged = {(p.path, p.line, p.col) for p in problems}
        for rel, doc in docs.items():
            problems += [
                p
                for p in reference_problems(root, rel, doc)
                if (p.path, p.line, p.col) not in flagged
            ]
    if problems:
        raise SpecError(problems)
    return Repo(root=root, config=config, pipelines=tuple(pipelines))


__all__ = ["Pipeline", "Repo", "RepoConfig", "load_repo", "spec_files"]


def spec_problem(
    root: Path | None,
    pipeline: Pipeline,
    path: list[str | int],
    message: str,
    *,
    text: str | None = None,
    at_key: bool = False,
) -> Problem:
    """A problem at ``path`` of the pipeline's spec: in ``text``, else in its file as it
    reads now under ``root`` (at its first line where the file no longer reads); with
    ``at_key``, at the key."""
    from mlgitops.spec.loader import parse_yaml
    from mlgitops.spec.positions import locate

    if text is None:
        try:
            text = (Path(root or ".") / pipeline.source).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return Problem(pipeline.source, 1, 1, message)
    doc, _ = parse_yaml(pipeline.source, text)
    line, col = (1, 1) if doc is None else locate(doc, path, at_key=at_key)
    return Problem(pipeline.source, line, col, message)
