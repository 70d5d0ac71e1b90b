"""What Argo CD and Argo Rollouts say about an environment, summarised (pure).

``summarize`` reads the Application and the Rollout as the Kubernetes API
returns them (plain dicts) and says whether the environment is healthy:
synced, healthy, and its canary fully promoted. The canary weight follows
Argo Rollouts' own rule: the traffic router's actual weight when there is
one, else the last ``setWeight`` at or before the current step (0 once
aborted, 100 once past the last step). Steps are counted as the spec writes
them: ``steps: [25, 50, 100]`` is three steps; the pauses between them are not.
``analysis_outcome`` reads the canary's AnalysisRun: its phase and, per metric,
the phase and last measured value, so that a stopped canary says which metric stopped it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: AnalysisRun phases after which nothing changes by waiting.
DECISIVE = frozenset({"Failed", "Error", "Inconclusive"})


@dataclass(frozen=True)
class MetricOutcome:
    """One metric of an AnalysisRun: its phase and its measurements so far."""

    name: str
    phase: str
    value: str | None = None
    message: str = ""
    count: int = 0
    failed: int = 0
    inconclusive: int = 0

    def line(self) -> str:
        text = f"    {self.name}: {self.phase}"
        if self.value is not None:
            text += f", last measured {self.value}"
        text += f" ({self.failed} failed, {self.inconclusive} inconclusive of {self.count})"
        return text + (f" — {self.message}" if self.message else "")


@dataclass(frozen=True)
class AnalysisOutcome:
    """The canary's AnalysisRun, summarised."""

    name: str
    phase: str
    message: str = ""
    metrics: tuple[MetricOutcome, ...] = ()

    @property
    def stopped_by(self) -> tuple[str, ...]:
        """The metrics whose phase ended the run (Failed, Error, Inconclusive)."""
        return tuple(m.name for m in self.metrics if m.phase in DECISIVE)

    def lines(self, namespace: str) -> list[str]:
        head = f"  AnalysisRun {namespace}/{self.name}: {self.phase}"
        if self.stopped_by:
            head += ", stopped by " + ", ".join(self.stopped_by)
        head += f" — {self.message}" if self.message else ""
        return [head, *(m.line() for m in self.metrics)]


def analysis_run_name(rollout: dict[str, Any] | None) -> str | None:
    """The name of the canary's current AnalysisRun (step analysis first, then background)."""
    canary = _get(_get(rollout, "status"), "canary")
    for key in ("currentStepAnalysisRunStatus", "currentBackgroundAnalysisRunStatus"):
        run = canary.get(key)
        if isinstance(run, dict) and isinstance(run.get("name"), str):
            return str(run["name"])
    return None


