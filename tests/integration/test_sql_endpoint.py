"""The SQL endpoint with a real PostgreSQL client (psycopg), and readers racing a refresh that publishes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest
from sqlendpoint import JLAC, Endpoint, contract_refresh

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-for-tests"
MIRROR = Path(os.environ.get("JLAC_TEST_MIRROR", ROOT.parent / "shared" / "snapshots"))


def _benchmark():
    path = ROOT / "benchmarks" / "concurrency_sql.py"
    spec = importlib.util.spec_from_file_location("concurrency_sql", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def env(home) -> dict[str, str]:
    return {**os.environ, "JLAC_WAREHOUSE": str(home / "jlac.duckdb"), "JLAC_SQL_PASSWORD": PASSWORD,
            "JLAC_SQL_USER": "jlac", "JLAC_SQL_HOST": "127.0.0.1"}


@pytest.fixture
def endpoint(env, home):
    home.mkdir(parents=True)
    contract_refresh(home / "jlac.duckdb", rows=1000, run_id="run-old")
    with Endpoint(env, PASSWORD) as ep:
        yield ep


def test_reads_the_published_warehouse(endpoint):
    with psycopg.connect(endpoint.dsn(), autocommit=True) as con:
        assert con.execute("SELECT run_id FROM meta.runs").fetchall() == [("run-old",)]
        row = con.execute("SELECT count(*), min(year), max(year) FROM marts.fct_trade").fetchone()
        assert row == (1000, 1990, 2019)
        # A parameterised query goes through the extended protocol, as BI drivers send it.
        row = con.execute("SELECT count(*) FROM marts.fct_trade WHERE year = %s", (1995,)).fetchone()
        assert row == (34,)
        tables = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                             "ORDER BY 1").fetchall()
        assert ("figures.fig1_trade",) in tables and ("marts.fct_trade",) in tables


@pytest.mark.parametrize("statement", [
    "INSERT INTO marts.fct_trade VALUES (1, 2000, 1.0)",
    "UPDATE marts.fct_trade SET value_usd = 0",
    "DELETE FROM marts.fct_trade",
    "DROP TABLE marts.fct_trade",
    "CREATE TABLE marts.x AS SELECT 1 AS a",
    "COPY marts.fct_trade TO '/tmp/jlac-stolen.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
])
def test_writes_are_refused(endpoint, statement):
    with psycopg.connect(endpoint.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.Error, match="read-only"):
            con.execute(statement)
        # the session survives the refusal and the data is untouched
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (1000,)
    assert not Path("/tmp/jlac-stolen.csv").exists()


def test_files_outside_the_warehouse_are_out_of_reach(endpoint):
    with psycopg.connect(endpoint.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.Error, match="disabled by configuration"):
            con.execute("SELECT * FROM read_csv('/etc/passwd')")


def test_wrong_password_and_unknown_user_are_refused(endpoint):
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "jlac"'):
        psycopg.connect(endpoint.dsn(password="wrong"))
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "intruder"'):
        psycopg.connect(endpoint.dsn(user="intruder"))


def test_refuses_to_start_without_a_password(env, home):
    home.mkdir(parents=True)
    env = {k: v for k, v in env.items() if k != "JLAC_SQL_PASSWORD"}
    proc = subprocess.run([JLAC, "serve-sql", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "JLAC_SQL_PASSWORD is not set" in proc.stderr + proc.stdout


def test_open_session_moves_to_the_new_warehouse_between_queries(endpoint, home):
    with psycopg.connect(endpoint.dsn(), autocommit=True) as con:
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (1000,)
        contract_refresh(home / "jlac.duckdb", rows=2000, run_id="run-new")
        assert con.execute("SELECT run_id FROM meta.runs").fetchone() == ("run-new",)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (2000,)


def test_a_transaction_keeps_its_warehouse_until_it_ends(endpoint, home):
    with psycopg.connect(endpoint.dsn()) as con:  # psycopg opens a transaction: BI tools often do
        assert con.execute("SELECT run_id FROM meta.runs").fetchone() == ("run-old",)
        contract_refresh(home / "jlac.duckdb", rows=10, run_id="run-new")
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (1000,)
        con.commit()
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (10,)


def test_readers_during_a_real_refresh_see_old_or_new_never_a_mix(env, home, monkeypatch, capsys):
    """Four psycopg readers loop over the endpoint while jlac.pipeline.refresh rebuilds the warehouse from
    the mirror and publishes it. Every result must be exactly the old or the new warehouse's answer."""
    from jlac import pipeline
    from jlac.config import get_settings

    env = {**env, "JLAC_MIRROR": str(MIRROR)}
    for key in ("JLAC_WAREHOUSE", "JLAC_MIRROR"):
        monkeypatch.setenv(key, env[key])
    settings = get_settings()
    assert pipeline.refresh(settings, trigger="concurrency-test").status == "completed"
    bench = _benchmark()
    old = bench.probe_file(settings.warehouse)
    with Endpoint(env, PASSWORD) as ep:
        result = bench.measure(ep.dsn(), lambda: pipeline.refresh(settings, trigger="concurrency-test"),
                               readers=4, settle_s=1.0)
        server_log = ep.stderr()
    new = bench.probe_file(settings.warehouse)
    with capsys.disabled():
        print(f"\nconcurrency during a real refresh: {result.summary()}")
    assert old[0] != new[0]  # a new run id: the refresh did publish
    assert result.errors == [], server_log[-3000:]
    assert set(result.answers) <= {old, new}, f"a result matched neither warehouse: {result.answers}"
    assert result.answers.get(old, 0) > 0 and result.answers.get(new, 0) > 0
    assert result.during_refresh > 0


def test_a_bi_tool_holding_the_file_does_not_block_a_refresh(home):
    """A desktop tool (DBeaver's DuckDB driver, the duckdb CLI) may hold the published file open, even
    read-write with DuckDB's exclusive lock. Publishing by rename does not need that lock, so the refresh
    succeeds; the holder keeps reading the old file until it reconnects."""
    home.mkdir(parents=True)
    warehouse = home / "jlac.duckdb"
    contract_refresh(warehouse, rows=100, run_id="run-old")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True);"
         "sys.stdin.readline();"
         "print(con.execute('SELECT run_id FROM meta.runs').fetchone()[0], flush=True)", str(warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        # the file really is locked: a second writer would be refused
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(warehouse))
        contract_refresh(warehouse, rows=200, run_id="run-new")
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "run-old"
    finally:
        holder.kill()
        holder.wait()
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{warehouse}' AS w (READ_ONLY)")
    assert con.execute("SELECT run_id FROM w.meta.runs").fetchone() == ("run-new",)
