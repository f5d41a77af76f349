"""Figure 1 carried forward for Mexico, Brazil and Chile: exports and imports in US$ and in yen, 1995 on.

One column per partner, dollars above and yen below: a year MOF has in yen but FRED has no full-year rate for
(2025 in the mirror) appears in the yen row only. Provisional values are drawn hollow. The footnote names the
sources and years of the rows drawn; without MOF's rows (its file not loaded) it says so, and no MOF divider is drawn.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from jlac.figures import MOF_FROM, add_note, save, write_csv, year_spans  # noqa: E402

PARTNERS = (("MEX", "Mexico"), ("BRA", "Brazil"), ("CHL", "Chile"))
# imports dashed: the two lines of a panel are told apart without their colours (an accessibility pass)
FLOWS = (("export", "Exports to", "#1f4e79", "-"), ("import", "Imports from", "#c55a11", "--"))
MOF_SOURCE = "mof-trade-by-country-top30"
SOURCE_TEXT = {"imf-dots": "IMF Direction of Trade Statistics (Japan's reports)",
               "imf-imts": "IMF International Trade in Goods (IMTS)", "estat-trade": "MOF Trade Statistics (e-Stat)",
               "mof-customs": "MOF Trade Statistics (monthly tables)",
               MOF_SOURCE: "MOF Trade Statistics (Japan's 30 largest partners)", "comtrade-v1": "UN Comtrade"}
COLUMNS = ("year", "partner_iso3", "flow", "value_jpy_bn", "value_usd_bn", "source", "is_provisional", "vintage",
           "jpy_per_usd", "value_usd_note")

READS = ("figures.japan_main_lac_partners",)  # see figures/__init__


def sources_text(df: pd.DataFrame) -> str:
    """'IMF Direction of Trade Statistics (Japan's reports) 1995-2020; MOF Trade Statistics (...) 2021-2025': the
    sources of the rows there are, each with its years, in the order of their first year."""
    spans = sorted((int(rows.year.min()), SOURCE_TEXT.get(src, src), year_spans(rows.year))
                   for src, rows in df.groupby("source"))
    return "; ".join(f"{name} {years}" for _, name, years in spans)


def render(con, outdir: Path) -> list[Path]:
    """The chart (PNG, SVG) and the table (CSV, every column of figures.japan_main_lac_partners: the note saying why
    a dollar value is blank too) of figures.japan_main_lac_partners."""
    df = con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM figures.japan_main_lac_partners ORDER BY partner_iso3, flow, year"
    ).df()
    written = [write_csv(df, outdir / "japan_main_lac_partners.csv")]
    if df.empty:
        return written
    mof = bool((df.source == MOF_SOURCE).any())  # none: MOF's file is not in this build (--drop, a mirror without it)
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.4), dpi=110, sharex=True)
    for col, (iso3, name) in enumerate(PARTNERS):
        for row, (unit, label) in enumerate((("value_usd_bn", "US$ billions"), ("value_jpy_bn", "¥ billions"))):
            ax = axes[row][col]
            for flow, verb, color, style in FLOWS:
                part = df[(df.partner_iso3 == iso3) & (df.flow == flow) & df[unit].notna()]
                ax.plot(part.year, part[unit], color=color, lw=1.6, ls=style, label=f"{verb} {name}")
                prov = part[part.is_provisional.astype(bool)]
                ax.plot(prov.year, prov[unit], "o", mfc="white", mec=color, ms=5,
                        label="provisional (to be revised)" if flow == "import" and not prov.empty else None)
            if mof:
                ax.axvline(MOF_FROM - 0.5, color="#777777", lw=0.8, ls="--")
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(labelsize=8)
            if row == 0:
                ax.set_title(name, loc="left", fontsize=11)
            if col == 0:
                ax.set_ylabel(label)
            if row == 1:
                ax.legend(frameon=False, fontsize=7, loc="upper left")
    if mof:
        axes[0][0].text(MOF_FROM - 0.3, axes[0][0].get_ylim()[1] * 0.97, "MOF", fontsize=7, color="#555555", va="top")
    first, last = int(df.year.min()), int(df.year.max())
    missing = sorted(set(df[df.value_usd_bn.isna()].year))
    note = (f" No US$ value for {', '.join(map(str, missing))}: FRED has no full-year yen/dollar average yet."
            if missing else "")
    if not mof:
        note += f" MOF's file of Japan's 30 largest partners ({MOF_SOURCE}) is not loaded in this build."
    fig.suptitle(f"Japan's trade with Mexico, Brazil and Chile, {first}-{last}", x=0.01, ha="left", fontsize=12)
    # wrapped here, not by matplotlib's wrap=True, which wraps at draw time and reserves no room below the axes
    bottom = add_note(fig, f"Sources: {sources_text(df)}; yen/dollar: FRED EXJPUS annual average." + note)
    return written + save(fig, outdir, "japan_main_lac_partners", rect=(0, bottom, 1, 0.96))
