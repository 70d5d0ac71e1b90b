"""A model's predictions from a process of its own, which holds no credentials.

Loading a model runs code: unpickling a scikit-learn model runs whatever its
files say. ``deploy`` holds the credentials that register models and push
commits, and the model it re-scores is files a pull request's job uploaded. So
it never loads that model itself: a child process does, whose environment
keeps ``PATH``, ``PYTHONPATH`` (made absolute), the locale and the time zone
and nothing else (no GitHub token, no MLflow credentials, no runner
variables), whose working folder and home are an empty temporary folder, and
which is given the holdout's features, not its target. The child writes the model's outputs as Parquet files; ``deploy``
checks their shape and scores them with compare's own code.

    python -m mlgitops.evaluation.apart FOLDER

imports the libraries first (:class:`Apart` starts it ahead), then reads the
model's folder from its standard input, ``FOLDER/features.parquet``, and writes
``FOLDER/predictions.parquet`` (``y_pred``), and, for a classifier that gives
them, ``FOLDER/proba.parquet`` and ``FOLDER/classes.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mlgitops.errors import CheckFailed
from mlgitops.evaluation.metrics import Holdout, Predictions

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


class Apart:
    """The child process, started ahead: it imports the libraries a model needs (seconds)
    while the caller gets the model and the holdout ready, then waits for the model's
    folder on its standard input. Leaving the block stops it if it was not used."""

    def __enter__(self) -> Apart:
        self._folder = tempfile.TemporaryDirectory(prefix="mlgitops-apart-")
        self.work = Path(self._folder.name)
        self._used = False
        self._child = subprocess.Popen(
            [sys.executable, "-m", "mlgitops.evaluation.apart", str(self.work)],
            cwd=self.work,
            env=child_environment(dict(os.environ), self.work),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._used:  # not asked: stopped, and its pipes read to the end
            if self._child.poll() is None:
                self._child.kill()
            self._child.communicate()
        self._folder.cleanup()

    def predict(self, folder: Path, features: Any, holdout: Holdout, what: str) -> Predictions:
        """The predictions of the model in ``folder`` on ``features`` (a data frame);
        CheckFailed when it does not load or predict."""
        import pandas as pd

        from mlgitops.evaluation.handoff import predictions_of

        work = self.work
        features.to_parquet(work / FEATURES, index=False)
        self._used = True
        _, err = self._child.communicate(f"{folder}\n")
        if self._child.returncode != 0:
            lines = [line for line in err.splitlines() if line.strip()]
            why = lines[-1].strip() if lines else f"exit code {self._child.returncode}"
            raise CheckFailed(
                f"{what} does not load, or does not predict on the merged holdout's features "
                f"({', '.join(map(str, features.columns))}): {why}; nothing deployed"
            )
        try:
            values = pd.read_parquet(work / PREDICTED)["y_pred"].to_numpy()
            given, known = None, None
            if (work / PROBA).is_file() and (work / CLASSES).is_file():
                given = pd.read_parquet(work / PROBA).to_numpy(dtype=np.float64)
                known = json.loads((work / CLASSES).read_text("utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise CheckFailed(
                f"{what}: its outputs cannot be read ({exc}); nothing deployed"
            ) from exc
        rows = len(features)
        if len(values) != rows or (
            given is not None
            and (
                not isinstance(known, list)
                or given.shape != (rows, len(known))
                or not np.isfinite(given).all()
            )
        ):
            raise CheckFailed(
                f"{what} does not give one prediction (and one probability a class) for each "
                f"of the {rows} holdout rows; nothing deployed"
            )
        return predictions_of(values, given, known, holdout, what)


def main(argv: list[str]) -> int:
    """The child: import, wait for the model's folder, load the model, predict, write the
    outputs (nothing when the parent sends no folder)."""
    import pandas as pd
    from mlflow.models import Model

    from mlgitops.evaluation.baseline import load_flavor
    from mlgitops.evaluation.handoff import model_outputs

    with contextlib.suppress(ImportError):  # what unpickling most models imports first
        import sklearn.base  # noqa: F401
    work = Path(argv[0])
    sent = sys.stdin.readline().strip()
    if not sent:
        return 0
    folder = Path(sent)
    features = pd.read_parquet(work / FEATURES)
    # the folder's own MLmodel names its flavors (MLflow's model info would ask a server)
    model = load_flavor(str(folder), Model.load(str(folder)))
    values, given, known = model_outputs(model, features, proba=True)
    pd.DataFrame({"y_pred": values}).to_parquet(work / PREDICTED, index=False)
    if given is not None and known is not None:
        columns = {str(i): given[:, i] for i in range(given.shape[1])}
        pd.DataFrame(columns).to_parquet(work / PROBA, index=False)
        native = [k.item() if isinstance(k, np.generic) else k for k in known]
        (work / CLASSES).write_text(json.dumps(native), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
