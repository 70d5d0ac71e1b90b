"""Chunked validation against plain pandera, measured in the same run.

    python benchmarks/bench_validate.py [--rows 2000000] [--factor 4] [--repeat 1] [--keep DIR]
                                        [--shape=SUFFIX ...] [--native-probe]

Generates CSVs of two sizes (``--rows`` and ``--factor`` times as many rows:
an id that must be unique, 8 bounded floats, an int and a text category), each
in five shapes: text quoted (as pyarrow, R and many exports write it), nothing
quoted (as pandas writes it), text quoted with a free-text note column whose
values span lines a third of the time, text quoted with the ids in no order
(each id's hash is kept: the memory that grows with the file, until it goes to
disk), and text quoted with four rows appended that each hold a word in another
float column (a file that fails: the columns that hold a word are read again as
text). ``--shape=SUFFIX`` picks shapes by file suffix (``""``, ``-none``,
``-notes``, ``-shuffled``, ``-words``). It validates each in a fresh subprocess (so peak
RSS is clean) in two ways:

- plain pandera: ``pd.read_csv`` of the whole file, then
  ``schema.validate(lazy=True)``;
- mlgitops: :func:`mlgitops.validation.engine.validate`: its native pass where the file
  is in the forms that pass reads (every shape but the words in float columns: the pass
  leaves that file to the chunked reading at the first word), in chunks otherwise (built
  before the runs, as an environment keeps it);
- the parse floor: the same reader's batches with the same types and nothing
  checked (what no validation on this reader can beat); where a value does not
  parse, with its column read as text, as validation must read it.

Prints, per file, the seconds of work (imports excluded, the same for both;
with ``--repeat N`` the run with the median wall time, runs alternating), its
CPU seconds, rows per second, the throughput ratio, and peak RSS. On a shared
machine wall time follows the load; the CPU-time ratio is steadier. Beside
them: how long plain pandera's own ``read_csv`` took, and plain pandera's time
over the parse floor, the ratio no validation reading with this reader can
exceed (where pandas parses as fast as the floor, the target is out of reach
of any validation that reads every value). With ``--native-probe`` (a C compiler
on the path), the text quoted and nothing quoted files are also read by
``native_probe.c``, compiled with ``cc -O2``: one pass over the bytes on every
core, parsing and checking this schema's values without building columns, the
floor of a validator in native code; it is run and printed beside the others,
and a probe whose answer differs from plain pandera's is reported. Targets
(issue 17): at least 2.5x plain pandera's throughput, peak RSS under 300 MB
for every file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_RATIO = 2.5
TARGET_RSS_MB = 300

_FLOATS = "".join(
    f"  f{i}: {{dtype: float64, in_range: {{min_value: 0, max_value: 100}}}}\n" for i in range(8)
)
SCHEMA = (
    "schema_type: dataframe\ncolumns:\n  id: {dtype: int64, unique: true}\n"
    + _FLOATS
    + "  k: {dtype: int64, isin: [0, 1, 2, 3, 4]}\n"
    + "  color: {dtype: str, isin: [red, green, blue]}\n"
    + "coerce: true\nstrict: true\n"
)

PLAIN = """
import json, sys, time
import pandas as pd, pandera.pandas as pa
schema = pa.DataFrameSchema.from_yaml(open(sys.argv[2]).read())
start, cpu = time.perf_counter(), time.process_time()
frame = pd.read_csv(sys.argv[1])
read = time.perf_counter() - start
try:
    schema.validate(frame, lazy=True)
    passed = True
