"""The SQL models as a dbt project (jlac.transform): build-time tests stop the publish, every table and column is
documented (COMMENTs), selection downstream of a source, the documentation site, the project's fingerprint.

They read the session's good small-mirror warehouse (two DOTS workbooks, Japan's among them)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from jlac import owned, pipeline, transform
from jlac.config import Settings
from jlac.errors import ModelError

MODEL_SCHEMAS = ("staging", "intermediate", "marts", "figures")


@pytest.fixture(scope="module")
def published(good_home):
    """The session's good small-mirror warehouse (Japan's and Haiti's DOTS workbooks, conftest.good_home): these
    tests read it, build copies of it, or refresh into it and fail (leaving it as they found it)."""
    return good_home[1]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _held(path):
    """What this process still holds open of a DuckDB file: its file descriptors on it or its WAL (Linux)."""
    names = {str(path.resolve()), str(path.resolve()) + ".wal"}
    fds = Path("/proc/self/fd")
    return [fd.name for fd in fds.iterdir() if fd.exists() and os.readlink(fd) in names] + \
        [w.name for w in [path.with_name(path.name + ".wal")] if w.exists()]


def test_every_model_table_and_column_has_its_yml_comment(published):
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE schema_name IN ? UNION ALL "
            "SELECT schema_name, view_name, comment FROM duckdb_views() WHERE schema_name IN ? AND NOT internal",
            [list(MODEL_SCHEMAS), list(MODEL_SCHEMAS)]).fetchall()
        columns = con.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
                              "WHERE schema_name IN ?", [list(MODEL_SCHEMAS)]).fetchall()
        fx = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts' "
                              "AND table_name = 'fct_fx_annual'").fetchall())
        [(view,)] = con.execute("SELECT comment FROM duckdb_views() WHERE schema_name = 'marts' "
                                "AND view_name = 'fct_trade_commodity_monthly'").fetchall()
    assert len(tables) == 60 and len(columns) > 500  # 59 models and the country-name map
    assert [t for t in tables if not t[2]] == []
    assert [c for c in columns if not c[3]] == []
    # the text of flows/jlac/sql/models/marts/fct_fx_annual.yml, and a view's (COMMENT ON VIEW)
    assert fx["months"] == "Number of months averaged (always 12)"
    assert view.startswith("Japan's trade by HS 9-digit line, partner and month")


def test_the_docs_site_describes_the_run_records_as_the_warehouse_does(published):
    """The tables jlac writes itself (meta, quarantine) are described twice: as COMMENTs by the code that writes them,
    and in the sources yml for the docs site. The site said meta.quarantine held rows "per source, field and value"
    and meta.validations the results of one run, which the tables are not (found by a QA pass): the two are equal."""
    import yaml

    yml = yaml.safe_load((transform.PROJECT_DIR / "models" / "_jlac__sources.yml").read_text(encoding="utf-8"))
    described = {(s["schema"], t["name"]): t["description"] for s in yml["sources"]
                 if s["name"] in ("meta", "quarantine") for t in s["tables"]}
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        comments = {(schema, table): comment for schema, table, comment in con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE schema_name IN ('meta', 'quarantine')"
        ).fetchall()}
    assert len(described) == 8
    assert set(described) <= set(comments)
    assert {key: comments[key] for key in described} == described


def test_hs_sections_by_chapter_as_the_nomenclature_has_them(published):
    """marts.dim_hs_section: every two-digit chapter once; reserved chapter 77 inside section XV (72-83) as the HS
    nomenclature places it (its description called it 'other': found by a QA pass); 'other' only for the national
    special codes."""
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        rows = {c: (s, n, name) for c, s, n, name in con.execute(
            "SELECT hs_chapter, section, section_no, section_name FROM marts.dim_hs_section").fetchall()}
    assert len(rows) == 100
    assert rows["77"][:2] == rows["72"][:2] == rows["83"][:2] == ("XV", 15)
    assert rows["84"][:2] == ("XVI", 16) and rows["01"][:2] == ("I", 1) and rows["97"][:2] == ("XXI", 21)
    assert sorted(c for c, (s, _, _) in rows.items() if s == "other") == ["00", "98", "99"]
    assert rows["98"] == ("other", 22, "Other (national special codes: 00, 98, 99)")


def test_every_table_of_marts_and_figures_is_stored_in_a_fixed_order(published):
    """A table an analyst exports or reads with `SELECT *` holds its rows in the same order after every refresh of
    the same inputs: its model ends with an ORDER BY. fct_dev_finance had none, and a parallel aggregate stored its
    rows in another order from one refresh to the next (every export differed; found by a QA pass)."""
    import re

    manifest = transform._manifest(transform._profile(transform.dbt_home(published)))
    tables = [n for n in manifest.nodes.values() if n.resource_type == "model" and n.schema in ("marts", "figures")
              and n.config.materialized == "table"]
    assert len(tables) > 20
    unordered = []
    for node in tables:
        code = re.sub(r"--[^\n]*|\{#.*?#\}", "", node.raw_code, flags=re.S).strip()
        # the last clause is an ORDER BY of the whole query (not a window's or a subquery's)
        last = [m.start() for m in re.finditer(r"\bORDER BY\b", code, flags=re.I)][-1:]
        tail = code[last[0]:] if last else ""
        if not tail or tail.count("(") != tail.count(")") or re.search(r"\b(FROM|SELECT|WHERE|GROUP BY|JOIN)\b",
                                                                         tail, flags=re.I):
            unordered.append(node.name)
    assert unordered == []
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM marts.fct_dev_finance").fetchone()[0]
        unsorted = con.execute(
            "SELECT count(*) FROM (SELECT (donor_iso3, donor_agency, recipient_iso3, year, instrument, measure, "
            "price_basis, source) < lag((donor_iso3, donor_agency, recipient_iso3, year, instrument, measure, "
            "price_basis, source)) OVER (ORDER BY rowid) AS back FROM marts.fct_dev_finance) WHERE back").fetchone()[0]
    assert rows > 100_000 and unsorted == 0


def test_model_results_and_docs_site(published, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="jlac")
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(published.warehouse, copy)
    docs = tmp_path / "docs"
    out = transform.build(copy, published, select=transform.upstream_of(
        ["figures.fig1_japan_lac_trade", "marts.fct_trade_commodity_monthly"]))
    assert transform.docs(copy, published, docs) == docs / "index.html"
    assert _held(copy) == []  # dbt's DuckDB is closed after the build and the docs: the next stage may write
    assert out["figures.fig1_japan_lac_trade"]["status"] == "success"
    assert out["figures.fig1_japan_lac_trade"]["rows"] == 26  # 1995-2020 from the Japan workbook
    assert out["marts.fct_trade_commodity_monthly"]["rows"] is None  # a view: not counted
    assert "figures.fig2_mexico_auto_plants" not in out
    logged = [r.getMessage() for r in caplog.records if r.name == "jlac.transform"]  # each node's result, as it ends
    assert any("OK created sql table model figures.fig1_japan_lac_trade" in m for m in logged)
    assert any("PASS unique_combination_fig1_japan_lac_trade_year" in m for m in logged)
    assert (docs / "index.html").is_file() and (docs / "static_index.html").is_file()
    assert "fct_trade_annual" in (docs / "static_index.html").read_text(encoding="utf-8")
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    fact = catalog["nodes"]["model.jlac.fct_trade_annual"]
    assert fact["metadata"]["schema"] == "marts" and "reporter_iso3" in fact["columns"]
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    assert "source.jlac.imf_dots.imf_dots" in manifest["parent_map"]["model.jlac.stg_imf_dots__trade"]


def test_refresh_ships_the_docs_site(published):
    site = published.output / "dbt-docs"
    assert (site / "index.html").is_file() and (site / "catalog.json").is_file()
    # a full build writes the site without compiling again (--no-compile): the build's compiled SQL is in it
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 40 and all(n.get("compiled_code") for n in models)
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    assert len(catalog["nodes"]) == len(models)
    # every relation of the warehouse is in the site's catalog: the quarantine tables, meta.inputs and the HS-9
    # partitions list were left out (found by a QA pass)
    listed = {f"{e['metadata']['schema']}.{e['metadata']['name']}" for kind in ("nodes", "sources")
              for e in catalog[kind].values()}
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        held = {f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert held - listed == set()


def test_docs_site_is_kept_only_while_it_describes_the_build(published, tmp_path):
    """The published site (written after the meta tables, so they are in its catalog) describes the published file;
    a build with the same relations, columns and comments keeps it; a changed comment writes a new one."""
    site = published.output / "dbt-docs"
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(published.warehouse, copy)
    recorded = json.loads((site / transform.DOCS_RECORD).read_text(encoding="utf-8"))["fingerprint"]
    assert recorded == transform.docs_fingerprint(copy)
    assert "source.jlac.meta.runs" in json.loads((site / "catalog.json").read_text(encoding="utf-8"))["sources"]
    assert transform.docs(copy, published, tmp_path / "kept", previous=site) is None
    assert not (tmp_path / "kept").exists()
    odd = tmp_path / "odd-site"  # a record that says nothing usable: a new site, not an error
    shutil.copytree(site, odd)
    (odd / transform.DOCS_RECORD).write_text("[]", encoding="utf-8")
    assert transform.docs(copy, published, tmp_path / "again", previous=odd) == tmp_path / "again" / "index.html"
    with duckdb.connect(str(copy)) as con:
        con.execute("COMMENT ON COLUMN marts.fct_trade_annual.year IS 'Calendar year (edited)'")
    assert transform.docs(copy, published, tmp_path / "new", previous=site) == tmp_path / "new" / "index.html"
    catalog = json.loads((tmp_path / "new" / "catalog.json").read_text(encoding="utf-8"))
    assert catalog["nodes"]["model.jlac.fct_trade_annual"]["columns"]["year"]["comment"] == "Calendar year (edited)"
    assert _held(copy) == []


def test_a_site_generated_before_for_the_same_catalog_is_copied_from_the_cache(published, tmp_path, caplog):
    """A second home (or a rebuild) with the same project, relations, columns and comments gets the site from the
    cache (jlac.output_cache) instead of generating it again; a changed comment generates a new one."""
    caplog.set_level(logging.INFO, logger="jlac")
    copy, cache = tmp_path / "copy.duckdb", tmp_path / "cache"
    shutil.copyfile(published.warehouse, copy)
    assert transform.docs(copy, published, tmp_path / "a", cache=cache) == tmp_path / "a" / "index.html"
    assert "copied from" not in caplog.text
    caplog.clear()
    assert transform.docs(copy, published, tmp_path / "b", cache=cache) == tmp_path / "b" / "index.html"
    assert "dbt docs: a site generated before for the same project, relations, columns and comments, copied" in \
        caplog.text
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(
        [*transform.DOCS_FILES, transform.DOCS_RECORD, owned.MARK])
    # the same bytes: generated again, manifest.json would carry another invocation id and time
    assert all(_digest(tmp_path / "a" / n) == _digest(tmp_path / "b" / n) for n in names)
    with duckdb.connect(str(copy)) as con:
        con.execute("COMMENT ON COLUMN marts.fct_trade_annual.year IS 'Calendar year (edited)'")
    caplog.clear()
    transform.docs(copy, published, tmp_path / "c", cache=cache)
    assert "copied from" not in caplog.text
    catalog = json.loads((tmp_path / "c" / "catalog.json").read_text(encoding="utf-8"))
    assert catalog["nodes"]["model.jlac.fct_trade_annual"]["columns"]["year"]["comment"] == "Calendar year (edited)"
    assert len(list((cache / "site").iterdir())) == 2


def test_the_docs_step_holds_the_dbt_home_until_its_files_are_copied(published, tmp_path, monkeypatch):
    """dbt's docs step writes the target/ files the site is copied from: another warehouse home sharing the dbt home
    (JLAC_DBT_HOME) could write its own between the step and the copy (read from the code). The manifest written for
    the step, the step and the copy are one hold of the home."""
    home = transform.dbt_home(published)
    held = []
    real_copy, real_write = shutil.copy2, transform._write_compiled_manifest

    def copy(src, dst, *args, **kwargs):
        held.append(("copy", home in transform._HOME_LOCKS))
        return real_copy(src, dst, *args, **kwargs)

    def write(at):
        held.append(("manifest", home in transform._HOME_LOCKS))
        return real_write(at)

    build = tmp_path / "copy.duckdb"
    shutil.copyfile(published.warehouse, build)
    monkeypatch.setattr(transform, "_write_compiled_manifest", write)
    monkeypatch.setattr(transform.shutil, "copy2", copy)
    assert transform.docs(build, published, tmp_path / "site", compile=False) == tmp_path / "site" / "index.html"
    assert held == [("manifest", True), *[("copy", True)] * len(transform.DOCS_FILES)]
    assert home not in transform._HOME_LOCKS  # and let go after


@pytest.mark.parametrize("name", ["it's [x] ü", "odd {{x}} {%y%} #1"])
def test_a_build_in_a_folder_named_with_an_apostrophe(published, tmp_path, monkeypatch, name):
    """dbt-duckdb writes the attached file's path between single quotes without escaping: every build in a warehouse
    home named "it's ..." failed with a parser error; and dbt renders profiles.yml as Jinja, so '{{x}}' vanished
    from the path (both found by a QA pass)."""
    home = tmp_path / name
    home.mkdir()
    copy = home / "build.duckdb"
    shutil.copyfile(published.warehouse, copy)
    monkeypatch.setenv("JLAC_DBT_HOME", str(home / ".dbt"))  # where the build file's link and dbt's profile live
    out = transform.build(copy, published, select=["fct_fx_annual"])
    assert out["marts.fct_fx_annual"]["status"] == "success" and out["marts.fct_fx_annual"]["rows"] > 0
    assert _held(copy) == []


@pytest.mark.parametrize("name", ["{{ 1+1 }}", "{% raw %}", "{% endraw %}", "{%- endraw -%} {#", "say \"hi\" it's",
                                  "datos año 日本 😀", "100% $HOME a;b"])
def test_the_profile_names_the_build_file_as_dbt_renders_it(tmp_path, name):
    """dbt renders every value of profiles.yml as Jinja: the attached build file's path must come out as written
    (a folder named '{% endraw %}' ended the raw block the path was wrapped in: "unknown tag 'endraw'", QA pass)."""
    import yaml
    from dbt.config.renderer import ProfileRenderer

    home = tmp_path / name / ".dbt"
    profile = yaml.safe_load((transform._profile(home) / "profiles.yml").read_text(encoding="utf-8"))
    rendered = ProfileRenderer({}).render_data(profile)
    attached = rendered["jlac"]["outputs"]["build"]["attach"][0]["path"]
    assert attached == str(home / "build.duckdb").replace("'", "''")  # doubled: dbt-duckdb writes it into '...'


def test_seeds_load_from_an_install_in_a_folder_named_with_an_apostrophe(tmp_path):
    """Seeds are read from where jlac is installed: read_csv('<path>') was a parser error for a virtualenv under
    "it's ..." (found by a QA pass)."""
    import dataclasses

    from jlac import seeds

    seed = next(s for s in seeds.seeds() if s.table == "report_claims")
    moved = tmp_path / "it's ü" / seed.path.name
    moved.parent.mkdir()
    shutil.copyfile(seed.path, moved)
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA seeds")
        rows = seeds.load_seed(con, dataclasses.replace(seed, path=moved))
        assert rows == con.execute("SELECT count(*) FROM seeds.report_claims").fetchone()[0] > 20


_BUILD_UNDER_A_FILE_SIZE_LIMIT = """
import resource, sys
from pathlib import Path
from jlac import transform
from jlac.config import Settings
from jlac.errors import ModelError
copy, home = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "s", mirrors=(), output=home / "out")
resource.setrlimit(resource.RLIMIT_FSIZE, (copy.stat().st_size, resource.RLIM_INFINITY))
try:
    transform.build(copy, settings)
