"""Spec YAML read by ruamel.yaml, where the fast reader cannot read it exactly, and what
ruamel refuses as positioned problems: a syntax error, a duplicate key, a tag that makes
no value of its text, a key no Python value can be, an unknown ``%YAML`` version.

Imported only where :mod:`.fastyaml` answers ``SLOW``; ruamel.yaml itself only inside
the functions that need it.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlgitops.errors import Problem, first_line
from mlgitops.jsondoc import MAX_DEPTH
from mlgitops.spec import fastyaml

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


def load(source: str, text: str) -> tuple[Any, list[Problem]]:
    """The document ruamel.yaml reads from ``text``, or None and the problem that stops it."""
    try:
        return _load_slow(source, text)
    except AssertionError:  # ruamel's parser asserts a directive's minor version is 1 or 2
        version = _odd_version(source, text)
        why = "YAML: a %YAML directive of a version mlgitops does not read (1.1 and 1.2)"
        return None, [version or Problem(source, 1, 1, why)]


def _load_slow(source: str, text: str) -> tuple[Any, list[Problem]]:
    """:func:`_load` where the fast reader cannot: ruamel.yaml, which knows every place."""
    deep = fastyaml.too_deep(text)
    if deep is not None:
        why = f"collections nested more than {MAX_DEPTH} levels deep"
        return None, [Problem(source, deep[0] + 1, deep[1] + 1, f"YAML: {why}")]
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        doc = _reader().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in reason or "found duplicate key" in str(exc):
            reason = _duplicate_reason(exc)
        return None, [Problem(source, line, col, f"YAML: {reason}")]
    except YAMLError as exc:
        position = getattr(exc, "position", None)  # a character YAML does not allow
        character = getattr(exc, "character", None)
        if isinstance(position, int) and isinstance(character, int | str):
            at = min(position, len(text))
            line = text.count("\n", 0, at) + 1
            col = at - (text.rfind("\n", 0, at) + 1) + 1
            code = character if isinstance(character, int) else ord(character)
            why = f"unacceptable character #x{code:04x}: YAML allows no control characters"
            return None, [Problem(source, line, col, f"YAML: {why}")]
        return None, [Problem(source, 1, 1, f"YAML: {exc}")]
    except (ValueError, RecursionError) as exc:
        return None, [_unreadable(source, text, exc)]
    except (IndexError, KeyError) as exc:  # ruamel, making a value of ``!!bool maybe``
        return None, [_bad_tag(source, text) or _unbuildable(source, text, exc)]
    except (TypeError, AttributeError) as exc:  # ruamel, making values of what parsed
        return None, [_bad_tag(source, text) or _unbuildable(source, text, exc)]
    if doc is None:
        return None, [Problem(source, 1, 1, "the file is empty: expected a mapping")]
    if not isinstance(doc, Mapping):
        return None, [Problem(source, 1, 1, "expected a mapping at the top level")]
    return doc, []


def _reader() -> Any:
    """ruamel.yaml's round-trip reader, whose maps note the maps that merge them (``<<:
    *m``) told apart by identity. ruamel's own compares a new one with each noted before,
    item by item: N maps merging a map of K keys took N * N * K steps, before the limit on
    what aliases add (:mod:`.unusable`) could refuse the document."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.constructor import RoundTripConstructor

    class Referrers(list):  # type: ignore[type-arg]
        """A merged map's referrers (ruamel's ``_ref``), looked up by identity."""

        def __init__(self, noted: list[Any]) -> None:
            super().__init__(noted)
            self.ids = {id(map_) for map_ in noted}

        def __contains__(self, map_: object) -> bool:
            return id(map_) in self.ids

        def append(self, map_: Any) -> None:
            self.ids.add(id(map_))
            super().append(map_)

    class Constructor(RoundTripConstructor):
        def construct_object(self, node: Any, deep: bool = False) -> Any:
            data = super().construct_object(node, deep=deep)
            if isinstance(data, CommentedMap) and not isinstance(data._ref, Referrers):
                data._ref = Referrers(data._ref)
            return data

    yaml = YAML(typ="rt", pure=True)
    yaml.Constructor = Constructor
    return yaml


def _unreadable(source: str, text: str, exc: ValueError | RecursionError) -> Problem:
    """Where YAML that parses holds what Python cannot make a value of: an integer past its
    digit limit, or collections nested deeper than its stack."""
    import re

    if isinstance(exc, RecursionError):
        return Problem(source, 1, 1, "YAML: collections nested too deeply to read")
    found = re.search(r"[-+]?[0-9][0-9_]{4000,}", text)
    tagged = None if found else _bad_tag(source, text)  # ``!!int abc``
    if tagged is not None:
        return tagged
    at = found.start() if found else 0
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return Problem(source, line, col, f"YAML: a value that cannot be read ({exc})")


