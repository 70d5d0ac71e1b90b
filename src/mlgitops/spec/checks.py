"""Schema and semantic checks of a loaded spec document, as positioned problems."""

from __future__ import annotations

import json
import math
import posixpath
import re
from collections.abc import Iterator, Sequence
from functools import cache
from itertools import pairwise
from pathlib import Path

from mlgitops.errors import Problem
from mlgitops.outputs import ROW, ROW_RESERVED
from mlgitops.spec.model import (
    CLASSIFICATION_METRICS,
    DEFAULT_METRICS,
    GITHUB_REGISTRY,
    REGRESSION_METRICS,
    SERVICE_PORT,
    TASK_METRICS,
    is_url,
)
from mlgitops.spec.positions import Key, dotted, locate
from mlgitops.spec.schema_eval import SchemaError, iter_errors

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

_HOSTED = re.compile(r"^(ubuntu|windows|macos)-")
_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
_ALL_METRICS = frozenset(CLASSIFICATION_METRICS + REGRESSION_METRICS)
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


@cache
def schema(name: str) -> dict[str, Any]:
    """The packaged JSON Schema ``pipeline`` or ``repo``."""
    # A plain path, not importlib.resources: importing that costs a tenth of render's budget.
    text = (_SCHEMAS / f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"a number of {len(str(abs(value)))} digits"
    return str(value)


def _schema_problems(source: str, doc: Any, name: str) -> Iterator[Problem]:
    for error in iter_errors(doc, schema(name)):
        yield from _explain(source, doc, error)


def _explain(source: str, doc: Any, error: SchemaError) -> Iterator[Problem]:
    path: list[Key] = list(error.absolute_path)
    where = dotted(path)
    kind, arg, value = error.validator, error.validator_value, error.instance

    def at(message: str, at_key: bool = False, p: list[Key] = path) -> Problem:
        line, col = locate(doc, p, at_key=at_key)
        return Problem(source, line, col, message)

    if kind == "additionalProperties" and isinstance(value, dict):
        known = sorted(error.schema.get("properties", {}))
        for key in value:
            if key in known:
                continue
            import difflib

            hint = difflib.get_close_matches(str(key), known, n=1)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            if known and not hint:
                suffix = f" (expected one of: {', '.join(known)})"
            yield at(f"{dotted([*path, key])}: unknown key '{key}'{suffix}", True, [*path, key])
        return
    if kind == "required":
        missing = [k for k in arg if k not in value]
        for key in missing:
            yield at(f"{where}: missing required key '{key}'", True)
        return
    yield at(f"{where}: {_message(kind, arg, value, error)}", False)


def _message(kind: str, arg: Any, value: Any, error: SchemaError) -> str:
    got = _describe(value)
    if kind == "type":
        types = [arg] if isinstance(arg, str) else list(arg)
        return f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}, got {got}"
    if kind == "enum":
        return f"must be one of {', '.join(str(a) for a in arg)} (got {got})"
    simple = {
        "minimum": f"must be >= {arg} (got {got})",
        "maximum": f"must be <= {arg} (got {got})",
        "exclusiveMinimum": f"must be > {arg} (got {got})",
        "exclusiveMaximum": f"must be < {arg} (got {got})",
        "minItems": f"must have at least {arg} item{'s' if arg != 1 else ''}",
        "maxItems": f"must have at most {arg} items",
        "uniqueItems": "items must be unique",
        "minProperties": "must not be empty",
        "minLength": "must not be empty",
        "maxLength": f"must be at most {arg} characters (got {len(value) if isinstance(value, str) else '?'})",
        "oneOf": "expected a string or a list of strings",
    }
    if kind in simple:
        return simple[kind]
    if kind == "pattern":
        hint = error.schema.get("x-hint") if isinstance(error.schema, dict) else None
        return f"invalid value {got}: {hint}" if hint else f"invalid value {got} (must match {arg})"
    return str(error.message)


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
    build = _build(doc.get("deploy"))
    if build is not None and "requirements" in build:
        yield ["deploy", "server", "build", "requirements"], build["requirements"], False


