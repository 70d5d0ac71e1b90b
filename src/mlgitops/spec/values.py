"""Predicates over loaded YAML values that the spec's and the repository's rules share."""

from __future__ import annotations

import math
import re
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


#: Characters no generated file may carry: C0 controls but tab and newline, DEL, C1 controls
#: (YAML files may hold none of them, kustomize refuses to write them, GitHub's workflow
#: files are YAML), and the noncharacters U+FFFE and U+FFFF.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


def control_characters(node: Any, path: list[Key]) -> Iterator[tuple[list[Key], bool, str]]:
    """Where a key (True) or a text (False) under ``node`` holds a :data:`CONTROL`
    character, and the first such character."""
    if isinstance(node, str):
        found = CONTROL.search(node)
        if found:
            yield path, False, found.group()
    elif isinstance(node, dict):
        for key, value in node.items():
            found = CONTROL.search(key) if isinstance(key, str) else None
            if found:
                yield [*path, key], True, found.group()
            yield from control_characters(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from control_characters(value, [*path, index])
