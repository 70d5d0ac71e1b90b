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


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
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


async def _call(
    app: Asgi, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> Answer:
    scope = _scope(method, path, headers)
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


def _served(folder: Path, estimator: Any, features: Any, target: Any) -> Any:
    """``estimator`` fitted to ``features`` and ``target``, saved to ``folder`` as an MLflow
    model with the signature they give, and loaded as ``serve`` loads one."""
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        import mlflow.sklearn
        from mlflow.models import infer_signature

        estimator.fit(features, target)
        mlflow.sklearn.save_model(
            estimator,
            str(folder),
            signature=infer_signature(features, estimator.predict(features)),
            serialization_format="pickle",
            pip_requirements=["scikit-learn"],
        )
        return mlflow.pyfunc.load_model(str(folder))


@pytest.fixture(scope="module")
def dummy_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A model with the signature of ``model`` that scores any batch, an empty one too:
    it predicts the most frequent class it saw."""
    import numpy as np
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    features = pd.DataFrame({"radius": [1.0, 2.0, 3.0], "texture": [1.0, 0.0, 1.0]})
    folder = tmp_path_factory.mktemp("dummy") / "model"
    dummy = DummyClassifier(strategy="most_frequent")
    return _served(folder, dummy, features, np.array([0, 0, 1]))


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A model whose signature declares a text column (``colour``, one-hot encoded inside
    the model, as ``train`` logs one) beside a float one (``radius``) and a boolean one."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    features = pd.DataFrame(
        {
            "radius": [1.0, 2.0, 3.0, 4.0],
            "colour": ["red", "blue", "red", "blue"],
            "flag": [True, False, True, False],
        }
    )
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    folder = tmp_path_factory.mktemp("text") / "model"
    model = make_pipeline(encode, LogisticRegression())
    return _served(folder, model, features, np.array([0, 0, 1, 1]))


class _ColumnsModel:
    """A model whose ``predict`` returns a dict of columns (a label and a score per row), as
    a pyfunc model may: MLflow answers it as ``{"predictions": {...}}``. Its ``predict`` has
    no type hints: MLflow would read a signature from them."""

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        rows = len(model_input)
        return {"label": [1] * rows, "score": [0.75] * rows}


@pytest.fixture(scope="module")
def columns_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import pandas as pd

    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        from mlflow.models import infer_signature

        features = pd.DataFrame({"radius": [1.0], "texture": [0.5]})
        python_model = type("ColumnsModel", (_ColumnsModel, mlflow.pyfunc.PythonModel), {})
        folder = tmp_path_factory.mktemp("columns") / "model"
        mlflow.pyfunc.save_model(
            str(folder),
            python_model=python_model(),
            signature=infer_signature(features),
            pip_requirements=["pandas"],
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


def _refused_as_mlflow_refuses(server: Server, body: bytes, message: str) -> None:
    """``body`` answered 400 with ``message``, in the shape of MLflow's own error answers
    (a malformed JSON body's), and counted as 4xx; the server goes on answering."""
    answer = server.post(body, "application/json")
    assert (answer.status, answer.headers["content-type"]) == (400, "application/json")
    found = answer.json()
    assert (found["error_code"], found["message"]) == ("BAD_REQUEST", message)
    assert found.keys() == server.post(b"{", "application/json").json().keys()
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 2, 0)
    assert server.post(ROWS, "application/json").status == 200


def test_a_body_nested_too_deeply_is_refused_400_and_counted_as_4xx(server: Server) -> None:
    nested = b'{"inputs": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    _refused_as_mlflow_refuses(server, nested, "the request body is nested too deeply to parse")


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
    _refused_as_mlflow_refuses(
        server,
        body.encode(),
        "the request body holds an integer of more than 4300 digits, too long to parse",
    )


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


#: A list or an object where the signature declares one value per row, in each way of
#: sending rows: pandas turns some into NaN, a text column keeps them as they are.
NESTED_NUMBERS = [
    pytest.param(b'{"inputs": {"radius": [[]], "texture": [0.5]}}', "a list", id="inputs-empty"),
    pytest.param(b'{"inputs": {"radius": [[1, 2]], "texture": [0.5]}}', "a list", id="inputs"),
    pytest.param(b'{"inputs": [{"radius": [], "texture": 0.5}]}', "a list", id="inputs-records"),
    pytest.param(
        b'{"instances": [{"radius": [], "texture": 0.5}]}', "a list", id="instances-records"
    ),
    pytest.param(
        b'{"instances": {"radius": [[]], "texture": [0.5]}}', "a list", id="instances-columns"
    ),
]


@pytest.mark.parametrize(("body", "kind"), NESTED_NUMBERS)
def test_a_list_in_a_number_column_is_refused_400_naming_the_column(
    server: Server, body: bytes, kind: str
) -> None:
    answer = server.post(body, "application/json")
    assert answer.status == 400
    found = answer.json()
    assert found["error_code"] == "BAD_REQUEST"
    shown, said = found["message"].split("\nError: ")
    assert shown.startswith("Failed to predict data '")
    assert said == (
        f"column 'radius' holds {kind} in row 1: the model's signature declares one double per row"
    )
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 1, 0)


