"""FRED EXJPUS (yen per US dollar, monthly) as fredgraph CSV; no key needed.

``<JLAC_FRED_URL>/graph/fredgraph.csv?id=EXJPUS`` -> ``EXJPUS.csv`` in the layout of the mirrored
snapshot (``observation_date,EXJPUS``), which ``jlac.sources.fred_exjpus.source`` parses. FRED's older
CSVs named the first column ``DATE``; that header is rewritten so both parse the same way.
FRED updates EXJPUS monthly, early in the month after (H.10 release).
"""

from __future__ import annotations

import re
from pathlib import Path

from jlac import connectors
from jlac.config import Settings
from jlac.connectors import FetchError, FetchResult, base_url, check_not_cut_short, staging, store_if_changed
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot

SOURCE_NAME = "fred-exjpus"
FETCH_ORDER = 20  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("fred",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DEFAULT_URL = "https://fred.stlouisfed.org"
SERIES = "EXJPUS"
HEADER = f"observation_date,{SERIES}"
_ROW = re.compile(r"^\d{4}-\d{2}-01,(\d+(\.\d+)?|\.|)$")


def make_client(progress=None, **kwargs) -> HttpClient:
    return connectors.make_client(progress=progress, **kwargs)


def check_csv(path: Path, label: str, previous=None, name: str = f"{SERIES}.csv", settings: Settings | None = None
              ) -> None:
    """Normalise the header and check every row is 'YYYY-MM-01,<rate or . or empty>', the body ends with a line
    break and holds at least the months of the ``previous`` vintage (FRED sends the whole series each time); with
    ``settings``, of the newest vintage the source can read (``jlac.connectors.check_not_cut_short``)."""
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if not text.strip():
        raise FetchError(f"{label}: empty body where the fredgraph CSV was expected")
    if not lines[0].strip():  # a text page ("Service temporarily unavailable") was called an empty body (QA pass)
        raise FetchError(f"{label}: a text page where the fredgraph CSV was expected: {text.strip()[:160]!r}")
    if "<html" in text[:300].lower():
        raise FetchError(f"{label}: an HTML page where the fredgraph CSV was expected: {text[:120]!r}")
    header = lines[0].strip()
    if header == f"DATE,{SERIES}":
        header = HEADER
    if header != HEADER:
        raise FetchError(f"{label}: expected the header {HEADER!r}, found {lines[0][:80]!r}; format changed?")
    rows = [ln.strip() for ln in lines[1:] if ln.strip()]
    if not rows:
        raise FetchError(f"{label}: the CSV has a header but no observation (empty result)")
    for i, row in enumerate(rows, 2):
        if not _ROW.match(row):
            raise FetchError(f"{label} line {i}: expected 'YYYY-MM-01,<yen per dollar>', found {row[:60]!r}")
    check_not_cut_short(path, previous, name, label, line_end=True, settings=settings)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch the series; a new vintage only when the CSV differs from the latest one."""
    url = f"{base_url('JLAC_FRED_URL', DEFAULT_URL)}/graph/fredgraph.csv"
    previous = latest_snapshot(SOURCE_NAME, settings)
    name = f"{SERIES}.csv"
    with staging(settings, SOURCE_NAME) as staged:
        path, got = staged.get(client, name, url, previous, "fred-exjpus", params={"id": SERIES})
        check_csv(path, f"fred-exjpus GET {got}", previous, name, settings)
        metadata = {
            "title": "Japanese yen per US dollar, monthly average (FRED series EXJPUS, Federal Reserve H.10)",
            "publisher": "Board of Governors of the Federal Reserve System, via FRED "
            "(Federal Reserve Bank of St. Louis)",
            "publisher_url": "https://fred.stlouisfed.org/series/EXJPUS",
            "license": "Public domain (Federal Reserve data); cite FRED",
            "format": "CSV: observation_date (YYYY-MM-01), EXJPUS (yen per 1 USD), as fredgraph.csv",
            "units": "JPY per USD, monthly average of noon buying rates",
        }
        return store_if_changed(settings, staged, metadata, client)
