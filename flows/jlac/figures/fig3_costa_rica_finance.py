"""Figure 3 (finance to Costa Rica from China, Japan and Korea), the China-LAC lending chart, and the CSVs of
the report tables built beside them (Table 1, the report's claims, Figure 3's reconciliation).

Each series keeps its measure: a net disbursement (can be negative) and a commitment are drawn as separate
lines and never stacked or summed; the legend names measure, source and price basis.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jlac.errors import JlacError  # noqa: E402
from jlac.figures import add_note, save, write_csv, year_spans  # noqa: E402

log = logging.getLogger(__name__)

DONORS = (("CHN", "China"), ("JPN", "Japan"), ("KOR", "Korea"))
MEASURE_LABEL = {"commitment": "commitments", "net_disbursement": "net disbursements",
                 "gross_disbursement": "gross disbursements"}
# GCDF 3.0's country-year sums are a redistributor's aggregation of AidData's projects (its SNAPSHOT.yml): said so
SOURCE_LABEL = {"oecd-dac2a": "OECD DAC2a", "aiddata-gcdf2-projects": "AidData GCDF 2.0",
                "aiddata-gcdf3-country-year": "AidData GCDF 3.0, summed by odadata",
                "aiddata-v2-donor-recipient-year": "AidData 2.x",
                "mideplan-cooperation": "MIDEPLAN records", "oecd-dac2a-api": "OECD DAC2A (API)",
                "oecd-crs-api": "OECD CRS (API)", "aiddata-gcdf3-projects": "AidData GCDF 3.0 projects"}
# The sources figures.fig3_costa_rica_finance reads (its model's lineage, checked by tests/test_figures_absent_sources)
FIG3_SOURCES = ("oecd-dac2a", "oecd-dac2a-api", "oecd-crs-api", "aiddata-gcdf2-projects", "aiddata-gcdf3-projects",
                "aiddata-gcdf3-country-year", "aiddata-v2-donor-recipient-year", "mideplan-cooperation")
# Tables written as CSV only (no chart): they are read as tables.
TABLES = ("fig3_reconciliation", "table1_japan_lac_policy", "report_claims")
READS = ("figures.fig3_finance_by_donor", "figures.china_lac_lending", "figures.fig3_costa_rica_finance",
         *(f"figures.{t}" for t in TABLES),
         "marts.dim_country")  # see figures/__init__; dim_country: a recipient's name (render_recipient)


def series_label(measure: str, source: str, price_basis: str) -> str:
    """'net disbursements, OECD DAC2a (current US$)': what a line measures, for the legend. AidData 2.x does not
    document its price basis (mostly constant 2009 US$, its SNAPSHOT.yml says): 'approx.', not stated as a fact."""
    basis = "current US$" if price_basis == "current" else price_basis.replace("constant-", "constant ") + " US$"
    if source == "aiddata-v2-donor-recipient-year" and price_basis != "current":
        basis = f"approx. {basis}"
    return f"{MEASURE_LABEL.get(measure, measure)}, {SOURCE_LABEL.get(source, source)} ({basis})"


def yearly(series):
    """A series' amounts (US$ m) on every year of its span: a year without an amount (NULL, or no row) is NaN, so
    the drawn line breaks there instead of running straight across it as if the year had been interpolated."""
    amounts = series.groupby("year")["amount_usd_m"].sum(min_count=1)
    if amounts.empty:
        return amounts.astype(float)
    return amounts.reindex(range(int(amounts.index.min()), int(amounts.index.max()) + 1)).astype(float)


# Okabe and Ito's palette, told apart with the common colour-vision deficiencies: matplotlib's default green and red
# (Japan's and Korea's series) became one olive under deuteranopia (an accessibility pass)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
LINE_STYLES = ("-", "--", ":", "-.")  # and a line style per series, for a reader who sees no colour at all


def series_colours(frame) -> dict[tuple[str, str, str], str]:
    """One colour per series (measure, source, price basis) for every panel of a chart. Assigned per panel, orange
    was GCDF 3.0 commitments for China and DAC2a net disbursements for Japan and Korea (found by a QA pass)."""
    keys = sorted({tuple(k) for k in frame[["measure", "source", "price_basis"]].itertuples(index=False)})
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}


def series_styles(frame) -> dict[tuple[str, str, str], str]:
    """One line style per series, in the order of ``series_colours``: two series of a panel differ in more than
    colour."""
    keys = sorted({tuple(k) for k in frame[["measure", "source", "price_basis"]].itertuples(index=False)})
    return {k: LINE_STYLES[i % len(LINE_STYLES)] for i, k in enumerate(keys)}


def finance_chart(frame, title: str, outdir: Path, stem: str, note: str = "") -> list[Path]:
    """One panel per donor, one line per series (measure x source x price basis), US$ millions; ``note`` is added to
    the footnote."""
    donors = [d for d in DONORS if d[0] in set(frame["donor_iso3"])]
    colour, style = series_colours(frame), series_styles(frame)
    fig, axes = plt.subplots(1, max(len(donors), 1), figsize=(4.6 * max(len(donors), 1), 4.6), dpi=120,
                             sharex=True, squeeze=False)
    for ax, (iso3, name) in zip(axes[0], donors, strict=False):
        sub = frame[frame["donor_iso3"] == iso3]
        for (measure, source, basis), s in sub.groupby(["measure", "source", "price_basis"], sort=True):
            amounts = yearly(s)
            if amounts.isna().all():
                continue
            # commitments as larger hollow circles drawn over the squares: a commitment equal to a disbursement of
            # the same year (Korea 2009: 0.087 and 0.09) was hidden under it (found by a QA pass)
            commitment = measure == "commitment"
            key = (measure, source, basis)
            ax.plot(amounts.index, amounts.to_numpy(), marker="o" if commitment else "s", ls=style[key],
                    ms=5 if commitment else 3.5, mfc="none" if commitment else None, lw=1.4,
                    zorder=3 if commitment else 2, color=colour[key], label=series_label(measure, source, basis))
        ax.axhline(0, color="#777777", lw=0.7)
        ax.set_title(name, loc="left", fontsize=11)
        ax.set_ylabel("US$ millions")
        ax.spines[["top", "right"]].set_visible(False)
        # under the panel: inside it, "best" still sat on China's 2013 peak (an accessibility pass)
        ax.legend(frameon=False, fontsize=6.5, loc="upper left", bbox_to_anchor=(0, -0.1))
    fig.suptitle(title, x=0.01, ha="left", fontsize=12)
    # wrapped to the figure's width, the axes laid out above it (one line ran off the figure: a QA pass)
    bottom = add_note(fig, "Measures are not comparable: commitments are pledged or signed amounts in the year; net "
                      "disbursements are payments minus repayments (negative when repayments exceed them). See "
                      "docs/finance.md." + (f"\n{note}" if note else ""), fontsize=6.5)
    return save(fig, outdir, stem, rect=(0, bottom, 1, 0.95))


def render_recipient(con, outdir: Path, recipient_iso3: str) -> list[Path]:
    """Figure 3 for any recipient, from figures.fig3_finance_by_donor (China, Japan, Korea, 2009 on): its CSV and
    chart as ``fig3_finance_<iso3>.csv/png/svg`` (``jlac figures --recipient ISO3``).

    A recipient without a row there is refused (JlacError): a mistyped code wrote an empty CSV and no chart without
    a word."""
    iso3 = recipient_iso3.strip().upper()
    frame = con.execute(
        "SELECT donor_iso3, year, measure, source, price_basis, amount_usd_m FROM figures.fig3_finance_by_donor "
        "WHERE recipient_iso3 = ? AND donor_iso3 IN ('CHN', 'JPN', 'KOR') AND year >= 2009 ORDER BY year",
        [iso3],
    ).df()
    if frame.empty:
        raise JlacError(
            f"Figure 3 for recipient {recipient_iso3!r}: figures.fig3_finance_by_donor has no finance from China, "
            "Japan or Korea to it from 2009 on; expected a recipient's ISO3 code, such as NIC or PAN (`jlac sql "
            "\"SELECT DISTINCT recipient_iso3 FROM figures.fig3_finance_by_donor\"` lists them)")
    name = con.execute("SELECT any_value(name) FROM marts.dim_country WHERE iso3 = ?", [iso3]).fetchone()[0]
    stem = f"fig3_finance_{iso3.lower()}"
    written = [write_csv(frame, outdir / f"{stem}.csv")]
    title = f"Development finance to {name or iso3} from China, Japan and Korea (US$ millions)"
    return written + finance_chart(frame, title, outdir, stem)


def china_lending_chart(con, outdir: Path) -> list[Path]:
    """AidData CDB + China Eximbank loans to LAC by year beside the Dialogue/BU totals the report quotes.

    A series is drawn, and has a legend entry, only when it has a number; the legend names the AidData datasets the
    bars come from. Without AidData's project data in the build the chart says so (it drew the Dialogue/BU bars under
    a legend "AidData GCDF 2.0: ..." with no AidData row: found by a QA pass)."""
    frame = con.execute(
        "SELECT year, aiddata_usd_m, aiddata_source, dialogue_bu_usd_m, n_loans_without_amount "
        "FROM figures.china_lac_lending WHERE recipient_iso3 = 'LAC' ORDER BY year"
    ).df()
    aiddata, bu = frame["aiddata_usd_m"].notna(), frame["dialogue_bu_usd_m"].notna()
    if not (aiddata.any() or bu.any()):
        log.warning("china_lac_lending not drawn: figures.china_lac_lending has no AidData loans and no Dialogue/BU "
                    "total for LAC")
        return []
    fig, ax = plt.subplots(figsize=(9, 4.6), dpi=120)
    width = 0.4
    datasets = sorted(set(frame.loc[aiddata, "aiddata_source"].dropna()))
    if aiddata.any():
        names = " + ".join(SOURCE_LABEL.get(d, d).removeprefix("AidData ") for d in datasets) or "project data"
        ax.bar(frame["year"] - width / 2, frame["aiddata_usd_m"] / 1000, width, color="#8c2d04",
               label=f"AidData {names}: CDB + China Eximbank loans (commitments, nominal)")
    if bu.any():
        ax.bar(frame["year"] + width / 2, frame["dialogue_bu_usd_m"] / 1000, width, color="#fdae6b",
               label="Dialogue/BU database totals as published")
    ax.set_ylabel("US$ billions")
    ax.set_title("Chinese policy-bank loans to LAC (CELAC-33), US$ billions", loc="left", fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    # a year with one bar is one source's: the other has no number for it, which is not a zero (QA pass)
    notes = []
    if not frame["aiddata_source"].notna().any():  # no year inside a loaded AidData dataset's span: none is loaded
        notes.append("No AidData bars: AidData's project data (aiddata-gcdf2-projects, aiddata-gcdf3-projects) is not "
                     "loaded in this build.")
    elif (only_bu := frame.loc[~aiddata & bu, "year"]).size:
        last = frame.loc[aiddata, ["year", "aiddata_source"]].dropna().tail(1)
        notes.append(f"No AidData bar for {year_spans(only_bu)}: "
                     f"{SOURCE_LABEL.get(last.aiddata_source.iloc[0], 'AidData').removeprefix('AidData ')} ends in "
                     f"{int(last.year.iloc[0])}." if len(last) else f"No AidData bar for {year_spans(only_bu)}.")
    # AidData's bar leaves out its loans without a stated amount (no zero is added for them): said (a QA pass)
    if (no_amount := frame.loc[frame["n_loans_without_amount"].fillna(0) > 0, "year"]).size:
        notes.append(f"AidData's bars leave out its loans without a stated amount ({year_spans(no_amount)}).")
    if not bu.any():
        notes.append("No Dialogue/BU total in jlac's reviewed statements.")
    elif (only_aiddata := frame.loc[aiddata & ~bu, "year"]).size:
        notes.append(f"No Dialogue/BU total for {year_spans(only_aiddata)} in jlac's reviewed statements.")
    bottom = add_note(fig, " ".join(notes)) if notes else 0  # wrapped: one line was cut mid-year (a QA pass)
    return save(fig, outdir, "china_lac_lending", rect=(0, bottom, 1, 1))


def not_loaded(con) -> list[str]:
    """The sources Figure 3 reads that this build holds no row of: their raw table is empty (a refresh without a
    snapshot of them, --drop) or absent. Read from the raw tables, not meta.snapshots: a refresh draws the figures
    before it writes its meta tables. Only to say why Figure 3 is not drawn, so not in READS."""
    from jlac.sources import all_sources

    sources, absent = all_sources(), []
    for name in FIG3_SOURCES:
        table = sources[name].table if name in sources else name.replace("-", "_")
        try:
            rows = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
        except duckdb.CatalogException:
            rows = 0
        if not rows:
            absent.append(name)
    return absent


def render(con, outdir: Path) -> list[Path]:
    """Figure 3 for Costa Rica (chart + CSV), the China lending chart, and the report tables as CSV."""
    frame = con.execute(
        "SELECT donor_iso3, donor, year, measure, source, price_basis, amount_usd_m, loans_usd_m, "
        "projects_without_amount, coverage FROM figures.fig3_costa_rica_finance ORDER BY donor_iso3, source, year"
    ).df()
    unknown = frame[frame["coverage"] == "projects recorded without an amount"]
    # by source: one list of years across GCDF 2.0 and 3.0 named years true of one of them only (a QA pass)
    note = ("No point where AidData records projects without a stated amount only (amount unknown): " + "; ".join(
        f"{src} {year_spans(sorted({int(y) for y in rows['year']}))}" for src, rows in unknown.groupby("source"))
        + "." if len(unknown) else "")
    # a year the source's release lacks is a gap in its line, not a zero: said, as the CSV's coverage says it
    absent = frame[frame["coverage"] == "year not in source"]
    if len(absent):
        note = " ".join(filter(None, [note, "No point for years the source's release does not hold: " + "; ".join(
            f"{src} {year_spans(sorted({int(y) for y in rows['year']}))}" for src, rows in absent.groupby("source"))
            + "."]))
    # a line that ends before the chart does ends with its source, said (Japan's and Korea's DAC2a lines stopped at
    # 2019 under a title to 2021, without a word; found by a QA pass)
    ended = set(frame.loc[frame["coverage"] == "outside source years", "source"])
    covered = frame[(frame["coverage"] != "outside source years") & frame["source"].isin(ended)]
    if len(covered):
        note = " ".join(filter(None, [note, "Each line covers the years of its source's release only: " + "; ".join(
            f"{src} {year_spans(sorted({int(y) for y in rows['year']}))}" for src, rows in covered.groupby("source"))
            + "."]))
    written = [write_csv(frame, outdir / "fig3_costa_rica_finance.csv")]
    if not frame.empty:
        last = int(frame["year"].max())
        written += finance_chart(
            frame, f"Grants and development finance to Costa Rica from China, Japan and Korea, 2009-{last} "
            "(US$ millions)", outdir, "fig3_costa_rica_finance", note,
        )
    else:  # said, not skipped in silence (found by a QA pass): which of its sources the build lacks
        unloaded = not_loaded(con)
        why = (f"not loaded in this build (no row in their raw tables): {', '.join(unloaded)}" if unloaded
               else "its sources are loaded but hold no finance from China, Japan or Korea to Costa Rica since 2009")
        if unloaded and len(unloaded) < len(FIG3_SOURCES):
            why += f"; loaded: {', '.join(s for s in FIG3_SOURCES if s not in unloaded)}"
        log.warning("Figure 3 (fig3_costa_rica_finance) not drawn: figures.fig3_costa_rica_finance has no rows; %s",
                    why)
    lending = con.execute("SELECT * FROM figures.china_lac_lending").df()
    written += [write_csv(lending, outdir / "china_lac_lending.csv"), *china_lending_chart(con, outdir)]
    for table in TABLES:
        written.append(write_csv(con.execute(f"SELECT * FROM figures.{table}").df(), outdir / f"{table}.csv"))
    return written
