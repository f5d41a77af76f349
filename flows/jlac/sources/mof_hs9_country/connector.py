"""e-Stat API v3 for MOF's HS-9 x country x month tables (品別国別表), into ``mof-hs9-country``.

Which tables: ``getStatsList`` of the statistics 普通貿易統計 (statsCode 00350300) with the search word 品別国別表
lists MOF's tables; jlac keeps those whose title names 品別国別表 (not the SITC-based 概況品別国別表) and one flow
(輸出 exports / 輸入 imports, read from the title as for ``estat-trade``). ``JLAC_ESTAT_HS9_TABLES`` (comma-separated
statsDataIds) skips the discovery. Tables known when this was written (api-recordings/README.md): exports
0003228116 (2001-05), 0003228117 (2006-10), 0003228118 (2011-15), 0003313965 (2016-20), 0003425293 (2021-25),
0004049306 (2026-); imports 0003258346 (1988-90), 0003258347 (1991-95), 0003258348 (1996-2000), 0003228183
(2001-05), 0003228184 (2006-10), 0003228185 (2011-15), 0003313966 (2016-20), 0003425294 (2021-25), 0004049326
(2026-).

What: for each table, ``getMetaInfo`` gives the code lists. The items (cat02) are resolved by their labels, as
the real tables name them (単位1, 単位2, 合計_数量1, 合計_数量2, 合計_金額, 1月_数量1 ... 12月_金額); a table
without them fails naming the labels it has. The years are the table's time codes, limited to
``JLAC_ESTAT_HS9_YEARS`` (comma-separated; default: the two latest years the tables list), and the partners to
``JLAC_ESTAT_HS9_AREAS`` (comma-separated MOF codes; default: MOF's Middle and South America zone, codes 305-415,
whatever the area list holds of them — the whole world is ~20x more pages). ``getStatsData`` is paged with
``startPosition`` = NEXT_KEY.

The snapshot keeps every response (``estat/<table>_meta.json``, ``estat/<table>_<year>_pNNN.json``) and, beside
them, the same numbers in MOF's commodity-by-country CSV layout (``hs9-country-<year>-<exp|imp>.csv``), which is
what the ``mof-hs9-country`` parser reads: the API and MOF's file downloads feed one parser.
"""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from pathlib import Path

from jlac.config import Settings, env_number
from jlac.connectors import FetchError, FetchResult, base_url, staging, store_if_changed
from jlac.connectors.estat import DEFAULT_URL, app_id, data_fingerprint
from jlac.connectors.estat import make_client as make_client  # same pacing as the other e-Stat fetches
from jlac.errors import ParseError
from jlac.http import HttpClient, HttpError
from jlac.sources.estat_trade.source import Paging, as_list, class_lists, data_values, read_envelope, table_flow
from jlac.sources.mof_hs9_country.source import HEADER, MONTHS

SOURCE_NAME = "mof-hs9-country"
FETCH_ORDER = 50  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ('estat_hs9_country',)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
STATS_CODE = "00350300"  # 普通貿易統計 (Trade Statistics of Japan)
MAX_PAGES = 2000
_ITEM = re.compile(r"^(合計|(\d{1,2})月)_(数量1|数量2|金額)$")
_KIND = {"数量1": "Quantity1", "数量2": "Quantity2", "金額": "Value"}
LATIN_AMERICA = range(305, 416)  # MOF's Middle and South America zone (japan-customs-country-codes)


def item_columns(classes: dict[str, list[dict]], table: str) -> dict[str, str]:
    """cat02 code -> MOF CSV column (``Unit1``, ``Quantity1-Year``, ``Value-Jan`` ...), from the item labels."""
    found = {}
    for c in classes.get("cat02", []):
        name = str(c.get("@name", "")).strip()
        if name in ("単位1", "単位2"):
            found[c["@code"]] = f"Unit{name[-1]}"
            continue
        m = _ITEM.match(name)
        if m:
            when = "Year" if m.group(1) == "合計" else MONTHS[int(m.group(2)) - 1]
            found[c["@code"]] = f"{_KIND[m.group(3)]}-{when}"
    needed = {"Value-Year", *(f"Value-{m}" for m in MONTHS)}
    missing = sorted(needed - set(found.values()))
    if missing:
        labels = [f"{c['@code']}={c.get('@name')}" for c in classes.get("cat02", [])][:12]
        raise FetchError(f"mof-hs9-country table {table}: no item for {missing[:4]}... among cat02 {labels}; "
                         "not an HS-9 x country table with monthly values?")
    return found