except ModelError as exc:
    print(exc)
"""


def test_a_build_stopped_by_a_full_disk_or_a_file_size_limit_names_that_first(published, tmp_path):
    """A full disk (or `ulimit -f`) failed a model, and the refresh said "SQL models failed ... marts.x failed", the
    reason on the third line: the model's SQL was fine (found by a QA pass). The limit is named first."""
    copy = tmp_path / "build.duckdb"
    shutil.copyfile(published.warehouse, copy)
    env = {**os.environ, "JLAC_DBT_HOME": str(tmp_path / ".dbt")}
    proc = subprocess.run([sys.executable, "-c", _BUILD_UNDER_A_FILE_SIZE_LIMIT, str(copy), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"a file size limit (ulimit -f: File too large) stopped dbt writing under {tmp_path}; "
                            "nothing was published. Raise the limit"), proc.stdout[-3000:]


def _duplicated_grain(build):
    """The raw Comtrade table (validated empty: the source is left out) gets the same key twice before the models."""
    with duckdb.connect(str(build)) as con:
        con.execute("INSERT INTO raw.comtrade_classic_hs27_hs44 (file, classification, year, trade_flow_code, "
                    "reporter_iso3, partner_iso3, commodity_code, trade_value_usd, netweight_kg, flag, vintage) "
                    "VALUES ('x.csv', 'H4', 2017, 1, 'JPN', 'MEX', '27', 100.0, 1.0, '0', 'test'), "
                    "('x.csv', 'H4', 2017, 1, 'JPN', 'MEX', '27', 250.0, 2.0, '0', 'test')")


def test_failed_dbt_test_stops_the_publish_naming_the_test(published, monkeypatch):
    before = _digest(published.warehouse)
    build = transform.build

    def broken_then_build(build_path, settings, **kwargs):
        _duplicated_grain(build_path)
        return build(build_path, settings, **kwargs)

    monkeypatch.setattr(transform, "build", broken_then_build)
    with pytest.raises(ModelError) as err:
        pipeline.refresh(published, trigger="test", full=True)  # same inputs: only a full rebuild runs the models
    msg = str(err.value)
    assert "nothing was published" in msg
    assert ("dbt test unique_combination(columns=['reporter_iso3', 'partner_iso3', 'flow', 'year', 'hs_chapter']) "
            "on marts.fct_trade_commodity_annual") in msg
    assert "1 failing row(s)" in msg and "reporter_iso3='JPN', partner_iso3='MEX'" in msg and "n_rows=2" in msg
    assert "skipped because of it: figures.japan_lac_fuel_wood_imports" in msg
    assert _digest(published.warehouse) == before
    last = pipeline.ledger.read(published.run_ledger)[-1]
    assert last["status"] == "failed" and "unique_combination" in last["error"]


def _top30_row_repeated(published, tmp_path, partner: str, year: int, flow: str) -> Path:
    """A copy of the published warehouse whose raw MOF top-30 table lists one (partner, year, flow) twice, the second
    time at twice the value, as from another line of the file: past the checks, which run before the models."""
    copy = tmp_path / "b.duckdb"
    shutil.copyfile(published.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("INSERT INTO raw.mof_trade_by_country_top30 SELECT * REPLACE (value_jpy_thousand * 2 AS "
                    "value_jpy_thousand, row_number + 1000 AS row_number) FROM raw.mof_trade_by_country_top30 "
                    "WHERE partner_name = ? AND year = ? AND flow = ?", [partner, year, flow])
    return copy


def test_a_trade_row_repeated_below_the_marts_fails_the_unioned_grain(published, tmp_path):
    """The trade marts keep one row per key (source_rank = 1 of int_trade_annual_unioned), so their own grain tests
    cannot fail: a row repeated in a source below them (MOF's top-30 file, whose staging has no grain test) was
    resolved by an arbitrary tie-break, the doubled value published (found by a QA pass). The union's grain, per
    source and vintage, is tested."""
    copy = _top30_row_repeated(published, tmp_path, "Mexico", 2021, "export")
    with pytest.raises(ModelError) as err:
        transform.build(copy, published, select=transform.downstream_of(["mof_trade_by_country_top30"]))
    assert ("unique_combination(columns=['reporter_iso3', 'partner_iso3', 'partner_aggregate', 'flow', 'year', "
            "'source', 'vintage']) on intermediate.int_trade_annual_unioned") in str(err.value)
    assert "partner_iso3='MEX'" in str(err.value)


def test_a_null_key_fails_the_facts_key_test_naming_the_column(published, tmp_path):
    """A fact's keys are tested in one node (not_null_columns): a row without a year fails it, and the failing row's
    sample shows which key is missing."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO raw.comtrade_classic_hs27_hs44 (file, classification, year, trade_flow_code, "
                    "reporter_iso3, partner_iso3, commodity_code, trade_value_usd, netweight_kg, flag, vintage) "
                    "VALUES ('x.csv', 'H4', NULL, 1, 'JPN', 'MEX', '27', 100.0, 1.0, '0', 'test')")
    with pytest.raises(ModelError) as err:
        transform.build(path, published, select=["stg_comtrade_classic_hs27_hs44__trade", "fct_trade_commodity_annual"])
    msg = str(err.value)
    assert ("dbt test not_null_columns(columns=['reporter_iso3', 'flow', 'year', 'hs_chapter']) on "
            "marts.fct_trade_commodity_annual [") in msg
    assert "failed: 1 failing row(s); e.g. reporter_iso3='JPN', flow='import', year=None, hs_chapter='27'" in msg


@pytest.mark.parametrize(("seed", "insert", "expected"), [
    ("report_claims", "INSERT INTO seeds.report_claims SELECT * REPLACE (99 AS report_value) FROM seeds.report_claims "
     "WHERE claim_id = 'C01'", "dbt test unique_combination(columns=['claim_id']) on seeds.report_claims"),
    ("japan_lac_policy", "INSERT INTO seeds.japan_lac_policy SELECT * REPLACE ('3' AS pillar_no, NULL AS source_url) "
     "FROM seeds.japan_lac_policy LIMIT 1", "dbt test not_null_columns(columns=['policy', 'pillar_no', 'source_url']) "
     "on seeds.japan_lac_policy"),
])
def test_a_seed_row_repeating_a_key_or_without_its_url_fails_the_build(published, tmp_path, seed, insert, expected,
                                                                       capfd):
    """Found by a QA pass: a reviewed seed with a claim given twice (two values for C01 on the report page) or a
    policy row without its source URL was published; data/seeds.yml says every row keeps its URL."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    with duckdb.connect(str(path)) as con:
        con.execute(insert)
    with pytest.raises(ModelError) as err:
        transform.build(path, published, select=[f"source:seeds.{seed}+"])
    assert expected in str(err.value)
    assert "Failure in test" not in capfd.readouterr().out  # dbt printed it on stdout, beside jlac's one line


def _fig1_years(path: Path) -> dict[int, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT year, export_partners, import_partners, partners FROM figures.fig1_japan_lac_trade").fetchall()}


def test_figure_1_draws_whole_years_only_and_says_which_are_left_out(published, tmp_path, monkeypatch):
    """Found by a QA pass: a release whose latest year held two of the 33 partners (Mexico, Brazil) so far was drawn
    as a whole "LAC" year (bars a fraction of the year before, the title to 2021), and `partners` counted a partner
    with a value in either flow, so a year missing Costa Rica's exports still said 33. A year is drawn when each
    flow's partners hold 99 % of what the region's partners held in the years before; a small partner missing
    keeps its year, a large one takes it out; the chart says which year it left out and why."""
    import matplotlib.axes
    from jlac.figures import fig1_japan_lac_trade

    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    before = _fig1_years(path)
    assert before[2015] == (33, 33, 33) and max(before) == 2020
    with duckdb.connect(str(path)) as con:
        # 2021: Mexico and Brazil only; 2015: Dominica's exports gone (a small partner); 2016: Mexico's exports gone
        con.execute("INSERT INTO intermediate.int_trade_annual_unioned SELECT * REPLACE (2021 AS year) FROM "
                    "intermediate.int_trade_annual_unioned WHERE reporter_iso3 = 'JPN' AND year = 2020 AND "
                    "source_rank = 1 AND partner_iso3 IN ('MEX', 'BRA')")
        con.execute("DELETE FROM intermediate.int_trade_annual_unioned WHERE reporter_iso3 = 'JPN' AND flow = 'export' "
                    "AND ((year = 2015 AND partner_iso3 = 'DMA') OR (year = 2016 AND partner_iso3 = 'MEX'))")
    transform.build(path, published, select=["int_japan_trade_by_region+"])
    after = _fig1_years(path)
    assert max(after) == 2020 and 2016 not in after
    assert after[2015] == (32, 33, 33)  # kept, counted per flow
    with duckdb.connect(str(path), read_only=True) as con:
        partial = con.execute(
            "SELECT year, export_partners, import_partners, export_coverage < 0.99, import_coverage < 0.99, "
            "is_complete FROM intermediate.int_japan_trade_by_region WHERE region = 'celac' AND year IN (2016, 2021) "
            "ORDER BY year").fetchall()
        assert partial == [(2016, 32, 33, True, False, False), (2021, 2, 2, True, True, False)]
    with duckdb.connect(str(path)) as con:  # Chile left MOF's top 30 in 2022: a missing partner, not "yen only"
        assert con.execute("DELETE FROM figures.japan_main_lac_partners WHERE year = 2022 AND partner_iso3 = 'CHL' "
                           "AND value_usd_bn IS NOT NULL").fetchall() == [(2,)]
        drawn = []
        real_text = matplotlib.axes.Axes.text
        monkeypatch.setattr(matplotlib.axes.Axes, "text",
                            lambda self, x, y, s, *a, **k: drawn.append(s) or real_text(self, x, y, s, *a, **k))
        fig1_japan_lac_trade.render(con, tmp_path)
    note = next(t for t in drawn if t.startswith("2021: left out"))
    assert "of exports" in note and "of imports" in note
    assert any(t.startswith("2016: left out") for t in drawn)  # a gap inside the span too
    assert "2022: no line, CHL\nnot in MOF's file" in drawn
    assert not any(t.startswith("2022") and "yen only" in t for t in drawn)


def test_figure_1_takes_the_next_source_where_mofs_top_30_file_is_first(published, tmp_path):
    """A year IMF has not published (2030 here), from Comtrade for every partner and from MOF's top-30 file (ranked
    before Comtrade) for Mexico, Brazil and Chile: the region's total takes those three from Comtrade. Filtering the
    fact dropped them (found by a QA pass): 30 partners drawn as LAC."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    three = "('MEX', 'BRA', 'CHL')"
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO intermediate.int_trade_annual_unioned SELECT * REPLACE (2030 AS year, 'comtrade-v1' "
                    f"AS source, 'test' AS vintage, CASE WHEN partner_iso3 IN {three} THEN 2 ELSE 1 END AS "
                    "source_rank) FROM intermediate.int_trade_annual_unioned WHERE reporter_iso3 = 'JPN' AND "
                    "year = 2020 AND source_rank = 1")
        con.execute("INSERT INTO intermediate.int_trade_annual_unioned SELECT * REPLACE (2030 AS year, "
                    "'mof-trade-by-country-top30' AS source, 'test' AS vintage, value_usd * 1.5 AS value_usd, 1 AS "
                    "source_rank) FROM intermediate.int_trade_annual_unioned WHERE reporter_iso3 = 'JPN' AND "
                    f"year = 2020 AND source_rank = 1 AND partner_iso3 IN {three}")
    transform.build(path, published, select=["fct_trade_annual+", "int_japan_trade_by_region+"])
    years = _fig1_years(path)
    assert years[2030] == years[2020]  # 33 partners in each flow, as in 2020
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT total_usd_bn, sources FROM figures.fig1_japan_lac_trade WHERE year = 2030"
                           ).fetchone() == (con.execute("SELECT total_usd_bn FROM figures.fig1_japan_lac_trade WHERE "
                                                        "year = 2020").fetchone()[0], "comtrade-v1")
        assert con.execute(f"SELECT DISTINCT source FROM marts.fct_trade_annual WHERE year = 2030 AND partner_iso3 IN "
                           f"{three}").fetchall() == [("mof-trade-by-country-top30",)]  # the fact keeps its order


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """A copy of the dbt project to damage; jlac.transform builds it instead of the real one, parsed into a dbt home
    of its own: in the session's, it would make the next test's build parse the real project from scratch again."""
    copy = tmp_path / "sql"
    shutil.copytree(transform.PROJECT_DIR, copy)
    monkeypatch.setattr(transform, "PROJECT_DIR", copy)
    monkeypatch.setenv("JLAC_DBT_HOME", str(tmp_path / "dbt"))
    return copy


def _build_copy(published, tmp_path, model):
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "o")
    return transform.build(path, settings, select=[model])


def test_a_partial_build_missing_a_relation_it_reads_says_to_build_everything(published, tmp_path):
    """An incremental build reads what it does not build from the copy of the published warehouse: a model dropped
    from it by hand fails the build naming it, and the message says a full refresh builds it again."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE marts.dim_country")  # read by the relationships tests of what FRED feeds
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "o")
    with pytest.raises(ModelError) as err:
        transform.build(path, settings, select=transform.into_a_copy(transform.downstream_of(["fred_exjpus"]),
                                                                     settings))
    assert "dim_country" in str(err.value) and "does not exist" in str(err.value)
    assert "`jlac refresh --full` builds every model again" in str(err.value)


def test_a_test_set_to_warn_still_stops_the_publish(published, project_copy, tmp_path):
    """A test a contributor sets to `severity: warn` flags rows as a failed one does: the build stops, saying it
    warned. jlac read only failures, so such a test's rows would have been published (found by a QA pass)."""
    yml = project_copy / "models" / "intermediate" / "int_trade_annual_unioned.yml"
    text = yml.read_text(encoding="utf-8")
    marker = "            columns: [reporter_iso3, partner_iso3, partner_aggregate, flow, year, source, vintage]\n"
    assert marker in text
    yml.write_text(text.replace(marker, marker + "          config:\n            severity: warn\n"), encoding="utf-8")
    copy = _top30_row_repeated(published, tmp_path, "Chile", 2022, "import")
    with pytest.raises(ModelError, match=r"int_trade_annual_unioned \[.*\] warned \(severity: warn; jlac publishes "
                                         r"nothing a test flags\): 1 failing row"):
        transform.build(copy, published, select=transform.downstream_of(["mof_trade_by_country_top30"]))


def test_undocumented_column_is_refused(published, project_copy, tmp_path):
    sql = project_copy / "models" / "marts" / "fct_fx_annual.sql"
    sql.write_text(sql.read_text().replace("SELECT", "SELECT 1 AS mystery,", 1))
    with pytest.raises(ModelError, match=r"SQL model marts\.fct_fx_annual \(models/marts/fct_fx_annual\.sql, described "
                                         r"in models/marts/fct_fx_annual\.yml\): .*undocumented: mystery; documented "
                                         r"but absent: none"):
        _build_copy(published, tmp_path, "fct_fx_annual")


def test_a_model_without_yml_is_named_and_the_others_keep_their_comments(published, project_copy, tmp_path):
    """Found by a QA pass: a new model without its yml, built by hand with others, left every model of the build
    without its COMMENTs (the tables are built again, the comments came in one batch after the check), and the
    message named the .sql only."""
    (project_copy / "models" / "marts" / "qa_extra.sql").write_text("SELECT 1 AS x\n")
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "o")
    with pytest.raises(ModelError, match=r"SQL model marts\.qa_extra \(models/marts/qa_extra\.sql, no yml describes "
                                         r"it: add one, e\.g\. models/marts/qa_extra\.yml\)"):
        transform.build(path, settings, select=["fct_fx_annual", "qa_extra"])
    with duckdb.connect(str(path), read_only=True) as con:
        [(table,)] = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' "
                                 "AND table_name = 'fct_fx_annual'").fetchall()
        columns = con.execute("SELECT count(*), count(comment) FROM duckdb_columns() WHERE schema_name = 'marts' "
                              "AND table_name = 'fct_fx_annual'").fetchone()
    assert table and columns[0] == columns[1] > 0, (table, columns)


