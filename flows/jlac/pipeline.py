"""The refresh as plain functions: discover -> verify -> parse -> load -> validate -> model -> figures -> publish.

Each function is usable without Prefect; ``jlac.refresh_flow`` wraps them as tasks.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import logging
import os
import pkgutil
import shutil
from pathlib import Path

import duckdb

import jlac
from jlac import countries, ledger, partitions, publish_hooks, transform, validation, warehouse
from jlac.comments import comment_table
from jlac.config import Settings
from jlac.errors import UNEXPECTED, JlacError, ParseError, SnapshotError, ValidationFailed
from jlac.ledger import RunRecord, new_run_id
from jlac.snapshots import Snapshot, latest_snapshot, verify
from jlac.sources import Source, all_sources

log = logging.getLogger(__name__)
DATA_DIR = Path(jlac.__file__).parent / "data"  # reviewed files parsers read (country-name overrides, ...)


# --- discover and verify -------------------------------------------------------------------------

def discover(settings: Settings, names: list[str] | None = None, pins: dict[str, str] | None = None
             ) -> dict[str, Snapshot | None]:
    """The snapshot each source will be built from (latest vintage unless pinned); None when absent."""
    sources = all_sources()
    unknown = sorted(set(names or []) - set(sources))
    if unknown:
        raise JlacError(f"unknown source(s) {unknown}; known: {sorted(sources)}")
    chosen = {}
    for name, src in sources.items():
        snap = latest_snapshot(name, settings, (pins or {}).get(name))
        if snap is None and src.required:
            roots = ", ".join(str(r) for r in settings.snapshot_roots)
            raise SnapshotError(f"{name}: no snapshot found under {roots} (set JLAC_MIRROR or run `jlac fetch`)")
        chosen[name] = snap
    return chosen


# --- parse (cached on snapshot checksum + code version) ------------------------------------------

def _jlac_modules(module) -> list:
    """The module and every jlac module it uses, directly or through others (what a parse can run)."""
    seen: dict[str, object] = {}
    todo = [module]
    while todo:
        mod = todo.pop()
        if mod.__name__ in seen:
            continue
        seen[mod.__name__] = mod
        for value in vars(mod).values():
            if inspect.ismodule(value) and value.__name__.startswith(mod.__name__ + "."):
                continue  # a package's loaded submodules (every parser, for jlac.sources) are not its code
            name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
            if isinstance(name, str) and (name == "jlac" or name.startswith("jlac.")) and name not in seen:
                todo.append(importlib.import_module(name))
    return [seen[n] for n in sorted(seen)]


PARSE_CORE = "2"  # bump when parse_to_cache changes what it writes (2: identical repeats dropped)


def code_version(source: Source) -> str:
    """Changes whenever anything a parse reads changes: the parser's code and every jlac module it uses, the
    reviewed data files (country-name overrides, ...), the declared columns, and the source or jlac version."""
    module = importlib.import_module(f"jlac.sources.{source.module}")
    h = hashlib.sha256()
    for mod in _jlac_modules(module):
        h.update(mod.__name__.encode())
        h.update(inspect.getsource(mod).encode())
    for path in sorted(DATA_DIR.rglob("*")) if DATA_DIR.is_dir() else []:
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    h.update(repr([(c.name, c.type) for c in source.columns]).encode())
    h.update(f"{source.version}/{jlac.__version__}/{PARSE_CORE}".encode())
    return h.hexdigest()[:16]


def cache_key(source: Source, snapshot: Snapshot) -> str:
    return hashlib.sha256(f"{snapshot.fingerprint}/{code_version(source)}".encode()).hexdigest()[:24]


def cache_path(settings: Settings, source: Source, snapshot: Snapshot) -> Path:
    return settings.cache_dir / source.name / f"{snapshot.vintage}-{cache_key(source, snapshot)}.parquet"


def _typed_select(source: Source, rel_name: str) -> str:
    cols = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in source.columns)
    return f"SELECT {cols} FROM {rel_name}"


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
    if out.exists():
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
            log.debug("unexpected parser error", exc_info=True)
            raise ParseError(
                f"{source.name} {snapshot.id}: {UNEXPECTED} ({type(exc).__name__}: {exc}); "
                "the files do not have the layout the parser expects"
            ) from exc
        os.replace(tmp, out)
    log.info("%s: parsed %s into %s", source.name, snapshot.id, out.name)
    return out


def _parse_into(con: duckdb.DuckDBPyConnection, source: Source, snapshot: Snapshot, tmp: Path) -> None:
    rel = source.parse(snapshot, con)
    missing = [c.name for c in source.columns if c.name not in rel.columns]
    if missing:
        raise ParseError(f"{source.name} {snapshot.id}: parser output lacks column(s) {missing}")
    con.register("parsed", rel)
    try:
        con.execute(f"CREATE TEMP TABLE _typed AS SELECT row_number() OVER () AS _order, * FROM "
                    f"({_typed_select(source, 'parsed')})")
    except duckdb.ConversionException as exc:
        raise ParseError(
            f"{source.name} {snapshot.id}: a value does not fit its declared column type: {exc}"
        ) from exc
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
    con.execute(f"COPY ({select}) TO '{tmp}' (FORMAT parquet)")


# --- load into the build warehouse ---------------------------------------------------------------

def load_raw(con: duckdb.DuckDBPyConnection, source: Source, snapshot: Snapshot | None, parquet: Path | None) -> int:
    """Create raw.<table> from the cached batch (or empty, for an optional source without snapshot)."""
    if source.partitioned:  # a view over the partitions: nothing copied
        return partitions.load_view(con, source, snapshot, parquet)
    declared = {c.name for c in source.columns}
    extra = [c for c in ("snapshot_id", "vintage") if c not in declared]  # a source may carry its own
    cols = ", ".join([f'"{c.name}" {c.type}' for c in source.columns] + [f"{c} VARCHAR" for c in extra])
    con.execute(f"CREATE OR REPLACE TABLE {source.raw_table} ({cols})")
    if parquet is not None and snapshot is not None:
        values = {"snapshot_id": snapshot.id, "vintage": snapshot.vintage}
        con.execute(
            f"INSERT INTO {source.raw_table} SELECT *{''.join(', ?' for _ in extra)} FROM read_parquet(?)",
            [*(values[c] for c in extra), str(parquet)],
        )
    description = source.description + (f" Snapshot {snapshot.id}." if snapshot else " No snapshot: empty.")
    comment_table(
        con, source.raw_table, description,
        {"snapshot_id": "Snapshot the row was parsed from (<source>/<vintage>)",
         "vintage": "Vintage (release date) of the snapshot",
         **{c.name: c.description for c in source.columns}},
    )
    return con.execute(f"SELECT count(*) FROM {source.raw_table}").fetchone()[0]


def build_country_name_map(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> int:
    """staging.country_name_map: every country name any raw table uses, resolved by jlac.countries."""
    rows = []
    for src in sources.values():
        for tag, column in src.country_names:
            query = f"SELECT DISTINCT {column} FROM {src.raw_table} WHERE {column} IS NOT NULL"
            names = [r[0] for r in con.execute(query).fetchall()]
            rows += countries.name_map_rows(tag, names)
    con.execute(
        "CREATE OR REPLACE TABLE staging.country_name_map (source VARCHAR, name VARCHAR, iso3 VARCHAR, m49 INTEGER, "
        "kind VARCHAR, display_name VARCHAR, aggregate_code VARCHAR, imts_code VARCHAR, note VARCHAR, is_celac BOOLEAN)"
    )
    rows = sorted(set(rows))
    if rows:
        con.executemany(
            "INSERT INTO staging.country_name_map VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r, r[2] in countries.CELAC) for r in rows],
        )
    comment_table(
        con, "staging.country_name_map",
        "Every country or aggregate name found in the raw tables, resolved to ISO3/M49 by pycountry and jlac's "
        "reviewed overrides (flows/jlac/data/country_names.csv). Names that resolve to nothing are absent and "
        "fail validation.",
        {"source": "Naming convention: imf, mof, ...", "name": "Name as the publisher spells it",
         "iso3": "ISO3 (or jlac code for historical entities); NULL for aggregates",
         "m49": "UN M49 / ISO numeric code", "kind": "country, territory, historical, aggregate or unallocated",
         "display_name": "Short English name", "aggregate_code": "jlac code of an IMF aggregate",
         "imts_code": "IMF IMTS code of the aggregate where confirmed", "note": "Reviewer's note",
         "is_celac": "ISO3 is one of the 33 CELAC states"},
    )
    return len(rows)


# --- seeds, figures and meta ---------------------------------------------------------------------

def load_seeds(con: duckdb.DuckDBPyConnection) -> None:
    """Reviewed seed tables shipped with the package, if the seeds module exists."""
    try:
        seeds = importlib.import_module("jlac.seeds")
    except ModuleNotFoundError:
        return
    seeds.load_seeds(con)


def render_figures(db_path: Path, outdir: Path) -> list[Path]:
    """Run every ``jlac.figures.<name>.render(con, outdir)`` against the built warehouse."""
    from jlac import figures as figures_pkg

    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        for info in sorted(pkgutil.iter_modules(figures_pkg.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"jlac.figures.{info.name}")
            if hasattr(module, "render"):
                written += module.render(con, outdir)
    return written


def write_meta(con: duckdb.DuckDBPyConnection, settings: Settings, record: RunRecord,
               results: list[validation.SuiteResult]) -> None:
    """meta.runs (every run in the ledger plus this one), meta.snapshots, meta.validations."""
    runs = [*ledger.read(settings.run_ledger), record.summary()]
    con.execute(
        "CREATE OR REPLACE TABLE meta.runs (run_id VARCHAR, flow_run_id VARCHAR, trigger VARCHAR, started TIMESTAMPTZ, "
        "ended TIMESTAMPTZ, status VARCHAR, duration_s DOUBLE, snapshots JSON, error VARCHAR, failed_source VARCHAR, "
        "failed_suite VARCHAR, report_path VARCHAR)"
    )
    _insert_many(
        con, "INSERT INTO meta.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r["run_id"], r.get("flow_run_id"), r.get("trigger"), r.get("started"), r.get("ended"), r.get("status"),
          r.get("duration_s"), json.dumps(r.get("snapshots") or []), r.get("error"), r.get("failed_source"),
          r.get("failed_suite"), r.get("report_path")) for r in runs],
    )
    comment_table(con, "meta.runs", "Every refresh run, failed ones included (from warehouse/runs.jsonl); "
                  "this warehouse was published by the last 'completed' row.", {
        "run_id": "jlac run id", "flow_run_id": "Prefect flow run id", "trigger": "cli, schedule, deployment, test",
        "started": "Start time (UTC)", "ended": "End time (UTC)", "status": "completed, failed or crashed",
        "duration_s": "Wall time in seconds", "snapshots": "Snapshots used: source, vintage, sha256 fingerprint",
        "error": "Error message of a failed run", "failed_source": "Source that failed, if any",
        "failed_suite": "Validation suite that failed, if any", "report_path": "Validation report of the run"})
    fetches = []
    if settings.fetch_ledger.exists():
        fetches = [json.loads(line) for line in settings.fetch_ledger.read_text(encoding="utf-8").splitlines() if line]
    con.execute(
        "CREATE OR REPLACE TABLE meta.fetches (fetched_at TIMESTAMPTZ, source VARCHAR, status VARCHAR, "
        "vintage VARCHAR, requests INTEGER, bytes BIGINT, message VARCHAR)"
    )
    _insert_many(
        con, "INSERT INTO meta.fetches VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(f["at"], f["source"], f["status"], f.get("vintage"), f.get("requests"), f.get("bytes"), f.get("message"))
         for f in fetches],
    )
    comment_table(con, "meta.fetches", "Every live fetch (from warehouse/fetches.jsonl): a new vintage, "
                  "'unchanged' (nothing written), 'failed' or 'skipped'.", {
        "fetched_at": "When the fetch ran (UTC)", "source": "Source fetched",
        "status": "new, unchanged, failed or skipped",
        "vintage": "Vintage written (status new)", "requests": "HTTP requests made", "bytes": "Bytes received",
        "message": "What happened, secrets redacted"})
    con.execute(
        "CREATE OR REPLACE TABLE meta.snapshots (run_id VARCHAR, source VARCHAR, vintage VARCHAR, root VARCHAR, "
        "file VARCHAR, sha256 VARCHAR, bytes BIGINT)"
    )
    _insert_many(
        con, "INSERT INTO meta.snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(record.run_id, s["source"], s["vintage"], s["root"], f["path"], f["sha256"], f.get("bytes"))
         for s in record.snapshots for f in s["files"]],
    )
    comment_table(con, "meta.snapshots", "Every file this warehouse was built from, with its sha256.", {
        "run_id": "Run that built this warehouse", "source": "Source name", "vintage": "Snapshot vintage",
        "root": "Folder the snapshot was read from", "file": "File path in the snapshot",
        "sha256": "sha256 verified before parsing", "bytes": "File size in bytes"})
    con.execute(
        "CREATE OR REPLACE TABLE meta.validations (run_id VARCHAR, suite VARCHAR, source VARCHAR, snapshot_id VARCHAR, "
        "expectation VARCHAR, arguments VARCHAR, success BOOLEAN, details VARCHAR)"
    )
    _insert_many(
        con, "INSERT INTO meta.validations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(record.run_id, r.suite, r.source, r.snapshot_id, o.expectation, json.dumps(o.kwargs, default=str),
          o.success, o.details) for r in results for o in r.outcomes],
    )
    comment_table(con, "meta.validations", "Great Expectations results of the run that built this warehouse.", {
        "run_id": "Run id", "suite": "Suite: source and check name", "source": "Source validated",
        "snapshot_id": "Snapshot validated", "expectation": "GX expectation type", "arguments": "Its arguments (JSON)",
        "success": "Whether it passed", "details": "What failed: values and rows"})


def _insert_many(con: duckdb.DuckDBPyConnection, sql: str, rows: list) -> None:
    if rows:  # DuckDB refuses executemany with no parameter sets
        con.executemany(sql, rows)


def snapshot_record(snapshot: Snapshot) -> dict:
    return {"source": snapshot.source, "vintage": snapshot.vintage, "fingerprint": snapshot.fingerprint,
            "root": str(snapshot.root), "files": [f.__dict__ for f in snapshot.files]}


def move_outputs(staged: Path, outdir: Path) -> None:
    """Move freshly rendered charts into the output folder (after the warehouse is published)."""
    outdir.mkdir(parents=True, exist_ok=True)
    for p in staged.iterdir():
        if p.is_dir() and (outdir / p.name).is_dir():  # a folder (dbt-docs) replaces the previous run's
            shutil.rmtree(outdir / p.name)
        os.replace(p, outdir / p.name)
    shutil.rmtree(staged, ignore_errors=True)


def fail_on_validation(results: list[validation.SuiteResult], report: Path, record: RunRecord) -> None:
    failed = [r for r in results if not r.success]
    if failed:
        record.failed_source = failed[0].source
        record.failed_suite = failed[0].suite
        raise ValidationFailed(
            f"validation failed in {len(failed)} suite(s); nothing was published. Report: {report}\n"
            + validation.summary(results),
            report_path=report,
        )


# --- the refresh ---------------------------------------------------------------------------------

class Stages:
    """The refresh's stages as plain calls; ``jlac.refresh_flow`` substitutes Prefect tasks."""

    def discover(self, settings, pins):
        return discover(settings, pins=pins)

    def verify(self, settings, snapshot):
        if all_sources()[snapshot.source].partitioned:  # hashes only files not seen unchanged before
            partitions.verify(snapshot, settings)
        else:
            verify(snapshot)

    def parse(self, settings, source, snapshot):
        return parse_to_cache(settings, source, snapshot)

    def load(self, build, sources, snapshots, parquets):
        with duckdb.connect(str(build)) as con:
            con.begin()  # one commit for the many small statements (comments, views): three times faster
            counts = {n: load_raw(con, sources[n], snapshots[n], parquets.get(n)) for n in sources}
            build_country_name_map(con, sources)
            load_seeds(con)
            con.commit()
        return counts

    def validate(self, settings, build, sources, snapshots):
        results = []
        for name, src in sources.items():
            results += validation.validate_source(build, src, snapshots[name], settings)
        return results

    def model(self, build, settings, docs_dir=None):
        return transform.build(build, settings, docs_dir=docs_dir)  # dbt build: models and tests (jlac.transform)

    def figures(self, build, outdir):
        return render_figures(build, outdir)

    def publish(self, ctx: publish_hooks.PublishContext):
        return publish(ctx)

    def after_publish(self, ctx: publish_hooks.PublishContext):
        return publish_hooks.run_after(ctx, alert=_alert_hook_failure)


