from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest


@pytest.fixture(scope="session")
def verdict_schema() -> dict[str, Any]:
    text = resources.files("mlgitops.schemas").joinpath("verdict.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
