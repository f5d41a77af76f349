"""The parse fan-out of mof-hs9-country on a real 2-worker local Dask cluster (prefect-dask's DaskTaskRunner, chosen
by JLAC_TASK_RUNNER=local:2) builds the same warehouse as the single-process path."""

from __future__ import annotations

import os
import socket

import duckdb
import pytest
from conftest import task_runs
from hs9_helpers import build, generator, settings_for
from jlac.snapshots import latest_snapshot
from jlac.sources import all_sources

pytestmark = pytest.mark.usefixtures("own_cache")  # it counts the partitions its build parsed


def _relations(con, catalog: str) -> list[str]:
    return [f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = ? "
        "AND table_schema IN ('raw', 'staging', 'marts') ORDER BY 1, 2", [catalog]).fetchall()]


def test_dask_fan_out_builds_the_same_warehouse(prefect_api, tmp_path, mirror, monkeypatch):
    from jlac import pipeline, task_runners

    gen = tmp_path / "gen"
    generator().generate(gen, 1, mirror, last_year=2012, threads=2)  # two files: 2012 exports and imports
    single, results = build(settings_for(tmp_path / "single", gen, mirror))
    assert all(r.success for r in results)

    settings = settings_for(tmp_path / "dask", gen, mirror)
    monkeypatch.setenv("JLAC_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("JLAC_TASK_RUNNER", "local:2")
    runner = task_runners.from_env(api_url=pipeline._api_url())  # the session's API (conftest.prefect_api)
    assert type(runner).__name__ == "DaskTaskRunner" and runner.cluster_kwargs["env"]["PREFECT_API_URL"]
    source = all_sources()["mof-hs9-country"]
    out = pipeline.parse_partitions_flow.with_options(task_runner=runner)(
        settings, source, latest_snapshot("mof-hs9-country", settings))
    assert out["pids"] and os.getpid() not in out["pids"], "the files were parsed in the Dask worker processes"
    assert len(list((settings.cache_dir / "mof-hs9-country" / "parts").glob("*.parquet"))) == 2
    # the rest of the build through the refresh's parse step (partitions found, nothing parsed again)
    monkeypatch.delenv("JLAC_TASK_RUNNER")
    dask, results = build(settings, parse_fn=pipeline.parse_source)
    assert all(r.success for r in results)

    con = duckdb.connect()
    con.execute("ATTACH ? AS a (READ_ONLY)", [str(single)])
    con.execute("ATTACH ? AS b (READ_ONLY)", [str(dask)])
    names = _relations(con, "a")
    assert names == _relations(con, "b")
    assert "raw.mof_hs9_country" in names and "marts.fct_trade_commodity_monthly" in names
    for name in names:
        cols = ", ".join(f'"{c}"' for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'a' AND "
            "table_schema || '.' || table_name = ? AND column_name <> 'parquet' ORDER BY ordinal_position",
            [name]).fetchall())  # partition paths differ by warehouse home; their content must not
        diff = con.execute(f"SELECT count(*) FROM ((SELECT {cols} FROM a.{name} EXCEPT ALL SELECT {cols} FROM b.{name})"
                           f" UNION ALL (SELECT {cols} FROM b.{name} EXCEPT ALL SELECT {cols} FROM a.{name}))"
                           ).fetchone()[0]
        assert diff == 0, f"{name}: {diff} rows differ between the single-process and the Dask build"
    rows = con.execute("SELECT count(*) FROM b.marts.fct_trade_commodity_monthly").fetchone()[0]
    assert rows > 100_000


@pytest.mark.parametrize(("spec", "address"), [
    ("local:2", None), ("LOCAL:3", None), ("dask://sched", "tcp://sched:8786"), ("dask://sched:9000", "tcp://sched:9000"),
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"), ("tls://sched:8787", "tls://sched:8787"),
    ("dask://[::1]", "tcp://[::1]:8786"),
])
def test_task_runner_specs(spec, address):
    from jlac import task_runners

    assert task_runners.dask_address(spec) == address


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local:²", "local", "dask://", "dask://sched:", "dask://sched:99999",
                                  "dask://sched:abc", "dask://sched/x", "http://sched:8786", "sched:8786"])
