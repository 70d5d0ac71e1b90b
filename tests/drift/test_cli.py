"""``mlgitops drift`` end to end on files, without GitHub: exact output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlgitops.cli import main
from mlgitops.drift import stats
from mlgitops.drift.profile import build_reference, dumps_reference
from tests.drift.repo import make_repo, shifted_rows, training_rows, write_csv

LEGEND = """\
<details><summary>How to read this report</summary>

PSI (population stability index) compares the share of rows per decile (numeric) or per category (categorical), missing values as a bin of their own: below 0.1 is stable, 0.1 to the threshold moderate, above it a significant shift, unless as few rows as these give it by chance where nothing changed (within noise: at the tests' level). KS is the two-sample Kolmogorov-Smirnov test against the training data's stored CDF; χ² is the chi-squared test of homogeneity of the category counts. With many rows, tests flag small shifts: read the PSI first.

</details>
"""

SHIFTED = (
    """\
<!-- mlgitops:drift:demo -->

## Data drift: `demo` — drift detected

Drift in 1 of 2 features: x.

Current data: data/recent.csv (100 rows). Reference: computed now from data/train.csv (100 rows). \
A feature drifts when PSI > 0.25 (or its own threshold) or the test p-value < 0.01.

| feature | kind | status | PSI | test | statistic | p-value | missing (ref → cur) |
|---|---|---|---:|---|---:|---:|---|
| `x` | numeric | **drift** | 4.3458 | KS | 0.5000 | 1.1e-11 | 0.0% → 0.0% |
| `color` | categorical | stable | 0.0000 | χ² | 0.0000 | 1.0000 | 0.0% → 0.0% |

"""
    + LEGEND
)


def _run(repo: Path, *args: str) -> int:
    return main(["-C", str(repo), "drift", "demo", *args])


def test_unshifted_data_exits_0_and_opens_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    assert _run(repo) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[2] == "## Data drift: `demo` — no drift"
    assert out.splitlines()[4] == "No drift in 2 features."
    assert out.splitlines()[-1] == "mlgitops drift: no drift; nothing opened"
    assert err == "mlgitops drift: no stored reference found; computed one from data/train.csv\n"


def test_shifted_data_exits_1_with_the_exact_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    assert _run(repo) == 1
    out, _ = capsys.readouterr()
    assert out == SHIFTED + (
        "mlgitops drift: drift found; GITHUB_TOKEN or GITHUB_REPOSITORY not set: nothing opened\n"
    )
    assert (repo / ".mlgitops" / "demo" / "drift.md").read_text() == SHIFTED


def test_a_few_unchanged_rows_whose_psi_is_over_the_threshold_by_chance_do_not_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """16 rows of the training values leave two of x's ten deciles empty: PSI 1.42, over
    0.25, where 16 rows against 100 reach 3.2 by chance one time in 100. Before, a
    retraining pull request was opened on them."""
    values = [3, 8, 13, 18, 23, 28, 33, 38, 43, 48, 53, 58, 63, 68, 73, 78]
    recent = [(x, "a" if i % 5 < 3 else "b", x % 2) for i, x in enumerate(values)]
    repo = make_repo(tmp_path / "repo", recent=recent)
    assert _run(repo) == 0
    out, _ = capsys.readouterr()
    doc = json.loads((repo / ".mlgitops" / "demo" / "drift.json").read_text())
    x = doc["features"][0]
    assert (x["name"], x["status"], x["drifted"], x["reasons"]) == ("x", "within noise", False, [])
    assert x["psi"] > 0.25 and x["psi_noise"] > x["psi"]
    assert f"| `x` | numeric | within noise | {x['psi']:.4f} | KS |" in out
    assert doc["notes"] == [
        f"x: PSI {x['psi']:.3f} is over 0.25, but 16 rows against 100 pass "
        f"{x['psi_noise']:.3f} by chance with probability 0.01 where nothing changed; "
        "its KS test finds no drift"
    ]
    assert out.splitlines()[-1] == "mlgitops drift: no drift; nothing opened"


def test_psi_of_the_shift_is_the_hand_computed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    _run(repo)
    doc = json.loads((repo / ".mlgitops" / "demo" / "drift.json").read_text())
    x = doc["features"][0]
    # Deciles of 1..100: five bins emptied, four keep 10%, the top bin gets 60%.
    expected = stats.psi(np.full(10, 0.1), np.array([0] * 5 + [0.1] * 4 + [0.6]))
    assert x["psi"] == round(expected, 6)
    assert (x["statistic"], x["reasons"][0]) == (0.5, f"PSI {expected:.3f} > 0.25")
    assert doc["drifted"] is True
    assert doc["summary"] == "drift in 1 of 2 features: x"


def test_json_flag_prints_drift_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    assert _run(repo, "--json") == 0
    out, _ = capsys.readouterr()
    body = out.rsplit("mlgitops drift:", 1)[0]
    assert json.loads(body) == json.loads((repo / ".mlgitops" / "demo" / "drift.json").read_text())


def test_action_none_opens_nothing_even_with_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    assert _run(repo, "--action", "none") == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "mlgitops drift: drift found; --action none: nothing opened"
    )


def test_reference_file_wins_over_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    shifted = pd.read_csv(repo / "data" / "recent.csv")
    (repo / "ref.json").write_text(dumps_reference(build_reference(shifted, "label")))
    assert _run(repo, "--reference", "ref.json") == 0
    out, err = capsys.readouterr()
    assert "Reference: ref.json (100 rows)." in out
    assert err == ""


def test_hand_off_reference_is_used_before_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    handoff = repo / ".mlgitops" / "demo" / "reference.json"
    handoff.parent.mkdir(parents=True)
    handoff.write_text(
        dumps_reference(build_reference(pd.read_csv(repo / "data" / "recent.csv"), "label"))
    )
    assert _run(repo) == 0
    assert f"Reference: {handoff} (100 rows)." in capsys.readouterr().out


def test_current_option_overrides_the_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    write_csv(repo / "data" / "other.csv", shifted_rows())
    assert _run(repo, "--current", "data/other.csv") == 1
    assert "Current data: data/other.csv (100 rows)." in capsys.readouterr().out


def test_current_data_without_the_target_is_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a model served has no labels: the docs said the target may be present or not,
    and drift refused such a file for its missing target (exit 2)."""
    repo = make_repo(tmp_path / "repo")
    rows = [(x, color) for x, color, _ in shifted_rows()]
    write_csv(repo / "data" / "served.csv", rows, header="x,color")
    assert _run(repo, "--current", "data/served.csv") == 1
    out, err = capsys.readouterr()
    assert "Current data: data/served.csv (100 rows)." in out
    assert "| `x` | numeric | **drift** | 4.3458 |" in out
    assert "label" not in out
    assert err == "mlgitops drift: no stored reference found; computed one from data/train.csv\n"


def test_parquet_current_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    repo = make_repo(tmp_path / "repo")
    pd.DataFrame(training_rows(), columns=["x", "color", "label"]).to_parquet(
        repo / "data" / "r.parquet"
    )
    assert _run(repo, "--current", "data/r.parquet") == 0


def test_per_feature_threshold_and_ignore_from_the_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = "  features:\n    x: {ignore: true}\n"
    repo = make_repo(tmp_path / "repo", extra=extra, recent=shifted_rows())
    assert _run(repo) == 0
    out, _ = capsys.readouterr()
    assert "| `x` | numeric | ignored | - | - | - | - | 0.0% → - |" in out
    assert "No drift in 1 feature." in out


def test_a_feature_setting_that_names_no_feature_is_named_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``drift.features: {colour: {ignore: true}}`` was accepted, and ``color`` kept judged
    (and a drifting one failing) without a word."""
    extra = "  features:\n    colour: {ignore: true}\n    label: {psi: 0.5}\n"
    repo = make_repo(tmp_path / "repo", extra=extra, recent=shifted_rows())
    capsys.readouterr()
    assert _run(repo, "--action", "none") == 2
    assert capsys.readouterr().err.splitlines()[1:] == [
        "pipelines/demo.yaml:18:5: drift.features.colour: no feature of the training data is "
        "named 'colour' (its features: x, color)",
        "pipelines/demo.yaml:19:5: drift.features.label: no feature of the training data is "
        "named 'label' (its features: x, color)",
        "mlgitops: 2 problem(s) in the specs; nothing written",
    ]
    assert not (repo / ".mlgitops" / "demo" / "drift.md").exists()


def test_a_spec_that_ignores_every_feature_is_refused_at_drift_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every feature ignored left drift judging none: "No drift in 0 features.", exit 0,
    every week, whatever the data did."""
    extra = "  features:\n    x: {ignore: true}\n    color: {ignore: true}\n"
    repo = make_repo(tmp_path / "repo", extra=extra, recent=shifted_rows())
    capsys.readouterr()
    assert _run(repo, "--action", "none") == 2
    assert capsys.readouterr().err.splitlines()[1:] == [
        "pipelines/demo.yaml:17:3: drift.features: every feature of the training data is "
        "ignored (x, color): drift would judge none, and find no drift in any data; judge "
        "one at least, or remove drift: to have no drift job",
        "mlgitops: 1 problem(s) in the specs; nothing written",
    ]
    assert not (repo / ".mlgitops" / "demo" / "drift.md").exists()


def test_missing_column_and_new_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    rows = [(x, x % 2, "r") for x in range(1, 101)]
    write_csv(repo / "data" / "recent.csv", rows, header="x,label,request_id")
    assert _run(repo) == 1
    out, _ = capsys.readouterr()
    assert "| `color` | categorical | **missing** | - | - | - | - | 0.0% → - |" in out
    assert "### Missing columns\n\nIn the training data, absent now:\n\n- `color`\n" in out
    assert "### New columns\n\nNot in the training data (not checked):\n\n- `request_id`\n" in out


def test_new_category_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    rows = [(x, "c" if x > 90 else "a" if x <= 60 else "b", x % 2) for x in range(1, 101)]
    write_csv(repo / "data" / "recent.csv", rows)
    _run(repo)
    assert "### New categories\n\n- `color`: `c` (10 rows)\n" in capsys.readouterr().out


def test_values_that_are_not_numbers_count_as_missing_and_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Drifting data often fails validation, a value that is not a number included: the
    report still comes, with those values as missing and a note that says so."""
    rows = training_rows()
    rows[3] = ("n/a?", *rows[3][1:])
    rows[50] = ("unknown", *rows[50][1:])
    repo = make_repo(tmp_path / "repo", recent=rows)
    assert _run(repo) == 0
    out, _ = capsys.readouterr()
    said = "x: 2 value(s) are not numbers (the first on line 5: 'n/a?'); counted as missing"
    assert f"- {said}" in out
    report = json.loads((repo / ".mlgitops" / "demo" / "drift.json").read_text())
    assert report["notes"] == [said]
    [x] = [f for f in report["features"] if f["name"] == "x"]
    assert x["null_rate"] == {"reference": 0.0, "current": 0.02}


def test_no_current_data_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    spec = repo / "pipelines" / "demo.yaml"
    spec.write_text(spec.read_text().replace("  current: data/recent.csv\n", "  psi: 0.2\n"))
    assert _run(repo) == 2
    assert capsys.readouterr().err == (
        "mlgitops drift: error: no current data for demo: "
        "pass --current PATH_OR_URL or set drift.current in pipelines/demo.yaml\n"
    )


def test_missing_current_file_is_bad_input_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    assert _run(repo, "--current", "data/nope.csv") == 2
    assert capsys.readouterr().err.endswith("mlgitops drift: error: data/nope.csv: no such file\n")
    assert not (repo / ".mlgitops" / "demo" / "drift.json").exists()


@pytest.mark.parametrize("option", ["--current", "--reference"])
def test_a_file_name_that_is_not_utf8_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    import os
    import shutil

    repo = make_repo(tmp_path / "repo")
    name = os.fsdecode(b"data/recent\xff.csv")
    shutil.copy(repo / "data" / "recent.csv", repo / name)
    with pytest.raises(SystemExit) as exited:
        _run(repo, option, name)
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"mlgitops drift: error: argument {option}: data/recent\\xff.csv: the file name is "
        "not UTF-8; rename it\n"
    )
    assert not (repo / ".mlgitops").exists()


def test_bad_reference_file_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "ref.json").write_text('{"kind": "something else"}')
    assert _run(repo, "--reference", "ref.json") == 2
    assert capsys.readouterr().err == (
        "mlgitops drift: error: ref.json: not a drift reference "
        "(expected kind 'mlgitops.drift.reference')\n"
    )


def test_a_reference_file_nested_too_deeply_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "ref.json").write_text("[" * 100_000 + "]" * 100_000)
    assert _run(repo, "--reference", "ref.json") == 2
    assert capsys.readouterr().err == (
        "mlgitops drift: error: ref.json: not valid JSON (nested more than 100 levels deep)\n"
    )


def _deployed_record(repo: Path, text: bytes) -> str:
    """The first environment's ``model.json``, where drift looks for the deployed run."""
    rel = "manifests/demo/overlays/staging/model.json"
    (repo / rel).parent.mkdir(parents=True)
    (repo / rel).write_bytes(text)
    return rel


_RECORD = {
    "schema_version": 1,
    "pipeline": "demo",
    "environment": "staging",
    "model_name": "demo",
    "version": "1",
    "model_uri": "models:/demo/1",
    "run_id": "r" * 32,
    "content_key": "k",
    "metrics": {},
    "data_hash": "d",
    "spec_hash": "s",
    "commit": "c",
}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            json.dumps(_RECORD).replace("demo", "dem\xff", 1).encode("latin-1"),
            "not UTF-8 text (invalid start byte)",
        ),
        (
            json.dumps(_RECORD | {"run_id": 5}).encode(),
            "not a valid provenance record (run_id: 5 is not a str)",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON (nested more than 100 levels deep)"),
    ],
    ids=["not-utf8", "run-id-a-number", "nested-too-deeply"],
)
def test_a_deployed_record_that_cannot_be_used_is_bad_input(
    tmp_path: Path, text: bytes, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    rel = _deployed_record(repo, text)
    assert _run(repo, "--action", "none") == 2
    assert capsys.readouterr().err == f"mlgitops drift: error: {rel}: {problem}\n"


def test_unknown_pipeline_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    assert main(["-C", str(repo), "drift", "nope"]) == 2
    assert capsys.readouterr().err == (
        "mlgitops drift: error: no pipeline named 'nope' in pipelines/ (known: demo)\n"
    )


def test_github_outputs_are_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out_file = tmp_path / "gh_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    _run(repo)
    report = repo / ".mlgitops" / "demo" / "drift.md"
    assert out_file.read_text() == f"drifted=true\nreport-path={report}\n"


def _reference_with(repo: Path, edit: dict[str, object]) -> None:
    """A reference of the training data with ``edit`` merged into its numeric feature ``x``."""
    import pandas as pd

    reference = build_reference(pd.read_csv(repo / "data" / "train.csv"), "label")
    for key, value in edit.items():
        part, _, field = key.partition(".")
        if field:
            reference["features"][0][part][field] = value
        else:
            reference["features"][0][part] = value
    (repo / "ref.json").write_text(json.dumps(reference))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"bins.edges": [1.0]},
            "bins.proportions must hold one more value than bins.edges (10 for 1 edge(s))",
        ),
        (
            {"cdf.values": [1.0]},
            "cdf.values and cdf.proportions must be as long as each other (1 and 100)",
        ),
        ({"bins.proportions": [0.5, None]}, "bins.proportions[1] must be a number from 0 to 1"),
        ({"min": 50.0}, "min must not be above cdf.values[0] (50 > 1)"),
    ],
    ids=["edges", "cdf", "null-proportion", "min"],
)
def test_a_reference_whose_profile_arrays_disagree_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: dict[str, object], message: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    _reference_with(repo, edit)
    assert _run(repo, "--reference", "ref.json") == 2
    assert capsys.readouterr().err == (
        f"mlgitops drift: error: ref.json: features[0] (x): {message}\n"
    )


