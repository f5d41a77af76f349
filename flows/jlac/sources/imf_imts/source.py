"""IMF International Trade in Goods by partner (IMTS, successor of DOTS): SDMX-ML 3.0 from api.imf.org.

Each snapshot file is one StructureSpecificData response (``IMTS_<REPORTER>_<FREQ>.xml``): Series
keyed COUNTRY.INDICATOR.COUNTERPART_COUNTRY.FREQUENCY with Obs(TIME_PERIOD, OBS_VALUE).
Indicators: XG_FOB_USD = exports FOB, MG_CIF_USD = imports CIF. OBS_VALUE is in plain US dollars
although each Series says SCALE="6": the recorded response (USA exports to G001 World 2023 =
2,019,551,635,133) proves it, so values are NOT multiplied; SCALE is kept as a column.

The raw table holds the rows of EVERY vintage up to the one being loaded (column ``vintage``), so
the revisions mart can compare each vintage with the one before; staging takes each (reporter, partner, flow,
year) from the newest vintage that has it (a vintage that answered fewer years or reporters does not remove the
others' values).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pandas as pd

from jlac.errors import ParseError
from jlac.snapshots import Snapshot, history
from jlac.sources import Column, Source

FLOWS = {"XG_FOB_USD": "export", "MG_CIF_USD": "import"}
SERIES_KEYS = ("COUNTRY", "INDICATOR", "COUNTERPART_COUNTRY", "FREQUENCY")
_PERIOD = re.compile(r"^(\d{4})(?:-?M?(\d{2}))?$")
FIELDS = (
    "reporter_iso3",
    "indicator",
    "flow",
    "partner_code",
    "frequency",
    "time_period",
    "year",
    "month",
    "value_usd",
    "scale",
    "derivation_type",
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sniff(path: Path, label: str) -> None:
    """Fail early, and readably, on bodies that are plainly not SDMX-ML."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not text:
        raise ParseError(f"{label}: empty body where SDMX-ML data was expected")
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:200]:
        snippet = head[:160].decode("utf-8", "replace").replace("\n", " ")
        raise ParseError(
            f"{label}: an HTML page where SDMX-ML data was expected (error or login page?): {snippet!r}"
        )
    if text.startswith((b"{", b"[")):
        snippet = head[:200].decode("utf-8", "replace").replace("\n", " ")
        raise ParseError(f"{label}: JSON where SDMX-ML (XML) data was expected: {snippet!r}")


def _sdmx_error(root: ET.Element) -> str:
    texts = [" ".join((e.text or "").split()) for e in root.iter() if _local(e.tag) == "Text"]
    codes = [e.get("code") for e in root.iter() if _local(e.tag) == "ErrorMessage" and e.get("code")]
    return f"code {', '.join(codes) or '?'}: {'; '.join(t for t in texts if t) or 'no text'}"


class NoObservations(ParseError):
    """A well-formed data set without any export/import observation (an empty result). A ParseError like the other
    refusals; the connector, for which one reporter without data is that reporter's no data, catches this one."""


