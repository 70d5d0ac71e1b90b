"""The registry's answers that deploy and promote read to hold Git's records to: an
answer of another shape (a proxy, a server that is not MLflow's) is a service error that
names it, never a crash."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mlgitops.errors import ServiceError
from mlgitops.gitops.registry_rest import RestRegistry


class _Answers(http.server.BaseHTTPRequestHandler):
    answer: Any = None

    def do_GET(self) -> None:
        body = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def registry() -> Iterator[RestRegistry]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with requests.Session() as session:
        yield RestRegistry(f"http://127.0.0.1:{server.server_address[1]}", session)
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "answer",
    [
        {"registered_model": None},
        {"registered_model": {"aliases": [{"alias": "staging"}]}},
        {"registered_model": {"aliases": {"staging": "1"}}},
        {"registered_model": {"aliases": ["staging"]}},
        [],
    ],
)
def test_aliases_of_another_shape_are_a_service_error(registry: RestRegistry, answer: Any) -> None:
    _Answers.answer = answer
    with pytest.raises(ServiceError, match="answered aliases that are not a list"):
        registry.aliases("tumors")


def test_aliases_as_mlflow_answers_them(registry: RestRegistry) -> None:
    _Answers.answer = {
        "registered_model": {"name": "tumors", "aliases": [{"alias": "staging", "version": "3"}]}
    }
    assert registry.aliases("tumors") == {"staging": "3"}
    _Answers.answer = {"registered_model": {"name": "tumors"}}
    assert registry.aliases("tumors") == {}
