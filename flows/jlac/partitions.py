"""Partitioned sources: one Parquet partition per snapshot file, and raw.<table> a view over them.

For a source too large to copy into every build (``Source.parse_file`` set, e.g. ``mof-hs9-country``):

* **verify** checks the manifest like ``jlac.snapshots.verify``, but remembers each file it hashed by
  (device, inode, size, mtime), as git's index does: a file seen unchanged since (an unchanged file, or a
  hard link of it in a new vintage) is not read again. Changed, new, missing and unlisted files fail exactly
  as in ``snapshots.verify``.
* **parse** turns each file into ``cache/<source>/parts/<sha256>-<name>-<code version>.parquet`` (``partition_path``),
  sealed with a CRC-32 (``jlac.sealed``) — content-addressed, so an unchanged file is never parsed twice, across
  vintages too, and a partition damaged or edited since it was written is parsed again. Files are independent: the
  fan-out runs one task per file, in process or on a Dask cluster (``jlac.pipeline``). The list of a snapshot's
  partitions is written beside them (``<vintage>-<key>.parts.json``).
* **load** creates ``raw.<table>`` as a view over the partitions (nothing copied) and ``raw.<table>_partitions``
  (file, sha256, Parquet path, rows, and the checks version it was validated under).
* **validate** (the source's checks) looks at the partitions the published warehouse does not already hold under
  the same checks: a published partition passed the same suite when it was published.

Partitions are never deleted by a refresh: the published warehouse's view reads them. If they are no longer where
the view lists them (the warehouse home moved, the cache was deleted), the next refresh loads the source again
(``missing_partitions``): moved partitions are found under the new cache by name and not checked again, deleted
ones are parsed again from the snapshot.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from jlac import sealed, sqltext, textfiles
from jlac.bulk_insert import insert_rows
from jlac.comments import comment_raw_table, comment_table
from jlac.config import Settings
from jlac.errors import UNEXPECTED, JlacError, ParseError, is_interrupt, no_space_left
from jlac.snapshots import Snapshot, missing_problem, raise_problems, sha256_file, size_problem
from jlac.sources import Source

log = logging.getLogger(__name__)


def checks_version(source: Source) -> str:
    """Changes whenever the code of the source's checks changes: its checks.py and every jlac module it uses
    (``jlac.checks``, ``jlac.validation``, ...), so published partitions are checked again after a fix in any."""
    from jlac import parse  # (jlac.parse imports this module)

    h = hashlib.sha256()
    parse.hash_code(h, importlib.import_module(f"{source.package}.checks"))
    return h.hexdigest()[:16]


def _synthetic(snapshot: Snapshot) -> bool:
    return snapshot.manifest.get("synthetic") is True


def partition_path(settings: Settings, source: Source, snapshot: Snapshot, rel: str, version: str | None = None
                   ) -> Path:
    """The partition of one file, named by everything its content depends on: the file's sha256, its name in the
    snapshot (a partition's rows carry it, in the ``file`` column the checks select new rows by), the parser's
    version and the synthetic tag. Named by content alone, a file refused by validation and sent again under
    another name reused the partition of its first name: the checks of the new name selected no row, and its
    rows were published (found by a QA pass)."""
    if not version:
        from jlac import parse  # (jlac.parse imports this module)

        version = parse.code_version(source)
    sha = next(f.sha256 for f in snapshot.files if f.path == rel)
    name = hashlib.sha256(rel.encode()).hexdigest()[:8]
    tag = "-synthetic" if _synthetic(snapshot) else ""
    return settings.cache_dir / source.name / "parts" / f"{sha}-{name}-{version}{tag}.parquet"


# --- verify ----------------------------------------------------------------------------------------

def _stat_key(path: Path) -> tuple[str, list[int]]:
    """(device:inode, [size, mtime]): a hard link of a verified file (an unchanged file of a new vintage) is known."""
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}", [st.st_size, st.st_mtime_ns]


def _bytes_needed(settings: Settings, snapshot: Snapshot):
    """``needed(rel)``: whether this refresh reads the file's bytes, its parse not being cached. Such a file is hashed
    even when its device, inode, size and mtime are those of a verified one: a same-size change made in place with
    its mtime put back was parsed and published unchecked (found by a QA pass). A file whose parse is cached is
    trusted by its stat: what is loaded is the parse of the bytes that were verified."""
    from jlac import parse  # (jlac.parse imports this module)
    from jlac.sources import all_sources

    source = all_sources().get(snapshot.source)
    if source is None:
        return lambda rel: True
    if source.partitioned:
        version = parse.code_version(source)
        return lambda rel: not parquet_intact(partition_path(settings, source, snapshot, rel, version))
    cached = parquet_intact(parse.cache_path(settings, source, snapshot))
    return lambda rel: not cached


def verify(snapshot: Snapshot, settings: Settings, *, parse_cached: bool = False) -> int:
    """Check every file against the manifest; return how many files were hashed (the rest were known unchanged and
    their parse is cached). ``parse_cached``: the caller loads a cached parse of these files (an earlier vintage in a
    history-reading source's batch), so a file is trusted by its stat as when its own parse is cached."""
    cache_file = settings.cache_dir / snapshot.source / "verified.json"
    try:
        known = json.loads(cache_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        known = {}
    problems, to_hash = [], []
    needed = (lambda rel: False) if parse_cached else _bytes_needed(settings, snapshot)
    for f in snapshot.files:
        p = snapshot.path(f.path)
        if not p.is_file():
            problems.append(missing_problem(f, p))
            continue
        inode, stat = _stat_key(p)
        if wrong_size := size_problem(f, stat[0]):
            problems.append(wrong_size)
            continue
        seen = known.get(inode)
        if not (seen and seen[:2] == stat and seen[2] == f.sha256) or needed(f.path):
            to_hash.append(f)
    # hashlib lets go of the GIL on large blocks: two threads hash two files at once.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        actual = dict(zip([f.path for f in to_hash], pool.map(lambda f: sha256_file(snapshot.path(f.path)), to_hash),
                          strict=True))
    for f in to_hash:
        if actual[f.path] != f.sha256:
            problems.append(f"checksum mismatch for {f.path}: manifest sha256 {f.sha256[:12]}…, "
                            f"file has {actual[f.path][:12]}…")
        else:
            inode, stat = _stat_key(snapshot.path(f.path))
            known[inode] = [*stat, f.sha256]
    raise_problems(snapshot, problems)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(known), encoding="utf-8")
    except OSError as exc:  # a full disk: no empty leftover, and the error says what was being written
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, f"{exc.strerror}: writing the record of verified files", str(cache_file)) from exc
    os.replace(tmp, cache_file)
    return len(to_hash)


