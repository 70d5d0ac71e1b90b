"""``mlgitops promote NAME --to ENV``: copy the model of the environment before ENV to ENV;
``mlgitops promote NAME --env ENV [--full]``: give the model of ENV the next share of its
KServe canary (all of the traffic with ``--full``).

The environment before ENV is the one listed before it in the spec's
``deploy.environments``. The promotion is a commit (``MODEL_URI`` and
``model.json`` of ENV's overlay), pushed race-safe; then the registry alias
ENV follows. It copies the source's model the checkout reads, or nothing (where
the tip holds another by the time the commit is pushed). With ``--when-healthy``
it first asks the cluster whether the source environment is synced (to a commit
whose record names that model), healthy and fully promoted (served by KServe,
with ``analysis``: and its requests within the thresholds, as Prometheus measures
them), and promotes nothing (exit 1) when it is not; ``--wait DURATION`` keeps asking (every few
seconds) while its canary is still running, and stops early when the canary's
analysis fails or is inconclusive, or the canary is aborted. Promoting what ENV
already runs commits nothing.

A KServe canary (``deploy.target: kserve``) keeps the share ``canaryTrafficPercent``
gives the new model until a commit changes it: ``--env`` is that commit, the next of
the environment's canary steps (the last is 100) in its overlay and ``model.json``,
pushed race-safe, from the share the checkout reads (nothing where the tip holds
another by then). Argo Rollouts moves its canary through the steps in the cluster, so
``--env`` refuses a pipeline of another target. With ``--when-healthy`` it first
asks the cluster whether the environment serves the present share (Argo CD synced,
to a commit whose record names that model and share, and healthy, the
InferenceService Ready, its latest revision taking at least that share, and with
``analysis`` that revision's error rate and p99 latency within the thresholds), and
with ``--wait`` keeps asking until it does.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mlgitops import console, proc
from mlgitops.errors import EXIT_OK, BadInput, CheckFailed
from mlgitops.gitops import delivery, records
from mlgitops.gitops.edits import deployed_record, promote_edit, read_record, traffic_edit
from mlgitops.gitops.overlay import Overlay, overlay_of, share_of
from mlgitops.gitops.provenance import same_model
from mlgitops.gitops.publish import Published, Snapshot, Target, publish
from mlgitops.spec import Repo, load_repo
from mlgitops.spec.deploy import Environment, duration_seconds
from mlgitops.spec.model import Pipeline

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable

    from mlgitops.gitops.health import EnvironmentStatus
    from mlgitops.results import ProvenanceRecord


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", metavar="ENV", help="the environment to promote to")
    where.add_argument(
        "--env",
        metavar="ENV",
        help="give ENV's model the next share of its KServe canary (deploy.target: kserve)",
    )
    parser.add_argument(
        "--full", action="store_true", help="with --env: all of the traffic, at once"
    )
    parser.add_argument(
        "--when-healthy",
        action="store_true",
        help="promote only when the previous environment is synced, healthy and fully rolled "
        "out (with --env: when the environment serves its canary's present share)",
    )
    parser.add_argument(
        "--wait",
        type=_duration,
        default=0,
        metavar="DURATION",
        help="with --when-healthy: wait up to DURATION (90s, 30m, 1h) for the canary to finish "
        "(with --env: to serve its present share)",
    )
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE", help="for --when-healthy")
    parser.add_argument(
        "--prometheus",
        metavar="URL",
        help="with --when-healthy, KServe: the Prometheus that measures the model's requests, "
        "where the environment's analysis.prometheus is not reachable from here (a port-forward)",
    )
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context, for --when-healthy")
    delivery.add_git_options(parser)


#: Seconds between two readings of the cluster while waiting.
POLL_S = 2.0


def _duration(text: str) -> int:
    seconds = duration_seconds(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 30m or 1h: {text!r}")
    return seconds


@dataclass(frozen=True)
class _Cluster:
    """Where ``--when-healthy`` asks: the kubeconfig and context, and the Prometheus that
    measures a KServe model's requests (None: the environment's ``analysis.prometheus``)."""

    kubeconfig: Path | None
    context: str | None
    prometheus: str | None


def source_of(pipeline: Pipeline, target: Environment) -> Environment:
    """The environment listed before ``target``."""
    assert pipeline.deploy is not None  # environment_of found target in it
    names = [e.name for e in pipeline.deploy.environments]
    index = names.index(target.name)
    if index == 0:
        raise BadInput(
            f"{target.name} is the first environment of {pipeline.name!r}: nothing comes "
            f"before it to promote; use `mlgitops deploy {pipeline.name} --env {target.name}`"
        )
    return pipeline.deploy.environments[index - 1]


def run(
    *,
    repo: Path,
    name: str,
    to: str | None,
    env: str | None,
    full: bool,
    when_healthy: bool,
    wait: int,
    kubeconfig: Path | None,
    context: str | None,
    prometheus: str | None,
    remote: str,
    no_push: bool,
    attempts: int,
    tracking_uri: str | None,
) -> int:
    """Promote ``name`` from the environment before ``to`` into ``to``; or, with ``env``,
    give ``env``'s model the next share of its KServe canary."""
    from mlgitops.training.tracking import resolve_tracking_uri

    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    if env is not None:
        if prometheus is not None:
            _check_prometheus(pipeline, env, prometheus, when_healthy)
        where = delivery.target(loaded, remote, no_push, attempts)
        uri = resolve_tracking_uri(root, tracking_uri, loaded.config)
        cluster = _Cluster(kubeconfig, context, prometheus) if when_healthy else None
        return _next_share(loaded, root, pipeline, env, full, where, uri, cluster, wait)
    if full:
        raise BadInput("--full is for --env: the share of a KServe canary")
    assert to is not None  # argparse requires --to or --env
    target_env = delivery.environment_of(pipeline, to)
    source_env = source_of(pipeline, target_env)
    if prometheus is not None:
        _check_prometheus(pipeline, source_env.name, prometheus, when_healthy)
    where = delivery.target(loaded, remote, no_push, attempts)
    source = overlay_of(pipeline, source_env.name)
    target = overlay_of(pipeline, to)
    head = proc.head_commit(root)
    read = deployed_record(Snapshot(root, head), source, "deploy there first")
    if when_healthy:
        cluster = _Cluster(kubeconfig, context, prometheus)
        _require_healthy(loaded, root, pipeline, source_env, source, read, cluster, wait)
    edit = promote_edit(source, target, target_env, delivery.now(), read)
    planned = delivery.planned_version(root, edit, target)
    uri = resolve_tracking_uri(root, tracking_uri, loaded.config)
    if planned is not None:
        delivery.check_registry(root, uri, name, planned)
    # the target's alias may lag behind a record of the model promoted now (an earlier
    # promote's commit landed, its alias did not move), never behind another model's
    writing = records.Writing(to, read.run_id)
    try:  # the record promoted among them
        records.check_records(root, uri, pipeline, head, where, writing=writing)
    except BadInput as exc:
        raise BadInput(f"{exc}; nothing committed") from exc
    outcome = publish(root, edit, where)
    values = delivery.report("promote", name, outcome, where)
    if isinstance(outcome, Published) or outcome.settled:
        at = outcome.sha if isinstance(outcome, Published) else outcome.at
        delivery.serving_image(root, target, at)
        record = read_record(Snapshot(root, at), target)
        if record is not None:
            values["model-version"] = record.version
        if record is not None and delivery.moves_alias(where, uri, name, to):
            delivery.point_alias(root, uri, name, to, record.version, True, (target.model_json, at))
            console.line(f"  MLflow alias {name}@{to} -> version {record.version}")
    delivery.github_outputs(values)
    return EXIT_OK


