"""``mlgitops validate NAME``: the pipeline's data against its pandera schema.

Writes validation.json and validation.md (and, against a base, datadiff.json
and datadiff.md) into the hand-off folder; prints a table on a terminal,
annotations on GitHub Actions, or the JSON. Exit 0: every check passes;
1: checks fail; 2: the data or the schema cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgitops import collector, console, fsio
from mlgitops.basebranch import HELP
from mlgitops.commands import seconds, utf8_name
from mlgitops.errors import EXIT_FAILED, EXIT_OK, MlgitopsError
from mlgitops.outputs import Outputs, set_github_outputs
from mlgitops.spec import load_repo
from mlgitops.spec.model import Pipeline, is_url

FORMATS = ("table", "json", "github", "none")
#: The longest ``--timeout`` (a day): longer is no limit, and past what sockets take.
URL_TIMEOUT_MOST_S = 86_400.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the pipeline (its `name:`)")
    parser.add_argument(
        "--data",
        type=utf8_name,
        metavar="PATH_OR_URL",
        help="validate this file or https URL instead of the spec's data.path",
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        help=f"diff schema and data profile against this git ref {HELP}; outside a "
        "pull request none when that is HEAD itself",
    )
    parser.add_argument(
        "--output", type=Path, metavar="DIR", help="hand-off folder (default .mlgitops/NAME)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="what to print: table (default on a terminal), github (annotations; "
        "default when GITHUB_ACTIONS=true), json (validation.json), none",
    )
    parser.add_argument(
        "--timeout",
        type=seconds(URL_TIMEOUT_MOST_S),
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for a URL to answer, above 0 and at most a day (default 30)",
    )


def run(
    *,
    repo: Path,
    name: str,
    data: str | None = None,
    base: str | None = None,
    output: Path | None = None,
    format: str | None = None,
    timeout: float = 30.0,
) -> int:
    """Validate; write the reports; return 0 (passed) or 1 (checks failed)."""
    from mlgitops.validation import base as against

    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    outputs = Outputs.for_pipeline(root, name, output)
    shown = format or ("github" if console.in_actions() else "table")
    ref = _base_ref(root, base, loaded.config.default_branch)
    location = data or pipeline.data.path
    # the holdout file is data the verdict rests on: validated with the data it holds out
    holdout = pipeline.data.test_path if location == pipeline.data.path else None
    with tempfile.TemporaryDirectory(prefix="mlgitops-validate-") as tmp:
        report = None
        try:
            report, head = _validate(
                root, pipeline, location, Path(tmp), timeout, profile=ref is not None
            )
            if holdout is not None:
                held, _ = _validate(root, pipeline, holdout, Path(tmp), timeout, profile=False)
                report = _with_holdout(report, held)
        except MlgitopsError as exc:
            if report is None:
                failed = _unreadable(pipeline, location, exc)
            else:
                assert holdout is not None  # the one read after the report was made
                # no data hash: train keys the data by both files, and one is unread
                failed = replace(
                    report, holdout=_unreadable(pipeline, holdout, exc), data_hash=None
                )
            _write(outputs, failed, None)
            _show(failed, None, shown)
            raise
        datadiff = None
        if ref is not None:
            chunk = pipeline.data.chunk_rows
            datadiff = against.datadiff(root, ref, head, workdir=Path(tmp), chunk_rows=chunk)
    report = _with_diff(report, datadiff)
    _write(outputs, report, datadiff)
    _show(report, datadiff, shown)
    set_github_outputs({"validation-passed": str(report.passed).lower()})
    return EXIT_OK if report.passed else EXIT_FAILED


def _unreadable(pipeline: Pipeline, location: str, exc: MlgitopsError) -> Any:
    """The report of a file that could not be validated (the CLI names why, exit 2)."""
    from mlgitops.validation.report import Report

    schema = _schema_name(pipeline)
    return Report(
        pipeline.name, location, _format(pipeline, location), schema, None, (), error=str(exc)
    )


def _validate(
    root: Path, pipeline: Pipeline, location: str, workdir: Path, timeout: float, *, profile: bool
) -> tuple[Any, Any]:
    from mlgitops.data import open_data
    from mlgitops.features import named_columns
    from mlgitops.validation.base import Head
    from mlgitops.validation.engine import Limits, validate
    from mlgitops.validation.report import Report
    from mlgitops.validation.schema import load_schema

    with collector.paused():  # pandera, pandas and numpy
        schema = load_schema(root, pipeline)
    fmt = pipeline.data.format_of(location)
    reader = open_data(root, location, fmt=fmt, workdir=workdir, timeout=timeout)
    if location in (pipeline.data.path, pipeline.data.test_path):
        # a column the spec names that neither the data nor the schema has (a missing
        # column the schema declares is a failure on that column, below): a spec error
        # before a job trains on it; another file (--data) may lack the target
        named_columns(root, pipeline, schema, reader.columns(), location)
    # the row bounds are the data's, as train holds them: not the holdout file's
    bounds = pipeline.data.rows if location != pipeline.data.test_path else None
    limits = Limits(
        chunk_rows=pipeline.data.chunk_rows,
        min_rows=bounds.min if bounds else None,
        max_rows=bounds.max if bounds else None,
    )
    with console.group(f"validate {location}"):
        outcome = validate(reader, schema, limits, profile=profile)
    report = Report(
        pipeline=pipeline.name,
        data=location,
        data_format=_format(pipeline, location),
        schema=_schema_name(pipeline),
        rows=outcome.rows,
        failures=outcome.failures,
        annotate_file=reader.annotate_file,
        data_hash=_data_hash(root, pipeline, location),
    )
    return report, Head(pipeline, schema, location, outcome.profile, tuple(reader.columns()))


def _data_hash(root: Path, pipeline: Pipeline, location: str) -> str:
    """The file's own sha256 (its download's, for a URL); for a pipeline's data without a
    holdout file, that is the data hash as ``train`` keys it (:func:`_with_holdout`)."""
    from mlgitops.training import content

    if location in (pipeline.data.path, pipeline.data.test_path):
        return content.file_or_url_hash(root, location)
    if is_url(location):
        from mlgitops.data import http

        return http.fetched(location).sha256
    path = Path(location) if Path(location).is_absolute() else root / location
    return content.sha256_file(path)


def _with_holdout(report: Any, held: Any) -> Any:
    """The data's report with its holdout file's: the data hash over both, as train keys it."""
    from mlgitops.training import content

    return replace(
        report, holdout=held, data_hash=content.with_holdout(report.data_hash, held.data_hash)
    )


def _format(pipeline: Pipeline, location: str) -> str:
    from mlgitops.data import file_format

    return file_format(location, pipeline.data.format_of(location))


def _schema_name(pipeline: Pipeline) -> str:
    return pipeline.data.schema or f"{pipeline.source} (data.columns)"


def _base_ref(root: Path, base: str | None, default_branch: str) -> str | None:
    """``--base`` (which must exist), else the default base when it exists; outside a pull
    request, not when it is HEAD itself (on the default branch there is no change)."""
    from mlgitops.basebranch import commit, default_base, is_commit, same_commit

    if base:
        return commit(root, base)
    ref = default_base(root, default_branch)
    if not is_commit(root, ref) or (
        not os.environ.get("GITHUB_BASE_REF") and same_commit(root, ref)
    ):
        return None
    return ref


def _with_diff(report: Any, datadiff: dict[str, Any] | None) -> Any:
    if datadiff is None:
        return report
    return replace(
        report, schema_diff=datadiff["schema_diff"], profile_diff=datadiff["profile_diff"]
    )


def _write(outputs: Outputs, report: Any, datadiff: dict[str, Any] | None) -> None:
    from mlgitops.validation import diff
    from mlgitops.validation.report import document, markdown

    files = {
        "validation.json": _json(document(report)),
        "validation.md": markdown(report).encode("utf-8"),
    }
    if datadiff is not None:
        files["datadiff.json"] = _json(datadiff)
        files["datadiff.md"] = diff.markdown(datadiff).encode("utf-8")
    else:  # a diff from an earlier run would describe other data
        for stale in ("datadiff.json", "datadiff.md"):
            outputs.path(stale).unlink(missing_ok=True)
    fsio.write_tree(outputs.folder, files)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _show(report: Any, datadiff: dict[str, Any] | None, shown: str) -> None:
    from mlgitops.validation.report import document, error_annotations

    if shown == "json":
        console.write(_json(document(report)).decode("utf-8"))
        return
    if shown == "none":
        return
    if report.error is None:  # the CLI prints the error itself
        _print_table(report, datadiff)
    if shown == "github":
        for message, file, line_no, title in error_annotations(report):
            console.line(
                console.annotation("error", message, file=file, line_no=line_no, title=title)
            )


def _print_table(report: Any, datadiff: dict[str, Any] | None) -> None:
    from mlgitops.validation.report import table

    with console.untrusted_output():
        for text in table(report):
            console.line(text)
        for note in (datadiff or {}).get("notes", []):
            console.line(f"note: {note}")
