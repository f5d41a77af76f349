"""Found by a QA pass: figures and the report site built without some sources (`jlac refresh --drop <source>`, or a
mirror without it) described data the warehouse did not hold, and the CSVs wrote what the charts' notes rest on
unlike the other CSVs.

1. Without `mof-trade-by-country-top30`, Figure 1's footnote said "Dotted: Mexico, Brazil and Chile only (MOF ...)"
   with no dotted line drawn; the site's heading said "... 1995 to 2025" and its text "MOF's Trade Statistics from
   2021" and "The dotted lines from 2021" while the data end in 2020.
2. Without AidData's project data, the China lending chart had the legend "AidData GCDF 2.0: ..." and no AidData bar,
   and the table's note read "AidData project data loaded end in (none loaded) ... not derivable for 2015".
3. Without Figure 3's sources, the site showed "0 rows. No rows." and no chart with no reason, and `jlac figures`
   skipped the chart in silence.
4. Figure 1 drew a provisional year of Mexico+Brazil+Chile with a filled marker (hollow in the partners' chart).
5. japan_main_lac_partners.csv had no value_usd_note (a blank dollar value without its reason) and wrote booleans
   True/False where `jlac sql -f csv` writes true/false.

One small refresh (Japan's DOTS workbook, FRED and the customs codes only: no MOF top-30 file, no AidData, no OECD)
publishes the warehouse and the site these tests read; the cases with MOF's rows insert them into a copy of it.
"""

from __future__ import annotations

import csv
import html
import logging
import re
import shutil

import duckdb
import pytest
from conftest import HEAVY_OPTIONAL, JAPAN_WORKBOOK, small_mirror
from jlac.figures import fig1_japan_lac_trade as fig1
from jlac.figures import fig3_costa_rica_finance as fig3
from jlac.figures import japan_main_lac_partners as partners

MOF = "mof-trade-by-country-top30"
AIDDATA = ("aiddata-gcdf2-projects", "aiddata-gcdf3-country-year", "aiddata-v2-donor-recipient-year")
LEFT_OUT = (*HEAVY_OPTIONAL, MOF, *AIDDATA, "oecd-dac2a")


@pytest.fixture(scope="module")
def dropped(tmp_path_factory, mirror):
    """Settings of a warehouse published from a mirror without MOF's top-30 file, AidData and OECD DAC2a."""
    from jlac import pipeline
    from jlac.config import Settings

    home = tmp_path_factory.mktemp("absent-sources")
    root = small_mirror(home / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK}, leave_out=LEFT_OUT)
    settings = Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "wh" / "snapshots",
                        mirrors=(root,), output=home / "out")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"JLAC_WAREHOUSE": settings.warehouse, "JLAC_MIRROR": root, "JLAC_SNAPSHOTS": settings.snapshots,
                     "JLAC_OUTPUT": settings.output}.items():
            mp.setenv(k, str(v))
        record = pipeline.refresh(settings, trigger="test")
    assert record.status == "completed", record.error
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        loaded = {r[0] for r in con.execute("SELECT DISTINCT source FROM meta.snapshots").fetchall()}
    assert loaded.isdisjoint(LEFT_OUT) and {"imf-dots", "fred-exjpus"} <= loaded
    return settings


def drawn(monkeypatch, module, con, outdir, name: str = "render"):
    """Run ``module.<name>(con, outdir)`` and return its matplotlib figures as drawn (before they are saved)."""
    figs = []
    real = module.save

    def keep(fig, *a, **k):
        figs.append(fig)
        return real(fig, *a, **k)

    monkeypatch.setattr(module, "save", keep)
    getattr(module, name)(con, outdir)
    return figs


def legend_labels(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def flat(text: str) -> str:
    """A chart's text as read: the lines a footnote is wrapped into (jlac.figures.add_note) joined by spaces."""
    return " ".join(text.split())


def all_text(fig) -> str:
    """Every text of a figure: its own (footnote, title), the axes' texts and titles, the legends."""
    texts = [flat(t.get_text()) for t in fig.texts] + [fig.get_suptitle()]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts] + [ax.get_title(loc="left")]
    return "\n".join(texts + legend_labels(fig))


