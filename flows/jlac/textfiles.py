"""Reading publishers' text files so that every way they can be broken ends in a ParseError naming the file.

DuckDB's CSV reader sniffs and reads lazily: a file that is empty, an HTML error page, in another encoding,
or has a ragged or cut-off line fails deep inside a query with a message about sniffer options. ``read_csv``
checks the bytes first, then reads and materialises the rows at once, so the error is raised here, names the
file and, where DuckDB gives it, the line.
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import duckdb

from jlac.errors import ParseError

_LINE = re.compile(r"\b[Ll]ine:? (\d+)")
_names = itertools.count()


def check_text(path: Path, label: str, encoding: str = "utf-8") -> None:
    """Refuse an empty file, an HTML page, or text that is not ``encoding``; name the file and the byte."""
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise ParseError(f"{label}: empty file where a CSV was expected")
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head[:200]:
        raise ParseError(f"{label}: an HTML/XML page where a CSV was expected: {raw[:100]!r}")
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(
            f"{label}: line {line} is not {encoding} text (byte {raw[exc.start:exc.start + 1]!r} at offset "
            f"{exc.start}); another encoding, or not a CSV?"
        ) from None


def read_csv(con: duckdb.DuckDBPyConnection, path: Path | list, label: str, *, encoding: str = "utf-8",
             **options) -> duckdb.DuckDBPyRelation:
    """``con.read_csv`` with every row read at once; any reading error is a ParseError naming file and line.

    ``path`` may be a list of files (one read); ``label`` then names the snapshot and DuckDB's message the file.
    """
    paths = path if isinstance(path, list) else [path]
    for p in paths:
        check_text(p, label if len(paths) == 1 else f"{label}/{Path(p).name}", encoding)
    table = f"_csv_{next(_names)}"
    try:
        rel = con.read_csv([str(p) for p in paths] if isinstance(path, list) else str(path), **options)
        rel.create_view(f"{table}_src", replace=True)
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {table}_src")
    except duckdb.Error as exc:
        text = str(exc)
        m = _LINE.search(text)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        for p in paths:  # DuckDB's sniffer seldom names the line: find a ragged one ourselves
            ragged = _ragged_line(Path(p), options.get("delimiter") or options.get("sep") or ",", encoding)
            if ragged:
                where = label if len(paths) == 1 else f"{label}/{Path(p).name}"
                raise ParseError(f"{where}: {ragged}") from None
        named = [Path(p).name for p in paths if str(p) in text or Path(p).name in text]
        where = f"{label}/{named[0]}" if len(paths) > 1 and named else label
        raise ParseError(
            f"{where}: {'line ' + m.group(1) + ': ' if m else ''}not a CSV in the expected layout ({first[:300]})"
        ) from None
    return con.table(table)


def _ragged_line(path: Path, delimiter: str, encoding: str) -> str | None:
    """'line N has X fields, the header has Y' for the first record whose width differs from the header's."""
    with open(path, encoding=encoding + ("-sig" if encoding == "utf-8" else ""), newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, [])
        start = 2
        for record in reader:
            if record and len(record) != len(header):
                return (f"line {start} has {len(record)} fields, the header has {len(header)}: "
                        f"{record[:4]}... (a cell missing or added: shifted row?)")
            start = reader.line_num + 1
    return None
