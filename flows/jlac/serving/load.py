"""Bring the PostgreSQL serving copy to the published warehouse: ``catch_up``, the one function for it.

The publish hook calls it after every refresh; ``jlac serve-sql`` calls it at start and whenever the published
file changes. A PostgreSQL advisory lock makes the two take turns, and the copy's version (the run id in
``meta.serving_copy``, with the relations ``JLAC_SQL_SKIP`` left out) makes the second one a no-op.

What is copied: every table and view of ``marts``, ``figures`` and ``meta``; a view (the HS-9 facts over their
Parquet partitions) arrives as a table holding its rows, since PostgreSQL cannot read the partitions. A table whose
content (``content_key``: comments, types, rows) the copy already holds is not copied again: at the swap it is moved
from the old schema into the new one, so a publish that changed one source copies what changed.

How a load stays whole for readers: ONE transaction creates ``jlac_load_<schema>`` schemas, creates each table
with mapped types (``jlac.serving.types``), streams it with ``COPY ... FROM STDIN (FORMAT csv, FREEZE)`` from a
CSV that DuckDB writes (DuckDB renders, PostgreSQL parses: no rows pass through Python objects), adds the table
and column comments, ANALYZEs, makes on the staged tables the indexes an admin made on the old ones of their names
(``table_settings.build_staged``), then takes ACCESS EXCLUSIVE locks on the old tables (waiting for queries in flight,
in short attempts: ``_lock_old``), drops the old tables and moves the new ones into the served schemas, gives each
new table the privileges the old one of its name had (``table_settings``; the reader role gets SELECT on every
table) and an index made on the old one meanwhile, and creates again the views others built on the dropped tables
(``dependents``). Until COMMIT, readers see the old copy; after it, the new one. Any error - PostgreSQL down, disk full,
a value PostgreSQL cannot take - rolls the whole transaction back: the old copy stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from jlac import leftovers, sqltext
from jlac.errors import SettingError
from jlac.serving import dependents, table_settings
from jlac.serving.target import SCHEMAS, ReaderPolicy, Target, setup_reader
from jlac.serving.types import map_column, quote
from jlac.warehouse import locked_by_a_writer

log = logging.getLogger(__name__)

LOCK_KEY = 0x6A6C6163  # "jlac": pg_advisory_lock key shared by every loader of a database
STAGE = "jlac_load_"
VERSION_TABLE = "serving_copy"  # meta.serving_copy: which published warehouse this copy is
LOAD_FORMAT = 1  # part of every content key: a change to how tables are rendered or created copies them all again
SKIP_ENV = "JLAC_SQL_SKIP"  # relations (schema.name) not copied: e.g. a fact too big to copy at every publish
CHUNK = 1 << 20


class ServingLoadError(RuntimeError):
    """The serving copy could not be loaded; it stays at its previous version."""


@dataclass
class LoadResult:
    status: str  # loaded, current (nothing to do), no-warehouse
    version: str | None  # run id of the warehouse now served
    previous: str | None  # run id served before
    target: str
    seconds: float = 0.0
    tables: int = 0
    rows: int = 0  # rows copied into PostgreSQL by this load
    kept: int = 0  # tables whose content the copy already held: moved over, not copied again

    def details(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    comment: str | None
    columns: list[tuple[str, str, str | None]]  # name, DuckDB type, comment
    view: bool = False  # a DuckDB view (the HS-9 facts): PostgreSQL gets its rows as a table

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def published_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """Run id of the warehouse attached as ``w``: the run that published it (``revisions.published_run``)."""
    from jlac.revisions import published_run

    return published_run(con, "w")


def warehouse_tables(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Every table and view of the served schemas in the warehouse attached as ``w``, with comments.

    Views are served as tables holding their rows: PostgreSQL cannot read the Parquet partitions behind the HS-9
    facts (``marts.fct_trade_commodity_*``), and a BI tool must find every relation of ``marts`` it finds in DuckDB.
    """
    relations = con.execute(
        "SELECT schema_name, table_name, comment, false FROM duckdb_tables() WHERE database_name = 'w' "
        "AND schema_name IN (SELECT unnest(?)) UNION ALL "
        "SELECT schema_name, view_name, comment, true FROM duckdb_views() WHERE database_name = 'w' AND NOT internal "
        "AND schema_name IN (SELECT unnest(?)) ORDER BY 1, 2", [list(SCHEMAS), list(SCHEMAS)]).fetchall()
    out = []
    for schema, name, comment, view in relations:
        cols = con.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE database_name = 'w' "
            "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()
        out.append(Table(schema, name, comment, cols, view))
    return out


