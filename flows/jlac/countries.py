"""Country names to ISO3 / M49: pycountry for the standard part, one reviewed overrides file for the rest.

``data/country_names.csv`` holds every name a publisher spells its own way (IMF 'Korea, Rep. of',
MOF 'St.Vincent'), historical entities (USSR, Yugoslavia, ...), and IMF aggregates ('World',
'Western Hemisphere', ...). A name found in neither resolves to None, and validation names it.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pycountry

from jlac import config
from jlac.bulk_insert import insert_rows

# The 33 member states of CELAC: jlac's reading of the report's "LAC", which the report does not define
# (README, Figure 1).
CELAC = frozenset(
    "ATG ARG BHS BRB BLZ BOL BRA CHL COL CRI CUB DMA DOM ECU SLV GRD GTM GUY HTI HND JAM MEX NIC PAN PRY PER "
    "KNA LCA VCT SUR TTO URY VEN".split()
)


@dataclass(frozen=True)
class CountryMatch:
    name: str  # the name as the publisher spells it
    iso3: str | None  # None for aggregates and unallocated areas
    m49: int | None
    kind: str  # country | territory | historical | aggregate | unallocated
    display_name: str
    aggregate_code: str | None = None
    imts_code: str | None = None
    note: str = ""


def _overrides() -> dict[tuple[str, str], CountryMatch]:
    """The reviewed overrides, read again whenever the file changes (a long-running scheduler sees an edit)."""
    path = config.DATA_DIR / "country_names.csv"
    stat = path.stat()
    return _read_overrides(str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _read_overrides(path: str, mtime_ns: int, size: int) -> dict[tuple[str, str], CountryMatch]:
    text = Path(path).read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(text.splitlines()):
        iso3 = row["iso3"] or None
        display = row["name"]
        if iso3:
            hit = pycountry.countries.get(alpha_3=iso3) or pycountry.historic_countries.get(alpha_3=iso3)
            if hit is not None:
                display = getattr(hit, "common_name", None) or hit.name
        out[(row["source"], unicodedata.normalize("NFC", row["name"]))] = CountryMatch(
            name=row["name"], iso3=iso3, m49=int(row["m49"]) if row["m49"] else None, kind=row["kind"],
            display_name=display, aggregate_code=row["aggregate_code"] or None,
            imts_code=row["imts_code"] or None, note=row["note"],
        )
    return out


def resolve(source: str, name: str) -> CountryMatch | None:
    """The country, territory or aggregate a publisher's name denotes; None when unknown. The name is compared in
    Unicode's composed form (NFC): 'Côte d'Ivoire' written decomposed, as files saved on macOS often are, is the
    same name (it was unknown, and looked exactly like the known one in the message: a QA pass)."""
    return _resolve(source, unicodedata.normalize("NFC", name.strip()), id(_overrides()))


@cache
def _resolve(source: str, name: str, _overrides_id: int) -> CountryMatch | None:
    hit = _overrides().get((source, name))
    if hit:
        return hit
    c = _by_name(name) or _un_style(name)
    if c is None:
        return None
    return CountryMatch(
        name=name, iso3=c.alpha_3, m49=int(c.numeric), kind="country",
        display_name=getattr(c, "common_name", None) or c.name,
    )


def _un_style(name: str):
    """The UN's M49 spelling of an ISO 3166 short name with a qualifier: 'Bolivia (Plurinational State of)' is ISO's
    'Bolivia, Plurinational State of'. A publisher switching to it (the UN, the World Bank's and OECD's newer
    releases) stopped the refresh on Japan's partners (found by a QA pass). Exact names only, nothing fuzzy."""
    head, sep, rest = name.partition(" (")
    if not sep or not rest.endswith(")") or "(" in rest:
        return None
    return _by_name(f"{head}, {rest[:-1]}")


def _by_name(name: str):
    """The ISO 3166 country whose name, official name or common name this is (any case); None otherwise.
    pycountry's lookup also matches the codes (alpha-2, alpha-3, numeric), but in a publisher's name column a code
    is as often an abbreviation of something else: DAC2a's recipient row 'EC' is the European Commission, not
    Ecuador, and was added into every EU donor's net ODA to Ecuador (Germany 2017: 29.99 + 2,056.03 = US$2,086.02m);
    in Spanish cooperation records 'CAF' is the Corporación Andina de Fomento (a development bank), not the Central
    African Republic, and 'CAN' the Andean Community, not Canada. Such a name is unknown until reviewed."""
    try:
        c = pycountry.countries.lookup(name)
    except LookupError:
        return None
    names = {getattr(c, f, None) for f in ("name", "official_name", "common_name")}
    return c if name.casefold() in {n.casefold() for n in names if n} else None


def unknown(source: str, names) -> list[str]:
    """The names (sorted) that resolve to nothing."""
    return sorted({n for n in names if resolve(source, n) is None})


def name_map_rows(source: str, names) -> list[tuple]:
    """Rows for ``staging.country_name_map``: one per distinct resolvable name."""
    rows = []
    for n in sorted(set(names)):
        m = resolve(source, n)
        if m is not None:
            rows.append((source, n, m.iso3, m.m49, m.kind, m.display_name, m.aggregate_code, m.imts_code, m.note))
    return rows


