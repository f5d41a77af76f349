"""IMF Direction of Trade Statistics: one workbook per reporter, exports FOB and imports CIF by partner.

Layout (see the snapshot's SNAPSHOT.yml): sheets 'Exports, FOB' and 'Imports, CIF'; the reporter's
name in the first column above the unit line; a header row of years (which differ by sheet); then
one row per partner in IMF naming, aggregates included. Spaces around a sheet name or the unit text, and a blank
column between the names and the years, are read as if absent (a column without a year holding a value is refused).
Numbers are US$ millions; IMF estimates are text cells like '1,032.13 e' or '1.00 e' (thousands separator optional,
' e' suffix: SNAPSHOT.yml counts about 166,000 of them). Text whose one separator is followed by exactly three
digits ('11.611', '1,032') is refused: it may be a thousands or a decimal separator (IMF's text cells have two
decimals). A year header cell must be a plain year: anything else (a note, a footnote mark) is refused naming sheet
and cell (E7). Every file the manifest lists is such a workbook (.xlsx) or a note beside them (.txt, .md, .pdf: not
read); any other file is refused by name, not skipped.

Repeats: IMF repeats some partner rows in a sheet ('Australia' above 'World' and again in its region, in most
workbooks); every cell of both rows is kept, the core drops the identical ones, and validation refuses a year
in which they disagree. A workbook repeating another's reporter (DOTS_144 = DOTS_143, Nicaragua) is kept,
marked ``duplicate_of``, only when the two agree cell for cell; otherwise the parse stops naming both.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import PurePosixPath

import duckdb
import pyarrow as pa
from python_calamine import CalamineError, CalamineWorkbook

from jlac.errors import ParseError
from jlac.snapshots import MANIFEST, Snapshot, SnapshotFile
from jlac.sources import Column, FigureScope, Source
from jlac.xlsx_cells import cell_name, not_a_workbook, unread_cells, unread_message

log = logging.getLogger(__name__)

SHEETS = {"Exports, FOB": "export", "Imports, CIF": "import"}
UNIT = "US Dollars, Millions"
# A number as IMF writes it in a text cell: digits, commas only as thousands separators, a point for decimals, and
# " e" after an estimate. Anything else ('10636,91 e', '10.636,91') is refused: removing every comma would read them
# 100 or 1000 times too large or small.
# a group of thousands starts with 1-9: '0,977' is a decimal comma (0.977), and was read as 977
_NUMBER = r"-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+"
_ESTIMATE = re.compile(rf"^\s*({_NUMBER})\s*e\s*$")
_PLAIN = re.compile(rf"^\s*({_NUMBER})\s*$")
# A text number whose one separator is followed by exactly three digits ('11.611', '1,032'): a thousands separator
# or a decimal one, 1000 times apart. '11.611' written in a European format for 11,611 read as 11.611 with every
# check passing (found by a QA pass). IMF's own text cells always have two decimals ('1,032.13 e'); a leading 0
# ('0.125') cannot start a group of thousands.
_AMBIGUOUS = re.compile(r"^-?[1-9]\d{0,2}[.,]\d{3}$")
_FILE_INDEX = re.compile(r"(\d+)")
CELL_COLUMNS = ("sheet", "row_number", "partner_name", "flow", "year", "value_usd_m", "is_estimate")
_PARSED = {"file": pa.string(), "sheet": pa.string(), "row_number": pa.int64(), "reporter_name": pa.string(),
           "partner_name": pa.string(), "flow": pa.string(), "year": pa.int64(), "value_usd_m": pa.float64(),
           "is_estimate": pa.bool_(), "duplicate_of": pa.string()}


def _cell_value(cell, where: str) -> tuple[float, bool] | None:
    """A cell as (value, is_estimate); None for a blank cell. A text number that could mean two values is refused."""
    if cell == "" or cell is None:
        return None
    if isinstance(cell, (int, float)) and not isinstance(cell, bool) and math.isfinite(cell):
        return float(cell), False
    if isinstance(cell, str):
        for pattern, estimate in ((_PLAIN, False), (_ESTIMATE, True)):
            m = pattern.match(cell)
            if m and _AMBIGUOUS.match(m.group(1)):
                sep = "point" if "." in m.group(1) else "comma"
                raise ParseError(
                    f"{where}: text {cell!r} is ambiguous: the {sep} followed by exactly three digits may separate "
                    f"thousands (as {float(re.sub('[.,]', '', m.group(1))):,.0f}) or decimals (as "
                    f"{float(m.group(1).replace(',', '.'))}). IMF writes numbers as number cells and estimates with "
                    "two decimals ('1,032.13 e'); store the value as a number cell")
            if m:
                return float(m.group(1).replace(",", "")), estimate
    raise ParseError(f"{where}: expected a number (commas only between thousands, a point for decimals) or an IMF "
                     f"estimate like '1,032.13 e', found {cell!r}")



def _year(cell) -> int | None:
    """A header cell as a year: IMF writes 2019 (text or number); anything else is None."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool) and float(cell).is_integer():
        return int(cell) if 1900 <= cell <= 2100 else None
    text = str(cell).strip()
    return int(text) if text.isdigit() and len(text) == 4 else None


