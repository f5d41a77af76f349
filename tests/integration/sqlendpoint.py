"""Helpers for the integration tests: `jlac serve-sql` (a local PostgreSQL) as a real process, warehouse homes
PostgreSQL can reach, and a refresh that publishes a generated warehouse to race it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

JLAC = os.environ.get("JLAC_TEST_CLI") or str(Path(sys.executable).with_name("jlac"))
PASSWORD = "s3cret-for-tests"


def reachable_home() -> Path:
    """A fresh warehouse folder the cluster's system user can enter (pytest's tmp is mode 0700 for root)."""
    home = Path(tempfile.mkdtemp(prefix="jlac-pg-test-"))
    home.chmod(0o755)
    return home


def remove_home(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)


class Endpoint:
    """`jlac serve-sql` on a free loopback port, stopped with SIGTERM on exit."""

    def __init__(self, env: dict[str, str], password: str = PASSWORD, args: tuple[str, ...] = ()):
        self.env, self.password, self.args = env, password, args
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.returncode: int | None = None

    @property
    def home(self) -> Path:
        return Path(self.env["JLAC_WAREHOUSE"]).parent

    def __enter__(self) -> Endpoint:
        # stderr goes to a file: an unread pipe would fill up and stall the server mid-test
        self.log = tempfile.NamedTemporaryFile("w+", prefix="jlac-serve-sql-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([JLAC, "serve-sql", "--port", "0", *self.args], env=self.env,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + 180
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if m := re.search(r" on [\d.]+:(\d+)", line):
                self.port = int(m.group(1))
                self.ready_line = line
                return self
            if self.proc.poll() is not None:
                break
        logged = self.stderr()
        self.__exit__(None, None, None)
        raise RuntimeError(f"jlac serve-sql did not start: {line!r} {logged[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode if self.proc else None
        return self.returncode

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def stderr(self) -> str:
        """What serve-sql logged so far (for failure messages)."""
        return Path(self.log.name).read_text()

    def dsn(self, password: str | None = None, user: str = "jlac", **extra) -> str:
        parts = {"host": "127.0.0.1", "port": self.port, "dbname": "jlac", "user": user,
                 "password": self.password if password is None else password, "connect_timeout": 10, **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def url(self, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://jlac:{self.password}@127.0.0.1:{self.port}/jlac"

    def owner_dsn(self) -> str:
        from jlac.serving.cluster import LocalCluster

        return LocalCluster(self.home).target(self.port).conninfo


def endpoint_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JLAC_POSTGRES_URL"}
    return {**env, "JLAC_WAREHOUSE": str(home / "jlac.duckdb"), "JLAC_SQL_PASSWORD": PASSWORD,
            "JLAC_SQL_USER": "jlac", "JLAC_SQL_HOST": "127.0.0.1", **extra}


def contract_refresh(warehouse: Path, rows: int, run_id: str | None = None, extra_sql: str = "") -> str:
    """A refresh that follows the publishing contract: build a new file in ``.build/``, then ``os.replace`` it
    onto the warehouse. The data is generated, so the test controls what differs."""
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    build_dir = warehouse.parent / ".build"
    build_dir.mkdir(parents=True, exist_ok=True)
    build = build_dir / f"{run_id}.duckdb"
    con = duckdb.connect(str(build))
    con.execute("CREATE SCHEMA meta; CREATE SCHEMA marts; CREATE SCHEMA figures")
    con.execute("CREATE TABLE meta.runs AS SELECT ? AS run_id, now() AS started, 'completed' AS status",
                [run_id])
    con.execute(f"CREATE TABLE marts.fct_trade AS SELECT range AS id, 1990 + range % 30 AS year, "
                f"random() AS value_usd FROM range({rows})")
    con.execute("COMMENT ON TABLE marts.fct_trade IS 'Generated trade rows'")
    con.execute("COMMENT ON COLUMN marts.fct_trade.year IS 'Calendar year'")
    con.execute("CREATE TABLE figures.fig1_trade AS SELECT year, sum(value_usd) AS value_usd "
                "FROM marts.fct_trade GROUP BY year")
    if extra_sql:
        con.execute(extra_sql)
    con.execute("CHECKPOINT")
    con.close()
    os.replace(build, warehouse)
    return run_id


def wait_for(check, timeout: float = 60, every: float = 0.3):
    """Poll ``check()`` until it returns something truthy; return it (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


@contextmanager
def team_owner_server(monkeypatch) -> Iterator[tuple]:
    """A local cluster whose database ``jlac`` is owned by ``team_owner``, a role with CREATEROLE and no superuser (a
    team's server as docs/operations.md describes it), with JLAC_POSTGRES_URL naming that role and JLAC_SQL_PASSWORD
    set. Yields a superuser connection (autocommit), the scratch home and the server's port; stops and removes both."""
    import psycopg
    from jlac.serving import cluster as pgcluster
    from jlac.serving.target import ReaderPolicy

    home = reachable_home()
    cluster = pgcluster.LocalCluster(home / "server")
    config = pgcluster.ServerConfig("127.0.0.1", pgcluster.free_port(), None, None)
    proc = cluster.start(config, ReaderPolicy(password=PASSWORD))
    try:
        with psycopg.connect(cluster.target(config.port).conninfo, autocommit=True) as admin:
            admin.execute("CREATE ROLE team_owner LOGIN PASSWORD 'ownerpw' CREATEROLE")
            admin.execute("ALTER DATABASE jlac OWNER TO team_owner")
            hba = cluster.data / "pg_hba.conf"
            hba.write_text(hba.read_text() + "host jlac team_owner 127.0.0.1/32 scram-sha-256\n")
            admin.execute("SELECT pg_reload_conf()")
            url = f"postgresql://team_owner:ownerpw@127.0.0.1:{config.port}/jlac"

            def connects() -> bool:
                try:
                    psycopg.connect(url).close()
                    return True
                except psycopg.OperationalError:
                    return False

            wait_for(connects, timeout=10)  # once the server has read pg_hba.conf again
            monkeypatch.setenv("JLAC_POSTGRES_URL", url)
            monkeypatch.setenv("JLAC_SQL_PASSWORD", PASSWORD)
            yield admin, home, config.port
    finally:
        pgcluster.stop(proc)
        remove_home(home)
