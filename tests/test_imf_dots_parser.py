"""The IMF DOTS parser against cells looked up in the real workbooks of the mirror."""

from __future__ import annotations

import duckdb
import pytest
from conftest import IMF_DOTS, JAPAN_WORKBOOK
from jlac.errors import ParseError
from jlac.sources.imf_dots.source import CELL_COLUMNS, _cell_value, parse_workbook


def _rows(cells: dict[str, list]) -> list[tuple]:
    """The workbook's cells as (sheet, excel_row, partner, flow, year, value, is_estimate) tuples."""
    return list(zip(*(cells[c] for c in CELL_COLUMNS), strict=True))


@pytest.fixture(scope="module")
def japan():
    reporter, cells, repeats = parse_workbook(JAPAN_WORKBOOK, "DOTS_101.xlsx")
    return reporter, {(r[2], r[3], r[4]): r for r in _rows(cells)}, repeats


def test_japan_exports_and_imports_brazil_2018(japan):
    reporter, rows, _ = japan
    assert reporter == "Japan"
    # DOTS_101.xlsx, sheet 'Exports, FOB', row 203 (Brazil), column 2018: 4004.035503
    exp = rows[("Brazil", "export", 2018)]
    assert exp[0] == "Exports, FOB" and exp[1] == 203
    assert exp[5] == pytest.approx(4004.035503) and exp[6] is False
    assert rows[("Brazil", "import", 2018)][5] == pytest.approx(6890.144645)
    assert rows[("Mexico", "export", 2018)][5] == pytest.approx(11610.830562)
    assert rows[("World", "export", 2020)][5] == pytest.approx(638167.043688)


def test_repeated_partner_rows_both_parsed():
    # 'Australia' stands above 'World' (row 8) and again in its region (row 32), identical. The parser keeps
    # both; the core drops the identical repeat (tests/test_mutations.py: "row repeated, same values").
    _, cells, repeats = parse_workbook(JAPAN_WORKBOOK, "DOTS_101.xlsx")
    assert repeats == ["Australia", "Australia"]
    hits = [r for r in _rows(cells) if r[2:5] == ("Australia", "export", 2018)]
    assert [r[1] for r in hits] == [8, 32]
    assert hits[0][5] == hits[1][5] == pytest.approx(17110.684248)


@pytest.mark.parametrize(("sheet", "cell", "year", "text"), [
    ("Imports, CIF", "E7", "1962", "1962 (p)"), ("Exports, FOB", "BI7", "2018", "20l8"),
    ("Exports, FOB", "BI7", "2018", "2018*"),
    # the first year's cell: before, the header row was not found at all ('expected a header row of years')
    ("Exports, FOB", "C7", "1960", "196O")])
def test_year_header_that_is_not_a_year_names_the_cell_once(tmp_path, sheet, cell, year, text):
    """A bad year header cell is named once, by sheet and Excel address, in a one-line message."""
    import openpyxl

    wb = openpyxl.load_workbook(JAPAN_WORKBOOK)
    assert wb[sheet][cell].value == year  # DOTS_101.xlsx: the row of years is row 7, from column C on
    wb[sheet][cell].value = text
    wb.save(tmp_path / "DOTS_101.xlsx")
    with pytest.raises(ParseError) as err:
        parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")
    assert str(err.value) == (f"imf-dots DOTS_101.xlsx sheet '{sheet}' header cell {cell} (the row of years, row 7): "
                              f"{text!r} is not a year (IMF writes plain years such as 2019 there)")


def test_estimate_cells_keep_their_flag():
    # DOTS_88.xlsx (Haiti), sheet 'Exports, FOB', row 40 (Japan), 2018: text cell '3.89 e'
    reporter, cells, _ = parse_workbook(IMF_DOTS / "DOTS_88.xlsx", "DOTS_88.xlsx")
    assert reporter == "Haiti"
    hit = [r for r in _rows(cells) if r[2] == "Japan" and r[3] == "export" and r[4] == 2018]
    assert len(hit) == 1 and hit[0][1] == 40
    assert hit[0][5] == pytest.approx(3.89) and hit[0][6] is True


def test_cell_values():
    assert _cell_value("1,032.13 e", "x") == (1032.13, True)
    assert _cell_value(12.5, "x") == (12.5, False)
    assert _cell_value("", "x") is None
    assert _cell_value(" 10636.91 ", "x") == (10636.91, False) and _cell_value("-3", "x") == (-3.0, False)
    assert _cell_value("1,234,567.5", "x") == (1234567.5, False) and _cell_value(".5 e", "x") == (0.5, True)
    with pytest.raises(ParseError, match=r"DOTS_9.xlsx row 7 column 3: expected a number \(commas only between "
                                         r"thousands, a point for decimals\) or an IMF estimate"):
        _cell_value("n/a", "DOTS_9.xlsx row 7 column 3")
    # a decimal comma would read 100 or 1000 times too large or too small with every comma removed
    for text in ("10636,91 e", "10.636,91", "1,0636.91", "NaN", "inf", "1e9", "12,34"):
        with pytest.raises(ParseError, match="expected a number"):
            _cell_value(text, "x")