def section_text(index_html: str, section: str) -> str:
    """The text of a section of the report page, tags stripped, white space collapsed."""
    match = re.search(rf'<section id="{section}".*?</section>', index_html, re.S)
    assert match, section
    body = re.sub(r'<details class="provenance">.*', "", match.group(0), flags=re.S)  # not the sources box
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def heading(index_html: str, section: str) -> str:
    match = re.search(rf'<section id="{section}"[^>]*>\s*<h2>(.*?)</h2>', index_html, re.S)
    return html.unescape(match.group(1)).strip()


@pytest.fixture
def with_mof_rows(dropped, tmp_path):
    """A copy of the warehouse whose figures.japan_main_lac_partners has MOF rows for 2021-2025 (2020's values),
    2025 provisional; ``dollars_2025``: 2025 in dollars too (a FRED release covering it), else in yen only."""

    def make(dollars_2025: bool) -> duckdb.DuckDBPyConnection:
        db = tmp_path / f"mof-{dollars_2025}.duckdb"
        shutil.copyfile(dropped.warehouse, db)
        con = duckdb.connect(str(db))
        con.execute(
            "INSERT INTO figures.japan_main_lac_partners (year, partner_iso3, flow, value_jpy_bn, value_usd_bn, "
            "source, is_provisional, vintage, jpy_per_usd, value_usd_note) "
            "SELECT y.year, p.partner_iso3, p.flow, p.value_jpy_bn, CASE WHEN y.year < 2025 OR ? THEN p.value_usd_bn "
            "END, ?, y.year = 2025, '2026-10-04', CASE WHEN y.year < 2025 OR ? THEN p.jpy_per_usd END, "
            "CASE WHEN y.year = 2025 AND NOT ? THEN 'no full-year yen/dollar rate for 2025: FRED EXJPUS has 4 of 12 "
            "months' END FROM figures.japan_main_lac_partners p, range(2021, 2026) y(year) WHERE p.year = 2020",
            [dollars_2025, MOF, dollars_2025, dollars_2025])
        return con

    cons = []
    yield lambda dollars_2025: cons.append(make(dollars_2025)) or cons[-1]
    for con in cons:
        con.close()


# --- 1. Figure 1 without MOF's top-30 file ------------------------------------------------------------------------

def test_figure_1_without_mofs_file_draws_and_says_no_mof_series(dropped, monkeypatch, tmp_path):
    with duckdb.connect(str(dropped.warehouse), read_only=True) as con:
        assert con.execute("SELECT max(year), count(*) FILTER (source = ?) FROM figures.japan_main_lac_partners",
                           [MOF]).fetchone() == (2020, 0)
        [chart] = drawn(monkeypatch, fig1, con, tmp_path)
        [carried] = drawn(monkeypatch, partners, con, tmp_path)
    footnote = flat(chart.texts[-1].get_text())
    assert "Dotted" not in footnote and "Hollow" not in footnote
    assert f"MOF's file of Japan's 30 largest partners ({MOF}) is not loaded in this build" in footnote
    assert legend_labels(chart) == ["Exports to LAC", "Imports from LAC"]  # no entry for a series not drawn
    text = all_text(carried)
    assert "from 2021" not in text and "MOF" not in text.replace(f"MOF's file of Japan's 30 largest partners ({MOF}) "
                                                                 "is not loaded in this build", "")
    assert "IMF Direction of Trade Statistics (Japan's reports) 1995-2020" in text
    assert "1995-2020" in carried.get_suptitle()


