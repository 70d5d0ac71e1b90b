"""Install size of the jobs that do not train, against the full training install.

    python benchmarks/bench_install.py

Creates throw-away virtual environments, installs this checkout with no extras
(what render, plan and report jobs get), then with `[data]` (validate,
drift) and `[train-remote]` (train, compare and deploy against a remote MLflow
server: its client alone), and measures what each adds to site-packages, next
to the `[train]` install measured the same way. Target (DESIGN §10): <= 30 MB without extras.
Needs the package index (it downloads wheels).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 30.0


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _site_packages(env: Path) -> Path:
    return next((env / "lib").glob("python3*/site-packages"))


def _measure(extras: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "venv"
        venv.create(env, with_pip=True)
        site = _site_packages(env)
        before = _size_mb(site)  # pip and setuptools come with every venv
        spec = f"{ROOT}[{extras}]" if extras else str(ROOT)
        subprocess.run([str(env / "bin" / "pip"), "install", "--quiet", spec], check=True)
        return _size_mb(site) - before


def main() -> None:
    rows = [
        (name, _measure(extras))
        for name, extras in (
            ("mlgitops (render/plan/report)", ""),
            ("mlgitops[data] (validate/drift)", "data"),
            ("mlgitops[train-remote] (remote MLflow)", "train-remote"),
            ("mlgitops[train] (train/compare)", "train"),
        )
    ]
    full = rows[-1][1]
    print(f"{'install':40} {'MB':>8} {'of [train]':>10}")
    for name, size in rows:
        print(f"{name:40} {size:8.1f} {size / full:10.1%}")
    verdict = "ok" if rows[0][1] <= TARGET_MB else "OVER"
    print(f"no-extras install target <= {TARGET_MB:.0f} MB: {verdict}")
    sys.exit(0)


if __name__ == "__main__":
    main()
