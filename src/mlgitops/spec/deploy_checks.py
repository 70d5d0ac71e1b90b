"""The checks of a pipeline spec's ``deploy`` section that its JSON Schema cannot express:
environments, canary steps, durations Argo Rollouts and Go can hold, URLs, ports and the
serving image's build."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.spec.deploy import (
    CONSECUTIVE_ERROR_LIMIT,
    ERROR_RETRY_S,
    GITHUB_REGISTRY,
    INCONCLUSIVE_LIMIT,
    SCRAPES_BEFORE_MEASURING,
    SERVICE_PORT,
    Metrics,
    duration_seconds,
)
from mlgitops.spec.model import DRIFT_ENVIRONMENT, PR_ENVIRONMENT
from mlgitops.spec.positions import Key
from mlgitops.spec.values import CONTROL, is_number

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


#: Why a KServe environment's analysis cannot hold the prediction shift (``promote
#: --when-healthy`` measures a KServe canary: mlgitops.gitops.canary_metrics).
_KSERVE_SHIFT = (
    "a KServe canary is measured from Knative's queue-proxy metrics, which count its requests "
    "and time them but hold no predictions: the prediction shift is measured for an Argo "
    "Rollouts canary only (deploy.target: rollout)"
)


def deploy_rules(deploy: Any) -> Iterator[tuple[list[Key], str, bool]]:
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
        yield from _canary_rules(env, i, _scrape_interval(deploy))
        analysis = env.get("analysis")
        shift = isinstance(analysis, dict) and "max_prediction_shift" in analysis
        if shift and deploy.get("target") == "kserve":
            yield (
                ["deploy", "environments", i, "analysis", "max_prediction_shift"],
                _KSERVE_SHIFT,
                True,
            )
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


def _too_long(
    value: Any, longest_s: int = _GO_LONGEST_S, reader: str = "Go's durations"
) -> str | None:
    """Why ``value``, a duration such as ``10m``, is longer than ``longest_s`` seconds, what
    its ``reader`` holds; None where it is not (or is no such duration: the schema says so)."""
    seconds = duration_seconds(value)
    if seconds is None or seconds <= longest_s:
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
    build = build_of(deploy)
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


def _scrape_interval(deploy: dict[str, Any]) -> Any:
    metrics = deploy.get("metrics")
    return (
        metrics.get("interval", Metrics.interval) if isinstance(metrics, dict) else Metrics.interval
    )


def _canary_rules(
    env: dict[str, Any], i: int, scrape_interval: Any
) -> Iterator[tuple[list[Key], str, bool]]:
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
    elif isinstance(canary, dict) and isinstance(env.get("analysis"), dict):
        yield from _analysis_can_stop_the_canary(canary, env["analysis"], i, scrape_interval)


def _analysis_can_stop_the_canary(
    canary: dict[str, Any], analysis: dict[str, Any], i: int, scrape_interval: Any
) -> Iterator[tuple[list[Key], str, bool]]:
    """An analysis that cannot stop the canary before it takes all traffic holds nothing
    back (Argo Rollouts stops a background analysis once the Rollout is promoted, and a
    run stopped within its limits of failed and inconclusive measurements is a success).

    It measures from the first pause on, once Prometheus has scraped the canary's pods
    :data:`SCRAPES_BEFORE_MEASURING` times, then every ``interval``. A canary that no
    measurement passes (each one failed, or inconclusive: no traffic, no scrape) is
    stopped by the ``limit + INCONCLUSIVE_LIMIT + 1``-th at the latest, which holds
    ``limit + 1`` failed ones or :data:`INCONCLUSIVE_LIMIT` ``+ 1`` inconclusive ones; the
    pauses must last an interval beyond it, so that stopping is not a race with the
    promotion. A Prometheus that answers no query errs every measurement instead, each
    tried again :data:`ERROR_RETRY_S` later whatever the interval; the
    :data:`CONSECUTIVE_ERROR_LIMIT` ``+ 1``-th error stops the canary, and it too must
    come an interval before the pauses end."""
    steps, pause = canary.get("steps"), canary.get("pause")
    if not isinstance(steps, list) or not steps or not all(is_number(s) for s in steps):
        return  # no steps, or steps of the wrong form: the schema's and the rules' above
    where: list[Key] = ["deploy", "environments", i, "canary"]
    if len(steps) == 1:
        message = (
            "with one canary step the new model takes all traffic at once, and its analysis "
            "holds nothing back: add a step below 100"
        )
        yield [*where, "steps"], message, False
        return
    interval = analysis.get("interval", "1m")
    limit = analysis.get("failure_limit", 1)
    paused, every, scrape = (
        duration_seconds(pause),
        duration_seconds(interval),
        duration_seconds(scrape_interval),
    )
    if paused is None or every is None or not isinstance(limit, int) or isinstance(limit, bool):
        return  # no pause: a person promotes; a value of the wrong form is the schema's
    if scrape is None or scrape > _GO_LONGEST_S // 4:
        return  # no duration, or too long: said where the scrape interval is
    if paused > _PAUSE_LONGEST_S or every > _GO_LONGEST_S:
        return  # too long for Argo Rollouts: said where the duration is
    before = paused * (len(steps) - 1)
    delay = scrape * SCRAPES_BEFORE_MEASURING
    measurements = limit + INCONCLUSIVE_LIMIT + 1
    needed = delay + every * measurements
    unanswered = delay + ERROR_RETRY_S * CONSECUTIVE_ERROR_LIMIT + every
    if needed < unanswered and before < unanswered:
        message = (
            f"the canary takes all traffic after {_shown(before)} of pauses, before its "
            f"analysis can stop it where Prometheus answers no query (it measures "
            f"{_shown(delay)} in, and Argo Rollouts tries a failed query again "
            f"{ERROR_RETRY_S}s later: the {CONSECUTIVE_ERROR_LIMIT + 1}th failed query in a row "
            f"stops the canary {_shown(ERROR_RETRY_S * CONSECUTIVE_ERROR_LIMIT)} after the "
            f"first, and one interval ({interval}) more keeps it from racing the promotion: "
            f"{_shown(unanswered)}): lengthen canary.pause"
        )
        yield [*where, "pause"], message, False
    elif before < needed:
        message = (
            f"the canary takes all traffic after {_shown(before)} of pauses, before its "
            f"analysis can stop it (it measures {_shown(delay)} in, once Prometheus has "
            f"scraped the canary {_times(SCRAPES_BEFORE_MEASURING)}, then {measurements} "
            f"measurements {interval} apart, which hold {limit + 1} failed or "
            f"{INCONCLUSIVE_LIMIT + 1} inconclusive ones when none passes, take "
            f"{_shown(every * measurements)}: {_shown(needed)}): lengthen canary.pause, "
            "or shorten analysis.interval"
        )
        yield [*where, "pause"], message, False


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _shown(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def build_of(deploy: Any) -> dict[str, Any] | None:
    """``deploy.server.build`` when it is a mapping."""
    server = deploy.get("server") if isinstance(deploy, dict) else None
    build = server.get("build") if isinstance(server, dict) else None
    return build if isinstance(build, dict) else None