except pa.errors.SchemaErrors:
    passed = False
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
out = {"seconds": seconds, "cpu": cpu, "rows": len(frame), "passed": passed, "rss_mb": rss}
print(json.dumps(out | {"read": read}))
"""

CHUNKED = """
import json, sys, time
from pathlib import Path
import pandas, pandera.pandas, pyarrow.csv
from mlgitops.data import open_data
from mlgitops.validation.engine import Limits, validate
from mlgitops.validation.schema import from_yaml_text
schema = from_yaml_text("schema.yaml", open(sys.argv[2]).read())
start, cpu = time.perf_counter(), time.process_time()
reader = open_data(Path.cwd(), sys.argv[1], fmt=None, workdir=Path.cwd())
outcome = validate(reader, schema, Limits(chunk_rows=int(sys.argv[3])))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": outcome.rows, "passed": outcome.passed, "rss_mb": rss}))
"""


FLOOR = """
import json, sys, time
from pathlib import Path
import pandas, pandera.pandas, pyarrow.csv
from mlgitops.data import open_data
from mlgitops.validation.plan import make_plan
from mlgitops.validation.schema import from_yaml_text
schema = from_yaml_text("schema.yaml", open(sys.argv[2]).read())
start, cpu = time.perf_counter(), time.process_time()
reader = open_data(Path.cwd(), sys.argv[1], fmt=None, workdir=Path.cwd())
from mlgitops.data import ConversionFailed
plan = make_plan(schema, reader.columns())
text = set()
while True:
    try:
        types = plan.types(frozenset(text))
        rows = sum(b.num_rows for b in reader.batches(types, plan.names, int(sys.argv[3])))
        break
    except ConversionFailed as exc:
        text |= {exc.column, *exc.others}
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "passed": True, "rss_mb": rss}))
"""


#: A free-text column of the third shape: a third of its values span two lines.
NOTES = ["fine", "ok, thanks", "two\nlines", 'said "hi"\nthen left', "no comment", "late"]
NOTE_SCHEMA = SCHEMA.replace("coerce:", "  note: {dtype: str}\ncoerce:")
#: (title, file name suffix, pyarrow's quoting style, a note column written, ids in no order,
#: words appended in float columns)
SHAPES = [
    ("text quoted", "", "needed", False, False, False),
    ("nothing quoted", "-none", "none", False, False, False),
    ("notes over several lines", "-notes", "needed", True, False, False),
    ("ids in no order", "-shuffled", "needed", False, True, False),
    ("words in four float columns, at the end", "-words", "needed", False, False, True),
]


def generate(
    path: Path,
    rows: int,
    quoting: str,
    notes: bool = False,
    shuffled: bool = False,
    words: bool = False,
) -> None:
    """A CSV of ``rows`` valid rows, written in slices with numpy and pyarrow (``quoting``:
    pyarrow's ``quoting_style``; ``notes``: add a free-text column; ``shuffled``: the ids
    in no order; ``words``: then four rows, each with a word in one float column)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pc

    rng = np.random.default_rng(0)
    colors = np.array(["red", "green", "blue"])
    ids = rng.permutation(rows) if shuffled else None
    writer = None
    for start in range(0, rows, 1_000_000):
        size = min(1_000_000, rows - start)
        span = np.arange(start, start + size, dtype=np.int64)
        columns = {"id": span if ids is None else ids[start : start + size]}
        columns |= {f"f{i}": np.round(rng.random(size) * 100, 3) for i in range(8)}
        columns |= {"k": rng.integers(0, 5, size), "color": colors[rng.integers(0, 3, size)]}
        if notes:
            columns["note"] = np.array(NOTES)[rng.integers(0, len(NOTES), size)]
        table = pa.table(columns)
        if writer is None:
            options = pc.WriteOptions(quoting_style=quoting)
            writer = pc.CSVWriter(path, table.schema, write_options=options)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    if words:
        with path.open("a") as handle:
            for i, column in enumerate((1, 3, 5, 7)):
                floats = ["bad" if f == column else "1.5" for f in range(8)]
                handle.write(",".join([str(rows + i), *floats, "0", '"red"']) + "\n")


def measure(code: str, data: Path, schema: Path, chunk_rows: int) -> dict[str, float]:
    """One run in a fresh process. Its peak RSS is the kernel's high-water mark of that
    process's own memory (``VmHWM``): ``ru_maxrss`` would also count this process's
    resident memory at the fork, which generating a file inflates."""
    args = [sys.executable, "-c", code, str(data), str(schema), str(chunk_rows)]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


PROBE_SOURCE = Path(__file__).with_name("native_probe.c")
#: The shapes the probe reads: no quoted line ends, no words where numbers go.
PROBE_SHAPES = ("", "-none")


