"""``render`` checks the files and estimator classes a spec names, without importing them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlgitops.cli import main

HEAVY = ("pandas", "pandera", "sklearn", "mlflow", "numpy", "scipy", "pyarrow")


@pytest.fixture
def repo(git_repo: Path) -> Path:
    assert main(["-C", str(git_repo), "init"]) == 0
    return git_repo


def _edit(repo: Path, old: str, new: str) -> None:
    spec = repo / "pipelines" / "tumors.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def _render(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["-C", str(repo), "render"])
    captured = capsys.readouterr()
    return code, captured.err


def test_a_missing_schema_and_data_file_are_spec_errors(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "schemas" / "tumors.yaml").unlink()
    _edit(repo, "path: data/tumors.csv", "path: data/tumours.csv")
    assert _render(repo, capsys) == (
        2,
        "pipelines/tumors.yaml:6:9: data.path: 'data/tumours.csv' does not exist in the "
        "repository (did you mean 'data/tumors.csv'?)\n"
        "pipelines/tumors.yaml:7:11: data.schema: 'schemas/tumors.yaml' does not exist in the "
        "repository\n"
        "mlgitops: 2 problem(s) in the specs; nothing written\n",
    )
    assert not (repo / "manifests").exists()


def test_missing_files_are_reported_with_the_other_spec_problems(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One round: a schema problem elsewhere in the spec does not hide a missing file."""
    _edit(repo, "path: data/tumors.csv", "path: data/tumours.csv")
    _edit(repo, "task: classification", "task: classificatio")
    (repo / "pipelines" / "odd.yaml").write_text(
        "name: odd\ndata: 5\nmodel: {code: src/x.py, estimator: skleran.Foo}\n"
    )
    code, err = _render(repo, capsys)
    assert code == 2
    assert err.splitlines() == [
        "pipelines/odd.yaml:1:1: (top level): missing required key 'task'",
        "pipelines/odd.yaml:2:7: data: expected a mapping, got 5",
        "pipelines/odd.yaml:3:15: model.code: expected a list, got 'src/x.py'",
        "pipelines/odd.yaml:3:36: model.estimator: no module named 'skleran' "
        "(did you mean 'sklearn'?)",
        "pipelines/tumors.yaml:6:9: data.path: 'data/tumours.csv' does not exist in the "
        "repository (did you mean 'data/tumors.csv'?)",
        "pipelines/tumors.yaml:13:7: task: must be one of classification, regression "
        "(got 'classificatio')",
        "mlgitops: 6 problem(s) in the specs; nothing written",
    ]
    assert not (repo / "manifests").exists()


