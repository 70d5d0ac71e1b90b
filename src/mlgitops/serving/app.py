"""MLflow's scoring app, instrumented: an ASGI layer that counts and times every request.

``instrumented_app`` wraps the app that ``mlflow.pyfunc.scoring_server.init`` builds
(the one ``mlflow models serve`` runs) in two places:

- a pure ASGI middleware records each response's status class and duration, and
  keeps what any client can send from becoming a server error or a leak: a POST to
  ``/invocations`` without a Content-Type header is answered 415 (MLflow's app
  raises on it: 500). The errors a request is known to make MLflow's app raise
  reading it, before the model is given its rows, are answered 400 rather than
  500: a body nested too deeply to parse (``RecursionError``), a JSON body
  holding an integer of more digits than Python converts
  (``sys.get_int_max_str_digits()``, 4300 unless set), column names that are
  lists or objects; a body that stops arriving (the client left, or MLflow's
  request timeout ran out while it sent) is answered 408. Any other error stays
  the server's 500: a broken server is what the canary's analysis must see.
  Error answers (4xx, 5xx) lose the Python traceback MLflow puts in some
  (``stack_trace``), and a message longer than ``MESSAGE_LIMIT`` characters
  (MLflow echoes the bad value, however long) is cut. Successful answers pass
  through as the app sends them, unbuffered;
- the model handed to MLflow records each batch of predictions. When the model
  itself raises on input that passed its signature, the answer is 500 (MLflow
  says 400 for any exception, which would hide a broken model from a canary
  that counts server errors); schema errors stay 400, and so do a list or an
  object in a column the signature declares one value per row
  (:mod:`.columns`), and a batch of no rows that the model raises on (the
  client sent nothing to score; a model that scores an empty batch answers it
  200). A failure of that checking or recording is the server's: 500.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any, TypeVar

from mlgitops.serving.columns import nested_value
from mlgitops.serving.metrics import ServerMetrics

_T = TypeVar("_T")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The longest error message (characters) an answer carries; the rest is cut.
MESSAGE_LIMIT = 4096
NO_MEDIA_TYPE = (
    "the request has no Content-Type header: send the rows as application/json, "
    "text/csv or application/vnd.apache.parquet"
)
TOO_DEEP = "the request body is nested too deeply to parse"
TOO_MANY_DIGITS = "the request body holds an integer of more than {limit} digits, too long to parse"
NO_ROWS = "the request holds no rows to score"
UNREADABLE = "the request's rows could not be read: {error}"
INCOMPLETE = (
    "the request's body did not arrive whole: the client left, or sent it slower than the "
    "server's request timeout allows"
)
#: Python's refusal to parse an int from text of too many digits.
_DIGITS_LIMIT = re.compile(
    r"Exceeds the limit \((\d+) digits\) for integer string conversion: value has \d+ digits"
)


class ObservedModel:
    """A pyfunc model that records its predictions; MLflow's app calls it like the model."""

    def __init__(self, model: Any, metrics: ServerMetrics) -> None:
        self._model = model
        self._metrics = metrics
        self.metadata = model.metadata
        self._schema = model.metadata.get_input_schema()

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import BAD_REQUEST, INTERNAL_ERROR

        if (request := _REQUEST.get(None)) is not None:
            request.scored = True
        nested = self._around(lambda: nested_value(data, self._schema))
        if nested is not None:
            raise MlflowException(nested, error_code=BAD_REQUEST)
        try:
            output = self._model.predict(data, params=params)
        except MlflowException:
            raise
        except Exception as exc:
            if _holds_no_rows(data):  # the client sent nothing to score: not the model's failure
                raise MlflowException(f"{NO_ROWS}: {exc}", error_code=BAD_REQUEST) from exc
            raise MlflowException(
                f"the model failed on input that matches its signature: {exc}",
                error_code=INTERNAL_ERROR,
            ) from exc
        self._around(lambda: self._metrics.predicted(output))
        return output

    @staticmethod
    def _around(work: Callable[[], _T]) -> _T:
        """``work``'s result; a failure of it is the server's (MLflow would answer 400 to
        whatever ``predict`` raises, and a bug here would pass as the client's fault)."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INTERNAL_ERROR

        try:
            return work()
        except Exception as exc:
            raise MlflowException(
                f"mlgitops serve failed around the model ({type(exc).__name__}: {exc})",
                error_code=INTERNAL_ERROR,
            ) from exc


class Instrumented:
    """ASGI middleware: status class and duration of every HTTP request; clean error answers."""

    def __init__(self, app: Asgi, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = str(scope.get("path", ""))
        answer = _Answer(send)
        try:
            if path == "/invocations" and scope.get("method") == "POST" and _no_media_type(scope):
                await answer.refuse(415, NO_MEDIA_TYPE)
            else:
                await self._answer(path, scope, receive, answer)
        finally:
            self.metrics.request(path, answer.status, time.perf_counter() - started)

    async def _answer(self, path: str, scope: Scope, receive: Receive, answer: _Answer) -> None:
        request = _Request()
        token = _REQUEST.set(request)
        try:
            await self.app(scope, receive, answer.send)
        except Exception as error:
            # The model's own errors come back as answers, not raised. What the app raises
            # before the model was given the rows is the client's where a request is known
            # to cause it; any other stays the server's: a broken server is the canary's to
            # catch, and answered 400 it would pass as its clients' fault.
            refusal = _unreadable(error)
            if path != "/invocations" or answer.started or request.scored or refusal is None:
                await answer.release()  # the server's 500, as the app sent it
                raise
            await answer.refuse(*refusal)
            return
        finally:
            _REQUEST.reset(token)
        await answer.release()


class _Request:
    """What the answer to one request needs to know of how the app handled it."""

    def __init__(self) -> None:
        #: Whether the model was given the request's rows.
        self.scored = False


#: The request being answered, seen from the task and the threads that answer it.
_REQUEST: ContextVar[_Request] = ContextVar("mlgitops_request")


def _unreadable(error: Exception) -> tuple[int, str] | None:
    """The status and message that tell the client of an error MLflow raised reading its
    request, where a request is known to cause it; None: it is the server's."""
    from starlette.requests import ClientDisconnect

    if isinstance(error, ClientDisconnect):  # also what reading gets at MLflow's timeout
        return 408, INCOMPLETE
    if isinstance(error, RecursionError):  # only the request's nesting recurses that deep
        return 400, TOO_DEEP
    # Python parses no int of more digits than its limit
    if isinstance(error, ValueError) and (limit := _DIGITS_LIMIT.match(str(error))):
        return 400, TOO_MANY_DIGITS.format(limit=limit.group(1))
    # a list or an object where the request names a column (pandas hashes each name)
    if isinstance(error, TypeError) and str(error).startswith("unhashable type"):
        return 400, UNREADABLE.format(error=_cut(f"{type(error).__name__}: {error}"))
    return None


