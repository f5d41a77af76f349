"""One end-to-end run of the Prefect flow (temporary local API), twice: the second run parses nothing."""

from __future__ import annotations

import duckdb
import pytest
from conftest import IMF_DOTS, JAPAN_WORKBOOK, small_mirror
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def _content(path):
    with duckdb.connect(str(path), read_only=True) as con:
        fig1 = con.execute("SELECT * FROM figures.fig1_japan_lac_trade ORDER BY year").fetchall()
        facts = con.execute("SELECT count(*), sum(value_usd), sum(hash(reporter_iso3, partner_iso3, flow, year)) "
                            "FROM marts.fct_trade_annual").fetchone()
        runs = con.execute("SELECT status, flow_run_id IS NOT NULL FROM meta.runs ORDER BY started").fetchall()
    return fig1, facts, runs


def _task_run_names(flow_run_id: str) -> set[str]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                     limit=200)
    return {r.name for r in runs}


def test_refresh_flow_twice(harness, tmp_path, monkeypatch, mirror, capfd):
    from jlac.refresh_flow import refresh

    root = small_mirror(tmp_path / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK,
                                                      "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"})
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_MIRROR", str(root))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "wh" / "snapshots"))
    first = refresh(trigger="test")
    assert first["status"] == "completed"
    warehouse = tmp_path / "wh" / "jlac.duckdb"
    fig1, facts, runs = _content(warehouse)
    assert fig1[0][0] == 1995 and runs == [("completed", True)]
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / "wh" / "cache").rglob("*.parquet")}
    assert any("imf-dots" in str(p) for p in cached)
    tasks = _task_run_names(first["flow_run_id"])  # prefect-dbt: each dbt model and test is a task of the run
    assert {"model fct_trade_annual", "model fig1_japan_lac_trade"} <= tasks
    assert any(t.startswith("test unique_combination_fct_trade_annual") for t in tasks)

    capfd.readouterr()
    second = refresh(trigger="test")
    assert second["status"] == "completed" and second["run_id"] != first["run_id"]
    fig1_2, facts_2, runs_2 = _content(warehouse)
    assert fig1_2 == fig1 and facts_2 == facts  # same rows, same values
    assert runs_2 == [("completed", True), ("completed", True)]
    # Nothing was parsed again: the cached batches are untouched and the flow said what it skipped.
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "wh" / "cache").rglob("*.parquet")} == cached
    logs = capfd.readouterr().err  # Prefect console log handler
    assert "imf-dots: snapshot imf-dots/2022-02-02 unchanged" in logs and "parse skipped" in logs
