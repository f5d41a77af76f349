"""AidData Global Chinese Development Finance 3.0, summed by recipient and commitment year by a redistributor.

Layout (see the snapshot's SNAPSHOT.yml): ``cow_gcdf.csv`` keyed on the Correlates of War code
(``ccode``) and ``gw_gcdf.csv`` on the Gleditsch-Ward code, with the same sums; columns ``oof_amt,
oda_amt, vof_amt`` (sums of Amount by flow class: OOF-like, ODA-like, Vague official finance) and
``*_adj`` (sums of AidData's Adjusted Amount), US dollars (not millions), constant 2021 prices.
jlac reads the COW file; its codes map to ISO3 through ``jlac/data/cow_country_codes.csv`` (the
Americas, China, Japan, Korea; other recipients keep their code and a NULL ISO3).
"""

from __future__ import annotations

import csv
from importlib import resources

import duckdb
import pandas as pd

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import header_only, is_whole_number, read_csv

FILE = "cow_gcdf.csv"
EXPECTED = ["ccode", "year", "oof_amt", "oof_adj", "oda_amt", "oda_adj", "vof_amt", "vof_adj"]
WHOLE = ("ccode", "year")  # a country code or a year written 94.5 is refused, not rounded to another country


def cow_codes() -> pd.DataFrame:
    """The reviewed COW code -> ISO3 table shipped with jlac."""
    text = resources.files("jlac").joinpath("data/cow_country_codes.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return pd.DataFrame({"cow_code": [int(r["cow_code"]) for r in rows], "iso3": [r["iso3"] for r in rows]})


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """One row per COW recipient and year, with ISO3 where jlac knows the code."""
    if FILE not in {f.path for f in snapshot.files}:
        raise ParseError(f"aiddata-gcdf3-country-year {snapshot.id}: {FILE} is not in the manifest")
    rel = read_csv(con, snapshot.path(FILE), f"aiddata-gcdf3-country-year {FILE}", header=True, all_varchar=True)
    if rel.columns != EXPECTED:
        raise ParseError(
            f"aiddata-gcdf3-country-year {FILE}: expected columns {EXPECTED}, found {rel.columns}"
        )
    rel.create_view("_gcdf3_src", replace=True)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _gcdf3 AS "
        "SELECT row_number() OVER () + 1 AS row_number, * FROM _gcdf3_src"
    )
    # a file cut after its header loaded 0 rows and was refused only by the check for Costa Rica, naming no file
    if not con.sql("SELECT count(*) FROM _gcdf3").fetchall()[0][0]:
        raise header_only(f"aiddata-gcdf3-country-year {FILE}", "rows", "AidData's file has a line per recipient and "
                          "year")
    for col in EXPECTED:
        bad = con.sql(
            f"SELECT row_number, {col} FROM _gcdf3 WHERE TRY_CAST({col} AS DOUBLE) IS NULL "
            f"{'OR NOT ' + is_whole_number(col) if col in WHOLE else ''} LIMIT 3"
        ).fetchall()
        if bad:
            raise ParseError(
                f"aiddata-gcdf3-country-year {FILE}: column {col!r} expects a "
                f"{'whole number' if col in WHOLE else 'number'}; "
                + "; ".join(f"line {r}: {v!r}" for r, v in bad)
            )
    con.from_df(cow_codes()).create_view("_gcdf3_cow", replace=True)
    return con.sql(
        f"""
        SELECT '{FILE}' AS file, g.row_number, CAST(g.ccode AS INTEGER) AS cow_code, c.iso3 AS recipient_iso3,
               CAST(g.year AS INTEGER) AS year,
               CAST(g.oof_amt AS DOUBLE) AS oof_usd_2021, CAST(g.oof_adj AS DOUBLE) AS oof_adj_usd_2021,
               CAST(g.oda_amt AS DOUBLE) AS oda_usd_2021, CAST(g.oda_adj AS DOUBLE) AS oda_adj_usd_2021,
               CAST(g.vof_amt AS DOUBLE) AS vof_usd_2021, CAST(g.vof_adj AS DOUBLE) AS vof_adj_usd_2021
        FROM _gcdf3 g LEFT JOIN _gcdf3_cow c ON c.cow_code = CAST(g.ccode AS INTEGER)
        """
    )


SOURCE = Source(
    name="aiddata-gcdf3-country-year",
    description="AidData GCDF 3.0 Chinese development finance commitments summed by recipient (COW code) and "
    "commitment year, 2000-2021, US dollars at constant 2021 prices, by flow class; no lender breakdown.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot"),
        Column("row_number", "INTEGER", "Line number in the file (header = line 1)"),
        Column("cow_code", "INTEGER", "Correlates of War country code of the recipient"),
        Column("recipient_iso3", "VARCHAR", "ISO3 of the recipient (NULL if not in jlac's COW table)"),
        Column("year", "INTEGER", "Commitment year"),
        Column("oof_usd_2021", "DOUBLE", "Sum of OOF-like commitments, US$, constant 2021"),
        Column("oof_adj_usd_2021", "DOUBLE", "Same, AidData's Adjusted Amount"),
        Column("oda_usd_2021", "DOUBLE", "Sum of ODA-like commitments, US$, constant 2021"),
        Column("oda_adj_usd_2021", "DOUBLE", "Same, AidData's Adjusted Amount"),
        Column("vof_usd_2021", "DOUBLE", "Sum of vague official finance commitments, US$, constant 2021"),
        Column("vof_adj_usd_2021", "DOUBLE", "Same, AidData's Adjusted Amount"),
    ),
    parse=parse,
    key=("cow_code", "year"),
    required=False,
    version="1",
)