def read_imts_xml(path: Path, label: str) -> list[tuple]:
    """Rows of one IMTS SDMX-ML response, in the order of ``FIELDS``.

    Raises ParseError naming ``label`` for an HTML page, an SDMX error message, a truncated or
    malformed body, an unexpected structure, a TIME_PERIOD that does not fit the series' FREQUENCY (a month in an
    annual series would be read as that year), or (``NoObservations``) a data set without any observation.
    """
    _sniff(path, label)
    try:
        tree = ET.parse(path)
    except ET.ParseError as exc:
        raise ParseError(f"{label}: not well-formed XML ({exc}); truncated body?") from exc
    root = tree.getroot()
    kind = _local(root.tag)
    if kind == "Error" or any(_local(e.tag) == "ErrorMessage" for e in root):
        raise ParseError(
            f"{label}: the server sent an SDMX error message instead of data ({_sdmx_error(root)})"
        )
    if kind != "StructureSpecificData":
        raise ParseError(
            f"{label}: expected an SDMX-ML StructureSpecificData message, found <{kind}>; "
            "did the API or the Accept header change?"
        )
    datasets = [e for e in root if _local(e.tag) == "DataSet"]
    if not datasets:
        raise ParseError(f"{label}: no <DataSet> element in the StructureSpecificData message")
    rows: list[tuple] = []
    for ds in datasets:
        for series in (e for e in ds if _local(e.tag) == "Series"):
            missing = [k for k in SERIES_KEYS if not series.get(k)]
            if missing:
                raise ParseError(
                    f"{label}: a <Series> lacks the key attribute(s) {missing}; found "
                    f"{dict(series.attrib)}; the IMTS structure changed?"
                )
            indicator = series.get("INDICATOR")
            flow = FLOWS.get(indicator)
            if flow is None:
                continue  # TBG_USD (balance) and any other indicator are not trade flows
            where = f"{label} series {'.'.join(series.get(k) for k in SERIES_KEYS)}"
            for obs in (e for e in series if _local(e.tag) == "Obs"):
                period, value = obs.get("TIME_PERIOD"), obs.get("OBS_VALUE")
                m = _PERIOD.match(period or "")
                if not m:
                    raise ParseError(
                        f"{where}: TIME_PERIOD {period!r} is not a year or a month (YYYY, YYYY-MM)"
                    )
                frequency = series.get("FREQUENCY")
                if (frequency == "A" and m.group(2)) or (frequency == "M" and not m.group(2)):
                    # a month under FREQUENCY A was stored and read as the annual value of its year (found by a QA
                    # pass): the series says one thing and its periods another
                    expected = "annual: a year YYYY" if frequency == "A" else "monthly: a month YYYY-MM"
                    raise ParseError(f"{where}: TIME_PERIOD {period!r} is {'a month' if m.group(2) else 'a year'}, "
                                     f"but the series' FREQUENCY is {frequency} ({expected} expected)")
                if value is None:
                    raise ParseError(f"{where} {period}: the <Obs> has no OBS_VALUE attribute; found "
                                     f"{sorted(obs.attrib)}; the IMTS structure changed?")
                if value in ("", "NaN"):
                    continue
                try:
                    number = float(value)
                except ValueError:
                    raise ParseError(f"{where} {period}: OBS_VALUE {value!r} is not a number") from None
                rows.append(
                    (
                        series.get("COUNTRY"),
                        indicator,
                        flow,
                        series.get("COUNTERPART_COUNTRY"),
                        series.get("FREQUENCY"),
                        period,
                        int(m.group(1)),
                        int(m.group(2)) if m.group(2) else None,
                        number,
                        series.get("SCALE"),
                        obs.get("DERIVATION_TYPE"),
                    )
                )
    if not rows:
        raise NoObservations(f"{label}: the data set holds no export/import observation (empty result)")
    return rows


def data_files(snapshot: Snapshot) -> list[str]:
    return sorted(f.path for f in snapshot.files if f.path.lower().endswith(".xml"))


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Observations of every vintage up to ``snapshot``, one row per vintage x series x period."""
    records = []
    for snap in history(snapshot):  # the older ones feed the revisions
        for name in data_files(snap):
            for row in read_imts_xml(snap.path(name), f"imf-imts {snap.vintage}/{name}"):
                records.append((snap.vintage, name, *row))
    frame = pd.DataFrame.from_records(records, columns=["vintage", "file", *FIELDS])
    frame["month"] = frame["month"].astype("Int64")
    return con.from_df(frame)


SOURCE = Source(
    name="imf-imts",
    description="IMF IMTS (International Trade in Goods by partner, ex-DOTS) from the SDMX 3.0 API, all "
    "vintages fetched by jlac: one row per vintage, reporter, indicator, partner and period (plain US$).",
    columns=(
        Column(
            "vintage", "VARCHAR", "Snapshot vintage the row comes from (every vintage is kept, for revisions)"
        ),
        Column("file", "VARCHAR", "Response file in the snapshot, e.g. IMTS_JPN_A.xml"),
        Column("reporter_iso3", "VARCHAR", "Reporting economy, ISO3 (IMTS COUNTRY)"),
        Column(
            "indicator", "VARCHAR", "IMTS indicator: XG_FOB_USD (exports FOB) or MG_CIF_USD (imports CIF)"
        ),
        Column("flow", "VARCHAR", "export or import, as reported by the reporter"),
        Column(
            "partner_code",
            "VARCHAR",
            "Partner (IMTS COUNTERPART_COUNTRY): ISO3, or an aggregate such as "
            "G001 World, G998 European Union",
        ),
        Column("frequency", "VARCHAR", "A annual, M monthly, Q quarterly"),
        Column("time_period", "VARCHAR", "TIME_PERIOD as sent (2023, 2023-01 ...)"),
        Column("year", "INTEGER", "Calendar year of the period"),
        Column("month", "INTEGER", "Month of a monthly period; NULL for annual"),
        Column("value_usd", "DOUBLE", "OBS_VALUE in plain US dollars (SCALE is not applied: see module doc)"),
        Column("scale", "VARCHAR", "SCALE attribute as sent (6), kept for the record, not applied"),
        Column("derivation_type", "VARCHAR", "DERIVATION_TYPE attribute of the observation as sent"),
    ),
    parse=parse,
    key=("vintage", "reporter_iso3", "indicator", "partner_code", "frequency", "time_period"),
    required=False,
    reads_history=True,
    version="1",
)
