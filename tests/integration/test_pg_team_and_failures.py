"""A team's own PostgreSQL (JLAC_POSTGRES_URL) through the publish hook, and failures that lose nothing:
PostgreSQL down, a value PostgreSQL cannot take. Also every mapped DuckDB type, end to end, and TLS.

The "team server" is a real PostgreSQL started here with jlac's cluster code, TLS on (a certificate made here)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from jlac import ledger, publish_hooks
from jlac.config import Settings
from jlac.errors import SettingError
from jlac.ledger import RunRecord
from jlac.publish_hooks import PublishContext
from jlac.publish_hooks import postgres as postgres_hook
from jlac.serving import cluster as pgcluster
from jlac.serving.load import LOCK_KEY, ServingLoadError, catch_up
from jlac.serving.status import serving_status
from jlac.serving.target import ReaderPolicy, reader_drift, setup_reader, team_target
from sqlendpoint import PASSWORD, contract_refresh, reachable_home, remove_home, team_owner_server

pytestmark = pytest.mark.integration


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def team_server():
    """A separate PostgreSQL with TLS; yields its owner URL and port."""
    home = reachable_home()
    cert, key = _self_signed(home)
    cluster = pgcluster.LocalCluster(home / "team")
    config = pgcluster.ServerConfig("127.0.0.1", pgcluster.free_port(), cert, key)
    proc = cluster.start(config, ReaderPolicy(password=PASSWORD))
    try:
        yield cluster.target(config.port).conninfo, config.port
    finally:
        pgcluster.stop(proc)
        remove_home(home)


@pytest.fixture
def team_env(team_server, monkeypatch):
    url, port = team_server
    monkeypatch.setenv("JLAC_POSTGRES_URL", url)
    monkeypatch.setenv("JLAC_SQL_PASSWORD", PASSWORD)
    home = reachable_home()
    settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "snapshots", mirrors=(),
                        output=home / "output")
    yield settings, port
    remove_home(home)


def _publish(settings: Settings, run_id: str, rows: int = 100, extra_sql: str = "", alerts: list | None = None):
    """Publish a generated warehouse and run the real after-publish hooks, as pipeline.refresh does."""
    contract_refresh(settings.warehouse, rows=rows, run_id=run_id, extra_sql=extra_sql)
    ctx = PublishContext(settings, None, settings.warehouse, None)
    return publish_hooks.run_after(ctx, alert=(lambda h, m: alerts.append((h, m))) if alerts is not None else None)


def _reader(port: int, **kw) -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port={port} dbname=jlac user=jlac password={PASSWORD}",
                           autocommit=True, **kw)


def test_team_server_gets_every_publish_and_the_reader_role(team_env):
    settings, port = team_env
    run = f"run-{uuid.uuid4().hex[:6]}"
    [outcome] = [o for o in _publish(settings, run, rows=300) if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message
    assert outcome.details["status"] == "loaded" and outcome.details["version"] == run
    assert outcome.details["rows"] == 300 + 30 + 1  # fct_trade, fig1_trade (30 years), meta.runs
    assert not (settings.home / "postgres").exists()  # no local cluster with a team server
    with _reader(port) as con:
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == (run,)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (300,)
        assert con.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.Error, match="read-only|permission denied"):
            con.execute("DELETE FROM marts.fct_trade")
    # publishing the same warehouse again is a no-op
    assert catch_up(settings.warehouse, team_target()).status == "current"
    status = serving_status(settings)
    assert status.current and status.version == run and "current" in status.line()


def test_tls_when_a_certificate_is_given(team_env):
    _, port = team_env
    with _reader(port, sslmode="require") as con:
        assert con.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)


def test_postgres_down_keeps_the_publish_records_and_alerts(team_env, monkeypatch):
    settings, _ = team_env
    dead = pgcluster.free_port()
    monkeypatch.setenv("JLAC_POSTGRES_URL", f"postgresql://jlac_owner:pw@127.0.0.1:{dead}/jlac")
    alerts: list = []
    [outcome] = [o for o in _publish(settings, "run-while-down", alerts=alerts) if o.hook == "postgres"]
    assert outcome.status == "failed"
    assert f"127.0.0.1:{dead}/jlac as jlac_owner is unreachable" in outcome.message
    assert "pw" not in outcome.message.replace("jlac_owner", "")  # the owner password is never shown
    assert "postgres" in [hook for hook, _ in alerts]  # (the other hooks need a real run record: not given here)
    assert settings.warehouse.exists()  # the DuckDB publish stands
    status = serving_status(settings)
    assert status.error and "unreachable" in status.error


def test_a_refresh_that_publishes_nothing_brings_a_copy_that_missed_a_publish_up_to_date(team_env, monkeypatch):
    """The server was down when run-missed published; the next refresh has nothing new to publish, and its
    catch-up (the same call pipeline.refresh makes on an unchanged plan) loads the copy anyway, once."""
    settings, port = team_env
    url = team_target().conninfo
    monkeypatch.setattr(publish_hooks, "all_hooks", lambda: [postgres_hook.HOOK])  # the hook under test alone
    assert _publish(settings, "run-served", rows=200)[0].status == "ok"
    monkeypatch.setenv("JLAC_POSTGRES_URL", f"postgresql://jlac_owner:pw@127.0.0.1:{pgcluster.free_port()}/jlac")
    outcomes = _publish(settings, "run-missed", rows=400)
    assert [o.status for o in outcomes if o.hook == "postgres"] == ["failed"]
    ledger.append(settings.run_ledger, RunRecord(run_id="run-missed", status="completed",
                                                 hooks=[o.__dict__ for o in outcomes]))
    with _reader(port) as con:
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-served",)

    monkeypatch.setenv("JLAC_POSTGRES_URL", url)  # the server is back
    record = RunRecord(run_id="run-unchanged")
    [caught] = publish_hooks.catch_up(settings, record, alert=lambda h, m: pytest.fail(m))
    assert (caught.hook, caught.status, caught.details["version"]) == ("postgres", "ok", "run-missed")
    assert record.hooks_for == "run-missed"
    with _reader(port) as con:
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-missed",)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (400,)
    record.hooks = [caught.__dict__]
    ledger.append(settings.run_ledger, record)
    # caught up: the next refresh's check finds the copy current, one query, nothing loaded
    [again] = publish_hooks.catch_up(settings, RunRecord(run_id="run-later"))
    assert (again.status, again.details["status"]) == ("ok", "current")
    # a copy emptied on the team's server (a restore, a DBA's DROP) while nothing new is published is loaded again by
    # the next refresh; the ledger said the hook was done, and it never ran again (found by a QA pass)
    with psycopg.connect(url, autocommit=True) as owner:
        owner.execute("DROP TABLE meta.serving_copy")
    [reloaded] = publish_hooks.catch_up(settings, RunRecord(run_id="run-after-restore"))
    assert (reloaded.status, reloaded.details["status"], reloaded.details["version"]) == ("ok", "loaded", "run-missed")
    with _reader(port) as con:
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-missed",)


def test_a_value_postgres_cannot_take_leaves_the_previous_copy_whole(team_env):
    settings, port = team_env
    [ok] = [o for o in _publish(settings, "run-good", rows=500) if o.hook == "postgres"]
    assert ok.status == "ok", ok.message
    # PostgreSQL text cannot hold a NUL character; DuckDB's VARCHAR can
    bad_sql = "CREATE TABLE marts.dim_note AS SELECT 'MEX' AS iso3, 'a' || chr(0) || 'b' AS note"
    alerts: list = []
    [bad] = [o for o in _publish(settings, "run-bad", rows=700, extra_sql=bad_sql, alerts=alerts)
             if o.hook == "postgres"]
    assert bad.status == "failed"
    assert "PostgreSQL refused marts.dim_note from the published warehouse" in bad.message
    assert "0x00" in bad.message and "line 1" in bad.message
    assert "NUL characters in column note: 1 row(s)" in bad.message
    assert alerts
    with _reader(port) as con:  # the copy is still the previous version, all of it
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-good",)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (500,)
        assert con.execute("SELECT to_regclass('marts.dim_note')").fetchone() == (None,)
        assert con.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'jlac_load_%'").fetchone() == (0,)
    status = serving_status(settings)
    assert not status.current and status.version == "run-good" and status.published == "run-bad"
    assert "BEHIND" in status.line() and status.lag_s >= 0
    # the next refresh catches up
    [fixed] = [o for o in _publish(settings, "run-fixed", rows=900) if o.hook == "postgres"]
    assert fixed.status == "ok" and fixed.details["previous"] == "run-good"
    with _reader(port) as con:
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-fixed",)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (900,)


VIEW_SQL = """
CREATE VIEW marts.fct_trade_by_year AS SELECT year, count(*) AS n_rows, sum(value_usd) AS value_usd
  FROM marts.fct_trade GROUP BY year;
