"""Project-level international cooperation records for Costa Rica, in the format jlac defines for MIDEPLAN.

MIDEPLAN (Costa Rica's planning ministry) registers every cooperation project the country receives but
publishes no API or machine-readable file, so jlac defines an input format (docs/finance.md) that an
analyst fills from MIDEPLAN's registry and drops into the snapshot store as
``mideplan-cooperation/<vintage>/*.csv`` or ``*.xlsx`` (the one sheet with a header row) with a SNAPSHOT.yml.

The parser is deliberately lenient: every row is loaded with its text as given, the typed values it
could read, and ``problem``, one message per broken rule. The Great Expectations suite
(``jlac/sources/mideplan_cooperation/checks.py``) then fails the refresh naming each bad row and its message,
and the staging model keeps only rows without a problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from importlib import resources

import duckdb
import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from jlac import sqltext, xlsx_cells
from jlac.countries import resolve
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import check_text, header_only
from jlac.xlsx_cells import unread_cells, unread_message

COUNTRY_TAG = "mideplan"
COLUMNS = (
    "project_id", "title", "cooperant_country", "cooperant_agency", "modality", "instrument", "sector",
    "approval_date", "amount", "currency", "executing_institution", "status",
)
# Columns every row must fill; the others must be in the header but may be empty.
REQUIRED = ("project_id", "title", "cooperant_country", "modality", "instrument", "approval_date", "amount",
            "currency")
OPTIONAL = ("source_url", "note")
# Accepted spellings (English codes and MIDEPLAN's Spanish terms), normalised to the code.
MODALITY = {
    "non_reimbursable": "non_reimbursable", "no reembolsable": "non_reimbursable",
    "reimbursable": "reimbursable", "reembolsable": "reimbursable",
}
INSTRUMENT = {
    "grant": "grant", "donación": "grant", "donacion": "grant",
    "technical_cooperation": "technical_cooperation", "cooperación técnica": "technical_cooperation",
    "cooperacion tecnica": "technical_cooperation",
    "loan": "loan", "préstamo": "loan", "prestamo": "loan",
}
# A loan is repaid; grants and technical cooperation are not (MIDEPLAN's own classification).
MODALITY_OF_INSTRUMENT = {"grant": "non_reimbursable", "technical_cooperation": "non_reimbursable",
                          "loan": "reimbursable"}
# Approval years the format holds: US$ amounts need no rate, so without a bound '1850-01-01' was refused as "no
# documented USD rate for 1850", which sent the analyst to the rates file instead of the date
FIRST_YEAR, LAST_YEAR = 1950, 2049
# A plain decimal, as docs/finance.md documents the amount: DuckDB's cast (like Python's float()) also reads '1e3' and
# '1_000' as 1000, which a slip of the keyboard may write
PLAIN_DECIMAL = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
STATUS = {
    "approved": "approved", "aprobado": "approved",
    "in_execution": "in_execution", "en ejecución": "in_execution", "en ejecucion": "in_execution",
    "completed": "completed", "finalizado": "completed",
    "cancelled": "cancelled", "cancelado": "cancelled",
}


def fx_rates() -> pd.DataFrame:
    """Documented annual exchange rates, currency units per US$ (``jlac/data/fx_rates_mideplan.csv``)."""
    text = resources.files("jlac").joinpath("data/fx_rates_mideplan.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    frame = pd.DataFrame({
        "currency": [r["currency"] for r in rows] + ["USD"] * (LAST_YEAR - FIRST_YEAR + 1),
        "year": [int(r["year"]) for r in rows] + list(range(FIRST_YEAR, LAST_YEAR + 1)),
        "units_per_usd": [float(r["units_per_usd"]) for r in rows] + [1.0] * (LAST_YEAR - FIRST_YEAR + 1),
    })
    return frame


def _cell_text(value) -> str | None:
    """A workbook cell as the text a CSV would hold (dates as ISO, whole numbers without '.0')."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(path, label: str) -> tuple[str, list[tuple[int, list[str | None]]]]:
    """The sheet holding the records, as (its name, its rows as (row number as Excel shows it, cell texts)).

    That is the one sheet with a header row (see ``_header``), wherever it stands: a notes sheet placed before it
    was refused as a header of the wrong columns. Two sheets with a header are refused: which one holds the
    projects (or whether both do) is not for jlac to guess. A row with 'project_id' and no other column's name (a
    data dictionary's) is a header only where no sheet has a better one.
    """
    where = f"mideplan-cooperation {label}"
    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheets = {name: [(i, [_cell_text(c) for c in r])  # from A1: row i is Excel's row i
                         for i, r in enumerate(wb.get_sheet_by_name(name).to_python(skip_empty_area=False), 1)]
                  for name in wb.sheet_names}
    except (CalamineError, OSError, ValueError, IndexError) as exc:
        raise ParseError(f"{where}: not a readable .xlsx workbook ({exc})") from exc
    found = [name for name, rows in sheets.items() if _header(rows) is not None]
    if len(found) > 1 and (headers := [name for name in found if _names_columns(sheets[name])]):
        # a sheet listing the column names one per row (a data dictionary: 'project_id', then its meaning) has a
        # 'project_id' row but no header: read beside the projects' sheet, the workbook was refused as two
        found = headers
    if not found:
        firsts = "; ".join(f"sheet '{name}' {_first_row(rows)}" for name, rows in sheets.items())
        raise ParseError(f"{where}: no sheet has a header row (a row with a cell 'project_id', naming the columns "
                         f"{list(COLUMNS)}); {firsts or 'no sheets'}")
    if len(found) > 1:
        raise ParseError(
            f"{where}: sheets {', '.join(repr(n) for n in found)} each have a header row with 'project_id'; jlac reads "
            "one sheet per workbook and will not guess which holds the projects: keep them in one sheet (or save each "
            "sheet as its own .xlsx file) and delete the other")
    # a sheet left unread must hold no records: a year's projects pasted into a second sheet without the header row
    # were taken for notes and left out of Figure 3 without a word. A record fills at least the required columns;
    # notes and a data dictionary fill one to three cells a row.
    for name, rows in sheets.items():
        filled = ((n, [c for c in cells if c not in (None, "")]) for n, cells in rows)
        if name != found[0] and (wide := next(((n, f) for n, f in filled if len(f) >= len(REQUIRED)), None)):
            raise ParseError(
                f"{where}: sheet {name!r} row {wide[0]} fills {len(wide[1])} cells like a project's record "
                f"({wide[1][:4]}...) but the sheet has no header row; jlac reads only sheet {found[0]!r}, the one with "
                "a header row: move such records into it (or save the sheet as its own .xlsx with a header row), or "
                "delete them")
    if unread := unread_cells(path, found):
        raise ParseError(f"{where}: {unread_message(unread)}")
    if hidden := _hidden_data(path, found[0], sheets[found[0]]):
        raise ParseError(f"{where} sheet '{found[0]}': {hidden}")
    return found[0], sheets[found[0]]


