"""The DuckDB warehouse: built beside the published file, swapped in only when everything passed.

Publishing is an atomic ``os.replace`` of a fully checkpointed, closed file. A reader that has the old
file open keeps reading the old inode undisturbed; a crash or ``kill -9`` at any moment leaves either
the old or the new file in place, never a mix, because the build happens in ``.build/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from jlac import leftovers
from jlac.config import Settings
from jlac.errors import JlacError, RefreshBusy

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts", "figures", "meta")
# The storage format the warehouse file is written in. DuckDB 2 writes its newest by default, which no DuckDB 1.x
# opens ("a database file with version number 999, but we can only read versions between 64 and 67"): the DuckDB
# CLI, DBeaver or a notebook of an analyst on 1.x could not read the published warehouse (found by a QA pass).
# v1.0.0's is read by every DuckDB from 1.0 on; a file keeps the format it was created in.
STORAGE_VERSION = "v1.0.0"


def build_path(settings: Settings, run_id: str) -> Path:
    """The build file of a run, ``<run id>.duckdb`` in the build folder (``.build/`` beside the warehouse)."""
    return settings.build_dir / f"{run_id}.duckdb"


def new_build(settings: Settings, run_id: str) -> Path:
    """Create an empty warehouse file for this run, with jlac's schemas."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    path = build_path(settings, run_id)
    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    with duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION}) as con:
        for schema in SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return path


RUNNING = ".running"  # .build/<run id>.running: the run holding the refresh lock (mark_running)


def mark_running(settings: Settings, run_id: str, flow_run_id: str | None = None) -> Path:
    """Mark ``run_id`` as the refresh running (holding the refresh lock): ``.build/<run id>.running``, removed when
    it ends, holding the process and the Prefect flow run. One found by a later run names a run that was killed
    (``remove_stale_builds``), and its flow run is the one its crash alert links to."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    marker = settings.build_dir / f"{run_id}{RUNNING}"
    marker.write_text(json.dumps({"pid": os.getpid(), "flow_run_id": flow_run_id}), encoding="utf-8")
    return marker


def marked_runs(settings: Settings) -> dict[str, dict]:
    """{run id: what its marker says (``pid``, ``flow_run_id``; empty for a marker of an older jlac)} of the runs
    marked running in ``.build/``: the one holding the refresh lock, and any killed since."""
    found = {}
    for marker in sorted(settings.build_dir.glob(f"*{RUNNING}")) if settings.build_dir.is_dir() else []:
        try:
            said = json.loads(marker.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):  # cut short by the kill, or unreadable: the run id is in the name
            said = {}
        found[run_of(marker)] = said if isinstance(said, dict) else {}
    return found


def run_of(path: Path) -> str:
    """The run id a build file, staged output or run marker in ``.build/`` belongs to (``<run id>.duckdb``,
    ``<run id>-output``, ``<run id>.running``)."""
    return path.name.split(".", 1)[0].removesuffix("-output")


def remove_stale_builds(settings: Settings, keep: str | None = None) -> list[Path]:
    """Delete build files, staged outputs (charts, docs site: ``<run id>-output``) and run markers left by crashed
    runs, but those of run ``keep`` (the caller's own; only called while holding the refresh lock, after the outputs
    of a run that did publish were moved into place); return what was deleted."""
    removed = []
    if settings.build_dir.is_dir():
        for p in [*settings.build_dir.glob("*.duckdb*"), *settings.build_dir.glob("*-output"),
                  *settings.build_dir.glob(f"*{RUNNING}")]:
            if run_of(p) == keep:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(build: Path, settings: Settings) -> Path:
    """Swap the finished build in as the published warehouse, atomically."""
    with duckdb.connect(str(build)) as con:
        con.execute("CHECKPOINT")  # no WAL may travel with the file
    if build.with_suffix(".duckdb.wal").exists():
        raise JlacError(f"{build}: a write-ahead log is still present after CHECKPOINT; not publishing")
    _keep_access(settings.warehouse, build)
    with open(build, "rb") as fh:
        os.fsync(fh.fileno())
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    _set_aside_foreign_wal(settings.warehouse, build)
    os.replace(build, settings.warehouse)
    _fsync_dir(settings.warehouse.parent)
    return settings.warehouse


def _keep_access(published: Path, build: Path) -> None:
    """The new file gets the published one's permission bits and group: the build had the refresh's umask, so a file
    kept for a group (BI tools, the postgres user) became world-readable under umask 022, or closed to that group
    under 077, at each publish (found by a QA pass). A group this user does not belong to cannot be given: the file
    then keeps the user's own, with the same bits."""
    try:
        st = published.stat()
    except FileNotFoundError:
        return
    if st.st_gid != build.stat().st_gid:
        try:
            os.chown(build, -1, st.st_gid)
        except PermissionError:
            log.warning("%s: its group (gid %d) could not be given to the new warehouse (this user is not in it); "
                        "the new file is group gid %d", published, st.st_gid, build.stat().st_gid)
    os.chmod(build, stat.S_IMODE(st.st_mode))


