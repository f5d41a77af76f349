"""The warehouse's ``meta`` schema: runs, fetches, snapshots, validations and inputs of the build."""

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
        "file VARCHAR, sha256 VARCHAR, bytes BIGINT)"
    )
    insert_rows(
        con, "meta.snapshots",
        [(record.run_id, s["source"], s["vintage"], s["root"], f["path"], f["sha256"], f.get("bytes"))
         for s in record.snapshots for f in s["files"]],
    )
    comments.comment_table(con, "meta.snapshots", "Every file this warehouse was built from, with its sha256.", {
        "run_id": "Run that built this warehouse", "source": "Source name", "vintage": "Snapshot vintage",
        "root": "Folder the snapshot was read from", "file": "File path in the snapshot",
        "sha256": "sha256 verified before parsing", "bytes": "File size in bytes"})
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


def snapshot_record(snapshot: Snapshot) -> dict:
    """What the run record keeps of a snapshot (its files only until meta.snapshots is written)."""
    return {"source": snapshot.source, "vintage": snapshot.vintage, "fingerprint": snapshot.fingerprint,
            "root": str(snapshot.root), "files": [f.__dict__ for f in snapshot.files]}
