"""dbt's documentation site as a refresh publishes it (jlac.transform.docs): every column of every relation shows
its description (the sources' from the COMMENTs the load stage writes), the site names the published warehouse's
database, not the build's, and manifest.json, catalog.json and static_index.html say the same.

They read the session's good small-mirror warehouse and its site (conftest.good_home), as tests/test_transform.py
does, and generate sites from copies of it."""

from __future__ import annotations

import dataclasses
import json
import shutil

import duckdb
import pytest
from dbt.task.docs import DOCS_INDEX_FILE_PATH
from jlac import transform
from jlac.sources import get_source


@pytest.fixture(scope="module")
def published(good_home):
    """Settings of the session's good small-mirror warehouse, whose refresh wrote the site under test (the group of
    tests/test_transform.py: conftest.SHARED_GROUPS)."""
    return good_home[1]


def _site(folder):
    return (json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
            json.loads((folder / "catalog.json").read_text(encoding="utf-8")))


def _inlined(page: str) -> tuple[dict, dict]:
    """The manifest and catalog static_index.html holds, the rest of the page being dbt's index.html as it is."""
    with open(DOCS_INDEX_FILE_PATH, encoding="utf-8") as f:
        before, rest = f.read().split('"MANIFEST.JSON INLINE DATA"')
    between, after = rest.split('"CATALOG.JSON INLINE DATA"')
    assert page.startswith(before) and page.endswith(after)
    decoder = json.JSONDecoder()
    manifest, end = decoder.raw_decode(page, len(before))
    assert page[end:end + len(between)] == between
    catalog, end = decoder.raw_decode(page, end + len(between))
    assert end == len(page) - len(after)
    return manifest, catalog


def _undescribed(manifest: dict, catalog: dict) -> list[str]:
    """Each column of the catalog whose manifest entry (what dbt's site shows; names matched as it does, any case)
    has no description."""
    missing = []
    for kind in ("nodes", "sources"):
        for uid, entry in catalog[kind].items():
            columns = {k.lower(): v for k, v in manifest[kind][uid]["columns"].items()}
            missing += [f"{uid}.{name}" for name in entry["columns"]
                        if not columns.get(name.lower(), {}).get("description")]
    return missing


def test_the_published_site_shows_every_columns_description(published):
    site = published.output / transform.DOCS_DIR
    manifest, catalog = _site(site)
    assert len(catalog["sources"]) > 30 and sum(len(e["columns"]) for e in catalog["sources"].values()) > 400
    assert _undescribed(manifest, catalog) == []
    # a raw table's columns, described once, in its Source.columns (flows/jlac/sources/fred_exjpus/source.py)
    fred = manifest["sources"]["source.jlac.fred_exjpus.fred_exjpus"]["columns"]
    assert {c.name: fred[c.name]["description"] for c in get_source("fred-exjpus").columns} == \
        {c.name: c.description for c in get_source("fred-exjpus").columns}
    # meta, quarantine, seeds and the country-name map: from the catalog's COMMENTs, word for word
    for uid in ("source.jlac.meta.runs", "source.jlac.quarantine.rows", "source.jlac.staging.country_name_map",
                "source.jlac.seeds.fx_rates"):
        assert {n: c["description"] for n, c in manifest["sources"][uid]["columns"].items()} == \
            {n: c["comment"] for n, c in catalog["sources"][uid]["columns"].items()}, uid
    # a model's own yml text stays what the site shows
    year = manifest["nodes"]["model.jlac.fct_fx_annual"]["columns"]["months"]["description"]
    assert year == "Number of months averaged (always 12)"
    # the single-file site holds the same manifest and catalog as the files beside it
    assert _inlined((site / "static_index.html").read_text(encoding="utf-8")) == (manifest, catalog)


def test_the_published_site_names_the_published_database(published):
    site = published.output / transform.DOCS_DIR
    manifest, catalog = _site(site)
    assert published.warehouse.name == "jlac.duckdb"
    nodes = [*manifest["nodes"].values(), *manifest["sources"].values()]
    assert {n["database"] for n in nodes} == {"jlac"}
    assert {e["metadata"]["database"] for kind in ("nodes", "sources") for e in catalog[kind].values()} == {"jlac"}
    assert all(n["relation_name"].startswith('"jlac".') for n in nodes if n.get("relation_name"))
    assert '"build".' not in (site / "manifest.json").read_text(encoding="utf-8")
    assert '"build".' not in (site / "static_index.html").read_text(encoding="utf-8")
    # what the site shows runs on the published file: a RELATION, the Sample SQL of a source (dbt-docs writes it as
    # select <columns> from <database>.<schema>.<identifier>), a model's compiled SQL
    runs = manifest["sources"]["source.jlac.meta.runs"]
    sample = f"select {', '.join(runs['columns'])} from {runs['database']}.{runs['schema']}.{runs['identifier']}"
    fx = manifest["nodes"]["model.jlac.fct_fx_annual"]
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM {fx['relation_name']}").fetchone()[0] > 0
        assert con.execute(f"SELECT count(*) FROM ({sample})").fetchone()[0] > 0
        assert con.execute(f"SELECT count(*) FROM ({fx['compiled_code']})").fetchone()[0] > 0


@pytest.mark.parametrize("name", ["jlac.duckdb", "a.b.duckdb", "main.duckdb", "it's \"q\" ü.db", "plain"])
def test_published_database_is_the_name_duckdb_gives_the_file(tmp_path, name):
    with duckdb.connect(str(tmp_path / name)) as con:
        assert transform.published_database(tmp_path / name) == con.execute("SELECT current_database()").fetchone()[0]


def test_a_site_is_kept_or_cached_only_for_the_same_database_name_and_site_version(published, tmp_path,
                                                                                  monkeypatch):
    site = published.output / transform.DOCS_DIR
    copy, cache = tmp_path / "copy.duckdb", tmp_path / "cache"
    shutil.copyfile(published.warehouse, copy)
    # published as another file: the published site (database "jlac") is not kept, and the new one names it
    other = dataclasses.replace(published, warehouse=tmp_path / "wh" / "it's ü.duckdb")
    assert transform.docs(copy, other, tmp_path / "other", previous=site, cache=cache) is not None
    manifest, catalog = _site(tmp_path / "other")
    assert manifest["sources"]["source.jlac.meta.runs"]["relation_name"] == '"it\'s ü"."meta"."runs"'
    assert catalog["nodes"]["model.jlac.fct_fx_annual"]["metadata"]["database"] == "it's ü"
    assert _inlined((tmp_path / "other" / "static_index.html").read_text(encoding="utf-8")) == (manifest, catalog)
    # the same build for jlac.duckdb: not the cached site of the other name
    transform.docs(copy, published, tmp_path / "again", cache=cache)
    assert _site(tmp_path / "again")[0]["sources"]["source.jlac.meta.runs"]["database"] == "jlac"
    assert len(list((cache / "site").iterdir())) == 2
    # a site an older jlac recorded (fingerprint only, no database) is made again, not kept
    old = tmp_path / "old-site"
    shutil.copytree(site, old)
    (old / transform.DOCS_RECORD).write_text(json.dumps({"fingerprint": transform.docs_fingerprint(copy)}),
                                             encoding="utf-8")
    assert transform.docs(copy, published, tmp_path / "new", previous=old) is not None
    # what jlac does to the site is part of the fingerprint (the cache's key): a new version is a new site
    before = transform.docs_fingerprint(copy)
    monkeypatch.setattr(transform, "DOCS_SITE_VERSION", transform.DOCS_SITE_VERSION + 1)
    assert transform.docs_fingerprint(copy) != before
