"""Before publishing: put on record every published trade value this build changes.

Compares ``marts.fct_trade_annual`` and ``marts.fct_trade_annual_by_aggregate`` of the build with the warehouse
that is still published, key by key, and appends a ``recorded_by = 'publish'`` row to the build's
``marts.trade_revisions`` for every value that differs — whichever source or vintage the old and the new value
came from (an IMTS release taking a year over from IMF DOTS, MOF's final figures replacing its preliminary
ones), or a published value the build no longer has. Dollar values are compared, and yen values for the sources
that report yen. The rows earlier publishes recorded are carried forward from the previous warehouse, so the
history survives every rebuild.

A failure here stops the publish: the warehouse stays as it was and nothing goes unrecorded.

After publishing, a value the publish removed (a release that no longer covers a year or a partner the warehouse
had) is alerted, naming the source, the years and the count: the warehouse keeps publishing, but "a published
number disappeared" is something someone should see, not only a row in ``marts.trade_revisions``.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

import duckdb

from jlac import warehouse
from jlac.errors import JlacError, SettingError
from jlac.publish_hooks import PublishContext, PublishHook

log = logging.getLogger(__name__)

# Differences below this many units are float noise of the same computation, not revisions.
TOLERANCE = 0.5
COLUMNS = ("source, reporter_iso3, partner_iso3, partner_aggregate, flow, year, old_vintage, old_value, new_vintage, "
           "new_value, change_pct, old_source, new_source, unit, recorded_by, published_run, published_at")
# the published tables compared, with the column that names their partner
TABLES = (("marts.fct_trade_annual", "partner_iso3"), ("marts.fct_trade_annual_by_aggregate", "partner_aggregate"))


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = ? "
        "AND table_name = ?", [catalog, schema, table]).fetchall()}


def _changes_sql(table: str, partner: str, unit: str, column: str) -> str:
    """Published values of the previous warehouse that the build changes or no longer has, for the same key.

    A value the build drops (its key gone, or now empty) is recorded with an empty new value and source; a key
    or value that was not published before is an addition, not a revision. A key whose value now comes from
    source without yen (IMF DOTS taking a year over from MOF's yen file) has changed source, not lost a value: its
    dollar values are compared, and its yen is not recorded as removed (that was alerted as "no source of the build
    has them any more" while MOF's file still had them; found by a QA pass)."""
    # yen only: a dollar value the new source lacks is still a published value gone (an IMF release dropping a
    # year under MOF's yen-only row); only MOF's files report yen, and a higher-ranked source without yen is usual
    moved = (" AND NOT (n.reporter_iso3 IS NOT NULL AND n.value_jpy IS NULL AND n.source IS DISTINCT FROM o.source)"
             if column == "value_jpy" else "")
    iso3 = "o.partner_iso3" if partner == "partner_iso3" else "NULL::VARCHAR"
    aggregate = "o.partner_aggregate" if partner == "partner_aggregate" else "NULL::VARCHAR"
    return f"""
        SELECT coalesce(n.source, o.source), o.reporter_iso3, {iso3}, {aggregate}, o.flow, o.year,
               o.vintage, o.{column}, n.vintage, n.{column},
               round(100 * (n.{column} - o.{column}) / nullif(o.{column}, 0), 4),
               o.source, n.source, '{unit}', 'publish', $run, $at
        FROM prev.{table} AS o
        LEFT JOIN {table} AS n
          ON o.reporter_iso3 = n.reporter_iso3 AND o.{partner} = n.{partner} AND o.flow = n.flow AND o.year = n.year
        WHERE o.{column} IS NOT NULL AND (n.{column} IS NULL OR abs(n.{column} - o.{column}) > {TOLERANCE}){moved}"""


def record(build, previous, run_id: str, at: datetime | None = None) -> int:
    """Write this publish's revision rows (and the carried-forward ones) into the build; return the new count."""
    at = at or datetime.now(UTC)
    with duckdb.connect(str(build)) as con:
        if previous is None:
            return 0
        build_catalog = con.execute("SELECT current_database()").fetchone()[0]
        con.execute("ATTACH ? AS prev (TYPE duckdb, READ_ONLY)", [str(previous)])
        try:
            old_cols = _columns(con, "prev", "marts", "trade_revisions")
            if "recorded_by" in old_cols:
                # an incremental build is a copy of the previous warehouse: its publish rows are already there
                # (the model rebuilds only when IMTS changed); carry the previous ones forward exactly once
                con.execute("DELETE FROM marts.trade_revisions WHERE recorded_by = 'publish'")
                con.execute(f"INSERT INTO marts.trade_revisions ({COLUMNS}) SELECT {COLUMNS} "
                            "FROM prev.marts.trade_revisions WHERE recorded_by = 'publish'")
            before = con.execute("SELECT count(*) FROM marts.trade_revisions").fetchone()[0]
            for table, partner in TABLES:
                schema, name = table.split(".")
                shared = _columns(con, "prev", schema, name) & _columns(con, build_catalog, schema, name)
                for unit, column in (("USD", "value_usd"), ("JPY", "value_jpy")):
                    if column in shared:  # a previous warehouse without the column published no such value
                        con.execute(f"INSERT INTO marts.trade_revisions ({COLUMNS}) "
                                    + _changes_sql(table, partner, unit, column), {"run": run_id, "at": at})
            added = con.execute("SELECT count(*) FROM marts.trade_revisions").fetchone()[0] - before
        finally:
            con.execute("DETACH prev")
    log.info("revisions: %d published value(s) changed by run %s", added, run_id)
    return added


# A published value that changes by this factor or more (either way) is no revision but a unit read otherwise
# (thousand vs million yen under an unchanged header) or a number cut short (a file cut inside its last value): both
# were published by a QA pass, the only trace a -99.9 % row in `jlac revisions`. A value that stays below SUBSTANTIAL,
# old and new, is left to change freely (a partner's few thousand dollars can grow a hundredfold); one that reaches it
# from below is judged too (half a million dollars read as thousands, x1000, is half a billion: found by a QA pass).
IMPLAUSIBLE_FACTOR = 100
SUBSTANTIAL = {"USD": 1e6, "JPY": 1e8}
ACCEPT_ENV = "JLAC_ACCEPT_REVISIONS"


def accepted_sources() -> set[str]:
    """Sources whose implausible changes a reviewer accepts for this refresh (``JLAC_ACCEPT_REVISIONS``, names
    separated by commas or spaces); an unknown name is refused, naming it."""
    from jlac.sources import all_sources

    names = {n for n in os.environ.get(ACCEPT_ENV, "").replace(",", " ").split() if n}
    if unknown := sorted(names - set(all_sources())):
        raise SettingError(f"{ACCEPT_ENV}: no source named {', '.join(unknown)}; it takes source names "
                           "(`jlac sources` lists them), e.g. mof-trade-by-country-top30")
    return names


def implausible(build, run_id: str) -> list[tuple]:
    """This publish's changes of a value by IMPLAUSIBLE_FACTOR or more where the old or the new value is substantial:
    (source, reporter, partner, flow, year, old, new, unit), largest factor first."""
    cases = " ".join(f"WHEN '{u}' THEN {v}" for u, v in SUBSTANTIAL.items())
    with duckdb.connect(str(build), read_only=True) as con:
        return con.execute(f"""
            SELECT source, reporter_iso3, coalesce(partner_iso3, partner_aggregate), flow, year, old_value, new_value,
                   unit
            FROM marts.trade_revisions
            WHERE recorded_by = 'publish' AND published_run = ? AND new_value IS NOT NULL
              AND greatest(abs(old_value), abs(new_value)) >= CASE unit {cases} ELSE 'infinity'::DOUBLE END
              AND old_value <> 0  -- a zero filled in is a revision; no factor reads a unit into it (QA pass)
              AND (abs(new_value) * {IMPLAUSIBLE_FACTOR} <= abs(old_value)
                   OR abs(new_value) >= abs(old_value) * {IMPLAUSIBLE_FACTOR})
            ORDER BY greatest(abs(new_value) / nullif(abs(old_value), 0), abs(old_value) / nullif(abs(new_value), 0))
                     DESC NULLS FIRST, source, year""", [run_id]).fetchall()


def refuse_implausible(build, run_id: str) -> None:
    """Stop the publish when a source's published values change by IMPLAUSIBLE_FACTOR or more, unless a reviewer
    accepts that source's release (``JLAC_ACCEPT_REVISIONS``)."""
    accepted = accepted_sources()
    rows = [r for r in implausible(build, run_id) if r[0] not in accepted]
    if not rows:
        return
    by_source: dict[str, list[tuple]] = {}
    for r in rows:
        by_source.setdefault(r[0], []).append(r)
    parts = []
    for source, found in by_source.items():
        examples = "; ".join(f"{rep}->{partner} {flow} {year}: {old:,.0f} -> {new:,.0f} {unit}"
                             for _, rep, partner, flow, year, old, new, unit in found[:3])
        parts.append(f"{source}: {len(found):,} value(s), e.g. {examples}")
    raise JlacError(
        f"published trade values would change by a factor of {IMPLAUSIBLE_FACTOR} or more, which no revision does: "
        f"{' | '.join(parts)}. A unit read otherwise (thousand vs million), or a file cut inside a number? Nothing "
        f"was published. If the publisher really changed them so, {ACCEPT_ENV}={','.join(by_source)} accepts it "
        "for a refresh")


def removed(path, run_id: str) -> list[tuple[str, int, list[int]]]:
    """The published values run ``run_id`` removed, per source: (old source, values, years)."""
    # attached, not duckdb.connect(path): that reuses a database this process has open under the path, the file
    # before the publish, and fails beside a read-write connection of the process (a notebook's; found by a QA pass)
    with warehouse.attach_readonly(path) as con:
        return con.execute(
            "SELECT old_source, count(*), list(DISTINCT year ORDER BY year) FROM marts.trade_revisions "
            "WHERE recorded_by = 'publish' AND published_run = ? AND new_value IS NULL GROUP BY old_source "
            "ORDER BY old_source", [run_id]).fetchall()


def removal_message(run_id: str, rows: list[tuple[str, int, list[int]]],
                    quarantined: dict[str, dict] | None = None) -> str | None:
    """The alert's text for the values a publish removed, or None when it removed none. Where the run also set rows
    of that source aside (``RunRecord.quarantine``: unknown country names), the values may be those rows under a new
    name, not values the release dropped: the alert said "check that the newest release really dropped them" of
    rows a renamed country sent to quarantine (found by a QA pass)."""
    if not rows:
        return None
    quarantined = quarantined or {}
    parts = []
    for source, n, years in rows:
        part = f"{source}: {n:,} value(s) of {', '.join(map(str, years))}"
        if q := quarantined.get(source):
            part += (f" (this release also set {q.get('rows', 0):,} of its rows aside in quarantine.rows, unknown "
                     f"country names: {q.get('values') or '?'}; the values may be those rows under a new name: "
                     "docs/quarantine.md)")
        parts.append(part)
    return (f"jlac refresh {run_id} published without values the previous warehouse had (no source of the build "
            f"has them any more): {'; '.join(parts)}. The old values are in marts.trade_revisions (new_value "
            "empty); check that the newest release really dropped them.")


def before(ctx: PublishContext) -> None:
    """Record in the build every published trade value it changes (``record``), then refuse an implausible change.
    A published warehouse too damaged to compare is replaced without that record (its revisions carried forward when
    they read, the file kept aside); an incremental build, a copy of that damage, is refused."""
    try:
        record(ctx.build, ctx.previous, ctx.record.run_id)
    except duckdb.Error:
        damage = _damaged(ctx.previous) if ctx.previous is not None else None
        if damage is None:
            raise
        if (getattr(ctx.record, "plan", None) or {}).get("mode") == "incremental":  # the build copied that damage
            raise JlacError(f"the published warehouse {ctx.previous} is damaged ({damage}); this build is a copy of "
                            "it: `jlac refresh --full` builds a new warehouse from the snapshots and replaces "
                            "it") from None
        # a published file damaged inside its data blocks (a checksum DuckDB finds only when it reads them) is
        # replaced, not compared: else the publish failed here every time, `--full` too, and nothing could ever replace
        # it (found by a QA pass). The revisions it held are carried forward when their own table still reads whole
        # (they were dropped with the file, damage elsewhere or not: a QA pass), and the file is kept aside.
        with duckdb.connect(str(ctx.build)) as con:  # what record() wrote before it failed
            con.execute("DELETE FROM marts.trade_revisions WHERE recorded_by = 'publish'")
        carried = _carry_forward(ctx.build, ctx.previous)
        log.warning("the published warehouse %s is damaged (%s): this publish replaces it without recording which "
                    "published values it changes; %s", ctx.previous, damage,
                    f"the {carried:,} revision(s) it held are carried forward" if carried is not None else
                    "the revisions it held could not be read, and are not carried forward")
        warehouse.keep_damaged(ctx.previous, ctx.record.run_id)
    else:
        refuse_implausible(ctx.build, ctx.record.run_id)


def _carry_forward(build, previous) -> int | None:
    """Copy the previous warehouse's publish revisions into the build; their number, None when they do not read."""
    try:
        with duckdb.connect(str(build)) as con:
            con.execute("ATTACH ? AS prev (TYPE duckdb, READ_ONLY)", [str(previous)])
            if "recorded_by" not in _columns(con, "prev", "marts", "trade_revisions"):
                return 0
            return con.execute(f"INSERT INTO marts.trade_revisions ({COLUMNS}) SELECT {COLUMNS} "
                               "FROM prev.marts.trade_revisions WHERE recorded_by = 'publish'").fetchone()[0]
    except duckdb.Error:
        return None


def _damaged(previous) -> str | None:
    """DuckDB's error reading the tables the revisions compare in ``previous`` (every block of them), None when it
    reads them whole."""
    try:
        with duckdb.connect() as con:
            con.execute("ATTACH ? AS prev (TYPE duckdb, READ_ONLY)", [str(previous)])
            for table in ["marts.trade_revisions", *(t for t, _ in TABLES)]:
                if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'prev' AND "
                               "schema_name || '.' || table_name = ?", [table]).fetchone()[0]:
                    con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM prev.{table}").fetchall()
    except duckdb.Error as exc:
        return " ".join(str(exc).split())[:300]
    return None


def after(ctx: PublishContext) -> dict | None:
    """Alert the published values this run removed, per source; return what was alerted, None when it removed none."""
    from jlac.ops import alerts

    rows = removed(ctx.published, ctx.record.run_id)
    text = removal_message(ctx.record.run_id, rows, getattr(ctx.record, "quarantine", None))
    if text is None:
        return None
    log.warning("%s", text)
    sent = alerts.send({"text": text, "state": "values removed", "run_id": ctx.record.run_id,
                        "removed": [{"source": s, "values": n, "years": years} for s, n, years in rows]},
                       warehouse=ctx.settings.warehouse)
    return {"alerted": sent, "removed": {source: n for source, n, _ in rows}}


HOOK = PublishHook("revisions", before=before, after=after, order=10)