COMMENT ON VIEW marts.fct_trade_by_year IS 'Generated trade per year (a view, as the HS-9 facts are)';
COMMENT ON COLUMN marts.fct_trade_by_year.n_rows IS 'Rows of the year'
"""


def test_views_are_served_as_tables_and_jlac_sql_skip_leaves_relations_out(team_env, monkeypatch):
    settings, port = team_env
    [outcome] = [o for o in _publish(settings, "run-views", rows=300, extra_sql=VIEW_SQL) if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message
    assert outcome.details["rows"] == 300 + 30 + 30 + 1  # fct_trade, fig1_trade, the view's 30 years, meta.runs
    with _reader(port) as con:
        assert con.execute("SELECT relkind FROM pg_class WHERE oid = 'marts.fct_trade_by_year'::regclass"
                           ).fetchone() == ("r",)  # the view's rows, as a table
        assert con.execute("SELECT sum(n_rows), count(*) FROM marts.fct_trade_by_year").fetchone() == (300, 30)
        assert con.execute("SELECT obj_description('marts.fct_trade_by_year'::regclass, 'pg_class'), "
                           "col_description('marts.fct_trade_by_year'::regclass, 2)").fetchone() == (
            "Generated trade per year (a view, as the HS-9 facts are)", "Rows of the year")
        assert con.execute("SELECT left_out FROM meta.serving_copy").fetchone() == ("",)

    # leaving a relation out reloads the copy of the same run without it, and says so in meta.serving_copy
    monkeypatch.setenv("JLAC_SQL_SKIP", "marts.fct_trade_by_year")
    result = catch_up(settings.warehouse, team_target())
    assert (result.status, result.version, result.tables) == ("loaded", "run-views", 3)
    with _reader(port) as con:
        assert con.execute("SELECT to_regclass('marts.fct_trade_by_year')").fetchone() == (None,)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (300,)
        assert con.execute("SELECT run_id, left_out FROM meta.serving_copy").fetchone() == (
            "run-views", "marts.fct_trade_by_year")
    assert catch_up(settings.warehouse, team_target()).status == "current"

    # a name the warehouse does not serve is refused, naming it; the copy stays as it was
    monkeypatch.setenv("JLAC_SQL_SKIP", "marts.fct_trade_by_year, marts.fct_trade_by_yaer")
    with pytest.raises(SettingError, match=r"JLAC_SQL_SKIP=.*marts\.fct_trade_by_yaer is not a table or view"):
        catch_up(settings.warehouse, team_target())
    with _reader(port) as con:
        assert con.execute("SELECT left_out FROM meta.serving_copy").fetchone() == ("marts.fct_trade_by_year",)


FIXED_SQL = """
CREATE TABLE marts.dim_fixed AS SELECT range AS id, 'code ' || range AS code FROM range(1000);
COMMENT ON TABLE marts.dim_fixed IS '{comment}'
"""


def test_a_table_whose_content_did_not_change_is_kept_not_copied_again(team_env):
    settings, port = team_env
    first = [o for o in _publish(settings, "run-k1", rows=200, extra_sql=FIXED_SQL.format(comment="Fixed codes"))
             if o.hook == "postgres"][0]
    assert first.status == "ok", first.message
    assert (first.details["rows"], first.details["kept"]) == (200 + 30 + 1000 + 1, 0)
    # the next publish: new trade rows and a new run; dim_fixed the same
    second = [o for o in _publish(settings, "run-k2", rows=300, extra_sql=FIXED_SQL.format(comment="Fixed codes"))
              if o.hook == "postgres"][0]
    assert second.status == "ok", second.message
    assert (second.details["rows"], second.details["kept"], second.details["tables"]) == (300 + 30 + 1, 1, 4)
    with _reader(port) as con:  # the kept table is served whole, with its comment, by the reader role
        assert con.execute("SELECT count(*), max(code) FROM marts.dim_fixed").fetchone() == (1000, "code 999")
        assert con.execute("SELECT obj_description('marts.dim_fixed'::regclass, 'pg_class')").fetchone() == (
            "Fixed codes",)
        assert con.execute("SELECT run_id, kept FROM meta.serving_copy").fetchone() == ("run-k2", 1)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (300,)
        assert con.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'jlac_load_%'").fetchone() == (0,)
    # a new comment is a change of what is served: copied again
    third = [o for o in _publish(settings, "run-k3", rows=300, extra_sql=FIXED_SQL.format(comment="Fixed codes, v2"))
             if o.hook == "postgres"][0]
    assert third.status == "ok" and third.details["kept"] == 0, third.details
    with _reader(port) as con:
        assert con.execute("SELECT obj_description('marts.dim_fixed'::regclass, 'pg_class')").fetchone() == (
            "Fixed codes, v2",)
    # forced, nothing is kept
    assert catch_up(settings.warehouse, team_target(), force=True).kept == 0


def test_a_view_whose_partitions_are_gone_names_itself_and_leaves_the_copy_whole(team_env):
    settings, port = team_env
    part = settings.home / "part.parquet"
    view_sql = (f"COPY (SELECT 2018 AS year, 1.5 AS value_usd) TO '{part}' (FORMAT parquet); "
                f"CREATE VIEW marts.fct_parts AS SELECT * FROM read_parquet('{part}')")
    [ok] = [o for o in _publish(settings, "run-parts", rows=40, extra_sql=view_sql) if o.hook == "postgres"]
    assert ok.status == "ok", ok.message
    contract_refresh(settings.warehouse, rows=60, run_id="run-parts-gone", extra_sql=view_sql)
    part.unlink()  # as when the warehouse moved without its cache/
    alerts: list = []
    [bad] = [o for o in publish_hooks.run_after(PublishContext(settings, None, settings.warehouse, None),
                                                alert=lambda h, m: alerts.append((h, m))) if o.hook == "postgres"]
    assert bad.status == "failed" and alerts
    assert "marts.fct_parts cannot be read from the published warehouse (a view)" in bad.message
    assert str(part) in bad.message
    with _reader(port) as con:  # the copy of the first run, its rows of the view included
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-parts",)
        assert con.execute("SELECT year, value_usd FROM marts.fct_parts").fetchone() == (2018, Decimal("1.5"))
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (40,)


ALL_TYPES = """
CREATE TYPE mood AS ENUM ('low', 'high');
CREATE TABLE marts.every_type AS SELECT
  true AS b, 1::TINYINT AS i1, 2::SMALLINT AS i2, 3::INTEGER AS i4, 4::BIGINT AS i8,
  170141183460469231731687303715884105727::HUGEINT AS i16, 255::UTINYINT AS u1, 65535::USMALLINT AS u2,
  4294967295::UINTEGER AS u4, 18446744073709551615::UBIGINT AS u8, 1.5::FLOAT AS f4, 'inf'::DOUBLE AS f8,
  'nan'::DOUBLE AS f8nan, 123.45::DECIMAL(10,2) AS dec, '' AS empty, NULL::VARCHAR AS nothing,
  'quote " comma , newline
 end' AS tricky, '\\xDE\\xAD'::BLOB AS bin, DATE '2018-12-31' AS d, TIME '12:30:00' AS t,
  TIMESTAMP '2018-12-31 23:59:59.5' AS ts, TIMESTAMPTZ '2018-12-31 23:59:59+00' AS tstz,
  INTERVAL 14 MONTH AS iv, 'a3bb189e-8bf9-3888-9912-ace4e6543002'::UUID AS id, '{"a": [1, 2]}'::JSON AS js,
  ['x', 'y'] AS list, {'k': 1, 'v': 'w'} AS struct, MAP {'a': 1} AS map, 'high'::mood AS enum
