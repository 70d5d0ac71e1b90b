"""The validation report as data (validation.json), Markdown, annotations and a table.

Pure functions: an :class:`Report` in, text or JSON-able values out.
Offending values come from the data, so they are untrusted: Markdown
escapes them, annotations go through :func:`mlgitops.console.annotation`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlgitops.validation.failures import Example, Failure

SCHEMA_VERSION = 1
#: GitHub shows at most 10 error annotations per step.
ANNOTATION_CAP = 10
#: Failures listed in the Markdown table; the JSON holds them all.
MARKDOWN_ROWS = 30
_VALUE_CHARS = 40


@dataclass(frozen=True)
class Report:
    """Everything a validation run found, ready to be written out."""

    pipeline: str
    data: str
    data_format: str
    schema: str
    rows: int | None
    failures: tuple[Failure, ...]
    #: Repo-relative data path for annotations (None for URLs).
    annotate_file: str | None = None
    error: str | None = None
    schema_diff: dict[str, Any] | None = None
    profile_diff: dict[str, Any] | None = None
    #: The data's hash as the training content key has it (None when unread).
    data_hash: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures


def document(report: Report) -> dict[str, Any]:
    """validation.json (see schemas/validation.schema.json)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "pipeline": report.pipeline,
        "data": report.data,
        "data_hash": report.data_hash,
        "format": report.data_format,
        "schema": report.schema,
        "rows": report.rows,
        "passed": report.passed,
        "error": report.error,
        "failures": [_failure(f) for f in report.failures],
        "schema_diff": report.schema_diff,
        "profile_diff": report.profile_diff,
    }


def _failure(failure: Failure) -> dict[str, Any]:
    return {
        "column": failure.column,
        "check": failure.check,
        "message": failure.message,
        "failing_rows": failure.failing_rows,
        "examples": [{"row": e.row, "line": e.line, "value": e.value} for e in failure.examples],
    }


def where(report: Report, example: Example) -> str:
    """``data/x.csv:43`` for a CSV line, else ``row 42``."""
    if example.line is not None:
        return f"{report.data}:{example.line}"
    return f"row {example.row}"


def markdown(report: Report) -> str:
    """The PR-comment section."""
    mark = "✅" if report.passed else "❌"
    head = [f"### {mark} Data validation: `{_code(report.pipeline)}`", ""]
    if report.error is not None:
        return "\n".join([*head, f"The data cannot be validated: {_text(report.error)}", ""])
    source = f"`{_code(report.data)}` against `{_code(report.schema)}`"
    if report.passed:
        return "\n".join([*head, f"{report.rows:,} rows of {source}: every check passes.", ""])
    count = len(report.failures)
    lines = [*head, f"{count} check(s) fail on {report.rows:,} rows of {source}.", ""]
    lines += ["| column | check | failing rows | first offending values |", "|---|---|---:|---|"]
    for failure in report.failures[:MARKDOWN_ROWS]:
        lines.append(_row(report, failure))
    if count > MARKDOWN_ROWS:
        lines += ["", f"…and {count - MARKDOWN_ROWS} more in validation.json."]
    return "\n".join([*lines, ""])


def _row(report: Report, failure: Failure) -> str:
    column = f"`{_code(failure.column)}`" if failure.column else "(table)"
    rows = f"{failure.failing_rows:,}" if failure.failing_rows is not None else "—"
    if failure.examples:
        shown = ", ".join(
            f"{_text(where(report, e))}: <code>{_cell(e.value)}</code>" for e in failure.examples
        )
    else:
        shown = _text(failure.message)
    return f"| {column} | {_text(failure.check)} | {rows} | {shown} |"


def _code(text: str) -> str:
    return text.replace("`", "'").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _text(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "&#124;").replace("\n", " ")


def _cell(value: Any) -> str:
    text = "null" if value is None else str(value)
    text = text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"
    return _text(text).replace("`", "&#96;")


def error_annotations(report: Report) -> list[tuple[str, str | None, int | None, str]]:
    """(message, file, line, title) for at most ANNOTATION_CAP error annotations."""
    if report.error is not None:
        return [(report.error, report.annotate_file, None, "data cannot be validated")]
    found = [_annotation(report, f) for f in report.failures]
    if len(found) <= ANNOTATION_CAP:
        return found
    rest = len(found) - (ANNOTATION_CAP - 1)
    more = (
        f"{rest} more failing check(s) not annotated (GitHub shows {ANNOTATION_CAP} per step); "
        "see the job summary or validation.json"
    )
    return [*found[: ANNOTATION_CAP - 1], (more, report.annotate_file, None, "more failures")]


def _annotation(report: Report, failure: Failure) -> tuple[str, str | None, int | None, str]:
    title = f"{failure.column}: {failure.check}" if failure.column else failure.check
    if failure.failing_rows is None:
        return (failure.message, report.annotate_file, None, title)
    first = failure.examples[0] if failure.examples else None
    text = f"{failure.failing_rows:,} row(s): {failure.message}"
    if first is not None:
        text += f"; first at {where(report, first)}: {_plain(first.value)}"
    line = first.line if first is not None and report.annotate_file else None
    return (text, report.annotate_file, line, title)


def _plain(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def table(report: Report) -> list[str]:
    """A short human summary for the terminal."""
    if report.error is not None:
        return [f"{report.pipeline}: {report.error}"]
    verdict = "passed" if report.passed else f"FAILED ({len(report.failures)} check(s))"
    lines = [f"{report.pipeline}: {report.data}, {report.rows:,} rows: {verdict}"]
    if report.passed:
        return lines
    rows = [("column", "check", "rows", "first offending value")]
    for failure in report.failures:
        count = f"{failure.failing_rows:,}" if failure.failing_rows is not None else "-"
        first = failure.examples[0] if failure.examples else None
        shown = f"{where(report, first)}: {_plain(first.value)}" if first else failure.message
        rows.append((_one_line(failure.column or "(table)"), failure.check, count, shown))
    return lines + _columns(rows)


def _one_line(name: str) -> str:
    """A column name as one line of the terminal: escaped where it holds a line end or
    another control character (a header may quote one)."""
    return name if name.isprintable() else repr(name)[1:-1]


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [row[i].ljust(w) if i != 2 else row[i].rjust(w) for i, w in enumerate(widths)]
        out.append("  ".join([*cells, row[-1]]).rstrip())
    return out