def _build(deploy: Any) -> dict[str, Any] | None:
    """``deploy.server.build`` when it is a mapping."""
    server = deploy.get("server") if isinstance(deploy, dict) else None
    build = server.get("build") if isinstance(server, dict) else None
    return build if isinstance(build, dict) else None


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
    for path in _not_finite(doc, []):
        if path[:2] != ["model", "params"]:  # the estimator's own business
            yield path, "must be a finite number (.nan and .inf are not)", False
    yield from _metric_rules(doc)
    yield from _deploy_rules(doc.get("deploy"))
    train = doc.get("train")
    if isinstance(train, dict):
        yield from _label_rules(train.get("runs_on"), ["train", "runs_on"])
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


_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    ),
    ("day of week", 0, 6, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
)
_CRON_ITEM = re.compile(r"^(\*|([0-9a-z]+)(-([0-9a-z]+))?)(/([0-9]+))?$")


def cron_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a 5-field cron expression GitHub runs; None when it is."""
    fields = schedule.split(" ")
    if len(fields) != 5:
        return None  # the schema's pattern says so already
    sets: list[set[int]] = []
    for text, (what, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        items = [_cron_item(item, low, high, names) for item in text.lower().split(",")]
        if any(values is None for values in items):
            return (
                f"invalid value {schedule!r}: {what} field {text!r} is not a cron field "
                f"(numbers {low}-{high}, ranges a-b, lists a,b, steps */n or a-b/n)"
            )
        sets.append({value for values in items if values is not None for value in values})
    minutes, hours, days, months, _ = sets
    ordered = sorted(minutes)
    gaps = [(b - a, a, b) for a, b in pairwise(ordered)]
    every_day = _every(fields[2]) and _every(fields[4])
    # the last minute of an hour, then the first of the next (of the next day: every day)
    if any(h + 1 in hours or (h == 23 and 0 in hours and every_day) for h in hours):
        gaps.append((60 - ordered[-1] + ordered[0], ordered[-1], ordered[0]))
    closest = min(gaps, default=None)
    if closest is not None and closest[0] < _SHORTEST_MINUTES:
        gap, first, then = closest
        return (
            f"invalid value {schedule!r}: it runs {gap} minute(s) apart (at minute {first}, "
            f"then {then}), and GitHub runs a schedule at most every {_SHORTEST_MINUTES} minutes"
        )
    by_day = not _every(fields[2]) and _every(fields[4])  # else a weekday may run it
    if by_day and not any(day <= _MONTH_DAYS[month - 1] for day in days for month in months):
        return f"invalid value {schedule!r}: it never runs (no such day in those months)"
    return None


def _every(field: str) -> bool:
    """Whether a cron field stands for every value (``*``, ``*/1``)."""
    return field in ("*", "*/1")


#: GitHub's shortest interval between two runs of a schedule (actionlint refuses less).
_SHORTEST_MINUTES = 5
#: The most days each month has.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _cron_item(item: str, low: int, high: int, names: Sequence[str]) -> range | None:
    """The values one item of a cron field stands for (``*``, ``a``, ``a-b``, each with an
    optional ``/n``; ``a/n`` runs from ``a`` to the field's end); None where it is no item
    of a field from ``low`` to ``high``."""
    found = _CRON_ITEM.match(item)
    if found is None:
        return None
    if found[6] is not None and (len(found[6]) > 9 or int(found[6]) < 1):
        return None
    step = int(found[6]) if found[6] else 1
    if found[1] == "*":
        return range(low, high + 1, step)
    first = _cron_value(found[2], names)
    last = _cron_value(found[4], names) if found[4] else (high if found[6] else first)
    if first is None or last is None or not low <= first <= last <= high:
        return None
    return range(first, last + 1, step)


def _cron_value(text: str, names: Sequence[str]) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 9 else None  # past any field's range
    return list(names).index(text) + (1 if len(names) == 12 else 0) if text in names else None


_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.]|[/.]$|\.lock$|/\.")


def branch_problem(name: str) -> str | None:
    """Why ``name`` is not a branch name Git accepts (git check-ref-format); None when it is."""
    if name == "@" or "${{" in name or _BAD_REF.search(name) or name.endswith(".lock"):
        return (
            f"invalid value {name!r}: expected a Git branch name (no spaces, control "
            "characters, '..', '~^:?*[\\', '@{' or '${{'; not starting with '-', '/' or '.')"
        )
    return None


def _repo_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    for path in _not_finite(doc, []):  # a price the comment would show as nan
        yield path, "must be a finite number (.nan and .inf are not)", False
    branch = doc.get("default_branch")
    if isinstance(branch, str):
        message = branch_problem(branch)
        if message:
            yield ["default_branch"], message, False
    runs_on = doc.get("runs_on")
    if isinstance(runs_on, str) and runs_on.strip().lower() == "self-hosted":
        message = (
            "self-hosted runners must not run the jobs that run a fork's code (check, "
            "validate, report): use a GitHub-hosted runner such as 'ubuntu-24.04'"
        )
        yield ["runs_on"], message, False
    yield from _label_rules(runs_on, ["runs_on"])


#: Why a runner label may not hold an expression.
LABEL_EXPRESSION = (
    "a runner label is used as written, never evaluated as an expression: "
    "'${{' cannot be part of it"
)


def _label_rules(runs_on: Any, path: list[Key]) -> Iterator[tuple[list[Key], str, bool]]:
    """Runner labels that hold ``${{`` (the workflows quote them as text, so the label would
    be the expression's text, which no runner has), or a space (``'ubuntu-24.04 '``)."""
    labels = [(path, runs_on)] if isinstance(runs_on, str) else []
    if isinstance(runs_on, list):
        labels = [([*path, i], label) for i, label in enumerate(runs_on)]
    for where, label in labels:
        if isinstance(label, str) and "${{" in label:
            yield where, LABEL_EXPRESSION, False
        elif isinstance(label, str) and (not label.strip() or label != "".join(label.split())):
            yield where, f"runner labels hold no spaces: no runner has the label {label!r}", False


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
    if has_cmd and "params" in model:
        yield ["model", "params"], "'params' applies to 'estimator' only", True


def _not_finite(node: Any, path: list[Key]) -> Iterator[list[Key]]:
    """Where the document holds a float that is no finite number (``.nan``, ``.inf``): it
    breaks no bound a JSON Schema sets, and every computation it reaches."""
    if isinstance(node, float) and not math.isfinite(node):
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _not_finite(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _not_finite(value, [*path, index])


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
    slices = compare.get("slices") if isinstance(compare, dict) else None
    gaps = slices.get("max_gap") if isinstance(slices, dict) else None
    if isinstance(gaps, dict):
        for metric in gaps:
            if metric not in allowed:
                path: list[Key] = ["compare", "slices", "max_gap", metric]
                yield path, _unusable(str(metric), task, allowed), True


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


def _deploy_rules(deploy: Any) -> Iterator[tuple[list[Key], str, bool]]:
    if not isinstance(deploy, dict) or not isinstance(deploy.get("environments"), list):
        return
    seen: dict[str, int] = {}
    for i, env in enumerate(deploy["environments"]):
        if not isinstance(env, dict):
            continue
        name = env.get("name")
        if isinstance(name, str):
            if name in seen:
                yield (
                    ["deploy", "environments", i, "name"],
                    f"environment '{name}' is already defined at deploy.environments[{seen[name]}]",
                    False,
                )
            seen.setdefault(name, i)
        yield from _canary_rules(env, i)
        limits = (
            (
                "canary",
                "pause",
                _PAUSE_LONGEST_S,
                "Argo Rollouts' pause (a 32-bit count of seconds)",
            ),
            ("analysis", "interval", _GO_LONGEST_S, "Argo Rollouts' analysis (Go's durations)"),
        )
        for part, key, longest, reader in limits:
            section = env.get(part)
            if isinstance(section, dict) and (
                message := _too_long(section.get(key), longest, reader)
            ):
                yield ["deploy", "environments", i, part, key], message, False
    metrics = deploy.get("metrics")
    reader = "the alerts' window of four intervals (Go's durations)"
    if isinstance(metrics, dict) and (
        message := _too_long(metrics.get("interval"), _GO_LONGEST_S // 4, reader)
    ):
        yield ["deploy", "metrics", "interval"], message, False
    if deploy.get("target", "rollout") == "rollout":
        yield from _server_rules(deploy.get("server"))
    else:
        yield from _server_rules(deploy.get("server"), service=False)
    yield from _build_rules(deploy)
    if "service_monitor" in deploy and "metrics" in deploy:
        message = "service_monitor is a shorthand for metrics: keep only metrics"
        yield ["deploy", "service_monitor"], message, True


#: The longest durations the readers of each setting hold, in seconds: Go's
#: ``time.Duration`` (2^63 - 1 ns: Argo Rollouts' analysis, Prometheus); Argo Rollouts'
#: pause, read as a 32-bit count of seconds; the scrape interval, whose alerts query a
#: window four intervals long.
_GO_LONGEST_S = (2**63 - 1) // 10**9
_PAUSE_LONGEST_S = 2**31 - 1
_SECONDS = {"s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"([0-9]+)([smh])")


def _too_long(
    value: Any, longest_s: int = _GO_LONGEST_S, reader: str = "Go's durations"
) -> str | None:
    """Why ``value``, a duration such as ``10m``, is longer than ``longest_s`` seconds, what
    its ``reader`` holds; None where it is not (or is no such duration: the schema says so)."""
    found = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    digits, unit = found.groups()
    if len(digits) <= 20 and int(digits) * _SECONDS[unit] <= longest_s:
        return None
    return f"{value!r} is too long for {reader}: at most {longest_s // 3600}h ({longest_s} seconds)"


def _server_rules(server: Any, *, service: bool = True) -> Iterator[tuple[list[Key], str, bool]]:
    """``service``: the pipeline's own Services (a Rollout) expose the metrics port beside
    :data:`SERVICE_PORT`."""
    if not isinstance(server, dict):
        return
    port, metrics_port = server.get("port", 8080), server.get("metrics_port", 9464)
    if port == metrics_port:
        message = f"the metrics port must differ from the port (both are {port})"
        key = "metrics_port" if "metrics_port" in server else "port"
        yield ["deploy", "server", key], message, False
    elif service and metrics_port == SERVICE_PORT:
        message = (
            f"the model's Services serve on port {SERVICE_PORT} and expose the metrics port "
            f"beside it: choose another metrics port"
        )
        yield ["deploy", "server", "metrics_port"], message, False
    bounds = server.get("prediction_buckets")
    if isinstance(bounds, list) and all(_num(b) for b in bounds):
        for j in range(1, len(bounds)):
            if bounds[j] <= bounds[j - 1]:
                message = f"prediction buckets must increase strictly (got {bounds[j - 1]} then {bounds[j]})"
                yield ["deploy", "server", "prediction_buckets", j], message, False


def _build_rules(deploy: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    """``deploy.server.build``: instead of ``image``, and with credentials where needed."""
    build = _build(deploy)
    if build is None:
        return
    where: list[Key] = ["deploy", "server", "build"]
    if "image" in deploy["server"]:
        message = (
            "give either 'image' (an image built elsewhere) or 'build' (built by the deploy "
            "workflow), not both"
        )
        yield where, message, True
    repository = build.get("repository")
    if not isinstance(repository, str) or "credentials" in build:
        return
    registry = repository.split("/", 1)[0]
    if registry != GITHUB_REGISTRY:
        first = deploy["environments"][0] if deploy["environments"] else None
        name = first.get("name") if isinstance(first, dict) else None
        message = (
            f"pushing to {registry} needs credentials: add credentials: {{username: SECRET, "
            f"password: SECRET}}, the names of secrets of the GitHub environment {name!r} "
            f"(only {GITHUB_REGISTRY} can use the workflow's own token)"
        )
        yield where, message, True


def _canary_rules(env: dict[str, Any], i: int) -> Iterator[tuple[list[Key], str, bool]]:
    canary = env.get("canary")
    steps = canary.get("steps") if isinstance(canary, dict) else None
    where: list[Key] = ["deploy", "environments", i, "canary", "steps"]
    if isinstance(steps, list) and steps and all(_num(s) and 1 <= s <= 100 for s in steps):
        for j in range(1, len(steps)):
            if steps[j] <= steps[j - 1]:
                message = (
                    f"canary steps must increase strictly (got {steps[j - 1]} then {steps[j]})"
                )
                yield [*where, j], message, False
        if steps[-1] != 100:
            message = f"the last canary step must be 100 (got {steps[-1]})"
            yield [*where, len(steps) - 1], message, False
    if "analysis" in env and "canary" not in env:
        message = "analysis runs during a canary: add 'canary' steps"
        yield ["deploy", "environments", i, "analysis"], message, True


def _runner_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    """``mlgitops.yaml: runners``: unique pools, sane scaling, a GitHub URL for each."""
    runners = doc.get("runners")
    pools = runners.get("pools") if isinstance(runners, dict) else None
    if not isinstance(runners, dict) or not isinstance(pools, list):
        return
    seen: dict[str, int] = {}
    for i, pool in enumerate(pools):
        if not isinstance(pool, dict):
            continue
        where: list[Key] = ["runners", "pools", i]
        name = pool.get("name")
        if isinstance(name, str) and name in seen:
            message = f"pool '{name}' is already defined at runners.pools[{seen[name]}]"
            yield [*where, "name"], message, False
        if isinstance(name, str):
            seen.setdefault(name, i)
        low, high = pool.get("min_runners", 0), pool.get("max_runners", 2)
        if _num(low) and _num(high) and low > high:
            yield (
                [*where, "min_runners"],
                f"min_runners ({low}) is above max_runners ({high})",
                True,
            )
        if "github_config_url" not in pool and "github_config_url" not in runners:
            message = "no GitHub URL to register with: set runners.github_config_url or this pool's github_config_url"
            yield where, message, False
        if pool.get("container_mode", "dind") != "kubernetes":
            for key in ("job_image", "work_volume_size", "storage_class"):
                if key in pool:
                    yield [*where, key], f"'{key}' applies to container_mode kubernetes only", True
        if name in RUNNER_FILES:
            message = (
                f"manifests/runners/{name}.yaml is the runners' own file: name the pool otherwise"
            )
            yield [*where, "name"], message, False
        yield from _toleration_rules(pool.get("tolerations"), [*where, "tolerations"])
        yield from _node_selector_rules(pool.get("node_selector"), [*where, "node_selector"])


#: The files ``manifests/runners/`` holds beside one per pool (``<pool>.yaml``).
RUNNER_FILES = ("controller", "kustomization")


def _toleration_rules(tolerations: Any, path: list[Key]) -> Iterator[tuple[list[Key], str, bool]]:
    """What the API server refuses in a toleration (the pod would never be created)."""
    if not isinstance(tolerations, list):
        return
    for i, toleration in enumerate(tolerations):
        if not isinstance(toleration, dict):
            continue
        operator = toleration.get("operator", "Equal")
        if operator == "Exists" and toleration.get("value"):
            yield [*path, i, "value"], "a toleration with operator Exists has no value", True
        if not toleration.get("key") and operator != "Exists":
            message = "a toleration without a key tolerates every taint: give operator Exists"
            yield [*path, i], message, False
        if "toleration_seconds" in toleration and toleration.get("effect") != "NoExecute":
            message = "toleration_seconds applies to effect NoExecute only"
            yield [*path, i, "toleration_seconds"], message, True
        key, value = toleration.get("key"), toleration.get("value")
        if isinstance(key, str) and key and not _label_key(key):
            yield [*path, i, "key"], f"{key!r} is not a taint's key ({_KEY_FORM})", True
        if operator != "Exists" and isinstance(value, str) and not _label_value(value):
            yield [*path, i, "value"], f"{value!r} is not a taint's value ({_VALUE_FORM})", True


#: A label's name (and a label value, which may also be empty), as Kubernetes spells them.
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


_KEY_FORM = "letters, digits, '-', '_' and '.', at most 63, after an optional DNS prefix and '/'"
_VALUE_FORM = (
    "letters, digits, '-', '_' and '.', at most 63, starting and ending with a letter or digit"
)


def _label_key(key: str) -> bool:
    """Whether Kubernetes takes ``key`` as a label's (or a taint's) key: ``[prefix/]name``."""
    prefix, slash, name = key.rpartition("/")
    good_prefix = not slash or (len(prefix) <= 253 and _LABEL_PREFIX.fullmatch(prefix))
    return bool(good_prefix and _LABEL_NAME.fullmatch(name))


def _label_value(value: str) -> bool:
    """Whether Kubernetes takes ``value`` as a label's (or a taint's) value: a name or empty."""
    return not value or bool(_LABEL_NAME.fullmatch(value))


def _node_selector_rules(selector: Any, path: list[Key]) -> Iterator[tuple[list[Key], str, bool]]:
    """Node labels Kubernetes cannot hold: a key is ``[prefix/]name``, a value a name or
    empty (the pod would never be created)."""
    if not isinstance(selector, dict):
        return
    for key, value in selector.items():
        if not isinstance(key, str):
            message = f"a node label's name is text: YAML reads this key as {key!r}, so quote it"
            yield [*path, key], message, True
        elif not _label_key(key):
            yield [*path, key], f"{key!r} is not a node label's name ({_KEY_FORM})", True
        elif isinstance(value, str) and not _label_value(value):
            yield [*path, key], f"{value!r} is not a node label's value ({_VALUE_FORM})", False


def problems(source: str, doc: Any, kind: str) -> list[Problem]:
    """Every problem of one loaded document (``kind`` is ``pipeline`` or ``repo``)."""
    found = list(_schema_problems(source, doc, kind))
    if isinstance(doc, dict):
        rules = _semantic(doc) if kind == "pipeline" else [*_repo_rules(doc), *_runner_rules(doc)]
        for path, message, at_key in rules:
            line, col = locate(doc, path, at_key=at_key)
            found.append(Problem(source, line, col, f"{dotted(path)}: {message}"))
    return found


def unknown_pool(runs_on: Any, pools: list[str]) -> str | None:
    """Why ``train.runs_on`` names no declared pool, or None when it is fine.

    With pools declared, a single label (a string or a one-item list) must
    name one of them, unless it is a GitHub-hosted image label: scale sets are
    addressed by their name.
    """
    labels = [runs_on] if isinstance(runs_on, str) else runs_on
    if not pools or not isinstance(labels, list) or len(labels) != 1:
        return None
    label = labels[0]
    if not isinstance(label, str) or label in pools or _HOSTED.match(label):
        return None
    import difflib  # only on an unknown pool: keeps it off render's start-up

    hint = difflib.get_close_matches(label, pools, n=1)
    suffix = f" (did you mean '{hint[0]}'?)" if hint else f" (pools: {', '.join(pools)})"
    return f"no runner pool named '{label}' in mlgitops.yaml{suffix}"
