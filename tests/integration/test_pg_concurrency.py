"""Readers in a loop against the PostgreSQL serving copy while a real refresh builds, publishes, and its publish hook
loads the new warehouse into serve-sql's cluster: 0 errors, every answer wholly old or wholly new. The refresh is the
common case, a new release of one source (FRED, with a revised month): an incremental build of the whole-mirror
warehouse, and a full reload of the serving copy."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# e2e: a refresh of the whole-mirror warehouse; it publishes into the session's shared warehouse, so it runs after
# every test reading the first one (conftest orders publishes_full_home last)
pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.publishes_full_home]

ROOT = Path(__file__).resolve().parents[2]


def _benchmark():
    path = ROOT / "benchmarks" / "concurrency_sql.py"
    spec = importlib.util.spec_from_file_location("concurrency_sql", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def _new_fred_release(settings):
    """A new FRED vintage in the warehouse's own store: the mirror's series with January 2019 revised."""
    from conftest import write_manifest

    [src] = sorted(p for r in settings.mirrors for p in (r / "fred-exjpus").glob("*/EXJPUS.csv"))[-1:]
    text = src.read_text(encoding="utf-8").replace("2019-01-01,108.9605", "2019-01-01,120.0000")
    vintage = settings.snapshots / "fred-exjpus" / "2099-01-01"
    vintage.mkdir(parents=True)
    (vintage / "EXJPUS.csv").write_text(text, encoding="utf-8")
    write_manifest(vintage, "fred-exjpus")


def test_readers_during_a_real_refresh_see_old_or_new_never_a_mix(served, full_home, capsys):
    from jlac import pipeline

    bench = _benchmark()
    old = bench.probe_file(full_home.warehouse)
    records = []
    _new_fred_release(full_home)

    def refresh():
        records.append(pipeline.refresh(full_home, trigger="pg-concurrency"))

    result = bench.measure(served.dsn(), refresh,
                           readers=4, settle_s=1.0, figures=bench.figure_queries(full_home.warehouse))
    new = bench.probe_file(full_home.warehouse)
    [hook] = [h for h in records[0].hooks if h["hook"] == "postgres"]
    with capsys.disabled():
        print(f"\nconcurrency during a real refresh: {result.summary()}\npostgres hook: {hook}")
    # serve-sql (watching the file) or the hook, whichever came first, loaded it; the other found it current
    assert hook["status"] == "ok" and hook["details"]["status"] in ("loaded", "current"), hook
    assert hook["details"]["version"] == new[0]
    assert old[0] != new[0]  # a new run id: the refresh did publish
    assert records[0].plan["mode"] == "incremental" and records[0].plan["changed"] == ["fred-exjpus"]
    assert result.errors == [], served.stderr()[-3000:]
    assert set(result.answers) <= {old, new}, f"a result matched neither warehouse: {result.answers} vs {old}, {new}"
    assert result.answers.get(old, 0) > 0 and result.answers.get(new, 0) > 0
    assert result.during_refresh > 0 and result.figure_ms
