"""The report's Markdown: golden output, escaping of hostile strings, the clean cut."""

from __future__ import annotations

import copy
import os
import re

import pytest

from mlgitops.report import ReportInput, outcome, render
from mlgitops.report.chart import charts
from mlgitops.report.context import Target
from mlgitops.report.deliver import comment_text
from mlgitops.report.markdown import code, cut, escape, link
from mlgitops.report.promotion import Promotion, diff_lines, promotion
from tests.report.conftest import FIXTURES, HEAD, fixture

GOLDEN = FIXTURES / "golden.md"
KUSTOMIZATION = (FIXTURES / "kustomization.yaml").read_text("utf-8")


def golden_input(**changes: object) -> ReportInput:
    verdict = fixture("verdict.json")
    change = promotion(
        "tumors",
        "staging",
        KUSTOMIZATION,
        gates_passed=True,
        candidate_run=verdict["candidate"]["run_id"],
        deployed_run=verdict["baseline"]["run_id"],
        candidate_digest=fixture("train.json")["model_digest"],
    )
    values: dict[str, object] = {
        "pipeline": "tumors",
        "verdict": verdict,
        "validation": fixture("validation.json"),
        "datadiff": fixture("datadiff.json"),
        "train": fixture("train.json"),
        "promotion": change,
        "commit": HEAD,
        "commit_url": f"https://github.com/octo/ml/commit/{HEAD}",
    }
    values.update(changes)
    return ReportInput(**values)  # type: ignore[arg-type]


def test_golden_report() -> None:
    text = render(golden_input())
    if os.environ.get("MLGITOPS_UPDATE_GOLDEN") == "1":  # regenerate, then review the diff
        GOLDEN.write_text(text, "utf-8")
    assert text == GOLDEN.read_text("utf-8")
    assert text.startswith(
        "<!-- mlgitops:report:tumors -->\n\n## ✅ mlgitops `tumors`: all 3 gates passed\n"
    )


def test_gpu_usage_and_cost() -> None:
    text = render(golden_input(price=(2.5, "USD")))
    assert (
        "- training: runner `gpu-runner-2`, 1x GPU `NVIDIA L4`, driver `550.54.15`: "
        "3.0 GPU minutes (3.2 runner minutes); peak GPU memory 4,812 MiB, "
        "mean utilisation 87%, cost 0.12 USD at 2.5 USD/GPU-hour\n"
    ) in text
    cpu = {**fixture("train.json"), "gpu": None, "gpu_count": 0, "device": "cpu"}
    text = render(golden_input(train=cpu, price=(2.5, "USD")))
    assert "- training: runner `gpu-runner-2`, no GPU: 3.2 runner minutes\n" in text


def test_budget_and_stuck_runner_outcomes() -> None:
    budget = {"message": "GPU budget: training was stopped after 30.0 GPU minutes"}
    assert outcome(golden_input(verdict=None, budget=budget)) == (
        "failure",
        "stopped at the GPU budget",
    )
    assert outcome(golden_input(verdict=None, stuck_minutes=20)) == (
        "failure",
        "no GPU runner picked up the job in 20 minutes",
    )


def test_a_failed_validation_s_status_names_its_first_failure_and_its_place() -> None:
    """The status is what the pull request's checks list shows: "data validation failed"
    alone sent the author to the comment or the log to find where."""
    failed = fixture("validation-failed.json")
    failed["failures"] = failed["failures"][1:]
    assert outcome(golden_input(validation=failed))[1] == (
        "data validation failed (1 check): data/tumors.csv:13: mean_radius: values below 0"
    )
    unread = {**failed, "failures": [], "error": "schemas/tumors.yaml:9:12: unknown dtype\n'x'"}
    assert outcome(golden_input(validation=unread))[1] == (
        "data validation failed: schemas/tumors.yaml:9:12: unknown dtype 'x'"
    )
    assert outcome(golden_input(validation={**failed, "failures": []}))[1] == (
        "data validation failed"
    )


