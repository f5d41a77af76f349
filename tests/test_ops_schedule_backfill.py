"""Schedule file, its agreement with deploy/prefect.yaml, and the backfill's change detection."""

from __future__ import annotations

import duckdb
import pytest
import yaml
from jlac.config import PROJECT_ROOT
from jlac.ops.backfill import backfill, check_range, range_fingerprint
from jlac.ops.schedule import load_schedule


def test_the_served_schedule_and_the_deployment_share_one_cron():
    schedule = load_schedule()
    deployment = yaml.safe_load((PROJECT_ROOT / "deploy" / "prefect.yaml").read_text())["deployments"][0]
    assert (schedule.cron, schedule.timezone) == (deployment["schedules"][0]["cron"],
                                                  deployment["schedules"][0]["timezone"])
    assert schedule.parameters == deployment["parameters"] == {"fetch": True}
    assert deployment["entrypoint"] == "flows/jlac/pipeline.py:refresh"
    assert (PROJECT_ROOT / deployment["entrypoint"].split(":")[0]).exists()


def test_a_bad_schedule_file_names_the_problem(tmp_path):
    path = tmp_path / "schedule.yml"
    path.write_text("name: x\n")
    with pytest.raises(ValueError, match="schedule.yml: missing cron"):
        load_schedule(path)
    path.write_text("name: x\ncron: '61 * * * *'\n")
    with pytest.raises(ValueError):
        load_schedule(path)


def test_backfill_range_is_checked():
    with pytest.raises(ValueError, match="--from must not be after --to"):
        check_range(2019, 2010)
    check_range(2010, 2019)


def _build(path, values):
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA figures")
    con.execute("CREATE TABLE marts.fct_trade (year INTEGER, iso3 VARCHAR, usd DOUBLE)")
    con.executemany("INSERT INTO marts.fct_trade VALUES (?, ?, ?)", values)
    con.execute("CREATE TABLE marts.dim_country AS SELECT 'BRA' AS iso3")  # no year: not compared
    con.close()


def test_range_fingerprint_sees_changes_inside_the_range_only(tmp_path):
    path = tmp_path / "w.duckdb"
    base = [(2009, "BRA", 1.0), (2010, "BRA", 2.0), (2015, "MEX", 3.0)]
    _build(path, base)
    first = range_fingerprint(path, 2010, 2015)
    assert set(first) == {"marts.fct_trade"} and first["marts.fct_trade"][0] == 2
    _build(path, [(2009, "BRA", 99.0), *base[1:]])  # a revision outside the range
    assert range_fingerprint(path, 2010, 2015) == first
    _build(path, [*base[:2], (2015, "MEX", 3.5)])  # a revision inside it
    assert range_fingerprint(path, 2010, 2015) != first


def test_range_fingerprint_reads_a_warehouse_in_a_folder_named_with_an_apostrophe(tmp_path):
    path = tmp_path / "it's [x] ü" / "w.duckdb"  # ATTACH '<path>' was a parser error (found by a QA pass)
    path.parent.mkdir()
    _build(path, [(2010, "BRA", 2.0)])
    assert range_fingerprint(path, 2010, 2015)["marts.fct_trade"][0] == 1


def test_backfill_twice_reports_no_change_the_second_time(tmp_path, monkeypatch):
    warehouse = tmp_path / "jlac.duckdb"
    monkeypatch.setenv("JLAC_WAREHOUSE", str(warehouse))
    releases = iter([[(2010, "BRA", 2.0)], [(2010, "BRA", 2.5)], [(2010, "BRA", 2.5)]])
    calls = []

    def fake_flow(**params):  # stands in for the refresh flow: rebuilds from the next "release"
        calls.append(params)
        _build(warehouse, next(releases))

    _build(warehouse, [(2010, "BRA", 2.0)])
    assert backfill(2010, 2012, run_flow=fake_flow).changed == {}
    changed = backfill(2010, 2012, ["fred-exjpus"], run_flow=fake_flow).changed
    assert list(changed) == ["marts.fct_trade"]
    assert backfill(2010, 2012, run_flow=fake_flow).changed == {}
    assert calls[1] == {"fetch": True, "offline": False, "sources": ["fred-exjpus"], "trigger": "backfill 2010-2012"}
