"""e-Stat API v3 for MOF's HS-9 x country x month tables (品別国別表), into ``mof-hs9-country``.

Which tables: ``getStatsList`` of the statistics 普通貿易統計 (statsCode 00350300) with the search word 品別国別表
lists MOF's tables; jlac keeps those whose title names 品別国別表 (not the SITC-based 概況品別国別表) and one flow
(輸出 exports / 輸入 imports, read from the title as for ``estat-trade``). A listed table whose title names no single
flow (輸出入, or neither word) is left out with an INFO log line naming it, unless leaving it out leaves no table of
exports or of imports: then the fetch fails naming the flow. ``JLAC_ESTAT_HS9_TABLES`` (comma-separated
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
``startPosition`` = NEXT_KEY. Every VALUE must carry ``@cat01``, ``@cat02``, ``@area``, ``@time`` and ``$``, and
its ``@time`` must be the cdTime asked for; otherwise the fetch fails naming the table and year, before anything is
stored. A (table, year) that e-Stat answers with STATUS 1 (no data) is that flow's year without data: the others are
kept, the log and the vintage's ``note`` say it; only a fetch that found no data at all fails.

The snapshot keeps every response (``estat/<table>_meta.json``, ``estat/<table>_<year>_pNNN.json``,
``estat/<table>_<year>_nodata.json`` for a STATUS 1) and, beside them, the same numbers in MOF's commodity-by-country
CSV layout (``hs9-country-<year>-<exp|imp>.csv``), which is what the ``mof-hs9-country`` parser reads: the API and
MOF's file downloads feed one parser.

A vintage holds every year: MOF's table keeps them all, and the source's checks refuse a vintage without a flow and
year the published warehouse holds. A fetch asks for a few years only, so the new vintage also holds the previous
vintage's files (the latest one not marked ``synthetic``, in the store or a mirror) for every flow and year it did
not fetch (and their responses), unchanged: hard-linked from the own store, copied from a mirror, each checked
against the previous manifest's sha256 and size. When what was fetched equals the previous vintage, nothing is
written (``unchanged``).
"""

from __future__ import annotations

import csv
import logging
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
from jlac.snapshots import Snapshot, list_vintages, sha256_file
from jlac.sources.estat_trade.source import (
    FLOW_WORDS,
    NoData,
    Paging,
    as_list,
    class_lists,
    data_values,
    read_envelope,
    table_flow,
)
from jlac.sources.mof_hs9_country.source import HEADER, MONTHS

log = logging.getLogger(__name__)

SOURCE_NAME = "mof-hs9-country"
FETCH_ORDER = 50  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ('estat_hs9_country',)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
STATS_CODE = "00350300"  # 普通貿易統計 (Trade Statistics of Japan)
MAX_PAGES = 2000
_ITEM = re.compile(r"^(合計|(\d{1,2})月)_(数量1|数量2|金額)$")
_KIND = {"数量1": "Quantity1", "数量2": "Quantity2", "金額": "Value"}
LATIN_AMERICA = range(305, 416)  # MOF's Middle and South America zone (japan-customs-country-codes)
FIELDS = ("@cat01", "@cat02", "@area", "@time", "$")  # what every VALUE of a data page must carry
_CSV = re.compile(r"hs9-country-(\d{4})-(exp|imp)\.csv")
_PAGE = re.compile(r"estat/([^/]+)_(\d{4})_(p\d+|nodata)\.json")  # a (table, year)'s pages, or its STATUS 1
_FLOW_CODE = {"export": "1", "import": "2"}  # MOF's 'Exp or Imp'


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
    tables: dict[str, str] = {}  # statsDataId -> flow
    skipped = []
    for t in as_list((inner.get("DATALIST_INF") or {}).get("TABLE_INF")):
        title = " ".join(_text(t.get(k)) for k in ("STATISTICS_NAME", "TITLE"))
        if "品別国別表" not in title or "概況" in title:
            continue
        flows = title_flows(title)
        if len(flows) != 1:  # 輸出入, or no flow word: the docs promise it is left out, not that the fetch fails
            log.info("mof-hs9-country: getStatsList table %s (%s) names %s, not one of 輸出 (exports) / 輸入 "
                     "(imports): left out", t["@id"], title, " and ".join(sorted(flows)) or "no flow")
            skipped.append(f"{t['@id']} ({title})")
            continue
        tables[t["@id"]] = flows.pop()
    missing = [f"{flow}s ({word})" for word, flow in FLOW_WORDS.items() if flow not in tables.values()]
    if skipped and missing:  # the table left out may be the only one of that flow: say so, store nothing
        raise FetchError(f"mof-hs9-country: getStatsList (statsCode {STATS_CODE}, 品別国別表) lists no table of "
                         f"{' or of '.join(missing)} once {', '.join(skipped)} is left out (its title names no "
                         "single flow); nothing was fetched. Set JLAC_ESTAT_HS9_TABLES to the tables to fetch")
    if not tables:
        raise FetchError(f"mof-hs9-country: getStatsList (statsCode {STATS_CODE}, 品別国別表) lists no HS-9 x country "
                         "table; set JLAC_ESTAT_HS9_TABLES")
    return sorted(tables)