def build_probe(folder: Path) -> Path | None:
    """``native_probe.c`` compiled into ``folder``; None, said why, without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        print("native probe: SKIPPED (no C compiler on the path)")
        return None
    binary = folder / "native_probe"
    subprocess.run([compiler, "-O2", "-pthread", str(PROBE_SOURCE), "-o", str(binary)], check=True)
    return binary


def build_pass() -> None:
    """The native pass built beforehand, as the environment keeps it after its first
    large file: its build time is printed, not measured with the files."""
    import time

    from mlgitops.validation import native

    kept = native.built(native.SOURCE, build=False) is not None
    start = time.perf_counter()
    if native._library(True) is None:
        print("native pass: NOT built (no C compiler?): the engine alone validates")
    elif kept:
        print("native pass: kept from an earlier build")
    else:
        print(f"native pass: built in {time.perf_counter() - start:.2f} s")


def measure_probe(binary: Path, data: Path, rows: int) -> dict[str, float]:
    """One run of the probe on every core; its JSON line, as :func:`measure` returns."""
    threads = str(len(os.sched_getaffinity(0)))
    done = subprocess.run(
        [str(binary), str(data), threads, str(rows)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median)")
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    parser.add_argument(
        "--shape", action="append", help="only the shapes with these file suffixes (repeatable)"
    )
    parser.add_argument(
        "--native-probe",
        action="store_true",
        help="also time native_probe.c (needs a C compiler) on the shapes it reads",
    )
    options = parser.parse_args()
    shapes = [s for s in SHAPES if options.shape is None or s[1] in options.shape]
    with tempfile.TemporaryDirectory() as tmp:
        folder = options.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "schema.yaml").write_text(SCHEMA)
        (folder / "schema-notes.yaml").write_text(NOTE_SCHEMA)
        probe = build_probe(Path(tmp)) if options.native_probe else None
        build_pass()
        ok = True
        for rows in (options.rows, options.rows * options.factor):
            for shape, suffix, quoting, notes, shuffled, words in shapes:
                schema = folder / ("schema-notes.yaml" if notes else "schema.yaml")
                data = folder / f"data-{rows}{suffix}.csv"
                if not data.exists():
                    generate(data, rows, quoting, notes, shuffled, words)
                plains, chunked, floors, probes = [], [], [], []
                for _ in range(options.repeat):
                    plains.append(measure(PLAIN, data, schema, options.chunk_rows))
                    chunked.append(measure(CHUNKED, data, schema, options.chunk_rows))
                    floors.append(measure(FLOOR, data, schema, options.chunk_rows))
                    if probe is not None and suffix in PROBE_SHAPES:
                        probes.append(measure_probe(probe, data, rows))
                plain, ours, floor = median(plains), median(chunked), median(floors)
                ok &= report(f"{rows:,} rows, {shape}", data.stat().st_size, plain, ours, floor)
                if probes:
                    report_probe(plain, median(probes))
        print("targets met" if ok else "targets NOT met")


def report(
    title: str, size: int, plain: dict[str, float], ours: dict[str, float], floor: dict[str, float]
) -> bool:
    ratio = plain["seconds"] / ours["seconds"]
    print(f"{title} ({size / 2**20:,.0f} MiB CSV)")
    for name, run in (("plain pandera", plain), ("mlgitops", ours), ("parse floor", floor)):
        speed = run["rows"] / run["seconds"]
        print(
            f"  {name:14} {run['seconds']:7.2f} s wall  {run['cpu']:6.2f} s CPU  "
            f"{speed / 1e6:5.2f} M rows/s  peak RSS {run['rss_mb']:5.0f} MB  passed={run['passed']}"
        )
    met = ratio >= TARGET_RATIO and ours["rss_mb"] < TARGET_RSS_MB
    print(
        f"  plain pandera's own read_csv {plain['read']:.2f} s of its {plain['seconds']:.2f} s; "
        f"the most any validation on this reader can reach: plain pandera / parse floor "
        f"{plain['seconds'] / floor['seconds']:.2f}x"
    )
    print(
        f"  throughput ratio {ratio:.2f}x (target >= {TARGET_RATIO}x); "
        f"CPU-time ratio {plain['cpu'] / ours['cpu']:.2f}x; "
        f"mlgitops / parse floor {ours['seconds'] / floor['seconds']:.2f}x wall, "
        f"{ours['cpu'] / floor['cpu']:.2f}x CPU; peak RSS < {TARGET_RSS_MB} MB: "
        f"{'ok' if ours['rss_mb'] < TARGET_RSS_MB else 'OVER'}; {'ok' if met else 'NOT met'}"
    )
    return met


def report_probe(plain: dict[str, float], probe: dict[str, float]) -> None:
    """The probe's line, and plain pandera over it: what a native validator could reach."""
    speed = probe["rows"] / probe["seconds"]
    print(
        f"  {'native probe':14} {probe['seconds']:7.2f} s wall  {probe['cpu']:6.2f} s CPU  "
        f"{speed / 1e6:5.2f} M rows/s  peak RSS {probe['rss_mb']:5.0f} MB  passed={probe['passed']}"
    )
    if not probe["decided"]:
        print("  native probe: undecided (the file holds a form it does not read)")
    elif probe["passed"] != plain["passed"] or probe["rows"] != plain["rows"]:
        print(
            "  native probe: DISAGREES with plain pandera (rows or verdict); its time means nothing"
        )
    else:
        print(
            f"  a validator in native code could reach: plain pandera / native probe "
            f"{plain['seconds'] / probe['seconds']:.2f}x"
        )


if __name__ == "__main__":
    main()
