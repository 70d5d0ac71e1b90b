"""The native pass (``mlgitops.validation.native``) against the engine it stands in for and
against plain pandera, on the same files.

The pass may only ever say "clean"; where it does, the engine (the pass turned
off) must find the same rows, no failure and the same profile, and pandas with
pandera must pass the file. Random files mix the plain forms the pass reads
with every form it must leave to the engine.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest

from mlgitops.data import open_data
from mlgitops.errors import MlgitopsError
from mlgitops.validation import native
from mlgitops.validation.engine import Limits, profile_only, validate
from mlgitops.validation.plan import make_plan
from mlgitops.validation.profile import exact_sum
from mlgitops.validation.schema import from_yaml_text

SCHEMA = """\
schema_type: dataframe
columns:
  id: {dtype: int64, unique: true, checks: {greater_than_or_equal_to: 0}}
  x: {dtype: float64, checks: {in_range: {min_value: -5, max_value: 5, include_max: false}}}
  k: {dtype: int64, checks: {isin: [0, 1, 2, 3]}}
  color: {dtype: str, checks: {isin: [red, green, "bl ue", "héllo"]}}
  note: {dtype: str}
coerce: COERCE
"""


def _schema(coerce: bool = True, nullable: bool = False) -> Any:
    text = SCHEMA.replace("COERCE", str(coerce).lower())
    if nullable:  # every column but the integers
        for name in ("x", "color", "note"):
            text = text.replace(f"  {name}: {{", f"  {name}: {{nullable: true, ")
    return from_yaml_text("schema.yaml", text)


#: (id, x, k, color, note): each a plain form the pass reads, or a form it must leave to
#: the engine (which may pass or fail the file).
PLAIN = {
    "x": ["0.5", "-4.25", "1", "0", "4.999", "3.125", "-5", "2.0"],
    "k": ["0", "1", "2", "3"],
    "color": ["red", "green", '"bl ue"', '"red"', "héllo"],
    "note": ["fine", '"ok, thanks"', "x y", "é", '"said"', "Nothing", '"two\nlines"',
             '"say ""hi""\nthen, bye"', '"a ""word"""', '"\n"'],
}  # fmt: skip
ODD = {
    "id": ["", "NA", "1e3", "+5", "007", "-0", "9007199254740993", '"5"', " 5", "5.0"],
    "x": ["", "nan", "1e0", "-0.0", ".5", "5.", "5", "4.9999999999999999999", "00.5", '"1.5"',
          "inf", "-5.0000001", "0x1", "1,5"],
    "k": ["4", "-1", "2.0", "", "02"],
    "color": ["blue", "", "NA", '"red""s"', '"a\nb"', "red\r", '5" tall', "Red", "1", "True"],
    "note": ["", "N/A", '"two\nlines"', '"x""y"', "1.5", "true", "\xff", "a\x00b", "nan",
             '"a"b', "  lead", "#N/A"],
}  # fmt: skip


def _file(rng: random.Random, odd: float) -> bytes:
    """A random file: mostly plain rows, some with an odd value, an odd line end or an odd
    record; with a byte-order mark, CRLF and no final line end at times."""
    eol = rng.choice(["\n", "\r\n"])
    ids = rng.sample(range(0, 60), 40)
    lines = ["id,x,k,color,note"]
    for i in range(rng.randint(1, 30)):
        row = [str(ids[i])] + [rng.choice(PLAIN[c]) for c in ("x", "k", "color", "note")]
        if rng.random() < odd:
            column = rng.randrange(5)
            row[column] = rng.choice(ODD[("id", "x", "k", "color", "note")[column]])
        if rng.random() < odd / 4:
            row[0] = lines[-1].split(",")[0] if len(lines) > 1 else row[0]  # a repeated id
        line = ",".join(row)
        if rng.random() < odd / 6:
            line = rng.choice(["", line + ",extra", ",".join(row[:3]), line + "\r"])
        lines.append(line)
    text = eol.join(lines) + (eol if rng.random() < 0.8 else "")
    data = text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff")
    return (b"\xef\xbb\xbf" if rng.random() < 0.1 else b"") + data


