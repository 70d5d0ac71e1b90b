"""Cold start of the CLI against a bare interpreter, measured in the same run.

    python benchmarks/bench_startup.py [--runs 20]

Prints the median wall time of `python -c pass`, `mlgitops --help`,
`mlgitops render --check` and `mlgitops validate tumors` (what the check job
runs: the example's 569 rows against its pandera schema file) on the example
repository, and their difference and ratio. Targets: `--help` within 0.15 s
(DESIGN §10), `render --check` of one pipeline within 0.10 s (issue 17);
validate has none of its own. Beside `render --check`, its floor: a bare
interpreter importing every module `render --check` imports but mlgitops' own
(the standard library's and PyYAML's, found by running the command), and
nothing else.

The package's bytecode is compiled first, as installing it does: with
``PYTHONDONTWRITEBYTECODE`` set, a module edited since its last compile would
otherwise be compiled from source on every run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_train import compile_package

TARGETS: dict[str, float | None] = {
    "mlgitops --help": 0.15,
    "mlgitops render --check": 0.10,
    "mlgitops validate tumors": None,
}


def _medians(commands: list[list[str]], cwd: Path, runs: int) -> list[float]:
    """Each command's median wall time, the commands taken in turn ``runs`` times: a
    machine whose speed drifts during the run moves every figure alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for taken, cmd in zip(samples, commands, strict=True):
            start = time.perf_counter()
            subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
            taken.append(time.perf_counter() - start)
    return [statistics.median(taken) for taken in samples]


def _library_imports(repo: Path) -> list[str]:
    """``python -c`` importing what ``render --check`` imports, mlgitops' modules aside."""
    listing = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from mlgitops.cli import main\n"
        "try:\n"
        "    main(['render', '--check'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(m for m, module in list(sys.modules.items()) if m not in before"
        " and getattr(module, '__spec__', None) is not None"  # (Cython's own entries have none)
        " and m.split('.')[0] not in ('mlgitops', '__main__')))\n"
    )
    found = (
        subprocess.run(
            [sys.executable, "-c", listing], cwd=repo, check=True, capture_output=True, text=True
        )
        .stdout.splitlines()[-1]
        .split()
    )  # after what the command printed
    assert "yaml" in found, found  # the listing reached the spec's reading
    body = f"import importlib\nfor name in {found!r}:\n    importlib.import_module(name)\n"
    return [sys.executable, "-c", body]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    cli = str(Path(sys.executable).with_name("mlgitops"))
    compile_package()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run([cli, "init"], cwd=repo, check=True, capture_output=True)
        subprocess.run([cli, "render"], cwd=repo, check=True, capture_output=True)
        names = [
            "mlgitops --help",
            "mlgitops render --check",
            "  (libraries it imports)",
            "mlgitops validate tumors",
        ]
        commands = [
            [cli, "--help"],
            [cli, "render", "--check"],
            _library_imports(repo),
            [cli, "validate", "tumors"],
        ]
        base, *seconds = _medians([[sys.executable, "-c", "pass"], *commands], repo, runs)
        rows = list(zip(names, seconds, strict=True))
        shutil.rmtree(repo / ".github", ignore_errors=True)
    print(f"{'command':28} {'median s':>9} {'over python':>12} {'ratio':>6}  target")
    print(f"{'python -c pass':28} {base:9.3f} {'':>12} {1.0:6.2f}")
    for name, seconds in rows:
        target = TARGETS.get(name)
        verdict = "-" if target is None else f"<= {target}s {'ok' if seconds <= target else 'OVER'}"
        print(f"{name:28} {seconds:9.3f} {seconds - base:+12.3f} {seconds / base:6.2f}  {verdict}")


if __name__ == "__main__":
    main()