_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_COL = re.compile(rb"<(?:\w+:)?col\b([^>]*)>")
# XML lets an attribute be quoted either way and spaced around '=': hidden='1' (not Excel's spelling, but another
# writer's) went unseen, and its row was published
_HIDDEN = re.compile(rb"""\bhidden\s*=\s*(["'])(?:1|true)\1""")
_FILTER = re.compile(rb"<(?:\w+:)?autoFilter\b")
_NUMBER = {name: re.compile(rb"\b" + name + rb"""\s*=\s*["']([0-9]+)["']""") for name in (b"r", b"min", b"max")}


def _hidden_data(path, sheet: str, rows: list[tuple[int, list]]) -> str | None:
    """What the sheet hides from its header row down that holds data: rows (hidden, filtered out by the sheet's
    filter, or folded in an outline) and columns with a value below the header. They were read like any other: a
    project hidden or filtered out of view was published all the same (QA pass). A hidden column with only its name
    (an optional column left empty) hides nothing. None when nothing that holds data is hidden there."""
    try:
        with zipfile.ZipFile(path) as z:
            data = z.read(xlsx_cells.sheet_paths(z)[sheet])
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    filled = {n: cells for n, cells in rows if any(c not in (None, "") for c in cells)}
    first = rows[_header(rows)][0]
    hidden_rows, n = [], 0
    for m in _ROW.finditer(data):
        r = _NUMBER[b"r"].search(m.group(1))
        n = int(r.group(1)) if r else n + 1  # 'r' may be left out: then the row follows the one before
        if _HIDDEN.search(m.group(1)) and n >= first and n in filled:
            hidden_rows.append(n)
    hidden_cols = []
    width = len(rows[0][1]) if rows else 0
    for m in _COL.finditer(data):
        lo, hi = (_NUMBER[k].search(m.group(1)) for k in (b"min", b"max"))
        if _HIDDEN.search(m.group(1)) and lo and hi:
            hidden_cols += [j for j in range(int(lo.group(1)), min(int(hi.group(1)), width) + 1)
                            if any(filled[k][j - 1] not in (None, "") for k in filled if k > first)]
    if not hidden_rows and not hidden_cols:
        return None
    more = f" and {len(hidden_rows) - 10} more" if len(hidden_rows) > 10 else ""
    letters = ", ".join(map(xlsx_cells.column_letters, hidden_cols))
    where = "; ".join(w for w in (hidden_rows and f"rows {', '.join(map(str, hidden_rows[:10]))}{more}",
                                  hidden_cols and f"columns {letters}") if w)
    filtered = " (the sheet has a filter: rows it filters out are hidden)" if _FILTER.search(data) else ""
    return (f"data in hidden {where}{filtered}; jlac reads every row and column, hidden or not, and would publish "
            "what the sheet does not show: unhide them (clear the filter) to have them read, or delete them")



