"""Expectations for AidData GCDF 2.0 projects as parsed (raw.aiddata_gcdf2_projects)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.aiddata_gcdf2_projects: schema, unique project ids, years, flow classes and positive
    amounts, and every country recipient mapped to ISO3."""
    rows = ("file", "row_number", "project_id")
    return [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectColumnValuesToBeUnique(column="project_id"),
                E.ExpectColumnValuesToNotBeNull(column="commitment_year"),
                E.ExpectColumnValuesToNotBeNull(column="recipient_name"),
                E.ExpectColumnValuesToNotBeNull(column="flow_type"),
                E.ExpectColumnValuesToBeBetween(
                    column="commitment_year", min_value=1990, max_value=plan.today().year
                ),
                E.ExpectColumnValuesToBeInSet(
                    column="flow_class", value_set=["ODA-like", "OOF-like", "Vague (Official Finance)"]
                ),
                # AidData records commitments, never negative; an amount of 0 would be a parsing slip.
                E.ExpectColumnValuesToBeBetween(column="amount_usd_nominal", min_value=0, strict_min=True),
            ],
        ),
        Check(
            # Country recipients resolve to ISO3; only AidData's regional buckets may stay unresolved.
            name="every country recipient maps to ISO3",
            query="SELECT *, CASE WHEN recipient_iso3 IS NULL AND recipient_name NOT LIKE '%, regional' "
            "AND recipient_name <> 'Multi-Region' THEN recipient_name END AS unmapped_name "
            "FROM raw.aiddata_gcdf2_projects",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
    ]
