"""The revisions hook on two tiny warehouses: a changed value, a withdrawn one, and an addition (not a revision)."""

from __future__ import annotations

import duckdb
from jlac.publish_hooks import revisions

FACT = ("CREATE TABLE marts.{t} (source VARCHAR, reporter_iso3 VARCHAR, {p} VARCHAR, flow VARCHAR, year INTEGER, "
        "value_usd DOUBLE, value_jpy DOUBLE, vintage VARCHAR)")
REVISIONS = ("CREATE TABLE marts.trade_revisions (source VARCHAR, reporter_iso3 VARCHAR, partner_iso3 VARCHAR, "
             "partner_aggregate VARCHAR, flow VARCHAR, year INTEGER, old_vintage VARCHAR, old_value DOUBLE, "
             "new_vintage VARCHAR, new_value DOUBLE, change_pct DOUBLE, old_source VARCHAR, new_source VARCHAR, "
             "unit VARCHAR, recorded_by VARCHAR, published_run VARCHAR, published_at TIMESTAMPTZ)")


def _warehouse(path, rows):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(FACT.format(t="fct_trade_annual", p="partner_iso3"))
        con.execute(FACT.format(t="fct_trade_annual_by_aggregate", p="partner_aggregate"))
        con.execute(REVISIONS)
        con.executemany("INSERT INTO marts.fct_trade_annual VALUES (?, 'JPN', ?, 'export', ?, ?, ?, ?)", rows)
    return path


def test_changed_and_withdrawn_values_are_revisions_additions_are_not(tmp_path):
    old = _warehouse(tmp_path / "old.duckdb", [
        ("imf-dots", "MEX", 2020, 8.85e9, None, "2022-02-02"),
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),
        ("imf-dots", "CHL", 2020, 1.5e9, None, "2022-02-02"),
    ])
    new = _warehouse(tmp_path / "new.duckdb", [
        ("imf-imts", "MEX", 2020, 8.90e9, None, "2026-11-01"),  # another source takes the year over
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),  # unchanged
        ("imf-imts", "CHL", 2021, 1.6e9, None, "2026-11-01"),  # new key: an addition
        # CHL 2020 is gone: a withdrawn published value
    ])
    assert revisions.record(new, old, "run-2") == 2
    with duckdb.connect(str(new), read_only=True) as con:
        rows = con.execute("SELECT partner_iso3, year, unit, old_source, old_value, new_source, new_value, change_pct "
                           "FROM marts.trade_revisions ORDER BY partner_iso3").fetchall()
    assert rows == [("CHL", 2020, "USD", "imf-dots", 1.5e9, None, None, None),
                    ("MEX", 2020, "USD", "imf-dots", 8.85e9, "imf-imts", 8.90e9, 0.565)]
    # the next publish carries these rows forward and adds none when nothing changes
    again = _warehouse(tmp_path / "again.duckdb", [
        ("imf-imts", "MEX", 2020, 8.90e9, None, "2026-11-01"),
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),
        ("imf-imts", "CHL", 2021, 1.6e9, None, "2026-11-01"),
    ])
    assert revisions.record(again, new, "run-3") == 0
    with duckdb.connect(str(again), read_only=True) as con:
        assert con.execute("SELECT count(*), min(published_run) FROM marts.trade_revisions").fetchone() == (2, "run-2")


def test_a_first_publish_records_nothing(tmp_path):
    new = _warehouse(tmp_path / "new.duckdb", [("imf-dots", "MEX", 2020, 8.85e9, None, "2022-02-02")])
    assert revisions.record(new, None, "run-1") == 0