def _outcome(path: Path, schema: Any, **options: Any) -> Any:
    """What validate gives (profiled), or the error it raises, as a comparable value."""
    reader = open_data(path.parent, path.name, fmt=None, workdir=path.parent)
    try:
        found = validate(reader, schema, Limits(chunk_rows=7), profile=True, **options)
    except MlgitopsError as exc:
        return ("error", type(exc).__name__, str(exc))
    return (found.rows, found.failures, found.profile)


def _pandera_passes(path: Path, schema: Any) -> bool:
    frame = pd.read_csv(path)
    try:
        schema.pandera.validate(frame, lazy=True)
    except pa.errors.SchemaErrors:
        return False
    return True


def _screen(path: Path, schema: Any, **options: Any) -> Any:
    reader = open_data(path.parent, path.name, fmt=None, workdir=path.parent)
    return native.screen(reader, make_plan(schema, reader.columns()), **options)


@pytest.fixture(autouse=True)
def _built() -> None:
    """The pass built: files of any size are read by it from then on."""
    assert native._library(True) is not None, "a C compiler is on the path: the pass builds"


@pytest.fixture
def engine_only(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Calls ``function`` with the native pass turned off."""

    def call(function: Any, *args: Any, **kwargs: Any) -> Any:
        with monkeypatch.context() as patch:
            patch.setattr(native, "_library", lambda build=True: None)
            return function(*args, **kwargs)

    return call


def test_the_native_pass_is_built_and_clears_a_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('id,x,k,color,note\n1,0.5,2,red,fine\n2,-4.25,3,héllo,"ok, thanks"\n')
    assert _screen(path, _schema(), profile=False) == native.Screened(2, None)


@pytest.mark.parametrize("nullable", [False, True])
@pytest.mark.parametrize("coerce", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_random_files_the_pass_clears_pass_the_engine_and_pandera_alike(
    seed: int, coerce: bool, nullable: bool, tmp_path: Path, engine_only: Any
) -> None:
    rng = random.Random(seed * 4 + coerce * 2 + nullable)
    schema = _schema(coerce, nullable)
    cleared = undecided = 0
    for number in range(120):
        path = tmp_path / f"{seed}-{number}.csv"
        path.write_bytes(_file(rng, odd=rng.choice([0.0, 0.05, 0.3])))
        screened = _screen(path, schema, profile=True)
        ours = _outcome(path, schema)
        theirs = engine_only(_outcome, path, schema)
        assert ours == theirs, path.read_bytes()
        if isinstance(screened, native.Screened):
            cleared += 1
            assert ours[:2] == (screened.rows, ()), path.read_bytes()
            assert _pandera_passes(path, schema), path.read_bytes()
        else:
            undecided += 1
    assert cleared >= 10 and undecided >= 10, (cleared, undecided)


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (["1,0.5,2,red,NA"], "a missing value"),
        (["1,0.5,2,red,"], "a missing value"),
        (["1,1e0,2,red,a"], "a value in a float column that is not a plain decimal"),
        (["1,-0.0,2,red,a"], "a value in a float column that is not a plain decimal"),
        (
            ["1,0.12345678901234567,2,red,a"],
            "a value in a float column that is not a plain decimal",
        ),
        (["007,0.5,2,red,a"], "a value in an integer column that is not a plain integer"),
        (["1,5,2,red,a"], "a value a check refuses"),
        (["1,0.5,4,red,a"], "a value a check refuses"),
        (["1,0.5,2,blue,a"], "a value a check refuses"),
        (['1,0.5,2,red,5" tall'], "a text value outside the plain forms"),
        (['1,0.5,2,red,"a\r\nb"'], "a text value outside the plain forms"),
        (['1,0.5,2,red,"a\rb"'], "a text value outside the plain forms"),
        (['1,0.5,2,red,"a"b'], "a text value outside the plain forms"),
        (['1,0.5,2,red,"a"" b'], "a text value outside the plain forms"),
        (['1,0.5,2,red,"a\nb', "2,0.5,2,red,b"], "a text value outside the plain forms"),
        (['1,0.5,2,"red\n",a'], "a value a check refuses"),
        (["1,0.5,2,red,12", "2,0.5,2,red, -1.5e3 "], "a text column pandas would read as numbers"),
        (
            ['1,0.5,2,red,"1e3\n\n"', '2,0.5,2,red,"\n12"'],
            "a text column pandas would read as numbers",
        ),
        (
            ["1,0.5,2,red,FALSE", "2,0.5,2,red,Infinity"],
            "a text column pandas would read as numbers",
        ),
        (["1,0.5,2,red,a", ""], "a blank line"),
        (["1,0.5,2,red"], "a record with fewer fields than the header"),
        (["1,0.5,2,red,a,b"], "a record with more fields than the header"),
        (["1,0.5,2,red,a", "1,0.5,2,red,b"], "a key that may repeat"),
    ],
)
def test_a_form_the_pass_does_not_read_is_left_to_the_engine_saying_why(
    rows: list[str], reason: str, tmp_path: Path
) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,x,k,color,note\n" + "\n".join(rows) + "\n")
    found = _screen(path, _schema(), profile=False)
    assert isinstance(found, native.Undecided) and found.reason == reason, found


@pytest.mark.parametrize("coerce", [True, False])
def test_text_holding_numbers_beside_words_is_cleared_as_pandas_reads_it_as_text(
    coerce: bool, tmp_path: Path, engine_only: Any
) -> None:
    """One word in the column and pandas reads it all as text: ``01`` stays ``01``."""
    path = tmp_path / "d.csv"
    path.write_text("id,x,k,color,note\n1,0.5,2,red,01\n2,0.5,2,red,2024-01-02\n3,1.5,2,red,1e3\n")
    schema = _schema(coerce)
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Screened), found
    assert found.profile is not None
    assert found.profile["columns"]["note"]["values"] == ["01", "1e3", "2024-01-02"]
    assert _outcome(path, schema) == engine_only(_outcome, path, schema)
    assert _pandera_passes(path, schema)


def test_a_float_column_of_whole_numbers_without_coercion_is_not_cleared(tmp_path: Path) -> None:
    """pandas reads such a column as int64, which pandera's float64 refuses unless it
    coerces: the pass cannot say clean."""
    path = tmp_path / "d.csv"
    path.write_text("id,x,k,color,note\n1,1,2,red,a\n2,3,1,green,b\n")
    found = _screen(path, _schema(coerce=False), profile=False)
    assert found == native.Undecided("a float column pandas would read as integers", -1)
    assert not _pandera_passes(path, _schema(coerce=False))
    path.write_text("id,x,k,color,note\n1,1.0,2,red,a\n2,3,1,green,b\n")
    assert _screen(path, _schema(coerce=False), profile=False) == native.Screened(2, None)
    assert _pandera_passes(path, _schema(coerce=False))


#: Notes as pyarrow and pandas write them: quoted, over several lines, quotes doubled.
NOTES = ['"two\nlines"', '"said ""hi""\nthen left"', '"a ""word"""', '"\n"', '"x\n\ny"', "late"]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("nullable", [False, True])
def test_quoted_line_ends_and_doubled_quotes_are_read_as_pandas_reads_them(
    eol: str, nullable: bool, tmp_path: Path, engine_only: Any
) -> None:
    """A quoted value may hold line ends (bare ones, in a file of either line end) and
    doubled quotes: the pass reads the record on to its closing quote, and keeps the
    value unescaped, as pandas and the engine do."""
    lines = ["id,x,k,color,note"]
    lines += [f'{i},0.5,{i % 4},"héllo",{NOTES[i % len(NOTES)]}' for i in range(30)]
    path = tmp_path / "d.csv"
    path.write_bytes((eol.join(lines) + eol).encode())
    schema = _schema(nullable=nullable)
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Screened) and found.rows == 30, found
    assert found.profile == engine_only(profile_only, _reader(path), schema, 7)
    assert found.profile["columns"]["note"]["values"] == sorted(
        ["two\nlines", 'said "hi"\nthen left', 'a "word"', "\n", "x\n\ny", "late"]
    )
    assert _outcome(path, schema) == engine_only(_outcome, path, schema)
    assert _pandera_passes(path, schema)
    assert pd.read_csv(path)["note"].tolist()[:3] == [
        "two\nlines",
        'said "hi"\nthen left',
        'a "word"',
    ]


