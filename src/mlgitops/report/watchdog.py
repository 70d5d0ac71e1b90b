"""The stuck-runner watchdog: has a runner picked up this run's train job?

GitHub keeps a job that no runner picks up queued for a day, and the pull
request stays pending without a word. The PR workflow's watchdog job polls
the run's jobs (``GET .../actions/runs/{id}/jobs``) until the train job has a
runner, or the spec's ``train.runner_wait_minutes`` have passed: then the
report says so. :func:`verdict` is pure; :func:`watch` takes the clock and
the sleep function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The ``name:`` of the PR workflow's train job.
TRAIN_JOB = "train and compare"
POLL_SECONDS = 30.0
_WAITING = frozenset({"queued", "waiting", "pending", "requested"})


@dataclass(frozen=True)
class Pickup:
    """What the watchdog found: ``state`` is started, stuck, waiting, skipped or missing."""

    state: str
    waited_s: float = 0.0
    runner: str | None = None


def no_runner_note(minutes: int) -> str:
    return (
        f"No GPU runner picked up the job in {minutes} minutes: the train job is still "
        "queued. Check the runner pool (scale set listener, runner pods pending on GPU "
        "capacity, the node autoscaler); this report updates when training ends."
    )


def _time(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def verdict(jobs: Sequence[Mapping[str, Any]], now: float, limit_s: float) -> Pickup:
    """The train job's state among a run's ``jobs`` at time ``now`` (epoch seconds)."""
    found = [j for j in jobs if j.get("name") == TRAIN_JOB]
    if not found:
        return Pickup("missing")
    job = found[-1]
    status = job.get("status")
    if job.get("conclusion") == "skipped":
        return Pickup("skipped")
    created = _time(job.get("created_at"))
    waited = max(0.0, now - created) if created is not None else 0.0
    if status not in _WAITING:
        return Pickup("started", waited, job.get("runner_name"))
    return Pickup("stuck" if waited >= limit_s else "waiting", waited)


def watch(
    jobs: Callable[[], list[dict[str, Any]]],
    minutes: int,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    poll_s: float = POLL_SECONDS,
) -> Pickup:
    """Poll ``jobs`` until the train job starts, is stuck past ``minutes``, or is gone.

    A train job not yet listed counts from the first poll; the watchdog
    gives up ``minutes`` after that at the latest.
    """
    limit = minutes * 60.0
    first = clock()
    while True:
        now = clock()
        found = verdict(jobs(), now, limit)
        if found.state == "missing" and now - first >= limit:
            return Pickup("stuck", now - first)
        if found.state in ("started", "stuck", "skipped"):
            return found
        sleep(poll_s)