def _check_prometheus(pipeline: Pipeline, env: str, url: str, when_healthy: bool) -> None:
    """Refuse ``--prometheus URL`` where nothing would ask it: without ``--when-healthy``,
    where Argo Rollouts measures the canary, or for an environment (``env``, the one
    measured) without analysis thresholds; or where it is no http(s) URL."""
    if not when_healthy:
        raise BadInput("--prometheus is for --when-healthy: where the canary is measured")
    assert pipeline.deploy is not None  # environment_of found the environment in it
    if pipeline.deploy.target != "kserve":
        raise BadInput(
            f"--prometheus is for KServe (deploy.target: kserve): {pipeline.name}'s Argo "
            "Rollouts analysis measures its canary in the cluster"
        )
    environment = delivery.environment_of(pipeline, env)
    if environment.analysis is None:
        raise BadInput(
            f"--prometheus measures a canary against its environment's analysis thresholds, "
            f"and {environment.name} has no analysis (deploy.environments[].analysis)"
        )
    if re.match(r"https?://[^/\s]", url) is None:
        raise BadInput(f"--prometheus: expected an http:// or https:// URL: {url!r}")


def _next_share(
    loaded: Repo,
    root: Path,
    pipeline: Pipeline,
    env: str,
    full: bool,
    where: Target,
    uri: str,
    cluster: _Cluster | None,
    wait: int,
) -> int:
    """Commit the next share of ``env``'s KServe canary (all of the traffic with ``full``);
    with ``cluster`` (``--when-healthy``), only once the cluster serves the share the
    overlay gives the model now, and the canary's requests hold to the environment's
    analysis thresholds."""
    environment = delivery.environment_of(pipeline, env)
    overlay = overlay_of(pipeline, environment.name)
    if not overlay.traffic:
        assert pipeline.deploy is not None  # environment_of found env in it
        if pipeline.deploy.target != "kserve":
            raise BadInput(
                f"{pipeline.name} runs on Argo Rollouts (deploy.target: "
                f"{pipeline.deploy.target}), which moves the canary through its steps in the "
                f"cluster (`kubectl argo rollouts promote {pipeline.name} -n "
                f"{environment.namespace}`); --env moves a KServe canary"
            )
        raise BadInput(
            f"{environment.name} has no canary (deploy.environments[].canary): its model takes "
            "all of the traffic when it is deployed"
        )
    head = proc.head_commit(root)
    # its record among them, held to its alias: a share moves no alias, so one that lags
    # behind the record is moved by running the deploy or promote that wrote it again
    try:
        records.check_records(root, uri, pipeline, head, where)
    except BadInput as exc:
        raise BadInput(f"{exc}; nothing committed") from exc
    read = deployed_record(Snapshot(root, head), overlay, "nothing to promote")
    share = share_of(read, overlay)
    if cluster is not None and share is not None and share < 100:
        _require_serving(loaded, root, pipeline, environment, overlay, read, cluster, wait)
    outcome = publish(root, traffic_edit(overlay, full, read), where)
    values = delivery.report("promote", pipeline.name, outcome, where)
    if isinstance(outcome, Published) or outcome.settled:
        at = outcome.sha if isinstance(outcome, Published) else outcome.at
        record = read_record(Snapshot(root, at), overlay)
        if record is not None:
            values["model-version"] = record.version
    delivery.github_outputs(values)
    return EXIT_OK


