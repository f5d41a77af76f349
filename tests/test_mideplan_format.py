"""MIDEPLAN-format cooperation records: an example built from the real Costa Rica finance events, each kind of
bad row rejected with its message (by the parser's 'problem' column and by the GX suite), good rows loaded."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import duckdb
import openpyxl
import pytest
from conftest import failed_checks, scratch_build, write_manifest
from jlac import load, transform, validation
from jlac.errors import ParseError
from jlac.parse import parse_to_cache
from jlac.snapshots import load_snapshot
from jlac.sources import get_source
from jlac.sources.mideplan_cooperation.source import COLUMNS

SOURCE = "mideplan-cooperation"
MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
COOPERANTS = {"Japan (JICA)": ("Japón", "JICA"), "China (Eximbank)": ("China", "Export-Import Bank of China"),
              "European Investment Bank": ("Unión Europea", "Banco Europeo de Inversiones")}


def approval_date(year: int, event: str) -> str:
    """The date the event text gives ('signed 3 Jun 2013', 'agreed Nov 2013'); the 1st when only a month."""
    m = re.search(r"(?:(\d{1,2}) )?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w* (\d{4})", event)
    if not m:
        return f"{year}-01-01"
    return dt.date(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1) or 1)).isoformat()


def example_rows(shared) -> list[dict]:
    """MIDEPLAN-format rows for the individual loans in costa_rica_finance_events.csv (not program totals,
    not signing events the file marks as double counting)."""
    rows = []
    with open(shared / "reference" / "costa_rica_finance_events.csv", encoding="utf-8") as fh:
        for i, ev in enumerate(csv.DictReader(fh), start=1):
            if "avoid double counting" in ev["event"] or ev["project"] == "country total":
                continue
            country, agency = COOPERANTS[ev["donor_or_lender"]]
            currency = ev["currency"].split()[0]
            rows.append({
                "project_id": f"CR-{ev['year']}-{i:02d}", "title": ev["project"], "cooperant_country": country,
                "cooperant_agency": agency, "modality": "reembolsable", "instrument": "préstamo",
                "sector": "energy" if "geotherm" in ev["project"].lower() else "transport",
                "approval_date": approval_date(int(ev["year"]), ev["event"]),
                "amount": str(int(float(ev["amount"]) * 1_000_000)), "currency": currency,
                "executing_institution": "ICE" if "geotherm" in ev["project"].lower() else "CONAVI",
                "status": "aprobado", "source_url": ev["source_url"],
            })
    return rows


def write_csv(vintage, rows, name="cooperation.csv"):
    vintage.mkdir(parents=True, exist_ok=True)
    with open(vintage / name, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*COLUMNS, "source_url"])
        writer.writeheader()
        writer.writerows(rows)
    write_manifest(vintage, SOURCE)
    return load_snapshot(vintage)


def parse(snapshot) -> list[dict]:
    con = duckdb.connect()
    rel = get_source(SOURCE).parse(snapshot, con)
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def test_example_from_reference_events_loads_clean(tmp_path, shared):
    rows = parse(write_csv(tmp_path / SOURCE / "2025-01-01", example_rows(shared)))
    assert len(rows) == 4  # JICA 2013 framework, EIB 2013, China Eximbank Route 32 2013, JICA Borinquen I 2017
    assert all(r["problem"] is None for r in rows), [r["problem"] for r in rows]
    by_title = {r["title"]: r for r in rows}
    borinquen = by_title["Borinquen I geothermal (55 MW)"]
    # JPY 25,991 million at the 2017 average of FRED EXJPUS (112.1369 yen per US$, from the mirror)
    assert borinquen["amount_usd"] == pytest.approx(25_991e6 / 112.1369)
    assert borinquen["approval_date"] == dt.date(2017, 6, 20)
    assert (borinquen["cooperant_iso3"], borinquen["modality"], borinquen["instrument"]) == ("JPN", "reimbursable",
                                                                                              "loan")
    route32 = by_title["Route 32 San Jose-Limon widening"]
    assert (route32["cooperant_iso3"], route32["amount_usd"], route32["approval_date"]) == (
        "CHN", 396e6, dt.date(2013, 6, 3))
    assert by_title["geothermal (co-finance)"]["cooperant_iso3"] is None  # EU institutions: not a country


GOOD = {"project_id": "CR-X", "title": "t", "cooperant_country": "Japan", "cooperant_agency": "JICA",
        "modality": "non_reimbursable", "instrument": "grant", "sector": "health", "approval_date": "2016-05-01",
        "amount": "1000", "currency": "USD", "executing_institution": "CCSS", "status": "completed"}
BAD = {
    "required field empty": ({"title": ""}, "title is empty (required)"),
    "unknown cooperant": ({"cooperant_country": "Narnia"}, "cooperant_country 'Narnia' is not a known country"),
    # was loaded, and published as finance from Costa Rica to Costa Rica in marts.fct_dev_finance
    "the recipient as cooperant": ({"cooperant_country": "Costa Rica"},
                                   "cooperant_country 'Costa Rica' is Costa Rica, the recipient of every record"),
    "unknown currency": ({"currency": "XYZ"}, "currency 'XYZ' has no documented rate"),
    "no rate that year": ({"currency": "JPY", "approval_date": "1999-03-01"}, "no documented JPY rate for 1999"),
    "negative amount": ({"amount": "-5"}, "amount -5 is not positive"),
    "zero amount": ({"amount": "0"}, "amount 0 is not positive"),
    "amount with separators": ({"amount": "1,000"}, "amount '1,000' is not a number"),
    "impossible date": ({"approval_date": "2017-13-01"}, "approval_date '2017-13-01' is not a date YYYY-MM-DD"),
    # DuckDB's %Y read it as the year 16: refused as "no documented USD rate for 16", pointing at the rates file
    "two-digit year": ({"approval_date": "16-05-01"}, "approval_date '16-05-01' is not a date YYYY-MM-DD"),
    "unknown modality": ({"modality": "mixta"}, "modality 'mixta' is not non_reimbursable or reimbursable"),
    "unknown instrument": ({"instrument": "bond"}, "instrument 'bond' is not grant, technical_cooperation or loan"),
    "loan given as grant": ({"instrument": "loan"}, "instrument loan cannot be non_reimbursable"),
    "unknown status": ({"status": "done"}, "status 'done' is not approved, in_execution, completed or cancelled"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_each_bad_row_is_named_with_its_message(tmp_path, kind):
    change, message = BAD[kind]
    rows = parse(write_csv(tmp_path / SOURCE / "2025-01-01",
                           [{**GOOD, "project_id": "OK-1"}, {**GOOD, "project_id": "BAD-1", **change}]))
    problems = {r["project_id"]: r["problem"] for r in rows}
    assert problems["OK-1"] is None
    assert message in (problems["BAD-1"] or ""), problems["BAD-1"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_no_row_under_its_header_is_refused_naming_it(tmp_path, shared, kind):
    """Header only: 0 projects were parsed, passed every check, and Costa Rica's cooperation records left Figure 3
    without a word."""
    vintage = tmp_path / SOURCE / "2025-01-01"
    if kind == "csv":
        snapshot, message = write_csv(vintage, []), r"^mideplan-cooperation cooperation\.csv: no rows under the header"
    else:
        snapshot = write_xlsx(vintage, {"Proyectos": [["Cooperación recibida"], sheet_rows(shared)[0]]})
        message = r"^mideplan-cooperation cooperation\.xlsx sheet 'Proyectos': no rows under the header row \(row 2\)"
    with pytest.raises(ParseError, match=message):
        parse(snapshot)


@pytest.mark.parametrize(("change", "problem"), [
    # refused as "no documented USD rate for 1850": US$ need no rate, and the analyst was sent to the rates file
    ({"approval_date": "1850-01-01"}, "approval_date '1850-01-01' has the year 1850, outside 1950-2049, the approval "
                                      "years the format holds (a mistyped year?)"),
    ({"approval_date": "1850-01-01", "currency": "JPY"}, "approval_date '1850-01-01' has the year 1850, outside "
                                                         "1950-2049, the approval years the format holds (a mistyped "
                                                         "year?)"),
    ({"approval_date": "1999-03-01", "currency": "JPY"},
     "no documented JPY rate for 1999 (fx_rates_mideplan.csv has JPY for 2005-2024)"),
    # DuckDB's cast, like Python's float(), read both as 1000
    ({"amount": "1_000"}, "amount '1_000' is not a number written as a plain decimal like 1234.5 (no exponent, no "
                          "separators between digits)"),
    ({"amount": "1e3"}, "amount '1e3' is not a number written as a plain decimal like 1234.5 (no exponent, no "
                        "separators between digits)"),
])
def test_a_year_or_amount_the_format_cannot_hold_is_named_as_such(tmp_path, change, problem):
    rows = parse(write_csv(tmp_path / SOURCE / "2025-01-01", [{**GOOD, **change}]))
    assert [(r["row_number"], r["amount"], r["problem"]) for r in rows] == [
        (2, None if "amount" in change else 1000.0, problem)]


def test_plain_decimal_amounts_are_read(tmp_path):
    """docs/finance.md: 'a plain positive decimal (1234.5, no thousands separators)'."""
    given = ["1234.5", "1000", "0.5", ".5", "1000.", "+7"]
    rows = parse(write_csv(tmp_path / SOURCE / "2025-01-01",
                           [{**GOOD, "project_id": f"P{i}", "amount": a} for i, a in enumerate(given)]))
    assert sorted((r["project_id"], r["amount"], r["problem"]) for r in rows) == [
        ("P0", 1234.5, None), ("P1", 1000.0, None), ("P2", 0.5, None), ("P3", 0.5, None), ("P4", 1000.0, None),
        ("P5", 7.0, None)]


def test_duplicate_project_ids(tmp_path):
    rows = parse(write_csv(tmp_path / SOURCE / "2025-01-01", [GOOD, GOOD]))
    assert [r["problem"] for r in rows] == ["project_id CR-X appears 2 times"] * 2


def test_missing_column_is_an_error(tmp_path):
    vintage = tmp_path / SOURCE / "2025-01-01"
    vintage.mkdir(parents=True)
    (vintage / "c.csv").write_text("project_id,title,amount\nA,t,1\n", encoding="utf-8")
    write_manifest(vintage, SOURCE)
    with pytest.raises(ParseError, match=r"c.csv: header must name the columns .* missing \['cooperant_country'"):
        parse(load_snapshot(vintage))


def test_xlsx_with_date_and_number_cells(tmp_path, shared):
    rows = example_rows(shared)
    vintage = tmp_path / SOURCE / "2025-01-01"
    vintage.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([*COLUMNS, "source_url"])
    for r in rows:  # as an analyst's workbook holds them: real dates and numbers
        cells = {**r, "approval_date": dt.datetime.fromisoformat(r["approval_date"]), "amount": float(r["amount"])}
        ws.append([cells[c] for c in [*COLUMNS, "source_url"]])
    wb.save(vintage / "cooperation.xlsx")
    write_manifest(vintage, SOURCE)
    parsed = parse(load_snapshot(vintage))
    assert all(r["problem"] is None for r in parsed)
    assert sorted(round(r["amount_usd"] / 1e6, 2) for r in parsed) == [70.0, 231.78, 396.0, 560.0]


def test_gx_suite_fails_naming_rows_and_staging_keeps_good_ones(tmp_path, shared, monkeypatch):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    from jlac.config import get_settings

    settings = get_settings()
    rows = example_rows(shared) + [{**GOOD, "project_id": "BAD-1", "currency": "XYZ"},
                                   {**GOOD, "project_id": "BAD-2", "amount": "-5"}]
    snapshot = write_csv(tmp_path / "store" / SOURCE / "2025-01-01", rows)
    source = get_source(SOURCE)
    parquet = parse_to_cache(settings, source, snapshot)
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw")
        assert load.load_raw(con, source, snapshot, parquet) == 6
    results = validation.validate_source(db, source, snapshot)
    failed = {o.expectation: o.details for r in results for o in r.failed}
    assert "expect_column_values_to_be_null" in failed
    details = failed["expect_column_values_to_be_null"]
    assert "BAD-1" in details and "BAD-2" in details and "has no documented rate" in details
    assert "amount -5 is not positive" in details
    assert "expect_column_values_to_be_in_set" in failed  # currency XYZ
    transform.build(db, settings, select=["stg_mideplan_cooperation__projects"])
    with duckdb.connect(str(db)) as con:
        kept = sorted(r[0] for r in con.execute("SELECT project_id FROM staging.stg_mideplan_cooperation__projects")
                      .fetchall())
    assert len(kept) == 4 and not any(k.startswith("BAD") for k in kept)


def test_an_approval_date_after_the_refreshs_day_is_refused_until_that_day(tmp_path, monkeypatch):
    """The rule is checked on the day of the refresh, not by the parser: a parse is cached, and a QA pass found a
    project approved 2026-12-20 still refused on 2027-01-04, by --full too, while a fresh home published it."""
    from jlac import plan
    from jlac.config import Settings

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out")
    rows = [{**GOOD, "project_id": "OK-1"}, {**GOOD, "project_id": "CR-0005", "approval_date": "2026-12-20"}]
    snapshot = write_csv(tmp_path / "store" / SOURCE / "2026-12-04", rows)
    source = get_source(SOURCE)
    db = scratch_build(tmp_path / "build.duckdb", source, snapshot, settings)
    monkeypatch.setattr(plan, "today", lambda: dt.date(2026, 12, 5))
    failed = failed_checks(db, source, snapshot)
    assert [r.suite.split(": ", 1)[1] for r in failed] == ["no approval date after the refresh's day (2026-12-05)"]
    details = " ".join(o.details for o in failed[0].failed)
    assert "CR-0005" in details and "OK-1" not in details, details
    monkeypatch.setattr(plan, "today", lambda: dt.date(2027, 1, 4))  # the same cached parse, a later day
    assert failed_checks(db, source, snapshot) == []


def csv_text(rows, newline="\n") -> str:
    """The rows as Python's csv writes them, with ``newline`` ending each line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "source_url"], lineterminator=newline)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_text(vintage, text: str, name="cooperation.csv"):
    vintage.mkdir(parents=True, exist_ok=True)
    (vintage / name).write_bytes(text.encode("utf-8"))
    write_manifest(vintage, SOURCE)
    return load_snapshot(vintage)


