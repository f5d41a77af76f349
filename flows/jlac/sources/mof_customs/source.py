"""Japan MOF customs flat CSVs (Trade Statistics of Japan, ``customs.go.jp/toukei/suii/html/data``).

``d41ma.csv``: world monthly totals, columns ``Years/Months,Exp-Total,Imp-Total``; region files
``d42maNNN.csv`` add ``Exp-<code>,Imp-<code>`` pairs per partner. Shift-JIS (cp932) text, or a copy saved
as UTF-8 (with or without a BOM); values in thousand yen; future months of the current year are padded with
zeros or with blank cells (both dropped here: not published yet). The layout
is taken from MOF's documentation and scripts that read these files; no live copy was available
when this parser was written, so the reader checks it strictly and names what differs.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source

_MONTH = re.compile(r"^\s*(\d{4})\s*/\s*(\d{1,2})\s*$")
_COLUMN = re.compile(r"^(Exp|Imp)-(\w+)$")
_NUMBER = re.compile(r"^-?(\d+|\d{1,3}(,\d{3})+)$")  # a thousands separator only between groups of three
# The unit a title line gives, in Japanese or English: the values are read as thousand yen, so any other unit (a title
# saying 百万円 over million-yen figures) would publish them 1000 times too small (found by a QA pass).
_YEN = "(千円|百万円|十億円|億円|兆円|円)"
_UNIT = re.compile(rf"[（(]\s*(?:単位\s*[:：]?\s*)?{_YEN}\s*[）)]|単位\s*[:：]?\s*{_YEN}"  # '（単位：百万円）' too
                   r"|\b((?:[\d,.]+\s+)?(?:thousands?|millions?|billions?)\s+(?:of\s+)?yen)\b", re.IGNORECASE)
_THOUSAND_YEN = {"千円", "thousand yen", "thousands of yen", "thousand of yen", "thousands yen"}
FIELDS = ("row_number", "month", "column_name", "flow", "partner_code", "value_jpy_thousand")
# MOF serves cp932; a copy saved as UTF-8 reads the same. UTF-8 is tried first: its byte rules are strict, so cp932
# Japanese seldom passes for UTF-8, while UTF-8 Japanese often decodes as cp932 (into other characters), and a title
# '（百万円）' so misread would pass the unit check unseen. When both decode, both readings of the title are checked.
ENCODINGS = ("utf-8-sig", "cp932")


def read_mof_csv(path: Path, label: str) -> list[tuple]:
    """Rows of one MOF CSV in the order of ``FIELDS``; ParseError naming ``label`` when the layout differs."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ParseError(f"{label}: empty body where a MOF customs CSV was expected")
    # looked for in the bytes, before decoding: customs.go.jp's pages are UTF-8, which does not decode as cp932, and
    # an error page served with 200 was reported as 'not Shift-JIS text'
    head = raw[:500].lower()
    if b"<html" in head or b"<!doctype" in head:
        snippet = raw[:120].decode("utf-8", errors="replace")
        raise ParseError(f"{label}: an HTML page where a MOF customs CSV was expected: {snippet!r}")
    texts = []
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            error = exc
            continue
        if text not in texts:  # plain ASCII reads the same either way: one reading
            texts.append(text)
    if not texts:
        raise ParseError(f"{label}: neither Shift-JIS (cp932) nor UTF-8 text ({error}); truncated or another format?")
    lines = _records(texts[0], label)
    header_at = next((i for i, r in enumerate(lines[:15]) if any(_COLUMN.match(c.strip()) for c in r)), None)
    if header_at is None:
        raise ParseError(f"{label}: no header with Exp-/Imp- columns in the first 15 lines; layout changed?")
    _check_unit(lines[:header_at], label)
    # Bytes that read as both: commas, quotes and line ends are the same bytes in either encoding, so the other reading
    # has the same records. Its title is checked too; from the header on (ASCII in MOF's files) it must read the same.
    for text in texts[1:]:
        other = _records(text, label)
        _check_unit(other[:header_at], label)
        if other[header_at:] != lines[header_at:]:
            n = next((n for n, (a, b) in enumerate(zip(lines, other, strict=False), 1) if n > header_at and a != b),
                     min(len(lines), len(other)))
            raise ParseError(f"{label} line {n}: reads differently as UTF-8 and as Shift-JIS (cp932) "
                             f"({', '.join(lines[n - 1])!r} or {', '.join(other[n - 1])!r}); expected ASCII there")
    header = [c.strip() for c in lines[header_at]]
    columns = {j: _COLUMN.match(c) for j, c in enumerate(header) if _COLUMN.match(c)}
    # Every column after the first is Exp-<code> or Imp-<code>, and each code has both: anything else
    # (a renamed or annotated header cell, a lone flow) would drop or mislabel values.
    odd = [(j, c) for j, c in enumerate(header) if j and j not in columns]
    if odd:
        j, c = odd[0]
        raise ParseError(f"{label} line {header_at + 1} column {j + 1}: header cell {c!r} is not Exp-<code> or "
                         "Imp-<code>; layout changed?")
    flows: dict[str, set[str]] = {}
    for m in columns.values():
        flows.setdefault(m.group(2), set()).add(m.group(1))
    lone = sorted(code for code, f in flows.items() if f != {"Exp", "Imp"})
    if lone:
        raise ParseError(f"{label} line {header_at + 1}: column(s) for {lone} have only one of Exp-/Imp-; "
                         f"header {header}")
    rows = []
    unpublished = []  # (line, month) of the months whose every value cell is blank
    for i, line in enumerate(lines[header_at + 1 :], header_at + 2):
        if not line or not "".join(line).strip():
            continue
        m = _MONTH.match(line[0])
        if not m:
            raise ParseError(
                f"{label} line {i}: expected a month like 2024/01 in the first column, found {line[0]!r}"
            )
        if not 1 <= int(m.group(2)) <= 12:
            raise ParseError(f"{label} line {i}: expected a month like 2024/01 in the first column, found {line[0]!r} "
                             "(no such month)")
        month = date(int(m.group(1)), int(m.group(2)), 1)
        if len(line) < len(header):
            raise ParseError(
                f"{label} line {i}: {len(line)} fields, the header has {len(header)}; truncated?"
            )
        if not any(line[j].strip() for j in columns):  # a month not published yet, padded with blanks
            unpublished.append((i, month))
            continue
        for j, cm in columns.items():
            cell = line[j].strip()
            if not cell:
                raise ParseError(f"{label} line {i} column {header[j]}: blank, while other columns of {line[0]!r} "
                                 "have values; expected thousand yen (a blank month is one not yet published)")
            # isascii: str.isdigit takes full-width digits; a comma only between groups of three ('100001,5', a
            # decimal comma, read as 1000015 when every comma was removed: a QA pass)
            if not (cell.isascii() and _NUMBER.match(cell)):
                raise ParseError(
                    f"{label} line {i} column {header[j]}: expected thousand yen (whole digits, commas between "
                    f"groups of three), found {line[j]!r}"
                )
            cell = cell.replace(",", "")
            flow = "export" if cm.group(1) == "Exp" else "import"
            rows.append((i, month, header[j], flow, cm.group(2), int(cell)))
    last = max((r[1] for r in rows if r[5] != 0), default=None)
    if last is None:
        raise ParseError(f"{label}: no month with a non-zero value (empty result)")
    # blanks pad only the months after the latest published one: a blank month before it is a hole in the series
    gap = next(((i, month) for i, month in unpublished if month < last), None)
    if gap:
        raise ParseError(f"{label} line {gap[0]}: {gap[1]:%Y/%m} has only blank cells, but later months have values; "
                         "expected a value in each column (blanks pad only the months not yet published)")
    return [r for r in rows if r[1] <= last]  # drop the zero-padded future months


