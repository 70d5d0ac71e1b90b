"""The manifest writer's text is PyYAML's, byte for byte (the library is the reference)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.render import yamltext

PROJECT = Path(__file__).resolve().parents[2]
AWKWARD = [
    "", " ", "a", "-", "- a", "-a", "?", "? a", ":", ":a", "a:", "a: b", "a:b", "a #b", "a#b",
    "#a", "'", "'a'", '"', 'a"b', "it's", "yes", "No", "ON", "off", "y", "n", "true", "False",
    "null", "Null", "~", "<<", "=", "!", "&", "*", "0", "00", "010", "0o17", "0x1F", "0b101",
    "1_000", "1:30", "190:20:30", "1.5", ".5", "1.", "1e3", "1.0e+3", "1e+3", ".inf", "-.INF",
    ".NaN", "+1", "-0", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43",
    "100m", "256Mi", "v1", "8080", "models:/churn/3", "MODEL_URI=models:/x/1", "a,b", "[a]",
    "{a}", "a [b]", "%a", "@a", "`a", "|", ">", "a|b", " a", "a ", "a  b", "x" * 300,
    "http://prometheus:9090", "sum(rate(x{a=\"b\"}[5m]))", "a\nb", "a\nb\n", "a\n\nb\n",
    "a\n", "\na", " a\nb", "a \nb", "a\n b", "a\nb\n\n", "é", "a\tb", "ü\nb",
    "k" * 122, "k" * 123, "k" * 127, "k" * 128, "y", "Y", "n", "N", "yy", "No", "1e3",
    "-1E-3", "12e5", ".5e1", "0o17", "+0o7", "1e", "e3", "0o8",
]  # fmt: skip


def test_the_implicit_resolvers_are_pyyaml_s() -> None:
    theirs: dict[str, set[str]] = {}
    patterns: dict[str, str] = {}
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        for tag, pattern in resolvers:
            name = tag.rsplit(":", 1)[1]
            theirs.setdefault(name, set()).add(first or "")
            patterns[name] = pattern.pattern
    assert {k: p.pattern for k, p in yamltext.IMPLICIT.items()} == patterns
    ours = {
        name: set(chars) | ({""} if name == "null" else set())
        for name, chars in yamltext._FIRST.items()
    }
    assert ours == theirs


def _shapes(value: Any) -> list[Any]:
    return [
        {"key": value},
        {value if isinstance(value, str) and "\n" not in value else "k": 1},
        [value],
        {"a": {"b": [value, {"c": value}], "d": [[value], []]}, "e": {}},
        [{"a": value, "b": [value]}, [value, [value]]],
    ]


@pytest.mark.parametrize("value", AWKWARD)
def test_awkward_text_is_written_as_pyyaml_writes_it(value: str) -> None:
    for shape in _shapes(value):
        assert yamltext._dump(shape) == yamltext.pyyaml_dump(shape), shape


def test_random_documents_are_written_as_pyyaml_writes_them() -> None:
    rng = random.Random(17)
    alphabet = "ab :#-?'\"{}[],&*!|>%@`~.0123456789eE+_xXoOyYnN<=\n"
    fast = 0

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7)))

    def node(depth: int) -> Any:
        kind = rng.random()
        if depth > 3 or kind < 0.5:
            return rng.choice([text(), text(), rng.randint(-5, 500), rng.random() * 10, None, True])
        if kind < 0.75:
            return {text().replace("\n", ""): node(depth + 1) for _ in range(rng.randint(0, 3))}
        return [node(depth + 1) for _ in range(rng.randint(0, 3))]

    for _ in range(3000):
        document = {"k": node(0), text().replace("\n", "") or "x": node(0)}
        expected = yamltext.pyyaml_dump(document)
        assert yamltext._dump(document) == expected, document
        try:
            yamltext._fast(document)
            fast += 1
        except yamltext._Unsupported:
            pass
    assert fast > 1500  # the fast path is what was compared, not only the fallback


def _generated(tmp_path: Path) -> dict[str, str]:
    """Every manifest rendered for this repository and for each valid spec of the test suite."""
    from mlgitops.render import render_repo
    from mlgitops.spec import load_repo

    texts = {
        p.relative_to(PROJECT).as_posix(): p.read_text()
        for p in (PROJECT / "manifests").rglob("*.yaml")
    }
    for spec in sorted((PROJECT / "tests" / "specs" / "valid").glob("*.yaml")):
        root = tmp_path / spec.stem
        (root / "pipelines").mkdir(parents=True)
        (root / "pipelines" / spec.name).write_text(spec.read_text())
        for rel, content in render_repo(load_repo(root), {}).items():
            if rel.endswith(".yaml") and rel.startswith("manifests/"):
                texts[f"{spec.stem}:{rel}"] = content.decode()
    return texts


def test_every_generated_manifest_is_pyyaml_s_text(tmp_path: Path) -> None:
    texts = _generated(tmp_path)
    assert len(texts) > 20
    for name, text in texts.items():
        document = yaml.safe_load(text)
        written = yamltext._fast(document)  # no fallback: these must take the fast path
        assert written == yamltext.pyyaml_dump(document), name
        assert text.endswith(written), name


@pytest.mark.parametrize(
    "value",
    ["y", "Y", "n", "N", "1e3", "-1E-3", ".5e1", "0o17", "0X1F", "0B11", "0O17", "-0B11",
     "1e1_0", "0_x1F", "1_e3", "+0X_1f"],
)  # fmt: skip
def test_text_go_s_yaml_reads_otherwise_is_quoted(value: str) -> None:
    """PyYAML reads ``y``, ``1e3`` and ``0o17`` as text, Go's YAML (kubectl, kustomize, Argo
    CD) as a boolean and numbers."""
    assert yamltext.dump({"namespace": value, value: [value]}) == (
        f"namespace: '{value}'\n'{value}':\n  - '{value}'\n"
    )
    assert yaml.safe_load(yamltext.dump({"k": value})) == {"k": value}


@pytest.mark.parametrize("value", ["1e", "e3", "0o8", "v1e3", "1e3x", "yes-no"])
def test_text_go_s_yaml_reads_as_text_stays_plain(value: str) -> None:
    assert yamltext.dump({"k": value}) == f"k: {value}\n"


def test_go_s_yaml_reads_every_written_text_back_as_the_same_text(tmp_path: Path) -> None:
    """The real reader: ``kubectl kustomize`` (Go's YAML) reads a ConfigMap whose data holds
    every awkward text, and texts shaped like Go's numbers, as written here. kustomize writes
    a value it read as a number as that number (``0X1F`` as ``31``), so its output, read as
    text alone (PyYAML's ``BaseLoader``), holds every text unchanged."""
    import subprocess

    shaped = [
        f"{sign}{head}{body}"
        for sign in ("", "-", "+")
        for head in ("0x", "0X", "0o", "0O", "0b", "0B", "0_x", "1_", "1e", "1E", "_1", ".")
        for body in ("1", "1F", "_1", "1_0", "17", "8", "e3", "")
    ]
    texts = [t for t in dict.fromkeys([*AWKWARD, *shaped]) if "\n" not in t and t.strip() == t]
    data = {f"k{i}": text for i, text in enumerate(texts)}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": data}
    (tmp_path / "cm.yaml").write_text(yamltext.dump(config_map))
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    built = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=True
    )
    read = yaml.load(built.stdout, Loader=yaml.BaseLoader)["data"]
    assert {data[k]: v for k, v in read.items() if v != data[k]} == {}
    assert len(read) == len(data) > 300
