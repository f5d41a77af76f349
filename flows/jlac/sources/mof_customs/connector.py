"""Japan MOF customs flat CSVs (no key): world and partner-area monthly totals in thousand yen.

``<JLAC_MOF_URL>/suii/html/data/<file>`` for each file in JLAC_MOF_FILES (comma-separated, default
``d41ma.csv``, the world totals; add ``d42maNNN.csv`` region files as needed). MOF publishes
monthly (preliminary figures about three weeks after the month, confirmed figures later).
"""

from __future__ import annotations

import os

from jlac import connectors
from jlac.config import Settings
from jlac.connectors import FetchError, FetchResult, base_url, check_not_cut_short, staging, store_if_changed
from jlac.errors import ParseError
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot
from jlac.sources.mof_customs.source import read_mof_csv

SOURCE_NAME = "mof-customs"
FETCH_ORDER = 30  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("mof_customs",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DEFAULT_URL = "https://www.customs.go.jp/toukei"


def make_client(progress=None, **kwargs) -> HttpClient:
    """jlac's client paced to one request a second."""
    kwargs.setdefault("min_interval", 1.0)
    return connectors.make_client(progress=progress, **kwargs)


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch the configured CSVs; a vintage only when a file's bytes changed."""
    base = base_url("JLAC_MOF_URL", DEFAULT_URL)
    names = [n.strip() for n in os.environ.get("JLAC_MOF_FILES", "d41ma.csv").split(",") if n.strip()]
    previous = latest_snapshot(SOURCE_NAME, settings)
    with staging(settings, SOURCE_NAME) as staged:
        for name in names:
            path, got = staged.get(client, name, f"{base}/suii/html/data/{name}", previous, f"mof-customs {name}",
                                   lines=True)
            try:
                read_mof_csv(path, f"mof-customs GET {got}")
            except ParseError as exc:
                raise FetchError(str(exc)) from None
            # MOF re-sends each file whole (every month since 1979, then months padded with zeros): compared with the
            # newest vintage the source can read
            check_not_cut_short(path, previous, name, f"mof-customs GET {got}", settings=settings)
        metadata = {
            "title": "Trade Statistics of Japan: monthly exports and imports by area (flat CSV)",
            "publisher": "Ministry of Finance, Japan (Customs)",
            "publisher_url": "https://www.customs.go.jp/toukei/info/index_e.htm",
            "license": "Government of Japan Standard Terms of Use 2.0 (CC BY 4.0 compatible); attribute MOF",
            "format": "CSV, Shift-JIS (cp932); Years/Months then Exp-/Imp- columns; thousand yen",
            "units": "thousand yen",
        }
        return store_if_changed(settings, staged, metadata, client)