def _records(text: str, label: str) -> list[list[str]]:
    try:  # strict: a quoted field never closed (a body cut short inside a cell) is an error, not a shorter number
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ParseError(f"{label}: not well-formed CSV ({exc}); cut short inside a quoted cell?") from None


def _check_unit(title: list[list[str]], label: str) -> None:
    """Refuse a title line giving the values in another unit than thousand yen."""
    for n, line in enumerate(title, 1):
        for m in _UNIT.finditer(" ".join(line)):
            unit = m.group(1) or m.group(2) or re.sub(r"\s+", " ", m.group(3))
            if unit.lower() not in _THOUSAND_YEN:
                raise ParseError(f"{label} line {n}: the title gives the values in {unit!r}; expected thousand yen "
                                 f"(千円), the unit jlac reads them in: {' '.join(line).strip()!r}")


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every CSV of the snapshot, long format: one row per file, month and column."""
    records = []
    for f in sorted(f.path for f in snapshot.files if f.path.lower().endswith(".csv")):
        records += [(f, *r) for r in read_mof_csv(snapshot.path(f), f"mof-customs {snapshot.id}/{f}")]
    return con.from_df(pd.DataFrame.from_records(records, columns=["file", *FIELDS]))


SOURCE = Source(
    name="mof-customs",
    description="Japan MOF customs monthly trade totals (world and partner areas) from the flat CSVs of "
    "customs.go.jp, in thousand yen: one row per file, month and Exp-/Imp- column.",
    columns=(
        Column("file", "VARCHAR", "CSV file in the snapshot, e.g. d41ma.csv"),
        Column("row_number", "INTEGER", "Line number in the CSV"),
        Column("month", "DATE", "First day of the month"),
        Column("column_name", "VARCHAR", "Column header as sent, e.g. Exp-Total"),
        Column("flow", "VARCHAR", "export (Exp-) or import (Imp-), as Japan reports it"),
        Column("partner_code", "VARCHAR", "Partner part of the header: Total, or MOF's area/country code"),
        Column("value_jpy_thousand", "BIGINT", "Value in thousand yen"),
    ),
    parse=parse,
    key=("file", "month", "column_name"),
    required=False,
)
