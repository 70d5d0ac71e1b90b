"""The hashes of a unique key's rows: one 64-bit hash per row, and which of them repeat,
sorted in memory or, past what memory keeps, in parts on disk
(:mod:`mlgitops.validation.uniqueness` gathers them).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlgitops.errors import ServiceError
from mlgitops.validation.tablewide import comparable

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: The hash every missing value of an integer key gets (missing values are equal).
_NULL_HASH = 0x9E3779B97F4A7C15
#: Hashes written to disk at a time (the sort into parts needs 18 bytes a hash).
_WRITTEN = 1 << 19


def hash_rows(batch: pa.Table, keys: tuple[str, ...]) -> np.ndarray[Any, Any]:
    """One uint64 per row of the key columns; the same value always hashes the same."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    batch = pa.table({key: comparable(batch.column(key), key, "uniqueness") for key in keys})
    column = batch.column(keys[0]) if len(keys) == 1 else None
    if column is not None and pa.types.is_floating(column.type):
        hashed: np.ndarray[Any, Any] = pd.util.hash_array(column.to_numpy())  # nulls: NaN
        return hashed
    if column is not None and pa.types.is_integer(column.type):
        # a whole number is its own hash (as 64 bits): no two values share one
        values = (pc.fill_null(column, 0) if column.null_count else column).to_numpy()
        wide = values if values.itemsize == 8 else values.astype(np.int64)
        hashed = wide.view(np.uint64)
        if column.null_count:
            hashed = hashed.copy()  # Arrow's memory is read-only
            hashed[np.asarray(column.is_null())] = _NULL_HASH
        return hashed
    frame = batch.select(list(keys)).to_pandas()
    # keys are mostly distinct: factorizing them first (categorize) only costs time
    hashed = pd.util.hash_pandas_object(frame, index=False, categorize=False).to_numpy()
    return hashed


def distinct_in_a_span(hashes: np.ndarray[Any, Any]) -> bool:
    """Whether ``hashes`` are all distinct, decided without a sort where they lie in a span
    at most twice their number (whole-number keys such as ids in no order, their own
    hashes): a byte for each value of the span is marked, then the marks are counted
    (0.006 s for 2M ids, where the sort takes 0.06 s). False where they repeat or are
    spread wider, for the sort to decide."""
    import numpy as np

    if len(hashes) == 0:
        return True
    low = hashes.min()
    span = int(hashes.max() - low) + 1
    if span > 2 * len(hashes):
        return False
    seen = np.zeros(span, dtype=bool)
    for start in range(0, len(hashes), _WRITTEN):  # offsets a part at a time: little memory
        seen[(hashes[start : start + _WRITTEN] - low).view(np.int64)] = True
    return int(np.count_nonzero(seen)) == len(hashes)


def repeats(hashes: np.ndarray[Any, Any], halves: bool = False) -> np.ndarray[Any, Any]:
    """The values that occur more than once in ``hashes`` (sorted in place), sorted.

    ``halves``: a large array's two halves are sorted side by side (numpy sorts without
    the GIL), then merged as two sorted runs: 0.06 s for 2M hashes, where one sort takes
    0.11 s.
    """
    import numpy as np

    if halves and len(hashes) >= _WRITTEN * 2 and (os.cpu_count() or 1) > 1:
        half = len(hashes) // 2
        with ThreadPoolExecutor(2, thread_name_prefix="unique") as pool:
            list(pool.map(np.ndarray.sort, (hashes[:half], hashes[half:])))
        hashes.sort(kind="stable")  # a merge of the two runs
    else:
        hashes.sort()
    same = hashes[1:] == hashes[:-1]
    found: np.ndarray[Any, Any] = np.unique(hashes[1:][same])
    return found


def _parts(hashes: np.ndarray[Any, Any], bits: int) -> list[np.ndarray[Any, Any]]:
    """``hashes`` in ``2**bits`` parts by a mix of their bits (a whole-number key, its own
    hash, spread over the parts too); equal hashes share a part."""
    import numpy as np

    with np.errstate(over="ignore"):
        mixed = hashes * np.uint64(0x9E3779B97F4A7C15)
    part = (mixed >> np.uint64(64 - bits)).astype(np.uint16)
    ends = np.cumsum(np.bincount(part, minlength=1 << bits))
    grouped = hashes[np.argsort(part, kind="stable")]
    return [grouped[begin:end] for begin, end in zip([0, *ends[:-1]], ends, strict=True)]


class Parts:
    """Hashes on disk, in parts by a mix of their bits: equal hashes share a part, and two
    parts at a time fit in memory (about ``kept`` / 2 hashes each, ``kept`` being what
    memory keeps, for a file as long as its size hint; at least 16 parts whatever the
    hint)."""

    def __init__(self, size_hint: int, kept: int) -> None:
        wanted = max(16, -(-2 * size_hint // kept))
        self._bits = min((wanted - 1).bit_length(), 12)
        self._files: list[IO[bytes]] = []
        with _disk(tempfile.gettempdir()):
            self._folder = tempfile.TemporaryDirectory(prefix="mlgitops-unique-")
            for part in range(1 << self._bits):
                self._files.append((Path(self._folder.name) / f"{part}").open("wb"))

    def write(self, hashes: np.ndarray[Any, Any]) -> None:
        with _disk(self._folder.name):
            self._write(hashes)

    def _write(self, hashes: np.ndarray[Any, Any]) -> None:
        for start in range(0, len(hashes), _WRITTEN):
            for handle, part in zip(
                self._files, _parts(hashes[start : start + _WRITTEN], self._bits), strict=True
            ):
                if len(part):
                    part.tofile(handle)

    def repeats(self) -> np.ndarray[Any, Any]:
        """The hashes that occur more than once, over every part; the files are removed."""
        import numpy as np

        try:
            with _disk(self._folder.name):
                for handle in self._files:
                    handle.close()
                names = [handle.name for handle in self._files]
                # two parts at a time (numpy reads and sorts without the GIL): memory stays
                # at two parts however many cores the machine has
                workers = min(2, os.cpu_count() or 1)
                with ThreadPoolExecutor(workers, thread_name_prefix="unique") as pool:
                    found = list(
                        pool.map(lambda name: repeats(np.fromfile(name, np.uint64)), names)
                    )
                return np.sort(np.concatenate(found))
        finally:
            for handle in self._files:
                handle.close()
            self._folder.cleanup()


@contextmanager
def _disk(folder: str) -> Iterator[None]:
    """A full or unwritable temporary folder as the machine's problem (exit 2), not a bug."""
    try:
        yield
    except OSError as exc:
        raise ServiceError(
            f"cannot keep a unique key's hashes in {folder} ({exc.strerror or exc}); "
            "point TMPDIR at a folder with room for 8 bytes a row"
        ) from exc
