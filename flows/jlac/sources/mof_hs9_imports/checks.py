"""Expectations for MOF's annual HS-9 import files as parsed (raw.mof_hs9_imports)."""

from __future__ import annotations

import great_expectations as gx

from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    return [
        Check(
            name="schema and grain",
            index_columns=("file", "hs9"),
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_jpy_thousand"),
                E.ExpectColumnValuesToBeBetween(column="value_jpy_thousand", min_value=0),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["import"]),
                E.ExpectColumnValueLengthsToEqual(column="hs9", value=9),
                # about 8,000 HS-9 lines a year; far fewer means a truncated file
                E.ExpectTableRowCountToBeBetween(min_value=5000 * len(snapshot.files) if snapshot else 0),
            ],
        ),
        Check(
            # The year's value is MOF's own sum of the months; a difference means a shifted column.
            name="year value equals the sum of the months, in the file's year",
            index_columns=("file", "hs9"),
            query="SELECT *, value_jpy_thousand = value_months_jpy_thousand AND year = file_year AS consistent "
            "FROM raw.mof_hs9_imports",
            expectations=[E.ExpectColumnValuesToBeInSet(column="consistent", value_set=[True])],
        ),
    ]
