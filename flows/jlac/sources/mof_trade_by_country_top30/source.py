"""Japan MOF yearly exports and imports with Japan's 30 largest partners (``jp-trade-by-country-*.csv``).

One CSV, header ``Year,From,To,Value (thousand yen)``. A row ``Japan -> partner`` is Japan's exports to the
partner (FOB), a row ``partner -> Japan`` Japan's imports from it (CIF), both in thousand yen as MOF's
by-country time-series files give them. Partner names are English as the redistributor wrote them
('United States of America', 'South Korea'); they map to ISO3 through jlac.countries (tag ``mof``).

Which years are provisional is not in the file: MOF publishes a year's confirmed (final) annual figures at
the end of November of the following year, so a year counts as provisional when the snapshot's vintage is
before 1 December of the next year (the mirror's 2026-10-04 vintage: 2025 provisional, 2021-2024 final).

Each release covers a window of five years (``...-2021-2025...``) that moves forward: the next one drops the
oldest year. So the parse reads the earlier vintages too (``Source.reads_history``) and takes each year from the
newest vintage that covers it, each row with its vintage: a year a newer window no longer holds keeps the values of
the last release that had it, instead of leaving the warehouse.
"""

from __future__ import annotations

import csv
import re

import duckdb

from jlac import textfiles
from jlac.errors import ParseError
from jlac.snapshots import Snapshot, verify_earlier
from jlac.sources import Column, Source

HEADER = ["Year", "From", "To", "Value (thousand yen)"]
_FILE = re.compile(r"^jp-trade-by-country-.*\.csv$")
JAPAN = "Japan"


def check_header(line: str, label: str) -> None:
    """The header must be the redistributor's four columns; name the first one that differs."""
    found = [c.strip() for c in next(csv.reader([line.strip().lstrip("\ufeff")]), [])]  # quoted cells too
    if found != HEADER:
        pairs = enumerate(zip(found, HEADER, strict=False))
        diff = next((i for i, (a, b) in pairs if a != b), min(len(found), len(HEADER)))
        raise ParseError(
            f"{label}: header column {diff + 1} is {found[diff] if diff < len(found) else 'missing'!r}, "
            f"expected {HEADER[diff] if diff < len(HEADER) else 'no more columns'!r} (expected header {HEADER})"
        )


def _years_in_name(name: str) -> set[int] | None:
    """The years a file name spans (``...-2021-2025...``), None when the name says none."""
    span = re.search(r"(\d{4})-(\d{4})", name)
    return set(range(int(span.group(1)), int(span.group(2)) + 1)) if span else None


def _check_years_of_the_name(found: set[int], name: str, label: str) -> None:
    """A file named ``...-2021-2025...`` holds every year from 2021 to 2025: one cut short between two years (its last
    line cut after a digit of the value) passes every check of a year's grid and drops the later years."""
    named = _years_in_name(name)
    missing = sorted((named or set()) - found)
    if missing:
        raise ParseError(f"{label}: the file's name spans {min(named)}-{max(named)} but it has no rows for "
                         f"{', '.join(map(str, missing))} (a file cut short?)")


