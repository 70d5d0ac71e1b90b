"""A CSV file cleared in one native pass, where the schema and the file are plain enough.

The chunked engine reads a file with pyarrow into columns, then screens them;
most files it validates pass, and for those the columns are built only to be
looked at once. Where every declared column is an ``int64``, ``float64`` or
``str`` column whose checks are bounds (``in_range``, ``greater_than`` …,
``equal_to``) or allowed values (``isin``), and keys are single columns,
``native.c`` reads the file's bytes once on every core, parses each field as it
is split and checks it there. It only ever answers "clean", with the row count
and the profile the engine would have built; anything it does not read exactly
as pandas and pyarrow do (a gap outside a nullable float or text column, an
exponent, a CR inside a value, a quote inside an unquoted one, a text column
pandas would read as numbers), any value a check refuses and any key that may
repeat make it "undecided", and the engine validates the file as before and
reports from there. Quoted values may hold line ends and doubled quotes.

The C source ships with the package and is built with the C compiler on the
path (``cc``) the first time a file of :data:`WORTH_BUILDING` or more is
validated, into the environment mlgitops is installed in
(``<sys.prefix>/share/mlgitops/native``), keyed by the digest of its source and
how it is built; where that folder cannot be written it is built for the
process alone, and where no compiler is found, or ``MLGITOPS_NATIVE=0``, the
engine alone validates. Once built it reads files of every size.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlgitops.data.csvparse import NULL_VALUES
from mlgitops.validation.failures import _TEXT_LIMIT, plain_value
from mlgitops.validation.profile import Totals, summarized
from mlgitops.validation.screen import BOUNDS
from mlgitops.validation.structure import structure

if TYPE_CHECKING:
    from mlgitops.data.base import Reader
    from mlgitops.validation.plan import ColumnPlan, Plan

SOURCE = Path(__file__).with_name("native.c")
#: How it is built (-O3: 5-10% less time than -O2 on the benchmark's files).
FLAGS = ("-O3", "-shared", "-fPIC", "-pthread")
#: Keys of a unique column held in memory (8 bytes each); a file with more is left to the
#: engine, which spills them to disk.
MAX_KEYS = 12_000_000
#: Allowed texts compared one by one; a longer list is left to the engine.
MAX_TEXTS = 256
#: The size from which a file is worth building the pass for (0.3 to 0.6 s, once per
#: environment): it saves about 2.4 ms a MiB of each file it reads (a pull request's check
#: reads its data and the base branch's). Once built, it reads files of every size.
WORTH_BUILDING = 64 << 20
_SKIP, _INT, _FLOAT, _TEXT = 0, 1, 2, 3
_UNIQUE, _PROFILE, _HAS_LOW, _HAS_HIGH = 1, 2, 4, 8
_LOW_OPEN, _HIGH_OPEN, _INT_SET, _TEXT_SET, _NULLABLE = 16, 32, 64, 128, 256
_EXACT = 2**53


class _Spec(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int32),
        ("flags", ctypes.c_int32),
        ("low", ctypes.c_double),
        ("high", ctypes.c_double),
        ("ints", ctypes.POINTER(ctypes.c_int64)),
        ("n_ints", ctypes.c_int64),
        ("blob", ctypes.c_char_p),
        ("offsets", ctypes.POINTER(ctypes.c_int64)),
        ("n_texts", ctypes.c_int64),
    ]


class _Out(ctypes.Structure):
    _fields_ = [
        ("imin", ctypes.c_int64),
        ("imax", ctypes.c_int64),
        ("count", ctypes.c_int64),
        ("longest", ctypes.c_int64),
        ("nulls", ctypes.c_int64),
        ("dmin", ctypes.c_double),
        ("dmax", ctypes.c_double),
        ("sum", ctypes.c_double),
        ("seen_dot", ctypes.c_int32),
        ("n_values", ctypes.c_int32),
        ("seen_word", ctypes.c_int32),
    ]


class Screened(NamedTuple):
    """A file the native pass cleared: its rows, and its profile where asked."""

    rows: int
    profile: dict[str, Any] | None


class Undecided(NamedTuple):
    """Why the native pass left a file to the engine, and the byte where it saw that (-1:
    at the end, or nowhere in particular)."""

    reason: str
    where: int


@dataclass
class _Field:
    """What the pass checks of one field of the file's records."""

    kind: int = _SKIP
    flags: int = 0
    low: float = 0.0
    high: float = 0.0
    low_open: bool = False
    high_open: bool = False
    ints: tuple[int, ...] | None = None
    texts: tuple[str, ...] | None = None
    #: A float column pandera does not coerce: pandas reads it as floats only where a value
    #: has a point.
    needs_point: bool = False