def test_the_headline_shows_a_fork_s_validation_message_inert() -> None:
    """A fork's validation.json is its own to write: its words reach the headline as text."""
    failed = fixture("validation-failed.json")
    failed["failures"][0]["message"] = "<b>all gates passed</b> @admin #12"
    shown = render(golden_input(validation=failed)).splitlines()[2]
    assert shown.startswith("## ❌ mlgitops `tumors`: data validation failed (2 checks): "), shown
    assert "<b>" not in shown and "@admin" not in shown and "&lt;b&gt;" in shown, shown


def test_metrics_on_a_small_scale_are_shown_to_four_significant_digits() -> None:
    verdict = fixture("verdict.json")
    verdict["metrics"][0].update(
        candidate=3.2e-06, paired_candidate=3.2e-06, baseline=1.9e-06, delta=1.3e-06
    )
    verdict["metrics"][0]["ci"] = [4.1e-07, 2.2e-06]
    shown = render(golden_input(verdict=verdict))
    assert "| 3.2e-06 | 1.9e-06 | +1.3e-06 | [+4.1e-07, +2.2e-06] |" in shown, shown
    assert "0.0000" not in shown.split("### Gates")[0], shown


def test_metrics_on_a_huge_scale_are_shown_to_four_significant_digits() -> None:
    """An rmse in units whose squares pass 1e200 (a target read in other units) took a row
    of the table 200 digits wide, past what four decimals say."""
    verdict = fixture("verdict.json")
    verdict["metrics"][0].update(
        candidate=3.2e200, paired_candidate=3.2e200, baseline=-1.9e16, delta=3.2e200
    )
    verdict["metrics"][0]["ci"] = [-2.5e18, 4.1e200]
    shown = render(golden_input(verdict=verdict))
    assert "| 3.2e+200 | -1.9e+16 | +3.2e+200 | [-2.5e+18, +4.1e+200] |" in shown, shown
    assert "00000000" not in shown, shown


def test_outcome_states() -> None:
    assert outcome(golden_input()) == ("success", "all 3 gates passed")
    failed = fixture("verdict.json")
    failed["passed"] = False
    failed["gates"][2].update(status="fail", reason="0.8 < 0.85")
    failed["counts"].update({"pass": 2, "fail": 1})
    assert outcome(golden_input(verdict=failed)) == ("failure", "1 of 3 gates failed")
    assert outcome(golden_input(validation=fixture("validation-failed.json"))) == (
        "failure",
        "data validation failed (2 checks): column 'mean_area' is missing",
    )
    assert outcome(golden_input(verdict=None, train=None)) == (
        "pending",
        "not trained: needs a run on this repository's runners",
    )
    # the check job failed (render --check found an edited file): nothing can train
    assert outcome(golden_input(verdict=None, train=None, check_failed=True)) == (
        "failure",
        "the check job failed (render --check or validate): see its log",
    )
    assert outcome(
        golden_input(validation=fixture("validation-failed.json"), check_failed=True)
    ) == ("failure", "data validation failed (2 checks): column 'mean_area' is missing")
    assert outcome(golden_input(check_failed=True)) == ("success", "all 3 gates passed")
    stopped = {"schema_version": 1, "pipeline": "tumors", "exit_code": 2, "message": "x"}
    assert outcome(
        golden_input(verdict=None, train=None, failed={**stopped, "stage": "train"})
    ) == (
        "failure",
        "training failed",
    )
    assert outcome(golden_input(verdict=None, failed={**stopped, "stage": "compare"})) == (
        "failure",
        "trained, but not compared: compare failed",
    )
    # trained, then compare did not finish (it stopped with an error): not "not trained"
    assert outcome(golden_input(verdict=None)) == (
        "failure",
        "trained, but not compared: compare did not finish",
    )


