"""Parse a verified snapshot into a typed Parquet batch, cached on everything the parse reads.

The batch's file name carries the cache key: the snapshot's sha256 fingerprint and ``code_version`` (the
parser's code and every jlac module it uses, the reviewed data files, the declared columns). A batch that
exists is reused; anything that could change the parse's output changes the name. This file cache is the
only parse cache (Prefect's task cache is not used for it).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import logging
import os
import traceback
from pathlib import Path

import duckdb

import jlac
from jlac import config, partitions, sealed, sqltext
from jlac.config import Settings
from jlac.errors import UNEXPECTED, JlacError, ParseError, is_interrupt, no_space_left
from jlac.snapshots import Snapshot, recording_earlier_reads, verify_earlier
from jlac.sources import Source

log = logging.getLogger(__name__)


def _jlac_modules(*modules) -> list:
    """The modules and every jlac module they use, directly or through others (what a parse can run)."""
    seen: dict[str, object] = {}
    todo = list(modules)
    while todo:
        mod = todo.pop()
        if mod.__name__ in seen:
            continue
        seen[mod.__name__] = mod
        for value in vars(mod).values():
            if inspect.ismodule(value) and value.__name__.startswith(mod.__name__ + "."):
                continue  # a package's loaded submodules (every source, its checks and connector) are not its code
            name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
            if isinstance(name, str) and (name == "jlac" or name.startswith("jlac.")) and name not in seen:
                todo.append(importlib.import_module(name))
    return [seen[n] for n in sorted(seen)]


def hash_code(h, *modules) -> None:
    """Feed ``h`` (a hashlib object) the name and source text of ``modules`` and of every jlac module they use
    (``_jlac_modules``): a version built on it changes whenever any code those modules can run changes."""
    for mod in _jlac_modules(*modules):
        h.update(mod.__name__.encode())
        h.update(inspect.getsource(mod).encode())


PARSE_CORE = "2"  # bump when parse_to_cache changes what it writes (2: identical repeats dropped)


def code_version(source: Source) -> str:
    """Changes whenever anything a parse reads changes: the parser's code and every jlac module it uses, the
    reviewed data files (country-name overrides, ...), the declared columns, and the source or jlac version."""
    module = importlib.import_module(f"{source.package}.source")  # the folder's package is walked too (its __init__)
    h = hashlib.sha256()
    hash_code(h, module, importlib.import_module(source.package))
    data_dir = config.DATA_DIR  # reviewed files parsers read (country-name overrides, ...)
    for path in sorted(data_dir.rglob("*")) if data_dir.is_dir() else []:
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    h.update(repr([(c.name, c.type) for c in source.columns]).encode())
    h.update(f"{source.version}/{jlac.__version__}/{PARSE_CORE}".encode())
    return h.hexdigest()[:16]


def cache_key(source: Source, snapshot: Snapshot) -> str:
    """The parse's cache key: a digest of the snapshot's fingerprint and the parser's ``code_version``."""
    return hashlib.sha256(f"{snapshot.fingerprint}/{code_version(source)}".encode()).hexdigest()[:24]


def cache_path(settings: Settings, source: Source, snapshot: Snapshot) -> Path:
    """Where the snapshot's parsed batch is cached: ``<JLAC_CACHE>/<source>/<vintage>-<cache_key>.parquet``."""
    return settings.cache_dir / source.name / f"{snapshot.vintage}-{cache_key(source, snapshot)}.parquet"


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
             "UHUGEINT", "INT", "INT4", "INT8", "INT2", "INT1", "LONG", "SHORT"}


def _exact(kind: str) -> bool:
    """An integer or DECIMAL type: a value with more decimals than it holds is rounded by a cast, without a word."""
    kind = kind.upper().strip()
    return kind in _INTEGERS or kind.startswith(("DECIMAL", "NUMERIC"))


def _numeric(kind: str) -> bool:
    kind = kind.upper().strip()
    return _exact(kind) or kind in ("FLOAT", "REAL", "FLOAT4", "DOUBLE", "FLOAT8")


def check_output_columns(source: Source, produced: list[str], label: str) -> None:
    """The parser's output must hold every declared column and no other: a column it returns that
    ``Source.columns`` does not declare was dropped without a word (found by a QA pass, as a contributor)."""
    missing = [c.name for c in source.columns if c.name not in produced]
    if missing:
        raise ParseError(f"{label}: parser output lacks column(s) {missing}")
    declared = {c.name for c in source.columns}
    extra = [c for c in produced if c not in declared]
    if extra:
        raise ParseError(
            f"{label}: parser output has column(s) {extra} that the source does not declare: add them to "
            f"Source.columns (with a type and a description) in {source.package.replace('.', '/')}/source.py, or "
            "leave them out of the parser's SELECT")


