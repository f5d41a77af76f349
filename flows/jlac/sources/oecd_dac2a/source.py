"""OECD DAC Table 2a: net ODA disbursements, one CSV per year, recipients x donors (US$ millions, current).

Layout (see the snapshot's SNAPSHOT.yml): one row per recipient (countries and regional/income totals),
one column per donor (DAC members, multilaterals, totals). The redistributor edited the header row:
  * usually ``Recipient, FakeColumn, <donors...>``; data rows have an empty cell under ``FakeColumn``;
  * 2004-2009 headers carry an extra ``Donor(s)`` cell after ``FakeColumn`` that data rows lack;
  * the 2010 header is ``"", Donor(s), <donors...>`` (``Donor(s)`` stands where ``FakeColumn`` is).
So the donor names are the header cells after the first, less ``FakeColumn`` and ``Donor(s)``, and they
name the data columns from the third on. An empty cell means no flow; values may be negative (net). A column
with an empty header (a trailing comma on every line) is read only when it is empty throughout.

Vintages fetched by the ``oecd-dac2a-api`` connector hold the OECD Data Explorer's SDMX CSV instead (long format,
header ``STRUCTURE,STRUCTURE_ID,...,DONOR,Donor,RECIPIENT,Recipient,MEASURE,...``; OBS_VALUE scaled by
10^UNIT_MULT). The parser tells the layouts apart by the first header cell and yields the same rows.
"""

from __future__ import annotations

import csv
import logging
import re

import duckdb
import pandas as pd
import pycountry

from jlac import sqltext
from jlac.countries import resolve
from jlac.errors import ParseError
from jlac.snapshots import Snapshot, verify_earlier
from jlac.sources import Column, Source
from jlac.textfiles import check_text, read_csv

log = logging.getLogger(__name__)

COUNTRY_TAG = "oecd"
_FILE = re.compile(r"ODA-(\d{4})-DAC2a\.csv$")
_HEADER_FILLERS = {"FakeColumn", "Donor(s)"}
SDMX_COLUMNS = ("DONOR", "Donor", "RECIPIENT", "Recipient", "MEASURE", "UNIT_MEASURE", "PRICE_BASE", "TIME_PERIOD",
                "OBS_VALUE", "UNIT_MULT")
# The one series this source holds: ODA disbursements (206), US dollars, current prices (V).
SDMX_SERIES = {"MEASURE": "206", "UNIT_MEASURE": "USD", "PRICE_BASE": "V"}
# Data Explorer labels of donor totals, renamed to their QWIDS names so models read both layouts alike.
SDMX_DONOR_NAMES = {"ALLD": "Official Donors, Total", "DAC": "DAC Countries, Total"}


def donor_names(header: list[str], label: str) -> list[str]:
    """The donor columns named by a DAC2a header row, in data-column order (see the module docstring); '' for a
    column without a header."""
    if not header or header[0] not in ("Recipient", ""):
        raise ParseError(
            f"oecd-dac2a {label}: first header cell should be 'Recipient' (or blank), found {header[:1]}"
        )
    donors = [h.strip() for h in header[1:] if h.strip() not in _HEADER_FILLERS]
    named = [d for d in donors if d]
    if not named:
        raise ParseError(f"oecd-dac2a {label}: no donor columns (expected e.g. 'Japan') in the header row")
    if "Japan" not in named:  # a header 'Japan (JICA)' was reported as no donor columns at all (a QA pass)
        near = [d for d in named if "japan" in d.lower()]
        raise ParseError(f"oecd-dac2a {label}: the header row names {len(named)} donor columns but none is 'Japan', "
                         f"Figure 3's donor" + (f" (found {near})" if near else ""))
    if len(set(named)) != len(named):
        raise ParseError(f"oecd-dac2a {label}: a donor name repeats in the header row; cannot name columns")
    return donors


def iso3_relation(con: duckdb.DuckDBPyConnection, tag: str, names) -> duckdb.DuckDBPyRelation:
    """(name, iso3, kind) per distinct publisher name, via ``jlac.countries`` (iso3 NULL when unknown)."""
    rows = []
    for n in sorted({n for n in names if n is not None}):
        m = resolve(tag, n)
        rows.append((n, m.iso3 if m else None, m.kind if m else None))
    return con.from_df(pd.DataFrame(rows, columns=["name", "iso3", "kind"]).astype(object))


