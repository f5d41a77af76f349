"""OECD CRS activities of Japan and Korea to CELAC (Data Explorer, SDMX CSV) into the ``oecd-crs-api`` source.

``<JLAC_OECD_DCD_URL>/data/OECD.DCD.FSD,DSD_CRS@DF_CRS,<version>/<donors>.<recipients>..100+14...C+D.V.DD..USD``
(activity-level ODA and OOF commitments and disbursements of Japan and Korea to CELAC) -> ``CRS.csv``, parsed by
``jlac.sources.oecd_crs_api.source``. Same API and format as DAC2A (``oecd-dac2a-api``): the request parameters,
HTTP client and first body check are shared, in ``jlac.connectors.oecd``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from jlac.config import Settings
from jlac.connectors import FetchError, FetchResult, base_url, check_not_cut_short, staging, store_if_changed
from jlac.connectors.oecd import PARAMS, text_head
from jlac.connectors.oecd import make_client as make_client
from jlac.countries import CELAC
from jlac.errors import ParseError
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot
from jlac.sources.oecd_crs_api.source import sdmx_relation

SOURCE_NAME = "oecd-crs-api"
FETCH_ORDER = 80  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("oecd_crs",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DEFAULT_DCD_URL = "https://sdmx.oecd.org/dcd-public/rest"
CRS_FLOW = "OECD.DCD.FSD,DSD_CRS@DF_CRS,1.6"
CRS_DONORS = ("JPN", "KOR")


def check_crs(path: Path, label: str, name: str = "CRS.csv") -> int:
    """Read the body with the oecd-crs-api parser's reader; return its row count, or raise FetchError naming the
    request and ``name``, the file the body is stored as (not the temporary ``.part-...`` it is in). Every row must be
    of the donors, recipients and activity level (MD_DIM DD) asked for."""
    text = text_head(path, label, "an SDMX CSV of CRS")
    if not text.startswith("STRUCTURE,"):
        raise FetchError(f"{label}: expected an SDMX CSV starting 'STRUCTURE,', found {text[:80]!r}")
    with duckdb.connect() as con:
        try:
            count = len(sdmx_relation(con, path, name).fetchall())
        except (ParseError, duckdb.Error) as exc:
            raise FetchError(f"{label}: {exc}") from None
    check_query(path, label, name)
    return count


ASKED = {"DONOR": set(CRS_DONORS), "RECIPIENT": set(CELAC), "MD_DIM": {"DD"}}


def check_query(path: Path, label: str, name: str) -> None:
    """Every row is of a donor (DONOR), recipient (RECIPIENT) and activity level (MD_DIM, where the answer has it) the
    key asked for: an API ignoring a part of the key answers another query (other donors, regional recipients, the
    aggregates above activities), whose rows were stored as this one's (found by a QA pass). Raises FetchError naming
    the lines."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        columns = {c: header.index(c) for c in ASKED if c in header}
        other = []
        for line, row in enumerate(reader, 2):
            if not any(cell.strip() for cell in row):
                continue
            off = [f"{c} {row[j]!r}" for c, j in columns.items() if j >= len(row) or row[j].strip() not in ASKED[c]]
            if off:
                other.append(f"line {line}: {', '.join(off)}")
    if other:
        raise FetchError(f"{label}: the answer is not for the query: {len(other)} row(s) of donors, recipients or "
                         f"activity levels not asked for ({name} {'; '.join(other[:5])}"
                         f"{' ...' if len(other) > 5 else ''}); asked: DONOR {'+'.join(CRS_DONORS)}, RECIPIENT the 33 "
                         "CELAC states, MD_DIM DD; nothing was stored")


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch CRS activities (ODA and OOF, commitments and disbursements) of Japan and Korea to CELAC."""
    key = f"{'+'.join(CRS_DONORS)}.{'+'.join(sorted(CELAC))}..100+14...C+D.V.DD..USD"
    url = f"{base_url('JLAC_OECD_DCD_URL', DEFAULT_DCD_URL)}/data/{CRS_FLOW}/{key}"
    previous = latest_snapshot(SOURCE_NAME, settings)
    name = "CRS.csv"
    with staging(settings, SOURCE_NAME) as staged:
        path, got = staged.get(client, name, url, previous, SOURCE_NAME, lines=True, params=PARAMS)
        # the reader's messages name the file they read: the one it is stored as, not the temporary .part-...
        path = staged.files[name] = path.rename(staged.workdir / name)
        check_crs(path, f"{SOURCE_NAME} GET {got}", name)
        # the query re-sends every year from START_YEAR: fewer lines than the newest vintage the source reads is a
        # body cut short (a cut one was stored and published, 2 of 5 rows gone: found by a QA pass)
        check_not_cut_short(path, previous, name, f"{SOURCE_NAME} GET {got}", settings=settings)
        metadata = {
            "title": "OECD Creditor Reporting System: activities of Japan and Korea to CELAC (SDMX CSV)",
            "publisher": "OECD Development Assistance Committee",
            "publisher_url": "https://data-explorer.oecd.org/ (DSD_CRS@DF_CRS)",
            "license": "OECD content from July 2024: CC BY 4.0",
            "format": "SDMX CSV with labels; MEASURE 100 (ODA) and 14 (OOF), FLOW_TYPE C (commitments) and D "
            "(disbursements, gross), PRICE_BASE V, MD_DIM DD (activity level)",
            "units": "US dollars x 10^UNIT_MULT, current prices",
        }
        return store_if_changed(settings, staged, metadata, client)
