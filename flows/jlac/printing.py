"""How the command line prints: tables that never cut a value short, and query results as CSV or JSON.

Rich's default is to shorten a cell that does not fit with an ellipsis: ``jlac sql`` printed Figure 1's
``japan_world_trade_usd_bn`` as ``1486.…`` in an 80-column terminal, and every line piped into a file or another tool
(which has no terminal width, so rich assumes 80) lost digits the same way.
"""

from __future__ import annotations

import contextlib
import decimal
import errno
import io
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

# The width of output that goes to no terminal (a pipe, a file): a table is as wide as its content, never squeezed.
UNBOUNDED = 100_000
BATCH_ROWS = 10_000  # rows fetched at a time when streaming a result as CSV or JSON


class LineConsole(Console):
    """The command line's console: on a terminal a long line wraps at its width; piped or redirected (cron mail, a
    log file, a script) a line is never broken, as the terminal's 80 columns mean nothing there: `make run > log`
    had the one result line of a refresh cut in two mid-sentence (found by a QA pass)."""

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap if self.is_terminal else True

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value


def consoles() -> tuple[Console, Console]:
    """stdout and stderr consoles that print values as they are (no markup, no emoji) and lines whole when piped."""
    return LineConsole(markup=False, emoji=False), LineConsole(stderr=True, markup=False, emoji=False)


def table(*headers: str, **options) -> Table:
    """A rich Table whose columns wrap a long value onto more lines instead of shortening it."""
    t = Table(**options)
    for header in headers:
        t.add_column(header, overflow="fold")
    return t


def show(console: Console, renderable) -> None:
    """Print a table whole: in a terminal at the terminal's width (long values fold); piped or redirected, as wide
    as its content, whatever COLUMNS says."""
    # COLUMNS decided piped output too: COLUMNS=20 folded a value into 7-character lines (found by a QA pass)
    if console.is_terminal:
        console.print(renderable)
    else:  # print(width=...) can only narrow a console: a console of that width, on the same stream, widens
        Console(file=console.file, width=UNBOUNDED, no_color=console.no_color, markup=False,
                emoji=False).print(renderable)


def fits(console: Console, renderable) -> bool:
    """Whether ``renderable`` is printed at its natural width on ``console`` (always when piped: see ``show``)."""
    from rich.measure import Measurement

    if not console.is_terminal:
        return True
    natural = Measurement.get(console, console.options.update(width=UNBOUNDED, max_width=UNBOUNDED), renderable)
    return natural.maximum <= console.width


def show_records(console: Console, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Rows one field per line, as psql's expanded display (``\\x``): for a result wider than the terminal, whose
    table folded numbers and names across lines ("54.15" above "2": found by a QA pass). A value is never broken; a
    line longer than the terminal wraps as the terminal wraps it."""
    width = max((len(c) for c in columns), default=0)
    for i, row in enumerate(rows, 1):
        console.print(f"-[ row {i} ]" + "-" * max(0, width - 5), soft_wrap=True, highlight=False)
        for name, value in zip(columns, row, strict=True):
            console.print(f"{name.ljust(width)} | {value}", soft_wrap=True, highlight=False)


def cell(value) -> str:
    """A value as a table shows it: NULL as ``NULL`` (as DuckDB writes it; an empty string stays an empty cell), a
    BLOB's bytes in hex (as csv and json write it), any other value as DuckDB writes it (``execute`` has DuckDB write
    those whose Python value reads otherwise), with its control characters made visible (``visible``)."""
    # NULL was an empty cell, the same as '' (found by a QA pass)
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return _decimal_text(value)
    return visible(str(value))


# Control characters but newline (EXPLAIN's plan is lines of text), and C1's (0x9b starts an escape sequence on some
# terminals too); a tab too: rich wrapped a cell at it, which then read as a newline (found by a QA pass)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_NAMED = {"\t": "\\t", "\r": "\\r", "\x0b": "\\v", "\x0c": "\\f"}


def visible(text: str) -> str:
    """``text`` for a terminal: each control character but newline written as an escape (``\\x1b``, ``\\r``,
    ``\\t``). An ESC sent as it is changed the terminal's colours, a CR overwrote the line (found by a QA pass)."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def _decimal_text(value: decimal.Decimal) -> str:
    # DuckDB's digits, never an exponent: str() writes DECIMAL(38,10) zero as 0E-10
    return format(value, "f")