def _require_serving(
    loaded: Repo,
    root: Path,
    pipeline: Pipeline,
    environment: Environment,
    overlay: Overlay,
    read: ProvenanceRecord,
    cluster: _Cluster,
    wait_s: float,
) -> None:
    """Return once ``environment``'s InferenceService serves the share ``read`` (the
    record at the checkout) gives its model
    (:func:`~mlgitops.gitops.health.serving_problems`), synced from a commit that holds
    ``read``, and, where the environment has ``analysis``, its latest revision's requests
    hold to the thresholds (:func:`~mlgitops.gitops.canary_metrics.measure`); raise
    CheckFailed when it does not (after waiting, unless a threshold failed)."""
    from mlgitops.gitops.health import serving_problems

    share = share_of(read, overlay)
    assert share is not None  # the caller checks the overlay has a canary
    held = _pause(root, overlay, environment, share)

    def check(status: EnvironmentStatus) -> tuple[list[str], bool]:
        found = serving_problems(status, share)
        found = found or _unlike_synced(root, overlay, read, status, with_share=True)
        if found:
            return found, False
        measured, failed = _requests_problems(pipeline, environment, cluster.prometheus, status)
        return (measured, True) if failed else ([*held(status), *measured], False)

    problems, _ = _watch(loaded, pipeline, environment, cluster, wait_s, check)
    if problems:
        raise CheckFailed(
            f"{environment.name} is not ready for its canary's next share "
            f"({'; '.join(problems)}); nothing promoted"
        )


