"""What two specs of one repository may not share: a pipeline's name, an Argo CD
Application (each pipeline environment's, the runners' controller's and each pool's, all
in ``argocd.namespace``), a Service in one namespace of one cluster, and the runners of
fork pull requests' jobs with a pipeline's self-hosted training; and a runner pool named
in ``train.runs_on`` that ``mlgitops.yaml`` does not declare."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlgitops.errors import Problem
from mlgitops.spec import model as m
from mlgitops.spec.deploy import (
    IN_CLUSTER,
    application_name,
    canary_service_name,
    predictor_service_name,
    stable_service_name,
)
from mlgitops.spec.loader import problem_in
from mlgitops.spec.positions import Key
from mlgitops.spec.repo_config import CONTROLLER_APPLICATION, RepoConfig, pool_application_name

#: Folders of ``manifests/`` that ``render`` writes for the repository, not for one pipeline.
RESERVED_NAMES = ("argocd", "runners")


def unknown_pools(
    pipelines: Sequence[m.Pipeline], texts: Mapping[str, str], config: RepoConfig
) -> list[Problem]:
    """A problem at each ``train.runs_on`` that names no pool of ``mlgitops.yaml``."""
    from mlgitops.spec.repo_checks import unknown_pool

    pools = [p.name for p in config.runners.pools]
    found = []
    for p in pipelines:
        message = unknown_pool(list(p.train.runs_on), pools)
        if message:
            found.append(_at(p, texts, ["train", "runs_on"], f"train.runs_on: {message}"))
    return found


def fork_runner_problems(
    pipelines: Sequence[m.Pipeline], config: RepoConfig, source: str, text: str | None
) -> list[Problem]:
    """A problem at ``runs_on`` of the repository config (``source``, read as ``text``)
    where it is a label a pipeline trains on beside ``self-hosted`` (even a hosted image's
    name: a self-hosted runner may carry it), or one that is no GitHub-hosted image, alone
    (GitHub matches every label listed): a self-hosted runner answers to it, and the jobs
    that run a fork's code would run there too."""
    from mlgitops.spec.repo_checks import fork_runner, is_hosted

    if text is None:  # no mlgitops.yaml: its default, a GitHub-hosted image
        return []
    label = config.runs_on.strip().lower()
    for p in sorted(pipelines, key=lambda p: p.source):
        labels = [t.strip().lower() for t in p.train.runs_on]
        if label in labels and ("self-hosted" in labels or not is_hosted(label)):
            beside = ", beside self-hosted" if "self-hosted" in labels else ""
            why = f"'{config.runs_on}' is a label {p.source} trains on{beside}"
            return [problem_in(source, text, ["runs_on"], f"runs_on: {fork_runner(why)}")]
    return []


def _at(p: m.Pipeline, texts: Mapping[str, str], path: list[Key], message: str) -> Problem:
    return problem_in(p.source, texts[p.source], path, message)


def duplicate_names(
    pipelines: Sequence[m.Pipeline], texts: Mapping[str, str], config: RepoConfig
) -> list[Problem]:
    """A problem at each later definition of a pipeline name already taken; at a name that
    is a folder ``render`` writes for the repository; at each environment whose Argo CD
    Application another pipeline's environment already has (``tumors`` + ``prod-eu`` and
    ``tumors-prod`` + ``eu``: one would overwrite the other's file) or a runner pool's
    (``runners`` + ``gpu-a100`` is the pool ``gpu-a100``'s); and at each environment that
    would own a Service another pipeline owns in the same namespace of the same cluster."""
    first: dict[str, str] = {}
    found = []
    for p in sorted(pipelines, key=lambda p: p.source):
        if p.name in first:
            message = f"name: pipeline '{p.name}' is already defined in {first[p.name]}"
            found.append(_at(p, texts, ["name"], message))
        elif p.name in RESERVED_NAMES:
            message = (
                f"name: '{p.name}' is taken: render writes manifests/{p.name}/ for the whole "
                "repository"
            )
            found.append(_at(p, texts, ["name"], message))
        first.setdefault(p.name, p.source)
    ordered = [p for p in sorted(pipelines, key=lambda p: p.source) if first[p.name] == p.source]
    found += _shared_applications(ordered, texts, config, first)
    found += _shared_services(ordered, texts, first)
    return found


