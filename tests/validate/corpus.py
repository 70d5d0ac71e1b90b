"""The bad-data corpus: each ``data/<case>.csv`` with its ``<case>.expected`` outcome."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CORPUS = HERE / "data"


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    def render(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def make_repo(root: Path) -> Path:
    """A repository with the ``accounts`` pipeline and its pandera schema."""
    (root / "pipelines").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "data").mkdir()
    shutil.copy(HERE / "repo" / "accounts.pipeline.yaml", root / "pipelines" / "accounts.yaml")
    shutil.copy(HERE / "repo" / "accounts.yaml", root / "schemas" / "accounts.yaml")
    (root / "data" / "accounts.csv").write_text("id,age,score,plan\n1,34,0.5,free\n")
    return root


def target_is(root: Path, column: str) -> None:
    """The ``accounts`` pipeline's target is ``column`` (validate refuses a target that
    neither the data nor the schema has)."""
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(spec.read_text().replace("  target: plan\n", f"  target: {column}\n", 1))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    from mlgitops.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def text_columns(
    chance: random.Random, pieces: list[str], most_pieces: int
) -> list[list[str | None]]:
    """150 random columns of text for a parser: 1 to 11 values each, a value a gap one time
    in ten, else 1 to ``most_pieces`` of ``pieces`` joined."""
    return [
        [
            None
            if chance.random() < 0.1
            else "".join(chance.choice(pieces) for _ in range(chance.randrange(1, most_pieces + 1)))
            for _ in range(chance.randrange(1, 12))
        ]
        for _ in range(150)
    ]
