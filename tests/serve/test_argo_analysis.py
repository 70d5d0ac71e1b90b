"""The test stand-in for Argo Rollouts' measurement: argument substitution and conditions."""

from __future__ import annotations

import math

import pytest

from tests.fixtures.argo_analysis import evaluate, phase, resolve

GUARD = "len(result) > 0 && !isNaN(result[0]) && "
METRIC = {
    "successCondition": GUARD + "result[0] >= 0.99",
    "failureCondition": GUARD + "result[0] < 0.99",
}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ([1.0], "Successful"),
        ([0.99], "Successful"),
        ([0.5], "Failed"),
        ([], "Inconclusive"),  # no series: result[0] is never read
        ([math.nan], "Inconclusive"),
    ],
)
def test_guarded_conditions_decide_as_argo_rollouts_does(
    result: list[float], expected: str
) -> None:
    assert phase(METRIC, result) == expected


def test_operators_and_precedence() -> None:
    assert evaluate("!(1 > 2) && 3 <= 3", []) is True
    assert evaluate("1 > 2 || 2 == 2", []) is True
    assert evaluate("len(result) != 2", [1.0, 2.0]) is False
    assert evaluate("result[1] > result[0]", [1.0, 2.5]) is True


def test_arguments_are_substituted_and_unknown_ones_refused() -> None:
    assert resolve(
        'x{service="{{args.service}}"}[{{ args.window }}]', {"service": "a", "window": "2m"}
    ) == ('x{service="a"}[2m]')
    with pytest.raises(KeyError, match=r"args\.missing"):
        resolve("{{args.missing}}", {})