def parse_workbook(path, file_label: str) -> tuple[str, dict[str, list], list[str]]:
    """Parse one DOTS workbook.

    Returns the reporter name, its non-blank cells column by column (``CELL_COLUMNS``: sheet, Excel row, partner,
    flow, year, value, is_estimate; one entry per cell) and the partners whose row was repeated (all rows kept; see
    ``parse``). Columns, not a tuple per cell: the whole snapshot is 2.5 M cells, and as many live tuples made Python's
    garbage collector walk the heap again and again (the whole snapshot's parse: 6.3-7.4 s with tuples, 3.6-4.3 s).
    """
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise ParseError(f"imf-dots {file_label}: not a readable .xlsx workbook ({not_a_workbook(path) or exc})"
                         ) from exc
    # a sheet name with a space before or after ('Exports, FOB ') is the same sheet; two that trim alike are refused
    actual = {s: [n for n in wb.sheet_names if n.strip() == s] for s in SHEETS}
    missing = [s for s in SHEETS if not actual[s]]
    if missing:
        raise ParseError(
            f"imf-dots {file_label}: missing sheet(s) {missing}; expected {list(SHEETS)}, found {wb.sheet_names}"
        )
    if twice := [names for names in actual.values() if len(names) > 1]:
        raise ParseError(f"imf-dots {file_label}: sheets {twice[0]} differ only in spaces around the name; "
                         "which one to read is not ours to pick: keep one")
    if unread := unread_cells(path, [names[0] for names in actual.values()]):
        raise ParseError(f"imf-dots {file_label}: {unread_message(unread)}")
    reporter = None
    out: dict[str, list] = {name: [] for name in CELL_COLUMNS}
    repeats: list[str] = []
    for sheet_name, flow in SHEETS.items():
        sheet = wb.get_sheet_by_name(actual[sheet_name][0])
        # calamine trims leading blank rows and columns; messages keep Excel's numbering (row 7, column 5 = E7)
        first_row = (sheet.start or (0, 0))[0] + 1
        first_col = (sheet.start or (0, 0))[1]
        rows = sheet.to_python(skip_empty_area=True)
        where = f"imf-dots {file_label} sheet {actual[sheet_name][0]!r}"
        # spaces around the unit text ('US Dollars, Millions ') change nothing it says
        unit_idx = next((i for i, r in enumerate(rows[:10]) if r and str(r[0]).strip() == UNIT), None)
        if unit_idx is None or unit_idx < 1:
            raise ParseError(f"{where}: expected the unit line {UNIT!r} in the first rows; layout changed?")
        name = str(rows[unit_idx - 1][0]).strip()
        if reporter is None:
            reporter = name
        elif name != reporter:
            raise ParseError(f"{where}: reporter {name!r} differs from the other sheet's {reporter!r}")
        # the header is the first row after the unit line with anything right of the names: a blank column before
        # the years (inserted) is read as a header without a year, and refused only if it holds values
        hdr_idx = next((i for i in range(unit_idx + 1, min(len(rows), unit_idx + 5))
                        if any(c not in ("", None) for c in rows[i][1:])), None)
        if hdr_idx is None:
            raise ParseError(f"{where}: expected a header row of years after the unit line")
        years: list[int | None] = []
        for j, c in enumerate(rows[hdr_idx][1:]):
            year = _year(c)
            if year is None and str(c).strip():
                # one cell named once, by Excel's address: the first bad one stops the parse
                raise ParseError(
                    f"{where} header cell {cell_name(first_row + hdr_idx, first_col + j + 2)} (the row of years, row "
                    f"{first_row + hdr_idx}): {c!r} is not a year (IMF writes plain years such as 2019 there)"
                )
            years.append(year)
        seen: dict[str, int] = {}
        for i in range(hdr_idx + 1, len(rows)):
            row = rows[i]
            partner = str(row[0] if row[0] is not None else "").strip()
            excel_row = first_row + i
            if not partner:
                # a blank row is layout; values without a partner name would vanish from every total unseen
                if any(c not in ("", None) for c in row[1:]):
                    raise ParseError(f"{where} row {excel_row}: values in a row without a partner name "
                                     f"(cell {cell_name(excel_row, first_col + 1)} is blank)")
                continue
            # plain numbers take the short way; a cell's place is spelt out only for a text cell (_cell_value)
            values, estimates, cell_years = [], [], []
            for j in range(1, len(row)):
                cell = row[j]
                if cell == "" or cell is None:
                    continue
                if type(cell) is float or type(cell) is int:  # not bool (a subclass of int): _cell_value refuses it
                    value, estimate = float(cell), False
                else:
                    value, estimate = _cell_value(cell, f"{where} cell {cell_name(excel_row, first_col + j + 1)} "
                                                        f"(row {excel_row}, partner {partner!r})")
                year = years[j - 1] if j <= len(years) else None
                if year is None:
                    raise ParseError(f"{where} cell {cell_name(excel_row, first_col + j + 1)} (row {excel_row}, "
                                     f"partner {partner!r}): a value under a header without a year (header cell "
                                     f"{cell_name(first_row + hdr_idx, first_col + j + 1)} is blank)")
                values.append(value)
                estimates.append(estimate)
                cell_years.append(year)
            n = len(values)
            for name, same in (("sheet", sheet_name), ("row_number", excel_row), ("partner_name", partner),
                               ("flow", flow)):
                out[name].extend([same] * n)
            out["year"].extend(cell_years)
            out["value_usd_m"].extend(values)
            out["is_estimate"].extend(estimates)
            if partner in seen:
                # IMF repeats some partners (e.g. 'Australia' above 'World'). Every cell of both rows is kept:
                # the core drops the cells they share, and validation refuses a year they disagree on.
                repeats.append(partner)
                log.debug("%s: partner %r repeated at rows %d and %d", where, partner, seen[partner], excel_row)
            seen[partner] = excel_row
        if not seen:  # a sheet cut after its years: that flow of the reporter would vanish from every total unseen
            raise ParseError(f"{where}: no partner row under the row of years (row {first_row + hdr_idx}): the sheet "
                             "is cut short; IMF lists a row per partner there")
    return reporter or "", out, repeats


