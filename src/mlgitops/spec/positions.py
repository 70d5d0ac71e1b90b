"""Map a location in a loaded YAML document back to ``line:col`` (1-based)."""

from __future__ import annotations

from collections.abc import Sequence

from mlgitops.spec.fastyaml import PositionedList, PositionedMap

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

Key = str | int


def dotted(path: Sequence[Key]) -> str:
    """``('deploy', 'environments', 1, 'name')`` -> ``deploy.environments[1].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _child(node: Any, key: Key) -> Any:
    if isinstance(node, dict) and key in node:
        return node[key]
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def locate(root: Any, path: Sequence[Key], *, at_key: bool = False) -> tuple[int, int]:
    """Position of the node at ``path``; with ``at_key``, of its key in the parent mapping.

    Falls back to the deepest ancestor that has a position when the path does
    not resolve all the way (the node may be missing: that is often the error).
    """
    best = (1, 1)
    node = root
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        pos = _position_in(node, key, key_side=at_key and last)
        if pos is None:
            return best
        best = pos
        node = _child(node, key)
        if node is None and not last:
            return best
    return best


def _position_in(node: Any, key: Key, *, key_side: bool) -> tuple[int, int] | None:
    if isinstance(node, PositionedMap) and key in node:
        line, col = node.key_marks[str(key)] if key_side else node.value_marks[str(key)]
        return line + 1, col + 1
    if isinstance(node, PositionedList) and isinstance(key, int) and 0 <= key < len(node):
        line, col = node.item_marks[key]
        return line + 1, col + 1
    if not hasattr(node, "lc"):  # only ruamel.yaml's containers carry positions
        return None
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    try:
        if isinstance(node, CommentedMap) and key in node:
            line, col = node.lc.key(key) if key_side else node.lc.value(key)
            return line + 1, col + 1
        if isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line, col = node.lc.item(key)
            return line + 1, col + 1
    except (KeyError, TypeError, AttributeError):
        return None
    return None