def test_allowed_values_and_keys_are_compared_unescaped(tmp_path: Path, engine_only: Any) -> None:
    schema = from_yaml_text(
        "s.yaml",
        'columns:\n  q: {dtype: str, unique: true, checks: {isin: [\'say "hi"\', "a\\nb"]}}\n'
        "coerce: true\n",
    )
    path = tmp_path / "d.csv"
    path.write_text('q\n"say ""hi"""\n"a\nb"\n')
    assert _screen(path, schema, profile=False) == native.Screened(2, None)
    for data, reason in [
        ('q\n"say ""hi"" "\n', "a value a check refuses"),
        ('q\n"a\nb"\n"say ""hi"""\n"a\nb"\n', "a key that may repeat"),
    ]:
        path.write_text(data)
        found = _screen(path, schema, profile=False)
        assert isinstance(found, native.Undecided) and found.reason == reason, found
        assert _outcome(path, schema) == engine_only(_outcome, path, schema)


def _big(
    path: Path, rows: int, at: dict[int, str] | None = None, note: Any = lambda i: f"note {i % 7}"
) -> None:
    """A plain file of ``rows`` rows (about 36 bytes each), the rows in ``at`` replaced;
    ``note(i)``: row i's note, as written."""
    with path.open("w") as handle:
        handle.write("id,x,k,color,note\n")
        for i in range(rows):
            line = (at or {}).get(i, f"{i},{(i % 9000 - 4500) / 1000:.3f},{i % 4},green,{note(i)}")
            handle.write(line + "\n")


