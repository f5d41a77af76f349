"""UN Comtrade API v1 JSON responses (``data/v1/get/C/A/HS`` or the keyless ``public/v1/preview``).

Each snapshot file is one response ``{"elapsedTime", "count", "data": [...], "error"}`` with one
record per reporter, partner, flow and period for cmdCode TOTAL. ``primaryValue`` is in plain US
dollars: CIF for imports, FOB for exports (the recorded response shows China's 2010 imports from
Argentina as cifvalue = primaryValue = 6,804,128,143).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source

FLOWS = {"X": "export", "M": "import"}
OTHER_FLOWS = ("RX", "RM", "DX", "FM")  # re-exports, re-imports, domestic exports, foreign imports
REQUIRED = ("reporterCode", "partnerCode", "flowCode", "period", "primaryValue", "cmdCode")
FIELDS = (
    "reporter_code",
    "reporter_iso3",
    "partner_code",
    "partner_iso3",
    "flow",
    "year",
    "cmd_code",
    "classification_code",
    "value_usd",
    "cif_value_usd",
    "fob_value_usd",
    "is_reported",
    "is_aggregate",
)


class NoRecords(ParseError):
    """An answer without any record (``count`` 0: an empty result). A ParseError like the other refusals; the
    connector, for which one reporter's empty answer is that reporter's no data, catches this one."""


_YEAR = re.compile(r"[0-9]{4}")


def read_comtrade_json(path: Path, label: str) -> list[tuple]:
    """Rows of one Comtrade v1 response; ParseError naming ``label`` for an error, HTML, empty or cut body, and for a
    record that is not annual (``freqCode`` other than A, or a ``period`` that is not a year: a monthly record
    ``201001`` was read as the year 2010's total)."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ParseError(f"{label}: empty body where a Comtrade JSON response was expected")
    if text.lstrip()[:1] == "<":
        raise ParseError(f"{label}: an HTML/XML page where Comtrade JSON was expected: {text[:120]!r}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{label}: not valid JSON ({exc}); truncated body?") from None
    if not isinstance(doc, dict) or "data" not in doc:
        keys = list(doc)[:8] if isinstance(doc, dict) else type(doc).__name__
        raise ParseError(
            f"{label}: expected an object with 'data' and 'error', found {keys}; format changed?"
        )
    if doc.get("error"):
        raise ParseError(f"{label}: Comtrade answered with an error: {str(doc['error'])[:300]}")
    records = doc["data"] or []
    if not isinstance(records, list):
        raise ParseError(f"{label}: 'data' is a {type(records).__name__}, not a list of records; format changed?")
    if not records:
        raise NoRecords(f"{label}: the response holds no record (count={doc.get('count')}; empty result)")
    count = doc.get("count")
    # 'count' is the number of records the answer carries: fewer in 'data' is an answer cut to a page or a cap (the
    # preview's 500 records), which would be stored as the whole year with partners missing
    if isinstance(count, int) and not isinstance(count, bool) and count != len(records):
        raise ParseError(f"{label}: 'count' is {count} but 'data' holds {len(records)} record(s); expected every "
                         "record of the query in one answer (cut short or capped?)")
    rows = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ParseError(f"{label} data[{i}]: {str(rec)[:80]!r} is not a record (an object); format changed?")
        missing = [k for k in REQUIRED if k not in rec]
        if missing:
            raise ParseError(f"{label} data[{i}]: missing field(s) {missing}; the Comtrade schema changed?")
        flow = FLOWS.get(rec["flowCode"])
        if flow is None:
            if rec["flowCode"] in OTHER_FLOWS:
                continue  # re-exports/re-imports are not the trade flows jlac compares
            raise ParseError(f"{label} data[{i}]: flowCode {rec['flowCode']!r} is none of Comtrade's X, M, RX, RM, "
                             "DX, FM")
        freq, period = rec.get("freqCode"), rec["period"]
        if freq not in (None, "A") or isinstance(period, bool) or not _YEAR.fullmatch(str(period)):
            raise ParseError(f"{label} data[{i}] (reporterCode {rec['reporterCode']}, partnerCode "
                             f"{rec['partnerCode']}, flowCode {rec['flowCode']}): period {period!r} with freqCode "
                             f"{freq!r} is not an annual record (freqCode A, period YYYY); jlac asks Comtrade for "
                             "annual data only")
        try:
            numbers = (int(rec["reporterCode"]), int(rec["partnerCode"]), int(str(period)))
            values = [None if rec.get(k) is None else float(rec[k]) for k in ("primaryValue", "cifvalue", "fobvalue")]
        except (TypeError, ValueError):
            fields = {k: rec.get(k) for k in ("reporterCode", "partnerCode", "period", "primaryValue", "cifvalue",
                                              "fobvalue")}
            raise ParseError(f"{label} data[{i}]: expected numeric codes, a year and US$ values, found {fields}") \
                from None
        if values[0] is None:
            raise ParseError(f"{label} data[{i}]: primaryValue is null")
        rows.append(
            (
                numbers[0],
                rec.get("reporterISO"),
                numbers[1],
                rec.get("partnerISO"),
                flow,
                numbers[2],
                rec["cmdCode"],
                rec.get("classificationCode"),
                *values,
                rec.get("isReported"),
                rec.get("isAggregate"),
            )
        )
    return rows


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every response file of the snapshot, one row per reporter, partner, flow and year."""
    records = []
    for f in sorted(f.path for f in snapshot.files if f.path.endswith(".json")):
        records += [
            (f, *row) for row in read_comtrade_json(snapshot.path(f), f"comtrade-v1 {snapshot.id}/{f}")
        ]
    return con.from_df(pd.DataFrame.from_records(records, columns=["file", *FIELDS]))


SOURCE = Source(
    name="comtrade-v1",
    description="UN Comtrade API v1, total goods trade (cmdCode TOTAL) of Japan, China and the United States "
    "with the CELAC states and the world, as fetched by jlac: one row per reporter, partner, flow and year.",
    columns=(
        Column("file", "VARCHAR", "Response file in the snapshot"),
        Column("reporter_code", "INTEGER", "Comtrade reporter code (M49 variant: 392 Japan, 842 USA)"),
        Column("reporter_iso3", "VARCHAR", "reporterISO as sent"),
        Column("partner_code", "INTEGER", "Comtrade partner code (0 = World)"),
        Column("partner_iso3", "VARCHAR", "partnerISO as sent (W00 = World)"),
        Column("flow", "VARCHAR", "export (flowCode X, FOB) or import (M, CIF)"),
        Column("year", "INTEGER", "Reference year"),
        Column("cmd_code", "VARCHAR", "Commodity code; TOTAL = all commodities"),
        Column("classification_code", "VARCHAR", "HS edition the reporter used (H3, H5 ...)"),
        Column("value_usd", "DOUBLE", "primaryValue, US dollars (CIF imports, FOB exports)"),
        Column("cif_value_usd", "DOUBLE", "cifvalue, US dollars"),
        Column("fob_value_usd", "DOUBLE", "fobvalue, US dollars"),
        Column("is_reported", "BOOLEAN", "True when the reporter reported the value (not estimated by UNSD)"),
        Column("is_aggregate", "BOOLEAN", "True when Comtrade aggregated the value itself"),
    ),
    parse=parse,
    key=("reporter_code", "partner_code", "flow", "year", "cmd_code"),
    required=False,
)
