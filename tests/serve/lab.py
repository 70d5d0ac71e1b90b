"""Processes for the canary tests: model servers started as the built overlay says, Prometheus.

``container_command(objects, ...)`` turns the built Rollout's container into the
command line a developer runs: the ``MODEL_URI`` of the overlay's ConfigMap and the
plain ``env`` values substituted into the arguments the way the kubelet expands
``$(VAR)``; only the listening address and ports are changed (loopback, free ports),
and the scratch folder ``/tmp`` becomes a temporary one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests
import yaml

from tests.conftest import program
from tests.fixtures.mlflow_server import free_port

Obj = dict[str, Any]


#: A spec's ``deploy`` with every analysis metric, scraped each second and measured over
#: an 8 s window: what the canary tests render their AnalysisTemplate from.
DEPLOY = """\
deploy:
  server: {image: "ghcr.io/example/mlgitops-serve@sha256:%s", port: 8080}
  metrics: {scrape: service-monitor, interval: 1s}
  environments:
    - name: production
      namespace: ml
      canary: {steps: [10, 50, 100], pause: 10m}
      analysis:
        prometheus: "http://prometheus.monitoring:9090"
        max_error_rate: 0.05
        max_p99_ms: 1500
        interval: 8s
        max_prediction_shift: 0.2
""" % ("0" * 64)


def prometheus_binary() -> str:
    """Debian's ``prometheus``; a visible skip without it, a failure where CI requires it."""
    return program("prometheus", "prometheus")


def one(objects: list[Obj], kind: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, [o["kind"] for o in objects]
    return found[0]


@dataclass
class Server:
    name: str
    port: int
    metrics_port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def container_command(objects: list[Obj], scratch: Path) -> tuple[list[str], dict[str, str]]:
    """The Rollout container's command + args with ``$(VAR)`` expanded, and its env."""
    container = one(objects, "Rollout")["spec"]["template"]["spec"]["containers"][0]
    config = one(objects, "ConfigMap")
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = str(scratch) if item["value"] == "/tmp" else item["value"]
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            assert ref["name"] == config["metadata"]["name"]
            env[item["name"]] = config["data"][ref["key"]]
    expand = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
    argv = [*container["command"], *container["args"]]
    return [expand.sub(lambda m: env.get(m.group(1), m.group(0)), a) for a in argv], env


def _replace_option(argv: list[str], option: str, value: str) -> list[str]:
    assert option in argv, (option, argv)
    index = argv.index(option) + 1
    return [*argv[:index], value, *argv[index + 1 :]]


def start_server(
    name: str, argv: list[str], env: Mapping[str, str], tracking_uri: str, folder: Path
) -> Server:
    """Run the container's command from this install, listening on loopback."""
    port, metrics_port = free_port(), free_port()
    argv = _replace_option(argv, "--host", "127.0.0.1")
    argv = _replace_option(argv, "--port", str(port))
    argv = _replace_option(argv, "--metrics-port", str(metrics_port))
    assert argv[0] == "mlgitops"
    executable = str(Path(sys.executable).with_name("mlgitops"))
    environ = {**os.environ, **env, "MLFLOW_TRACKING_URI": tracking_uri}
    environ["MLFLOW_ENABLE_TELEMETRY"] = "false"
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [executable, *argv[1:]], stdout=handle, stderr=subprocess.STDOUT, env=environ
        )
    return Server(name, port, metrics_port, proc, log)


def wait_ready(server: Server, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log.read_text()}")
        try:
            if requests.get(f"{server.url}/ping", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} did not answer /ping in {seconds}s:\n{server.log.read_text()}"
    )


class Scraped(Protocol):
    """What Prometheus scrapes: a model server, or a stand-in with its metrics."""

    name: str
    metrics_port: int


@dataclass(frozen=True)
class Target:
    """One scrape target with the labels a ServiceMonitor's relabelling gives it."""

    server: Scraped
    namespace: str
    service: str


def _group(target: Target) -> Obj:
    """The target with the labels the operator adds (``instance`` is Prometheus' own: the
    pod's address, the same through every Service that selects the pod)."""
    labels = {
        "namespace": target.namespace,
        "service": target.service,
        "endpoint": "metrics",
        "container": "server",
        "pod": target.server.name,
        "job": target.service,
    }
    return {"targets": [f"127.0.0.1:{target.server.metrics_port}"], "labels": labels}


def move_targets(path: Path, targets: list[Target]) -> None:
    """The targets Prometheus discovers from ``path`` from now on: the endpoints of
    Services whose selectors changed (written whole, then renamed into place)."""
    draft = path.with_suffix(".draft")
    draft.write_text(json.dumps([_group(t) for t in targets]))
    draft.replace(path)


def start_prometheus(
    binary: str,
    folder: Path,
    targets: list[Target],
    interval: str,
    path: str,
    moving: list[Target] | None = None,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Prometheus scraping each target as the ServiceMonitor's endpoint says; ``moving``
    ones are discovered from ``folder/moving.json``, which :func:`move_targets` rewrites."""
    scrape_configs: list[Obj] = [
        {
            # The operator names the job after the Service and adds these target labels.
            "job_name": f"{t.namespace}/{t.service}/{t.server.name}",
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "metrics_path": path,
            "static_configs": [_group(t)],
        }
        for t in targets
    ]
    if moving is not None:
        discovered = folder / "moving.json"
        move_targets(discovered, moving)
        scrape_configs.append(
            {
                "job_name": "moving",
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "metrics_path": path,
                "file_sd_configs": [{"files": [str(discovered)], "refresh_interval": "1s"}],
            }
        )
    config = folder / "prometheus.yml"
    config.write_text(
        yaml.safe_dump({"global": {"scrape_interval": interval}, "scrape_configs": scrape_configs})
    )
    port = free_port()
    log = folder / "prometheus.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return url, proc
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"prometheus not ready in 60s:\n{log.read_text()}")
