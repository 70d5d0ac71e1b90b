"""Schema and data-profile diff against the base branch (real git in tmp)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.validate.corpus import make_repo, run_cli, target_is

SCHEMA = Path(__file__).parents[2] / "src" / "mlgitops" / "schemas" / "validation.schema.json"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    make_repo(git_repo)
    (git_repo / "data" / "accounts.csv").write_text(
        "id,age,score,plan\n1,34,0.5,free\n2,51,,pro\n3,29,2.0,free\n"
    )
    _git(git_repo, "add", "-A")
    _git(git_repo, "commit", "-q", "-m", "base")
    return git_repo


def _change(repo: Path) -> None:
    schema = repo / "schemas" / "accounts.yaml"
    text = schema.read_text().replace("max_value: 120", "max_value: 99")
    text = text.replace("isin: [free, pro, team]", "isin: [free, pro, team, enterprise]")
    schema.write_text(text.replace("coerce: true", "  region:\n    dtype: str\ncoerce: true"))
    (repo / "data" / "accounts.csv").write_text(
        "id,age,score,plan,region\n1,34,0.5,free,eu\n2,51,1.0,enterprise,us\n"
        "3,29,2.0,free,eu\n4,77,,pro,us\n"
    )


def test_diff_against_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _change(repo)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    folder = repo / ".mlgitops" / "accounts"
    diff = json.loads((folder / "datadiff.json").read_text())
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator(
        schema["$defs"]["datadiff"] | {"$defs": schema["$defs"]}
    ).validate(diff)
    assert diff["schema_diff"] == {
        "columns_added": ["region"],
        "columns_removed": [],
        "changes": [
            {"column": "age", "field": "range", "base": "[0, 120]", "head": "[0, 99]"},
            {
                "column": "plan",
                "field": "allowed_values",
                "base": ["free", "pro", "team"],
                "head": ["enterprise", "free", "pro", "team"],
            },
        ],
    }
    profile = diff["profile_diff"]
    assert profile["rows"] == {"base": 3, "head": 4, "delta": 1}
    assert profile["columns_added"] == ["region"]
    by_column = {c["column"]: c for c in profile["columns"]}
    assert by_column["plan"]["values_added"] == ["enterprise"]
    assert by_column["score"]["null_rate"] == {"base": 0.333333, "head": 0.25}
    assert by_column["age"]["max"] == {"base": 51, "head": 77}
    validation = json.loads((folder / "validation.json").read_text())
    assert validation["schema_diff"] == diff["schema_diff"]
    assert validation["profile_diff"] == profile
    markdown = (folder / "datadiff.md").read_text()
    assert markdown.startswith("### Data changes against `HEAD`\n\n**Schema**\n\n")
    assert "- column added: `region`" in markdown
    assert "- `age` range: <code>[0, 120]</code> → <code>[0, 99]</code>" in markdown
    assert "- rows: 3 → 4 (+1)" in markdown


@pytest.mark.parametrize(
    ("written", "high", "mean"),
    [("inf", "inf", "inf"), ("1e308", 1e308, None)],  # the second: a sum past the largest float
)
def test_infinite_values_and_overflowing_sums_profile_without_a_crash(
    repo: Path, capsys: pytest.CaptureFixture[str], written: str, high: object, mean: object
) -> None:
    (repo / "data" / "accounts.csv").write_text(
        f"id,age,score,plan\n1,34,{written},free\n2,51,{written},pro\n3,29,{written},free\n"
    )
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff = json.loads((repo / ".mlgitops" / "accounts" / "datadiff.json").read_text())
    [score] = [c for c in diff["profile_diff"]["columns"] if c["column"] == "score"]
    assert score["max"] == {"base": 2.0, "head": high}
    assert score["mean"] == {"base": 1.25, "head": mean}


@pytest.mark.parametrize("side", ["head", "base"])
def test_numbers_written_another_way_profile_as_numbers(
    repo: Path, capsys: pytest.CaptureFixture[str], side: str
) -> None:
    """``51.0`` in an integer column, ``1_5`` in a float one: pandas and pandera read
    numbers, and so does the reader after a restart as text. The data changes shown on
    the pull request are of those numbers, on either side, not of text categories."""
    odd = "id,age,score,plan\n1,34,0.5,free\n2,51.0,1_5,pro\n3,29,2.0,free\n"
    plain = "id,age,score,plan\n1,34,0.5,free\n2,51,15,pro\n3,29,2.0,free\n"
    data = repo / "data" / "accounts.csv"
    data.write_text(odd if side == "base" else plain)
    _git(repo, "commit", "-q", "-am", "base")
    data.write_text((plain if side == "base" else odd) + "4,60,1.0,pro\n")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff = json.loads((repo / ".mlgitops" / "accounts" / "datadiff.json").read_text())
    by_column = {c["column"]: c for c in diff["profile_diff"]["columns"]}
    assert by_column["age"] == {
        "column": "age",
        "max": {"base": 51, "head": 60},
        "mean": {"base": 38.0, "head": 43.5},
    }
    assert by_column["score"] == {"column": "score", "mean": {"base": 5.833333, "head": 4.625}}


def test_a_base_schema_that_is_not_utf_8_is_a_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pull request that fixes a schema written in Latin-1 is validated: the base's
    schema is named as unreadable in the diff's notes."""
    schema = repo / "schemas" / "accounts.yaml"
    utf8 = schema.read_bytes()
    schema.write_bytes(utf8.replace(b"schema_type", b"# \xe9t\xe9\nschema_type", 1))
    _git(repo, "commit", "-qam", "a Latin-1 comment")
    schema.write_bytes(utf8)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff = json.loads((repo / ".mlgitops" / "accounts" / "datadiff.json").read_text())
    assert diff["schema_diff"] is None
    [note] = diff["notes"]
    assert note.startswith("the schema at HEAD cannot be loaded: HEAD:schemas/accounts.yaml")
    assert "UTF-8" in note