def test_text_numbers_that_could_mean_two_values_are_refused():
    """One separator followed by exactly three digits is a thousands or a decimal separator, 1000 times apart: refused,
    saying both readings. IMF's own text cells (estimates) always have two decimals."""
    for text, sep, thousands, decimals in (("11.611", "point", "11,611", "11.611"),
                                           ("1,032", "comma", "1,032", "1.032"),
                                           ("-4.004 e", "point", "-4,004", "-4.004")):
        with pytest.raises(ParseError, match=rf"^x: text '{text}' is ambiguous: the {sep} followed by exactly three "
                                             rf"digits may separate thousands \(as {thousands}\) or decimals "
                                             rf"\(as {decimals}\)"):
            _cell_value(text, "x")
    # unambiguous text numbers are read as they stand
    assert _cell_value("11.61", "x") == (11.61, False) and _cell_value("0.125", "x") == (0.125, False)
    assert _cell_value("1234.567", "x") == (1234.567, False) and _cell_value("11611", "x") == (11611.0, False)
    assert _cell_value("1,234,567", "x") == (1234567.0, False) and _cell_value("1,032.135 e", "x") == (1032.135, True)


def test_a_european_text_number_is_refused_naming_the_cell(tmp_path):
    """Mexico's 2018 exports (11,610.830562) rewritten as the text '11.611', a European thousands point: read as
    11.611 before, 1000 times too small, every check passing (a QA pass). Now refused naming sheet, cell and text."""
    import openpyxl

    wb = openpyxl.load_workbook(JAPAN_WORKBOOK)
    sheet = wb["Exports, FOB"]
    # DOTS_101.xlsx, sheet 'Exports, FOB': Mexico in row 220, 2018 in column BI
    assert sheet["B220"].value == "Mexico" and sheet["BI7"].value == "2018"
    assert sheet["BI220"].value == pytest.approx(11610.830562)
    sheet["BI220"].value = "11.611"
    wb.save(tmp_path / "DOTS_101.xlsx")
    with pytest.raises(ParseError, match=r"^imf-dots DOTS_101.xlsx sheet 'Exports, FOB' cell BI220 \(row 220, partner "
                                         r"'Mexico'\): text '11.611' is ambiguous: the point followed by exactly three "
                                         r"digits may separate thousands \(as 11,611\) or decimals \(as 11.611\)"):
        parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")
    # the same value as unambiguous text is read right
    sheet["BI220"].value = "11,610.830562"
    wb.save(tmp_path / "DOTS_101.xlsx")
    _, cells, _ = parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")
    mexico = [r for r in _rows(cells) if r[1:5] == (220, "Mexico", "export", 2018)]
    assert [r[5:] for r in mexico] == [(pytest.approx(11610.830562), False)]


def test_values_in_a_row_without_a_partner_are_refused(tmp_path):
    """A partner name cleared from a row with values: refused naming the row, not dropped from every total."""
    import openpyxl

    wb = openpyxl.load_workbook(JAPAN_WORKBOOK)
    sheet = wb["Exports, FOB"]
    # DOTS_101.xlsx, sheet 'Exports, FOB': partner names in column B, Mexico in row 220
    assert sheet.cell(row=220, column=2).value == "Mexico"
    sheet.cell(row=220, column=2).value = None
    wb.save(tmp_path / "DOTS_101.xlsx")
    with pytest.raises(ParseError, match=r"'Exports, FOB' row 220: values in a row without a partner name "
                                         r"\(cell B220 is blank\)"):
        parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")


def test_a_sheet_cut_after_its_row_of_years_is_refused_naming_it(tmp_path):
    """Japan's 'Exports, FOB' with every partner row deleted was accepted (the imports sheet's 11,347 cells loaded):
    Japan's exports left Figure 1 without a word on a first build. Every sheet of the mirror's 224 workbooks has
    partner rows (found by a regression audit of issue 12)."""
    import openpyxl

    wb = openpyxl.load_workbook(JAPAN_WORKBOOK)
    sheet = wb["Exports, FOB"]
    assert sheet.cell(row=7, column=3).value == "1960" and sheet.max_row > 200  # the row of years, then partners
    sheet.delete_rows(8, sheet.max_row)
    wb.save(tmp_path / "DOTS_101.xlsx")
    with pytest.raises(ParseError, match=r"^imf-dots DOTS_101.xlsx sheet 'Exports, FOB': no partner row under the "
                                         r"row of years \(row 7\)"):
        parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")


