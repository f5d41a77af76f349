"""What the report page shows: one section per figure of the report, in the report's order.

Each section names the warehouse tables it shows (a figure's data table and its reconciliation with the report's
statements) and the chart files ``jlac.figures`` renders; the page's "where this comes from" box is derived from
the SQL model of the section's first table (its sources found by following the model's references).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableSpec:
    table: str  # schema.table in the warehouse
    title: str
    columns: tuple[str, ...] = ()  # empty: every column, in the table's order
    order: str = ""  # ORDER BY clause body; empty: the table's own order
    where: str = ""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    report_caption: str  # the caption as the report prints it
    caption: str  # what jlac shows, and how it differs
    charts: tuple[tuple[str, str], ...]  # (glob of chart files in the assets, alt text)
    tables: tuple[TableSpec, ...]
    reconciliation: tuple[TableSpec, ...] = ()
    extra_sources: tuple[str, ...] = field(default=())


SECTIONS = (
    Section(
        id="figure-1",
        title="Figure 1 — Japanese trade with Latin America and the Caribbean",
        report_caption="Figure 1: Japanese trade with LAC, 1995-2018 (US$ billions). Source: Trade Statistics of "
        "Japan, Ministry of Finance.",
        caption="Japan's goods exports (FOB) to and imports (CIF) from the 33 CELAC states, as Japan reports them to "
        "the IMF, US$ billions. The report's span, 1995-2018, is marked; later years are the update. Whole years "
        "only: a year whose partners with a value hold less than 99 % of the region's trade in the years before "
        "(a release with a few partners so far) is left out, and the chart says so. The dotted lines from 2021 are "
        "Mexico, Brazil and Chile alone (MOF's file "
        "of Japan's 30 largest partners): three partners, never added into the LAC total.",
        charts=(("fig1_japan_lac_trade.svg", "Figure 1: Japan's exports to and imports from LAC by year, bars"),),
        tables=(TableSpec("figures.fig1_japan_lac_trade", "Data: Japan's trade with CELAC-33", order="year"),),
        reconciliation=(TableSpec("figures.fig1_reconciliation", "The report's statements beside jlac's numbers",
                                  order="statement_id"),),
    ),
    Section(
        id="figure-1-partners",
        title="Figure 1 carried forward — Mexico, Brazil and Chile, 1995 to 2025",
        report_caption="(Not in the report: Figure 1 ends in 2018 and gives LAC only.)",
        caption="Japan's exports to and imports from its three largest LAC partners: IMF Direction of Trade "
        "Statistics (Japan's reports) up to 2020, MOF's Trade Statistics from 2021. Yen for the IMF years at "
        "FRED's annual average yen per dollar; dollars for MOF's years the same way, only for years with all "
        "twelve monthly rates (a year without stays in yen, with the reason). Hollow points are provisional "
        "(MOF's latest year, to be revised).",
        charts=(("japan_main_lac_partners.svg", "Japan's trade with Mexico, Brazil and Chile, US$ and yen"),),
        tables=(TableSpec("figures.japan_main_lac_partners", "Data: Japan's trade with Mexico, Brazil and Chile",
                          columns=("year", "partner_iso3", "flow", "value_jpy_bn", "value_usd_bn", "source",
                                   "is_provisional", "vintage", "value_usd_note"),
                          order="partner_iso3, flow, year"),),
        reconciliation=(TableSpec("figures.japan_main_lac_partners_reconciliation",
                                  "Where two sources give the same year", order="partner_iso3, flow, year"),),
    ),
    Section(
        id="figure-2",
        title="Figure 2 — Japanese automobile manufacturers in Mexico, 2018 and now",
        report_caption="Figure 2: Japanese automobile manufacturers in Mexico. Source: JETRO, 2018.",
        caption="Plants of Japanese automakers in Mexico as of 2018 (the report's view) and as of the latest year: "
        "openings and closures since 2018 show up. Coordinates are approximate (city or industrial-park level).",
        charts=(("fig2_mexico_auto_plants_2018.svg", "Map of Japanese automakers' plants in Mexico, 2018"),
                ("fig2_mexico_auto_plants_2*.svg", "Map of Japanese automakers' plants in Mexico, latest year")),
        tables=(TableSpec("figures.fig2_mexico_auto_plants", "Data: plants by year shown",
                          columns=("as_of_year", "company", "plant_name", "state", "municipality", "opened_year",
                                   "closed_year", "status", "status_changed_since_2018", "coord_precision",
                                   "source_url"),
                          order="as_of_year, company, plant_name"),),
    ),
    Section(
        id="figure-3",
        title="Figure 3 — Grants and development finance to Costa Rica from China, Japan and South Korea",
        report_caption="Figure 3: Grants and development finance to Costa Rica from China, Japan, and South Korea, "
        "2009-2017 (US$ millions). Source: Costa Rica MIDEPLAN data.",
        caption="Finance to Costa Rica by donor and year, US$ millions, each value with its measure (commitment, "
        "gross or net disbursement: never added together), 2009 to the latest year.",
        charts=(("fig3_costa_rica_finance.svg", "Figure 3: finance to Costa Rica by donor and year"),),
        tables=(TableSpec("figures.fig3_costa_rica_finance", "Data: finance to Costa Rica",
                          order="donor_iso3, year, measure, source"),),
        reconciliation=(TableSpec("figures.fig3_reconciliation", "Published statements beside jlac's numbers",
                                  columns=("statement_id", "subject", "period", "published_usd_m", "jlac_usd_m",
                                           "jlac_measure", "comparable", "difference_usd_m", "explanation"),
                                  order="statement_id"),),
    ),
    Section(
        id="table-1",
        title="Table 1 — Japan's policy toward Latin America and the Caribbean",
        report_caption="Table 1: Japan's policy toward LAC. Source: Ministry of Foreign Affairs of Japan, 2018.",
        caption="The three pillars of Japan's 2018 connectivity initiative and the 2014 'Juntos' principles, each "
        "row with its source.",
        charts=(),
        tables=(TableSpec("figures.table1_japan_lac_policy", "Table 1",
                          columns=("year_announced", "pillar_no", "connectivity_type", "slogan", "policy_objectives",
                                   "policy", "announced_date", "venue", "confidence", "source_url"),
                          order="year_announced, pillar_no"),),
    ),
)

CLAIMS = TableSpec("figures.report_claims", "The report's claims, re-derived",
                   columns=("claim_id", "topic", "claim", "report_value", "unit", "ref_period", "jlac_value",
                            "difference_pct", "status", "jlac_source"),
                   order="claim_id")
