"""Expectations for the Japan Customs country code list (raw.japan_customs_country_codes)."""

from __future__ import annotations

import great_expectations as gx

from jlac.checks import schema_expectation, unmapped_names_query, violations_check
from jlac.validation import Check

E = gx.expectations
ZONES = ("Africa", "Asia", "Central and East Europe, Russia etc.", "Middle East", "Middle and South America",
         "North America", "Oceania", "Special Area", "Western Europe")


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.japan_customs_country_codes: schema, one three-digit code per country, known zones, a
    plausible row count, and every country name mapped."""
    return [
        Check(
            index_columns=("file", "code", "zone", "country"),
            expectations=[
                schema_expectation(source),
                E.ExpectColumnValuesToBeUnique(column="code"),
                E.ExpectColumnValueLengthsToEqual(column="code", value=3),
                E.ExpectColumnValuesToNotBeNull(column="zone"),
                # the zones of Japan Customs' list (the mirror's 2021 file); the MOF-region figure selects its rows
                # by the label 'Middle and South America': a renamed zone would empty it without a word
                E.ExpectColumnValuesToBeInSet(column="zone", value_set=list(ZONES)),
                E.ExpectColumnValuesToNotBeNull(column="country"),
                E.ExpectTableRowCountToBeBetween(min_value=200, max_value=300),
            ],
        ),
        # a code given to a country that has one already (305 'Mexico' made 'Brazil'): Mexico left the MOF-region
        # figure, 11 of its US$ 29.9 bn exports gone, and was published (found by a QA pass); the list has one code
        # per country
        violations_check("one code per country",
                         f"SELECT country, list(code ORDER BY code) AS codes FROM {source.raw_table} "
                         "GROUP BY country HAVING count(*) > 1 ORDER BY country"),
        # three digits, which a length alone did not say ('NaN' has three characters); GX has no regex on DuckDB
        violations_check("every code is three digits",
                         f"SELECT file, code, country FROM {source.raw_table} "
                         "WHERE NOT regexp_full_match(code, '[0-9]{3}')"),
        Check(
            name="every MOF country name maps to ISO3 or is a known unallocated area",
            query=unmapped_names_query(source, "mof", "country"),
            index_columns=("file", "code"),
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
    ]