def _odd_version(source: str, text: str) -> Problem | None:
    """A ``%YAML 1.x`` directive of a minor version other than 1 and 2, at its line."""
    import re

    at_line = r"(?:\A\ufeff?|(?<=[\r\n]))"  # after a byte-order mark, or any line break
    found = re.search(at_line + r"%YAML[ \t]+([0-9]+)\.([0-9]+)", text)
    if found is None or (found.group(1), found.group(2)) in (("1", "1"), ("1", "2")):
        return None
    line = len(re.findall(r"\r\n|\r|\n", text[: found.start()])) + 1
    why = f"%YAML {found.group(1)}.{found.group(2)}: mlgitops reads YAML 1.1 and 1.2"
    return Problem(source, line, 1, f"YAML: {why}")


def _bad_tag(source: str, text: str) -> Problem | None:
    """The first scalar whose explicit tag makes no value of its text (``!!int abc``,
    ``!!bool maybe``, an empty ``!!float``), at its place; None where there is none."""
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    yaml = YAML(typ="rt", pure=True)
    stack, seen = [yaml.compose(text)], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack += [part for pair in reversed(node.value) for part in reversed(pair)]
        elif isinstance(node, SequenceNode):
            stack += reversed(node.value)
        elif isinstance(node, ScalarNode) and _tagged(text, node.start_mark.index):
            try:
                yaml.constructor.construct_object(node, deep=True)
            except Exception:  # whatever ruamel raises: this text makes no value of its tag
                mark, tag = node.start_mark, "!!" + str(node.tag).rsplit(":", 1)[1]
                why = f"{tag} cannot make a value of {node.value!r}"
                return Problem(source, mark.line + 1, mark.column + 1, f"YAML: {why}")
    return None


def _tagged(text: str, at: int) -> bool:
    """Whether the node written at ``at`` has an explicit tag (after its anchor, if any)."""
    import re

    return re.match(r"(&[^ \t\r\n]+[ \t\r\n]+)?!", text[at : at + 1024]) is not None


_MERGES_ITSELF = "`<<` merges a map into itself (its alias names a map that holds it)"
_NESTED_KEY = "a key that is a list or a map may not hold another list or map"


def _unbuildable(source: str, text: str, exc: Exception) -> Problem:
    """Where YAML that parses makes no value: a key holding a list or a map inside a list or
    a map (no Python key can), or a ``<<`` that merges a map into itself."""
    from ruamel.yaml import YAML

    found = _unbuildable_node(YAML(typ="rt", pure=True).compose(text), [], set())
    if found is None:
        return Problem(source, 1, 1, f"YAML: a value that cannot be read ({first_line(exc)})")
    mark, why = found
    return Problem(source, mark.line + 1, mark.column + 1, f"YAML: {why}")


def _unbuildable_node(node: Any, holders: list[Any], seen: set[int]) -> tuple[Any, str] | None:
    """The mark of the first key or ``<<`` under ``node`` that makes no value, and why;
    ``holders``: the collections that hold ``node``."""
    from ruamel.yaml.nodes import CollectionNode, MappingNode

    if not isinstance(node, CollectionNode) or id(node) in seen:
        return None
    seen.add(id(node))
    pairs = node.value if isinstance(node, MappingNode) else [(None, item) for item in node.value]
    within = [*holders, node]
    for key, value in pairs:
        if isinstance(key, CollectionNode) and any(
            isinstance(inner, CollectionNode) for inner in _children(key)
        ):
            return key.start_mark, _NESTED_KEY
        if key is not None and key.tag == "tag:yaml.org,2002:merge":
            merged = value.value if value.tag == "tag:yaml.org,2002:seq" else [value]
            if any(m is h for m in merged for h in within):
                return key.start_mark, _MERGES_ITSELF
        for child in (key, value):
            found = _unbuildable_node(child, within, seen)
            if found is not None:
                return found
    return None


def _children(node: Any) -> list[Any]:
    from ruamel.yaml.nodes import MappingNode

    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value)


def _duplicate_reason(exc: Any) -> str:
    problem = (exc.problem or "").strip()
    # ruamel says: 'found duplicate key "x" with value "..." (original value: "...")'
    key = problem.split('"')[1] if problem.count('"') >= 2 else "?"
    first = exc.context_mark
    where = f" (first defined at line {first.line + 1})" if first else ""
    return f"duplicate key '{key}'{where}"
