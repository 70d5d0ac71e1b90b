"""Read a pipeline's data and split it into the training rows and the holdout.

The split is mlgitops's, never the trainer's: every trainer (built-in or
custom) and ``compare`` see exactly the same holdout rows.

- ``data.test_path`` set: all of ``data.path`` trains; the test file is the holdout.
- otherwise ``sklearn.model_selection.train_test_split`` with ``split.test_size``,
  ``random_state=split.seed`` and, for classification with ``split.stratify``,
  stratified on the target.

``__row__`` is the 1-based record number in the file it came from (the header
line is not counted), so a holdout row can be found again in the data file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import DataError
from mlgitops.spec.model import Pipeline, is_url

if TYPE_CHECKING:
    import pandas as pd

ROW = "__row__"
#: Schema dtypes that make a column categorical whatever its values look like.
CATEGORICAL_DTYPES = frozenset({"category", "str", "string", "object"})
_downloads: dict[str, bytes] = {}


@dataclass(frozen=True)
class Split:
    """Training rows and holdout rows; both keep ``__row__`` and the target."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    target: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]


def fetch_url(url: str) -> bytes:
    """Download an https data file once per process."""
    if url not in _downloads:
        import requests

        try:
            answer = requests.get(url, timeout=60)
            answer.raise_for_status()
        except requests.RequestException as exc:
            raise DataError(f"{url}: cannot download ({exc})") from exc
        _downloads[url] = answer.content
    return _downloads[url]


def read_table(root: Path, path: str, file_format: str) -> pd.DataFrame:
    """One data file as a frame with a ``__row__`` column."""
    import pandas as pd

    source: Any = io.BytesIO(fetch_url(path)) if is_url(path) else root / path
    try:
        frame = pd.read_parquet(source) if file_format == "parquet" else pd.read_csv(source)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read as {file_format} ({exc})") from exc
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    frame.insert(0, ROW, range(1, len(frame) + 1))
    return frame


def schema_dtypes(root: Path, pipeline: Pipeline) -> dict[str, str]:
    """Column dtypes the schema declares (pandera YAML ``columns.*.dtype`` or inline)."""
    if pipeline.data.columns:
        return {c.name: c.dtype for c in pipeline.data.columns}
    if not pipeline.data.schema:
        return {}
    import yaml

    try:
        doc = yaml.safe_load((root / pipeline.data.schema).read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{pipeline.data.schema}: cannot read the schema ({exc})") from exc
    columns = doc.get("columns") if isinstance(doc, dict) else None
    if not isinstance(columns, dict):
        return {}
    return {
        str(name): str(spec.get("dtype"))
        for name, spec in columns.items()
        if isinstance(spec, dict) and spec.get("dtype")
    }


def categorical_columns(
    frame: pd.DataFrame, features: tuple[str, ...], declared: dict[str, str]
) -> tuple[str, ...]:
    """Features that are categories: declared so in the schema, or non-numeric in the data."""
    import pandas as pd

    found = []
    for name in features:
        dtype = frame[name].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        if declared.get(name, "").lower() in CATEGORICAL_DTYPES or not numeric:
            found.append(name)
    return tuple(found)


def load_split(root: Path, pipeline: Pipeline) -> Split:
    """Read the data (and test file) and split them deterministically."""
    data = pipeline.data
    frame = read_table(root, data.path, data.file_format)
    _require_target(frame, data.target, data.path)
    if data.test_path:
        holdout = read_table(root, data.test_path, _format_of(data.test_path, data.format))
        _require_target(holdout, data.target, data.test_path)
        _require_columns(frame, holdout, data.test_path)
        train = frame
    else:
        train, holdout = _split(frame, pipeline)
    features = tuple(c for c in frame.columns if c not in (ROW, data.target))
    declared = schema_dtypes(root, pipeline)
    categorical = categorical_columns(frame, features, declared)
    train, holdout = _as_category_text(train, categorical), _as_category_text(holdout, categorical)
    return Split(train, holdout[list(frame.columns)], data.target, features, categorical)


def _format_of(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    return "parquet" if path.lower().split("?")[0].endswith((".parquet", ".pq")) else "csv"


def _require_target(frame: pd.DataFrame, target: str, path: str) -> None:
    if target not in frame.columns:
        raise DataError(
            f"{path}: no target column {target!r} (columns: {', '.join(map(str, frame.columns[1:]))})"
        )
    missing = int(frame[target].isna().sum())
    if missing:
        first = int(frame.loc[frame[target].isna(), ROW].iloc[0])
        raise DataError(
            f"{path}: target column {target!r} is empty in {missing} row(s), first at row {first}"
        )


def _require_columns(train: pd.DataFrame, holdout: pd.DataFrame, path: str) -> None:
    missing = [c for c in train.columns if c not in holdout.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) of the training data: {', '.join(missing)}")


def _split(frame: pd.DataFrame, pipeline: Pipeline) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    split = pipeline.data.split
    stratify = (
        frame[pipeline.data.target]
        if split.stratify and pipeline.task == "classification"
        else None
    )
    try:
        train, holdout = train_test_split(
            frame, test_size=split.test_size, random_state=split.seed, stratify=stratify
        )
    except ValueError as exc:
        raise DataError(f"{pipeline.data.path}: cannot split the data ({exc})") from exc
    return train.sort_values(ROW), holdout.sort_values(ROW)


def _as_category_text(frame: pd.DataFrame, categorical: tuple[str, ...]) -> pd.DataFrame:
    """Categorical features as text (missing stays missing): the dtype served models get."""
    import pandas as pd

    out = frame.reset_index(drop=True)
    convert = [c for c in categorical if not pd.api.types.is_string_dtype(out[c].dtype)]
    if convert:
        out = out.astype({name: "str" for name in convert})
    return out
