"""AidData Global Chinese Development Finance 3.0, project level: the workbook inside AidData's zip.

Layout (as the connector, ``connector.py``, checks it before storing): one zip holding one .xlsx whose sheet
``GCDF_3.0`` has a header row with AidData's 126 column names (listed in
shared/api-recordings/oecd/oda_reader_mapping_aidData_schema.json) and one row per project, commitment years
2000-2021. Amounts in US dollars (not millions), nominal and constant 2021. ``Funding Agencies`` names the
lenders, '|'-separated (e.g. ``China Development Bank (CDB)``), which GCDF 3.0's country-year sums lack: this
is what makes 2018-2021 policy-bank lending derivable. The parser keeps the columns jlac uses.
"""

from __future__ import annotations

import io
import zipfile

import duckdb
import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from jlac import sqltext
from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.textfiles import header_only
from jlac.xlsx_cells import unread_cells, unread_message

SHEET = "GCDF_3.0"
# AidData header -> raw column name
HEADER = {
    "AidData Record ID": "project_id",
    "Recommended For Aggregates": "recommended_for_aggregates",
    "Umbrella": "umbrella",
    "Financier Country": "financier_country",
    "Recipient": "recipient_name",
    "Recipient ISO-3": "recipient_iso3",
    "Recipient Region": "recipient_region",
    "Commitment Year": "commitment_year",
    "Title": "title",
    "Status": "status",
    "Intent": "intent",
    "Flow Type": "flow_type",
    "Flow Class": "flow_class",
    "Sector Name": "sector_name",
    "Funding Agencies": "funding_agencies",
    "Funding Agencies Type": "funding_agencies_type",
    "Amount (Original Currency)": "amount_original",
    "Original Currency": "original_currency",
    "Amount (Constant USD 2021)": "amount_usd_constant_2021",
    "Amount (Nominal USD)": "amount_usd_nominal",
}
NUMERIC = ("commitment_year", "amount_original", "amount_usd_constant_2021", "amount_usd_nominal")


def _text(value) -> str | None:
    """A cell as text: whole numbers without '.0' (record ids, years), blanks as None."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def read_rows(path, label: str) -> list[list]:
    """The rows of sheet GCDF_3.0 of the workbook in the zip ``path`` (header first)."""
    try:
        with zipfile.ZipFile(path) as zf:
            books = [n for n in zf.namelist() if n.lower().endswith(".xlsx") and not n.startswith("__MACOSX")]
            if len(books) != 1:
                raise ParseError(f"aiddata-gcdf3-projects {label}: expected one .xlsx in the zip, found {books}")
            data = zf.read(books[0])
    except zipfile.BadZipFile as exc:
        raise ParseError(f"aiddata-gcdf3-projects {label}: not a zip file ({exc})") from None
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if SHEET not in wb.sheet_names:
            raise ParseError(
                f"aiddata-gcdf3-projects {label}/{books[0]}: no sheet {SHEET!r} (sheets: {wb.sheet_names})"
            )
        if unread := unread_cells(io.BytesIO(data), [SHEET]):  # a loan's amount as '#VALUE!' left the sums (QA)
            raise ParseError(f"aiddata-gcdf3-projects {label}/{books[0]}: {unread_message(unread)}")
        return wb.get_sheet_by_name(SHEET).to_python(skip_empty_area=True)
    except CalamineError as exc:
        raise ParseError(f"aiddata-gcdf3-projects {label}/{books[0]}: workbook not readable ({exc})") from None


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The project rows with snake_case columns, numbers checked; row_number is the sheet row (header = 1)."""
    zips = [f.path for f in snapshot.files if f.path.lower().endswith(".zip")]
    if len(zips) != 1:
        raise ParseError(f"aiddata-gcdf3-projects {snapshot.id}: expected one .zip file, found {zips}")
    label = zips[0]
    rows = read_rows(snapshot.path(label), label)
    header = [str(c).strip() for c in (rows[0] if rows else [])]
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise ParseError(f"aiddata-gcdf3-projects {label}: sheet {SHEET} lacks column(s) {missing}; "
                         f"found {header[:5]}... (layout changed?)")
    where = [header.index(h) for h in HEADER]
    frame = pd.DataFrame(
        [[i + 2, *(_text(r[j]) if j < len(r) else None for j in where)] for i, r in enumerate(rows[1:])
         if any(c not in (None, "") for c in r)],
        columns=["row_number", *HEADER.values()],
    ).astype(object)
    # a sheet cut after its header loaded 0 projects, passed the checks and left GCDF 3.0 out of the figures unsaid
    if frame.empty:
        raise header_only(f"aiddata-gcdf3-projects {label} sheet {SHEET}", "project row", "AidData's sheet has a "
                          "row per project")
    con.from_df(frame).create_view("_gcdf3_projects", replace=True)
    for col in NUMERIC:
        bad = con.sql(f"SELECT row_number, {col} FROM _gcdf3_projects "
                      f"WHERE {col} IS NOT NULL AND TRY_CAST({col} AS DOUBLE) IS NULL LIMIT 3").fetchall()
        if bad:
            raise ParseError(f"aiddata-gcdf3-projects {label} sheet {SHEET}: column {col!r} expects a number; "
                             + "; ".join(f"row {r}: {v!r}" for r, v in bad))
    casts = {c: f"CAST({c} AS DOUBLE) AS {c}" for c in NUMERIC}
    casts["commitment_year"] = "CAST(CAST(commitment_year AS DOUBLE) AS INTEGER) AS commitment_year"
    cols = ", ".join(casts.get(c, c) for c in HEADER.values())
    file = sqltext.literal(label)
    return con.sql(f"SELECT {file} AS file, CAST(row_number AS INTEGER) AS row_number, {cols} FROM _gcdf3_projects")


