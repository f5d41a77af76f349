"""Quarantine: a row with an unknown country name that no published figure reads is set aside, not fatal.

A source may declare which of its rows a published figure reads (``Source.figure_scope``, next to the parser).
After the raw load and before validation, ``apply`` looks at the rows whose country name resolves to nothing
(``staging.country_name_map`` has no entry for it):

* inside the scope (e.g. an unknown partner of Japan, which Figure 1 reads): kept; validation fails on them
  naming each value with its count, and nothing is published (as before);
* outside it (an unknown reporter, an unknown partner of a reporter no figure reads): moved out of the raw table
  into ``quarantine.rows`` (source, snapshot, file, sheet, row, the unknown value(s), the reason and the whole
  row), so staging and marts never see them; the rest is validated and published.

``meta.quarantine`` keeps one line per scoped source (rows before and set aside, share, values with counts). The
source's validation (``checks``) refuses when the share set aside passes ``JLAC_QUARANTINE_MAX_SHARE``
(``Settings.quarantine_max_share``) or when rows were set aside while no kept row meets the scope's anchor (a
figure's own entity under a new name). The run's ledger line carries the counts (``summary``), the publish hook
``publish_hooks/quarantine.py`` alerts, and ``jlac status`` shows them. A source without a scope keeps the old
rule: every unknown name fails validation. Partitioned sources (raw views over Parquet files) declare no scope.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from jlac import comments, sqltext
from jlac.errors import JlacError
from jlac.sources import PROVENANCE, Source

log = logging.getLogger(__name__)

ROWS = "quarantine.rows"
SUMMARY = "meta.quarantine"
MAX_VALUES = 20  # distinct unknown values kept per source in meta.quarantine and the ledger


# The two tables: columns (name, type, description) and the table's description, written as COMMENTs.
_TABLES = {
    ROWS: ([("source", "VARCHAR", "Source of the row"),
            ("snapshot_id", "VARCHAR", "Snapshot the row was parsed from (<source>/<vintage>)"),
            ("file", "VARCHAR", "File in the snapshot (NULL when the source has no file column)"),
            ("sheet", "VARCHAR", "Sheet of the file, where the source has sheets"),
            ("row_number", "BIGINT", "Row in the file, where known"),
            ("field", "VARCHAR", "Column(s) whose country name is unknown"),
            ("value", "VARCHAR", "The unknown name(s), ' | '-separated"),
            ("reason", "VARCHAR", "Why the row was set aside"),
            ("row_data", "JSON", "The whole raw row as JSON")],
           "Raw rows set aside by the refresh (jlac.quarantine): their country name is unknown and no published "
           "figure reads them. They are not in raw, staging or marts."),
    SUMMARY: ([("source", "VARCHAR", "Source"), ("snapshot_id", "VARCHAR", "Snapshot loaded"),
               ("raw_rows", "BIGINT", "Rows parsed, before quarantine"),
               ("quarantined_rows", "BIGINT", "Rows set aside"),
               ("share", "DOUBLE", "quarantined_rows / raw_rows"),
               ("unknown_values", "VARCHAR", "The unknown names with their row counts, most frequent first"),
               ("anchor", "VARCHAR", "Predicate at least one kept row must meet when rows are set aside "
                                     "(Source.figure_scope)"),
               ("anchor_rows", "BIGINT", "Kept rows meeting the anchor (NULL without anchor or when nothing was "
                                         "set aside)")],
              "Per source with a declared figure scope: how many raw rows this warehouse's refresh set aside in "
              "quarantine.rows."),
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``quarantine.rows`` and ``meta.quarantine`` (documented, possibly empty) in the build; a build copied
    from the published warehouse has them already, with their COMMENTs (about 20 catalog changes saved)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    for table, (columns, description) in _TABLES.items():
        if table not in present:
            con.execute(f"CREATE TABLE {table} ({', '.join(f'{name} {kind}' for name, kind, _ in columns)})")
            comments.comment_table(con, table, description, {name: text for name, _, text in columns})


def _check_declaration(source: Source) -> None:
    if source.partitioned:
        raise JlacError(f"source {source.name}: a partitioned source cannot declare figure_scope (its raw table "
                        "is a view over Parquet partitions; quarantine deletes rows from a table)")
    if not source.country_names:
        raise JlacError(f"source {source.name}: figure_scope declared but no country_names to check")


def _mapped(source: Source) -> tuple[str, list[str], list[str]]:
    """FROM clause joining the name map per country-name column; the columns it adds; the 'unknown' tests."""
    joins, cols, unknown = [f"{source.raw_table} AS r"], [], []
    for i, (tag, col) in enumerate(source.country_names):
        joins.append(f"LEFT JOIN staging.country_name_map AS m{i} ON m{i}.source = '{tag}' AND m{i}.name = r.\"{col}\"")
        cols += [f'm{i}.iso3 AS "{col}_iso3"', f'm{i}.kind AS "{col}_kind"']
        unknown.append(f"(r.\"{col}\" IS NOT NULL AND m{i}.name IS NULL)")
    return " ".join(joins), cols, unknown


def _quote(expr: str) -> str:
    return f"'''' || replace({expr}, '''', '''''') || ''''"


def apply(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> dict[str, int]:
    """Set aside every out-of-scope row with an unknown country name; rows set aside per scoped source.

    Runs on the build after the raw load and ``staging.country_name_map``, before validation. Idempotent per
    build (a source's earlier quarantine lines are replaced).
    """
    ensure_tables(con)
    out = {}
    for source in sources.values():
        if source.figure_scope is None:
            continue
        _check_declaration(source)
        try:
            out[source.name] = _apply_one(con, source)
        except duckdb.Error as exc:  # a declaration that does not fit the raw table: name it, not a traceback
            raise JlacError(f"source {source.name}: figure_scope {source.figure_scope.where!r} (anchor "
                            f"{source.figure_scope.anchor!r}) does not run on {source.raw_table}: {exc}") from exc
    return out


def _apply_one(con: duckdb.DuckDBPyConnection, source: Source) -> int:
    scope = source.figure_scope
    declared = {c.name for c in source.columns}
    frm, cols, unknown = _mapped(source)
    con.execute(f"DELETE FROM {ROWS} WHERE source = ?", [source.name])
    con.execute(f"DELETE FROM {SUMMARY} WHERE source = ?", [source.name])
    raw_rows = con.execute(f"SELECT count(*) FROM {source.raw_table}").fetchone()[0]
    # only rows with an unknown name are looked at in full: a clean snapshot costs one anti-join
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _quarantine AS SELECT * FROM (SELECT r.rowid AS _rowid, r.*, "
        f"{', '.join(cols)}, {', '.join(f'{u} AS _unknown_{i}' for i, u in enumerate(unknown))} FROM {frm} "
        f"WHERE {' OR '.join(unknown)}) WHERE NOT coalesce(({scope.where}), false)")
    names = [col for _, col in source.country_names]
    field = "concat_ws(', ', " + ", ".join(f"CASE WHEN _unknown_{i} THEN '{c}' END" for i, c in enumerate(names)) + ")"
    value = "concat_ws(' | ', " + ", ".join(f'CASE WHEN _unknown_{i} THEN "{c}" END' for i, c in enumerate(names)) + ")"
    reason = ("concat_ws('; ', " + ", ".join(
        f"CASE WHEN _unknown_{i} THEN 'unknown {c} ' || {_quote(chr(34) + c + chr(34))} || ' ({tag} naming: not "
        "in pycountry nor flows/jlac/data/country_names.csv)' END"
        for i, (tag, c) in enumerate(source.country_names)) + ") || "
        + sqltext.literal(f"; outside the rows a published figure reads ({scope.why})"))
    where = [f'"{c}"' if c in declared else "NULL" for c in PROVENANCE]
    raw_cols = [*(c.name for c in source.columns), *(c for c in ("snapshot_id", "vintage") if c not in declared)]
    row_data = "to_json(struct_pack(" + ", ".join(f"{_ident(c)} := {_ident(c)}" for c in raw_cols) + "))"
    con.execute(
        f"INSERT INTO {ROWS} SELECT '{source.name}', snapshot_id, {where[0]}, {where[1]}, {where[2]}, {field}, "
        f"{value}, {reason}, {row_data} FROM _quarantine ORDER BY _rowid")
    quarantined = con.execute("SELECT count(*) FROM _quarantine").fetchone()[0]
    if quarantined:
        con.execute(f"DELETE FROM {source.raw_table} WHERE rowid IN (SELECT _rowid FROM _quarantine)")
    values = con.execute(
        f"SELECT field, value, count(*) AS n, list(DISTINCT file ORDER BY file) FILTER (WHERE file IS NOT NULL) "
        f"FROM {ROWS} WHERE source = ? GROUP BY ALL ORDER BY n DESC, value LIMIT {MAX_VALUES + 1}",
        [source.name]).fetchall()
    anchor_rows = None
    if scope.anchor and quarantined:  # the anchor matters only when something was set aside
        mapped_from, mapped_cols, _ = _mapped(source)
        anchor_rows = con.execute(
            f"SELECT count(*) FROM (SELECT r.*, {', '.join(mapped_cols)} FROM {mapped_from}) "
            f"WHERE ({scope.anchor})").fetchone()[0]
    # the newest: a source reading its earlier vintages has rows of each (vintages sort by date)
    snapshot_id = con.execute(f"SELECT max(snapshot_id) FROM {source.raw_table}").fetchone()[0]
    if snapshot_id is None and quarantined:
        snapshot_id = con.execute(f"SELECT max(snapshot_id) FROM {ROWS} WHERE source = ?",
                                  [source.name]).fetchone()[0]
    con.execute(f"INSERT INTO {SUMMARY} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        source.name, snapshot_id, raw_rows, quarantined, quarantined / raw_rows if raw_rows else 0.0,
        describe_values(values), scope.anchor, anchor_rows])
    con.execute("DROP TABLE _quarantine")
    if quarantined:
        log.warning("%s %s: %s of %s rows set aside in %s (unknown country name, no published figure reads "
                    "them): %s", source.name, snapshot_id, f"{quarantined:,}", f"{raw_rows:,}", ROWS,
                    describe_values(values))
    return quarantined


def _ident(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def describe_values(values: list[tuple]) -> str:
    """(field, value, rows, files) as "reporter_name 'Euro Area' (12 rows in DOTS_229.xlsx), ..." (at most
    MAX_VALUES values and three files each)."""
    shown = []
    for f, v, n, files in values[:MAX_VALUES]:
        where = f" in {', '.join(files[:3])}{', ...' if len(files) > 3 else ''}" if files else ""
        shown.append(f"{f} {v!r} ({n:,} row{'s' if n != 1 else ''}{where})")
    return ", ".join(shown) + (", ..." if len(values) > MAX_VALUES else "")


def summary(build: Path) -> dict[str, dict]:
    """What the build set aside, per source with rows set aside: for the run's ledger line and alerts."""
    with duckdb.connect(str(build), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
                           "AND table_name = 'quarantine'").fetchone()[0]:
            return {}
        rows = con.execute(f"SELECT source, snapshot_id, raw_rows, quarantined_rows, share, unknown_values "
                           f"FROM {SUMMARY} WHERE quarantined_rows > 0 ORDER BY source").fetchall()
    return {s: {"snapshot_id": snap, "rows": n, "raw_rows": total, "share": round(share, 6), "values": values}
            for s, snap, total, n, share, values in rows}


def checks(source: Source, max_share: float) -> list:
    """The validation of what was set aside: not more than ``max_share`` of the rows, and the anchor still met."""
    if source.figure_scope is None:
        return []
    import great_expectations as gx

    from jlac.validation import Check

    pct = f"{100 * max_share:g} %"
    refusal = (
        f"CASE WHEN share > {max_share!r} THEN source || ' ' || coalesce(snapshot_id, '') || ': ' || "
        "format('{:,} of {:,} rows ({:.2f} %)', quarantined_rows, raw_rows, 100 * share) || ' have an unknown "
        f"country name outside the rows a figure reads, more than JLAC_QUARANTINE_MAX_SHARE ({pct}); nothing "
        "is published. Unknown: ' || unknown_values || '. Add the names to flows/jlac/data/country_names.csv or "
        "raise the setting' "
        "WHEN quarantined_rows > 0 AND anchor_rows = 0 THEN source || ' ' || coalesce(snapshot_id, '') || ': no "
        "row meets ' || anchor || ' while rows with unknown names were set aside (a figure''s own entity under a "
        "new name?): ' || unknown_values END"
    )
    return [Check(
        name=f"rows set aside in quarantine at most {pct}, figure anchor present",
        query=f"SELECT source, {refusal} AS refusal FROM {SUMMARY} WHERE source = '{source.name}'",
        expectations=[gx.expectations.ExpectColumnValuesToBeNull(column="refusal")],
    )]
