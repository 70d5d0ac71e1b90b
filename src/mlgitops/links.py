"""The files of a checkout that its links lead to: every stage reads an input through its
links, so what affects a pipeline (``plan``, the deploy workflow's path filters) includes
them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def linked(root: Path, inputs: Iterable[str]) -> tuple[str, ...]:
    """The files and folders inside ``root``, a checkout, that links among ``inputs`` lead
    to (an input that is a link, one below a folder that is, a link under an input folder):
    each stage reads an input through its links, so it changes when what they lead to
    does. A link out of ``root`` leads to nothing here (the stages refuse it)."""
    top = root.resolve()
    found: list[str] = []
    for item in inputs:
        path = top / item
        places = [path]
        if path.is_dir() and not path.is_symlink():
            places += sorted(p for p in path.rglob("*") if p.is_symlink())
        for place in places:
            try:
                real = place.resolve()
            except (OSError, RuntimeError):  # a loop of links: no file
                continue
            lexical = Path(os.path.normpath(place))
            if real != lexical and real.is_relative_to(top) and real != top:
                found.append(real.relative_to(top).as_posix())
    return tuple(dict.fromkeys(found))
