"""Expectations for IMF DOTS workbooks as parsed (raw.imf_dots)."""

from __future__ import annotations

from datetime import date

import great_expectations as gx

from jlac.checks import schema_expectation, unmapped_names_query
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    workbooks = sum(1 for f in snapshot.files if f.path.lower().endswith(".xlsx")) if snapshot else 0
    rows = ("file", "sheet", "row_number")
    out = [
        Check(name="schema", expectations=[schema_expectation(source)]),
        Check(
            name="grain and values of the workbooks used",
            query="SELECT * FROM raw.imf_dots WHERE duplicate_of IS NULL",
            index_columns=rows,
            expectations=[
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_usd_m"),
                # US$ 100 trillion: five times the world's trade with itself (World x World 2018, US$ 19.5 tn); a
                # misread cell (1e9) made Japan's LAC share 70,108 % of its world trade
                E.ExpectColumnValuesToBeBetween(column="value_usd_m", max_value=100_000_000),
                E.ExpectColumnValuesToNotBeNull(column="reporter_name"),
                E.ExpectColumnValuesToNotBeNull(column="partner_name"),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
                E.ExpectColumnValuesToBeInSet(column="sheet", value_set=["Exports, FOB", "Imports, CIF"]),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1948, max_value=date.today().year),
            ],
        ),
        Check(
            # IMF aggregate reporters carry small negative residuals (e.g. World x Malaysia 1960-63, the
            # difference between Malaysia and West Malaysia); a country's own report is never negative.
            name="non-negative values reported by countries",
            query="SELECT * FROM raw.imf_dots WHERE duplicate_of IS NULL AND reporter_name NOT IN "
            "(SELECT name FROM staging.country_name_map WHERE source = 'imf' AND kind = 'aggregate')",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeBetween(column="value_usd_m", min_value=0)],
        ),
        Check(
            name="every reporter name maps to a country or IMF aggregate",
            query=unmapped_names_query(source, "imf", "reporter_name"),
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
        Check(
            name="every partner name maps to a country or IMF aggregate",
            query=unmapped_names_query(source, "imf", "partner_name"),
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
    ]
    if workbooks:
        out.append(
            Check(
                # Every workbook the manifest lists contributes rows (a blank workbook would be an error), kept or
                # set aside in quarantine (an unknown reporter's workbook: jlac.quarantine).
                name=f"workbooks loaded against the manifest ({workbooks} listed)",
                query="SELECT file FROM raw.imf_dots UNION SELECT file FROM quarantine.rows WHERE source = 'imf-dots'",
                expectations=[E.ExpectTableRowCountToBeBetween(min_value=workbooks, max_value=workbooks)],
            )
        )
    return out
