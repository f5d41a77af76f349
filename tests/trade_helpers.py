"""Helpers for the trade-source tests: build a warehouse in memory from a (small) mirror and run only the SQL
models a test needs, the way the pipeline does (same parse cache, raw loading, name map and dbt build)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
from jlac import countries, load, parse, seeds, transform
from jlac.config import Settings
from jlac.snapshots import latest_snapshot, with_history
from jlac.sources import all_sources


def load_raw_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
    """Every source's raw table (empty without a snapshot), the country-name map and the seeds."""
    for schema in ("raw", "seeds", "meta", "staging"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    sources = all_sources()
    counts = {}
    for name, src in sources.items():
        snap = latest_snapshot(name, settings)  # required sources may be absent too: a test mirror is partial
        if snap is not None and src.reads_history:  # as plan.discover: the earlier vintages it reads
            snap = with_history(snap, settings)
        parquet = parse.parse_to_cache(settings, src, snap) if snap is not None else None
        counts[name] = load.load_raw(con, src, snap, parquet)
    countries.build_name_map_table(con, sources)
    seeds.load_seeds(con)
    return counts


def build_models(settings: Settings, targets: list[str]) -> duckdb.DuckDBPyConnection:
    """Load the raw tables into ``<home>/models.duckdb``, build ``targets`` and what they read (dbt build, tests
    included); return a connection to the file."""
    path = settings.home / "models.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        load_raw_tables(con, settings)
    transform.build(path, settings, select=transform.upstream_of(targets), tests="buildable")
    return duckdb.connect(str(path))


def fred_monthly_rates(mirror: Path) -> dict[str, float]:
    """FRED EXJPUS by 'YYYY-MM', read with the csv module from the mirror file."""
    path = next((mirror / "fred-exjpus").glob("*/EXJPUS.csv"))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["observation_date"][:7]: float(r["EXJPUS"]) for r in rows if r["EXJPUS"] not in ("", ".")}


def fred_annual_rate(mirror: Path, year: int) -> float:
    """Mean of the twelve monthly averages of ``year``."""
    months = [v for k, v in fred_monthly_rates(mirror).items() if k.startswith(f"{year}-")]
    assert len(months) == 12, f"FRED has {len(months)} months of {year}"
    return sum(months) / 12
