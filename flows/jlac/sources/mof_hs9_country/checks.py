"""Expectations for MOF's HS-9 x country x month files (raw.mof_hs9_country, a view over Parquet partitions).

GX runs them through its SQL datasource, so DuckDB scans the Parquet partitions: no row reaches pandas. Row
checks look only at the files whose partition the published warehouse does not already hold under this same
suite (``jlac.partitions.files_to_validate``): a new month costs one month of checking, not the history. The
check across files (one flow and year per file, no (flow, year) twice) reads the partitions' Parquet statistics.

Each GX expectation is at least one scan of the rows (5.7 M of them for 38 years), so the rules on single rows
(flow code, year, values and quantities, HS code, partner code, year = sum of months) are computed in one query
as a ``problem`` text per row (NULL when the row is fine) and GX expects it to be NULL everywhere; the report lists
the failing rows with their problem. The grain (one row per file, HS-9 line and partner) is a second scan, listing
repeated keys.
"""

from __future__ import annotations

import great_expectations as gx

from jlac import plan, sqltext
from jlac.checks import repeated_keys_query, schema_expectation, violations_check
from jlac.partitions import files_to_validate, published_partitions
from jlac.validation import Check

E = gx.expectations
# Other sources whose raw tables these checks read: a new vintage of one checks this source's published rows again
# (jlac.validation.dependents). Only the new partitions were checked, so a code list dropping a code the published
# rows use was published incrementally, a state no fresh build reaches (found by a QA pass).
READS = ("japan-customs-country-codes",)
# Nine digits, or MOF's confidential lines: the chapter, six X and a letter (e.g. 81XXXXXXA in mof-hs9-imports).
HS9_PATTERN = "[0-9]{9}|[0-9]{2}X{6}[A-Z]"
FIRST_YEAR = 1988  # MOF's HS-9 by country table starts in 1988


def _rows_query(source, snapshot, settings) -> str:
    files = None if settings is None else files_to_validate(settings, source, snapshot)
    if files is None:
        return f"SELECT * FROM {source.raw_table}"
    listed = ", ".join(sqltext.literal(f) for f in files) or "NULL"
    return f"SELECT * FROM {source.raw_table} WHERE file IN ({listed})"  # Parquet min/max skip the other files


def _named(columns: list[str], test: str) -> str:
    """SQL naming the columns of a row that meet ``test`` (e.g. 'value_m02 quantity1_m03')."""
    return "trim(" + " || ".join(f"CASE WHEN r.{c} {test} THEN '{c} ' ELSE '' END" for c in columns) + ")"


