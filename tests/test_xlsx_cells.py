"""jlac.xlsx_cells: the cells a reader takes for blank although they are not (formulas without a computed value, error
cells), and what a file that is no workbook is."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest
from conftest import JAPAN_WORKBOOK
from jlac.errors import ParseError
from jlac.xlsx_cells import not_a_workbook, unread_cells


def _rewrite(path, old: bytes, new: bytes):
    """The workbook with ``old`` replaced by ``new`` in its first sheet's XML."""
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items["xl/worksheets/sheet1.xml"] = items["xl/worksheets/sheet1.xml"].replace(old, new)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in items.items():
            z.writestr(name, data)


def test_formulas_without_values_and_error_cells_are_named_by_sheet_and_cell(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Exports, FOB"
    ws["A1"], ws["B2"], ws["C3"], ws["D4"] = "Japan", "=94.226825", "#N/A", 12.5  # openpyxl: '<v />', t="e"
    wb.create_sheet("Notes")["A1"] = "=1+1"
    wb.save(path)
    assert unread_cells(path) == {"Exports, FOB": ["B2 (formula without a computed value)", "C3 (#N/A)"],
                                  "Notes": ["A1 (formula without a computed value)"]}
    assert unread_cells(path, ["Exports, FOB"], limit=1) == {"Exports, FOB": ["B2 (formula without a computed value)"]}
    # '<v></v>': not computed either (a re-check pass); a text formula's empty result, and a computed value, are fine
    _rewrite(path, b'<c r="B2"><f>94.226825</f><v /></c>', b'<c r="B2"><f>94.226825</f><v></v></c>')
    assert unread_cells(path, ["Exports, FOB"])["Exports, FOB"][0] == "B2 (formula without a computed value)"
    _rewrite(path, b'<c r="B2"><f>94.226825</f><v></v></c>', b'<c r="B2" t="str"><f>""</f><v></v></c>')
    assert unread_cells(path, ["Exports, FOB"]) == {"Exports, FOB": ["C3 (#N/A)"]}
    _rewrite(path, b'<c r="B2" t="str"><f>""</f><v></v></c>', b'<c r="B2"><f>94.226825</f><v>94.226825</v></c>')
    assert unread_cells(path, ["Exports, FOB"]) == {"Exports, FOB": ["C3 (#N/A)"]}


def test_what_a_file_that_is_no_workbook_is(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"")
    assert not_a_workbook(path) == "an empty file (0 bytes)" and unread_cells(path) == {}
    path.write_bytes(b"\n<!DOCTYPE html><html>busy</html>")
    assert not_a_workbook(path).startswith("an HTML/XML page, not a workbook: ")
    wb = openpyxl.Workbook()
    wb.save(path)
    assert not_a_workbook(path) is None
    path.write_bytes(path.read_bytes()[:3000])
    assert not_a_workbook(path) == ("a zip cut short (3,000 bytes, its directory at the end missing): downloaded in "
                                    "part?")


def test_messages_name_cells_by_excel_letters_even_without_their_reference(tmp_path):
    """A message names a spreadsheet place as Excel shows it: "sheet 'Exports, FOB', cell F12". The r="F12" of a cell
    is optional in the file format (a cell is then the next after its row's previous one); such a cell was named '?'
    (a QA pass). Real workbook: IMF DOTS_101.xlsx (Japan), whose F12 holds 4.5 and AB12 477.2."""
    from jlac.sources.imf_dots.source import parse_workbook
    from jlac.xlsx_cells import cell_name, column_letters, unread_message

    assert [column_letters(n) for n in (1, 6, 26, 27, 28, 63, 702, 703)] == ["A", "F", "Z", "AA", "AB", "BK", "ZZ",
                                                                              "AAA"]
    assert cell_name(12, 6) == "F12"
    path = tmp_path / "DOTS_101.xlsx"
    path.write_bytes(JAPAN_WORKBOOK.read_bytes())
    _rewrite(path, b'<c r="F12" s="16"><v>4.5</v></c>', b'<c r="F12" s="16"><f>4.5</f></c>')
    _rewrite(path, b'<c r="AB12" s="16"><v>477.19999999999999</v></c>', b'<c r="AB12" s="16" t="e"><v>#N/A</v></c>')
    expected = ("cells that a reader takes for blank but are not: sheet 'Exports, FOB', cell F12 (formula without a "
                "computed value), cell AB12 (#N/A). A formula needs")
    assert unread_message(unread_cells(path)).startswith(expected)
    with pytest.raises(ParseError, match=re.escape(f"imf-dots DOTS_101.xlsx: {expected}")):
        parse_workbook(path, "DOTS_101.xlsx")
    # without any cell's reference: the same names, from the cells' places in their rows
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    _rewrite(path, sheet, re.sub(rb' r="[A-Z]+[0-9]+"', b"", sheet))
    assert unread_message(unread_cells(path)).startswith(expected)
