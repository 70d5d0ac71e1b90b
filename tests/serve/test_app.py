"""The scoring app ``mlgitops serve`` runs, driven in this process through ASGI.

Each request goes through the app as uvicorn hands it over: one ``http`` scope, the
body in one ``http.request`` message; the answer is the messages the app sends back.
An exception that escapes the app fails the test (uvicorn would answer 500 for it).
What a client can send must come back 4xx, counted as 4xx: the canary analysis fails
a rollout on 5xx answers. No error answer carries a traceback.
"""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgitops.serving.app import Asgi, instrumented_app
from mlgitops.serving.metrics import ServerMetrics

ROWS = b'{"dataframe_records": [{"radius": 1.0, "texture": 0.5}]}'


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    app: Asgi
    metrics: ServerMetrics

    def post(self, body: bytes, content_type: str | None, path: str = "/invocations") -> Answer:
        headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
        if content_type is not None:
            headers.append((b"content-type", content_type.encode()))
        return asyncio.run(_call(self.app, "POST", path, headers, body))

    def count(self, code: str, handler: str = "/invocations") -> float | None:
        labels = {"handler": handler, "code": code}
        return self.metrics.registry.get_sample_value("mlgitops_requests_total", labels)


async def _call(
    app: Asgi, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    requests = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client waits for its answer
        raise AssertionError("unreachable")

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    assert sent[0] is starts[0], sent
    chunks = [m for m in sent if m["type"] == "http.response.body"]
    assert chunks and not chunks[-1].get("more_body", False), sent
    headers_sent = {k.decode().lower(): v.decode() for k, v in starts[0]["headers"]}
    answer = Answer(int(starts[0]["status"]), headers_sent, b"".join(m["body"] for m in chunks))
    assert int(headers_sent["content-length"]) == len(answer.body)
    return answer


@pytest.fixture(scope="module")
def model(model_folder: Path) -> Any:
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore")
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(model_folder))


