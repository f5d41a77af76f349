"""jlac.output_cache: outputs kept by fingerprint are copied only while the entry is whole and as it was kept; a
cache that can only be read still serves; what a killed refresh left is cleaned up. And the chart fingerprint tells
apart what the charts' files tell apart."""

from __future__ import annotations

import json
import logging
import os
import time
from types import SimpleNamespace

import duckdb
import pytest
from jlac import output_cache
from jlac.figures import _fingerprint


@pytest.fixture
def kept(tmp_path):
    """(cache, entry folder): a chart's two files kept under fingerprint 'fp'."""
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    files = [drawn / "chart.png", drawn / "chart.csv"]
    files[0].write_bytes(b"\x89PNG fake")
    files[1].write_text("year,value\n2000,0.0\n", encoding="utf-8")
    cache = tmp_path / "cache"
    output_cache.keep(cache, "chart", "fp", drawn, files)
    return cache, cache / "chart" / "fp"


def test_a_whole_entry_is_copied(kept, tmp_path):
    cache, _ = kept
    out = tmp_path / "out"
    paths = output_cache.restore(cache, "chart", "fp", out)
    assert sorted(p.name for p in paths) == ["chart.csv", "chart.png"]
    assert (out / "chart.csv").read_text(encoding="utf-8") == "year,value\n2000,0.0\n"
    assert output_cache.restore(cache, "chart", "other", tmp_path / "none") is None


@pytest.mark.parametrize("listing", [{}, {"chart.png": None}, [], "x"], ids=["empty", "one left out", "list", "text"])
def test_a_listing_that_leaves_files_out_is_made_again(kept, tmp_path, caplog, listing):
    """A files.json emptied or cut short would copy part of a chart's files as if they were all of them."""
    cache, entry = kept
    if isinstance(listing, dict) and listing:
        listing = {"chart.png": json.loads((entry / "files.json").read_text())["chart.png"]}
    (entry / "files.json").write_text(json.dumps(listing), encoding="utf-8")
    assert output_cache.restore(cache, "chart", "fp", tmp_path / "out") is None
    assert "does not list the files it holds; made again" in caplog.text
    assert not entry.exists()  # what is made now takes its place
    assert not (tmp_path / "out" / "chart.png").exists()


def test_a_cache_that_cannot_be_written_still_serves(kept, tmp_path, monkeypatch):
    """Staging reading production's cache, or a read-only mount: marking the entry as used fails, the copy stands."""
    cache, _ = kept

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(output_cache.os, "utime", read_only)
    paths = output_cache.restore(cache, "chart", "fp", tmp_path / "out")
    assert paths is not None and (tmp_path / "out" / "chart.png").read_bytes() == b"\x89PNG fake"


def test_what_a_killed_refresh_left_is_removed_and_at_most_entries_are_kept(kept, tmp_path):
    cache, _ = kept
    folder = cache / "chart"
    abandoned, writing = folder / ".old.123.tmp", folder / ".new.456.tmp"
    for d in (abandoned, writing):
        d.mkdir()
        (d / "chart.png").write_bytes(b"half")
    hours_ago = time.time() - 2 * 3600
    os.utime(abandoned, (hours_ago, hours_ago))
    drawn = tmp_path / "drawn"
    for i in range(output_cache.ENTRIES + 2):
        (drawn / "chart.png").write_bytes(f"drawing {i}".encode())
        output_cache.keep(cache, "chart", f"fp{i}", drawn, [drawn / "chart.png"])
    assert not abandoned.exists() and writing.exists()  # another refresh may still be writing that one
    assert len([p for p in folder.iterdir() if not p.name.startswith(".")]) == output_cache.ENTRIES


def test_a_cache_that_cannot_be_made_costs_only_the_copy(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    (tmp_path / "cache").write_text("a file where the cache folder should be", encoding="utf-8")
    (tmp_path / "chart.png").write_bytes(b"x")
    output_cache.keep(tmp_path / "cache", "chart", "fp", tmp_path, [tmp_path / "chart.png"])
    assert "could not keep chart in the cache" in caplog.text
    assert output_cache.restore(tmp_path / "cache", "chart", "fp", tmp_path / "out") is None


def test_the_chart_fingerprint_tells_minus_zero_from_zero():
    """DuckDB hashes -0.0 like 0.0, and a chart's CSV writes them apart (a rounded small negative disbursement)."""
    module = SimpleNamespace(READS=("t",), __name__="jlac.figures.x")
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT 2000 AS year, 0.0::DOUBLE AS value")
        zero = _fingerprint(con, module, "code")
        con.execute("CREATE OR REPLACE TABLE t AS SELECT 2000 AS year, '-0.0'::DOUBLE AS value")
        assert con.execute("SELECT hash(t) FROM t").fetchone()[0] == con.execute(
            "SELECT hash({'year': 2000, 'value': 0.0::DOUBLE})").fetchone()[0]  # the reason for the text hash
        assert _fingerprint(con, module, "code") != zero
        con.execute("CREATE OR REPLACE TABLE t AS SELECT 2000 AS year, 0.0::DOUBLE AS value")
        assert _fingerprint(con, module, "code") == zero