def screen(
    reader: Reader, plan: Plan, *, profile: bool, checks: bool = True
) -> Screened | Undecided | None:
    """The file cleared in one pass, its profile with it (``profile``); Undecided where the
    pass left it to the engine; None where the pass does not apply (another reader, a
    schema or header outside its forms, no compiler). ``checks=False``: nothing is
    checked, only read (the profile of the base branch's data)."""
    from mlgitops.data.csv import CsvReader

    if type(reader) is not CsvReader or plan.frame_checks or plan.value_sets:
        return None
    fields = _fields(plan, checks=checks, profile=profile)
    if fields is None or (checks and structure(plan.schema, plan.header)):
        return None
    start = reader.data_start()
    if start is None:
        return None
    many = checks and plan.unique_keys and reader.size_hint() > MAX_KEYS
    if many and _records(reader.path, start) > MAX_KEYS:
        return None  # the engine spills the keys to disk
    library = _library(reader.path.stat().st_size >= WORTH_BUILDING)
    if library is None:
        return None
    return _run(library, reader.path, start, fields, plan, profile=profile)


def _records(path: Path, start: int) -> int:
    """About how many records the file holds from ``start``: the records Python's csv
    module reads in its first MiB, scaled to its size (a line count would count each line of
    a quoted value that holds line ends)."""
    import csv
    import io

    with path.open("rb") as handle:
        handle.seek(start)
        sample = handle.read(1 << 20)
        size = handle.seek(0, io.SEEK_END)
    whole = sample[: sample.rfind(b"\n") + 1] or sample
    text = io.StringIO(whole.decode("utf-8", "replace"), newline="")
    try:
        records = sum(1 for _ in csv.reader(text))
    except csv.Error:
        records = whole.count(b"\n")
    return int((size - start) * records / max(len(whole), 1)) + 1


def _fields(plan: Plan, *, checks: bool, profile: bool) -> list[_Field] | None:
    by_name = {c.name: c for c in plan.columns}
    keys = set()
    for key in plan.unique_keys if checks else ():
        if len(key) != 1:
            return None
        keys.add(key[0])
    fields = []
    for name in plan.header:
        column = by_name.get(name)
        field = _Field() if column is None else _field(plan, column, checks=checks)
        if field is None:
            return None
        if name in keys:
            if field.kind not in (_INT, _TEXT):
                return None  # keys are kept of integers and text only
            field.flags |= _UNIQUE
        if profile and column is not None:
            field.flags |= _PROFILE
        fields.append(field)
    return fields


def _field(plan: Plan, column: ColumnPlan, *, checks: bool) -> _Field | None:
    """The field of a declared column; None where the pass cannot decide it."""
    rule = column.rule
    if rule is plan.schema.others or not column.screenable:
        return None
    kinds = {("int64", "i", "int64"): _INT, ("float64", "f", "double"): _FLOAT}
    kinds[("str", "O", "string")] = _TEXT
    kind = kinds.get((rule.words, rule.kind, str(column.arrow)))
    if kind is None:
        return None
    field = _Field(kind, needs_point=kind == _FLOAT and not rule.coerce)
    if column.nullable and kind != _INT:  # (pandas reads integers with a gap as floats)
        field.flags |= _NULLABLE
    for check in column.checks if checks else ():
        if not _add_check(field, check):
            return None
    return field


