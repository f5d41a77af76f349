"""Reading ``marts.trade_revisions``: the changes the latest publish made, or the whole history.

Shared by ``jlac revisions`` and the report site, so both show the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

FIELDS = ("source", "reporter_iso3", "partner", "flow", "year", "old_source", "old_vintage", "old_value",
          "new_source", "new_vintage", "new_value", "unit", "change_pct", "recorded_by", "published_run")


@dataclass
class Revisions:
    scope: str  # 'latest publish (run ...)' or 'all'
    run_id: str | None  # the run that published this warehouse, if known
    rows: list[dict]
    total: int | None = None  # rows in the scope before ``limit`` (None: not counted)


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str | None = None) -> bool:
    sql = "SELECT count(*) FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
    args = [schema, table]
    if column:
        sql += " AND column_name = ?"
        args.append(column)
    return con.execute(sql, args).fetchone()[0] > 0


def published_run(con: duckdb.DuckDBPyConnection, db: str | None = None) -> str | None:
    """The run that built and published this warehouse (or the one attached as ``db``): the last completed run of
    its meta.runs in ledger order (``seq``; the publishing run is written last). By start time, a clock set back
    between two runs named the earlier one, and `jlac revisions`, the site and the hooks' catch-up followed it
    (found by a QA pass); a warehouse of an older jlac, without ``seq``, is read so still."""
    # from the catalog: a query of a missing table would have DuckDB look for a Python variable of that name
    columns = {row[0] for row in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = coalesce(?, current_database()) "
        "AND schema_name = 'meta' AND table_name = 'runs'", [db]).fetchall()}
    if not columns:
        return None
    order = "seq DESC" if "seq" in columns else "started DESC NULLS LAST, run_id DESC"
    row = con.execute(f"SELECT run_id FROM {db + '.' if db else ''}meta.runs WHERE status = 'completed' "
                      f"ORDER BY {order} LIMIT 1").fetchone()
    return row[0] if row else None


def read(con: duckdb.DuckDBPyConnection, *, everything: bool = False, reporter: str | None = None,
         limit: int | None = None) -> Revisions:
    """The revision rows of the latest publish (default), or every row when ``everything`` or when the
    warehouse does not record publishes (no meta.runs or an older trade_revisions)."""
    if not _has(con, "marts", "trade_revisions"):
        raise LookupError("the warehouse has no marts.trade_revisions")
    new_layout = _has(con, "marts", "trade_revisions", "recorded_by")
    run = published_run(con)
    where, args = [], []
    scope = "all"
    if new_layout and run and not everything:
        where.append("recorded_by = 'publish' AND published_run = ?")
        args.append(run)
        scope = f"latest publish (run {run})"
    if reporter:
        where.append("reporter_iso3 = ?")
        args.append(reporter.upper())
    cols = ("source, reporter_iso3, coalesce(partner_iso3, partner_aggregate) AS partner, flow, year, "
            + ("old_source, old_vintage, old_value, new_source, new_vintage, new_value, unit, change_pct, "
               "recorded_by, published_run" if new_layout else
               "source, old_vintage, old_value, source, new_vintage, new_value, 'USD', change_pct, 'vintages', NULL"))
    sql = (f"SELECT {cols} FROM marts.trade_revisions {'WHERE ' + ' AND '.join(where) if where else ''} "
           "ORDER BY new_vintage DESC, abs(change_pct) DESC NULLS LAST, reporter_iso3, partner, flow, year")
    total = None
    if limit:
        sql += f" LIMIT {int(limit)}"
        scope_sql = f"WHERE {' AND '.join(where)}" if where else ""
        total = con.execute(f"SELECT count(*) FROM marts.trade_revisions {scope_sql}", args).fetchone()[0]
    rows = [dict(zip(FIELDS, r, strict=True)) for r in con.execute(sql, args).fetchall()]
    return Revisions(scope, run, rows, total)
