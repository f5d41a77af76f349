"""Expectations for AidData GCDF 3.0 country-year sums as parsed (raw.aiddata_gcdf3_country_year)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations
AMOUNTS = ("oof_usd_2021", "oda_usd_2021", "vof_usd_2021", "oof_adj_usd_2021", "oda_adj_usd_2021",
           "vof_adj_usd_2021")


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.aiddata_gcdf3_country_year: schema, grain, years, COW codes, non-negative amounts, and Costa
    Rica (COW 94) mapped to CRI."""
    rows = ("file", "row_number")
    return [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=2000, max_value=plan.today().year),
                # Correlates of War state codes run from 2 (USA) to 990 (Samoa)
                E.ExpectColumnValuesToBeBetween(column="cow_code", min_value=2, max_value=999),
                *(E.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in AMOUNTS),
            ],
        ),
        Check(
            name="Costa Rica (COW 94) is present and mapped",
            query="SELECT DISTINCT recipient_iso3 FROM raw.aiddata_gcdf3_country_year WHERE cow_code = 94",
            expectations=[E.ExpectColumnDistinctValuesToEqualSet(column="recipient_iso3", value_set=["CRI"])],
        ),
    ]