def _text(x) -> str:
    return x.get("$", "") if isinstance(x, dict) else str(x or "")


def title_flows(title: str) -> set[str]:
    """The flows a table's title names (as ``estat-trade`` reads them): 輸出入 names none of them."""
    text = title.replace("輸出入", "")
    return {flow for word, flow in FLOW_WORDS.items() if word in text}


def _get(client: HttpClient, staged, url: str, params: dict, name: str, root: str,
         no_data: str | None = None) -> dict | None:
    """The inner object of one response, kept as ``name``. With ``no_data``, a STATUS 1 answer (no data) is kept
    under that name instead and None returned; without, it fails the fetch as any other refusal."""
    try:
        download = client.download(url, staged.workdir, params=params)
    except HttpError as exc:
        raise FetchError.from_http(f"mof-hs9-country {name}", exc) from None
    try:
        inner = read_envelope(download.path, f"mof-hs9-country GET {download.url}", root)
    except NoData as exc:
        if no_data is None:
            raise FetchError(client.redact(str(exc))) from None
        staged.add(no_data, download)
        return None
    except ParseError as exc:
        raise FetchError(client.redact(str(exc))) from None
    staged.add(name, download)
    return inner


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
    """Discover the tables, then fetch each chosen year's pages; the previous vintage's other years kept; a vintage
    only when the numbers changed."""
    key = app_id()
    if not key:
        return FetchResult(SOURCE_NAME, "skipped", None,
                           message="no e-Stat appId (set JLAC_ESTAT_APPID or JLAC_ESTAT_APPID_BLOCK)")
    client.add_secret(key)
    base = base_url("JLAC_ESTAT_URL", DEFAULT_URL)
    limit = env_number("JLAC_ESTAT_LIMIT", 100000, minimum=1)
    resolved = {}
    no_data: list[tuple[str, str, int]] = []  # (table, flow, year) e-Stat answered with STATUS 1
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
            query = {"appId": key, "statsDataId": table, "metaGetFlg": "N", "cntGetFlg": "N", "limit": limit,
                     "cdArea": ",".join(chosen_areas)}
            for time_code in times:
                year = int(time_code[:4])
                rows = _fetch_year(client, staged, f"{base}/json/getStatsData", query, table, time_code, items)
                if rows is None:
                    no_data.append((table, flow, year))
                    continue
                out = staged.workdir / csv_name(flow, year)
                write_csv(out, rows, flow, year, f"mof-hs9-country table {table}")
                staged.files[out.name] = out
        if not any(_CSV.fullmatch(name) for name in staged.files):  # a vintage without data stops every refresh
            if no_data:
                raise FetchError("mof-hs9-country: e-Stat found no data (STATUS 1) for any table and year asked ("
                                 + ", ".join(f"table {t} {y}" for t, _, y in no_data) + "); nothing was stored")
            raise FetchError(f"mof-hs9-country: no table lists a year of {', '.join(years)} (tables "
                             f"{', '.join(tables)}); nothing was stored")
        previous = previous_vintage(settings)
        kept, known = keep_previous(settings, staged, previous)
        notes = []
        for table, flow, year in no_data:
            file = next((k for k, held in kept.items() if held == (_FLOW_CODE[flow], year)), None)
            if file and previous is not None:
                what = f"{file} kept from the previous vintage {previous.vintage}"
            elif csv_name(flow, year) in staged.files:
                what = f"{csv_name(flow, year)} from another table"
            else:
                what = f"no {flow}s file for {year}"
            notes.append(f"e-Stat found no data (STATUS 1) for table {table} ({flow}s) {year}: {what}")
            log.warning("mof-hs9-country: %s", notes[-1])
        metadata = {
            "title": "Trade Statistics of Japan (普通貿易統計): HS-9 x country x month (品別国別表), "
            "via the e-Stat API",
            "publisher": "Ministry of Finance, Japan; distributed by e-Stat (Statistics Bureau of Japan)",
            "publisher_url": "https://www.e-stat.go.jp/",
            "license": "Government of Japan Standard Terms of Use 2.0 (CC BY 4.0 compatible); attribute MOF",
            "units": "thousand yen (千円); quantities in Unit1/Unit2",
            "format": "estat/*.json: the API's responses; hs9-country-<year>-<exp|imp>.csv: the same numbers in "
            "MOF's commodity-by-country CSV layout, read by the mof-hs9-country parser",
            "query": {"base_url": base, "stats_code": STATS_CODE, "years": years, "tables": resolved},
        }
        if kept and previous is not None:
            metadata["kept_from_previous"] = {"vintage": previous.vintage,
                                              "csv": sorted(k for k in kept if k.lower().endswith(".csv")),
                                              "files": len(kept)}
        if notes:
            metadata["note"] = "; ".join(notes)

        names = {path: name for name, path in staged.files.items()}

        def fingerprint(p: Path) -> str:
            # by the name in the vintage: a download's temporary file (.part-...) has no .json suffix, so every answer
            # was compared with its RESULT.DATE (the time of the answer), and no fetch was ever "unchanged"
            if names.get(p, p.name).endswith(".json"):
                return data_fingerprint(p)
            return known.get(p) or sha256_file(p)  # a kept file's sha256 was just checked: not read again

        return store_if_changed(settings, staged, metadata, client, fingerprint)