def _refuse_differences(path: str, first: str, reporter: str, kept: dict[str, list], cells: dict[str, list]) -> None:
    """Two workbooks of one reporter must agree cell for cell; otherwise which one is right is not ours to pick."""
    def by_key(c):  # (partner, flow, year) -> (value, est, row)
        return {(p, fl, y): (v, e, r) for r, p, fl, y, v, e in zip(
            c["row_number"], c["partner_name"], c["flow"], c["year"], c["value_usd_m"], c["is_estimate"], strict=True)}

    a, b = by_key(kept), by_key(cells)
    differ = sorted(k for k in a.keys() | b.keys() if (a.get(k) or (None, None))[:2] != (b.get(k) or (None, None))[:2])
    if differ:
        shown = "; ".join(
            f"{p} {fl} {y}: {first} row {a[(p, fl, y)][2] if (p, fl, y) in a else '-'} has "
            f"{a.get((p, fl, y), (None,))[0]!r}, {path} row {b[(p, fl, y)][2] if (p, fl, y) in b else '-'} has "
            f"{b.get((p, fl, y), (None,))[0]!r}"
            for p, fl, y in differ[:3]
        )
        raise ParseError(f"imf-dots {path}: repeats reporter {reporter!r} of {first} with different values in "
                         f"{len(differ)} cell(s): {shown}")