def left_out_setting(served: set[str]) -> frozenset[str]:
    """The relations ``JLAC_SQL_SKIP`` leaves out of the serving copy (``schema.name``, comma- or space-separated),
    each checked against the ``served`` ones: a name the warehouse does not serve is a SettingError, not a relation
    silently copied after all."""
    names = frozenset(n for n in os.environ.get(SKIP_ENV, "").replace(",", " ").split() if n)
    unknown = sorted(names - served)
    if unknown:
        raise SettingError(f"{SKIP_ENV}={os.environ[SKIP_ENV]!r}: {', '.join(unknown)} is not a table or view the "
                           f"warehouse serves (schemas {', '.join(SCHEMAS)}; written schema.name, e.g. "
                           f"marts.fct_trade_commodity_monthly)")
    return names


def attach_published(duck: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """Attach the published warehouse read-only as ``w``, the name every query of this module reads it by (the path
    as a parameter: a quote in a folder name does not end it)."""
    duck.execute("ATTACH ? AS w (TYPE duckdb, READ_ONLY)", [str(warehouse)])


def attach_readable(duck: duckdb.DuckDBPyConnection, warehouse: Path) -> Path | None:
    """``attach_published``, or, while another process holds the file open for writing (a BI tool's DuckDB driver
    does: "Could not set lock on file"), the same on a byte copy of it in a folder beside it: the published file is
    checkpointed, so its bytes are the published warehouse (as the refresh reads it, ``jlac.warehouse.
    read_published``). Returns the copy's folder, for the caller to remove once ``duck`` is closed."""
    try:
        attach_published(duck, warehouse)
        return None
    except duckdb.Error as exc:
        if not locked_by_a_writer(str(exc)):
            raise
    log.warning("published warehouse %s is held open for writing by another process; the serving copy reads a "
                "copy of it", warehouse)
    folder = Path(tempfile.mkdtemp(prefix="." + leftovers.prefix("jlac-serving-read"), dir=warehouse.parent))
    try:
        copy = folder / warehouse.name
        shutil.copyfile(warehouse, copy)
        attach_published(duck, copy)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def pg_name(name: str) -> str:
    """The name PostgreSQL keeps of an identifier: its first 63 bytes (NAMEDATALEN - 1), cut at a character."""
    return name.encode()[:63].decode(errors="ignore")


def check_names(tables: list[Table]) -> None:
    """Refuse two tables of a schema, or two columns of a table, that PostgreSQL would see as one name (it keeps
    the first 63 bytes of an identifier): the load failed with DuplicateColumn/DuplicateTable naming neither."""
    def clashes(names: list[str]) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        found = []
        for name in names:
            if (cut := pg_name(name)) in seen:
                found.append((seen[cut], name))
            seen.setdefault(cut, name)
        return found

    problems = []
    for schema in sorted({t.schema for t in tables}):
        problems += [f"tables {schema}.{a!r} and {schema}.{b!r}"
                     for a, b in clashes([t.name for t in tables if t.schema == schema])]
    for t in tables:
        problems += [f"columns {a!r} and {b!r} of {t.qualified}" for a, b in clashes([c for c, _, _ in t.columns])]
    if problems:
        raise ServingLoadError(
            f"PostgreSQL keeps the first 63 bytes of a name, and these share them: {'; '.join(problems)}. Rename one "
            f"in the warehouse, or leave the table out of the serving copy ({SKIP_ENV}=schema.name)")


def check_left_out(warehouse: Path) -> None:
    """Check ``JLAC_SQL_SKIP`` against the published warehouse (nothing to check before the first publish)."""
    if not os.environ.get(SKIP_ENV, "").strip() or not warehouse.exists():
        return
    with duckdb.connect(":memory:") as duck:
        attach_published(duck, warehouse)
        left_out_setting({t.qualified for t in warehouse_tables(duck)})


def content_key(con: duckdb.DuckDBPyConnection, table: Table) -> str:
    """What a served table holds, as one key: its comments, columns with their DuckDB and PostgreSQL types, row
    count and the sum of its rows' 64-bit hashes (one scan in DuckDB: 3.5 s for the 46.9 M rows of the 38-year
    monthly HS-9 fact, against about 100 s to copy them). A key the serving copy already holds for that table means
    the same rows, so the table is kept instead of copied again."""
    mapped = [(c, t, (m := map_column(t, c)).pg_type, m.expr, comment) for c, t, comment in table.columns]
    try:
        count, checksum = con.execute(
            f"SELECT count(*), sum(hash(r))::HUGEINT FROM w.{quote(table.schema)}.{quote(table.name)} AS r").fetchone()
    except duckdb.Error as exc:  # e.g. a view over Parquet partitions that are no longer where it says
        raise ServingLoadError(f"{table.qualified} cannot be read from the published warehouse "
                               f"({'a view' if table.view else 'a table'}): {exc}") from exc
    described = json.dumps([LOAD_FORMAT, table.comment, mapped, count, str(checksum)], default=str)
    return hashlib.sha256(described.encode()).hexdigest()


def serving_version(con: psycopg.Connection) -> str | None:
    """Run id of the warehouse the serving copy holds, None when there is no copy yet."""
    return _served(con)[0]


def _served(con: psycopg.Connection) -> tuple[str | None, str, dict[str, str]]:
    """(run id, relations left out, content key per table) of the serving copy; a copy from before those columns
    existed left nothing out and has no keys (every table is copied again)."""
    exists = con.execute("SELECT to_regclass(%s)", [f"meta.{VERSION_TABLE}"]).fetchone()[0]
    if not exists:
        return None, "", {}
    row = con.execute(f"SELECT to_jsonb(s) FROM meta.{VERSION_TABLE} AS s").fetchone()
    if not row:
        return None, "", {}
    return row[0].get("run_id"), row[0].get("left_out") or "", row[0].get("content_keys") or {}


def _render(con: duckdb.DuckDBPyConnection, table: Table, folder: Path) -> tuple[Path, int]:
    """Write one table as CSV the way PostgreSQL's COPY reads it (DuckDB does the formatting); return the file and
    its number of rows."""
    exprs = ", ".join(map_column(t, c, f"{table.schema}.{table.name}: ").expr for c, t, _ in table.columns)
    path = folder / f"{table.schema}.{table.name}.csv"
    # A line that is only \. ends COPY's data in PostgreSQL's CSV format unless quoted: the value '\.' in a table of
    # one column cut the copy there, without an error. Quoted, it is a value (a NULL stays an unquoted empty field).
    quoted = f", FORCE_QUOTE ({quote(table.columns[0][0])})" if len(table.columns) == 1 else ""
    rows = con.execute(f"COPY (SELECT {exprs} FROM w.{quote(table.schema)}.{quote(table.name)}) "
                       f"TO {sqltext.literal(path)} (FORMAT csv, HEADER false{quoted})").fetchone()[0]
    return path, rows


def _renderer(con, tables: list[Table], folder: Path, out: queue.Queue) -> None:
    """Render the tables one after another into ``out``, so DuckDB writes the next while PostgreSQL reads."""
    try:
        cur = con.cursor()  # its own connection to the same DuckDB instance: the loading thread keeps ``con``
        cur.execute("SET TimeZone = 'UTC'")
        for table in tables:
            out.put((table, *_render(cur, table, folder), None))
    except BaseException as exc:  # noqa: BLE001 - handed to the loading thread, which raises it
        out.put((None, None, 0, exc))


def _create(pg: psycopg.Connection, stage: str, table: Table) -> None:
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(map_column(t, c, f"{table.schema}.{table.name}: ").pg_type))
        for c, t, _ in table.columns)
    ident = sql.Identifier(stage, table.name)
    pg.execute(sql.SQL("CREATE TABLE {} ({})").format(ident, cols))
    if table.comment:
        pg.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(table.comment)))
    for c, _, comment in table.columns:
        if comment:
            pg.execute(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(ident, sql.Identifier(c), sql.Literal(comment)))


