"""jlac.xlsx_cells: the cells a reader takes for blank although they are not (formulas without a computed value, error
cells), and what a file that is no workbook is."""

from __future__ import annotations

import zipfile

import openpyxl
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
