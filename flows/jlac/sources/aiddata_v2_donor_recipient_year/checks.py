"""Expectations for AidData 2.x donor-recipient-year sums as parsed (raw.aiddata_v2_donor_recipient_year)."""

from __future__ import annotations

import great_expectations as gx

from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.aiddata_v2_donor_recipient_year: schema, grain, amounts, years 1947-2011, no unknown code,
    and Figure 3's donors (Japan, Korea) and recipient (Costa Rica) present."""
    rows = ("file", "row_number", "year")
    return [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="amount_usd"),
                # commitments: 0 occurs (57 cells in the 2012 file), a negative amount does not
                E.ExpectColumnValuesToBeBetween(column="amount_usd", min_value=0),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1947, max_value=2011),
                # a code neither ISO3 nor reviewed (source.RECODES, NOT_COUNTRIES) would drop or misplace a
                # country's rows: named with its row count, to be reviewed
                E.ExpectColumnValuesToBeNull(column="unknown_code"),
            ],
        ),
        Check(
            name="Figure 3 donors present (Japan, Korea)",
            query="SELECT DISTINCT donor FROM raw.aiddata_v2_donor_recipient_year WHERE donor_is_country",
            expectations=[E.ExpectColumnDistinctValuesToContainSet(column="donor", value_set=["JPN", "KOR"])],
        ),
        # Figure 3's recipient: written 'Costa Rica' or 'cri' (read as a regional name), its rows left the figure,
        # which drew Japan's and Korea's 2009 as 0 "none recorded" (found by a QA pass)
        Check(
            name="Figure 3 recipient present (Costa Rica)",
            query="SELECT DISTINCT recipient_iso3 FROM raw.aiddata_v2_donor_recipient_year "
                  "WHERE recipient_iso3 IS NOT NULL",
            expectations=[E.ExpectColumnDistinctValuesToContainSet(column="recipient_iso3", value_set=["CRI"])],
        ),
    ]
