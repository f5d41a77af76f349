"""`jlac serve-sql` over small generated warehouses: it follows publishes, a transaction keeps its snapshot,
the server-side statement timeout applies, SIGTERM/SIGINT stop PostgreSQL cleanly, a restart reuses the cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from jlac.config import Settings
from jlac.publish_hooks import PublishContext
from jlac.publish_hooks import postgres as postgres_hook
from jlac.serving.status import serving_status
from sqlendpoint import JLAC, Endpoint, contract_refresh, endpoint_env, reachable_home, remove_home, wait_for
from test_pg_security import RUNAWAY

pytestmark = pytest.mark.integration


@pytest.fixture
def home():
    home = reachable_home()
    yield home
    remove_home(home)


def _served_run(ep: Endpoint) -> str | None:
    with psycopg.connect(ep.dsn(), autocommit=True) as con:
        try:
            return con.execute("SELECT run_id FROM meta.serving_copy").fetchone()[0]
        except psycopg.errors.UndefinedTable:  # nothing loaded yet
            return None


def test_follows_publishes_keeps_transactions_whole_and_stops_on_sigterm(home):
    warehouse = home / "jlac.duckdb"
    contract_refresh(warehouse, rows=1000, run_id="run-old")
    # the loader renders tables as CSV under TMPDIR, through SQL text (COPY ... TO '...'): a quote in its name stopped
    # every load, and the endpoint served nothing (found by a QA pass)
    tmp = home / "it's tmp"
    tmp.mkdir()
    with Endpoint(endpoint_env(home, JLAC_SQL_STATEMENT_TIMEOUT="1s", TMPDIR=str(tmp))) as ep:
        assert "serving run run-old" in ep.ready_line
        if os.geteuid() == 0:  # PostgreSQL runs as another system user: root's secrets stay root's (QA pass)
            pid = int((home / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
            names = {e.split(b"=")[0].decode() for e in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if e}
            assert "JLAC_SQL_PASSWORD" not in names and not {n for n in names if n.startswith(("JLAC_", "PREFECT_"))}
            assert "PATH" in names and "HOME" in names
        with psycopg.connect(ep.dsn(), autocommit=True) as con:
            assert con.execute("SELECT count(*), min(year), max(year) FROM marts.fct_trade").fetchone() == (
                1000, 1990, 2019)
            assert con.execute("SELECT obj_description('marts.fct_trade'::regclass, 'pg_class')").fetchone() == (
                "Generated trade rows",)
            # the server-side default statement timeout (JLAC_SQL_STATEMENT_TIMEOUT), without any client SET
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                con.execute(RUNAWAY)
            # a failed statement is the reader's to see: its SQL is not written to server.log (a reader sending
            # large failing statements grew it without bound: QA pass)
            with pytest.raises(psycopg.errors.UndefinedTable):
                con.execute("SELECT 'reader-sql-" + "x" * 100_000 + "' FROM no_such_table")

        # A reader inside a transaction keeps what it read; the swap waits for it (bounded by lock_timeout).
        with psycopg.connect(ep.dsn()) as reader:
            reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            assert reader.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (1000,)
            contract_refresh(warehouse, rows=2000, run_id="run-new")
            time.sleep(3)  # serve-sql saw the new file and is waiting to swap
            assert reader.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (1000,)
            assert reader.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-old",)
            reader.commit()
        wait_for(lambda: _served_run(ep) == "run-new", timeout=30)
        with psycopg.connect(ep.dsn(), autocommit=True) as con:
            assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (2000,)
        assert ep.stop(signal.SIGTERM) == 0
    log = (home / "postgres" / "server.log").read_text()
    assert log.rstrip().endswith("database system is shut down")
    assert "no_such_table" in log and "reader-sql-" not in log and len(log) < 50_000
    assert not (home / "postgres" / "data" / "postmaster.pid").exists()

    # A refresh while serve-sql is stopped: the publish hook has no cluster to load, and says so ...
    contract_refresh(warehouse, rows=3000, run_id="run-while-stopped")
    settings = Settings(warehouse, home / "snapshots", (), home / "output")
    assert postgres_hook.after(PublishContext(settings, None, warehouse, None)) == {
        "status": "skipped",
        "reason": "local cluster not running; `jlac serve-sql` loads this warehouse when it starts"}
    status = serving_status(settings)
    assert status.published == "run-while-stopped" and "not running" in status.line()
    # ... and a restart (stopped with SIGINT this time) reuses the cluster and catches up at start.
    with Endpoint(endpoint_env(home)) as ep:
        assert "serving run run-while-stopped" in ep.ready_line
        with psycopg.connect(ep.dsn(), autocommit=True) as con:
            assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (3000,)
        assert ep.stop(signal.SIGINT) == 0
    assert (home / "postgres" / "server.log").read_text().rstrip().endswith("database system is shut down")


def test_refuses_to_start_without_a_password(home):
    env = {k: v for k, v in endpoint_env(home).items() if k != "JLAC_SQL_PASSWORD"}
    proc = subprocess.run([JLAC, "serve-sql", "--port", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "JLAC_SQL_PASSWORD is not set" in proc.stderr + proc.stdout
    assert not (home / "postgres").exists()


def test_refuses_to_start_when_jlac_sql_skip_names_nothing_served(home):
    # it used to start, log "serving run (none yet)" while serving the old copy, and alert every 30 s
    contract_refresh(home / "jlac.duckdb", rows=10, run_id="run-skip")
    env = {**endpoint_env(home), "JLAC_SQL_SKIP": "marts.nope, marts.fct_trade"}
    proc = subprocess.run([JLAC, "serve-sql", "--port", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    said = " ".join((proc.stderr + proc.stdout).split())  # folded at the terminal's width
    assert "JLAC_SQL_SKIP='marts.nope, marts.fct_trade': marts.nope is not a table or view the warehouse serves" \
        in said
    assert "Traceback" not in proc.stderr and not (home / "postgres").exists()


def test_starts_before_the_first_publish_and_loads_it_when_it_comes(home):
    with Endpoint(endpoint_env(home)) as ep:
        assert "serving run (none yet)" in ep.ready_line
        contract_refresh(home / "jlac.duckdb", rows=10, run_id="run-first")
        wait_for(lambda: _served_run(ep) == "run-first", timeout=30)


def test_sigterm_during_a_load_stops_serve_sql(home, monkeypatch):
    """A SIGTERM that arrives while a publish is being loaded stops serve-sql: it returns 0 and PostgreSQL is
    stopped. It was taken for a failed load (the handler that keeps the old copy served), after which serve-sql
    went on serving until it was killed."""
    import os

    from jlac.serving import serve as serve_mod
    from jlac.serving.cluster import LocalCluster, ServerConfig
    from jlac.serving.target import ReaderPolicy

    class StillServing(BaseException):
        """A second load was tried: the signal did not stop serve-sql."""

    warehouse = home / "jlac.duckdb"
    contract_refresh(warehouse, rows=100, run_id="run-1")
    real, loads = serve_mod.catch_up, []

    def load_then_signal(*args, **kwargs):
        loads.append(args)
        if len(loads) > 1:
            raise StillServing
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill` or systemd would, while the load is still running
        time.sleep(5)  # the handler runs here, inside the load
        return result

    monkeypatch.setattr(serve_mod, "catch_up", load_then_signal)
    ready: list[str] = []
    code = serve_mod.serve(warehouse, ServerConfig(port=0), ReaderPolicy(password="test-password"), ready.append,
                           poll_s=0.1, retry_s=0.1)
    assert code == 0 and len(loads) == 1 and ready == []
    assert not (LocalCluster(home).data / "postmaster.pid").exists()  # PostgreSQL stopped
    assert signal.getsignal(signal.SIGTERM) is not serve_mod._raise_stop  # the process's own handler is back


def test_a_cluster_copied_as_root_is_given_back_to_the_server_user(home):
    import os

    from jlac.serving import cluster as pgcluster
    from jlac.serving.target import ReaderPolicy

    if os.geteuid() != 0:
        pytest.skip("only root runs PostgreSQL as another user")
    cluster = pgcluster.LocalCluster(home)
    config = pgcluster.ServerConfig("127.0.0.1", pgcluster.free_port(), None, None)
    pgcluster.stop(cluster.start(config, ReaderPolicy(password="p4ss-word")))
    # the log holds readers' failed SQL: its owner's only, as the data folder (it was 0644: a QA pass)
    assert cluster.log.stat().st_mode & 0o777 == 0o600
    cluster.log.chmod(0o644)  # one an older jlac wrote
    for path in [cluster.data, *cluster.data.rglob("*")]:  # what `cp -r` of the warehouse folder by root leaves
        os.lchown(path, 0, 0)
    proc = cluster.start(config, ReaderPolicy(password="p4ss-word"))  # was: "did not start (exit 2)", Permission denied
    try:
        assert cluster.data.stat().st_uid != 0 and (cluster.data / "PG_VERSION").stat().st_uid != 0
        assert cluster.log.stat().st_mode & 0o777 == 0o600
    finally:
        pgcluster.stop(proc)


@pytest.mark.parametrize("host", ["::1", "::"])
def test_an_ipv6_host_starts_and_serves_readers_over_ipv6(home, host):
    """`--host ::1` or `--host ::` (all IPv6 addresses): PostgreSQL's IPv6 sockets do not answer on 127.0.0.1, where
    the loader connects; serve-sql waited 60 s and gave up while the server's log said it was ready."""
    import psycopg
    from jlac.serving import cluster as pgcluster
    from jlac.serving.target import ReaderPolicy

    cluster = pgcluster.LocalCluster(home)
    config = pgcluster.ServerConfig(host, pgcluster.free_port(host), None, None)
    proc = cluster.start(config, ReaderPolicy(password="p4ss-word"))
    try:
        conninfo = cluster.target(config.port).conninfo  # the loader's: 127.0.0.1
        with psycopg.connect(conninfo, connect_timeout=10) as owner:
            assert owner.execute("SHOW listen_addresses").fetchone() == (f"127.0.0.1,{host}",)
        with psycopg.connect(conninfo.replace("host=127.0.0.1", "host=::1"), connect_timeout=10) as over_ipv6:
            assert over_ipv6.execute("SELECT family(inet_client_addr())").fetchone() == (6,)
    finally:
        pgcluster.stop(proc)


