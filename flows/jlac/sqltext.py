"""Text written into SQL that DuckDB cannot take as a parameter (ATTACH, COPY ... TO, COMMENT ON, a view's
definition): one way to quote it, so a quote inside a folder name, a description or a file name never ends it."""

from __future__ import annotations

from pathlib import Path


def literal(text: str | Path) -> str:
    """``text`` as an SQL string literal: ``it's`` -> ``'it''s'``."""
    return "'" + str(text).replace("'", "''") + "'"


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier: ``Value-Jan`` -> ``"Value-Jan"`` (a double quote in it doubled)."""
    return '"' + name.replace('"', '""') + '"'
