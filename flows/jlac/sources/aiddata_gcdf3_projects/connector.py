"""AidData Global Chinese Development Finance 3.0, project level, as AidData publishes it (one zip, one .xlsx).

``<JLAC_AIDDATA_URL>/ad4/datasets/AidDatas_Global_Chinese_Development_Finance_Dataset_Version_3_0.zip`` ->
stored unchanged in the ``aiddata-gcdf3-projects`` source. Before storing, the zip must hold an .xlsx whose
sheet ``GCDF_3.0`` has a header with the fields jlac uses (AidData's own names, as listed in
shared/api-recordings/oecd/oda_reader_mapping_aidData_schema.json); an HTML page, a zip without the workbook or
a renamed column fails the source. AidData publishes new versions rarely (3.0: Sept 2023); the file is fetched
with a conditional GET, so an unchanged release costs one 304.

``jlac.sources.aiddata_gcdf3_projects.source`` parses the stored zip; its lender column (``Funding Agencies``) is what
makes CDB and China Eximbank lending for 2018-2021 derivable (see docs/finance.md).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from jlac import connectors
from jlac.config import Settings
from jlac.connectors import FetchError, FetchResult, base_url, staging, store_if_changed
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot

SOURCE_NAME = "aiddata-gcdf3-projects"
FETCH_ORDER = 90  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("aiddata",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DEFAULT_URL = "https://docs.aiddata.org"
FILE = "AidDatas_Global_Chinese_Development_Finance_Dataset_Version_3_0.zip"
SHEET = "GCDF_3.0"
REQUIRED_COLUMNS = (
    "AidData Record ID", "Recommended For Aggregates", "Financier Country", "Recipient", "Recipient ISO-3",
    "Recipient Region", "Commitment Year", "Flow Type", "Flow Class", "Funding Agencies",
    "Amount (Constant USD 2021)", "Amount (Nominal USD)",
)


def make_client(progress=None, **kwargs) -> HttpClient:
    """jlac's default client (``jlac.connectors.make_client``)."""
    return connectors.make_client(progress=progress, **kwargs)


def check_zip(path: Path, label: str) -> int:
    """The zip holds the GCDF workbook with the expected header; return its number of data rows."""
    head = path.read_bytes()[:400]
    if b"<html" in head.lower() or b"<!doctype" in head.lower():
        raise FetchError(f"{label}: an HTML page where the GCDF zip was expected: {head[:120]!r}")
    try:
        with zipfile.ZipFile(path) as zf:
            books = [n for n in zf.namelist() if n.lower().endswith(".xlsx") and not n.startswith("__MACOSX")]
            if not books:
                raise FetchError(f"{label}: the zip holds no .xlsx workbook (found {zf.namelist()[:5]})")
            workdir = path.parent / f".{path.name}-xlsx"
            workdir.mkdir(exist_ok=True)
            book = Path(zf.extract(books[0], workdir))
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{label}: not a zip file ({exc}); truncated download or error page?") from None
    except (zlib.error, EOFError) as exc:  # the directory reads, a member's deflate stream does not (damaged bytes)
        raise FetchError(f"{label}: the zip's workbook does not decompress ({exc}); damaged download?") from None
    try:
        wb = CalamineWorkbook.from_path(str(book))
        if SHEET not in wb.sheet_names:
            raise FetchError(f"{label}: workbook {books[0]} has no sheet {SHEET!r} (sheets: {wb.sheet_names})")
        rows = wb.get_sheet_by_name(SHEET).to_python(skip_empty_area=True)
    except CalamineError as exc:
        raise FetchError(f"{label}: workbook {books[0]} is not readable ({exc})") from None
    finally:
        book.unlink(missing_ok=True)
    header = [str(c).strip() for c in (rows[0] if rows else [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FetchError(f"{label}: sheet {SHEET} lacks column(s) {missing}; AidData changed the layout?")
    if len(rows) < 2:
        raise FetchError(f"{label}: sheet {SHEET} has a header but no project (empty result)")
    return len(rows) - 1


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch the GCDF 3.0 zip; a new vintage only when it differs from the latest one."""
    url = f"{base_url('JLAC_AIDDATA_URL', DEFAULT_URL)}/ad4/datasets/{FILE}"
    previous = latest_snapshot(SOURCE_NAME, settings)
    with staging(settings, SOURCE_NAME) as staged:
        path, got = staged.get(client, FILE, url, previous, SOURCE_NAME)
        projects = check_zip(path, f"{SOURCE_NAME} GET {got}")
        metadata = {
            "title": "AidData's Global Chinese Development Finance Dataset, Version 3.0 (project level)",
            "publisher": "AidData at William & Mary",
            "publisher_url": "https://www.aiddata.org/data/aiddatas-global-chinese-development-finance-dataset"
            "-version-3-0",
            "license": "CC BY 4.0",
            "format": f"zip holding one .xlsx; sheet {SHEET}, one row per project ({projects} rows), 126 columns",
            "units": "US dollars: nominal, and constant 2021",
        }
        return store_if_changed(settings, staged, metadata, client)
