"""Expectations for UN Comtrade v1 responses as parsed (raw.comtrade_v1)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.comtrade_v1: schema, grain, non-negative US$ values, flows and years."""
    return [
        Check(
            name="schema and grain",
            index_columns=("file", "reporter_code", "partner_code", "flow", "year"),
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_usd"),
                E.ExpectColumnValuesToBeBetween(column="value_usd", min_value=0),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1962, max_value=plan.today().year),
            ],
        )
    ]
