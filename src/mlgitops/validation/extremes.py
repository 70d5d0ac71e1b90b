"""A column's extremes, read where Arrow holds them: what the screen and the profile ask of
every chunk."""

from __future__ import annotations

from typing import Any


class Extremes:
    """An Arrow column's minimum and maximum, missing values skipped, worked out once when
    first asked; and whether a float column holds a NaN.

    A float column without nulls is read by numpy, in place (its minimum is NaN
    when a value is, so one pass answers both questions): Arrow's ``min_max``
    takes about fifteen times as long on floats, and ``to_numpy`` imports
    pandas. Others, and a column with NaN, go to Arrow, which skips NaN as
    pandera skips what is missing.
    """

    def __init__(self, array: Any) -> None:
        self._array = array
        self._found: tuple[Any, Any] | None = None
        self._nan: bool | None = None

    def _numpy(self) -> None:
        import numpy as np
        import pyarrow as pa

        array = self._array
        if array.null_count or not pa.types.is_floating(array.type):
            return
        kind = np.dtype(f"<f{array.type.bit_width // 8}")
        lows, highs = [], []
        for chunk in array.chunks:
            if len(chunk):
                data = chunk.buffers()[1]
                values = np.frombuffer(data, kind, len(chunk), chunk.offset * kind.itemsize)
                lows.append(values.min())
                highs.append(values.max())
        if not lows:
            self._found, self._nan = (None, None), False
            return
        low, high = np.min(lows), np.max(highs)
        self._nan = bool(np.isnan(low) or np.isnan(high))
        if not self._nan:
            self._found = (low.item(), high.item())

    def nan(self) -> bool:
        if self._nan is None:
            self._numpy()
        if self._nan is None:
            import pyarrow.compute as pc

            self._nan = bool(pc.any(pc.is_nan(self._array)).as_py())
        return self._nan

    def get(self) -> tuple[Any, Any]:
        if self._found is None and self._nan is None:
            self._numpy()
        if self._found is None:
            import pyarrow.compute as pc

            found = pc.min_max(self._array)
            self._found = (found["min"].as_py(), found["max"].as_py())
        return self._found
