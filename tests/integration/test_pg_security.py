"""Security by the database: what the reader role is refused, password checks, queries that can be stopped,
unauthenticated connections that cost nothing lasting, and a connection limit that refuses cleanly."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlendpoint import wait_for

pytestmark = pytest.mark.integration

RUNAWAY = "SELECT count(*) FROM generate_series(1, 200000) a, generate_series(1, 200000) b"  # ~hours of CPU


@pytest.mark.parametrize("statement", [
    "INSERT INTO marts.dim_country (iso3) VALUES ('XXX')",
    "UPDATE marts.fct_trade_annual SET value_usd = 0",
    "DELETE FROM marts.fct_trade_annual",
    "TRUNCATE marts.fct_trade_annual",
    "DROP TABLE marts.fct_trade_annual",
    "ALTER TABLE marts.dim_country ADD COLUMN x int",
    "CREATE TABLE marts.x AS SELECT 1 AS a",
    "CREATE TABLE public.x (a int)",
    "CREATE SCHEMA mine",
    "CREATE TEMP TABLE x (a int)",
    "COPY marts.dim_country TO '/tmp/jlac-stolen.csv'",
    "COPY (SELECT 1) TO PROGRAM 'touch /tmp/jlac-stolen.csv'",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/jlac-stolen.csv')",
    "SELECT lo_from_bytea(0, 'x')",  # large objects outlive the session: rows a reader could fill the disk with
    "SELECT lo_create(0)",
    "SELECT lo_creat(-1)",
    "SET temp_file_limit = -1",
])
@pytest.mark.parametrize("read_only", ["on", "off"])  # the client switching off read-only changes nothing
def test_writes_and_file_access_are_refused(served, statement, read_only):
    with psycopg.connect(served.dsn(), autocommit=True) as con:
        con.execute(f"SET default_transaction_read_only = {read_only}")
        with pytest.raises(psycopg.Error,
                           match="read-only transaction|permission denied|must be superuser|must be owner"):
            con.execute(statement)
        assert con.execute("SELECT count(*) FROM marts.dim_country WHERE iso3 = 'MEX'").fetchone() == (1,)
    assert not Path("/tmp/jlac-stolen.csv").exists()


@pytest.mark.parametrize("wrapped", [
    ["PREPARE w AS INSERT INTO marts.dim_country (iso3) VALUES ('XXX')", "EXECUTE w"],
    ["PREPARE w AS DELETE FROM marts.fct_trade_annual", "EXECUTE w"],
    ["EXPLAIN ANALYZE INSERT INTO marts.dim_country (iso3) VALUES ('XXX')"],
    ["EXPLAIN ANALYZE DELETE FROM marts.fct_trade_annual"],
    ["EXPLAIN ANALYZE CREATE TABLE public.x AS SELECT 1"],
])
def test_writes_wrapped_in_prepare_or_explain_analyze_are_refused(served, wrapped):
    with psycopg.connect(served.dsn(), autocommit=True) as con:
        con.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.Error, match="read-only transaction|permission denied"):
            for statement in wrapped:
                con.execute(statement)
    with psycopg.connect(served.dsn(), autocommit=True) as con:
        assert con.execute("SELECT count(*) FROM marts.dim_country WHERE iso3 = 'XXX'").fetchone() == (0,)


def test_copy_to_a_file_cannot_even_be_prepared(served):
    with psycopg.connect(served.dsn(), autocommit=True) as con, pytest.raises(psycopg.errors.SyntaxError):
        con.execute("PREPARE w AS COPY marts.dim_country TO '/tmp/jlac-stolen.csv'")


def test_wrong_password_and_unknown_user_are_refused(served):
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "jlac"'):
        psycopg.connect(served.dsn(password="wrong"))
    # a role not allowed to connect is refused before any password is asked
    with pytest.raises(psycopg.OperationalError, match='no pg_hba.conf entry for host "127.0.0.1", user "intruder"'):
        psycopg.connect(served.dsn(user="intruder"))
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry|password authentication failed"):
        psycopg.connect(served.dsn(dbname="postgres"))


def test_server_settings_for_the_reader(served):
    with psycopg.connect(served.dsn(), autocommit=True) as con:
        assert con.execute("SHOW statement_timeout").fetchone() == ("2min",)
        assert con.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)
        assert con.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert con.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)  # loopback unless configured
        assert con.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
        # unqualified names find the served tables; a BI tool's table picker (Grafana's lists the tables of
        # current_schemas(false)) sees them
        assert con.execute("SHOW search_path").fetchone() == ("marts, figures, meta",)
        assert con.execute("SELECT count(*) > 0 FROM fig1_japan_lac_trade").fetchone() == (True,)
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ANY("
                           "current_schemas(false))").fetchone()[0] >= 20
        row = con.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolconnlimit FROM pg_roles "
                          "WHERE rolname = current_user").fetchone()
        assert row == (False, False, False, 50)
        assert con.execute("SELECT has_database_privilege('jlac', 'CREATE'), has_database_privilege('jlac', 'TEMP'),"
                           " has_schema_privilege('public', 'CREATE'), has_schema_privilege('marts', 'CREATE')"
                           ).fetchone() == (False, False, False, False)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _backend(owner, pid: int):
    return owner.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()


def _quiet(pid: int) -> bool:
    """The backend used (almost) no CPU over half a second."""
    before = _cpu_ticks(pid)
    time.sleep(0.5)
    return _cpu_ticks(pid) - before <= 2


def _run_runaway(con: psycopg.Connection, out: dict) -> None:
    try:
        con.execute(RUNAWAY)
        out["result"] = "finished?!"
    except psycopg.Error as exc:
        out["error"] = exc


@pytest.mark.parametrize("how", ["cancel", "statement_timeout"])
def test_a_runaway_query_really_stops(served, how):
    with psycopg.connect(served.owner_dsn(), autocommit=True) as owner, \
            psycopg.connect(served.dsn(), autocommit=True) as con:
        pid = con.info.backend_pid
        if how == "statement_timeout":
            con.execute("SET statement_timeout = '1500ms'")
        out: dict = {}
        worker = threading.Thread(target=_run_runaway, args=(con, out))
        worker.start()
        wait_for(lambda: (_backend(owner, pid) or ("",))[0] == "active", timeout=20)
        time.sleep(0.5)
        assert not _quiet(pid), "the runaway query should be burning CPU"
        if how == "cancel":
            con.cancel_safe()
        worker.join(timeout=30)
        assert not worker.is_alive()
        expected = "canceling statement due to user request" if how == "cancel" else "statement timeout"
        assert expected in str(out.get("error")), out
        assert wait_for(lambda: _backend(owner, pid)[0] == "idle", timeout=10)
        assert _quiet(pid), "the backend still burns CPU after the query was stopped"
        assert con.execute("SELECT 1").fetchone() == (1,)  # the session is usable again


def _postgres_processes(postmaster: int) -> list[int]:
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == postmaster:
                pids.append(int(entry.name))
    return pids


def _rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _startup_packet() -> bytes:
    body = struct.pack("!I", 196608) + b"user\0jlac\0database\0jlac\0\0"
    return struct.pack("!I", len(body) + 4) + body


def test_unauthenticated_connect_and_reset_cycles_cost_nothing_lasting(served):
    postmaster = int((served.home / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
    time.sleep(0.5)
    procs_before = _postgres_processes(postmaster)
    rss_before = _rss_kb([postmaster])
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", served.port), timeout=5)
        s.sendall(_startup_packet())
        assert s.recv(1) == b"R"  # the server asks for the password (SASL) ...
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # ... and the client resets the connection instead
    # each attempt had its own short-lived backend process; they all go away
    wait_for(lambda: len(_postgres_processes(postmaster)) <= len(procs_before), timeout=30)
    assert _rss_kb([postmaster]) - rss_before < 2048, "the postmaster grew by more than 2 MB"
    with psycopg.connect(served.dsn(), autocommit=True) as con:
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_sixty_concurrent_clients_are_served_or_refused_cleanly(served):
    outcomes: list = []
    lock = threading.Lock()
    start = threading.Barrier(60)

    def client():
        start.wait()
        try:
            with psycopg.connect(served.dsn(), autocommit=True) as con:
                n = con.execute("SELECT count(*), pg_sleep(1) FROM marts.dim_country").fetchone()[0]
                result = ("served", n)
        except psycopg.OperationalError as exc:
            result = ("refused", str(exc))
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=client) for _ in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == 60
    served_n = [n for kind, n in outcomes if kind == "served"]
    refused = [msg for kind, msg in outcomes if kind == "refused"]
    assert len(served_n) >= 40 and len(set(served_n)) == 1
    # refused cleanly: by the role's limit, or (a burst beyond the server's slots) by PostgreSQL's own count
    assert all('too many connections for role "jlac"' in msg or "remaining connection slots are reserved" in msg
               for msg in refused), refused[:3]
    assert len(served_n) + len(refused) == 60
    with psycopg.connect(served.dsn(), autocommit=True) as con:  # and it still serves afterwards
        assert con.execute("SELECT count(*) FROM marts.dim_country").fetchone()[0] == served_n[0]


def test_no_server_files_are_written_by_the_reader(served):
    assert not os.path.exists("/tmp/jlac-stolen.csv")
