"""Deterministic YAML text for generated manifests.

Key order is the order the builder wrote (Kubernetes' own: ``apiVersion``,
``kind``, ``metadata``, ``spec``), sequences are indented under their key,
multi-line strings are literal blocks, and lines are never folded, so a value
is always on the line one expects it on (``deploy`` edits one such line).

The text is PyYAML's (``SafeDumper``, the layout above), byte for byte, but for
text Go's YAML reads as other than text (``y``, ``n``, ``1e3``, ``0o17``), which is
written quoted. The
documents mlgitops writes (mappings, lists, plain text, numbers) are written
here directly, which is many times faster than PyYAML's pure-Python emitter
and needs no import of it; anything outside that subset (text with characters
beyond printable ASCII, a block scalar needing indicators, an object shared
twice) is handed to PyYAML itself. Tests compare both on every generated file
and on a corpus of awkward strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: PyYAML's implicit resolvers (YAML 1.1), as ``yaml.resolver.Resolver`` spells them:
#: a plain scalar matching one of these would read back as something other than text.
IMPLICIT = {
    "bool": re.compile(
        """^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$""",
        re.X,
    ),
    "float": re.compile(
        """^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*
                    |[-+]?\\.(?:inf|Inf|INF)
                    |\\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    "int": re.compile(
        """^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""",
        re.X,
    ),
    "merge": re.compile("^(?:<<)$", re.X),
    "null": re.compile(
        """^(?: ~
                    |null|Null|NULL
                    | )$""",
        re.X,
    ),
    "timestamp": re.compile(
        """^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \\t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\\.[0-9]*)?
                     (?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        re.X,
    ),
    "value": re.compile("^(?:=)$", re.X),
    "yaml": re.compile("^(?:!|&|\\*)$", re.X),
}
#: The first characters each resolver is tried for (PyYAML looks them up this way).
_FIRST = {
    "bool": "yYnNtTfFoO",
    "float": "-+0123456789.",
    "int": "-+0123456789",
    "merge": "<",
    "null": "~nN",
    "timestamp": "0123456789",
    "value": "=",
    "yaml": "!&*",
}
#: Text PyYAML reads back as text that Go's YAML (kubectl, kustomize, Argo CD, Helm) reads
#: as something else, so it is written quoted: YAML 1.1's booleans ``y`` and ``n``, and
#: numbers as go-yaml resolves them: every ``_`` removed, then an integer as Go's
#: ``strconv.ParseInt(s, 0, 64)`` reads one (``0X1F``, ``0B11``, ``0O17``, ``0o17``), or a
#: float (``1e3``, ``1e1_0``). A text starting otherwise than go-yaml's numbers do may be
#: quoted where it need not be, never the reverse.
_GO_BOOLEAN = re.compile(r"[yYnN]")
_GO_NUMBER = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+"
    r"|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)"
)


def plain_reads_back(value: str) -> bool:
    """Whether ``value`` written plain (unquoted, as a chart's template writes it) is read
    back as this text, by PyYAML (YAML 1.1) and by Go's YAML."""
    if not value or len(value) > _LONGEST or not value.isprintable():
        return False
    return _plain_allowed(value) and _resolves_to_text(value) and not go_not_text(value)


def go_not_text(value: str) -> bool:
    """Whether Go's YAML reads ``value``, written plain, as other than text."""
    return bool(_GO_BOOLEAN.fullmatch(value) or _GO_NUMBER.fullmatch(value.replace("_", "")))


_PRINTABLE = re.compile(r"[\x20-\x7e]*\Z")
_LITERAL = re.compile(r"[\x20-\x7e\n]*\Z")
_LEADING = "#,[]{}&*!|>'\"%@`"
_LONGEST = 2000  # longer text could be folded at PyYAML's width: PyYAML writes it
#: A literal block is never folded (a canary analysis' query runs to a few thousand
#: characters); past this, PyYAML writes it.
_LONGEST_BLOCK = 65536


class _Unsupported(Exception):
    """Outside what this writer does exactly as PyYAML: PyYAML writes the document."""


def _by_first() -> dict[str, tuple[re.Pattern[str], ...]]:
    table: dict[str, list[re.Pattern[str]]] = {}
    for name, chars in _FIRST.items():
        for char in chars:
            table.setdefault(char, []).append(IMPLICIT[name])
    return {char: tuple(patterns) for char, patterns in table.items()}


_BY_FIRST = _by_first()


def _resolves_to_text(value: str) -> bool:
    """Whether PyYAML would read ``value``, written plain, back as text."""
    if not value:
        return False
    patterns = _BY_FIRST.get(value[0])
    return patterns is None or not any(p.match(value) for p in patterns)


def _plain_allowed(value: str) -> bool:
    """PyYAML's analysis of a one-line printable scalar: may it be plain in block context?"""
    if value[0] == " " or value[-1] == " " or value[0] in _LEADING:
        return False
    if value[0] in "?:-" and (len(value) == 1 or value[1] == " "):
        return False
    return ": " not in value and not value.endswith(":") and " #" not in value


#: Text already written as a scalar: the same keys and values recur in every manifest.
_WRITTEN: dict[str, str] = {}
_WRITTEN_MOST = 1 << 14


def _scalar(value: Any) -> str:
    """A scalar on one line (plain or single-quoted), as PyYAML writes it."""
    if type(value) is str:
        written = _WRITTEN.get(value)
        if written is None:
            written = _text(value)
            if len(_WRITTEN) < _WRITTEN_MOST:
                _WRITTEN[value] = written
        return written
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if not isinstance(value, str):
        raise _Unsupported
    return _text(value)


def _text(value: str) -> str:
    if len(value) > _LONGEST or not _PRINTABLE.match(value):
        raise _Unsupported
    plain = value and _plain_allowed(value) and _resolves_to_text(value)
    if plain and not go_not_text(value):
        return value
    return "'" + value.replace("'", "''") + "'"


def _float(value: float) -> str:
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text


def _literal(value: str, indent: int) -> list[str]:
    """A multi-line text as a literal block (``|`` or ``|-``), content at ``indent``."""
    lines = value.split("\n")
    if (
        len(value) > _LONGEST_BLOCK
        or not _LITERAL.match(value)
        or value[0] in " \n"
        or value.endswith("\n\n")
        or any(line.endswith(" ") for line in lines)
    ):
        raise _Unsupported
    head = "|" if value.endswith("\n") else "|-"
    body = lines[:-1] if value.endswith("\n") else lines
    pad = " " * indent
    return [head, *("\n" + (pad + line if line else "") for line in body)]


#: Keys already written, with their colon.
_KEYS: dict[str, str] = {}


def _key(key: Any) -> str:
    """A mapping key as PyYAML writes it, with its colon (on one line, short)."""
    # PyYAML writes a key of 128 characters or more, its tag ``!!str`` counted, as ``? key``
    if not isinstance(key, str) or not key or "\n" in key or len(key) + len("!!str") >= 128:
        raise _Unsupported
    written = _scalar(key) + ":"
    if type(key) is str and len(_KEYS) < _WRITTEN_MOST:
        _KEYS[key] = written
    return written


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self._seen: set[int] = set()

    def _once(self, value: object) -> None:
        if id(value) in self._seen:  # PyYAML would write an anchor and an alias
            raise _Unsupported
        self._seen.add(id(value))

    def mapping(self, value: Mapping[Any, Any], indent: int, first_inline: bool) -> None:
        """Block mapping at ``indent``; the first key continues the current line if asked."""
        self._once(value)
        out, pad, first = self.out, "\n" + " " * indent, first_inline
        for key, item in value.items():
            if not first:
                out.append(pad)
            first = False
            out.append((_KEYS.get(key) if type(key) is str else None) or _key(key))
            if type(item) is str and "\n" not in item:  # most values: text on the key's line
                out.append(" ")
                out.append(_scalar(item))
            else:
                self.value(item, indent)

    def sequence(self, value: list[Any], indent: int, first_inline: bool) -> None:
        self._once(value)
        for index, item in enumerate(value):
            if not (first_inline and index == 0):
                self.out.append("\n" + " " * indent)
            self.out.append("-")
            self.item(item, indent)

    def value(self, item: Any, indent: int) -> None:
        """What follows ``key:`` in a mapping at ``indent``."""
        if isinstance(item, dict) and item:
            self.mapping(item, indent + 2, first_inline=False)
        elif isinstance(item, list) and item:
            self.sequence(item, indent + 2, first_inline=False)
        else:
            self.out.append(" ")
            self.leaf(item, indent + 2)

    def item(self, item: Any, indent: int) -> None:
        """What follows ``-`` in a sequence at ``indent``."""
        self.out.append(" ")
        if isinstance(item, dict) and item:
            self.mapping(item, indent + 2, first_inline=True)
        elif isinstance(item, list) and item:
            self.sequence(item, indent + 2, first_inline=True)
        else:
            self.leaf(item, indent + 2)

    def leaf(self, item: Any, indent: int) -> None:
        if isinstance(item, dict | list):  # empty: flow style
            self._once(item)
            self.out.append("{}" if isinstance(item, dict) else "[]")
        elif isinstance(item, str) and "\n" in item:
            self.out.extend(_literal(item, indent))
        else:
            self.out.append(_scalar(item))


def _fast(data: dict[str, Any] | list[Any]) -> str:
    writer = _Writer()
    if isinstance(data, dict):
        if not data:
            return "{}\n"
        writer.mapping(data, 0, first_inline=True)
    else:
        if not data:
            return "[]\n"
        writer.sequence(data, 0, first_inline=True)
    return "".join(writer.out) + "\n"


def pyyaml_dump(data: Any) -> str:
    """PyYAML's text for ``data`` in this module's style (the reference the fast path matches)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        """SafeDumper that indents block sequences under their mapping key."""

        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

    def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        if go_not_text(value):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    _Dumper.add_representer(str, _represent_str)
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )


def _dump(data: dict[str, Any] | list[Any]) -> str:
    try:
        return _fast(data)
    except _Unsupported:
        return pyyaml_dump(data)


def dump(document: Mapping[str, Any]) -> str:
    """One YAML document, block style, in insertion order."""
    return _dump(dict(document))


def dump_list(items: Iterable[Any]) -> str:
    """A top-level block sequence (such as JSON patch operations), in the style of ``dump``."""
    return _dump(list(items))
