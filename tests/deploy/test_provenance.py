"""model.json transitions: history on deploy, pop on rollback, copy on promote."""

from __future__ import annotations

import json
import subprocess
from dataclasses import fields, replace

import pytest

from mlgitops import results
from mlgitops.errors import BadInput
from mlgitops.gitops import message, provenance
from mlgitops.results import DeployedModel, ProvenanceRecord
from mlgitops.spec.deploy import Canary, Environment


def record(version: int, environment: str = "staging") -> ProvenanceRecord:
    return ProvenanceRecord(
        pipeline="churn",
        environment=environment,
        model_name="churn",
        version=str(version),
        model_uri=f"models:/churn/{version}",
        run_id=f"run{version}",
        content_key=f"key{version}",
        metrics={"roc_auc": 0.9 + version / 100},
        data_hash=f"data{version}",
        spec_hash=f"spec{version}",
        commit=f"commit{version}",
        pr=version,
        deployed_at=f"2025-01-0{version % 9 + 1}T00:00:00+00:00",
    )


def deployed(*versions: int) -> ProvenanceRecord:
    current = None
    for version in versions:
        current = provenance.succeed(current, record(version))
    assert current is not None
    return current


def test_each_deploy_pushes_the_current_model_onto_a_bounded_history() -> None:
    current = deployed(*range(1, 14))
    assert current.version == "13"
    assert [h.version for h in current.history] == [str(v) for v in range(12, 2, -1)]
    assert current.previous == current.history[0]
    assert current.previous == provenance.short(record(12))


def test_rollback_restores_the_previous_record_and_pops_it() -> None:
    current = deployed(1, 2, 3)
    back = provenance.rolled_back(current, provenance.rollback_target(current, None), "now")
    assert back == replace(
        record(2),
        deployed_at="now",
        previous=provenance.short(record(1)),
        history=[provenance.short(record(1))],
        rolled_back_from=provenance.short(current),
    )


def test_rollback_to_a_version_skips_the_newer_ones() -> None:
    current = deployed(1, 2, 3, 4)
    back = provenance.rolled_back(current, provenance.rollback_target(current, "2"), "now")
    assert (back.version, [h.version for h in back.history]) == ("2", ["1"])


def test_a_record_survives_its_json_round_trip() -> None:
    current = deployed(1, 2)
    back = provenance.rolled_back(current, 0, "now")
    assert results.load_provenance(results.dumps(back)) == back


def test_every_field_of_a_provenance_record_has_its_type_checked() -> None:
    """model.json is in Git, where a pull request can edit it: each value is checked where
    it is read (the records kept in its history too), as train.json's are."""
    named = {str(f.type) for cls in (ProvenanceRecord, DeployedModel) for f in fields(cls)}
    assert named <= set(results._FIELD_CHECKS)


def test_an_older_record_without_the_optional_fields_still_loads() -> None:
    entry = {"version": "1", "model_uri": "models:/churn/1", "run_id": "run1"}
    required = {"pipeline": "churn", "environment": "staging", "model_name": "churn"}
    required |= {"version": "2", "model_uri": "models:/churn/2", "run_id": "run2"}
    required |= {"content_key": "k", "metrics": {"auc": 1}, "data_hash": "d", "spec_hash": "s"}
    doc = required | {"commit": "c", "schema_version": 1, "previous": entry, "history": [entry]}
    old = DeployedModel("1", "models:/churn/1", "run1")
    assert results.load_provenance(json.dumps(doc | {"retired": True})) == ProvenanceRecord(
        **{k: v for k, v in doc.items() if k not in ("previous", "history")},
        previous=old,
        history=[old],
    )


