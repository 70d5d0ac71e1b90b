"""Schema and semantic checks of a loaded spec document, as positioned problems."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from mlgitops.errors import Problem
from mlgitops.outputs import ROW, ROW_RESERVED
from mlgitops.spec.cron import cron_problem
from mlgitops.spec.images import image_rules
from mlgitops.spec.model import (
    CLASSIFICATION_METRICS,
    DEFAULT_METRICS,
    DRIFT_ENVIRONMENT,
    GITHUB_REGISTRY,
    PR_ENVIRONMENT,
    REGRESSION_METRICS,
    SERVICE_PORT,
    TASK_METRICS,
    is_url,
)
from mlgitops.spec.positions import Key, dotted, locate
from mlgitops.spec.remotes import remote_rules
from mlgitops.spec.repo_checks import is_hosted, label_rules, repo_rules, runner_rules
from mlgitops.spec.schema_eval import SchemaError, iter_errors
from mlgitops.spec.values import CONTROL, control_characters, is_number, not_finite

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

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
    for path in not_finite(doc, []):
        if path[:2] != ["model", "params"]:  # the estimator's own business
            yield path, "must be a finite number (.nan and .inf are not)", False
    yield from _metric_rules(doc)
    yield from _deploy_rules(doc.get("deploy"))
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
            if name in (PR_ENVIRONMENT, DRIFT_ENVIRONMENT):
                job = "the pull request's jobs" if name == PR_ENVIRONMENT else "drift's job"
                taken = (
                    f"'{name}' is the GitHub environment of {job}, which must hold no "
                    "deploy credentials: name the deploy target otherwise"
                )
                yield ["deploy", "environments", i, "name"], taken, False
        yield from _canary_rules(env, i)
        analysis = env.get("analysis")
        prometheus = analysis.get("prometheus") if isinstance(analysis, dict) else None
        if isinstance(prometheus, str) and (why := _url_problem(prometheus)):
            yield ["deploy", "environments", i, "analysis", "prometheus"], why, False
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


def _url_problem(url: str) -> str | None:
    """Why Go's URL parser or HTTP client (Argo Rollouts') refuses an http(s) URL the
    schema took; None where it reads it."""
    from urllib.parse import urlsplit

    if not url.startswith(("http://", "https://")) or re.search(r"\s", url) or CONTROL.search(url):
        return None  # the schema's (or the control characters') own problem
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a port that is no number, or past 65535, raises)
    except ValueError as exc:
        return f"{url!r} is no URL ({exc})"
    if not parts.hostname:
        return f"{url!r} names no host"
    if re.search("%(?![0-9A-Fa-f]{2})", url):
        return f"{url!r} holds a '%' that starts no escape (%20, %2F ...)"
    return None


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


#: The ports Knative Serving (KServe's serverless mode) refuses for the user's container:
#: its queue-proxy's (8012, 8013, 8022, 9090, 9091) and profiling's (8008).
KNATIVE_PORTS = frozenset({8008, 8012, 8013, 8022, 9090, 9091})


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
    elif not service and (taken := {port, metrics_port} & KNATIVE_PORTS):
        key = "port" if port in taken else "metrics_port"
        message = (
            f"Knative keeps port {server.get(key)} for itself (its queue-proxy and profiling "
            f"listen on {', '.join(map(str, sorted(KNATIVE_PORTS)))} beside the model "
            "server): choose another"
        )
        yield ["deploy", "server", key], message, False
    elif service and metrics_port == SERVICE_PORT:
        message = (
            f"the model's Services serve on port {SERVICE_PORT} and expose the metrics port "
            f"beside it: choose another metrics port"
        )
        yield ["deploy", "server", "metrics_port"], message, False
    bounds = server.get("prediction_buckets")
    if isinstance(bounds, list) and all(is_number(b) for b in bounds):
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
    if isinstance(steps, list) and steps and all(is_number(s) and 1 <= s <= 100 for s in steps):
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


def problems(source: str, doc: Any, kind: str) -> list[Problem]:
    """Every problem of one loaded document (``kind`` is ``pipeline`` or ``repo``)."""
    found = list(_schema_problems(source, doc, kind))
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