def test_a_port_another_server_holds_is_refused_and_that_server_is_never_loaded_into(home):
    """serve-sql B on the port serve-sql A serves: B's postmaster cannot listen, yet B took A's server for its own
    (it answered on the port): with a copy of A's warehouse folder (the same owner.secret) B loaded its warehouse
    into A's cluster and changed the reader password; without one it blamed the owner password."""
    import shutil

    contract_refresh(home / "jlac.duckdb", rows=10, run_id="run-a")
    with Endpoint(endpoint_env(home)):
        pass  # creates A's cluster
    clone = reachable_home()
    try:
        shutil.copytree(home / "postgres", clone / "postgres")  # A stopped: postmaster.pid is gone
        contract_refresh(clone / "jlac.duckdb", rows=20, run_id="run-clone")
        fresh = reachable_home()
        contract_refresh(fresh / "jlac.duckdb", rows=30, run_id="run-fresh")
        with Endpoint(endpoint_env(home)) as a:
            for other in (clone, fresh):
                proc = subprocess.run([JLAC, "serve-sql", "--port", str(a.port)], capture_output=True, text=True,
                                      timeout=120, env=endpoint_env(other, JLAC_SQL_PASSWORD="another-password"))
                said = " ".join((proc.stdout + proc.stderr).split())
                assert proc.returncode != 0 and "SQL endpoint" not in proc.stdout, said
                assert f"port {a.port} is in use (by another server)" in said, said
                assert "refused the owner role" not in said
            # A still serves its own warehouse, to its own password
            assert _served_run(a) == "run-a"
            with psycopg.connect(a.dsn(), autocommit=True) as con:
                assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (10,)
    finally:
        remove_home(clone)
        remove_home(fresh)


