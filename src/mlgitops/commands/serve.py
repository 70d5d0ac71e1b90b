"""``mlgitops serve --model-uri URI``: serve a model as the generated Rollout does.

With a digest (``--model-digest``, else the environment's ``MODEL_DIGEST``, which the
overlay's ConfigMap gives the container), the model's files are downloaded and loaded
only if their digest is that one: the digest deploy checked before it registered the
model. Whoever can write the pipeline's MLflow experiment can write those files after
the deploy; a server then refuses to start rather than run them.

MLflow's scoring app (``/invocations``, ``/ping``, ``/health``, ``/version`` on
``--port``) with Prometheus metrics at ``/metrics`` on ``--metrics-port``
(``mlgitops.serving``). The container of the generated manifests runs exactly
this command, so it runs the same on a laptop against a local MLflow store
(``MLFLOW_TRACKING_URI`` for ``models:/`` and ``runs:/`` URIs). Needs the extra
``mlgitops[serve]``.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from mlgitops import console
from mlgitops.digest import FORM
from mlgitops.errors import EXIT_OK, BadInput, ServiceError

TASKS = ("classification", "regression")
DIGEST_ENV = "MODEL_DIGEST"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-uri", required=True, metavar="URI", help="the MLflow model")
    parser.add_argument(
        "--model-digest",
        metavar="sha256:HEX",
        help=f"serve the model only if its files have this digest (default: ${DIGEST_ENV}; "
        "without either, its files are not checked)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port of the scoring API")
    parser.add_argument(
        "--metrics-port", type=int, default=9464, help="port of the Prometheus /metrics endpoint"
    )
    parser.add_argument(
        "--task",
        choices=TASKS,
        default="classification",
        help="counts per predicted class (classification) or a histogram of predictions",
    )
    parser.add_argument(
        "--prediction-buckets",
        type=_buckets,
        default=(),
        metavar="B1,B2,...",
        help="upper bounds of the prediction histogram (regression)",
    )


def _buckets(text: str) -> tuple[float, ...]:
    try:
        bounds = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not all(math.isfinite(b) for b in bounds) or list(bounds) != sorted(set(bounds)):
        raise argparse.ArgumentTypeError(f"bounds must be finite and increasing: {text!r}")
    return bounds


def run(
    *,
    repo: Any,
    model_uri: str,
    model_digest: str | None,
    host: str,
    port: int,
    metrics_port: int,
    task: str,
    prediction_buckets: tuple[float, ...],
) -> int:
    """Load the model, start the metrics endpoint, serve until stopped."""
    del repo  # serving needs no repository
    if port == metrics_port:
        raise BadInput(f"--port and --metrics-port are both {port}; they must differ")
    try:
        import prometheus_client
        import uvicorn

        from mlgitops.serving.app import instrumented_app
        from mlgitops.serving.metrics import ServerMetrics
    except ImportError as exc:
        raise BadInput(
            f"serving needs the extra: pip install 'mlgitops[serve]' ({exc.name} is missing)"
        ) from exc
    digest = _digest(model_digest)
    model = _load(model_uri, digest)
    metrics = ServerMetrics(model_uri, task, prediction_buckets)
    try:
        prometheus_client.start_http_server(metrics_port, addr=host, registry=metrics.registry)
    except OSError as exc:
        raise BadInput(f"cannot listen on {host}:{metrics_port} for /metrics: {exc}") from exc
    console.line(
        f"serving {model_uri} on http://{host}:{port}/invocations, "
        f"metrics on http://{host}:{metrics_port}/metrics"
    )
    app = instrumented_app(model, metrics)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return EXIT_OK


def _digest(given: str | None) -> str:
    """The digest to check: ``--model-digest``, else ``$MODEL_DIGEST`` ("": none)."""
    where = "--model-digest" if given is not None else DIGEST_ENV
    digest = (given if given is not None else os.environ.get(DIGEST_ENV, "")).strip()
    if digest and not FORM.fullmatch(digest):
        raise BadInput(f"{where}: {digest!r} is not a model digest (sha256:<64 hex digits>)")
    return digest


def _load(model_uri: str, digest: str) -> Any:
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from mlgitops.digest import download_model, folder_digest

    if not digest:
        console.error_line(
            f"mlgitops serve: warning: no model digest (--model-digest or ${DIGEST_ENV}): "
            f"the files of {model_uri} are loaded unchecked"
        )
        source = model_uri
    else:
        folder = Path(tempfile.mkdtemp(prefix="mlgitops-serve-")) / "model"
        try:
            local = download_model(model_uri, folder)
        except (MlflowException, OSError) as exc:
            raise BadInput(f"cannot load the model {model_uri}: {exc}") from exc
        if (found := folder_digest(local)) != digest:
            raise ServiceError(
                f"the model {model_uri} has digest {found}, but the deployment names "
                f"{digest}: its files changed after it was deployed, so it is not "
                "served; restore its files, or roll back to a model whose files are intact"
            )
        source = str(local)  # the checked files: the server loads nothing else
    try:
        return mlflow.pyfunc.load_model(source)
    except (MlflowException, OSError) as exc:
        raise BadInput(f"cannot load the model {model_uri}: {exc}") from exc
