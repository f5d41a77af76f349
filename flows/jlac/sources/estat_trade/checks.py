"""Expectations for e-Stat trade tables as parsed (raw.estat_trade)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.estat_trade: schema, grain, area codes, units, non-negative values, years and flows."""
    return [
        Check(
            name="schema and grain",
            index_columns=("file", "area_code", "time_code"),
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValueLengthsToEqual(column="area_code", value=5),  # GX has no regex on DuckDB
                E.ExpectColumnValuesToBeInSet(column="unit", value_set=["千円"], mostly=0.99),
                E.ExpectColumnValuesToBeBetween(column="value_jpy_thousand", min_value=0),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1988, max_value=plan.today().year),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
                E.ExpectColumnValuesToNotBeNull(column="flow"),
                # an area code must be one of the table's own (getMetaInfo) codes
                E.ExpectColumnValuesToNotBeNull(column="area_name"),
                # jlac asks each table for its commodity total and annual value only, and staging sums MOF
                # codes into ISO3 per flow, area and year: two tables covering the same year (e.g. an old
                # and a new table family) or two items of one table would count a value twice.
                E.ExpectCompoundColumnsToBeUnique(column_list=["flow", "area_code", "time_code"]),
            ],
        )
    ]
