"""Spec YAML through libyaml, read as ruamel.yaml reads it (YAML 1.2), with positions.

ruamel.yaml's round-trip loader is the reference (it names every error's place)
but it is pure Python: loading a hundred specs with it takes most of a second.
libyaml (PyYAML's C parser) composes the same document into nodes with marks
in a fraction of that; this module turns those nodes into plain values with the
positions ``locate`` needs, resolving plain scalars by YAML 1.2's core schema as
ruamel does. Whatever it cannot read exactly as ruamel would (a YAML error, a
duplicate key, a tag, an alias, a merge key, a scalar whose reading differs
between YAML 1.1 and 1.2, such as ``yes``, ``010`` or ``1:30``, a character
only YAML 1.1 reads as a line break, collections nested more than
:data:`~mlgitops.jsondoc.MAX_DEPTH` levels deep) makes it answer :data:`SLOW`,
and the caller loads the text with ruamel instead, unless :func:`too_deep`
finds where it nests too deeply: ruamel's reading takes time that grows with
the square of the depth, and seconds before it gives up. Tests compare both
readings on every spec of the test suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from mlgitops.jsondoc import MAX_DEPTH

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: The answer when only ruamel.yaml can read the text exactly.
SLOW = object()

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)\Z")
#: A leading dot that may make a number (``.5``, ``.inf``): ruamel decides.
_DOTTED = re.compile(r"\.(?:[0-9]|inf|Inf|INF|nan|NaN|NAN)")
#: Text in YAML 1.1 and 1.2 alike although it starts with a digit: durations, sizes.
_UNIT = re.compile(r"[1-9][0-9]*[a-zA-Z][a-zA-Z0-9]*\Z")
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
#: Plain scalars that YAML 1.1 reads as booleans: ruamel decides (by the version it reads).
_WORDS = re.compile(r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|<<|=)\Z")


#: Characters libyaml reads as line breaks (YAML 1.1) that YAML 1.2 reads as text: NEL, LS, PS.
_YAML_1_1_BREAKS = ("\x85", "\u2028", "\u2029")

#: The tag PyYAML's safe loader gives each plain scalar read so far: keys and values recur
#: from spec to spec.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MOST = 1 << 14


class _Slow(Exception):
    """Outside what this reader reads exactly as ruamel.yaml."""


class PositionedMap(dict[str, "Any"]):
    """A mapping that knows where each key and value starts (0-based line, column)."""

    def __init__(self) -> None:
        super().__init__()
        self.key_marks: dict[str, tuple[int, int]] = {}
        self.value_marks: dict[str, tuple[int, int]] = {}


class PositionedList(list["Any"]):
    """A sequence that knows where each item starts (0-based line, column)."""

    def __init__(self) -> None:
        super().__init__()
        self.item_marks: list[tuple[int, int]] = []


def load(text: str) -> Any:
    """The document, or :data:`SLOW` when ruamel.yaml must read it."""
    if any(character in text for character in _YAML_1_1_BREAKS):
        return SLOW
    try:
        import yaml

        loader_class = yaml.CSafeLoader
    except (ImportError, AttributeError):
        return SLOW
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return SLOW
        return _Builder(loader).build(node, 1)
    except (yaml.YAMLError, _Slow, RecursionError, ValueError):
        return SLOW  # ruamel.yaml reads it, or says where it cannot
    finally:
        loader.dispose()


def too_deep(text: str) -> tuple[int, int] | None:
    """Where ``text`` first reaches more than :data:`MAX_DEPTH` levels of collections
    (0-based line, column; the document's own collection is the first level, and an alias
    reaches as deep as the collection it names), found in a parser's events, which need no
    recursion: libyaml's, or ruamel.yaml's where libyaml refuses the text for another
    reason (ruamel reads it next). None where it nests no deeper, or where it stops being
    YAML first (ruamel names that)."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return _deepest(_events(text, loader_class), yaml)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        if mark is not None and "nesting depth" in str(exc.problem):
            # libyaml's own limit, 1,000 levels, can stop it while it scans ahead, before
            # its events reach our level past the limit. The text before that place holds
            # that level, and ends where every key it scans ahead for is settled; where it
            # does not read (a flow collection as a key), libyaml's place is past the limit
            # too, if not the first such place.
            try:
                return _deepest(_events(text[: mark.index], loader_class), yaml) or (
                    mark.line,
                    mark.column,
                )
            except yaml.YAMLError:
                return mark.line, mark.column
    except yaml.YAMLError:
        pass
    from ruamel.yaml import YAML, events
    from ruamel.yaml.error import YAMLError

    try:
        return _deepest(YAML(typ="rt", pure=True).parse(text), events)
    except YAMLError:
        return None


