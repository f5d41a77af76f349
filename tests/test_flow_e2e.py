"""One end-to-end run of the Prefect flow (temporary local API), twice: the second run parses nothing."""

from __future__ import annotations

import duckdb
import pytest
from conftest import IMF_DOTS, JAPAN_WORKBOOK, small_mirror, task_runs
from jlac import ledger

pytestmark = pytest.mark.usefixtures("own_cache")  # they look for their batches in <home>/cache


def _content(path):
    with duckdb.connect(str(path), read_only=True) as con:
        fig1 = con.execute("SELECT * FROM figures.fig1_japan_lac_trade ORDER BY year").fetchall()
        facts = con.execute("SELECT count(*), sum(value_usd), sum(hash(reporter_iso3, partner_iso3, flow, year)) "
                            "FROM marts.fct_trade_annual").fetchone()
        runs = con.execute("SELECT status, flow_run_id IS NOT NULL FROM meta.runs ORDER BY started").fetchall()
    return fig1, facts, runs


def _run_log(flow_run_id: str) -> str:
    """The flow run's log as Prefect's API has it."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # send what is still queued

    async def read():
        async with get_client() as client:
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            return "\n".join(entry.message for entry in logs)

    return asyncio.run(read())


def _models_artifact(flow_run_id: str) -> list[dict]:
    """The rows of the run's ``jlac-dbt-models`` table artifact."""
    import asyncio
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["jlac-dbt-models"])),
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))

    [artifact] = asyncio.run(read())
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def _flow_run_ids(warehouse) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT flow_run_id FROM meta.runs ORDER BY started").fetchall()]


def test_dbt_nodes_as_prefect_tasks(prefect_api, tmp_path, monkeypatch, dbt_home):
    """JLAC_DBT_TASKS=1: prefect-dbt's runner makes each dbt model and test a task of the flow run, also in a dbt
    home without a manifest.json (jlac's builds write none; the runner used to find nodes through it only)."""
    from jlac import transform
    from jlac.config import Settings
    from prefect import flow
    from prefect.context import get_run_context

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.fred_exjpus AS SELECT DATE '2020-01-01' + INTERVAL (i) MONTH "
                    "AS month, 100.0 + i AS jpy_per_usd, '2025-01-01' AS vintage FROM range(24) t(i)")
    settings = Settings(warehouse=tmp_path / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(), output=tmp_path)

    @flow
    def build_fx() -> tuple[str, dict]:
        return str(get_run_context().flow_run.id), transform.build(path, settings, select=["+fct_fx_annual"])

    monkeypatch.setenv("JLAC_DBT_TASKS", "1")
    (dbt_home / "target" / "manifest.json").unlink(missing_ok=True)  # as in a new deployment's first refresh
    flow_run_id, out = build_fx()
    assert out["marts.fct_fx_annual"]["rows"] == 2  # two complete years of the 24 months
    expected = {"model stg_fred_exjpus__rates", "model fct_fx_annual", "test unique_combination_fct_fx_annual_year",
                "test not_null_fct_fx_annual_year"}
    # task runs reach the API's database through its event stream, a moment after the run: read until they are
    # there (read once, one was missing in a CI run)
    tasks = {r.name for r in task_runs(flow_run_id, lambda runs: expected <= {r.name for r in runs})}
    assert expected <= tasks


def test_refresh_flow_twice(prefect_api, tmp_path, monkeypatch, mirror):
    from jlac.pipeline import refresh

    root = small_mirror(tmp_path / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK,
                                                      "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"})
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_MIRROR", str(root))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "wh" / "snapshots"))
    first = refresh(trigger="test")
    assert first.status == "completed" and first.plan["mode"] == "full"
    warehouse = tmp_path / "wh" / "jlac.duckdb"
    fig1, facts, runs = _content(warehouse)
    assert fig1[0][0] == 1995 and runs == [("completed", True)]
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / "wh" / "cache").rglob("*.parquet")}
    assert any("imf-dots" in str(p) for p in cached)
    # every model of the build shows in the flow run, without a Prefect task per dbt node: a table artifact
    models = {r["model"]: r for r in _models_artifact(first.flow_run_id)}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        annual = con.execute("SELECT count(*) FROM marts.fct_trade_annual").fetchone()[0]
        modelled = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name IN ('staging', "
                               "'intermediate', 'marts', 'figures') AND table_name <> 'trade_revisions'").fetchone()[0]
    assert models["marts.fct_trade_annual"] | {"seconds": 0} == {"model": "marts.fct_trade_annual", "status": "success",
                                                                  "rows": annual, "seconds": 0}
    assert len([m for m in models.values() if m["rows"] is not None]) == modelled

    # Nothing changed: nothing is built or published, the published file is untouched, the run is recorded.
    stat = warehouse.stat()
    second = refresh(trigger="test")
    assert second.status == "unchanged" and second.run_id != first.run_id
    assert (warehouse.stat().st_ino, warehouse.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert [r["status"] for r in ledger.read(tmp_path / "wh" / "runs.jsonl")] == ["completed", "unchanged"]

    # A full rebuild asked for: same rows and values, and nothing parsed again (the batch cache).
    third = refresh(trigger="test", full=True)
    assert third.status == "completed" and third.plan["mode"] == "full"
    fig1_3, facts_3, runs_3 = _content(warehouse)
    assert fig1_3 == fig1 and facts_3 == facts
    assert runs_3 == [("completed", True), ("unchanged", True), ("completed", True)]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "wh" / "cache").rglob("*.parquet")} == cached
    logs = _run_log(third.flow_run_id)  # jlac's own log records reach the flow run's log in Prefect
    assert "imf-dots: snapshot imf-dots/2022-02-02 unchanged" in logs and "parse skipped" in logs