def publish(ctx: publish_hooks.PublishContext) -> Path:
    """Run the before-publish hooks on the build, then swap it in atomically."""
    publish_hooks.run_before(ctx)
    return warehouse.publish(ctx.build, ctx.settings)


def _alert_hook_failure(hook: str, message: str) -> None:
    from jlac.ops import alerts

    alerts.send({"text": f"jlac: published warehouse stands, but publish hook {hook} failed: {message}",
                 "state": "hook_failed", "hook": hook, "error": message})


def refresh(settings: Settings, *, pins: dict[str, str] | None = None, trigger: str = "cli",
            stages: Stages | None = None, flow_run_id: str | None = None) -> RunRecord:
    """Build a new warehouse from the latest snapshots and publish it only when everything passed.

    On any failure the published warehouse is left exactly as it was; the run is recorded in the
    ledger either way, and a failed validation leaves a report naming source, file and rows.
    """
    stages = stages or Stages()
    record = RunRecord(run_id=new_run_id(), trigger=trigger, flow_run_id=flow_run_id)
    build: Path | None = None
    published = False
    staged_output = settings.build_dir / f"{record.run_id}-output"
    with warehouse.refresh_lock(settings):
        warehouse.remove_stale_builds(settings)
        try:
            sources = all_sources()
            snapshots = stages.discover(settings, pins)
            record.snapshots = [snapshot_record(s) for s in snapshots.values() if s is not None]
            parquets = {}
            for name, snap in snapshots.items():
                if snap is None:
                    log.info("%s: no snapshot; its raw table stays empty", name)
                    continue
                record.failed_source = name
                stages.verify(settings, snap)
                parquets[name] = stages.parse(settings, sources[name], snap)
            record.failed_source = None
            build = warehouse.new_build(settings, record.run_id)
            counts = stages.load(build, sources, snapshots, parquets)
            log.info("raw rows loaded: %s", counts)
            results = stages.validate(settings, build, sources, snapshots)
            report = write_report_for(settings, record, results, snapshots)
            fail_on_validation(results, report, record)
            stages.model(build, settings, staged_output / "dbt-docs")
            stages.figures(build, staged_output)
            record.finish("completed")
            with duckdb.connect(str(build)) as con:
                write_meta(con, settings, record, results)
            ctx = publish_hooks.PublishContext(
                settings, record, build, settings.warehouse if settings.warehouse.exists() else None)
            stages.publish(ctx)
            published = True
            move_outputs(staged_output, settings.output)
            record.hooks = [o.__dict__ for o in stages.after_publish(ctx)]
            ledger.append(settings.run_ledger, record)
            log.info("published %s (run %s, %.1f s)", settings.warehouse, record.run_id, record.duration_s)
            return record
        except BaseException as exc:
            if published:  # interrupted in an after-publish hook: the new warehouse is out, say so
                record.error = f"interrupted after publishing: {type(exc).__name__}: {exc}"
            else:
                record.finish("failed" if isinstance(exc, Exception) else "crashed", str(exc))
            ledger.append(settings.run_ledger, record)
            if build is not None:
                for p in (build, build.with_suffix(".duckdb.wal")):
                    p.unlink(missing_ok=True)
            shutil.rmtree(staged_output, ignore_errors=True)
            raise


def write_report_for(settings: Settings, record: RunRecord, results, snapshots) -> Path:
    path = settings.reports_dir / record.run_id / "validation.md"
    record.report_path = str(path)
    return validation.write_report(
        results, path, record.run_id, {n: str(s.root) for n, s in snapshots.items() if s is not None}
    )
