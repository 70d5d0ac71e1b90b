"""``mlgitops.yaml`` as frozen records: repository-wide settings, Argo CD's and the
self-hosted GPU runner pools'.

Defaults live here and in the JSON Schema (which documents them).
"""

from __future__ import annotations

from mlgitops.record import field, record

#: The Argo CD Application of the runners' controller (``manifests/runners/controller.yaml``).
CONTROLLER_APPLICATION = "arc-controller"


def pool_application_name(pool: str) -> str:
    """The Argo CD Application of one runner pool (``manifests/runners/<pool>.yaml``)."""
    return f"runners-{pool}"


@record
class ArgoCD:
    """``mlgitops.yaml: argocd``: where Argo CD's Applications live and what they sync."""

    namespace: str = "argocd"
    project: str = "default"
    repo_url: str | None = None
    revision: str = "HEAD"


@record
class Toleration:
    """A Kubernetes toleration of a runner pool's pods."""

    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


@record
class Pool:
    """One runner pool (``mlgitops.yaml: runners.pools[]``): an ARC runner scale set.

    ``None`` fields fall back to the ``runners`` section's values.
    """

    name: str
    github_config_url: str | None = None
    github_app_secret: str | None = None
    runner_group: str | None = None
    namespace: str | None = None
    gpus: int = 1
    gpu_resource: str = "nvidia.com/gpu"
    cpu: str | None = None
    memory: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    min_runners: int = 0
    max_runners: int = 2
    container_mode: str = "dind"
    image: str = "ghcr.io/actions/actions-runner:latest"
    job_image: str | None = None
    work_volume_size: str = "20Gi"
    storage_class: str | None = None
    price_per_gpu_hour: float | None = None


@record
class Runners:
    """``mlgitops.yaml: runners``: the self-hosted GPU runner pools Argo CD syncs."""

    pools: tuple[Pool, ...] = ()
    github_config_url: str | None = None
    github_app_secret: str = "arc-github-app"
    namespace: str = "arc-runners"
    controller_namespace: str = "arc-systems"
    price_per_gpu_hour: float | None = None
    currency: str = "USD"

    def pool(self, name: str) -> Pool | None:
        return next((p for p in self.pools if p.name == name), None)

    def price(self, pool: Pool | None) -> float | None:
        """The price of one GPU-hour on ``pool`` (its own, else the repository's)."""
        if pool is not None and pool.price_per_gpu_hour is not None:
            return pool.price_per_gpu_hour
        return self.price_per_gpu_hour


@record
class RepoConfig:
    """``mlgitops.yaml``: repository-wide settings, all optional."""

    action: str = "mlgitops/mlgitops@v1"
    default_branch: str = "main"
    python: str = "3.11"
    runs_on: str = "ubuntu-24.04"
    tracking_uri: str | None = None
    argocd: ArgoCD = ArgoCD()
    runners: Runners = Runners()

    def pool_for(self, runs_on: tuple[str, ...]) -> Pool | None:
        """The declared pool a pipeline's ``train.runs_on`` names, if it names one."""
        return self.runners.pool(runs_on[0]) if len(runs_on) == 1 else None

    #: train attests the model digest; deploy requires the attestation
    attest: bool = False