def test_the_site_without_mofs_file_writes_headings_and_text_from_the_data(dropped):
    page = (dropped.output / "site" / "index.html").read_text(encoding="utf-8")
    assert heading(page, "figure-1-partners") == "Figure 1 carried forward — Mexico, Brazil and Chile, 1995 to 2020"
    carried = section_text(page, "figure-1-partners")
    assert "from 2021" not in carried and "2025" not in carried and "Hollow" not in carried
    assert "IMF Direction of Trade Statistics (Japan's reports), 1995-2020." in carried
    assert f"MOF's file of Japan's 30 largest partners ({MOF}) is not loaded in this build: the series ends in 2020." \
        in carried
    figure_1 = section_text(page, "figure-1")
    assert "dotted" not in figure_1.lower() and "US$ billions, 1995 to 2020." in figure_1
    assert "as Japan reports them (IMF Direction of Trade Statistics (Japan's reports), 1995-2020)" in figure_1
    assert f"({MOF}) is not loaded in this build: no Mexico, Brazil and Chile lines are drawn." in figure_1


def test_the_site_text_names_mofs_years_and_provisional_points_when_there_are_some():
    """The same section text from rows with MOF's 2021-2025 (2025 provisional), as the full mirror has them."""
    from jlac.site.sections import SECTIONS, TableSpec

    by_id = {s.id: s for s in SECTIONS}
    rows = [(y, p, f, 1.0, None if y == 2025 else 1.0, "imf-dots" if y <= 2020 else MOF, y == 2025)
            for y in range(1995, 2026) for p in ("MEX", "BRA", "CHL") for f in ("export", "import")]
    columns = [{"name": n} for n in ("year", "partner_iso3", "flow", "value_jpy_bn", "value_usd_bn", "source",
                                     "is_provisional")]
    carried = {"section": by_id["figure-1-partners"], "charts": [{"file": "x.svg"}], "provenance": {"sources": [
        {"name": MOF, "vintage": "2026-10-04"}, {"name": "imf-dots", "vintage": "2022-02-02"}]},
        "tables": [{"spec": TableSpec("figures.japan_main_lac_partners", ""), "columns": columns, "rows": rows}]}
    figure_1 = {"section": by_id["figure-1"], "charts": [{"file": "y.svg"}], "provenance": carried["provenance"],
                "tables": [{"spec": TableSpec("figures.fig1_japan_lac_trade", ""), "columns": [{"name": "year"}],
                            "rows": [(y,) for y in range(1995, 2021)]}]}
    pages = [figure_1, carried]
    text = by_id["figure-1-partners"].text(carried, pages)
    assert text["title"] == "Figure 1 carried forward — Mexico, Brazil and Chile, 1995 to 2025"
    assert "IMF Direction of Trade Statistics (Japan's reports), 1995-2020; MOF's Trade Statistics (Japan's 30 " \
           "largest partners), 2021-2025." in text["caption"]
    assert "Hollow points are provisional (2025" in text["caption"] and "not loaded" not in text["caption"]
    assert text["notes"] == []
    caption = by_id["figure-1"].text(figure_1, pages)["caption"]
    assert "The dotted lines, 2021-2024, are Mexico, Brazil and Chile alone (MOF's Trade Statistics (Japan's 30 " \
           "largest partners))" in caption and "not loaded" not in caption


