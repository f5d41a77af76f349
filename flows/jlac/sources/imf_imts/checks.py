"""Expectations for IMF IMTS responses as parsed (raw.imf_imts, every fetched vintage)."""

from __future__ import annotations

import great_expectations as gx
import pycountry

from jlac import plan
from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations
# Partner codes IMTS uses (its availability response for the United States, api-recordings/imf-imts-sdmx3):
# ISO3 codes, former states, and IMF groups G<nnn>, GX<nnn>, TX<nnn> (G001 World, G998 European Union, ...)
OTHER_PARTNERS = ("ANT", "CSK", "DDR", "KOS", "SCG", "SUN", "WBG", "YAR", "YMD", "YUG")
GROUP_CODE = r"^(G|GX|TX)[0-9]{3}$"


def _known_partner_sql() -> str:
    codes = sorted({c.alpha_3 for c in pycountry.countries} | set(OTHER_PARTNERS))
    listed = ", ".join(f"'{c}'" for c in codes)
    return f"partner_code IN ({listed}) OR regexp_matches(partner_code, '{GROUP_CODE}')"


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.imf_imts: schema, grain, indicators, flows, frequencies and years, partner codes known, and
    annual world totals in plain US dollars."""
    rows = ("vintage", "file", "reporter_iso3", "partner_code", "time_period")
    return [
        Check(
            name="schema and grain",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_usd"),
                E.ExpectColumnValueLengthsToEqual(column="reporter_iso3", value=3),  # GX has no regex on DuckDB
                E.ExpectColumnValuesToBeInSet(column="indicator", value_set=["XG_FOB_USD", "MG_CIF_USD"]),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
                E.ExpectColumnValuesToBeInSet(column="frequency", value_set=["A", "Q", "M"]),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1948, max_value=plan.today().year),
            ],
        ),
        Check(
            name="partner codes are ISO3 or IMF group codes",
            query=f"SELECT *, CASE WHEN NOT ({_known_partner_sql()}) THEN partner_code END AS unknown_partner "
            "FROM raw.imf_imts",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unknown_partner")],
        ),
        Check(
            # Plain dollars, not millions: a country's annual trade with the world is above US$ 1 million.
            # Were SCALE=6 ever meant (values in millions), world totals would fall far below that.
            name="annual world totals are in plain US dollars",
            query="SELECT * FROM raw.imf_imts WHERE partner_code = 'G001' AND frequency = 'A'",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeBetween(column="value_usd", min_value=1e6)],
        ),
    ]