def test_failed_validation_section_escapes_values() -> None:
    untrained = promotion(
        "tumors", "staging", KUSTOMIZATION, gates_passed=None, candidate_run=None, deployed_run=None
    )
    text = render(
        golden_input(
            verdict=None,
            train=None,
            validation=fixture("validation-failed.json"),
            promotion=untrained,
            notes=("Training and comparison were skipped because data validation failed.",),
        )
    )
    assert (
        "\n".join(
            [
                "### Data validation",
                "",
                "❌ `data/tumors.csv`: 569 rows, 2 failed checks:",
                "",
                "| column | check | failing rows | examples (where: value) |",
                "| --- | --- | ---: | --- |",
                "| (table) | `column_in_dataframe`: column 'mean\\_area' is missing | - | - |",
                "| `mean_radius` | `greater_than_or_equal_to(0)`: values below 0 | 2 | "
                "data/tumors.csv:13: `-3.5`, data/tumors.csv:41: ``-0.25 \\| `@admin` <b>x</b>`` |",
            ]
        )
        in text
    )
    assert (
        "> [!NOTE]\n> Training and comparison were skipped because data validation failed." in text
    )
    assert "### Metrics" not in text
    assert "Merging would commit nothing: no candidate was trained and compared." in text


HOSTILE = "x](https://evil.example) <img src=x> @octo/admins **b** `c` | $1$\n# H"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("see https://evil.example/login", "see https:\u200b//evil.example/login"),
        ("see www.evil.example", "see www\u200b.evil.example"),
        ("fixes #12 and octo/repo#3", "fixes #\u200b12 and octo/repo#\u200b3"),
        ("GH-12 and gh-7, not models:/m/3", "GH\u200b-12 and gh\u200b-7, not models:/m/3"),
        ("HTTP://EVIL.EXAMPLE", "HTTP:\u200b//EVIL.EXAMPLE"),
    ],
)
def test_prose_from_an_artifact_links_nowhere(given: str, shown: str) -> None:
    """GitHub turns a bare URL into a link and ``#12`` into a reference (the issue it names
    then shows that the bot's comment mentioned it): a fork's text in the comment could
    offer a link under the bot's name, or write into any issue's timeline."""
    assert escape(given) == shown


def test_hostile_strings_stay_inert() -> None:
    verdict = fixture("verdict.json")
    verdict["summary"] = HOSTILE
    verdict["gates"][0]["reason"] = HOSTILE
    verdict["baseline"]["source"] = "```\n" + HOSTILE
    validation = copy.deepcopy(fixture("validation-failed.json"))
    validation["data"] = HOSTILE
    validation["failures"][1]["column"] = HOSTILE
    lines = [
        line
        for line in render(golden_input(verdict=verdict, validation=validation)).splitlines()
        if "evil" in line
    ]
    prose = "x\\](https:\u200b//evil.example) &lt;img src=x&gt; @\u200bocto/admins \\*\\*b\\*\\* \\`c\\` | \\$1\\$ # H"
    span = "``x](https://evil.example) <img src=x> @octo/admins **b** `c` | $1$ # H``"
    in_cell = (prose.replace("|", "\\|"), span.replace("|", "\\|"))
    assert lines == [
        f"> {prose}",
        f"| ✅ pass | `roc_auc` min 0.9 | 0.9912 | {in_cell[0]} |",
        f"❌ {span}: 569 rows, 2 failed checks:",
        f"| {in_cell[1]} | `greater_than_or_equal_to(0)`: values below 0 | 2 | "
        f"{in_cell[0]}:13: `-3.5`, {in_cell[0]}:41: ``-0.25 \\| `@admin` <b>x</b>`` |",
        f"- baseline: `models:/tumors/3` (run `0a1b2c3d4e5f60718293a4b5c6d7e8f9`) from "
        f"```` ``` {span[2:-2]} ````",
    ]