def test_documented_but_absent_column_is_refused(published, project_copy, tmp_path):
    yml = project_copy / "models" / "marts" / "fct_fx_annual.yml"
    yml.write_text(yml.read_text() + "      - name: gone\n        description: A column the SQL does not have\n")
    with pytest.raises(ModelError, match=r"marts\.fct_fx_annual .*undocumented: none; documented but absent: gone"):
        _build_copy(published, tmp_path, "fct_fx_annual")


def test_broken_sql_names_the_model(published, project_copy, tmp_path):
    sql = project_copy / "models" / "marts" / "fct_fx_annual.sql"
    sql.write_text(sql.read_text().replace("SELECT", "SELECT no_such_column,", 1))
    with pytest.raises(ModelError, match=r"(?s)SQL model marts\.fct_fx_annual failed: .*no_such_column"):
        _build_copy(published, tmp_path, "fct_fx_annual")
    assert _held(tmp_path / "w.duckdb") == []


def test_a_dbt_source_not_named_as_its_raw_table_stops_the_build(published, project_copy, tmp_path):
    """A contributor's dbt source named otherwise than its raw table (``jica`` for raw.jica_volunteers): an incremental
    refresh selected nothing downstream of ``source:<table>`` and published the new raw rows under the old staging
    table (found by a QA pass). Any build now refuses, naming the file and the name expected; so do a staging model
    outside its source's folder and a raw-schema dbt source that is no registered source."""
    folder = project_copy / "models" / "staging" / "fred_exjpus"
    yml = folder / "_fred_exjpus__sources.yml"
    yml.write_text(yml.read_text().replace("  - name: fred_exjpus\n", "  - name: fred\n", 1))
    sql = folder / "stg_fred_exjpus__rates.sql"
    sql.write_text(sql.read_text().replace("source('fred_exjpus', 'fred_exjpus')", "source('fred', 'fred_exjpus')"))
    assert "source('fred', 'fred_exjpus')" in sql.read_text()
    with pytest.raises(ModelError) as err:
        _build_copy(published, tmp_path, "fct_fx_annual")
    said = str(err.value)
    assert ("source fred-exjpus: the dbt project declares no source 'fred_exjpus' with a table 'fred_exjpus' (schema "
            f"raw); {yml} declares raw.fred_exjpus as source 'fred': name that source 'fred_exjpus'") in said
    assert f"{yml}: dbt source 'fred' (schema raw) is no registered source's raw table" in said


