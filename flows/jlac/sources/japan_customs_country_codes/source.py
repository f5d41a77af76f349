"""Japan Customs 3-digit country codes with MOF's geographical zones (Countries.csv)."""

from __future__ import annotations

import duckdb

from jlac import sqltext
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import header_only, read_csv

HEADER = ["Code", "Geographical Zone", "Country"]


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Zone labels hold quoted line breaks ('Central and East Europe,\\nRussia etc.'); fold them to spaces."""
    files = [f.path for f in snapshot.files if f.path.lower().endswith(".csv")]
    if len(files) != 1:
        raise ParseError(f"japan-customs-country-codes {snapshot.id}: expected one CSV file, found {files}")
    path = snapshot.path(files[0])
    csv = read_csv(con, path, f"japan-customs-country-codes {files[0]}", header=True, all_varchar=True, quotechar='"')
    if csv.columns != HEADER:
        raise ParseError(f"japan-customs-country-codes {files[0]}: expected columns {HEADER}, found {csv.columns}")
    # a file cut after its header loaded 0 codes and was refused only by the row-count check, naming no file
    if not csv.count("*").fetchall()[0][0]:
        raise header_only(f"japan-customs-country-codes {files[0]}", "rows", "Japan Customs' list has a line per "
                          "country code")
    con.register("countries_csv", csv)
    return con.sql(
        f"""
        SELECT {sqltext.literal(files[0])} AS file,
               trim("Code") AS code,
               regexp_replace(trim("Geographical Zone"), '\\s+', ' ', 'g') AS zone,
               trim("Country") AS country
        FROM countries_csv
        """
    )


SOURCE = Source(
    name="japan-customs-country-codes",
    description="Japan Customs (MOF) 3-digit partner country codes and MOF geographical zones, as parsed.",
    columns=(
        Column("file", "VARCHAR", "CSV file name in the snapshot"),
        Column("code", "VARCHAR", "MOF 3-digit country code (e-Stat area code = '50' || code)"),
        Column("zone", "VARCHAR", "MOF geographical zone, e.g. 'Middle and South America'"),
        Column("country", "VARCHAR", "Country or area name, MOF English spelling"),
    ),
    parse=parse,
    key=("code",),
    country_names=(("mof", "country"),),
)
