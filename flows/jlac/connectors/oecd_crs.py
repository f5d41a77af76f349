"""OECD CRS activities of Japan and Korea to CELAC (Data Explorer, SDMX CSV) into the ``oecd-crs-api`` source.

The request, checks and HTTP behaviour live in :mod:`jlac.connectors.oecd` beside DAC2A (same API, same
format); this module gives the connector registry the ``SOURCE_NAME`` / ``fetch`` pair it expects.
"""

from __future__ import annotations

from jlac.config import Settings
from jlac.connectors import FetchResult, oecd
from jlac.http import HttpClient

SOURCE_NAME = oecd.CRS_SOURCE_NAME
make_client = oecd.make_client


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch CRS commitments and gross disbursements of Japan and Korea to CELAC; new vintage only when changed."""
    return oecd.fetch_crs(settings, client)
