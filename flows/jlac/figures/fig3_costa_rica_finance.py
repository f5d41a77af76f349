"""Figure 3 (finance to Costa Rica from China, Japan and Korea), the China-LAC lending chart, and the CSVs of
the report tables built beside them (Table 1, the report's claims, Figure 3's reconciliation).

Each series keeps its measure: a net disbursement (can be negative) and a commitment are drawn as separate
lines and never stacked or summed; the legend names measure, source and price basis.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jlac.figures import save, year_spans  # noqa: E402

DONORS = (("CHN", "China"), ("JPN", "Japan"), ("KOR", "Korea"))
MEASURE_LABEL = {"commitment": "commitments", "net_disbursement": "net disbursements",
                 "gross_disbursement": "gross disbursements"}
SOURCE_LABEL = {"oecd-dac2a": "OECD DAC2a", "aiddata-gcdf2-projects": "AidData GCDF 2.0",
                "aiddata-gcdf3-country-year": "AidData GCDF 3.0", "aiddata-v2-donor-recipient-year": "AidData 2.x",
                "mideplan-cooperation": "MIDEPLAN records", "oecd-dac2a-api": "OECD DAC2A (API)",
                "oecd-crs-api": "OECD CRS (API)", "aiddata-gcdf3-projects": "AidData GCDF 3.0 projects"}
# Tables written as CSV only (no chart): they are read as tables.
TABLES = ("fig3_reconciliation", "table1_japan_lac_policy", "report_claims")
READS = ("figures.fig3_finance_by_donor", "figures.china_lac_lending", "figures.fig3_costa_rica_finance",
         *(f"figures.{t}" for t in TABLES))  # see figures/__init__


def series_label(measure: str, source: str, price_basis: str) -> str:
    """'net disbursements, OECD DAC2a (current US$)': what a line measures, for the legend."""
    basis = "current US$" if price_basis == "current" else price_basis.replace("constant-", "constant ") + " US$"
    return f"{MEASURE_LABEL.get(measure, measure)}, {SOURCE_LABEL.get(source, source)} ({basis})"


def yearly(series):
    """A series' amounts (US$ m) on every year of its span: a year without an amount (NULL, or no row) is NaN, so
    the drawn line breaks there instead of running straight across it as if the year had been interpolated."""
    amounts = series.groupby("year")["amount_usd_m"].sum(min_count=1)
    if amounts.empty:
        return amounts.astype(float)
    return amounts.reindex(range(int(amounts.index.min()), int(amounts.index.max()) + 1)).astype(float)


def series_colours(frame) -> dict[tuple[str, str, str], str]:
    """One colour per series (measure, source, price basis) for every panel of a chart. Assigned per panel, orange
    was GCDF 3.0 commitments for China and DAC2a net disbursements for Japan and Korea (found by a QA pass)."""
    keys = sorted({tuple(k) for k in frame[["measure", "source", "price_basis"]].itertuples(index=False)})
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {k: palette[i % len(palette)] for i, k in enumerate(keys)}


def finance_chart(frame, title: str, outdir: Path, stem: str, note: str = "") -> list[Path]:
    """One panel per donor, one line per series (measure x source x price basis), US$ millions; ``note`` is added to
    the footnote."""
    donors = [d for d in DONORS if d[0] in set(frame["donor_iso3"])]
    colour = series_colours(frame)
    fig, axes = plt.subplots(1, max(len(donors), 1), figsize=(4.6 * max(len(donors), 1), 4.6), dpi=120,
                             sharex=True, squeeze=False)
    for ax, (iso3, name) in zip(axes[0], donors, strict=False):
        sub = frame[frame["donor_iso3"] == iso3]
        for (measure, source, basis), s in sub.groupby(["measure", "source", "price_basis"], sort=True):
            amounts = yearly(s)
            if amounts.isna().all():
                continue
            style = "-o" if measure == "commitment" else "-s"
            ax.plot(amounts.index, amounts.to_numpy(), style, ms=3.5, lw=1.4, color=colour[(measure, source, basis)],
                    label=series_label(measure, source, basis))
        ax.axhline(0, color="#777777", lw=0.7)
        ax.set_title(name, loc="left", fontsize=11)
        ax.set_ylabel("US$ millions")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, fontsize=6.5, loc="upper left")
    fig.suptitle(title, x=0.01, ha="left", fontsize=12)
    fig.text(0.01, 0.01, "Measures are not comparable: commitments are pledged or signed amounts in the year; net "
             "disbursements are payments minus repayments (negative when repayments exceed them). See docs/finance.md."
             + (f"\n{note}" if note else ""),
             fontsize=6.5, color="#555555")
    return save(fig, outdir, stem, rect=(0, 0.04, 1, 0.95))


def render_recipient(con, outdir: Path, recipient_iso3: str) -> list[Path]:
    """Figure 3 for any recipient, from figures.fig3_finance_by_donor (China, Japan, Korea, 2009 on)."""
    frame = con.execute(
        "SELECT donor_iso3, year, measure, source, price_basis, amount_usd_m FROM figures.fig3_finance_by_donor "
        "WHERE recipient_iso3 = ? AND donor_iso3 IN ('CHN', 'JPN', 'KOR') AND year >= 2009 ORDER BY year",
        [recipient_iso3],
    ).df()
    stem = f"fig3_finance_{recipient_iso3.lower()}"
    frame.to_csv(outdir / f"{stem}.csv", index=False)
    written = [outdir / f"{stem}.csv"]
    if not frame.empty:
        title = f"Development finance to {recipient_iso3} from China, Japan and Korea (US$ millions)"
        written += finance_chart(frame, title, outdir, stem)
    return written


def china_lending_chart(con, outdir: Path) -> list[Path]:
    """AidData CDB + China Eximbank loans to LAC by year beside the Dialogue/BU totals the report quotes."""
    frame = con.execute(
        "SELECT year, aiddata_usd_m, dialogue_bu_usd_m FROM figures.china_lac_lending "
        "WHERE recipient_iso3 = 'LAC' ORDER BY year"
    ).df()
    if frame.empty:
        return []
    fig, ax = plt.subplots(figsize=(9, 4.6), dpi=120)
    width = 0.4
    ax.bar(frame["year"] - width / 2, frame["aiddata_usd_m"] / 1000, width, color="#8c2d04",
           label="AidData GCDF 2.0: CDB + China Eximbank loans (commitments, nominal)")
    ax.bar(frame["year"] + width / 2, frame["dialogue_bu_usd_m"] / 1000, width, color="#fdae6b",
           label="Dialogue/BU database totals as published")
    ax.set_ylabel("US$ billions")
    ax.set_title("Chinese policy-bank loans to LAC (CELAC-33), US$ billions", loc="left", fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    # a year with one bar is one source's: the other has no number for it, which is not a zero (QA pass)
    only_bu = frame.loc[frame["aiddata_usd_m"].isna() & frame["dialogue_bu_usd_m"].notna(), "year"]
    only_aiddata = frame.loc[frame["dialogue_bu_usd_m"].isna() & frame["aiddata_usd_m"].notna(), "year"]
    notes = []
    if len(only_bu):
        last = frame.loc[frame["aiddata_usd_m"].notna(), "year"].max()
        notes.append(f"No AidData bar for {year_spans(only_bu)}: GCDF 2.0 ends in {int(last)}."
                     if last == last else f"No AidData bar for {year_spans(only_bu)}.")  # last is NaN without rows
    if len(only_aiddata):
        notes.append(f"No Dialogue/BU total for {year_spans(only_aiddata)} in jlac's reviewed statements.")
    if notes:
        fig.text(0.01, 0.01, " ".join(notes), fontsize=7, color="#555555")
    return save(fig, outdir, "china_lac_lending", rect=(0, 0.04, 1, 1) if notes else (0, 0, 1, 1))


def render(con, outdir: Path) -> list[Path]:
    """Figure 3 for Costa Rica (chart + CSV), the China lending chart, and the report tables as CSV."""
    frame = con.execute(
        "SELECT donor_iso3, donor, year, measure, source, price_basis, amount_usd_m, loans_usd_m, "
        "projects_without_amount, coverage FROM figures.fig3_costa_rica_finance ORDER BY donor_iso3, source, year"
    ).df()
    unknown = frame[frame["coverage"] == "projects recorded without an amount"]
    note = ("No point where AidData records projects without a stated amount only (amount unknown): "
            + ", ".join(str(y) for y in sorted({int(y) for y in unknown["year"]})) + "." if len(unknown) else "")
    # a year the source's release lacks is a gap in its line, not a zero: said, as the CSV's coverage says it
    absent = frame[frame["coverage"] == "year not in source"]
    if len(absent):
        note = " ".join(filter(None, [note, "No point for years the source's release does not hold: " + "; ".join(
            f"{src} {year_spans(sorted({int(y) for y in rows['year']}))}" for src, rows in absent.groupby("source"))
            + "."]))
    written = [outdir / "fig3_costa_rica_finance.csv"]
    frame.to_csv(written[0], index=False)
    if not frame.empty:
        last = int(frame["year"].max())
        written += finance_chart(
            frame, f"Grants and development finance to Costa Rica from China, Japan and Korea, 2009-{last} "
            "(US$ millions)", outdir, "fig3_costa_rica_finance", note,
        )
    lending = con.execute("SELECT * FROM figures.china_lac_lending").df()
    lending.to_csv(outdir / "china_lac_lending.csv", index=False)
    written += [outdir / "china_lac_lending.csv", *china_lending_chart(con, outdir)]
    for table in TABLES:
        path = outdir / f"{table}.csv"
        con.execute(f"SELECT * FROM figures.{table}").df().to_csv(path, index=False)
        written.append(path)
    return written
