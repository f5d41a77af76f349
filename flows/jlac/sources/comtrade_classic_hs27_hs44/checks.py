"""Expectations for the Comtrade classic HS 27 / HS 44 bulk files as parsed (raw.comtrade_classic_hs27_hs44)."""

from __future__ import annotations

import great_expectations as gx
import pycountry

from jlac.checks import schema_expectation, violations_check
from jlac.validation import Check

E = gx.expectations
# ISO 3166-1 and ISO 3166-3 (former states) alpha-3, plus the codes Comtrade uses for former states without one
ISO3 = sorted({c.alpha_3 for c in pycountry.countries} | {c.alpha_3 for c in pycountry.historic_countries}
              | {"ANT", "SCG", "PCI", "DDR", "YMD", "CSK", "SUN", "YUG"})
TABLE = "raw.comtrade_classic_hs27_hs44"


def checks(source, snapshot) -> list[Check]:
    """The suite of raw.comtrade_classic_hs27_hs44: schema, grain and values, chapter and year matching the file's
    folder and name, ISO3 codes, Japan reporting both chapters every year, and every listed file contributing rows."""
    files = sorted(f.path for f in snapshot.files if f.path.lower().endswith(".csv")) if snapshot else []
    rows = ("file", "trade_flow_code", "reporter_code", "partner_code")
    out = [
        Check(
            name="schema, grain and values",
            index_columns=rows,
            expectations=[
                schema_expectation(source),
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="trade_value_usd"),
                E.ExpectColumnValuesToBeBetween(column="trade_value_usd", min_value=0),
                E.ExpectColumnValuesToBeInSet(column="trade_flow_code", value_set=[1, 2, 3, 4]),
                E.ExpectColumnValuesToBeInSet(column="commodity_code", value_set=["27", "44"]),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1962, max_value=2030),
            ],
        ),
        Check(
            # oil/ holds chapter 27 and wood/ chapter 44, and each file one year: a mislabelled file would
            # put fuels under wood or shift a year.
            name="folder names the chapter, file name the year",
            query=f"SELECT * FROM {TABLE} WHERE commodity_code <> CASE split_part(file, '/', 1) "
            "WHEN 'oil' THEN '27' WHEN 'wood' THEN '44' END "
            "OR CAST(year AS VARCHAR) <> regexp_extract(file, '(\\d{4})\\.csv$', 1)",
            index_columns=rows,
            expectations=[E.ExpectTableRowCountToBeBetween(min_value=0, max_value=0)],
        ),
        Check(
            # Only Comtrade's non-geographic entries lack an ISO3 (World, 'Other Asia, nes', 'Areas, nes',
            # 'Bunkers', 'Free Zones', regional 'nes' buckets); a country without one would vanish from the mart.
            name="partners without ISO3 are World or non-geographic",
            query=f"SELECT *, CASE WHEN partner_iso3 IS NULL AND partner_code <> 0 "
            "AND partner_name NOT LIKE '%nes' AND partner_name NOT IN ('Bunkers', 'Free Zones', "
            "'Special Categories', 'US Misc. Pacific Isds', 'Neutral Zone', 'Br. Antarctic Terr.') "
            f"THEN partner_name END AS partner_without_iso3 FROM {TABLE}",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="partner_without_iso3")],
        ),
        Check(
            # Reporter and partner ISO are ISO 3166 alpha-3, current or former (ISO 3166-3: SUN, YUG, ...)
            name="reporter and partner ISO codes are ISO 3166",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeInSet(column=c, value_set=ISO3)
                          for c in ("reporter_iso3", "partner_iso3")],
        ),
        Check(
            name="Japan reports both chapters every year",
            query=f"SELECT year, count(DISTINCT commodity_code) AS chapters FROM {TABLE} "
            "WHERE reporter_iso3 = 'JPN' GROUP BY year",
            expectations=[E.ExpectColumnValuesToBeBetween(column="chapters", min_value=2, max_value=2)],
        ),
    ]
    if files:
        # Lists the files without a row (e.g. only a header), so the failure names them, not just a count.
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        out.append(violations_check(
            f"every file listed contributes rows ({len(files)} listed)",
            f"SELECT file AS file_without_rows FROM (SELECT unnest([{listed}]) AS file) AS l "
            f"WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS r WHERE r.file = l.file) ORDER BY file"))
    return out
