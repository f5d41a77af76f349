"""A read-only PostgreSQL wire-protocol endpoint over the published warehouse.

Built on buenavista (a maintained Postgres wire-protocol server for DuckDB, pure Python, on PyPI). What jlac
adds on top is what makes it safe to keep running while refreshes publish:

* every client session attaches the *currently published* file read-only in its own in-memory DuckDB
  instance. Attaching (rather than ``duckdb.connect(path)``) matters: DuckDB's Python instance cache is keyed
  on the path, so a second ``connect(path)`` after a publish would hand back the old, still-open database;
* before each statement outside a transaction, the session compares the inode of the published path with
  the one it attached. A refresh publishes with ``os.replace``, so a new inode means a new warehouse: the
  session re-attaches, and the next query sees the new data. A query already running keeps its own
  connection to the old inode and finishes there, so a result is never half old, half new;
* only reading statements are let through (SELECT, EXPLAIN, SET, PRAGMA, CALL, transactions), the
  warehouse is attached READ_ONLY, and external access (files, other databases, extensions) is switched off
  once it is attached: writes are refused twice over;
* a password is required (MD5 challenge, the only method buenavista implements), read from the environment.
"""

from __future__ import annotations

import hmac
import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
from buenavista import bv_dialects, postgres, rewrite
from buenavista.backends.duckdb import DuckDBConnection, DuckDBQueryResult, DuckDBSession

log = logging.getLogger(__name__)

ALIAS = "jlac"
READING = {
    duckdb.StatementType.SELECT,
    duckdb.StatementType.EXPLAIN,
    duckdb.StatementType.SET,
    duckdb.StatementType.PRAGMA,
    duckdb.StatementType.CALL,
    duckdb.StatementType.TRANSACTION,
    duckdb.StatementType.PREPARE,
    duckdb.StatementType.EXECUTE,
}


class WriteRefused(PermissionError):
    """A client sent a statement that could change something; the endpoint is read-only."""


@dataclass(frozen=True)
class EndpointConfig:
    """Where the endpoint listens and who may connect (every field has an environment variable)."""

    warehouse: Path
    host: str = "127.0.0.1"  # JLAC_SQL_HOST
    port: int = 5433  # JLAC_SQL_PORT
    user: str = "jlac"  # JLAC_SQL_USER
    password: str = ""  # JLAC_SQL_PASSWORD (required)

    @classmethod
    def from_env(cls, warehouse: Path) -> EndpointConfig:
        password = os.environ.get("JLAC_SQL_PASSWORD", "")
        if not password:
            raise ValueError("JLAC_SQL_PASSWORD is not set: no SQL endpoint without a password")
        return cls(
            warehouse=warehouse,
            host=os.environ.get("JLAC_SQL_HOST", "127.0.0.1"),
            port=int(os.environ.get("JLAC_SQL_PORT", "5433")),
            user=os.environ.get("JLAC_SQL_USER", "jlac"),
            password=password,
        )


def open_published(warehouse: Path) -> tuple[duckdb.DuckDBPyConnection, int]:
    """Attach the published warehouse read-only in a private DuckDB instance; return it and the inode read.

    The inode is taken *before* attaching: if a publish lands in between, the session simply re-attaches
    once more at its next query, instead of wrongly believing it already has the new file.
    """
    if not warehouse.exists():
        raise FileNotFoundError(f"{warehouse}: no published warehouse yet; run `jlac refresh` first")
    inode = warehouse.stat().st_ino
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{warehouse}' AS {ALIAS} (READ_ONLY)")
    con.execute(f"USE {ALIAS}")
    con.execute("SET enable_external_access = false")
    return con, inode


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise WriteRefused unless every statement in ``sql`` only reads."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error:
        return  # let DuckDB report the syntax error itself, with its position
    for stmt in statements:
        if stmt.type not in READING:
            kind = stmt.type.name.replace("_", " ")
            raise WriteRefused(f"the jlac SQL endpoint is read-only: {kind} statements are refused")