def typed_columns(source: Source, produced: dict[str, str], label: str) -> str:
    """The SELECT list casting the parser's columns (``produced``: name -> DuckDB type) to their declared types.

    A cast to an integer or DECIMAL type rounds (DuckDB: 19.08 -> 19, '19.5' -> 20): a declared type narrower than
    the values was published rounded, without a warning (found by a QA pass). Such a cast stops the parse instead
    (DuckDB's ``error()``, raised as it reads), naming the column, the declared type and the first value it would
    round; the same type, or a value it holds exactly, costs nothing more."""
    out = []
    for c in source.columns:
        col, kind = sqltext.ident(c.name), produced.get(c.name, c.type)
        cast = f"CAST({col} AS {c.type})"
        if _exact(c.type) and kind.upper() != c.type.upper() and (_numeric(kind) or kind.upper() == "VARCHAR"):
            back = f"CAST({cast} AS {kind})" if _numeric(kind) else f"CAST({cast} AS DOUBLE)"
            original = col if _numeric(kind) else f"TRY_CAST({col} AS DOUBLE)"
            rounds = f"{back} <> {original}"
            if not _exact(kind) and _numeric(kind):  # a float's own noise (0.1 + 0.2) is not a value rounded away
                rounds = f"abs({back} - {col}) > 1e-12 * abs({col})"
            said = sqltext.literal(f"{label}: column {c.name} is declared {c.type}, which would round the parser's "
                                   f"{kind} value ")
            advice = sqltext.literal("): declare a type that holds it (DOUBLE, a wider DECIMAL) or round in the parser")
            cast = (f"CASE WHEN {rounds} THEN error({said} || CAST({col} AS VARCHAR) || ' (to ' || "
                    f"CAST({cast} AS VARCHAR) || {advice}) ELSE {cast} END")
        out.append(f"{cast} AS {col}")
    return ", ".join(out)


def rounding_refused(exc: BaseException, label: str) -> ParseError | None:
    """The ParseError for ``typed_columns``' refusal of a rounding cast (DuckDB raised its whole message), or None when
    ``exc`` is another error."""
    if isinstance(exc, duckdb.InvalidInputException) and f"{label}: column " in str(exc):
        return ParseError(str(exc).removeprefix("Invalid Input Error: "))
    return None


def _typed_select(source: Source, rel: duckdb.DuckDBPyRelation, rel_name: str, label: str) -> str:
    produced = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
    return f"SELECT {typed_columns(source, produced, label)} FROM {rel_name}"


def parse_to_cache(settings: Settings, source: Source, snapshot: Snapshot) -> Path:
    """Parse a verified snapshot into a typed Parquet file; reuse it when it already exists.

    Identical repeats (same key and values, read from another row) are dropped here and counted in the
    log; rows that share a key but differ in value are kept, and validation refuses them naming both.
    Any error of a parser ends as a ParseError naming the source and the snapshot.
    A partitioned source gets one Parquet file per snapshot file instead; the list of them is returned.
    """
    if source.partitioned:
        return partitions.parse_all(settings, source, snapshot)
    out = cache_path(settings, source, snapshot)
    if out.exists() and not partitions.parquet_intact(out):
        log.warning("%s: cached batch %s is damaged or changed since it was written; parsed again", source.name, out)
    elif out.exists():
        verify_history_read(settings, source, snapshot, out)
        log.info("%s: snapshot %s unchanged (cache %s); parse skipped", source.name, snapshot.id, out.name)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            _parse_into(con, source, snapshot, tmp)
        except JlacError as exc:
            tmp.unlink(missing_ok=True)
            if not isinstance(exc, ParseError) or snapshot.id in str(exc):
                raise
            raise ParseError(f"{snapshot.id}: {exc}") from exc  # every message names the vintage
        except Exception as exc:  # a parser slip must still reach the user as a message, not a traceback
            tmp.unlink(missing_ok=True)
            if is_interrupt(exc):  # stopped (Ctrl-C, SIGTERM), not a file the parser cannot read
                raise
            if full := no_space_left(exc, f"the parse of {source.name} {snapshot.id}", out.parent):
                raise full from exc
            log.debug("unexpected parser error", exc_info=True)
            at = raised_at(exc, source.parse)
            raise ParseError(
                f"{source.name} {snapshot.id}: {UNEXPECTED} ({type(exc).__name__}: {exc}{at}); the files do not "
                "have the layout the parser expects, or the parser has a bug there (`jlac -v refresh` shows the "
                "traceback)"
            ) from exc
        sealed.seal(tmp, out)
        os.replace(tmp, out)
    log.info("%s: parsed %s into %s", source.name, snapshot.id, out.name)
    return out


EARLIER_READ_KEY = "jlac_earlier_read"  # the batch's Parquet key-value metadata: the earlier vintages its parse read


