"""Expectations for MOF customs CSVs as parsed (raw.mof_customs)."""

from __future__ import annotations

import great_expectations as gx

from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.mof_customs: schema, grain, non-negative values and flows."""
    return [
        Check(
            name="schema and grain",
            index_columns=("file", "row_number", "column_name"),
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_jpy_thousand"),
                E.ExpectColumnValuesToBeBetween(column="value_jpy_thousand", min_value=0),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
            ],
        )
    ]
