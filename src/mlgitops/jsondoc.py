"""JSON documents from files a user, a pull request or a fork's artifact can write.

Python's parser recurses once per level of nesting: a document nested deeper than the
interpreter's recursion limit (``[`` 100,000 times is 100 KB) raises RecursionError, and a
document just under it parses but can exhaust the stack of whatever walks it next. No
document mlgitops hands on is more than a few levels deep, so anything deeper than
:data:`MAX_DEPTH` is refused as bad input, whatever the stack depth of the reader.
"""

from __future__ import annotations

import json

from mlgitops.errors import BadInput

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

#: The deepest nesting a document may have (an object or array is one level): JSON here, and
#: the YAML of specs (:func:`mlgitops.spec.fastyaml.too_deep`).
MAX_DEPTH = 100
#: The most bytes a hand-off document may hold (train.json, verdict.json, ...: kilobytes
#: where mlgitops writes them; an artifact could be anything, and is refused past this).
MAX_BYTES = 8 * 1024 * 1024


def within_limit(size: int, shown: str) -> None:
    """BadInput naming ``shown`` where a document of ``size`` bytes is larger than any
    hand-off document (:data:`MAX_BYTES`)."""
    if size > MAX_BYTES:
        raise BadInput(
            f"{shown}: {size:,} bytes, more than the {MAX_BYTES:,} a hand-off document may have"
        )


def read_bytes(path: Path, shown: str) -> bytes:
    """The bytes of the regular file at ``path``, its size checked before it is read
    (:func:`within_limit`); OSError where it cannot be read."""
    import os

    from mlgitops import fsio

    within_limit(os.stat(path).st_size, shown)
    return fsio.read_file(path)


def read(path: Path, shown: str) -> Any:
    """The document in the regular file at ``path`` (:func:`read_bytes`, then
    :func:`loads`)."""
    return loads(read_bytes(path, shown), shown)


def text(data: bytes, shown: str) -> str:
    """``data`` as UTF-8 text; BadInput naming ``shown`` where it is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{shown}: not UTF-8 text ({exc.reason})") from exc


class _Unheld(str):
    """A number written past what a float holds (``1e400``, an integer of 400 digits), kept
    as its text until its place in the document is found."""


def loads(document: str | bytes, shown: str) -> Any:
    """``json.loads(document)``; BadInput naming ``shown`` where it is nested deeper than
    :data:`MAX_DEPTH`, or holds a number Python will not convert, or one no float holds
    (every reader does arithmetic in floats: an integer of 400 digits overflows it).
    Malformed JSON is the caller's ValueError (JSONDecodeError) to word."""
    unheld: list[str] = []

    def integer(text: str) -> Any:
        value = int(text)
        if len(text) < 300:  # float's largest has 309 digits
            return value
        try:
            float(value)
        except OverflowError:
            unheld.append(text)
            return _Unheld(text)
        return value

    def floating(text: str) -> Any:
        value = float(text)
        if value - value == 0:  # neither inf nor NaN
            return value
        unheld.append(text)
        return _Unheld(text)

    try:
        doc = json.loads(document, parse_int=integer, parse_float=floating)
    except RecursionError:
        raise BadInput(_too_deep(shown)) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # a number of more digits than Python converts (4,300)
        why = str(exc).split(";", 1)[0]  # not Python's advice on raising the limit
        raise BadInput(f"{shown}: not valid JSON ({why})") from exc
    if _deeper_than(doc, MAX_DEPTH):
        raise BadInput(_too_deep(shown))
    if unheld:
        where, text = _unheld(doc)
        number = f"a number of {len(text.lstrip('-'))} digits" if len(text) > 24 else text
        raise BadInput(f"{shown}: at {where}: {number} is more than a float holds")
    return doc


def _unheld(doc: Any) -> tuple[str, str]:
    """The place and text of the first number no float holds (a level at a time, as
    :func:`_deeper_than` walks); only asked where the parse made one."""
    level: list[tuple[str, Any]] = [("", doc)]
    while level:
        deeper = []
        for where, value in level:
            if isinstance(value, _Unheld):
                return where or "the top", str(value)
            if isinstance(value, dict):
                deeper += [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
            elif isinstance(value, list):
                deeper += [(f"{where}[{i}]", v) for i, v in enumerate(value)]
        level = deeper
    raise AssertionError("a number no float holds was parsed, and is nowhere")


def _too_deep(shown: str) -> str:
    return f"{shown}: not valid JSON (nested more than {MAX_DEPTH} levels deep)"


def _deeper_than(doc: Any, limit: int) -> bool:
    """Whether ``doc`` nests objects and arrays more than ``limit`` levels deep (a level at
    a time, without recursion)."""
    level = [doc] if isinstance(doc, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True
