"""What the report page shows: one section per figure of the report, in the report's order.

Each section names the warehouse tables it shows (a figure's data table and its reconciliation with the report's
statements) and the chart files ``jlac.figures`` renders; the page's "where this comes from" box is derived from
the SQL model of the section's first table (its sources found by following the model's references).

Headings and captions that name years or sources are written from the rows on the page (``Section.text``): a build
without a source (``jlac refresh --drop``, a mirror without it) says so instead of describing data it does not hold,
and a section with no chart or no rows says which of its sources the warehouse was not built from (meta.snapshots,
read into the section's provenance).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from jlac.figures import three_partner_from, year_spans

MOF_TOP30 = "mof-trade-by-country-top30"
SOURCE_TEXT = {"imf-dots": "IMF Direction of Trade Statistics (Japan's reports)",
               "imf-imts": "IMF International Trade in Goods Statistics",
               "estat-trade": "MOF's Trade Statistics (e-Stat)",
               "mof-customs": "MOF's Trade Statistics (monthly tables)",
               MOF_TOP30: "MOF's Trade Statistics (Japan's 30 largest partners)", "comtrade-v1": "UN Comtrade"}
IMF = ("imf-dots", "imf-imts")


@dataclass(frozen=True)
class TableSpec:
    table: str  # schema.table in the warehouse
    title: str
    columns: tuple[str, ...] = ()  # empty: every column, in the table's order
    order: str = ""  # ORDER BY clause body; empty: the table's own order
    where: str = ""
    empty: str = ""  # why the table may have no rows, said in place of "No rows." (not a missing source)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    report_caption: str  # the caption as the report prints it
    caption: str  # what jlac shows, and how it differs
    charts: tuple[tuple[str, str], ...]  # (glob of chart files in the assets, alt text)
    tables: tuple[TableSpec, ...]
    reconciliation: tuple[TableSpec, ...] = ()
    # (this section's page data, every section's by id) -> (title, caption) written from the data; None: as above
    describe: Callable[[dict, dict[str, dict]], tuple[str, str]] | None = None
    # (this section's page data, every section's by id, chart file) -> what the chart shows, from its data: the
    # image's text alternative (a screen reader heard the chart's fixed label, which the caption under it then
    # repeated: found by a QA pass)
    chart_text: Callable[[dict, dict[str, dict], str], str] | None = None

    def text(self, page: dict, pages: list[dict]) -> dict:
        """Title, caption and notes as the page shows them. ``page``: this section as jlac.site.render_page reads it
        (``tables`` with their rows, ``charts`` found, ``provenance``); ``pages``: every section's."""
        title, caption = (self.describe(page, {p["section"].id: p for p in pages}) if self.describe
                          else (self.title, self.caption))
        return {"title": title, "caption": caption, "notes": absent_notes(page)}


def rows(page: dict | None, table: str) -> list[dict]:
    """The rows of ``table`` shown in a section, as column -> value."""
    for t in (page or {}).get("tables", []):
        if t["spec"].table == table and not t.get("missing"):
            names = [c["name"] for c in t["columns"]]
            return [dict(zip(names, r, strict=True)) for r in t["rows"]]
    return []


def not_loaded(page: dict | None) -> list[str]:
    """The sources a section's model reads that the warehouse was not built from (no snapshot in meta.snapshots)."""
    return [src["name"] for src in ((page or {}).get("provenance") or {}).get("sources", []) if not src.get("vintage")]


def absent_notes(page: dict) -> list[str]:
    """Why a section has no chart or a table of it no rows: the sources it reads that this build was not made from.
    Figure 3 with its sources dropped showed "0 rows. No rows." and no chart, with no reason (found by a QA pass)."""
    section, notes = page["section"], []
    empty = [t["spec"].table for t in page.get("tables", []) if not t.get("missing") and not t["rows"]]
    no_chart = bool(section.charts) and not page.get("charts")
    if not (empty or no_chart):
        return notes
    absent = not_loaded(page)
    loaded = [s["name"] for s in (page.get("provenance") or {}).get("sources", []) if s.get("vintage")]
    what = " and ".join(filter(None, ["no chart" if no_chart else "",
                                      f"no rows in {', '.join(empty)}" if empty else ""]))
    if absent and not loaded:
        why = ("none of the sources this figure reads is loaded in this build (the warehouse's meta.snapshots lists "
               f"none of them): {', '.join(absent)}")
    elif absent:
        why = (f"not loaded in this build (not in the warehouse's meta.snapshots): {', '.join(absent)}; loaded: "
               f"{', '.join(loaded)}")
    else:
        why = f"every source this figure reads is loaded ({', '.join(loaded)}), none has data for it"
    notes.append(f"{what[0].upper()}{what[1:]}: {why}.")
    return notes