def test_a_wrong_task_runner_is_named(spec, monkeypatch):
    from jlac import task_runners
    from jlac.errors import JlacError

    monkeypatch.setenv("JLAC_TASK_RUNNER", spec)
    with pytest.raises(JlacError, match=f"JLAC_TASK_RUNNER={spec!r}: .*expected dask://host"):
        task_runners.from_env()


def test_a_scheduler_that_does_not_answer_is_named_at_once(monkeypatch, tmp_path, mirror):
    """A port nobody listens on: the parse step says which setting and address, before any task (no 30 s timeout)."""
    import time

    from jlac import pipeline
    from jlac.errors import JlacError

    with socket.socket() as s:  # a free port, closed again: connecting to it is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("JLAC_TASK_RUNNER", f"dask://127.0.0.1:{port}")
    source = all_sources()["mof-hs9-country"]
    start = time.monotonic()
    with pytest.raises(JlacError, match=rf"JLAC_TASK_RUNNER='dask://127.0.0.1:{port}': no Dask scheduler answers at "
                                        rf"tcp://127.0.0.1:{port} .*unset JLAC_TASK_RUNNER"):
        pipeline.parse_source(settings_for(tmp_path, tmp_path / "gen", mirror), source, snapshot=None)
    assert time.monotonic() - start < 5


def test_a_scheduler_that_does_not_answer_stops_a_refresh_at_its_start_with_nothing_to_parse(tmp_path):
    """A refresh with nothing to parse sent nothing to the scheduler, so a JLAC_TASK_RUNNER naming one that is down (or
    a mistyped address) passed every such refresh and was found only on the day data arrived. The pre-flight check
    (the command line's, and the flow's at its start) asks the scheduler at once: one line, before Prefect starts."""
    import time

    from jlac.cli import app
    from typer.testing import CliRunner

    with socket.socket() as s:  # a free port, closed again: connecting to it is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"), "JLAC_TASK_RUNNER": f"dask://127.0.0.1:{port}"}
    start = time.monotonic()
    result = CliRunner().invoke(app, ["refresh", "--offline", "--source", "fred-exjpus"], env=env)
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and said.startswith(
        f"jlac: JlacError: JLAC_TASK_RUNNER='dask://127.0.0.1:{port}': no Dask scheduler answers at "
        f"tcp://127.0.0.1:{port} (Connection refused). Start one there (`dask scheduler`, workers with `dask worker "
        f"tcp://127.0.0.1:{port}`), correct the address in JLAC_TASK_RUNNER, or unset JLAC_TASK_RUNNER to parse in "
        "this process."), result.output
    assert time.monotonic() - start < 5 and "Traceback" not in result.output
    assert not (tmp_path / "wh").exists()  # nothing started, no run recorded


def test_a_server_that_is_not_a_dask_scheduler_is_named(tmp_path):
    """A web server on the port: it accepted the connection and the refresh then waited for good on the first parse
    task, past Dask's own timeouts (found by a QA pass). The check asks for the scheduler's identity first."""
    import http.server
    import threading
    import time

    from jlac import task_runners
    from jlac.errors import JlacError

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        start = time.monotonic()
        with pytest.raises(JlacError, match=rf"JLAC_TASK_RUNNER='dask://127.0.0.1:{port}': what listens at "
                                            rf"tcp://127.0.0.1:{port} is not a Dask scheduler \(no Dask answer within "
                                            r"2 s \(TimeoutError\)\)\. Start one there"):
            task_runners.check_reachable(f"tcp://127.0.0.1:{port}", f"dask://127.0.0.1:{port}", timeout=2)
        assert time.monotonic() - start < 10
    finally:
        server.shutdown()
        server.server_close()


def test_a_dask_scheduler_is_taken_also_from_inside_an_event_loop():
    """The identity check answers for a real scheduler, called plainly or from a running event loop (an async flow:
    asyncio.run inside a loop raised, and the scheduler was called 'not a Dask scheduler')."""
    import asyncio

    from distributed import LocalCluster
    from jlac import task_runners

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        task_runners.check_reachable(address, address, timeout=10)

        async def in_a_loop():
            task_runners.check_reachable(address, address, timeout=10)

        asyncio.run(in_a_loop())