def _copy(pg: psycopg.Connection, stage: str, table: Table, csv: Path, duck: duckdb.DuckDBPyConnection,
          expected: int) -> int:
    """COPY the rendered file into the staging table; raise unless PostgreSQL read every row DuckDB wrote."""
    target = sql.Identifier(stage, table.name)
    try:
        with pg.cursor() as cur:
            with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv, FREEZE)").format(target)) as copy:
                with open(csv, "rb") as fh:
                    while block := fh.read(CHUNK):
                        copy.write(block)
            if cur.rowcount != expected:
                raise ServingLoadError(
                    f"PostgreSQL read {cur.rowcount:,} of the {expected:,} rows of {table.schema}.{table.name} from "
                    "the published warehouse; the copy is not served")
            return cur.rowcount
    except psycopg.Error as exc:
        diag = exc.diag
        where = f" ({diag.context.strip()})" if diag.context else ""
        raise ServingLoadError(
            f"PostgreSQL refused {table.schema}.{table.name} from the published warehouse: "
            f"{diag.message_primary or exc}{where}{_nul_columns(duck, table)}") from exc


def _nul_columns(duck: duckdb.DuckDBPyConnection, table: Table) -> str:
    """Name the text columns holding NUL characters (PostgreSQL text cannot store them; DuckDB's can)."""
    found = []
    for column, dtype, _ in table.columns:
        if dtype.upper() == "VARCHAR":
            n = duck.execute(f"SELECT count(*) FROM w.{quote(table.schema)}.{quote(table.name)} "
                             f"WHERE contains({quote(column)}, chr(0))").fetchone()[0]
            if n:
                found.append(f"column {column}: {n} row(s)")
    return "; NUL characters in " + ", ".join(found) if found else ""