def discover_tables(client: HttpClient, staged, base: str, key: str) -> list[str]:
    """statsDataIds of MOF's HS-9 x country tables, from getStatsList (or JLAC_ESTAT_HS9_TABLES)."""
    listed = os.environ.get("JLAC_ESTAT_HS9_TABLES", "")
    if listed.strip():
        return [t.strip() for t in listed.split(",") if t.strip()]
    params = {"appId": key, "statsCode": STATS_CODE, "searchWord": "品別国別表", "limit": 1000}
    inner = _get(client, staged, f"{base}/json/getStatsList", params, "estat/stats_list.json", "GET_STATS_LIST")
    tables = []
    for t in as_list((inner.get("DATALIST_INF") or {}).get("TABLE_INF")):
        title = " ".join(_text(t.get(k)) for k in ("STATISTICS_NAME", "TITLE"))
        if "品別国別表" in title and "概況" not in title:
            tables.append(t["@id"])
    if not tables:
        raise FetchError(f"mof-hs9-country: getStatsList (statsCode {STATS_CODE}, 品別国別表) lists no HS-9 x country "
                         "table; set JLAC_ESTAT_HS9_TABLES")
    return sorted(tables)


def _text(x) -> str:
    return x.get("$", "") if isinstance(x, dict) else str(x or "")


def _get(client: HttpClient, staged, url: str, params: dict, name: str, root: str) -> dict:
    try:
        download = client.download(url, staged.workdir, params=params)
    except HttpError as exc:
        raise FetchError.from_http(f"mof-hs9-country {name}", exc) from None
    path = staged.add(name, download)
    try:
        return read_envelope(path, f"mof-hs9-country GET {download.url}", root)
    except ParseError as exc:
        raise FetchError(client.redact(str(exc))) from None


def _choose(codes: list[str], env: str, default: list[str], key=lambda c: c) -> list[str]:
    """The codes ``env`` names (by ``key(code)``), else ``default``. A value naming none of the codes is refused,
    naming it: it left the filter out of the query (every partner of the world: about 20 times the pages) or stored a
    vintage without data, which then stopped every refresh (found by a QA pass)."""
    wanted = [v.strip() for v in os.environ.get(env, "").split(",") if v.strip()]
    if not wanted:
        return default
    unknown = sorted(set(wanted) - {key(c) for c in codes})
    if unknown:
        known = sorted({key(c) for c in codes})
        raise FetchError(f"{env}={os.environ[env]!r}: {', '.join(unknown)} not among the codes the e-Stat tables list "
                         f"({', '.join(known[:12])}{', ...' if len(known) > 12 else ''}); nothing was fetched")
    return [c for c in codes if key(c) in wanted]


# e-Stat's marks in a trade table's VALUE: none (no trade; MOF's CSV writes 0), and a figure not shown
_NONE = {"-", "―", "－"}
_HIDDEN = {"***", "x", "X", "*", "…"}
_WHOLE = re.compile(r"-?[0-9]+")


def _cell(value: str | None, where: str) -> str:
    """A number of MOF's CSV from e-Stat's VALUE text: ASCII digits as they are, e-Stat's 'none' marks as 0. A figure
    e-Stat does not show ('***', 'x') or anything else (a fraction, 'N/A', full-width digits) stops the fetch, naming
    the cell: they were written as 0, real zeros in the warehouse (found by a QA pass)."""
    text = (value or "").replace(",", "").strip()
    if not text or text in _NONE:
        return "0"
    if _WHOLE.fullmatch(text):
        return text
    what = "a figure e-Stat does not show (confidential?)" if text in _HIDDEN else "not a whole number"
    raise FetchError(f"{where}: {value!r} is {what}; MOF's CSV layout has a whole number there. Nothing was stored")


