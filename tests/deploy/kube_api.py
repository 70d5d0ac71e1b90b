"""A loopback server speaking enough of the Kubernetes API for ``mlgitops status``.

It serves GET of namespaced custom objects (Argo's Applications, Rollouts and
AnalysisRuns, KServe's InferenceServices), answers 404 with a Kubernetes ``Status`` for
unknown ones, 401 without the bearer token, and every object put into it must
validate against the CRDs in ``../shared/contracts/crds/``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fixtures.k8s import object_problems

TOKEN = "loopback-token"
PLURALS = {
    "Application": "applications",
    "Rollout": "rollouts",
    "AnalysisRun": "analysisruns",
    "InferenceService": "inferenceservices",
}


class KubeApi:
    def __init__(self, contracts: Path) -> None:
        self.contracts = contracts
        self.objects: dict[str, dict[str, Any]] = {}
        #: bodies served as they are, whatever a CRD says (what a proxy or another server gives)
        self.raw: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []
        self.url = ""

    def put(self, obj: dict[str, Any]) -> None:
        """Serve ``obj`` (it must be valid against its CRD)."""
        problems = object_problems(obj, self.contracts)
        assert not problems, problems
        self.objects[self.path_of(obj)] = obj

    def path_of(self, obj: dict[str, Any]) -> str:
        meta = obj["metadata"]
        return f"/apis/{obj['apiVersion']}/namespaces/{meta['namespace']}/{PLURALS[obj['kind']]}/{meta['name']}"

    def kubeconfig(self, folder: Path, token: str = TOKEN) -> Path:
        path = folder / "kubeconfig"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "loopback", "cluster": {"server": self.url}}],
            "users": [{"name": "tests", "user": {"token": token}}],
            "contexts": [{"name": "loopback", "context": {"cluster": "loopback", "user": "tests"}}],
            "current-context": "loopback",
        }
        path.write_text(json.dumps(config))
        return path


def _handler(api: KubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            api.requests.append(f"GET {path}")
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            elif path in api.raw:
                data, media = api.raw[path]
                self.send_response(200)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif path in api.objects:
                self._send(200, api.objects[path])
            else:
                plural, name = path.rsplit("/", 2)[-2:]
                message = f'{plural}.argoproj.io "{name}" not found'
                self._send(404, _status(404, "NotFound", message))

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@contextmanager
def serve(contracts: Path) -> Iterator[KubeApi]:
    api = KubeApi(contracts)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
