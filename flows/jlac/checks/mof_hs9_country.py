"""Expectations for MOF's HS-9 x country x month files (raw.mof_hs9_country, a view over Parquet partitions).

GX runs them through its SQL datasource, so DuckDB scans the Parquet partitions: no row reaches pandas. Row
checks look only at the files whose partition the published warehouse does not already hold under this same
suite (``jlac.partitions.files_to_validate``): a new month costs one month of checking, not the history. The
checks across partitions (one flow and year per file, each (flow, year) in one file) always see everything.
"""

from __future__ import annotations

import great_expectations as gx

from jlac.checks import schema_expectation
from jlac.config import get_settings
from jlac.partitions import files_to_validate
from jlac.validation import Check

E = gx.expectations


def _rows_query(source, snapshot) -> str:
    files = files_to_validate(get_settings(), source, snapshot)
    if files is None:
        return f"SELECT * FROM {source.raw_table}"
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files) or "NULL"
    return f"SELECT * FROM {source.raw_table} WHERE file IN ({listed})"  # Parquet min/max skip the other files


def checks(source, snapshot) -> list[Check]:
    rows = _rows_query(source, snapshot)
    months = " + ".join(f"value_m{i:02d}" for i in range(1, 13))
    return [
        Check(name="schema", query=f"SELECT * FROM {source.raw_table} LIMIT 0",
              expectations=[schema_expectation(source)]),
        Check(
            name="new rows: grain, codes and values",
            query=rows,
            index_columns=("file", "hs9", "country_code"),
            expectations=[
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
                E.ExpectColumnValuesToNotBeNull(column="value_year"),
                E.ExpectColumnValuesToBeBetween(column="value_year", min_value=0),
            ],
        ),
        Check(
            # Value-Year is MOF's own sum of the months; a difference means a shifted or truncated column.
            name="new rows: the year's value is the sum of its months",
            query=f"SELECT file, hs9, country_code, value_year = {months} AS consistent FROM ({rows})",
            index_columns=("file", "hs9", "country_code"),
            expectations=[E.ExpectColumnValuesToBeInSet(column="consistent", value_set=[True])],
        ),
        Check(
            # Every partner code must be one of MOF's codes (japan-customs-country-codes), or it maps to no country.
            # (GX has no regex expectation on DuckDB: the HS-9 shape is computed here and checked as a flag.)
            name="new rows: nine-digit HS codes and known MOF partner codes",
            query=f"SELECT r.file, r.hs9, r.country_code, c.code IS NOT NULL AS known, "
            f"regexp_full_match(r.hs9, '[0-9]{{9}}') AS hs9_is_nine_digits FROM ({rows}) r "
            "LEFT JOIN (SELECT DISTINCT lpad(CAST(code AS VARCHAR), 3, '0') AS code FROM raw.japan_customs_country_codes)"
            " c ON c.code = r.country_code",
            index_columns=("file", "hs9", "country_code"),
            expectations=[E.ExpectColumnValuesToBeInSet(column="known", value_set=[True]),
                          E.ExpectColumnValuesToBeInSet(column="hs9_is_nine_digits", value_set=[True])],
        ),
        Check(
            # One flow and one year per file, and no (flow, year) in two files: with the grain above, the key is
            # unique over all partitions without scanning the published ones again.
            name="all files: one flow and year each, none twice",
            query=f"SELECT file, min(flow) AS flow, min(year) AS year, count(DISTINCT flow) AS flows, "
            f"count(DISTINCT year) AS years FROM {source.raw_table} GROUP BY file",
            index_columns=("file",),
            expectations=[
                E.ExpectColumnValuesToBeBetween(column="flows", min_value=1, max_value=1),
                E.ExpectColumnValuesToBeBetween(column="years", min_value=1, max_value=1),
                E.ExpectCompoundColumnsToBeUnique(column_list=["flow", "year"]),
            ],
        ),
    ]
