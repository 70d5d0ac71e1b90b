"""Markdown building blocks that keep untrusted text inert, and the clean cut.

Strings from hand-off documents (column names, data values, gate reasons,
summaries) may come from a fork's artifact. Prose goes through
:func:`escape` (Markdown and HTML punctuation escaped, ``@mentions`` broken,
one line); values go through :func:`code` (a code span whose fence is longer
than any backtick run inside); table cells through :func:`cell`; links only
through :func:`link`, which accepts nothing but ``http(s)`` URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

#: Every line break ``str.splitlines`` knows (GitHub may too), and tabs: each run one space.
_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
#: Other C0 and C1 controls, and invisible formatting that can hide or reorder text
#: (bidi marks, embeddings, overrides and isolates, zero-width characters, the BOM).
_CONTROL = re.compile(
    r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u061c\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\ufeff]"
)
_PUNCTUATION = re.compile(r"([\\`*_\[\]~$])")
_BLOCK_START = re.compile(r"^(\d{0,9})([.)](?=\s|$)|(?<=^)[-+#=])")
_ZWSP = "\u200b"
#: What GitHub would turn into a link or a reference, up to where a zero-width space stops
#: it: a bare URL's ``https:``, ``www`` before a dot, ``#`` or ``GH`` before a number.
_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp):(?=//)|\bwww(?=\.)|#(?=\d)|\bgh(?=-\d)")


def one_line(text: str) -> str:
    """Control, bidi and invisible formatting characters removed; line breaks of every
    kind (``\\x85`` and ``\\u2028`` too) and tabs as single spaces."""
    return _BREAKS.sub(" ", _CONTROL.sub("", str(text))).strip()


def escape(text: str) -> str:
    """Untrusted prose as inert inline Markdown: no markup, HTML, mentions, math, links
    (a bare URL or ``www.``) or references (``#12``, ``GH-12``) GitHub would make."""
    text = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BLOCK_START.sub(r"\1\\\2", _PUNCTUATION.sub(r"\\\1", text))
    return _AUTOLINK.sub(lambda m: m[0] + _ZWSP, text.replace("@", "@" + _ZWSP))


def code(text: object) -> str:
    """A value as an inline code span (``text`` shown exactly, on one line)."""
    value = one_line(str(text))
    if not value:
        return "` `"
    value = spaced(str(text), value)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith(("`", " ")) or value.endswith(("`", " ")) else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def spaced(raw: str, value: str) -> str:
    """``value`` (:func:`one_line` of ``raw``) with the spaces ``raw`` starts and ends with:
    a column named `` x `` is not ``x``. (Inside a code span, Markdown takes one space off
    each end where both hold one: pad it.)"""
    lead = len(raw) - len(raw.lstrip(" "))
    trail = len(raw) - len(raw.rstrip(" "))
    return " " * lead + value + " " * trail


def clipped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last of them ``…``, where it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell(markdown: str) -> str:
    """Inline Markdown made safe inside a GFM table cell (pipes escaped, even in code)."""
    return markdown.replace("|", "\\|")


def link(label: str, url: str | None) -> str:
    """``[label](url)`` for an http(s) URL; ``label`` alone for anything else."""
    if not url or not re.fullmatch(r"https?://[^\s\x00-\x1f]+", url):
        return label
    return f"[{label}]({quote(url, safe=':/?#=&%@+,;~!*._-')})"


def table(head: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A GFM table; ``align`` has one character per column: ``l`` or ``r``. Pipes in any
    cell, the header's included, are escaped."""
    marks = ["---:" if a == "r" else "---" for a in align.ljust(len(head), "l")]
    lines = ["| " + " | ".join(cell(c) for c in head) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def fence(text: str, lang: str = "") -> list[str]:
    """A fenced code block longer than any backtick run inside ``text``."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    marker = "`" * max(3, longest + 1)
    return [marker + lang, *text.splitlines(), marker]


def cut(text: str, limit: int, note: str, measure: Callable[[str], int] = len) -> str:
    """``text`` if it fits ``limit``; else whole lines up to the limit, then ``note``.

    A cut never splits a line, closes a code fence or ``<details>`` left open, and
    leaves room for ``note`` (one paragraph), so the result always fits.
    """
    if measure(text) <= limit:
        return text
    kept: list[str] = []
    open_fence: str | None = None
    details = 0
    used = 0
    # Only "\n": str.splitlines also breaks at characters a line of text may hold (U+0085,
    # U+2028), and joining with "\n" would make those real line breaks.
    for line in text.removesuffix("\n").split("\n"):
        closing = _closing(open_fence, details)
        if used + measure(line) + 1 + measure(closing) + measure(note) + 2 > limit:
            break
        kept.append(line)
        used += measure(line) + 1
        open_fence, details = _track(line, open_fence, details)
    tail = _closing(open_fence, details)
    return "\n".join(kept) + "\n" + tail + "\n" + note + "\n"


def _track(line: str, open_fence: str | None, details: int) -> tuple[str | None, int]:
    stripped = line.strip()
    if open_fence is not None:
        return (None if stripped == open_fence else open_fence), details
    match = re.match(r"(`{3,})", stripped)
    if match:
        return match.group(1), details
    return None, details + stripped.count("<details>") - stripped.count("</details>")


def _closing(open_fence: str | None, details: int) -> str:
    lines = ([open_fence] if open_fence else []) + ["</details>"] * details
    return "".join(line + "\n" for line in lines)