def test_serve_sql_loads_again_a_copy_emptied_in_postgres_while_nothing_is_published(home):
    """serve-sql compared the copy with the published run only when the file changed: a copy someone dropped stayed
    empty until the next publish."""
    import os
    import threading

    from jlac.serving import serve as serve_mod
    from jlac.serving.cluster import LocalCluster, ServerConfig
    from jlac.serving.target import ReaderPolicy

    warehouse = home / "jlac.duckdb"
    contract_refresh(warehouse, rows=100, run_id="run-kept")
    config = ServerConfig(port=0)
    seen: list = []

    def wipe_then_stop() -> None:
        try:
            owner = LocalCluster(home).target(config.port).conninfo
            with psycopg.connect(owner, autocommit=True) as con:
                con.execute("DROP TABLE meta.serving_copy, marts.fct_trade")

                def reloaded():
                    return con.execute("SELECT to_regclass('meta.serving_copy') IS NOT NULL AND "
                                       "to_regclass('marts.fct_trade') IS NOT NULL").fetchone()[0]
                wait_for(reloaded, timeout=20)
                seen.append(con.execute("SELECT run_id FROM meta.serving_copy").fetchone()[0])
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    code = serve_mod.serve(warehouse, config, ReaderPolicy(password="test-password"),
                           lambda line: threading.Thread(target=wipe_then_stop, daemon=True).start(),
                           poll_s=0.2, retry_s=1)
    assert code == 0 and seen == ["run-kept"]


