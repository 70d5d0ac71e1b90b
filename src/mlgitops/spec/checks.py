"""Schema and semantic checks of a loaded spec document, as positioned problems.

The schema's own errors are worded in :mod:`.schema_problems`, the ``deploy``
section's rules live in :mod:`.deploy_checks`, ``mlgitops.yaml``'s in
:mod:`.repo_checks`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from mlgitops.errors import Problem
from mlgitops.evaluation.tails import fewest_resamples, tail
from mlgitops.outputs import ROW, ROW_RESERVED
from mlgitops.spec.cron import cron_problem
from mlgitops.spec.deploy_checks import build_of, deploy_rules
from mlgitops.spec.images import image_rules
from mlgitops.spec.model import (
    CLASSIFICATION_METRICS,
    DEFAULT_METRICS,
    INLINE_KINDS,
    REGRESSION_METRICS,
    TASK_METRICS,
    Compare,
    command_words,
    is_url,
)
from mlgitops.spec.positions import Key, dotted, locate
from mlgitops.spec.remotes import remote_rules
from mlgitops.spec.repo_checks import is_hosted, label_rules, repo_rules, runner_rules
from mlgitops.spec.schema_problems import schema_problems
from mlgitops.spec.values import CONTROL, control_characters, is_number, not_finite

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

_ALL_METRICS = frozenset(CLASSIFICATION_METRICS + REGRESSION_METRICS)


def _paths(doc: dict[str, Any]) -> Iterator[tuple[list[Key], Any, bool]]:
    """Every path-valued field: (location, value, may it be a URL)."""
    data = doc.get("data")
    if isinstance(data, dict):
        for key, url_ok in (("path", True), ("schema", False), ("test_path", True)):
            if key in data:
                yield ["data", key], data[key], url_ok
    model = doc.get("model")
    if isinstance(model, dict) and isinstance(model.get("code"), list):
        for i, value in enumerate(model["code"]):
            yield ["model", "code", i], value, False
    drift = doc.get("drift")
    if isinstance(drift, dict) and "current" in drift:
        yield ["drift", "current"], drift["current"], True
    build = build_of(doc.get("deploy"))
    if build is not None and "requirements" in build:
        yield ["deploy", "server", "build", "requirements"], build["requirements"], False


def _path_problem(value: Any, url_ok: bool) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if "\0" in value:
        return f"path {value!r} holds a NUL character, which no file name can"
    if is_url(value):
        if not url_ok:
            return "must be a path in the repository, not a URL"
        return None if value.startswith("https://") else "URLs must use https://"
    if "${{" in value:
        return (
            "must not contain '${{': paths land in the generated workflows' on: filters, "
            "where GitHub allows no expressions"
        )
    if "://" in value:
        return f"unsupported URL scheme in {value!r} (only https:// is supported)"
    if value.startswith("/") or posixpath.normpath(value).startswith("..") or "\\" in value:
        return f"path {value!r} escapes the repository (use a path relative to the repository root)"
    return None


def _semantic(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    """(location, message, at_key) for rules a JSON Schema cannot express well."""
    for path, value, url_ok in _paths(doc):
        message = _path_problem(value, url_ok)
        if message:
            yield path, message, False
    yield from _data_rules(doc.get("data"))
    yield from _model_rules(doc.get("model"))
    for path in not_finite(doc, []):
        if path[:2] != ["model", "params"]:  # the estimator's own business
            yield path, "must be a finite number (.nan and .inf are not)", False
    yield from _metric_rules(doc)
    yield from deploy_rules(doc.get("deploy"))
    train = doc.get("train")
    if isinstance(train, dict):
        yield from label_rules(train.get("runs_on"), ["train", "runs_on"])
        yield from _hosted_train_rules(train)
    deploy = doc.get("deploy")
    server = deploy.get("server") if isinstance(deploy, dict) else None
    buckets = isinstance(server, dict) and "prediction_buckets" in server
    if doc.get("task") == "classification" and buckets:
        message = "regression only: a classifier's predictions are counted by class"
        yield ["deploy", "server", "prediction_buckets"], message, True
    drift = doc.get("drift")
    schedule = drift.get("schedule") if isinstance(drift, dict) else None
    if isinstance(schedule, str):
        message = cron_problem(schedule)
        if message:
            yield ["drift", "schedule"], message, False


#: The most minutes GitHub lets a job run on its own runners.
HOSTED_JOB_MINUTES = 360


def _hosted_train_rules(train: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    """A train job on a GitHub-hosted runner (``ubuntu-24.04``) stops at six hours."""
    runs_on, timeout = train.get("runs_on"), train.get("timeout_minutes")
    labels = [runs_on] if isinstance(runs_on, str) else runs_on
    hosted = isinstance(labels, list) and bool(labels) and all(map(is_hosted, labels))
    if hosted and isinstance(timeout, int) and timeout > HOSTED_JOB_MINUTES:
        where = ", ".join(map(str, labels or []))
        message = (
            f"the train job runs on {where}, a GitHub-hosted runner, which GitHub stops after "
            f"{HOSTED_JOB_MINUTES} minutes: at most {HOSTED_JOB_MINUTES}"
        )
        yield ["train", "timeout_minutes"], message, False


#: Why the target column may not be declared nullable (inline, or in a schema file).
TARGET_NULLABLE = (
    "the target cannot be nullable (train can neither learn from nor score a row without "
    "a target); remove `nullable: true`"
)


def _data_rules(data: Any) -> Iterator[tuple[list[Key], str, bool]]:
    if not isinstance(data, dict):
        return
    if "schema" in data and "columns" in data:
        yield ["data", "columns"], "give either 'schema' or 'columns', not both", True
    elif "schema" not in data and "columns" not in data:
        message = "missing the data schema: give 'schema' (a pandera YAML file) or 'columns'"
        yield ["data"], message, True
    if "split" in data and "test_path" in data:
        yield ["data", "test_path"], "give either 'split' or 'test_path', not both", True
    columns, target = data.get("columns"), data.get("target")
    if isinstance(columns, dict) and isinstance(target, str) and target not in columns:
        yield ["data", "target"], f"target column {target!r} is not among data.columns", False
    if isinstance(columns, dict) and isinstance(target, str):
        declared = columns.get(target)
        if isinstance(declared, dict) and declared.get("nullable") is True:
            yield ["data", "columns", target, "nullable"], TARGET_NULLABLE, True
    if isinstance(columns, dict):
        for name, col in columns.items():
            if name == ROW:
                yield ["data", "columns", name], ROW_RESERVED, True
            if isinstance(col, dict) and _min_above_max(col):
                yield ["data", "columns", name, "min"], "min is greater than max", True
            if isinstance(col, dict) and isinstance(col.get("dtype"), str):
                yield from _checks_against_dtype(str(name), col, col["dtype"])
            if isinstance(col, dict) and isinstance(col.get("regex"), str):
                try:
                    re.compile(col["regex"])
                except re.error as exc:
                    yield (
                        ["data", "columns", name, "regex"],
                        f"not a regular expression ({exc})",
                        False,
                    )
    rows = data.get("rows")
    if isinstance(rows, dict) and _min_above_max(rows):
        yield ["data", "rows", "min"], "min is greater than max", True


def _model_rules(model: Any) -> Iterator[tuple[list[Key], str, bool]]:
    if not isinstance(model, dict):
        return
    has_est, has_cmd = "estimator" in model, "command" in model
    if has_est and has_cmd:
        yield ["model", "command"], "give either 'estimator' or 'command', not both", True
    elif not has_est and not has_cmd:
        yield ["model"], "missing the trainer: give 'estimator' (an import path) or 'command'", True
    if isinstance(model.get("command"), str):
        try:
            command_words(model["command"])
        except ValueError as exc:
            yield ["model", "command"], str(exc), False
    if has_cmd and "params" in model:
        yield ["model", "params"], "'params' applies to 'estimator' only", True


def _checks_against_dtype(
    name: str, column: dict[str, Any], dtype: str
) -> Iterator[tuple[list[Key], str, bool]]:
    """A check no value of the column's dtype can pass, or that pandera cannot run on it:
    a bound of a column that holds no numbers, a pattern of one that holds no text, an
    allowed value of another kind than the column's values. Each fails every row."""
    kind = INLINE_KINDS.get(dtype)
    if kind is None:
        return  # no inline dtype: the schema says so
    where: list[Key] = ["data", "columns", name]
    if kind not in "ifb":
        holds = {"M": "dates", "O": "text"}[kind]
        why = f"its values are {holds}, which never order with a number"
        if dtype == "category":
            why = "pandas orders no value of an unordered category with a number"
        for bound in ("min", "max"):
            if is_number(column.get(bound)):
                message = (
                    f"{bound} is a number, and column {name!r} is {dtype}: {why}; declare a "
                    f"numeric dtype, or drop {bound}"
                )
                yield [*where, bound], message, False
    if kind != "O" and isinstance(column.get("regex"), str):
        message = (
            f"regex matches text, and column {name!r} is {dtype}: declare dtype str, or drop regex"
        )
        yield [*where, "regex"], message, False
    allowed = column.get("isin")
    if not isinstance(allowed, list):
        return
    for i, value in enumerate(allowed):
        # a category read from Parquet may hold numbers: only str is text whatever the file
        if dtype == "str" and (is_number(value) or isinstance(value, bool)):
            shown = str(value).lower() if isinstance(value, bool) else repr(value)
            message = (
                f"column {name!r} is {dtype}: its values are text, which never equal "
                f"{shown}; quote it ('{shown}')"
            )
            yield [*where, "isin", i], message, False
        elif kind in "if" and isinstance(value, str):
            message = (
                f"column {name!r} is {dtype}: its values are numbers, which never equal the "
                f"text {value!r}; write a number, unquoted"
            )
            yield [*where, "isin", i], message, False


