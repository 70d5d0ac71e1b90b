"""``mlgitops rollback NAME --env E [--to VERSION]``: restore the previous model as a commit.

Argo Rollouts aborts a failing canary in the cluster but never writes Git,
so Git still names the bad model; this brings Git back. The overlay's
``model.json`` keeps a bounded history: without ``--to`` the model deployed
before the current one comes back, with ``--to`` the named version from the
history. Running it again after it succeeded commits nothing (exit 0).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgitops import console
from mlgitops.errors import EXIT_OK
from mlgitops.gitops import delivery
from mlgitops.gitops.edits import read_record, rollback_edit
from mlgitops.gitops.overlay import overlay_of
from mlgitops.gitops.publish import Published, Snapshot, publish
from mlgitops.spec import load_repo


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment")
    parser.add_argument(
        "--to",
        dest="to_version",
        metavar="VERSION",
        help="the model version to restore, from the environment's history "
        "(default: the one deployed before the current)",
    )
    delivery.add_git_options(parser)


def run(
    *,
    repo: Path,
    name: str,
    env: str,
    to_version: str | None,
    remote: str,
    no_push: bool,
    attempts: int,
    tracking_uri: str | None,
) -> int:
    """Restore an earlier model of ``name`` in ``env``."""
    from mlgitops.training.tracking import resolve_tracking_uri

    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    delivery.environment_of(pipeline, env)
    where = delivery.target(loaded, remote, no_push, attempts)
    wanted = to_version.removeprefix("v") if to_version else None
    overlay = overlay_of(pipeline, env)
    edit = rollback_edit(overlay, wanted, delivery.now())
    planned = delivery.planned_version(root, edit, overlay)
    uri = resolve_tracking_uri(root, tracking_uri, loaded.config)
    if planned is not None:  # a version this environment ran, as the registry says
        delivery.check_registry(root, uri, name, planned, ran_in=env)
    outcome = publish(root, edit, where)
    values = delivery.report("rollback", name, outcome, where)
    if isinstance(outcome, Published) or outcome.settled:
        at = outcome.sha if isinstance(outcome, Published) else outcome.at
        delivery.serving_image(root, overlay, at)
        record = read_record(Snapshot(root, at), overlay)
        if record is not None:
            values["model-version"] = record.version
        if record is not None and delivery.moves_alias(where, uri, name, env):
            delivery.point_alias(
                root, uri, name, env, record.version, True, (overlay.model_json, at)
            )
            console.line(f"  MLflow alias {name}@{env} -> version {record.version}")
    delivery.github_outputs(values)
    return EXIT_OK
