"""The canary analysis: Argo Rollouts' AnalysisTemplate, which judges the canary Service's
success rate (its client errors against the stable's) and p99 latency (and its
predictions' shift from the stable Service's) from the metrics
:mod:`mlgitops.render.monitoring` scrapes; each environment's patch of it, and the
Rollout's analysis block that runs it."""

from __future__ import annotations

from mlgitops.render.monitoring import SCORING, duration, number, rate_window, seconds
from mlgitops.render.serving import canary_service, metadata, stable_service
from mlgitops.spec import Pipeline
from mlgitops.spec.deploy import (
    CONSECUTIVE_ERROR_LIMIT,
    INCONCLUSIVE_LIMIT,
    SCRAPES_BEFORE_MEASURING,
    Analysis,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]


#: Metrics that are missing or NaN (no traffic yet) are neither success nor failure.
_GUARD = "len(result) > 0 && !isNaN(result[0])"

_CANARY = 'namespace="{{args.namespace}}",service="{{args.service}}"'
_STABLE = 'namespace="{{args.namespace}}",service="{{args.stable-service}}"'
_RANGE = "[{{args.window}}]"
#: The canary's pods: the canary Service's targets now (``up``, which Prometheus keeps
#: while a target's scrapes fail), less the pods the stable Service selects. ``instance``,
#: the pod's address, is the same through every Service that selects the pod.
_CANARY_PODS = f"(up{{{_CANARY}}} unless on(instance) up{{{_STABLE}}})"


def _rate(metric: str, side: str, *matchers: str, over: str = "rate") -> str:
    """``rate()`` (or ``over``: ``increase``) of ``metric`` scraped through one Service
    (``_CANARY`` or ``_STABLE``).

    The canary's counts only its own pods. Until a rollout starts, the canary Service
    selects the stable pods, and their series under its name stay in the window after it
    no longer does (Prometheus marks a target gone only two scrape intervals after
    discovery drops it): the stable Service's targets are left out at once. A canary pod
    whose container is down stays a target, errors and all.
    """
    where = ",".join((side, *matchers))
    found = f"{over}({metric}{{{where}}}{_RANGE})"
    if side == _CANARY:
        return f"({found} and on(instance) {_CANARY_PODS})"
    return found


def _requests(side: str, code: str | None = None) -> str:
    """How many scoring requests the Service answered in the window (``code``: of that class)."""
    matchers = (SCORING,) if code is None else (SCORING, f'code="{code}"')
    return f"sum({_rate('mlgitops_requests_total', side, *matchers, over='increase')})"


#: How many standard errors of the difference apart the canary's and the stable's
#: client-error shares must be before the canary's excess counts against it.
NOISE_Z = 3


def beyond_the_stable_s(canary: str, stable: str, refused_c: str, refused_s: str) -> str:
    """The canary's share of 4xx answers beyond the stable's, less what chance explains:
    both refuse clients' own bad requests at random, a few hundred requests a window,
    and their shares differ by a few points by chance alone. A two-proportion test's
    margin, ``NOISE_Z`` standard errors of the difference under the pooled share. The
    arguments count requests over the window: each side's, and each side's 4xx answers."""
    pooled = f"(({refused_c} + {refused_s}) / ({canary} + {stable}))"
    margin = f"{NOISE_Z} * sqrt({pooled} * (1 - {pooled}) * (1 / {canary} + 1 / {stable}))"
    return (
        "clamp_min(\n"
        f"    {refused_c} / {canary}\n"
        f"    - {refused_s} / {stable}\n"
        f"    - {margin},\n"
        "    0\n"
        "  )"
    )


_CLIENT_ERRORS = beyond_the_stable_s(
    _requests(_CANARY), _requests(_STABLE), _requests(_CANARY, "4xx"), _requests(_STABLE, "4xx")
)

