"""Expectations for IMF DOTS workbooks as parsed (raw.imf_dots)."""

from __future__ import annotations

import os
import re

import duckdb
import great_expectations as gx

from jlac import plan, warehouse
from jlac.checks import schema_expectation, unmapped_names_query, violations_check
from jlac.errors import SettingError
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot, settings=None) -> list[Check]:
    """The suite of raw.imf_dots: schema, grain and values of the workbooks used, every reporter and partner name
    mapped, the published Figure 1's partners of Japan still present (``settings``: the published warehouse), and
    every listed workbook loaded (or its rows set aside in quarantine)."""
    workbooks = sum(1 for f in snapshot.files if f.path.lower().endswith(".xlsx")) if snapshot else 0
    rows = ("file", "sheet", "row_number")
    out = [
        Check(name="schema", expectations=[schema_expectation(source)]),
        Check(
            name="grain and values of the workbooks used",
            query="SELECT * FROM raw.imf_dots WHERE duplicate_of IS NULL",
            index_columns=rows,
            expectations=[
                E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key)),
                E.ExpectColumnValuesToNotBeNull(column="value_usd_m"),
                # US$ 100 trillion: five times the world's trade with itself (World x World 2018, US$ 19.5 tn); a
                # misread cell (1e9) made Japan's LAC share 70,108 % of its world trade
                E.ExpectColumnValuesToBeBetween(column="value_usd_m", max_value=100_000_000),
                E.ExpectColumnValuesToNotBeNull(column="reporter_name"),
                E.ExpectColumnValuesToNotBeNull(column="partner_name"),
                E.ExpectColumnValuesToBeInSet(column="flow", value_set=["export", "import"]),
                E.ExpectColumnValuesToBeInSet(column="sheet", value_set=["Exports, FOB", "Imports, CIF"]),
                E.ExpectColumnValuesToBeBetween(column="year", min_value=1948, max_value=plan.today().year),
            ],
        ),
        Check(
            # IMF aggregate reporters carry small negative residuals (e.g. World x Malaysia 1960-63, the
            # difference between Malaysia and West Malaysia); a country's own report is never negative.
            name="non-negative values reported by countries",
            query="SELECT * FROM raw.imf_dots WHERE duplicate_of IS NULL AND reporter_name NOT IN "
            "(SELECT name FROM staging.country_name_map WHERE source = 'imf' AND kind = 'aggregate')",
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeBetween(column="value_usd_m", min_value=0)],
        ),
        Check(
            name="every reporter name maps to a country or IMF aggregate",
            query=unmapped_names_query(source, "imf", "reporter_name"),
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
        Check(
            name="every partner name maps to a country or IMF aggregate",
            query=unmapped_names_query(source, "imf", "partner_name"),
            index_columns=rows,
            expectations=[E.ExpectColumnValuesToBeNull(column="unmapped_name")],
        ),
    ]
    out += _japans_partners_kept(settings)
    if workbooks:
        out.append(
            Check(
                # Every workbook the manifest lists contributes rows (a blank workbook would be an error), kept or
                # set aside in quarantine (an unknown reporter's workbook: jlac.quarantine).
                name=f"workbooks loaded against the manifest ({workbooks} listed)",
                query="SELECT file FROM raw.imf_dots UNION SELECT file FROM quarantine.rows WHERE source = 'imf-dots'",
                expectations=[E.ExpectTableRowCountToBeBetween(min_value=workbooks, max_value=workbooks)],
            )
        )
    return out


def _published_japan_partners(settings) -> list[tuple[str, str]]:
    """(partner ISO3, flow) of Japan's CELAC partners the published warehouse has from IMF DOTS; none without one."""
    if settings is None or not settings.warehouse.exists():
        return []

    def read(path):
        with duckdb.connect() as con:
            con.execute("ATTACH ? AS pub (TYPE duckdb, READ_ONLY)", [str(path)])
            return con.execute(
                "SELECT DISTINCT t.partner_iso3, t.flow FROM pub.marts.fct_trade_annual AS t "
                "JOIN pub.marts.dim_country AS d ON d.iso3 = t.partner_iso3 AND d.is_celac "
                "WHERE t.reporter_iso3 = 'JPN' AND t.source = 'imf-dots' ORDER BY ALL").fetchall()

    try:
        return warehouse.read_published(settings, read, "imf-dots partners")
    except duckdb.Error:  # an older or damaged warehouse: nothing to compare with (a full rebuild follows)
        return []


def _japans_partners_kept(settings) -> list[Check]:
    """A release that lost a partner of Japan that Figure 1 sums (its whole series in one flow) would lower every
    year of the figure, and the figure's coverage rule (each year against the three before) cannot see it, since the
    earlier years lose it too. Found by a QA pass: Peru's row deleted from DOTS_101.xlsx's imports was published,
    Japan's imports from LAC 2014 28.464 -> 26.696 US$ bn. Refused, naming the partner and flow (a release that
    really withdrew one is published once it is named in ``JLAC_IMF_DOTS_WITHDRAWN``: accepted_withdrawals)."""
    withdrawn = accepted_withdrawals()
    published = [(iso3, flow) for iso3, flow in _published_japan_partners(settings)
                 if (iso3, flow) not in withdrawn and (iso3, None) not in withdrawn]
    if not published:
        return []
    values = ", ".join(f"('{iso3}', '{flow}')" for iso3, flow in published)
    return [violations_check(
        "Japan's CELAC partners of the published Figure 1 are all in this release",
        f"""SELECT p.partner_iso3, p.flow,
                   'a partner of Japan in the published Figure 1, with no row in this release' AS problem
            FROM (VALUES {values}) AS p(partner_iso3, flow)
            WHERE NOT EXISTS (
                SELECT 1 FROM raw.imf_dots AS r
                JOIN staging.country_name_map AS rm ON rm.source = 'imf' AND rm.name = r.reporter_name
                JOIN staging.country_name_map AS pm ON pm.source = 'imf' AND pm.name = r.partner_name
                WHERE r.duplicate_of IS NULL AND rm.iso3 = 'JPN' AND pm.iso3 = p.partner_iso3 AND r.flow = p.flow)
            ORDER BY ALL""")]


WITHDRAWN_ENV = "JLAC_IMF_DOTS_WITHDRAWN"


def accepted_withdrawals() -> set[tuple[str, str | None]]:
    """Partners of Japan a reviewer accepts as withdrawn by the IMF: ``JLAC_IMF_DOTS_WITHDRAWN``, e.g. ``PER:import``
    or ``PER`` (both flows), comma- or space-separated. Without it a release that really dropped a partner could never
    be published, and every scheduled run would fail on it (found by a review)."""
    raw = os.environ.get(WITHDRAWN_ENV, "").strip()
    out: set[tuple[str, str | None]] = set()
    for item in filter(None, re.split(r"[,\s]+", raw)):
        m = re.fullmatch(r"([A-Z]{3})(?::(export|import))?", item)
        if not m:
            raise SettingError(f"{WITHDRAWN_ENV}={raw!r}: {item!r} is not ISO3 or ISO3:export / ISO3:import "
                               "(e.g. PER:import, or PER for both flows)")
        out.add((m.group(1), m.group(2)))
    return out
