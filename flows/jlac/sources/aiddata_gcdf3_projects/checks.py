"""Expectations for AidData GCDF 3.0 projects as parsed (raw.aiddata_gcdf3_projects)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.aiddata_gcdf3_projects: schema, unique project ids, years, flow classes, non-negative
    amounts, and recipient ISO-3 codes of three capitals."""
    rows = ("file", "row_number", "project_id")
    return [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectColumnValuesToBeUnique(column="project_id"),
                E.ExpectColumnValuesToNotBeNull(column="project_id"),
                E.ExpectColumnValuesToNotBeNull(column="commitment_year"),
                E.ExpectColumnValuesToNotBeNull(column="flow_type"),
                E.ExpectColumnValuesToBeBetween(column="commitment_year", min_value=1990,
                                                max_value=plan.today().year),
                E.ExpectColumnValuesToBeInSet(column="recommended_for_aggregates", value_set=["Yes", "No"]),
                E.ExpectColumnValuesToBeInSet(
                    column="flow_class", value_set=["ODA-like", "OOF-like", "Vague (Official Finance)"]
                ),
                # AidData records commitments, never negative
                E.ExpectColumnValuesToBeBetween(column="amount_usd_nominal", min_value=0),
            ],
        ),
        Check(
            # Country projects carry an ISO-3 code; a blank or odd code (other than AidData's regional rows) would
            # drop the project from every country table.
            name="recipient ISO-3 codes are three capitals",
            query="SELECT *, CASE WHEN NOT regexp_matches(recipient_iso3, '^[A-Z]{3}$') THEN recipient_iso3 END "
            "AS bad_iso3 FROM raw.aiddata_gcdf3_projects",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="bad_iso3")],
        ),
    ]
