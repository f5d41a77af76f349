"""DuckDB COMMENTs for the tables jlac writes itself (raw, seeds, the country-name map, meta).

The SQL models get theirs from their yml through dbt (``sql/macros/document_models.sql``); these helpers document
the rest, so every table of the warehouse describes itself in ``duckdb_tables()`` / ``duckdb_columns()``.
"""

from __future__ import annotations

import duckdb


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_table(con: duckdb.DuckDBPyConnection, table: str, description: str, columns: dict[str, str]) -> None:
    """Attach the descriptions as COMMENTs so the warehouse documents itself."""
    con.execute(f"COMMENT ON TABLE {table} IS {_quote(description)}")
    for col, text in columns.items():
        con.execute(f'COMMENT ON COLUMN {table}."{col}" IS {_quote(text)}')