COLOURS = '"radius": 1.0, "colour": {colour}, "flag": true'
NESTED_TEXT = [
    pytest.param("dataframe_records", "[]", "a list", id="records-empty"),
    pytest.param("dataframe_records", '["red"]', "a list", id="records"),
    pytest.param("dataframe_records", '{"a": 1}', "an object", id="records-object"),
    pytest.param("dataframe_split", "[[]]", "a list", id="split"),
    pytest.param("inputs", '[["red"]]', "a list", id="inputs"),
    pytest.param("inputs-records", "[]", "a list", id="inputs-records"),
    pytest.param("instances", "[1, 2]", "a list", id="instances"),
]


def _rows_with(way: str, colour: str) -> bytes:
    """One row whose ``colour`` is ``colour`` (JSON), sent ``way``."""
    if way == "dataframe_split":
        return f'{{"{way}": {{"columns": ["radius", "colour", "flag"], "data": [[1.0, {colour}, true]]}}}}'.encode()
    if way == "inputs":
        return f'{{"inputs": {{"radius": [1.0], "colour": {colour}, "flag": [true]}}}}'.encode()
    key = "inputs" if way == "inputs-records" else way
    return f'{{"{key}": [{{{COLOURS.format(colour=colour)}}}]}}'.encode()


@pytest.mark.parametrize(("way", "colour", "kind"), NESTED_TEXT)
def test_a_list_in_a_text_column_is_refused_400_naming_the_column(
    text_model: Any, monkeypatch: pytest.MonkeyPatch, way: str, colour: str, kind: str
) -> None:
    server = _server(text_model, monkeypatch)
    assert server.post(_rows_with(way, '"red"'), "application/json").status == 200
    answer = server.post(_rows_with(way, colour), "application/json")
    assert answer.status == 400
    found = answer.json()
    assert found["error_code"] == "BAD_REQUEST"
    _, said = found["message"].split("\nError: ")
    assert said == (
        f"column 'colour' holds {kind} in row 1: the model's signature declares one string per row"
    )
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (1, 1, 0)


