"""failed.json (mlgitops.outputs.record_failure): what a stage that stopped leaves for the
report, as the command answered."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from mlgitops.errors import DataError, Problem, SpecError
from mlgitops.outputs import Outputs, failed_stage, record_failure


def _record(folder: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((folder / "failed.json").read_text())
    return loaded


def test_a_file_the_system_refused_is_bad_input_naming_it(tmp_path: Path) -> None:
    outputs = Outputs(tmp_path / "out")
    refused = PermissionError(errno.EACCES, "Permission denied", "data/x.csv")
    record_failure(outputs, "churn", "train", refused)
    assert _record(outputs.folder) == {
        "schema_version": 1,
        "pipeline": "churn",
        "stage": "train",
        "exit_code": 2,  # what the command answers for it, as for any bad input
        "message": "data/x.csv: Permission denied",
    }


def test_a_bug_is_exit_3_and_says_where_to_look(tmp_path: Path) -> None:
    outputs = Outputs(tmp_path / "out")
    record_failure(outputs, "churn", "compare", KeyError("x"))
    assert _record(outputs.folder)["exit_code"] == 3
    assert _record(outputs.folder)["message"] == (
        "an unexpected error in mlgitops (KeyError): see the job's log"
    )


def test_a_missing_extra_is_bad_input_with_its_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlgitops.cli

    monkeypatch.setattr(mlgitops.cli, "_installed", lambda module: False)
    outputs = Outputs(tmp_path / "out")
    record_failure(outputs, "churn", "train", ModuleNotFoundError("no mlflow", name="mlflow"))
    assert _record(outputs.folder)["exit_code"] == 2
    assert str(_record(outputs.folder)["message"]).startswith(
        "mlflow is not installed, and train needs it: "
    )


def test_a_spec_error_the_trainer_found_and_an_earlier_stage_s_record_stays(
    tmp_path: Path,
) -> None:
    """render --check does not see what only the trainer checks (an estimator's
    parameters): the report must say why training stopped."""
    outputs = Outputs(tmp_path / "out")
    problems = [Problem("p.yaml", 3, 5, "bad"), Problem("p.yaml", 4, 5, "worse")]
    record_failure(outputs, "churn", "train", SpecError(problems))
    assert _record(outputs.folder)["exit_code"] == 2
    assert _record(outputs.folder)["message"] == "p.yaml:3:5: bad; p.yaml:4:5: worse"
    record_failure(outputs, "churn", "train", DataError("data/x.csv: no rows"))
    record_failure(outputs, "churn", "compare", DataError("no train.json"))
    assert failed_stage(outputs) == "train"
    assert _record(outputs.folder)["message"] == "data/x.csv: no rows"
    long = DataError("x" * 5000)
    record_failure(outputs, "churn", "train", long)  # the same stage: replaced, and cut
    assert _record(outputs.folder)["message"] == "x" * 1000


def test_secrets_of_the_job_are_masked_as_github_masks_them_in_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comment quotes failed.json, and GitHub masks secrets only in the job's log."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-0123456789")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter22")
    monkeypatch.setenv("CUSTOM_API_KEY", "k-abcdef")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ci")  # a name, not a credential
    outputs = Outputs(tmp_path / "out")
    said = DataError(
        "server said: bad token tok-0123456789 for ci (password hunter22, key k-abcdef) "
        "at https://ci:hunter22@mlflow.corp/api and s3://bucket/x"
    )
    record_failure(outputs, "churn", "compare", said)
    assert _record(outputs.folder)["message"] == (
        "server said: bad token *** for ci (password ***, key ***) "
        "at https://***@mlflow.corp/api and s3://bucket/x"
    )


def test_a_password_holding_an_at_sign_is_masked_whole(tmp_path: Path) -> None:
    """HTTP clients split user information at its last ``@``: so must the mask."""
    outputs = Outputs(tmp_path / "out")
    said = DataError("MLflow at http://alice:hunter@2024@127.0.0.1:9/api and postgresql://u:p@db/x")
    record_failure(outputs, "churn", "train", said)
    assert _record(outputs.folder)["message"] == (
        "MLflow at http://***@127.0.0.1:9/api and postgresql://***@db/x"
    )