def csv_name(flow: str, year: int) -> str:
    return f"hs9-country-{year}-{'exp' if flow == 'export' else 'imp'}.csv"


def _fetch_year(client: HttpClient, staged, url: str, query: dict, table: str, time_code: str,
                items: dict[str, str]) -> dict[tuple, dict[str, str]] | None:
    """One table's year, every page: rows keyed (hs9, country code); None when e-Stat has no data for it (STATUS 1
    to the first page). A value without one of ``FIELDS``, for another time than asked, or a year whose values
    give no row stops the fetch, naming table and year: a changed layout was stored as header-only CSVs or rows of
    HS 'None', an answer for 1999 as 2023 (found by a QA pass)."""
    year = int(time_code[:4])
    where = f"mof-hs9-country table {table} {year}"
    rows: dict[tuple, dict[str, str]] = defaultdict(dict)
    start, page, paging, count = 1, 1, Paging(where), 0
    while True:
        name = f"estat/{table}_{year}_p{page:03d}.json"
        params = {**query, "cdTime": time_code, "startPosition": start}
        inner = _get(client, staged, url, params, name, "GET_STATS_DATA",
                     no_data=f"estat/{table}_{year}_nodata.json" if page == 1 else None)
        if inner is None:
            return None
        label = f"{where} ({name})"
        try:
            values = data_values(inner, label, FIELDS)
            nxt = paging.next_start(inner, start, len(values), label)
        except ParseError as exc:
            raise FetchError(str(exc)) from None
        for i, v in enumerate(values):
            if str(v["@time"]) != time_code:
                found = str(v["@time"])
                raise FetchError(f"{label}: asked for {year} (cdTime {time_code}), VALUE[{i}] is for "
                                 f"{found[:4] or '?'} (@time {found!r}): e-Stat ignored the year asked for? "
                                 "Nothing was stored")
            column = items.get(v["@cat02"])
            area = str(v["@area"])
            if column and area.startswith("50"):
                cells, text = rows[(str(v["@cat01"]), area[2:])], str(v["$"]).strip()
                if cells.setdefault(column, text) != text:  # the later one won, without a word
                    raise FetchError(f"mof-hs9-country {name}: HS {v['@cat01']}, area {area}, "
                                     f"{column} is given twice, {cells[column]!r} and {text!r}")
        count += len(values)
        if nxt is None:
            break
        if page >= MAX_PAGES:
            raise FetchError(f"{where}: more than {MAX_PAGES} pages")
        start, page = nxt, page + 1
    if not rows:  # a header-only CSV takes the flow and year out of every fact
        raise FetchError(f"{where}: none of the {count} value(s) has an item (cat02) of the table's getMetaInfo and "
                         "a partner (area 50xxx); a changed layout? Nothing was stored")
    return rows


