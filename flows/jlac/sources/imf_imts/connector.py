"""IMF IMTS over SDMX 3.0 (api.imf.org): exports FOB and imports CIF of Japan, China, the United
States and each CELAC reporter with all partners.

One request per reporter, ``<base>/data/dataflow/IMF.STA/IMTS/+/<ISO3>.XG_FOB_USD+MG_CIF_USD.*.<FREQ>``
with a TIME_PERIOD lower bound (without one a reporter's full history is ~16 MB). The IMF asks for
about 10 requests per 5 s, hence the per-host interval. No key is needed.

Environment: JLAC_IMF_URL (base URL), JLAC_IMF_FREQUENCY (A, or M for monthly), JLAC_IMF_START
(first year, default 1990), JLAC_IMF_REPORTERS (comma-separated ISO3 list, default all of the above).

Every answer must be for its query: the series' COUNTRY and FREQUENCY those asked, each TIME_PERIOD of that frequency
(the parser refuses a month in an annual series) and not before the first year asked; otherwise the fetch fails naming
the series and period, and nothing is stored. A reporter whose answer is a data set without observations, or SDMX's
"no results" (HTTP 404 saying "No Results Found"; any other 404 fails the fetch), has no data:
its file is left out of the vintage, the log (WARNING) and the manifest's ``note`` say so, and its values stay in the
warehouse from the earlier vintages (staging takes each value from the newest vintage that has it); only a fetch in
which no reporter has data fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from jlac.config import Settings, env_number
from jlac.connectors import (
    FetchError,
    FetchResult,
    base_url,
    staging,
    store_if_changed,
)
from jlac.connectors import (
    make_client as _make_client,
)
from jlac.countries import CELAC
from jlac.errors import ParseError
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot
from jlac.sources.imf_imts.source import NoObservations, read_imts_xml

log = logging.getLogger(__name__)

SOURCE_NAME = "imf-imts"
FETCH_ORDER = 10  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("imf_imts",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DEFAULT_URL = "https://api.imf.org/external/sdmx/3.0"
REPORTERS = ("JPN", "CHN", "USA", *sorted(CELAC))
INDICATORS = "XG_FOB_USD+MG_CIF_USD"
# SDMX's web-service answer to a query that matches no data: HTTP 404 with error 100, "No Results Found" (the SDMX
# REST standard; .Stat Suite, which serves api.imf.org, says "NoResultsFound"). A 404 saying anything else (a wrong
# base URL, a retired path) is not "no data" and fails the fetch.
NO_RESULTS = re.compile(r"no\s*results?\s*found|NoRecordsFound", re.IGNORECASE)


def no_results(exc: FetchError) -> bool:
    """True when a failed request is SDMX's "no results" answer (404, error 100), not a failure."""
    http = getattr(exc, "http", None)
    return http is not None and http.status == 404 and bool(NO_RESULTS.search(http.body))


def make_client(progress=None, **kwargs) -> HttpClient:
    """jlac's client paced to one request per ``JLAC_IMF_MIN_INTERVAL`` seconds (0.5 by default)."""
    kwargs.setdefault("min_interval", env_number("JLAC_IMF_MIN_INTERVAL", 0.5))
    return _make_client(progress=progress, **kwargs)


def reporters() -> list[str]:
    env = os.environ.get("JLAC_IMF_REPORTERS", "")
    return [r.strip().upper() for r in env.split(",") if r.strip()] or list(REPORTERS)


def request_for(base: str, reporter: str, frequency: str, start: int) -> tuple[str, dict]:
    """URL and query of one reporter's request (the key in the path, the time filter in the query)."""
    url = f"{base}/data/dataflow/IMF.STA/IMTS/+/{reporter}.{INDICATORS}.*.{frequency}"
    params = {
        "c[TIME_PERIOD]": f"ge:{start}-01-01",
        "dimensionAtObservation": "TIME_PERIOD",
        "detail": "full",
        "includeHistory": "false",
    }
    return url, params


