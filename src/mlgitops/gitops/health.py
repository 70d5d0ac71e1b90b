"""What Argo CD and Argo Rollouts say about an environment, summarised (pure).

``summarize`` reads the Application and the Rollout as the Kubernetes API
returns them (plain dicts) and says whether the environment is healthy:
synced, healthy, and its canary fully promoted. The canary weight follows
Argo Rollouts' own rule: the traffic router's actual weight when there is
one, else the last ``setWeight`` at or before the current step (0 once
aborted, 100 once past the last step). Steps are counted as the spec writes
them: ``steps: [25, 50, 100]`` is three steps; the pauses between them are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    problems: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.problems

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
        return [head, app, self._rollout_line()]

    def _rollout_line(self) -> str:
        text = f"  Rollout {self.rollout}: "
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

        return {**asdict(self), "problems": list(self.problems), "healthy": self.healthy}


def summarize(
    pipeline: str,
    environment: str,
    names: tuple[str, str],
    application: dict[str, Any] | None,
    rollout: dict[str, Any] | None,
) -> EnvironmentStatus:
    """The status of one environment from its Application and Rollout objects."""
    app_status = _get(application, "status")
    ro_status = _get(rollout, "status")
    steps = _get(rollout, "spec", "strategy", "canary", "steps")
    steps = steps if isinstance(steps, list) else []
    step = ro_status.get("currentStepIndex") if rollout is not None else None
    status = EnvironmentStatus(
        pipeline=pipeline,
        environment=environment,
        application=names[0],
        rollout=names[1],
        sync=(_get(app_status, "sync").get("status") or "Unknown") if application else None,
        health=_get(app_status, "health").get("status"),
        revision=_get(app_status, "sync").get("revision"),
        phase=(ro_status.get("phase") or "Unknown") if rollout is not None else None,
        message=str(ro_status.get("message") or ""),
        step=_weight_step(steps, step),
        steps=len(_weights(steps)) or None,
        weight=_weight(ro_status, steps) if rollout is not None else None,
        analysis=_analysis(_get(ro_status, "canary")),
        aborted=bool(ro_status.get("abort")),
    )
    return _with_problems(status)


def _get(doc: dict[str, Any] | None, *keys: str) -> Any:
    value: Any = doc or {}
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if value is not None else {}


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

    problems = []
    if status.sync is None:
        problems.append(f"Argo CD Application {status.application} not found")
    else:
        if status.sync != "Synced":
            problems.append(f"Argo CD sync is {status.sync}")
        if status.health != "Healthy":
            problems.append(f"Argo CD health is {status.health or 'Unknown'}")
    if status.phase is None:
        problems.append(f"Rollout {status.rollout} not found")
    elif status.aborted:
        problems.append(
            "the canary was aborted" + (f" ({status.message})" if status.message else "")
        )
    elif status.phase != "Healthy":
        where = f" at canary step {status.step}/{status.steps}" if status.steps else ""
        problems.append(f"Rollout is {status.phase}{where}")
    return replace(status, problems=tuple(problems))