def _version_table(pg: psycopg.Connection, stage: str, version: str | None, published_at: datetime,
                   started: float, tables: int, rows: int, source: Path, left_out: str, keys: dict[str, str],
                   kept: int) -> None:
    ident = sql.Identifier(stage, VERSION_TABLE)
    pg.execute(sql.SQL("CREATE TABLE {} (run_id text, published_at timestamptz, loaded_at timestamptz, "
                       "load_seconds double precision, tables integer, rows bigint, source_file text, "
                       "left_out text, kept integer, content_keys jsonb)").format(ident))
    # FREEZE, as the tables' rows: a REPEATABLE READ transaction begun before the swap then reads the new tables
    # (frozen rows are visible to every snapshot) and the row naming their run, not an empty meta.serving_copy
    with pg.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN (FREEZE)").format(ident)) as copy:
        copy.write_row([version, published_at, datetime.now(UTC), round(time.perf_counter() - started, 2), tables,
                        rows, str(source), left_out, kept, json.dumps(keys)])
    pg.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(
        "Which published DuckDB warehouse this PostgreSQL serving copy holds (one row; jlac, not the report)")))
    for col, text in (("run_id", "Run that built the warehouse served here"),
                      ("published_at", "When that warehouse was published (file time, UTC)"),
                      ("loaded_at", "When this copy was loaded"), ("load_seconds", "Load time in seconds"),
                      ("tables", "Tables served"), ("rows", "Rows copied by this load"),
                      ("source_file", "The DuckDB file it was loaded from"),
                      ("left_out", f"Relations of the warehouse not copied here ({SKIP_ENV}), comma-separated"),
                      ("kept", "Tables whose rows the previous copy already held: kept, not copied again"),
                      ("content_keys", "Per table (schema.name): the key of its content (comments, types, rows) "
                       "that the next load compares")):
        pg.execute(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(ident, sql.Identifier(col), sql.Literal(text)))


def _loaders_lock(pg: psycopg.Connection) -> None:
    """Take the loaders' advisory lock (one load at a time per database), waiting for another loader.

    Any role may call pg_advisory_lock, so a reader session could take this key and hold every load (and the
    refresh's hook) for as long as it stays connected. A holder that is not the loaders' role is disconnected.
    """
    while not pg.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
        squatters = pg.execute(
            "SELECT a.pid, a.usename, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 "
            "AND a.usename <> current_user", [LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF]).fetchall()
        for pid, user, app in squatters:
            ended = _terminate(pg, pid)
            log.warning("session %s of role %s (%s) held jlac's loader lock: %s", pid, user, app or "no application",
                        "disconnected" if ended else "could not disconnect it (the loader needs pg_signal_backend)")
        time.sleep(0.5)