def _in_lfs(repo: Path, data: bytes, *, fetched: bytes | None) -> None:
    """Commit ``data/accounts.csv`` as Git LFS does: its pointer in the commit, its object
    (``fetched``) in the clone's LFS store when there is one."""
    import hashlib

    oid = hashlib.sha256(data).hexdigest()
    (repo / "data" / "accounts.csv").write_text(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n"
    )
    _git(repo, "commit", "-qam", "the data, as a commit holds it in Git LFS")
    if fetched is not None:
        store = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4]
        store.mkdir(parents=True)
        (store / oid).write_bytes(fetched)


def test_data_in_git_lfs_at_the_base_is_read_from_the_clone_s_lfs_store(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = (repo / "data" / "accounts.csv").read_bytes()
    _in_lfs(repo, rows, fetched=rows)
    (repo / "data" / "accounts.csv").write_bytes(rows + b"4,77,1.5,pro\n")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff = json.loads((repo / ".mlgitops" / "accounts" / "datadiff.json").read_text())
    assert diff["notes"] == []
    assert diff["profile_diff"]["rows"] == {"base": 3, "head": 4, "delta": 1}


@pytest.mark.parametrize("fetched", [None, b"id,age,score,plan\n9,9,9.0,free\n"])
def test_data_in_git_lfs_at_the_base_without_its_object_is_a_note(
    repo: Path, capsys: pytest.CaptureFixture[str], fetched: bytes | None
) -> None:
    """The object is not in this clone (CI fetches the head's only), or is not the one the
    pointer names: the base's data is not read as a CSV of three lines, and the note says
    why there is no profile diff."""
    rows = (repo / "data" / "accounts.csv").read_bytes()
    _in_lfs(repo, rows, fetched=fetched)
    (repo / "data" / "accounts.csv").write_bytes(rows)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff = json.loads((repo / ".mlgitops" / "accounts" / "datadiff.json").read_text())
    assert diff["profile_diff"] is None
    assert diff["notes"] == [
        "data/accounts.csv is stored in Git LFS: HEAD holds its pointer, and its object is "
        "not in this clone (git lfs fetch origin HEAD --include=data/accounts.csv); "
        "no profile diff"
    ]


def test_a_new_pipeline_has_nothing_to_compare(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = repo / "pipelines" / "accounts.yaml"
    spec.rename(repo / "pipelines" / "accounts2.yaml")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert outcome.stdout.splitlines()[-1] == (
        "note: pipelines/accounts2.yaml does not exist at HEAD: a new pipeline, nothing to compare"
    )
    diff = json.loads((repo / ".mlgitops/accounts/datadiff.json").read_text())
    assert (diff["schema_diff"], diff["profile_diff"]) == (None, None)


def test_an_unknown_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "nope")
    assert outcome.code == 2
    assert outcome.stderr == (
        f"mlgitops validate: error: --base nope: no such commit in {repo.resolve()} "
        "(a shallow checkout? fetch it first)\n"
    )


def test_pull_request_default_base(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(remote))
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    _git(repo, "fetch", "-q", "origin")
    _change(repo)
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 0
    diff = json.loads((repo / ".mlgitops/accounts/datadiff.json").read_text())
    assert diff["base"] == "origin/main"
    assert diff["schema_diff"]["columns_added"] == ["region"]


@pytest.mark.parametrize("base_ref", [None, "main"], ids=["default branch", "pull request"])
def test_a_tag_named_as_the_remote_branch_is_refused_as_the_base(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, base_ref: str | None,
) -> None:  # fmt: skip
    """A tag ``origin/main`` (which a checkout of every tag brings) is what git reads for
    ``origin/main``: the review judged the pull request against whatever commit the tag's
    author chose, its records of what is deployed included."""
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(remote))
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    _git(repo, "fetch", "-q", "origin")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "chosen by the tag's author")
    _git(repo, "tag", "origin/main")
    _git(repo, "reset", "-q", "--hard", "HEAD~1")
    if base_ref:
        monkeypatch.setenv("GITHUB_BASE_REF", base_ref)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stderr) == (
        2,
        "mlgitops validate: error: origin/main names the tag refs/tags/origin/main, not the "
        "remote branch refs/remotes/origin/main: delete the tag (git tag -d origin/main, and "
        "git push origin :refs/tags/origin/main where it was pushed)\n",
    )
    assert not (repo / ".mlgitops" / "accounts" / "datadiff.json").exists()