def _pause(
    root: Path, overlay: Overlay, environment: Environment, share: int
) -> Callable[[EnvironmentStatus], list[str]]:
    """What keeps the canary at ``share`` for the rest of the environment's ``canary.pause``,
    given the cluster's status: at most one problem, none once the pause has passed or
    where there is none.

    The share has been served since the first of the last syncs Argo CD completed
    (``status.history``) of the commit that last wrote the record at HEAD (the one that
    gave the share; in a shallow clone that holds no earlier commit, HEAD's own) or of a
    later one, and never since before that commit. Where the history names no such
    sync (it keeps the last ``revisionHistoryLimit``), or its last sync is of another
    commit, how long the share has been served is not known: the pause has not passed."""
    assert environment.canary is not None  # the caller checks the overlay has a canary
    pause = environment.canary.pause
    seconds = duration_seconds(pause)
    if not seconds:
        return lambda _: []
    found = proc.git(
        "log", "-1", "--first-parent", "--format=%H %ct", "HEAD", "--", overlay.model_json, cwd=root
    )
    commit, _, at = found.partition(" ")
    holds: dict[str, bool] = {}

    def holding(revision: str) -> bool:
        """Whether ``revision`` is the commit that gave the share, or one after it."""
        if revision not in holds:
            holds[revision] = (
                _COMMIT.fullmatch(revision) is not None
                and proc.run(
                    ["git", "merge-base", "--is-ancestor", commit, revision], cwd=root, check=False
                ).returncode
                == 0
            )
        return holds[revision]

    def problems(status: EnvironmentStatus) -> list[str]:
        since: tuple[float, str] | None = None  # the start of the last run of such syncs
        for when, revisions in status.history:
            held_by = [r for r in revisions if holding(r)]
            since = (since or (when, held_by[0])) if held_by else None
        if since is None:
            return [
                f"Argo CD's history of Application {status.application} ends in no sync of "
                f"commit {commit[:12]}, which gave its {share}%, or of a later one, so how "
                f"long it has been served is not known (canary.pause {pause}; the history "
                "keeps the Application's last revisionHistoryLimit syncs)"
            ]
        when, revision = since
        counted = f"Argo CD's sync of {revision[:12]}, the first that served it"
        if when < int(at):  # a clock that ran ahead: never before the commit
            when, counted = int(at), f"commit {commit[:12]}, which gave it"
        held = max(0, int(time.time() - when))
        if held >= seconds:
            return []
        return [
            f"its {share}% has held for {held}s of canary.pause {pause}, counted from {counted}"
        ]

    return problems


def _require_healthy(
    loaded: Repo,
    root: Path,
    pipeline: Pipeline,
    source: Environment,
    overlay: Overlay,
    read: ProvenanceRecord,
    cluster: _Cluster,
    wait_s: float,
) -> None:
    """Return once ``source`` is healthy, synced from a commit that holds ``read`` (its
    record at the checkout: the model promoted), and, served by KServe with ``analysis``,
    its latest revision's requests hold to the thresholds; raise CheckFailed when it is
    not (after waiting, unless a threshold failed). ``overlay``: ``source``'s."""
    elsewhere: list[str] = []  # the cluster's model is another than the checkout's

    def check(status: EnvironmentStatus) -> tuple[list[str], bool]:
        if status.problems:
            return list(status.problems), status.decided
        elsewhere[:] = _unlike_synced(root, overlay, read, status)
        if elsewhere:
            return elsewhere, False
        return _requests_problems(pipeline, source, cluster.prometheus, status)

    problems, decided = _watch(loaded, pipeline, source, cluster, wait_s, check)
    if problems and problems == elsewhere:
        raise CheckFailed(
            f"{source.name} does not run the model this checkout promotes yet "
            f"({'; '.join(problems)}); nothing promoted"
        )
    if problems:
        state = "not healthy" if decided else "not healthy yet"
        raise CheckFailed(f"{source.name} is {state} ({'; '.join(problems)}); nothing promoted")