def _first_row(rows: list[tuple[int, list]]) -> str:
    """'(first row 3: ['Fuente', ...])' for a message, or '(empty)'."""
    first = next(((n, [c for c in cells if c not in (None, "")]) for n, cells in rows
                  if any(c not in (None, "") for c in cells)), None)
    return f"(first row {first[0]}: {first[1][:4]})" if first else "(empty)"


def _names_columns(rows: list[tuple[int, list]]) -> bool:
    """Whether the row with 'project_id' (``_header``) names another of the columns too, as a header row does."""
    return sum(str(c).strip() in COLUMNS for c in rows[_header(rows)][1] if c is not None) > 1


def _header(rows: list[tuple[int, list]]) -> int | None:
    """Index in ``rows`` of the header row: the first with a cell 'project_id' (title rows may stand above it)."""
    return next((i for i, (_, cells) in enumerate(rows)
                 if any(c is not None and str(c).strip() == "project_id" for c in cells)), None)


def _read_csv(path, label: str) -> list[tuple[int, list[str]]]:
    """The CSV's records as (line where the record starts, as an editor numbers the file's lines, cells).

    Read here, not by DuckDB: DuckDB numbered records, not lines, so a message pointed above the bad row when a blank
    line or a cell of several lines came before it, and it refused a file mixing CRLF and LF line ends, which Excel
    and hand edits produce, with "Error when sniffing file" (QA pass). Python's reader takes either line end.
    """
    where = f"mideplan-cooperation {label}"
    check_text(path, where)  # empty, an HTML page, not UTF-8: refused naming the line and byte
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        records, start = [], 1
        try:
            for record in reader:
                if record:  # a blank line
                    records.append((start, record))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ParseError(f"{where}: the record starting on line {start} cannot be read ({exc}); a quote "
                             "opened and not closed, or a cut-off file?") from None
    if (h := _header(records)) is not None:  # title lines above the header are narrower: not records
        width = len(records[h][1])
        if bad := next(((n, r) for n, r in records[h:] if len(r) != width), None):
            raise ParseError(f"{where}: line {bad[0]} has {len(bad[1])} cells, the header {width}: {bad[1][:4]}... "
                             "(a cell missing or added: shifted row, an unquoted comma, or a cut-off file?)")
    return records


def _frame(rows: list[tuple[int, list]], where: str, unit: str) -> pd.DataFrame:
    """The header row and the rows below it as a frame of text, with ``_line`` the row's line or row number.

    Title rows above the header (a title, a date: at most two cells each) are skipped; a row above it that fills more
    is refused, as records there (a sort that moved the header down) would be left out without a word.
    """
    h = _header(rows)
    if h is None:
        raise ParseError(f"{where}: no header row: no {unit} has a cell 'project_id'; expected a header row naming "
                         f"the columns {list(COLUMNS)} {_first_row(rows)}")
    for n, cells in rows[:h]:
        if len(filled := [c for c in cells if c not in (None, "")]) > 2:
            raise ParseError(
                f"{where}: {unit} {n}, above the header row ({unit} {rows[h][0]}), fills {len(filled)} cells "
                f"({filled[:4]}): jlac skips title {unit}s above the header (at most 2 cells each) but not records; "
                "move the header row to the top")
    header = [str(c).strip() if c is not None else "" for c in rows[h][1]]
    body = [[n, *cells] for n, cells in rows[h + 1:] if any(c not in (None, "") for c in cells)]
    # a file cut after its header (or a sheet emptied) loaded 0 projects, passed every check and left Costa Rica's
    # cooperation out of Figure 3 without a word; the format has a row per project, so a file without one is refused
    if not body:
        raise header_only(where, "rows", "jlac's MIDEPLAN format has a row per project; take a file without "
                          "projects out of the snapshot", header=f"the header row ({unit} {rows[h][0]})")
    # a column with neither a name nor a value (a title cell to the right widens the sheet): not a column
    keep = [j for j, name in enumerate(header) if name or any(r[j + 1] not in (None, "") for r in body)]
    header = [header[j] for j in keep]
    _check_header(header, where)
    frame = pd.DataFrame([[r[0], *(r[j + 1] for j in keep)] for r in body], columns=["_line", *header], dtype=object)
    frame["_line"] = frame["_line"].astype("int64")
    return frame