#: The canary's server errors count against it, and so do the client errors it answers
#: beyond the stable's share of them and beyond chance: a model that refuses requests the
#: stable serves (a column its clients do not send) fails, while clients' own bad
#: requests, which both refuse alike, do not. Without stable traffic the result is NaN.
_SUCCESS_RATE = (
    f"1 - (\n  {_requests(_CANARY, '5xx')} / {_requests(_CANARY)}\n  + {_CLIENT_ERRORS}\n)\n"
)
_P99_MS = (
    "1000 * histogram_quantile(0.99, sum by (le) "
    f"({_rate('mlgitops_request_duration_seconds_bucket', _CANARY, SCORING)}))\n"
)
ANALYSIS_ARGS = (
    "namespace",
    "service",
    "stable-service",
    "prometheus",
    "min-success-rate",
    "max-p99-ms",
    "window",
)
SHIFT_ARG = "max-prediction-shift"


#: ``label_replace`` arguments that write a whole number's class as the integer it holds
#: (``1.0`` as ``1``): a server labels a class as its model returns it, and a model trained
#: on a target read as floats returns ``1.0`` where another returns ``1``.
_WHOLE_CLASS = r'"class", "$1", "class", "(-?[0-9]+)\\.0+"'


def _shares(metric: str, by: str, side: str) -> str:
    """Each ``by`` value's share of ``metric``'s rate (NaN without traffic)."""
    each = _rate(metric, side)
    if by == "class":
        each = f"label_replace({each}, {_WHOLE_CLASS})"
    return f"(sum by ({by}) ({each}) / scalar(sum({_rate(metric, side)})))"


def _class_shift() -> str:
    """Total variation distance between the canary's and the stable's predicted-class shares."""
    canary = _shares("mlgitops_predictions_total", "class", _CANARY)
    stable = _shares("mlgitops_predictions_total", "class", _STABLE)
    return (
        "(\n"
        f"  (sum(abs({canary} - {stable})) or vector(0))\n"
        f"  + (sum({canary} unless {stable}) or vector(0))\n"
        f"  + (sum({stable} unless {canary}) or vector(0))\n"
        ") / 2\n"
        # Without predictions on either side the result is NaN: inconclusive, not a pass.
        f"+ 0 * scalar(sum({_rate('mlgitops_predictions_total', _CANARY)}))\n"
        f"+ 0 * scalar(sum({_rate('mlgitops_predictions_total', _STABLE)}))\n"
    )


def _value_shift() -> str:
    """Largest gap between the cumulative shares at the prediction histogram's bounds.

    Each side's count is its ``+Inf`` bucket: Prometheus' client leaves out a histogram's
    ``_count`` and ``_sum`` where a bound is negative, as the default bounds are.
    """
    canary, stable = (
        f"sum by (le) ({_rate('mlgitops_prediction_bucket', side)})"
        f""" / scalar(sum({_rate("mlgitops_prediction_bucket", side, 'le="+Inf"')}))"""
        for side in (_CANARY, _STABLE)
    )
    # Bounds on one side only (the canary's prediction_buckets changed) leave only the
    # bounds both share to compare, +Inf at least, where both shares are 1: no result,
    # inconclusive, rather than a shift of 0.
    unmatched = f"count({canary} unless on(le) {stable}) or count({stable} unless on(le) {canary})"
    return f"max(abs(\n  {canary}\n  - {stable}\n))\nunless on() ({unmatched})\n"


def window(analysis: Analysis, scrape_interval: str) -> str:
    """The rate() window: the analysis interval, but at least four scrape intervals."""
    return rate_window(seconds(analysis.interval), scrape_interval)


def checks_shift(pipeline: Pipeline) -> bool:
    """Whether any environment compares the canary's predictions with the stable's."""
    environments = pipeline.deploy.environments if pipeline.deploy else ()
    return any(
        env.analysis is not None and env.analysis.max_prediction_shift is not None
        for env in environments
    )


