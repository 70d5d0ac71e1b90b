"""The GPU budget of a pull request (``train.gpu_budget_minutes``).

What counts is a run's fit time times the GPUs of its runner (runner time on
a runner without GPU), logged as the metric ``mlgitops.budget_seconds``. The
pull request has spent what its earlier runs logged (runs tagged with its
number). Before a fit: when the spend plus the last run's duration (the
estimate; a cache hit costs nothing and never gets here) goes over the
budget, training does not start. During a fit: a timer stops it when the
budget runs out. Either way ``train`` exits 1 and leaves ``budget.json`` for
the report, which says why.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from mlgitops.errors import CheckFailed
from mlgitops.training.tracking import Tracking

BUDGET_FILE = "budget.json"
METRIC = "mlgitops.budget_seconds"
PR_TAG = "mlgitops.git.pr"


@dataclass(frozen=True)
class Allowance:
    """A pull request's GPU budget, what it spent, and what the next run will likely cost."""

    pipeline: str
    pr: int | None
    budget_s: float
    spent_s: float
    estimate_s: float | None

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.budget_s - self.spent_s)


class BudgetExceeded(CheckFailed):
    """Training did not start, or was stopped, at the GPU budget; ``record`` is budget.json."""

    def __init__(self, message: str, record: dict[str, Any]) -> None:
        super().__init__(message)
        self.record = record


class _Stop(BaseException):
    """Raised inside the fit by the budget timer (BaseException: trainers catch Exception)."""


def _minutes(seconds: float) -> float:
    """Minutes to two decimals; under 0.005 (0.3 s, a short fit on a fast GPU) to two
    significant digits, so that no figure spent, left or allowed reads as nothing."""
    minutes = seconds / 60
    if minutes == 0 or abs(minutes) >= 0.005:
        return round(minutes, 2)
    return float(f"{minutes:.2g}")


def _said(seconds: float) -> str:
    """:func:`_minutes` as a message writes it: as a decimal, where Python would write a
    figure under 1e-4 as ``1.7e-06``."""
    import math

    minutes = _minutes(seconds)
    text = repr(minutes)
    if "e" in text:
        text = f"{minutes:.{1 - math.floor(math.log10(abs(minutes)))}f}".rstrip("0")
    return text


def allowance(
    tracking: Tracking, experiment_id: str, pipeline: str, budget_minutes: float, pr: int | None
) -> Allowance:
    """The budget with the pull request's spend so far and the last run's duration."""
    spent = 0.0
    if pr is not None:
        runs = tracking.search_runs(experiment_id, f"tags.`{PR_TAG}` = '{pr}'", 1000)
        spent = sum(r.metrics.get(METRIC, 0.0) for r in runs)
    last = tracking.search_runs(
        experiment_id, f"metrics.`{METRIC}` > 0 and attributes.status = 'FINISHED'", 1
    )
    estimate = last[0].metrics.get(METRIC) if last else None
    return Allowance(pipeline, pr, budget_minutes * 60, spent, estimate)


def record(found: Allowance, stopped: str, message: str, used_s: float = 0.0) -> dict[str, Any]:
    doc = asdict(found)
    return {
        "schema_version": 1,
        "pipeline": found.pipeline,
        "pr": found.pr,
        "stopped": stopped,
        "budget_minutes": _minutes(found.budget_s),
        "spent_minutes": _minutes(found.spent_s + used_s),
        "estimate_minutes": None if doc["estimate_s"] is None else _minutes(doc["estimate_s"]),
        "message": message,
    }


def check_before(found: Allowance) -> None:
    """Refuse to start a run that the budget cannot pay for."""
    where = f"pull request #{found.pr}" if found.pr is not None else "this run"
    budget, spent = _said(found.budget_s), _said(found.spent_s)
    if found.remaining_s <= 0:
        message = f"GPU budget spent: {where} has used {spent} of {budget} GPU minutes; training did not start"
    elif found.estimate_s is not None and found.estimate_s > found.remaining_s:
        estimate = _said(found.estimate_s)
        message = (
            f"GPU budget: the last run took {estimate} GPU minutes and {where} has "
            f"{_said(found.remaining_s)} of {budget} left; training did not start"
        )
    else:
        return
    raise BudgetExceeded(message, record(found, "before", message))


def stopped(found: Allowance, used_s: float) -> BudgetExceeded:
    where = f"pull request #{found.pr}" if found.pr is not None else "this run"
    message = (
        f"GPU budget: training was stopped after {_said(used_s)} GPU minutes, when "
        f"{where} reached its budget of {_said(found.budget_s)} GPU minutes"
    )
    return BudgetExceeded(message, record(found, "during", message, used_s))


@contextmanager
def timer(seconds: float | None, gpus: int) -> Iterator[None]:
    """Stop the block (raise :class:`_Stop`) after ``seconds`` of budget at ``gpus`` GPUs.

    A fit runs in the main thread; SIGALRM interrupts it between two Python
    steps (a boosting round, an epoch), or a custom trainer's wait.
    """
    if seconds is None:
        yield
        return

    def _expire(signum: int, frame: Any) -> None:
        raise _Stop()

    wall = max(seconds / max(1, gpus), 0.001)
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, wall)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


Stop = _Stop
