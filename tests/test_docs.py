"""Facts the documentation states that a test can check: they fail when docs and code drift."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlgitops import errors
from mlgitops.basebranch import default_base
from mlgitops.results import Hashes
from mlgitops.spec.loader import parse_pipeline
from mlgitops.training import content

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SPEC = ROOT / "tests" / "specs" / "valid" / "full.yaml"


def _cache_block() -> str:
    text = (DOCS / "train.md").read_text("utf-8")
    section = text.split("## Cache semantics", 1)[1]
    return section.split("```", 2)[1]


def _component(block: str, name: str) -> str:
    found = re.search(
        rf'^\s*(?:content_key = sha256\(canonical JSON \{{)?\s*"{name}":\s*(.*)$', block, re.M
    )
    assert found, f"docs/train.md does not define the {name!r} part of the content key"
    return found.group(1)


def test_the_content_key_parts_are_the_documented_ones() -> None:
    block = _cache_block()
    documented = set(
        re.findall(r'^\s*(?:content_key = sha256\(canonical JSON \{)?\s*"(\w+)":', block, re.M)
    )
    assert documented == {f.name for f in dataclasses.fields(Hashes)} | {"version"}
    assert f'"version": {content.KEY_VERSION}' in block


def test_the_package_part_of_the_key_is_what_the_docs_say() -> None:
    line = _component(_cache_block(), "package")
    keys = set(re.findall(r'\{"(\w+)": version\}', line))
    assert keys == set(content.package_versions()), line
    text = (DOCS / "train.md").read_text("utf-8")
    for library in ("scikit-learn", "sklearn", "numpy", "python"):
        claims = re.findall(rf"{library}[^.]*part of the content key", text, re.I)
        assert claims == [], f"docs/train.md says {library} is in the content key"


def test_the_spec_part_of_the_key_hashes_the_documented_fields() -> None:
    line = _component(_cache_block(), "spec")
    fields = re.search(r"canonical JSON of ([\w, ]+)\)", line)
    assert fields is not None, line
    pipeline = parse_pipeline("pipelines/full.yaml", SPEC.read_text("utf-8"))
    documented = {f.strip() for f in fields.group(1).split(",")}
    assert documented == set(content.training_spec(pipeline))


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _base_rows() -> list[tuple[str, str]]:
    text = (DOCS / "base.md").read_text("utf-8")
    rows = re.findall(r"^\| ([^|]+) \| `([^`]+)` \|$", text, re.M)
    assert len(rows) == 3, rows
    return [(where.strip(), base) for where, base in rows]


def test_the_default_base_is_the_documented_one(tmp_path: Path) -> None:
    remote, root = tmp_path / "remote.git", tmp_path / "repo"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(tmp_path, "init", "-q", "-b", "main", str(root))
    (root / "a.txt").write_text("a\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "first")
    (pull, pulled), (fetched, remote_default), (alone, local_default) = _base_rows()
    assert "$GITHUB_BASE_REF" in pull and "remote branch" in fetched and "no remote" in alone
    env = {"GITHUB_BASE_REF": "release"}
    assert default_base(root, "main", env) == pulled.replace("$GITHUB_BASE_REF", "release")
    assert default_base(root, "main", {}) == local_default.replace("<default_branch>", "main")
    _git(root, "remote", "add", "origin", str(remote))
    _git(root, "push", "-q", "origin", "main")
    _git(root, "fetch", "-q", "origin")
    assert default_base(root, "main", {}) == remote_default.replace("<default_branch>", "main")


@pytest.mark.parametrize("verb", ["plan", "validate", "compare"])
def test_every_base_option_points_at_the_one_default(verb: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlgitops", verb, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    flat = " ".join(result.stdout.split())
    assert (
        "(default: origin/$GITHUB_BASE_REF in a pull request, else origin/<default_branch>, "
        "else <default_branch>; docs/base.md)"
    ) in flat


@pytest.mark.parametrize("doc", ["compare.md", "train.md", "validate.md"])
def test_docs_of_base_options_link_the_one_page(doc: str) -> None:
    assert "[base.md](base.md)" in (DOCS / doc).read_text("utf-8")


def _exit_codes() -> dict[int, str]:
    return {
        errors.EXIT_OK: "ok",
        errors.EXIT_FAILED: "a gate or check failed",
        errors.EXIT_BAD_INPUT: "bad input",
        errors.EXIT_BUG: "an unexpected error",
        errors.EXIT_INTERRUPTED: "interrupted",
        errors.EXIT_PIPE_CLOSED: "the reader of its output went away",
    }


def test_the_readme_lists_the_exit_codes_of_the_code() -> None:
    text = " ".join((ROOT / "README.md").read_text("utf-8").split())
    sentence = text.split("Exit codes: ", 1)[1].split(". ", 1)[0]
    listed = dict(re.findall(r"(\d+) ([a-z][a-z ]+)", sentence))
    assert {int(k): v.strip() for k, v in listed.items()} == _exit_codes()


def test_each_error_family_exits_as_documented() -> None:
    assert errors.BadInput.exit_code == errors.EXIT_BAD_INPUT
    assert errors.ServiceError.exit_code == errors.EXIT_BAD_INPUT
    assert errors.CheckFailed.exit_code == errors.EXIT_FAILED


@pytest.mark.parametrize("doc", sorted(p.name for p in DOCS.glob("*.md")))
def test_docs_mention_only_real_exit_codes(doc: str) -> None:
    text = (DOCS / doc).read_text("utf-8")
    said = {int(c) for c in re.findall(r"\bexit(?: code)? (\d+)\b", text, re.I)}
    said |= {int(c) for c in re.findall(r"^\| (\d+) \|", text, re.M) if "exit" in text.lower()}
    assert said <= set(_exit_codes()), f"{doc} names exit codes {sorted(said - set(_exit_codes()))}"