"""


def test_every_mapped_type_arrives_with_its_value(team_env):
    settings, port = team_env
    [outcome] = [o for o in _publish(settings, "run-types", rows=1, extra_sql=ALL_TYPES) if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message
    with _reader(port) as con:
        cur = con.execute("SELECT * FROM marts.every_type")
        row = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
        types = dict(con.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                                 "WHERE attrelid = 'marts.every_type'::regclass AND attnum > 0").fetchall())
    assert row["b"] is True and (row["i1"], row["i2"], row["i4"], row["i8"]) == (1, 2, 3, 4)
    assert row["i16"] == Decimal("170141183460469231731687303715884105727")
    assert (row["u1"], row["u2"], row["u4"], row["u8"]) == (255, 65535, 4294967295, Decimal("18446744073709551615"))
    assert row["f4"] == 1.5 and row["f8"] == float("inf") and row["f8nan"] != row["f8nan"]
    assert row["dec"] == Decimal("123.45") and types["dec"] == "numeric(10,2)"
    assert row["empty"] == "" and row["nothing"] is None
    assert row["tricky"] == 'quote " comma , newline\n end'
    assert row["bin"] == b"\xde\xad"
    assert row["d"] == dt.date(2018, 12, 31) and row["t"] == dt.time(12, 30)
    assert row["ts"] == dt.datetime(2018, 12, 31, 23, 59, 59, 500000)
    assert row["tstz"] == dt.datetime(2018, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert types["tstz"] == "timestamp with time zone" and types["iv"] == "interval"
    assert str(row["id"]) == "a3bb189e-8bf9-3888-9912-ace4e6543002"
    assert row["js"] == {"a": [1, 2]} and types["js"] == "jsonb"
    assert row["list"] == ["x", "y"] and row["struct"] == {"k": 1, "v": "w"}
    assert json.dumps(row["map"]) in ('{"a": 1}', '[{"key": "a", "value": 1}]')
    assert row["enum"] == "high" and types["enum"] == "text"


def test_a_reader_holding_the_old_tables_too_long_makes_the_swap_give_up_not_stall(team_env):
    settings, port = team_env
    [ok] = [o for o in _publish(settings, "run-held", rows=50) if o.hook == "postgres"]
    assert ok.status == "ok", ok.message
    contract_refresh(settings.warehouse, rows=60, run_id="run-waiting")
    with _reader(port) as holder:
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        assert holder.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (50,)
        assert holder.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-held",)  # a 2nd table
        started = time.monotonic()
        with pytest.raises(ServingLoadError, match="readers kept the served tables busy for more than 2 s") as exc:
            catch_up(settings.warehouse, team_target(), lock_timeout="300ms", swap_wait_s=2)
        assert time.monotonic() - started < 30
        # named once, not once per table it holds (a QA pass: the same pid four times in the message)
        assert str(exc.value).count(f"pid {holder.info.backend_pid} ") == 1, str(exc.value)
        # other readers were served meanwhile, and the holder still has its snapshot
        with _reader(port) as other:
            assert other.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-held",)
        assert holder.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (50,)
        holder.execute("COMMIT")
    assert catch_up(settings.warehouse, team_target()).version == "run-waiting"


# --- what one reader session must not be able to do to the others (found by exploring the endpoint as a client) --

def _dead(con: psycopg.Connection) -> bool:
    try:
        con.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_a_reader_holding_the_loaders_lock_is_disconnected_not_waited_for(team_env):
    settings, port = team_env
    contract_refresh(settings.warehouse, rows=40, run_id="run-squatted")
    with _reader(port) as squatter:
        # any role may call pg_advisory_lock: this held every load, and the refresh's hook, for as long as it liked
        squatter.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        started = time.monotonic()
        assert catch_up(settings.warehouse, team_target()).version == "run-squatted"
        assert time.monotonic() - started < 30
        assert _dead(squatter)


def test_a_reader_past_its_limits_is_disconnected_at_the_swap(team_env, monkeypatch):
    settings, port = team_env
    [ok] = [o for o in _publish(settings, "run-idle", rows=20) if o.hook == "postgres"]
    assert ok.status == "ok", ok.message
    contract_refresh(settings.warehouse, rows=30, run_id="run-after-idle")
    monkeypatch.setenv("JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT", "1s")  # the role's limit the swap enforces
    try:
        with _reader(port) as holder:
            holder.execute("SET idle_in_transaction_session_timeout = 0")  # a session may lift its own limit...
            holder.execute("BEGIN")
            assert holder.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (20,)
            time.sleep(1.5)  # ... and stay idle in its transaction past the role's
            result = catch_up(settings.warehouse, team_target(), lock_timeout="300ms", swap_wait_s=2)
            assert result.version == "run-after-idle" and _dead(holder)
        with _reader(port) as other:
            assert other.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (30,)
    finally:
        monkeypatch.delenv("JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT")
        with psycopg.connect(team_target().conninfo, autocommit=True) as owner:
            setup_reader(owner, ReaderPolicy.from_env())


def test_readers_within_their_limits_are_disconnected_once_the_copy_is_stale(team_env, monkeypatch, caplog):
    """Found by a QA pass: readers within every limit taking turns on the tables (a dashboard polling beside a slow
    extract) held a publish off for as long as they ran, each attempt giving up after its wait. Once the copy has
    lagged the published warehouse past JLAC_SQL_MAX_STALE, the swap disconnects them."""
    settings, port = team_env
    [ok] = [o for o in _publish(settings, "run-stale-1", rows=20) if o.hook == "postgres"]
    assert ok.status == "ok", ok.message
    contract_refresh(settings.warehouse, rows=30, run_id="run-stale-2")
    hour_ago = time.time() - 3600
    os.utime(settings.warehouse, (hour_ago, hour_ago))  # published an hour ago, the copy still the run before
    monkeypatch.setenv("JLAC_SQL_MAX_STALE", "30min")
    with _reader(port) as holder:  # within every limit: its transaction is seconds old
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        assert holder.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (20,)
        with caplog.at_level(logging.WARNING, logger="jlac.serving.load"):
            result = catch_up(settings.warehouse, team_target(), lock_timeout="300ms", swap_wait_s=2)
        assert result.version == "run-stale-2" and _dead(holder)
    assert "past JLAC_SQL_MAX_STALE (30min)" in caplog.text, caplog.text
    with _reader(port) as other:
        assert other.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (30,)


def test_a_session_changing_the_reader_role_is_found_and_put_back(team_env):
    settings, port = team_env
    policy = ReaderPolicy.from_env()
    with psycopg.connect(team_target().conninfo, autocommit=True) as owner:
        setup_reader(owner, policy)
        assert reader_drift(owner, policy) == []
        with _reader(port) as rogue:  # every role may do this to itself, read-only default or not
            rogue.execute("SET default_transaction_read_only = off")
            rogue.execute("ALTER ROLE jlac SET statement_timeout = 0")
            rogue.execute("ALTER ROLE jlac SET search_path = public")
            rogue.execute("ALTER ROLE jlac IN DATABASE jlac SET idle_in_transaction_session_timeout = 0")
            rogue.execute("ALTER ROLE jlac PASSWORD 'mine-now'")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _reader(port)  # the other analysts are locked out
        assert reader_drift(owner, policy) == ["idle_in_transaction_session_timeout=0 for database jlac",
                                               "statement_timeout=0", "search_path=public", "its password"]
        setup_reader(owner, policy)
        assert reader_drift(owner, policy) == []
    with _reader(port) as back:
        assert back.execute("SHOW statement_timeout").fetchone() == ("2min",)
        assert back.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)
        assert back.execute("SHOW search_path").fetchone() == ("marts, figures, meta",)


def test_the_owner_cannot_be_made_the_reader(team_env, monkeypatch):
    monkeypatch.setenv("JLAC_SQL_USER", pgcluster.OWNER)
    with psycopg.connect(team_target().conninfo, autocommit=True) as owner, \
            pytest.raises(SettingError, match=f"JLAC_SQL_USER='{pgcluster.OWNER}' is the owner role jlac loads"):
        setup_reader(owner, ReaderPolicy.from_env())


def test_a_one_column_table_holding_backslash_dot_is_served_whole(team_env):
    """'\\.' alone on a line ends the data of a CSV COPY: in a table of one column it cut the copy short, silently."""
    settings, port = team_env
    notes = "CREATE TABLE marts.notes AS SELECT * FROM (VALUES ('a'), ('\\.'), ('b'), (NULL), ('')) AS v(note)"
    [outcome] = [o for o in _publish(settings, "run-notes", rows=100, extra_sql=notes) if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message
    with _reader(port) as con:
        assert con.execute("SELECT note FROM marts.notes ORDER BY note NULLS LAST").fetchall() == [
            ("",), ("\\.",), ("a",), ("b",), (None,)]


def test_a_transaction_begun_before_a_publish_reads_one_whole_copy(team_env):
    """A REPEATABLE READ transaction open across a swap (as BI tools hold one): the tables it reads afterwards and
    meta.serving_copy name the same run, never an empty serving_copy beside new rows."""
    settings, port = team_env
    [first] = [o for o in _publish(settings, "run-rr-1", rows=200) if o.hook == "postgres"]
    assert first.status == "ok", first.message
    with _reader(port) as con:
        con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        con.execute("SELECT 1")  # the snapshot is taken; no served table touched (nothing to wait for at the swap)
        [second] = [o for o in _publish(settings, "run-rr-2", rows=400) if o.hook == "postgres"]
        assert second.status == "ok", second.message
        seen = (con.execute("SELECT run_id FROM meta.serving_copy").fetchall(),
                con.execute("SELECT count(*) FROM marts.fct_trade").fetchone()[0])
        con.execute("COMMIT")
    assert seen in (([("run-rr-1",)], 200), ([("run-rr-2",)], 400)), seen


def test_blocking_sessions_are_timed_by_the_clock_inside_the_loads_transaction(team_env, team_server):
    """The durations the swap judges readers by grow while the load's transaction waits (now() would not)."""
    from jlac.serving.load import _blockers

    settings, _ = team_env
    [outcome] = [o for o in _publish(settings, "run-clock", rows=100) if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message
    url, port = team_server
    with _reader(port) as reader, psycopg.connect(url, autocommit=True) as owner:
        tables = [r[0] for r in owner.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'marts'").fetchall()]
        assert tables
        reader.execute("BEGIN")
        reader.execute(f"SELECT count(*) FROM {tables[0]}")  # holds a lock until it ends
        with owner.transaction():
            [first] = [b for b in _blockers(owner, tables) if b[1] == "jlac"]
            time.sleep(1.5)
            [later] = [b for b in _blockers(owner, tables) if b[1] == "jlac"]
        reader.execute("ROLLBACK")
    assert first[3] == "idle in transaction" and first[4] >= 0
    assert later[4] - first[4] >= 1.4, (first, later)


def test_new_sessions_querying_during_swaps_never_see_an_error(team_env):
    """Seen once in CI: a reader's first query during a swap failed with "schema with OID ... does not exist" (the
    swap dropped the served schemas and renamed the staged ones into their place; a query that had just looked a
    schema up by name found its OID gone). The swap keeps the schemas now and moves tables. The race's window is
    microseconds (this loop did not hit it with the old swap in 3 runs): it guards the new swap. New sessions, each
    asking for the served run, while the copy is swapped again and again: every answer is a run id, never an error."""
    import threading

    settings, port = team_env
    contract_refresh(settings.warehouse, rows=50, run_id="run-0")
    catch_up(settings.warehouse, team_target())
    errors, answers, stop = [], [], threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                with _reader(port) as con:
                    answers.append(con.execute("SELECT run_id FROM meta.serving_copy").fetchone()[0])
            except psycopg.Error as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    readers = [threading.Thread(target=ask) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for i in range(1, 9):
            contract_refresh(settings.warehouse, rows=50 + i, run_id=f"run-{i}")
            assert catch_up(settings.warehouse, team_target(), force=True).version == f"run-{i}"
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == [] and len(answers) > 50, (errors[:3], len(answers))
    assert set(answers) <= {f"run-{i}" for i in range(9)} and answers[-1] == "run-8"


# --- found by a QA pass: a reader holding its role, non-superuser owners, durations, settings elsewhere, values --

def test_a_reader_holding_its_own_role_locked_neither_stalls_a_load_nor_keeps_its_password(team_env):
    """A reader session writes to its own role in a transaction it keeps open: every ALTER ROLE of the owner waited
    for it (147 s seen; as long as the session lives), and the refresh's hook waited behind the loaders' lock."""
    from concurrent.futures import ThreadPoolExecutor, TimeoutError

    settings, port = team_env
    with psycopg.connect(team_target().conninfo, autocommit=True) as owner:
        setup_reader(owner, ReaderPolicy.from_env())  # the reader exists, with the shared password
    contract_refresh(settings.warehouse, rows=25, run_id="run-role-held")
    with _reader(port) as rogue, ThreadPoolExecutor(1) as pool:
        rogue.execute("SET default_transaction_read_only = off")
        rogue.execute("SET idle_in_transaction_session_timeout = 0")  # a session may lift its own limits
        rogue.execute("BEGIN")
        rogue.execute("ALTER ROLE jlac PASSWORD 'zzz'")  # the role's row is locked until this transaction ends
        load = pool.submit(catch_up, settings.warehouse, team_target(), force=True)
        try:
            result = load.result(timeout=30)
        except TimeoutError:
            rogue.execute("ROLLBACK")  # let the stalled load end, then fail
            load.result()
            pytest.fail("the load waited for the reader's transaction on its own role")
        assert result.version == "run-role-held"
        assert _dead(rogue)  # disconnected: its new password never committed
    with _reader(port) as con:  # the shared password still works
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (25,)


def test_a_team_owner_without_superuser_loads_and_names_the_revoke_a_superuser_must_run(monkeypatch):
    """Documented: owning the database and CREATEROLE are enough. But NOSUPERUSER/NOREPLICATION/NOBYPASSRLS in ALTER
    ROLE need a superuser ("must be superuser to alter superuser roles or change superuser attribute"), and the owner's
    REVOKE on the large-object functions only warned "no privileges could be revoked": the reader kept them."""
    import re

    from jlac.serving.target import LO_WRITERS

    with team_owner_server(monkeypatch) as (admin, home, port):
        warehouse = home / "jlac.duckdb"
        contract_refresh(warehouse, rows=40, run_id="run-team-owner")
        with pytest.raises(SettingError) as refused:
            catch_up(warehouse, team_target())
        said = str(refused.value)
        assert "the reader role jlac could create large objects in database jlac" in said
        assert "team_owner is not one" in said
        assert "pg_catalog.lo_from_bytea(oid, bytea)" in said
        revoke = re.search(r"run once: (REVOKE EXECUTE ON FUNCTION .* FROM PUBLIC);", said).group(1)
        admin.execute(revoke)  # what the message tells a superuser to run

        result = catch_up(warehouse, team_target())
        assert (result.status, result.version) == ("loaded", "run-team-owner")
        assert admin.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
                             "rolinherit FROM pg_roles WHERE rolname = 'jlac'").fetchone() == (False,) * 6
        assert not any(admin.execute("SELECT has_function_privilege('jlac', %s, 'EXECUTE')",
                                     [f"pg_catalog.{f}"]).fetchone()[0] for f in LO_WRITERS)
        with _reader(port) as reader:
            assert reader.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (40,)
            reader.execute("SET default_transaction_read_only = off")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute("SELECT lo_from_bytea(0, 'x')")


def test_durations_without_a_unit_are_seconds_in_postgresql_too(team_env, monkeypatch):
    """JLAC_SQL_STATEMENT_TIMEOUT=120 was 120 ms in PostgreSQL (its unit for a bare number) and 120 s in jlac's own
    checks of the readers (which evict by it)."""
    from jlac.serving.load import _seconds

    _, port = team_env
    monkeypatch.setenv("JLAC_SQL_STATEMENT_TIMEOUT", "120")
    monkeypatch.setenv("JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT", "60")
    policy = ReaderPolicy.from_env()
    try:
        with psycopg.connect(team_target().conninfo, autocommit=True) as owner:
            setup_reader(owner, policy)
            assert reader_drift(owner, policy) == []
            assert (_seconds(owner, policy.statement_timeout), _seconds(owner, policy.idle_in_transaction_timeout)) \
                == (120, 60)
        with _reader(port) as con:
            assert con.execute("SHOW statement_timeout").fetchone() == ("2min",)
            assert con.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)
    finally:
        monkeypatch.delenv("JLAC_SQL_STATEMENT_TIMEOUT")
        monkeypatch.delenv("JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT")
        with psycopg.connect(team_target().conninfo, autocommit=True) as owner:
            setup_reader(owner, ReaderPolicy.from_env())


def test_reader_settings_for_other_databases_are_put_back_not_alerted_forever(team_env):
    """reader_drift reported the role's settings in every database, setup_reader reset them in jlac's only: serve-sql
    alerted "put back" every 10 s while they stayed."""
    _, port = team_env
    policy = ReaderPolicy.from_env()
    with psycopg.connect(team_target().conninfo, autocommit=True) as owner:
        setup_reader(owner, policy)
        with _reader(port) as rogue:
            rogue.execute("SET default_transaction_read_only = off")
            rogue.execute("ALTER ROLE jlac IN DATABASE postgres SET work_mem = '1MB'")
            rogue.execute("ALTER ROLE jlac IN DATABASE template1 SET statement_timeout = 0")
        assert reader_drift(owner, policy) == ["work_mem=1MB for database postgres",
                                               "statement_timeout=0 for database template1"]
        setup_reader(owner, policy)
        assert reader_drift(owner, policy) == []
        assert owner.execute("SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                             "WHERE r.rolname = 'jlac' AND s.setdatabase <> 0").fetchone() == (0,)


NESTED_FLOATS = """
CREATE TABLE marts.nested_floats AS SELECT [1.0, NULL, 'NaN'::DOUBLE, 'inf'::DOUBLE] AS l,
  {'a': '-inf'::FLOAT, 'b': 'x', 'c': [2.5, 'nan'::DOUBLE]} AS s, MAP {'k': 'nan'::DOUBLE, 'j': 1.5} AS m,
  NULL::STRUCT(a DOUBLE) AS nothing, 'nan'::DOUBLE AS plain
"""


def test_nan_and_infinity_inside_nested_values_arrive_as_json_null(team_env):
    """DuckDB's JSON of [1.0, NULL, NaN] is the bare word NaN, which jsonb refuses: the whole load failed."""
    settings, port = team_env
    [outcome] = [o for o in _publish(settings, "run-nan", rows=10, extra_sql=NESTED_FLOATS) if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message
    with _reader(port) as con:
        row = con.execute("SELECT l, s, m, nothing, plain FROM marts.nested_floats").fetchone()
    assert row[0] == [1.0, None, None, None]
    assert row[1] == {"a": None, "b": "x", "c": [2.5, None]}
    assert row[2] in ({"k": None, "j": 1.5}, [{"key": "k", "value": None}, {"key": "j", "value": 1.5}])
    assert row[3] is None
    assert row[4] != row[4]  # a DOUBLE column keeps its NaN


def test_two_column_names_postgresql_would_cut_to_one_are_refused_naming_table_and_columns(team_env):
    settings, port = team_env
    first, second = "c" * 70 + "1", "c" * 70 + "2"
    clash = f'CREATE TABLE figures.longcols ("{first}" INTEGER, "{second}" INTEGER)'
    [outcome] = [o for o in _publish(settings, "run-long", rows=10, extra_sql=clash) if o.hook == "postgres"]
    assert outcome.status == "failed"
    assert f"columns {first!r} and {second!r} of figures.longcols" in outcome.message
    assert "first 63 bytes" in outcome.message


def test_a_published_file_held_open_for_writing_is_still_loaded_and_reported(team_env):
    """A BI tool holding the DuckDB file open read-write: catch_up (serve-sql, the hook) and jlac status failed with
    "Could not set lock on file", and serve-sql alerted "serving copy not updated" about a current copy."""
    import subprocess
    import sys

    settings, port = team_env
    [ok] = [o for o in _publish(settings, "run-before-lock", rows=10) if o.hook == "postgres"]
    assert ok.status == "ok", ok.message
    contract_refresh(settings.warehouse, rows=70, run_id="run-locked")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); sys.stdin.read()", str(settings.warehouse)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = catch_up(settings.warehouse, team_target())
        assert (result.status, result.version) == ("loaded", "run-locked")
        assert catch_up(settings.warehouse, team_target()).status == "current"
        status = serving_status(settings)
        assert status.current and status.published == "run-locked", status.line()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with _reader(port) as con:
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (70,)
    assert not list(settings.home.glob(".jlac-serving-read-*"))  # the byte copy is gone


# --- found by a QA pass: deadlocks at the swap, accented letters, the NOTIFY queue ---------------------------------

def _served_tables(owner: psycopg.Connection) -> list[str]:
    """The served tables in the order the swap lists them (its own query), quoted."""
    from jlac.serving.target import SCHEMAS
    from psycopg import sql

    return [sql.Identifier(*name).as_string(owner) for name in owner.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)", [list(SCHEMAS)]).fetchall()]


def test_a_reader_taking_the_tables_in_another_order_than_the_swap_is_not_a_deadlock_victim(team_env):
    """The swap's one LOCK TABLE of every served table took them in turn, holding the first while it waited for a
    later one: a reader holding that later one and asking for the first waited for the swap, which waited for it,
    and PostgreSQL aborted the reader: "deadlock detected" (14 of 460,000 BI join queries across 4 publishes)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlendpoint import wait_for

    settings, port = team_env
    [ok] = [o for o in _publish(settings, "run-order-1", rows=50) if o.hook == "postgres"]
    assert ok.status == "ok", ok.message
    contract_refresh(settings.warehouse, rows=60, run_id="run-order-2")
    with psycopg.connect(team_target().conninfo, autocommit=True) as owner, _reader(port) as holder, \
            _reader(port) as crosser, ThreadPoolExecutor(2) as pool:
        tables = _served_tables(owner)
        first, second, last = tables[0], tables[1], tables[-1]
        assert len({first, second, last}) == 3, tables

        def waiting(pid: int | None = None) -> bool:
            """Whether session ``pid`` (default: the swap, for an ACCESS EXCLUSIVE lock) waits for a served table."""
            who = "pid = %s" if pid else "mode = 'AccessExclusiveLock' AND %s::int IS NULL"
            return owner.execute(f"SELECT count(*) FROM pg_locks WHERE NOT granted AND "
                                 f"relation = ANY(%s::regclass[]) AND {who}", [tables, pid]).fetchone()[0] > 0

        holder.execute("BEGIN")
        holder.execute(f"SELECT count(*) FROM {second}")  # keeps the swap waiting (before: while it held `first`)
        crosser_pid = crosser.info.backend_pid
        crosser.execute("BEGIN")
        crosser.execute(f"SELECT count(*) FROM {last}")
        load = pool.submit(catch_up, settings.warehouse, team_target(), lock_timeout="5s")
        wait_for(waiting, timeout=30, every=0.05)
        crossing = pool.submit(lambda: crosser.execute(f"SELECT count(*) FROM {first}").fetchone())
        wait_for(lambda: crossing.done() or waiting(crosser_pid), timeout=10, every=0.02)
        holder.execute("COMMIT")  # the swap goes on to `last`, which the crossing reader holds
        assert crossing.result(timeout=30)[0] > 0  # was: psycopg.errors.DeadlockDetected
        crosser.execute("COMMIT")
        assert load.result(timeout=60).version == "run-order-2"


def test_join_queries_during_swaps_never_fail(team_env):
    """BI joins in both table orders and REPEATABLE READ transactions, in threads, across forced swaps: every query
    answers, none is aborted as a deadlock victim, and every swap gets through."""
    import threading

    settings, port = team_env
    contract_refresh(settings.warehouse, rows=200, run_id="run-joins")
    catch_up(settings.warehouse, team_target())
    joins = ["SELECT f.year, count(*) FROM figures.fig1_trade f JOIN marts.fct_trade t USING (year) GROUP BY 1",
             "SELECT r.run_id, count(*) FROM meta.runs r CROSS JOIN marts.fct_trade t GROUP BY 1",
             "SELECT count(*) FROM marts.fct_trade t JOIN figures.fig1_trade f USING (year) CROSS JOIN meta.runs"]
    errors, answered, stop = [], [0], threading.Event()

    def ask(n: int) -> None:
        with _reader(port) as con:
            while not stop.is_set():
                try:
                    if n == len(joins):
                        with con.transaction():
                            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                            for table in ("meta.runs", "figures.fig1_trade", "marts.fct_trade"):
                                con.execute(f"SELECT count(*) FROM {table}").fetchone()
                    else:
                        con.execute(joins[n]).fetchall()
                    answered[0] += 1
                except psycopg.Error as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")

    readers = [threading.Thread(target=ask, args=(n,)) for n in range(len(joins) + 1)]
    for t in readers:
        t.start()
    started = time.monotonic()
    try:
        results = [catch_up(settings.warehouse, team_target(), force=True).status for _ in range(4)]
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == [] and answered[0] > 100, (errors[:3], answered)
    assert results == ["loaded"] * 4 and time.monotonic() - started < 60


def test_upper_lower_and_ilike_change_accented_letters_as_duckdb_does(team_env):
    """The cluster was made with ctype C: upper('Curaçao') was 'CURAçAO' and ILIKE '%CURAÇAO%' found nothing, where
    DuckDB finds it. Sorting stays byte order, as DuckDB's."""
    import duckdb

    settings, port = team_env
    places = ("CREATE TABLE marts.places AS SELECT * FROM (VALUES ('Curaçao'), ('CURAÇAO'), ('São Tomé'), "
              "('Réunion'), ('Åland'), ('zebra'), ('Zebra')) AS v(name)")
    [outcome] = [o for o in _publish(settings, "run-accents", rows=10, extra_sql=places) if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message
    query = ("SELECT name, upper(name), lower(name), name ILIKE '%curaçao%', name ILIKE '%SÃO TOMÉ%' "
             "FROM marts.places ORDER BY name")
    with duckdb.connect(str(settings.warehouse), read_only=True) as duck:
        expected = duck.execute(query).fetchall()
    with _reader(port) as con:
        served = con.execute(query).fetchall()
        found = con.execute("SELECT count(*) FROM marts.places WHERE name ILIKE '%CURAÇAO%'").fetchone()[0]
    assert served == expected and found == 2
    assert [name for name, *_ in served][:2] == ["CURAÇAO", "Curaçao"]  # byte order: upper case first
    from jlac.serving.cluster import ctype_note

    with psycopg.connect(team_target().conninfo) as owner:
        assert ctype_note(owner, settings.home / "postgres") is None  # serve-sql's log has nothing to say


def test_a_listener_idle_in_its_transaction_while_the_notify_queue_fills_is_disconnected(team_env, monkeypatch):
    """NOTIFY is allowed in read-only transactions, and a listener reads the queue only between transactions: a
    reader listening while idle in a transaction (its limit lifted) let another fill the queue towards 8 GB on disk.
    serve-sql's reader check disconnects it once the queue is above a share, and alerts."""
    from jlac.serving import serve as serve_mod
    from jlac.serving import target as target_mod

    _, port = team_env
    alerts: list[str] = []
    with _reader(port) as listener, _reader(port) as bystander, _reader(port) as notifier:
        listener.execute("SET idle_in_transaction_session_timeout = 0")
        listener.execute("LISTEN jlac_fill")
        listener.execute("BEGIN")
        listener.execute("SELECT 1")  # idle in its transaction: it reads no notification from now on
        bystander.execute("BEGIN")
        bystander.execute("SELECT 1")
        monkeypatch.setattr(target_mod, "NOTIFY_QUEUE_SHARE", 0.0)
        monkeypatch.setattr(target_mod, "NOTIFY_IDLE_S", 0.0)
        serve_mod._guard_reader(team_target(), ReaderPolicy.from_env(), alerts.append)
        assert alerts == [] and not _dead(listener)  # an empty queue: nobody is disconnected
        for i in range(50):
            notifier.execute("SELECT pg_notify('jlac_fill', %s)", [f"{i}" + "x" * 7900])
        serve_mod._guard_reader(team_target(), ReaderPolicy.from_env(), alerts.append)
        assert _dead(listener) and _dead(bystander)  # which session listens is not shown: both were idle in one
        assert not _dead(notifier)
    assert len(alerts) == 1 and "NOTIFY queue" in alerts[0] and "idle in transaction" in alerts[0]