def test_code_spans_and_links() -> None:
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert code("two\nlines\u202e") == "`two lines`"
    assert code("") == "` `"
    assert code(" x ") == "`  x  `"  # Markdown shows " x ", not "x"
    assert code(" x") == "`  x `"
    assert code("   ") == "` `"
    assert (
        link("run", "https://mlflow.example/#/runs/1") == "[run](https://mlflow.example/#/runs/1)"
    )
    assert link("run", "javascript:alert(1)") == "run"
    assert link("run", "https://x.example/a(b)") == "[run](https://x.example/a%28b%29)"


def test_cut_keeps_whole_lines_and_closes_fences() -> None:
    text = "intro\n```diff\n" + "".join(f"+line {i}\n" for i in range(100)) + "```\nend\n"
    result = cut(text, 200, "CUT NOTE")
    assert len(result) <= 200
    assert result.endswith("```\n\nCUT NOTE\n")
    assert result.count("```") == 2
    assert all(
        re.fullmatch(r"intro|```diff|\+line \d+|```||CUT NOTE", line)
        for line in result.splitlines()
    )
    assert cut("short\n", 200, "CUT NOTE") == "short\n"


def test_cut_by_bytes() -> None:
    text = "é" * 50 + "\n" + "é" * 50 + "\n"
    result = cut(text, 120, "N", lambda s: len(s.encode()))
    assert result == "é" * 50 + "\n\nN\n"


def test_charts_without_baseline() -> None:
    verdict = fixture("verdict.json")
    for m in verdict["metrics"]:
        m.update(baseline=None, delta=None, ci=None, significant=None)
    lines = charts(verdict["metrics"])
    assert "    line [" not in "\n".join(lines)
    assert lines[-1] == "<sub>Bars: candidate (no baseline).</sub>"
    assert charts([]) == []


def test_chart_bars_stand_on_the_rows_the_baseline_line_stands_on() -> None:
    """Where rows were left out of the comparison, the line is the baseline on the compared
    rows: the bar must be the candidate on those rows too, not on the whole holdout."""
    metrics = [
        {"name": "roc_auc", "candidate": 0.9856, "paired_candidate": 0.9896, "baseline": 0.9862},
        {"name": "accuracy", "candidate": 0.93, "paired_candidate": 0.95, "baseline": 0.94},
    ]
    lines = charts(metrics)
    assert (lines[5], lines[6]) == ("    bar [0.9896, 0.95]", "    line [0.9862, 0.94]"), lines
    no_baseline = [{"name": "roc_auc", "candidate": 0.9856, "baseline": None}]
    assert "    bar [0.9856]" in charts(no_baseline)


@pytest.mark.parametrize(
    ("kwargs", "note"),
    [
        (
            {"environment": None},
            "the pipeline has no deploy environments: merging deploys nothing.",
        ),
        ({"gates_passed": False}, "nothing: deploy refuses a candidate whose gates failed."),
        ({"deployed_run": "run-1"}, "nothing: run `run-1` is already deployed to staging."),
        (
            {"kustomization": None},
            "`manifests/tumors/overlays/staging/kustomization.yaml` does not exist yet: run `mlgitops render`.",
        ),
    ],
)
def test_promotion_notes(kwargs: dict[str, object], note: str) -> None:
    args: dict[str, object] = {
        "environment": "staging",
        "kustomization": KUSTOMIZATION,
        "gates_passed": True,
        "candidate_run": "run-1",
        "deployed_run": "run-0",
    }
    args.update(kwargs)
    change = promotion("tumors", args.pop("environment"), args.pop("kustomization"), **args)  # type: ignore[arg-type]
    assert change.note == note


def _promoted(text: str, digest: object = None) -> Promotion:
    """What merging a passed candidate (train.json's ``model_digest``: ``digest``) would
    commit to the staging overlay ``text``."""
    return promotion(
        "tumors",
        "staging",
        text,
        gates_passed=True,
        candidate_run="r",
        deployed_run=None,
        candidate_digest=digest,
    )


