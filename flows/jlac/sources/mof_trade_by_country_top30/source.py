"""Japan MOF yearly exports and imports with Japan's 30 largest partners (``jp-trade-by-country-*.csv``).

One CSV, header ``Year,From,To,Value (thousand yen)``. A row ``Japan -> partner`` is Japan's exports to the
partner (FOB), a row ``partner -> Japan`` Japan's imports from it (CIF), both in thousand yen as MOF's
by-country time-series files give them. Partner names are English as the redistributor wrote them
('United States of America', 'South Korea'); they map to ISO3 through jlac.countries (tag ``mof``).

Which years are provisional is not in the file: MOF publishes a year's confirmed (final) annual figures at
the end of November of the following year, so a year counts as provisional when the snapshot's vintage is
before 1 December of the next year (the mirror's 2026-10-04 vintage: 2025 provisional, 2021-2024 final).

Each release covers a window of five years (``...-2021-2025...``) that moves forward: the next one drops the
oldest year. And it lists the 30 partners with the largest trade in its latest year, so a partner may leave the list
(Chile replaced by Peru) while MOF still publishes its values. Neither is a withdrawn value. So the parse reads the
earlier vintages too (``Source.reads_history``) and takes each (partner, year, flow) from the newest vintage that
lists it, each row with its vintage: a year a newer window no longer holds, and a partner a newer release no longer
ranks, keep the values of the last release that had them, instead of leaving the warehouse (taking whole years only
lost Chile's 2022-2025 when it left the top 30: found by a QA pass). Where two releases list the same value, the
newer one wins. Partners are matched by country (``jlac.countries``, tag ``mof``), so a respelled name is one partner.

An earlier vintage is read whole and must itself be a full grid (every partner of the file in every year and flow:
a file cut inside a year is refused naming it); one that cannot be read (damaged, refused) stops the source, naming
it. It was skipped with a warning when newer releases covered every year it spans, but years are not partners: the
partners it alone still listed (one that left the top 30) lost their values without an error (found by a QA pass).
"""

from __future__ import annotations

import logging
import re

import duckdb

from jlac import sqltext, textfiles
from jlac.countries import resolve
from jlac.csvheader import check_header
from jlac.errors import ParseError
from jlac.snapshots import Snapshot, verify_earlier
from jlac.sources import Column, Source

HEADER = ["Year", "From", "To", "Value (thousand yen)"]
_FILE = re.compile(r"^jp-trade-by-country-.*\.csv$")
JAPAN = "Japan"
log = logging.getLogger(__name__)


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
        check_header(fh.readline(), HEADER, label, f"expected header {HEADER}")
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
        raise ParseError(f"{label}: line {bad[0]}: Year {bad[1]!r} / Value {bad[2]!r} is not a whole number of at "
                         "most 18 digits (expected a year and a value in thousand yen)")
    found = {int(r[0]) for r in con.execute(f"SELECT DISTINCT year FROM {table}").fetchall()}
    _check_years_of_the_name(found, files[0], label)
    vintage_year, vintage_md = int(snapshot.vintage[:4]), snapshot.vintage[5:10]
    return f"""
        SELECT '{snapshot.vintage}' AS vintage,
               {sqltext.literal(files[0])} AS file,
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


def _check_grid(con: duckdb.DuckDBPyConnection, select: str, earlier: Snapshot, snapshot: Snapshot) -> None:
    """An earlier vintage's file must be a full grid (every partner of the file in every year and flow), as the checks
    require of the loaded vintage: only some of its rows are kept, so a file cut inside a year would otherwise lose a
    partner's values unseen."""
    gap = con.execute(f"""
        WITH v AS ({select}), g AS (SELECT DISTINCT year FROM v),
             p AS (SELECT DISTINCT partner_name FROM v WHERE flow IS NOT NULL)
        SELECT (SELECT any_value(file) FROM v), g.year, f.flow, p.partner_name
        FROM g CROSS JOIN (VALUES ('export'), ('import')) AS f(flow) CROSS JOIN p
        WHERE NOT EXISTS (SELECT 1 FROM v WHERE v.year = g.year AND v.flow = f.flow AND v.partner_name = p.partner_name)
        ORDER BY g.year, f.flow, p.partner_name LIMIT 1""").fetchone()
    if gap:
        raise ParseError(f"{earlier.id}/{gap[0]} (an earlier vintage {snapshot.vintage} reads): no {gap[2]} row for "
                         f"{gap[3]!r} in {gap[1]}, while the file lists that partner elsewhere (a file cut inside a "
                         "year?)")