# DuckDB types whose Python value is exact and prints (through cell, the csv and JSON writers) as DuckDB writes it.
# Any other type loses in Python's conversion or reads otherwise: DATE and TIMESTAMP infinities clamped to year 9999,
# TIMESTAMP_NS cut to microseconds, FLOAT widened (1.1 as 1.100000023841858), INTERVAL's month taken as 30 days.
_PYTHON_EXACT = frozenset({"tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger",
                           "ubigint", "uhugeint", "double", "decimal", "boolean", "varchar", "blob", "uuid", "enum",
                           "bit", "bignum", "null"})
_TIMESTAMPS = frozenset({"timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns", "timestamp with time zone"})


def execute(con, query: str, format_: str):
    """Run ``query``, one statement that only reads, for printing as ``format_`` (table, csv or json); return the
    cursor, whose ``description`` names the query's own columns.

    Where a column's values would reach Python lossily, the query runs wrapped (``FROM query('<query>')``, its
    columns taken by position, so repeated names stay) and DuckDB writes them: a table shows every such value, a
    nested one too, as DuckDB's text (``[1, 2, NULL]``, ``90 days``); csv and json get DATE, TIME and TIMESTAMP as
    DuckDB's text (a timestamp's date and time joined by ``T``, as ISO 8601 has it; ``infinity`` as it is), INTERVAL
    as ISO 8601 (``P1M``, ``-PT1H30M``) and FLOAT as the double of its shortest text, inside lists, structs and maps
    too. DECIMAL, HUGEINT and DOUBLE reach Python exact."""
    statement = con.extract_statements(query)[0]
    if statement.type.name == "SELECT":  # EXPLAIN's rows are text; query() takes only a SELECT
        relation = con.sql(query)  # bound, not run: the names and types of its columns
        columns = []
        for i, (name, type_) in enumerate(zip(relation.columns, relation.types, strict=True), start=1):
            if format_ != "table":
                expr = _rewrite(f"#{i}", type_, _exact_leaf)
            elif type_.id not in _PYTHON_EXACT:  # DuckDB's text, with a nested BLOB in hex
                expr = f"CAST({_rewrite(f'#{i}', type_, _table_leaf) or f'#{i}'} AS VARCHAR)"
            else:
                expr = None
            columns.append((expr, name))
        if any(expr for expr, _ in columns):
            select = ", ".join(f"{expr or f'#{i}'} AS {_identifier(name)}"
                               for i, (expr, name) in enumerate(columns, start=1))
            return con.execute(f"SELECT {select} FROM query({_literal(query)})")
    return con.execute(query)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rewrite(expr: str, type_, leaf, depth: int = 0) -> str | None:
    """SQL for ``expr`` (of DuckDB type ``type_``) with ``leaf`` applied to each scalar inside it, or None when
    ``leaf`` changes none. A NULL list, struct or map stays NULL."""
    kind, x = type_.id, f"x{depth}"  # a lambda's variable, one name per level of nesting
    if kind in ("list", "array"):  # an ARRAY comes back a LIST, as Python gets a LIST: a JSON array either way
        inner = _rewrite(x, dict(type_.children)["child"], leaf, depth + 1)
        return None if inner is None else f"list_transform({expr}, lambda {x}: {inner})"
    if kind in ("struct", "tuple"):
        fields = type_.children
        named = kind == "struct" and all(name for name, _ in fields)  # row(1, 2)'s: by position
        taken = [f"struct_extract({expr}, {_literal(name) if named else n})" for n, (name, _) in enumerate(fields, 1)]
        inner = [_rewrite(t, ft, leaf, depth + 1) for t, (_, ft) in zip(taken, fields, strict=True)]
        if all(i is None for i in inner):
            return None
        values = [i or t for i, t in zip(inner, taken, strict=True)]
        pairs = zip((name for name, _ in fields), values, strict=True)
        built = (f"struct_pack({', '.join(f'{_identifier(name)} := {v}' for name, v in pairs)})" if named
                 else f"row({', '.join(values)})")
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {built} END"
    if kind == "map":
        types = dict(type_.children)
        key = _rewrite(f"{x}.key", types["key"], leaf, depth + 1)
        value = _rewrite(f"{x}.value", types["value"], leaf, depth + 1)
        if key is None and value is None:
            return None
        return (f"map_from_entries(list_transform(map_entries({expr}), lambda {x}: "
                f"struct_pack(key := {key or f'{x}.key'}, value := {value or f'{x}.value'})))")
    if kind == "union":  # its members' text, as DuckDB writes the value
        needs = any(_rewrite("u", t, leaf) is not None for name, t in type_.children if name)
        return f"CAST({expr} AS VARCHAR)" if needs else None
    return leaf(expr, type_)