def _file_order(path: str) -> tuple[int, str]:
    m = _FILE_INDEX.search(path)
    return (int(m.group(1)) if m else 1 << 30, path)


# Files a snapshot may list beside the workbooks that are not data (a README, the publisher's notes): not read.
NOTES = (".txt", ".md", ".pdf")


def workbooks(snapshot: Snapshot) -> list[SnapshotFile]:
    """The workbooks the manifest lists, in file-index order. Every other listed file is a note (``NOTES``) or
    refused by name: DOTS_43.xlsx renamed DOTS_43.xls and resealed was verified, then skipped, and Colombia's rows
    vanished with a generic warning (found by a QA pass). Only .xlsx is read, not the .xls, .xlsb or .ods that
    calamine also reads: checks.py counts the .xlsx files listed against the files loaded."""
    books = []
    for f in snapshot.files:
        suffix = PurePosixPath(f.path.lower()).suffix
        if suffix == ".xlsx":
            books.append(f)
        elif suffix not in NOTES:
            raise ParseError(
                f"imf-dots {snapshot.id}: {f.path} is listed in {MANIFEST} but is not an .xlsx workbook; imf-dots "
                "reads one .xlsx workbook per reporter (sheets 'Exports, FOB' and 'Imports, CIF') and leaves notes "
                f"({', '.join(NOTES)}) unread. Save it as .xlsx (or give a renamed .xlsx its name back) and list it "
                f"so in {MANIFEST}, or take it out of the snapshot"
            )
    return sorted(books, key=lambda f: _file_order(f.path))


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """All workbooks of the snapshot, long format, one row per non-blank cell."""
    cols: dict[str, list] = {name: [] for name in _PARSED}
    # reporter -> its first workbook (a repeated reporter, rare, reads its first again: no cells kept for it)
    reporters: dict[str, str] = {}
    repeated: dict[str, int] = {}
    for f in workbooks(snapshot):
        reporter, cells, repeats = parse_workbook(snapshot.path(f.path), f.path)
        for partner in repeats:
            repeated[partner] = repeated.get(partner, 0) + 1
        duplicate_of = None
        if reporter in reporters:
            # Kept in raw, marked, so the manifest's file count still checks out; staging drops it.
            duplicate_of = reporters[reporter]
            _, kept, _ = parse_workbook(snapshot.path(duplicate_of), duplicate_of)
            _refuse_differences(f.path, duplicate_of, reporter, kept, cells)
            log.warning("imf-dots: %s repeats reporter %r of %s (identical content); %s is used (lower file index)",
                        f.path, reporter, duplicate_of, duplicate_of)
        else:
            reporters[reporter] = f.path
        for name in CELL_COLUMNS:
            cols[name].extend(cells[name])
        for name, value in (("file", f.path), ("reporter_name", reporter), ("duplicate_of", duplicate_of)):
            cols[name].extend([value] * len(cells["year"]))
    if repeated:
        log.info("imf-dots %s: partner rows repeated in a sheet (identical cells are dropped by the core, "
                 "differing ones refused by validation): %s",
                 snapshot.id, ", ".join(f"{p} x{n}" for p, n in sorted(repeated.items())))
    # Arrow reads the lists in C (pandas' object columns took another second and a half)
    return con.from_arrow(pa.table({name: pa.array(cols[name], kind) for name, kind in _PARSED.items()}))