def analysis_outcome(run: dict[str, Any] | None) -> AnalysisOutcome | None:
    """An AnalysisRun object as the API returns it, summarised (None when there is none)."""
    if not isinstance(run, dict):
        return None
    status = _get(run, "status")
    metrics = []
    for result in status.get("metricResults") or []:
        if not isinstance(result, dict):
            continue
        measurements = [m for m in result.get("measurements") or [] if isinstance(m, dict)]
        last = measurements[-1] if measurements else {}
        metrics.append(
            MetricOutcome(
                name=str(result.get("name", "?")),
                phase=str(result.get("phase") or "Pending"),
                value=str(last["value"]) if "value" in last else None,
                message=str(result.get("message") or last.get("message") or ""),
                count=_count(result.get("count")),
                failed=_count(result.get("failed")),
                inconclusive=_count(result.get("inconclusive")),
            )
        )
    return AnalysisOutcome(
        name=str(_get(run, "metadata").get("name", "?")),
        phase=str(status.get("phase") or "Pending"),
        message=str(status.get("message") or ""),
        metrics=tuple(metrics),
    )


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment's delivery state."""

    pipeline: str
    environment: str
    application: str
    rollout: str
    sync: str | None = None
    health: str | None = None
    revision: str | None = None
    phase: str | None = None
    message: str = ""
    step: int | None = None
    steps: int | None = None
    weight: int | None = None
    analysis: str | None = None
    aborted: bool = False
    analysis_run: AnalysisOutcome | None = None
    problems: tuple[str, ...] = ()
    #: What serves the model: an Argo Rollouts ``Rollout``, or KServe's ``InferenceService``
    kind: str = "Rollout"
    #: A KServe canary whose model takes less than all of the traffic: KServe holds the
    #: share until a commit changes it (``promote --env``), so waiting does not help
    held: bool = False
    #: KServe: the Knative revision the latest model runs as (the canary's, below 100%)
    latest_revision: str | None = None
    #: Argo CD's sync history, oldest first: (when the sync completed, in epoch seconds;
    #: the commits it synced, one per source) for each sync the Application keeps
    #: (``status.history``, at most ``revisionHistoryLimit``)
    history: tuple[tuple[float, tuple[str, ...]], ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def decided(self) -> bool:
        """Healthy, or stopped in a way that waiting does not change."""
        run = self.analysis_run
        return (
            self.healthy or self.aborted or self.held or (run is not None and run.phase in DECISIVE)
        )

    def lines(self) -> list[str]:
        """The human report, one fact per line."""
        head = f"{self.pipeline}/{self.environment}: "
        head += "healthy" if self.healthy else "not healthy: " + "; ".join(self.problems)
        app = f"  Argo CD Application {self.application}: "
        if self.sync is None:
            app += "not found"
        else:
            app += f"{self.sync}, {self.health or 'Unknown'}"
            app += f" at {self.revision[:12]}" if self.revision else ""
        found = [head, app, self._rollout_line()]
        if self.analysis_run is not None:
            found += self.analysis_run.lines(self.rollout.split("/")[0])
        return found

    def _rollout_line(self) -> str:
        text = f"  {self.kind} {self.rollout}: "
        if self.phase is None:
            return text + "not found"
        parts = [self.phase + (" (aborted)" if self.aborted else "")]
        if self.steps:
            parts.append(f"canary step {self.step}/{self.steps}")
        if self.weight is not None:
            parts.append(f"weight {self.weight}%")
        if self.analysis:
            parts.append(f"analysis {self.analysis}")
        text += ", ".join(parts)
        return text + (f" — {self.message}" if self.message else "")

    def as_json(self) -> dict[str, Any]:
        """The machine-readable form (``status --json``)."""
        from dataclasses import asdict

        doc = asdict(self)
        del doc["history"]  # what promote reads; `status` shows the synced revision
        if self.analysis_run is not None:
            doc["analysis_run"]["stopped_by"] = list(self.analysis_run.stopped_by)
            doc["analysis_run"]["metrics"] = [asdict(m) for m in self.analysis_run.metrics]
        return {**doc, "problems": list(self.problems), "healthy": self.healthy}


def summarize(
    pipeline: str,
    environment: str,
    names: tuple[str, str],
    application: dict[str, Any] | None,
    rollout: dict[str, Any] | None,
    analysis_run: dict[str, Any] | None = None,
) -> EnvironmentStatus:
    """The status of one environment from its Application, Rollout and AnalysisRun objects."""
    ro_status = _get(rollout, "status")
    steps = _at(rollout, "spec", "strategy", "canary", "steps")
    steps = steps if isinstance(steps, list) else []
    step = ro_status.get("currentStepIndex") if rollout is not None else None
    status = EnvironmentStatus(
        pipeline=pipeline,
        environment=environment,
        application=names[0],
        rollout=names[1],
        **_application_fields(application),
        phase=(ro_status.get("phase") or "Unknown") if rollout is not None else None,
        message=str(ro_status.get("message") or ""),
        step=_weight_step(steps, step),
        steps=len(_weights(steps)) or None,
        weight=_weight(ro_status, steps) if rollout is not None else None,
        analysis=_analysis(_get(ro_status, "canary")),
        aborted=bool(ro_status.get("abort")),
        analysis_run=analysis_outcome(analysis_run),
    )
    return _with_problems(status)


def summarize_kserve(
    pipeline: str,
    environment: str,
    names: tuple[str, str],
    application: dict[str, Any] | None,
    service: dict[str, Any] | None,
    steps: tuple[int, ...],
) -> EnvironmentStatus:
    """The status of one environment served by a KServe InferenceService (``service``):
    its ``Ready`` condition, and the share of the traffic its latest revision takes
    (``status.components.predictor.traffic``, the entry marked ``latestRevision``), as
    ``kubectl get inferenceservice`` shows them. ``steps``: the environment's canary steps
    (:func:`~mlgitops.spec.deploy.traffic_steps`). Healthy: synced, Ready, and the latest
    revision takes all of the traffic."""
    conditions = _at(service, "status", "conditions")
    ready = next(
        (
            c
            for c in conditions or []
            if isinstance(c, dict) and c.get("type") == "Ready" and isinstance(c.get("status"), str)
        ),
        None,
    )
    phase = None
    if service is not None:
        phase = (
            "Unknown" if ready is None else ("Ready" if ready["status"] == "True" else "NotReady")
        )
    traffic = _at(service, "status", "components", "predictor", "traffic")
    latest = next(
        (t for t in traffic or [] if isinstance(t, dict) and t.get("latestRevision") is True),
        None,
    )
    weight = latest.get("percent") if latest is not None else None
    weight = weight if isinstance(weight, int) and not isinstance(weight, bool) else None
    revision = latest.get("revisionName") if latest is not None else None
    share = _at(service, "spec", "predictor", "canaryTrafficPercent")
    step = steps.index(share) + 1 if share in steps else None
    status = EnvironmentStatus(
        pipeline=pipeline,
        environment=environment,
        application=names[0],
        rollout=names[1],
        **_application_fields(application),
        phase=phase,
        message=str((ready or {}).get("message") or (ready or {}).get("reason") or ""),
        step=step,
        steps=len(steps) or None,
        weight=weight,
        kind="InferenceService",
        held=phase == "Ready" and weight is not None and weight < 100,
        latest_revision=revision if isinstance(revision, str) else None,
    )
    return _kserve_problems(status)


def serving_problems(status: EnvironmentStatus, share: int) -> list[str]:
    """Why a KServe environment's canary is not ready for its next share, where its overlay
    gives the model ``share`` percent: the Application synced and healthy, the
    InferenceService Ready, and its latest revision taking at least that share (the last
    step applied; the first revision of an InferenceService takes all of the traffic);
    [] where it is."""
    problems = [*_application_problems(status), *_service_problems(status)]
    if not problems and status.weight is not None and status.weight < share:
        problems.append(
            f"the latest revision takes {status.weight}% of the traffic, less than the "
            f"{share}% the overlay gives it: the cluster has not applied the last step yet"
        )
    return problems


def _service_problems(status: EnvironmentStatus) -> list[str]:
    if status.phase is None:
        return [f"InferenceService {status.rollout} not found"]
    if status.phase != "Ready":
        said = f" ({status.message})" if status.message else ""
        return [f"InferenceService is {status.phase}{said}"]
    if status.weight is None:
        return ["the InferenceService reports no revision taking traffic yet"]
    return []


def _kserve_problems(status: EnvironmentStatus) -> EnvironmentStatus:
    from dataclasses import replace

    service = _service_problems(status)
    problems = [*_application_problems(status), *service]
    if not service and status.held:
        where = f" (canary step {status.step}/{status.steps})" if status.step else ""
        problems.append(
            f"the canary's model takes {status.weight}% of the traffic{where}: KServe holds "
            f"it there until `mlgitops promote {status.pipeline} --env {status.environment}` "
            "gives it the next share"
        )
    return replace(status, problems=tuple(problems))


def _application_fields(application: dict[str, Any] | None) -> dict[str, Any]:
    """The sync status, health and revision Argo CD's Application reports."""
    app_status = _get(application, "status")
    return {
        "sync": (_get(app_status, "sync").get("status") or "Unknown") if application else None,
        "health": _get(app_status, "health").get("status"),
        "revision": _get(app_status, "sync").get("revision"),
        "history": _history(app_status.get("history")),
    }


def _history(entries: Any) -> tuple[tuple[float, tuple[str, ...]], ...]:
    """Each sync an Application's ``status.history`` lists, oldest first: when it completed
    (``deployedAt``) and the commits it synced (``revision``, or ``revisions`` for an
    Application of several sources); entries without both are left out."""
    from mlgitops.github.payloads import seconds_of

    found: list[tuple[float, int, tuple[str, ...]]] = []
    for entry in entries if isinstance(entries, list) else []:
        at = seconds_of(entry.get("deployedAt")) if isinstance(entry, dict) else None
        if at is None:
            continue
        many = entry.get("revisions")
        named = [entry.get("revision"), *(many if isinstance(many, list) else [])]
        revisions = tuple(r for r in named if isinstance(r, str) and r)
        number = entry.get("id")
        order = number if isinstance(number, int) and not isinstance(number, bool) else 0
        if revisions:
            found.append((at, order, revisions))
    return tuple((at, revisions) for at, _, revisions in sorted(found))


def _application_problems(status: EnvironmentStatus) -> list[str]:
    if status.sync is None:
        return [f"Argo CD Application {status.application} not found"]
    problems = []
    if status.sync != "Synced":
        problems.append(f"Argo CD sync is {status.sync}")
    if status.health != "Healthy":
        problems.append(f"Argo CD health is {status.health or 'Unknown'}")
    return problems


def _count(value: Any) -> int:
    """A count the cluster wrote; 0 where it is no whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _at(doc: dict[str, Any] | None, *keys: str) -> Any:
    """The value at ``keys`` of an object the cluster wrote, None where any is missing."""
    value: Any = doc
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _get(doc: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    """The object at ``keys``: empty where it is missing, or is no object (whatever wrote
    the cluster's objects, a field of another type is no status to read)."""
    value = _at(doc, *keys)
    return value if isinstance(value, dict) else {}


def _weights(steps: list[Any]) -> list[int]:
    """Indices of the ``setWeight`` steps: the spec's canary steps (pauses are not steps)."""
    return [i for i, s in enumerate(steps) if isinstance(s, dict) and "setWeight" in s]


def _weight_step(steps: list[Any], index: Any) -> int | None:
    """The 1-based canary step (weight) reached at ``currentStepIndex``; all when past them."""
    weights = _weights(steps)
    if not weights:
        return None
    if not isinstance(index, int):
        return len(weights)
    return max(1, sum(1 for i in weights if i <= index))


def _weight(status: dict[str, Any], steps: list[Any]) -> int:
    actual = _get(status, "canary", "weights", "canary").get("weight")
    if isinstance(actual, int):
        return actual
    if status.get("abort"):
        return 0
    index = status.get("currentStepIndex")
    if not steps or not isinstance(index, int) or index >= len(steps):
        return 100
    for position in range(index, -1, -1):
        weight = steps[position].get("setWeight") if isinstance(steps[position], dict) else None
        if isinstance(weight, int):
            return weight
    return 0


def _analysis(canary: dict[str, Any]) -> str | None:
    for key in ("currentStepAnalysisRunStatus", "currentBackgroundAnalysisRunStatus"):
        run = canary.get(key)
        if isinstance(run, dict) and run.get("status"):
            return f"{run['status']} ({run.get('name', '?')})"
    return None


def _with_problems(status: EnvironmentStatus) -> EnvironmentStatus:
    from dataclasses import replace

    problems = _application_problems(status)
    if status.phase is None:
        problems.append(f"Rollout {status.rollout} not found")
    elif status.aborted:
        problems.append(
            "the canary was aborted" + (f" ({status.message})" if status.message else "")
        )
    elif status.phase != "Healthy":
        where = f" at canary step {status.step}/{status.steps}" if status.steps else ""
        problems.append(f"Rollout is {status.phase}{where}")
    run = status.analysis_run
    if run is not None and run.phase in DECISIVE:
        problems.append(_analysis_problem(run))
    return replace(status, problems=tuple(problems))


def _analysis_problem(run: AnalysisOutcome) -> str:
    which = ", ".join(run.stopped_by) or "no metric reported"
    if run.phase == "Inconclusive":
        return f"the canary analysis is Inconclusive on {which}: promote or abort it by hand"
    return f"the canary analysis {run.phase} on {which}"