def test_a_dvc_tracked_data_file_counts_as_present(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = repo / "data" / "tumors.csv"
    data.rename(repo / "data" / "tumors.csv.dvc")
    assert _render(repo, capsys) == (0, "")


def test_an_estimator_typo_gets_a_did_you_mean(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(repo, "HistGradientBoostingClassifier", "HistGradientBoostingClasifier")
    assert _render(repo, capsys) == (
        2,
        "pipelines/tumors.yaml:11:14: model.estimator: module 'sklearn.ensemble' has no class "
        "'HistGradientBoostingClasifier' (did you mean 'HistGradientBoostingClassifier'?)\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n",
    )


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (
            "sklearn.ensembel.HistGradientBoostingClassifier",
            "no module named 'sklearn.ensembel' (did you mean 'sklearn.ensemble'?)",
        ),
        (
            "skleran.ensemble.HistGradientBoostingClassifier",
            "no module named 'skleran' (did you mean 'sklearn'?)",
        ),
        (
            "models.forest.Forest",
            "module 'models.forest' has no class 'Forest' (did you mean 'Forests'?)",
        ),
    ],
)
def test_an_estimator_module_typo_is_found_without_importing(
    repo: Path, estimator: str, message: str
) -> None:
    (repo / "models").mkdir()
    (repo / "models" / "__init__.py").write_text("")
    (repo / "models" / "forest.py").write_text("import sklearn\n\nclass Forests:\n    pass\n")
    _edit(repo, "sklearn.ensemble.HistGradientBoostingClassifier", estimator)
    probe = (
        "import json, sys\n"
        "from mlgitops.cli import main\n"
        f"code = main(['-C', {str(repo)!r}, 'render'])\n"
        "sys.stdout.write(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    code, modules = json.loads(done.stdout)
    assert (code, done.stderr) == (
        2,
        f"pipelines/tumors.yaml:11:14: model.estimator: {message}\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n",
    )
    assert [m for m in modules if m.split(".")[0] in HEAVY] == []


@pytest.mark.parametrize(
    "table",
    ["TABLE = 1" + " + 1" * 200_000, "X = " + "-" * 100_000 + "1"],
    ids=["a long sum", "a long unary chain"],
)
def test_a_module_nested_deeper_than_python_parses_is_not_read_for_classes(
    repo: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    """Python cannot compile such a module (RecursionError or MemoryError, not SyntaxError):
    its classes are not known, as for a module that is no Python at all."""
    (repo / "models.py").write_text(f"{table}\n\nclass Model:\n    pass\n")
    _edit(repo, "sklearn.ensemble.HistGradientBoostingClassifier", "models.Model")
    assert _render(repo, capsys) == (0, "")
    (repo / "models.py").write_text("class Model(:\n")
    assert _render(repo, capsys) == (0, "")


def test_a_module_s_classes_are_read_as_the_module_now_is(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Specs naming one module parse it once, and a module edited since is parsed again: a
    class added after a render that missed it is found (the same size, at once)."""
    from mlgitops.spec import references

    parsed: list[bytes] = []
    parse = references._parse

    def counted(source: bytes, name: str) -> object:
        parsed.append(source)
        return parse(source, name)

    monkeypatch.setattr(references, "_parse", counted)
    (repo / "models").mkdir()
    (repo / "models" / "__init__.py").write_text("")
    forest = repo / "models" / "forest.py"
    forest.write_text("class Forests:\n    pass\n")
    _edit(repo, "sklearn.ensemble.HistGradientBoostingClassifier", "models.forest.Forest")
    for copy in ("one", "two"):  # more specs naming the same module
        text = (repo / "pipelines" / "tumors.yaml").read_text()
        (repo / "pipelines" / f"{copy}.yaml").write_text(text.replace("tumors", copy, 1))
    code, err = _render(repo, capsys)
    assert code == 2
    assert err.count("module 'models.forest' has no class 'Forest'") == 3
    assert parsed.count(forest.read_bytes()) == 1
    forest.write_text("class Forest:\n     pass\n")
    assert _render(repo, capsys) == (0, "")
    assert parsed.count(forest.read_bytes()) == 1


def test_a_custom_trainer_script_must_exist(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(
        repo,
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n"
        "  params: {max_iter: 200, learning_rate: 0.1, random_state: 0}\n",
        "  command: python src/train.py --epochs 3\n  code: [src/features/]\n",
    )
    assert _render(repo, capsys) == (
        2,
        "pipelines/tumors.yaml:11:12: model.command: runs 'src/train.py', which does not exist "
        "in the repository\n"
        "pipelines/tumors.yaml:12:10: model.code[0]: 'src/features/' does not exist in the "
        "repository\n"
        "mlgitops: 2 problem(s) in the specs; nothing written\n",
    )


BASE = "python:3.11-slim-bookworm@sha256:" + "ab" * 32
LOCKED = """\
# generated by pip-compile --generate-hashes
--index-url https://pypi.org/simple

mlgitops[serve]==0.1.0 \\
    --hash=sha256:1111111111111111111111111111111111111111111111111111111111111111
numpy==2.0.2 ; python_version >= "3.11" \\
    --hash=sha256:2222222222222222222222222222222222222222222222222222222222222222 \\
    --hash=sha256:3333333333333333333333333333333333333333333333333333333333333333
    # via mlgitops
"""


def _build(repo: Path, requirements: str | None) -> None:
    _edit(
        repo,
        "  server: {port: 8080}\n",
        "  server:\n"
        "    build:\n"
        "      repository: ghcr.io/my-org/tumors-serve\n"
        f"      base: {BASE}\n"
        "      requirements: serving/requirements.txt\n",
    )
    if requirements is not None:
        (repo / "serving").mkdir()
        (repo / "serving" / "requirements.txt").write_text(requirements)


def test_a_hash_locked_requirements_file_renders(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(repo, LOCKED)
    assert _render(repo, capsys) == (0, "")
    assert (repo / "manifests/tumors/image/Dockerfile").is_file()


def test_the_requirements_file_must_exist(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _build(repo, None)
    assert _render(repo, capsys) == (
        2,
        "pipelines/tumors.yaml:31:21: deploy.server.build.requirements: "
        "'serving/requirements.txt' does not exist in the repository\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n",
    )
    assert not (repo / "manifests").exists()


def test_every_requirement_must_be_pinned_and_hashed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(
        repo,
        LOCKED
        + "pandas==2.2.3\n"
        + "scikit-learn>=1.5 --hash=sha256:4444444444444444444444444444444444444444444444444444444444444444\n"
        + "  -r more.txt\n"
        + "-e ./src\n"
        + "prometheus-client \\\n    --hash=sha256:5555555555555555555555555555555555555555555555555555555555555555\n",
    )
    assert _render(repo, capsys) == (
        2,
        "serving/requirements.txt:10:1: 'pandas==2.2.3' has no --hash: the image installs "
        "with --require-hashes (lock the file with pip-compile --generate-hashes)\n"
        "serving/requirements.txt:11:1: 'scikit-learn>=1.5' is not pinned with '==': "
        "--require-hashes installs exact versions only\n"
        "serving/requirements.txt:12:3: '-r more.txt' includes another file, which the image "
        "build does not see: lock every requirement into this one file\n"
        "serving/requirements.txt:13:1: '-e ./src' is an editable install, which cannot be "
        "hash-checked: install a built wheel by version and hash\n"
        "serving/requirements.txt:14:1: 'prometheus-client' is not pinned with '==': "
        "--require-hashes installs exact versions only\n"
        "mlgitops: 5 problem(s) in the specs; nothing written\n",
    )


def test_the_requirements_must_install_mlgitops(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(repo, LOCKED.replace("mlgitops[serve]==0.1.0", "mlflow==3.1.0"))
    assert _render(repo, capsys) == (
        2,
        "pipelines/tumors.yaml:31:21: deploy.server.build.requirements: "
        "'serving/requirements.txt' does not install mlgitops, which the container runs "
        "(`mlgitops serve`): add mlgitops[serve]==<version> with its hashes\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n",
    )


def test_a_requirement_is_pinned_only_by_one_exact_version(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pip's rule: exactly one ``==`` (or ``===``) specifier; a line pip cannot read is named."""
    from packaging.requirements import InvalidRequirement, Requirement

    hashed = " --hash=sha256:" + "6" * 64 + "\n"
    _build(repo, LOCKED + "numpy>=1.26,==2.0.1" + hashed + "scipy=1.14" + hashed)
    with pytest.raises(InvalidRequirement) as unreadable:
        Requirement("scipy=1.14")
    why = str(unreadable.value).splitlines()[0]
    assert _render(repo, capsys) == (
        2,
        "serving/requirements.txt:10:1: 'numpy>=1.26,==2.0.1' is not pinned with '==': "
        "--require-hashes installs exact versions only\n"
        f"serving/requirements.txt:11:1: 'scipy=1.14' is not a requirement pip can read ({why})\n"
        "mlgitops: 2 problem(s) in the specs; nothing written\n",
    )