def _terminate(pg: psycopg.Connection, pid: int) -> bool:
    """Disconnect a session; False when this role may not (a team server's loader without pg_signal_backend)."""
    try:
        with pg.transaction():  # inside the load's transaction a savepoint: a refusal does not abort the load
            return bool(pg.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0])
    except psycopg.errors.InsufficientPrivilege:
        return False


def _seconds(pg: psycopg.Connection, duration: str) -> float:
    return float(pg.execute("SELECT extract(epoch FROM %s::interval)", [duration]).fetchone()[0])


def _blockers(pg: psycopg.Connection, tables: list[str]) -> list[tuple]:
    """Other sessions holding locks on ``tables``: pid, role, application, state, seconds in that state, seconds
    since their query started.

    Asked inside the load's long transaction: now() is that transaction's start and pg_stat_activity a snapshot
    taken at its first read, so a session's durations came out short (even negative) and nobody was ever past a
    limit. The clock and a fresh snapshot of the sessions instead."""
    pg.execute("SELECT pg_stat_clear_snapshot()")
    # one row per session: a DISTINCT over the lock rows kept one per table held, the clock differing on each
    return pg.execute(
        "SELECT a.pid, a.usename, a.application_name, a.state, "
        "extract(epoch FROM clock_timestamp() - a.state_change), "
        "extract(epoch FROM clock_timestamp() - a.query_start) "
        "FROM pg_stat_activity a WHERE a.pid IN (SELECT l.pid FROM pg_locks l WHERE l.granted "
        "AND l.pid <> pg_backend_pid() AND l.relation = ANY(%s::regclass[])) ORDER BY a.pid", [tables]).fetchall()


class _StillBusy(Exception):
    """An attempt did not get every table: ``table`` (None: none now) stayed another session's."""

    def __init__(self, table: str | None, stuck: bool):
        super().__init__(f"{table} is busy")
        self.table, self.stuck = table, stuck


def _lock_old(pg: psycopg.Connection, tables: list[str], lock_timeout: str, swap_wait_s: float,
              reader: ReaderPolicy | None = None, published_at: datetime | None = None) -> None:
    """Take the old tables from the readers: wait for queries and transactions in flight on them.

    Never waits while holding some of them. One ``LOCK TABLE`` of them all took them one at a time, waiting for
    each while holding the ones before it: a reader holding a later one and asking for an earlier one (a join naming
    figures before marts, a REPEATABLE READ transaction) closed a cycle, and PostgreSQL aborted one of the two with
    "deadlock detected", most often the reader. So an attempt takes them all with NOWAIT, in a savepoint. When one is
    busy the savepoint is rolled back (every table released) and the next attempt first waits for that table alone
    (new queries on it queue behind the attempt, so a stream of short readers cannot keep it busy), then keeps it
    while it tries the others again with NOWAIT, the whole attempt lasting about ``lock_timeout``; it lets the table
    go at once when a reader waiting for it holds one of the others (that reader cannot finish first).

    Between attempts new readers' queries get through, so a long reader stalls the others for seconds, not for as
    long as it runs. After ``swap_wait_s`` a blocking reader session past the reader role's limits (idle in its
    transaction longer than ``idle_in_transaction_timeout``, or one query longer than ``statement_timeout``: limits
    any session can turn off for itself) is disconnected and the lock taken; a reader within them makes the load give
    up (rolled back; retried later), unless the copy has lagged the warehouse published at ``published_at`` for
    longer than the reader policy's ``max_stale``: then every blocking reader session is disconnected. (Readers
    within their limits taking turns on the tables, a dashboard refreshing every few seconds beside a slow extract,
    held a publish off for as long as they ran.)
    """
    pg.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
    hold_s = _seconds(pg, lock_timeout) or 2.0  # lock_timeout 0 means no limit: an attempt stays bounded
    everything = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT").format(
        sql.SQL(", ").join(sql.SQL(name) for name in tables))
    deadline = time.monotonic() + swap_wait_s
    evicted = False
    busy: str | None = None  # the table the next attempt waits for first, holding no other
    while True:
        waited, started = False, time.monotonic()
        try:
            with pg.transaction():  # a savepoint: a failed attempt releases what it took and does not abort the load
                if busy is not None:
                    waited = True
                    pg.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.SQL(busy)))
                    waited = False
                # holding the waited-for table, the others are tried until the attempt's time is up (a few tries
                # at least); holding nothing, once
                until = max(started + hold_s, time.monotonic() + 0.1) if busy is not None else 0.0
                if (still := _take_rest(pg, everything, tables, until)) is not None:
                    raise still
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected, _StillBusy) as exc:
            if time.monotonic() >= deadline:
                blockers = _blockers(pg, tables)
                if reader is not None and not evicted:
                    evicted = _evict(pg, blockers, reader, _stale_for(pg, reader, published_at))
                    if evicted:
                        # a disconnected session's backend lets its locks go as it exits, a moment later: the next
                        # attempts get that moment, not one NOWAIT try (CI saw "sessions on them: none left")
                        busy = None
                        deadline = time.monotonic() + max(hold_s, 1.0)
                        continue
                held = "; ".join(f"pid {pid} ({user}, {app or 'no application'}, {state} for {in_state:.0f} s)"
                                 for pid, user, app, state, in_state, _ in blockers) or "none left"
                kind = "LockNotAvailable" if isinstance(exc, _StillBusy) else type(exc).__name__
                raise ServingLoadError(
                    f"readers kept the served tables busy for more than {swap_wait_s:.0f} s "
                    f"({kind}; sessions on them: {held}); the new copy was not swapped in and will be "
                    "retried") from exc
            if isinstance(exc, _StillBusy):
                had = busy
                busy = exc.table
                # held a table for a whole lock_timeout in vain (a long reader on another): queued readers get
                # through before the next attempt, as after a timed-out wait
                pause = 1.0 if had is not None and not exc.stuck else 0.0
            else:
                busy = _busy(pg, tables)[0]
                pause = 1.0 if waited else 0.0
            time.sleep(pause if busy is not None else max(pause, 0.01))


