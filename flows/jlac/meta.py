"""The warehouse's ``meta`` schema: runs, fetches, snapshots (and their origins), validations and inputs of the
build."""

from __future__ import annotations

import json

import duckdb

from jlac import comments, ledger, validation
from jlac.bulk_insert import insert_rows
from jlac.config import Settings
from jlac.ledger import RunRecord
from jlac.snapshots import Snapshot


def write_meta(con: duckdb.DuckDBPyConnection, settings: Settings, record: RunRecord,
               results: list[validation.SuiteResult], inputs: dict[str, str], *,
               carried: frozenset[str] = frozenset()) -> None:
    """meta.runs (every run in the ledger plus this one), meta.fetches, meta.snapshots, meta.validations
    (this run's results, plus the kept results of the ``carried`` sources an incremental build did not
    validate again) and meta.inputs (what the warehouse was built from, for the next refresh's plan)."""
    runs = [*ledger.read(settings.run_ledger), record.summary()]
    con.execute(
        "CREATE OR REPLACE TABLE meta.runs (run_id VARCHAR, flow_run_id VARCHAR, trigger VARCHAR, started TIMESTAMPTZ, "
        "ended TIMESTAMPTZ, status VARCHAR, duration_s DOUBLE, snapshots JSON, error VARCHAR, failed_source VARCHAR, "
        "failed_suite VARCHAR, report_path VARCHAR, seq INTEGER)"
    )
    insert_rows(
        con, "meta.runs",
        [(r["run_id"], r.get("flow_run_id"), r.get("trigger"), r.get("started"), r.get("ended"), r.get("status"),
          r.get("duration_s"), json.dumps(r.get("snapshots") or []), r.get("error"), r.get("failed_source"),
          r.get("failed_suite"), r.get("report_path"), seq) for seq, r in enumerate(runs, start=1)],
    )
    comments.comment_table(con, "meta.runs", "Every refresh run, failed ones included (from warehouse/runs.jsonl); "
                         "this warehouse was published by the 'completed' row of the highest seq.", {
        "run_id": "jlac run id", "flow_run_id": "Prefect flow run id", "trigger": "cli, schedule, deployment, test",
        "started": "Start time (UTC)", "ended": "End time (UTC)",
        "status": "completed, unchanged, failed, crashed, cancelled or skipped (another refresh held the lock)",
        "duration_s": "Wall time in seconds", "snapshots": "Snapshots used: source, vintage, sha256 fingerprint",
        "error": "Error message of a failed run", "failed_source": "Source that failed, if any",
        "failed_suite": "Validation suite that failed, if any", "report_path": "Validation report of the run",
        "seq": "Order of the run in the ledger, 1 the oldest; the run that built this warehouse is the last (its "
               "start times follow the clock, which may have been set back)"})
    fetches = ledger.read_fetches(settings.fetch_ledger)
    con.execute(
        "CREATE OR REPLACE TABLE meta.fetches (fetched_at TIMESTAMPTZ, source VARCHAR, status VARCHAR, "
        "vintage VARCHAR, requests INTEGER, bytes BIGINT, message VARCHAR)"
    )
    insert_rows(
        con, "meta.fetches",
        [(f["at"], f["source"], f["status"], f.get("vintage"), f.get("requests"), f.get("bytes"), f.get("message"))
         for f in fetches],
    )
    comments.comment_table(con, "meta.fetches", "Every live fetch (from warehouse/fetches.jsonl): a new vintage, "
                         "'unchanged' (nothing written), 'failed' or 'skipped'.", {
        "fetched_at": "When the fetch ran (UTC)", "source": "Source fetched",
        "status": "new, unchanged, failed or skipped",
        "vintage": "Vintage written (status new)", "requests": "HTTP requests made", "bytes": "Bytes received",
        "message": "What happened, secrets redacted"})
    con.execute(
        "CREATE OR REPLACE TABLE meta.snapshots (run_id VARCHAR, source VARCHAR, vintage VARCHAR, root VARCHAR, "
        "file VARCHAR, sha256 VARCHAR, bytes BIGINT, is_history BOOLEAN)"
    )
    # the earlier vintages a source reads (IMTS, the top-30 file, DAC2a keep values of each) are inputs too: their
    # files were missing, so published values had no file or sha256 here (found by a QA pass)
    insert_rows(
        con, "meta.snapshots",
        [(record.run_id, s["source"], v["vintage"], v["root"], f["path"], f["sha256"], f.get("bytes"), history)
         for s, v, history in _vintages(record) for f in v["files"]],
    )
    comments.comment_table(con, "meta.snapshots", "Every file this warehouse was built from, with its sha256: each "
                           "source's snapshot, and the earlier vintages a source reads its values from too "
                           "(is_history).", {
        "run_id": "Run that built this warehouse", "source": "Source name", "vintage": "Snapshot vintage",
        "root": "Folder the snapshot was read from", "file": "File path in the snapshot",
        "sha256": "sha256 verified before parsing", "bytes": "File size in bytes",
        "is_history": "An earlier vintage of a source that reads its history (IMTS, MOF's top-30 file, DAC2a), not "
                      "the snapshot it is built from: an input of the build, which the parse takes values from where "
                      "newer vintages have none (their rows keep their own vintage and snapshot_id); DAC2a's files "
                      "that a newer vintage's file of the same name replaces are listed but not read"})
    con.execute(
        "CREATE OR REPLACE TABLE meta.snapshot_origins (run_id VARCHAR, source VARCHAR, vintage VARCHAR, "
        "is_history BOOLEAN, title VARCHAR, publisher VARCHAR, publisher_url VARCHAR, license VARCHAR, "
        "retrieved_at VARCHAR, retrieved_from VARCHAR, manifest JSON)"
    )
    insert_rows(
        con, "meta.snapshot_origins",
        [(record.run_id, s["source"], v["vintage"], history, *_origin_fields(v.get("origin") or {}))
         for s, v, history in _vintages(record)],
    )
    comments.comment_table(
        con, "meta.snapshot_origins", "Where each snapshot of this warehouse comes from and under which terms, as its "
        "SNAPSHOT.yml says: kept in the warehouse, so a copy of it (the serving PostgreSQL, a moved file) keeps its "
        "sources' licenses and credits when the snapshot folders are out of reach.", {
        "run_id": "Run that built this warehouse", "source": "Source name", "vintage": "Snapshot vintage",
        "is_history": "An earlier vintage of a source that reads its history, not the snapshot it is built from "
                      "(see meta.snapshots.is_history)",
        "title": "Dataset title (manifest 'title'; NULL when the manifest gives none)",
        "publisher": "Publisher (manifest 'publisher')",
        "publisher_url": "Publisher's page of the dataset (manifest 'publisher_url', or 'url')",
        "license": "License or terms of use, as the manifest states them (attribution and restrictions included)",
        "retrieved_at": "When jlac fetched it (a live fetch; NULL for a mirror's snapshot, dated by its vintage)",
        "retrieved_from": "Where it was retrieved from (URL or a redistributor), as the manifest says",
        "manifest": "The rest of the manifest (units, coverage, caveats, query ...) as JSON, without its file list"})
    kept = []
    if carried and con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
                               "AND table_name = 'validations'").fetchone()[0]:
        marks = ", ".join("?" for _ in carried)
        kept = con.execute(f"SELECT * FROM meta.validations WHERE source IN ({marks})", sorted(carried)).fetchall()
    con.execute(
        "CREATE OR REPLACE TABLE meta.validations (run_id VARCHAR, suite VARCHAR, source VARCHAR, snapshot_id VARCHAR, "
        "expectation VARCHAR, arguments VARCHAR, success BOOLEAN, details VARCHAR)"
    )
    insert_rows(con, "meta.validations", kept)
    insert_rows(
        con, "meta.validations",
        [(record.run_id, r.suite, r.source, r.snapshot_id, o.expectation, json.dumps(o.kwargs, default=str),
          o.success, o.details) for r in results for o in r.outcomes],
    )
    comments.comment_table(
        con, "meta.validations", "Great Expectations results of the inputs of this warehouse (run_id: the run that "
        "validated them; an incremental refresh keeps the results of the sources it did not load again).", {
        "run_id": "Run id", "suite": "Suite: source and check name", "source": "Source validated",
        "snapshot_id": "Snapshot validated", "expectation": "GX expectation type", "arguments": "Its arguments (JSON)",
        "success": "Whether it passed", "details": "What failed: values and rows"})

    con.execute("CREATE OR REPLACE TABLE meta.inputs (input VARCHAR, fingerprint VARCHAR)")
    insert_rows(con, "meta.inputs", sorted(inputs.items()))
    comments.comment_table(con, "meta.inputs", "What this warehouse was built from, one fingerprint per input: "
                           "'source:<name>' (its snapshot's vintage and sha256 fingerprint, '<vintage>/<sha256>', or "
                           "'none'), 'code' (jlac's code, reviewed data files, SQL models and build settings), "
                           "'calendar_year' (the year it was built in: Figure 2 and the checks run to it). A refresh "
                           "whose inputs all equal these publishes nothing.", {
        "input": "source:<name>, code or calendar_year",
        "fingerprint": "'<vintage>/<sha256>' of a source's snapshot ('none' without one), the sha256 of the code, "
                       "the year for calendar_year"})


