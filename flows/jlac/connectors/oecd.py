"""What the OECD Data Explorer connectors share (``oecd-dac2a-api``, ``oecd-crs-api``): SDMX CSV request
parameters, the client, and the first look at a body."""

from __future__ import annotations

from pathlib import Path

from jlac import connectors
from jlac.connectors import FetchError
from jlac.http import HttpClient

DEFAULT_URL = "https://sdmx.oecd.org/public/rest"
START_YEAR = 2000
PARAMS = {"startPeriod": str(START_YEAR), "dimensionAtObservation": "AllDimensions", "format": "csvfilewithlabels"}


def make_client(progress=None, **kwargs) -> HttpClient:
    """jlac's default client (the Data Explorer needs no key and no pacing)."""
    return connectors.make_client(progress=progress, **kwargs)


def text_head(path: Path, label: str, expected: str) -> str:
    """The body's first 2,000 characters; a FetchError for an empty body, an HTML page or "no records found"."""
    raw = path.read_bytes()
    text = raw[:2000].decode("utf-8-sig", errors="replace")
    if not raw.strip():
        raise FetchError(f"{label}: empty body where {expected} was expected")
    if "<html" in text.lower() or text.lstrip().startswith("<"):
        raise FetchError(f"{label}: an HTML/XML page where {expected} was expected: {text[:160]!r}")
    if "NoRecordsFound" in text or "NoResultsFound" in text:
        raise FetchError(f"{label}: the OECD answered 'no records found' (query matched nothing)")
    return text