def _file_relation(con: duckdb.DuckDBPyConnection, path, label: str, year: int) -> duckdb.DuckDBPyRelation:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    donors = donor_names(header, label)
    # a column without a header is named by its place in the data rows (the third is the first donor's)
    unnamed = {f"_unnamed_{3 + k}": 3 + k for k, d in enumerate(donors) if not d}
    names = ["recipient_name", "_filler", *(d or f"_unnamed_{3 + k}" for k, d in enumerate(donors))]
    rel = read_csv(con, path, f"oecd-dac2a {label}",
                   header=False, skiprows=1, all_varchar=True, names=names, quotechar='"')
    width = len(rel.columns)
    if width != len(names):
        raise ParseError(
            f"oecd-dac2a {label}: data rows have {width} cells, the header names {len(names)} "
            f"(recipient, filler and {len(donors)} donors); layout changed?"
        )
    view = f"_oecd_dac2a_{year}"
    rel.create_view(f"{view}_src", replace=True)
    # Line numbers: DuckDB keeps file order for a single CSV (preserve_insertion_order), header is line 1.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {view} AS "
        f"SELECT row_number() OVER () + 1 AS row_number, * FROM {view}_src"
    )
    _refuse_unnamed_values(con, view, unnamed, label)
    kept_out = ", ".join(["row_number", "recipient_name", "_filler", *unnamed])
    return con.sql(
        f"""
        SELECT {sqltext.literal(label)} AS file, row_number, {year} AS year, trim(recipient_name) AS recipient_name,
               donor_name, value
        FROM (UNPIVOT {view} ON COLUMNS(* EXCLUDE ({kept_out}))
              INTO NAME donor_name VALUE value)
        WHERE trim(value) <> ''
        """
    )


def _refuse_unnamed_values(con: duckdb.DuckDBPyConnection, view: str, unnamed: dict[str, int], label: str) -> None:
    """An empty column without a header (a trailing comma on every line) holds no data; a value in one is a figure
    whose donor or meaning nobody can tell: refused, naming the line and the column."""
    for name, number in unnamed.items():
        hit = con.execute(f"SELECT row_number, {name} FROM {view} WHERE trim({name}) <> '' ORDER BY row_number "
                          "LIMIT 1").fetchone()
        if hit:
            raise ParseError(f"oecd-dac2a {label} line {hit[0]} column {number}: {hit[1]!r} in a column without a "
                             "header; expected it empty (whose figure is it?)")


def sdmx_relation(con: duckdb.DuckDBPyConnection, path, label: str) -> duckdb.DuckDBPyRelation:
    """An SDMX CSV of DSD_DAC2@DF_DAC2A as rows of (file, row_number, year, recipient_name, donor_name, value)."""
    check_text(path, f"oecd-dac2a {label}")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        has_rows = any(any(cell.strip() for cell in r) for r in reader)
    missing = [c for c in SDMX_COLUMNS if c not in header]
    if missing:
        raise ParseError(f"oecd-dac2a {label}: SDMX CSV lacks column(s) {missing}; found {header[:12]}")
    if not has_rows:
        raise ParseError(f"oecd-dac2a {label}: the SDMX CSV has a header but no observation (empty result)")
    # Codes and labels differ only in case (DONOR, Donor) and DuckDB's names are case-insensitive: a label
    # column whose name repeats an earlier one's is read as <name>_label.
    seen: set[str] = set()
    names = []
    unnamed = {}
    for j, h in enumerate(header, 1):
        if not h.strip():  # no header: read only when empty throughout (checked below)
            unnamed[f"_unnamed_{j}"] = j
            names.append(f"_unnamed_{j}")
            continue
        names.append(f"{h}_label" if h.lower() in seen else h)
        seen.add(h.lower())
    rel = read_csv(con, path, f"oecd-dac2a {label}",
                   header=False, skiprows=1, all_varchar=True, names=names, quotechar='"')
    view = "_oecd_dac2a_sdmx_" + re.sub(r"\W", "_", label)
    rel.create_view(f"{view}_src", replace=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS "
                f"SELECT row_number() OVER () + 1 AS row_number, * FROM {view}_src")
    _refuse_unnamed_values(con, view, unnamed, label)
    for col, code in SDMX_SERIES.items():
        other = con.sql(f"SELECT DISTINCT {col} FROM {view} WHERE {col} IS DISTINCT FROM '{code}'").fetchall()
        if other:
            raise ParseError(f"oecd-dac2a {label}: {col} should be {code} throughout (ODA disbursements, USD, "
                             f"current prices); found {[o[0] for o in other]}")
    renames = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SDMX_DONOR_NAMES.items())
    return con.sql(
        f"""
        SELECT {sqltext.literal(label)} AS file, row_number, TRY_CAST(TIME_PERIOD AS INTEGER) AS year,
               trim(Recipient_label) AS recipient_name, CASE DONOR {renames} ELSE trim(Donor_label) END AS donor_name,
               CASE WHEN TRY_CAST(OBS_VALUE AS DOUBLE) IS NULL THEN OBS_VALUE
                    -- dividing by an exact power of ten keeps 1840000 (UNIT_MULT 0) at 1.84 million
                    ELSE CAST(CAST(OBS_VALUE AS DOUBLE) / pow(10, 6 - coalesce(TRY_CAST(UNIT_MULT AS INTEGER), 0))
                              AS VARCHAR) END AS value,
               DONOR AS donor_code, RECIPIENT AS recipient_code
        FROM {view}
        WHERE nullif(trim(OBS_VALUE), '') IS NOT NULL
        """
    )


