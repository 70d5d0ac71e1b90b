"""The Markdown report: escaping of names from the data, and GitHub's body limit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mlgitops.drift.detect import Thresholds, detect
from mlgitops.drift.profile import build_reference
from mlgitops.drift.report import BODY_LIMIT, to_json, to_markdown


def _report(train: pd.DataFrame, current: pd.DataFrame) -> str:
    result = detect(
        build_reference(train, None),
        current,
        Thresholds(),
        pipeline="p",
        reference_source="r",
        current_source="c",
    )
    return to_markdown(result)


def test_names_from_the_data_cannot_break_the_table_or_mention_people() -> None:
    train = pd.DataFrame({"a|b`c": ["x"] * 50})
    current = pd.DataFrame({"a|b`c": ["x"] * 40 + ["@octocat <b>|"] * 10, "new@col": 1})
    text = _report(train, current)
    assert "| `a\\|b'c` | categorical | **drift** |" in text
    assert "- `new@col`" in text
    assert "`@octocat <b>\\|` (10 rows)" in text


def test_no_line_break_or_invisible_character_of_the_data_reaches_the_report() -> None:
    """A category or column holding U+0085 or U+2028 (lines to GitHub) or a bidi override
    kept it: ``_code`` replaced only ``\\n`` and ``\\r``."""
    hostile = "ok\x85@octocat\u2028<!-- x -->\u202egnp.exe"
    train = pd.DataFrame({"c": ["x"] * 50})
    current = pd.DataFrame({"c": ["x"] * 40 + [hostile] * 10, f"n{hostile}": 1})
    text = _report(train, current)
    assert "`ok @octocat <!-- x -->gnp.exe` (10 rows)" in text
    assert "- `nok @octocat <!-- x -->gnp.exe`" in text
    assert not any(c in text for c in "\x85\u2028\u202e")
    assert not any(line.startswith(("@", "<!-- x")) for line in text.splitlines())


def test_report_never_exceeds_githubs_body_limit() -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        rng.normal(size=(50, 3000)), columns=[f"feature_{i:04d}" for i in range(3000)]
    )
    text = _report(train, train + 5)
    assert len(text) == BODY_LIMIT
    assert text.endswith("\n\n… (report truncated; the full report is drift.json)\n")


def test_json_report_is_plain_json() -> None:
    train = pd.DataFrame({"v": np.arange(100.0)})
    result = detect(
        build_reference(train, None),
        train,
        Thresholds(),
        pipeline="p",
        reference_source="r",
        current_source="c",
    )
    doc = json.loads(json.dumps(to_json(result), allow_nan=False))
    assert doc["features"][0]["psi"] == 0.0
    assert doc["missing_columns"] == [] and doc["new_columns"] == []


def test_drift_help_imports_no_heavy_library(tmp_path: Path) -> None:
    probe = (
        "import json, sys\nfrom mlgitops.cli import main\n"
        "try:\n    main(['drift', '--help'])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stderr.splitlines()[-1]))
    assert "mlgitops.commands.drift" in loaded
    assert (
        sorted(
            m
            for m in loaded
            if m.split(".")[0] in ("pandas", "numpy", "scipy", "mlflow", "requests")
        )
        == []
    )


def test_one_row_is_counted_in_the_singular() -> None:
    train = pd.DataFrame({"v": np.arange(100.0)})
    text = _report(train, train.iloc[:1])
    assert "(1 row). Reference: r (100 rows)." in text