DATED = """\
name: demo
data:
  path: data/train.csv
  columns:
    x: {dtype: float64}
    ts: {dtype: 'datetime64[ns]'}
    label: {dtype: int64}
  target: label
model:
  estimator: sklearn.linear_model.LogisticRegression
task: classification
drift:
  current: data/recent.csv
"""


@pytest.mark.parametrize("stored", [False, True])
def test_a_date_column_is_not_judged_as_categories_of_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stored: bool
) -> None:
    """Dates are read as text: each timestamp was a category, so data whose only change is
    the passing of time drifted on every run. Dates are not profiled (docs/drift.md), and
    a reference that profiled them (``stored``: as an earlier train recorded it) is judged
    without them; the report says the column is not judged."""
    import pandas as pd

    repo = make_repo(tmp_path / "repo")
    (repo / "pipelines" / "demo.yaml").write_text(DATED)
    x = np.tile(np.arange(1, 101, dtype=float), 2)
    when = pd.date_range("2024-01-01", periods=200, freq="h")
    train = pd.DataFrame({"x": x, "ts": when, "label": np.arange(200) % 2})
    train.to_csv(repo / "data" / "train.csv", index=False)
    recent = train.assign(ts=when + pd.Timedelta(days=31))
    recent.to_csv(repo / "data" / "recent.csv", index=False)
    if stored:
        profile = build_reference(train.astype({"ts": str}), "label")
        assert [f["name"] for f in profile["features"]] == ["x", "ts"]  # as it was recorded
        (repo / "reference.json").write_text(dumps_reference(profile))
    assert _run(repo, *(["--reference", "reference.json"] if stored else [])) == 0
    capsys.readouterr()
    report = json.loads((repo / ".mlgitops" / "demo" / "drift.json").read_text())
    assert [f["name"] for f in report["features"]] == ["x"]
    assert report["notes"] == ["ts: not judged: dates and times are not profiled"]
    assert report["new_columns"] == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_current_data_without_any_declared_column_is_bad_input_that_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Rows, but none of the schema's columns (a file of another export, or read with the
    wrong delimiter): it said "no data rows"."""
    import pandas as pd

    repo = make_repo(tmp_path / "repo")
    other = repo / "data" / f"other.{fmt}"
    if fmt == "csv":
        other.write_text("x;color;label\n1;a;0\n2;b;1\n")
    else:
        pd.DataFrame({"x;color;label": ["1;a;0", "2;b;1"]}).to_parquet(other, index=False)
    assert _run(repo, "--current", f"data/other.{fmt}") == 2
    _, err = capsys.readouterr()
    assert err.endswith(
        f"mlgitops drift: error: data/other.{fmt}: 2 data rows, but none of the columns the "
        "schema declares (x, color, label); the file's columns: x;color;label\n"
    ), err


@pytest.mark.parametrize(
    ("dtype", "value", "said"),
    [("int64", "1.5", "not int64 values"), ("bool", "maybe", "not bool values")],
)
def test_values_not_of_a_column_s_type_are_named_in_its_type_s_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dtype: str, value: str, said: str
) -> None:
    """It said "are not numbers" of a boolean column's words and an integer column's
    fractions, and named no row."""
    repo = make_repo(tmp_path / "repo")
    spec = repo / "pipelines" / "demo.yaml"
    spec.write_text(
        spec.read_text().replace("    label:", f"    k: {{dtype: {dtype}}}\n    label:")
    )
    good = "1" if dtype == "int64" else "True"
    write_csv(repo / "data" / "train.csv", [(*r, good) for r in training_rows()], "x,color,label,k")
    recent = [(*r, value if i == 2 else good) for i, r in enumerate(training_rows())]
    write_csv(repo / "data" / "recent.csv", recent, "x,color,label,k")
    _run(repo)
    capsys.readouterr()
    report = json.loads((repo / ".mlgitops" / "demo" / "drift.json").read_text())
    assert (
        f"k: 1 value(s) are {said} (the first on line 4: '{value}'); counted as missing"
        in (report["notes"])
    ), report["notes"]


def test_a_column_name_with_spaces_around_it_shows_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A header ` x ` makes `x` missing and ` x ` new; Markdown took the spaces off the code
    span, so the report listed `x` as both missing and new."""
    repo = make_repo(tmp_path / "repo")
    write_csv(repo / "data" / "recent.csv", training_rows(), " x ,color,label")
    assert _run(repo) == 1
    capsys.readouterr()
    markdown = (repo / ".mlgitops" / "demo" / "drift.md").read_text()
    assert "- `x`\n" in markdown and "- `  x  `\n" in markdown, markdown


