"""How the command line prints: tables that never cut a value short, and query results as CSV or JSON.

Rich's default is to shorten a cell that does not fit with an ellipsis: ``jlac sql`` printed Figure 1's
``japan_world_trade_usd_bn`` as ``1486.…`` in an 80-column terminal, and every line piped into a file or another tool
(which has no terminal width, so rich assumes 80) lost digits the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

# The width of output that goes to no terminal (a pipe, a file): a table is as wide as its content, never squeezed.
UNBOUNDED = 100_000
BATCH_ROWS = 10_000  # rows fetched at a time when streaming a result as CSV or JSON


def table(*headers: str, **options) -> Table:
    """A rich Table whose columns wrap a long value onto more lines instead of shortening it."""
    t = Table(**options)
    for header in headers:
        t.add_column(header, overflow="fold")
    return t


def show(console: Console, renderable) -> None:
    """Print a table whole: in a terminal at the terminal's width (long values fold); piped or redirected, as wide
    as its content (COLUMNS, when set, still decides)."""
    if console.is_terminal or os.environ.get("COLUMNS"):
        console.print(renderable)
    else:  # print(width=...) can only narrow a console: a console of that width, on the same stream, widens
        Console(file=console.file, width=UNBOUNDED, no_color=console.no_color, markup=False).print(renderable)


def cell(value) -> str:
    """A value as a table shows it: NULL as an empty cell, a BLOB's bytes in hex (as csv and json write it)."""
    if value is None:
        return ""
    return value.hex() if isinstance(value, bytes) else str(value)


def _json_value(value):
    if isinstance(value, decimal.Decimal):  # DuckDB DECIMAL: a JSON number, not a string
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    return str(value)  # UUID, ...: its Python text


def iso_duration(value: dt.timedelta) -> str:
    """An interval as ISO 8601 (``P3DT2H``, ``-PT1H30M``), which other tools parse; Python's own text
    (``-1 day, 22:30:00``) they do not. DuckDB hands a month over as 30 days."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = f"{seconds}.{value.microseconds:06d}".rstrip("0").rstrip(".") if value.microseconds else str(seconds)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    time += f"{secs}S" if seconds or value.microseconds else ""
    days = f"{value.days}D" if value.days else ""
    return f"{sign}P{days}{'T' + time if time else ''}" if days or time else "PT0S"


def _finite(value):
    """NaN and infinities as None, inside lists and structs too: JSON has no number for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, dict):  # a MAP's keys may be BLOBs or dates, which JSON objects cannot take as they are
        return {k if isinstance(k, str | int | float | bool) or k is None else _json_value(k): _finite(v)
                for k, v in value.items()}
    return value


def write_csv(columns: Sequence[str], batches: Iterable[Sequence[tuple]], out=None) -> int:
    """Write a header and the rows as CSV (NULL as an empty field); return the number of rows."""
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for rows in batches:
        writer.writerows([["" if v is None else _csv_value(v) for v in row] for row in rows])
        n += len(rows)
    return n


def _csv_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    if isinstance(value, bytes):  # as in JSON; the csv module wrote Python's repr, b'\x00' (found by a QA pass)
        return value.hex()
    if isinstance(value, list | dict):
        return json.dumps(_finite(value), default=_json_value)
    return value


def write_json(columns: Sequence[str], batches: Iterable[Sequence[tuple]], out=None) -> int:
    """Write the rows as a JSON array of objects (column -> value, NULL as null), one object per line, streamed;
    return the number of rows."""
    out = out or sys.stdout
    out.write("[")
    n = 0
    for rows in batches:
        for row in rows:
            record = {c: _finite(v) for c, v in zip(columns, row, strict=True)}
            out.write(("\n" if n == 0 else ",\n") + json.dumps(record, default=_json_value, ensure_ascii=False))
            n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def batches(cursor, size: int = BATCH_ROWS):
    """A DuckDB cursor's rows, ``size`` at a time (a result larger than memory is never held whole)."""
    while rows := cursor.fetchmany(size):
        yield rows