def _set_aside_foreign_wal(published: Path, build: Path) -> None:
    """A write-ahead log beside the published file belongs to it, i.e. to someone's session that opened it for
    writing (jlac's own published file never has one). Left there, DuckDB would replay it onto the new file: "WAL
    does not match database file" for every reader and hook, for good once that session is gone. It is renamed
    aside: the session keeps writing to it (its open file), and what it held is kept, not replayed into new data."""
    wal = published.with_name(published.name + ".wal")
    if not wal.exists():
        return
    aside = wal.with_name(f"{wal.name}.{build.stem}.set-aside")
    os.replace(wal, aside)
    log.warning("%s: a write-ahead log of a session that opened the published warehouse for writing was beside it; "
                "renamed %s so that it is not replayed onto the new warehouse (its uncheckpointed changes are in "
                "it, against the previous file)", published, aside.name)


def copy_published(settings: Settings, run_id: str) -> Path:
    """A build that starts as a copy of the published warehouse (an incremental refresh changes only parts)."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    path = build_path(settings, run_id)
    path.with_suffix(".duckdb.wal").unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.copy")
    try:
        shutil.copyfile(settings.warehouse, tmp)  # the published file is checkpointed: no WAL belongs to it
    except BaseException:  # a full disk: no half copy left on it
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def publish_with_hooks(ctx) -> Path:
    """Run the before-publish hooks on the build (``jlac.publish_hooks``), then swap it in atomically."""
    from jlac import publish_hooks

    publish_hooks.run_before(ctx)
    return publish(ctx.build, ctx.settings)


# A table the warehouse lacks is "does not exist", not a Python object of the same name (DuckDB's replacement scans
# look a missing table up among the caller's variables: `figures.fig1_japan_lac_trade` found jlac's module).
NO_PYTHON_LOOKUP = {"python_enable_replacements": False}


def attach_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """The DuckDB file at ``path``, attached read-only as ``jlac`` (the default catalog) into a fresh in-memory
    database: duckdb.connect(path) would reuse a database this process already has open, which after a publish is
    the previous file. While another process holds it open for writing, a copy of it (``open_for_reading``)."""

    def attach(file: Path) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(config=NO_PYTHON_LOOKUP)
        try:
            con.execute("ATTACH ? AS jlac (TYPE duckdb, READ_ONLY)", [str(file)])
            con.execute("USE jlac")
        except duckdb.Error:
            con.close()
            raise
        return con

    return open_for_reading(path, attach)


class UnreadableWarehouse(JlacError, duckdb.IOException):
    """A warehouse file DuckDB cannot open, said with what to do; still a ``duckdb.Error`` for the callers that
    handle a damaged file as such (the refresh's own reads of the published warehouse)."""


def open_for_reading(path: Path, open_: Callable[[Path], T]) -> T:
    """``open_(path)``, a DuckDB file opened read-only; while another process holds it open for writing (a user's
    DBeaver or DuckDB session), ``open_`` of a byte copy of it, whose name is removed once it is open (the open
    file stays readable until closed, and nothing is left behind). The file's checkpointed bytes are what was
    published (a session's own changes are in its write-ahead log). `jlac sql`, `revisions`, `figures`, `report`
    and `export` failed on DuckDB's lock error there, while a refresh read a copy (found by a QA pass)."""
    try:
        return open_(path)
    except duckdb.Error as exc:
        check_readable(path)  # this user may not read it: no damaged file, and no refresh replaces it
        if not locked_by_a_writer(str(exc)):
            # a damaged file said only DuckDB's "Could not read enough bytes" here; `jlac status` said what to do
            # (found by a QA pass)
            raise UnreadableWarehouse(f"{path} cannot be read ({str(exc).splitlines()[0]}): every reading command "
                                      "fails on it (a running SQL endpoint keeps serving the copy it loaded); when "
                                      "the file is damaged (cut short, not a DuckDB database), the next `jlac "
                                      "refresh` builds and publishes a new one") from None
    log.warning("%s is held open for writing by another process (DuckDB allows one writer): reading a copy of it",
                path)
    copy = None
    for folder in (path.parent, Path(tempfile.gettempdir())):  # beside it (same disk), else where temp files go
        try:
            fd, name = tempfile.mkstemp(prefix=f".{leftovers.prefix(path.stem + '-read')}", suffix=".duckdb",
                                       dir=folder)
            os.close(fd)
            copy = Path(name)
            shutil.copyfile(path, copy)
            break
        except OSError as exc:
            if copy is not None:
                copy.unlink(missing_ok=True)
                copy = None
            problem = exc
    if copy is None:
        raise JlacError(f"{path} is held open for writing by another process (DuckDB allows one writer), and no "
                        f"copy of it could be made to read ({problem}): close that session, or open it read-only")
    try:
        return open_(copy)
    finally:
        copy.unlink(missing_ok=True)


def not_duckdb(path: Path) -> str | None:
    """Why the existing file at ``path`` is not a DuckDB database (its header lacks DuckDB's magic bytes), or None.

    Checked before opening the published path: DuckDB opens a path ending in .csv or .parquet as another kind of
    database ('Cannot launch in-memory database in read-only mode'), and a refresh would replace what is there."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except (FileNotFoundError, IsADirectoryError):
        return None
    if head[8:12] == b"DUCK":
        return None
    return f'The file "{path}" exists, but it is not a valid DuckDB database file'


def connect_readonly(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (never blocks or is blocked by a refresh)."""
    if not settings.warehouse.exists():
        raise JlacError(f"no published warehouse at {settings.warehouse}; run `jlac refresh` first")
    return attach_readonly(settings.warehouse)


# DuckDB's words when the file is open for writing: in another process (its lock), or in this one (a notebook's
# read-write connection beside a refresh it runs: taken for damage, the intact file was replaced without comparing
# it, kept as ".damaged" and the run's hooks failed; found by a QA pass)
_HELD_FOR_WRITING = ("Could not set lock on file", "Unique file handle conflict",
                     "Can't open a connection to same database file with a different configuration")


def locked_by_a_writer(message: str) -> bool:
    """DuckDB's error when a session holds the file open for writing (another process's, or a connection of this
    one): its lock, not damage. The published file is checkpointed, so its bytes are the published warehouse (the
    session's own changes are in its write-ahead log): a copy of them can be read."""
    return any(words in message for words in _HELD_FOR_WRITING)


def readable_copy(path: Path, settings: Settings, run_id: str) -> Path:
    """A byte copy of the published file in the build folder, for reading it while a writer holds its lock."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    copy = settings.build_dir / f"{run_id}.published-copy.duckdb"
    try:
        shutil.copyfile(path, copy)
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    return copy


def read_published(settings: Settings, read: Callable[[Path], T], what: str) -> T:
    """``read(path)`` on the published warehouse file; while another process holds it open for writing (a user's
    session: DBeaver's DuckDB driver does), on a byte copy of it, its checkpointed bytes being what is published.
    Any other DuckDB error (a damaged file) propagates. ``what`` names the reading in the log line and the copy."""
    try:
        return read(settings.warehouse)
    except duckdb.Error as exc:
        if not locked_by_a_writer(str(exc)):
            raise
    log.warning("published warehouse %s is held open for writing by another process; its %s read from a copy",
                settings.warehouse, what)
    copy = readable_copy(settings.warehouse, settings, f"{what.replace(' ', '-')}-{os.getpid()}")
    try:
        return read(copy)
    finally:
        copy.unlink(missing_ok=True)


def unreadable(path: Path) -> str | None:
    """Why the DuckDB file at ``path`` cannot be read (damaged, cut short, not a database), None when it can.

    A file this user may not read is no damaged file: raises JlacError (``check_readable``)."""
    check_readable(path)
    try:
        with duckdb.connect() as con:
            con.execute("ATTACH ? AS probe (TYPE duckdb, READ_ONLY)", [str(path)])
            con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'probe'").fetchone()
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    return None


def keep_damaged(published: Path, run_id: str) -> Path | None:
    """Keep the damaged published file beside the new one, as ``<name>.damaged-<run>``, before a publish replaces it:
    what it still holds (a revision record, tables outside the damaged blocks) was lost with it (found by a QA pass).
    A hard link costs no copy. Returns the kept file, None when it could not be kept (said in the log)."""
    kept = published.with_name(f"{published.name}.damaged-{run_id}")
    try:
        try:
            os.link(published, kept)
        except OSError:  # a file system without hard links
            shutil.copyfile(published, kept)
    except OSError as exc:
        log.warning("the damaged published warehouse %s could not be kept as %s (%s); the publish replaces it",
                    published, kept.name, exc)
        return None
    log.warning("the damaged published warehouse is kept as %s (what it still holds can be read from it; remove it "
                "when done)", kept)
    return kept


def check_readable(path: Path, what: str = "the published warehouse") -> None:
    """Raise JlacError when ``path`` exists but this user may not read it. DuckDB's "Permission denied" read as a
    damaged file: a refresh replaced an intact warehouse without comparing it, and its revision record was lost
    (found by a QA pass)."""
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        return
    except PermissionError as exc:
        try:
            st = path.stat()
            how = f"mode {stat.filemode(st.st_mode)}, owner uid {st.st_uid}, group gid {st.st_gid}"
        except OSError:
            how = "its mode unknown"
        raise JlacError(f"{what} {path} cannot be read by this user (uid {os.geteuid()}; {how}): {exc.strerror}. "
                        "jlac neither reads nor replaces it: give this user read access, or run jlac as its "
                        "owner") from None
    except IsADirectoryError:
        return  # named as a folder where the file is needed, by the caller's own checks


QUERY_SEARCH_PATH = "marts,figures,meta,main"


def connect_for_queries(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A connection for SQL a user types (``jlac sql``): the published file opened as a read-only database.

    Not ``connect_readonly``'s read-only attachment to a writable in-memory database: there ``USE memory; DETACH
    jlac; ATTACH '<file>'`` attached the warehouse again, writable, and dropped its tables. A read-only database
    cannot be detached (it is the default), and whatever is attached to it is read-only too. Meant for a process
    that opens the file once (the CLI): DuckDB hands a path already open in the process its existing database.
    """
    if not settings.warehouse.exists():
        raise JlacError(f"no published warehouse at {settings.warehouse}; run `jlac refresh` first")
    con = open_for_reading(settings.warehouse, lambda path: duckdb.connect(str(path), read_only=True))
    con.execute("SET python_enable_replacements = false")  # not as config: the file may be open in the process
    # A query that reads a URL or a format DuckDB lacks would download and install an extension (into
    # ~/.duckdb/extensions) and load it: it fails instead, naming the extension. Those built into the Python package
    # (json, parquet, icu) are loaded already.
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    # the schemas an analyst reads, as the PostgreSQL endpoint's search_path: `SHOW TABLES` lists their tables (it
    # listed the empty main schema: nothing) and `FROM fct_trade_annual` needs no schema. Those the file has: DuckDB
    # refuses a search_path naming a schema that does not exist.
    present = {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas() WHERE database_name = "
                                         "current_database()").fetchall()}
    path = ",".join(s for s in QUERY_SEARCH_PATH.split(",") if s in present)
    if path:
        con.execute(f"SET search_path = '{path}'")
    return con


_EXPLAIN = re.compile(r"^\s*EXPLAIN\b(?:\s+ANALY[SZ]E\b)?(?:\s*\([^)]*\))?", re.IGNORECASE)
# The word PIVOT outside string literals and quoted names
_PIVOT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\b(PIVOT)\b", re.IGNORECASE)


def read_only_statement(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """Refuse SQL a user types unless it is one query that only reads: a SELECT (WITH, FROM-first, VALUES,
    DESCRIBE, SHOW, SUMMARIZE) or EXPLAIN [ANALYZE] of one.

    A read-only database protects its tables, not the disk: COPY ... TO, EXPORT DATABASE, INSTALL/LOAD, SET,
    PRAGMA profiling_output or EXPLAIN ANALYZE COPY wrote or overwrote files beside the warehouse, and a second
    statement's result replaced the first's unseen. Raises JlacError naming what was found."""
    statements = con.extract_statements(text)
    if len(statements) > 1:
        raise JlacError(f"{len(statements)} statements given; jlac sql runs one query at a time")
    if not statements:
        raise JlacError(f"no SQL statement in {text!r}; e.g. jlac sql 'SELECT * FROM meta.runs'")
    kind = statements[0].type.name
    if kind == "EXPLAIN":  # EXPLAIN ANALYZE runs what it explains: that must be a query too
        match = _EXPLAIN.match(statements[0].query)
        inner = con.extract_statements(statements[0].query[match.end():]) if match else []
        kind = f"EXPLAIN {inner[0].type.name}" if len(inner) == 1 else "EXPLAIN"
    if kind not in ("SELECT", "EXPLAIN SELECT"):
        # DuckDB files INSTALL under LOAD, USE and RESET under SET, CHECKPOINT under CALL: those are named by their
        # own first word (an INSTALL was "a LOAD statement"), the others by their type
        first = re.match(r"\s*([A-Za-z]+)", statements[0].query)
        named = first.group(1).upper() if first and kind in ("LOAD", "SET", "CALL", "PRAGMA") else kind
        if named == "MULTI" and any(m.group(1) for m in _PIVOT.finditer(text)):
            # it was "a MULTI statement": DuckDB makes a PIVOT without IN (...) a CREATE TYPE and a query (QA pass)
            raise JlacError("jlac sql runs read-only queries; a PIVOT whose ON has no IN (...) list needs DuckDB to "
                            "create a type first: list the values, e.g. PIVOT t ON b IN ('x', 'y') USING sum(a)")
        if named in ("INSTALL", "LOAD"):
            advice = "jlac sql neither installs nor loads DuckDB extensions"
        elif named in ("COPY", "EXPORT", "EXPLAIN COPY", "EXPLAIN EXPORT"):
            advice = "to write files use `jlac export`, or DuckDB on a copy of the warehouse"
        else:
            advice = "for anything but reading, use DuckDB on a copy of the warehouse"
        article = "an" if named[:1] in "AEIO" or (named[:1] == "U" and not named.startswith("US")) else "a"
        raise JlacError(f"jlac sql runs read-only queries (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN of "
                        f"one); this is {article} {named} statement: {advice}")


def _held(lock_path: Path, holder: str) -> RefreshBusy:
    return RefreshBusy(f"another refresh{f' (process {holder})' if holder else ''} holds {lock_path}; wait for it to "
                     "finish")


def refresh_held(settings: Settings) -> JlacError | None:
    """The error a refresh would meet at the refresh lock now, or None when no refresh holds it: for the command line
    to refuse before Prefect's start (a second refresh was turned away after 49 s of it, recorded as a failed run and
    alerted: found by a QA pass). A shared lock, taken and let go at once: it only conflicts with a holder."""
    lock_path = settings.home / ".refresh.lock"
    try:
        fh = open(lock_path)  # noqa: SIM115  closed below
    except OSError:  # none yet, or unreadable: the refresh's own lock says
        return None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _held(lock_path, fh.read().strip())
        except OSError:
            return None
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


@contextmanager
def refresh_lock(settings: Settings):
    """One refresh at a time per warehouse; a second one fails at once with a clear message."""
    settings.home.mkdir(parents=True, exist_ok=True)
    lock_path = settings.home / ".refresh.lock"
    with open(lock_path, "a+") as fh:  # not "w": that emptied the holder's pid before the lock was tried
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            raise _held(lock_path, fh.read().strip()) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


OUTPUT_OWNER = ".jlac-warehouse"  # in JLAC_OUTPUT: the warehouse whose outputs it holds


def output_owner_problem(settings: Settings) -> str | None:
    """Why this home must not write ``settings.output``: another warehouse's outputs are there (its
    ``.jlac-warehouse``), and that warehouse exists. Two homes sharing one JLAC_OUTPUT overwrote each other's charts
    and site, their publishes not even serialised (the outputs lock is per home; found by a QA pass). An output folder
    inside this home is its own (a copied or moved home carries its outputs), and a warehouse gone is no owner."""
    if settings.output.resolve().is_relative_to(settings.home.resolve()):
        return None
    try:
        owner = (settings.output / OUTPUT_OWNER).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    mine = os.path.abspath(settings.warehouse)
    if not owner or owner == mine or not Path(owner).exists():
        return None
    return (f"JLAC_OUTPUT {settings.output} holds the charts, CSVs and site of the warehouse {owner} (its "
            f"{OUTPUT_OWNER}), not {mine}: two homes writing one output folder overwrite each other's. Give each home "
            f"its own JLAC_OUTPUT, or remove {settings.output / OUTPUT_OWNER} if that warehouse is no longer used")


def _claim_outputs(settings: Settings) -> None:
    """Name this warehouse in its output folder (``output_owner_problem`` reads it); best effort."""
    with contextlib.suppress(OSError):
        if settings.output.is_dir():
            mark = settings.output / OUTPUT_OWNER
            mine = os.path.abspath(settings.warehouse)
            if not mark.exists() or mark.read_text(encoding="utf-8").strip() != mine:
                mark.write_text(mine + "\n", encoding="utf-8")


OUTPUTS_WAIT_S = 600  # a report renders every chart in well under a minute; a publish section takes seconds


@contextmanager
def outputs_lock(settings: Settings, who: str, timeout: float = OUTPUTS_WAIT_S):
    """The published outputs (charts, CSVs, the site) are written by one at a time: a refresh's publish (swap,
    outputs moved in, after-publish hooks), ``jlac figures``, ``jlac report``. Beside a publish, `jlac figures` read
    the old warehouse and wrote its chart over the new one, and the next refresh, finding nothing changed, left it so
    (found by a QA pass). Not the refresh lock: a refresh must not be turned away by a report, nor a report wait
    for a whole build; each waits here for the other's short section, saying so on stderr, and gives up after
    ``timeout`` seconds naming the holder. A reader who cannot write the warehouse folder goes on without it."""
    lock_path = settings.home / ".outputs.lock"
    fh = None
    for mode in ("a+", "r"):  # flock takes a read-only descriptor too
        with contextlib.suppress(OSError):
            fh = open(lock_path, mode)  # noqa: SIM115  closed below
            break
    if fh is None:
        log.warning("%s: no lock for the outputs (the folder cannot be written); written without waiting for a "
                    "refresh's publish", lock_path)
        yield
        return
    with fh:
        deadline = time.monotonic() + timeout
        said = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                if time.monotonic() > deadline:
                    raise JlacError(f"{who}: {holder} has held {lock_path} for more than {timeout:g} s (writing the "
                                    "published outputs); try again once it is done") from None
                if not said:
                    print(f"jlac: {who} waits for {holder} to finish writing the published outputs ({lock_path})",
                          file=sys.stderr, flush=True)
                    said = True
                time.sleep(0.2)
        with contextlib.suppress(OSError):  # read-only: the lock holds, the holder is only not named
            fh.seek(0)
            fh.truncate()
            fh.write(f"{who} (process {os.getpid()})")
            fh.flush()
        try:
            if (problem := output_owner_problem(settings)) is not None:
                if not who.startswith("refresh "):  # a refresh checked before building (preflight): it has published
                    raise JlacError(f"{who}: {problem}")
                log.warning("%s", problem)
            yield
            _claim_outputs(settings)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
