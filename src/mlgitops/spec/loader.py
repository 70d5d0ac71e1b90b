"""Parse spec text into records, collecting every problem with its position.

Pure: text in, records or :class:`~mlgitops.errors.SpecError` out. Reading
the files is :func:`mlgitops.spec.load_repo`'s job; :mod:`.build` makes the
records of a checked document.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlgitops.errors import Problem, SpecError
from mlgitops.sha import sha256_hex
from mlgitops.spec import fastyaml
from mlgitops.spec.build import build_pipeline, build_repo_config
from mlgitops.spec.checks import problems
from mlgitops.spec.model import Pipeline
from mlgitops.spec.positions import Key, locate
from mlgitops.spec.repo_config import RepoConfig
from mlgitops.spec.schema_eval import as_integers
from mlgitops.spec.schema_problems import schema
from mlgitops.spec.unusable import usable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


def parse_yaml(source: str, text: str) -> tuple[Any, list[Problem]]:
    """Load YAML keeping node positions; a syntax error becomes one problem, and so does a
    document no reader should walk (:func:`.unusable.unusable`)."""
    doc, found = _load(source, text)
    return (doc, found) if doc is None else usable(source, text, doc)


def problem_in(source: str, text: str, path: list[Key], message: str) -> Problem:
    """A problem at ``path`` of the YAML ``text`` of file ``source``."""
    doc, _ = parse_yaml(source, text)
    return Problem(source, *locate(doc, path), message)


def _load(source: str, text: str) -> tuple[Any, list[Problem]]:
    doc = fastyaml.load(text)
    if doc is not fastyaml.SLOW:
        if not isinstance(doc, Mapping):
            return None, [Problem(source, 1, 1, "expected a mapping at the top level")]
        return doc, []
    from mlgitops.spec import slowyaml  # ruamel.yaml, only where the fast reader cannot

    return slowyaml.load(source, text)


def _whole(doc: Any, kind: str) -> Any:
    """A valid document as plain values, the integers the schema asks for written as such
    even where the YAML writes them as floats (``8080.0``)."""
    return as_integers(_plain(doc), schema(kind))


def _plain(value: Any) -> Any:
    """ruamel's commented containers and scalar subclasses as plain Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def parse_pipeline(source: str, text: str) -> Pipeline:
    """One pipeline spec from its text; ``source`` is the repo-relative path."""
    return parse_pipeline_doc(source, text)[0]


def _own_tags(source: str, text: str, doc: Any) -> tuple[Any, list[Problem]]:
    """``doc``, or None and the problem of its first value with a tag of its own (``!foo``),
    which the YAML reader keeps as a value no reader of a spec or of the repository config
    knows (``task: !foo classification`` is no task)."""
    found = _own_tag(doc) if doc is not None and "!" in text else None
    if found is None:
        return doc, []
    path, tag = found
    why = f"YAML: {tag} is a tag mlgitops does not read: remove it"
    return None, [Problem(source, *locate(doc, path), why)]


def _own_tag(doc: Any) -> tuple[list[Key], str] | None:
    """Where the first value with a tag of its own is, and the tag (a level at a time)."""
    level: list[tuple[list[Key], Any]] = [([], doc)]
    seen: set[int] = set()  # a collection an alias names again is walked once
    while level:
        deeper: list[tuple[list[Key], Any]] = []
        for path, value in level:
            tag = getattr(getattr(value, "tag", None), "value", None)
            if isinstance(tag, str) and not tag.startswith("tag:yaml.org,2002:"):
                return path, tag
            if isinstance(value, Mapping | list):
                if id(value) in seen:
                    continue
                seen.add(id(value))
            if isinstance(value, Mapping):
                deeper += [([*path, k], v) for k, v in value.items()]
            elif isinstance(value, list):
                deeper += [([*path, i], v) for i, v in enumerate(value)]
        level = deeper
    return None


def parse_pipeline_doc(source: str, text: str) -> tuple[Pipeline, Any]:
    """The pipeline and its YAML document (with node positions, for later checks)."""
    doc, found = parse_yaml(source, text)
    doc, found = (doc, found) if found else _own_tags(source, text, doc)
    if doc is not None:
        found = problems(source, doc, "pipeline")
    if found:
        raise SpecError(found, doc)
    pipeline = build_pipeline(_whole(doc, "pipeline"), source)
    digest = sha256_hex(text.encode("utf-8"))
    return _with_hash(pipeline, digest), doc


def _with_hash(pipeline: Pipeline, digest: str) -> Pipeline:
    from mlgitops.record import replace

    return replace(pipeline, spec_hash=digest)


def parse_repo_config(source: str, text: str) -> RepoConfig:
    doc, found = parse_yaml(source, text)
    doc, found = (doc, found) if found else _own_tags(source, text, doc)
    if doc is not None:
        found = problems(source, doc, "repo")
    if found:
        raise SpecError(found)
    return build_repo_config(_whole(doc, "repo"))