def test_a_file_of_several_parts_is_read_whole_on_every_core(
    tmp_path: Path, engine_only: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past two blocks the file is cut into parts, one a thread, where lines end: a
    repeated key in two parts, and a value a check refuses in the last rows, are seen."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2})
    rows = 500_000
    path = tmp_path / "d.csv"
    _big(path, rows)
    assert path.stat().st_size > 3 * (4 << 20)  # a part a thread, each over a block
    schema = _schema()
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Screened) and found.rows == rows
    assert found.profile == engine_only(profile_only, _reader(path), schema, 50_000)
    ours = _outcome(path, schema)
    assert ours == engine_only(_outcome, path, schema)
    for changed, reason in [
        ({10: f"{rows - 1},0.5,1,red,a"}, "a key that may repeat"),
        ({rows - 1: f'{rows - 1},0.5,1,red,"a\rb"'}, "a text value outside the plain forms"),
        ({rows - 2: f"{rows - 2},9.5,1,red,a"}, "a value a check refuses"),
    ]:
        _big(path, rows, changed)
        found = _screen(path, schema, profile=False)
        assert isinstance(found, native.Undecided) and found.reason == reason, found


def _parts(capfd: pytest.CaptureFixture[str]) -> str:
    """What ``MLGITOPS_NATIVE=debug`` said of the parts the last pass read."""
    said = capfd.readouterr().err.strip().splitlines()[-1]
    return said.split(" in ", 1)[1].split(": ", 1)[0]


