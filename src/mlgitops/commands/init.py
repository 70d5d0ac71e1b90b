"""``mlgitops init``: scaffold a working example into a repository."""

from __future__ import annotations

import argparse
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from mlgitops import console, fsio, hygiene
from mlgitops.errors import EXIT_OK, BadInput


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true", help="overwrite scaffold files that already exist"
    )


def _walk(node: Traversable, prefix: str = "") -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            files.update(_walk(child, f"{rel}/"))
        elif not child.name.endswith(".pyc"):
            files[rel] = child.read_bytes()
    return files


def scaffold_files() -> dict[str, bytes]:
    """The scaffold shipped in the package, as repo-relative path -> bytes."""
    return {
        k: v for k, v in _walk(resources.files("mlgitops.scaffold")).items() if k != "__init__.py"
    }


def run(*, repo: Path, force: bool) -> int:
    root = repo.resolve()
    files = scaffold_files()
    existing = sorted(rel for rel in files if (root / rel).exists())
    if existing and not force:
        raise BadInput(
            "these files exist already (use --force to overwrite them): " + ", ".join(existing)
        )
    files[".gitignore"] = hygiene.gitignore_of(root)
    changes = fsio.write_tree(root, files)
    for rel in changes.created:
        console.line(f"created {rel}")
    for rel in changes.updated:
        console.line(f"updated {rel}")
    console.line("")
    console.line(
        "Next: `mlgitops render` writes the workflows and manifests of pipelines/tumors.yaml;"
    )
    console.line("commit them, and every pull request that touches the pipeline gets checked.")
    return EXIT_OK
