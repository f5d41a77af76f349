"""Expectations for OECD DAC Table 2a fetched from the Data Explorer (raw.oecd_dac2a_api)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.countries import CELAC
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.oecd_dac2a_api: schema, grain, years and CELAC recipients, and (with a snapshot) Figure 3's
    donors present."""
    rows = ("file", "row_number", "donor_name")
    out = [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_usd_m"),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1960, max_value=plan.today().year),
                # the connector asks for the 33 CELAC states; any other recipient means another query
                E.ExpectColumnValuesToBeInSet(column="recipient_iso3", value_set=sorted(CELAC)),
                E.ExpectColumnValuesToNotBeNull(column="recipient_iso3"),
            ],
        ),
    ]
    if snapshot is not None:  # without a snapshot the table is empty by design
        out.append(
            Check(
                name="Figure 3 donors present (Japan, Korea)",
                query="SELECT DISTINCT donor_iso3 FROM raw.oecd_dac2a_api WHERE donor_iso3 IS NOT NULL",
                expectations=[E.ExpectColumnDistinctValuesToContainSet(column="donor_iso3", value_set=["JPN", "KOR"])],
            )
        )
    return out
