"""Table and column COMMENTs: how the warehouse documents itself (raw, seeds, meta, models)."""

from __future__ import annotations

import duckdb


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_table(con: duckdb.DuckDBPyConnection, table: str, description: str, columns: dict[str, str]) -> None:
    """Attach the descriptions as COMMENTs so the warehouse documents itself."""
    con.execute(f"COMMENT ON TABLE {table} IS {_quote(description)}")
    for col, text in columns.items():
        con.execute(f'COMMENT ON COLUMN {table}."{col}" IS {_quote(text)}')