@pytest.mark.parametrize("host", ["192.0.2.1", "127.0.0.1,0.0.0.0"])
def test_an_address_postgresql_cannot_listen_on_is_refused_not_announced_as_served(home, host):
    """PostgreSQL starts when one of its addresses binds: an address the machine does not have (192.0.2.1, or one not
    up yet at boot), or 0.0.0.0 after 127.0.0.1 took the port, was announced "on <host>:<port>" while readers found
    nothing there (found by a QA pass)."""
    from jlac.serving import cluster as pgcluster
    from jlac.serving.target import ReaderPolicy

    cluster = pgcluster.LocalCluster(home)
    config = pgcluster.ServerConfig(host, pgcluster.free_port(), None, None)
    with pytest.raises(pgcluster.ClusterError, match=r"PostgreSQL could not listen on (192\.0\.2\.1|0\.0\.0\.0) \(of "
                                                       r"--host / JLAC_SQL_HOST") as refused:
        cluster.start(config, ReaderPolicy(password="p4ss-word"))
    assert "serve-sql does not serve on fewer addresses than asked" in str(refused.value)
    assert not (home / "postgres" / "data" / "postmaster.pid").exists()  # stopped, not left running


def test_postgresql_killed_under_serve_sql_is_alerted(home, httpserver):
    """PostgreSQL dying (the OOM killer, kill -9) ended serve-sql with one log line: BI tools lost the endpoint and
    nobody was told (found by a QA pass). serve-sql alerts the webhook before it exits non-zero (its service restarts
    it)."""
    import json

    httpserver.expect_request("/alerts", method="POST").respond_with_data("ok")
    contract_refresh(home / "jlac.duckdb", rows=10, run_id="run-first")
    with Endpoint(endpoint_env(home, JLAC_ALERT_WEBHOOK=httpserver.url_for("/alerts"))) as ep:
        wait_for(lambda: _served_run(ep) == "run-first", timeout=60)
        postmaster = int((home / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        ep.proc.wait(timeout=60)
        assert ep.proc.returncode == 128 + signal.SIGKILL  # as a shell says it; it was 247, a byte of -9 (QA pass)
    [alert] = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert alert["state"] == "serving down" and "PostgreSQL on" in alert["text"] and "exited" in alert["text"]
    assert "server.log" in alert["log"] and alert["exit_code"] == 128 + signal.SIGKILL  # as serve-sql's own