# The reporters whose rows a published figure reads, from the SQL models (every partner of theirs is read):
#   JPN                  Figure 1 and its companions: intermediate.int_japan_trade_by_region (fig1_japan_lac_trade,
#                        fig1_japan_mof_region_trade, fig1_reconciliation), fig1_japan_totals_crosscheck,
#                        japan_main_lac_partners(_reconciliation);
#   ARG BRA CHL PER URY  report_claims C21 (China's trade against the US's and Japan's, and each one's largest partner);
#   the 11 CPTPP members report_claims C12 (trade with the world in marts.fct_trade_annual_by_aggregate).
# Reporters outside this list feed only marts.fct_trade_annual(_by_aggregate) and dim_country; IMF aggregate
# reporters (World, Euro Area, ...) feed no model (int_trade_annual_unioned keeps country reporters only).
# tests/test_quarantine.py checks that every reporter code the figure SQL names is in this list.
FIGURE_REPORTERS = ("JPN", "ARG", "BRA", "CHL", "PER", "URY", "AUS", "BRN", "CAN", "MYS", "MEX", "NZL", "SGP", "VNM")

SOURCE = Source(
    name="imf-dots",
    description="IMF Direction of Trade Statistics workbooks as parsed: one row per reporter, partner, flow and "
    "year (US$ millions, exports FOB and imports CIF as the reporter reports them).",
    columns=(
        Column("file", "VARCHAR", "Workbook file name in the snapshot"),
        Column("sheet", "VARCHAR", "Sheet name: 'Exports, FOB' or 'Imports, CIF'"),
        Column("row_number", "INTEGER", "Excel row number of the partner row"),
        Column("reporter_name", "VARCHAR", "Reporting economy, IMF naming (countries and IMF aggregates)"),
        Column("partner_name", "VARCHAR", "Partner economy, IMF naming (countries and IMF aggregates)"),
        Column("flow", "VARCHAR", "export (FOB) or import (CIF), as reported by the reporter"),
        Column("year", "INTEGER", "Calendar year"),
        Column("value_usd_m", "DOUBLE", "Value in US$ millions, current prices"),
        Column("is_estimate", "BOOLEAN", "True where IMF marked the cell as an estimate (' e' suffix)"),
        Column("duplicate_of", "VARCHAR", "Set when this workbook repeats the reporter of an earlier workbook "
               "(e.g. DOTS_144 = DOTS_143, Nicaragua): the file used instead; such rows are not used downstream"),
    ),
    parse=parse,
    key=("reporter_name", "partner_name", "flow", "year"),
    # a workbook that repeats an earlier reporter is checked on its own (duplicate_of), not against it
    conflict_key=("reporter_name", "partner_name", "flow", "year", "duplicate_of"),
    version="2",  # repeated partner rows: every cell kept (identical dropped by the core), no 'fuller row'
    country_names=(("imf", "reporter_name"), ("imf", "partner_name")),
    figure_scope=FigureScope(
        where="reporter_name_iso3 IN (" + ", ".join(f"'{c}'" for c in FIGURE_REPORTERS) + ")",
        why="the reporters Figure 1 and report_claims read: " + " ".join(FIGURE_REPORTERS),
        # Figure 1 is Japan's own report: if Japan's workbook came under a new name it must fail, not be set aside
        anchor="reporter_name_iso3 = 'JPN'",
    ),
)
