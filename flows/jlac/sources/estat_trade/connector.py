"""e-Stat API v3 (JSON) for MOF's trade-by-country tables; needs a free appId.

The appId comes from JLAC_ESTAT_APPID, or from the Prefect Secret block named in
JLAC_ESTAT_APPID_BLOCK; without one the source is skipped. For each table in JLAC_ESTAT_TABLES
(default 0003425295,0003425296: 概況品別国別表 2021-25, exports and imports) the connector asks
``getMetaInfo`` for the code lists, resolves the commodity total (cat01) and the annual value item
(cat02) by their labels (override with JLAC_ESTAT_CAT01 / JLAC_ESTAT_CAT02: the codes differ
between table families), then pages through ``getStatsData`` with ``startPosition`` = NEXT_KEY
until the last page. The appId travels in the query string, so the client redacts it everywhere.
"""

from __future__ import annotations

import os

from jlac.config import Settings, env_number
from jlac.connectors import FetchError, FetchResult, base_url, staging, store_if_changed
from jlac.connectors.estat import DEFAULT_URL, app_id, data_fingerprint
from jlac.connectors.estat import make_client as make_client  # e-Stat's pacing
from jlac.errors import ParseError
from jlac.http import HttpClient, HttpError
from jlac.sources.estat_trade.source import Paging, class_lists, data_values, read_envelope, table_flow

SOURCE_NAME = "estat-trade"
FETCH_ORDER = 40  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("estat",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DEFAULT_TABLES = "0003425295,0003425296"
MAX_PAGES = 500


def resolve(classes: dict[str, list[dict]], table: str) -> tuple[str, str]:
    """(cat01 code of the commodity total, cat02 code of the annual value), from labels or overrides."""
    cat01 = os.environ.get("JLAC_ESTAT_CAT01")
    if not cat01:
        hits = [
            c["@code"]
            for c in classes.get("cat01", [])
            if "総額" in c.get("@name", "") or set(c["@code"]) == {"0"}
        ]
        if not hits:
            raise FetchError(
                f"estat-trade table {table}: no commodity total (総額 / 000...) among the cat01 codes; "
                "set JLAC_ESTAT_CAT01"
            )
        cat01 = hits[0]
    cat02 = os.environ.get("JLAC_ESTAT_CAT02")
    if not cat02:
        items = classes.get("cat02", [])
        hits = [
            c["@code"]
            for c in items
            if "金額" in c.get("@name", "") and "年" in c.get("@name", "") and "月" not in c.get("@name", "")
        ]
        if len(hits) != 1:
            names = [f"{c['@code']}={c.get('@name')}" for c in items][:20]
            raise FetchError(
                f"estat-trade table {table}: expected one annual value item (金額, 年) among cat02, "
                f"found {hits or 'none'} in {names}; set JLAC_ESTAT_CAT02"
            )
        cat02 = hits[0]
    return cat01, cat02


def _get(client: HttpClient, staged, url: str, params: dict, name: str, root: str) -> dict:
    try:
        download = client.download(url, staged.workdir, params=params)
    except HttpError as exc:
        raise FetchError.from_http(f"estat-trade {name}", exc) from None
    path = staged.add(name, download)
    try:
        return read_envelope(path, f"estat-trade GET {download.url}", root)
    except ParseError as exc:
        raise FetchError(client.redact(str(exc))) from None


def _check_once(given: dict[tuple, tuple[str, str]], values: list[dict], name: str) -> None:
    """Each key of the source (commodity, item, area, time within a table) once over a table's pages. Paging numbers
    that add up do not prove it: a page that repeated a row instead of sending another was stored, and the vintage
    then stopped every refresh at validation (a duplicate key). Raises FetchError naming both pages and values."""
    for v in values:
        key = (v.get("@cat01"), v.get("@cat02"), str(v["@area"]), str(v["@time"]))
        text = str(v["$"]).strip()
        if key in given:
            where, before = given[key]
            same = ("the same value twice: a page repeated a row, so another row is missing" if before == text
                    else "two values")
            raise FetchError(f"estat-trade {name}: cat01 {key[0]}, cat02 {key[1]}, area {key[2]}, time {key[3]} is "
                             f"given twice, {before!r} in {where} and {text!r} here ({same}); expected each once. "
                             "Not stored; fetch again later")
        given[key] = (name, text)


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch metadata and every data page of each table; a vintage only when the data changed."""
    key = app_id()
    if not key:
        return FetchResult(
            SOURCE_NAME,
            "skipped",
            None,
            message="no e-Stat appId (set JLAC_ESTAT_APPID or JLAC_ESTAT_APPID_BLOCK)",
        )
    client.add_secret(key)
    base = base_url("JLAC_ESTAT_URL", DEFAULT_URL)
    tables = [t.strip() for t in os.environ.get("JLAC_ESTAT_TABLES", DEFAULT_TABLES).split(",") if t.strip()]
    limit = env_number("JLAC_ESTAT_LIMIT", 100000, minimum=1)
    resolved = {}
    with staging(settings, SOURCE_NAME) as staged:
        for table in tables:
            meta = _get(
                client,
                staged,
                f"{base}/json/getMetaInfo",
                {"appId": key, "statsDataId": table},
                f"{table}_meta.json",
                "GET_META_INFO",
            )
            cat01, cat02 = resolve(class_lists(meta), table)
            try:  # a table whose title names no single flow could not be parsed: fail the fetch, not the refresh
                flow, _ = table_flow(meta, f"estat-trade table {table}")
            except ParseError as exc:
                raise FetchError(str(exc)) from None
            resolved[table] = {"cat01": cat01, "cat02": cat02, "flow": flow}
            start, page, paging = 1, 1, Paging(f"estat-trade table {table}")
            given: dict[tuple, tuple[str, str]] = {}  # the parser's key -> (page, value) of this table
            while True:
                name = f"{table}_data_p{page:03d}.json"
                params = {
                    "appId": key,
                    "statsDataId": table,
                    "cdCat01": cat01,
                    "cdCat02": cat02,
                    "metaGetFlg": "N",
                    "cntGetFlg": "N",
                    "limit": limit,
                    "startPosition": start,
                }
                inner = _get(client, staged, f"{base}/json/getStatsData", params, name, "GET_STATS_DATA")
                try:
                    values = data_values(inner, f"estat-trade {name}")
                    nxt = paging.next_start(inner, start, len(values), f"estat-trade {name}")
                except ParseError as exc:
                    raise FetchError(str(exc)) from None
                _check_once(given, values, name)
                if nxt is None:
                    break
                if page >= MAX_PAGES:
                    raise FetchError(
                        f"estat-trade table {table}: more than {MAX_PAGES} pages; raise JLAC_ESTAT_LIMIT"
                    )
                start, page = nxt, page + 1
        metadata = {
            "title": "Trade Statistics of Japan (普通貿易統計) by country, via the e-Stat API",
            "publisher": "Ministry of Finance, Japan; distributed by e-Stat (Statistics Bureau of Japan)",
            "publisher_url": "https://www.e-stat.go.jp/",
            "license": "Government of Japan Standard Terms of Use 2.0 (CC BY 4.0 compatible); attribute MOF",
            "units": "thousand yen (千円)",
            "query": {"base_url": base, "tables": tables, "resolved_codes": resolved},
        }
        return store_if_changed(settings, staged, metadata, client, data_fingerprint)
