"""AidData 2.x commitments summed by donor, recipient and year (redistributor's sums, all donors but China).

Layout (see the snapshot's SNAPSHOT.yml): CSV, wide: ``donor, recipient`` then one column per year
1947-2011. Donor and recipient are ISO3 codes for countries; multilaterals are names in parentheses
('(IADB)') or plain names ('Bill & Melinda Gates Foundation'). US dollars; the price basis is not
documented (AidData 2.x mostly constant 2009 US$), so jlac labels it approximate. An empty cell is no
commitment recorded.

Not every three-letter code is ISO 3166: the file spells Rwanda ``RQA`` (56 rows, none under ``RWA``; its donors are
Rwanda's: AfDF, IDA, Belgium, the Netherlands) and has one recipient ``IRA`` (Liechtenstein, 1984: Iran or Iraq, the
file does not say), and two UN agencies are donors under three letters (``WFP``, ``WHO``). ``donor_iso3`` and
``recipient_iso3`` hold ISO3 only: a code ISO (or pycountry's historic list) knows, or a reviewed recode below; a
reviewed non-country code is NULL, like a regional name. A three-letter code neither knows is ``unknown_code``, which
the source's checks refuse, naming it with its row count: review it here. A code written in lower case (``cri``) is
read as the code (``CRI``); see ``parse``.
"""

from __future__ import annotations

import duckdb
import pycountry

from jlac import sqltext
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import header_only, read_csv

# AidData 2.x codes that are not ISO 3166 alpha-3, reviewed against the file's own rows
RECODES = {"RQA": "RWA"}  # Rwanda: the file has no RWA, and RQA's donors and years are Rwanda's
NOT_COUNTRIES = {
    "IRA": "one recipient row (donor LIE, 1984): Iran (IRN) or Iraq (IRQ), both present under ISO codes",
    "WFP": "World Food Programme (a UN agency, donor)",
    "WHO": "World Health Organization (a UN agency, donor)",
}


