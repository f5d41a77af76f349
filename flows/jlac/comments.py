"""DuckDB COMMENTs for the tables jlac writes itself (raw, seeds, the country-name map, meta).

The SQL models get theirs from their yml through dbt (``sql/macros/document_models.sql``); these helpers document
the rest, so every table of the warehouse describes itself in ``duckdb_tables()`` / ``duckdb_columns()``.
"""

from __future__ import annotations

import duckdb

from jlac import sqltext


def comment_table(con: duckdb.DuckDBPyConnection, table: str, description: str, columns: dict[str, str]) -> None:
    """Attach the descriptions as COMMENTs so the warehouse documents itself."""
    con.execute(f"COMMENT ON TABLE {table} IS {sqltext.literal(description)}")
    for col, text in columns.items():
        con.execute(f'COMMENT ON COLUMN {table}."{col}" IS {sqltext.literal(text)}')


def comment_raw_table(con: duckdb.DuckDBPyConnection, source, has_snapshot: bool) -> None:
    """A source's raw table (or view) described from the source's declaration. Which snapshot the rows come from is
    in their snapshot_id and vintage columns (and meta.snapshots), not in the COMMENT: a comment that changes only
    with the code keeps dbt's docs site of the warehouse the same across refreshes that bring new data only."""
    comment_table(con, source.raw_table, source.description + ("" if has_snapshot else " No snapshot: empty."), {
        "snapshot_id": "Snapshot the row was parsed from (<source>/<vintage>)",
        "vintage": "Vintage (release date) of the snapshot", **{c.name: c.description for c in source.columns}})