def verify_history_read(settings: Settings, source: Source, snapshot: Snapshot, batch: Path | None = None) -> None:
    """Verify the earlier vintages a cached batch's parse read, as that parse did (the refresh's verify stage, and
    ``parse_to_cache`` when it reuses a batch): a history-reading parse checks them when it runs, so an earlier vintage
    damaged after its batch was cached went unnoticed while the cache lasted, and a build without the cache then
    refused what one with it published (found by a QA pass). Exactly the vintages that parse verified (kept in the
    batch's metadata; a batch written before has the vintages it holds rows of). Nothing when there is no intact
    cached batch: the parse runs and verifies them itself. The record of verified files makes an unchanged vintage
    cost a stat per file."""
    if not (source.reads_history and snapshot.older) or source.partitioned:
        return
    batch = batch or cache_path(settings, source, snapshot)
    if not batch.exists() or not partitions.parquet_intact(batch):
        return
    with duckdb.connect() as con:
        kept = con.execute("SELECT value FROM parquet_kv_metadata(?) WHERE decode(key) = ?",
                           [str(batch), EARLIER_READ_KEY]).fetchone()
        read = set(json.loads(kept[0].decode())) if kept else {v for (v,) in con.execute(
            "SELECT DISTINCT vintage FROM read_parquet(?)", [str(batch)]).fetchall()}
    for earlier in snapshot.older:
        if earlier.vintage in read:
            verify_earlier(snapshot, earlier, lambda snap: partitions.verify(snap, settings, parse_cached=True))


def raised_at(exc: BaseException, parser=None) -> str:
    """`` at <file> line <n> (in <function>)``: the last place in jlac's code (or the module of ``parser``, a parse
    function kept elsewhere) the exception passed through: the parser's own line, not pandas' or DuckDB's below it;
    empty when none. A KeyError from a parser was reported as the files' layout only, with nothing to tell a bug in
    the parser from a changed file (found by a QA pass)."""
    own = [Path(jlac.__file__).resolve().parent]
    if code := getattr(parser, "__code__", None):
        own.append(Path(code.co_filename).resolve())
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if any(Path(f.filename).resolve().is_relative_to(p) for p in own)]
    if not frames:
        return ""
    last = frames[-1]
    where = Path(last.filename).resolve()
    # in a checkout, the path from its root (flows/jlac/...); installed from a wheel, the whole path
    root = config.PROJECT_ROOT if (config.PROJECT_ROOT / "pyproject.toml").is_file() else None
    shown = where.relative_to(root) if root and where.is_relative_to(root) else where
    return f" at {shown} line {last.lineno} (in {last.name})"


def _parse_into(con: duckdb.DuckDBPyConnection, source: Source, snapshot: Snapshot, tmp: Path) -> None:
    with recording_earlier_reads() as earlier_read:
        rel = source.parse(snapshot, con)
    label = f"{source.name} {snapshot.id}"
    check_output_columns(source, rel.columns, label)
    con.register("parsed", rel)
    try:
        con.execute(f"CREATE TEMP TABLE _typed AS SELECT row_number() OVER () AS _order, * FROM "
                    f"({_typed_select(source, rel, 'parsed', label)})")
    except duckdb.ConversionException as exc:
        raise ParseError(f"{label}: a value does not fit its declared column type: {exc}") from exc
    except duckdb.InvalidInputException as exc:
        if refused := rounding_refused(exc, label):
            raise refused from exc
        raise
    select = "SELECT * EXCLUDE (_order) FROM _typed ORDER BY _order"
    key, payload = source.value_key, source.payload
    if key:
        keys = ", ".join(f'"{c}"' for c in key)
        repeated = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM _typed GROUP BY {keys} HAVING count(*) > 1)").fetchone()[0]
        if repeated:
            same = ", ".join(f'"{c}"' for c in (*key, *payload))
            con.execute(f"CREATE TEMP TABLE _first AS SELECT * FROM _typed "
                        f"QUALIFY row_number() OVER (PARTITION BY {same} ORDER BY _order) = 1")
            dropped = con.execute("SELECT (SELECT count(*) FROM _typed) - (SELECT count(*) FROM _first)").fetchone()[0]
            if dropped:
                log.info("%s %s: %d identical repeated row(s) dropped (same %s and values as an earlier row)",
                         source.name, snapshot.id, dropped, ", ".join(key))
            select = "SELECT * EXCLUDE (_order) FROM _first ORDER BY _order"
    kv = f", KV_METADATA {{{EARLIER_READ_KEY}: {sqltext.literal(json.dumps(earlier_read))}}}" if earlier_read else ""
    con.execute(f"COPY ({select}) TO {sqltext.literal(tmp)} (FORMAT parquet{kv})")
