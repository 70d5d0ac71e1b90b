"""Rendering many pipelines: 100 generated specs, against loading them alone.

    python benchmarks/bench_render.py [--specs 100]

Prints the wall time of `mlgitops render` (cold, writing every file), of a
re-render with nothing changed, and of `render --check`, next to the time of
a process that only loads and validates the same specs (the reference).
Target (issue 17): `render --check` of 100 specs within 1.0 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_CHECK_S = 1.0
SPEC = """\
name: {name}
data:
  path: data/{name}.csv
  columns:
    x1: {{dtype: float64}}
    x2: {{dtype: float64, nullable: true}}
    segment: {{dtype: category, isin: [a, b, c]}}
    label: {{dtype: int64, isin: [0, 1]}}
  target: label
model:
  estimator: sklearn.linear_model.LogisticRegression
  params: {{C: {c}}}
task: classification
gates:
  roc_auc: {{min: 0.7, max_drop: 0.01}}
train:
  runs_on: [self-hosted, gpu-{pool}]
deploy:
  environments:
    - {{name: staging, namespace: {name}-staging}}
    - name: production
      namespace: {name}
      canary: {{steps: [10, 50, 100], pause: 5m}}
      analysis: {{prometheus: "http://prometheus:9090"}}
"""


def _timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--specs", type=int, default=100)
    count = parser.parse_args().specs
    cli = str(Path(sys.executable).with_name("mlgitops"))
    load_only = [
        sys.executable,
        "-c",
        "from pathlib import Path; from mlgitops.spec import load_repo; load_repo(Path('.'))",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        (repo / "pipelines").mkdir()
        (repo / "data").mkdir()
        for i in range(count):
            name = f"model-{i:03d}"
            (repo / "pipelines" / f"{name}.yaml").write_text(
                SPEC.format(name=name, c=1 + i % 7, pool=i % 3)
            )
            (repo / "data" / f"{name}.csv").write_text("x1,x2,segment,label\n1.0,2.0,a,0\n")
        reference = _timed(load_only, repo)
        cold = _timed([cli, "render"], repo)
        warm = _timed([cli, "render"], repo)
        check = _timed([cli, "render", "--check"], repo)
        files = sum(1 for p in repo.rglob("*") if p.is_file()) - 2 * count
    print(f"{count} specs -> {files} generated files")
    print(f"{'load + validate specs only':30} {reference:7.3f} s  (reference)")
    for name, seconds in (
        ("render (cold, writes all)", cold),
        ("render (nothing changed)", warm),
        ("render --check", check),
    ):
        print(
            f"{name:30} {seconds:7.3f} s  {seconds / reference:5.2f}x reference, {1000 * seconds / count:6.1f} ms/spec"
        )
    if count == 100:
        verdict = "ok" if check <= TARGET_CHECK_S else "OVER"
        print(f"render --check of 100 specs <= {TARGET_CHECK_S} s: {verdict}")


if __name__ == "__main__":
    main()