def test_duplicate_workbook_is_marked_not_dropped(tmp_path):
    """DOTS_144 repeats DOTS_143 (Nicaragua): both parsed, the later one marked as a duplicate."""
    from conftest import small_mirror
    from jlac.snapshots import load_snapshot
    from jlac.sources.imf_dots.source import parse

    root = small_mirror(tmp_path / "m", IMF_DOTS.parent.parent,
                        {n: IMF_DOTS / n for n in ("DOTS_143.xlsx", "DOTS_144.xlsx")})
    snap = load_snapshot(root / "imf-dots" / "2022-02-02")
    con = duckdb.connect()
    con.register("parsed", parse(snap, con))
    counts = dict(con.execute("SELECT file, count(*) FROM parsed GROUP BY file").fetchall())
    assert counts["DOTS_143.xlsx"] == counts["DOTS_144.xlsx"] > 1000
    marked = con.execute("SELECT DISTINCT file, duplicate_of FROM parsed ORDER BY file").fetchall()
    assert marked == [("DOTS_143.xlsx", None), ("DOTS_144.xlsx", "DOTS_143.xlsx")]


def test_missing_sheet_and_unreadable_file(tmp_path):
    import openpyxl

    wb = openpyxl.load_workbook(JAPAN_WORKBOOK)
    del wb["Imports, CIF"]
    broken = tmp_path / "DOTS_101.xlsx"
    wb.save(broken)
    with pytest.raises(ParseError, match=r"DOTS_101.xlsx: missing sheet\(s\) \['Imports, CIF'\]"):
        parse_workbook(broken, "DOTS_101.xlsx")
    garbage = tmp_path / "DOTS_7.xlsx"
    garbage.write_bytes(JAPAN_WORKBOOK.read_bytes()[:5000])  # a truncated copy
    with pytest.raises(ParseError, match=r"DOTS_7.xlsx: not a readable .xlsx workbook \(a zip cut short \(5,000 "
                                         r"bytes, its directory at the end missing\): downloaded in part\?\)"):
        parse_workbook(garbage, "DOTS_7.xlsx")
    # an empty file and an HTML page are said as what they are (all three read "invalid Zip archive": a QA pass)
    garbage.write_bytes(b"")
    with pytest.raises(ParseError, match=r"not a readable .xlsx workbook \(an empty file \(0 bytes\)\)"):
        parse_workbook(garbage, "DOTS_7.xlsx")
    garbage.write_bytes(b"<!DOCTYPE html><html><body>Service unavailable</body></html>")
    with pytest.raises(ParseError, match=r"not a readable .xlsx workbook \(an HTML/XML page, not a workbook: "):
        parse_workbook(garbage, "DOTS_7.xlsx")


def test_duplicate_workbook_that_differs_is_refused_naming_the_cell(tmp_path):
    """A second workbook of the same reporter that disagrees on one cell stops the parse, naming both files, the
    partner, flow and year, and both values (which one is right is not jlac's to pick)."""
    import openpyxl
    from conftest import write_manifest
    from jlac.snapshots import load_snapshot
    from jlac.sources.imf_dots.source import parse

    vintage = tmp_path / "imf-dots" / "2022-02-02"
    vintage.mkdir(parents=True)
    wb = openpyxl.load_workbook(IMF_DOTS / "DOTS_143.xlsx")
    wb.save(vintage / "DOTS_143.xlsx")  # both through openpyxl: its way of writing numbers is then the same in both
    sheet = wb["Exports, FOB"]
    # names in column B, years from column C: the header row has 2018, the World row follows it
    years = {c.column: c.value for c in next(r for r in sheet.iter_rows() if any(c.value == "2018" for c in r))}
    world = next(r for r in sheet.iter_rows() if any(c.value == "World" for c in r))
    cell = next(c for c in reversed(world) if isinstance(c.value, float | int) and years.get(c.column))
    before, cell.value = cell.value, cell.value + 1
    wb.save(vintage / "DOTS_144.xlsx")
    write_manifest(vintage, "imf-dots")
    with pytest.raises(ParseError) as err:
        parse(load_snapshot(vintage), duckdb.connect())
    msg = str(err.value)
    assert "DOTS_144.xlsx: repeats reporter 'Nicaragua' of DOTS_143.xlsx with different values in 1 cell(s)" in msg
    assert f"World export {int(years[cell.column])}: DOTS_143.xlsx row {cell.row} has {before!r}" in msg
    assert f"DOTS_144.xlsx row {cell.row} has {before + 1!r}" in msg


