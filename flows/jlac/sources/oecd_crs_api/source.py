"""OECD Creditor Reporting System (CRS) activities of Japan and Korea to CELAC, from the Data Explorer (SDMX CSV).

The connector (``connector.py``) stores ``CRS.csv``: ``DSD_CRS@DF_CRS`` with labels, MEASURE 100 (ODA) and 14 (other
official flows), FLOW_TYPE C (commitments) and D (gross disbursements), PRICE_BASE V (current prices), MD_DIM DD
(activity level), USD. One row per activity (MD_ID), sector, channel, modality, flow type and year; OBS_VALUE is
scaled by 10^UNIT_MULT. Codes and labels come in pairs whose names differ only in case (``DONOR``, ``Donor``);
DuckDB's column names are case-insensitive, so the label column of such a pair is read as ``<NAME>_label``.
The attributes ``DONOR_AGENCY`` (with its label ``Donor agency``), ``PROJECT_TITLE`` and ``FINANCETYPE_CODE``
are kept where the response has them (the column list is in
shared/api-recordings/oecd/oda_reader_mapping_crs_dotstat.json); a response without them gives NULLs.
"""

from __future__ import annotations

import csv
import re

import duckdb
import pycountry

from jlac import sqltext
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import check_text, read_csv

REQUIRED = ("DONOR", "RECIPIENT", "MEASURE", "FLOW_TYPE", "PRICE_BASE", "TIME_PERIOD", "OBS_VALUE", "UNIT_MULT")
# raw column -> SDMX CSV column it comes from, when the response has it
OPTIONAL = {
    "recipient_name": "Recipient_label",
    "sector_code": "SECTOR",
    "channel_code": "CHANNEL",
    "modality_code": "MODALITY",
    "activity_id": "MD_ID",
    "donor_agency_code": "DONOR_AGENCY",
    "donor_agency": "Donor agency",
    "project_title": "PROJECT_TITLE",
    "finance_type_code": "FINANCETYPE_CODE",
    "unit_measure": "UNIT_MEASURE",
}
MEASURES = ("100", "14")  # ODA, other official flows (non export credit)
FLOW_TYPES = ("C", "D")  # commitments, disbursements (gross)


def _names(header: list[str]) -> list[str]:
    seen: set[str] = set()
    names = []
    for h in header:
        names.append(f"{h}_label" if h.lower() in seen else h)
        seen.add(h.lower())
    return names


def sdmx_relation(con: duckdb.DuckDBPyConnection, path, label: str) -> duckdb.DuckDBPyRelation:
    """One SDMX CSV of DSD_CRS@DF_CRS as checked rows (codes, year, number); raises ParseError naming the line."""
    check_text(path, f"oecd-crs-api {label}")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        has_rows = any(any(cell.strip() for cell in r) for r in reader)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ParseError(f"oecd-crs-api {label}: SDMX CSV lacks column(s) {missing}; found {header[:12]}")
    if not has_rows:  # DuckDB cannot sniff an empty body; say what it means
        raise ParseError(f"oecd-crs-api {label}: the SDMX CSV has a header but no observation (empty result)")
    names = _names(header)
    view = "_oecd_crs_" + re.sub(r"\W", "_", label)
    read_csv(con, path, f"oecd-crs-api {label}",
             header=False, skiprows=1, all_varchar=True, names=names, quotechar='"').create_view(
        f"{view}_src", replace=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT row_number() OVER () + 1 AS row_number, * "
                f"FROM {view}_src")
    for col, allowed, meaning in (
        ("MEASURE", MEASURES, "100 (ODA) or 14 (OOF)"),
        ("FLOW_TYPE", FLOW_TYPES, "C (commitments) or D (disbursements)"),
        ("PRICE_BASE", ("V",), "V (current prices)"),
        *((("UNIT_MEASURE", ("USD",), "USD"),) if "UNIT_MEASURE" in names else ()),
    ):
        listed = ", ".join(f"'{a}'" for a in allowed)
        bad = con.sql(f"SELECT row_number, {col} FROM {view} WHERE {col} IS NULL OR {col} NOT IN ({listed}) "
                      "LIMIT 3").fetchall()
        if bad:
            raise ParseError(f"oecd-crs-api {label}: {col} should be {meaning}; found "
                             + "; ".join(f"line {r}: {v!r}" for r, v in bad))
    bad = con.sql(f"SELECT row_number, TIME_PERIOD, OBS_VALUE, UNIT_MULT FROM {view} "
                  "WHERE TRY_CAST(TIME_PERIOD AS INTEGER) IS NULL OR TRY_CAST(OBS_VALUE AS DOUBLE) IS NULL "
                  "OR TRY_CAST(UNIT_MULT AS INTEGER) IS NULL LIMIT 3").fetchall()
    if bad:
        raise ParseError(f"oecd-crs-api {label}: expected a year, a number and a unit multiplier; found "
                         + "; ".join(f"line {r}: {t!r}, {v!r}, {m!r}" for r, t, v, m in bad))
    optional = ", ".join(
        f'nullif(trim("{src}"), \'\') AS {col}' if src in names else f"NULL::VARCHAR AS {col}"
        for col, src in OPTIONAL.items()
    )
    return con.sql(
        f"""
        SELECT {sqltext.literal(label)} AS file, row_number, CAST(TIME_PERIOD AS INTEGER) AS year, DONOR AS donor_code,
               RECIPIENT AS recipient_code, MEASURE AS measure_code, FLOW_TYPE AS flow_type,
               -- rounded to cents: 38.97 x 10^6 is 38970000.000000004 in binary floating point
               round(CAST(OBS_VALUE AS DOUBLE) * pow(10, CAST(UNIT_MULT AS INTEGER)), 2) AS value_usd, {optional}
        FROM {view}
        """
    )


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """All CSVs of the vintage, one row per observation, values in US dollars, donor and recipient as ISO3."""
    files = sorted(f.path for f in snapshot.files if f.path.lower().endswith(".csv"))
    if not files:
        raise ParseError(f"oecd-crs-api {snapshot.id}: no CSV file in the manifest (expected CRS.csv)")
    rel = sdmx_relation(con, snapshot.path(files[0]), files[0])
    for f in files[1:]:
        rel = rel.union(sdmx_relation(con, snapshot.path(f), f))
    rel.create_view("_oecd_crs_all", replace=True)
    # DONOR and RECIPIENT codes are ISO3 for countries; anything else (regional codes) stays NULL.
    codes = [r[0] for r in con.sql("SELECT DISTINCT donor_code FROM _oecd_crs_all UNION "
                                   "SELECT DISTINCT recipient_code FROM _oecd_crs_all").fetchall() if r[0]]
    iso = sorted(c for c in codes if pycountry.countries.get(alpha_3=c))
    con.execute("CREATE OR REPLACE TEMP TABLE _oecd_crs_iso AS SELECT unnest(?::VARCHAR[]) AS code", [iso])
    return con.sql(
        """
        SELECT a.file, a.row_number, a.year, a.donor_code, d.code AS donor_iso3, a.donor_agency_code,
               a.donor_agency, a.recipient_code, r.code AS recipient_iso3, a.recipient_name, a.measure_code,
               a.flow_type, a.sector_code, a.channel_code, a.modality_code, a.finance_type_code, a.activity_id,
               a.project_title, a.value_usd
        FROM _oecd_crs_all a
        LEFT JOIN _oecd_crs_iso d ON d.code = a.donor_code
        LEFT JOIN _oecd_crs_iso r ON r.code = a.recipient_code
        """
    )