def _parse_vintage(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> tuple[str, set[int]]:
    """The SELECT of one vintage's rows with their flow and partner (values stay thousand yen), and its years."""
    files = sorted(f.path for f in snapshot.files if _FILE.match(f.path))
    if len(files) != 1:
        raise ParseError(
            f"{snapshot.id}: expected one jp-trade-by-country-*.csv file, found {files}"
        )
    label = f"{snapshot.id}/{files[0]}"  # the snapshot's id starts with the source's name
    path = snapshot.path(files[0])
    textfiles.check_text(path, label)  # empty, HTML or another encoding: refused naming the file
    with path.open(encoding="utf-8-sig") as fh:
        check_header(fh.readline(), label)
    # all_varchar: a non-numeric value fails in the cast below with its row named, instead of being sniffed
    # into a text column. textfiles.read_csv names a ragged (shifted or cut) line.
    rel = textfiles.read_csv(con, path, label, header=False, skiprows=1, all_varchar=True,
                             columns={"year": "VARCHAR", "from_name": "VARCHAR", "to_name": "VARCHAR",
                                      "value": "VARCHAR"})
    table = "mof_top30_" + re.sub(r"\W", "_", snapshot.vintage)
    con.register("mof_top30_csv", rel)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT row_number() OVER () + 1 AS n, * FROM mof_top30_csv")
    con.unregister("mof_top30_csv")
    bad = con.execute(
        f"SELECT n, year, value FROM {table} "
        f"WHERE NOT {textfiles.is_whole_number('year')} OR NOT {textfiles.is_whole_number('value')} LIMIT 1"
    ).fetchone()
    if bad:
        raise ParseError(f"{label}: line {bad[0]}: Year {bad[1]!r} / Value {bad[2]!r} is not a whole number "
                         "(expected a year and a value in thousand yen)")
    found = {int(r[0]) for r in con.execute(f"SELECT DISTINCT year FROM {table}").fetchall()}
    _check_years_of_the_name(found, files[0], label)
    vintage_year, vintage_md = int(snapshot.vintage[:4]), snapshot.vintage[5:10]
    return f"""
        SELECT '{snapshot.vintage}' AS vintage,
               '{files[0]}' AS file,
               n AS row_number,
               CAST(year AS INTEGER) AS year,
               trim(from_name) AS from_name,
               trim(to_name) AS to_name,
               CASE WHEN trim(from_name) = '{JAPAN}' AND trim(to_name) <> '{JAPAN}' THEN 'export'
                    WHEN trim(to_name) = '{JAPAN}' AND trim(from_name) <> '{JAPAN}' THEN 'import' END AS flow,
               CASE WHEN trim(from_name) = '{JAPAN}' THEN trim(to_name) ELSE trim(from_name) END AS partner_name,
               CAST(value AS BIGINT) AS value_jpy_thousand,
               -- final figures for year Y appear at the end of November of Y+1 (see the module docstring)
               CASE WHEN CAST(year AS INTEGER) + 1 > {vintage_year} THEN true
                    WHEN CAST(year AS INTEGER) + 1 = {vintage_year} THEN '{vintage_md}' < '12-01'
                    ELSE false END AS is_provisional
        FROM {table}""", found


def _name_years(snapshot: Snapshot) -> set[int] | None:
    """The years a vintage's file name spans, None when it has not the one file or its name says none."""
    names = [f.path for f in snapshot.files if _FILE.match(f.path)]
    return _years_in_name(names[0]) if len(names) == 1 else None


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The rows of ``snapshot``, and of each earlier vintage the years no newer one covers (see the module
    docstring), each with its vintage. An earlier vintage whose name says all its years are covered by newer ones is
    not read at all (a damaged or refused release that a later one replaced does not hold the source back)."""
    selects, covered = [], set()
    for snap in (snapshot, *reversed(snapshot.older)):
        earlier = snap is not snapshot
        spans = _name_years(snap)
        if earlier and spans is not None and spans <= covered:
            continue
        if earlier:
            verify_earlier(snapshot, snap)
        select, years = _parse_vintage(snap, con)
        kept = years - covered
        if kept:
            selects.append(f"SELECT * FROM ({select}) WHERE year IN ({', '.join(map(str, sorted(kept)))})")
        covered |= years
    return con.sql("\nUNION ALL\n".join(reversed(selects)))


SOURCE = Source(
    name="mof-trade-by-country-top30",
    description="Japan MOF yearly exports (FOB) and imports (CIF) with Japan's 30 largest partners, thousand yen, "
    "one row per year, flow and partner, from the redistributed by-country CSV (Year, From, To, Value), each year "
    "from the newest vintage that covers it.",
    columns=(
        Column("vintage", "VARCHAR", "Snapshot vintage the row comes from: the newest that covers its year"),
        Column("file", "VARCHAR", "CSV file in the vintage"),
        Column("row_number", "INTEGER", "Line number in the CSV (header = 1)"),
        Column("year", "INTEGER", "Calendar year"),
        Column("from_name", "VARCHAR", "From column: 'Japan' for Japan's exports, else the partner"),
        Column("to_name", "VARCHAR", "To column: 'Japan' for Japan's imports, else the partner"),
        Column("flow", "VARCHAR", "export (Japan -> partner) or import (partner -> Japan); NULL when neither or "
               "both of From/To is Japan"),
        Column("partner_name", "VARCHAR", "The side that is not Japan, as the file spells it"),
        Column("value_jpy_thousand", "BIGINT", "Value, thousand yen"),
        Column("is_provisional", "BOOLEAN", "True when MOF's final figures for the year were not out at the "
               "snapshot's vintage (before 1 December of the following year)"),
    ),
    parse=parse,
    key=("vintage", "year", "flow", "partner_name"),
    required=False,
    reads_history=True,
    country_names=(("mof", "partner_name"),),
)