# --- parse -----------------------------------------------------------------------------------------

def parquet_intact(path: Path) -> bool:
    """A cached Parquet file is the one jlac wrote: it starts and ends with Parquet's magic bytes (a file cut short by
    a full disk or a copy that stopped does not) and has the bytes of its seal (``jlac.sealed``: a file damaged inside
    or edited by hand does not). Eight bytes and a stat while the file is untouched, so every refresh can afford it
    for every partition."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
            f.seek(-4, os.SEEK_END)
            whole = head == b"PAR1" and f.read(4) == b"PAR1" and path.stat().st_size > 12
    except OSError:  # missing, unreadable, or shorter than the magic bytes
        return False
    return whole and sealed.intact(path)


def parse_partition(settings: Settings, source: Source, snapshot: Snapshot, rel: str, version: str | None = None,
                    threads: int | None = None) -> str:
    """Parse one verified file into its Parquet partition (skipped when it exists); return the partition's path.

    This is the unit of the fan-out: it only needs the file and a place to write, so it runs on any worker
    that sees both.
    """
    out = partition_path(settings, source, snapshot, rel, version)
    if parquet_intact(out):
        return str(out)
    if out.exists():
        log.warning("%s %s/%s: cached partition %s is damaged or changed since it was written; parsed again",
                    source.name, snapshot.id, rel, out)
    # Where the parse runs (a Dask worker, JLAC_TASK_RUNNER) it must see the snapshot and write the cache at the
    # paths the refresh gave: each said as such, once, not as a file in the wrong layout or an OSError retried for
    # 25 s (found by a QA pass)
    where = f"on host {socket.gethostname()}, process {os.getpid()}"
    if not snapshot.path(rel).is_file():
        raise ParseError(f"{source.name} {snapshot.id}/{rel}: no file at {snapshot.path(rel)} {where}; the parse "
                         "reads the snapshot where it runs (with JLAC_TASK_RUNNER, a Dask worker), which must see "
                         "the snapshot stores (JLAC_MIRROR, JLAC_SNAPSHOTS) at the same paths as the refresh")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch()
    except OSError as exc:
        raise JlacError(f"{source.name} {snapshot.id}/{rel}: cannot write the parse cache {out.parent} {where} "
                        f"({exc.strerror or exc}); JLAC_CACHE must be writable where the parse runs (with "
                        "JLAC_TASK_RUNNER, on every Dask worker)") from exc
    from jlac.parse import check_output_columns, rounding_refused, typed_columns  # (jlac.parse imports this module)

    label = f"{source.name} {snapshot.id}/{rel}"
    with duckdb.connect(config={"threads": threads} if threads else {}) as con:
        try:
            select = source.parse_file(snapshot, rel, con)
            described = con.sql(select)  # bound, not run: the output's names and types
            check_output_columns(source, described.columns, label)
            cols = typed_columns(source, dict(zip(described.columns, map(str, described.types), strict=True)), label)
            con.execute(f"COPY (SELECT {cols} FROM ({select})) TO {sqltext.literal(tmp)} (FORMAT parquet)")
        except JlacError:
            tmp.unlink(missing_ok=True)
            raise
        except duckdb.Error as exc:
            tmp.unlink(missing_ok=True)
            if is_interrupt(exc):
                raise
            if full := no_space_left(exc, f"the parse of {source.name} {snapshot.id}/{rel}", out.parent):
                raise full from exc
            if refused := rounding_refused(exc, label):
                raise refused from exc
            textfiles.explain_read_error(snapshot.path(rel), f"{source.name} {snapshot.id}/{rel}", exc)
            raise ParseError(f"{source.name} {snapshot.id}/{rel}: {textfiles.reader_error(exc)}") from exc
        except Exception as exc:  # a parser slip must still reach the user as a message, not a traceback
            tmp.unlink(missing_ok=True)
            if is_interrupt(exc):  # stopped (Ctrl-C, SIGTERM), not a file the parser cannot read
                raise
            from jlac.parse import raised_at  # (jlac.parse imports this module)

            raise ParseError(f"{source.name} {snapshot.id}/{rel}: {UNEXPECTED} ({type(exc).__name__}: {exc}"
                             f"{raised_at(exc, source.parse_file)}); the file does not have the layout the parser "
                             "expects, or the parser has a bug there (`jlac -v refresh` shows the traceback)") from exc
        _write_stats(con, source, tmp, stats_path(out))
    sealed.seal(tmp, out)
    os.replace(tmp, out)  # the partition last: a partition never exists without its statistics and seal
    return str(out)


def stats_path(partition: Path) -> Path:
    """The file beside a partition keeping its row count and min/max (``<partition>.stats.json``)."""
    return partition.with_name(partition.name + ".stats.json")


def _write_stats(con: duckdb.DuckDBPyConnection, source: Source, parquet: Path, dest: Path) -> dict:
    """Rows and the min/max of ``source.partition_stats`` from the partition's Parquet footer, kept beside it so
    that loading a snapshot of many partitions reads none of them."""
    cols = [c for c in source.columns if c.name in source.partition_stats]
    minmax = "".join(
        f", min(CASE WHEN path_in_schema = '{c.name}' THEN TRY_CAST(stats_min_value AS {c.type}) END)"
        f", max(CASE WHEN path_in_schema = '{c.name}' THEN TRY_CAST(stats_max_value AS {c.type}) END)"
        for c in cols)
    row = con.execute(f"SELECT coalesce(sum(row_group_num_rows) FILTER (WHERE column_id = 0), 0){minmax} "
                      "FROM parquet_metadata(?)", [str(parquet)]).fetchone()
    stats = {"rows": row[0], "minmax": [v if isinstance(v, int | float | None) else str(v) for v in row[1:]]}
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(stats), encoding="utf-8")
    os.replace(tmp, dest)
    return stats


def read_stats(con: duckdb.DuckDBPyConnection, source: Source, partition: Path) -> dict:
    """A partition's ``{"rows": n, "minmax": [...]}`` (min and max of each ``source.partition_stats`` column), from
    the file beside it; read from the Parquet footer, and written beside it, when that file is missing or torn."""
    try:
        return json.loads(stats_path(partition).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):  # written by an older jlac: read the footer once
        return _write_stats(con, source, partition, stats_path(partition))


def parts_list_path(settings: Settings, source: Source, snapshot: Snapshot, version: str) -> Path:
    """Where ``parse_all`` writes the list of a snapshot's partitions, named by its vintage and a digest of the
    snapshot's fingerprint and the parser's ``version``."""
    key = hashlib.sha256(f"{snapshot.fingerprint}/{version}".encode()).hexdigest()[:24]
    return settings.cache_dir / source.name / f"{snapshot.vintage}-{key}.parts.json"


def parse_all(settings: Settings, source: Source, snapshot: Snapshot, fan_out=None) -> Path:
    """Parse every data file of the snapshot that has no partition yet, and write the list of its partitions;
    return that list's path.

    ``fan_out(files, version)`` parses the given files (each with ``parse_partition``), e.g. as Prefect tasks on a
    Dask cluster; by default they are parsed in this process, one file per core at a time (a file's Parquet write
    keeps about one core busy, so files side by side use the machine better than threads inside one file).
    """
    files = source.data_files(snapshot)
    if not files:
        raise ParseError(f"{source.name} {snapshot.id}: no data file in the snapshot")
    from jlac import parse  # (jlac.parse imports this module)

    version = parse.code_version(source)
    todo = [f for f in files if not parquet_intact(partition_path(settings, source, snapshot, f, version))]
    if todo and fan_out is not None:
        fan_out(todo, version)
    elif todo:
        workers = min(len(todo), os.cpu_count() or 1)
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ThreadPoolExecutor(max_workers=workers) as pool:  # DuckDB releases the GIL while it works
            list(pool.map(lambda rel: parse_partition(settings, source, snapshot, rel, version, threads), todo))
    log.info("%s: %d of %d file(s) parsed into partitions, %d unchanged", source.name, len(todo), len(files),
             len(files) - len(todo))
    sha = {f.path: f.sha256 for f in snapshot.files}
    entries = []
    for f in files:
        part = partition_path(settings, source, snapshot, f, version)
        if not part.exists():
            raise ParseError(f"{source.name} {snapshot.id}/{f}: partition {part} was not written by the fan-out")
        entries.append({"file": f, "sha256": sha[f], "parquet": str(part)})
    out = parts_list_path(settings, source, snapshot, version)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(entries, indent=1), encoding="utf-8")
    os.replace(tmp, out)
    return out


# --- load ------------------------------------------------------------------------------------------

def load_view(con: duckdb.DuckDBPyConnection, source: Source, snapshot: Snapshot | None, parts: Path | None) -> int:
    """raw.<table> as a view over the partitions (empty without a snapshot) and raw.<table>_partitions."""
    declared = ", ".join(f'"{c.name}"' for c in source.columns)
    entries = json.loads(parts.read_text(encoding="utf-8")) if parts is not None and snapshot is not None else []
    stats = [c for c in source.columns if c.name in source.partition_stats]
    stat_cols = "".join(f", min_{c.name} {c.type}, max_{c.name} {c.type}" for c in stats)
    # An incremental build is a copy of the published warehouse: the partitions it already lists are not new.
    held = _listed_partitions(con, source)
    con.execute(f"CREATE OR REPLACE TABLE {source.raw_table}_partitions (file VARCHAR, sha256 VARCHAR, "
                f"parquet VARCHAR, rows BIGINT, checks_version VARCHAR, is_new BOOLEAN{stat_cols})")
    if entries:
        paths = "[" + ", ".join(sqltext.literal(e["parquet"]) for e in entries) + "]"
        con.execute(
            f"CREATE OR REPLACE VIEW {source.raw_table} AS SELECT {declared}, {sqltext.literal(snapshot.id)} "
            f"AS snapshot_id, {sqltext.literal(snapshot.vintage)} AS vintage FROM read_parquet({paths})"
        )
        # Row counts and per-partition min/max, read from the partitions' footers when they were written.
        version = checks_version(source)
        rows = []
        for e in entries:
            known = read_stats(con, source, Path(e["parquet"]))
            rows.append((e["file"], e["sha256"], e["parquet"], known["rows"], version,
                         Path(e["parquet"]).name not in held, *known["minmax"]))
        insert_rows(con, f"{source.raw_table}_partitions", rows)
    else:
        typed = ", ".join(f'CAST(NULL AS {c.type}) AS "{c.name}"' for c in source.columns)
        con.execute(f"CREATE OR REPLACE VIEW {source.raw_table} AS SELECT {typed}, CAST(NULL AS VARCHAR) AS "
                    "snapshot_id, CAST(NULL AS VARCHAR) AS vintage WHERE false")
    comment_raw_table(con, source, has_snapshot=snapshot is not None)
    comment_table(con, f"{source.raw_table}_partitions", f"Parquet partitions behind {source.raw_table}: "
                         "one per snapshot file, content-addressed.", {
        "file": "File in the snapshot", "sha256": "sha256 of the file (verified)",
        "parquet": "Partition the file was parsed into", "rows": "Rows in the partition",
        "checks_version": "Version of the source's checks this partition passed in this build",
        "is_new": "True when the build that loaded it was the first to hold this partition (not in the warehouse "
                  "it was copied from); the dbt tests on views over the partitions check these rows",
        **{f"{m}_{c}": f"{'Smallest' if m == 'min' else 'Largest'} {c} in the partition (Parquet statistics)"
           for c in source.partition_stats for m in ("min", "max")}})
    return con.execute(f"SELECT coalesce(sum(rows), 0) FROM {source.raw_table}_partitions").fetchone()[0]


def mark_none_new(con: duckdb.DuckDBPyConnection) -> None:
    """Set ``is_new`` false in every ``raw.*_partitions`` table of a build (one copied from the published warehouse):
    a partitioned source this build does not load again has no new partitions (``load_view`` marks those it does)."""
    for (table,) in con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'raw' "
            "AND table_name LIKE '%\\_partitions' ESCAPE '\\' AND column_name = 'is_new'").fetchall():
        con.execute(f'UPDATE raw."{table}" SET is_new = false')


def _listed_partitions(con: duckdb.DuckDBPyConnection, source: Source) -> set[str]:
    """Names of the partitions already in ``raw.<table>_partitions`` of this build (none in a new build file):
    content-addressed, so a partition is the same one wherever the cache is."""
    if not _has_partitions_table(con, source):
        return set()
    return {Path(r[0]).name for r in con.execute(f"SELECT parquet FROM {source.raw_table}_partitions").fetchall()}


def _has_partitions_table(con: duckdb.DuckDBPyConnection, source: Source, database: str | None = None) -> bool:
    """Whether ``raw.<table>_partitions`` exists in ``database`` (default: the connection's own)."""
    schema, table = source.raw_table.split(".")
    where = "database_name = ?" if database else "database_name = current_database()"
    return con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE {where} AND schema_name = ? AND table_name = ?",
                       [*([database] if database else []), schema, f"{table}_partitions"]).fetchone()[0] > 0


