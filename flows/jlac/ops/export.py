"""Export the marts and figure tables (and views) as Parquet, for BI tools that read files, with the provenance of
the data: ``meta/snapshots.parquet`` (every input file and its sha256) and ``meta/snapshot_origins.parquet`` (each
snapshot's publisher, license and retrieval), so the terms of use travel with the files.

Views are written with their rows: the HS-9 facts are views over raw Parquet partitions, which hold MOF's wide
lines, not the facts' partners, months and dollars.

The whole export reads one published warehouse through one read-only connection, so a refresh that
publishes meanwhile cannot mix two versions into one export. Each table is written beside its final
place and renamed into it, so a tool reading the folder sees a table's old file or its new one.

Each file carries the table's descriptions (the DuckDB COMMENTs a refresh writes from the models' docs) in its
Parquet key-value metadata: ``table_comment`` (text) and ``column_comments`` (a JSON object, column -> comment),
e.g. ``SELECT decode(value) FROM parquet_kv_metadata('figures/report_claims.parquet')``.

The folder may hold the user's own files: an export removes only what an earlier export wrote (listed in
``<outdir>/.jlac-export.json``) and this one did not write again (a table the warehouse no longer has).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from jlac import sqltext
from jlac.errors import JlacError
from jlac.warehouse import UnreadableWarehouse, open_for_reading

log = logging.getLogger(__name__)

SCHEMAS = ("marts", "figures")
# the meta tables that say where the exported data comes from and under which terms (an export of a warehouse
# published before 7 December has no snapshot_origins): the files carried no license (found by a QA pass)
PROVENANCE = ("snapshots", "snapshot_origins")
RECORD = ".jlac-export.json"  # what the exports into a folder wrote (paths relative to it)
PARTITION_ROWS = 1_000_000  # above this, a table with a year column is split into year=YYYY folders
YEAR_COLUMNS = ("year", "commitment_year", "period_year")
FLUSH_ROWS = 122_880  # DuckDB's row group size


@dataclass(frozen=True)
class Exported:
    table: str  # schema.table
    path: Path
    rows: int
    partitioned_by: str | None


def _year_column(columns: list[str]) -> str | None:
    return next((c for c in YEAR_COLUMNS if c in columns), None)


def export_parquet(warehouse: Path, outdir: Path, partition_rows: int = PARTITION_ROWS) -> list[Exported]:
    """Write every table and view of the marts and figures schemas to ``outdir/<schema>/<table>.parquet``."""
    if not warehouse.exists():
        raise FileNotFoundError(f"{warehouse}: no published warehouse yet; run `jlac refresh` first")
    # A private in-memory instance with the file attached (not duckdb.connect(path)): the Python instance
    # cache could otherwise return an older, still-open copy of a replaced warehouse file.
    def attach(path: Path) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH {sqltext.literal(path)} AS wh (TYPE duckdb, READ_ONLY)")
        except duckdb.Error:
            con.close()
            raise
        return con

    try:  # while another process holds it open for writing: a copy (it was "cannot be read", for a lock)
        con = open_for_reading(warehouse, attach)
    except UnreadableWarehouse as exc:
        raise UnreadableWarehouse(f"{exc}; nothing was exported") from None
    with con:
        # A year-partitioned write buffers each partition up to this many rows before writing it out; DuckDB's default
        # (524,288 per partition and thread) took the 38-year HS-9 monthly fact's export to 5.5 GB of memory. At one
        # row group (122,880 rows) it took 0.7 GB, in less time, to the same files.
        con.execute(f"SET partitioned_write_flush_threshold = {FLUSH_ROWS}")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name IN ? "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'wh' AND NOT internal "
            "AND schema_name IN ? ORDER BY 1, 2", [list(SCHEMAS), list(SCHEMAS)]).fetchall()
        if not tables:
            raise LookupError(f"{warehouse}: no tables in schemas {', '.join(SCHEMAS)}; has a refresh published?")
        tables += con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name = 'meta' "
            "AND table_name IN ? ORDER BY 2", [list(PROVENANCE)]).fetchall()
        previous = _recorded(outdir)
        done: list[Exported] = []
        for schema, table in tables:
            try:
                done.append(_export_one(con, schema, table, outdir, partition_rows))
            except duckdb.Error as exc:  # e.g. a full disk, a view whose files are gone: no half-written file is left
                written = ", ".join(e.table for e in done) or "none"
                # what is on disk is the earlier exports' and this run's: all of it stays jlac's to replace
                _record(outdir, previous | {_relative(outdir, e.path) for e in done})
                raise JlacError(f"export of {schema}.{table} into {outdir / schema} failed: {exc}. Its previous export "
                                f"(if any) is as it was; written before it in this run: {written}") from exc
    _remove_dropped(outdir, done, previous)
    _record(outdir, {_relative(outdir, e.path) for e in done})
    return done


def _relative(outdir: Path, path: Path) -> str:
    return path.relative_to(outdir).as_posix()


def _recorded(outdir: Path) -> set[str]:
    """The paths earlier exports into ``outdir`` wrote; none when it has no readable record (nothing is removed)."""
    path = outdir / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        written = data["written"]
        if not (isinstance(written, list) and all(isinstance(w, str) for w in written)):
            raise ValueError("'written' is not a list of paths")
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: not a record of jlac's exports (%s); no earlier export is removed", path, exc)
        return set()
    # only a table's place inside the schema folders, never a path out of the folder
    return {w for w in written if w.split("/", 1)[0] in SCHEMAS and ".." not in w.split("/") and w.count("/") == 1}


def _record(outdir: Path, written: set[str]) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = outdir / f"{RECORD}.tmp"
    tmp.write_text(json.dumps({"written": sorted(written)}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, outdir / RECORD)


def _remove_dropped(outdir: Path, done: list[Exported], previous: set[str]) -> list[Path]:
    """Remove the exports of tables the warehouse no longer has (a model renamed or dropped), once every table of
    this export is in place: a tool reading the folder must not find a table of an earlier warehouse beside it. Only
    what an earlier export wrote (``previous``, its record) is touched: the user's own files stay."""
    exported = {_relative(outdir, e.path) for e in done}
    removed = []
    for rel in sorted(previous - exported):
        p = outdir / rel
        if p.exists():
            _remove(p)
            removed.append(p)
    return removed