def test_without_a_task_runner_a_partitioned_source_is_one_parse_task_of_the_flow(prefect_api, tmp_path, mirror):
    """JLAC_TASK_RUNNER unset: mof-hs9-country's files are parsed by the refresh flow's own parse task, as every
    other source's, not in a subflow. A subflow is a flow run of its own (its API calls, and Prefect's wait for its
    heartbeat thread at its end: about a second with heartbeats on, as in production)."""
    from jlac import pipeline
    from prefect import flow, get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.context import get_run_context

    gen = tmp_path / "gen"
    generator().generate(gen, 1, mirror, last_year=2012, threads=2)  # two files: 2012 exports and imports
    settings = settings_for(tmp_path / "home", gen, mirror)
    source = all_sources()["mof-hs9-country"]
    snapshot = latest_snapshot("mof-hs9-country", settings)

    @flow
    def a_refresh() -> tuple[str, str]:
        return str(get_run_context().flow_run.id), str(pipeline.parse_source(settings, source, snapshot))

    flow_run_id, parts = a_refresh()
    assert len(list((settings.cache_dir / "mof-hs9-country" / "parts").glob("*.parquet"))) == 2
    assert parts.endswith(".json")
    names = {r.name for r in task_runs(flow_run_id)}
    with get_client(sync_client=True) as client:
        subflows = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])))
    assert names == {"parse mof-hs9-country"}
    assert subflows == []


def test_a_scheduler_without_workers_fails_the_parse_naming_it_instead_of_waiting_for_good(monkeypatch, caplog):
    """Found by a QA pass: a Dask scheduler with no worker (none started, or every one killed mid-parse) left the
    refresh waiting without end, logging nothing. A real scheduler without workers here: the wait says so, then
    fails after JLAC_DASK_NO_WORKER_TIMEOUT."""
    import logging

    from distributed import Client, LocalCluster
    from jlac import task_runners
    from jlac.errors import JlacError, SettingError

    monkeypatch.setattr(task_runners, "POLL_S", 0.2)
    monkeypatch.setenv("JLAC_DASK_NO_WORKER_TIMEOUT", "1.5")
    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None) as \
            cluster, Client(cluster) as client:
        address = cluster.scheduler_address
        assert task_runners.workers_at(address) == 0
        future = client.submit(sum, [1, 2])
        with caplog.at_level(logging.WARNING, logger="jlac.task_runners"), pytest.raises(JlacError) as err:
            task_runners.await_result(future, address, "dask://x", "the parse of mof-hs9-country a.csv")
        assert (f"JLAC_TASK_RUNNER='dask://x': the Dask scheduler at {address} has had no worker for 2 s "
                "(JLAC_DASK_NO_WORKER_TIMEOUT=1.5), so the parse of mof-hs9-country a.csv cannot run; start workers "
                f"with `dask worker {address}`") in str(err.value)
        assert f"the Dask scheduler at {address} has no worker; the parse of mof-hs9-country a.csv waits up to " \
               "1.5 s for one" in caplog.text
        cluster.scale(1)  # a worker arrives: the same wait ends with the result
        assert task_runners.await_result(future, address, "dask://x", "the parse") == 3
    monkeypatch.setenv("JLAC_DASK_NO_WORKER_TIMEOUT", "soon")
    with pytest.raises(SettingError, match="JLAC_DASK_NO_WORKER_TIMEOUT='soon': expected a number of seconds"):
        task_runners.no_worker_timeout()


def test_a_local_clusters_workers_report_to_the_runs_prefect_api(monkeypatch):
    """Found by a QA pass: each worker process of a local cluster started a temporary Prefect API of its own at its
    first task (about 20 s each; one left running when a worker was killed). They are given the run's API."""
    from jlac import task_runners

    monkeypatch.setenv("JLAC_TASK_RUNNER", "local:2")
    runner = task_runners.from_env(api_url="http://127.0.0.1:4321/api")
    assert runner.cluster_kwargs["env"] == {"PREFECT_API_URL": "http://127.0.0.1:4321/api"}
