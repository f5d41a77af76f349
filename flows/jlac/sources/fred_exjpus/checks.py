"""Expectations for FRED EXJPUS (raw.fred_exjpus)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    return [
        Check(
            index_columns=("file", "row_number"),
            expectations=[
                schema_expectation(source),
                E.ExpectColumnValuesToBeUnique(column="month"),
                E.ExpectColumnValuesToNotBeNull(column="month"),
                # a month to come (an answer with 2099-01-01) was stored and published (found by a QA pass)
                E.ExpectColumnValuesToBeBetween(column="month", min_value="1971-01-01",
                                                max_value=plan.today().isoformat()),
                # The yen has traded between about 75 and 360 per dollar since 1971.
                E.ExpectColumnValuesToBeBetween(column="jpy_per_usd", min_value=50, max_value=400),
                E.ExpectTableRowCountToBeBetween(min_value=12),
            ],
        )
    ]
