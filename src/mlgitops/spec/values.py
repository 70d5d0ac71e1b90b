"""Predicates over loaded YAML values that the spec's and the repository's rules share."""

from __future__ import annotations

import math
from collections.abc import Iterator

from mlgitops.spec.positions import Key

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


def not_finite(node: Any, path: list[Key]) -> Iterator[list[Key]]:
    """Where the document holds a float that is no finite number (``.nan``, ``.inf``): it
    breaks no bound a JSON Schema sets, and every computation it reaches."""
    if isinstance(node, float) and not math.isfinite(node):
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from not_finite(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from not_finite(value, [*path, index])


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