def test_records_over_several_lines_are_read_whole_in_every_part(
    tmp_path: Path, engine_only: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    """Notes over several lines in a file cut into parts: each cut is put where a line
    reads as a whole record, and the parts' records meet, as the engine reads them."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2})
    monkeypatch.setenv("MLGITOPS_NATIVE", "debug")
    path = tmp_path / "d.csv"
    rows = 450_000
    _big(path, rows, note=lambda i: NOTES[i % len(NOTES)])
    assert path.stat().st_size > 3 * (4 << 20)
    schema = _schema()
    found = _screen(path, schema, profile=True)
    assert _parts(capfd) == "3 parts"
    assert isinstance(found, native.Screened) and found.rows == rows, found
    assert found.profile == engine_only(profile_only, _reader(path), schema, 50_000)


def test_a_part_cut_inside_a_quoted_value_is_read_again_from_the_record_start(
    tmp_path: Path, engine_only: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    """Every line of these files looks the same (``id,x,k,green,"``): a record is two
    lines, its note the second line, so a part cut where the second line starts reads
    other records (ids, ``x`` and ``k`` of the notes) that pass too. The parts' records
    must meet where the previous part's ended; where they do not, the part is read again
    from there."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2})
    monkeypatch.setenv("MLGITOPS_NATIVE", "debug")
    schema = _schema()
    path = tmp_path / "d.csv"
    said = []
    for rows in range(300_000, 300_004):
        with path.open("w") as handle:
            handle.write("id,x,k,color,note\n")
            for i in range(rows):
                handle.write(f'{i},0.5,{i % 4},green,"\n{10**7 + i},1.5,{(i + 1) % 4},green,"\n')
        assert path.stat().st_size > 3 * (4 << 20)
        found = _screen(path, schema, profile=True)
        said.append(_parts(capfd))
        assert isinstance(found, native.Screened) and found.rows == rows, found
        assert found.profile is not None and found.profile["columns"]["x"]["mean"] == 0.5
        assert found.profile == engine_only(profile_only, _reader(path), schema, 100_000)
    assert any("read again" in each for each in said), said


def test_a_quoted_value_holding_whole_records_is_read_as_one_value(
    tmp_path: Path, engine_only: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    """A cut falls inside a note of 3 MB whose lines read as records: the part starting
    there reads them, then a quote where a value goes on, and cannot decide; that part is
    read again from where the previous part ended, and the file is cleared."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2})
    monkeypatch.setenv("MLGITOPS_NATIVE", "debug")
    rows, at = 600_000, 180_000
    note = "".join(f"{2_000_000 + j},0.5,1,green,a\n" for j in range(120_000)) + "end"
    path = tmp_path / "d.csv"
    with path.open("w") as handle:
        handle.write("id,x,k,color,note\n")
        for i in range(1_000_000, 1_000_000 + rows):
            value = f'"{note}"' if i == 1_000_000 + at else "fine"
            handle.write(f"{i},0.5,{i % 4},green,{value}\n")
    size = path.stat().st_size
    note_starts = len("id,x,k,color,note\n") + at * len("1000000,0.5,1,green,fine\n")
    assert note_starts < size // 3 < note_starts + len(note)  # the first cut, inside it
    assert len(note) < 4 << 20 < size // 3  # within a block; a part a thread
    found = _screen(path, _schema(), profile=False)
    assert _parts(capfd) == "3 parts, 1 read again from where the part before it ended"
    assert found == native.Screened(rows, None)
    outcome = engine_only(validate, _reader(path), _schema(), Limits(chunk_rows=50_000))
    assert (outcome.rows, outcome.failures) == (rows, ())


def test_a_record_read_on_past_a_block_is_counted_once(
    tmp_path: Path, engine_only: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of 4 MiB: where one ends inside a note, its record is read on from the note
    once the next block is read, its first fields counted once. A value longer than a
    block is left to the engine."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0})
    note = '"' + "a line\n" * 25 + 'and ""the end"""'  # (the profile keeps 200 characters)
    path = tmp_path / "d.csv"
    rows = 45_000
    _big(path, rows, note=lambda _: note)
    assert path.stat().st_size > 2 * (4 << 20)  # the blocks end in notes, past their first line
    schema = _schema()
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Screened) and found.rows == rows, found
    assert found.profile == engine_only(profile_only, _reader(path), schema, 5_000)
    path.write_text(f'id,x,k,color,note\n1,0.5,1,green,"{"x" * (4 << 20)}"\n')
    found = _screen(path, schema, profile=False)
    assert found == native.Undecided("a line or value longer than a block", 18), found


def test_keys_are_held_for_as_many_rows_as_records_not_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file estimated to hold more rows than keys are kept for is left to the engine
    (which spills them to disk) before the pass reads it; the estimate counts records,
    so notes over several lines do not make it look larger than it is."""
    monkeypatch.setattr(native, "MAX_KEYS", 3_000)
    path = tmp_path / "d.csv"
    lines = [f'{i},0.5,1,green,"{NOTES[0][1:-1]}\n{i}"' for i in range(2_500)]
    path.write_text("id,x,k,color,note\n" + "\n".join(lines) + "\n")
    assert _reader(path).size_hint() > 3_000  # (lines, with a margin)
    assert _screen(path, _schema(), profile=False) == native.Screened(2_500, None)
    lines = [f"{i},0.5,1,green,note" for i in range(3_500)]
    path.write_text("id,x,k,color,note\n" + "\n".join(lines) + "\n")
    assert _screen(path, _schema(), profile=False) is None


def _reader(path: Path) -> Any:
    return open_data(path.parent, path.name, fmt=None, workdir=path.parent)


def test_the_base_data_is_profiled_by_the_same_pass(tmp_path: Path, engine_only: Any) -> None:
    """The data diff compares the base branch's profile with the head's: both are read the
    same way, so unchanged data shows no change; and each is the engine's profile."""
    path = tmp_path / "d.csv"
    path.write_text("id,x,k,color,note\n1,0.5,2,red,fine\n2,-4.25,3,red,é\n3,0.1,0,green,x\n")
    head = validate(_reader(path), _schema(), Limits(), profile=True).profile
    base = profile_only(_reader(path), _schema(), 1000)
    assert head == base == engine_only(profile_only, _reader(path), _schema(), 1000)
    assert base["columns"]["x"]["mean"] == round((0.5 - 4.25 + 0.1) / 3, 6)
    assert base["columns"]["color"]["values"] == ["green", "red"]


def test_without_a_compiler_the_engine_alone_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OSError, match="no C compiler"):
        native.built(native.SOURCE, tmp_path / "cache")
    native.forget()
    try:
        assert native._library(True) is None
        path = tmp_path / "d.csv"
        path.write_text("id,x,k,color,note\n1,0.5,2,red,fine\n")
        assert _screen(path, _schema(), profile=False) is None
        assert _outcome(path, _schema())[:2] == (1, ())
    finally:
        native.forget()


def test_the_build_is_kept_under_its_source_digest_and_made_whole(tmp_path: Path) -> None:
    assert native.built(native.SOURCE, tmp_path / "cache", build=False) is None
    first = native.built(native.SOURCE, tmp_path / "cache")
    assert first is not None
    made = first.stat().st_mtime_ns
    assert native.built(native.SOURCE, tmp_path / "cache") == first
    assert first.stat().st_mtime_ns == made  # not built again
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # nothing half-built
    changed = tmp_path / "native.c"
    changed.write_bytes(native.SOURCE.read_bytes() + b"\n/* another */\n")
    assert native.built(changed, tmp_path / "cache", build=False) is None
    assert native.built(changed, tmp_path / "cache") != first


def test_a_folder_that_cannot_be_written_gets_a_build_of_the_process_own(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    path = native.built(native.SOURCE, blocked / "cache")
    assert path is not None and path.is_file() and blocked not in path.parents
    native._forget_own_build()
    assert not path.exists()


def test_a_small_file_does_not_build_the_pass_but_uses_it_once_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building takes half a second: worth it for a large file only, and then
    kept in the environment for every file after it."""
    monkeypatch.setattr("sys.prefix", str(tmp_path / "env"))
    path = tmp_path / "d.csv"
    path.write_text("id,x,k,color,note\n1,0.5,2,red,fine\n")
    native.forget()
    try:
        assert path.stat().st_size < native.WORTH_BUILDING
        assert _screen(path, _schema(), profile=False) is None
        assert not (tmp_path / "env").exists()
        assert native._library(True) is not None
        assert [p.suffix for p in (tmp_path / "env/share/mlgitops/native").iterdir()] == [".so"]
        assert _screen(path, _schema(), profile=False) == native.Screened(1, None)
        native.forget()  # another process: finds the build
        assert _screen(path, _schema(), profile=False) == native.Screened(1, None)
    finally:
        native.forget()


def test_a_unique_float_column_is_left_to_the_engine(tmp_path: Path, engine_only: Any) -> None:
    """The pass keeps keys of integers and text only: a repeated float must not pass."""
    schema = from_yaml_text(
        "schema.yaml", SCHEMA.replace("COERCE", "true").replace("x: {", "x: {unique: true, ")
    )
    path = tmp_path / "d.csv"
    path.write_text("id,x,k,color,note\n1,0.5,2,red,a\n2,0.5,2,red,b\n")
    assert _screen(path, schema, profile=False) is None
    ours = _outcome(path, schema)
    assert ours == engine_only(_outcome, path, schema)
    assert [f.check for f in ours[1]] == ["field_uniqueness"]


@pytest.mark.parametrize(
    "data", [b"note\na\n \nb\n", b"note\na\n\t\t\nb\n", b"note\r\n ", b"note\n  \n"]
)
def test_a_line_of_blanks_is_left_to_the_engine(
    data: bytes, tmp_path: Path, engine_only: Any
) -> None:
    """pandas skips a line of spaces and tabs: in a file of one column it is no text
    value (a file of only such lines has no data rows)."""
    schema = from_yaml_text("s.yaml", "columns:\n  note: {dtype: str}\ncoerce: true\n")
    path = tmp_path / "d.csv"
    path.write_bytes(data)
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Undecided) and found.reason == "a blank line", found
    assert _outcome(path, schema) == engine_only(_outcome, path, schema)


#: Decimals whose mean lies on a tie of its sixth decimal, which only an exactly rounded
#: sum settles the same way in every reading.
TIES = [
    "0.620\n5.89\n1.6\n4.882385\n1.55\n6.4\n6.332\n0.0\n10\n9.627\n",
    "-3.764\n-4.009\n-2.568\n4.03\n1.9\n7.932\n1.4\n-6.88\n-5.648\n4.4\n-0.1\n4.34\n-2.3\n"
    "0.9\n0.5\n6.159\n-7.979\n8.3\n9.385\n6.839\n3.7\n-1.1\n9.42\n8.8\n-2.06\n-1.237\n8.2\n"
    "-7.616\n0.7\n3.21\n-5.036\n1.2\n",
    # a small sum beside a large value of the other sign: which error to keep
    "0.31675\n-371059627.772952\n459.71\n-0.5\n",
    "219.883\n86.55905\n-324482862.7529\n-0.3445\n28.68953\n384172664.3\n-30723.0\n-3489329.5\n",
]


@pytest.mark.parametrize("values", TIES)
def test_a_mean_is_the_same_however_the_file_is_read(
    values: str, tmp_path: Path, engine_only: Any
) -> None:
    schema = from_yaml_text("s.yaml", "columns:\n  x: {dtype: float64}\ncoerce: true\n")
    path = tmp_path / "d.csv"
    path.write_text("x\n" + values)
    exact = math.fsum(float(v) for v in values.split()) / len(values.split())
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Screened) and found.profile is not None
    means = {found.profile["columns"]["x"]["mean"]}
    for rows in (1, 2, 7, 1000):
        means.add(engine_only(profile_only, _reader(path), schema, rows)["columns"]["x"]["mean"])
    assert means == {round(exact, 6)}


def test_both_sums_round_as_the_exact_sum_does(tmp_path: Path) -> None:
    """The engine's pairwise sum and the pass's compensated one against ``math.fsum`` (the
    exact sum, rounded once) on decimals of every scale, many of whose means are ties."""
    import numpy as np

    rng = random.Random(7)
    schema = from_yaml_text("s.yaml", "columns:\n  x: {dtype: float64}\ncoerce: true\n")
    screened = 0
    for number in range(300):
        scales, digits = rng.choice([[1], [100], [1e6], [1, 1e3, 1e8]]), rng.randint(0, 6)
        values = [
            round((rng.random() - 0.5) * rng.choice(scales), digits)
            for _ in range(rng.randint(1, 80))
        ]
        exact = math.fsum(values)
        high, low = exact_sum(np.array(values))
        assert high + low == exact, values
        if number % 10 == 0:
            path = tmp_path / f"{number}.csv"
            path.write_text("x\n" + "\n".join(repr(v) for v in values if v != 0) + "\n")
            kept = [v for v in values if v != 0]
            found = _screen(path, schema, profile=True)
            if kept and isinstance(found, native.Screened) and found.profile is not None:
                mean = found.profile["columns"]["x"]["mean"]
                assert mean == round(math.fsum(kept) / len(kept), 6), values
                screened += 1
    assert screened >= 15


def test_gaps_in_nullable_columns_are_counted_as_the_engine_counts_them(
    tmp_path: Path, engine_only: Any
) -> None:
    """A gap (empty, or one of pandas' missing values, quoted or not) passes in a nullable
    float or text column; it is a null in the profile, outside the mean and the values."""
    path = tmp_path / "d.csv"
    path.write_text(
        'id,x,k,color,note\n1,0.5,2,red,fine\n2,,3,NA,\n3,"nan",0,green,"N/A"\n4,1,1,red,x\n'
    )
    schema = _schema(coerce=False, nullable=True)
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Screened) and found.profile is not None, found
    columns = found.profile["columns"]
    assert (columns["x"]["nulls"], columns["x"]["mean"]) == (2, 0.75)
    assert (columns["color"]["nulls"], columns["color"]["values"]) == (1, ["green", "red"])
    assert (columns["note"]["nulls"], columns["note"]["values"]) == (2, ["fine", "x"])
    assert _outcome(path, schema) == engine_only(_outcome, path, schema)
    assert _pandera_passes(path, schema)


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (
            ["1,0.5,2,red,a", "2,0.5,,red,b"],
            "a value in an integer column that is not a plain integer",
        ),
        (["1,,2,red,a", "2,,3,red,b"], "a column with no value"),
        (["1,0.5,2,red,a", "2,0.5,3,red,NA"], None),
    ],
)
def test_what_gaps_the_pass_leaves_to_the_engine(
    rows: list[str], reason: str | None, tmp_path: Path, engine_only: Any
) -> None:
    """pandas reads an integer column with a gap as floats (pandera's int64 refuses it),
    a column of gaps alone as floats; a unique text column keeps no gap here."""
    schema = _schema(nullable=True)
    if reason is None:
        schema = from_yaml_text(
            "s.yaml",
            SCHEMA.replace("COERCE", "true").replace(
                "note: {", "note: {nullable: true, unique: true, "
            ),
        )
        reason = "a missing value"
    path = tmp_path / "d.csv"
    path.write_text("id,x,k,color,note\n" + "\n".join(rows) + "\n")
    found = _screen(path, schema, profile=True)
    assert isinstance(found, native.Undecided) and found.reason == reason, found
    assert _outcome(path, schema) == engine_only(_outcome, path, schema)