def test_a_misnamed_table_and_a_misnamed_staging_model_are_each_named_as_what_they_are(published, project_copy,
                                                                                        tmp_path):
    """Found by a QA pass (a contributor): the sources yml naming the table otherwise was reported as a missing yml
    ("expected in <the file that was there>"), and a staging model in the right folder under another name as a model
    reading the source from outside its folder."""
    folder = project_copy / "models" / "staging" / "fred_exjpus"
    yml, sql = folder / "_fred_exjpus__sources.yml", folder / "stg_fred_exjpus__rates.sql"
    text, code = yml.read_text(), sql.read_text()
    assert "      - name: fred_exjpus\n" in text
    yml.write_text(text.replace("      - name: fred_exjpus\n", "      - name: rates\n", 1))
    sql.write_text(code.replace("source('fred_exjpus', 'fred_exjpus')", "source('fred_exjpus', 'rates')"))
    with pytest.raises(ModelError) as err:
        _build_copy(published, tmp_path, "fct_fx_annual")
    assert (f"source fred-exjpus: the dbt project declares no source 'fred_exjpus' with a table 'fred_exjpus' (schema "
            f"raw); {yml} declares source 'fred_exjpus' with table(s) 'rates': name its table 'fred_exjpus'"
            ) in str(err.value)
    yml.write_text(text)
    sql.write_text(code)
    renamed = folder / "stg_fred_rates.sql"  # a second staging model in the right folder, named otherwise
    renamed.write_text(code)
    model_yml = (folder / "stg_fred_exjpus__rates.yml").read_text()
    (folder / "stg_fred_rates.yml").write_text(model_yml.replace("stg_fred_exjpus__rates", "stg_fred_rates"))
    with pytest.raises(ModelError) as err:
        _build_copy(published, tmp_path, "fct_fx_annual")
    said = str(err.value)
    assert (f"model {renamed} reads source 'fred_exjpus': a staging model's name starts with 'stg_fred_exjpus__' (e.g. "
            "stg_fred_exjpus__<entity>.sql; rename its yml entry too)") in said
    assert "directly" not in said