def _mof_not_loaded(pages: dict[str, dict]) -> bool:
    """MOF's top-30 file is not in this build: not in meta.snapshots (the partners section's provenance), or (a page
    without provenance) no row of it in figures.japan_main_lac_partners."""
    page = pages.get("figure-1-partners")
    if page and (page.get("provenance") or {}).get("sources"):
        return MOF_TOP30 in not_loaded(page)
    return not any(r["source"] == MOF_TOP30 for r in rows(page, "figures.japan_main_lac_partners"))


def _sources_text(partner_rows: list[dict]) -> str:
    """'IMF Direction of Trade Statistics (Japan's reports), 1995-2020; MOF's Trade Statistics (...), 2021-2025'."""
    by: dict[str, list[int]] = {}
    for r in partner_rows:
        by.setdefault(r["source"], []).append(r["year"])
    spans = sorted((min(y), SOURCE_TEXT.get(src, src), year_spans(y)) for src, y in by.items())
    return "; ".join(f"{name}, {years}" for _, name, years in spans)


def _bar_sources(bar_rows: list[dict]) -> str:
    """Figure 1's bars' sources (its rows' ``sources``), each with its years: 'IMF Direction of Trade Statistics
    (Japan's reports), 1995-2020; IMF International Trade in Goods Statistics, 2021'. The caption said "to the IMF"
    whatever the rows' sources (found by a QA pass)."""
    by: dict[str, list[int]] = {}
    for r in bar_rows:
        for src in str(r.get("sources") or "").split(","):
            if src:
                by.setdefault(src, []).append(r["year"])
    if not by:
        return SOURCE_TEXT["imf-dots"]
    spans = sorted((min(y), SOURCE_TEXT.get(src, src), year_spans(y)) for src, y in by.items())
    return "; ".join(f"{name}, {years}" for _, name, years in spans)


def _three_lines(partner_rows: list[dict], bar_years: list[int]) -> tuple[list[int], list[str]]:
    """The years Figure 1 draws Mexico+Brazil+Chile as dotted lines (from 2021 and after the last year of the CELAC
    bars, as the chart draws them; all three with a dollar value in a flow) and the sources of those rows."""
    first = three_partner_from(bar_years)
    count: dict[tuple[int, str], int] = {}
    for r in partner_rows:
        if r["year"] >= first and r["value_usd_bn"] is not None:
            count[(r["year"], r["flow"])] = count.get((r["year"], r["flow"]), 0) + 1
    years = sorted({y for (y, _), n in count.items() if n == 3})
    sources = sorted({r["source"] for r in partner_rows if r["year"] in years})
    return years, sources


def _figure_1(page: dict, pages: dict[str, dict]) -> tuple[str, str]:
    years = [r["year"] for r in rows(page, "figures.fig1_japan_lac_trade")]
    partner_rows = rows(pages.get("figure-1-partners"), "figures.japan_main_lac_partners")
    lines, sources = _three_lines(partner_rows, years)
    span = f", {min(years)} to {max(years)}" if years else ""
    caption = ("Japan's goods exports (FOB) to and imports (CIF) from the 33 CELAC states, as Japan reports them "
               f"({_bar_sources(rows(page, 'figures.fig1_japan_lac_trade'))}), US$ billions{span}. The report's "
               "span, 1995-2018, is marked; later years are the update. "
               "Whole years only: a year whose partners with a value hold less than 99 % of the region's trade in the "
               "years before (a release with a few partners so far) is left out, and the chart says so.")
    if lines:
        names = "; ".join(SOURCE_TEXT.get(s, s) for s in sources)
        caption += (f" The dotted lines, {year_spans(lines)}, are Mexico, Brazil and Chile alone ({names}): three "
                    "partners, never added into the LAC total.")
    if _mof_not_loaded(pages):
        caption += (f" MOF's file of Japan's 30 largest partners ({MOF_TOP30}) is not loaded in this build"
                    + ("." if lines else ": no Mexico, Brazil and Chile lines are drawn."))
    return page["section"].title, caption