def _add_check(field: _Field, check: Any) -> bool:
    """``check`` made part of ``field``; False where the pass cannot decide it."""
    stats = check.statistics
    if check.name == "isin":
        return _allow(field, stats["allowed_values"])
    if check.name not in BOUNDS or field.kind == _TEXT:
        return False
    if not all(_exact_number(v) for v in stats.values() if not isinstance(v, bool)):
        return False
    low = high = None
    if check.name == "in_range":
        low = (stats["min_value"], not stats.get("include_min", True))
        high = (stats["max_value"], not stats.get("include_max", True))
    elif check.name == "equal_to":
        low = high = (stats["value"], False)
    elif check.name.startswith("greater_than"):
        low = (stats["min_value"], check.name == "greater_than")
    else:
        high = (stats["max_value"], check.name == "less_than")
    if low is not None:
        _tighten(field, float(low[0]), low[1], upper=False)
    if high is not None:
        _tighten(field, float(high[0]), high[1], upper=True)
    return True


def _exact_number(value: Any) -> bool:
    """A bound the pass compares as pandas does: a number a double holds exactly."""
    if type(value) is int:
        return -_EXACT <= value <= _EXACT
    return type(value) is float and value == value and abs(value) != float("inf")


def _tighten(field: _Field, value: float, open_: bool, *, upper: bool) -> None:
    if upper:
        if not field.flags & _HAS_HIGH or value < field.high:
            field.high, field.high_open = value, open_
        elif value == field.high:
            field.high_open |= open_
        field.flags |= _HAS_HIGH
    else:
        if not field.flags & _HAS_LOW or value > field.low:
            field.low, field.low_open = value, open_
        elif value == field.low:
            field.low_open |= open_
        field.flags |= _HAS_LOW


def _allow(field: _Field, values: Any) -> bool:
    values = list(values)
    if field.kind == _INT and all(type(v) is int and -_EXACT <= v <= _EXACT for v in values):
        found = set(values) if field.ints is None else set(field.ints) & set(values)
        field.ints = tuple(sorted(found))
        return True
    if field.kind == _TEXT and all(type(v) is str for v in values) and len(values) <= MAX_TEXTS:
        texts = set(values) if field.texts is None else set(field.texts) & set(values)
        field.texts = tuple(sorted(texts))
        return True
    return False


def _run(
    library: Any, path: Path, start: int, fields: list[_Field], plan: Plan, *, profile: bool
) -> Screened | Undecided | None:
    specs = (_Spec * len(fields))()
    held: list[Any] = []  # what the specs point to, alive until the pass ends
    for spec, field in zip(specs, fields, strict=True):
        flags = field.flags
        flags |= _LOW_OPEN if field.low_open else 0
        flags |= _HIGH_OPEN if field.high_open else 0
        spec.kind, spec.low, spec.high = field.kind, field.low, field.high
        if field.ints is not None:
            flags |= _INT_SET
            ints = (ctypes.c_int64 * max(len(field.ints), 1))(*field.ints)
            held.append(ints)
            spec.ints, spec.n_ints = ints, len(field.ints)
        if field.texts is not None:
            flags |= _TEXT_SET
            blob, offsets = _texts(field.texts)
            held += [blob, offsets]
            spec.blob, spec.offsets, spec.n_texts = blob, offsets, len(field.texts)
        spec.flags = flags
    nulls, null_offsets = _texts(NULL_VALUES)
    threads = min(_cores(), 16)
    handle = library.mg_screen(
        os.fsencode(path),
        start,
        len(fields),
        specs,
        threads,
        MAX_KEYS,
        nulls,
        null_offsets,
        len(NULL_VALUES),
    )
    if not handle:
        raise MemoryError("the native pass could not start")
    try:
        found = _answer(library, handle, fields, plan, profile=profile)
        if os.environ.get("MLGITOPS_NATIVE") == "debug":
            _say(found, path, library.mg_parts(handle), library.mg_read_again(handle))
        return found
    finally:
        library.mg_free(handle)