SOURCE = Source(
    name="aiddata-gcdf3-projects",
    description="AidData Global Chinese Development Finance 3.0, project level (sheet GCDF_3.0 of AidData's zip): "
    "one row per Chinese official finance project, commitment years 2000-2021, amounts in US dollars.",
    columns=(
        Column("file", "VARCHAR", "Zip file in the snapshot"),
        Column("row_number", "INTEGER", "Row of the project in sheet GCDF_3.0 (header = row 1)"),
        Column("project_id", "VARCHAR", "AidData Record ID"),
        Column("recommended_for_aggregates", "VARCHAR", "AidData's flag: Yes if the project may be summed"),
        Column("umbrella", "VARCHAR", "Yes for umbrella agreements whose parts are separate projects"),
        Column("financier_country", "VARCHAR", "Financier country"),
        Column("recipient_name", "VARCHAR", "Recipient, AidData naming"),
        Column("recipient_iso3", "VARCHAR", "Recipient ISO-3 as AidData gives it (empty for regional projects)"),
        Column("recipient_region", "VARCHAR", "AidData region (America, Africa, ...)"),
        Column("commitment_year", "INTEGER", "Year of the commitment"),
        Column("title", "VARCHAR", "Project title"),
        Column("status", "VARCHAR", "Project status"),
        Column("intent", "VARCHAR", "Intent: Development, Commercial, Representational, Mixed"),
        Column("flow_type", "VARCHAR", "Flow type: Loan, Grant, Export Buyer's Credit, ..."),
        Column("flow_class", "VARCHAR", "OECD-style class: ODA-like, OOF-like, Vague (Official Finance)"),
        Column("sector_name", "VARCHAR", "Sector name"),
        Column("funding_agencies", "VARCHAR", "Chinese funding agencies, '|'-separated when several"),
        Column("funding_agencies_type", "VARCHAR", "Type of each funding agency, '|'-separated"),
        Column("amount_original", "DOUBLE", "Amount in the original currency"),
        Column("original_currency", "VARCHAR", "ISO 4217 code of the original currency"),
        Column("amount_usd_constant_2021", "DOUBLE", "Amount, US dollars, constant 2021 prices"),
        Column("amount_usd_nominal", "DOUBLE", "Amount, US dollars, nominal (prices of the commitment year)"),
    ),
    parse=parse,
    key=("project_id",),
    required=False,
    version="1",
)