@pytest.mark.parametrize("stored", [False, True])
def test_a_reference_that_judges_no_feature_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stored: bool
) -> None:
    """Training data whose only feature is a date profiles no feature: computed from the
    data, or left with none once the dates are taken out of one that an earlier train
    stored (``stored``), the reference judged nothing and drift said "No drift in 0
    features" (exit 0). Refused as a stored reference that profiles no feature is."""
    import pandas as pd

    repo = make_repo(tmp_path / "repo")
    (repo / "pipelines" / "demo.yaml").write_text(DATED.replace("    x: {dtype: float64}\n", ""))
    when = pd.date_range("2024-01-01", periods=100, freq="h")
    train = pd.DataFrame({"ts": when, "label": np.arange(100) % 2})
    train.to_csv(repo / "data" / "train.csv", index=False)
    train.assign(ts=when + pd.Timedelta(days=31)).to_csv(repo / "data" / "recent.csv", index=False)
    where = "reference computed from data/train.csv"
    if stored:
        profile = build_reference(train.astype({"ts": str}), "label")
        (repo / "reference.json").write_text(dumps_reference(profile))
        where = "reference.json"
    assert _run(repo, *(["--reference", "reference.json"] if stored else [])) == 2
    assert capsys.readouterr().err == (
        f"mlgitops drift: error: {where}: 'features' is empty (not judged: ts: dates and times "
        "are not profiled): a reference that profiles no feature judges nothing, and would "
        "find no drift in any data\n"
    )
    assert not (repo / ".mlgitops" / "demo" / "drift.json").exists()


