"""Schema and semantic checks of a loaded spec document, as positioned problems."""

from __future__ import annotations

import difflib
import json
import posixpath
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from mlgitops.errors import Problem
from mlgitops.spec.model import (
    CLASSIFICATION_METRICS,
    DEFAULT_METRICS,
    REGRESSION_METRICS,
    TASK_METRICS,
    is_url,
)
from mlgitops.spec.positions import Key, dotted, locate
from mlgitops.spec.schema_eval import SchemaError, iter_errors

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
    text = resources.files("mlgitops.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
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


def _path_problem(value: Any, url_ok: bool) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if is_url(value):
        if not url_ok:
            return "must be a path in the repository, not a URL"
        return None if value.startswith("https://") else "URLs must use https://"
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
    yield from _metric_rules(doc)
    yield from _deploy_rules(doc.get("deploy"))


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
    if isinstance(columns, dict):
        for name, col in columns.items():
            if isinstance(col, dict) and _min_above_max(col):
                yield ["data", "columns", name, "min"], "min is greater than max", True


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


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _min_above_max(node: dict[str, Any]) -> bool:
    low, high = node.get("min"), node.get("max")
    return isinstance(low, int | float) and isinstance(high, int | float) and low > high


def _metric_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    task = doc.get("task")
    if task not in TASK_METRICS:
        return
    allowed = TASK_METRICS[task]
    metrics = doc.get("metrics")
    if isinstance(metrics, list):
        for i, metric in enumerate(metrics):
            if metric in _ALL_METRICS and metric not in allowed:  # unknown ones: the schema says
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
    yield from _server_rules(deploy.get("server"))
    if "service_monitor" in deploy and "metrics" in deploy:
        message = "service_monitor is a shorthand for metrics: keep only metrics"
        yield ["deploy", "service_monitor"], message, True


def _server_rules(server: Any) -> Iterator[tuple[list[Key], str, bool]]:
    if not isinstance(server, dict):
        return
    port, metrics_port = server.get("port", 8080), server.get("metrics_port", 9464)
    if port == metrics_port:
        message = f"the metrics port must differ from the port (both are {port})"
        key = "metrics_port" if "metrics_port" in server else "port"
        yield ["deploy", "server", key], message, False
    bounds = server.get("prediction_buckets")
    if isinstance(bounds, list) and all(_num(b) for b in bounds):
        for j in range(1, len(bounds)):
            if bounds[j] <= bounds[j - 1]:
                message = f"prediction buckets must increase strictly (got {bounds[j - 1]} then {bounds[j]})"
                yield ["deploy", "server", "prediction_buckets", j], message, False


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


def problems(source: str, doc: Any, kind: str) -> list[Problem]:
    """Every problem of one loaded document (``kind`` is ``pipeline`` or ``repo``)."""
    found = list(_schema_problems(source, doc, kind))
    if kind == "pipeline" and isinstance(doc, dict):
        for path, message, at_key in _semantic(doc):
            line, col = locate(doc, path, at_key=at_key)
            found.append(Problem(source, line, col, f"{dotted(path)}: {message}"))
    return found
