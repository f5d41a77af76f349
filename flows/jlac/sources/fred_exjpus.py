"""FRED EXJPUS: Japanese yen per US dollar, monthly averages (fredgraph CSV layout)."""

from __future__ import annotations

import duckdb

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source

HEADER = ["observation_date", "EXJPUS"]


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The one CSV of the snapshot; FRED writes '.' (or nothing) for a missing month."""
    files = [f for f in snapshot.files if f.path.lower().endswith(".csv")]
    if len(files) != 1:
        raise ParseError(f"fred-exjpus {snapshot.id}: expected one CSV file, found {[f.path for f in files]}")
    path = snapshot.path(files[0].path)
    header = path.open(encoding="utf-8-sig").readline().strip().split(",")
    if header != HEADER:
        raise ParseError(f"fred-exjpus {files[0].path}: expected header {HEADER}, found {header}")
    con.register("exjpus_csv", con.read_csv(str(path), header=True, all_varchar=True))
    return con.sql(
        f"""
        SELECT '{files[0].path}' AS file,
               row_number() OVER () + 1 AS row_number,
               CAST(observation_date AS DATE) AS month,
               TRY_CAST(NULLIF(EXJPUS, '.') AS DOUBLE) AS jpy_per_usd
        FROM exjpus_csv
        """
    )




SOURCE = Source(
    name="fred-exjpus",
    table="fred_exjpus",
    description="FRED series EXJPUS as parsed: yen per US dollar, monthly average of noon buying rates "
    "(Federal Reserve H.10).",
    columns=(
        Column("file", "VARCHAR", "CSV file name in the snapshot"),
        Column("row_number", "INTEGER", "Line number in the CSV (header = 1)"),
        Column("month", "DATE", "First day of the month observed"),
        Column("jpy_per_usd", "DOUBLE", "Yen per US dollar, monthly average; NULL where FRED has no value"),
    ),
    parse=parse,
    key=("month",),
)