def _take_rest(pg: psycopg.Connection, everything: sql.Composable, tables: list[str],
               until: float) -> _StillBusy | None:
    """Lock every table with NOWAIT, again and again with short pauses until ``until`` (time.monotonic; at least
    once); None when done, else what stayed busy. Each try is a savepoint of its own: a failed one keeps none of the
    tables it took."""
    pause = 0.001
    while True:
        try:
            with pg.transaction():
                pg.execute(everything)
            return None
        except psycopg.errors.LockNotAvailable:
            pass
        busy, stuck = _busy(pg, tables)
        if stuck or time.monotonic() + pause > until:
            return _StillBusy(busy, stuck)
        time.sleep(pause)
        pause = min(pause * 1.5, 0.02)


def _busy(pg: psycopg.Connection, tables: list[str]) -> tuple[str | None, bool]:
    """The first of ``tables`` another session holds a lock on (None: none now), and whether a session waiting for
    one of them (for the one this load holds) holds another: it cannot finish while the load keeps what it has."""
    first, stuck = pg.execute(
        "WITH t AS (SELECT rel, i FROM unnest(%s::regclass[]) WITH ORDINALITY AS u(rel, i)), "
        "l AS (SELECT l.pid, l.granted, t.i FROM pg_locks l JOIN t ON t.rel = l.relation "
        "WHERE l.locktype = 'relation' AND l.pid IS DISTINCT FROM pg_backend_pid() "  # a prepared transaction: no pid
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) "
        "SELECT (SELECT min(i) FROM l WHERE granted), "
        "EXISTS (SELECT 1 FROM l w JOIN l h ON h.pid = w.pid AND h.granted WHERE NOT w.granted)",
        [tables]).fetchone()
    return (tables[first - 1] if first else None), stuck


def _stale_for(pg: psycopg.Connection, reader: ReaderPolicy, published_at: datetime | None) -> float | None:
    """Seconds the copy has lagged the warehouse published at ``published_at`` when that is past the policy's
    ``max_stale``, else None."""
    limit = _seconds(pg, reader.max_stale)
    if published_at is None or limit <= 0:
        return None
    lag = (datetime.now(UTC) - published_at).total_seconds()
    return lag if lag > limit else None