def test_a_record_of_the_wrong_width_is_read_as_validate_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Drift reads current data with the reader validate and train use: a record with fewer
    fields than the header has gaps for the rest (as pandas reads it; validate fails the
    rows where the column may not hold one), counted as missing; one with more is bad input
    naming its line, in validate's words."""
    repo = make_repo(tmp_path / "repo")
    recent = repo / "data" / "recent.csv"
    lines = recent.read_text().splitlines(keepends=True)
    recent.write_text("".join([*lines[:5], "5,a\n", "6\n", *lines[7:]]))
    assert main(["-C", str(repo), "validate", "demo", "--data", "data/recent.csv"]) == 1
    assert "label   not_nullable     2  data/recent.csv:6: null" in capsys.readouterr().out
    assert _run(repo) == 0
    capsys.readouterr()
    report = json.loads((repo / ".mlgitops" / "demo" / "drift.json").read_text())
    [color] = [f for f in report["features"] if f["name"] == "color"]
    assert color["null_rate"] == {"reference": 0.0, "current": 0.01}

    recent.write_text("".join([*lines[:5], "5,a,1,9\n", *lines[6:]]))
    for command in (["validate", "demo", "--data", "data/recent.csv"], ["drift", "demo"]):
        assert main(["-C", str(repo), *command]) == 2
        assert capsys.readouterr().err.endswith(
            f"mlgitops {command[0]}: error: data/recent.csv:6: expected 3 fields, found 4\n"
        )