def _answer(
    library: Any, handle: Any, fields: list[_Field], plan: Plan, *, profile: bool
) -> Screened | Undecided | None:
    status = library.mg_status(handle)
    if status == 2:
        return None  # the engine reads it, and says why it cannot
    if status == 1:
        return Undecided(library.mg_reason(handle).decode(), library.mg_where(handle))
    rows = library.mg_rows(handle)
    outs = [library.mg_field(handle, i).contents for i in range(len(fields))]
    if rows == 0:
        return Undecided("no data rows", -1)
    for field, out in zip(fields, outs, strict=True):
        if field.needs_point and not out.seen_dot:
            return Undecided("a float column pandas would read as integers", -1)
        if field.kind == _TEXT and not out.seen_word:
            return Undecided("a text column pandas would read as numbers", -1)
        if field.kind != _SKIP and not out.count:
            return Undecided("a column with no value", -1)
    if not profile:
        return Screened(rows, None)
    found = _profile(library, handle, fields, outs, plan)
    return Screened(rows, found) if found is not None else Undecided("long text", -1)


def _say(found: Screened | Undecided | None, path: Path, parts: int, again: int) -> None:
    """What the pass answered, on standard error (``MLGITOPS_NATIVE=debug``)."""
    if found is None:
        said = "could not read it"
    elif isinstance(found, Screened):
        said = f"cleared {found.rows:,} rows"
    else:
        at = f" (byte {found.where:,})" if found.where >= 0 else ""
        said = f"left it to the chunked reading: {found.reason}{at}"
    cut = f"{parts} part{'s' * (parts != 1)}"
    if again:
        cut += f", {again} read again from where the part before it ended"
    print(f"mlgitops: the native pass read {path} in {cut}: {said}", file=sys.stderr)


