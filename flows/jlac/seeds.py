"""Reviewed seed tables shipped with jlac: ``seeds.<table>`` from ``jlac/data/seed_<table>.csv``.

Seeds are small curated tables that no publisher serves as data (Japanese automakers' plants in Mexico,
Japan's LAC policy, the report's claims, published finance statements), copied from the shared
reference tables with a source URL on every row. ``data/seeds.yml`` gives each table's file (default
``seed_<table>.csv``), description and each column's type and description; the loader checks the CSV
header against it, so a seed edited out of step with its documentation fails the build instead of
loading silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import yaml

from jlac import sqltext
from jlac.comments import comment_table
from jlac.errors import ParseError


@dataclass(frozen=True)
class Seed:
    table: str  # seeds.<table>
    path: Path
    description: str
    columns: dict[str, tuple[str, str]]  # name -> (DuckDB type, description)


def seeds() -> list[Seed]:
    """Every seed declared in ``data/seeds.yml``."""
    data = resources.files("jlac").joinpath("data")
    spec = yaml.safe_load(data.joinpath("seeds.yml").read_text(encoding="utf-8"))
    out = []
    for table, entry in spec.items():
        cols = {name: (typ, desc) for name, (typ, desc) in entry["columns"].items()}
        path = Path(str(data.joinpath(entry.get("file", f"seed_{table}.csv"))))
        out.append(Seed(table, path, entry["description"].strip(), cols))
    return out


def load_seed(con: duckdb.DuckDBPyConnection, seed: Seed) -> int:
    """Create ``seeds.<table>`` from its CSV with the declared types; return the row count."""
    if not seed.path.is_file():
        raise ParseError(f"seed {seed.table}: file {seed.path} is missing (declared in data/seeds.yml)")
    header = con.read_csv(str(seed.path), header=True, all_varchar=True).columns
    if header != list(seed.columns):
        raise ParseError(
            f"seed {seed.table} ({seed.path.name}): CSV header {header} differs from the columns declared "
            f"in data/seeds.yml {list(seed.columns)}"
        )
    types = ", ".join(f"'{c}': 'VARCHAR'" for c in seed.columns)
    casts = ", ".join(
        f'TRY_CAST(nullif(trim("{c}"), \'\') AS {t}) AS "{c}"' for c, (t, _) in seed.columns.items()
    )
    raw = f"read_csv({sqltext.literal(seed.path)}, header=true, columns={{{types}}})"
    # A value that does not fit its declared type is an error in the seed, not a NULL to carry on with.
    bad = [
        (c, v) for c, (t, _) in seed.columns.items() if t != "VARCHAR"
        for (v,) in con.execute(
            f'SELECT "{c}" FROM {raw} WHERE nullif(trim("{c}"), \'\') IS NOT NULL '
            f'AND TRY_CAST(trim("{c}") AS {t}) IS NULL LIMIT 3'
        ).fetchall()
    ]
    if bad:
        raise ParseError(f"seed {seed.table}: values that are not of their declared type: {bad}")
    con.execute(f"CREATE OR REPLACE TABLE seeds.{seed.table} AS SELECT {casts} FROM {raw}")
    comment_table(con, f"seeds.{seed.table}", seed.description, {c: d for c, (_, d) in seed.columns.items()})
    return con.execute(f"SELECT count(*) FROM seeds.{seed.table}").fetchall()[0][0]


def load_seeds(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Load every seed into schema ``seeds``; return row counts by table."""
    con.execute("CREATE SCHEMA IF NOT EXISTS seeds")
    return {s.table: load_seed(con, s) for s in seeds()}
