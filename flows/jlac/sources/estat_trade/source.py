"""e-Stat API JSON for MOF trade tables (普通貿易統計, statsCode 00350300).

A snapshot holds, per statistical table, its ``getMetaInfo`` response (``<id>_meta.json``: code
lists) and the ``getStatsData`` pages (``<id>_data_pNNN.json``) of the codes jlac asked for.
Envelope: ``{"GET_STATS_DATA": {"RESULT": {"STATUS": 0, "ERROR_MSG": ...}, "STATISTICAL_DATA":
{"RESULT_INF": {..., "NEXT_KEY"}, "CLASS_INF": ..., "DATA_INF": {"VALUE": [{"@cat01", "@cat02",
"@area", "@time", "@unit", "$"}]}}}}``. A single item comes back as an object, not a list. Values
are strings in thousand yen (千円); '-' and similar marks mean no value. Area codes are '50' + MOF's
3-digit country code.

The data pages do not say whether a table counts exports or imports: MOF publishes them as separate
tables (e.g. 0003425295 exports, 0003425296 imports). The flow is read from the table's own
getMetaInfo: its title (TABLE_INF: STATISTICS_NAME, TITLE, TITLE_SPEC.TABLE_NAME) and the name of its
commodity class (cat01, e.g. 統計品目表(輸入)) must mention exactly one of 輸出 (exports) and 輸入
(imports); a table that names neither or both fails with the texts it read.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import duckdb
import pandas as pd

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source

_DATA_FILE = re.compile(r"^(\d+)_data_p\d+\.json$")
FLOW_WORDS = {"輸出": "export", "輸入": "import"}
FIELDS = (
    "stats_data_id",
    "flow",
    "table_title",
    "cat01_code",
    "cat02_code",
    "area_code",
    "mof_country_code",
    "area_name",
    "time_code",
    "year",
    "unit",
    "value_text",
    "value_jpy_thousand",
)


def as_list(x) -> list:
    """e-Stat sends one item as an object and several as a list."""
    return [] if x is None else x if isinstance(x, list) else [x]


class NoData(ParseError):
    """e-Stat's STATUS 1: the query matched no data. A ParseError like the other refusals; a caller for which one
    query without data is not an error (``mof-hs9-country``: one table and year) catches this one."""


def read_envelope(path: Path, label: str, root: str) -> dict:
    """The inner object of an e-Stat JSON response, after checking RESULT.STATUS.

    STATUS 0 is success; 1 means the query matched no data (an empty result: ``NoData``); 100 and above are
    errors (bad appId, unknown table, bad parameter ...). Each raises ParseError naming ``label``.
    """
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ParseError(f"{label}: empty body where an e-Stat JSON response was expected")
    if text.lstrip()[:1] == "<":
        raise ParseError(f"{label}: an HTML/XML page where e-Stat JSON was expected: {text[:120]!r}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{label}: not valid JSON ({exc}); truncated body?") from None
    if not isinstance(doc, dict) or root not in doc:
        keys = list(doc)[:5] if isinstance(doc, dict) else type(doc).__name__
        raise ParseError(f"{label}: expected a {root} response, found {keys}; API version changed?")
    inner = doc[root]
    if not isinstance(inner, dict):
        raise ParseError(f"{label}: {root} is {type(inner).__name__} {str(inner)[:80]!r}, not an object; "
                         "format changed or the API is down?")
    result = inner.get("RESULT") or {}
    status = result.get("STATUS")
    if status == 1:
        raise NoData(
            f"{label}: e-Stat found no data for the query (STATUS 1: {result.get('ERROR_MSG')}); empty result"
        )
    if status != 0:
        # STATUS 100 is e-Stat's "authentication failed, check the application ID": its Japanese message alone did
        # not tell an operator which setting to look at (found by a QA pass); Comtrade's refused key names its own
        hint = ("; check JLAC_ESTAT_APPID (or the Prefect Secret block JLAC_ESTAT_APPID_BLOCK names): e-Stat refused "
                "the application ID it holds" if status == 100 else "")
        raise ParseError(f"{label}: e-Stat error STATUS {status}: {result.get('ERROR_MSG')}{hint}")
    return inner


def class_lists(meta_inner: dict) -> dict[str, list[dict]]:
    """getMetaInfo code lists by class id (cat01, cat02, area, time ...)."""
    try:
        objs = meta_inner["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"]
    except (KeyError, TypeError):
        raise ParseError("e-Stat getMetaInfo: no METADATA_INF.CLASS_INF.CLASS_OBJ; format changed?") from None
    out = {}
    for i, o in enumerate(as_list(objs)):
        if not isinstance(o, dict) or "@id" not in o:
            raise ParseError(f"e-Stat getMetaInfo: CLASS_OBJ[{i}] has no @id (found {_keys(o)}); format changed?")
        classes = as_list(o.get("CLASS"))
        for j, c in enumerate(classes):
            if not isinstance(c, dict) or "@code" not in c:
                raise ParseError(f"e-Stat getMetaInfo: class {o['@id']} entry {j} has no @code (found {_keys(c)}); "
                                 "format changed?")
        out[o["@id"]] = classes
    return out


def _keys(x) -> str:
    return str(list(x)[:8]) if isinstance(x, dict) else f"a {type(x).__name__}"


def _text(x) -> str:
    """e-Stat sends a label either as a string or as {"@code"/"@no": ..., "$": text}."""
    return x.get("$", "") if isinstance(x, dict) else str(x or "")


def table_flow(meta_inner: dict, label: str) -> tuple[str, str]:
    """(flow, title) of a MOF trade table from its getMetaInfo: 'export' for 輸出, 'import' for 輸入."""
    info = (meta_inner.get("METADATA_INF") or {}).get("TABLE_INF") or {}
    title = " ".join(
        t
        for t in (
            _text(info.get("STATISTICS_NAME")),
            _text(info.get("TITLE")),
            _text((info.get("TITLE_SPEC") or {}).get("TABLE_NAME")),
        )
        if t
    )
    cat01 = next(
        (_text(o.get("@name")) for o in as_list(meta_inner["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"])
         if o.get("@id") == "cat01"),
        "",
    )
    # 輸出入 (exports and imports together) names no single flow; remove it before looking for the words.
    texts = f"{title} {cat01}".replace("輸出入", "")
    flows = {flow for word, flow in FLOW_WORDS.items() if word in texts}
    if len(flows) != 1:
        raise ParseError(
            f"{label}: cannot tell exports from imports: the title {title!r} and the commodity class "
            f"{cat01!r} should name exactly one of 輸出 (exports) / 輸入 (imports), found {sorted(flows) or 'none'}"
        )
    return flows.pop(), title


def data_values(inner: dict, label: str, fields: tuple[str, ...] = ("@area", "@time", "$")) -> list[dict]:
    """The VALUE entries of a getStatsData page, each holding ``fields`` (a caller that reads the classes adds
    theirs, e.g. ``@cat01``/``@cat02``): a page whose values changed shape is refused, naming the field."""
    try:
        values = as_list(inner["STATISTICAL_DATA"]["DATA_INF"]["VALUE"])
    except (KeyError, TypeError):
        raise ParseError(
            f"{label}: no STATISTICAL_DATA.DATA_INF.VALUE in a STATUS 0 response; format changed?"
        ) from None
    if not values:
        raise ParseError(f"{label}: DATA_INF.VALUE is empty (empty result)")
    for i, v in enumerate(values):  # every value: a page whose later values changed shape must not be stored
        missing = [k for k in fields if k not in v] if isinstance(v, dict) else ["an object"]
        if missing:
            raise ParseError(f"{label}: VALUE[{i}] lacks {missing}; found keys {_keys(v)}; format changed?")
    return values


def _position(ri: dict, key: str, label: str) -> int | None:
    value = ri.get(key)
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise ParseError(f"{label}: {key} {value!r} is not a row position; format changed?")
    return int(text)


class Paging:
    """One query's pages through ``startPosition`` = NEXT_KEY, each checked against e-Stat's RESULT_INF: the page
    starts where it was asked to (FROM_NUMBER), holds the rows it says (TO_NUMBER), NEXT_KEY continues right after
    it, and the pages add up to TOTAL_NUMBER. A page the API sent twice or a page skipped was stored and published
    as a whole table before (found by a QA pass); each is a ParseError naming the page now."""

    def __init__(self, label: str):
        self.label = label
        self.fetched = 0
        self.total: int | None = None

    def next_start(self, inner: dict, start: int, count: int, label: str) -> int | None:
        """The startPosition of the next page, None after the last one (then the rows must add up)."""
        ri = (inner.get("STATISTICAL_DATA") or {}).get("RESULT_INF") or {}
        first, last = _position(ri, "FROM_NUMBER", label), _position(ri, "TO_NUMBER", label)
        total, nxt = _position(ri, "TOTAL_NUMBER", label), _position(ri, "NEXT_KEY", label)
        if first is not None and first != start:
            raise ParseError(f"{label}: the page starts at row {first} where row {start} was asked for "
                             "(startPosition): the API sent another page")
        if first is not None and last is not None and last - first + 1 != count:
            raise ParseError(f"{label}: {count} value(s) where FROM_NUMBER {first} to TO_NUMBER {last} says "
                             f"{last - first + 1}: a page cut short?")
        if nxt is not None and nxt <= start:
            raise ParseError(f"{label}: NEXT_KEY {nxt} does not move past this page's startPosition {start}: "
                             "the API would return the same rows again")
        if nxt is not None and nxt != start + count:
            raise ParseError(f"{label}: NEXT_KEY {nxt} does not follow this page's {count} row(s) from {start} "
                             f"(expected {start + count}): rows would be skipped or read twice")
        if total is not None:
            if self.total is not None and total != self.total:
                raise ParseError(f"{label}: TOTAL_NUMBER {total} where the first page said {self.total}: the data "
                                 "changed while it was paged; fetch again")
            self.total = total
        self.fetched += count
        if nxt is None and self.total is not None and self.fetched != self.total:
            raise ParseError(f"{self.label}: {self.fetched} value(s) fetched where TOTAL_NUMBER says {self.total} "
                             f"(pages up to {label})")
        return nxt


# e-Stat's marks for "no value" or "confidential" (its 特殊記号): the cell is kept as text, its number NULL.
MARKS = {"", "-", "―", "－", "…", "***", "x", "X", "*"}


def _number(text: str, where: str = "e-Stat VALUE") -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        value = math.nan
    if math.isfinite(value):  # float() also reads 'NaN' and 'inf': no value e-Stat writes
        return value
    if text.strip() in MARKS:
        return None
    raise ParseError(f"{where}: {text!r} is neither a number nor one of e-Stat's marks {sorted(MARKS)}") from None


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every data page of the snapshot, one row per table, commodity, item, area and time."""
    records = []
    names = sorted(f.path for f in snapshot.files)
    for name in names:
        m = _DATA_FILE.match(name)
        if not m:
            continue
        table = m.group(1)
        meta_name = f"{table}_meta.json"
        if meta_name not in names:
            raise ParseError(f"estat-trade {snapshot.id}: {name} has no {meta_name} beside it")
        meta_label = f"estat-trade {snapshot.id}/{meta_name}"
        meta = read_envelope(snapshot.path(meta_name), meta_label, "GET_META_INFO")
        areas = {c["@code"]: c.get("@name") for c in class_lists(meta).get("area", [])}
        flow, title = table_flow(meta, meta_label)
        label = f"estat-trade {snapshot.id}/{name}"
        for v in data_values(read_envelope(snapshot.path(name), label, "GET_STATS_DATA"), label):
            area, time = str(v["@area"]), str(v["@time"])
            if not (time[:4].isdigit() and area.isdigit()):
                raise ParseError(f"{label}: VALUE @area {area!r} @time {time!r}: expected numeric e-Stat codes "
                                 "(area '50' + MOF code, time like 2023000000)")
            records.append(
                (
                    name,
                    table,
                    flow,
                    title,
                    v.get("@cat01"),
                    v.get("@cat02"),
                    area,
                    area[2:] if area.startswith("50") else None,
                    areas.get(area),
                    time,
                    int(time[:4]),
                    v.get("@unit"),
                    str(v["$"]),
                    _number(str(v["$"]), f"{label}: VALUE @area {area} @time {time}"),
                )
            )
    if not records:
        raise ParseError(f"estat-trade {snapshot.id}: no *_data_pNNN.json file in the snapshot")
    return con.from_df(pd.DataFrame.from_records(records, columns=["file", *FIELDS]))


