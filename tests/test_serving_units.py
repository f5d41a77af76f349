"""The serving copy's plain parts, without a server: type mapping, settings from the environment, the
reachability check for the cluster's system user, and the publish hook with nothing to serve."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from jlac.config import Settings
from jlac.publish_hooks import PublishContext, all_hooks
from jlac.publish_hooks.postgres import after
from jlac.serving.cluster import ClusterError, OsUser, ServerConfig, check_reachable
from jlac.serving.target import ReaderPolicy, describe_url
from jlac.serving.types import UnmappedType, map_column


@pytest.mark.parametrize(("duck", "pg"), [
    ("VARCHAR", "text"), ("BIGINT", "bigint"), ("DOUBLE", "double precision"), ("BOOLEAN", "boolean"),
    ("DECIMAL(3,1)", "numeric(3,1)"), ("HUGEINT", "numeric(39,0)"), ("UBIGINT", "numeric(20,0)"),
    ("DATE", "date"), ("TIMESTAMP WITH TIME ZONE", "timestamptz"), ("TIMESTAMP", "timestamp"),
    ("JSON", "jsonb"), ("VARCHAR[]", "jsonb"), ("INTEGER[3]", "jsonb"), ("STRUCT(a INTEGER, b VARCHAR)", "jsonb"),
    ("MAP(VARCHAR, INTEGER)", "jsonb"), ("ENUM('a', 'b')", "text"), ("BLOB", "bytea"), ("UUID", "uuid"),
    ("INTERVAL", "interval"),
])
def test_duckdb_types_map_to_postgres(duck, pg):
    assert map_column(duck, "c").pg_type == pg


def test_nested_and_binary_values_are_rendered_for_postgres():
    assert map_column("VARCHAR[]", "imf names").expr == 'to_json("imf names")::VARCHAR'
    assert map_column("BLOB", "b").expr == r"'\x' || hex(" + '"b")'


def test_an_unmapped_type_names_the_table_and_column():
    with pytest.raises(UnmappedType, match=r"marts.x: column 'v': DuckDB type VARINT has no PostgreSQL type"):
        map_column("VARINT", "v", "marts.x: ")


def test_reader_policy_from_the_environment(monkeypatch):
    for var in ("JLAC_SQL_USER", "JLAC_SQL_PASSWORD", "JLAC_SQL_STATEMENT_TIMEOUT", "JLAC_SQL_MAX_CONNECTIONS",
                "JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    assert ReaderPolicy.from_env() == ReaderPolicy("jlac", None, "120s", "60s", 50)
    monkeypatch.setenv("JLAC_SQL_STATEMENT_TIMEOUT", "5min")
    monkeypatch.setenv("JLAC_SQL_MAX_CONNECTIONS", "8")
    assert (ReaderPolicy.from_env().statement_timeout, ReaderPolicy.from_env().connection_limit) == ("5min", 8)
    monkeypatch.setenv("JLAC_SQL_STATEMENT_TIMEOUT", "120; DROP ROLE x")
    with pytest.raises(ValueError, match="JLAC_SQL_STATEMENT_TIMEOUT=.*expected a duration"):
        ReaderPolicy.from_env()
    monkeypatch.setenv("JLAC_SQL_STATEMENT_TIMEOUT", "1s")
    monkeypatch.setenv("JLAC_SQL_MAX_CONNECTIONS", "0")
    with pytest.raises(ValueError, match="JLAC_SQL_MAX_CONNECTIONS='0'"):
        ReaderPolicy.from_env()


@pytest.mark.parametrize("name", ['ana"lyst', 'x" all all trust\nhost all', "", "pg_reader", "jlac_owner",
                                  "a" * 64, "bi reader"])
def test_a_reader_name_pg_hba_conf_cannot_hold_is_refused_naming_it(monkeypatch, tmp_path, name):
    """JLAC_SQL_USER='ana"lyst' ended its quoted name in pg_hba.conf: the server did not start ("could not load
    pg_hba.conf"), and a crafted name could add a line of its own (found by a QA pass)."""
    from jlac.serving.cluster import LocalCluster

    monkeypatch.setenv("JLAC_SQL_USER", name)
    policy = ReaderPolicy.from_env()  # read by `jlac status` too, which must not fail on serve-sql's setting
    with pytest.raises(ValueError, match=r"JLAC_SQL_USER=.*(a reader role name takes letters|keeps that name)"):
        LocalCluster(tmp_path).start(ServerConfig("127.0.0.1", 1), policy)
    assert not (tmp_path / "postgres").exists()  # refused before anything is made


@pytest.mark.parametrize("host", ["", " ", "127.0.0.1,"])
def test_a_host_naming_no_address_is_refused_before_postgresql_starts(tmp_path, host):
    from jlac.serving.cluster import LocalCluster

    with pytest.raises(ValueError, match=r"--host / JLAC_SQL_HOST .*: no address to listen on"):
        LocalCluster(tmp_path).start(ServerConfig(host, 1), ReaderPolicy(password="p"))
    assert not (tmp_path / "postgres").exists()


@pytest.mark.parametrize("name", ["jlac", "bi_reader", "Metabase.RO", "r-1", "_x$"])
def test_ordinary_reader_names_are_taken(monkeypatch, name):
    monkeypatch.setenv("JLAC_SQL_USER", name)
    assert ReaderPolicy.from_env().user == name


def test_server_config_tls_needs_both_files_and_listens_on_loopback_too(monkeypatch, tmp_path):
    monkeypatch.delenv("JLAC_SQL_TLS_KEY", raising=False)
    monkeypatch.setenv("JLAC_SQL_TLS_CERT", str(tmp_path / "c.pem"))
    with pytest.raises(ValueError, match="both JLAC_SQL_TLS_CERT and JLAC_SQL_TLS_KEY"):
        ServerConfig.from_env("127.0.0.1", 5433)
    monkeypatch.setenv("JLAC_SQL_TLS_KEY", str(tmp_path / "k.pem"))
    with pytest.raises(FileNotFoundError, match="JLAC_SQL_TLS_CERT=.*c.pem: no such file"):
        ServerConfig.from_env("127.0.0.1", 5433)
    assert ServerConfig("127.0.0.1").listen_addresses == "127.0.0.1"
    assert ServerConfig("0.0.0.0").listen_addresses == "0.0.0.0"
    assert ServerConfig("10.1.2.3").listen_addresses == "127.0.0.1,10.1.2.3"  # the loader connects over loopback
    # PostgreSQL's IPv6 sockets do not answer on 127.0.0.1, nor does another loopback address
    assert ServerConfig("::1").listen_addresses == "127.0.0.1,::1"
    assert ServerConfig("::").listen_addresses == "127.0.0.1,::"
    assert ServerConfig("127.0.0.2").listen_addresses == "127.0.0.1,127.0.0.2"


def test_owner_url_is_described_without_its_password():
    text = describe_url("postgresql://owner:s3cret@db.example.org:6543/analytics")
    assert text == "db.example.org:6543/analytics as owner" and "s3cret" not in text


@pytest.mark.parametrize(("url", "secret"), [
    ("postgresql://jlac:SECRET-PG%zz-000@127.0.0.1:9/jlac", "SECRET-PG%zz-000"),  # a '%' libpq cannot decode
    ("postgresql://jlac:SECRET/PART2@127.0.0.1:9/jlac", "SECRET/PART2"),  # a '/' (base64): read as port and database
    ("host=127.0.0.1 port=9 password=correct horse SECRET-3 dbname=jlac", "correct horse SECRET-3"),  # unquoted
    ("postgresql://jlac@127.0.0.1:9/jlac?password=SECRET-Q4", "SECRET-Q4"),
    ("postgresql+psycopg2://jlac:Sup3rSecretPw@127.0.0.1:9/jlac", "Sup3rSecretPw"),  # SQLAlchemy's form: not libpq's
    ("postgresql:/jlac:Sup3rSecretPw@127.0.0.1:9/jlac", "Sup3rSecretPw"),  # a typo
    ("postgresql://jlac:Q%@127.0.0.1:9/jlac", "Q%"),  # two characters: the whole is hidden too
])
def test_no_part_of_the_owner_password_is_in_what_a_failed_connection_says(url, secret):
    """libpq quotes a connection string it cannot read in its error (ProgrammingError, which went out as it was to
    the console, runs.jsonl, Prefect's database and the alert), and reads a '/' in a URL's password as the port and
    the database, which the password-free description then showed (found by a QA pass)."""
    from jlac.errors import SettingError
    from jlac.serving.target import ServingUnavailable, Target

    described = describe_url(url)
    with pytest.raises((SettingError, ServingUnavailable)) as failed:
        Target(url, described).connect()
    said = f"{described} {failed.value}"
    pieces = [p for p in re.split(r"[ /]", secret) if len(p) >= 3]
    assert not [p for p in [secret, *pieces] if p in said], said
    if isinstance(failed.value, SettingError):
        assert "JLAC_POSTGRES_URL cannot be read" in said and "percent-encoded" in said


def test_a_percent_encoded_password_is_hidden_as_written_and_decoded():
    """A message may quote the password as the URL writes it or as libpq decodes it (a server's log line, a
    psycopg message about the decoded string): both forms and their pieces become ***."""
    from jlac.serving.target import without_password

    url = "postgresql://jlac:Pa%2Fss%40word%20X9@db.example.org/jlac"
    said = without_password("as written Pa%2Fss%40word%20X9; decoded Pa/ss@word X9; a piece: word", url)
    assert said == "as written ***; decoded ***; a piece: ***", said
    said = without_password("pw abcdef/ghi", "postgresql://jlac:abcdef%2Fghi@h/db")
    assert "abcdef" not in said and "ghi" not in said


@pytest.mark.skipif(os.geteuid() != 0, reason="the cluster runs as another user only when jlac runs as root")
def test_a_folder_the_cluster_user_cannot_enter_is_named():
    top = Path(tempfile.mkdtemp(prefix="jlac-reach-"))  # pytest's own tmp folder is closed (0700) already
    try:
        top.chmod(0o755)
        closed = top / "closed"
        (closed / "wh").mkdir(parents=True)
        closed.chmod(0o700)
        user = OsUser("postgres", pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
        with pytest.raises(ClusterError, match=rf"cannot enter {closed} \(mode drwx------\): run `chmod o\+x"):
            check_reachable(closed / "wh" / "postgres", user)
        closed.chmod(0o711)
        check_reachable(closed / "wh" / "postgres", user)
    finally:
        shutil.rmtree(top)


def test_the_hook_is_registered_and_skips_when_nothing_serves(tmp_path, monkeypatch):
    monkeypatch.delenv("JLAC_POSTGRES_URL", raising=False)
    assert "postgres" in [h.name for h in all_hooks()]
    settings = Settings(tmp_path / "jlac.duckdb", tmp_path / "snapshots", (), tmp_path / "output")
    assert after(PublishContext(settings, None, settings.warehouse, None)) == {
        "status": "skipped", "reason": "no serving copy configured (JLAC_POSTGRES_URL or jlac serve-sql)"}


def test_the_hook_leaves_another_users_cluster_to_its_serve_sql(tmp_path, monkeypatch):
    """A shared, group-writable home whose serve-sql runs as another user: every refresh's hook failed ("the local
    cluster ... is another user's") and alerted, while that serve-sql had loaded the run 0.3 s after the publish
    (found by a QA pass)."""
    from jlac.serving.cluster import LocalCluster

    def foreign(self):
        raise ClusterError(f"the local cluster {self.root} is another user's")

    monkeypatch.delenv("JLAC_POSTGRES_URL", raising=False)
    monkeypatch.setattr(LocalCluster, "initialized", property(foreign))
    settings = Settings(tmp_path / "jlac.duckdb", tmp_path / "snapshots", (), tmp_path / "output")
    done = after(PublishContext(settings, None, settings.warehouse, None))
    assert done["status"] == "skipped" and "is another user's; its `jlac serve-sql` loads" in done["reason"]


def test_the_reader_role_is_checked_while_the_loop_waits_for_a_load():
    """Found by a QA pass: serve-sql checked the shared reader role between two polls of its loop only, and a load
    waiting for the loaders' lock (held by a refresh's hook, itself waiting up to 180 s for readers) held that loop:
    a reader's lifted statement_timeout stayed for 116 s. The check now runs in a thread of its own."""
    import threading
    import time

    from jlac.serving.serve import ReaderGuard

    checks, held = [], threading.Lock()

    def check():
        checks.append(time.monotonic())
        if len(checks) == 2:
            raise RuntimeError("the cluster did not answer")  # a failed check: logged, the next one still runs

    guard = ReaderGuard(check, every=0.05).start()
    with held:  # the serving loop, blocked in a load the way catch_up waits for the loaders' lock
        blocked = threading.Thread(target=lambda: held.acquire(timeout=0.6))
        blocked.start()
        blocked.join()
    guard.stop()
    assert len(checks) >= 5, checks  # every 50 ms while the loop could not move, a failed check included
    count = len(checks)
    time.sleep(0.15)
    assert len(checks) == count  # stopped: no check after stop()


def test_a_duration_without_a_unit_is_seconds_and_nonsense_is_refused(monkeypatch):
    """Found by a QA pass: JLAC_SQL_STATEMENT_TIMEOUT=120 reached PostgreSQL as 120 (milliseconds there) while
    jlac's own checks read 120 s; the unit is now always written out (the real server: test_pg_team_and_failures)."""
    monkeypatch.setenv("JLAC_SQL_STATEMENT_TIMEOUT", "120")
    monkeypatch.setenv("JLAC_SQL_IDLE_IN_TRANSACTION_TIMEOUT", "60")
    policy = ReaderPolicy.from_env()
    assert (policy.statement_timeout, policy.idle_in_transaction_timeout) == ("120s", "60s")
    monkeypatch.setenv("JLAC_SQL_STATEMENT_TIMEOUT", "500 ms")
    assert ReaderPolicy.from_env().statement_timeout == "500ms"
    for nonsense in ("-5", "1.5s", "2 days", "9999999h"):
        monkeypatch.setenv("JLAC_SQL_STATEMENT_TIMEOUT", nonsense)
        with pytest.raises(ValueError, match=rf"JLAC_SQL_STATEMENT_TIMEOUT='{nonsense}'"):
            ReaderPolicy.from_env()


def test_status_with_an_owner_secret_it_cannot_read_says_so_instead_of_crashing(tmp_path, monkeypatch):
    """Found by a QA pass: `jlac status` run by a user who cannot read the running cluster's owner.secret (serve-sql
    started by another user) crashed. Here the cluster's files say it runs (this process's pid in postmaster.pid)
    and owner.secret cannot be read (a folder: unreadable whoever runs the test, root included)."""
    from jlac.serving.status import serving_status

    monkeypatch.delenv("JLAC_POSTGRES_URL", raising=False)
    data = tmp_path / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    (data / "postmaster.pid").write_text(f"{os.getpid()}\n{data}\n0\n5999\n\n127.0.0.1\n0\nready\n")
    (tmp_path / "postgres" / "owner.secret").mkdir()
    settings = Settings(tmp_path / "jlac.duckdb", tmp_path / "snapshots", (), tmp_path / "output")
    line = serving_status(settings).line()
    assert line.startswith("serving copy (local cluster on 127.0.0.1:5999): unreadable - ")
    assert "owner.secret: cannot read the local cluster's owner password" in line


def test_a_port_outside_0_65535_is_a_usage_error_before_postgresql_starts(tmp_path):
    """Found by a QA pass: `serve-sql --port 99999` started PostgreSQL (initdb, a cluster) before refusing."""
    from jlac.cli import app
    from typer.testing import CliRunner

    env = {"JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"), "JLAC_SQL_PASSWORD": "x"}
    result = CliRunner().invoke(app, ["serve-sql", "--port", "99999"], env=env)
    assert result.exit_code == 2 and "Invalid value for '--port'" in result.output, result.output
    # JLAC_SQL_PORT is a setting: a value it cannot take is a setting's one line, exit 1 (it was typer's usage box,
    # exit 2; found by a QA pass)
    for env_port, says in (("-1", "JLAC_SQL_PORT='-1': expected a whole number of at least 0 (default 5433)"),
                           ("abc", "JLAC_SQL_PORT='abc': expected a whole number"),
                           ("70000", "JLAC_SQL_PORT=70000: expected a port number from 0 to 65535 (default 5433)")):
        result = CliRunner().invoke(app, ["serve-sql"], env={**env, "JLAC_SQL_PORT": env_port})
        said = " ".join(result.output.split())
        assert result.exit_code == 1 and f"jlac: SettingError: {says}" in said and "Usage" not in said, said
    assert not (tmp_path / "wh").exists()  # no cluster folder made


class _Database:
    """A connection whose database has character type ``ctype`` (what ctype_note asks)."""

    def __init__(self, ctype: str):
        self.ctype = ctype

    def execute(self, query: str, params=None):
        assert "datctype" in query
        return self

    def fetchone(self):
        return (self.ctype,)


def test_a_cluster_made_with_ctype_c_is_named_with_the_way_out():
    """A cluster an older jlac made keeps ctype C (initdb's choice is for good): serve-sql's log says what to do."""
    from jlac.serving.cluster import CTYPE, ctype_note

    assert ctype_note(_Database(CTYPE), Path("/w/postgres")) is None
    for old in ("C", "POSIX"):
        note = ctype_note(_Database(old), Path("/w/postgres"))
        assert f"character type (LC_CTYPE) {old}" in note and "ILIKE" in note
        assert "remove /w/postgres" in note and f"gets {CTYPE}" in note


def test_a_lasting_load_failure_is_alerted_once_per_message(monkeypatch):
    """A full temp disk made serve-sql send the same alert at every 30 s retry (found by a QA pass): a message is
    alerted once, again only when it changes or after REALERT_S."""
    from jlac.serving import serve

    monkeypatch.setattr(serve, "_LAST_ALERT", {})
    sent = []
    for _ in range(3):
        serve._failed(OSError(28, "No space left on device"), sent.append)
    serve._failed(RuntimeError("connection refused"), sent.append)
    assert len(sent) == 2 and "No space left" in sent[0] and "connection refused" in sent[1]
    monkeypatch.setattr(serve, "REALERT_S", 0.0)
    serve._failed(RuntimeError("connection refused"), sent.append)
    assert len(sent) == 3


def test_the_server_log_is_kept_bounded_across_starts(tmp_path, monkeypatch):
    """server.log grew for good (QA pass): past LOG_ROTATE_BYTES at a start it becomes server.log.1, replacing the
    one before; a smaller one is appended to."""
    from jlac.serving import cluster

    monkeypatch.setattr(cluster, "LOG_ROTATE_BYTES", 100)
    local = cluster.LocalCluster(tmp_path)
    local.root.mkdir()
    local._rotate_log()  # none yet: nothing to do
    local.log.write_bytes(b"a" * 100)
    local._rotate_log()
    assert local.log.read_bytes() == b"a" * 100
    (local.root / "server.log.1").write_bytes(b"older")
    local.log.write_bytes(b"b" * 101)
    local._rotate_log()
    assert not local.log.exists() and (local.root / "server.log.1").read_bytes() == b"b" * 101


def test_status_of_another_users_cluster_says_whose_it_is_instead_of_failing(tmp_path, monkeypatch):
    """After `jlac serve-sql` ran once, `jlac status` of any user but the cluster's owner ended in "PermissionError:
    .../postgres/data/PG_VERSION", exit 1 (the data folder is 0700): a false alarm for a monitoring check run as
    another account (found by a non-root QA pass). Root passes every permission check, so the refusal is simulated."""
    import pathlib

    from jlac.serving.cluster import ClusterError, LocalCluster
    from jlac.serving.status import serving_status

    monkeypatch.delenv("JLAC_POSTGRES_URL", raising=False)
    data = tmp_path / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    exists = pathlib.Path.exists

    def denied(self, *args, **kwargs):
        if self.parent == data:
            raise PermissionError(13, "Permission denied", str(self))
        return exists(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "exists", denied)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: pathlib.Path(p) != data)  # data/: no x for this user
    with pytest.raises(ClusterError, match=r"another user's \(this user \(uid \d+\) may not enter .*/postgres/data "
                                           r"\(mode d"):
        assert LocalCluster(tmp_path).initialized
    settings = Settings(tmp_path / "jlac.duckdb", tmp_path / "snapshots", (), tmp_path / "output")
    line = serving_status(settings).line()
    assert line.startswith("serving copy (local cluster): unreadable - the local cluster ") and "another user's" in line
    assert "start `jlac serve-sql`" not in line  # not this user's to start