def _min_above_max(node: dict[str, Any]) -> bool:
    low, high = node.get("min"), node.get("max")
    return isinstance(low, int | float) and isinstance(high, int | float) and low > high


def _metric_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    task = doc.get("task")
    if not isinstance(task, str) or task not in TASK_METRICS:  # else the schema says
        return
    allowed = TASK_METRICS[task]
    metrics = doc.get("metrics")
    if isinstance(metrics, list):
        for i, metric in enumerate(metrics):
            known = isinstance(metric, str) and metric in _ALL_METRICS  # else the schema says
            if known and metric not in allowed:
                yield ["metrics", i], _wrong_task(metric, task, allowed), False
    listed = metrics if isinstance(metrics, list) else list(DEFAULT_METRICS[task])
    # with a list that is itself wrong, its own problems say enough
    sound = len(set(map(str, listed))) == len(listed) and all(m in allowed for m in listed)
    gates = doc.get("gates")
    if isinstance(gates, dict):
        for metric, gate in gates.items():
            if metric not in allowed:
                yield ["gates", metric], _unusable(str(metric), task, allowed), True
            elif sound and metric not in listed:
                yield ["gates", metric], _unlisted(str(metric), listed), True
            elif isinstance(gate, dict) and _min_above_max(gate):
                yield ["gates", metric, "min"], "min is greater than max", True
    compare = doc.get("compare")
    if isinstance(compare, dict):
        yield from _tail_rules(compare)
    slices = compare.get("slices") if isinstance(compare, dict) else None
    gaps = slices.get("max_gap") if isinstance(slices, dict) else None
    if isinstance(gaps, dict):
        for metric in gaps:
            if metric not in allowed:
                path: list[Key] = ["compare", "slices", "max_gap", metric]
                yield path, _unusable(str(metric), task, allowed), True


