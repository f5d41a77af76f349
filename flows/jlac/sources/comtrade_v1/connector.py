"""UN Comtrade API v1: total goods trade of Japan, China and the United States with each CELAC
state and the world.

Without a key: the public preview ``<base>/public/v1/preview/C/A/HS`` (at most 500 records per
call). With ``JLAC_COMTRADE_KEY``: ``<base>/data/v1/get/C/A/HS``, the key sent in the
``Ocp-Apim-Subscription-Key`` header (never in the URL, so never in a manifest). One request per
reporter and block of at most five years (Comtrade's limit per call). Environment: JLAC_COMTRADE_URL,
JLAC_COMTRADE_KEY, JLAC_COMTRADE_START (default 2015), JLAC_COMTRADE_END (default two years ago).

Every record must be for its query: the reporter, a partner, flow (X, M) and year asked, annual (freqCode A, a
period YYYY), cmdCode TOTAL and, where the record says them, motCode 0, partner2Code 0 and customsCode C00; otherwise
the fetch fails naming the records, and nothing is stored. An empty answer (count 0) for one reporter and block of
years is that part's no data: the previous vintage's file for it is kept (checked against that vintage's manifest),
the log (WARNING) and the manifest's ``note`` say so; only a fetch in which every answer is empty fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import date
from pathlib import Path

import pycountry

from jlac import connectors
from jlac.config import Settings, env_number
from jlac.connectors import FetchError, FetchResult, base_url, staging, store_if_changed
from jlac.countries import CELAC
from jlac.errors import ParseError, SettingError
from jlac.http import HttpClient
from jlac.snapshots import Snapshot, latest_snapshot
from jlac.sources.comtrade_v1.source import NoRecords, read_comtrade_json

log = logging.getLogger(__name__)

SOURCE_NAME = "comtrade-v1"
FETCH_ORDER = 60  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("comtrade",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DEFAULT_URL = "https://comtradeapi.un.org"
REPORTERS = {"JPN": 392, "CHN": 156, "USA": 842}


def make_client(progress=None, **kwargs) -> HttpClient:
    """jlac's client paced to one request a second (the free tier), with the API key kept out of its logs."""
    kwargs.setdefault("min_interval", 1.0)  # the free tier allows about one call per second
    kwargs.setdefault("secrets", [api_key()])
    return connectors.make_client(progress=progress, **kwargs)


def api_key() -> str:
    """JLAC_COMTRADE_KEY without surrounding white space: a key read from a file keeps its line break, which no
    header may carry (the request failed before it was sent)."""
    return os.environ.get("JLAC_COMTRADE_KEY", "").strip()


def partner_codes() -> list[int]:
    """World (0) and the CELAC states' M49 codes (Comtrade's own variants coincide for these)."""
    return [0, *sorted(int(pycountry.countries.get(alpha_3=c).numeric) for c in CELAC)]


def year_blocks(start: int, end: int, size: int = 5) -> list[list[int]]:
    return [list(range(y, min(y + size, end + 1))) for y in range(start, end + 1, size)]