def test_figure_1_credits_the_sources_of_its_bars_by_year():
    """Found by a QA pass: with a year of IMF IMTS (a fetched release), the chart still said "Source: IMF Direction
    of Trade Statistics", hard-coded, and the site "as Japan reports them to the IMF"; the CSV dropped the sources."""
    import pandas as pd
    from jlac.site.sections import SECTIONS, TableSpec

    dots = pd.DataFrame({"year": [2019, 2020], "sources": ["imf-dots", "imf-dots"]})
    assert fig1.bar_sources(dots) == "Source: IMF Direction of Trade Statistics (Japan's reports)"
    mixed = pd.DataFrame({"year": [2019, 2020, 2021, 2022], "sources": ["imf-dots", "imf-dots", "imf-imts",
                                                                        "comtrade-v1,imf-imts"]})
    assert fig1.bar_sources(mixed) == ("Sources: IMF DOTS 2019-2020; IMF IMTS 2021-2022; UN Comtrade 2022 (Japan's "
                                       "reports)")
    assert fig1.footnote(pd.DataFrame({"year": [], "sources": []}), True, mixed).startswith(
        "Sources: IMF DOTS 2019-2020; IMF IMTS 2021-2022; UN Comtrade 2022 (Japan's reports), via jlac. LAC = 33")
    # years with gaps stay readable beside several sources; one source other than DOTS is "Source"
    gaps = pd.DataFrame({"year": [2019, 2020, 2021, 2022], "sources": ["imf-dots", "imf-imts", "imf-dots", "imf-imts"]})
    assert fig1.bar_sources(gaps) == "Sources: IMF DOTS 2019, 2021; IMF IMTS 2020, 2022 (Japan's reports)"
    assert fig1.bar_sources(pd.DataFrame({"year": [2021], "sources": ["imf-imts"]})) == \
        "Source: IMF IMTS 2021 (Japan's reports)"
    by_id = {s.id: s for s in SECTIONS}
    page = {"section": by_id["figure-1"], "charts": [{"file": "y.svg"}], "provenance": {},
            "tables": [{"spec": TableSpec("figures.fig1_japan_lac_trade", ""),
                        "columns": [{"name": "year"}, {"name": "sources"}], "rows": list(mixed.itertuples(False))}]}
    caption = by_id["figure-1"].text(page, [page])["caption"]
    assert ("as Japan reports them (IMF Direction of Trade Statistics (Japan's reports), 2019-2020; IMF International "
            "Trade in Goods Statistics, 2021-2022; UN Comtrade, 2022), US$ billions, 2019 to 2022.") in caption


# --- 2. The China lending chart and its table without AidData ------------------------------------------------------

def test_china_lending_without_aiddata_says_it_is_not_loaded(dropped, monkeypatch, tmp_path):
    with duckdb.connect(str(dropped.warehouse), read_only=True) as con:
        notes = con.execute("SELECT year, aiddata_usd_m, aiddata_source, note FROM figures.china_lac_lending "
                            "WHERE recipient_iso3 = 'LAC' ORDER BY year").fetchall()
        [chart] = drawn(monkeypatch, fig3, con, tmp_path, "china_lending_chart")
    assert [y for y, *_ in notes] == [2015, 2016, 2017, 2018, 2022]  # the Dialogue/BU statements' years
    for year, usd_m, source, note in notes:
        assert (usd_m, source) == (None, None)
        assert note == ("AidData's project data (aiddata-gcdf2-projects, aiddata-gcdf3-projects) is not loaded in "
                        f"this build: no AidData policy-bank loans for {year}")
    assert legend_labels(chart) == ["Dialogue/BU database totals as published"]
    assert flat(chart.texts[-1].get_text()) == ("No AidData bars: AidData's project data (aiddata-gcdf2-projects, "
                                          "aiddata-gcdf3-projects) is not loaded in this build.")


# --- 3. Figure 3 without its sources ---------------------------------------------------------------------------------

def test_figure_3_without_its_sources_says_which_are_not_loaded(dropped, caplog, tmp_path):
    page = (dropped.output / "site" / "index.html").read_text(encoding="utf-8")
    section = section_text(page, "figure-3")
    assert "0 rows" in section and 'data-chart="fig3_costa_rica_finance.svg"' not in page
    [note] = re.findall(r'<p class="missing" data-note="absent">(.*?)</p>',
                        re.search(r'<section id="figure-3".*?</section>', page, re.S).group(0), re.S)
    note = html.unescape(note)
    assert note.startswith("No chart and no rows in figures.fig3_costa_rica_finance: none of the sources this figure "
                           "reads is loaded in this build (the warehouse's meta.snapshots lists none of them): ")
    assert set(note.split(": ")[-1].rstrip(".").split(", ")) == set(fig3.FIG3_SOURCES)
    # the figure step says so too (jlac figures, a refresh)
    with duckdb.connect(str(dropped.warehouse), read_only=True) as con, \
            caplog.at_level(logging.WARNING, logger="jlac.figures.fig3_costa_rica_finance"):
        written = fig3.render(con, tmp_path)
    assert "fig3_costa_rica_finance.svg" not in {p.name for p in written}
    [message] = [r.getMessage() for r in caplog.records if "Figure 3" in r.getMessage()]
    assert message.startswith("Figure 3 (fig3_costa_rica_finance) not drawn: figures.fig3_costa_rica_finance has no "
                              "rows; not loaded in this build (no row in their raw tables): ")
    assert set(message.split(": ")[-1].split(", ")) == set(fig3.FIG3_SOURCES)
    # no section with rows and charts gets such a note
    assert len(re.findall(r'data-note="absent"', page)) == 1


