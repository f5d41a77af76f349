"""OECD Data Explorer (SDMX REST, CSV with labels): DAC Table 2a, and CRS activities for Figure 3's donors.

DAC2A: ``<JLAC_OECD_URL>/data/OECD.DCD.FSD,DSD_DAC2@DF_DAC2A,/<donors>.<recipients>.206.USD.V`` with
``startPeriod``, ``dimensionAtObservation=AllDimensions`` and ``format=csvfilewithlabels`` -> ``DAC2A.csv`` in
the ``oecd-dac2a-api`` source (parser ``jlac.sources.oecd_dac2a_api``). Donors: Japan, Korea and all official
donors (ALLD); recipients: the 33 CELAC states. It is its own source, not a vintage of the mirror's
``oecd-dac2a`` (every recipient x ~150 donors), which this slice would otherwise replace as the newest
vintage. Measure 206 = ODA disbursements (net), USD, current prices (V). No key is needed. The OECD updates
DAC2A twice a year (preliminary in April, final in December).

CRS: ``<JLAC_OECD_DCD_URL>/data/OECD.DCD.FSD,DSD_CRS@DF_CRS,<version>/<donors>.<recipients>..100+14...C+D.V.DD..USD``
(activity-level ODA and OOF commitments and disbursements of Japan and Korea to CELAC) -> ``CRS.csv`` in the
``oecd-crs-api`` source, through :func:`fetch_crs` (registered as ``jlac.connectors.oecd_crs``; parser
``jlac.sources.oecd_crs_api``).

Every body is checked with the parser's own reader before anything is stored; an empty result, an HTML page,
a changed schema or a different measure fail the source with the request in the message.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from jlac import connectors
from jlac.config import Settings
from jlac.connectors import FetchError, FetchResult, base_url, staging, store_if_changed
from jlac.countries import CELAC
from jlac.errors import ParseError
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot
from jlac.sources import oecd_crs_api, oecd_dac2a

SOURCE_NAME = "oecd-dac2a-api"
CRS_SOURCE_NAME = "oecd-crs-api"
DEFAULT_URL = "https://sdmx.oecd.org/public/rest"
DEFAULT_DCD_URL = "https://sdmx.oecd.org/dcd-public/rest"
DAC2A_FLOW = "OECD.DCD.FSD,DSD_DAC2@DF_DAC2A,"  # empty version = latest
CRS_FLOW = "OECD.DCD.FSD,DSD_CRS@DF_CRS,1.6"
DONORS = ("ALLD", "JPN", "KOR")
CRS_DONORS = ("JPN", "KOR")
START_YEAR = 2000
PARAMS = {"startPeriod": str(START_YEAR), "dimensionAtObservation": "AllDimensions", "format": "csvfilewithlabels"}
CRS_COLUMNS = oecd_crs_api.REQUIRED


def make_client(progress=None, **kwargs) -> HttpClient:
    return connectors.make_client(progress=progress, **kwargs)


def dac2a_key(donors=DONORS, recipients=None) -> str:
    """The SDMX key DONOR.RECIPIENT.MEASURE.UNIT_MEASURE.PRICE_BASE for ODA disbursements, USD, current."""
    return f"{'+'.join(donors)}.{'+'.join(sorted(recipients or CELAC))}.206.USD.V"


def _text_head(path: Path, label: str, expected: str) -> str:
    raw = path.read_bytes()
    text = raw[:2000].decode("utf-8-sig", errors="replace")
    if not raw.strip():
        raise FetchError(f"{label}: empty body where {expected} was expected")
    if "<html" in text.lower() or text.lstrip().startswith("<"):
        raise FetchError(f"{label}: an HTML/XML page where {expected} was expected: {text[:160]!r}")
    if "NoRecordsFound" in text or "NoResultsFound" in text:
        raise FetchError(f"{label}: the OECD answered 'no records found' (query matched nothing)")
    return text


def check_dac2a(path: Path, label: str) -> int:
    """Read the body with the DAC2A SDMX reader; return its row count, or raise FetchError naming the request."""
    text = _text_head(path, label, "an SDMX CSV of DAC2A")
    if not text.startswith("STRUCTURE,"):
        raise FetchError(f"{label}: expected an SDMX CSV starting 'STRUCTURE,', found {text[:80]!r}")
    with duckdb.connect() as con:
        try:
            rows = oecd_dac2a.sdmx_relation(con, path, path.name).fetchall()
        except (ParseError, duckdb.Error) as exc:
            raise FetchError(f"{label}: {exc}") from None
    if not rows:
        raise FetchError(f"{label}: the CSV has a header but no observation (empty result)")
    bad = [r for r in rows if r[2] is None or _not_number(r[5])]
    if bad:
        raise FetchError(f"{label} line {bad[0][1]}: expected a year and a number, found {bad[0][2]!r}, {bad[0][5]!r}")
    return len(rows)


def _not_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return True
    return False


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch DAC2A for Japan, Korea and all official donors to CELAC; a new vintage only when it changed."""
    url = f"{base_url('JLAC_OECD_URL', DEFAULT_URL)}/data/{DAC2A_FLOW}/{dac2a_key()}"
    previous = latest_snapshot(SOURCE_NAME, settings)
    name = "DAC2A.csv"
    with staging(settings, SOURCE_NAME) as staged:
        path, got = staged.get(client, name, url, previous, SOURCE_NAME, params=PARAMS)
        check_dac2a(path, f"{SOURCE_NAME} GET {got}")
        metadata = {
            "title": "OECD DAC Table 2a: ODA disbursements by donor and recipient (Data Explorer, SDMX CSV)",
            "publisher": "OECD Development Assistance Committee",
            "publisher_url": "https://data-explorer.oecd.org/ (DSD_DAC2@DF_DAC2A)",
            "license": "OECD content from July 2024: CC BY 4.0",
            "format": "SDMX CSV with labels (csvfilewithlabels), one row per donor, recipient and year; "
            f"donors {', '.join(DONORS)}; recipients the 33 CELAC states; MEASURE 206, USD, PRICE_BASE V",
            "units": "US dollars x 10^UNIT_MULT (millions when UNIT_MULT=6), current prices, net disbursements",
        }
        return store_if_changed(settings, staged, metadata, client)


def check_crs(path: Path, label: str) -> int:
    """Read the body with the oecd-crs-api parser's reader; return its row count, or raise FetchError."""
    text = _text_head(path, label, "an SDMX CSV of CRS")
    if not text.startswith("STRUCTURE,"):
        raise FetchError(f"{label}: expected an SDMX CSV starting 'STRUCTURE,', found {text[:80]!r}")
    with duckdb.connect() as con:
        try:
            return len(oecd_crs_api.sdmx_relation(con, path, path.name).fetchall())
        except (ParseError, duckdb.Error) as exc:
            raise FetchError(f"{label}: {exc}") from None


def fetch_crs(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch CRS activities (ODA and OOF, commitments and disbursements) of Japan and Korea to CELAC."""
    key = f"{'+'.join(CRS_DONORS)}.{'+'.join(sorted(CELAC))}..100+14...C+D.V.DD..USD"
    url = f"{base_url('JLAC_OECD_DCD_URL', DEFAULT_DCD_URL)}/data/{CRS_FLOW}/{key}"
    previous = latest_snapshot(CRS_SOURCE_NAME, settings)
    name = "CRS.csv"
    with staging(settings, CRS_SOURCE_NAME) as staged:
        path, got = staged.get(client, name, url, previous, CRS_SOURCE_NAME, params=PARAMS)
        check_crs(path, f"{CRS_SOURCE_NAME} GET {got}")
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