def test_csv_row_numbers_are_the_files_lines(tmp_path, shared):
    """A blank line and a title over two lines come before the bad row: its row_number is the line an editor shows
    (DuckDB numbered records: a QA pass was sent to line 4 for a row on line 6)."""
    rows = example_rows(shared)
    rows[1]["title"] = "geothermal\n(co-finance)"  # a cell of two lines, as Excel writes Alt+Enter
    rows[2]["amount"] = "396 000 000"
    lines = csv_text(rows).split("\n")
    text = "\n".join([lines[0], "", *lines[1:]])  # a blank line under the header
    assert text.split("\n")[5].startswith("CR-2013-03,Route 32")  # line 6 of the file
    parsed = {r["project_id"]: r for r in parse(write_text(tmp_path / SOURCE / "2025-01-01", text))}
    assert {k: r["row_number"] for k, r in parsed.items()} == {"CR-2013-01": 3, "CR-2013-02": 4, "CR-2013-03": 6,
                                                              "CR-2017-05": 7}
    assert parsed["CR-2013-03"]["problem"].startswith("amount '396 000 000' is not a number")
    assert parsed["CR-2013-02"]["title"] == "geothermal\n(co-finance)" and parsed["CR-2013-02"]["problem"] is None


def test_csv_mixing_crlf_and_lf_is_read(tmp_path, shared):
    """A file saved by Excel (CRLF) and then edited by hand (LF) mixes line ends: read as the all-LF file is (DuckDB
    refused it: "Error when sniffing file")."""
    rows = example_rows(shared)
    lf = parse(write_text(tmp_path / "lf" / SOURCE / "2025-01-01", csv_text(rows)))
    head, rest = csv_text(rows[:2], "\r\n"), csv_text(rows[2:]).split("\n", 1)[1]
    mixed = parse(write_text(tmp_path / "mixed" / SOURCE / "2025-01-01", head + rest))
    assert sorted(round(r["amount_usd"] / 1e6, 2) for r in mixed) == [70.0, 231.78, 396.0, 560.0]
    assert [r["problem"] for r in mixed] == [None] * 4
    assert sorted(mixed, key=lambda r: r["row_number"]) == sorted(lf, key=lambda r: r["row_number"])


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace(',"Las Pailas II', ',"Las Pailas II"x', 1),
     r"c.csv: the record starting on line 2 cannot be read \(',' expected after '\"'\)"),
    (lambda t: t.replace("\nCR-2013-03,", "\nCR-2013-03,extra,", 1), r"c.csv: line 5 has 14 cells, the header 13"),
])
def test_csv_unreadable_record_names_its_line(tmp_path, shared, change, message):
    rows = example_rows(shared)
    rows[1]["title"] = "geothermal\n(co-finance)"
    with pytest.raises(ParseError, match=message):
        parse(write_text(tmp_path / SOURCE / "2025-01-01", change(csv_text(rows)), name="c.csv"))


