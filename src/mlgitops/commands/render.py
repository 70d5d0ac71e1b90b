"""``mlgitops render [--check]``: specs -> workflows and manifests."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgitops import console, fsio
from mlgitops.errors import EXIT_FAILED, EXIT_OK
from mlgitops.render import is_generated, manifests, render_repo
from mlgitops.spec import load_repo

#: Where generated files live; a generated file here that no spec produces is an orphan.
MANAGED_GLOBS = (
    ".github/workflows/mlgitops-*.yml",
    ".github/actionlint.yaml",
    "manifests/**/*.yaml",
    "manifests/*/image/Dockerfile*",
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a diff when a generated file is missing, stale or edited",
    )


def orphans(root: Path, wanted: set[str]) -> list[str]:
    """Generated files on disk that no spec generates any more."""
    found = set()
    for pattern in MANAGED_GLOBS:
        for path in root.glob(pattern):
            rel = path.relative_to(root).as_posix()
            if rel in wanted:
                continue
            content = fsio.read_bytes(path)
            if content is not None and is_generated(content):
                found.add(rel)
    return sorted(found)


def _diff(root: Path, files: dict[str, bytes], changed: tuple[str, ...], stale: list[str]) -> str:
    import difflib

    chunks: list[str] = []
    for rel in changed:
        old = fsio.read_bytes(root / rel)
        before = old.decode("utf-8", "replace").splitlines(keepends=True) if old else []
        after = files[rel].decode("utf-8").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(before, after, f"a/{rel}", f"b/{rel}"))
    for rel in stale:
        lines = (root / rel).read_text("utf-8", "replace").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(lines, [], f"a/{rel}", "/dev/null"))
    return "".join(
        c if c.endswith("\n") else c + "\n\\ No newline at end of file\n" for c in chunks
    )


def _remove(root: Path, rel: str) -> None:
    """Delete an orphan and the folders it leaves empty (up to the repository root)."""
    path = root / rel
    path.unlink()
    for folder in path.parents:
        if folder == root or any(folder.iterdir()):
            break
        folder.rmdir()


def run(*, repo: Path, check: bool) -> int:
    root = repo.resolve()
    loaded = load_repo(root, check_references=True)
    deployed = manifests.read_deployed(root, loaded.pipelines)
    files = render_repo(loaded, deployed, manifests.read_deployed_images(root, loaded.pipelines))
    stale = orphans(root, set(files))
    if check:
        changes = fsio.plan_writes(root, files)
        if not changes.changed and not stale:
            console.line(f"render --check: {len(files)} generated files are current")
            return EXIT_OK
        console.write(_diff(root, files, changes.changed, stale))
        console.error_line(
            f"render --check: {len(changes.changed) + len(stale)} generated file(s) are "
            "missing, stale or edited by hand; run `mlgitops render` and commit the result"
        )
        return EXIT_FAILED
    changes = fsio.write_tree(root, files)
    for rel in stale:
        _remove(root, rel)
    for rel in changes.created:
        console.line(f"created {rel}")
    for rel in changes.updated:
        console.line(f"updated {rel}")
    for rel in stale:
        console.line(f"removed {rel}")
    console.line(
        f"render: {len(changes.changed)} written, {len(stale)} removed, "
        f"{len(changes.unchanged)} unchanged"
    )
    return EXIT_OK
