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
from typing import Any

from mlgitops.github.payloads import seconds_of

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


def describe(found: Pickup) -> str:
    """One line on what the watchdog found, for the log."""
    if found.state == "started":
        who = f" ({found.runner})" if found.runner else ""
        return f"a runner{who} picked up the train job after {found.waited_s / 60:.1f} minutes"
    if found.state == "skipped":
        return "the train job was skipped"
    return f"this run has no job named '{TRAIN_JOB}'"


def verdict(jobs: Sequence[Mapping[str, Any]], now: float, limit_s: float) -> Pickup:
    """The train job's state among a run's ``jobs`` at time ``now`` (epoch seconds)."""
    found = [j for j in jobs if j.get("name") == TRAIN_JOB]
    if not found:
        return Pickup("missing")
    job = found[-1]
    status = job.get("status")
    if job.get("conclusion") == "skipped":
        return Pickup("skipped")
    created = seconds_of(job.get("created_at"))
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
    """Poll ``jobs`` until the train job starts or has waited ``minutes``.

    The watchdog and the train job wait for the same job (``check``), so the
    train job is listed from the first poll on; when it is not (a workflow
    without one, a runner that does not list jobs), there is nothing to watch.
    """
    limit = minutes * 60.0
    while True:
        found = verdict(jobs(), clock(), limit)
        if found.state != "waiting":
            return found
        sleep(poll_s)
