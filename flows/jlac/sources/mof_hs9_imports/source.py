"""Japan MOF annual imports by HS 9-digit commodity, national totals (``ik-110h<YYYY>i001.csv``).

One CSV per year in MOF's commodity-by-country layout without the Country column: ``Exp or Imp`` (2 =
imports), ``Year``, ``HS`` (quoted with a leading apostrophe, ``'000000011'``), ``Unit1``, ``Unit2``,
then quantity 1, quantity 2 and value for the year and for each month. Values in thousand yen. The
files up to 2016 spell April ``Apl`` in the header (``Value-Apl``), later ones ``Apr``; the columns
are therefore read by position after the header has been checked against both spellings. Encodings
accepted: UTF-8 (the mirror's files), UTF-8 with a BOM, and Shift-JIS (cp932), in which MOF serves its
customs CSVs (d41ma.csv, api-recordings/README.md); a cp932 file is read from a UTF-8 copy.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from jlac import leftovers
from jlac.csvheader import april_as_apr, check_header
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import is_whole_number, read_csv

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HEADER = ["Exp or Imp", "Year", "HS", "Unit1", "Unit2", "Quantity1-Year", "Quantity2-Year", "Value-Year"] + [
    f"{kind}-{m}" for m in MONTHS for kind in ("Quantity1", "Quantity2", "Value")
]
FILE = re.compile(r"^ik-110h(\d{4})i001\.csv$")
# MOF's files come as UTF-8 (the mirror's), UTF-8 with a BOM, or Shift-JIS (cp932, MOF's customs downloads)
ENCODINGS = ("utf-8-sig", "cp932")
# Positional names used to read the CSVs; only the year value and the monthly values are kept.
_NAMES = ["exp_or_imp", "year", "hs", "unit1", "unit2", "q1_year", "q2_year", "value_year"] + [
    f"{kind}_{m.lower()}" for m in MONTHS for kind in ("q1", "q2", "value")
]


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every yearly CSV, one row per HS-9 line: the year's value and the sum of its twelve months."""
    files = sorted(f.path for f in snapshot.files if FILE.match(f.path))
    if not files:
        raise ParseError(f"mof-hs9-imports {snapshot.id}: no ik-110h<YYYY>i001.csv file in the snapshot")
    scratch = Path(tempfile.mkdtemp(prefix=leftovers.prefix("jlac-mof-hs9")))
    try:
        paths = [_utf8(snapshot.path(f), f"mof-hs9-imports {snapshot.id}/{f}", scratch) for f in files]
        return _read(con, snapshot, paths)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _utf8(path: Path, label: str, scratch: Path) -> str:
    """The file as UTF-8: as it is (with or without a BOM), or a UTF-8 copy of a Shift-JIS (cp932) file."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ParseError(f"{label}: empty file where MOF's CSV was expected")
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        check_header(text.split("\n", 1)[0], HEADER, label, "MOF layout changed?", normalise=april_as_apr)
        if encoding == "cp932":
            copy = scratch / path.name  # same file name: the year is read from it
            copy.write_text(text, encoding="utf-8")
            return str(copy)
        return str(path)
    raise ParseError(f"{label}: neither UTF-8 nor Shift-JIS (cp932) text; not one of MOF's CSV files?")


def _read(con: duckdb.DuckDBPyConnection, snapshot: Snapshot, paths: list[str]) -> duckdb.DuckDBPyRelation:
    # quote='"' so the apostrophes around HS codes stay in the text (stripped below), all_varchar so
    # a non-numeric cell fails in the cast below with DuckDB naming the value instead of being sniffed away.
    rel = read_csv(
        con, paths, f"mof-hs9-imports {snapshot.id}",
        header=False, skiprows=1, quotechar='"', columns=dict.fromkeys(_NAMES, "VARCHAR"), filename=True
    )
    rel.create_view("_mof_hs9_src", replace=True)
    con.execute("CREATE OR REPLACE TEMP TABLE mof_hs9_csv AS "
                "SELECT row_number() OVER (PARTITION BY filename) + 1 AS line, * FROM _mof_hs9_src")
    numeric = [n for n in _NAMES if n not in ("hs", "unit1", "unit2")]
    bad = con.sql(
        f"SELECT parse_filename(filename), line, {', '.join(numeric)} FROM mof_hs9_csv WHERE "
        + " OR ".join(f"({c} IS NOT NULL AND NOT {is_whole_number(c)})" for c in numeric) + " LIMIT 1"
    ).fetchall()
    bad = bad[0] if bad else None
    if bad:
        col = next(i for i, v in enumerate(bad[2:]) if v is not None and not v.strip().lstrip("-").isdigit())
        header = HEADER[_NAMES.index(numeric[col])]
        raise ParseError(f"mof-hs9-imports {snapshot.id}/{bad[0]} line {bad[1]} column {header}: "
                         f"expected a whole number, found {bad[2 + col]!r}")
    months = " + ".join(f"CAST(value_{m.lower()} AS BIGINT)" for m in MONTHS)
    return con.sql(
        f"""
        SELECT parse_filename(filename) AS file,
               CAST(exp_or_imp AS INTEGER) AS exp_or_imp,
               CASE exp_or_imp WHEN '1' THEN 'export' WHEN '2' THEN 'import' END AS flow,
               CAST(year AS INTEGER) AS year,
               trim(hs, '''') AS hs9,
               nullif(trim(unit1), '') AS unit1,
               nullif(trim(unit2), '') AS unit2,
               CAST(q1_year AS BIGINT) AS quantity1,
               CAST(q2_year AS BIGINT) AS quantity2,
               CAST(value_year AS BIGINT) AS value_jpy_thousand,
               {months} AS value_months_jpy_thousand,
               CAST(regexp_extract(parse_filename(filename), '(\\d{{4}})', 1) AS INTEGER) AS file_year
        FROM mof_hs9_csv
        """
    )


SOURCE = Source(
    name="mof-hs9-imports",
    description="Japan MOF annual imports by HS 9-digit commodity, national totals (no partner), thousand yen: "
    "one row per year and HS-9 line, from MOF's ik-110h<YYYY>i001.csv files.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot, e.g. ik-110h2018i001.csv"),
        Column("exp_or_imp", "INTEGER", "MOF's 'Exp or Imp' code: 1 exports, 2 imports"),
        Column("flow", "VARCHAR", "export or import (from exp_or_imp); NULL for an unknown code"),
        Column("year", "INTEGER", "Year column of the row"),
        Column("hs9", "VARCHAR", "HS 9-digit statistical code (Japan's tariff schedule), apostrophe removed"),
        Column("unit1", "VARCHAR", "Unit of quantity 1, NULL when none"),
        Column("unit2", "VARCHAR", "Unit of quantity 2, NULL when none"),
        Column("quantity1", "BIGINT", "Quantity 1 for the year"),
        Column("quantity2", "BIGINT", "Quantity 2 for the year"),
        Column("value_jpy_thousand", "BIGINT", "Value-Year: value for the year, thousand yen (CIF)"),
        Column("value_months_jpy_thousand", "BIGINT", "Sum of the twelve monthly values, thousand yen"),
        Column("file_year", "INTEGER", "Year in the file name (ik-110h<YYYY>i001.csv)"),
    ),
    parse=parse,
    key=("year", "hs9"),
    required=False,
)
