"""Documents no reader should walk: aliases that expand past :data:`MAX_VALUES` values,
and text no UTF-8 writer can write (a lone surrogate)."""

from __future__ import annotations

from collections.abc import Mapping

from mlgitops.errors import Problem
from mlgitops.spec.positions import Key, dotted, locate

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: The most values (collections, keys and scalars) a document's aliases may add once
#: expanded: a few aliases of aliases can stand for billions, which every reader would walk.
#: (What is written out is never too much: a schema of 40,000 columns holds 120,000.)
MAX_VALUES = 100_000
_SURROGATE = "holds a lone surrogate (an escape such as \\ud800), which is no character"


def usable(source: str, text: str, doc: Any) -> tuple[Any, list[Problem]]:
    """``doc``, or None and the problems that make it one no reader should walk: aliases
    that expand past :data:`MAX_VALUES`, or text that no UTF-8 writer can write."""
    size, surrogates = unusable(doc)
    if size > MAX_VALUES:  # what the aliases add
        line, col = _first_alias(text)
        why = f"its aliases expand to more than {MAX_VALUES:,} values"
        return None, [Problem(source, line, col, f"YAML: {why}")]
    found = [  # the place escaped: a message must be writable too (validation.json)
        Problem(
            source, *locate(doc, path, at_key=at_key), f"{_escaped(dotted(path))}: {_SURROGATE}"
        )
        for path, at_key in surrogates
    ]
    return (None, found) if found else (doc, [])


def unusable(doc: Any) -> tuple[int, list[tuple[list[Key], bool]]]:
    """How many values (keys included) expanding ``doc``'s aliases adds to those written,
    and where a key (True) or a text (False) holds a lone surrogate (``"\\ud800"`` in a
    double-quoted scalar). Each shared collection is walked once, so the time does not grow
    with the expansion; the places are looked for only where the first walk saw a
    surrogate."""
    sizes: dict[int, int] = {}
    seen = False
    written = 0  # the values written: each collection once, with its own keys and values

    def size(node: Any) -> int:
        nonlocal seen, written
        if not isinstance(node, Mapping | list | tuple):  # a key may be a collection: a tuple
            if isinstance(node, str):
                seen = seen or (not node.isascii() and _surrogate(node))
            return 1
        known = sizes.get(id(node))
        if known is None:
            own = _own_items(node)
            written += 1 + sum(1 for item in own if not isinstance(item, Mapping | list | tuple))
            items = [*node.keys(), *node.values()] if isinstance(node, Mapping) else node
            known = sizes[id(node)] = 1 + sum(map(size, items))
        return known

    total = size(doc)
    added = total - written if isinstance(doc, Mapping | list | tuple) else 0
    return added, _surrogates(doc, [], set()) if seen and added <= MAX_VALUES else []


def _own_items(node: Mapping[Any, Any] | list[Any] | tuple[Any, ...]) -> list[Any]:
    """The keys and values a collection writes itself: a mapping's without those a merge
    key (``<<: *m``) copies in, which ruamel keeps apart (``_ok``, its own keys)."""
    if not isinstance(node, Mapping):
        return list(node)
    own = getattr(node, "_ok", None)
    keys = [k for k in node if own is None or k in own]
    return [*keys, *(node[k] for k in keys)]


def _escaped(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (``\\ud800``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")  # a lone surrogate is all it refuses
    except UnicodeEncodeError:
        return True
    return False


def _surrogates(node: Any, path: list[Key], done: set[int]) -> list[tuple[list[Key], bool]]:
    """Where a key (True) or a text (False) under ``node`` holds a lone surrogate, each
    shared collection looked into once."""
    if isinstance(node, str):
        return [(path, False)] if _surrogate(node) else []
    if not isinstance(node, Mapping | list | tuple) or id(node) in done:
        return []
    done.add(id(node))
    found: list[tuple[list[Key], bool]] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(key, str) and _surrogate(key):
                found.append(([*path, key], True))
            found += _surrogates(value, [*path, key], done)
    else:
        for index, item in enumerate(node):
            found += _surrogates(item, [*path, index], done)
    return found


def _first_alias(text: str) -> tuple[int, int]:
    """The place (1-based line, column) of the document's first alias."""
    from ruamel.yaml import YAML, events

    for event in YAML(typ="rt", pure=True).parse(text):
        if isinstance(event, events.AliasEvent) and event.start_mark is not None:
            return event.start_mark.line + 1, event.start_mark.column + 1
    return 1, 1