def _shared_applications(
    pipelines: Sequence[m.Pipeline],
    texts: Mapping[str, str],
    config: RepoConfig,
    first: Mapping[str, str],
) -> list[Problem]:
    """Environments whose Application name is already another's (see ``duplicate_names``):
    app -> (the pipeline that has it, or "" for the runners', and what has it)."""
    owners: dict[str, tuple[str, str]] = {}
    if config.runners.pools:
        app = CONTROLLER_APPLICATION
        what = "the runners' controller has the same Argo CD application"
        owners[app] = ("", f"{what}: {app} (manifests/runners/controller.yaml)")
        for pool in config.runners.pools:
            app = pool_application_name(pool.name)
            what = f"runner pool '{pool.name}' (mlgitops.yaml) has the same Argo CD application"
            owners[app] = ("", f"{what}: {app} (manifests/runners/{pool.name}.yaml)")
    found = []
    for p in pipelines:
        for index, env in enumerate(p.deploy.environments if p.deploy else ()):
            app = application_name(p.name, env.name)
            owner, what = owners.get(app, (p.name, ""))
            if owner != p.name:
                message = f"deploy.environments[{index}].name: {what}; rename one of them"
                found.append(_at(p, texts, ["deploy", "environments", index, "name"], message))
            what = (
                f"pipeline '{p.name}' ({first[p.name]}) has the same Argo CD application for "
                f"its environment '{env.name}': {app} (manifests/argocd/{app}.yaml)"
            )
            owners.setdefault(app, (p.name, what))
    return found


def _services(p: m.Pipeline) -> list[tuple[str, str]]:
    """The Services a deployed pipeline owns in each of its namespaces, with what they are."""
    assert p.deploy is not None
    if p.deploy.target == "kserve":
        # KServe's: the InferenceService's own (an ExternalName to the ingress gateway, in
        # Knative mode), and the predictor's (Knative's Service and its private one)
        predictor = predictor_service_name(p.name)
        return [
            (p.name, "KServe InferenceService's Service"),
            (predictor, "KServe predictor Service"),
            (f"{predictor}-private", "KServe predictor's private Service"),
        ]
    return [
        (p.name, "Service clients call"),
        (stable_service_name(p.name), "stable Service"),
        (canary_service_name(p.name), "canary Service"),
    ]


def same_cluster(cluster: str) -> str:
    """``cluster`` spelt one way for each cluster it can name: a server's address with its
    scheme and host in lower case, without the scheme's own port or a last ``/``; Argo CD's
    name of its own cluster as that cluster's address. (Other names are Argo CD's to
    resolve, and a URL with a user, a query or a fragment more than an address: they are
    compared as written.)"""
    from urllib.parse import urlsplit

    if cluster == "in-cluster":  # Argo CD's name of the cluster it runs in
        return IN_CLUSTER
    if not cluster.lower().startswith(("http://", "https://")):
        return cluster
    try:
        url = urlsplit(cluster)
        port = url.port
    except ValueError:  # the spec's pattern refuses it first
        return cluster
    if url.username is not None or url.query or url.fragment or url.netloc.endswith(":"):
        return cluster  # more than an address: Argo CD's own text, compared as written
    scheme, host = url.scheme.lower(), (url.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    own = {"http": 80, "https": 443}[scheme]
    where = host if port in (None, own) else f"{host}:{port}"
    return f"{scheme}://{where}{url.path.rstrip('/')}"


def _shared_services(
    pipelines: Sequence[m.Pipeline], texts: Mapping[str, str], first: Mapping[str, str]
) -> list[Problem]:
    """Environments that would own a Service another environment owns in the same namespace
    of the same cluster (``churn``'s canary Service is ``churn-canary``'s stable one; two
    environments of one pipeline there share all of its objects): the two Argo CD
    Applications would take it from each other, and one model the other's traffic. A
    cluster is compared as :func:`same_cluster` spells it."""
    owners: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    found = []
    for p in pipelines:
        services = _services(p) if p.deploy else []
        for index, env in enumerate(p.deploy.environments if p.deploy else ()):
            cluster, clash = same_cluster(env.cluster), None
            for service, what in services:
                owner = owners.get((cluster, env.namespace, service))
                if owner is not None and clash is None:
                    clash = (service, what, owner)
                owners.setdefault((cluster, env.namespace, service), (p.name, env.name, what))
            if clash is None:
                continue
            service, what, (other, other_env, other_what) = clash
            where = f"namespace {env.namespace} of cluster {env.cluster}"
            if other == p.name:
                message = (
                    f"deploy.environments[{index}].namespace: environments '{other_env}' and "
                    f"'{env.name}' of this pipeline both deploy to {where}: their Argo CD "
                    "Applications would take its Rollout and Services from each other; give "
                    "each environment a namespace or cluster of its own"
                )
            else:
                message = (
                    f"deploy.environments[{index}].namespace: the Service {service} in {where} "
                    f"would be both this pipeline's {what} and the {other_what} of pipeline "
                    f"'{other}' (its environment '{other_env}', {first[other]}): deploy one of "
                    "them to another namespace, or rename one"
                )
            found.append(_at(p, texts, ["deploy", "environments", index, "namespace"], message))
    return found
