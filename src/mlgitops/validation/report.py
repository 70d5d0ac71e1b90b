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
    #: ``data.test_path``'s own report, where the pipeline holds its holdout in a file of
    #: its own and ``data.path`` was validated: the holdout is data the verdict rests on.
    holdout: Report | None = None

    @property
    def passed(self) -> bool:
        """Every file validated: the data, and its holdout file where there is one."""
        return self.file_passed and (self.holdout is None or self.holdout.passed)

    @property
    def file_passed(self) -> bool:
        """This file alone: no error and no failure."""
        return self.error is None and not self.failures

    @property
    def parts(self) -> tuple[Report, ...]:
        """The files validated: the data, then its holdout file where there is one."""
        return (self,) if self.holdout is None else (self, self.holdout)


def document(report: Report) -> dict[str, Any]:
    """validation.json (see schemas/validation.schema.json)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "pipeline": report.pipeline,
        **_validated(report),
        "schema": report.schema,
        "schema_diff": report.schema_diff,
        "profile_diff": report.profile_diff,
        "holdout": None if report.holdout is None else _validated(report.holdout),
    }


def _validated(report: Report) -> dict[str, Any]:
    """What validation.json says of one file: the data, or its holdout file."""
    return {
        "data": report.data,
        "data_hash": report.data_hash,
        "format": report.data_format,
        "rows": report.rows,
        "passed": report.passed,
        "error": report.error,
        "failures": [_failure(f) for f in report.failures],
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
    return place(report.data, example.row, example.line)


def place(data: str, row: int, line: int | None) -> str:
    """Where a failing value is: ``data/x.csv:43``, the file's line, where ``data`` is a CSV
    file (``line``: its line), else ``row 42``, the data row."""
    return f"{data}:{line}" if line is not None else f"row {row}"


def markdown(report: Report) -> str:
    """The PR-comment section: the data, then its holdout file where there is one."""
    mark = "✅" if report.passed else "❌"
    lines = [f"### {mark} Data validation: `{_code(report.pipeline)}`", ""]
    for part in report.parts:
        lines += _markdown_part(report, part)
    return "\n".join(lines)


def _markdown_part(report: Report, part: Report) -> list[str]:
    held = part is not report
    if part.error is not None:
        what = f"The holdout file (`{_code(part.data)}`)" if held else "The data"
        return [f"{what} cannot be validated: {_text(part.error)}", ""]
    role = " (data.test_path, the holdout)" if held else ""
    source = f"`{_code(part.data)}`{role} against `{_code(report.schema)}`"
    if part.file_passed:
        return [f"{part.rows:,} rows of {source}: every check passes.", ""]
    count = len(part.failures)
    lines = [f"{count} check(s) fail on {part.rows:,} rows of {source}.", ""]
    lines += ["| column | check | failing rows | first offending values |", "|---|---|---:|---|"]
    for failure in part.failures[:MARKDOWN_ROWS]:
        lines.append(_row(part, failure))
    if count > MARKDOWN_ROWS:
        lines += ["", f"…and {count - MARKDOWN_ROWS} more in validation.json."]
    return [*lines, ""]


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
    """(message, file, line, title) for at most ANNOTATION_CAP error annotations: the data's,
    then its holdout file's."""
    found: list[tuple[str, str | None, int | None, str]] = []
    for part in report.parts:
        if part.error is not None:
            found.append((part.error, part.annotate_file, None, "data cannot be validated"))
        else:
            found += [_annotation(part, f) for f in part.failures]
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
    """A short human summary for the terminal: the data, then its holdout file where there
    is one (an error is printed by the CLI itself)."""
    if report.error is not None:
        return [f"{report.pipeline}: {report.error}"]
    lines: list[str] = []
    for part in report.parts:
        if part.error is None:
            lines += _table_part(report, part)
    return lines


def _table_part(report: Report, part: Report) -> list[str]:
    verdict = "passed" if part.file_passed else f"FAILED ({len(part.failures)} check(s))"
    role = " (the holdout)" if part is not report else ""
    lines = [f"{report.pipeline}: {part.data}{role}, {part.rows:,} rows: {verdict}"]
    if part.file_passed:
        return lines
    rows = [("column", "check", "rows", "first offending value")]
    for failure in part.failures:
        count = f"{failure.failing_rows:,}" if failure.failing_rows is not None else "-"
        first = failure.examples[0] if failure.examples else None
        shown = f"{where(part, first)}: {_plain(first.value)}" if first else failure.message
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
