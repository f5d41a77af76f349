"""OECD Data Explorer (SDMX REST, CSV with labels): DAC Table 2a for Figure 3's donors.

DAC2A: ``<JLAC_OECD_URL>/data/OECD.DCD.FSD,DSD_DAC2@DF_DAC2A,/<donors>.<recipients>.206.USD.V`` with
``startPeriod``, ``dimensionAtObservation=AllDimensions`` and ``format=csvfilewithlabels`` -> ``DAC2A.csv`` in
the ``oecd-dac2a-api`` source (parser ``jlac.sources.oecd_dac2a_api.source``). Donors: Japan, Korea and all official
donors (ALLD); recipients: the 33 CELAC states. It is its own source, not a vintage of the mirror's
``oecd-dac2a`` (every recipient x ~150 donors), which this slice would otherwise replace as the newest
vintage. Measure 206 = ODA disbursements (net), USD, current prices (V). No key is needed. The OECD updates
DAC2A twice a year (preliminary in April, final in December).

CRS, on the same API with the same format, is the ``oecd-crs-api`` source's connector
(``jlac.sources.oecd_crs_api.connector``); what both share is in ``jlac.connectors.oecd``.

Every body is checked with the parser's own reader before anything is stored; an empty result, an HTML page,
a changed schema, a different measure or a row of a donor or recipient not asked for fail the source with the request
in the message.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from jlac.config import Settings
from jlac.connectors import FetchError, FetchResult, base_url, check_not_cut_short, staging, store_if_changed
from jlac.connectors.oecd import DEFAULT_URL, PARAMS, text_head
from jlac.connectors.oecd import make_client as make_client
from jlac.countries import CELAC
from jlac.errors import ParseError
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot
from jlac.sources.oecd_dac2a import source as oecd_dac2a

SOURCE_NAME = "oecd-dac2a-api"
FETCH_ORDER = 70  # `jlac fetch` without arguments runs connectors by this number (see jlac.connectors)
DEPRECATED_NAMES = ("oecd",)  # the connector's old name, accepted by `jlac fetch` with a warning until 0.2
DAC2A_FLOW = "OECD.DCD.FSD,DSD_DAC2@DF_DAC2A,"  # empty version = latest
DONORS = ("ALLD", "JPN", "KOR")


def dac2a_key(donors=DONORS, recipients=None) -> str:
    """The SDMX key DONOR.RECIPIENT.MEASURE.UNIT_MEASURE.PRICE_BASE for ODA disbursements, USD, current."""
    return f"{'+'.join(donors)}.{'+'.join(sorted(recipients or CELAC))}.206.USD.V"


def check_dac2a(path: Path, label: str, name: str = "DAC2A.csv") -> int:
    """Read the body with the DAC2A SDMX reader; return its row count, or raise FetchError naming the request and
    ``name``, the file the body is stored as (not the temporary file it is in: ".part-0hbq22wb: line 46" named no
    file anyone could find)."""
    text = text_head(path, label, "an SDMX CSV of DAC2A")
    if not text.startswith("STRUCTURE,"):
        raise FetchError(f"{label}: expected an SDMX CSV starting 'STRUCTURE,', found {text[:80]!r}")
    with duckdb.connect() as con:
        try:
            rows = oecd_dac2a.sdmx_relation(con, path, name).fetchall()
        except (ParseError, duckdb.Error) as exc:
            raise FetchError(f"{label}: {exc}") from None
    if not rows:
        raise FetchError(f"{label}: the CSV has a header but no observation (empty result)")
    bad = [r for r in rows if r[2] is None or _not_number(r[5])]
    if bad:
        raise FetchError(f"{label} line {bad[0][1]}: expected a year and a number, found {bad[0][2]!r}, {bad[0][5]!r}")
    # the donors and recipients asked for: an API ignoring a part of the key answers another query, whose rows were
    # stored as this one's (found by a QA pass)
    other = [r for r in rows if r[6] not in DONORS or r[7] not in CELAC]
    if other:
        shown = "; ".join(f"line {r[1]}: DONOR {r[6]!r}, RECIPIENT {r[7]!r}" for r in other[:5])
        raise FetchError(f"{label}: the answer is not for the query: {len(other)} row(s) of donors or recipients not "
                         f"asked for ({name} {shown}{' ...' if len(other) > 5 else ''}); asked: DONOR "
                         f"{'+'.join(DONORS)}, RECIPIENT the 33 CELAC states; nothing was stored")
    return len(rows)


def _not_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return True
    return False


def fetch(settings: Settings, client: HttpClient) -> FetchResult:
    """Fetch DAC2A for Japan, Korea and all official donors to CELAC; a new vintage only when it changed."""
    url = f"{base_url('JLAC_OECD_URL', DEFAULT_URL)}/data/{DAC2A_FLOW}/{dac2a_key()}"
    previous = latest_snapshot(SOURCE_NAME, settings)
    name = "DAC2A.csv"
    with staging(settings, SOURCE_NAME) as staged:
        path, got = staged.get(client, name, url, previous, SOURCE_NAME, lines=True, params=PARAMS)
        # the CSV reader's messages name the file they read: the one it is stored as, not the temporary .part-...
        path = staged.files[name] = path.rename(staged.workdir / name)
        check_dac2a(path, f"{SOURCE_NAME} GET {got}", name)
        # the query re-sends every year from START_YEAR: fewer lines than the newest vintage the source reads is a
        # body cut short (a cut one was stored and published, 2 of 5 rows gone: found by a QA pass)
        check_not_cut_short(path, previous, name, f"{SOURCE_NAME} GET {got}", settings=settings)
        metadata = {
            "title": "OECD DAC Table 2a: ODA disbursements by donor and recipient (Data Explorer, SDMX CSV)",
            "publisher": "OECD Development Assistance Committee",
            "publisher_url": "https://data-explorer.oecd.org/ (DSD_DAC2@DF_DAC2A)",
            "license": "OECD content from July 2024: CC BY 4.0",
            "format": "SDMX CSV with labels (csvfilewithlabels), one row per donor, recipient and year; "
            f"donors {', '.join(DONORS)}; recipients the 33 CELAC states; MEASURE 206, USD, PRICE_BASE V",
            "units": "US dollars x 10^UNIT_MULT (millions when UNIT_MULT=6), current prices, net disbursements",
        }
        return store_if_changed(settings, staged, metadata, client)
