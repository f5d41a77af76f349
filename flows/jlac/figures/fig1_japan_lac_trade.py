"""Figure 1: Japan's trade with LAC (CELAC-33), 1995 to the latest year, US$ billions.

After the CELAC-33 bars, the later years (from 2021 on with the mirror) for Mexico, Brazil and Chile alone (MOF's
file of Japan's 30 largest partners, figures.japan_main_lac_partners) are drawn as a separate, labelled line: three
partners are not the region, so they are never added into its total, nor drawn in a year the bars cover. The legend
and the footnote are written from the rows there are: the dotted lines, their sources and years, and the hollow
(provisional) points only when drawn; without MOF's rows the footnote says the file is not loaded.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from jlac.figures import MOF_FROM, add_note, save, three_partner_from, write_csv, year_spans  # noqa: E402

REPORT_END = 2018
MOF_SOURCE = "mof-trade-by-country-top30"
SOURCE_NAMES = {MOF_SOURCE: "MOF", "mof-customs": "MOF", "estat-trade": "MOF via e-Stat", "imf-imts": "IMF IMTS",
                "imf-dots": "IMF DOTS", "comtrade-v1": "UN Comtrade"}

READS = ("figures.fig1_japan_lac_trade", "figures.japan_main_lac_partners",
         "intermediate.int_japan_trade_by_region")  # see figures/__init__


def title(first: int, lac_last: int, last: int) -> str:
    """The chart's title names what each span covers: the 33 CELAC states to their last year, then (when later
    years exist only for them) Mexico, Brazil and Chile to their last year in dollars. "LAC, 1995-2025" claimed the
    region to 2025 while its bars ended in 2020 and the dollars in 2024 (found by a QA pass)."""
    head = f"Japanese trade with LAC (33 CELAC states), {first}-{lac_last} (US$ billions)"
    if last > lac_last:  # a second line: one line ran off the chart's right edge
        head += f"\nthen with Mexico, Brazil and Chile only, to {last}"
    return head


def render(con, outdir: Path) -> list[Path]:
    """Exports and imports per year as bars, the report's 1995-2018 span marked, later years as the update."""
    # every column in the CSV: a downloaded copy kept no source at all (found by a QA pass)
    df = con.execute("SELECT * FROM figures.fig1_japan_lac_trade ORDER BY year").df()
    three = con.execute(
        "SELECT year, flow, sum(value_usd_bn) AS usd_bn, count(value_usd_bn) AS n, count(DISTINCT partner_iso3) AS "
        "partners, string_agg(DISTINCT partner_iso3, ',' ORDER BY partner_iso3) AS present, "
        "bool_or(is_provisional) AS provisional, string_agg(DISTINCT source, ',' ORDER BY source) AS sources "
        f"FROM figures.japan_main_lac_partners WHERE year >= {MOF_FROM} GROUP BY year, flow ORDER BY year"
    ).df()
    # MOF's rows at all (any year): none means its file is not in this build (jlac refresh --drop, a mirror without it)
    mof_rows = con.execute("SELECT count(*) FROM figures.japan_main_lac_partners WHERE source = ?",
                           [MOF_SOURCE]).fetchone()[0]
    # years the figure leaves out (a release with a few partners so far): said on the chart, not drawn as the region
    partial = con.execute(
        "SELECT year, export_coverage, import_coverage FROM intermediate.int_japan_trade_by_region "
        "WHERE region = 'celac' AND year >= 1995 AND NOT is_complete ORDER BY year"
    ).fetchall()
    written = [outdir / "fig1_japan_lac_trade.csv"]
    write_csv(df, written[0])  # booleans (in_report_span) as `jlac sql -f csv` writes them
    if df.empty:
        return written
    # the three partners only after the region's last year: once IMF IMTS carries the 33 states into 2021, MOF's
    # three-partner points were drawn on that year's bars as if a second LAC value (found by a regression audit)
    three = three[three.year >= three_partner_from(df["year"])]
    fig, ax = plt.subplots(figsize=(10, 5.2), dpi=120)
    handles = []  # the dotted series' legend entries, added only for what is drawn
    width = 0.4
    years = df["year"].to_numpy()
    update = years > REPORT_END
    for mask, alpha in ((~update, 1.0), (update, 0.55)):
        ax.bar(years[mask] - width / 2, df["exports_usd_bn"][mask], width, color="#1f4e79", alpha=alpha,
               label="Exports to LAC" if alpha == 1.0 else None)
        ax.bar(years[mask] + width / 2, df["imports_usd_bn"][mask], width, color="#c55a11", alpha=alpha,
               label="Imports from LAC" if alpha == 1.0 else None)
    # Mexico + Brazil + Chile from 2021: their own series, only years where all three have a dollar value
    # a year without one of the three (it left MOF's top 30) is not "in yen only": it has no line, said as such
    missing = {int(r.year): sorted({"BRA", "CHL", "MEX"} - set(r.present.split(","))) for r in three.itertuples()
               if r.partners < 3}
    yen_only = sorted(set(three[(three.n < 3) & (three.partners == 3)].year) - set(missing))
    three = three[three.n == 3]
    by = source_names(s for cell in three.sources for s in cell.split(","))  # the legend names the lines' sources
    for flow, color, verb in (("export", "#1f4e79", "Exports to"), ("import", "#c55a11", "Imports from")):
        part = three[three.flow == flow]
        if part.empty:
            continue
        final, prov = part[~part.provisional.astype(bool)], part[part.provisional.astype(bool)]
        ax.plot(part.year, part.usd_bn, color=color, lw=1.4, ls=":")
        ax.plot(final.year, final.usd_bn, "D", color=color, ms=4)
        # provisional years hollow, as in japan_main_lac_partners' chart (found by a QA pass: drawn filled)
        ax.plot(prov.year, prov.usd_bn, "D", mfc="white", mec=color, ms=4)
        handles.append(Line2D([], [], color=color, lw=1.4, ls=":", marker="D", ms=4,
                              label=f"{verb} Mexico+Brazil+Chile only ({by})"))
    if three.provisional.astype(bool).any():
        handles.append(Line2D([], [], color="#555555", ls="none", marker="D", mfc="white", ms=4,
                              label="hollow: provisional (to be revised)"))
    last = int(max([years.max(), *three.year, *yen_only, *missing, *(y for y, _, _ in partial)]))
    years_all = list(range(int(years.min()), last + 1))
    if update.any() or last > years.max():
        ax.axvspan(REPORT_END + 0.5, last + 0.6, color="#999999", alpha=0.12, lw=0)
        ax.text(REPORT_END + 0.6, ax.get_ylim()[1] * 0.95, "update after\nthe report", va="top", fontsize=8,
                color="#555555")
    for year in yen_only:  # MOF has the year in yen, FRED no full-year rate yet: say so instead of a point
        ax.text(year, ax.get_ylim()[1] * 0.02, f"{year}: Mexico+Brazil+Chile\nin yen only (no full-year\n"
                "FRED rate yet)", rotation=90, fontsize=7, color="#555555", ha="center", va="bottom")
    for year, absent in missing.items():
        ax.text(year, ax.get_ylim()[1] * 0.02, f"{year}: no line, {'+'.join(absent)}\nnot in MOF's file",
                rotation=90, fontsize=7, color="#555555", ha="center", va="bottom")
    for year, exports, imports in partial:
        ax.text(year, ax.get_ylim()[1] * 0.02, f"{year}: left out, partners\nwith data so far:\n{_share(exports)} "
                f"of exports,\n{_share(imports)} of imports", rotation=90, fontsize=7, color="#555555", ha="center",
                va="bottom")
    ax.axvline(REPORT_END + 0.5, color="#555555", lw=0.8, ls="--")
    # the title's span ends with the last year in dollars (a year in yen only is noted on the chart, not counted)
    dollars_last = int(max([years.max(), *three.year]))
    ax.set_title(title(int(years.min()), int(years.max()), dollars_last), loc="left", fontsize=12)
    ax.set_ylabel("US$ billions")
    ax.set_xlim(years.min() - 0.7, last + 0.7)
    ax.set_xticks(years_all[::2] if len(years_all) > 16 else years_all)
    ax.tick_params(axis="x", labelrotation=45)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(handles=handles + ax.get_legend_handles_labels()[0], frameon=False, loc="upper left")
    bottom = add_note(fig, footnote(three, mof_rows > 0, df))  # wrapped to the figure's width, axes above it
    return written + save(fig, outdir, "fig1_japan_lac_trade", rect=(0, bottom, 1, 1))