def _check_header(columns: list[str], where: str) -> None:
    missing = [c for c in COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS + OPTIONAL]
    twice = sorted({c for c in columns if c and columns.count(c) > 1})
    if missing or unknown or twice:
        raise ParseError(
            f"{where}: header must name the columns {list(COLUMNS)} (optional: "
            f"{list(OPTIONAL)}); missing {missing or 'none'}, unknown {unknown or 'none'}"
            + (f", named twice {twice}" if twice else "")
        )


def _file_frame(con: duckdb.DuckDBPyConnection, snapshot: Snapshot, label: str) -> duckdb.DuckDBPyRelation:
    path = snapshot.path(label)
    if label.lower().endswith(".xlsx"):
        sheet, rows = _read_xlsx(path, label)
        frame = _frame(rows, f"mideplan-cooperation {label} sheet '{sheet}'", "row")
    else:
        frame = _frame(_read_csv(path, label), f"mideplan-cooperation {label}", "line")
    rel = con.from_df(frame)
    cols = ", ".join(f"nullif(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in rel.columns else f"NULL AS {c}"
                     for c in COLUMNS + OPTIONAL)
    return rel.project(f"{sqltext.literal(label)} AS file, _line AS row_number, {cols}")


def _mapping(con: duckdb.DuckDBPyConnection, name: str, mapping: dict[str, str]) -> None:
    frame = pd.DataFrame({"given": list(mapping), "code": list(mapping.values())})
    con.from_df(frame).create_view(name, replace=True)


