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
import contextlib
import math
import os
import socket
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
    parser.add_argument(
        "--port", type=_port, default=8080, help="port of the scoring API (0: any free port)"
    )
    parser.add_argument(
        "--metrics-port",
        type=_port,
        default=9464,
        help="port of the Prometheus /metrics endpoint (0: any free port)",
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


def _port(text: str) -> int:
    """A TCP port; 0 asks for any free one (the server names the one it got)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port: give 1-65535, or 0 for any free one"
        )
    return port


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
    if port == metrics_port != 0:
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
    _tracking_server_for(model_uri)
    model = _load(model_uri, digest)
    metrics = ServerMetrics(model_uri, task, prediction_buckets)
    # Both ports are bound before the server says it serves: a port in use is the user's.
    scoring = _listen(host, port)
    try:
        httpd, _ = prometheus_client.start_http_server(
            metrics_port, addr=host, registry=metrics.registry
        )
    except OSError as exc:
        scoring.close()
        raise BadInput(
            f"--metrics-port: cannot listen on {_address(host, metrics_port)} for /metrics: "
            f"{exc.strerror or exc}"
        ) from exc
    console.line(
        f"serving {model_uri} on http://{_address(host, scoring.getsockname()[1])}/invocations, "
        f"metrics on http://{_address(host, httpd.server_port)}/metrics"
    )
    _serve(uvicorn, instrumented_app(model, metrics), scoring)
    return EXIT_OK


def _listen(host: str, port: int) -> socket.socket:
    """The scoring port, bound as uvicorn binds it (uvicorn exits 3 on a port in use), and
    listening: connections wait for the server from the moment it says it serves."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # named TCP, as uvicorn's own sockets are: asyncio turns Nagle's algorithm off only on
    # those, and with it on each answer waits ~40 ms for the client's delayed acknowledgement
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog
    except OSError as exc:
        sock.close()
        raise BadInput(
            f"--port: cannot listen on {_address(host, port)}: {exc.strerror or exc}"
        ) from exc
    return sock


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _serve(uvicorn: Any, app: Any, scoring: socket.socket) -> None:
    """What ``uvicorn.run`` does, on the socket already bound."""
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl-C is a clean stop
        server.run(sockets=[scoring])
    if not server.started:
        raise RuntimeError("the scoring server did not start; uvicorn's log above says why")


def _digest(given: str | None) -> str:
    """The digest to check: ``--model-digest``, else ``$MODEL_DIGEST`` ("": none)."""
    where = "--model-digest" if given is not None else DIGEST_ENV
    digest = (given if given is not None else os.environ.get(DIGEST_ENV, "")).strip()
    if digest and not FORM.fullmatch(digest):
        raise BadInput(f"{where}: {digest!r} is not a model digest (sha256:<64 hex digits>)")
    return digest


def _tracking_server_for(model_uri: str) -> None:
    """BadInput where ``model_uri`` names a model in MLflow (``models:/``, ``runs:/``) and
    the environment names no tracking server MLflow can read it from: MLflow would look in
    a store of its own making (``./mlflow.db``), leave it behind, and find no model."""
    from mlgitops.render.serving import TRACKING_SECRET
    from mlgitops.spec.remotes import malformed_uri, tracking_uri_problem

    if not model_uri.startswith(("models:/", "runs:/")):
        return
    registry = os.environ.get("MLFLOW_REGISTRY_URI", "").strip()
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if not uri:  # (a registry names a version; its files are read through the tracking store)
        raise BadInput(
            f"--model-uri {model_uri} names a model in MLflow, and MLFLOW_TRACKING_URI names "
            "no tracking server to read it from: set it (the generated manifests' pods get it "
            f"from the {TRACKING_SECRET} Secret)"
        )
    for name, given in (("MLFLOW_TRACKING_URI", uri), ("MLFLOW_REGISTRY_URI", registry)):
        # a malformed one (a bad IPv6 host) raised ValueError out of MLflow: exit 3
        if given and (why := malformed_uri(given)) is not None:
            raise BadInput(f"${name}: MLflow URI {_shown(given)} is malformed ({why})")
    if uri and (problem := tracking_uri_problem(uri)) is not None:
        raise BadInput(f"$MLFLOW_TRACKING_URI: MLflow tracking URI {_shown(uri)}: {problem}")


def _shown(uri: str) -> str:
    from mlgitops.masking import without_credentials

    return without_credentials(uri)


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