def previous_vintage(settings: Settings) -> Snapshot | None:
    """The vintage a fetch keeps the other years of: the latest in the store or the mirrors not marked synthetic
    (the benchmark's generated files must not become real rows)."""
    vintages = list_vintages(SOURCE_NAME, settings)
    real = [s for s in vintages if s.manifest.get("synthetic") is not True]
    if real and real[-1] is not vintages[-1]:
        log.info("mof-hs9-country: the latest vintage %s is synthetic; the years not fetched are kept from %s",
                 vintages[-1].vintage, real[-1].vintage)
    return real[-1] if real else None


def _csv_key_of_name(name: str) -> tuple[str, int] | None:
    m = _CSV.fullmatch(name)
    return (_FLOW_CODE["export" if m[2] == "exp" else "import"], int(m[1])) if m else None


def _csv_key(snapshot: Snapshot, rel: str) -> tuple[str, int] | None:
    """('1'/'2', year) of one of a vintage's CSVs: from its name as this connector writes it, else from its first
    row (a vintage of MOF's file downloads); None when the file is missing (keeping it then says so)."""
    if (named := _csv_key_of_name(rel)) is not None:
        return named
    if not snapshot.path(rel).is_file():
        return None
    with snapshot.path(rel).open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        rows = csv.reader(fh)
        next(rows, None)  # MOF's header
        row = next(rows, None)
    if row and len(row) > 1 and row[0].strip() in ("1", "2") and row[1].strip().isascii() and row[1].strip().isdigit():
        return row[0].strip(), int(row[1])
    raise FetchError(f"mof-hs9-country: the previous vintage {snapshot.id}'s {rel} names no flow and year (neither "
                     "hs9-country-<year>-<exp|imp>.csv nor a first row of 'Exp or Imp' 1 or 2 and a year), so it "
                     "cannot be kept for the years not fetched; nothing was stored")


def keep_previous(settings: Settings, staged, previous: Snapshot | None
                  ) -> tuple[dict[str, tuple[str, int] | None], dict[Path, str]]:
    """Add to ``staged`` every file of ``previous`` this fetch does not replace: a CSV of a flow and year not
    fetched, the pages of a (table, year) not fetched (or answered with no data), and any other file not fetched
    again (a table's metadata, the table list). Hard-linked from the own store (same filesystem, owned by this
    user: the new vintage's modes are set on it), else copied; each checked against the previous manifest's sha256
    and size, so a damaged file is not carried on. Returns the names kept (with a CSV's flow code and year) and
    their checked sha256 by staged path."""
    if previous is None:
        return {}, {}
    fetched = {key for name in staged.files if (key := _csv_key_of_name(name)) is not None}
    pages = {(m[1], m[2]) for name in staged.files if (m := _PAGE.fullmatch(name)) and m[3] != "nodata"}
    own = _inside(previous.root, settings.snapshots)
    kept: dict[str, tuple[str, int] | None] = {}
    known: dict[Path, str] = {}
    for f in previous.files:
        if f.path in staged.files:
            continue
        if (m := _PAGE.fullmatch(f.path)) and (m[1], m[2]) in pages:
            continue
        key = _csv_key(previous, f.path) if f.path.lower().endswith(".csv") else None
        if key is not None and key in fetched:
            continue
        sha = staged.keep(previous, f.path, "for the years this fetch did not ask for", link=own,
                          hint=". Restore it, or fetch every year (JLAC_ESTAT_HS9_YEARS)")
        known[staged.files[f.path]] = sha
        kept[f.path] = key
    if kept:
        log.info("mof-hs9-country: %d file(s) of the previous vintage %s kept for what this fetch did not ask for "
                 "(%s)", len(kept), previous.vintage, ", ".join(k for k in kept if k.lower().endswith(".csv")))
    return kept, known


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False