def _figure_1_partners(page: dict, pages: dict[str, dict]) -> tuple[str, str]:
    partner_rows = rows(page, "figures.japan_main_lac_partners")
    years = [r["year"] for r in partner_rows]
    title = "Figure 1 carried forward — Mexico, Brazil and Chile" + (f", {min(years)} to {max(years)}" if years else "")
    sources = {r["source"] for r in partner_rows}
    caption = "Japan's exports to and imports from its three largest LAC partners"
    caption += f": {_sources_text(partner_rows)}." if partner_rows else "."
    imf, mof = bool(sources & set(IMF)), bool(sources - set(IMF))
    if imf:
        caption += " Yen for the IMF years at FRED's annual average yen per dollar" + (";" if mof else ".")
    if mof:
        caption += (" dollars for MOF's years the same way" if imf else " Dollars for MOF's years at FRED's annual "
                    "average yen per dollar") + (", only for years with all twelve monthly rates (a year without stays "
                                                 "in yen, with the reason).")
    provisional = sorted({r["year"] for r in partner_rows if r["is_provisional"]})
    if provisional:
        caption += f" Hollow points are provisional ({year_spans(provisional)}: to be revised by the publisher)."
    if _mof_not_loaded(pages):
        caption += (f" MOF's file of Japan's 30 largest partners ({MOF_TOP30}) is not loaded in this build"
                    + (f": the series ends in {max(years)}." if years else "."))
    return title, caption


def _num(value: float | None) -> str:
    return "no value" if value is None else f"{value:,.1f}"


def _fig1_chart(page: dict, pages: dict[str, dict], file: str) -> str:
    data = [r for r in rows(page, "figures.fig1_japan_lac_trade") if r["year"] is not None]
    partner_rows = rows(pages.get("figure-1-partners"), "figures.japan_main_lac_partners")
    lines, _ = _three_lines(partner_rows, [r["year"] for r in data])
    if not data and not lines:
        return "Figure 1 chart: no year of Japan's trade with the CELAC states in this build."
    text = ""
    if data:
        first, last = min(data, key=lambda r: r["year"]), max(data, key=lambda r: r["year"])
        top = max((r for r in data if r["exports_usd_bn"] is not None), key=lambda r: r["exports_usd_bn"],
                  default=None)
        text = (f"Bar chart of Japan's exports to and imports from the CELAC states (the partners with a value in "
                f"each year) by year, {first['year']} to {last['year']}, US$ billions. Exports "
                f"{_num(first['exports_usd_bn'])} in {first['year']}, {_num(last['exports_usd_bn'])} in "
                f"{last['year']}; imports {_num(first['imports_usd_bn'])} and {_num(last['imports_usd_bn'])}.")
        if top is not None:
            text += f" Exports peak at {_num(top['exports_usd_bn'])} in {top['year']}."
    if lines:
        final = max(lines)

        def total(flow: str) -> float:
            return sum(r["value_usd_bn"] for r in partner_rows if r["year"] == final and r["flow"] == flow
                       and r["value_usd_bn"] is not None)

        text += (f" Dotted lines, {year_spans(lines)}: Mexico, Brazil and Chile together (three partners, not the "
                 f"region), exports {_num(total('export'))} and imports {_num(total('import'))} in {final}.")
    return text.strip() + " Every value is in the data tables below."


def _partners_chart(page: dict, pages: dict[str, dict], file: str) -> str:
    data = [r for r in rows(page, "figures.japan_main_lac_partners") if r["year"] is not None]
    if not data:
        return "Chart of Japan's trade with Mexico, Brazil and Chile: no rows in this build."
    last = max(r["year"] for r in data)
    parts = []
    for partner in sorted({r["partner_iso3"] for r in data}):
        got = {r["flow"]: r for r in data if r["partner_iso3"] == partner and r["year"] == last}
        if got:
            parts.append(f"{partner} exports ¥{_num((got.get('export') or {}).get('value_jpy_bn'))} bn, imports "
                         f"¥{_num((got.get('import') or {}).get('value_jpy_bn'))} bn")
    provisional = " (provisional)" if any(r["is_provisional"] for r in data if r["year"] == last) else ""
    return (f"Line charts of Japan's exports to and imports from Mexico, Brazil and Chile by year, "
            f"{min(r['year'] for r in data)} to {last}, in US dollars (above) and yen (below). In {last}"
            f"{provisional}: {'; '.join(parts)}. Every value is in the data table below.")


def _fig2_chart(page: dict, pages: dict[str, dict], file: str) -> str:
    year = int(m.group(1)) if (m := re.search(r"_(\d{4})\.", file)) else None
    data = [r for r in rows(page, "figures.fig2_mexico_auto_plants") if r["as_of_year"] == year]
    counts: dict[str, int] = {}
    for r in data:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    companies = sorted({r["company"] for r in data if r["status"] == "operating"})
    said = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no plant"
    return (f"Map of Mexico with the plants of Japanese automakers as of {year}: {said}"
            + (f"; operating: {', '.join(companies)}" if companies else "") + ". Each plant is a row of the table "
            "below, with its state and municipality.")