@pytest.fixture(scope="module")
def dummy_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A model with the signature of ``model`` that scores any batch, an empty one too:
    it predicts the most frequent class it saw."""
    import numpy as np
    import pandas as pd

    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        import mlflow.sklearn
        from mlflow.models import infer_signature
        from sklearn.dummy import DummyClassifier

        features = pd.DataFrame({"radius": [1.0, 2.0, 3.0], "texture": [1.0, 0.0, 1.0]})
        dummy = DummyClassifier(strategy="most_frequent").fit(features, np.array([0, 0, 1]))
        folder = tmp_path_factory.mktemp("dummy") / "model"
        mlflow.sklearn.save_model(
            dummy,
            str(folder),
            signature=infer_signature(features, dummy.predict(features)),
            serialization_format="pickle",
            pip_requirements=["scikit-learn"],
        )
        return mlflow.pyfunc.load_model(str(folder))


def _server(model: Any, monkeypatch: pytest.MonkeyPatch) -> Server:
    # MLflow's app sets this for the process; here it is undone after each test.
    monkeypatch.setenv("_MLFLOW_IS_IN_SERVING_ENVIRONMENT", "true")
    metrics = ServerMetrics("models:/m/1", "classification")
    return Server(instrumented_app(model, metrics), metrics)


@pytest.fixture
def server(model: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    yield _server(model, monkeypatch)


def test_rows_are_scored_and_counted_as_2xx(server: Server) -> None:
    answer = server.post(ROWS, "application/json")
    assert (answer.status, answer.body) == (200, b'{"predictions": [0]}')
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (1, 0, 0)


def test_a_request_without_a_media_type_is_refused_415_and_counted_as_4xx(
    server: Server,
) -> None:
    answer = server.post(ROWS, None)
    assert answer.status == 415
    assert answer.headers["content-type"] == "application/json"
    found = answer.json()
    assert found["error_code"] == "BAD_REQUEST"
    assert found["message"] == (
        "the request has no Content-Type header: send the rows as application/json, "
        "text/csv or application/vnd.apache.parquet"
    )
    # the shape of MLflow's own error answers (a malformed JSON body here)
    assert found.keys() == server.post(b"{", "application/json").json().keys()
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 2, 0)


def test_a_media_type_mlflow_does_not_read_is_still_its_own_415(server: Server) -> None:
    answer = server.post(ROWS, "text/plain")
    assert (answer.status, answer.headers["content-type"]) == (415, "text/plain; charset=utf-8")
    assert answer.body == (
        b"This predictor only supports the following content types: Types: ['text/csv', "
        b"'application/json', 'application/vnd.apache.parquet']. Got 'text/plain'."
    )
    assert (server.count("4xx"), server.count("5xx")) == (1, 0)


def test_a_body_nested_too_deeply_is_refused_400_and_counted_as_4xx(server: Server) -> None:
    nested = b'{"inputs": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    answer = server.post(nested, "application/json")
    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    found = answer.json()
    assert (found["error_code"], found["message"]) == (
        "BAD_REQUEST",
        "the request body is nested too deeply to parse",
    )
    assert found.keys() == server.post(b"{", "application/json").json().keys()
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 2, 0)
    # the server goes on answering
    assert server.post(ROWS, "application/json").status == 200


TOO_MANY_DIGITS = "9" * 5000


@pytest.mark.parametrize(
    "body",
    [
        f'{{"dataframe_records": [{{"radius": {TOO_MANY_DIGITS}, "texture": 0.5}}]}}',
        f'{{"dataframe_split": {{"columns": ["radius", "texture"], '
        f'"data": [[-{TOO_MANY_DIGITS}, 0.5]]}}}}',
        f'{{"inputs": {{"radius": [1.0], "texture": [{TOO_MANY_DIGITS}]}}}}',
        f'{{"dataframe_records": [], "params": {{"n": {TOO_MANY_DIGITS}}}}}',
    ],
    ids=["records", "split-negative", "inputs", "params"],
)
def test_an_integer_too_long_to_parse_is_refused_400_and_counted_as_4xx(
    server: Server, body: str
) -> None:
    answer = server.post(body.encode(), "application/json")
    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    found = answer.json()
    assert (found["error_code"], found["message"]) == (
        "BAD_REQUEST",
        "the request body holds an integer of more than 4300 digits, too long to parse",
    )
    assert found.keys() == server.post(b"{", "application/json").json().keys()
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 2, 0)
    # the server goes on answering
    assert server.post(ROWS, "application/json").status == 200


def test_an_integer_within_pythons_limit_is_parsed(server: Server) -> None:
    body = b'{"dataframe_records": [{"radius": ' + b"1" + b"0" * 4299 + b', "texture": 0.5}]}'
    answer = server.post(body, "application/json")
    # parsed: too large for the column's float64, as MLflow's schema says
    assert answer.status == 400
    assert answer.json()["message"] == (
        "Invalid input. Data is not compatible with model signature. Failed to convert "
        "column radius to type 'float64'. Error: 'OverflowError('int too large to convert "
        "to float')'"
    )
    assert (server.count("4xx"), server.count("5xx")) == (1, 0)


#: A batch of no rows, as each way of sending rows puts it; MLflow hands the model a
#: DataFrame (shown as the first text) or a dict of arrays (the second).
EMPTY_FRAME = "Empty DataFrame\nColumns: [radius, texture]\nIndex: []"
EMPTY_COLUMNS = "{'radius': array([], dtype=float64), 'texture': array([], dtype=float64)}"
EMPTY_BATCHES = [
    pytest.param(
        b'{"dataframe_split": {"columns": ["radius", "texture"], "data": []}}',
        "application/json",
        EMPTY_FRAME,
        id="split",
    ),
    pytest.param(
        b'{"inputs": {"radius": [], "texture": []}}', "application/json", EMPTY_COLUMNS, id="inputs"
    ),
    pytest.param(b"radius,texture\n", "text/csv", EMPTY_FRAME, id="csv"),
    # one column a single value: pandas gives it as many rows as the others, none
    pytest.param(
        b'{"inputs": {"radius": [], "texture": 0.5}}',
        "application/json",
        "{'radius': array([], dtype=float64), 'texture': np.float64(0.5)}",
        id="inputs-and-a-value",
    ),
]


@pytest.mark.parametrize(("body", "media", "shown"), EMPTY_BATCHES)
def test_an_empty_batch_the_model_cannot_score_is_refused_400_and_counted_as_4xx(
    server: Server, body: bytes, media: str, shown: str
) -> None:
    answer = server.post(body, media)
    assert answer.status == 400
    found = answer.json()
    assert (found["error_code"], found["message"]) == (
        "BAD_REQUEST",
        f"Failed to predict data '{shown}'. \nError: the request holds no rows to score: "
        "Found array with 0 sample(s) (shape=(0, 2)) while a minimum of 1 is required by "
        "LogisticRegression.",
    )
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 1, 0)


@pytest.mark.parametrize(("body", "media", "shown"), EMPTY_BATCHES)
def test_an_empty_batch_a_model_can_score_is_answered_200(
    dummy_model: Any, monkeypatch: pytest.MonkeyPatch, body: bytes, media: str, shown: str
) -> None:
    server = _server(dummy_model, monkeypatch)
    answer = server.post(body, media)
    assert (answer.status, answer.body) == (200, b'{"predictions": []}')
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (1, 0, 0)


@pytest.mark.parametrize(
    ("body", "media"),
    [
        (
            b'{"dataframe_split": {"columns": ["radius", "texture"], "data": [[NaN, 0.5]]}}',
            "application/json",
        ),
        (b'{"inputs": {"radius": [NaN], "texture": [0.5]}}', "application/json"),
        (b"radius,texture\n,0.5\n", "text/csv"),
    ],
    ids=["split", "inputs", "csv"],
)
def test_a_row_the_model_cannot_score_is_a_server_error_counted_as_5xx(
    server: Server, body: bytes, media: str
) -> None:
    answer = server.post(body, media)
    assert answer.status == 500
    found = answer.json()
    assert found["error_code"] == "INTERNAL_ERROR"
    _, said = found["message"].split("\nError: ")
    assert said.startswith(
        "the model failed on input that matches its signature: Input X contains NaN.\n"
        "LogisticRegression does not accept missing values encoded as NaN natively."
    )
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 0, 1)


def test_error_answers_carry_no_traceback(server: Server) -> None:
    answer = server.post(b'a,b\n1,2,3,4\n"', "text/csv")
    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    found = answer.json()
    assert found.keys() == {"error_code", "message", "sqlstate", "error_class"}
    assert found["error_code"] == "BAD_REQUEST"
    assert found["message"].startswith(
        "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
        "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` "
        "method. Error: 'Error tokenizing data."
    )
    assert b"Traceback" not in answer.body
    assert b".py" not in answer.body
    assert (server.count("4xx"), server.count("5xx")) == (1, 0)


def test_a_long_error_message_is_cut(server: Server) -> None:
    value = "x" * 1_000_000
    body = json.dumps({"dataframe_records": [{"radius": value, "texture": 0.5}]}).encode()
    answer = server.post(body, "application/json")
    assert answer.status == 400
    assert len(answer.body) < 5000
    message = answer.json()["message"]
    assert message.startswith(
        "Invalid input. Data is not compatible with model signature. Failed to convert "
        "column radius to type 'float64'."
    )
    cut = re.fullmatch(r"(.{4096})… \((\d+) more characters\)", message, re.DOTALL)
    assert cut is not None, message[-100:]
    assert int(cut.group(2)) > 1_000_000 - 4096
    assert (server.count("4xx"), server.count("5xx")) == (1, 0)


def test_short_error_answers_pass_unchanged(server: Server) -> None:
    answer = server.post(b"{}", "application/json", path="/nowhere")
    assert (answer.status, answer.body) == (404, b'{"detail":"Not Found"}')
    answer = server.post(b'{"dataframe_records": [{"radius": ', "application/json")
    assert answer.status == 400
    assert answer.json()["message"] == (
        "Invalid input. Ensure that input is a valid JSON formatted string. Error: "
        "'JSONDecodeError('Expecting value: line 1 column 35 (char 34)')'\nInput: \n"
        'b\'{"dataframe_records": [{"radius": \'\n'
    )
    assert (server.count("4xx", "other"), server.count("4xx")) == (1, 1)