def iso_rows() -> list[tuple]:
    """Rows for ``staging.country_name_map`` of convention ``iso``: every ISO 3166-1 country (and ISO 3166-3 former
    country) under its alpha-3 code.
    Sources that carry codes instead of names (AidData, Comtrade, MOF's code list) hold ISO3s that no name in the
    map gave; with these rows every one is in ``marts.dim_country``, which the facts' relationships tests read
    (Liechtenstein, Mayotte, Martinique, Wallis and Futuna were missing: found by a QA pass)."""
    current = [("iso", c.alpha_3, c.alpha_3, int(c.numeric), "country", getattr(c, "common_name", None) or c.name,
                None, None, "ISO 3166-1") for c in pycountry.countries]
    codes = {r[2] for r in current}
    # ISO 3166-3's former countries too (Comtrade's partner PCI, the Pacific Islands trust territory), without an
    # M49: jlac's reviewed overrides give the historical codes theirs (YUG 890, where ISO 3166-3 has 891)
    # and Kosovo's user-assigned XKX (the IMF's, the EU's and AidData's code; no M49), which ISO 3166 lacks
    return current + [("iso", c.alpha_3, c.alpha_3, None, "historical", c.name, None, None, "ISO 3166-3")
                      for c in pycountry.historic_countries if c.alpha_3 not in codes] + [
        ("iso", "XKX", "XKX", None, "country", "Kosovo", None, None, "user-assigned code (IMF, EU)")]


def build_name_map_table(con: duckdb.DuckDBPyConnection, sources: dict | None = None, *,
                         only_for: dict | None = None) -> int:
    """staging.country_name_map: every country name the raw tables in the build use (all sources' unless given).

    ``only_for``: the sources an incremental build loads again into its copy of the published warehouse, whose map
    is complete for the same code and overrides (an edit of either makes a full build, ``jlac.plan``). Only the rows
    of the naming conventions these sources use are resolved again, from every raw table using them; the others
    stay as published. A source without country names (a new month of MOF HS-9, a FRED vintage) costs nothing here:
    no scan of the other raw tables and no load of pycountry's databases (0.2 s per process).
    Returns the number of rows written.
    """
    from jlac import comments
    from jlac.sources import all_sources

    sources = all_sources() if sources is None else sources
    tags = None if only_for is None else {tag for src in only_for.values() for tag, _ in src.country_names}
    if tags is not None and not tags:
        return 0
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
        "SELECT schema_name, view_name FROM duckdb_views()").fetchall()}
    if tags is not None and "staging.country_name_map" not in present:
        tags = None  # nothing to keep: the whole map
    rows = []
    for src in sources.values():
        if src.raw_table not in present:  # a build of some sources only (tests, benchmarks)
            continue
        for tag, column in src.country_names:
            if tags is not None and tag not in tags:
                continue
            query = f"SELECT DISTINCT {column} FROM {src.raw_table} WHERE {column} IS NOT NULL"
            names = [r[0] for r in con.execute(query).fetchall()]
            rows += name_map_rows(tag, names)
    if tags is None:  # an incremental build keeps the published map's, from the same pycountry (same code)
        rows += iso_rows()
    rows = sorted(set(rows))
    if tags is not None:
        con.execute("DELETE FROM staging.country_name_map WHERE source IN (SELECT unnest(?))", [sorted(tags)])
    else:
        con.execute(
            "CREATE OR REPLACE TABLE staging.country_name_map (source VARCHAR, name VARCHAR, iso3 VARCHAR, "
            "m49 INTEGER, kind VARCHAR, display_name VARCHAR, aggregate_code VARCHAR, imts_code VARCHAR, note VARCHAR, "
            "is_celac BOOLEAN)")
    insert_rows(con, "staging.country_name_map", [(*r, r[2] in CELAC) for r in rows])
    if tags is not None:  # the table and its COMMENTs are the published warehouse's
        return len(rows)
    comments.comment_table(
        con, "staging.country_name_map",
        "Every country or aggregate name in the raw tables of the sources that declare their name columns "
        "(Source.country_names: IMF DOTS, convention imf; MOF's top-30 file and country codes, mof), and "
        "every ISO 3166-1 code (convention iso), resolved to ISO3/M49 by pycountry and jlac's reviewed overrides "
        "(flows/jlac/data/country_names.csv). Names that resolve to nothing are absent: a row with one fails "
        "validation where a published figure reads it, else it is set aside in quarantine.rows (docs/quarantine.md). "
        "OECD DAC2a, AidData GCDF 2.0 and MIDEPLAN resolve their names in their parsers with the same overrides "
        "and keep the ISO3 in their raw tables; their names are not here.",
        {"source": "Naming convention: imf, mof, ...; iso: every ISO 3166-1 and 3166-3 country by its alpha-3 code",
         "name": "Name as the publisher spells it",
         "iso3": "ISO3 (or jlac code for historical entities); NULL for aggregates and unallocated areas",
         "m49": "UN M49 / ISO numeric code", "kind": "country, territory, historical, aggregate or unallocated",
         "display_name": "Short English name", "aggregate_code": "jlac code of an IMF aggregate",
         "imts_code": "IMF IMTS code of the aggregate where confirmed", "note": "Reviewer's note",
         "is_celac": "ISO3 is one of the 33 CELAC states"},
    )
    return len(rows)


def name_map_fingerprint(build) -> str:
    """An order-independent fingerprint of ``staging.country_name_map`` in a build file ('' when it has none)."""
    with duckdb.connect(str(build), read_only=True) as con:
        has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'staging' "
                          "AND table_name = 'country_name_map'").fetchone()[0]
        if not has:
            return ""
        return str(con.execute("SELECT count(*), bit_xor(hash(m::VARCHAR)) FROM staging.country_name_map m").fetchone())