def test_promotion_from_the_placeholder() -> None:
    text = KUSTOMIZATION.replace("models:/tumors/3", "models:/tumors@staging")
    text = text.replace("MODEL_DIGEST=sha256:" + "0d" * 32, "MODEL_DIGEST=")
    digest = "sha256:" + "9e" * 32
    change = _promoted(text, digest)
    assert change == Promotion(
        "staging",
        "manifests/tumors/overlays/staging/kustomization.yaml",
        "      - MODEL_URI=models:/tumors@staging",
        "      - MODEL_URI=models:/tumors/<next>",
        11,
        digest=("      - MODEL_DIGEST=", f"      - MODEL_DIGEST={digest}", 12),
    )


def test_the_digest_line_of_the_promotion() -> None:
    """Apart from the URI line it is a hunk of its own; a digest train.json does not give
    in its form is not quoted; an overlay without the literal shows the URI line alone."""
    apart = KUSTOMIZATION.replace("      - MODEL_DIGEST=sha256:" + "0d" * 32 + "\n", "").replace(
        "    literals:\n", "    literals:\n      - MODEL_DIGEST=\n      - OTHER=1\n"
    )
    change = _promoted(apart, "sha256:12`\n```")
    assert diff_lines(change)[2:] == [
        "@@ -11 +11 @@",
        "-      - MODEL_DIGEST=",
        "+      - MODEL_DIGEST=<digest>",
        "@@ -13 +13 @@",
        "-      - MODEL_URI=models:/tumors/3",
        "+      - MODEL_URI=models:/tumors/<next>",
    ]
    without = KUSTOMIZATION.replace("      - MODEL_DIGEST=sha256:" + "0d" * 32 + "\n", "")
    change = _promoted(without)
    assert change.digest is None
    assert diff_lines(change)[2:] == [
        "@@ -11 +11 @@",
        "-      - MODEL_URI=models:/tumors/3",
        "+      - MODEL_URI=models:/tumors/<next>",
    ]


def _not_evaluable_verdict() -> dict[str, object]:
    """A verdict whose max_drop gate could not be evaluated: the deployed model lacks a column."""
    verdict = fixture("verdict.json")
    reason = "the deployed model needs column 'mean texture', which the candidate's holdout lacks"
    verdict.update(
        passed=False,
        summary="failed: 1 gate not evaluable (roc_auc max_drop) against models:/tumors/3",
        comparison={"status": "not_evaluable", "reasons": [reason], "notes": []},
        counts={"pass": 2, "fail": 0, "not_evaluable": 1, "allowed": 0, "not_applicable": 0},
    )
    verdict["features"] = {
        "baseline": [
            {"name": "mean radius", "type": "double"},
            {"name": "mean texture", "type": "double"},
        ],
        "added": [{"name": "mean area", "type": "double"}],
        "removed": [{"name": "mean texture", "type": "double"}],
        "type_changed": [],
        "reordered": False,
    }
    verdict["gates"][1].update(
        status="not_evaluable", value=None, reason=f"max_drop cannot be evaluated: {reason}"
    )
    for m in verdict["metrics"]:  # type: ignore[attr-defined]
        m.update(baseline=None, delta=None, ci=None, significant=None, method=None)
    return verdict


def test_the_headline_and_status_take_their_counts_from_the_verdict() -> None:
    verdict = _not_evaluable_verdict()
    assert outcome(golden_input(verdict=verdict)) == ("failure", "1 of 3 gates not evaluable")
    text = render(golden_input(verdict=verdict))
    assert "## ❌ mlgitops `tumors`: 1 of 3 gates not evaluable\n" in text
    first = fixture("verdict.json")
    first["counts"] = {"pass": 2, "fail": 0, "not_evaluable": 0, "allowed": 0, "not_applicable": 1}
    first["gates"][1].update(status="not_applicable", reason="not applicable: first deployment")
    assert outcome(golden_input(verdict=first)) == (
        "success",
        "all 2 gates passed, 1 not applicable",
    )
    allowed = fixture("verdict.json")
    allowed["counts"] = {
        "pass": 2,
        "fail": 0,
        "not_evaluable": 1,
        "allowed": 1,
        "not_applicable": 0,
    }
    assert outcome(golden_input(verdict=allowed)) == (
        "success",
        "all 2 gates passed, 1 not evaluable (allowed)",
    )


