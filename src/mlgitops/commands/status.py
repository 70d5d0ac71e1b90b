"""``mlgitops status NAME --env E``: what Argo CD and Argo Rollouts (or KServe) say about an
environment.

Reads the Argo CD Application ``<NAME>-<E>`` (namespace from
``mlgitops.yaml: argocd.namespace``) and the Rollout ``<NAME>`` in the
environment's namespace through the Kubernetes API, and reports sync and
health, the canary step, its weight and the analysis phase; when the Rollout
names an AnalysisRun, its outcome and which metric stopped the canary. With
``deploy.target: kserve`` it reads the InferenceService ``<NAME>`` instead: its
``Ready`` condition and the share of the traffic its latest revision takes. Exit 0
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
from mlgitops.spec.deploy import Environment, traffic_steps
from mlgitops.spec.model import Pipeline

#: KServe's API group and version of the InferenceService the manifests hold.
KSERVE_API = ("serving.kserve.io", "v1beta1")


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
    """Fetch the Application, the Rollout and its AnalysisRun (or the InferenceService of a
    KServe pipeline), and summarise them."""
    from mlgitops.gitops.health import summarize_kserve
    from mlgitops.gitops.kube import ObjectRef, api_client, get_object

    app = ObjectRef(
        "applications", loaded.config.argocd.namespace, application_name(pipeline, environment)
    )
    rollout = ObjectRef("rollouts", environment.namespace, rollout_name(pipeline))
    client = api_client(kubeconfig, context)
    assert pipeline.deploy is not None  # environment_of found the environment in it
    if pipeline.deploy.target == "kserve":
        service = ObjectRef("inferenceservices", environment.namespace, pipeline.name, *KSERVE_API)
        try:
            objects = get_object(client, app), get_object(client, service)
        finally:
            client.close()
        steps = traffic_steps(pipeline.deploy.target, environment)
        names = (str(app), str(service))
        return summarize_kserve(pipeline.name, environment.name, names, *objects, steps)
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