def data_fingerprint(path: Path) -> str:
    """sha256 of the message after its <message:Header>: the header's ID and Prepared time change on
    every request even when the data do not."""
    body = path.read_bytes()
    end = body.find(b"</message:Header>")
    return hashlib.sha256(body[end:] if end >= 0 else body).hexdigest()


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch every reporter; write a vintage when any response's data differ from the latest vintage."""
    base = base_url("JLAC_IMF_URL", DEFAULT_URL)
    frequency = os.environ.get("JLAC_IMF_FREQUENCY", "A").upper()
    if frequency not in {"A", "M", "Q"}:
        raise FetchError(f"imf-imts: JLAC_IMF_FREQUENCY={frequency!r}; expected A, M or Q")
    start = env_number("JLAC_IMF_START", 1990, minimum=1948)  # IMF DOTS/IMTS begin in 1948
    previous = latest_snapshot(SOURCE_NAME, settings)
    with staging(settings, SOURCE_NAME) as staged:
        todo = reporters()
        empty: list[str] = []  # reporters whose answer holds no observation
        for i, reporter in enumerate(todo, 1):
            name = f"IMTS_{reporter}_{frequency}.xml"
            url, params = request_for(base, reporter, frequency, start)
            try:
                path, got = staged.get(client, name, url, previous,
                                       f"imf-imts reporter {reporter} ({i}/{len(todo)})", params=params,
                                       headers={"Accept": "application/xml"})
            except FetchError as exc:
                if not no_results(exc):
                    raise
                # that reporter's no data, said as SDMX says it (404, "No Results Found"): the others are kept
                log.warning("%s; SDMX's answer for no data: %s is left out of the vintage", exc, name)
                empty.append(reporter)
                continue
            try:
                rows = read_imts_xml(path, f"imf-imts GET {got}")
            except NoObservations as exc:  # that reporter's no data: the others are kept
                log.warning("%s; %s is left out of the vintage", exc, name)
                empty.append(reporter)
                del staged.files[name]
                staged.requests = [r for r in staged.requests if r["file"] != name]
                continue
            except ParseError as exc:
                raise FetchError(str(exc)) from None
            check_query(rows, reporter, frequency, start, f"imf-imts GET {got}")
        if not staged.files:
            raise FetchError(f"imf-imts: no reporter asked has an observation from {start} (empty data sets for "
                             f"{', '.join(empty)}); nothing was stored")
        metadata = {
            "title": "IMF International Trade in Goods (by partner country), IMTS, SDMX 3.0",
            "publisher": "International Monetary Fund, Statistics Department",
            "publisher_url": "https://data.imf.org/en/datasets/IMF.STA:IMTS",
            "license": "IMF terms of use (free reuse with attribution)",
            "format": "SDMX-ML 3.0 StructureSpecificData, one file per reporter; OBS_VALUE in plain USD "
            "although SCALE=6",
            "query": {
                "base_url": base,
                "frequency": frequency,
                "start": start,
                "reporters": todo,
                "indicators": INDICATORS.split("+"),
            },
        }
        if empty:
            metadata["note"] = (f"IMTS answered no observation for {', '.join(empty)} (frequency {frequency}, from "
                                f"{start}): {'their files are' if len(empty) > 1 else 'its file is'} not in this "
                                "vintage; values of earlier vintages stay in the warehouse (staging takes each "
                                "value from the newest vintage that has it)")
        return store_if_changed(settings, staged, metadata, client, data_fingerprint)


def check_query(rows: list[tuple], reporter: str, frequency: str, start: int, label: str) -> None:
    """Every series is the reporter and frequency asked for and every period from ``start`` on: an API that ignores a
    changed key or filter answers another query (a year before the asked range was stored; found by a QA pass).
    Raises FetchError naming the series and periods."""
    odd = sorted({(r[0], r[4]) for r in rows if r[0] != reporter or r[4] != frequency})
    if odd:
        raise FetchError(f"{label}: the answer is not for the query: series of (COUNTRY, FREQUENCY) "
                         f"{odd[:5]} where {reporter}, {frequency} was asked; nothing was stored")
    early = sorted({(f"{r[0]}.{r[1]}.{r[3]}.{r[4]}", r[5]) for r in rows if r[6] < start})
    if early:
        shown = ", ".join(f"{series} {period}" for series, period in early[:5])
        raise FetchError(f"{label}: the answer is not for the query: TIME_PERIOD before {start} (ge:{start}-01-01 was "
                         f"asked): {shown}{' ...' if len(early) > 5 else ''} ({len(early)} observation(s)); nothing "
                         "was stored")
