"""Terminal output: the one module that writes to stdout and stderr.

On GitHub Actions (``GITHUB_ACTIONS=true``) long steps fold into
``::group::`` blocks and problems become ``::error`` annotations; on a
terminal they show progress instead; elsewhere they stay quiet.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Notices already given during this command (each is given once).
_NOTICED: set[str] = set()


def begin_command() -> None:
    """Start a command afresh: notices given by an earlier one may be given again."""
    _NOTICED.clear()


def notice_once(text: str) -> None:
    """A line on stderr, given at most once per command however often it is asked for."""
    if text not in _NOTICED:
        _NOTICED.add(text)
        error_line(text)


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def line(text: str = "") -> None:
    """A line of normal output on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def write(text: str) -> None:
    """Text on stdout as it is (a diff, a rendered comment)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def error_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line_no: int | None = None,
    title: str | None = None,
    col: int | None = None,
) -> str:
    """A GitHub workflow command such as ``::error file=a.csv,line=3::message``."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
    if line_no:
        props.append(f"line={line_no}")
    if line_no and col:
        props.append(f"col={col}")
    if title:
        props.append(f"title={_escape_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{_escape_data(message)}"


@contextmanager
def group(title: str) -> Iterator[None]:
    """Fold the output of a long step in Actions logs; time it on a terminal."""
    if in_actions():
        line(f"::group::{title}")
        try:
            yield
        finally:
            line("::endgroup::")
        return
    start = time.perf_counter()
    tty = sys.stderr.isatty()
    if tty:
        sys.stderr.write(f"… {title}\r")
        sys.stderr.flush()
    yield
    if tty:
        sys.stderr.write(f"✓ {title} ({time.perf_counter() - start:.1f}s)\n")
        sys.stderr.flush()


@contextmanager
def untrusted_output() -> Iterator[None]:
    """Echo untrusted text with workflow commands disabled (``::stop-commands::``)."""
    if not in_actions():
        yield
        return
    token = os.urandom(16).hex()
    line(f"::stop-commands::{token}")
    try:
        yield
    finally:
        line(f"::{token}::")


def shows_progress() -> bool:
    """Whether progress may be drawn: stderr is a terminal, and not an Actions log."""
    return sys.stderr.isatty() and not in_actions()


def status(text: str) -> None:
    """Rewrite the one-line progress indicator on a terminal (stderr); nothing elsewhere."""
    if shows_progress():
        sys.stderr.write(f"\r\x1b[K{text}")
        sys.stderr.flush()