def _partner_key(con: duckdb.DuckDBPyConnection, selects: list[str]) -> str:
    """A temp table (partner_name -> partner_key): the ISO3 the name maps to (tag ``mof``), else the name itself, so
    that one partner spelt differently by two releases is one partner; the name table's name."""
    names = {r[0] for sel in selects for r in con.execute(f"SELECT DISTINCT partner_name FROM ({sel})").fetchall()}
    rows = [(n, (m.iso3 if (m := resolve("mof", n)) and m.iso3 else None) or n) for n in sorted(n for n in names if n)]
    con.execute("CREATE OR REPLACE TEMP TABLE mof_top30_partner_key (partner_name VARCHAR, partner_key VARCHAR)")
    if rows:
        con.executemany("INSERT INTO mof_top30_partner_key VALUES (?, ?)", rows)
    return "mof_top30_partner_key"


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The rows of ``snapshot``, and of each earlier vintage the (partner, year, flow) no newer one lists (see the
    module docstring), each with its vintage. An earlier vintage that cannot be read stops the source, naming it."""
    selects = []
    for snap in (snapshot, *reversed(snapshot.older)):  # newest first
        earlier = snap is not snapshot
        if earlier:
            verify_earlier(snapshot, snap)
        select, _ = _parse_vintage(snap, con)
        if earlier:
            _check_grid(con, select, snap, snapshot)
        selects.append(select)
    keys = _partner_key(con, selects)
    ranked = "\nUNION ALL\n".join(f"SELECT *, {i} AS newness FROM ({sel})" for i, sel in enumerate(selects))
    # rank, not row_number: every row of the newest vintage listing a key stays (a repeat within it is the checks' to
    # judge, an identical one is dropped by the core), and older vintages' rows for that key go
    final = f"""
        SELECT r.* EXCLUDE (newness, partner_key) FROM (
            SELECT v.*, coalesce(k.partner_key, v.partner_name) AS partner_key
            FROM ({ranked}) AS v LEFT JOIN {keys} AS k USING (partner_name)) AS r
        QUALIFY rank() OVER (PARTITION BY r.year, r.flow, r.partner_key ORDER BY r.newness) = 1"""
    _log_carried(con, final, snapshot)
    return con.sql(final)


def _log_carried(con: duckdb.DuckDBPyConnection, final: str, snapshot: Snapshot) -> None:
    """Log the partners whose values in years the loaded vintage covers come from an earlier one (they left the top
    30 list): kept, not withdrawn, but worth a line."""
    carried = con.execute(f"""
        WITH r AS ({final})
        SELECT partner_name, vintage, min(year), max(year) FROM r
        WHERE vintage <> ? AND year IN (SELECT year FROM r WHERE vintage = ?)
        GROUP BY ALL ORDER BY ALL""", [snapshot.vintage, snapshot.vintage]).fetchall()
    if carried:
        log.info("%s: partners not in this release's list, their values kept from the last release that listed them: "
                 "%s", snapshot.id, "; ".join(f"{n} {lo}-{hi} from {v}" for n, v, lo, hi in carried))


SOURCE = Source(
    name="mof-trade-by-country-top30",
    description="Japan MOF yearly exports (FOB) and imports (CIF) with Japan's 30 largest partners, thousand yen, "
    "one row per year, flow and partner, from the redistributed by-country CSV (Year, From, To, Value), each "
    "(partner, year, flow) from the newest vintage that lists it (a year a newer window drops, a partner a newer "
    "release no longer ranks among the 30, keep the last release's values).",
    columns=(
        Column("vintage", "VARCHAR", "Snapshot vintage the row comes from: the newest that lists its partner, year "
               "and flow"),
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