def test_figure_3s_sources_are_its_models(dropped):
    """FIG3_SOURCES (named when Figure 3 is not drawn) are the sources its SQL model reads, by dbt's lineage."""
    from jlac import transform
    from jlac.sources import all_sources

    by_table = {f"raw.{s.table}": name for name, s in all_sources().items()}
    reads = transform.lineage(dropped)["figures.fig3_costa_rica_finance"]["reads"]
    assert {by_table[t] for t in reads if t.startswith("raw.")} == set(fig3.FIG3_SOURCES)


# --- 4. Figure 1: a provisional year hollow ---------------------------------------------------------------------

def test_figure_1_draws_a_provisional_year_hollow(with_mof_rows, monkeypatch, tmp_path):
    con = with_mof_rows(True)  # 2025 in dollars, provisional
    [chart] = drawn(monkeypatch, fig1, con, tmp_path)
    from matplotlib.colors import to_rgba

    ax = chart.axes[0]
    points = {}  # (year, flow colour) -> marker face colours drawn there
    for line in ax.get_lines():
        if line.get_marker() != "D":
            continue
        for x in line.get_xdata():
            points.setdefault((int(x), to_rgba(line.get_markeredgecolor())), set()).add(
                to_rgba(line.get_markerfacecolor()))
    white = to_rgba("white")
    assert {y for y, _ in points} == {2021, 2022, 2023, 2024, 2025}
    for (year, edge), faces in points.items():
        assert faces == ({white} if year == 2025 else {edge}), (year, faces)
    assert "hollow: provisional (to be revised)" in legend_labels(chart)
    footnote = flat(chart.texts[-1].get_text())
    assert "Dotted: Mexico, Brazil and Chile only, 2021-2025 (MOF, yen at FRED's annual rate)" in footnote
    assert "Hollow: provisional (2025), to be revised." in footnote and "not loaded" not in footnote


# --- 5. The CSVs: the note column, booleans true/false -----------------------------------------------------------

def test_partners_csv_has_the_note_and_writes_booleans_as_jlac_sql_does(with_mof_rows, dropped, tmp_path):
    con = with_mof_rows(False)  # 2025 in yen only, with the reason
    [path] = [p for p in partners.render(con, tmp_path) if p.suffix == ".csv"]
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert "value_usd_note" in rows[0] and len(rows) == 156 + 30
    blank = [r for r in rows if r["value_usd_bn"] == ""]
    assert [r["year"] for r in blank] == ["2025"] * 6
    assert all(r["value_usd_note"].startswith("no full-year yen/dollar rate for 2025") for r in blank)
    assert {r["is_provisional"] for r in rows} == {"true", "false"}
    assert {r["is_provisional"] for r in blank} == {"true"}
    # the rate to 3 decimals as every value column (it read 94.10578333333335: FRED's twelve 1995 months averaged)
    assert {r["year"]: r["jpy_per_usd"] for r in rows if r["partner_iso3"] == "MEX"}["1995"] == "94.106"
    assert all(len(r[c].partition(".")[2]) <= 3 for r in rows for c in ("value_jpy_bn", "value_usd_bn", "jpy_per_usd"))
    # the other figure CSVs with a boolean column write it the same way
    out = tmp_path / "fig3"
    out.mkdir()
    with duckdb.connect(str(dropped.warehouse), read_only=True) as published:
        fig3.render(published, out)
    for name, column in (("fig3_reconciliation.csv", "comparable"), ("report_claims.csv", "comparable")):
        with (out / name).open(encoding="utf-8", newline="") as fh:
            values = {r[column] for r in csv.DictReader(fh)}
        assert values <= {"true", "false", ""} and values & {"true", "false"}, (name, values)