def test_a_staging_model_outside_its_sources_folder_stops_the_build(published, project_copy, tmp_path):
    folder = project_copy / "models" / "staging" / "fred_exjpus"
    moved = project_copy / "models" / "staging" / "fx"
    moved.mkdir()
    for f in folder.glob("stg_*"):
        f.rename(moved / f.name)
    with pytest.raises(ModelError, match=rf"model {moved / 'stg_fred_exjpus__rates.sql'} reads source 'fred_exjpus' "
                                         rf"directly: "
                                         rf"only the source's staging models do, {folder}/stg_fred_exjpus__<entity>"):
        _build_copy(published, tmp_path, "fct_fx_annual")


def test_a_model_reading_a_raw_table_by_name_is_told_to_use_source(published, project_copy, tmp_path):
    """'schema "raw" does not exist' (the build file is attached under dbt's name) sent a contributor looking for a
    missing schema; the message now says how a model reads a source (found by a QA pass)."""
    sql = project_copy / "models" / "staging" / "fred_exjpus" / "stg_fred_exjpus__rates.sql"
    sql.write_text(sql.read_text().replace("{{ source('fred_exjpus', 'fred_exjpus') }}", "raw.fred_exjpus"))
    with pytest.raises(ModelError, match=r"(?s)SQL model staging\.stg_fred_exjpus__rates failed: .*does not exist.*; a "
                                         r"model reads a source's table as \{\{ source\('<table>', '<table>'\) \}\}"):
        _build_copy(published, tmp_path, "stg_fred_exjpus__rates")