def test_a_gate_that_cannot_be_evaluated_and_the_feature_diff_are_shown() -> None:
    text = render(golden_input(verdict=_not_evaluable_verdict()))
    assert (
        "| ❌ not evaluable | `roc_auc` max\\_drop 0.01 | - | max\\_drop cannot be evaluated: "
        "the deployed model needs column 'mean texture', which the candidate's holdout lacks |"
    ) in text
    section = text[text.index("### Against the deployed model") :].split("\n### ")[0]
    assert section.splitlines() == [
        "### Against the deployed model",
        "",
        "- ❌ the deployed model needs column 'mean texture', which the candidate's holdout lacks",
        "",
        "Features of the candidate against the deployed model's signature:",
        "",
        "| change | column | deployed model | candidate |",
        "| --- | --- | --- | --- |",
        "| added | `mean area` | - | `double` |",
        "| removed | `mean texture` | `double` | - |",
    ]


def test_excluded_rows_are_stated_beside_the_metrics() -> None:
    verdict = fixture("verdict.json")
    verdict["holdout"].update(
        compared=100,
        excluded=43,
        excluded_reason="the deployed model was trained on them (matched by fingerprints over 31 columns)",
    )
    verdict["metrics"][0]["paired_candidate"] = 0.99
    text = render(golden_input(verdict=verdict))
    assert (
        "Holdout of 143 rows; the deployed model is compared on 100 of them, 43 excluded because "
        "the deployed model was trained on them (matched by fingerprints over 31 columns); "
        "paired bootstrap"
    ) in text
    assert "| metric | candidate (all rows) | candidate (compared rows) | baseline |" in text
    assert "| `roc_auc` ↑ | 0.9912 | 0.9900 | 0.9870 |" in text


def test_the_comment_carries_the_slice_table() -> None:
    verdict = fixture("verdict.json")
    verdict["slices"] = {
        "column": "region",
        "min_rows": 30,
        "gaps": {"roc_auc": 0.0612, "accuracy": 0.031},
        "baseline_gaps": {"roc_auc": 0.02, "accuracy": None},
        "slices": [
            {
                "value": "eu",
                "rows": 120,
                "gated": True,
                "candidate": {"roc_auc": 0.95, "accuracy": 0.9},
                "baseline": {"roc_auc": 0.94, "accuracy": 0.88},
            },
            {
                "value": "us",
                "rows": 80,
                "gated": True,
                "candidate": {"roc_auc": 0.8888, "accuracy": 0.869},
                "baseline": {"roc_auc": 0.92, "accuracy": 0.9},
            },
            {
                "value": "<b>x</b>",
                "rows": 4,
                "gated": False,
                "candidate": {"roc_auc": None, "accuracy": 1.0},
                "baseline": {"roc_auc": None, "accuracy": 0.75},
            },
        ],
    }
    verdict["gates"].append(
        {
            "metric": "roc_auc",
            "condition": "max_gap",
            "threshold": 0.05,
            "value": 0.0612,
            "status": "fail",
            "allowed": False,
            "judge": None,
            "reason": "largest roc_auc gap between region slices is 0.0612, more than the "
            "allowed 0.05 (region=us 0.8888 vs region=eu 0.9500)",
        }
    )
    text = render(golden_input(verdict=verdict))
    section = text.split("### Slices by `region`\n", 1)[1].split("\n### ", 1)[0]
    assert section.splitlines()[:10] == [
        "",
        "The candidate per value of `region` (the deployed model in parentheses); slices "
        "with fewer than 30 rows are shown but not gated.",
        "",
        "| `region` | rows | `roc_auc` | `accuracy` |",
        "| --- | ---: | ---: | ---: |",
        "| `eu` | 120 | 0.9500 (0.9400) | 0.9000 (0.8800) |",
        "| `us` | 80 | 0.8888 (0.9200) | 0.8690 (0.9000) |",
        "| `<b>x</b>` (not gated) | 4 | - (-) | 1.0000 (0.7500) |",
        "| gap |  | 0.0612 (0.0200) | 0.0310 (-) |",
        "| gate |  | ❌ max_gap 0.05 | - |",
    ]