def source_names(sources) -> str:
    """'MOF', 'IMF IMTS' ...: the sources of the dotted series, as the legend and footnote name them."""
    return ", ".join(dict.fromkeys(SOURCE_NAMES.get(s, s) for s in sorted(set(sources))))


def bar_sources(bars) -> str:
    """The bars' sources from their rows' ``sources`` (figures.fig1_japan_lac_trade), each with its years when more
    than one: 'Source: IMF Direction of Trade Statistics (Japan's reports)' for the mirror's build, 'Sources: IMF DOTS
    1995-2020; IMF IMTS 2021 (Japan's reports)' once a later year comes from another (the footnote named DOTS alone
    for IMTS years: found by a QA pass)."""
    years: dict[str, list[int]] = {}
    for year, cell in zip(bars["year"], bars["sources"], strict=True):
        for src in str(cell or "").split(","):
            if src:
                years.setdefault(src, []).append(int(year))
    if set(years) <= {"imf-dots"}:
        return "Source: IMF Direction of Trade Statistics (Japan's reports)"
    spans = sorted((min(y), f"{SOURCE_NAMES.get(src, src)} {year_spans(y)}") for src, y in years.items())
    # ';' between sources: their years are ','-separated when not consecutive
    return f"Source{'s' if len(spans) > 1 else ''}: {'; '.join(text for _, text in spans)} (Japan's reports)"


def footnote(three, mof_loaded: bool, bars) -> str:
    """The chart's footnote from the rows drawn (``three``: the Mexico+Brazil+Chile years with a dollar value;
    ``bars``: figures.fig1_japan_lac_trade's rows): the bars' and the dotted series' sources and years, and the hollow
    points, only when drawn; said plainly when MOF's file is not in the build. It said "Dotted: ... (MOF ...)" with
    no dotted line drawn and the data ending in 2020 (QA pass)."""
    text = f"{bar_sources(bars)}, via jlac. LAC = 33 CELAC states. Report span 1995-2018 marked."
    if not three.empty:
        by = source_names(s for cell in three.sources for s in cell.split(","))
        text += (f"\nDotted: Mexico, Brazil and Chile only, {year_spans(three.year)} ({by}, yen at FRED's annual "
                 "rate), not a LAC total.")
        provisional = three[three.provisional.astype(bool)]
        if not provisional.empty:
            text += f" Hollow: provisional ({year_spans(provisional.year)}), to be revised."
    if not mof_loaded:
        text += (f"\nMOF's file of Japan's 30 largest partners ({MOF_SOURCE}) is not loaded in this build"
                 + (": no Mexico+Brazil+Chile lines." if three.empty else "."))
    return text


def _share(coverage: float | None) -> str:
    return "no value" if coverage is None else f"{100 * coverage:.0f} %"