def _tail_rules(compare: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    """An interval needs a resample in each of its tails at the confidence asked for."""
    resamples = compare.get("resamples", Compare.resamples)
    confidence = compare.get("confidence", Compare.confidence)
    if not isinstance(resamples, int) or not isinstance(confidence, int | float):
        return  # the schema says
    if isinstance(confidence, bool) or not 0.5 < confidence < 1:
        return
    needed = fewest_resamples(confidence)
    if resamples < needed:
        where = "resamples" if "resamples" in compare else "confidence"
        message = (
            f"a {confidence * 100:g}% interval (compare.confidence) leaves out "
            f"{tail(confidence) * 100:.3g}% of the resamples at each end, less than one of "
            f"{resamples}: at least {needed} resamples are needed at that confidence"
        )
        yield ["compare", where], message, False


def _unusable(metric: str, task: str, allowed: tuple[str, ...]) -> str:
    if metric in _ALL_METRICS:
        return _wrong_task(metric, task, allowed)
    return f"unknown metric '{metric}' (one of: {', '.join(allowed)})"


def _unlisted(metric: str, listed: list[Any]) -> str:
    return (
        f"gate on '{metric}', which is not in metrics ({', '.join(map(str, listed))}): add it "
        "to metrics (a gate never changes what train computes)"
    )


def _wrong_task(metric: str, task: str, allowed: tuple[str, ...]) -> str:
    return f"'{metric}' is not a {task} metric (one of: {', '.join(allowed)})"


def problems(source: str, doc: Any, kind: str) -> list[Problem]:
    """Every problem of one loaded document (``kind`` is ``pipeline`` or ``repo``)."""
    found = list(schema_problems(source, doc, kind))
    if isinstance(doc, dict):
        rules = _semantic(doc) if kind == "pipeline" else [*repo_rules(doc), *runner_rules(doc)]
        for path, message, at_key in rules:
            line, col = locate(doc, path, at_key=at_key)
            found.append(Problem(source, line, col, f"{dotted(path)}: {message}"))
        placed = {(p.line, p.col) for p in found}
        for path, at_key, char in control_characters(doc, []):
            if not _rendered(path):
                continue
            line, col = locate(doc, path, at_key=at_key)
            if (line, col) not in placed:  # a value's own rule already refuses it
                message = (
                    f"holds the control character U+{ord(char):04X}, which the generated "
                    "workflows and manifests may not carry"
                )
                found.append(Problem(source, line, col, f"{_escaped(dotted(path))}: {message}"))
        found += _grammar_problems(source, doc, kind, {(p.line, p.col) for p in found})
    return found


def _grammar_problems(
    source: str, doc: dict[str, Any], kind: str, placed: set[tuple[int, int]]
) -> Iterator[Problem]:
    """Images, the Action and Argo CD's source where their readers' grammars refuse them;
    not where a problem of the schema's (or a control character) is ``placed`` already."""
    rules = image_rules(doc, kind)
    for path, message in [*rules, *(remote_rules(doc) if kind == "repo" else [])]:
        line, col = locate(doc, path)
        if (line, col) not in placed:
            yield Problem(source, line, col, f"{dotted(path)}: {message}")


def _rendered(path: list[Key]) -> bool:
    """Whether the value at ``path`` may reach a generated file: not the estimator's own
    parameters, the data's columns and their checks (a pattern may name control
    characters), nor a description."""
    return path[:2] not in (["model", "params"], ["data", "columns"]) and (
        not path or path[-1] != "description"
    )


def _escaped(text: str) -> str:
    """``text`` with each control character written as its escape (``\\x85``, ``\\uffff``)."""
    return "".join(_escape(c) if CONTROL.match(c) else c for c in text)


def _escape(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
