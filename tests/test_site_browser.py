"""The report site in a real browser: Debian's headless Chromium, driven by Playwright, opens the page from disk.

Every figure and Table 1 render, the console stays clean, no request leaves the machine (every request is
recorded; only file:// is allowed), the screenshots are not blank, the page fits a phone's width, and every
number in every figure's data table equals the warehouse's (read from the DOM, compared with SQL); a page
with one number changed fails that comparison.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from jlac.site import fmt_cell
from PIL import Image, ImageStat

CHROMIUM = os.environ.get("JLAC_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SECTIONS = {"figure-1": 1, "figure-1-partners": 1, "figure-2": 2, "figure-3": 1, "table-1": 0}  # charts each
READ_TABLES = """() => [...document.querySelectorAll('table[data-table]')].map(t => ({
    table: t.dataset.table,
    columns: [...t.querySelectorAll('thead th')].map(th => th.dataset.column),
    rows: [...t.querySelectorAll('tbody tr')].filter(tr => !tr.querySelector('td[colspan]')).map(tr =>
        [...tr.querySelectorAll('td')].map(td => ({value: td.dataset.value ?? null, isNull: td.dataset.null === '1',
                                                  text: td.textContent.trim()})))
}))"""


@pytest.fixture(scope="module")
def site(small_home):
    """The session's small-mirror warehouse (conftest.small_home); the after-publish hook wrote the site."""
    settings, record = small_home
    assert [(h["hook"], h["status"]) for h in record.hooks if h["hook"] == "site"] == [("site", "ok")], record.hooks
    index = settings.output / "site" / "index.html"
    assert index.exists()
    return settings, index


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (`apt-get install -y chromium`; "
                    "bash .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_page(browser, url: str, viewport: dict):
    """Open ``url`` recording every request, console message and page error."""
    page = browser.new_page(viewport=viewport)
    seen = {"requests": [], "console": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(url, wait_until="load")
    return page, seen


def not_blank(path: Path) -> float:
    """Standard deviation of the grey levels: about 0 for a blank (one-colour) screenshot."""
    with Image.open(path) as img:
        return ImageStat.Stat(img.convert("L")).stddev[0]


def warehouse_rows(db: Path, table: str, columns: list[str]) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f"SELECT {quoted} FROM {table}").fetchall()
    return sorted((tuple(_normal(v) for v in row) for row in rows), key=repr)


def _normal(v):
    if v is None:
        return None
    if isinstance(v, int | float) and not isinstance(v, bool):
        return round(float(v), 3)
    return fmt_cell(v)


def page_rows(table: dict) -> list[tuple]:
    out = []
    for row in table["rows"]:
        cells = []
        for cell in row:
            if cell["isNull"]:
                cells.append(None)
            elif cell["value"] is not None:
                shown = float(cell["text"].replace(",", ""))
                assert abs(shown - float(cell["value"])) < 0.0006, (table["table"], cell)  # text says the value
                cells.append(round(float(cell["value"]), 3))
            else:
                cells.append(cell["text"])
        out.append(tuple(cells))
    return sorted(out, key=repr)


def mismatches(db: Path, tables: list[dict]) -> list[str]:
    """Tables whose rows on the page differ from the warehouse's, with the first differing row."""
    bad = []
    for t in tables:
        expected, shown = warehouse_rows(db, t["table"], t["columns"]), page_rows(t)
        if expected != shown:
            diff = next((f"{a} != {b}" for a, b in zip(shown, expected, strict=False) if a != b),
                        f"{len(shown)} rows shown, {len(expected)} in the warehouse")
            bad.append(f"{t['table']}: {diff}")
    return bad


def test_every_figure_and_table_1_render_offline_without_errors(site, browser, tmp_path_factory):
    settings, index = site
    page, seen = open_page(browser, index.as_uri(), {"width": 1280, "height": 900})
    shots = tmp_path_factory.mktemp("shots")
    for section, charts in SECTIONS.items():
        images = page.locator(f"section#{section} img[data-chart]")
        assert images.count() == charts, section
        for i in range(charts):
            loaded = images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0")
            assert loaded, f"{section}: chart {images.nth(i).get_attribute('src')} did not render"
        assert page.locator(f"section#{section} table[data-table] tbody tr").count() > 0, section
    assert page.locator("section#table-1 table[data-table='figures.table1_japan_lac_policy'] tbody tr").count() == 7
    # the report's Table 1 (2018) first, as the model orders it (the site sorted 2014 first; a QA pass)
    first = page.locator("section#table-1 table[data-table='figures.table1_japan_lac_policy'] tbody tr").first
    assert first.locator("td").first.inner_text().strip() == "2018"
    assert page.locator("section#claims tbody tr").count() > 20
    # an empty reconciliation says why in place of "No rows." (the IMF's and MOF's years do not overlap; a QA pass)
    settings, _ = site
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        overlap = con.execute("SELECT count(*) FROM figures.japan_main_lac_partners_reconciliation").fetchone()[0]
    recon = page.locator("section#figure-1-partners table[data-table='figures.japan_main_lac_partners_reconciliation']")
    assert ("No year has both sources yet" in recon.inner_text()) == (overlap == 0)
    # every status the claims table shows is explained above it (C05, C26 said "source not loaded" unexplained)
    intro = page.locator("section#claims p").first.inner_text()
    assert all(status in intro for status in ("reproduced", "differs", "matches cited source",
                                              "differs from cited source", "other measure", "incomplete span",
                                              "source not loaded", "not derivable from open data",
                                              "context, not stated in the report", "looked up, not compared"))
    assert page.locator("section#freshness tbody tr").count() >= 10
    assert [c for c in seen["console"] if c[0] in ("error", "warning")] == [] and seen["errors"] == []
    assert len(seen["requests"]) >= 7  # the page, its style sheet, five charts
    assert [u for u in seen["requests"] if not u.startswith("file://")] == []
    page.screenshot(path=shots / "desktop.png")
    page.screenshot(path=shots / "desktop-full.png", full_page=True)
    assert not_blank(shots / "desktop.png") > 20
    keep = os.environ.get("JLAC_SCREENSHOTS")  # a folder to keep the screenshots in, for a person to look at
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    # every asset the page uses is inside the site folder
    site_dir = index.parent.resolve()
    assert all(Path(u.removeprefix("file://")).resolve().is_relative_to(site_dir) for u in seen["requests"])
    page.close()


def test_readable_on_a_phone(site, browser, tmp_path_factory):
    settings, index = site
    page, seen = open_page(browser, index.as_uri(), {"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen: it scrolls sideways"
    font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 14
    chart = page.locator("section#figure-1 img[data-chart]").first.bounding_box()
    assert chart["width"] <= 390 and chart["width"] > 300
    shots = tmp_path_factory.mktemp("phone")
    page.screenshot(path=shots / "phone.png")
    assert not_blank(shots / "phone.png") > 20
    keep = os.environ.get("JLAC_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    assert [u for u in seen["requests"] if not u.startswith("file://")] == []
    page.close()


def test_numbers_on_the_page_are_the_warehouses(site, browser):
    settings, index = site
    page, _ = open_page(browser, index.as_uri(), {"width": 1280, "height": 900})
    tables = page.evaluate(READ_TABLES)
    page.close()
    names = {t["table"] for t in tables}
    assert {"figures.fig1_japan_lac_trade", "figures.japan_main_lac_partners", "figures.fig2_mexico_auto_plants",
            "figures.fig3_costa_rica_finance", "figures.table1_japan_lac_policy", "figures.report_claims",
            "figures.fig1_reconciliation", "figures.fig3_reconciliation"} <= names
    assert mismatches(settings.warehouse, tables) == []
    # the headline number, as the page shows it
    partners = next(t for t in tables if t["table"] == "figures.japan_main_lac_partners")
    cols = partners["columns"]
    mex_2024 = [r for r in partners["rows"] if [c["text"] for c in r[:3]] == ["2024", "MEX", "export"]]
    assert [(r[cols.index("value_jpy_bn")]["text"], r[cols.index("value_usd_bn")]["text"]) for r in mex_2024] == [
        ("1,858.141", "12.268")]


def test_a_page_whose_number_differs_from_the_warehouse_fails(site, browser, tmp_path):
    settings, index = site
    copy = tmp_path / "site"
    shutil.copytree(index.parent, copy)
    html = (copy / "index.html").read_text(encoding="utf-8")
    assert html.count('data-value="1858.141">1,858.141<') == 1
    changed = html.replace('data-value="1858.141">1,858.141<', 'data-value="1858.14">1,858.140<')
    (copy / "index.html").write_text(changed, encoding="utf-8")
    page, _ = open_page(browser, (copy / "index.html").as_uri(), {"width": 1280, "height": 900})
    tables = page.evaluate(READ_TABLES)
    page.close()
    assert [m.split(":")[0] for m in mismatches(settings.warehouse, tables)] == ["figures.japan_main_lac_partners"]


def test_jlac_report_writes_the_site_from_the_published_warehouse(site, tmp_path):
    from html.parser import HTMLParser

    from jlac.cli import app
    from typer.testing import CliRunner

    settings, index = site
    env = {"JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_OUTPUT": str(settings.output),
           "JLAC_MIRROR": str(settings.mirrors[0]), "JLAC_SNAPSHOTS": str(settings.snapshots)}
    shutil.rmtree(index.parent)
    result = CliRunner().invoke(app, ["report"], env=env)
    assert result.exit_code == 0, result.output
    assert index.exists() and "report site:" in result.output

    class Loads(HTMLParser):
        """What the page loads by itself: img/script src and stylesheet links (not the <a> links a reader follows)."""

        def __init__(self):
            super().__init__()
            self.urls = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag in ("img", "script", "iframe", "source") and a.get("src"):
                self.urls.append(a["src"])
            if tag == "link" and a.get("href"):
                self.urls.append(a["href"])

    loads = Loads()
    loads.feed(index.read_text(encoding="utf-8"))
    assert len(loads.urls) == 6 and all(not u.startswith(("http:", "https:", "//", "/")) for u in loads.urls)
    assert all((index.parent / u).is_file() for u in loads.urls)
    missing = CliRunner().invoke(app, ["report"], env={**env, "JLAC_WAREHOUSE": str(tmp_path / "none.duckdb")})
    assert missing.exit_code == 1 and "no published warehouse at" in missing.output
    # the folder is marked jlac's; one written before the mark (index.html and assets only) is replaced too, and one
    # holding a file of the user's is refused and kept (jlac report deleted it: found by a QA pass)
    from jlac import owned

    (index.parent / owned.MARK).unlink()
    assert CliRunner().invoke(app, ["report"], env=env).exit_code == 0 and (index.parent / owned.MARK).is_file()
    shutil.move(index.parent, tmp_path / "site-of-mine")
    (tmp_path / "site-of-mine" / owned.MARK).unlink()
    (tmp_path / "site-of-mine" / "notes.md").write_text("mine")
    shutil.move(tmp_path / "site-of-mine", index.parent)
    refused = CliRunner().invoke(app, ["report"], env=env)
    assert refused.exit_code == 1 and "holds files jlac did not write (notes.md)" in str(refused.exception)
    assert (index.parent / "notes.md").read_text() == "mine" and index.exists()
    (index.parent / "notes.md").unlink()
    assert CliRunner().invoke(app, ["report"], env=env).exit_code == 0 and (index.parent / owned.MARK).is_file()


def test_a_source_link_is_the_address_without_the_note_after_it():
    from jlac.site import _link

    assert _link("https://data-explorer.oecd.org/ (DSD_DAC2@DF_DAC2A)") == "https://data-explorer.oecd.org/"
    assert _link("https://fred.stlouisfed.org/series/EXJPUS") == "https://fred.stlouisfed.org/series/EXJPUS"
    assert _link("see the publisher's site") is None and _link(None) is None


def test_text_from_the_warehouse_is_escaped(site, tmp_path):
    """A '<', '&' or '"' in a cell (a slogan, a URL from a reviewed seed) is text on the page, never markup."""
    from html.parser import HTMLParser

    from jlac.site import render_page

    settings, _ = site
    copy = tmp_path / "jlac.duckdb"
    shutil.copyfile(settings.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE figures.table1_japan_lac_policy SET slogan = '<script>alert(1)</script> R&D' "
                    "WHERE rowid = (SELECT min(rowid) FROM figures.table1_japan_lac_policy)")
        con.execute("UPDATE figures.fig2_mexico_auto_plants SET source_url = 'https://x.example/\" onmouseover=\"x' "
                    "WHERE rowid = (SELECT min(rowid) FROM figures.fig2_mexico_auto_plants)")
    (tmp_path / "assets").mkdir()
    with duckdb.connect(str(copy), read_only=True) as con:
        html = render_page(con, settings, tmp_path / "assets")

    class Markup(HTMLParser):
        def __init__(self):
            super().__init__()
            self.scripts, self.handlers, self.texts = 0, [], []

        def handle_starttag(self, tag, attrs):
            self.scripts += tag == "script"
            self.handlers += [k for k, _ in attrs if k.startswith("on")]

        def handle_data(self, data):
            self.texts.append(data)

    page = Markup()
    page.feed(html)
    assert page.scripts == 1 and page.handlers == []  # the page's own (it opens the closed boxes to print)
    assert "<script>alert(1)</script> R&D" in page.texts  # shown as the text it is
    # the address is the href up to its first space; the rest is text, escaped too
    assert "&lt;script&gt;" in html and 'href="https://x.example/&#34;" rel="noreferrer">https://x.example/&#34; ' \
        'onmouseover=&#34;x</a>' in html


def test_work_folders_of_a_killed_site_write_are_removed_by_the_next(tmp_path):
    import subprocess

    from jlac.site import _remove_abandoned

    proc = subprocess.Popen(["true"])  # a pid that existed and is gone: a killed writer's
    proc.wait()
    for name in (f".site-{proc.pid}.tmp", f".site-{proc.pid}.old", f".site-{os.getpid()}.tmp", ".site-x.tmp", "site"):
        (tmp_path / name).mkdir()
    # where JLAC_OUTPUT/site was a file, the write moved the file aside: a file, which rmtree left for good
    (tmp_path / f".site-{proc.pid}.old").rmdir()
    (tmp_path / f".site-{proc.pid}.old").write_text("a file called site")
    _remove_abandoned(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f".site-{os.getpid()}.tmp", ".site-x.tmp", "site"])


def test_the_site_takes_only_the_charts_of_the_figures_record(site, tmp_path):
    """The after-publish hook copies the run's charts from JLAC_OUTPUT into the site: with JLAC_OUTPUT=$HOME every
    .png, .svg and .csv there went into the site's assets, a holiday photo too (found by a QA pass)."""
    import dataclasses

    from jlac import figures
    from jlac.site import write_site

    settings, index = site
    out = tmp_path / "home"
    shutil.copytree(settings.output, out, ignore=shutil.ignore_patterns("site", "dbt-docs"))
    (out / "holiday.png").write_bytes(b"PNG of the beach")
    listed = {n for e in figures.read_record(out).values() for n in e.get("files") or []}
    assert "fig1_japan_lac_trade.png" in listed
    page = write_site(dataclasses.replace(settings, output=out), settings.warehouse, charts=out)
    assets = {p.name for p in (page.parent / "assets").iterdir()}
    assert "holiday.png" not in assets and listed <= assets


def test_a_cell_of_several_addresses_is_one_link_each(site):
    """secondary_source_url holds ' ; '-separated addresses: the whole cell was one href, a broken link on 99 rows of
    Figure 2 (found by a QA pass)."""
    from jlac.site import cell_urls

    assert cell_urls("https://a.example/x ; https://b.example/y (archived)") == [
        ("https://a.example/x", "https://a.example/x"), ("https://b.example/y", "https://b.example/y (archived)")]
    assert cell_urls("https://a.example/x ; same as above") == [("https://a.example/x", "https://a.example/x"),
                                                                (None, "same as above")]
    _, index = site
    page = index.read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert not [h for h in hrefs if " " in h], [h for h in hrefs if " " in h][:3]
    assert page.count("rel=\"noreferrer\">https://") > 50


def test_a_screen_reader_a_narrow_screen_and_paper_get_every_figure(site, browser):
    """Found by an accessibility pass: the charts' text alternative was a fixed label the caption then repeated;
    headings skipped levels; some tables had no caption; Table 1's Japanese was read by an English voice; an opened
    "Where this comes from" box widened the page at 320 px; printing cut the wide tables at the paper's edge and left
    the closed boxes out."""
    settings, index = site
    page, seen = open_page(browser, index.as_uri(), {"width": 320, "height": 800})
    charts = page.evaluate("""() => [...document.querySelectorAll('img[data-chart]')].map(img => ({
        alt: img.alt, caption: img.closest('figure').querySelector('figcaption').textContent}))""")
    assert charts and all(re.search(r"\d", c["alt"]) and c["alt"] not in c["caption"] for c in charts), charts
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        first, last, exports = con.execute(
            "SELECT min(year), max(year), arg_max(exports_usd_bn, year) FROM figures.fig1_japan_lac_trade").fetchone()
    assert f"{first} to {last}" in charts[0]["alt"] and f"{exports:,.1f} in {last}" in charts[0]["alt"]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:  # and the dotted lines it draws beside them
        three = con.execute("SELECT max(year), sum(value_usd_bn) FILTER (WHERE flow = 'export') FROM "
                            "figures.japan_main_lac_partners WHERE year >= 2021 AND value_usd_bn IS NOT NULL "
                            "GROUP BY year ORDER BY year DESC LIMIT 1").fetchone()
    assert three and f"Mexico, Brazil and Chile together (three partners, not the region), exports {three[1]:,.1f}" \
        in charts[0]["alt"] and f"in {three[0]}." in charts[0]["alt"]
    levels = page.evaluate("() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])")
    assert levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    assert page.evaluate("() => [...document.querySelectorAll('table')].filter(t => !t.caption).length") == 0
    japanese = page.evaluate("""() => [...document.querySelectorAll('section#table-1 td, section#freshness td')]
        .filter(td => /[\\u3040-\\u30ff\\u4e00-\\u9fff]/.test(td.textContent))
        .every(td => [...td.querySelectorAll('[lang=ja]')].map(s => s.textContent).join('').length > 0)""")
    assert japanese
    assert page.locator("a.skip[href='#main']").count() == 1 and page.locator("main#main").count() == 1
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the page with every box open is {width} px wide on a 320 px screen"
    page.close()
    # on paper (A4's printable width at 96 dpi): every box opened, no table wider than the page
    page, _ = open_page(browser, index.as_uri(), {"width": 686, "height": 1000})
    page.emulate_media(media="print")
    page.evaluate("() => dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("() => document.querySelectorAll('details:not([open])').length") == 0
    wide = page.evaluate("""() => [...document.querySelectorAll('table')].filter(t => t.offsetWidth > 0 &&
        t.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(t => t.dataset.table ||
        t.className || t.caption.textContent)""")
    assert wide == []
    page.evaluate("() => dispatchEvent(new Event('afterprint'))")
    assert page.evaluate("() => document.querySelectorAll('details[open]').length") < page.evaluate(
        "() => document.querySelectorAll('details').length")
    assert [u for u in seen["requests"] if not u.startswith("file://")] == []
    page.close()
