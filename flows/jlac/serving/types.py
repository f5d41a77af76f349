"""DuckDB column types mapped to PostgreSQL column types.

Each DuckDB type gets a PostgreSQL type and a DuckDB expression that renders the value as PostgreSQL reads it
from CSV (``COPY ... FROM STDIN (FORMAT csv)``). Nested values (lists, structs, maps, unions) become ``jsonb``:
every BI tool reads JSON text, and a struct has no PostgreSQL array form anyway. A type not in this table
stops the load with the table and column named, instead of arriving as something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

# DuckDB scalar type name (as duckdb_columns().data_type spells it) -> PostgreSQL type
SCALARS = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(39,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "UHUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BLOB": "bytea",
    "DATE": "date",
    "TIME": "time",
    "TIME WITH TIME ZONE": "timetz",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
    "BIT": "varbit",
}
NESTED = re.compile(r"^(STRUCT|MAP|UNION)\(|\[\d*\]$")
DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


class UnmappedType(TypeError):
    """A DuckDB column type the serving copy has no PostgreSQL type for."""


@dataclass(frozen=True)
class Mapped:
    pg_type: str
    expr: str  # DuckDB expression rendering the column for PostgreSQL's CSV input


def quote(name: str) -> str:
    """A double-quoted identifier (same rule in DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def map_column(data_type: str, column: str, where: str = "") -> Mapped:
    """PostgreSQL type and CSV expression for one DuckDB column; UnmappedType names ``where`` and the column."""
    col = quote(column)
    t = data_type.strip().upper()
    if m := DECIMAL.match(t):
        return Mapped(f"numeric({m.group(1)},{m.group(2)})", col)
    if NESTED.search(t):
        return Mapped("jsonb", f"to_json({_finite_nested(data_type, col)})::VARCHAR")
    if t.startswith("ENUM("):
        return Mapped("text", f"{col}::VARCHAR")
    if t == "BLOB":
        return Mapped("bytea", rf"'\x' || hex({col})")  # PostgreSQL's hex format for bytea
    if t == "BIT":
        return Mapped("varbit", f"{col}::VARCHAR")
    if t in SCALARS:
        return Mapped(SCALARS[t], col)
    raise UnmappedType(f"{where}column {column!r}: DuckDB type {data_type} has no PostgreSQL type in "
                       "jlac.serving.types; add one there")


def _finite_nested(data_type: str, col: str) -> str:
    """``col`` with every DOUBLE/REAL inside it that is NaN or infinite made NULL (lists, arrays, structs, map
    values; a union is left as it is), or ``col`` itself when the type holds no floating-point value."""
    if not re.search(r"\b(DOUBLE|FLOAT|REAL|FLOAT4|FLOAT8)\b", data_type.upper()):
        return col
    try:
        parsed = duckdb.sqltype(data_type)
    except duckdb.Error:  # e.g. a user's ENUM type, unknown outside its database: rendered as it is
        return col
    return _finite(parsed, col, 0)[0]


def _finite(t, e: str, depth: int) -> tuple[str, bool]:
    """(expression, changed) for the value ``e`` of DuckDB type ``t``."""
    kind = t.id
    if kind in ("double", "float"):
        return f"CASE WHEN isfinite({e}) THEN {e} END", True
    if kind in ("list", "array"):
        x = f"jlac_x{depth}"
        inner, changed = _finite(t.children[0][1], x, depth + 1)
        return (f"list_transform({e}, lambda {x}: {inner})", True) if changed else (e, False)
    if kind == "struct":
        fields = [(name, *_finite(ft, f"struct_extract({e}, {_literal(name)})", depth)) for name, ft in t.children]
        if not any(changed for *_, changed in fields):
            return e, False
        packed = ", ".join(f"{quote(name)} := {expr}" for name, expr, _ in fields)
        return f"CASE WHEN {e} IS NOT NULL THEN struct_pack({packed}) END", True  # a NULL struct stays NULL
    if kind == "map":
        x = f"jlac_x{depth}"
        inner, changed = _finite(t.children[1][1], f"{x}.value", depth + 1)
        if not changed:
            return e, False
        return (f"map_from_entries(list_transform(map_entries({e}), "
                f"lambda {x}: struct_pack(key := {x}.key, value := {inner})))", True)
    return e, False


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