def test_a_model_yml_naming_no_model_stops_the_parse(published, project_copy, tmp_path):
    """A typo in a model's yml name: dbt warned in its log only, and the model was built without the yml's tests and
    descriptions (found by a QA pass)."""
    yml = project_copy / "models" / "marts" / "fct_fx_annual.yml"
    yml.write_text(yml.read_text().replace("name: fct_fx_annual", "name: fct_fx_anual", 1))
    with pytest.raises(ModelError, match=r"(?s)could not parse the SQL models .*Did not find matching node for patch "
                                         r"with name 'fct_fx_anual'"):
        _build_copy(published, tmp_path, "fct_fx_annual")


def test_dbt_duckdb_is_closed_even_with_a_handle_left_open(published, tmp_path, monkeypatch):
    """A run that ends with one of dbt-duckdb's handles still open (an interrupted node) would keep the build file
    open for the rest of the process: jlac closes dbt-duckdb's database itself, not only drops its reference."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    left_open = []
    forward = transform._forward

    def forward_and_leak(event):
        if not left_open and DuckDBConnectionManager._ENV is not None:
            left_open.append(DuckDBConnectionManager._ENV.handle())
        forward(event)

    monkeypatch.setattr(transform, "_forward", forward_and_leak)
    _build_copy(published, tmp_path, "fct_fx_annual")
    assert left_open and _held(tmp_path / "w.duckdb") == []


def test_downstream_of_a_source(published):
    assert transform.downstream_of(["fred_exjpus"]) == ["source:fred_exjpus+"]
    picked = transform.list_models(published, transform.downstream_of(["raw.fred_exjpus"]))
    assert {"staging.stg_fred_exjpus__rates", "marts.fct_fx_annual", "figures.fig1_japan_totals_crosscheck",
            "figures.japan_main_lac_partners", "marts.fct_trade_annual"} <= set(picked)
    assert "figures.fig2_mexico_auto_plants" not in picked and "marts.dim_country" not in picked
    seeds = transform.list_models(published, transform.downstream_of(["seeds.mexico_auto_plants"]))
    assert seeds == ["figures.fig2_mexico_auto_plants"]
    with pytest.raises(ValueError, match="marts.fct_trade_annual"):
        transform.downstream_of(["marts.fct_trade_annual"])


def _tests_picked(settings, select: list[str]) -> set[str]:
    import contextlib
    import io
    import json

    with contextlib.redirect_stdout(io.StringIO()):
        res = transform._invoke(["ls", "--resource-type", "test", "--output", "json", "--output-keys", "name",
                                 "--select", *select], settings, settings.warehouse)
    assert res.success, res.exception
    return {json.loads(n)["name"] for n in res.result}


def test_a_build_into_a_copy_tests_the_views_without_creating_them_again(published):
    """The HS-9 models are views: an incremental build (a copy of the published warehouse, same SQL) runs their tests
    on the new rows and creates none of them again; tables downstream are built as before."""
    down = transform.downstream_of(["mof_hs9_country"])
    views = transform.list_models(published, ["config.materialized:view"])
    assert "marts.fct_trade_commodity_monthly" in views and "staging.stg_mof_hs9_country__lines" in views
    assert set(views) < set(transform.list_models(published, down))
    # the figure of real rows by HS section is a table: it is built again
    assert transform.list_models(published, transform.into_a_copy(down, published)) == [
        "figures.japan_lac_imports_by_hs_section"]
    tests = _tests_picked(published, transform.into_a_copy(down, published))
    assert tests == _tests_picked(published, down) and any(t.startswith("unique_months_") for t in tests)
    fred = transform.downstream_of(["fred_exjpus"])  # its tables are built again, the HS-9 views reading it are not
    assert transform.list_models(published, transform.into_a_copy(fred, published)) == sorted(
        set(transform.list_models(published, fred)) - set(views))


def test_project_fingerprint_follows_the_models(project_copy):
    first = transform.project_fingerprint()
    assert first == transform.project_fingerprint() and len(first) == 64
    (project_copy / "target").mkdir()  # dbt's output is not the project
    (project_copy / "target" / "manifest.json").write_text("{}")
    assert transform.project_fingerprint() == first
    yml = project_copy / "models" / "marts" / "fct_fx_annual.yml"
    yml.write_text(yml.read_text().replace("Calendar year", "Calendar year (Gregorian)"))
    assert transform.project_fingerprint() != first


def test_lineage_is_the_published_builds_even_after_an_upgrade_renamed_a_model(tmp_path):
    """`jlac report` before the first refresh after an upgrade: the lineage and SQL of the published warehouse come
    from the manifest published with it, not from the project files (a model the upgrade renamed is not looked for)."""
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "snaps", mirrors=(),
                        output=tmp_path / "out")
    model = {"resource_type": "model", "schema": "marts", "alias": "fct_old_name",
             "original_file_path": "models/marts/fct_old_name.sql", "raw_code": "SELECT * FROM {{ ref('stg_x') }}",
             "depends_on": {"nodes": ["model.jlac.stg_x"]}}
    staging = {"resource_type": "model", "schema": "staging", "alias": "stg_x", "raw_code": "SELECT 1",
               "original_file_path": "models/staging/x/stg_x.sql", "depends_on": {"nodes": ["source.jlac.raw.x"]}}
    manifest = {"nodes": {"model.jlac.fct_old_name": model, "model.jlac.stg_x": staging},
                "sources": {"source.jlac.raw.x": {"schema": "raw", "name": "x"}}}
    (settings.output / "dbt-docs").mkdir(parents=True)
    (settings.output / "dbt-docs" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert not (transform.PROJECT_DIR / model["original_file_path"]).exists()
    found = transform.lineage(settings)
    assert found["marts.fct_old_name"] == {"reads": ["raw.x"], "path": "flows/jlac/sql/models/marts/fct_old_name.sql",
                                           "sql": "SELECT * FROM {{ ref('stg_x') }}"}


def test_lineage_in_a_process_that_loaded_the_saved_parse_and_has_no_docs_site(published, tmp_path):
    """`jlac report` in a fresh process whose output has no docs site: the lineage comes from dbt's parse saved in
    its home, which no dbt command of that process loaded. Writing it out first asked dbt for the global flags of a
    command that never ran (AttributeError: SEND_ANONYMOUS_USAGE_STATS)."""
    home = transform._profile(transform.dbt_home(published))
    transform._manifest(home)  # parsed and saved for later processes
    (home / "target" / "manifest.json").unlink(missing_ok=True)
    script = f"""
