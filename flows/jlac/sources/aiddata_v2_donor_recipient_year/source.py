"""AidData 2.x commitments summed by donor, recipient and year (redistributor's sums, all donors but China).

Layout (see the snapshot's SNAPSHOT.yml): CSV, wide: ``donor, recipient`` then one column per year
1947-2011. Donor and recipient are ISO3 codes for countries; multilaterals are names in parentheses
('(IADB)') or plain names ('Bill & Melinda Gates Foundation'). US dollars; the price basis is not
documented (AidData 2.x mostly constant 2009 US$), so jlac labels it approximate. An empty cell is no
commitment recorded.
"""

from __future__ import annotations

import duckdb

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import read_csv


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
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _aidv2_long AS
        SELECT row_number, trim(donor) AS donor, trim(recipient) AS recipient,
               CAST(year AS INTEGER) AS year, value
        FROM (UNPIVOT _aidv2 ON COLUMNS(* EXCLUDE (row_number, donor, recipient)) INTO NAME year VALUE value)
        WHERE trim(value) <> ''
        """
    )
    bad = con.sql(
        "SELECT row_number, year, value FROM _aidv2_long WHERE TRY_CAST(value AS DOUBLE) IS NULL LIMIT 3"
    ).fetchall()
    if bad:
        raise ParseError(
            f"aiddata-v2-donor-recipient-year {label}: expected US$ amounts; "
            + "; ".join(f"line {r} year {y}: {v!r}" for r, y, v in bad)
        )
    return con.sql(
        f"""
        SELECT '{label}' AS file, row_number, donor, recipient, year, CAST(value AS DOUBLE) AS amount_usd,
               regexp_matches(donor, '^[A-Z]{{3}}$') AS donor_is_country
        FROM _aidv2_long
        """
    )


SOURCE = Source(
    name="aiddata-v2-donor-recipient-year",
    description="AidData 2.x aid commitments summed by donor, recipient and commitment year (1947-2011, "
    "usable to 2009), US dollars with an undocumented, roughly constant-2009 price basis. No China rows.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot"),
        Column("row_number", "INTEGER", "Line number of the donor-recipient row (header = line 1)"),
        Column("donor", "VARCHAR", "Donor: ISO3 for countries, AidData names for multilaterals/foundations"),
        Column("recipient", "VARCHAR", "Recipient: ISO3 for countries, names for regional recipients"),
        Column("year", "INTEGER", "Commitment year"),
        Column("amount_usd", "DOUBLE", "Commitments, US$ (approximate price basis: mostly constant 2009)"),
        Column("donor_is_country", "BOOLEAN", "True when the donor is an ISO3 country code"),
    ),
    parse=parse,
    key=("donor", "recipient", "year"),
    required=False,
    version="1",
)