SOURCE = Source(
    name="oecd-crs-api",
    description="OECD Creditor Reporting System from the Data Explorer API: ODA and OOF commitments and gross "
    "disbursements of Japan and Korea to CELAC states, activity level, US dollars, current prices.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot (CRS.csv)"),
        Column("row_number", "INTEGER", "Line number of the observation in the file (header = line 1)"),
        Column("year", "INTEGER", "Calendar year (TIME_PERIOD)"),
        Column("donor_code", "VARCHAR", "DONOR code (ISO3 for countries)"),
        Column("donor_iso3", "VARCHAR", "ISO3 of the donor country"),
        Column("donor_agency_code", "VARCHAR", "DONOR_AGENCY code, where the response gives it"),
        Column("donor_agency", "VARCHAR", "Donor agency name (e.g. JICA, KOICA), where the response gives it"),
        Column("recipient_code", "VARCHAR", "RECIPIENT code (ISO3 for countries)"),
        Column("recipient_iso3", "VARCHAR", "ISO3 of the recipient; NULL for regional codes"),
        Column("recipient_name", "VARCHAR", "Recipient label"),
        Column("measure_code", "VARCHAR", "MEASURE: 100 = ODA, 14 = other official flows (non export credit)"),
        Column("flow_type", "VARCHAR", "FLOW_TYPE: C = commitments, D = disbursements (gross)"),
        Column("sector_code", "VARCHAR", "CRS purpose/sector code"),
        Column("channel_code", "VARCHAR", "Channel of delivery code"),
        Column("modality_code", "VARCHAR", "Type of aid (modality) code"),
        Column("finance_type_code", "VARCHAR", "FINANCETYPE_CODE (110 grant, 421 loan, ...), where given"),
        Column("activity_id", "VARCHAR", "MD_ID: the activity's microdata id"),
        Column("project_title", "VARCHAR", "Project title, where the response gives it"),
        Column("value_usd", "DOUBLE", "Amount, US dollars (OBS_VALUE x 10^UNIT_MULT), current prices"),
    ),
    parse=parse,
    key=("file", "row_number"),
    # one activity, sector, channel, modality, flow type, finance type and year holds one value
    conflict_key=("donor_code", "donor_agency_code", "recipient_code", "measure_code", "flow_type", "sector_code",
                  "channel_code", "modality_code", "finance_type_code", "activity_id", "year"),
    required=False,
    version="1",
)
