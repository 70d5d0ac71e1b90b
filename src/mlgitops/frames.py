"""How the stages write data frames for one another: Parquet, the same way everywhere
(the hand-off files, a custom trainer's rows, a model's inputs and outputs in its own
process). Imports nothing until a frame is written: a cache hit reads no frame."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import pandas as pd


def write_frame(frame: pd.DataFrame, target: Path | BinaryIO) -> None:
    """``frame`` as Parquet (no index), as every stage writes its frames for another.

    Only text and category columns are dictionary-encoded. Numbers are written
    plain: most are distinct (features, scores, row fingerprints), and for
    distinct values Arrow's writer builds a dictionary only to give it up. For
    160,000 row fingerprints that took 40-400 ms where plain takes 7 ms, and
    the file came out larger."""
    import pandas as pd

    text = [
        str(name)
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    ]
    frame.to_parquet(target, engine="pyarrow", index=False, use_dictionary=text)


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """:func:`write_frame`'s file, in memory."""
    buffer = io.BytesIO()
    write_frame(frame, buffer)
    return buffer.getvalue()