def _table_leaf(expr: str, type_) -> str | None:
    # a BLOB inside a list or struct in hex, as a table shows a BLOB column (DuckDB writes \x00\xFF)
    return f"lower(hex({expr}))" if type_.id == "blob" else None


def _exact_leaf(expr: str, type_) -> str | None:
    kind = type_.id
    if kind in _PYTHON_EXACT:
        return None
    if kind in _TIMESTAMPS:  # the first space only: 'infinity' has none, a BC date's ' (BC)' stays
        text = f"regexp_replace(CAST({expr} AS VARCHAR), ' ', 'T')"
        return _full_offset(text) if kind == "timestamp with time zone" else text
    if kind == "time with time zone":
        return _full_offset(f"CAST({expr} AS VARCHAR)")
    if kind == "interval":
        return _iso_interval(expr)
    if kind == "float":  # its shortest text read as a DOUBLE: 1.1, not the float's exact 1.100000023841858
        return f"CAST(CAST({expr} AS VARCHAR) AS DOUBLE)"
    return f"CAST({expr} AS VARCHAR)"  # DATE, TIME, TIMETZ, TIME_NS and types Python does not know: DuckDB's text


def _full_offset(text: str) -> str:
    """DuckDB writes a UTC offset of whole hours as ``+00``; RFC 3339 (and JavaScript's Date) take ``+00:00`` only:
    ``2026-12-07T04:46:30.306+00`` was an Invalid Date to a monitor reading `jlac sql -f json` (found by a QA pass)."""
    return f"regexp_replace({text}, '([+-][0-9]{{2}})$', '\\1:00')"


def _iso_interval(expr: str) -> str:
    """SQL writing an INTERVAL as ISO 8601, which other tools parse (DuckDB's ``-01:30:00`` they do not): months, days
    and microseconds apart, as DuckDB keeps them (a month is no fixed number of days). All negative: a leading minus
    (``-PT1H30M``); mixed signs: each part its own (``P1M-1D``)."""
    parts = (f"[datepart('year', {expr}) * 12 + datepart('month', {expr}), datepart('day', {expr}), "
             f"datepart('hour', {expr}) * 3600000000 + datepart('minute', {expr}) * 60000000 "
             f"+ datepart('microseconds', {expr})]")
    return (f"list_transform([{parts}], lambda p: CASE WHEN p[1] IS NULL THEN NULL "
            "WHEN p[1] = 0 AND p[2] = 0 AND p[3] = 0 THEN 'PT0S' "
            f"WHEN p[1] <= 0 AND p[2] <= 0 AND p[3] <= 0 THEN '-' || {_iso_parts('-p[1]', '-p[2]', '-p[3]')} "
            f"ELSE {_iso_parts('p[1]', 'p[2]', 'p[3]')} END)[1]")


def _iso_parts(months: str, days: str, micros: str) -> str:
    # integer // and % truncate toward zero: each part keeps the sign of what it is taken from
    m, d, us = f"({months})", f"({days})", f"({micros})"
    s = f"({us} % 60000000)"
    seconds = (f"concat(CASE WHEN {s} < 0 THEN '-' END, abs({s}) // 1000000, CASE WHEN abs({s}) % 1000000 <> 0 "
               f"THEN '.' || rtrim(lpad(CAST(abs({s}) % 1000000 AS VARCHAR), 6, '0'), '0') END)")
    return ("concat('P', "  # concat skips a NULL: a CASE without ELSE adds nothing
            f"CASE WHEN {m} // 12 <> 0 THEN concat({m} // 12, 'Y') END, "
            f"CASE WHEN {m} % 12 <> 0 THEN concat({m} % 12, 'M') END, "
            f"CASE WHEN {d} <> 0 THEN concat({d}, 'D') END, "
            f"CASE WHEN {us} <> 0 THEN 'T' END, "
            f"CASE WHEN {us} // 3600000000 <> 0 THEN concat({us} // 3600000000, 'H') END, "
            f"CASE WHEN {us} % 3600000000 // 60000000 <> 0 THEN concat({us} % 3600000000 // 60000000, 'M') END, "
            f"CASE WHEN {s} <> 0 THEN concat({seconds}, 'S') END)")