def _evict(pg: psycopg.Connection, blockers: list[tuple], reader: ReaderPolicy, stale_s: float | None = None) -> bool:
    """Disconnect the blocking sessions of other roles that are past the reader role's limits, or every one of them
    when the copy is stale (``stale_s``: seconds behind, past ``max_stale``); True if any."""
    idle_limit = _seconds(pg, reader.idle_in_transaction_timeout)
    query_limit = _seconds(pg, reader.statement_timeout)
    me = pg.execute("SELECT current_user").fetchone()[0]
    ended = False
    for pid, user, app, state, in_state, query_for in blockers:
        over = ((state or "").startswith("idle in transaction") and idle_limit > 0 and in_state > idle_limit) or \
            (state == "active" and query_limit > 0 and (query_for or 0) > query_limit)
        if user != me and (over or stale_s is not None) and _terminate(pg, pid):
            why = ("past the reader role's limits" if over else
                   f"the copy lagged the published warehouse for {stale_s / 60:.0f} min, past JLAC_SQL_MAX_STALE "
                   f"({reader.max_stale})")
            log.warning("disconnected session %s of role %s (%s, %s for %.0f s, %s): it kept the new serving copy "
                        "from being swapped in", pid, user, app or "no application", state, in_state, why)
            ended = True
    return ended


def _swap(pg: psycopg.Connection, policy: ReaderPolicy, lock_timeout: str, swap_wait_s: float,
          kept: list[str], published_at: datetime | None = None) -> None:
    """Inside the load's transaction: replace the served tables by the staged ones, keeping the ``kept`` tables
    (``schema.name``, unchanged content) where they are instead of copying them again.

    The served schemas themselves stay (their OIDs never change): the swap used to drop them and rename the staged
    ones into their place, and a reader's query that had just looked a schema up by name could find it gone the next
    moment ("schema with OID ... does not exist", seen once in CI). Tables are what PostgreSQL locks, and looks up
    again after waiting for a lock, so a query blocked by the swap reads the new table, whole."""
    old = [tuple(name) for name in pg.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = "
                                              "ANY(%s)", [list(SCHEMAS)]).fetchall()]
    keep = {tuple(name.split(".", 1)) for name in kept}
    dropped = [name for name in old if name not in keep]
    # the indexes an admin made on the tables about to go, made on the staged tables now, before the locks: readers
    # waited seconds for each build under them (0.95-3.7 s per index of a 1.8 M-row table)
    early = table_settings.build_staged(pg, dropped, STAGE)
    if old:
        _lock_old(pg, [sql.Identifier(*name).as_string(pg) for name in old], lock_timeout, swap_wait_s, policy,
                  published_at)
    # others' views on the tables about to go (CASCADE drops them), and what an admin set on the tables (privileges,
    # indexes made or changed since): read now, under the lock, and made again below
    views = dependents.capture(pg, [sql.Identifier(*name).as_string(pg) for name in dropped])
    settings = table_settings.capture(pg, list(SCHEMAS), old, dropped)
    table_settings.settle_staged(pg, settings, early, STAGE)
    for name in dropped:  # under the lock: no reader is on them
        pg.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(*name)))
    moved = []
    for schema in SCHEMAS:
        stage = STAGE + schema
        pg.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        for (table,) in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [stage]).fetchall():
            pg.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(sql.Identifier(stage, table),
                                                                     sql.Identifier(schema)))
            moved.append((schema, table))
        pg.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(stage)))
    has_reader = pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [policy.user]).fetchone()
    # each new table gets its predecessor's privileges (a GRANT ... ON ALL TABLES to every reader widened an admin's
    # grant of one table to all of them at every publish), and the indexes not made on it before the locks
    table_settings.apply(pg, settings, list(SCHEMAS), moved, policy.user if has_reader else None)
    try:  # after the grants: a materialized view made as its owner reads the new tables with the owner's rights
        dependents.recreate(pg, views)
    except dependents.DependentViewError as exc:
        raise ServingLoadError(str(exc)) from exc


