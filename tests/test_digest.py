"""The model digest: one sha256 over a folder's files, names and bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlgitops.digest import folder_digest, hex_of


def _folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "sub" / "model.pkl").write_bytes(b"\x00weights")
    return root


def test_the_digest_is_sha256_over_sorted_names_and_contents(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m")
    lines = [
        f"{len(rel)}:{rel}\0{hashlib.sha256(data).hexdigest()}\n"
        for rel, data in (("MLmodel", b"flavors: {}\n"), ("sub/model.pkl", b"\x00weights"))
    ]
    expected = hashlib.sha256("".join(lines).encode()).hexdigest()
    assert folder_digest(folder) == f"sha256:{expected}"
    assert hex_of(folder_digest(folder)) == expected


def test_every_change_changes_the_digest(tmp_path: Path) -> None:
    base = folder_digest(_folder(tmp_path / "a"))
    changed = _folder(tmp_path / "b")
    (changed / "sub" / "model.pkl").write_bytes(b"\x00weightz")
    added = _folder(tmp_path / "c")
    (added / "extra.txt").write_text("")
    renamed = _folder(tmp_path / "d")
    (renamed / "sub" / "model.pkl").rename(renamed / "sub" / "model2.pkl")
    moved = _folder(tmp_path / "e")
    (moved / "sub" / "model.pkl").rename(moved / "model.pkl")
    digests = {base, *(folder_digest(p) for p in (changed, added, renamed, moved))}
    assert len(digests) == 5
    assert folder_digest(_folder(tmp_path / "f")) == base  # same files, same digest