def _vintages(record: RunRecord):
    """(source record, vintage record, is_history) of every vintage the build read: each source's snapshot, then the
    earlier vintages it reads."""
    for s in record.snapshots:
        yield s, s, False
        for older in s.get("older", ()):
            yield s, older, True


def _origin(snapshot: Snapshot) -> dict:
    return {k: v for k, v in snapshot.manifest.items() if k != "files"}


def _origin_fields(manifest: dict) -> tuple:
    def text(*keys: str) -> str | None:
        for key in keys:
            value = manifest.get(key)
            if value is not None and str(value).strip():
                return str(value).strip()
        return None

    return (text("title"), text("publisher"), text("publisher_url", "url"), text("license"), text("retrieved_at"),
            text("retrieved_from"), json.dumps(manifest, default=str, sort_keys=True))


def snapshot_record(snapshot: Snapshot) -> dict:
    """What the run record keeps of a snapshot; its files, the earlier vintages it reads and its manifest's origin
    only until meta.snapshots and meta.snapshot_origins are written (the ledger keeps none of them)."""
    return {"source": snapshot.source, "vintage": snapshot.vintage, "fingerprint": snapshot.fingerprint,
            "root": str(snapshot.root), "files": [f.__dict__ for f in snapshot.files], "origin": _origin(snapshot),
            "older": [{"vintage": o.vintage, "root": str(o.root), "files": [f.__dict__ for f in o.files],
                       "origin": _origin(o)} for o in snapshot.older]}
