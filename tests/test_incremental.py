"""A refresh costs what changed: one source's new vintage is parsed, validated and modelled alone, into a copy of the
published warehouse, and the result equals a full rebuild from the same inputs."""

from __future__ import annotations

import csv
import json
import shutil

import duckdb
import pytest
from conftest import IMF_DOTS, JAPAN_WORKBOOK, small_mirror, write_manifest
from jlac import ledger, owned, pipeline
from jlac.config import Settings

pytestmark = pytest.mark.usefixtures("own_cache")  # they count the batches a refresh parsed

FRED = "fred-exjpus"


def _tables(path) -> dict[str, tuple]:
    """Row count and an order-independent content hash of every modelled table (revisions aside)."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN "
            "('staging', 'intermediate', 'marts', 'figures') AND table_name <> 'trade_revisions' ORDER BY 1"
        ).fetchall()
        for (name,) in names:
            out[name] = con.execute(f"SELECT count(*), sum(hash(t::VARCHAR)) FROM {name} t").fetchone()
    return out


def _uncommented(path) -> list[tuple]:
    """Model tables, views and columns without a COMMENT (the dbt project writes them for every model it builds)."""
    schemas = ["staging", "intermediate", "marts", "figures"]
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT schema_name, table_name, NULL FROM duckdb_tables() WHERE schema_name IN ? AND comment IS NULL "
            "UNION ALL SELECT schema_name, view_name, NULL FROM duckdb_views() WHERE schema_name IN ? "
            "AND NOT internal AND comment IS NULL UNION ALL SELECT schema_name, table_name, column_name "
            "FROM duckdb_columns() WHERE schema_name IN ? AND comment IS NULL", [schemas] * 3).fetchall()


def _revised_fred(mirror, store):
    """A new FRED vintage in the own store: the mirror's file with January 2019 revised to 120 yen."""
    [src] = (mirror / FRED).glob("*/EXJPUS.csv")
    rows = list(csv.reader(src.read_text(encoding="utf-8").splitlines()))
    for row in rows:
        if row[0] == "2019-01-01":
            assert row[1] == "108.9605"  # the real value, as the mirror has it
            row[1] = "120.0000"
    vintage = store / FRED / "2025-06-27"
    vintage.mkdir(parents=True)
    (vintage / "EXJPUS.csv").write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    write_manifest(vintage, FRED)
    year = [float(r[1]) for r in rows[1:] if r[0].startswith("2019-")]
    return sum(year) / len(year)


@pytest.fixture(scope="module")
def home(tmp_path_factory, mirror):
    home = tmp_path_factory.mktemp("incremental")
    root = small_mirror(home / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK,
                                                  "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"})
    settings = Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "wh" / "snapshots",
                        mirrors=(root,), output=home / "wh" / "output")
    first = pipeline.refresh(settings, trigger="test")
    assert first.status == "completed" and first.plan["mode"] == "full"
    return settings, first