# --- validate: only what the published warehouse does not already hold ----------------------------

def published_partitions(settings: Settings, source: Source, select: str, where: str = "true",
                         params: list | None = None) -> list[tuple] | None:
    """``SELECT {select} FROM raw.<table>_partitions WHERE {where}`` in the published warehouse (attached read-only,
    or a copy of it while a user's session holds it for writing: every published row was checked again then, as if
    there were none; found by a review); None when there is none, or it has no partitions table of this source (an
    older warehouse)."""
    from jlac import warehouse

    if not settings.warehouse.exists():
        return None

    def read(path: Path) -> list[tuple] | None:
        with duckdb.connect() as con:
            con.execute("ATTACH ? AS published (TYPE duckdb, READ_ONLY)", [str(path)])
            if not _has_partitions_table(con, source, "published"):
                return None
            return con.execute(f"SELECT {select} FROM published.{source.raw_table}_partitions WHERE {where}",
                               params or []).fetchall()

    try:
        return warehouse.read_published(settings, read, f"{source.name} partitions")
    except duckdb.Error:  # damaged: the plan's own read of it says so
        return None


def files_to_validate(settings: Settings, source: Source, snapshot: Snapshot | None) -> list[str] | None:
    """Files of the snapshot whose partition is not in the published warehouse under the same checks.

    None means every file (no published warehouse, or it has no partitions of this source).
    """
    rows = None if snapshot is None else published_partitions(settings, source, "parquet", "checks_version = ?",
                                                               [checks_version(source)])
    if rows is None:  # check everything
        return None
    done = {Path(r[0]).name for r in rows}
    from jlac import parse  # (jlac.parse imports this module)

    version = parse.code_version(source)
    # by name (sha256 of the file + parser version): the same partition, even where the cache has moved
    return [f for f in source.data_files(snapshot)
            if partition_path(settings, source, snapshot, f, version).name not in done]