def _export_one(con: duckdb.DuckDBPyConnection, schema: str, table: str, outdir: Path,
                partition_rows: int) -> Exported:
    """One table or view into ``outdir/<schema>/``: written beside its place, then swapped in."""
    typed = con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE database_name = 'wh' AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()
    columns = [c for c, _, _ in typed]
    # Parquet has no 128-bit integer: DuckDB writes a HUGEINT (a SUM of integers) as DOUBLE, and counts read back as
    # 1.0. As BIGINT they stay integers (a value beyond BIGINT fails the export, naming the table).
    hugeints = [c for c, t, _ in typed if t == "HUGEINT"]
    replace = (" REPLACE (" + ", ".join(f'CAST("{c}" AS BIGINT) AS "{c}"' for c in hugeints) + ")") if hugeints else ""
    rows = con.execute(f'SELECT count(*) FROM wh."{schema}"."{table}"').fetchone()[0]
    year = _year_column(columns) if rows > partition_rows else None
    folder = outdir / schema
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # was a bare "FileNotFoundError: ... '/proc/nope'" (found by a QA pass)
        raise JlacError(f"the export folder {folder} cannot be made ({exc.strerror or exc}): name a folder that can "
                        "be created and written") from None
    final = folder / (table if year else f"{table}.parquet")
    staging = folder / f".{final.name}.tmp"
    _remove(staging)
    options = f"FORMAT parquet, PARTITION_BY ({year})" if year else "FORMAT parquet"
    options += ", KV_METADATA " + _descriptions(con, schema, table, typed)
    # A year-partitioned write on several threads interleaves the threads' rows in each year's file in whatever order
    # they come: two exports of the same warehouse differed in every file (found by a QA pass). On one thread the same
    # warehouse gives the same bytes; the write was no slower here (fct_trade_annual, 1.8 M rows: 0.94-1.01 s either
    # way; the 38-year HS-9 monthly fact, 47 M rows: 45 s against 48 s, a loaded machine).
    try:
        if year:
            con.execute("SET threads = 1")
        con.execute(f'COPY (SELECT *{replace} FROM wh."{schema}"."{table}") TO {sqltext.literal(staging)} ({options})')
    except duckdb.Error:
        _remove(staging)
        raise
    finally:
        if year:
            con.execute("RESET threads")
    _swap(staging, final)
    # the other layout of the same table (a file or year folders), from an earlier export, even one without a record
    # (made before the record existed): a reader must not find the table twice; the name is this table's
    other = folder / (f"{table}.parquet" if year else table)
    if other.exists():  # a BI connection to the old path breaks: said, not silent (found by a QA pass)
        now = f"year folders {final}" if year else f"one file {final}"
        log.warning("%s.%s: %s rows, now %s (--partition-rows %s); the earlier export's %s is removed: point readers "
                    "at the new path", schema, table, f"{rows:,}", now, f"{partition_rows:,}", other)
    _remove(other)
    return Exported(f"{schema}.{table}", final, rows, year)


def _descriptions(con: duckdb.DuckDBPyConnection, schema: str, table: str, typed: list[tuple]) -> str:
    """The table's and its columns' COMMENTs as a KV_METADATA struct literal: ``table_comment`` and
    ``column_comments`` (JSON, every column, null where it has none). The Parquet files carried none, so a BI tool
    reading them had the columns without their meaning (found by a QA pass)."""
    comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name = ? AND table_name = ? "
        "UNION ALL SELECT comment FROM duckdb_views() WHERE database_name = 'wh' AND schema_name = ? "
        "AND view_name = ?", [schema, table, schema, table]).fetchone()
    columns = json.dumps({name: note for name, _, note in typed}, ensure_ascii=False)
    return (f"{{table_comment: {sqltext.literal((comment and comment[0]) or '')}, "
            f"column_comments: {sqltext.literal(columns)}}}")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _swap(staging: Path, final: Path) -> None:
    # A file is replaced atomically; a partitioned folder cannot be, so the old one is moved aside first.
    if staging.is_dir() and final.exists():
        old = final.with_name(f".{final.name}.old")
        _remove(old)
        os.replace(final, old)
        os.replace(staging, final)
        _remove(old)
    else:
        os.replace(staging, final)