import json
from pathlib import Path
from jlac import transform
from jlac.config import Settings
s = Settings(warehouse=Path({str(tmp_path / 'wh' / 'jlac.duckdb')!r}), snapshots=Path('s'), mirrors=(),
             output=Path({str(tmp_path / 'out')!r}))
print("LINEAGE", json.dumps(transform.lineage(s)))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "JLAC_DBT_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.split("LINEAGE", 1)[1])
    fig1 = found["figures.fig1_japan_lac_trade"]
    assert "raw.imf_dots" in fig1["reads"] and fig1["path"].endswith("fig1_japan_lac_trade.sql")
    assert not (home / "target" / "manifest.json").exists()  # nothing written into dbt's home for it




STOP_DURING_BUILD = """
import logging, os, signal, sys
from pathlib import Path
import dbt.cli.main, dbt.adapters.duckdb.connections  # imported before the clock starts, as in a refresh
from jlac import transform
from jlac.config import get_settings
from jlac.errors import is_interrupt
from prefect.exceptions import TerminationSignal

def prefects_handler(signum, frame):
    raise TerminationSignal(signal=signum)

signal.signal(signal.SIGTERM, prefects_handler)
copy = Path(sys.argv[1])


class StopAfter(logging.Handler):
    # SIGTERM once dbt has reported its n-th node: a moment of the build, whatever the machine's speed (a fixed
    # delay came after the build's end on a faster disk)
    def __init__(self, n):
        super().__init__(logging.INFO)
        self.n, self.seen = n, 0

    def emit(self, record):
        if record.getMessage().startswith("dbt: "):
            self.seen += 1
            if self.seen == self.n:
                os.kill(os.getpid(), signal.SIGTERM)


logger = logging.getLogger("jlac.transform")
logger.setLevel(logging.INFO)
logger.addHandler(StopAfter(int(sys.argv[2])))
try:
    transform.build(copy, get_settings())
    outcome = "not stopped"
except BaseException as exc:
    outcome = "stopped" if is_interrupt(exc) else "not a stop: " + repr(exc)[:2000]
# To a file of its own: dbt's threads may still print their lines after the stop, and on stdout they came
# between "OUTCOME ..." and its newline (print writes the two apart).
Path(sys.argv[3]).write_text(outcome)
os._exit(0)
"""