def _is_sdmx(path, label: str) -> bool:
    check_text(path, f"oecd-dac2a {label}")  # empty, HTML or not UTF-8: refused here, naming the file
    with open(path, encoding="utf-8-sig") as fh:
        return fh.readline().startswith("STRUCTURE,")


def _vintage_rows(snap: Snapshot, con: duckdb.DuckDBPyConnection, table: str, skip: set[int]) -> set[int] | None:
    """The rows of one vintage's files, less the years in ``skip``, into the temp table ``table`` (with the
    vintage); the years it holds, or None when every one of its per-year files is of a year in ``skip`` (nothing
    read)."""
    parts = []
    for f in sorted(snap.files, key=lambda f: f.path):
        if not f.path.lower().endswith(".csv"):
            continue
        m = _FILE.search(f.path)
        if m and int(m.group(1)) in skip:  # a year a newer vintage holds: not read
            continue
        path = snap.path(f.path)
        if _is_sdmx(path, f.path):
            parts.append(sdmx_relation(con, path, f.path))
            continue
        if not m:
            raise ParseError(f"oecd-dac2a {snap.id}: {f.path} is neither ODA-<year>-DAC2a.csv nor an SDMX CSV")
        rel = _file_relation(con, path, f.path, int(m.group(1)))
        parts.append(rel.project("*, NULL::VARCHAR AS donor_code, NULL::VARCHAR AS recipient_code"))
    if not parts:
        return None
    rel = parts[0]
    for p in parts[1:]:
        rel = rel.union(p)
    rel.create_view("_oecd_dac2a_union", replace=True)
    # materialized before the next vintage's files replace the views it reads
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, ? AS vintage FROM _oecd_dac2a_union "
                "WHERE year IS NULL OR year NOT IN (SELECT unnest(?::INTEGER[]))", [snap.vintage, sorted(skip)])
    return {y for (y,) in con.execute(f"SELECT DISTINCT year FROM {table} WHERE year IS NOT NULL").fetchall()}


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """All files, long format: one row per recipient, donor and year with a non-empty cell; and the years an earlier
    vintage holds that no newer one does, from the newest earlier vintage holding them. A release covering fewer
    years (the OECD's tables start later as they grow) removed the years it left out from the published warehouse,
    Figure 3's 2009 included, without a word (found by a QA pass); they are kept, as MOF's top-30 window keeps
    its years."""
    tables, covered = [], set()
    for i, snap in enumerate((snapshot, *reversed(snapshot.older))):  # newest first
        if snap is not snapshot:
            per_year = [int(m.group(1)) for f in snap.files if (m := _FILE.search(f.path))]
            if len(per_year) == sum(f.path.lower().endswith(".csv") for f in snap.files) and set(per_year) <= covered:
                continue  # every file of a year a newer vintage holds: neither verified nor read
            verify_earlier(snapshot, snap)
        years = _vintage_rows(snap, con, f"_oecd_dac2a_v{i}", covered)
        if years is None:
            continue
        if snap is not snapshot and years:
            log.info("%s: years %s kept from the earlier vintage %s (the newer ones do not hold them)", snapshot.id,
                     ", ".join(map(str, sorted(years))), snap.vintage)
        tables.append(f"_oecd_dac2a_v{i}")
        covered |= years
    if not tables:
        raise ParseError(f"oecd-dac2a {snapshot.id}: no ODA-<year>-DAC2a.csv or SDMX CSV file in the manifest")
    con.execute("CREATE OR REPLACE TEMP TABLE _oecd_dac2a_long AS "
                + " UNION ALL ".join(f"SELECT * FROM {t}" for t in tables))
    bad = con.sql(
        "SELECT file, row_number, recipient_name, donor_name, value FROM _oecd_dac2a_long "
        "WHERE NOT isfinite(coalesce(TRY_CAST(value AS DOUBLE), 'nan'::DOUBLE)) OR year IS NULL LIMIT 5"
    ).fetchall()
    if bad:
        where = "; ".join(f"{f} line {r} recipient {rc!r} donor {d!r}: {v!r}" for f, r, rc, d, v in bad)
        raise ParseError(f"oecd-dac2a: expected numbers (US$ millions) and a year, found: {where}")
    names = [r[0] for r in con.sql("SELECT DISTINCT recipient_name FROM _oecd_dac2a_long").fetchall()]
    names += [r[0] for r in con.sql("SELECT DISTINCT donor_name FROM _oecd_dac2a_long").fetchall()]
    iso3_relation(con, COUNTRY_TAG, names).create_view("_oecd_dac2a_iso", replace=True)
    # SDMX codes are ISO3 for countries (JPN, CRI) and letters/digits for aggregates (ALLD, DPGC): a code
    # that is a country's alpha-3 wins over the name lookup.
    codes = [r[0] for r in con.sql("SELECT DISTINCT donor_code FROM _oecd_dac2a_long UNION "
                                   "SELECT DISTINCT recipient_code FROM _oecd_dac2a_long").fetchall() if r[0]]
    frame = pd.DataFrame({"code": codes, "iso3": [c if pycountry.countries.get(alpha_3=c) else None for c in codes]})
    con.from_df(frame.astype(object)).create_view("_oecd_dac2a_codes", replace=True)
    return con.sql(
        """
        SELECT l.vintage, l.file, l.row_number, l.year, l.recipient_name,
               CASE WHEN l.recipient_code IS NULL THEN r.iso3 ELSE rc.iso3 END AS recipient_iso3,
               l.donor_name, CASE WHEN l.donor_code IS NULL THEN d.iso3 ELSE dc.iso3 END AS donor_iso3,
               CAST(l.value AS DOUBLE) AS value_usd_m
        FROM _oecd_dac2a_long l
        LEFT JOIN _oecd_dac2a_iso r ON r.name = l.recipient_name
        LEFT JOIN _oecd_dac2a_iso d ON d.name = l.donor_name
        LEFT JOIN _oecd_dac2a_codes rc ON rc.code = l.recipient_code
        LEFT JOIN _oecd_dac2a_codes dc ON dc.code = l.donor_code
        """
    )