def test_xlsx_row_numbers_are_the_sheets_rows(tmp_path, shared):
    """A blank row between projects: each row_number is the row Excel shows (blank rows shifted the ones below)."""
    vintage = tmp_path / SOURCE / "2025-01-01"
    vintage.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([*COLUMNS, "source_url"])
    for i, r in enumerate(example_rows(shared)):
        if i == 2:
            ws.append([])
        ws.append([r[c] for c in [*COLUMNS, "source_url"]])
    wb.save(vintage / "cooperation.xlsx")
    write_manifest(vintage, SOURCE)
    assert {r["project_id"]: r["row_number"] for r in parse(load_snapshot(vintage))} == {
        "CR-2013-01": 2, "CR-2013-02": 3, "CR-2013-03": 5, "CR-2017-05": 6}


def test_xlsx_header_naming_a_column_twice_is_refused(tmp_path, shared):
    """Two 'note' columns: the second was renamed note_1 on loading and dropped without a word."""
    vintage = tmp_path / SOURCE / "2025-01-01"
    vintage.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([*COLUMNS, "note", "note"])
    for r in example_rows(shared):
        ws.append([*(r[c] for c in COLUMNS), "JICA press release", "amount checked against MIDEPLAN"])
    wb.save(vintage / "cooperation.xlsx")
    write_manifest(vintage, SOURCE)
    with pytest.raises(ParseError, match=r"cooperation.xlsx( sheet 'Sheet')?: header must .*named twice \['note'\]"):
        parse(load_snapshot(vintage))