@pytest.mark.parametrize(
    ("where", "value", "problem"),
    [
        ("history.1", "v1", "history[1].version 'v1' is no registry version"),
        ("previous", "0", "previous.version '0' is no registry version"),
        ("rolled_back_from", "2147483648", "rolled_back_from.version '2147483648' is too large"),
    ],
)
def test_a_version_a_record_keeps_is_held_to_the_registry_s_numbers(
    where: str, value: str, problem: str
) -> None:
    """``rollback --to`` restores a history entry's version: the registry was asked for it."""
    doc = json.loads(results.dumps(replace(deployed(1, 2, 3), rolled_back_from=record(4))))
    at = doc
    for key in where.split("."):
        at = at[int(key)] if isinstance(at, list) else at[key]
    at["version"] = value
    with pytest.raises(BadInput) as raised:
        results.load_provenance(json.dumps(doc), "m.json")
    assert str(raised.value).startswith(f"m.json: {problem}")
    assert str(raised.value).endswith("; restore it from Git's history")


def test_a_record_of_its_overlay_reads_back_and_one_of_another_is_refused() -> None:
    text = results.dumps(deployed(1, 2))
    assert results.load_provenance(text, overlay=("churn", "staging")) == deployed(1, 2)
    with pytest.raises(BadInput, match=r"^model.json: environment 'staging' is not the "):
        results.load_provenance(text, overlay=("churn", "production"))
    with pytest.raises(BadInput, match=r"^model.json: pipeline 'churn' is not the overlay's "):
        results.load_provenance(text, overlay=("tumors", "staging"))


@pytest.mark.parametrize(
    ("versions", "to", "text"),
    [
        ((1,), None, "nothing to roll back to: model v1 is the only model recorded for staging"),
        ((1, 2, 3), "9", "model v9 is not in the history of staging (known: v2, v1)"),
        (
            (1,),
            "7",
            "model v7 is not in the history of staging (known: none; v1, deployed now, "
            "is the only model recorded there)",
        ),
    ],
)
def test_rollback_without_a_target_is_refused(
    versions: tuple[int, ...], to: str | None, text: str
) -> None:
    with pytest.raises(BadInput) as caught:
        provenance.rollback_target(deployed(*versions), to)
    assert str(caught.value) == text


def test_promote_copies_the_model_and_says_where_from() -> None:
    copy = provenance.promoted(deployed(1, 2), "production", "now")
    assert copy == replace(
        record(2), environment="production", deployed_at="now", promoted_from="staging"
    )


STAGING = Environment("staging", "ml-staging", canary=Canary((50, 100), "2m"))
PRODUCTION = Environment("production", "ml")


def test_deploy_message_has_the_conventional_subject_and_trailers() -> None:
    text = message.deploy_message(record(7), STAGING, "all 3 gates passed")
    assert text == (
        "deploy(churn): model v7 to staging (canary 50%→100%)\n"
        "\n"
        "Model models:/churn/7 from MLflow run run7\n"
        "(content key key7).\n"
        "Reviewed in pull request #7.\n"
        "Verdict: all 3 gates passed\n"
        "\n"
        "Mlgitops-Pipeline: churn\n"
        "Mlgitops-Environment: staging\n"
        "Mlgitops-Model-Version: 7\n"
        "Mlgitops-Run-Id: run7\n"
        "Mlgitops-Content-Key: key7\n"
    )


def test_promote_and_rollback_subjects() -> None:
    promoted = provenance.succeed(None, provenance.promoted(record(7), "production", "now"))
    assert message.promote_message(promoted, PRODUCTION).splitlines()[0] == (
        "promote(churn): model v7 from staging to production"
    )
    back = provenance.rolled_back(deployed(6, 7), 0, "now")
    text = message.rollback_message(back)
    assert text.splitlines()[0] == "rollback(churn): staging back to model v6 (from v7)"
    assert message.parse_trailers(text)["Rolled-Back-From"] == "7"


def test_git_reads_the_trailers_as_git_trailers() -> None:
    back = provenance.rolled_back(deployed(6, 7), 0, "now")
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message.rollback_message(back),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert parsed == (
        "Mlgitops-Pipeline: churn\n"
        "Mlgitops-Environment: staging\n"
        "Mlgitops-Model-Version: 6\n"
        "Mlgitops-Run-Id: run6\n"
        "Mlgitops-Content-Key: key6\n"
        "Mlgitops-Rolled-Back-From: 7\n"
    )