def test_a_slice_column_named_with_a_pipe_keeps_the_tables_header_whole() -> None:
    """A pipe in a header cell would be a column border: GitHub then drops the whole table
    (its header has more cells than its delimiter row)."""
    verdict = fixture("verdict.json")
    verdict["slices"] = {
        "column": "seg|ment 🙂",
        "min_rows": 30,
        "gaps": {"roc_auc": 0.01},
        "slices": [
            {"value": "a|b", "rows": 40, "gated": True, "candidate": {"roc_auc": 0.9}},
            {"value": "c", "rows": 40, "gated": True, "candidate": {"roc_auc": 0.91}},
        ],
    }
    text = render(golden_input(verdict=verdict))
    section = text.split("### Slices by `seg|ment 🙂`\n", 1)[1].split("\n### ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert lines[0] == "| `seg\\|ment 🙂` | rows | `roc_auc` |"
    assert lines[2] == "| `a\\|b` | 40 | 0.9000 |"
    borders = [len(re.findall(r"(?<!\\)\|", line)) for line in lines]
    assert borders == [4] * len(lines)


def test_a_flow_list_of_both_literals_is_one_changed_line() -> None:
    text = KUSTOMIZATION.replace(
        "    literals:\n      - MODEL_URI=models:/tumors/3\n      - MODEL_DIGEST=sha256:"
        + "0d" * 32,
        "    literals: [MODEL_URI=models:/tumors/3, MODEL_DIGEST=]",
    )
    digest = "sha256:" + "9e" * 32
    change = _promoted(text, digest)
    assert diff_lines(change)[2:] == [
        "@@ -10 +10 @@",
        "-    literals: [MODEL_URI=models:/tumors/3, MODEL_DIGEST=]",
        f"+    literals: [MODEL_URI=models:/tumors/<next>, MODEL_DIGEST={digest}]",
    ]


#: Every character ``str.splitlines`` breaks a line at, besides ``\n``.
LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: Invisible formatting characters that could hide or reorder text.
INVISIBLE = "\u061c\ufeff\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_every_unicode_line_break_is_a_space_in_values_and_prose() -> None:
    hostile = "a" + "b".join(LINE_BREAKS) + "c\n\r\nd\x85\u2028e"
    assert code(hostile) == "`a b b b b b b b b c d e`"
    assert escape("x\x85@octocat\u2029<!-- y -->") == "x @\u200boctocat &lt;!-- y --&gt;"


def test_invisible_formatting_and_c1_control_characters_are_removed() -> None:
    assert code("a" + INVISIBLE + "b\x80\x9f\x7fc") == "`abc`"
    assert escape(INVISIBLE + "x" + INVISIBLE) == "x"


def test_cut_breaks_lines_only_at_newlines() -> None:
    text = "first\x85@octocat\u2028<!-- x -->\n" + "".join(f"line {i}\n" for i in range(50))
    result = cut(text, 100, "CUT NOTE")
    assert result.split("\n")[0] == "first\x85@octocat\u2028<!-- x -->"
    assert result.split("\n")[-3:] == ["", "CUT NOTE", ""]


def test_specs_that_do_not_load_are_listed_inert_and_cut_at_twenty() -> None:
    """A pull request's spec text reaches the comment through its problems' messages: they
    are escaped like every other text from the branch, and a long list is cut."""
    from mlgitops.errors import Problem
    from mlgitops.report.render import SHOWN_PROBLEMS, unloadable

    problems = [
        Problem("pipelines/a.yaml", line, 3, f"gates.x: expected a number, got '@octo <b>#{line}'")
        for line in range(1, SHOWN_PROBLEMS + 6)
    ]
    full, state, description = unloadable("a", problems, "0123456789abcdef")
    assert (state, description) == (
        "failure",
        f"the specs do not load: pipelines/a.yaml:1:3 and {SHOWN_PROBLEMS + 4} more",
    )
    listed = [line for line in full.splitlines() if line.startswith("- ")]
    assert len(listed) == SHOWN_PROBLEMS + 1
    assert listed[0] == "- `pipelines/a.yaml:1:3`: " + escape(problems[0].message)
    assert listed[-1] == "- … and 5 more (the job's log lists them)"
    assert "<b>" not in full and "@octo" not in full
    assert full.startswith("<!-- mlgitops:report:a -->\n")
    assert "<code>0123456789ab</code>" in full


def test_one_row_and_one_failed_check_are_counted_in_the_singular() -> None:
    validation = copy.deepcopy(fixture("validation-failed.json"))
    validation["rows"], validation["failures"] = 1, validation["failures"][:1]
    train = {**fixture("train.json"), "invalid_data": validation["failures"]}
    text = render(golden_input(verdict=None, validation=validation, train=train))
    assert "❌ `data/tumors.csv`: 1 row, 1 failed check:\n" in text
    assert "- ⚠️ Trained on data that fails validation (1 failed check), as" in text


def test_a_failing_value_is_placed_at_its_file_line_as_validate_prints_it() -> None:
    """``mlgitops validate`` and the status name a CSV row by its file line
    (``data/tumors.csv:13``); the comment names the same place, not the data row (12)."""
    validation = fixture("validation-failed.json")
    text = render(golden_input(verdict=None, validation=validation))
    assert (
        "| `mean_radius` | `greater_than_or_equal_to(0)`: values below 0 | 2 | "
        "data/tumors.csv:13: `-3.5`, data/tumors.csv:41: ``-0.25 \\| `@admin` <b>x</b>`` |"
    ) in text
    parquet = copy.deepcopy(validation)
    parquet["data"], parquet["format"] = "data/tumors.parquet", "parquet"
    for example in parquet["failures"][1]["examples"]:
        example["line"] = None
    text = render(golden_input(verdict=None, validation=parquet))
    assert "| 2 | row 12: `-3.5`, row 40: ``-0.25 \\| `@admin` <b>x</b>`` |" in text


@pytest.mark.parametrize(
    ("counts", "said"),
    [
        ({"pass": 1, "fail": 0}, "1 gate passed, 1 not applicable"),
        ({"pass": 0, "fail": 1}, "1 of 1 gate failed, 1 not applicable"),
        ({"pass": 2, "fail": 0}, "all 2 gates passed, 1 not applicable"),
    ],
)
def test_one_gate_is_counted_in_the_singular(counts: dict[str, int], said: str) -> None:
    verdict = fixture("verdict.json")
    verdict["passed"] = not counts["fail"]
    verdict["counts"] = {**counts, "not_evaluable": 0, "allowed": 0, "not_applicable": 1}
    assert outcome(golden_input(verdict=verdict))[1] == said


def test_a_headline_longer_than_a_comment_is_shortened_so_the_cut_comment_keeps_it() -> None:
    """A data file that cannot be read with an error of 80,000 characters: the headline
    held all of it, the cut kept no line after the marker, and the comment said nothing
    of what failed."""
    validation = {**fixture("validation-failed.json"), "error": "bad " * 20_000}
    full = render(golden_input(verdict=None, validation=validation))
    where = Target("octo/ml", 7, HEAD, False, "pull_request", None, "https://github.com")
    headline = comment_text(full, where).split("\n")[2]
    assert headline == "## ❌ mlgitops `tumors`: data validation failed: " + "bad " * 243 + "bad…"