def catch_up(warehouse: Path, target: Target, *, force: bool = False, lock_timeout: str = "2s",
             swap_wait_s: float = 180.0) -> LoadResult:
    """Load the published warehouse into ``target`` unless the copy already holds it; return what happened.

    Raises ServingUnavailable (cannot connect) or ServingLoadError / psycopg.Error (the load failed and was
    rolled back); in every failure the serving copy stays whole at its previous version.
    """
    if not warehouse.exists():
        return LoadResult("no-warehouse", None, None, target.description)
    started = time.perf_counter()
    duck = duckdb.connect(":memory:")
    copied = None
    try:
        # The attached file is the one loaded, whatever is published meanwhile (os.replace swaps the path).
        copied = attach_readable(duck, warehouse)
        duck.execute("SET TimeZone = 'UTC'")
        published_at = datetime.fromtimestamp(warehouse.stat().st_mtime, UTC)
        version = published_version(duck)
        with target.connect(autocommit=True) as pg:
            pg.execute("SET statement_timeout = 0")
            _loaders_lock(pg)  # taken in turns with the other loader
            previous, previous_left_out, previous_keys = _served(pg)
            relations = warehouse_tables(duck)
            left_out = left_out_setting({t.qualified for t in relations})
            listed = ",".join(sorted(left_out))
            # the same run with the same relations left out: nothing to do (a changed JLAC_SQL_SKIP reloads)
            if previous == version and previous_left_out == listed and version is not None and not force:
                return LoadResult("current", version, previous, target.description)
            if target.manage_reader:
                setup_reader(pg, target.reader)
            tables = [t for t in relations if t.qualified not in left_out]
            for t in tables:  # every type mapped, every name distinct in PostgreSQL, before anything is sent
                for c, dtype, _ in t.columns:
                    map_column(dtype, c, f"{t.schema}.{t.name}: ")
            check_names(tables)
            keys = {t.qualified: content_key(duck, t) for t in tables}
            # a table the copy holds with the same content is kept (moved over at the swap), unless forced
            kept = set() if force else {
                name for name, key in keys.items()
                if previous_keys.get(name) == key and pg.execute(
                    "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", name.split(".", 1)).fetchone()[0]}
            rows = _load(duck, pg, tables, kept, version, published_at, started, warehouse, target, lock_timeout,
                         swap_wait_s, listed, keys)
            result = LoadResult("loaded", version, previous, target.description,
                                round(time.perf_counter() - started, 2), len(tables), rows, len(kept))
            log.info("serving copy at %s now holds run %s (%d tables, %d of them DuckDB views; %d rows copied, "
                     "%d unchanged table(s) kept; %.1f s; was %s)%s", target.description, version, len(tables),
                     sum(t.view for t in tables), rows, len(kept), result.seconds, previous,
                     f"; left out ({SKIP_ENV}): {listed}" if listed else "")
            return result
    finally:
        duck.close()
        if copied is not None:
            shutil.rmtree(copied, ignore_errors=True)


def _load(duck, pg, tables, kept, version, published_at, started, warehouse, target, lock_timeout, swap_wait_s,
          left_out: str, keys: dict[str, str]) -> int:
    rows = 0
    copied = [t for t in tables if t.qualified not in kept]
    with tempfile.TemporaryDirectory(prefix=leftovers.prefix("jlac-serving")) as tmp:
        with pg.transaction():
            for schema in SCHEMAS:
                pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(STAGE + schema)))
                pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(STAGE + schema)))
            rendered: queue.Queue = queue.Queue(maxsize=2)
            worker = threading.Thread(target=_renderer, args=(duck, copied, Path(tmp), rendered), daemon=True)
            worker.start()
            try:
                for _ in copied:
                    table, csv, n, exc = rendered.get()
                    if exc is not None:
                        raise exc
                    stage = STAGE + table.schema
                    _create(pg, stage, table)
                    rows += _copy(pg, stage, table, csv, duck, n)
                    os.unlink(csv)
                    pg.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(stage, table.name)))
            finally:
                while worker.is_alive():  # let the renderer finish or fail before the folder goes away
                    try:
                        rendered.get(timeout=0.1)
                    except queue.Empty:
                        pass
            _version_table(pg, STAGE + "meta", version, published_at, started, len(tables), rows, warehouse, left_out,
                           keys, len(kept))
            _swap(pg, target.reader, lock_timeout, swap_wait_s, sorted(kept), published_at)
    return rows