def test_the_row_named_is_the_first_that_holds_a_list(
    text_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(text_model, monkeypatch)
    body = (
        b'{"dataframe_records": [{"radius": 1.0, "colour": "red", "flag": true}, '
        b'{"radius": 2.0, "colour": "blue", "flag": []}, '
        b'{"radius": 3.0, "colour": [], "flag": true}]}'
    )
    answer = server.post(body, "application/json")
    assert answer.status == 400
    _, said = answer.json()["message"].split("\nError: ")
    # (MLflow reads a list in a boolean column as true or false, before the model sees it)
    assert said == (
        "column 'colour' holds a list in row 3: the model's signature declares one string per row"
    )
    assert (server.count("4xx"), server.count("5xx")) == (1, 0)


def test_a_list_in_a_column_the_signature_does_not_declare_is_ignored(server: Server) -> None:
    body = b'{"inputs": {"radius": [1.0], "texture": [0.5], "other": [[1, 2]]}}'
    answer = server.post(body, "application/json")
    assert (answer.status, answer.body) == (200, b'{"predictions": [0]}')


@pytest.mark.parametrize(
    ("columns", "kind"),
    [('["radius", {"a": 1}]', "dict"), ('[["radius"], "texture"]', "list")],
    ids=["object", "list"],
)
def test_column_names_that_cannot_name_a_column_are_refused_400_and_counted_as_4xx(
    server: Server, columns: str, kind: str
) -> None:
    body = f'{{"dataframe_split": {{"columns": {columns}, "data": [[1.0, 0.5]]}}}}'
    _refused_as_mlflow_refuses(
        server,
        body.encode(),
        f"the request's rows could not be read: TypeError: unhashable type: '{kind}'",
    )


INCOMPLETE = (
    "the request's body did not arrive whole: the client left, or sent it slower than the "
    "server's request timeout allows"
)


def _started_upload(server: Server, then: list[dict[str, Any]]) -> Answer:
    """The answer to a request whose client sends the first bytes of its rows, then the
    messages ``then`` (none: it sends nothing more, and waits)."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"100")]
    messages = [{"type": "http.request", "body": ROWS[:10], "more_body": True}, *then]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client sends nothing more
        raise AssertionError("unreachable")

    async def send(message: Any) -> None:
        sent.append(dict(message))

    asyncio.run(server.app(_scope("POST", "/invocations", headers), receive, send))
    start, body = sent
    return Answer(int(start["status"]), {}, body["body"])


def test_a_client_that_leaves_before_sending_its_rows_is_counted_as_4xx(server: Server) -> None:
    answer = _started_upload(server, [{"type": "http.disconnect"}])
    assert answer.status == 408
    assert (answer.json()["error_code"], answer.json()["message"]) == ("BAD_REQUEST", INCOMPLETE)
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 1, 0)


def test_rows_that_arrive_slower_than_the_request_timeout_are_refused_408_as_4xx(
    model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "1")  # seconds, read at start
    server = _server(model, monkeypatch)
    answer = _started_upload(server, [])
    assert answer.status == 408
    assert (answer.json()["error_code"], answer.json()["message"]) == ("BAD_REQUEST", INCOMPLETE)
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 1, 0)


class _UnwritableModel:
    """``model`` predicting values MLflow cannot write as JSON. Duck-typed as the app takes
    models: no flavor MLflow saves predicts such values from a signature's rows."""

    def __init__(self, model: Any) -> None:
        self.metadata = model.metadata

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return [object()]


def test_an_answer_the_app_fails_to_write_after_scoring_stays_a_server_error(
    model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(_UnwritableModel(model), monkeypatch)
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        server.post(ROWS, "application/json")  # uvicorn answers it 500
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 0, 1)


@pytest.mark.parametrize(
    "error",
    [RuntimeError("broken"), KeyError("columns"), TypeError("unsupported operand"), MemoryError()],
    ids=["runtime", "key", "type", "memory"],
)
def test_an_error_the_server_raises_before_scoring_stays_a_server_error(
    error: Exception,
) -> None:
    """The scoring app raising before the model is given the rows, on an error no request
    is known to cause (a broken install, a bug in MLflow's reading of a body): a 500,
    counted as 5xx, which the canary's analysis exists to catch. Answered 400, every
    request to a broken server would pass as the clients' fault."""
    from mlgitops.serving.app import Instrumented

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise error

    metrics = ServerMetrics("models:/m/1", "classification")
    server = Server(Instrumented(broken, metrics), metrics)
    with pytest.raises(type(error)):
        server.post(ROWS, "application/json")  # uvicorn answers it 500
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 0, 1)


class _BrokenMetrics(ServerMetrics):
    """Metrics whose recording of predictions fails: a bug in the layer around the model."""

    def predicted(self, output: Any) -> None:
        raise ValueError("a bug in recording")


def test_a_failure_to_record_the_predictions_is_a_server_error(
    model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow answers 400 to whatever ``predict`` raises, so a bug in the layer around the
    model passed as the client's fault, and the canary saw no error."""
    monkeypatch.setenv("_MLFLOW_IS_IN_SERVING_ENVIRONMENT", "true")
    metrics = _BrokenMetrics("models:/m/1", "classification")
    server = Server(instrumented_app(model, metrics), metrics)
    answer = server.post(ROWS, "application/json")
    assert (answer.status, answer.json()["error_code"]) == (500, "INTERNAL_ERROR")
    _, said = answer.json()["message"].split("\nError: ")  # after MLflow's echo of the rows
    assert said == "mlgitops serve failed around the model (ValueError: a bug in recording)"
    assert (server.count("2xx"), server.count("4xx"), server.count("5xx")) == (0, 0, 1)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_predictions_returned_as_columns_are_answered_200_and_counted_by_the_first(
    columns_model: Any, monkeypatch: pytest.MonkeyPatch, task: str
) -> None:
    """A model that returns a dict of columns: a regressor's answers were 400 (recording
    its predictions failed, and MLflow answers any failure so), and a classifier's were
    counted under the dict's text as their class."""
    monkeypatch.setenv("_MLFLOW_IS_IN_SERVING_ENVIRONMENT", "true")
    metrics = ServerMetrics("models:/m/1", task, (0.5, 1.0))
    server = Server(instrumented_app(columns_model, metrics), metrics)
    answer = server.post(ROWS, "application/json")
    assert (answer.status, answer.json()) == (
        200,
        {"predictions": {"label": [1], "score": [0.75]}},
    )
    assert (server.count("2xx"), server.count("4xx")) == (1, 0)
    registry = server.metrics.registry
    if task == "classification":
        assert registry.get_sample_value("mlgitops_predictions_total", {"class": "1"}) == 1
    else:
        bucket = registry.get_sample_value("mlgitops_prediction_bucket", {"le": "1.0"})
        assert (bucket, registry.get_sample_value("mlgitops_prediction_sum")) == (1, 1)


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