def test_no_base_leaves_no_stale_diff(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (repo / ".mlgitops/accounts/datadiff.json").exists()
    run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert not (repo / ".mlgitops/accounts/datadiff.json").exists()
    assert (
        json.loads((repo / ".mlgitops/accounts/validation.json").read_text())["schema_diff"] is None
    )


def _column_added(
    git_repo: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], added: str
) -> dict[str, Any]:
    """The data diff of a change that adds a column ``added`` to the data, the schema
    edited by ``edit`` (text, its replacement) in both commits."""
    make_repo(git_repo)
    schema = git_repo / "schemas" / "accounts.yaml"
    schema.write_text(schema.read_text().replace(*edit))
    data = git_repo / "data" / "accounts.csv"
    data.write_text("id,age,score,plan\n1,34,0.5,free\n2,51,,pro\n")
    _git(git_repo, "add", "-A")
    _git(git_repo, "commit", "-q", "-m", "base")
    data.write_text(f"id,age,score,plan,{added}\n1,34,0.5,free,eu\n2,51,,pro,us\n")
    outcome = run_cli(capsys, "-C", str(git_repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff: dict[str, Any] = json.loads((git_repo / ".mlgitops/accounts/datadiff.json").read_text())
    return diff


def test_an_undeclared_column_in_the_data_is_reported(
    git_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diff = _column_added(git_repo, capsys, ("strict: true", "strict: false"), "region")
    folder = git_repo / ".mlgitops" / "accounts"
    assert diff["schema_diff"] == {"columns_added": [], "columns_removed": [], "changes": []}
    assert diff["data_columns"] == {"added": ["region"], "removed": [], "undeclared": ["region"]}
    assert (folder / "datadiff.md").read_text() == (
        "### Data changes against `HEAD`\n"
        "\n"
        "**Schema**\n"
        "\n"
        "No schema changes.\n"
        "\n"
        "**Data columns**\n"
        "\n"
        "- column added to the data: `region` (not declared in the schema: not a feature, "
        "and no column of the schema validates it)\n"
        "\n"
        "**Data profile**\n"
        "\n"
        "- rows: 2 → 2 (+0)\n"
    )


def _inline_repo(root: Path, columns: str) -> Path:
    """The corpus repository with inline ``data.columns`` instead of a schema file."""
    make_repo(root)
    spec = root / "pipelines" / "accounts.yaml"
    spec.write_text(
        spec.read_text().replace("  schema: schemas/accounts.yaml\n", f"  columns:\n{columns}")
    )
    (root / "data" / "accounts.csv").write_text("id,region,plan\n1,eu,free\n2,us,pro\n")
    return root


INLINE = "    id: {dtype: int64}\n    region: {dtype: category}\n    plan: {dtype: str}\n"


def test_an_inline_str_column_is_str_in_the_diff(
    git_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The spec's ``str`` is pandas' text dtype, which pandera calls ``string[pyarrow]``:
    the diff names it as the spec does."""
    spec = _inline_repo(git_repo, INLINE) / "pipelines" / "accounts.yaml"
    _git(git_repo, "add", "-A")
    _git(git_repo, "commit", "-q", "-m", "base")
    spec.write_text(spec.read_text().replace("region: {dtype: category}", "region: {dtype: str}"))
    outcome = run_cli(capsys, "-C", str(git_repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    folder = git_repo / ".mlgitops" / "accounts"
    diff = json.loads((folder / "datadiff.json").read_text())
    assert diff["schema_diff"]["changes"] == [
        {"column": "region", "field": "dtype", "base": "category", "head": "str"}
    ]
    validation = json.loads((folder / "validation.json").read_text())
    assert validation["schema_diff"] == diff["schema_diff"]
    markdown = (folder / "datadiff.md").read_text()
    assert "- `region` dtype: <code>category</code> → <code>str</code>\n" in markdown


def test_text_columns_moved_from_the_spec_to_a_schema_file_keep_their_dtype(
    git_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schema file's ``str`` and ``string`` are the spec's ``str``: moving the columns
    into a file changes no dtype in the diff."""
    inline = INLINE.replace("category", "str")
    spec = _inline_repo(git_repo, inline) / "pipelines" / "accounts.yaml"
    _git(git_repo, "add", "-A")
    _git(git_repo, "commit", "-q", "-m", "base")
    spec.write_text(spec.read_text().replace(f"  columns:\n{inline}", "  schema: s.yaml\n"))
    (git_repo / "s.yaml").write_text(
        "schema_type: dataframe\ncolumns:\n  id: {dtype: int64}\n  region: {dtype: string}\n"
        "  plan: {dtype: str}\ncoerce: true\nstrict: true\n"
    )
    outcome = run_cli(capsys, "-C", str(git_repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff = json.loads((git_repo / ".mlgitops" / "accounts" / "datadiff.json").read_text())
    assert diff["schema_diff"] == {"columns_added": [], "columns_removed": [], "changes": []}


def test_a_schema_wide_dtype_added_shows_on_every_column_it_retypes(
    git_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandera gives ``dtype`` beside ``columns`` to every column, over the column's own: a
    pull request that adds one changes the type of each column, and the diff says so."""
    make_repo(git_repo)
    target_is(git_repo, "age")
    schema = git_repo / "schemas" / "accounts.yaml"
    columns = "columns:\n  id: {dtype: int64}\n  age: {dtype: int64}\n  score: {nullable: true}\n"
    schema.write_text("schema_type: dataframe\n" + columns + "coerce: true\n")
    (git_repo / "data" / "accounts.csv").write_text("id,age,score\n1,34,0.5\n2,51,\n")
    _git(git_repo, "add", "-A")
    _git(git_repo, "commit", "-q", "-m", "base")
    schema.write_text("dtype: float64\n" + schema.read_text())
    outcome = run_cli(capsys, "-C", str(git_repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    diff = json.loads((git_repo / ".mlgitops/accounts/datadiff.json").read_text())
    assert diff["schema_diff"] == {
        "columns_added": [],
        "columns_removed": [],
        "changes": [
            {"column": "age", "field": "dtype", "base": "int64", "head": "float64"},
            {"column": "id", "field": "dtype", "base": "int64", "head": "float64"},
            {"column": "score", "field": "dtype", "base": None, "head": "float64"},
            {"column": None, "field": "dtype", "base": None, "head": "float64"},
        ],
    }


def test_a_column_a_regex_column_stands_for_is_declared(
    git_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A column the schema declares through a regex column is validated and a feature: the
    data columns' note does not call it undeclared."""
    regex = "  region_.*:\n    regex: true\n    dtype: str\n    required: false\ncoerce: true"
    diff = _column_added(git_repo, capsys, ("coerce: true", regex), "region_eu")
    assert diff["data_columns"] == {"added": ["region_eu"], "removed": [], "undeclared": []}


def test_a_category_only_added_shows_no_empty_removed_list(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan`` gains ``enterprise`` and loses nothing: datadiff.md and the report's
    categories cell say what was added, never ``removed []``."""
    _change(repo)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--base", "HEAD")
    assert (outcome.code, outcome.stderr) == (0, "")
    assert run_cli(capsys, "-C", str(repo), "report", "accounts").code == 0
    folder = repo / ".mlgitops" / "accounts"
    datadiff = (folder / "datadiff.md").read_text().splitlines()
    [plan] = [line for line in datadiff if line.startswith("| `plan` |")]
    assert plan == "| `plan` |  |  |  |  | added <code>['enterprise']</code> |"
    report = (folder / "report.md").read_text().splitlines()
    [plan] = [line for line in report if line.startswith("| `plan` |")]
    assert plan == '| `plan` |  |  |  |  | added `["enterprise"]` |'
