"""Pipeline specs: ``pipelines/*.yaml`` and ``mlgitops.yaml``."""

from __future__ import annotations

from pathlib import Path

from mlgitops.errors import BadInput, Problem, SpecError
from mlgitops.record import record
from mlgitops.spec.loader import (
    duplicate_names,
    parse_pipeline_doc,
    parse_repo_config,
    unknown_pools,
)
from mlgitops.spec.model import Pipeline, RepoConfig

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
        return (root / rel).read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(rel, 1, 1, f"not UTF-8 text ({exc.reason})")]) from exc


def spec_files(root: Path) -> list[str]:
    """Repo-relative paths of the pipeline specs, sorted."""
    folder = root / PIPELINES_DIR
    if not folder.is_dir():
        return []
    found = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(p.relative_to(root).as_posix() for p in found if p.is_file())


def load_repo(root: Path, *, check_references: bool = False) -> Repo:
    """Load ``mlgitops.yaml`` and every pipeline; raise one SpecError with all problems.

    ``check_references``: also check that the files and estimator classes the
    specs name exist (:mod:`mlgitops.spec.references`), in the same round as
    every other problem: a spec that parsed is checked even when it breaks
    the schema elsewhere.
    """
    problems: list[Problem] = []
    config = RepoConfig()
    if (root / REPO_CONFIG).is_file():
        try:
            config = parse_repo_config(REPO_CONFIG, _read(root, REPO_CONFIG))
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
    problems += duplicate_names(pipelines, texts)
    problems += unknown_pools(pipelines, texts, config)
    if check_references:
        from mlgitops.spec.references import reference_problems

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