def _variant(path, edit) -> None:
    """Japan's workbook through openpyxl, edited by ``edit(wb)`` (None: unchanged), saved at ``path``."""
    import openpyxl

    wb = openpyxl.load_workbook(JAPAN_WORKBOOK)
    if edit:
        edit(wb)
    wb.save(path)


def _unit_with_a_space(wb):
    assert wb["Exports, FOB"]["B5"].value == "US Dollars, Millions"
    wb["Exports, FOB"]["B5"].value = "US Dollars, Millions "


def _sheet_name_with_a_space(wb):
    wb["Exports, FOB"].title = "Exports, FOB "


def _blank_column_before_the_years(wb):
    wb["Exports, FOB"].insert_cols(3)  # names stay in B, the years move from C on to D on


@pytest.mark.parametrize("edit", [_unit_with_a_space, _sheet_name_with_a_space, _blank_column_before_the_years],
                         ids=["unit line 'US Dollars, Millions '", "sheet 'Exports, FOB '", "blank column C"])
def test_harmless_layout_variations_read_as_the_file_means(tmp_path, edit):
    """Spaces around the unit text or a sheet name, and a blank column between the names and the years, were
    refused ('expected the unit line', 'missing sheet(s)', 'expected a header row of years'): now every cell reads
    as in the workbook without them (both through openpyxl, which writes some floats a last digit shorter)."""
    _variant(tmp_path / "same.xlsx", None)
    _variant(tmp_path / "DOTS_101.xlsx", edit)
    reporter, cells, repeats = parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")
    _, same, same_repeats = parse_workbook(tmp_path / "same.xlsx", "DOTS_101.xlsx")
    assert reporter == "Japan" and repeats == same_repeats == ["Australia", "Australia"]
    assert _rows(cells) == _rows(same)
    mexico = [r for r in _rows(cells) if r[2:5] == ("Mexico", "export", 2018)]
    assert mexico == [("Exports, FOB", 220, "Mexico", "export", 2018, pytest.approx(11610.830562), False)]


def test_a_blank_inserted_column_with_a_value_and_twin_sheets_are_refused(tmp_path):
    """A column without a year that holds a value, and two sheets whose names differ only in spaces: refused."""
    def value_without_a_year(wb):
        _blank_column_before_the_years(wb)
        wb["Exports, FOB"]["C220"].value = 5.0

    _variant(tmp_path / "DOTS_101.xlsx", value_without_a_year)
    with pytest.raises(ParseError, match=r"'Exports, FOB' cell C220 \(row 220, partner 'Mexico'\): a value under a "
                                         r"header without a year \(header cell C7 is blank\)"):
        parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")
    _variant(tmp_path / "DOTS_101.xlsx", lambda wb: wb.copy_worksheet(wb["Exports, FOB"]).__setattr__(
        "title", "Exports, FOB "))
    with pytest.raises(ParseError, match=r"DOTS_101.xlsx: sheets \['Exports, FOB', 'Exports, FOB '\] differ only in "
                                         r"spaces around the name"):
        parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")


def test_a_decimal_comma_after_a_zero_is_refused(tmp_path):
    """Japan's 2018 exports to Eritrea (0.977351) as the text '0,977', a European decimal comma: read as 977, 1000 times
    too large (a leading 0 cannot start a group of thousands, so the comma was no thousands separator). Refused."""
    import openpyxl

    wb = openpyxl.load_workbook(JAPAN_WORKBOOK)
    sheet = wb["Exports, FOB"]
    assert sheet["B161"].value == "Eritrea, The State of" and sheet["BI7"].value == "2018"
    assert sheet["BI161"].value == pytest.approx(0.977351)
    sheet["BI161"].value = "0,977"
    wb.save(tmp_path / "DOTS_101.xlsx")
    with pytest.raises(ParseError, match=r"^imf-dots DOTS_101.xlsx sheet 'Exports, FOB' cell BI161 \(row 161, partner "
                                         r"'Eritrea, The State of'\): expected a number \(commas only between "
                                         r"thousands, a point for decimals\) or an IMF estimate like '1,032.13 e', "
                                         r"found '0,977'"):
        parse_workbook(tmp_path / "DOTS_101.xlsx", "DOTS_101.xlsx")
    for text in ("0,977 e", "-0,500", "00,123"):
        with pytest.raises(ParseError, match="expected a number"):
            _cell_value(text, "x")
    assert _cell_value("1,032.13 e", "x") == (1032.13, True) and _cell_value("0.977", "x") == (0.977, False)