def write_xlsx(vintage, sheets: dict[str, list[list]], name="cooperation.xlsx"):
    """A workbook of the given sheets (name -> rows, in order), listed in a manifest."""
    vintage.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(vintage / name)
    write_manifest(vintage, SOURCE)
    return load_snapshot(vintage)


def sheet_rows(shared) -> list[list]:
    """The header and the example's rows as an analyst's sheet holds them (real dates and numbers)."""
    return [[*COLUMNS, "source_url"]] + [
        [{**r, "approval_date": dt.datetime.fromisoformat(r["approval_date"]), "amount": float(r["amount"])}[c]
         for c in [*COLUMNS, "source_url"]] for r in example_rows(shared)]


def test_xlsx_notes_sheet_before_the_data_and_title_rows_are_read(tmp_path, shared):
    """A notes sheet first and a title over the header: the one sheet with a header row is read from that row, each
    row numbered as Excel shows it (both were refused as a header missing every column)."""
    notes = [["Fuente: MIDEPLAN, Sistema de Gestión de Proyectos de Cooperación Internacional"], ["Corte: 2019-12-31"]]
    title = [["Cooperación internacional recibida por Costa Rica", None, None, None, None, None, None, None, None,
              None, None, None, None, None, "Corte: 2019-12-31"], []]
    parsed = parse(write_xlsx(tmp_path / SOURCE / "2025-01-01", {"Notas": notes, "Proyectos": title + sheet_rows(
        shared)}))
    assert all(r["problem"] is None for r in parsed), [r["problem"] for r in parsed]
    assert sorted((r["row_number"], r["project_id"], round(r["amount_usd"] / 1e6, 2)) for r in parsed) == [
        (4, "CR-2013-01", 560.0), (5, "CR-2013-02", 70.0), (6, "CR-2013-03", 396.0), (7, "CR-2017-05", 231.78)]