def data_fingerprint(path: Path) -> str:
    """sha256 of the response without ``elapsedTime``, which differs on every call."""
    doc = json.loads(path.read_bytes())
    doc.pop("elapsedTime", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch every reporter x year block; a vintage only when the data differ from the latest one."""
    base = base_url("JLAC_COMTRADE_URL", DEFAULT_URL)
    key = api_key()
    client.add_secret(key)
    url = f"{base}/data/v1/get/C/A/HS" if key else f"{base}/public/v1/preview/C/A/HS"
    headers = {"Ocp-Apim-Subscription-Key": key} if key else {}
    start = env_number("JLAC_COMTRADE_START", 2015, minimum=1962)  # Comtrade's first year
    end = env_number("JLAC_COMTRADE_END", date.today().year - 2, minimum=1962)
    if end < start:
        raise SettingError(f"comtrade-v1: JLAC_COMTRADE_START={start} is after JLAC_COMTRADE_END={end}: "
                           "no year to fetch")
    previous = latest_snapshot(SOURCE_NAME, settings)
    partners = ",".join(str(p) for p in partner_codes())
    empty: list[str] = []  # files whose answer held no record
    with staging(settings, SOURCE_NAME) as staged:
        for iso3, code in REPORTERS.items():
            for years in year_blocks(start, end):
                name = f"comtrade_{iso3}_{years[0]}-{years[-1]}.json"
                params = {
                    "reporterCode": code,
                    "partnerCode": partners,
                    "period": ",".join(map(str, years)),
                    "flowCode": "X,M",
                    "cmdCode": "TOTAL",
                    "motCode": 0,
                    "partner2Code": 0,
                    "customsCode": "C00",
                    "includeDesc": "true",
                }
                try:
                    path, got = staged.get(client, name, url, previous,
                                           f"comtrade-v1 {iso3} {years[0]}-{years[-1]}", params=params,
                                           headers=headers)
                except FetchError as exc:
                    if getattr(getattr(exc, "http", None), "status", None) not in (401, 403):
                        raise
                    # the body names "subscription key", not the setting that holds it (found by a QA pass)
                    said = "the key it holds was refused" if api_key() else "unset, and the API asks for a key"
                    raise FetchError(f"{exc}; check JLAC_COMTRADE_KEY ({said})") from None
                try:
                    rows = read_comtrade_json(path, f"comtrade-v1 GET {got}")
                except NoRecords as exc:  # that reporter's years without data: the others are kept
                    log.warning("%s", client.redact(str(exc)))
                    empty.append(name)
                    continue
                except ParseError as exc:
                    raise FetchError(client.redact(str(exc))) from None
                # an API that ignores a renamed or misspelt parameter answers another query: not stored as this one
                odd = sorted({(r[0], r[5]) for r in rows if r[0] != code or r[5] not in years})
                if odd:
                    raise FetchError(client.redact(
                        f"comtrade-v1 GET {got}: the answer is not for the query: (reporterCode, period) "
                        f"{odd[:5]}{' ...' if len(odd) > 5 else ''} where reporterCode {code} ({iso3}) and period "
                        f"{','.join(map(str, years))} were asked; nothing was stored"))
                check_records(path, params, client.redact(f"comtrade-v1 GET {got}"))
        if len(empty) == len(staged.files):
            raise FetchError(f"comtrade-v1: every answer is empty (count 0: {', '.join(empty)}); nothing was stored")
        notes, kept = keep_previous(staged, previous, empty)
        metadata = {
            "title": "UN Comtrade, total goods trade by partner (cmdCode TOTAL), API v1",
            "publisher": "United Nations Statistics Division (UN Comtrade)",
            "publisher_url": "https://comtradeplus.un.org/",
            "license": "UN Comtrade terms of use (attribution; redistribution restricted)",
            "endpoint": "data (subscription key)" if key else "public preview (no key)",
            "query": {"base_url": base, "start": start, "end": end, "reporters": list(REPORTERS)},
        }
        if kept and previous is not None:
            metadata["kept_from_previous"] = {"vintage": previous.vintage, "files": kept}
        if notes:
            metadata["note"] = "; ".join(notes)
        return store_if_changed(settings, staged, metadata, client, data_fingerprint)


# what each record must say, as asked (a record leaving out one of the last three is not refused for it)
def _asked(params: dict) -> dict[str, set[str]]:
    return {
        "reporterCode": {str(params["reporterCode"])},
        "partnerCode": set(str(params["partnerCode"]).split(",")),
        "flowCode": set(params["flowCode"].split(",")),
        "period": set(str(params["period"]).split(",")),
        "freqCode": {"A"},
        "cmdCode": {params["cmdCode"]},
        "motCode": {str(params["motCode"])},
        "partner2Code": {str(params["partner2Code"])},
        "customsCode": {params["customsCode"]},
    }


_OPTIONAL = ("freqCode", "motCode", "partner2Code", "customsCode")


def check_records(path: Path, params: dict, label: str) -> None:
    """Every record of the answer is for the query ``params``: reporter, partner, flow, year, frequency, commodity,
    mode of transport, second partner and customs procedure as asked. A cmdCode 27 answer (mineral fuels, not the
    total) was stored and took Comtrade out of the marts; a record of another partner or flow was stored as if asked
    (found by a QA pass). Raises FetchError naming the records; nothing is stored."""
    asked = _asked(params)
    records = json.loads(path.read_bytes()).get("data") or []
    wrong = []
    for i, rec in enumerate(records):
        off = [f"{k} {rec.get(k)!r}" for k, allowed in asked.items()
               if not (k in _OPTIONAL and rec.get(k) is None) and str(rec.get(k)) not in allowed]
        if off:
            wrong.append(f"data[{i}] (reporterCode {rec.get('reporterCode')}, partnerCode {rec.get('partnerCode')}, "
                         f"flowCode {rec.get('flowCode')}, period {rec.get('period')}): {', '.join(off)}")
    if wrong:
        what = {k: ",".join(sorted(v)) if k != "partnerCode" else "World (0) and the CELAC states"
                for k, v in asked.items()}
        raise FetchError(f"{label}: the answer is not for the query: {len(wrong)} record(s) with values not asked "
                         f"for: {'; '.join(wrong[:5])}{' ...' if len(wrong) > 5 else ''}; asked: "
                         f"{', '.join(f'{k} {v}' for k, v in what.items())}; nothing was stored")


def keep_previous(staged, previous: Snapshot | None, empty: list[str]) -> tuple[list[str], list[str]]:
    """For each answer without records: the previous vintage's file of that reporter and years in its place (copied,
    checked against that vintage's manifest), else no file. Returns the notes for the manifest and the files kept."""
    notes, kept = [], []
    listed = {f.path: f for f in previous.files} if previous is not None else {}
    for name in empty:
        del staged.files[name]
        staged.requests = [r for r in staged.requests if r["file"] != name]
        if name not in listed:
            notes.append(f"Comtrade answered no record for {name}: no earlier file of it, left out")
            log.warning("comtrade-v1: no record for %s and no earlier file of it: left out of the vintage", name)
            continue
        staged.keep(previous, name, "for an answer without records")
        kept.append(name)
        notes.append(f"Comtrade answered no record for {name}: the file of the previous vintage {previous.vintage} "
                     "is kept")
        log.warning("comtrade-v1: no record for %s: the previous vintage %s's file is kept", name, previous.vintage)
    return notes, kept