SOURCE = Source(
    name="estat-trade",
    description="Japan's trade by country from MOF tables on the e-Stat API (thousand yen), as fetched by "
    "jlac: one row per table, commodity code, item code, area and time.",
    columns=(
        Column("file", "VARCHAR", "Data page file in the snapshot"),
        Column("stats_data_id", "VARCHAR", "e-Stat table id (statsDataId)"),
        Column("flow", "VARCHAR", "export (輸出 tables, FOB) or import (輸入 tables, CIF), from the table's title"),
        Column("table_title", "VARCHAR", "Table title from getMetaInfo (statistics name, title, table name)"),
        Column("cat01_code", "VARCHAR", "Commodity code (cat01); the table's total code for country totals"),
        Column(
            "cat02_code", "VARCHAR", "Item code (cat02): quantity or value, year or month (see getMetaInfo)"
        ),
        Column("area_code", "VARCHAR", "e-Stat area code: '50' + MOF country code"),
        Column("mof_country_code", "VARCHAR", "MOF 3-digit country code (area code without the '50')"),
        Column("area_name", "VARCHAR", "Area label from getMetaInfo, e.g. '410_ブラジル'"),
        Column("time_code", "VARCHAR", "e-Stat time code, e.g. 2023000000"),
        Column("year", "INTEGER", "Year of the time code"),
        Column("unit", "VARCHAR", "Unit as sent (千円 = thousand yen)"),
        Column("value_text", "VARCHAR", "Value as sent"),
        Column("value_jpy_thousand", "DOUBLE", "Value as a number; NULL for marks such as '-'"),
    ),
    parse=parse,
    key=("stats_data_id", "cat01_code", "cat02_code", "area_code", "time_code"),
    required=False,
    version="2",  # flow and table_title
)
