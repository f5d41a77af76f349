"""Reading publishers' text files so that every way they can be broken ends in a ParseError naming the file.

DuckDB's CSV reader sniffs and reads lazily: a file that is empty, an HTML error page, in another encoding,
or has a ragged or cut-off line fails deep inside a query with a message about sniffer options. ``read_csv``
checks the bytes first, then reads and materialises the rows at once, so the error is raised here, names the
file and, where DuckDB gives it, the line.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from pathlib import Path

import duckdb

from jlac.errors import ParseError

_LINE = re.compile(r"\b[Ll]ine:? (\d+)")
_names = itertools.count()


def is_whole_number(expr: str) -> str:
    """SQL that is true when the text ``expr`` is a whole number as publishers write one (an optional minus and
    up to 18 digits, blanks around), false otherwise (NULL included). DuckDB's TRY_CAST to an integer type, and its CSV
    reader for an integer column, also take '1858141.277' (rounded to 1858141), '1.5e10', '0x1F' and '1_000'.
    The blanks are those a cast takes (ASCII space, tab, line ends): trim() also strips a no-break space, which the
    cast then refused with no line named (found by a QA pass)."""
    # at most 18 digits: the BIGINT a parser casts to holds 19, and '99999999999999999999' failed its cast naming no
    # line (found by a QA pass); no publisher's count or thousand-yen value comes near
    return f"coalesce(regexp_full_match(trim({expr}, {_CAST_BLANKS}), '-?[0-9]{{1,18}}'), false)"


_CAST_BLANKS = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"


def header_only(where: str, unit: str, layout: str, header: str = "the header") -> ParseError:
    """The error for a file (or sheet) with its header and nothing under it: ``where`` names the file (and sheet),
    ``unit`` what a row is (``rows``, ``project line``), ``layout`` what the publisher's file holds instead.

    A file cut after its header parses to 0 rows, which every later check of a source may pass (Costa Rica's
    cooperation left Figure 3 without a word) or refuse naming no file; each parser raises this at once instead."""
    return ParseError(f"{where}: no {unit} under {header} (a file cut short or emptied; {layout})")


def check_head(path: Path, label: str, encoding: str = "utf-8") -> None:
    """Refuse an empty file, an HTML/XML page or a start that is not ``encoding``, reading only the file's first
    64 KB (for files too large to decode in Python: the rest is checked by DuckDB's reader as it reads, see
    ``explain_read_error``)."""
    with Path(path).open("rb") as fh:
        head = fh.read(65536)
    whole = len(head) < 65536
    _refuse_empty_or_html(head, label, whole)
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=whole)  # a character cut at 64 KB is fine
    except UnicodeDecodeError:
        check_text(path, label, encoding)  # names the line and the byte


def _refuse_empty_or_html(raw: bytes, label: str, whole: bool) -> None:
    if whole and not raw.strip():
        raise ParseError(f"{label}: empty file where a CSV was expected")
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head[:200]:
        raise ParseError(f"{label}: an HTML/XML page where a CSV was expected: {raw[:100]!r}")


def explain_read_error(path: Path, label: str, error: Exception, encoding: str = "utf-8") -> None:
    """After DuckDB's reader failed on a file whose head passed ``check_head``: when DuckDB says the text is not
    valid unicode, raise ``check_text``'s error, which names the line and the byte; when the file mixes line endings
    (DuckDB said "the CSV Parser state machine reached an invalid state"), name the first line that ends otherwise."""
    if "unicode" in str(error).lower():
        check_text(path, label, encoding)
    if mixed := _mixed_line_end(Path(path), '"'):
        raise ParseError(f"{label}: {mixed}")


def reader_error(error: Exception) -> str:
    """DuckDB's CSV error in one line: its first paragraph (the line, the original line, what failed), without its
    "Possible fixes" and the dump of its reader settings (twenty lines that named no more than the first three)."""
    lines = []
    for line in (raw.strip() for raw in str(error).strip().splitlines()):
        if not line or line.startswith(("Possible", "*")):
            break
        lines.append(line if len(line) <= 200 else line[:200] + "...")
    return "; ".join(lines) or type(error).__name__


def check_text(path: Path, label: str, encoding: str = "utf-8") -> None:
    """Refuse an empty file, an HTML page, or text that is not ``encoding``; name the file and the byte."""
    raw = Path(path).read_bytes()
    _refuse_empty_or_html(raw, label, whole=True)
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(
            f"{label}: line {line} is not {encoding} text (byte {raw[exc.start:exc.start + 1]!r} at offset "
            f"{exc.start}); another encoding, or not a CSV?"
        ) from None


def read_csv(con: duckdb.DuckDBPyConnection, path: Path | list, label: str, *, encoding: str = "utf-8",
             files: list[str] | None = None, **options) -> duckdb.DuckDBPyRelation:
    """``con.read_csv`` with every row read at once; any reading error is a ParseError naming file and line.

    ``path`` may be a list of files, read one by one into one table: ``label`` names the snapshot and ``files`` the
    files in it (default: their names). The delimiter is ',' unless given: a ragged line must not make DuckDB sniff
    another.
    """
    paths = path if isinstance(path, list) else [path]
    names = files or [Path(p).name for p in paths]

    def where(i: int) -> str:
        return label if names[i] in label else f"{label}/{names[i]}"

    options.setdefault("delimiter", ",")
    for i, p in enumerate(paths):
        check_text(p, where(i), encoding)
    table = f"_csv_{next(_names)}"
    i = 0
    try:
        # One read per file. Over a list, DuckDB sniffs the dialect of the first file only, line ending included,
        # and a later file with other line endings gave no rows at all, without an error (a CRLF year among LF
        # ones went missing from mof-hs9-imports: found by a QA pass).
        for i, p in enumerate(paths):
            con.read_csv(str(p), **options).create_view(f"{table}_src", replace=True)
            con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {table}_src" if i == 0
                        else f"INSERT INTO {table} SELECT * FROM {table}_src")
    except duckdb.Error as exc:
        text = str(exc)
        m = _LINE.search(text)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        # DuckDB's sniffer seldom names the line: find a ragged one ourselves
        ragged = _ragged_line(Path(paths[i]), options["delimiter"], encoding)
        if ragged:
            raise ParseError(f"{where(i)}: {ragged}") from None
        # DuckDB's sniffer refused such a file with "Error when sniffing file", which said nothing of line endings
        mixed = _mixed_line_end(Path(paths[i]), options.get("quotechar", '"'))
        if mixed:
            raise ParseError(f"{where(i)}: {mixed}") from None
        raise ParseError(
            f"{where(i)}: {'line ' + m.group(1) + ': ' if m else ''}not a CSV in the expected layout ({first[:300]})"
        ) from None
    return con.table(table)


def _mixed_line_end(path: Path, quotechar: str) -> str | None:
    """'line N ends in LF, the lines above it in CRLF' for the first line whose ending differs from the first line's
    (a line break inside a quoted cell is no line ending: Japan Customs' zone labels hold LF in a CRLF file); None
    when every line ends alike. Read as bytes, line by line: only a failed read comes here."""
    quote, inside, first = quotechar.encode(), False, None
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            inside ^= line.count(quote) % 2 == 1  # a doubled quote inside a quoted cell counts twice
            if inside or not line.endswith(b"\n"):
                continue
            end = "CRLF (Windows)" if line.endswith(b"\r\n") else "LF (Unix)"
            if first is None:
                first = end
            elif end != first:
                return (f"line {n} ends in {end}, the lines above it in {first}: a file mixing line endings (lines "
                        "added or edited with another program?), which jlac's CSV reader cannot read; save the file "
                        "with one kind of line ending throughout")
    return None


def _ragged_line(path: Path, delimiter: str, encoding: str) -> str | None:
    """'line N has X fields, the other lines Y' for the first data line whose width differs from the usual.

    The usual width is the most common one (some publishers' headers carry an extra cell: OECD DAC2a 2004-2009).
    """
    widths: dict[int, int] = {}
    lines: list[tuple[int, list[str]]] = []
    with open(path, encoding=encoding + ("-sig" if encoding == "utf-8" else ""), newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        start = 2
        for record in reader:
            if record:
                widths[len(record)] = widths.get(len(record), 0) + 1
                lines.append((start, record))
            start = reader.line_num + 1
    if len(widths) < 2:
        return None
    usual = max(widths, key=lambda w: widths[w])
    line, record = next((n, r) for n, r in lines if len(r) != usual)
    return (f"line {line} has {len(record)} fields, the other lines {usual}: {record[:4]}... "
            "(a cell missing or added: shifted row, or a truncated file?)")
