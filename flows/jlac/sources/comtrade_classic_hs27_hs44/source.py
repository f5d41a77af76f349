"""UN Comtrade 'classic' bulk CSVs, HS chapters 27 (mineral fuels) and 44 (wood), all reporters x partners.

Layout (see the snapshot's SNAPSHOT.yml): ``oil/processed_data_<YYYY>.csv`` (HS 27) and
``wood/processed_data_<YYYY>.csv`` (HS 44), 1988-2017, UTF-8 with a BOM, CRLF, the 22 columns of the legacy
Comtrade download (``Classification, Year, ..., Netweight (kg), Trade Value (US$), Flag``). One row per
reporter, partner, trade flow (Import, Export, Re-Export, Re-Import) and chapter; partner ``World`` (WLD)
holds the reporter's total. ``Reporter ISO`` / ``Partner ISO`` are ISO 3166 alpha-3 (ISO 3166-3 for former
states: SUN, YUG, CSK, DDR, ANT, SCG, YMD, PCI); they are empty for Comtrade's non-geographic partners
(``Other Asia, nes`` = Taiwan, ``Areas, nes``, ``Bunkers``, ``Free Zones``...), whose ISO3 stays NULL here.

About 844,000 rows: DuckDB reads the files one by one into one table (~3 s).
"""

from __future__ import annotations

import re

import duckdb

from jlac import sqltext
from jlac.csvheader import check_header
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import check_text, read_csv

_FILE = re.compile(r"^(oil|wood)/processed_data_(\d{4})\.csv$")
# publisher header -> raw column name (the legacy layout's 22 columns, in order)
HEADER = {
    "Classification": "classification",
    "Year": "year",
    "Period": "period",
    "Period Desc.": "period_desc",
    "Aggregate Level": "aggregate_level",
    "Is Leaf Code": "is_leaf_code",
    "Trade Flow Code": "trade_flow_code",
    "Trade Flow": "trade_flow",
    "Reporter Code": "reporter_code",
    "Reporter": "reporter_name",
    "Reporter ISO": "reporter_iso",
    "Partner Code": "partner_code",
    "Partner": "partner_name",
    "Partner ISO": "partner_iso",
    "Commodity Code": "commodity_code",
    "Commodity": "commodity",
    "Qty Unit Code": "qty_unit_code",
    "Qty Unit": "qty_unit",
    "Qty": "qty",
    "Netweight (kg)": "netweight_kg",
    "Trade Value (US$)": "trade_value_usd",
    "Flag": "flag",
}
# Columns kept (descriptions, period and quantity columns add nothing: one chapter, one year per file).
KEPT = ("classification", "year", "trade_flow_code", "trade_flow", "reporter_code", "reporter_name", "reporter_iso",
        "partner_code", "partner_name", "partner_iso", "commodity_code", "netweight_kg", "trade_value_usd", "flag")
INTEGERS = ("year", "trade_flow_code", "reporter_code", "partner_code")
NUMBERS = ("netweight_kg", "trade_value_usd")
# Read trimmed: a code written 'WLD ' (a QA pass) was read as the partner ISO 'WLD', and a flag '0 ' would mark every
# row an estimate. No code, flag or name of the legacy layout has a meaning in blanks around it; the numbers' casts
# take blanks already.
TEXTS = tuple(c for c in KEPT if c not in (*INTEGERS, *NUMBERS))


def _files(snapshot: Snapshot) -> list[str]:
    files = sorted(f.path for f in snapshot.files if f.path.lower().endswith(".csv"))
    odd = [f for f in files if not _FILE.match(f)]
    if odd:
        raise ParseError(
            f"comtrade-classic-hs27-hs44 {snapshot.id}: {odd[:3]} are not oil|wood/processed_data_<YYYY>.csv"
        )
    if not files:
        raise ParseError(f"comtrade-classic-hs27-hs44 {snapshot.id}: no processed_data_<YYYY>.csv in the manifest")
    return files


