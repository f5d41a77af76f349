"""Backfill: fetch again and rebuild, then show what changed for the years FROM..TO.

The connectors fetch a publisher's whole current release (the APIs jlac uses return full series, and
revisions of old years arrive inside them), so a backfill re-runs the refresh flow with ``fetch=True``
and then compares the published marts and figures, restricted to the year range, before and after.
Idempotence comes from the layers below: a fetch whose content equals the latest vintage writes nothing,
parsing is cached on the snapshot checksum, and the warehouse is rebuilt whole and published atomically.
``backfill`` measures it instead of assuming it: a second run over the same range reports no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from jlac import sqltext
from jlac.config import get_settings
from jlac.errors import JlacError
from jlac.ops.status import read_ledger

YEAR_COLUMNS = ("year", "commitment_year")
# The tables that check the report's statements against the data (figures.fig1_reconciliation, fig3_reconciliation,
# report_claims) have a period instead, as text: "2014-2018", "2017 (JICA FY2017?)", "c.2016-2017". A row is of the
# range when the years its period names span a year of it; its values come from the year tables, so a revision of
# those years changes them (the verdict on a claim of the report), which the year tables alone did not say.
# Not compared: the tables of reviewed seeds only (figures.fig2_mexico_auto_plants, table1_japan_lac_policy): no
# fetch changes them, so a backfill has nothing to find there; and the dimensions, which have no years.
PERIOD_COLUMNS = ("period", "ref_period")
_PERIOD_YEARS = r"list_transform(regexp_extract_all({col}, '\b(?:19|20)[0-9]{{2}}\b'), lambda y: y::INTEGER)"


@dataclass(frozen=True)
class BackfillResult:
    run: dict | None  # the ledger line of the refresh
    changed: dict[str, tuple[tuple, tuple]]  # table -> (rows, content hash) before and after, in the range


def check_range(first: int, last: int) -> None:
    """Refuse (ValueError) a backfill range that is empty (``first`` after ``last``) or outside 1960-2100."""
    if first > last:
        raise ValueError(f"backfill range {first}..{last} is empty: --from must not be after --to")
    if first < 1960 or last > 2100:
        raise ValueError(f"backfill range {first}..{last}: years must lie between 1960 and 2100")


def check_sources(sources: list[str] | None, offline: bool) -> None:
    """A backfill fetches again: a source without a live connector has nothing to fetch, and its backfill reported
    "unchanged" as if the publisher had been asked (``--offline`` rebuilds from the snapshots at hand: allowed)."""
    if offline or not sources:
        return
    from jlac.connectors import connectors

    live = connectors()
    if missing := [s for s in sources if s not in live]:
        raise JlacError(f"backfill --source {', '.join(missing)}: no live connector, so nothing to fetch (live "
                        f"sources: {', '.join(live)}); add --offline to rebuild the years from the snapshots at hand")


def range_fingerprint(warehouse: Path, first: int, last: int) -> dict[str, tuple]:
    """Per mart/figure table with a year column, or a period column (a text naming years: PERIOD_COLUMNS), its rows
    in the range: (rows, order-independent hash of the rows)."""
    if not warehouse.exists():
        return {}
    con = duckdb.connect(":memory:")
    try:
        # a folder may be named "it's"
        con.execute(f"ATTACH {sqltext.literal(warehouse)} AS wh (TYPE duckdb, READ_ONLY)")
        cols = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE database_name = 'wh' "
            "AND schema_name IN ('marts', 'figures') AND column_name IN ? ORDER BY 1, 2, 3",
            [[*YEAR_COLUMNS, *PERIOD_COLUMNS]]).fetchall()
        chosen: dict[str, tuple[str, str, str]] = {}
        for schema, table, column in cols:  # a year column before a period column, should a table have both
            name = f"{schema}.{table}"
            if name not in chosen or (column in YEAR_COLUMNS and chosen[name][2] not in YEAR_COLUMNS):
                chosen[name] = (schema, table, column)
        out = {}
        for name, (schema, table, column) in chosen.items():
            if column in YEAR_COLUMNS:
                where = f'"{column}" BETWEEN ? AND ?'
            else:  # the years the period names, first to last, reach into the range
                years = _PERIOD_YEARS.format(col=f'"{column}"')
                where = f"list_min({years}) <= ? AND list_max({years}) >= ?"
            bounds = [first, last] if column in YEAR_COLUMNS else [last, first]
            rows, digest = con.execute(
                f'SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM wh."{schema}"."{table}" t WHERE {where}',
                bounds).fetchone()
            out[name] = (rows, digest)
        return out
    finally:
        con.close()


def backfill(first: int, last: int, sources: list[str] | None = None, offline: bool = False,
             run_flow: Callable[..., object] | None = None) -> BackfillResult:
    """Fetch (``sources``, default all connectors) and rebuild; return the tables whose FROM..TO rows changed.

    ``run_flow`` defaults to the Prefect refresh flow; tests pass the plain pipeline.
    """
    check_range(first, last)
    check_sources(sources, offline)
    settings = get_settings()
    if run_flow is None:
        from jlac.pipeline import refresh as run_flow
    before = range_fingerprint(settings.warehouse, first, last)
    runs_before = len(read_ledger(settings.run_ledger))
    # --offline: no fetch asked at all (fetch=True with offline=True would be warned about as an ignored fetch)
    run_flow(fetch=not offline, offline=offline, sources=sources, trigger=f"backfill {first}-{last}")
    runs = read_ledger(settings.run_ledger)
    after = range_fingerprint(settings.warehouse, first, last)
    changed = {t: (before.get(t, (0, 0)), after.get(t, (0, 0))) for t in sorted(set(before) | set(after))
               if before.get(t) != after.get(t)}
    return BackfillResult(runs[-1] if len(runs) > runs_before else None, changed)
