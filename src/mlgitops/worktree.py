"""The files a folder of the repository stands for: those a clean checkout will hold.

A ``model.code`` folder in a developer's working tree also holds what never
reaches a commit: editor swap files, ``.DS_Store``, ``*.egg-info``, weights
downloaded locally. Git says which files it tracks or would add (new and not
ignored); those are the folder, for the content key (``train``, ``plan``)
and for ``render``'s Git LFS question alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def files_under(root: Path, folders: Sequence[str], *, own_excludes: bool) -> list[str] | None:
    """The repo-relative paths under ``folders`` that git tracks or would add, sorted;
    None outside a git repository (or without git).

    ``own_excludes``: whether the developer's own excludes (``core.excludesFile``)
    count besides the repository's ``.gitignore`` files. They decide what this
    developer commits (the content key predicts CI's); ``render`` leaves them
    out, so that every developer renders the same. A tracked file always counts,
    even where a pattern ignores it. A nested repository is listed as its folder.
    """
    if not folders:
        return []
    from mlgitops import proc
    from mlgitops.errors import ServiceError

    config = [] if own_excludes else ["-c", "core.excludesFile="]
    listing = ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"]
    try:
        return sorted(set(proc.git_names(*config, *listing, *folders, cwd=root)))
    except ServiceError:  # outside a git repository, or no git on this machine
        return None
