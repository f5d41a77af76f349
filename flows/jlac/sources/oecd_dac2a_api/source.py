"""OECD DAC Table 2a as fetched live from the OECD Data Explorer (SDMX CSV), kept apart from the mirror's QWIDS files.

The connector (``connector.py``) stores ``DAC2A.csv``: ODA disbursements (MEASURE 206), USD, current prices, from
Japan, Korea and all official donors to the 33 CELAC states (long format, one row per donor, recipient and
year; OBS_VALUE scaled by 10^UNIT_MULT). A separate source name, because that query is a small slice of the
mirror's ``oecd-dac2a`` (every recipient x ~150 donors): stored as a newer ``oecd-dac2a`` vintage it would
replace the whole table. ``marts.fct_dev_finance`` takes these rows only where the mirror has none.

The rows have the same shape as ``raw.oecd_dac2a``; the SDMX reader is the one ``jlac.sources.oecd_dac2a.source``
uses for SDMX files.
"""

from __future__ import annotations

import duckdb

from jlac.errors import ParseError
from jlac.snapshots import Snapshot
from jlac.sources import Column, Source
from jlac.sources.oecd_dac2a import source as oecd_dac2a
from jlac.textfiles import check_text


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every CSV of the vintage must be an SDMX CSV of DSD_DAC2@DF_DAC2A; rows as in raw.oecd_dac2a."""
    files = [f.path for f in snapshot.files if f.path.lower().endswith(".csv")]
    if not files:
        raise ParseError(f"oecd-dac2a-api {snapshot.id}: no CSV file in the manifest (expected DAC2A.csv)")
    for name in files:
        check_text(snapshot.path(name), f"oecd-dac2a-api {snapshot.id}/{name}")
        with open(snapshot.path(name), encoding="utf-8-sig") as fh:
            first = fh.readline()
        if not first.startswith("STRUCTURE,"):
            raise ParseError(f"oecd-dac2a-api {snapshot.id}: {name} should be an SDMX CSV (first header cell "
                             f"'STRUCTURE'), found {first[:60]!r}")
    return oecd_dac2a.parse(snapshot, con)


SOURCE = Source(
    name="oecd-dac2a-api",
    description="OECD DAC Table 2a from the Data Explorer API: net ODA disbursements in US$ millions, current "
    "prices, from Japan, Korea and all official donors to the CELAC states, one row per recipient, donor and year.",
    columns=(
        # the mirror source's parser, which this one reuses, names each row's vintage (that source reads its earlier
        # vintages; this one does not: always this snapshot's)
        Column("vintage", "VARCHAR", "Snapshot vintage the row comes from (this snapshot's)"),
        Column("file", "VARCHAR", "CSV file in the snapshot (DAC2A.csv)"),
        Column("row_number", "INTEGER", "Line number of the observation in the file (header = line 1)"),
        Column("year", "INTEGER", "Calendar year of the disbursements (TIME_PERIOD)"),
        Column("recipient_name", "VARCHAR", "Recipient label as the Data Explorer gives it"),
        Column("recipient_iso3", "VARCHAR", "ISO3 of the recipient (the RECIPIENT code)"),
        Column("donor_name", "VARCHAR", "Donor label; ALLD renamed 'Official Donors, Total' as in QWIDS"),
        Column("donor_iso3", "VARCHAR", "ISO3 of a donor country (the DONOR code); NULL for totals"),
        Column("value_usd_m", "DOUBLE",
               "Net ODA disbursements, US$ millions, current prices (negative = net repayment)"),
    ),
    parse=parse,
    key=("year", "recipient_name", "donor_name"),
    required=False,
    version="1",
)
