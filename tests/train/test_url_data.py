"""Data behind an https URL whose bytes change between two downloads, as a file that is
rewritten in place, or a load balancer's replicas out of step, serve them.

One command reads the URL once: the content key's data hash is of the rows that were
validated and trained on, and a custom trainer is given those same bytes.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from mlgitops import results
from mlgitops.data import http
from tests.fixtures.mlflow_server import MlflowServer
from tests.fixtures.tls import make_tls
from tests.train.helpers import cli, commit, example_repo, runs_of, unique

pytestmark = pytest.mark.slow


class Changing:
    """An https server whose ``/data.csv`` is ``first`` on the first GET, ``later`` after."""

    def __init__(self, folder: Path, first: bytes, later: bytes) -> None:
        self.gets = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = first if outer.gets == 0 else later
                outer.gets += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        tls = make_tls(folder)
        self.trust = tls.trust
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.certificate, tls.key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/data.csv"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tumors(tmp_path: Path) -> tuple[bytes, bytes]:
    """The scaffold's data, and the same file without its last 169 rows."""
    name = unique("tumors")
    whole = example_repo(tmp_path / "scaffold", name) / "data" / "tumors.csv"
    lines = whole.read_bytes().splitlines(keepends=True)
    return b"".join(lines), b"".join(lines[:-169])


@pytest.fixture
def server(
    tmp_path: Path, tumors: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Changing]:
    served = Changing(tmp_path / "tls", *tumors)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(served.trust))
    try:
        yield served
    finally:
        served.close()


#: A custom classifier that says, as a run parameter, the sha256 of the data file it was given.
TRAINER = """
import hashlib, json, os
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from sklearn.linear_model import LogisticRegression

train = pd.read_parquet(os.environ["MLGITOPS_TRAIN"])
holdout = pd.read_parquet(os.environ["MLGITOPS_HOLDOUT"])
target, features = os.environ["MLGITOPS_TARGET"], json.loads(os.environ["MLGITOPS_FEATURES"])
out = Path(os.environ["MLGITOPS_OUTPUT"])
model = LogisticRegression(max_iter=2000).fit(train[features], train[target])
mlflow.sklearn.save_model(
    model, out / "model", input_example=holdout[features].head(2), pip_requirements=["scikit-learn"]
)
proba = model.predict_proba(holdout[features])[:, 1]
pd.DataFrame(
    {"__row__": holdout["__row__"], "y_pred": (proba > 0.5).astype(int), "proba_1": proba}
).to_parquet(out / "predictions.parquet")
data = Path(os.environ["MLGITOPS_DATA"]).read_bytes()
(out / "params.json").write_text(json.dumps({"data_sha256": hashlib.sha256(data).hexdigest()}))
"""


def _url_repo(root: Path, name: str, url: str, model: str | None = None) -> Path:
    """The scaffold's pipeline reading its data from ``url``; ``model``: its model section."""
    example_repo(root, name)
    spec = root / "pipelines" / f"{name}.yaml"
    text = spec.read_text().replace("path: data/tumors.csv", f"path: {url}")
    if model is not None:
        head, rest = text.split("model:\n", 1)
        text = head + model + rest[rest.index("task:") :]
        (root / "train.py").write_text(TRAINER)
    spec.write_text(text)
    (root / "data" / "tumors.csv").unlink()
    commit(root, "data from a URL")
    return root


def test_train_keys_and_trains_on_the_bytes_of_one_download(
    tmp_path: Path, mlflow_server: MlflowServer, server: Changing, tumors: tuple[bytes, bytes]
) -> None:
    name = unique("url-data")
    root = _url_repo(tmp_path / "repo", name, server.url)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    out = root / ".mlgitops" / name
    result = results.load_train_result((out / "train.json").read_text())
    assert result.hashes.data == hashlib.sha256(tumors[0]).hexdigest()
    # The first download's 569 rows were split and trained on, not the 400 of the next.
    holdout = pd.read_parquet(out / "holdout.parquet")
    [run] = runs_of(mlflow_server.uri, name)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert int(params["rows.train"]) + len(holdout) == 569
    assert params["rows.holdout"] == str(len(holdout))
    assert server.gets == 1
    assert (http._FETCHED, http._FOLDER) == ({}, [])  # the download went with the command


def test_a_custom_trainer_is_given_the_bytes_the_key_names(
    tmp_path: Path, mlflow_server: MlflowServer, server: Changing, tumors: tuple[bytes, bytes]
) -> None:
    name = unique("url-command")
    model = "model:\n  command: python train.py\n"
    root = _url_repo(tmp_path / "repo", name, server.url, model)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    first = hashlib.sha256(tumors[0]).hexdigest()
    result = results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())
    assert result.hashes.data == first
    [run] = runs_of(mlflow_server.uri, name)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["data_sha256"] == first
    assert server.gets == 1


def test_each_command_reads_the_url_afresh(
    tmp_path: Path, mlflow_server: MlflowServer, server: Changing, tumors: tuple[bytes, bytes]
) -> None:
    """Once in a command, not once in a process: a later command sees the data as it is then."""
    name = unique("url-again")
    root = _url_repo(tmp_path / "repo", name, server.url)
    assert cli(root, "validate", name) == 0
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    assert server.gets == 2
    result = results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())
    assert result.hashes.data == hashlib.sha256(tumors[1]).hexdigest()  # the second download's
    [run] = runs_of(mlflow_server.uri, name)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert int(params["rows.train"]) + int(params["rows.holdout"]) == 400
