"""Helpers for the integration tests: start `jlac serve-sql` as a real process and a refresh to race it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb

JLAC = os.environ.get("JLAC_TEST_CLI") or str(Path(sys.executable).with_name("jlac"))


class Endpoint:
    """`jlac serve-sql` on an ephemeral loopback port, stopped on exit."""

    def __init__(self, env: dict[str, str], password: str):
        self.env, self.password = env, password
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> Endpoint:
        # stderr goes to a file: an unread pipe would fill up and stall the server mid-test
        self.log = tempfile.NamedTemporaryFile("w+", prefix="jlac-serve-sql-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([JLAC, "serve-sql", "--port", "0"], env=self.env, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if m := re.search(r"on 127\.0\.0\.1:(\d+)", line):
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
        logged = self.stderr()
        self.__exit__(None, None, None)
        raise RuntimeError(f"jlac serve-sql did not start: {line!r} {logged[-2000:]}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def stderr(self) -> str:
        """What the server logged so far (for failure messages)."""
        return Path(self.log.name).read_text()

    def dsn(self, password: str | None = None, user: str = "jlac") -> str:
        return (f"host=127.0.0.1 port={self.port} dbname=jlac user={user} "
                f"password={self.password if password is None else password} connect_timeout=10")


def contract_refresh(warehouse: Path, rows: int, run_id: str | None = None) -> str:
    """A refresh that follows the lead's publishing contract: build a new file in ``.build/``, then
    ``os.replace`` it onto the warehouse. The data is generated, so the test controls what differs."""
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
    con.execute("CREATE TABLE figures.fig1_trade AS SELECT year, sum(value_usd) AS value_usd "
                "FROM marts.fct_trade GROUP BY year")
    con.execute("CHECKPOINT")
    con.close()
    os.replace(build, warehouse)
    return run_id