def test_csv_title_line_above_the_header_is_skipped(tmp_path, shared):
    text = "Cooperación internacional recibida por Costa Rica,,,\n" + csv_text(example_rows(shared))
    parsed = parse(write_text(tmp_path / SOURCE / "2025-01-01", text))
    assert sorted((r["row_number"], r["project_id"], r["problem"]) for r in parsed) == [
        (3, "CR-2013-01", None), (4, "CR-2013-02", None), (5, "CR-2013-03", None), (6, "CR-2017-05", None)]


@pytest.mark.parametrize(("sheets", "message"), [
    (lambda rows: {"2013": rows[:4], "2017": rows[:1] + rows[4:]},
     r"cooperation.xlsx: sheets '2013', '2017' each have a header row with 'project_id'; jlac reads one sheet"),
    (lambda rows: {"Notas": [["Fuente: MIDEPLAN"]], "Datos": [["Project ID", *COLUMNS[1:]], *rows[1:]]},
     r"no sheet has a header row \(a row with a cell 'project_id'.*sheet 'Notas' \(first row 1: \['Fuente: MIDEPLAN'\]"
     r"\); sheet 'Datos' \(first row 1: \['Project ID', 'title'"),
    # a year's projects pasted into a second sheet without the header row: taken for notes, left out silently
    (lambda rows: {"2013": rows[:4], "2017": rows[4:]},
     r"cooperation.xlsx: sheet '2017' row 1 fills 1[0-9] cells like a project's record \(\['CR-2017-05'.*no header "
     r"row; jlac reads only sheet '2013'"),
    # sorted with the header among the records (Excel's sort without "My data has headers")
    (lambda rows: {"Hoja1": [rows[1], rows[2], rows[0], rows[3], rows[4]]},
     r"cooperation.xlsx sheet 'Hoja1': row 1, above the header row \(row 3\), fills 13 cells \(\['CR-2013-01'"),
])
def test_xlsx_ambiguous_layouts_are_refused_naming_sheets_and_rows(tmp_path, shared, sheets, message):
    with pytest.raises(ParseError, match=message):
        parse(write_xlsx(tmp_path / SOURCE / "2025-01-01", sheets(sheet_rows(shared))))


