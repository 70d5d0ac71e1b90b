"""Write a fitted scikit-learn model as an MLflow model folder, without importing MLflow.

The folder is what ``mlflow.sklearn.log_model`` produces (MLmodel with the
``sklearn`` and ``python_function`` flavors, a pickled model, the signature,
an input example and the environment files), so ``mlflow.pyfunc.load_model``,
``mlflow.sklearn.load_model``, ``mlflow models serve`` and the model registry
treat it like any other. Writing it directly keeps MLflow's import (over a
second) and its requirement inference off the training path.
"""

from __future__ import annotations

import json
import pickle
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

MLMODEL = "MLmodel"
_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class ModelIdentity:
    """Where the model is logged: MLflow's logged-model id, its artifact URI, the run."""

    model_id: str
    artifact_uri: str
    run_id: str


def write_sklearn_model(
    folder: Path,
    model: Any,
    example: pd.DataFrame,
    predictions: Any,
    identity: ModelIdentity,
    extra: tuple[str, ...] = (),
) -> None:
    """Save ``model`` under ``folder`` (created) in MLflow's sklearn format."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle, protocol=pickle.DEFAULT_PROTOCOL)
    head = example.head(_EXAMPLE_ROWS)
    split = json.loads(head.to_json(orient="split", index=False, date_format="iso"))
    (folder / "input_example.json").write_text(json.dumps(split))
    (folder / "serving_input_example.json").write_text(
        json.dumps({"dataframe_split": split}, indent=2)
    )
    _write_environment(folder, extra)
    mlmodel = _mlmodel(model, example, predictions, identity, _size(folder))
    _dump_yaml(folder / MLMODEL, mlmodel)


def _mlmodel(
    model: Any, example: pd.DataFrame, predictions: Any, identity: ModelIdentity, size: int
) -> dict[str, Any]:
    python = platform.python_version()
    return {
        "artifact_path": identity.artifact_uri,
        "flavors": {
            "python_function": {
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.sklearn",
                "model_path": "model.pkl",
                "predict_fn": "predict",
                "python_version": python,
            },
            "sklearn": {
                "code": None,
                "pickled_model": "model.pkl",
                "serialization_format": "pickle",
                "sklearn_version": _version("scikit-learn"),
                "skops_trusted_types": None,
            },
        },
        "is_signature_from_type_hint": False,
        "mlflow_version": _version("mlflow"),
        "model_id": identity.model_id,
        "model_size_bytes": size,
        "model_uuid": identity.model_id,
        "prompts": None,
        "run_id": identity.run_id,
        "saved_input_example_info": {
            "artifact_path": "input_example.json",
            "pandas_orient": "split",
            "serving_input_path": "serving_input_example.json",
            "type": "dataframe",
        },
        "signature": {
            "inputs": json.dumps(input_schema(example)),
            "outputs": json.dumps(
                [{"type": _mlflow_type(getattr(predictions, "dtype", None)), "required": True}]
            ),
            "params": None,
        },
        "type_hint_from_example": False,
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
    }


def input_schema(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """MLflow column specs for a frame; a column with missing values is optional."""
    return [
        {
            "type": _mlflow_type(frame[name].dtype),
            "name": str(name),
            "required": not bool(frame[name].isna().any()),
        }
        for name in frame.columns
    ]


def _mlflow_type(dtype: Any) -> str:
    """MLflow's column type for a numpy or pandas dtype (text for anything else)."""
    import numpy as np
    import pandas as pd

    types = pd.api.types
    if dtype is None or isinstance(dtype, pd.CategoricalDtype) or types.is_string_dtype(dtype):
        return "string"
    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_integer_dtype(dtype):
        return "integer" if np.dtype(dtype).itemsize <= 4 else "long"
    if types.is_float_dtype(dtype):
        return "float" if np.dtype(dtype).itemsize <= 4 else "double"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def _write_environment(folder: Path, extra: tuple[str, ...]) -> None:
    python = platform.python_version()
    requirements = [f"mlflow=={_version('mlflow')}", f"scikit-learn=={_version('scikit-learn')}"]
    requirements += [
        f"{dist}=={_version(dist)}" for dist in extra if dist not in ("mlflow", "scikit-learn")
    ]
    (folder / "requirements.txt").write_text("\n".join(requirements))
    _dump_yaml(
        folder / "conda.yaml",
        {
            "channels": ["conda-forge"],
            "dependencies": [f"python={python}", "pip", {"pip": requirements}],
            "name": "mlflow-env",
        },
    )
    _dump_yaml(
        folder / "python_env.yaml",
        {
            "python": python,
            "build_dependencies": ["pip", "setuptools", "wheel"],
            "dependencies": ["-r requirements.txt"],
        },
    )


def _dump_yaml(path: Path, doc: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(doc, default_flow_style=False, sort_keys=False))


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


#: Distributions whose package another distribution installs too: ``mlflow-skinny``
#: installs MLflow's client alone (the ``train-remote`` extra), package and version the same.
_INSTALLED_AS = {"mlflow": ("mlflow", "mlflow-skinny")}


def _version(dist: str) -> str:
    from importlib import metadata

    for name in _INSTALLED_AS.get(dist, (dist,)):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "0"