def _fig3_chart(page: dict, pages: dict[str, dict], file: str) -> str:
    data = [r for r in rows(page, "figures.fig3_costa_rica_finance") if r["amount_usd_m"] is not None]
    if not data:
        return "Figure 3 chart: no finance to Costa Rica in this build."
    parts = []
    for donor in sorted({r["donor"] for r in data}):
        mine = [r for r in data if r["donor"] == donor]
        top = max(mine, key=lambda r: r["amount_usd_m"])
        parts.append(f"{donor}, {min(r['year'] for r in mine)} to {max(r['year'] for r in mine)}, largest "
                     f"{_num(top['amount_usd_m'])} ({top['measure'].replace('_', ' ')}, {top['year']})")
    return ("Charts of finance to Costa Rica by year, one panel per donor, US$ millions, each series one measure and "
            f"source: {'; '.join(parts)}. Every value is in the data table below.")


SECTIONS = (
    Section(
        id="figure-1",
        chart_text=_fig1_chart,
        title="Figure 1 — Japanese trade with Latin America and the Caribbean",
        report_caption="Figure 1: Japanese trade with LAC, 1995-2018 (US$ billions). Source: Trade Statistics of "
        "Japan, Ministry of Finance.",
        caption="Japan's goods exports (FOB) to and imports (CIF) from the 33 CELAC states, as Japan reports them "
        "to the IMF (DOTS), US$ billions. The report's span, 1995-2018, is marked; later years are the update. "
        "Whole years only: a year whose partners with a value hold less than 99 % of the region's trade in the "
        "years before (a release with a few partners so far) is left out, and the chart says so. The dotted lines "
        "from 2021 are Mexico, Brazil and Chile alone (MOF's file of Japan's 30 largest partners): three partners, "
        "never added into the LAC total.",
        charts=(("fig1_japan_lac_trade.svg", "Figure 1: Japan's exports to and imports from LAC by year, bars"),),
        tables=(TableSpec("figures.fig1_japan_lac_trade", "Data: Japan's trade with CELAC-33", order="year"),),
        reconciliation=(TableSpec("figures.fig1_reconciliation", "The report's statements beside jlac's numbers",
                                  order="statement_id"),),
        describe=_figure_1,
    ),
    Section(
        id="figure-1-partners",
        chart_text=_partners_chart,
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
                                  "Where two sources give the same year", order="partner_iso3, flow, year",
                                  # it said "No rows." with no reason (a QA pass): no year has both sources yet
                                  empty="No year has both sources yet: the IMF's years end where MOF's begin (a row "
                                        "appears for a year both give, e.g. once IMF IMTS is fetched)."),),
        describe=_figure_1_partners,
    ),
    Section(
        id="figure-2",
        chart_text=_fig2_chart,
        title="Figure 2 — Japanese automobile manufacturers in Mexico, 2018 and now",
        report_caption="Figure 2: Japanese automobile manufacturers in Mexico. Source: JETRO, 2018.",
        caption="Plants of Japanese automakers in Mexico as of 2018 (the report's view) and as of the latest year: "
        "openings and closures since 2018 show up. Coordinates are approximate (city or industrial-park level).",
        charts=(("fig2_mexico_auto_plants_2018.svg", "Map of Japanese automakers' plants in Mexico, 2018"),
                ("fig2_mexico_auto_plants_2*.svg", "Map of Japanese automakers' plants in Mexico, latest year")),
        tables=(TableSpec("figures.fig2_mexico_auto_plants", "Data: plants by year shown",
                          columns=("as_of_year", "company", "plant_name", "state", "municipality", "opened_year",
                                   "closed_year", "status", "status_changed_since_2018", "coord_precision",
                                   "source_url", "secondary_source_url"),
                          order="as_of_year, company, plant_name"),),
    ),
    Section(
        id="figure-3",
        chart_text=_fig3_chart,
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
                                           "jlac_measure", "comparable", "difference_usd_m", "explanation",
                                           "source_url"),
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
                                   "policy", "announced_date", "venue", "confidence", "source_url",
                                   "secondary_source_url"),
                          # the report's Table 1 (2018) first, as the model orders it
                          order="year_announced DESC, TRY_CAST(pillar_no AS INTEGER) NULLS LAST, pillar_no"),),
    ),
)

CLAIMS = TableSpec("figures.report_claims", "The report's claims, re-derived",
                   columns=("claim_id", "topic", "claim", "report_value", "unit", "ref_period", "jlac_value",
                            "difference_pct", "status", "jlac_source", "source_url"),
                   order="claim_id")