SOURCE = Source(
    name="oecd-dac2a",
    description="OECD DAC Table 2a (QWIDS export) as parsed: net ODA disbursements in US$ millions, current "
    "prices, one row per recipient, donor and year with a non-empty cell (regional and income totals "
    "included).",
    columns=(
        Column("vintage", "VARCHAR", "Snapshot vintage the row comes from: the newest that holds its year"),
        Column("file", "VARCHAR", "CSV file in that vintage (ODA-<year>-DAC2a.csv, or an SDMX CSV)"),
        Column("row_number", "INTEGER", "Line number of the recipient row in the file (header = line 1)"),
        Column("year", "INTEGER", "Calendar year of the disbursements (from the file name)"),
        Column("recipient_name", "VARCHAR", "Recipient as OECD names it (countries, regions, income groups)"),
        Column("recipient_iso3", "VARCHAR", "ISO3 of the recipient; NULL for regional/income totals and "
               "multilateral agencies (EC, IDA, ...)"),
        Column("donor_name", "VARCHAR", "Donor column header as OECD names it (countries, agencies, totals)"),
        Column("donor_iso3", "VARCHAR", "ISO3 of a donor country; NULL for multilaterals and totals"),
        Column("value_usd_m", "DOUBLE",
               "Net ODA disbursements, US$ millions, current prices (negative = net repayment)"),
    ),
    parse=parse,
    key=("year", "recipient_name", "donor_name"),
    required=False,
    reads_history=True,
    version="3",
)
