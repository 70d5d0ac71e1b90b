"""``mlgitops status NAME --env E``: what Argo CD and Argo Rollouts say about an environment.

Reads the Argo CD Application ``<NAME>-<E>`` (namespace from
``mlgitops.yaml: argocd.namespace``) and the Rollout ``<NAME>`` in the
environment's namespace through the Kubernetes API, and reports sync and
health, the canary step, its weight and the analysis phase; when the Rollout
names an AnalysisRun, its outcome and which metric stopped the canary. Exit 0
when the environment is synced, healthy and fully rolled out, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlgitops import console
from mlgitops.errors import EXIT_FAILED, EXIT_OK
from mlgitops.gitops import delivery
from mlgitops.gitops.health import EnvironmentStatus, analysis_run_name, summarize
from mlgitops.spec import Repo, deploy, load_repo
from mlgitops.spec.deploy import Environment
from mlgitops.spec.model import Pipeline


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="kubeconfig (default: $KUBECONFIG, ~/.kube/config, else in-cluster)",
    )
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context")
    parser.add_argument(
        "--json", dest="as_json", action="store_true", help="print the status as JSON"
    )


def application_name(pipeline: Pipeline, environment: Environment) -> str:
    return deploy.application_name(pipeline.name, environment.name)


def rollout_name(pipeline: Pipeline) -> str:
    return pipeline.name


def read_status(
    loaded: Repo,
    pipeline: Pipeline,
    environment: Environment,
    kubeconfig: Path | None,
    context: str | None,
) -> EnvironmentStatus:
    """Fetch the Application, the Rollout and its AnalysisRun, and summarise them."""
    from mlgitops.gitops.kube import ObjectRef, api_client, get_object

    app = ObjectRef(
        "applications", loaded.config.argocd.namespace, application_name(pipeline, environment)
    )
    rollout = ObjectRef("rollouts", environment.namespace, rollout_name(pipeline))
    client = api_client(kubeconfig, context)
    try:
        found = get_object(client, app), get_object(client, rollout)
        run_name = analysis_run_name(found[1])
        run = None
        if run_name is not None:
            run = get_object(client, ObjectRef("analysisruns", environment.namespace, run_name))
    finally:
        client.close()
    names = (str(app), str(rollout))
    return summarize(pipeline.name, environment.name, names, *found, run)


def run(
    *,
    repo: Path,
    name: str,
    env: str,
    kubeconfig: Path | None,
    context: str | None,
    as_json: bool,
) -> int:
    """Print the status; exit 0 when healthy."""
    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    environment = delivery.environment_of(pipeline, env)
    status = read_status(loaded, pipeline, environment, kubeconfig, context)
    if as_json:
        console.write(json.dumps(status.as_json(), indent=2, sort_keys=True) + "\n")
    else:
        for line in status.lines():
            console.line(line)
    return EXIT_OK if status.healthy else EXIT_FAILED
