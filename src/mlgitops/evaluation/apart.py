"""Models' outputs from a process of their own, which holds no credentials.

Loading a model runs code: unpickling a scikit-learn model runs whatever its
files say. The models ``deploy`` scores (the reviewed one, and the one deployed
before the merge) are files pull requests' jobs uploaded. No process that
holds credentials loads them: a child process does, whose environment keeps
``PATH``, ``PYTHONPATH`` (made absolute), the locale and the time zone and
nothing else (no GitHub token, no MLflow credentials, no runner variables),
whose working folder and home are an empty temporary folder, and which is
given the holdout's features, not its target. The child writes each model's
outputs as files (:data:`PREDICTED`, :data:`PROBA`, :data:`CLASSES`); the
caller checks their shape (:func:`read_outputs`) and scores them with
compare's own code.

A child of the same user can still read what that user can (the checkout's
persisted credential, another process's environment): the generated deploy
workflow therefore runs the models in jobs of their own, which hold no write
permission and no deploy secret (docs/security.md).

    python -m mlgitops.evaluation.apart FOLDER

imports the libraries first (:class:`Apart` starts it ahead), then answers one
request a line on its standard input (a JSON object: the model's folder, the
features' Parquet file or none, the folder for the outputs) with one JSON line
on the descriptor its standard output was at start: what the model says its
feature names are, or the error it raised. What the model's own code prints
goes to the standard error.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: What the child's environment keeps of the parent's (besides ``LC_*``).
KEPT = ("PATH", "LANG", "LANGUAGE", "TZ", "SYSTEMROOT")
FEATURES, PREDICTED, PROBA, CLASSES = (
    "features.parquet",
    "predictions.parquet",
    "proba.parquet",
    "classes.json",
)


def child_environment(environ: dict[str, str], home: Path) -> dict[str, str]:
    """The child's environment: what :data:`KEPT` names, the locale, ``PYTHONPATH``, and
    ``home`` as its home, temporary folder and MLflow store (MLflow looks the model's id up in a store as it
    loads it; this one is empty, and names no server), without MLflow's telemetry."""
    kept = {k: v for k, v in environ.items() if k in KEPT or k.startswith("LC_")}
    if environ.get("PYTHONPATH"):  # where a model's own classes may import from (no secret),
        # made absolute: the child works in another folder
        parts = environ["PYTHONPATH"].split(os.pathsep)
        kept["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in parts if p)
    return {
        **kept,
        "HOME": str(home),
        "TMPDIR": str(home),
        "MLFLOW_TRACKING_URI": (home / "mlruns").as_uri(),
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "MLFLOW_ENABLE_TELEMETRY": "false",
        "DO_NOT_TRACK": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class ModelFailed(Exception):
    """The model did not load, or did not predict; the message is its own last line."""


@dataclass(frozen=True)
class Outputs:
    """A model's outputs on ``rows`` rows: one value a row and, for a classifier that
    gives them, its class probabilities (one column a class, finite) and its classes."""

    values: Any
    proba: Any | None
    classes: list[Any] | None

    @property
    def rows(self) -> int:
        return len(self.values)


class Apart:
    """The child process, started ahead: it imports the libraries a model needs (seconds)
    while the caller gets the models and the holdout ready, then loads and runs each
    model it is sent. Leaving the block stops it."""

    def __enter__(self) -> Apart:
        self._folder = tempfile.TemporaryDirectory(prefix="mlgitops-apart-")
        self.work = Path(self._folder.name)
        self._asked = 0
        # what the child and the models print goes to a file: a pipe nobody reads while
        # the child works would stop it once full
        self._log = (self.work / "stderr.log").open("w+", encoding="utf-8", errors="replace")
        self._child = subprocess.Popen(
            [sys.executable, "-m", "mlgitops.evaluation.apart", str(self.work)],
            cwd=self.work,
            env=child_environment(dict(os.environ), self.work),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            errors="replace",
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._child.poll() is None:
            self._child.kill()
        self._child.communicate()
        self._log.close()
        self._folder.cleanup()

    def names(self, folder: Path) -> list[str] | None:
        """The feature names the model in ``folder`` knows (scikit-learn's
        ``feature_names_in_``; None: it knows none); ModelFailed when it does not load."""
        return self._ask(folder, None, None)

    def run(self, folder: Path, features: Any, out: Path, *, finite: bool = True) -> Outputs:
        """The outputs of the model in ``folder`` on ``features`` (a data frame), also written
        to ``out`` and checked by :func:`read_outputs`; ModelFailed when it does not load or
        predict."""
        self._asked += 1
        given = self.work / f"{self._asked}-{FEATURES}"
        features.to_parquet(given, index=False)
        self._ask(folder, given, out)
        given.unlink()
        return read_outputs(out, len(features), finite=finite)

    def _ask(self, folder: Path, features: Path | None, out: Path | None) -> list[str] | None:
        child = self._child
        request = {"model": str(folder), "features": features and str(features)}
        request["out"] = out and str(out)
        try:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(json.dumps(request) + "\n")
            child.stdin.flush()
            line = child.stdout.readline()
        except (OSError, ValueError):
            line = ""
        from mlgitops import jsondoc
        from mlgitops.errors import BadInput

        try:  # the model's process answers: its code can write anything
            answer = jsondoc.loads(line, "the model's answer") if line else None
        except (ValueError, BadInput):
            answer = None
        if isinstance(answer, dict) and "error" in answer:
            raise ModelFailed(str(answer["error"]))
        if not isinstance(answer, dict) or not isinstance(answer.get("names"), list | None):
            child.kill()
            child.communicate()
            self._log.seek(0)
            lines = [line for line in self._log.read().splitlines() if line.strip()]
            raise ModelFailed(lines[-1].strip() if lines else f"exit code {child.returncode}")
        names = answer["names"]
        return None if names is None else [str(n) for n in names]


def read_outputs(folder: Path, rows: int, *, finite: bool = True) -> Outputs:
    """A model's outputs as :meth:`Apart.run` wrote them to ``folder``, checked: one value
    for each of ``rows`` rows, and probabilities (if any) one column a class, all numbers
    where ``finite`` (the candidate's; a deployed model's that are not make its probability
    metrics undefined); ModelFailed otherwise."""
    import pandas as pd

    from mlgitops import jsondoc
    from mlgitops.errors import BadInput

    try:
        values = pd.read_parquet(folder / PREDICTED)["y_pred"].to_numpy()
        given, known = None, None
        if (folder / PROBA).is_file() or (folder / CLASSES).is_file():
            given = pd.read_parquet(folder / PROBA).to_numpy(dtype=np.float64)
            known = jsondoc.loads((folder / CLASSES).read_bytes(), CLASSES)
    except (OSError, ValueError, KeyError, TypeError, BadInput) as exc:
        raise ModelFailed(f"its outputs cannot be read ({exc})") from exc
    if (
        len(values) != rows
        or not _scalars(values)
        or (
            given is not None
            and (
                not isinstance(known, list)
                or given.shape != (rows, len(known))
                or (finite and not np.isfinite(given).all())
            )
        )
    ):
        raise ModelFailed(
            f"it does not give one prediction (and one probability a class) for each of the "
            f"{rows} holdout rows"
        )
    return Outputs(values, given, known)


def _scalars(values: Any) -> bool:
    """Whether each prediction is one value (a number, a label), not a list or a mapping: a
    model's process writes its outputs, and its code can write anything."""
    if values.dtype != object:
        return bool(values.ndim == 1)
    return all(v is None or isinstance(v, str | int | float | np.generic) for v in values)


def main(argv: list[str]) -> int:
    """The child: import, then load, run and answer for each request, until the input ends."""
    import pandas  # noqa: F401  (imported ahead, with MLflow and scikit-learn)
    from mlflow.models import Model  # noqa: F401

    from mlgitops.evaluation.baseline import load_flavor  # noqa: F401

    with contextlib.suppress(ImportError):  # what unpickling most models imports first
        import sklearn.base  # noqa: F401
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what models print is not an answer
    loaded: dict[str, Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            names = _serve(request, loaded)
            answer: dict[str, Any] = {"names": names}
        except Exception as exc:  # the model's own code: anything it raises is its refusal
            traceback.print_exc()
            last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            answer = {"error": last[:500]}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


def _serve(request: dict[str, Any], loaded: dict[str, Any]) -> list[str] | None:
    import pandas as pd
    from mlflow.models import Model

    from mlgitops.evaluation.baseline import load_flavor
    from mlgitops.evaluation.handoff import model_outputs

    folder = str(request["model"])
    if folder not in loaded:
        # the folder's own MLmodel names its flavors (MLflow's model info would ask a server)
        loaded[folder] = load_flavor(folder, Model.load(folder))
    model = loaded[folder]
    known = getattr(model, "feature_names_in_", None)
    names = None if known is None else [str(n) for n in known]
    if request.get("features") is None:
        return names
    out = Path(request["out"])
    out.mkdir(parents=True, exist_ok=True)
    features = pd.read_parquet(request["features"])
    values, given, classes = model_outputs(model, features, proba=True)
    pd.DataFrame({"y_pred": values}).to_parquet(out / PREDICTED, index=False)
    if given is not None and classes is not None:
        columns = {str(i): given[:, i] for i in range(given.shape[1])}
        pd.DataFrame(columns).to_parquet(out / PROBA, index=False)
        native = [k.item() if isinstance(k, np.generic) else k for k in classes]
        (out / CLASSES).write_text(json.dumps(native), "utf-8")
    return names


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