def test_one_new_vintage_rebuilds_only_what_reads_it(home, mirror):
    settings, first = home
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        old_2019 = con.execute("SELECT jpy_per_usd FROM marts.fct_fx_annual WHERE year = 2019").fetchone()[0]
    batches = {p: p.stat().st_mtime_ns for p in settings.cache_dir.rglob("*.parquet")}
    expected_2019 = _revised_fred(mirror, settings.snapshots)
    drawn = {p.name: p.stat().st_mtime_ns for p in settings.output.glob("*.png")}
    site = {p.name: p.stat().st_mtime_ns for p in (settings.output / "dbt-docs").iterdir()}
    assert set(site) == {"index.html", "static_index.html", "manifest.json", "catalog.json", "jlac-docs.json",
                         owned.MARK}

    second = pipeline.refresh(settings, trigger="test")
    assert second.status == "completed"
    # charts are drawn again only where the tables they read changed (jlac.figures): MOF's partners in dollars at
    # FRED's rate, and Figure 1 which shows them; the auto plants and the finance to Costa Rica stay as drawn
    redrawn = {name for name, ns in drawn.items() if (settings.output / name).stat().st_mtime_ns != ns}
    assert {"japan_main_lac_partners.png", "fig1_japan_lac_trade.png"} <= redrawn
    assert not redrawn & {"fig2_mexico_auto_plants_2018.png", "fig3_costa_rica_finance.png",
                          "china_lac_lending.png"}
    record = json.loads((settings.output / "figures.json").read_text(encoding="utf-8"))
    assert "fig2_mexico_auto_plants_2018.png" in record["fig2_mexico_auto_plants"]["files"]
    assert second.plan == {"mode": "incremental", "reason": f"new snapshot(s) of {FRED}", "changed": [FRED]}
    # only FRED was parsed: every earlier batch untouched, one new batch under fred-exjpus
    assert {p: p.stat().st_mtime_ns for p in batches} == batches
    new = [p for p in settings.cache_dir.rglob("*.parquet") if p not in batches]
    assert [p.parent.name for p in new] == [FRED]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        fx = con.execute("SELECT jpy_per_usd, vintage FROM marts.fct_fx_annual WHERE year = 2019").fetchone()
        validations = dict(con.execute("SELECT source, min(run_id) FROM meta.validations GROUP BY source").fetchall())
        inputs = dict(con.execute("SELECT input, fingerprint FROM meta.inputs").fetchall())
        snap = con.execute("SELECT DISTINCT vintage FROM meta.snapshots WHERE source = ?", [FRED]).fetchall()
    assert fx[0] == pytest.approx(expected_2019) and fx[0] != pytest.approx(old_2019) and fx[1] == "2025-06-27"
    # FRED was validated by this run; every other source keeps the results of the run that validated it
    assert validations[FRED] == second.run_id
    assert {s: r for s, r in validations.items() if s != FRED} == {s: first.run_id for s in validations if s != FRED}
    # an input per source, jlac's code and the calendar year
    assert snap == [("2025-06-27",)] and len(inputs) == len(validations) + 2 and "calendar_year" in inputs
    assert _uncommented(settings.warehouse) == []  # the rebuilt models got their COMMENTs again
    # new data only: the same relations, columns and comments, so the published docs site is kept as it was
    assert {p.name: p.stat().st_mtime_ns for p in (settings.output / "dbt-docs").iterdir()} == site

    incremental = _tables(settings.warehouse)
    third = pipeline.refresh(settings, trigger="test", full=True)
    assert third.status == "completed" and third.plan["mode"] == "full"
    assert _tables(settings.warehouse) == incremental  # the same warehouse as a rebuild from scratch

    published = settings.warehouse.stat()
    fourth = pipeline.refresh(settings, trigger="test")
    assert fourth.status == "unchanged"
    # untouched, not published again with the same bytes: the same file (inode), never written (mtime)
    after = settings.warehouse.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (published.st_ino, published.st_mtime_ns,
                                                                 published.st_size)
    statuses = [r["status"] for r in ledger.read(settings.run_ledger)]
    assert statuses == ["completed", "completed", "completed", "unchanged"]
    # charts drawn since by another version (a rollback's `jlac figures`): an unchanged refresh draws them again
    # (found by a QA pass: kept, the warehouse being unchanged)
    drawn, chart = settings.output / "figures.json", settings.output / "fig1_japan_lac_trade.csv"
    good, by_this = chart.read_bytes(), json.loads(drawn.read_text())
    chart.write_bytes(b"year,an older column\n")
    drawn.write_text(json.dumps({**by_this, "_drawn_by": {"code": "an older jlac"}}))
    assert pipeline.refresh(settings, trigger="test").status == "unchanged"
    assert chart.read_bytes() == good and json.loads(drawn.read_text()) == by_this

    # ``sources=[...]`` rebuilds only those; the others keep the vintages the published warehouse was built from.
    vintage = settings.snapshots / FRED / "2025-06-27"
    # a FRED vintage newer than the published one exists, but only imf-dots is asked for: FRED stays as published
    newer = vintage.with_name("2025-07-27")
    newer.mkdir()
    (newer / "EXJPUS.csv").write_bytes((vintage / "EXJPUS.csv").read_bytes().replace(b"120.0000", b"121.0000"))
    write_manifest(newer, FRED)
    record = pipeline.refresh(settings, trigger="test", sources=["imf-dots"])
    assert record.status == "unchanged"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT DISTINCT vintage FROM meta.snapshots WHERE source = ?", [FRED]).fetchall() == [
            ("2025-06-27",)]
    (settings.output / "fig2_mexico_auto_plants_2018.png").unlink()  # a chart gone from the output is drawn again
    record = pipeline.refresh(settings, trigger="test", sources=[FRED])
    assert record.plan["mode"] == "incremental" and record.plan["changed"] == [FRED]
    assert (settings.output / "fig2_mexico_auto_plants_2018.png").is_file()

    # a new vintage of the same files (a release whose numbers did not move) is still a new vintage: the rows say
    # which release they are from, and a parser may read the release date (MOF's provisional or final year)
    same = newer.with_name("2025-08-27")
    shutil.copytree(newer, same)
    write_manifest(same, FRED)
    record = pipeline.refresh(settings, trigger="test")
    assert record.plan["mode"] == "incremental" and record.plan["changed"] == [FRED], record.plan
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT DISTINCT vintage FROM meta.snapshots WHERE source = ?", [FRED]).fetchall() == [
            ("2025-08-27",)]
        assert con.execute("SELECT DISTINCT vintage FROM marts.fct_fx_annual").fetchall() == [("2025-08-27",)]


