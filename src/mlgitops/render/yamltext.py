"""Deterministic YAML text for generated manifests.

Key order is the order the builder wrote (Kubernetes' own: ``apiVersion``,
``kind``, ``metadata``, ``spec``), sequences are indented under their key,
multi-line strings are literal blocks, and lines are never folded, so a value
is always on the line one expects it on (``deploy`` edits one such line).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents block sequences under their mapping key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )


def dump(document: Mapping[str, Any]) -> str:
    """One YAML document, block style, in insertion order."""
    return _dump(dict(document))


def dump_list(items: Iterable[Any]) -> str:
    """A top-level block sequence (such as JSON patch operations), in the style of ``dump``."""
    return _dump(list(items))
