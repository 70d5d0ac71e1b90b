"""Missing, unexpected and out-of-order columns, from a data file's header alone: a header
that names the declared columns, each once, needs no pandera; any other is judged by
pandera's schema on a frame of no rows.
"""

from __future__ import annotations

from typing import Any

from mlgitops.validation.failures import STRUCTURE_CHECKS, Failure, Tally
from mlgitops.validation.rules import Schema


def structure(schema: Any, header: tuple[str, ...]) -> list[Failure]:
    """Missing, unexpected and out-of-order columns, from the header alone."""
    rules = Schema.of(schema)
    if _exactly_declared(rules, header):
        return []  # the declared columns, each once: pandera finds nothing
    return pandera_structure(rules, header)


def pandera_structure(rules: Schema, header: tuple[str, ...]) -> list[Failure]:
    """What pandera's schema finds wrong in the header: its structural failures on a frame
    of no rows."""
    import pandas as pd
    import pandera.pandas as pa

    frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in header})
    tally = Tally()
    try:
        rules.pandera.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        # a required regex column that matches no column: its check names the regex
        nothing = cases["check"].astype(str).str.startswith("no_regex_column_match(")
        tally.add_cases(cases[cases["check"].isin(STRUCTURE_CHECKS) | nothing], set())
    return list(tally.failures())


def _exactly_declared(schema: Schema, header: tuple[str, ...]) -> bool:
    """The header names each column once, every required one, and (strict) no other:
    no structural failure, without asking pandera. Anything else (regex columns,
    ordered or dataframe-level settings) goes to pandera."""
    plain = not schema.ordered and schema.strict in (True, False) and not schema.unique
    if not plain or any(c.regex for c in schema.columns.values()):
        return False
    names = set(header)
    if len(names) != len(header):
        return False
    required = {n for n, c in schema.columns.items() if c.required}
    return required <= names and (not schema.strict or names <= set(schema.columns))