def json_text(value) -> str:
    """A value as JSON text: a DECIMAL's exact digits as a number (json.dumps took it through float: 20 digits became
    1.2345678901234567e+19), NaN and infinities as null (JSON has no number for them), a BLOB's bytes in hex, a MAP's
    keys as text, a UUID as its text. Separators as json.dumps writes them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, decimal.Decimal):
        return _decimal_text(value) if value.is_finite() else "null"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json_key(k)}: {json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        value = value.hex()
    return json.dumps(str(value), ensure_ascii=False)


def _json_key(key) -> str:
    # a MAP's key may be a BLOB or a number, which a JSON object cannot take as it is
    if isinstance(key, str):
        return json.dumps(key, ensure_ascii=False)
    text = json_text(key)
    return text if text.startswith('"') else json.dumps(text, ensure_ascii=False)


class _WriteAll(io.RawIOBase):
    """A file descriptor written whole or not at all: each write loops until every byte is written, so that a short
    write (a disk filling up, a file size limit) is followed by the write that fails and says why."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, b) -> int:
        view = memoryview(b).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self._fd, view[done:])
        return len(view)


@contextlib.contextmanager
def whole_stdout():
    """Standard output for data (`jlac sql -f csv`): Python's own stream dropped the rest of a buffer after a short
    write (a file size limit reached in `> file`: 1,095 of 3,001 bytes written, no error, exit 0; seen on CPython
    3.11), so the result was cut silently. Where stdout is no file descriptor (a test's runner), it is used as is."""
    if sys.stdout is None:  # started with stdout closed (`>&-`): was an AttributeError traceback
        raise OSError(errno.EBADF, "standard output is closed", "standard output")
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        yield sys.stdout
        return
    sys.stdout.flush()
    stream = io.TextIOWrapper(io.BufferedWriter(_WriteAll(fd), 1 << 16), encoding=sys.stdout.encoding or "utf-8",
                              errors=sys.stdout.errors or "strict", newline="\n")
    try:
        yield stream
        stream.flush()
    finally:
        stream.detach()  # fd 1 stays open, and nothing left unwritten is written twice at exit


def write_csv(columns: Sequence[str], batches: Iterable[Sequence[tuple]], out=None) -> int:
    """Write a header and the rows as CSV, as DuckDB's COPY writes it: NULL as an empty field, an empty string as
    ``""``, a field quoted when it holds a comma, a quote or a line break; a list, struct or map as JSON. Return the
    number of rows."""
    # Python's csv module wrote NULL and '' alike, so read_csv turned '' into NULL (found by a QA pass); it also
    # writes a row of one NULL as "": like DuckDB, jlac writes that row as an empty line
    out = out or sys.stdout
    out.write(",".join(_csv_field(c) for c in columns) + "\n")
    n = 0
    for rows in batches:
        out.write("".join(",".join(_csv_field(v) for v in row) + "\n" for row in rows))
        n += len(rows)
    return n


def _csv_field(value) -> str:
    if value is None:
        return ""
    text = str(_csv_value(value))
    if text == "" or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return _decimal_text(value)
    if isinstance(value, bytes):  # as in JSON; the csv module wrote Python's repr, b'\x00' (found by a QA pass)
        return value.hex()
    if isinstance(value, list | tuple | dict):  # a fixed-size ARRAY (a tuple) as a LIST is: it was written (1, 2)
        return json_text(value)
    return value


def write_json(columns: Sequence[str], batches: Iterable[Sequence[tuple]], out=None) -> int:
    """Write the rows as a JSON array of objects (column -> value, NULL as null), one object per line, streamed;
    return the number of rows."""
    out = out or sys.stdout
    names = [json.dumps(c, ensure_ascii=False) for c in columns]
    out.write("[")
    n = 0
    for rows in batches:
        for row in rows:
            record = ", ".join(f"{name}: {json_text(v)}" for name, v in zip(names, row, strict=True))
            out.write(("\n" if n == 0 else ",\n") + "{" + record + "}")
            n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def batches(cursor, size: int = BATCH_ROWS):
    """A DuckDB cursor's rows, ``size`` at a time (a result larger than memory is never held whole)."""
    while rows := cursor.fetchmany(size):
        yield rows