def _check_headers(snapshot: Snapshot, files: list[str]) -> None:
    for f in files:
        check_text(snapshot.path(f), f"comtrade-classic-hs27-hs44 {f}")
        with open(snapshot.path(f), encoding="utf-8-sig", newline="") as fh:
            check_header(fh.readline(), list(HEADER), f"comtrade-classic-hs27-hs44 {f}",
                         "expected the 22 legacy Comtrade columns")


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every yearly CSV of both chapters in one DuckDB read, with numbers checked and the file recorded."""
    files = _files(snapshot)
    _check_headers(snapshot, files)
    paths = [str(snapshot.path(f)) for f in files]
    root = str(snapshot.path(""))
    rel = read_csv(con, paths, f"comtrade-classic-hs27-hs44 {snapshot.id}", files=files,
                   header=True, all_varchar=True, names=list(HEADER.values()), filename=True,
                       quotechar='"')
    rel.create_view("_comtrade_classic_src", replace=True)
    prefix = sqltext.literal(root.rstrip('/') + '/')
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _comtrade_classic AS
        SELECT replace(replace(filename, '\\', '/'), {prefix}, '') AS file,
               {", ".join(f"trim({c}) AS {c}" if c in TEXTS else c for c in KEPT)}
        FROM _comtrade_classic_src"""
    )
    # One pass over the rows for every numeric column (netweight may be empty: no quantity reported).
    not_number = " OR ".join(
        f"(TRY_CAST({c} AS DOUBLE) IS NULL{' AND netweight_kg IS NOT NULL' if c == 'netweight_kg' else ''})"
        for c in (*INTEGERS, *NUMBERS)
    )
    bad = con.sql(
        f"SELECT file, reporter_name, partner_name || ' (' || coalesce(partner_iso, '') || ')', trade_flow, "
        f"{', '.join((*INTEGERS, *NUMBERS))} "
        f"FROM _comtrade_classic WHERE {not_number} LIMIT 3"
    ).fetchall()
    if bad:
        names = (*INTEGERS, *NUMBERS)
        where = "; ".join(
            f"{r[0]} reporter {r[1]!r} partner {r[2]} {r[3]}: "
            + ", ".join(f"{n}={v!r}" for n, v in zip(names, r[4:], strict=True))
            for r in bad
        )
        raise ParseError(
            f"comtrade-classic-hs27-hs44: expected numbers in {', '.join(names)} (netweight may be empty); "
            f"found {where}"
        )
    return con.sql(
        """
        SELECT file, classification, CAST(year AS INTEGER) AS year,
               CAST(trade_flow_code AS INTEGER) AS trade_flow_code, trade_flow,
               CAST(reporter_code AS INTEGER) AS reporter_code, reporter_name,
               CASE WHEN reporter_iso <> 'WLD' THEN nullif(reporter_iso, '') END AS reporter_iso3,
               CAST(partner_code AS INTEGER) AS partner_code, partner_name,
               CASE WHEN partner_iso <> 'WLD' THEN nullif(partner_iso, '') END AS partner_iso3,
               commodity_code, CAST(netweight_kg AS DOUBLE) AS netweight_kg,
               CAST(trade_value_usd AS DOUBLE) AS trade_value_usd, flag
        FROM _comtrade_classic
        """
    )


SOURCE = Source(
    name="comtrade-classic-hs27-hs44",
    description="UN Comtrade classic bulk data, HS chapters 27 (mineral fuels) and 44 (wood), every reporter "
    "and partner, 1988-2017: one row per file, reporter, partner and trade flow, values in US dollars.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot (oil/ = HS 27, wood/ = HS 44, one per year)"),
        Column("classification", "VARCHAR", "HS edition the reporter used (H0 = HS1988/92 ... H5 = HS2017)"),
        Column("year", "INTEGER", "Calendar year of the trade"),
        Column("trade_flow_code", "INTEGER", "Comtrade flow code: 1 import, 2 export, 3 re-export, 4 re-import"),
        Column("trade_flow", "VARCHAR", "Comtrade flow: Import, Export, Re-Export, Re-Import"),
        Column("reporter_code", "INTEGER", "Comtrade reporter code (M49 variant: 392 Japan, 490 'Other Asia, nes')"),
        Column("reporter_name", "VARCHAR", "Reporter as Comtrade names it"),
        Column("reporter_iso3", "VARCHAR", "Comtrade's Reporter ISO (ISO3; ISO 3166-3 for former states); NULL "
               "for 'Other Asia, nes'"),
        Column("partner_code", "INTEGER", "Comtrade partner code (0 = World)"),
        Column("partner_name", "VARCHAR", "Partner as Comtrade names it"),
        Column("partner_iso3", "VARCHAR", "Comtrade's Partner ISO; NULL for World and non-geographic partners "
               "('Areas, nes', 'Bunkers', 'Free Zones', 'Other Asia, nes'...)"),
        Column("commodity_code", "VARCHAR", "HS chapter: 27 (mineral fuels) or 44 (wood)"),
        Column("netweight_kg", "DOUBLE", "Net weight, kg; NULL or 0 where the reporter gave none"),
        Column("trade_value_usd", "DOUBLE", "Trade value, US dollars (imports CIF, exports FOB)"),
        Column("flag", "VARCHAR", "Comtrade estimation flag (0 = as reported; 4 = net weight estimated)"),
    ),
    parse=parse,
    key=("file", "trade_flow_code", "reporter_code", "partner_code"),
    required=False,
    version="1",
)