def first_measurement(pipeline: Pipeline) -> str:
    """Each metric's ``initialDelay``: until Prometheus has scraped the canary's pods
    :data:`SCRAPES_BEFORE_MEASURING` times no rate has a value, and a measurement then is
    inconclusive and only uses up the run's allowance of inconclusive ones."""
    assert pipeline.deploy is not None
    return duration(SCRAPES_BEFORE_MEASURING * seconds(pipeline.deploy.metrics.interval))


def _metric(name: str, query: str, passes: str, fails: str, delay: str) -> Obj:
    return {
        "name": name,
        "initialDelay": delay,
        "interval": "1m",
        "failureLimit": 1,
        "inconclusiveLimit": INCONCLUSIVE_LIMIT,
        "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
        "successCondition": f"{_GUARD} && {passes}",
        "failureCondition": f"{_GUARD} && {fails}",
        "provider": {"prometheus": {"address": "{{args.prometheus}}", "query": query}},
    }


def analysis_template(pipeline: Pipeline) -> Obj:
    """Success rate and p99 latency of the canary Service (and prediction shift), thresholds as args."""
    args = [*ANALYSIS_ARGS, SHIFT_ARG] if checks_shift(pipeline) else list(ANALYSIS_ARGS)
    delay = first_measurement(pipeline)
    metrics = [
        _metric(
            "success-rate",
            _SUCCESS_RATE,
            "result[0] >= {{args.min-success-rate}}",
            "result[0] < {{args.min-success-rate}}",
            delay,
        ),
        _metric(
            "latency-p99-ms",
            _P99_MS,
            "result[0] <= {{args.max-p99-ms}}",
            "result[0] > {{args.max-p99-ms}}",
            delay,
        ),
    ]
    if checks_shift(pipeline):
        query = _class_shift() if pipeline.task == "classification" else _value_shift()
        metrics.append(
            _metric(
                "prediction-shift",
                query,
                f"result[0] <= {{{{args.{SHIFT_ARG}}}}}",
                f"result[0] > {{{{args.{SHIFT_ARG}}}}}",
                delay,
            )
        )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": metadata(pipeline),
        "spec": {"args": [{"name": arg} for arg in args], "metrics": metrics},
    }


def analysis_template_patch(pipeline: Pipeline, analysis: Analysis) -> list[Obj]:
    """JSON patch operations: this environment's interval and failure limit.

    An environment without ``max_prediction_shift`` drops the shift metric and
    its argument when another environment put them into the base.
    """
    shift_in_base = checks_shift(pipeline)
    keep_shift = analysis.max_prediction_shift is not None
    ops: list[Obj] = []
    for index in range(3 if keep_shift else 2):
        for field, value in (
            ("interval", analysis.interval),
            ("failureLimit", analysis.failure_limit),
        ):
            ops.append({"op": "replace", "path": f"/spec/metrics/{index}/{field}", "value": value})
    if shift_in_base and not keep_shift:
        ops.append({"op": "remove", "path": "/spec/metrics/2"})
        ops.append({"op": "remove", "path": f"/spec/args/{len(ANALYSIS_ARGS)}"})
    return ops


def rollout_analysis(pipeline: Pipeline, analysis: Analysis, steps: int) -> Obj:
    """``spec.strategy.canary.analysis``: background analysis from the first canary weight on."""
    assert pipeline.deploy is not None
    values = {
        "service": canary_service(pipeline),
        "stable-service": stable_service(pipeline),
        "prometheus": analysis.prometheus,
        "min-success-rate": number(1 - analysis.max_error_rate),
        "max-p99-ms": number(analysis.max_p99_ms),
        "window": window(analysis, pipeline.deploy.metrics.interval),
    }
    if analysis.max_prediction_shift is not None:
        values[SHIFT_ARG] = number(analysis.max_prediction_shift)
    args: list[Obj] = [
        {"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    ]
    args += [{"name": name, "value": value} for name, value in values.items()]
    block: Obj = {"templates": [{"templateName": pipeline.name}]}
    if steps > 1:
        block["startingStep"] = 1
    block["args"] = args
    return block
