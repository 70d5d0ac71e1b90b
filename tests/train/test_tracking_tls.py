"""A tracking server behind TLS with a private CA, which asks for a client certificate: the
stages reach it with the settings MLflow's own client reads from the environment
(``MLFLOW_TRACKING_SERVER_CERT_PATH``, ``MLFLOW_TRACKING_CLIENT_CERT_PATH``,
``MLFLOW_TRACKING_INSECURE_TLS``), and requests' own CA bundle variable does not replace
them."""

from __future__ import annotations

import http.server
import json
import re
import socketserver
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mlgitops.errors import ServiceError
from mlgitops.training.tracking import open_tracking
from mlgitops.training.tracking_session import reason
from tests.fixtures.mlflow_server import MlflowServer, Tls, start_mlflow_server, stop
from tests.fixtures.tls import make_ca, make_tls
from tests.train.helpers import cli, example_repo, unique

pytestmark = pytest.mark.slow

SERVER_CERT = "MLFLOW_TRACKING_SERVER_CERT_PATH"
CLIENT_CERT = "MLFLOW_TRACKING_CLIENT_CERT_PATH"
INSECURE = "MLFLOW_TRACKING_INSECURE_TLS"
_VARIABLES = (SERVER_CERT, CLIENT_CERT, INSECURE, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: Tls) -> Iterator[MlflowServer]:
    started, proc = start_mlflow_server(tmp_path_factory.mktemp("mlflow-tls"), tls)
    yield started
    stop(proc)


@pytest.fixture(autouse=True)
def _no_tls_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _runs(uri: str, experiment: str) -> list[str]:
    """The statuses of an experiment's runs, asked with MLflow's own client (which reads
    the same variables)."""
    import mlflow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own notices are not under test
        client = mlflow.MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        assert found is not None
        return [r.info.status for r in client.search_runs([found.experiment_id])]


