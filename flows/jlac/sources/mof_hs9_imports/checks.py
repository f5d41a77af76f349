"""Expectations for MOF's annual HS-9 import files as parsed (raw.mof_hs9_imports)."""

from __future__ import annotations

import great_expectations as gx

from jlac import sqltext
from jlac.checks import schema_expectation, violations_check
from jlac.sources.mof_hs9_imports.source import FILE
from jlac.validation import Check

E = gx.expectations
MIN_LINES = 5000  # MOF lists about 8,000 HS-9 lines a year (7,972-8,018 in the mirror's 2009-2024 files)


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.mof_hs9_imports: schema, grain and values, enough HS-9 lines in every year's file, and each
    year's value equal to the sum of its months, in the file's year."""
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
            ],
        ),
        # Per file, not in total: a year's file that gave no row (or was cut short) hid among the others' rows
        # (a file with other line endings than the first was read as empty: found by a QA pass)
        violations_check(
            f"every year's file has at least {MIN_LINES:,} HS-9 lines",
            f"""SELECT l.file, count(r.file) AS lines FROM (SELECT unnest([{_listed(snapshot)}]) AS file) AS l
                LEFT JOIN raw.mof_hs9_imports AS r ON r.file = l.file GROUP BY l.file
                HAVING count(r.file) < {MIN_LINES} ORDER BY l.file"""),
        Check(
            # The year's value is MOF's own sum of the months; a difference means a shifted column.
            name="year value equals the sum of the months, in the file's year",
            index_columns=("file", "hs9"),
            query="SELECT *, value_jpy_thousand = value_months_jpy_thousand AND year = file_year AS consistent "
            "FROM raw.mof_hs9_imports",
            expectations=[E.ExpectColumnValuesToBeInSet(column="consistent", value_set=[True])],
        ),
    ]


def _listed(snapshot) -> str:
    """The snapshot's yearly files as SQL literals (NULL without a snapshot: no file to check)."""
    files = sorted(f.path for f in snapshot.files if FILE.match(f.path)) if snapshot else []
    return ", ".join(sqltext.literal(f) for f in files) or "NULL"
