"""Cells of an .xlsx workbook that a reader (calamine, pandas) returns as blank although they are not: a formula
saved without its computed value (as openpyxl and other scripts save them) and an Excel error (#N/A, #VALUE!).

A blank cell means "not reported" to a parser, so such a cell dropped a value without a word: Honduras' 2018 exports
written as a formula left Figure 1 US$94m lower (found by a QA pass). The worksheet XML says which cells they are; it
is read as text, without building the workbook again (the cell elements are small and the regex runs in C).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_ERROR = re.compile(rb'\bt="e"')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_TEXT = re.compile(rb'\bt="(?:str|s|inlineStr)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_OPENING = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*)>")  # a row's or a cell's start tag
_ROW_NUMBER = re.compile(rb'\br="([0-9]+)"')


def column_letters(number: int) -> str:
    """Excel's name of a column from its number (1-based): 1 -> 'A', 27 -> 'AA'. Messages name cells as Excel shows
    them (F12), never by numbers."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_name(row: int, column: int) -> str:
    """A cell as Excel names it from its row and column numbers (both 1-based): (12, 6) -> 'F12'."""
    return f"{column_letters(column)}{row}"


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def _place_at(data: bytes, offset: int) -> str:
    """The name of the cell whose tag starts at ``offset`` when the tag has no r="F12" (the file format makes it
    optional: a cell is then the next one after its row's previous cell, a row the next after the previous row)."""
    row = column = 0
    for m in _OPENING.finditer(data):
        if m.start() > offset:
            break
        if m.group(1) == b"row":
            number = _ROW_NUMBER.search(m.group(2))
            row, column = (int(number.group(1)) if number else row + 1), 0
        else:
            ref = _REF.search(m.group(2))
            column = _column_number(ref.group(1).rstrip(b"0123456789")) if ref else column + 1
    return cell_name(row, column)


def sheet_paths(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its worksheet XML inside the zip (an .xlsx opened as a ZipFile)."""
    book = ElementTree.fromstring(z.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", _NS)}
    out = {}
    for sheet in book.findall("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"))
        if target:
            # a target is relative to xl/ (or absolute from the package root, '/xl/worksheets/...')
            out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    return out


def unread_cells(path: Path | IO[bytes], sheets: list[str] | None = None, limit: int = 5) -> dict[str, list[str]]:
    """Per sheet (all, or those named), the first ``limit`` cells that would read as blank but are not: 'E12
    (formula without a computed value)', 'F9 (#N/A)'. Empty when there are none, or when the file is not an .xlsx
    zip (the reader's own error then says what it is). ``path`` may be an open binary file (an .xlsx in a zip)."""
    found: dict[str, list[str]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            paths = sheet_paths(z)
            for name, member in paths.items():
                if sheets is not None and name not in sheets:
                    continue
                data = z.read(member)
                if not (_FORMULA.search(data) or _ERROR.search(data)):  # most sheets: nothing to look at cell by cell
                    continue
                bad = []
                for m in _CELL.finditer(data):
                    attrs, body = m.group(1), m.group(2) or b""
                    value = _VALUE.search(body)
                    if _ERROR.search(attrs):
                        what = value.group(1).decode("utf-8", "replace") if value else "an error"
                    # '<v />', '<v></v>' or none: never computed ('<v></v>' of a text formula is its empty result)
                    elif _FORMULA.search(body) and (value is None or (not value.group(1).strip()
                                                                      and not _TEXT.search(attrs))):
                        what = "formula without a computed value"
                    else:
                        continue
                    ref = _REF.search(attrs)
                    bad.append(f"{ref.group(1).decode() if ref else _place_at(data, m.start())} ({what})")
                    if len(bad) >= limit:
                        break
                if bad:
                    found[name] = bad
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError):
        return {}
    return found


def unread_message(unread: dict[str, list[str]]) -> str:
    """The sentence a parse error gives for ``unread_cells``' findings."""
    where = "; ".join(f"sheet '{sheet}', " + ", ".join(f"cell {c}" for c in cells) for sheet, cells in unread.items())
    return (f"cells that a reader takes for blank but are not: {where}. A formula needs its computed value saved "
            "with it (open and save the workbook in Excel or LibreOffice) and an error cell a number or nothing; "
            "read as blank, each would drop a value without a word")


def not_a_workbook(path: Path) -> str | None:
    """What a file that is no readable .xlsx is, when its bytes say: empty, an HTML/XML page, or a zip cut short (its
    directory, at the end, missing). An empty, an HTML and a truncated workbook all read "invalid Zip archive"
    (found by a QA pass). None when nothing here tells."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(512)
            size = fh.seek(0, 2)
    except OSError:
        return None
    if not head.strip():
        return f"an empty file ({size:,} bytes)"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in start[:200]:
        return f"an HTML/XML page, not a workbook: {head[:80]!r}"
    if head.startswith(b"PK") and not zipfile.is_zipfile(path):
        return f"a zip cut short ({size:,} bytes, its directory at the end missing): downloaded in part?"
    return None