@pytest.mark.parametrize("after_nodes", [1, 40])  # of about 110: at the start of the build and in its middle
def test_a_stop_while_dbt_runs_is_a_stop_not_a_dbt_error(published, tmp_path, after_nodes):
    """SIGTERM during the models stage, Prefect's handler in place (it raises TerminationSignal in the main thread):
    dbt made it models failing on a half-opened build file, or DuckDB's "connection is busy" from closing the
    connection its threads still queried, and the run was recorded failed with that error, alerted and exited 1
    (found by a QA pass stopping `jlac backfill` with `kill`). It must come out as the stop it is. In a process of
    its own: dbt's in-process state after a stop is not for later builds."""
    import subprocess
    import sys

    copy = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, copy)
    env = {**os.environ, "JLAC_WAREHOUSE": str(published.warehouse), "JLAC_OUTPUT": str(published.output)}
    outcome = tmp_path / "outcome.txt"
    done = subprocess.run([sys.executable, "-c", STOP_DURING_BUILD, str(copy), str(after_nodes), str(outcome)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert outcome.is_file(), (done.stdout[-3000:], done.stderr[-3000:])
    assert outcome.read_text() == "stopped", (outcome.read_text(), done.stdout[-3000:], done.stderr[-3000:])


def test_a_later_process_builds_from_the_saved_parse_and_a_changed_project_is_parsed_again(published, tmp_path,
                                                                                            project_copy):
    """dbt's parse is saved in its home for the next process (a refresh is one): a fresh process loads it instead of
    running dbt's parse, and builds with it (every ref() compiles: dbt's own pickling of its manifest put its fields
    one place off). A project changed since, or a torn file, is parsed again."""
    home = transform._profile(transform.dbt_home(published))
    transform._PARSED.clear()
    first = transform._manifest(home)  # parsed (the copy's own dbt home) and saved
    saved = home / "target" / transform.SAVED_PARSE
    assert saved.is_file()
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    script = f"""
import sys
from pathlib import Path
import dbt.cli.main
from jlac import transform
from jlac.config import Settings
transform.PROJECT_DIR = Path({str(project_copy)!r})
class NoParse(dbt.cli.main.dbtRunner):
    def invoke(self, args, **kw):
        assert args[0] != "parse" or self.manifest is not None, "dbt parsed the project again"
        return super().invoke(args, **kw)
dbt.cli.main.dbtRunner = NoParse
s = Settings(warehouse=Path({str(tmp_path / 'wh' / 'jlac.duckdb')!r}), snapshots=Path('s'), mirrors=(),
             output=Path('o'))
out = transform.build(Path({str(path)!r}), s, select=["+fig1_japan_lac_trade"])
print("BUILT", sorted(out))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "JLAC_DBT_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    built = proc.stdout.split("BUILT", 1)[1]
    assert "figures.fig1_japan_lac_trade" in built and "intermediate.int_trade_annual_unioned" in built

    yml = project_copy / "models" / "marts" / "fct_fx_annual.yml"
    yml.write_text(yml.read_text().replace("Calendar year", "Calendar year (Gregorian)"))
    key = transform._parse_key(home)
    assert transform._saved_parse(home, key) is None  # saved for the project as it was
    transform._PARSED.clear()
    again = transform._manifest(home)
    assert again is not first and "Gregorian" in json.dumps(
        {c: col.description for n in again.nodes.values() if n.name == "fct_fx_annual" for c, col in n.columns.items()})
    assert transform._saved_parse(home, key) is not None
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])  # torn (a kill during the write of a copy)
    assert transform._saved_parse(home, key) is None
    transform._PARSED.clear()


def test_prepare_starts_dbt_once_per_process(published, monkeypatch):
    """prepare() runs dbt's per-process start (a `dbt build` of nothing, on the parsed project) in the background
    once: a later refresh of the same process (the tests, a deployment's worker) does not pay it again. The start
    succeeds, runs no node and opens no database (the build file does not exist yet when it runs)."""
    import threading

    from dbt.cli.main import dbtRunner

    starts = []
    real = dbtRunner.invoke

    def invoke(self, args, **kw):
        res = real(self, args, **kw)
        if self.manifest is not None and threading.current_thread().name == "jlac-dbt-prepare":
            starts.append((args[0], res.success, res.exception, list(res.result or [])))
        return res

    home = transform.dbt_home(published)
    # the tests share one dbt home (JLAC_DBT_HOME): a build of an earlier test in this process left its link there
    for left in home.glob("build.duckdb*"):
        left.unlink()
    monkeypatch.setattr(dbtRunner, "invoke", invoke)
    monkeypatch.setattr(transform, "_STARTED", threading.Event())
    transform.prepare(published).join()
    transform.prepare(published).join()
    assert starts == [("build", True, None, [])] and transform._STARTED.is_set()
    assert not (home / "build.duckdb").exists() and not list(home.glob("*.duckdb*"))


def test_the_docs_step_compiles_again_when_no_build_compiled_every_model(tmp_path, monkeypatch):
    """``docs(compile=False)`` writes the manifest this process's build compiled; a model without compiled SQL (no
    build of every model in this process) makes the step compile instead of shipping a site without its SQL."""
    from types import SimpleNamespace

    written = []
    monkeypatch.setattr("dbt.parser.manifest.write_manifest", lambda manifest, path: written.append(path))
    compiled = SimpleNamespace(resource_type="model", compiled_code="SELECT 1")
    bare = SimpleNamespace(resource_type="model", compiled_code=None)
    test = SimpleNamespace(resource_type="test", compiled_code=None)  # tests are not in the site's SQL
    monkeypatch.setattr(transform, "_manifest", lambda home: SimpleNamespace(nodes={"a": compiled, "t": test}))
    assert transform._write_compiled_manifest(tmp_path) is True and written == [str(tmp_path / "target")]
    monkeypatch.setattr(transform, "_manifest", lambda home: SimpleNamespace(nodes={"a": compiled, "b": bare}))
    assert transform._write_compiled_manifest(tmp_path) is False and len(written) == 1


def test_a_full_disk_is_named_where_it_is(tmp_path, monkeypatch):
    """Only JLAC_DBT_HOME's disk full (dbt's log, its parse): the message blamed the build folder, which had 77 GB
    free (found by a QA pass). The folder a message names wins; else the one with the least room."""
    from collections import namedtuple

    from jlac import transform
    from jlac.config import Settings

    dbt = tmp_path / "dbt-home"
    dbt.mkdir()
    monkeypatch.setenv("JLAC_DBT_HOME", str(dbt))
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "o")
    build = tmp_path / "wh" / ".build" / "run.duckdb"
    build.parent.mkdir(parents=True)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(transform.shutil, "disk_usage",
                        lambda p: usage(10**12, 0, 28_000 if Path(p) == dbt else 77 * 10**9))
    said = "dbt test x failed: [Errno 28] No space left on device"
    assert transform._full_disk(said, build, settings).startswith(f"the disk under {dbt} is full (No space left")
    named = f'Could not write file "{build}.wal": No space left on device'
    assert transform._full_disk(named, build, settings).startswith(f"the disk under {build.parent} is full")
    assert transform._full_disk("Binder Error: no such column", build, settings) is None


def test_a_dbt_home_shared_by_two_warehouse_homes_runs_one_dbt_command_at_a_time(tmp_path, caplog):
    """Two warehouse homes with one JLAC_DBT_HOME repointed its build.duckdb link under each other: one home's dbt
    built in the other's file and failed on its lock (found by a QA pass). A dbt command holds the dbt home across
    processes; another process's command is waited for, and said so."""
    home = tmp_path / "dbt"
    home.mkdir()
    released = tmp_path / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
         "print('held', flush=True); time.sleep(1); open(sys.argv[2], 'w').close(); f.close(); time.sleep(5)",
         str(home / transform.HOME_LOCK), str(released)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with caplog.at_level(logging.INFO, logger="jlac.transform"), transform._home_lock(home):
            assert released.exists()  # got it only once the other process let go
            with transform._home_lock(home):  # re-entrant in a process (the warm-up, then a command)
                pass
        assert "waiting for another process's dbt command in" in caplog.text
    finally:
        holder.kill()
        holder.wait()


def test_aiddata_flow_types_and_flags_are_read_in_any_case(published, tmp_path):
    """Found by a QA pass: 'Export buyer's credit' (a spelling in another case) left 739 loans of GCDF 2.0 out of
    figures.china_lac_lending without a word (2017: 19 loans, US$7,646m, became 13, US$6,403m). The staging models
    read AidData's flow types and flags in any case."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(published.warehouse, path)
    with duckdb.connect(str(path)) as con:
        before = dict(con.execute("SELECT instrument, count(*) FROM staging.stg_aiddata_gcdf2_projects__projects "
                                  "GROUP BY ALL").fetchall())
        con.execute("UPDATE raw.aiddata_gcdf2_projects SET flow_type = lower(flow_type), "
                    "recommended_for_aggregates = upper(recommended_for_aggregates), umbrella = lower(umbrella)")
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "o")
    transform.build(path, settings, select=["stg_aiddata_gcdf2_projects__projects"])
    with duckdb.connect(str(path), read_only=True) as con:
        after = dict(con.execute("SELECT instrument, count(*) FROM staging.stg_aiddata_gcdf2_projects__projects "
                                 "GROUP BY ALL").fetchall())
    assert before["loan"] == 2164 + 739 + 126 and after == before
