"""A small repository with one pipeline and hand-made data whose drift is known exactly."""

from __future__ import annotations

from pathlib import Path

SPEC = """\
name: demo
data:
  path: data/train.csv
  columns:
    x: {{dtype: float64}}
    color: {{dtype: str}}
    label: {{dtype: int64}}
  target: label
model:
  estimator: sklearn.linear_model.LogisticRegression
task: classification
deploy:
  environments:
    - {{name: staging, namespace: ml-staging}}
drift:
  current: data/recent.csv
{extra}"""


def write_csv(path: Path, rows: list[tuple[object, ...]], header: str = "x,color,label") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


def training_rows() -> list[tuple[object, ...]]:
    """x = 1..100 (deciles 10, 20, ... 90); color 60 x a, 40 x b."""
    return [(x, "a" if x <= 60 else "b", x % 2) for x in range(1, 101)]


def shifted_rows() -> list[tuple[object, ...]]:
    """x = 51..150: half the mass moves above the training maximum; colors unchanged."""
    return [(x + 50, "a" if x <= 60 else "b", x % 2) for x in range(1, 101)]


def make_repo(
    root: Path, *, extra: str = "", recent: list[tuple[object, ...]] | None = None
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "mlgitops.yaml").write_text("default_branch: main\n")
    (root / "pipelines").mkdir(exist_ok=True)
    (root / "pipelines" / "demo.yaml").write_text(SPEC.format(extra=extra))
    write_csv(root / "data" / "train.csv", training_rows())
    write_csv(root / "data" / "recent.csv", training_rows() if recent is None else recent)
    return root
