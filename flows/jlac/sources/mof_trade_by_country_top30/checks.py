"""Expectations for MOF's yearly top-30-partner file as parsed (raw.mof_trade_by_country_top30)."""

from __future__ import annotations

from datetime import date

import great_expectations as gx

from jlac.checks import schema_expectation, unmapped_names_query
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    rows = ("vintage", "file", "row_number")
    return [
        Check(
            name="schema, grain and values",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                # exactly one of From/To is Japan: the parser leaves flow NULL otherwise
                E.ExpectColumnValuesToNotBeNull(column="flow"),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
                E.ExpectColumnValuesToNotBeNull(column="value_jpy_thousand"),
                # at most ¥100 trillion with one partner in one year: four times the largest ever (China, about
                # ¥25 tn); a value ~50,000 times too large (a misplaced digit group) was published as Mexico 2024
                E.ExpectColumnValuesToBeBetween(column="value_jpy_thousand", min_value=0, max_value=100_000_000_000),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1988, max_value=date.today().year),
                # 30 partners x 2 flows a year; far fewer means a truncated file
                E.ExpectTableRowCountToBeBetween(min_value=60),
            ],
        ),
        Check(
            # Each vintage's file is a full grid: every year has the same partners in both flows. A file cut short
            # ends inside a year, which then lacks partners (a cut exactly between years: the file's name says).
            name="every year and flow has every partner",
            query=(
                f"SELECT r.*, CASE WHEN (SELECT count(DISTINCT partner_name) FROM {source.raw_table} AS g "
                f"WHERE g.vintage = r.vintage AND g.year = r.year AND g.flow = r.flow) < (SELECT "
                f"count(DISTINCT partner_name) FROM {source.raw_table} AS v WHERE v.vintage = r.vintage) "
                f"THEN r.vintage || ': ' || r.year || ' ' || r.flow END AS incomplete_year_flow "
                f"FROM {source.raw_table} AS r"
            ),
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="incomplete_year_flow")],
        ),
        Check(
            name="every partner name maps to a country",
            query=unmapped_names_query(source, "mof", "partner_name"),
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
    ]