def missing_partitions(settings: Settings, sources: dict[str, Source]) -> dict[str, str]:
    """Partitioned sources whose published view reads partitions that are not where it lists them (the warehouse
    home moved, or its cache was deleted) or are damaged (``parquet_intact``): {source: what is missing}. Their views
    fail on every read, so the refresh must load them again (``jlac.plan``), whatever else changed. While another
    process holds the published file open for writing (a user's session), its checkpointed bytes are read from a
    copy, as the plan reads its inputs (``plan.published_inputs``)."""
    partitioned = {n: s for n, s in sources.items() if s.partitioned}
    if not partitioned or not settings.warehouse.exists():
        return {}
    from jlac import warehouse

    try:
        return warehouse.read_published(settings, lambda path: _missing_in(path, partitioned), "partitions")
    except duckdb.Error as exc:  # unreadable: the plan's own read of the warehouse says so and rebuilds
        log.warning("published warehouse %s: partitions not checked (%s)", settings.warehouse, exc)
        return {}


def _missing_in(path: Path, partitioned: dict[str, Source]) -> dict[str, str]:
    out = {}
    with duckdb.connect() as con:
        con.execute("ATTACH ? AS published (TYPE duckdb, READ_ONLY)", [str(path)])
        for name, source in sorted(partitioned.items()):
            if not _has_partitions_table(con, source, "published"):
                continue
            listed = [r[0] for r in con.execute(
                f"SELECT parquet FROM published.{source.raw_table}_partitions ORDER BY parquet").fetchall()]
            gone = [p for p in listed if not parquet_intact(Path(p))]
            if gone:
                out[name] = f"{len(gone)} of {len(listed)} partition(s) missing or damaged, e.g. {gone[0]}"
    return out
