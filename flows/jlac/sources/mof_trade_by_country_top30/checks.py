"""Expectations for MOF's yearly top-30-partner file as parsed (raw.mof_trade_by_country_top30)."""

from __future__ import annotations

import great_expectations as gx

from jlac import plan
from jlac.checks import (
    one_country_two_names_query,
    schema_expectation,
    unmapped_names_query,
    violations_check,
)
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
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1988, max_value=plan.today().year),
                # 30 partners x 2 flows a year; far fewer means a truncated file
                E.ExpectTableRowCountToBeBetween(min_value=60),
            ],
        ),
        # The loaded vintage's file is a full grid: every year has the same partners in both flows. A file cut short
        # ends inside a year, which then lacks partners (a cut exactly between years: the file's name says). Rows of
        # earlier vintages are only the (partner, year, flow) no newer release lists (the parser checks their files
        # whole): there, each partner kept for a year has both flows. The query lists what is missing (vintage, file,
        # year, flow, partner), not the rows that are there. Rows without a flow are left out: the first check names
        # them.
        violations_check(
            "every year and flow has every partner",
            f"SELECT DISTINCT g.vintage, g.file, g.year, f.flow, p.partner_name AS missing_partner "
            f"FROM (SELECT DISTINCT vintage, file, year FROM {source.raw_table} WHERE flow IS NOT NULL) AS g "
            f"CROSS JOIN (VALUES ('export'), ('import')) AS f(flow) "
            f"JOIN (SELECT DISTINCT vintage, year, partner_name FROM {source.raw_table} WHERE flow IS NOT NULL) AS p "
            f"ON p.vintage = g.vintage AND (p.year = g.year OR g.vintage = (SELECT max(vintage) FROM "
            f"{source.raw_table})) WHERE NOT EXISTS (SELECT 1 FROM {source.raw_table} AS r "
            f"WHERE r.vintage = g.vintage AND r.year = g.year AND r.flow = f.flow AND r.partner_name = p.partner_name) "
            f"ORDER BY g.vintage, g.year, f.flow, missing_partner",
        ),
        # the grain above is by name: two spellings of one partner in a year and flow are two keys there
        violations_check(
            "one row per partner country, year and flow",
            one_country_two_names_query(source, "mof", "partner_name", ["vintage", "year", "flow"],
                                        "value_jpy_thousand"),
        ),
        Check(
            name="every partner name maps to a country",
            query=unmapped_names_query(source, "mof", "partner_name"),
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
    ]
