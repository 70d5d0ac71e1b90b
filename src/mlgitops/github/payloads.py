"""What mlgitops reads out of GitHub's JSON: the event that started the workflow, time
stamps, and the paths of a pull request's file list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from mlgitops import jsondoc
from mlgitops.errors import BadInput
from mlgitops.github import JSON


def seconds_of(stamp: Any) -> float | None:
    """GitHub's ISO 8601 time stamp (``2025-01-01T00:00:00Z``) in epoch seconds; None when
    there is none or it is not one."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def paths_of(entries: list[JSON]) -> list[str]:
    """Every path of a pull request's file list (a renamed file's old path too)."""
    return [
        str(path)
        for entry in entries
        for path in (entry.get("filename"), entry.get("previous_filename"))
        if path
    ]


def event_from_env(environ: Mapping[str, str]) -> JSON:
    """The payload of the event that started the workflow (``$GITHUB_EVENT_PATH``); empty
    where there is none (not in GitHub Actions). BadInput names a file that does not read
    as a JSON object."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return {}
    try:
        doc = jsondoc.loads(Path(path).read_bytes(), path)
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read the GitHub event payload ({exc})") from exc
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: the GitHub event payload is not a JSON object")
    return doc
