"""Kustomize base, overlays and Argo CD Applications for each pipeline that deploys.

``render`` is pure: specs (and the model each environment's record names) in, file
texts out. ``read_deployed`` is the one reader of those records (``model.json``), so that
a re-render never undoes a deploy, and never keeps model lines edited by hand.

Layout per pipeline (``docs/manifests.md`` describes every file)::

    manifests/<name>/base/kustomization.yaml, kustomizeconfig.yaml, <objects>.yaml
    manifests/<name>/overlays/<env>/kustomization.yaml
    manifests/argocd/<name>-<env>.yaml
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from mlgitops import fsio, jsondoc
from mlgitops.errors import BadInput
from mlgitops.record import record
from mlgitops.render import alerts, analysis, argocd, image, monitoring, serving, yamltext
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.deploy import (
    UNDEPLOYED_DIGEST,
    Environment,
    application_name,
    recorded_image,
    recorded_share,
    traffic_share,
    traffic_steps,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
KUSTOMIZE_CONFIG = "kustomizeconfig.yaml"
MODEL_URI_KEY = "MODEL_URI"
MODEL_DIGEST_KEY = "MODEL_DIGEST"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@record
class OverlayModel:
    """The model an overlay serves: its ``MODEL_URI`` and ``MODEL_DIGEST`` literals, and the
    share of traffic a KServe canary gives it."""

    uri: str
    #: ``sha256:<hex>`` of its files, as deploy checked them; "" where none is recorded
    digest: str = ""
    #: ``model.json``'s ``traffic_percent`` (:func:`~mlgitops.spec.deploy.traffic_share`)
    traffic: int | None = None


def render(
    repo: Repo,
    deployed: Mapping[tuple[str, str], OverlayModel],
    images: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, str]:
    """Repo-relative path -> file text for every generated manifest (and image build file).

    ``deployed`` maps (pipeline, environment) to the model its overlay holds now
    (:func:`read_deployed`); ``images`` maps (pipeline, environment) to the ``repository@digest`` deploy
    wrote into the overlay (:func:`read_deployed_images`), carried over like
    ``deployed``'s model URIs.
    """
    files: dict[str, str] = {}
    for pipeline in repo.pipelines:
        if pipeline.deploy is None:
            continue
        head = _header(pipeline)
        for name, objects in base_files(pipeline).items():
            files[f"manifests/{pipeline.name}/base/{name}"] = head + yamltext.dump(objects)
        files.update(image.files(pipeline, head))
        for env in pipeline.deploy.environments:
            key = (pipeline.name, env.name)
            model = deployed.get(key) or OverlayModel(placeholder_uri(pipeline, env))
            document = overlay(pipeline, env, model, (images or {}).get(key))
            files[overlay_path(pipeline.name, env.name)] = head + yamltext.dump(document)
            app = argocd.application(repo, pipeline, env)
            files[f"manifests/argocd/{application_name(pipeline.name, env.name)}.yaml"] = (
                head + yamltext.dump(app)
            )
    return files


def _header(pipeline: Pipeline) -> str:
    from mlgitops.render import header  # the package imports this module

    return header(pipeline.source)


def overlay_path(pipeline: str, environment: str) -> str:
    return f"manifests/{pipeline}/overlays/{environment}/kustomization.yaml"


def placeholder_uri(pipeline: Pipeline, env: Environment) -> str:
    """What an overlay holds before its first deploy: the registry alias of the environment."""
    return f"models:/{pipeline.name}@{env.name}"


def base_files(pipeline: Pipeline) -> dict[str, Obj]:
    """File name -> object of ``manifests/<name>/base/``, kustomization first."""
    assert pipeline.deploy is not None
    objects: dict[str, Obj] = {}
    if pipeline.deploy.target == "kserve":
        objects["inference-service.yaml"] = serving.inference_service(pipeline)
    else:
        objects["rollout.yaml"] = serving.rollout(pipeline)
        objects["service.yaml"] = serving.service(pipeline, pipeline.name, "clients")
        objects["service-stable.yaml"] = serving.service(
            pipeline, serving.stable_service(pipeline), "stable"
        )
        objects["service-canary.yaml"] = serving.service(
            pipeline, serving.canary_service(pipeline), "canary"
        )
        objects["analysis-template.yaml"] = analysis.analysis_template(pipeline)
    scrape = pipeline.deploy.metrics.scrape
    if scrape == "service-monitor":
        objects["service-monitor.yaml"] = monitoring.service_monitor(pipeline)
    elif scrape == "pod-monitor" and pipeline.deploy.target != "kserve":
        objects["pod-monitor.yaml"] = monitoring.pod_monitor(pipeline)
    if pipeline.deploy.metrics.alerts:
        objects["prometheus-rule.yaml"] = alerts.prometheus_rule(pipeline)
    kustomization = {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "resources": list(objects),
        "configurations": [KUSTOMIZE_CONFIG],
    }
    config = name_references(pipeline.deploy.target)
    return {"kustomization.yaml": kustomization, KUSTOMIZE_CONFIG: config, **objects}


def _specs(kind: str, group: str, paths: Iterable[str]) -> list[Obj]:
    return [{"kind": kind, "group": group, "path": path} for path in paths]


def name_references(target: str) -> Obj:
    """Kustomize ``configurations``: where a Rollout / InferenceService names other objects.

    Kustomize knows these fields only for built-in workloads; without them the
    hash-suffixed ConfigMap of the overlay would not be substituted.
    """
    if target == "kserve":
        kind, group, pod = "InferenceService", "serving.kserve.io", "spec/predictor"
    else:
        kind, group, pod = "Rollout", "argoproj.io", "spec/template/spec"
    config_maps = (
        f"{pod}/containers/env/valueFrom/configMapKeyRef/name",
        f"{pod}/containers/envFrom/configMapRef/name",
        f"{pod}/volumes/configMap/name",
    )
    secrets = (
        f"{pod}/containers/env/valueFrom/secretKeyRef/name",
        f"{pod}/containers/envFrom/secretRef/name",
        f"{pod}/volumes/secret/secretName",
    )
    refs: list[Obj] = [
        {"kind": "ConfigMap", "version": "v1", "fieldSpecs": _specs(kind, group, config_maps)},
        {"kind": "Secret", "version": "v1", "fieldSpecs": _specs(kind, group, secrets)},
    ]
    if target != "kserve":
        canary = "spec/strategy/canary"
        services = (f"{canary}/canaryService", f"{canary}/stableService")
        templates = (
            f"{canary}/analysis/templates/templateName",
            f"{canary}/steps/analysis/templates/templateName",
        )
        refs.append(
            {"kind": "Service", "version": "v1", "fieldSpecs": _specs(kind, group, services)}
        )
        refs.append(
            {
                "kind": "AnalysisTemplate",
                "group": "argoproj.io",
                "version": "v1alpha1",
                "fieldSpecs": _specs(kind, group, templates),
            }
        )
    return {"nameReference": refs}


def canary_steps(env: Environment) -> list[Obj]:
    """Argo Rollouts steps: each weight, with the environment's pause between two weights.

    Without ``pause`` a step waits for a promotion (``kubectl argo rollouts promote``);
    without ``canary`` the new model takes all traffic in one step.
    """
    if env.canary is None:
        return [{"setWeight": 100}]
    pause: Obj = {"duration": env.canary.pause} if env.canary.pause else {}
    steps: list[Obj] = []
    for index, weight in enumerate(env.canary.steps):
        if index:
            steps.append({"pause": dict(pause)})
        steps.append({"setWeight": weight})
    return steps


def _patch_text(document: Obj | list[Obj]) -> str:
    return yamltext.dump(document) if isinstance(document, dict) else yamltext.dump_list(document)


def _patches(pipeline: Pipeline, env: Environment, model: OverlayModel) -> list[Obj]:
    assert pipeline.deploy is not None
    if pipeline.deploy.target == "kserve":
        predictor: Obj = {"minReplicas": env.replicas}
        share = traffic_share(model.traffic, traffic_steps(pipeline.deploy.target, env))
        if share is not None:
            predictor["canaryTrafficPercent"] = share
        patch = _partial(pipeline, "serving.kserve.io/v1beta1", "InferenceService")
        patch["spec"] = {"predictor": predictor}
        return [{"target": _target(pipeline, patch), "patch": patch}]
    steps = canary_steps(env)
    canary: Obj = {"steps": steps}
    if env.analysis is not None:
        canary["analysis"] = analysis.rollout_analysis(pipeline, env.analysis, len(steps))
    rollout = _partial(pipeline, "argoproj.io/v1alpha1", "Rollout")
    rollout["spec"] = {"replicas": env.replicas, "strategy": {"canary": canary}}
    patches: list[Obj] = [{"target": _target(pipeline, rollout), "patch": rollout}]
    if env.analysis is not None:
        target = {"group": "argoproj.io", "version": "v1alpha1", "kind": "AnalysisTemplate"}
        target["name"] = pipeline.name
        ops = analysis.analysis_template_patch(pipeline, env.analysis)
        patches.append({"target": target, "patch": ops})
    return patches


def _partial(pipeline: Pipeline, api_version: str, kind: str) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": pipeline.name}}


def _target(pipeline: Pipeline, patch: Obj) -> Obj:
    """A patch target naming group, version, kind and name of the partial object ``patch``."""
    group, version = patch["apiVersion"].split("/")
    return {"group": group, "version": version, "kind": patch["kind"], "name": pipeline.name}


def overlay(
    pipeline: Pipeline, env: Environment, model: OverlayModel, image_ref: str | None = None
) -> Obj:
    """``overlays/<env>/kustomization.yaml``; its last lines are the ``MODEL_URI=`` and
    ``MODEL_DIGEST=`` literals.

    With ``deploy.server.build``, an ``images`` entry pins the built repository to
    the digest deploy wrote (``image_ref``: ``repository@digest``), else to
    :data:`UNDEPLOYED_DIGEST`.
    """
    patches = [
        {"target": p["target"], "patch": _patch_text(p["patch"])}
        for p in _patches(pipeline, env, model)
    ]
    document: Obj = {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "namespace": env.namespace,
        "resources": ["../../base"],
        "labels": [{"pairs": {serving.ENVIRONMENT_LABEL: env.name}, "includeSelectors": False}],
        "patches": patches,
    }
    build = pipeline.deploy.server.build if pipeline.deploy else None
    if build is not None:
        digest = image_ref.rsplit("@", 1)[1] if image_ref else UNDEPLOYED_DIGEST
        document["images"] = [{"name": build.repository, "digest": digest}]
    literals = [f"{MODEL_URI_KEY}={model.uri}", f"{MODEL_DIGEST_KEY}={model.digest}"]
    document["configMapGenerator"] = [
        {"name": serving.model_configmap(pipeline), "literals": literals}
    ]
    return document


def read_deployed(root: Path, pipelines: Iterable[Pipeline]) -> dict[tuple[str, str], OverlayModel]:
    """(pipeline, environment) -> the model the record beside each overlay (``model.json``)
    names, with its digest; an environment without a readable record has none deployed.

    Deploy, promote and rollback write the overlay's ``MODEL_URI=``/``MODEL_DIGEST=`` lines
    and the record in one commit, and reviews and deploys judge the record: the lines are
    rendered from it, so lines edited by hand are stale (``render --check`` shows them).
    """
    found: dict[tuple[str, str], OverlayModel] = {}
    for pipeline in pipelines:
        for env in pipeline.deploy.environments if pipeline.deploy else ():
            path = root / overlay_path(pipeline.name, env.name)
            record = _provenance(path.parent / "model.json")
            if record.uri:
                found[(pipeline.name, env.name)] = record
    return found


def read_deployed_images(root: Path, pipelines: Iterable[Pipeline]) -> dict[tuple[str, str], str]:
    """(pipeline, environment) -> ``repository@digest`` of the serving image the record
    beside each overlay (``model.json``) names, as :func:`read_deployed` reads the model.

    Only the built repository the spec names now counts.
    """
    found: dict[tuple[str, str], str] = {}
    for pipeline in pipelines:
        if pipeline.deploy is None or pipeline.deploy.server.build is None:
            continue
        repository = pipeline.deploy.server.build.repository
        for env in pipeline.deploy.environments:
            path = root / overlay_path(pipeline.name, env.name)
            ref = _provenance_image(path.parent / "model.json", repository)
            if ref:
                found[(pipeline.name, env.name)] = ref
    return found


def _provenance_image(path: Path, repository: str) -> str | None:
    try:
        record = jsondoc.loads(fsio.read_file(path), str(path))
    except (OSError, ValueError, BadInput):
        return None
    return recorded_image(record.get("image") if isinstance(record, dict) else None, repository)


def _provenance(path: Path) -> OverlayModel:
    """The model ``model.json`` records ("" for what it does not, or cannot be read)."""
    try:
        record = jsondoc.loads(fsio.read_file(path), str(path))
    except (OSError, ValueError, BadInput):
        return OverlayModel("")
    uri = record.get("model_uri") if isinstance(record, dict) else None
    digest = record.get("model_digest") if isinstance(record, dict) else None
    share = record.get("traffic_percent") if isinstance(record, dict) else None
    return OverlayModel(
        uri if isinstance(uri, str) and _plausible(uri) else "",
        digest if isinstance(digest, str) and _digest(digest) else "",
        recorded_share(share),
    )


def _digest(value: str) -> bool:
    """An empty ``MODEL_DIGEST`` (nothing recorded) or a sha256 digest."""
    return not value or bool(_DIGEST.fullmatch(value))


def _plausible(uri: str) -> bool:
    return bool(uri) and not any(c.isspace() for c in uri)