def _events(text: str, loader_class: Any) -> Iterator[Any]:
    loader = loader_class(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def _deepest(events: Iterable[Any], kinds: Any) -> tuple[int, int] | None:
    """The place of the first collection, or alias of one, in ``events`` that reaches past
    :data:`MAX_DEPTH` levels. ``kinds``: the module of the events' classes (PyYAML's and
    ruamel.yaml's are alike)."""
    opens = (kinds.MappingStartEvent, kinds.SequenceStartEvent)
    closes = (kinds.MappingEndEvent, kinds.SequenceEndEvent)
    heights: dict[str, int] = {}  # each anchored collection's levels, its own included
    open_: list[list[Any]] = []  # each open collection's anchor and deepest level under it
    for event in events:
        if isinstance(event, closes):
            anchor, deepest = open_.pop()
            if anchor is not None:
                heights[anchor] = deepest - len(open_)
            if open_:
                open_[-1][1] = max(open_[-1][1], deepest)
            continue
        if isinstance(event, opens):
            open_.append([event.anchor, len(open_) + 1])
            reached = len(open_)
        elif isinstance(event, kinds.AliasEvent):
            reached = len(open_) + heights.get(event.anchor, 0)
        else:
            continue
        if reached > MAX_DEPTH:
            start = event.start_mark  # both parsers give one
            return (start.line, start.column) if start else (0, 0)
        if open_:
            open_[-1][1] = max(open_[-1][1], reached)
    return None


def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line, node.start_mark.column


class _Builder:
    def __init__(self, loader: Any) -> None:
        import yaml

        self._yaml = yaml
        self._loader = loader
        self._seen: set[int] = set()

    def build(self, node: Any, depth: int) -> Any:
        """``node`` as a value; ``depth`` is its level if it is a collection."""
        if id(node) in self._seen:  # an alias: ruamel keeps its own kind of shared object
            raise _Slow
        self._seen.add(id(node))
        if isinstance(node, self._yaml.MappingNode | self._yaml.SequenceNode):
            if depth > MAX_DEPTH:  # refused, at its place, by the caller (too_deep)
                raise _Slow
            if isinstance(node, self._yaml.MappingNode):
                return self._mapping(node, depth + 1)
            return self._sequence(node, depth + 1)
        return self._scalar(node)

    def _mapping(self, node: Any, inner: int) -> PositionedMap:
        if node.tag != "tag:yaml.org,2002:map":
            raise _Slow
        out = PositionedMap()
        for key_node, value_node in node.value:
            key = self.build(key_node, inner)
            if not isinstance(key, str) or key in out:  # ruamel names the duplicate
                raise _Slow
            out[key] = self.build(value_node, inner)
            out.key_marks[key] = _mark(key_node)
            out.value_marks[key] = _mark(value_node)
        return out

    def _sequence(self, node: Any, inner: int) -> PositionedList:
        if node.tag != "tag:yaml.org,2002:seq":
            raise _Slow
        out = PositionedList()
        for item in node.value:
            out.append(self.build(item, inner))
            out.item_marks.append(_mark(item))
        return out

    def _scalar(self, node: Any) -> Any:
        value: str = node.value
        if node.style:  # quoted or a block scalar: text, unless tagged
            if node.tag != "tag:yaml.org,2002:str":
                raise _Slow
            return value
        implicit = _RESOLVED.get(value)
        if implicit is None:
            implicit = self._loader.resolve(self._yaml.ScalarNode, value, (True, False))
            if len(_RESOLVED) < _RESOLVED_MOST:
                _RESOLVED[value] = implicit
        if node.tag != implicit:  # an explicit tag
            raise _Slow
        return _plain(value)


def _plain(value: str) -> Any:
    """A plain scalar by YAML 1.2's core schema, where YAML 1.1 could disagree: slow."""
    if value in _NULL:
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    if _UNIT.match(value):
        return value
    if value[0] in "-+0123456789" or _DOTTED.match(value) or _WORDS.match(value):
        raise _Slow
    return value
