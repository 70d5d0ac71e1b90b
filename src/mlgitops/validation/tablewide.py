"""Checks over the whole table, correct across chunk borders.

Uniqueness keeps one 64-bit hash per row (a single integer key is its own
hash, and while such keys only grow, consecutive ones take no memory at all).
Past ``KEPT`` hashes in memory, they go to files on disk, in parts by hash,
and each part is sorted on its own at the end: memory stays bounded whatever
the file's size. Rows whose hash repeats are candidates; a second pass over
just the key columns compares their real values, so a hash collision can
never make a false failure, and it yields the examples.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from mlgitops.errors import DataError, ServiceError
from mlgitops.validation.dates import GAP_WORDS
from mlgitops.validation.failures import (
    COLUMN_UNIQUE,
    EXAMPLES,
    TABLE_UNIQUE,
    Example,
    Failure,
    plain_value,
)
from mlgitops.validation.parsing import Typed, as_comparable_text, as_values, is_text

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mlgitops.validation.dates import DateColumn

#: Candidates compared by value at most; beyond, the count rests on the hashes.
CONFIRM_LIMIT = 1_000_000
_DISTINCT_LIMIT = 10_000


#: The hash every missing value of an integer key gets (missing values are equal).
_NULL_HASH = 0x9E3779B97F4A7C15
#: Hashes kept in memory (8 bytes each) before they go to disk.
KEPT = 1 << 22
#: Hashes written to disk at a time (the sort into parts needs 18 bytes a hash).
_WRITTEN = 1 << 19


class Uncomparable(DataError):
    """A column whose values a table-wide check cannot compare (lists, structs, maps)."""


def comparable(array: pa.ChunkedArray, name: str, check: str) -> pa.ChunkedArray:
    """``array`` as a table-wide check compares it: half floats as single floats (which
    hold each exactly; Arrow counts no distinct half floats); Uncomparable for nested
    values (a Parquet list of embeddings, a struct)."""
    import pyarrow as pa

    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    if pa.types.is_nested(kind):
        raise Uncomparable(
            f"column {name!r} holds {array.type} values, which {check} cannot compare"
        )
    return array.cast(pa.float32()) if pa.types.is_float16(kind) else array


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


_KEEP: dict[str, Literal["first", "last"]] = {"exclude_first": "first", "exclude_last": "last"}


class Uniqueness:
    """Hashes of one unique key, gathered chunk by chunk into one buffer, for each of
    pandera's checks of that key (a column's ``unique``, the schema's).

    While a single integer key only ever grows (ids usually do), nothing can
    repeat: no sort is needed, and a chunk of consecutive keys is kept as its
    first and last, so memory stays flat whatever the file's size. Should a
    key fall back later, those runs become hashes like any other.
    """

    def __init__(
        self,
        keys: tuple[str, ...],
        size_hint: int,
        numbers: Mapping[str, Typed] | None = None,
        checks: Mapping[str, str] | None = None,
        dates: Mapping[str, DateColumn] | None = None,
        gaps: Mapping[str, bool] | None = None,
    ) -> None:
        import numpy as np

        self.keys = keys
        if checks is None:
            checks = {COLUMN_UNIQUE if len(keys) == 1 else TABLE_UNIQUE: "all"}
        #: Per check, the occurrences of a duplicate that fail, as its ``report_duplicates``
        #: says: every one, or all but the first or the last (pandas' ``duplicated``).
        self._spared: dict[str, Literal["first", "last", False]] = {
            check: _KEEP.get(report, False) for check, report in checks.items()
        }
        #: The keys declared numbers or booleans: where the file writes such a key as text
        #: (``10.0``, ``+10``), it compares as the value it parses to.
        self._numbers = {k: v for k, v in (numbers or {}).items() if k in keys}
        #: The keys declared dates and read as text: compared as the timestamps they write
        #: (``9:00`` is ``09:00``), as pandera's coercion makes them.
        self._dates = {k: v for k, v in (dates or {}).items() if k in keys}
        #: The keys whose gaps pandera's coercion makes a boolean (numpy's ``bool``): which.
        self._gaps = {k: v for k, v in (gaps or {}).items() if k in keys}
        self._hint = size_hint
        self._hashes = np.empty(min(max(size_hint, 1024), KEPT), dtype=np.uint64)
        self._count = 0
        self._disk: _Parts | None = None
        #: The largest key so far while keys only grew; None once one did not.
        self._rising: int | None = -(2**63) - 1
        #: Consecutive keys not in the buffer: first, last (while keys only grew).
        self._runs: list[list[int]] = []
        self._kind: pa.DataType | None = None

    def add(self, batch: pa.Table) -> None:
        batch = self._comparable(batch)
        run = self._watch_order(batch)
        if run is not None:
            first, last = run
            if self._runs and self._runs[-1][1] + 1 == first:
                self._runs[-1][1] = last
            else:
                self._runs.append([first, last])
            return
        if self._rising is None and self._runs:
            self._spill_runs()
        self._keep(hash_rows(batch, self.keys))

    def _comparable(self, batch: pa.Table) -> pa.Table:
        """The key columns, those declared numbers but read as text spelt one way per value;
        a gap that pandera's coercion makes a boolean, that boolean."""
        keys = batch.select(list(self.keys))
        for name, typed in self._numbers.items():
            if is_text(keys.column(name).type):
                at = keys.schema.get_field_index(name)
                spelt = as_comparable_text(keys.column(name), typed.target)
                keys = keys.set_column(at, name, spelt)
        for name, spelt in self._stamps(keys).items():
            keys = keys.set_column(keys.schema.get_field_index(name), name, spelt)
        return self._gaps_filled(keys)

    def _gaps_filled(self, keys: pa.Table) -> pa.Table:
        """``keys`` with each gap of a key coerced to numpy's ``bool`` the boolean pandera
        makes of it (as text, ``true`` or ``false``, where the key is read as text)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        for name, gap in self._gaps.items():
            column = keys.column(name)
            if column.null_count:
                value = pa.scalar(str(gap).lower() if is_text(column.type) else gap, column.type)
                keys = keys.set_column(
                    keys.schema.get_field_index(name), name, pc.fill_null(column, value)
                )
        return keys

    def _stamps(self, keys: pa.Table) -> dict[str, pa.Array]:
        """The date keys read as text, each value spelt one way: the timestamp it writes
        (ISO 8601) where pandera's coercion makes the column dates, else the text itself;
        a gap (``NaT`` written too) null either way, so that chunks read before the
        column's first date (gaps alone) hash as those after it."""
        import pyarrow as pa
        import pyarrow.compute as pc

        found = {}
        for name, dates in self._dates.items():
            column = keys.column(name)
            if is_text(column.type):
                stamps = dates.compared(column.to_pandas())
                if stamps is not None:
                    found[name] = pa.array(stamps).cast(pa.string())
                else:
                    text = column.combine_chunks().cast(pa.string())
                    gap = pc.is_in(text, value_set=pa.array(sorted(GAP_WORDS)))
                    found[name] = pc.if_else(gap, pa.scalar(None, pa.string()), text)
        return found

    def _values(self, batch: pa.Table, rows: Any) -> Any:
        """The key values of ``rows`` as pandas compares them, numbers written as text parsed."""
        import pandas as pd

        taken = self._gaps_filled(batch.select(list(self.keys)).take(rows))
        frame = taken.to_pandas()
        for name, typed in self._numbers.items():
            if is_text(taken.column(name).type):
                values = as_values(taken.column(name), typed.target)
                frame[name] = pd.Series(values, index=frame.index, dtype=object)
        for name, spelt in self._stamps(taken).items():
            frame[name] = pd.Series(spelt.to_pylist(), index=frame.index, dtype=object)
        return frame

    def stored(self) -> int:
        """How many hashes are kept (8 bytes each)."""
        return self._count

    def _keep(self, hashed: np.ndarray[Any, Any]) -> None:
        import numpy as np

        end = self._count + len(hashed)
        if end > KEPT:  # memory stays bounded: what is kept goes to disk
            if self._disk is None:
                self._disk = _Parts(self._hint)
            self._disk.write(self._hashes[: self._count])
            self._disk.write(hashed)
            self._count = 0
            return
        if end > len(self._hashes):  # the estimate was short: grow by half
            grown = np.empty(min(max(end, len(self._hashes) * 3 // 2), KEPT), dtype=np.uint64)
            grown[: self._count] = self._hashes[: self._count]
            self._hashes = grown
        self._hashes[self._count : end] = hashed
        self._count = end

    def _spill_runs(self) -> None:
        """The runs of consecutive keys, hashed as their rows would be."""
        import numpy as np
        import pyarrow as pa

        for first, last in self._runs:
            for low in range(first, last + 1, 1 << 20):
                high = min(low + (1 << 20), last + 1)
                keys = pa.array(np.arange(low, high, dtype=np.int64 if low < 0 else np.uint64))
                self._keep(hash_rows(pa.table({self.keys[0]: keys.cast(self._kind)}), self.keys))
        self._runs = []

    def _watch_order(self, batch: pa.Table) -> tuple[int, int] | None:
        """Whether the keys still only grow; the chunk's first and last key when they do and
        the chunk's keys are consecutive."""
        import numpy as np
        import pyarrow as pa

        if self._rising is None:
            return None
        column = batch.column(self.keys[0])
        if len(self.keys) != 1 or not pa.types.is_integer(column.type) or column.null_count:
            self._rising = None
            return None
        self._kind = column.type
        values = column.to_numpy()
        if len(values) == 0:
            return None
        if values[0] <= self._rising or not bool(np.all(values[1:] > values[:-1])):
            self._rising = None
            return None
        first, self._rising = int(values[0]), int(values[-1])
        return (first, self._rising) if self._rising - first == len(values) - 1 else None

    def repeated(self) -> np.ndarray[Any, Any]:
        """Hash values seen more than once (sorted), freeing the gathered hashes."""
        import numpy as np

        if self._rising is not None:  # strictly increasing keys: all distinct
            self._hashes = np.empty(0, dtype=np.uint64)
            return self._hashes
        kept, self._hashes = self._hashes[: self._count], np.empty(0, dtype=np.uint64)
        if self._disk is None:
            if _distinct_in_a_span(kept):
                return np.empty(0, dtype=np.uint64)
            return _repeats(kept, halves=True)
        disk, self._disk = self._disk, None
        disk.write(kept)
        del kept
        return disk.repeats()

    def confirm(
        self, repeated: np.ndarray[Any, Any], batches: Callable[[], Iterator[pa.Table]]
    ) -> list[Failure]:
        """Compare the candidate rows by value; the failure of each check, if any."""
        if len(repeated) == 0:
            return []
        import numpy as np
        import pandas as pd

        found, hashed, start = [], 0, 0
        for batch in batches():
            hit = np.isin(hash_rows(self._comparable(batch), self.keys), repeated)
            if hit.any() and hashed < CONFIRM_LIMIT:
                rows = np.flatnonzero(hit)
                frame = self._values(batch, rows)
                frame.index = rows + start + 1
                found.append(frame)
            hashed += int(hit.sum())
            start += batch.num_rows
        # one gap, however each chunk holds it (NaN, None, NaT): pandas' duplicated takes
        # NaN and None in one column of objects for two values
        candidates = pd.concat(found).astype(object)
        candidates = candidates.where(candidates.notna(), None)
        failures = []
        for check, spared in self._spared.items():
            exact = candidates[candidates.duplicated(keep=spared)]
            count = len(exact) if hashed <= CONFIRM_LIMIT else hashed
            if count:
                failures.append(self._failure(check, exact, count))
        return failures

    def _failure(self, check: str, rows: Any, count: int) -> Failure:
        single = len(self.keys) == 1
        examples = tuple(
            Example(
                int(r),
                plain_value(v[0]) if single else plain_value(dict(zip(self.keys, v, strict=True))),
            )
            for r, v in zip(rows.index[:EXAMPLES], rows.itertuples(index=False), strict=False)
        )
        if check == COLUMN_UNIQUE:
            message = "duplicate values in a unique column"
            return Failure(self.keys[0], check, message, count, examples)
        key = ", ".join(self.keys)
        message = f"duplicate {'values' if single else 'combinations'} of the unique key ({key})"
        return Failure(key, check, message, count, examples)


def _distinct_in_a_span(hashes: np.ndarray[Any, Any]) -> bool:
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


def _repeats(hashes: np.ndarray[Any, Any], halves: bool = False) -> np.ndarray[Any, Any]:
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


class _Parts:
    """Hashes on disk, in parts by a mix of their bits: equal hashes share a part, and two
    parts at a time fit in memory (about ``KEPT`` / 2 hashes each for a file as long as its
    size hint; at least 16 parts whatever the hint)."""

    def __init__(self, size_hint: int) -> None:
        wanted = max(16, -(-2 * size_hint // KEPT))
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
                        pool.map(lambda name: _repeats(np.fromfile(name, np.uint64)), names)
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


class ValueSet:
    """``unique_values_eq``: the set of distinct values over the whole column."""

    def __init__(
        self, column: str, check: Any, typed: Typed | None = None, gap: bool | None = None
    ) -> None:
        self.column = column
        #: The boolean pandera's coercion makes a gap (numpy's ``bool``); None: a gap.
        self._gap = gap
        self.expected = set(check.statistics.get("values") or [])
        self.label = str(check.error or check.name)
        #: pandera warns where the check fails, and passes the data.
        self.warns = bool(check.raise_warning)
        self.seen: set[Any] = set()
        #: The column's dtype where it is numbers, booleans or dates: text (``2.0``) is parsed.
        self._typed = typed

    def add(self, batch: pa.Table) -> None:
        if len(self.seen) <= _DISTINCT_LIMIT + len(self.expected):
            column = batch.column(self.column)
            if self._gap is not None and column.null_count:
                self.seen.add(self._gap)
            array = comparable(column, self.column, self.label).drop_null()
            distinct = array.unique()
            if self._typed is not None and is_text(distinct.type) and self._typed.kind == "M":
                self.seen.update(_dates(distinct.to_pylist()))
            elif self._typed is not None and is_text(distinct.type):
                self.seen.update(as_values(distinct, self._typed.target))
            else:
                self.seen.update(plain_value(v) for v in distinct.to_pylist())

    def failure(self) -> Failure | None:
        if self.seen == self.expected:
            return None
        missing = sorted(map(str, self.expected - self.seen))[:10]
        extra = sorted(map(str, self.seen - self.expected))[:10]
        message = (
            f"distinct values differ from the expected set: missing {missing}, unexpected {extra}"
        )
        if self.warns:
            from mlgitops import console

            said = f"column {self.column!r} {self.label}: {message} (raise_warning: not a failure)"
            console.error_line(f"mlgitops: warning: {said}")
            return None
        return Failure(self.column, self.label, message, None)


def _dates(texts: list[str]) -> Iterator[Any]:
    """Each text as the timestamp it writes, as pandera's expected dates are; the text
    itself where it writes none (its row fails ``dtype`` too); none for ``NaT``."""
    import pandas as pd

    for text in texts:
        try:
            stamp = pd.Timestamp(text)
        except (ValueError, TypeError, OverflowError):
            yield text
        else:
            if not pd.isna(stamp):  # NaT: a gap, as pandera's coercion makes it
                yield stamp


def row_bounds(rows: int, low: int | None, high: int | None) -> Iterable[Failure]:
    """The ``data.rows`` bounds of the spec."""
    if low is not None and rows < low:
        yield Failure(
            None, f"row_count >= {low}", f"{rows:,} rows; the spec wants at least {low:,}", None
        )
    if high is not None and rows > high:
        yield Failure(
            None, f"row_count <= {high}", f"{rows:,} rows; the spec allows at most {high:,}", None
        )