def hide(vintage, change) -> None:
    """Edit the example workbook's first sheet with ``change(ws)`` and list it again."""
    wb = openpyxl.load_workbook(vintage / "cooperation.xlsx")
    change(wb.worksheets[0])
    wb.save(vintage / "cooperation.xlsx")
    write_manifest(vintage, SOURCE)


def filter_jpy(ws) -> None:
    """Filter the sheet on currency JPY, as Excel saves it: the filter, and the rows it leaves out hidden."""
    ws.auto_filter.ref = "A1:M5"
    ws.auto_filter.add_filter_column(9, ["JPY"])
    for row in (3, 4):  # EIB's EUR and China Eximbank's USD loans
        ws.row_dimensions[row].hidden = True


@pytest.mark.parametrize(("change", "message"), [
    (lambda ws: setattr(ws.row_dimensions[4], "hidden", True), r"data in hidden rows 4;"),
    (filter_jpy, r"data in hidden rows 3, 4 \(the sheet has a filter: rows it filters out are hidden\);"),
    (lambda ws: setattr(ws.column_dimensions["M"], "hidden", True), r"data in hidden columns M;"),
])
def test_xlsx_hidden_rows_and_columns_with_data_are_refused(tmp_path, shared, change, message):
    """A row or column hidden, or filtered out of view, was read like any other: the sheet showed 2 projects (the
    JPY filter) and 4 were published. Refused naming the sheet and the rows or columns."""
    vintage = tmp_path / SOURCE / "2025-01-01"
    write_xlsx(vintage, {"Proyectos": sheet_rows(shared)})
    hide(vintage, change)
    with pytest.raises(ParseError, match=r"cooperation.xlsx sheet 'Proyectos': " + message
                       + " jlac reads every row and column, hidden or not"):
        parse(load_snapshot(vintage))


def test_xlsx_hidden_rows_and_columns_without_data_are_read(tmp_path, shared):
    """Hidden where nothing is written (an empty column, empty rows under the table, a title row): nothing unseen."""
    vintage = tmp_path / SOURCE / "2025-01-01"
    write_xlsx(vintage, {"Proyectos": [["Cooperación recibida"], *sheet_rows(shared)]})

    def change(ws):
        ws.column_dimensions["P"].hidden = True
        for row in (1, 8, 9):
            ws.row_dimensions[row].hidden = True
    hide(vintage, change)
    parsed = parse(load_snapshot(vintage))
    assert sorted((r["row_number"], r["project_id"], r["problem"]) for r in parsed) == [
        (3, "CR-2013-01", None), (4, "CR-2013-02", None), (5, "CR-2013-03", None), (6, "CR-2017-05", None)]