# Files a snapshot may list beside the data that are not data (a README, the registry's notes): not read.
NOTES = (".txt", ".md", ".pdf")


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every row of every CSV/XLSX file: typed values where readable, ``problem`` naming what is wrong."""
    labels = [f.path for f in snapshot.files if f.path.lower().endswith((".csv", ".xlsx"))]
    # every other listed file is a note, or refused by name: a listed cooperation-2019.xls was verified, then skipped,
    # and its projects were missing from Figure 3 without a word (found by a QA pass; imf-dots does the same)
    if other := [f.path for f in snapshot.files
                 if not f.path.lower().endswith((".csv", ".xlsx", *NOTES))]:
        raise ParseError(
            f"mideplan-cooperation {snapshot.id}: {', '.join(other)} listed in SNAPSHOT.yml but neither .csv nor "
            f".xlsx; mideplan-cooperation reads those two and leaves notes ({', '.join(NOTES)}) unread. Save it as "
            ".xlsx or .csv and list it so, or take it out of the snapshot")
    if not labels:
        raise ParseError(f"mideplan-cooperation {snapshot.id}: no .csv or .xlsx file in the manifest")
    rel = None
    for label in sorted(labels):
        part = _file_frame(con, snapshot, label)
        rel = part if rel is None else rel.union(part)
    rel.create_view("_mideplan_src", replace=True)
    con.execute("CREATE OR REPLACE TEMP TABLE _mideplan AS SELECT * FROM _mideplan_src")
    names = [r[0] for r in con.sql("SELECT DISTINCT cooperant_country FROM _mideplan").fetchall()]
    frame = pd.DataFrame(
        [(n, *((m.iso3, m.kind) if (m := resolve(COUNTRY_TAG, n)) else (None, None))) for n in names if n],
        columns=["name", "iso3", "kind"],
    ).astype(object)
    con.from_df(frame).create_view("_mideplan_cooperants", replace=True)
    con.from_df(fx_rates()).create_view("_mideplan_fx", replace=True)
    _mapping(con, "_mideplan_modality", MODALITY)
    _mapping(con, "_mideplan_instrument", INSTRUMENT)
    _mapping(con, "_mideplan_status", STATUS)
    _mapping(con, "_mideplan_instrument_modality", MODALITY_OF_INSTRUMENT)
    required_checks = " ".join(
        f"CASE WHEN t.{c} IS NULL THEN '{c} is empty (required)' END," for c in REQUIRED
    )
    return con.sql(
        f"""
        WITH typed AS (
            SELECT t.*,
                   -- four digits of year: DuckDB's %Y reads '16-05-01' as the year 16, refused as "no documented
                   -- USD rate for 16", which sent the analyst to the rates file instead of the date
                   CASE WHEN regexp_full_match(t.approval_date, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}')
                        THEN try_strptime(t.approval_date, '%Y-%m-%d')::DATE END AS approval_day,
                   -- 'NaN' and 'inf' cast to DOUBLE, so do '1e3' and '1_000': not plain decimals (nor is a
                   -- number of 400 digits, infinite as a DOUBLE)
                   CASE WHEN regexp_full_match(t.amount, {sqltext.literal(PLAIN_DECIMAL)})
                         AND isfinite(TRY_CAST(t.amount AS DOUBLE)) THEN TRY_CAST(t.amount AS DOUBLE) END
                       AS amount_value,
                   upper(t.currency) AS currency_code,
                   c.iso3 AS cooperant_iso3, c.kind AS cooperant_kind,
                   m.code AS modality_code, i.code AS instrument_code, s.code AS status_code,
                   count(*) OVER (PARTITION BY t.project_id) AS id_count
            FROM _mideplan t
            LEFT JOIN _mideplan_cooperants c ON c.name = t.cooperant_country
            LEFT JOIN _mideplan_modality m ON m.given = lower(t.modality)
            LEFT JOIN _mideplan_instrument i ON i.given = lower(t.instrument)
            LEFT JOIN _mideplan_status s ON s.given = lower(t.status)
        ), rated AS (
            SELECT t.*, fx.units_per_usd,
                   (SELECT count(*) FROM _mideplan_fx k WHERE k.currency = t.currency_code) AS currency_known,
                   (SELECT min(year) || '-' || max(year) FROM _mideplan_fx k WHERE k.currency = t.currency_code)
                       AS currency_years
            FROM typed t
            LEFT JOIN _mideplan_fx fx ON fx.currency = t.currency_code AND fx.year = year(t.approval_day)
        )
        SELECT file, row_number, project_id, title, cooperant_country, cooperant_iso3, cooperant_agency,
               modality_code AS modality, instrument_code AS instrument, sector,
               approval_date AS approval_date_text, approval_day AS approval_date,
               amount AS amount_text, amount_value AS amount, currency_code AS currency, units_per_usd,
               amount_value / units_per_usd AS amount_usd, executing_institution, status_code AS status,
               source_url, note,
               nullif(concat_ws('; ', {required_checks}
                   CASE WHEN id_count > 1 AND project_id IS NOT NULL
                        THEN 'project_id ' || project_id || ' appears ' || id_count || ' times' END,
                   CASE WHEN cooperant_country IS NOT NULL AND cooperant_kind IS NULL
                        THEN 'cooperant_country ''' || cooperant_country || ''' is not a known country or '
                             || 'cooperant (add it to country_names.csv with source mideplan)' END,
                   -- the records are cooperation Costa Rica receives (fct_dev_finance's recipient is CRI): Costa
                   -- Rica as its own cooperant was published as finance from Costa Rica to itself
                   CASE WHEN cooperant_iso3 = 'CRI'
                        THEN 'cooperant_country ''' || cooperant_country || ''' is Costa Rica, the recipient of '
                             || 'every record; name the country or agency that gives the cooperation' END,
                   CASE WHEN t.modality IS NOT NULL AND modality_code IS NULL
                        THEN 'modality ''' || t.modality || ''' is not non_reimbursable or reimbursable' END,
                   CASE WHEN t.instrument IS NOT NULL AND instrument_code IS NULL
                        THEN 'instrument ''' || t.instrument
                             || ''' is not grant, technical_cooperation or loan' END,
                   CASE WHEN modality_code IS NOT NULL AND instrument_code IS NOT NULL
                         AND modality_code <> (SELECT code FROM _mideplan_instrument_modality
                                               WHERE given = instrument_code)
                        THEN 'instrument ' || instrument_code || ' cannot be ' || modality_code END,
                   CASE WHEN t.status IS NOT NULL AND status_code IS NULL
                        THEN 'status ''' || t.status
                             || ''' is not approved, in_execution, completed or cancelled' END,
                   CASE WHEN approval_date IS NOT NULL AND approval_day IS NULL
                        THEN 'approval_date ''' || approval_date || ''' is not a date YYYY-MM-DD' END,
                   CASE WHEN amount IS NOT NULL AND amount_value IS NULL
                        THEN 'amount ''' || amount
                             || ''' is not a number written as a plain decimal like 1234.5 (no exponent, '
                             || 'no separators between digits)' END,
                   CASE WHEN amount_value <= 0 THEN 'amount ' || amount || ' is not positive' END,
                   CASE WHEN t.currency IS NOT NULL AND currency_known = 0
                        THEN 'currency ''' || t.currency
                             || ''' has no documented rate (known: USD, CRC, JPY, CNY, KRW, EUR)' END,
                   CASE WHEN year(approval_day) NOT BETWEEN {FIRST_YEAR} AND {LAST_YEAR}
                        THEN 'approval_date ''' || approval_date || ''' has the year ' || year(approval_day)
                             || ', outside {FIRST_YEAR}-{LAST_YEAR}, the approval years the format holds (a '
                             || 'mistyped year?)' END,
                   CASE WHEN currency_known > 0 AND year(approval_day) BETWEEN {FIRST_YEAR} AND {LAST_YEAR}
                         AND units_per_usd IS NULL
                        THEN 'no documented ' || currency_code || ' rate for ' || year(approval_day)
                             || ' (fx_rates_mideplan.csv has ' || currency_code || ' for ' || currency_years || ')'
                        END
               ), '') AS problem
        FROM rated t
        """
    )


SOURCE = Source(
    name="mideplan-cooperation",
    description="Costa Rica's international cooperation projects as registered by MIDEPLAN, in jlac's input "
    "format (docs/finance.md): one row per project as given, typed values where readable, amount in US$ at "
    "documented annual rates, and 'problem' naming every broken rule (NULL for a good row).",
    columns=(
        Column("file", "VARCHAR", "File in the snapshot (CSV, or XLSX: its one sheet with a header row)"),
        Column("row_number", "INTEGER", "Line of the CSV file, or row of the sheet, as an editor numbers it"),
        Column("project_id", "VARCHAR", "MIDEPLAN project id"),
        Column("title", "VARCHAR", "Project title"),
        Column("cooperant_country", "VARCHAR", "Cooperant country as written (Spanish or English)"),
        Column("cooperant_iso3", "VARCHAR", "ISO3 of the cooperant country (NULL for multilaterals)"),
        Column("cooperant_agency", "VARCHAR", "Cooperant agency (JICA, China Eximbank, KOICA, ...)"),
        Column("modality", "VARCHAR", "non_reimbursable or reimbursable (NULL if unknown)"),
        Column("instrument", "VARCHAR", "grant, technical_cooperation or loan (NULL if unknown)"),
        Column("sector", "VARCHAR", "Sector as MIDEPLAN records it"),
        Column("approval_date_text", "VARCHAR", "Approval date as given"),
        Column("approval_date", "DATE", "Approval date (NULL if not a YYYY-MM-DD date)"),
        Column("amount_text", "VARCHAR", "Amount as given"),
        Column("amount", "DOUBLE", "Amount in the original currency (NULL if not a number)"),
        Column("currency", "VARCHAR", "ISO 4217 currency code of the amount"),
        Column("units_per_usd", "DOUBLE",
               "Annual average rate used: currency units per US$ (fx_rates_mideplan.csv)"),
        Column("amount_usd", "DOUBLE", "Amount in US dollars at the approval year's average rate"),
        Column("executing_institution", "VARCHAR", "Costa Rican executing institution"),
        Column("status", "VARCHAR", "approved, in_execution, completed or cancelled (NULL if unknown)"),
        Column("source_url", "VARCHAR", "Where the record can be checked (optional)"),
        Column("note", "VARCHAR", "Analyst's note (optional)"),
        Column("problem", "VARCHAR", "Every rule the row breaks, separated by '; '; NULL for a good row"),
    ),
    parse=parse,
    key=("file", "row_number"),
    conflict_key=("project_id",),  # a project repeated with other values is refused showing both rows
    required=False,
    # 2: row_number is the file's line (was the record's number); 3: a year of four digits; 4: Costa Rica refused as
    # a cooperant
    version="4",
)