def iso3_of(code: str) -> tuple[str | None, bool]:
    """(ISO3 or None, whether the code is unknown): ISO and historic ISO codes, the reviewed recodes and non-countries;
    names (multilaterals, regional recipients) are not codes and not unknown."""
    if len(code) != 3 or not code.isascii() or not code.isupper() or not code.isalpha():
        return None, False
    if code in RECODES:
        return RECODES[code], False
    if code in NOT_COUNTRIES:
        return None, False
    if pycountry.countries.get(alpha_3=code) or pycountry.historic_countries.get(alpha_3=code):
        return code, False
    return None, True


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Long format: one row per donor, recipient and year with a non-empty cell."""
    files = [f.path for f in snapshot.files if f.path.lower().endswith(".csv")]
    if len(files) != 1:
        raise ParseError(f"aiddata-v2-donor-recipient-year {snapshot.id}: expected one CSV, found {files}")
    label = files[0]
    rel = read_csv(con, snapshot.path(label), f"aiddata-v2-donor-recipient-year {label}", header=True, all_varchar=True)
    cols = rel.columns
    years = cols[2:]
    if cols[:2] != ["donor", "recipient"] or not years:
        raise ParseError(
            f"aiddata-v2-donor-recipient-year {label}: expected header 'donor,recipient,<year>,...', "
            f"found {cols[:5]}"
        )
    for i, y in enumerate(years):
        # one column per year, consecutive: a missing or annotated year would shift or drop a year's sums
        if not (y.isdigit() and len(y) == 4) or (i and int(y) != int(years[i - 1]) + 1):
            raise ParseError(
                f"aiddata-v2-donor-recipient-year {label}: header column {i + 3} is {y!r}, expected the year "
                f"{int(years[i - 1]) + 1 if i and years[i - 1].isdigit() else 'YYYY'} (one column per year, in order)"
            )
    rel.create_view("_aidv2_src", replace=True)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _aidv2 AS "
        "SELECT row_number() OVER () + 1 AS row_number, * FROM _aidv2_src"
    )
    # Three letters in any case are a code: 'cri' was taken for a name (like '(IADB)'), so its rows had no ISO3 and
    # staging, which keeps countries only, left them out without a word (a QA pass). No name in the file is three
    # letters. Written as the code, a 'cri' line beside a 'CRI' one for the same donor and year is a repeated key,
    # which the checks refuse, rather than two rows that fct_dev_finance would add up.
    code = "CASE WHEN regexp_full_match(trim({0}), '[A-Za-z]{{3}}') THEN upper(trim({0})) ELSE trim({0}) END"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _aidv2_long AS
        SELECT row_number, {code.format("donor")} AS donor, {code.format("recipient")} AS recipient,
               CAST(year AS INTEGER) AS year, value
        FROM (UNPIVOT _aidv2 ON COLUMNS(* EXCLUDE (row_number, donor, recipient)) INTO NAME year VALUE value)
        WHERE trim(value) <> ''
        """
    )
    # a file cut after its header ended in DuckDB's "executemany requires a non-empty list" below
    if not con.sql("SELECT count(*) FROM _aidv2_long").fetchall()[0][0]:
        raise header_only(f"aiddata-v2-donor-recipient-year {label}", "amount", "AidData's file has a line per donor "
                          "and recipient with their yearly sums")
    bad = con.sql(
        "SELECT row_number, year, value FROM _aidv2_long WHERE TRY_CAST(value AS DOUBLE) IS NULL LIMIT 3"
    ).fetchall()
    if bad:
        raise ParseError(
            f"aiddata-v2-donor-recipient-year {label}: expected US$ amounts; "
            + "; ".join(f"line {r} year {y}: {v!r}" for r, y, v in bad)
        )
    # an empty donor or recipient cell is NULL: no code, no country (and no crash: found by a review)
    codes = [c for (c,) in con.execute(
        "SELECT DISTINCT donor FROM _aidv2_long UNION SELECT DISTINCT recipient FROM _aidv2_long").fetchall()
        if c is not None]
    con.execute("CREATE OR REPLACE TEMP TABLE _aidv2_codes (code VARCHAR, iso3 VARCHAR, is_unknown BOOLEAN)")
    con.executemany("INSERT INTO _aidv2_codes VALUES (?, ?, ?)", [(c, *iso3_of(c)) for c in codes])
    return con.sql(
        f"""
        SELECT {sqltext.literal(label)} AS file, row_number, donor, recipient, year,
               CAST(value AS DOUBLE) AS amount_usd,
               coalesce(d.iso3 IS NOT NULL, false) AS donor_is_country, d.iso3 AS donor_iso3, r.iso3 AS recipient_iso3,
               CASE WHEN d.is_unknown THEN donor WHEN r.is_unknown THEN recipient END AS unknown_code
        FROM _aidv2_long
        LEFT JOIN _aidv2_codes AS d ON d.code = donor
        LEFT JOIN _aidv2_codes AS r ON r.code = recipient
        ORDER BY row_number, year
        """
    )


SOURCE = Source(
    name="aiddata-v2-donor-recipient-year",
    description="AidData 2.x aid commitments summed by donor, recipient and commitment year (1947-2011, "
    "usable to 2009), US dollars with an undocumented, roughly constant-2009 price basis. No China rows.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot"),
        Column("row_number", "INTEGER", "Line number of the donor-recipient row (header = line 1)"),
        Column("donor", "VARCHAR", "Donor: ISO3 for countries (a code in lower case upper-cased), AidData names for "
               "multilaterals/foundations"),
        Column("recipient", "VARCHAR", "Recipient: ISO3 for countries (a code in lower case upper-cased), names for "
               "regional recipients"),
        Column("year", "INTEGER", "Commitment year"),
        Column("amount_usd", "DOUBLE", "Commitments, US$ (approximate price basis: mostly constant 2009)"),
        Column("donor_is_country", "BOOLEAN", "True when the donor is a country (donor_iso3 is not NULL)"),
        Column("donor_iso3", "VARCHAR", "ISO3 of a donor country (reviewed recodes applied); NULL for multilaterals, "
               "foundations and UN agencies"),
        Column("recipient_iso3", "VARCHAR", "ISO3 of a recipient country (reviewed recodes applied: RQA is RWA); "
               "NULL for regional and unspecified recipients and the ambiguous IRA"),
        Column("unknown_code", "VARCHAR", "A donor or recipient code of three capitals that is neither ISO3 nor "
               "reviewed in the source module (refused by the checks); NULL otherwise"),
    ),
    parse=parse,
    key=("donor", "recipient", "year"),
    required=False,
    version="2",
)
