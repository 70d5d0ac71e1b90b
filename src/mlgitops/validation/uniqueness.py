"""A unique key's check over the whole table, correct across chunk borders.

Uniqueness keeps one 64-bit hash per row (a single integer key is its own
hash, and while such keys only grow, consecutive ones take no memory at all).
Past ``KEPT`` hashes in memory, they go to files on disk, in parts by hash,
and each part is sorted on its own at the end: memory stays bounded whatever
the file's size (:mod:`mlgitops.validation.row_hashes`). Rows whose hash repeats
are candidates; a second pass over just the key columns compares their real values,
so a hash collision can never make a false failure, and it yields the examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from mlgitops.validation import row_hashes
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
#: Hashes kept in memory (8 bytes each) before they go to disk.
KEPT = 1 << 22


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
        self._disk: row_hashes.Parts | None = None
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
        self._keep(row_hashes.hash_rows(batch, self.keys))

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
                self._disk = row_hashes.Parts(self._hint, KEPT)
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
                self._keep(
                    row_hashes.hash_rows(pa.table({self.keys[0]: keys.cast(self._kind)}), self.keys)
                )
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
            if row_hashes.distinct_in_a_span(kept):
                return np.empty(0, dtype=np.uint64)
            return row_hashes.repeats(kept, halves=True)
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
            hit = np.isin(row_hashes.hash_rows(self._comparable(batch), self.keys), repeated)
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
