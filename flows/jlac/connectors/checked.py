"""Before a fetched vintage is stored: the source's own parser and Great Expectations checks, run on the staged files.

A fetched answer that the source's parser or checks would refuse was stored as a new vintage and refused only at the
refresh: every later refresh failed on it (a source that reads its earlier vintages, ``imf-imts``, for good, even after
correct vintages arrived), and it became the "previous vintage" later fetches were compared with (found by a QA pass).
``refuse_unless_checked`` parses the staged files as the refresh does (``jlac.parse``), loads them into a scratch
DuckDB file beside them (with the raw tables of other sources the checks read, the country-name map and the
quarantine, as ``jlac.load`` does) and runs the source's suite (``jlac.validation.validate_source``); a failed check
is a FetchError naming the check and its rows, and nothing is stored.

The cost is paid only when the content differs from the latest vintage (an unchanged answer is not checked again):
a parse of the new files and one GX run over their rows. A source that reads its earlier vintages is checked on
the new vintage alone (its checks are per vintage). A partitioned source (``mof-hs9-country``) is parsed into the
parse cache itself (content-addressed partitions, which the refresh then reuses) and checked on its new files only,
as the refresh checks it; every other source is parsed into a scratch cache that goes with the staging folder.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from jlac.config import Settings
from jlac.errors import JlacError, ParseError, SnapshotError
from jlac.snapshots import Snapshot, latest_snapshot, sha256_file, verify, with_history
from jlac.sources import Source, all_sources, part

log = logging.getLogger(__name__)

STAGED_VINTAGE = "fetched"  # the vintage name the staged files are checked under (messages: "<source>/fetched")
_RAW_TABLE = re.compile(r"\braw\.([a-z0-9_]+)")


def staged_snapshot(source: str, workdir: Path, files: dict[str, Path], manifest: dict) -> Snapshot:
    """The staged files as a snapshot the parser can read: each linked (else copied) under its name in the vintage,
    in ``workdir/.checked/``; the manifest lists them with their sha256 and size."""
    root = workdir / ".checked" / STAGED_VINTAGE
    entries = []
    for name, path in sorted(files.items()):
        dest = root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:  # a filesystem without hard links
            shutil.copy2(path, dest)
        entries.append({"path": name, "bytes": dest.stat().st_size, "sha256": sha256_file(dest)})
    return Snapshot(source, STAGED_VINTAGE, root, {**manifest, "source": source, "vintage": STAGED_VINTAGE,
                                                   "files": entries})


def refuse_unless_checked(settings: Settings, source_name: str, workdir: Path, files: dict[str, Path],
                          manifest: dict, previous: Snapshot | None) -> None:
    """Raise FetchError (nothing is stored) when the staged ``files`` do not parse with the source's parser or fail
    one of its checks; the message names the check and its rows, and that the previous vintage stays the latest."""
    from jlac.connectors import FetchError
    from jlac.validation import summary

    source = all_sources().get(source_name)
    if source is None or part(source, "checks") is None:
        return
    snapshot = staged_snapshot(source_name, workdir, files, manifest)
    kept = (f"the previous vintage {previous.vintage} stays the latest" if previous is not None
            else "no vintage of it is stored")
    log.info("%s: checking the fetched files with the source's parser and checks before storing them", source_name)
    try:
        failed = failed_checks(settings, source, snapshot, workdir / ".checked" / "work")
    except (ParseError, OSError, duckdb.IOException) as exc:
        if (cause := _io_error(exc)) is not None:  # a full disk is no fault of the answer: it may pass
            error = FetchError(f"{source_name}: checking the fetched files before storing them failed while writing "
                               f"in {workdir}: {cause}; nothing was stored ({kept})")
            error.may_pass = True
            raise error from None
        raise FetchError(f"{source_name}: the fetched files do not parse with the source's parser, so they were not "
                         f"stored ({kept}): {exc}") from None
    if failed:
        raise FetchError(f"{source_name}: the fetched answer fails the source's own checks, so it was not stored "
                         f"({kept}; a refresh would refuse it):\n{summary(failed)}")


def _io_error(exc: BaseException) -> BaseException | None:
    """The file-system error behind ``exc`` (itself, or what a parse error was raised from), None for another one."""
    while exc is not None:
        if isinstance(exc, OSError | duckdb.IOException):
            return exc
        exc = exc.__cause__
    return None


def refusal(settings: Settings, snapshot: Snapshot) -> str | None:
    """Why the source would refuse a stored vintage (a checksum mismatch, its parser, a failed check), None when it
    reads and passes it. The vintage alone is read, not its earlier ones."""
    from jlac.validation import summary

    source = all_sources().get(snapshot.source)
    if source is None or part(source, "checks") is None:
        return None
    snapshot = dataclasses.replace(snapshot, older=())
    try:
        verify(snapshot)
        with tempfile.TemporaryDirectory(prefix="jlac-check-") as tmp:
            failed = failed_checks(settings, source, snapshot, Path(tmp))
    except (ParseError, SnapshotError) as exc:
        return str(exc)
    return summary(failed) if failed else None


def failed_checks(settings: Settings, source: Source, snapshot: Snapshot, workdir: Path) -> list:
    """The source's suites that fail on ``snapshot`` alone, loaded as the refresh loads it into a scratch DuckDB
    file in ``workdir`` (ParseError when it does not parse)."""
    from jlac import countries, load, parse, quarantine, validation

    workdir.mkdir(parents=True, exist_ok=True)
    scratch = dataclasses.replace(settings, cache=workdir / "cache")
    batch = parse.parse_to_cache(settings if source.partitioned else scratch, source, snapshot)
    others = _other_sources(source, settings, scratch)
    db = workdir / "checked.duckdb"
    db.unlink(missing_ok=True)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS staging")
        load.load_raw(con, source, snapshot, batch)
        for other, snap, parquet in others:
            load.load_raw(con, other, snap, parquet)
        countries.build_name_map_table(con, {source.name: source, **{o.name: o for o, _, _ in others}})
        quarantine.apply(con, {source.name: source})
    if source.partitioned and snapshot.vintage == STAGED_VINTAGE:
        batch.unlink(missing_ok=True)  # the list of the staged files' partitions: no vintage's (they stay, shared)
    failed = [r for r in validation.validate_source(db, source, snapshot, settings) if not r.success]
    absent = sorted(o.raw_table for o, snap, _ in others if snap is None and o.required)
    if failed and absent:
        # a required source without any snapshot: no refresh can run until it has one, so the checks reading it say
        # nothing about the fetched answer; the others still apply
        blind = {f"{source.name}: {c.name}" for c in _checks(source, snapshot, settings)
                 if any(table in (c.query or "") for table in absent)}
        for r in failed:
            if r.suite in blind:
                log.warning("%s: the check %r reads %s, of which no snapshot exists (a required source): not judged "
                            "before storing", source.name, r.suite, ", ".join(absent))
        failed = [r for r in failed if r.suite not in blind]
    return failed


def _checks(source: Source, snapshot: Snapshot, settings: Settings) -> list:
    module = part(source, "checks")
    extra = {"settings": settings} if "settings" in inspect.signature(module.checks).parameters else {}
    return module.checks(source, snapshot, **extra)


def _other_sources(source: Source, settings: Settings, scratch: Settings) -> list[tuple[Source, Snapshot | None,
                                                                                        Path | None]]:
    """The other sources whose raw tables the source's checks read (``raw.<table>`` in its checks module, e.g. the
    Japan Customs country codes for MOF's HS-9 partners), each with its latest snapshot parsed (None: no snapshot,
    an empty table as in the refresh)."""
    from jlac import parse

    module = part(source, "checks")
    try:
        text = inspect.getsource(module)
    except (OSError, TypeError):
        return []
    by_table = {s.table: s for s in all_sources().values()}
    out = []
    for table in sorted(set(_RAW_TABLE.findall(text)) - {source.table}):
        other = by_table.get(table)
        if other is None:  # raw.<own>_partitions and the like
            continue
        snap = latest_snapshot(other.name, settings)
        if snap is None:
            out.append((other, None, None))
            continue
        if other.reads_history:
            snap = with_history(snap, settings)
        try:
            if other.partitioned:  # parsed into the shared cache, as the refresh would: verified first
                from jlac import partitions

                partitions.verify(snap, settings)
            parquet = parse.parse_to_cache(settings if other.partitioned else scratch, other, snap)
        except JlacError as exc:
            from jlac.connectors import FetchError

            raise FetchError(f"{source.name}: its checks read {other.raw_table}, whose snapshot {snap.id} cannot be "
                             f"read, so the fetched files could not be checked; nothing was stored: {exc}") from None
        out.append((other, snap, parquet))
    return out
