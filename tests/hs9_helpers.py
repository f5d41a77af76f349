"""Helpers for the mof-hs9-country tests: the benchmark generator, and a warehouse built through the pipeline's
own stages for mof-hs9-country and the two sources its models join (country codes, FRED)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
from jlac import ledger, parse, partitions, transform, validation, warehouse
from jlac.config import Settings
from jlac.load import load
from jlac.snapshots import latest_snapshot
from jlac.sources import all_sources

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("mof-hs9-country", "japan-customs-country-codes", "fred-exjpus")
TARGETS = ["marts.fct_trade_commodity_monthly", "marts.fct_trade_commodity_annual_hs9",
           "marts.fct_trade_hs_section_annual"]


def generator():
    """benchmarks/gen_mof_hs9_country.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("gen_mof_hs9_country", REPO / "benchmarks" / "gen_mof_hs9_country.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def settings_for(home: Path, *mirrors: Path) -> Settings:
    return Settings(warehouse=home / "jlac.duckdb", snapshots=home / "store", mirrors=tuple(mirrors),
                    output=home / "out")


def _verify_and_parse(settings: Settings, names: tuple[str, ...], parse_fn):
    """Sources, latest snapshots and parsed batches of ``names``, each snapshot verified first."""
    srcs = {n: all_sources()[n] for n in names}
    snaps = {n: latest_snapshot(n, settings) for n in names}
    parts = {}
    for n, snap in snaps.items():
        if snap is not None:
            partitions.verify(snap, settings)
            parts[n] = parse_fn(settings, srcs[n], snap)
    return srcs, snaps, parts


def build(settings: Settings, parse_fn=None, targets: list[str] = TARGETS,
          publish: bool = True, sources: tuple[str, ...] = SOURCES) -> tuple[Path, list]:
    """verify -> parse -> load -> validate -> models (-> publish) for ``sources``, with the pipeline's own stage
    functions (``parse_fn`` parses: jlac.parse.parse_to_cache unless given); returns (warehouse, results)."""
    srcs, snaps, parts = _verify_and_parse(settings, sources, parse_fn or parse.parse_to_cache)
    path = warehouse.new_build(settings, ledger.new_run_id())
    load(path, srcs, snaps, parts)
    results = [r for n in srcs for r in validation.validate_source(path, srcs[n], snaps[n], settings)]
    if all(r.success for r in results):
        transform.build(path, settings, select=transform.upstream_of(targets), tests="buildable")
        if publish:
            path = warehouse.publish(path, settings)
    return path, results


def incremental_build(settings: Settings, changed: tuple[str, ...] = ("mof-hs9-country",), tamper=None,
                      targets: list[str] = TARGETS) -> Path:
    """The refresh's incremental path (jlac.pipeline) for ``changed``: the build is a copy of the published
    warehouse, only those sources are parsed, loaded and validated, and dbt builds what is downstream of them (and
    upstream of ``targets``, the models these sources feed). ``tamper(con)`` may change the build before the models.
    Returns the build file (not published)."""
    srcs, snaps, parts = _verify_and_parse(settings, changed, parse.parse_to_cache)
    path = warehouse.copy_published(settings, ledger.new_run_id())
    load(path, srcs, snaps, parts, incremental=True)
    results = [r for n in srcs for r in validation.validate_source(path, srcs[n], snaps[n], settings)]
    assert all(r.success for r in results), [r.suite for r in results if not r.success]
    if tamper is not None:
        with duckdb.connect(str(path)) as con:
            tamper(con)
    down = transform.downstream_of([s.table for s in srcs.values()])
    select = transform.into_a_copy([f"{d},{u}" for d in down for u in transform.upstream_of(targets)], settings)
    transform.build(path, settings, select=select, tests="buildable")
    return path
