"""Japan's imports from LAC (CELAC-33) by HS section, from real rows only (never benchmark data)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from jlac.figures import add_note, save, year_spans  # noqa: E402

NAME = "japan_lac_imports_by_hs_section"
EMPTY_NOTE = ("No real rows: the mirror has no partner split of MOF's HS-9 table and no Comtrade HS 27/44 rows "
              "for Japan's imports from CELAC states. Run `jlac fetch mof-hs9-country` (e-Stat appId needed).")

READS = (f"figures.{NAME}",)  # see figures/__init__


def _months(reported: int) -> str:
    """'January-October' for 10 months reported, 'January' for one, 'no month' for none."""
    names = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
    return "no month" if reported < 1 else names[0] if reported == 1 else f"January-{names[reported - 1]}"


def _draw(ax, df) -> None:
    """The stacked bars, one per year, a colour per section."""
    wide = df.pivot_table(index="year", columns="label", values="imports_usd_m", aggfunc="sum").fillna(0)
    wide = wide[df.sort_values("section_no")["label"].unique()]  # I, II, ... not alphabetical
    bottom = None
    for section in wide.columns:
        ax.bar(wide.index, wide[section], bottom=bottom, label=section)
        bottom = wide[section] if bottom is None else bottom + wide[section]
    ax.set_ylabel("US$ millions")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # years: a few of them had ticks at 2024.75 (QA pass)
    ax.legend(title="HS section", frameon=False, ncol=2, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def render(con, outdir: Path) -> list[Path]:
    """Stacked bars per year by section (US$ millions); an empty chart that says why when there are no rows."""
    df = con.execute(
        f"SELECT year, section, section_no, section_name, imports_usd_m, partners, months_reported, coverage, source "
        f"FROM figures.{NAME} "
        "ORDER BY year, section_no"
    ).df()
    written = [outdir / f"{NAME}.csv"]
    df.to_csv(written[0], index=False)
    rows = df
    fig, ax = plt.subplots(figsize=(10, 5.2), dpi=120)
    notes: list[str] = []
    if df.empty:
        ax.axis("off")
        ax.text(0.5, 0.5, EMPTY_NOTE, ha="center", va="center", wrap=True, fontsize=10)
    else:
        # a section drawn from Comtrade's extract alone holds one chapter of it: the legend says which
        only = df.groupby("section")["coverage"].agg(lambda c: set(c) == {"HS 27 and 44 only"})
        chapter = {"V": " (only HS 27, fuels)", "IX": " (only HS 44, wood)"}
        df["label"] = df["section"] + " " + df["section_name"] + df["section"].map(
            lambda sec: chapter.get(sec, "") if only.get(sec, False) else "")
        # a year with a section in yen only (no dollar rate for a month yet) is left out, not drawn short
        unpriced = sorted(int(y) for y in df.loc[df["imports_usd_m"].isna(), "year"].unique())
        # a MOF year in progress (its months so far) is left out, not drawn as a year's trade (found by a QA pass)
        # (no months known, a file the months view did not find: taken as reported whole, as before the column)
        months = df["months_reported"].fillna(12).groupby(df["year"]).min()
        in_progress = {int(y): int(m) for y, m in months.items() if m < 12 and int(y) not in unpriced}
        df = df[~df["year"].isin([*unpriced, *in_progress])]
        if df.empty:  # every year left out: the notes say why (it drew empty axes from 0 to 1: a QA pass)
            ax.axis("off")
            ax.text(0.5, 0.5, "No whole year to draw yet (see the note below).", ha="center", va="center",
                    transform=ax.transAxes, fontsize=10)
        else:
            _draw(ax, df)
        partial = sorted(int(y) for y in df.loc[df["coverage"] != "all HS chapters", "year"].unique())
        whole = sorted(int(y) for y in df.loc[df["coverage"] == "all HS chapters", "year"].unique())
        if partial:
            notes.append(f"{year_spans(partial)}: UN Comtrade HS 27 (section V) and HS 44 (IX) only"
                         + (f"; {year_spans(whole)}: MOF HS-9 x country, all chapters." if whole else "."))
        if unpriced:
            notes.append(f"Not drawn: {', '.join(map(str, unpriced))} (a month without FRED's dollar rate yet).")
        if in_progress:
            notes.append("Not drawn: " + ", ".join(f"{y} ({_months(m)} only, MOF's year in progress)"
                                                   for y, m in sorted(in_progress.items())) + ".")
    ax.set_title("Japan's imports from LAC (CELAC-33) by HS section, US$ millions", loc="left", fontsize=12)
    names = {"mof-hs9-country": "MOF Trade Statistics of Japan via e-Stat", "comtrade-classic-hs27-hs44": "UN Comtrade"}
    # the sources of every row read, drawn or left out (a year in progress alone said 'none with real rows yet')
    used = [names.get(x, x) for x in sorted(set(rows["source"]), key=lambda x: list(names).index(x) if x in names
                                            else 9)]
    sources = f"Sources: {', '.join(used) if used else 'none with real rows yet'}; via jlac."
    note_top = add_note(fig, "\n".join([" ".join(notes), sources] if notes else [sources]))  # wrapped to the width
    return written + save(fig, outdir, NAME, rect=(0, note_top, 1, 1))