def test_train_logs_and_reuses_its_run_on_a_server_behind_a_private_ca(
    tmp_path: Path,
    server: MlflowServer,
    tls: Tls,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(SERVER_CERT, str(tls.trust))
    monkeypatch.setenv(CLIENT_CERT, str(tls.client))
    name = unique("tls")
    root = example_repo(tmp_path / "repo", name)
    assert cli(root, "train", name, "--tracking-uri", server.uri) == 0
    assert cli(root, "train", name, "--tracking-uri", server.uri) == 0  # its downloads too
    out = capsys.readouterr().out
    assert f"train {name}: trained run" in out and f"train {name}: cache hit" in out
    assert _runs(server.uri, name) == ["FINISHED"]
    train = json.loads((root / ".mlgitops" / name / "train.json").read_text())
    assert train["cached"] is True and train["tracking_uri"] == server.uri


def test_without_the_ca_the_error_names_the_variable_that_gives_it(
    tmp_path: Path,
    server: MlflowServer,
    tls: Tls,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(CLIENT_CERT, str(tls.client))
    root = example_repo(tmp_path / "repo", "tumors")
    assert cli(root, "train", "tumors", "--tracking-uri", server.uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops train: error: MLflow tracking server {server.uri} is unreachable (TLS failed: "
        f"its certificate could not be verified; {SERVER_CERT} names the CA bundle to verify "
        "it with)\n"
    )


def test_without_a_client_certificate_the_server_refuses_and_the_error_says_so(
    tmp_path: Path, server: MlflowServer, tls: Tls
) -> None:
    """Over TLS 1.3 the server closes the connection after the handshake: no TLS error
    reaches the client, and "connection refused" would send the user the wrong way."""
    tracking = open_tracking(server.uri, tmp_path, env={SERVER_CERT: str(tls.trust)})
    with pytest.raises(ServiceError) as raised:
        tracking.experiment("refused", create=False)
    assert str(raised.value) == (
        f"MLflow tracking server {server.uri} is unreachable (it closed the connection without "
        "answering, as a server behind TLS does when it asks for a client certificate and gets "
        f"none or one it refuses ({CLIENT_CERT} names the client's certificate))"
    )


def test_requests_own_ca_bundle_does_not_replace_the_one_mlflow_is_told_to_use(
    tmp_path: Path, server: MlflowServer, tls: Tls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests lets REQUESTS_CA_BUNDLE win over a session's own ``verify``: a bundle set
    for other services (a company's proxy CA) failed every call to the tracking server."""
    other, _, _ = make_ca(tmp_path / "other", "another-ca")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    env = {SERVER_CERT: str(tls.trust), CLIENT_CERT: str(tls.client)}
    name = unique("bundle")
    experiment = open_tracking(server.uri, tmp_path, env=env).experiment(name, create=True)
    assert experiment is not None and experiment.isdigit()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("spelt", ["true", "1", "TRUE"])
def test_insecure_tls_as_mlflow_spells_it_skips_verification_whatever_requests_is_told(
    tmp_path: Path, server: MlflowServer, tls: Tls, monkeypatch: pytest.MonkeyPatch, spelt: str
) -> None:
    other, _, _ = make_ca(tmp_path / "other", "another-ca")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    env = {INSECURE: spelt, CLIENT_CERT: str(tls.client)}
    tracking = open_tracking(server.uri, tmp_path, env=env)
    assert tracking.experiment(unique("insecure"), create=True) is not None


@pytest.mark.parametrize("spelt", ["false", "0", "False"])
def test_insecure_tls_turned_off_goes_with_a_ca_bundle(
    tmp_path: Path, server: MlflowServer, tls: Tls, spelt: str
) -> None:
    env = {INSECURE: spelt, SERVER_CERT: str(tls.trust), CLIENT_CERT: str(tls.client)}
    tracking = open_tracking(server.uri, tmp_path, env=env)
    assert tracking.experiment(unique("verified"), create=True) is not None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {INSECURE: "true", SERVER_CERT: "{ca}"},
            f"{INSECURE} is true and {SERVER_CERT} is set: the server's certificate is either "
            "not verified or verified with that CA bundle; unset one of them",
        ),
        ({SERVER_CERT: "{missing}"}, f"{SERVER_CERT}: {{missing}} does not exist"),
        ({CLIENT_CERT: "{missing}"}, f"{CLIENT_CERT}: {{missing}} does not exist"),
        ({INSECURE: "yes"}, f"{INSECURE}='yes': expected true or false (or 1 or 0)"),
        # MLflow's client refuses an empty value too (what an unset Actions variable gives)
        ({INSECURE: ""}, f"{INSECURE}='': expected true or false (or 1 or 0)"),
        ({INSECURE: " true"}, f"{INSECURE}=' true': expected true or false (or 1 or 0)"),
        ({CLIENT_CERT: "{folder}"}, f"{CLIENT_CERT}: {{folder}} is not a file"),
        ({SERVER_CERT: "{long}"}, f"{SERVER_CERT}: {{long}} cannot be read (File name too long)"),
        # requests verifies with its own variable's bundle where MLflow's names none
        ({"REQUESTS_CA_BUNDLE": "{missing}"}, "REQUESTS_CA_BUNDLE: {missing} does not exist"),
        ({"CURL_CA_BUNDLE": "{missing}"}, "CURL_CA_BUNDLE: {missing} does not exist"),
    ],
    ids=[
        "insecure-and-a-ca",
        "no-ca-file",
        "no-client-file",
        "not-a-boolean",
        "empty-boolean",
        "spaced-boolean",
        "client-certificate-a-folder",
        "name-too-long",
        "requests-bundle-missing",
        "curl-bundle-missing",
    ],
)
def test_settings_that_cannot_hold_are_refused_before_any_request(
    tmp_path: Path,
    tls: Tls,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    message: str,
) -> None:
    places = {
        "ca": str(tls.trust),
        "missing": str(tmp_path / "missing.pem"),
        "folder": str(tmp_path),
        "long": str(tmp_path / ("x" * 300)),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(**places))
    root = example_repo(tmp_path / "repo", "tumors")
    # the discard port: nothing listens, so any request would fail another way
    assert cli(root, "train", "tumors", "--tracking-uri", "https://127.0.0.1:9") == 2
    assert capsys.readouterr().err == f"mlgitops train: error: {message.format(**places)}\n"


def test_a_plain_http_server_that_hangs_up_is_not_blamed_on_tls(tmp_path: Path) -> None:
    """A server that reads the request and closes the connection without an answer."""

    class HangUp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)

    with socketserver.TCPServer(("127.0.0.1", 0), HangUp) as hanging:
        threading.Thread(target=hanging.serve_forever, daemon=True).start()
        uri = f"http://127.0.0.1:{hanging.server_address[1]}"
        try:
            with pytest.raises(ServiceError) as raised:
                open_tracking(uri, tmp_path, env={}).experiment("x", create=False)
        finally:
            hanging.shutdown()
    assert str(raised.value) == (
        f"MLflow tracking server {uri} is unreachable (it closed the connection without answering)"
    )


def test_https_to_a_plain_http_server_is_named_as_a_tls_failure(tmp_path: Path) -> None:
    """Not a certificate to fix: the address does not speak TLS."""

    class Plain(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Plain) as plain:
        threading.Thread(target=plain.serve_forever, daemon=True).start()
        uri = f"https://127.0.0.1:{plain.server_address[1]}"
        try:
            with pytest.raises(ServiceError) as raised:
                open_tracking(uri, tmp_path, env={}).experiment("x", create=False)
        finally:
            plain.shutdown()
    assert re.fullmatch(
        rf"MLflow tracking server {re.escape(uri)} is unreachable \(TLS failed \([A-Z_]+\): it "
        rf"may not speak https at this address, or it refused the client's certificate, which "
        rf"{CLIENT_CERT} names\)",
        str(raised.value),
    ), raised.value


def test_a_proxy_that_fails_is_named_as_the_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An https proxy address where a plain-http proxy listens: urllib3 reports the TLS
    failure with a text ``reason``, which the reason's search must step over."""
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{proxy.server_address[1]}")
        uri = "https://127.0.0.1:9"
        try:
            with pytest.raises(ServiceError) as raised:
                open_tracking(uri, tmp_path, env={}).experiment("x", create=False)
        finally:
            proxy.shutdown()
    assert str(raised.value) == (
        f"MLflow tracking server {uri} is unreachable "
        "(its proxy failed: check HTTPS_PROXY, HTTP_PROXY and NO_PROXY)"
    )


@pytest.mark.parametrize("kind", [requests.ConnectTimeout, requests.ReadTimeout])
def test_a_timeout_is_named_with_the_seconds_given(kind: type[Exception]) -> None:
    """A connect timeout is a ConnectionError as well: it is still named as a timeout."""
    assert reason(kind(), 60.0) == "no answer within 60s"
    assert reason(kind()) == "no answer within 30s"