def test_xlsx_hidden_column_with_only_its_name_is_read(tmp_path, shared):
    """An optional 'note' column left empty and hidden hides nothing: it was refused as "data in hidden columns N"
    for its header cell alone."""
    vintage = tmp_path / SOURCE / "2025-01-01"
    rows = sheet_rows(shared)
    write_xlsx(vintage, {"Proyectos": [[*rows[0], "note"], *rows[1:]]})
    hide(vintage, lambda ws: setattr(ws.column_dimensions["N"], "hidden", True))
    parsed = parse(load_snapshot(vintage))
    assert sorted((r["row_number"], r["project_id"], r["note"], r["problem"]) for r in parsed) == [
        (2, "CR-2013-01", None, None), (3, "CR-2013-02", None, None), (4, "CR-2013-03", None, None),
        (5, "CR-2017-05", None, None)]
    # a note in it is data, hidden: still refused
    hide(vintage, lambda ws: setattr(ws["N4"], "value", "co-financed"))
    with pytest.raises(ParseError, match=r"cooperation.xlsx sheet 'Proyectos': data in hidden columns N;"):
        parse(load_snapshot(vintage))



def _quote_row_attributes(vintage, row: int) -> None:
    """Rewrite row ``row``'s attributes in the workbook with single quotes and spaces, as XML allows."""
    import zipfile

    path = vintage / "cooperation.xlsx"
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<row r="%d"([^>]*) hidden="1"' % row, rb"<row r = '%d'\1 hidden = '1'" % row, data)
                assert b"hidden = '1'" in data
            z.writestr(info, data)
    write_manifest(vintage, SOURCE)


def test_xlsx_hidden_row_with_single_quoted_attributes_is_refused(tmp_path, shared):
    """XML lets a writer quote an attribute with ' and space it: <row r = '4' hidden = '1'> was not seen as hidden, and
    the hidden project was published."""
    vintage = tmp_path / SOURCE / "2025-01-01"
    write_xlsx(vintage, {"Proyectos": sheet_rows(shared)})
    hide(vintage, lambda ws: setattr(ws.row_dimensions[4], "hidden", True))
    _quote_row_attributes(vintage, 4)
    with pytest.raises(ParseError, match=r"cooperation.xlsx sheet 'Proyectos': data in hidden rows 4;"):
        parse(load_snapshot(vintage))


@pytest.mark.parametrize("order", ["data first", "dictionary first"])
def test_xlsx_data_dictionary_sheet_beside_the_data_is_not_a_header(tmp_path, shared, order):
    """A sheet describing the columns one per row ('project_id', then its meaning) beside the projects' sheet: read at
    56175b3 when the projects came first, refused since as "sheets 'Proyectos', 'Diccionario' each have a header row
    with 'project_id'". Its 'project_id' row names no other column: no header. Two real headers are still refused."""
    dictionary = [["columna", "descripción"], ["project_id", "código MIDEPLAN del proyecto"],
                  ["title", "nombre del proyecto"], ["amount", "monto en la moneda original"]]
    sheets = {"Proyectos": sheet_rows(shared), "Diccionario": dictionary}
    if order == "dictionary first":
        sheets = dict(reversed(sheets.items()))
    parsed = parse(write_xlsx(tmp_path / SOURCE / "2025-01-01", sheets))
    assert sorted((r["row_number"], r["project_id"], r["problem"], round(r["amount_usd"] / 1e6, 2))
                  for r in parsed) == [
        (2, "CR-2013-01", None, 560.0), (3, "CR-2013-02", None, 70.0), (4, "CR-2013-03", None, 396.0),
        (5, "CR-2017-05", None, 231.78)]
    rows = sheet_rows(shared)
    with pytest.raises(ParseError, match=r"cooperation.xlsx: sheets '2013', '2017' each have a header row"):
        parse(write_xlsx(tmp_path / "two" / SOURCE / "2025-01-01",
                         {"Diccionario": dictionary, "2013": rows[:4], "2017": rows[:1] + rows[4:]}))
