"""train.json is read from places the PR credentials can write (MLflow, a workflow run's
upload): a value of the wrong type is refused where it is read, naming the field, not met
later as a crash."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from mlgitops import results
from mlgitops.cli import main
from mlgitops.errors import BadInput
from mlgitops.results import Hashes, TrainResult

_RESULT = TrainResult(
    pipeline="churn",
    run_id="0" * 32,
    experiment_id="1",
    tracking_uri="http://127.0.0.1:5000",
    content_key="a" * 64,
    model_uri="models:/m-1",
    task="classification",
    target="y",
    metrics={"accuracy": 0.9, "count": 3, "log_loss": float("nan")},
    hashes=Hashes(data="d", schema="s", spec="p", code="c", package="k"),
    classes=[0, 1],
    runner="gpu-1",
    features=[{"name": "x", "dtype": "float64"}],
    fingerprint_columns=["x", "y"],
    gpu_peak_memory_mb=12.5,
)


def test_every_field_of_a_train_result_has_its_type_checked() -> None:
    assert {str(f.type) for f in fields(TrainResult)} <= set(results._FIELD_CHECKS)


def test_a_train_result_reads_back_as_written() -> None:
    read = results.load_train_result(results.dumps(_RESULT))
    assert read.metrics["accuracy"] == 0.9 and read.hashes == _RESULT.hashes
    assert results.dumps(read) == results.dumps(_RESULT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("run_id", 123),
        ("metrics", {"accuracy": "high"}),
        ("metrics", {"accuracy": True}),
        ("metrics", [0.9]),
        ("cached", 0),
        ("content_key", ["k"]),
        ("fingerprint_columns", "x"),
        ("features", [{"name": 1}]),
        ("features", [{"dtype": "float64"}]),  # deploy's re-score read each name: exit 3
        ("hashes", {"data": "d"}),
        ("hashes", {"data": 1, "schema": "s", "spec": "p", "code": "c", "package": "k"}),
        ("gpu_count", 1.5),
        ("runner", 7),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_its_field(field: str, value: object) -> None:
    doc = json.loads(results.dumps(_RESULT)) | {field: value}
    with pytest.raises(
        BadInput, match=rf"^run x: train.json: not a valid train result \({field}: "
    ):
        results.load_train_result(json.dumps(doc), "run x: train.json")


@pytest.mark.parametrize(
    ("text", "held"), [("[]", "an array"), ("null", "null"), ("true", "true"), ("2.5", "a number")]
)
def test_a_document_that_is_no_json_object_says_so(text: str, held: str) -> None:
    """Read as an object, it said ``'list' object has no attribute 'get'``."""
    with pytest.raises(BadInput) as raised:
        results.load_train_result(text, "run x: train.json")
    assert str(raised.value) == (
        f"run x: train.json: not a valid train result (it holds {held}, not a JSON object)"
    )
    with pytest.raises(BadInput) as raised:
        results.load_provenance(text, "m/model.json")
    assert str(raised.value) == (
        f"m/model.json: not a valid provenance record (it holds {held}, not a JSON object)"
    )


def test_compare_refuses_a_train_json_nested_too_deeply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A train.json nested 100,000 deep made the parser's recursion run out (exit 3)."""
    assert main(["-C", str(tmp_path), "init"]) == 0
    train = tmp_path / ".mlgitops" / "tumors" / "train.json"
    train.parent.mkdir(parents=True)
    train.write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    capsys.readouterr()
    assert main(["-C", str(tmp_path), "compare", "tumors"]) == 2
    assert capsys.readouterr().err == (
        f"mlgitops compare: error: {train}: not valid JSON (nested more than 100 levels deep)\n"
    )


def test_compare_refuses_a_train_json_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(tmp_path), "init"]) == 0
    train = tmp_path / ".mlgitops" / "tumors" / "train.json"
    train.parent.mkdir(parents=True)
    train.write_bytes(b'{"pipeline": "tumors\xff"}')
    capsys.readouterr()
    assert main(["-C", str(tmp_path), "compare", "tumors"]) == 2
    assert capsys.readouterr().err == (
        f"mlgitops compare: error: {train}: not UTF-8 text (invalid start byte)\n"
    )


def test_the_event_payload_nested_too_deeply_is_bad_input(tmp_path: Path) -> None:
    from mlgitops.github.payloads import event_from_env

    event = tmp_path / "event.json"
    event.write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    with pytest.raises(BadInput) as caught:
        event_from_env({"GITHUB_EVENT_PATH": str(event)})
    assert str(caught.value) == f"{event}: not valid JSON (nested more than 100 levels deep)"


def test_a_fork_artifact_holding_a_number_python_will_not_convert_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An integer of 5,000 digits is valid JSON, and past Python's conversion limit: the
    report workflow, which reads a fork's artifact, crashed (exit 3)."""
    assert main(["-C", str(tmp_path), "init"]) == 0
    assert main(["-C", str(tmp_path), "validate", "tumors", "--format", "none"]) == 0
    doc = json.loads((tmp_path / ".mlgitops" / "tumors" / "validation.json").read_text())
    doc["rows"] = 0
    art = tmp_path / "art"
    art.mkdir()
    (art / "validation.json").write_text(
        json.dumps(doc).replace('"rows": 0', '"rows": ' + "9" * 5000)
    )
    capsys.readouterr()
    assert main(["-C", str(tmp_path), "report", "tumors", "--from-artifact", str(art)]) == 2
    assert capsys.readouterr().err == (
        "mlgitops report: error: art/validation.json: not valid JSON (Exceeds the limit "
        "(4300 digits) for integer string conversion: value has 5000 digits)\n"
    )


def _nested(depth: int) -> str:
    """A train result whose ``classes`` make the document ``depth`` levels deep."""
    classes: object = 0
    for _ in range(depth - 2):  # the document and ``classes`` itself are two levels
        classes = [classes]
    return json.dumps(json.loads(results.dumps(_RESULT)) | {"classes": [classes]})


def test_a_train_result_at_the_nesting_limit_is_read_and_one_past_it_is_refused() -> None:
    assert results.load_train_result(_nested(100)).pipeline == "churn"
    with pytest.raises(BadInput) as caught:
        results.load_train_result(_nested(101), "t.json")
    assert str(caught.value) == "t.json: not valid JSON (nested more than 100 levels deep)"