def _requests_problems(
    pipeline: Pipeline, environment: Environment, prometheus: str | None, status: EnvironmentStatus
) -> tuple[list[str], bool]:
    """Where KServe serves ``environment`` and it has ``analysis``: why the requests of its
    latest revision (``status``) do not hold to the thresholds, as the Prometheus at
    ``prometheus`` (else ``analysis.prometheus``) measures them
    (:func:`~mlgitops.gitops.canary_metrics.measure`), and whether one failed (waiting
    does not help). Argo Rollouts measures its canary itself: nothing to ask."""
    from mlgitops.gitops.canary_metrics import measure

    analysis = environment.analysis
    if analysis is None or status.kind != "InferenceService":
        return [], False
    if status.latest_revision is None:
        return ["the InferenceService names no latest revision to measure"], False
    result = measure(
        prometheus or analysis.prometheus, pipeline, environment, status.latest_revision
    )
    return list(result.problems), result.failed


#: A commit's name as Argo CD reports the revision it synced (SHA-1 or SHA-256).
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _unlike_synced(
    root: Path,
    overlay: Overlay,
    read: ProvenanceRecord,
    status: EnvironmentStatus,
    *,
    with_share: bool = False,
) -> list[str]:
    """Why the commit Argo CD synced ``overlay``'s environment to (``status.revision``) is
    not known to hold ``read``, the record at the checkout (its model, and
    ``with_share`` its share of the traffic): the cluster's health then speaks of another
    model, or another step, than the one the command moves on. [] where it holds it."""
    revision = status.revision or ""
    if _COMMIT.fullmatch(revision) is None:
        return [f"Argo CD names no commit it synced {overlay.environment} to ({revision!r})"]
    if proc.git("cat-file", "-t", revision, cwd=root, check=False) != "commit":
        return [
            f"Argo CD synced {overlay.environment} to {revision[:12]}, a commit this checkout "
            "does not hold: pull (in a shallow clone, fetch more history), then run again"
        ]
    try:
        synced = read_record(Snapshot(root, revision), overlay)
    except BadInput as exc:
        return [f"Argo CD synced {overlay.environment} to {revision[:12]}, whose {exc}"]
    share, read_share = share_of(synced, overlay), share_of(read, overlay)
    same_share = not with_share or share == read_share
    if synced is not None and same_model(synced, read) and same_share:
        return []
    said = "no model" if synced is None else f"model v{synced.version}"
    wanted = f"model v{read.version}"
    if with_share and synced is not None:
        said, wanted = f"{said} at {share}%", f"{wanted} at {read_share}%"
    return [
        f"Argo CD synced {overlay.environment} to {revision[:12]}, where "
        f"{overlay.model_json} names {said}, not the {wanted} of this checkout"
    ]


def _watch(
    loaded: Repo,
    pipeline: Pipeline,
    environment: Environment,
    cluster: _Cluster,
    wait_s: float,
    check: Callable[[EnvironmentStatus], tuple[list[str], bool]],
) -> tuple[list[str], bool]:
    """``environment``'s problems and whether they are decided (``check``: waiting cannot
    help), its status read again every :data:`POLL_S` seconds for up to ``wait_s`` while
    it has some and waiting can help; its lines printed."""
    from mlgitops.commands.status import read_status

    deadline = time.monotonic() + wait_s
    status = read_status(loaded, pipeline, environment, cluster.kubeconfig, cluster.context)
    problems, decided = check(status)
    if problems and not decided and wait_s > 0:
        console.line(f"waiting up to {wait_s:g}s for {environment.name}: {'; '.join(problems)}")
    while problems and not decided and time.monotonic() < deadline:
        time.sleep(max(0.0, min(POLL_S, deadline - time.monotonic())))
        status = read_status(loaded, pipeline, environment, cluster.kubeconfig, cluster.context)
        problems, decided = check(status)
    for line in status.lines():
        console.line(line)
    return problems, decided
