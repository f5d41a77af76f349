"""FRED EXJPUS: Japanese yen per US dollar, monthly averages (fredgraph CSV layout).

Header ``observation_date,EXJPUS``; FRED's fredgraph.csv named the first column ``DATE`` until 2024 (the
connector ``jlac.sources.fred_exjpus.connector`` rewrites it, and the parser accepts both). FRED writes '.' (or nothing)
for a month without a value. The file is small: read with the csv module, every line checked.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date

import duckdb
import pandas as pd

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source

HEADER = ["observation_date", "EXJPUS"]
HEADER_VARIANTS = (HEADER, ["DATE", "EXJPUS"])  # fredgraph.csv before 2024


def read_rows(path, label: str) -> list[tuple]:
    """(line, month, rate) per line; ParseError naming the line and cell for anything else."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{label}: not UTF-8 text ({exc}); expected FRED's fredgraph CSV") from None
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines:
        raise ParseError(f"{label}: empty file; expected the header {HEADER}")
    header = [c.strip() for c in lines[0]]
    if header not in HEADER_VARIANTS:
        raise ParseError(f"{label}: expected header {HEADER} (or FRED's older {HEADER_VARIANTS[1]}), found {header}")
    rows = []
    for i, cells in enumerate(lines[1:], 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != 2:
            raise ParseError(f"{label} line {i}: expected 2 fields (date, rate), found {len(cells)}: {cells[:4]}")
        day, value = (c.strip() for c in cells)
        try:
            month = date.fromisoformat(day)
        except ValueError:
            month = None
        if month is None or month.day != 1:  # a monthly series: another day would be a thirteenth month of its year
            raise ParseError(
                f"{label} line {i} column {header[0]}: expected a date YYYY-MM-01, found {day!r}") from None
        if value in ("", "."):
            rate = None
        else:
            try:
                rate = float(value)
            except ValueError:
                rate = math.nan
            if not math.isfinite(rate):  # float() also reads 'NaN' and 'inf'; FRED's missing value is '.'
                raise ParseError(
                    f"{label} line {i} column EXJPUS: expected yen per dollar or '.', found {value!r}") from None
        rows.append((i, month, rate))
    if not rows:
        raise ParseError(f"{label}: the header has no observation under it (truncated or empty result)")
    if rows[-1][2] is None:  # FRED ends a series at its last value: an empty last one is a line cut after its comma
        raise ParseError(f"{label} line {rows[-1][0]}: the last observation ({rows[-1][1]:%Y-%m}) has no rate; FRED "
                         "ends a series at its latest value (a file cut short?)")
    return rows


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The one CSV of the snapshot, one row per month."""
    files = [f for f in snapshot.files if f.path.lower().endswith(".csv")]
    if len(files) != 1:
        raise ParseError(f"fred-exjpus {snapshot.id}: expected one CSV file, found {[f.path for f in files]}")
    name = files[0].path
    rows = read_rows(snapshot.path(name), f"fred-exjpus {name}")
    frame = pd.DataFrame(rows, columns=["row_number", "month", "jpy_per_usd"]).astype(object)
    frame.insert(0, "file", name)
    return con.from_df(frame)


SOURCE = Source(
    name="fred-exjpus",
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