def _cores() -> int:
    """The cores this process may run on (all of the machine's where the system does not
    say, as on macOS)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _texts(texts: Sequence[str]) -> tuple[bytes, Any]:
    """``texts`` as the pass takes them: their UTF-8 one after another, and where each
    starts (and the last ends)."""
    encoded = [t.encode() for t in texts]
    bounds = [0]
    for each in encoded:
        bounds.append(bounds[-1] + len(each))
    return b"".join(encoded), (ctypes.c_int64 * len(bounds))(*bounds)


def _profile(
    library: Any, handle: Any, fields: list[_Field], outs: list[Any], plan: Plan
) -> dict[str, Any] | None:
    """The profile the engine's :class:`~mlgitops.validation.profile.Profiler` builds of the
    same rows; None where a text is long enough to be cut there."""
    at = {name: i for i, name in enumerate(plan.header)}
    columns: dict[str, Totals] = {}
    for column in plan.columns:
        i = at[column.name]
        field, out = fields[i], outs[i]
        totals = Totals(str(column.arrow), nulls=int(out.nulls))
        if field.kind == _TEXT:
            if out.longest >= _TEXT_LIMIT:
                return None
            if out.n_values < 0:
                totals.values = None
            else:
                length = ctypes.c_int64()
                for k in range(out.n_values):
                    data = library.mg_value(handle, i, k, ctypes.byref(length))
                    text = ctypes.string_at(data, length.value).decode()
                    totals.values = (totals.values or set()) | {plain_value(text)}
        else:
            integers = field.kind == _INT
            totals.low = int(out.imin) if integers else float(out.dmin)
            totals.high = int(out.imax) if integers else float(out.dmax)
            totals.total, totals.counted = float(out.sum), int(out.count)
        columns[column.name] = totals
    return summarized(int(library.mg_rows(handle)), columns)


#: The library once loaded (or None where it cannot be built here): "library".
_LOADED: dict[str, Any] = {}


def _library(build: bool = True) -> Any:
    """``native.c`` loaded, built first where it was not (``build``); None where it cannot
    be (said why with ``MLGITOPS_NATIVE=debug``) or is not built yet, which a later call
    that builds it may change."""
    setting = os.environ.get("MLGITOPS_NATIVE", "")
    if setting == "0":
        return None
    if "library" in _LOADED:
        return _LOADED["library"]
    import subprocess  # (with the build's own modules: once a process, and not for train)

    try:
        path = built(SOURCE, build=build)
        if path is None:
            return None
        library = ctypes.CDLL(str(path))
    except (OSError, subprocess.SubprocessError) as exc:
        if setting == "debug":
            print(f"mlgitops: the native pass is not used: {exc}", file=sys.stderr)
        _LOADED["library"] = None
        return None
    finally:
        _forget_own_build()
    _declare(library)
    _LOADED["library"] = library
    return library


def forget() -> None:
    """Load (or fail to) afresh at the next call: after the environment changed."""
    _LOADED.clear()


def _declare(library: Any) -> None:
    handle = ctypes.c_void_p
    library.mg_screen.restype = handle
    library.mg_screen.argtypes = [
        ctypes.c_char_p,
        ctypes.c_int64,
        ctypes.c_int32,
        ctypes.POINTER(_Spec),
        ctypes.c_int32,
        ctypes.c_int64,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int64),
        ctypes.c_int64,
    ]
    calls: dict[str, tuple[Any, list[Any]]] = {
        "mg_status": (ctypes.c_int32, [handle]),
        "mg_reason": (ctypes.c_char_p, [handle]),
        "mg_where": (ctypes.c_int64, [handle]),
        "mg_rows": (ctypes.c_int64, [handle]),
        "mg_parts": (ctypes.c_int32, [handle]),
        "mg_read_again": (ctypes.c_int32, [handle]),
        "mg_field": (ctypes.POINTER(_Out), [handle, ctypes.c_int32]),
        "mg_value": (
            ctypes.c_void_p,
            [handle, ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(ctypes.c_int64)],
        ),
        "mg_free": (None, [handle]),
    }
    for name, (result, arguments) in calls.items():
        function: Callable[..., Any] = getattr(library, name)
        function.restype = result  # type: ignore[attr-defined]
        function.argtypes = arguments  # type: ignore[attr-defined]


#: A folder of this process's own that a build went to (removed once it is loaded).
_OWN: list[Path] = []


def built(source: Path, folder: Path | None = None, *, build: bool = True) -> Path | None:
    """The shared library of ``source``: built once into ``folder`` (the environment's own
    by default) and kept under the digest of its source and build; built into a folder of
    the process's own where that one cannot be written; None where it is not built and
    ``build`` is False. OSError where there is no C compiler; CalledProcessError where it
    fails."""
    import hashlib
    import platform
    import shutil
    import tempfile

    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        raise OSError("no C compiler (cc) on the path")
    text = source.read_bytes()
    built_as = " ".join([platform.machine(), compiler, *FLAGS]).encode()
    key = hashlib.sha256(text + built_as).hexdigest()
    folder = folder or Path(sys.prefix) / "share" / "mlgitops" / "native"
    target = folder / f"screen-{key[:24]}.so"
    if target.is_file() or not build:
        return target if target.is_file() else None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _compile(compiler, source, folder, target)
    except OSError:  # a folder that cannot be written
        _OWN.append(Path(tempfile.mkdtemp(prefix="mlgitops-native-")))
        return _compile(compiler, source, _OWN[-1], _OWN[-1] / target.name)


def _forget_own_build() -> None:
    import shutil

    while _OWN:
        shutil.rmtree(_OWN.pop(), ignore_errors=True)


def _compile(compiler: str, source: Path, folder: Path, target: Path) -> Path:
    """``source`` compiled beside ``target`` and moved there whole: a process that finds it
    finds it complete."""
    import subprocess
    import tempfile

    fd, partial = tempfile.mkstemp(prefix=".building-", suffix=".so", dir=folder)
    os.close(fd)
    try:
        command = [compiler, *FLAGS, "-o", partial, str(source)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