def checks(source, snapshot, settings=None) -> list[Check]:
    rows = _rows_query(source, snapshot, settings)
    this_year = plan.today().year
    month_cols = [f"value_m{i:02d}" for i in range(1, 13)]
    months = " + ".join(f"r.{c}" for c in month_cols)
    empty_month = " OR ".join(f"r.{c} IS NULL" for c in month_cols)
    which_empty = _named(month_cols, "IS NULL")
    quantities = [c.name for c in source.columns if c.name.startswith("quantity")]
    empty_quantity = " OR ".join(f"r.{c} IS NULL" for c in quantities)
    which_empty_quantity = _named(quantities, "IS NULL")
    signed = month_cols + quantities
    negative = " OR ".join(f"r.{c} < 0" for c in signed)
    which_negative = _named(signed, "< 0")
    # MOF's quantities for the year are its own sums of the months, as its values are (every line of the mirror's
    # mof-hs9-imports, 2009-2024: 126,887 lines)
    quantity_sums = " OR ".join(
        f"r.quantity{k}_year <> " + " + ".join(f"r.quantity{k}_m{i:02d}" for i in range(1, 13)) for k in (1, 2))
    return [
        Check(name="new rows: schema", query=rows, expectations=[schema_expectation(source)]),  # no scan
        Check(
            # One scan for every rule on a single row; the report lists each failing row with its problem.
            name="new rows: flow, values, HS code, partner code, months",
            query=f"""SELECT r.file, r.hs9, r.country_code, CASE
                WHEN r.flow IS NULL THEN 'Exp or Imp is neither 1 (exports) nor 2 (imports)'
                -- an empty Year passed every rule below (and the dbt tests, which select new rows by year) and was
                -- published as a year of NULL (found by a QA pass)
                WHEN r.year IS NULL THEN 'Year is empty'
                WHEN r.year < {FIRST_YEAR} THEN 'Year ' || r.year || ' is before {FIRST_YEAR}, MOF''s first year'
                -- a year to come was published (found by a QA pass): every other dated source bounds it so
                WHEN r.year > {this_year} THEN 'Year ' || r.year || ' is after this year, {this_year}'
                WHEN r.value_year IS NULL THEN 'Value-Year is empty'
                WHEN r.value_year < 0 THEN 'Value-Year is negative'
                -- an empty month made the sum below NULL, so the rule passed and the month was lost in the facts
                WHEN {empty_month} THEN 'a month''s value is empty: ' || {which_empty}
                WHEN {empty_quantity} THEN 'a quantity is empty: ' || {which_empty_quantity}
                WHEN {negative} THEN 'a month''s value or a quantity is negative: ' || {which_negative}
                -- regexp_full_match of an empty HS is NULL, not false: the rule passed it
                WHEN r.hs9 IS NULL OR r.hs9 = '' THEN 'HS code is empty'
                WHEN NOT regexp_full_match(r.hs9, '{HS9_PATTERN}') THEN 'HS code is not 9 digits'
                WHEN c.code IS NULL THEN 'partner code is not in japan-customs-country-codes'
                -- Value-Year is MOF's own sum of the months; a difference means a shifted or truncated column
                WHEN r.value_year <> {months} THEN 'Value-Year is not the sum of the twelve months'
                WHEN {quantity_sums} THEN 'Quantity1-Year or Quantity2-Year is not the sum of the twelve months'
                END AS problem
                FROM ({rows}) AS r
                LEFT JOIN (SELECT DISTINCT code FROM raw.japan_customs_country_codes) AS c
                    ON c.code = r.country_code""",
            index_columns=("file", "hs9", "country_code"),
            expectations=[E.ExpectColumnValuesToBeNull(column="problem")],
        ),
        # The grain: one row per HS-9 line and partner in a file (and, below, one flow and year per file). The query
        # lists the repeated keys, with their lowest and highest Value-Year (a conflict shows both values).
        violations_check(
            "new rows: one row per file, HS-9 line and partner",
            repeated_keys_query(rows, ["file", "hs9", "country_code"],
                                also="min(value_year) AS value_year_min, max(value_year) AS value_year_max"),
        ),
        # With the grain above, (flow, year, hs9, country_code) is unique over all partitions without reading the
        # published ones again: their row counts and min/max statistics suffice. Each file with a problem is named,
        # with the other files of its flow and year; a file with only its header (no row: NULL statistics) took
        # that flow and year out of every fact (found by a QA pass).
        violations_check(
            "all files: rows, one flow and one year each, no (flow, year) twice",
            f"""SELECT file, min_exp_or_imp AS exp_or_imp, min_year AS year, CASE
                WHEN rows = 0 THEN 'no data row (only a header?)'
                WHEN min_exp_or_imp <> max_exp_or_imp OR min_year <> max_year
                    THEN 'more than one flow or year in one file'
                WHEN count(*) OVER (PARTITION BY min_exp_or_imp, min_year) > 1
                    THEN 'the same flow and year as ' || string_agg(file, ', ') OVER (PARTITION BY min_exp_or_imp,
                         min_year ORDER BY file ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                END AS problem
                FROM {source.raw_table}_partitions QUALIFY problem IS NOT NULL ORDER BY file"""),
        *_history_kept(source, settings),
    ]


def _history_kept(source, settings) -> list[Check]:
    """MOF's table keeps every year: a new vintage without a flow and year the published warehouse holds (a vintage
    whose files were lost, e.g. an append copied from a folder a killed run left empty) would take it out of every
    fact. Found by a QA pass: such a vintage published only 2026, dropping 2024 and 2025."""
    published = None if settings is None else published_partitions(
        settings, source, "DISTINCT min_exp_or_imp, min_year",
        "rows > 0 AND min_exp_or_imp IS NOT NULL AND min_year IS NOT NULL")
    if not published:
        return []
    values = ", ".join(f"({int(f)}, {int(y)})" for f, y in sorted(published))
    return [violations_check(
        "all files: every flow and year the published warehouse holds",
        f"""SELECT p.exp_or_imp, p.year, 'published, and missing from this vintage: a vintage that lost files? '
                || '(a vintage with fewer years is published into a new warehouse home only)' AS problem
            FROM (VALUES {values}) AS p(exp_or_imp, year)
            WHERE NOT EXISTS (SELECT 1 FROM {source.raw_table}_partitions AS n WHERE n.rows > 0
                              AND n.min_exp_or_imp = p.exp_or_imp AND n.min_year = p.year)""")]