class _Answer:
    """The answer on its way to the client. A successful one passes as the app sends it;
    an error answer (status 400 and up) is held until the app is done, then sent cleaned
    (or replaced, when the app raised on the client's input)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        #: The status the client gets (500: what the server answers when the app raises).
        self.status = 500
        #: Whether the app's answer has started going out (it can no longer be replaced).
        self.started = False
        self._held: Message | None = None
        self._chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            if self.status >= 400:
                self._held = message
                return
            self.started = True
        elif self._held is not None and message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            return
        await self._send(message)

    async def release(self) -> None:
        """Send the held error answer, cleaned."""
        if self._held is None:
            return
        start, body = _cleaned(self._held, b"".join(self._chunks))
        self._held, self._chunks = None, []
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})

    async def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with ``message`` in the shape of MLflow's error answers."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import BAD_REQUEST

        error = MlflowException(message, error_code=BAD_REQUEST)
        body = str(error.serialize_as_json()).encode()
        self.status, self._held, self._chunks = status, None, []
        await self._send(
            {"type": "http.response.start", "status": status, "headers": _headers(body)}
        )
        await self._send({"type": "http.response.body", "body": body})


def _holds_no_rows(data: Any) -> bool:
    """Whether the input MLflow hands the model has no rows: a DataFrame, an array or a
    list of length 0, or a dict whose columns (or tensors) of rows all are. A single value
    beside them (``{"a": [], "b": 1.0}``) is one for every row, as pandas reads it: it
    adds none."""
    if isinstance(data, dict):
        rows = [r for r in map(_rows, data.values()) if r is not None]
        return bool(rows) and all(r == 0 for r in rows)
    return _rows(data) == 0


def _rows(data: Any) -> int | None:
    """The length of a batch along its rows; None: not a batch (a single value)."""
    shape = getattr(data, "shape", None)  # pandas, numpy, scipy.sparse, torch
    if isinstance(shape, tuple) and shape and isinstance(rows := shape[0], int):
        return rows
    if isinstance(data, list | tuple):
        return len(data)
    return None


def _no_media_type(scope: Scope) -> bool:
    return all(name.lower() != b"content-type" for name, _ in scope.get("headers", ()))


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]


def _cleaned(start: Message, body: bytes) -> tuple[Message, bytes]:
    """An error answer without a traceback, its message at most ``MESSAGE_LIMIT`` long."""
    if len(body) <= MESSAGE_LIMIT and b'"stack_trace"' not in body:
        return start, body  # most error answers: nothing to parse
    headers = list(start.get("headers", []))
    media = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    cleaned = _cleaned_json(body) if media.startswith(b"application/json") else None
    if cleaned is None:  # not MLflow's error object: text, cut
        cleaned = _cut(body.decode("utf-8", "replace")).encode()
    length = (b"content-length", str(len(cleaned)).encode())
    headers = [length if k.lower() == b"content-length" else (k, v) for k, v in headers]
    return {**start, "headers": headers}, cleaned


def _cleaned_json(body: bytes) -> bytes | None:
    """MLflow's error object without ``stack_trace``, its message cut; None: not one."""
    try:
        found = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(found, dict):
        return None
    found.pop("stack_trace", None)
    if isinstance(message := found.get("message"), str):
        found["message"] = _cut(message)
    return json.dumps(found).encode()


def _cut(text: str) -> str:
    if len(text) <= MESSAGE_LIMIT:
        return text
    return f"{text[:MESSAGE_LIMIT]}… ({len(text) - MESSAGE_LIMIT} more characters)"


def instrumented_app(model: Any, metrics: ServerMetrics) -> Asgi:
    """MLflow's scoring app for ``model``, recording into ``metrics``."""
    from mlflow.pyfunc import scoring_server

    # Duck-typed: MLflow's app reads only `metadata` and `predict(data, params=...)`.
    app: Asgi = scoring_server.init(ObservedModel(model, metrics))
    return Instrumented(app, metrics)