def write_csv(path: Path, rows: dict[tuple, dict[str, str]], flow: str, year: int, label: str = "") -> None:
    """Rows keyed (hs9, country code) as MOF's CSV: HS quoted with apostrophes, absent numbers 0, no unit '  '."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(HEADER)
        for (hs9, country), items in sorted(rows.items()):
            line = ["1" if flow == "export" else "2", str(year), f"'{hs9}'", country,
                    items.get("Unit1") or "  ", items.get("Unit2") or "  "]
            line += [_cell(items.get(col), f"{label or 'mof-hs9-country'} {year}, HS {hs9}, partner {country}, "
                                           f"{col}") for col in HEADER[6:]]
            out.writerow(line)


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Discover the tables, then fetch each chosen year's pages; a vintage only when the numbers changed."""
    key = app_id()
    if not key:
        return FetchResult(SOURCE_NAME, "skipped", None,
                           message="no e-Stat appId (set JLAC_ESTAT_APPID or JLAC_ESTAT_APPID_BLOCK)")
    client.add_secret(key)
    base = base_url("JLAC_ESTAT_URL", DEFAULT_URL)
    limit = env_number("JLAC_ESTAT_LIMIT", 100000, minimum=1)
    resolved = {}
    with staging(settings, SOURCE_NAME) as staged:
        (staged.workdir / "estat").mkdir()
        tables = discover_tables(client, staged, base, key)
        metas = {}
        for table in tables:
            metas[table] = _get(client, staged, f"{base}/json/getMetaInfo", {"appId": key, "statsDataId": table},
                                f"estat/{table}_meta.json", "GET_META_INFO")
        all_years = sorted({c["@code"][:4] for m in metas.values() for c in class_lists(m).get("time", [])})
        years = _choose(all_years, "JLAC_ESTAT_HS9_YEARS", all_years[-2:])
        if not years:
            raise FetchError(f"mof-hs9-country: the tables {', '.join(tables)} list no year; nothing was fetched")
        for table, meta in metas.items():
            classes = class_lists(meta)
            try:
                flow, title = table_flow(meta, f"mof-hs9-country table {table}")
            except ParseError as exc:
                raise FetchError(str(exc)) from None
            items = item_columns(classes, table)
            areas = [c["@code"] for c in classes.get("area", []) if c["@code"].startswith("50")]
            default_areas = [a for a in areas if a[2:].isdigit() and int(a[2:]) in LATIN_AMERICA]
            chosen_areas = _choose(areas, "JLAC_ESTAT_HS9_AREAS", default_areas, key=lambda a: a[2:])
            if not chosen_areas:  # without cdArea the query is every partner of the world
                raise FetchError(f"mof-hs9-country table {table}: its area list has none of MOF's Latin American "
                                 f"codes ({LATIN_AMERICA.start}-{LATIN_AMERICA.stop - 1}); set JLAC_ESTAT_HS9_AREAS")
            times = [c["@code"] for c in classes.get("time", []) if c["@code"][:4] in years]
            resolved[table] = {"flow": flow, "title": title, "years": [t[:4] for t in times],
                               "areas": len(chosen_areas)}
            for time_code in times:
                year = int(time_code[:4])
                rows: dict[tuple, dict[str, str]] = defaultdict(dict)
                start, page, paging = 1, 1, Paging(f"mof-hs9-country table {table} {year}")
                while True:
                    name = f"estat/{table}_{year}_p{page:03d}.json"
                    params = {"appId": key, "statsDataId": table, "cdTime": time_code, "metaGetFlg": "N",
                              "cntGetFlg": "N", "limit": limit, "startPosition": start}
                    if chosen_areas:
                        params["cdArea"] = ",".join(chosen_areas)
                    inner = _get(client, staged, f"{base}/json/getStatsData", params, name, "GET_STATS_DATA")
                    try:
                        values = data_values(inner, f"mof-hs9-country {name}")
                        nxt = paging.next_start(inner, start, len(values), f"mof-hs9-country {name}")
                    except ParseError as exc:
                        raise FetchError(str(exc)) from None
                    for v in values:
                        column = items.get(v.get("@cat02"))
                        area = v["@area"]
                        if column and area.startswith("50"):
                            cells, text = rows[(v.get("@cat01"), area[2:])], str(v["$"]).strip()
                            if cells.setdefault(column, text) != text:  # the later one won, without a word
                                raise FetchError(f"mof-hs9-country {name}: HS {v.get('@cat01')}, area {area}, "
                                                 f"{column} is given twice, {cells[column]!r} and {text!r}")
                    if nxt is None:
                        break
                    if page >= MAX_PAGES:
                        raise FetchError(f"mof-hs9-country table {table} {year}: more than {MAX_PAGES} pages")
                    start, page = nxt, page + 1
                out = staged.workdir / f"hs9-country-{year}-{'exp' if flow == 'export' else 'imp'}.csv"
                write_csv(out, rows, flow, year, f"mof-hs9-country table {table}")
                staged.files[out.name] = out
        if not any(name.endswith(".csv") for name in staged.files):  # a vintage without data stops every refresh
            raise FetchError(f"mof-hs9-country: no table lists a year of {', '.join(years)} (tables "
                             f"{', '.join(tables)}); nothing was stored")
        metadata = {
            "title": "Trade Statistics of Japan (普通貿易統計): HS-9 x country x month (品別国別表), "
            "via the e-Stat API",
            "publisher": "Ministry of Finance, Japan; distributed by e-Stat (Statistics Bureau of Japan)",
            "publisher_url": "https://www.e-stat.go.jp/",
            "license": "Government of Japan Standard Terms of Use (compatible with CC BY 4.0)",
            "units": "thousand yen (千円); quantities in Unit1/Unit2",
            "format": "estat/*.json: the API's responses; hs9-country-<year>-<exp|imp>.csv: the same numbers in "
            "MOF's commodity-by-country CSV layout, read by the mof-hs9-country parser",
            "query": {"base_url": base, "stats_code": STATS_CODE, "years": years, "tables": resolved},
        }
        return store_if_changed(settings, staged, metadata, client,
                                lambda p: data_fingerprint(p) if p.suffix == ".json" else _sha(p))


def _sha(path: Path) -> str:
    from jlac.snapshots import sha256_file

    return sha256_file(path)
