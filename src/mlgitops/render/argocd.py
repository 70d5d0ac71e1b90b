"""Argo CD Applications: one per pipeline and environment, syncing that environment's overlay."""

from __future__ import annotations

from mlgitops.render import serving
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.deploy import Environment, application_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]

#: ``repoURL`` when ``mlgitops.yaml`` sets no ``argocd.repo_url``: ``.invalid`` never resolves
#: (RFC 2606), so Argo CD reports an error that names the setting to fill in.
PLACEHOLDER_REPO_URL = "https://example.invalid/set-argocd-repo_url-in-mlgitops.yaml.git"


def destination(env: Environment) -> Obj:
    """Argo CD destination: an http(s) URL is a ``server``, anything else a cluster ``name``."""
    where = "server" if env.cluster.startswith(("https://", "http://")) else "name"
    return {where: env.cluster, "namespace": env.namespace}


def application(repo: Repo, pipeline: Pipeline, env: Environment) -> Obj:
    """The Argo CD Application that syncs one overlay, automated with prune and self-heal."""
    argocd = repo.config.argocd
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": application_name(pipeline.name, env.name),
            "namespace": argocd.namespace,
            "labels": {
                "app.kubernetes.io/name": pipeline.name,
                "app.kubernetes.io/managed-by": "mlgitops",
                serving.ENVIRONMENT_LABEL: env.name,
            },
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": argocd.project,
            "source": {
                "repoURL": argocd.repo_url or PLACEHOLDER_REPO_URL,
                "targetRevision": argocd.revision,
                "path": f"manifests/{pipeline.name}/overlays/{env.name}",
            },
            "destination": destination(env),
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }
