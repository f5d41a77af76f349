"""Expectations for OECD CRS activities fetched from the Data Explorer (raw.oecd_crs_api)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.countries import CELAC
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.oecd_crs_api: schema, grain, codes, donors, CELAC recipients and years, and no negative
    commitment or disbursement."""
    rows = ("file", "row_number", "activity_id")
    return [
        Check(
            name="schema, grain and codes",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_usd"),
                E.ExpectColumnValuesToBeInSet(column="measure_code", value_set=["100", "14"]),
                E.ExpectColumnValuesToBeInSet(column="flow_type", value_set=["C", "D"]),
                # the connector asks for Japan and Korea to the 33 CELAC states
                E.ExpectColumnValuesToBeInSet(column="donor_iso3", value_set=["JPN", "KOR"]),
                E.ExpectColumnValuesToNotBeNull(column="donor_iso3"),
                E.ExpectColumnValuesToBeInSet(column="recipient_iso3", value_set=sorted(CELAC)),
                E.ExpectColumnValuesToNotBeNull(column="recipient_iso3"),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1960, max_value=plan.today().year),
            ],
        ),
        Check(
            # Commitments and gross disbursements are never negative (repayments are not in these flow types).
            name="commitments and gross disbursements are not negative",
            query="SELECT * FROM raw.oecd_crs_api",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeBetween(column="value_usd", min_value=0)],
        ),
    ]
