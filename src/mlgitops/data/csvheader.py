"""A CSV file's header record: its column names as pandas names them, the line it starts
on, and how many lines and bytes it takes (a byte-order mark included)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import NamedTuple

from mlgitops.data.csvscan import Problem, records
from mlgitops.errors import DataError


class Header(NamedTuple):
    """The header record: its names (one left empty named as pandas names it), the line it
    starts on, its physical lines, and its size in bytes (a byte-order mark included)."""

    names: list[str]
    line: int
    lines: int
    size: int


def read_header(path: Path, display: str) -> Header:
    """The header of the file at ``path``; a DataError (naming the file ``display``) where
    the file is empty or its first record is not CSV."""
    if path.stat().st_size == 0:
        raise DataError(f"{display}: the file is empty (no header, no rows)")
    try:
        for line, names, lines in records(path):
            text = "".join(lines).encode()
            with path.open("rb") as handle:
                mark = handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
            size = len(text) + (len(codecs.BOM_UTF8) if mark else 0)
            return Header(_unnamed(names), line, len(text.splitlines()), size)
    except Problem as exc:
        raise DataError(f"{display}:{exc}") from exc
    raise DataError(f"{display}: the file is empty (no header, no rows)")


def _unnamed(names: list[str]) -> list[str]:
    """``names`` with each empty one named as pandas names it: ``Unnamed: <index>``, or,
    where the header writes that name itself, the next ``Unnamed: <index>.<n>`` it does
    not (pandas gives the written names theirs first)."""
    taken = set(names)
    named = []
    for i, name in enumerate(names):
        if not name:
            name = base = f"Unnamed: {i}"
            suffix = 0
            while name in taken:
                suffix += 1
                name = f"{base}.{suffix}"
            taken.add(name)
        named.append(name)
    return named
