"""MLflow's scoring app, instrumented: an ASGI layer that counts and times every request.

``instrumented_app`` wraps the app that ``mlflow.pyfunc.scoring_server.init`` builds
(the one ``mlflow models serve`` runs) in two places, changing nothing else:

- a pure ASGI middleware records each response's status class and duration;
- the model handed to MLflow records each batch of predictions. When the model
  itself raises on input that passed its signature, the answer is 500 (MLflow
  says 400 for any exception, which would hide a broken model from a canary
  that counts server errors); schema errors stay 400.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mlgitops.serving.metrics import ServerMetrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class ObservedModel:
    """A pyfunc model that records its predictions; MLflow's app calls it like the model."""

    def __init__(self, model: Any, metrics: ServerMetrics) -> None:
        self._model = model
        self._metrics = metrics
        self.metadata = model.metadata

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INTERNAL_ERROR

        try:
            output = self._model.predict(data, params=params)
        except MlflowException:
            raise
        except Exception as exc:
            raise MlflowException(
                f"the model failed on input that matches its signature: {exc}",
                error_code=INTERNAL_ERROR,
            ) from exc
        self._metrics.predicted(output)
        return output


class Instrumented:
    """ASGI middleware: status class and duration of every HTTP request."""

    def __init__(self, app: Asgi, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before responding

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self.metrics.request(str(scope.get("path", "")), status, time.perf_counter() - started)


def instrumented_app(model: Any, metrics: ServerMetrics) -> Asgi:
    """MLflow's scoring app for ``model``, recording into ``metrics``."""
    from mlflow.pyfunc import scoring_server

    # Duck-typed: MLflow's app reads only `metadata` and `predict(data, params=...)`.
    app: Asgi = scoring_server.init(ObservedModel(model, metrics))  # type: ignore[arg-type]
    return Instrumented(app, metrics)