class PublishedSession(DuckDBSession):
    """One client session: a read-only view of whichever warehouse file is published now."""

    def __init__(self, warehouse: Path):
        self.warehouse = warehouse
        con, self.inode = open_published(warehouse)
        super().__init__(con)

    def _follow_publish(self) -> None:
        try:
            current = self.warehouse.stat().st_ino
        except FileNotFoundError:
            return  # the warehouse was removed by hand: keep serving the file this session has
        if current != self.inode:
            old = self._cursor
            self._cursor, self.inode = open_published(self.warehouse)
            self.refresh_config()
            old.close()
            log.info("session %s now reads the warehouse published as inode %d", self.id, self.inode)

    def execute_sql(self, sql: str, params=None) -> DuckDBQueryResult:
        """Run one client statement (buenavista's version, adapted to DuckDB 2's Arrow reader API)."""
        if not self.in_txn:
            self._follow_publish()
        sql = self.rewrite_sql(sql)
        if not sql.strip():
            return DuckDBQueryResult(status="SET")  # a client setting DuckDB does not know: accepted, ignored
        check_read_only(self._cursor, sql)
        verb = sql.lstrip().split(None, 1)[0].lower().rstrip(";")
        if verb in ("begin", "start"):
            if not self.in_txn:
                self._cursor.execute("BEGIN")
                self.in_txn = True
            return DuckDBQueryResult(status="BEGIN")
        if verb in ("commit", "end", "rollback", "abort"):
            if self.in_txn:
                self._cursor.execute("ROLLBACK")  # nothing to commit on a read-only view
                self.in_txn = False
            return DuckDBQueryResult(status="ROLLBACK" if verb in ("rollback", "abort") else "COMMIT")
        relation = self._cursor.sql(sql, params=params or None)
        if relation is None:  # a statement without a result set (SET, PRAGMA ...)
            return DuckDBQueryResult(status=verb.upper())
        return DuckDBQueryResult(relation.to_arrow_reader(), status=verb.upper())


class PublishedWarehouse(DuckDBConnection):
    """buenavista's connection factory: each new client gets its own PublishedSession."""

    def __init__(self, warehouse: Path):
        super().__init__(db=None)
        self.warehouse = warehouse
        self._lock = threading.Lock()

    def parameters(self) -> dict[str, str]:
        # Clients such as psycopg and JDBC parse server_version; an honest "duckdb" suffix keeps it parseable.
        return {**super().parameters(), "server_version": "14.0 (jlac duckdb)"}

    def new_session(self) -> PublishedSession:
        return PublishedSession(self.warehouse)

    def create_session(self) -> PublishedSession:
        # buenavista keeps sessions in a plain dict from many handler threads.
        with self._lock:
            return super().create_session()

    def close_session(self, session) -> None:
        with self._lock:
            super().close_session(session)


class _Rewriter(rewrite.Rewriter):
    def rewrite(self, sql: str) -> str:
        if sql.strip().rstrip(";").lower() in ("select version()", "select pg_catalog.version()"):
            return "SELECT 'PostgreSQL 14.0 (jlac duckdb ' || version() || ')' AS version"
        return super().rewrite(sql)


class SQLServer(postgres.BuenaVistaServer):
    """The threaded TCP server, with a constant-time password check and no loopback-only surprise."""

    daemon_threads = True

    def verify_request(self, request, client_address) -> bool:
        # buenavista only admits 127.0.0.1 unless an env var is set; jlac decides by its bind address instead
        # (loopback by default, and a password always).
        return True


def _md5_ok(handler_ctx, auth: dict[str, str], client_side: str) -> bool:
    user = handler_ctx.params.get("user", "")
    if user not in auth:
        return False
    return hmac.compare_digest(handler_ctx.get_hashed_password(auth), client_side)


class _Handler(postgres.BuenaVistaHandler):
    def handle_md5_password(self, ctx, payload: bytes):
        client_side = payload.decode("utf-8").rstrip("\x00")
        if _md5_ok(ctx, self.server.auth, client_side):
            self.send_authentication_ok()
            self.handle_post_auth(ctx)
        else:
            # An error then closing the socket: psql and psycopg report "password authentication failed".
            self.send_error(f"password authentication failed for user \"{ctx.params.get('user', '')}\"")
            self.wfile.flush()
            self.request.shutdown(socket.SHUT_RDWR)  # the handler's read loop then ends quietly


def make_server(config: EndpointConfig) -> SQLServer:
    """Create (bind) the endpoint; call ``serve_forever()`` on the result to serve."""
    # buenavista logs every client statement at INFO: too much for a long-running service (and the
    # statements are the clients' business); warnings and errors still get through.
    logging.getLogger("buenavista").setLevel(logging.WARNING)
    rewriter = _Rewriter(bv_dialects.BVPostgres(), bv_dialects.BVDuckDB())
    server = SQLServer(
        (config.host, config.port), PublishedWarehouse(config.warehouse), rewriter=rewriter,
        auth={config.user: config.password},
    )
    server.RequestHandlerClass = _Handler
    return server