def test_editing_a_country_override_reparses_and_reaches_the_mart(home, tmp_path, monkeypatch):
    """The parse cache key and the refresh plan cover the reviewed data files: an edited override is re-parsed
    and shows in the marts, without any other change."""

    from jlac import config, parse
    from jlac.sources import all_sources

    settings, _ = home
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        # an IMF name resolved through a reviewed override, as the published warehouse has it
        name, iso3, m49 = con.execute(
            "SELECT m.name, m.iso3, d.m49 FROM staging.country_name_map m JOIN marts.dim_country d USING (iso3) "
            "WHERE m.source = 'imf' AND m.name LIKE '%Kingdom of the Netherlands%' ORDER BY m.name LIMIT 1"
        ).fetchone()
    data = tmp_path / "data"
    shutil.copytree(config.DATA_DIR, data)
    monkeypatch.setattr(config, "DATA_DIR", data)
    imf = all_sources()["imf-dots"]
    from jlac.snapshots import latest_snapshot

    before = parse.cache_path(settings, imf, latest_snapshot("imf-dots", settings))
    text = (data / "country_names.csv").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith(f'imf,"{name}",{iso3},{m49},'))
    (data / "country_names.csv").write_text(text.replace(line, line.replace(f",{m49},", ",999,", 1)),
                                            encoding="utf-8")
    after = parse.cache_path(settings, imf, latest_snapshot("imf-dots", settings))
    assert after != before and not after.exists()

    record = pipeline.refresh(settings, trigger="test")
    assert record.status == "completed" and record.plan["mode"] == "full"
    assert "reviewed data files" in record.plan["reason"] or "code" in record.plan["reason"]
    assert after.exists()  # imf-dots was parsed again
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT m49 FROM marts.dim_country WHERE iso3 = ?", [iso3]).fetchone()[0] == 999


def test_an_incremental_load_resolves_again_only_the_names_of_the_conventions_it_loads():
    """load(incremental=True) resolves again the country names of the naming conventions the new snapshots use
    (from every raw table using them) and keeps the published map's other rows; a source without country names (a
    new FRED vintage, a month of MOF HS-9) leaves the map as it is."""
    from jlac import countries
    from jlac.sources import all_sources

    sources = all_sources()
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
        con.execute("CREATE TABLE raw.imf_dots AS SELECT * FROM (VALUES ('Japan', 'Mexico')) t(reporter_name, "
                    "partner_name)")
        con.execute("CREATE TABLE raw.japan_customs_country_codes AS SELECT 'Mexico' AS country")
        countries.build_name_map_table(con)

        def rows():  # the publishers' names (a full build adds every ISO code under 'iso': asserted below)
            return sorted(con.execute("SELECT source, name, iso3, is_celac FROM staging.country_name_map "
                                      "WHERE source <> 'iso'").fetchall())

        published = [("imf", "Japan", "JPN", False), ("imf", "Mexico", "MEX", True), ("mof", "Mexico", "MEX", True)]
        assert rows() == published
        con.execute("INSERT INTO raw.imf_dots VALUES ('Brazil', 'Chile')")  # as if changed (it is not loaded again)
        con.execute("INSERT INTO raw.japan_customs_country_codes VALUES ('Peru')")
        only = {n: sources[n] for n in ("japan-customs-country-codes", "mof-hs9-country")}
        assert countries.build_name_map_table(con, only_for=only) == 2  # the MOF convention's rows, resolved again
        assert rows() == [*published, ("mof", "Peru", "PER", True)]
        assert countries.build_name_map_table(con, only_for={"fred-exjpus": sources["fred-exjpus"]}) == 0
        assert rows() == [*published, ("mof", "Peru", "PER", True)]
        iso = con.execute("SELECT count(*) FROM staging.country_name_map WHERE source = 'iso'").fetchone()[0]
        assert iso == len(countries.iso_rows()) > 249  # kept by the incremental loads, as published
        countries.build_name_map_table(con)  # a full build: every raw table's names
        assert ("imf", "Brazil", "BRA", True) in rows() and ("imf", "Chile", "CHL", True) in rows()
