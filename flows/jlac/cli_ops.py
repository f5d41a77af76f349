"""Operations commands: serve, backfill, status, export parquet, serve-sql."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from jlac import ledger
from jlac import printing as out
from jlac.config import env_number, get_settings
from jlac.errors import JlacError, SettingError

console, err = out.consoles()  # values printed as they are, lines whole when piped (jlac.printing)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Errors a user can fix (a bad range, no warehouse yet, no password) as one line, not a traceback."""
    try:
        yield
    except (JlacError, ValueError, LookupError, FileNotFoundError) as exc:
        from jlac.cli import stop_status

        if stop_status(exc) is not None:  # raised because the command was stopped: the stop is reported
            raise
        err.print(f"[bold red]jlac: {type(exc).__name__}[/]: {escape(str(exc))}", markup=True, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(exc.exit_code if isinstance(exc, JlacError) else 1) from exc


def register(app: typer.Typer) -> None:
    """Add the operations commands to the jlac CLI."""
    app.command("serve")(serve)
    app.command("backfill")(backfill)
    app.command("status")(status)
    app.command("serve-sql")(serve_sql)
    export = typer.Typer(help="Export the warehouse for BI tools that read files.", no_args_is_help=True)
    export.command("parquet")(export_parquet)
    app.add_typer(export, name="export")


def serve(
    schedule: Annotated[Path, typer.Option(help="Schedule file (name, cron, timezone, parameters); default "
                                                "deploy/schedule.yml of the checkout")] = None,
) -> None:
    """Run the refresh on a schedule file's cron (deploy/schedule.yml: weekly, with fetch), via Prefect's serve."""
    from prefect.settings import PREFECT_API_URL

    from jlac.cli import check_prefect_api
    from jlac.ops import schedule as sched

    with _user_errors():
        spec = sched.load_schedule(schedule or sched.SCHEDULE_FILE)
        if not PREFECT_API_URL.value():  # on this process's temporary API Prefect schedules nothing, only warns
            raise JlacError("jlac serve needs a running Prefect server and PREFECT_API_URL naming it (without one, "
                            "nothing is ever scheduled): `prefect server start --host 127.0.0.1 --port 4200 &`, then "
                            "`export PREFECT_API_URL=http://127.0.0.1:4200/api` (docs/operations.md, 1. Schedules)")
    check_prefect_api()
    warehouse = get_settings().warehouse
    with _user_errors():
        sched.check_not_another_homes(spec, warehouse)
    console.print(f"serving {spec.name} on cron '{spec.cron}' ({spec.timezone}) with {spec.parameters} for "
                  f"{warehouse}", soft_wrap=True)
    sched.serve(spec, warehouse)


def backfill(
    first: Annotated[int, typer.Option("--from", help="First year to fetch and rebuild")],
    last: Annotated[int, typer.Option("--to", help="Last year (inclusive)")],
    source: Annotated[list[str], typer.Option(help="Only this connector's source (repeatable)")] = None,
    offline: Annotated[bool, typer.Option(help="Fetch nothing: rebuild the years from the snapshots already in the "
                                                "store and mirrors")] = False,
) -> None:
    """Fetch and rebuild the years FROM..TO; running it twice changes nothing."""
    from jlac import prefect_api, preflight
    from jlac.cli import _interrupted, _terminate_in_one_line, check_prefect_api, quiet_jlac_tracebacks, stop_status
    from jlac.ops.backfill import backfill as run_backfill
    from jlac.ops.backfill import check_range, check_sources

    with _user_errors():
        preflight.check(get_settings(), source or None, fetch=not offline)
        preflight.check_snapshots(get_settings(), fetch=not offline)
        check_range(first, last)  # before Prefect's seconds of start, as a bad --source
        check_sources(source or None, offline)
    check_prefect_api()
    quiet_jlac_tracebacks()
    _terminate_in_one_line()
    try:
        with _user_errors(), prefect_api.heartbeats_only_for_a_server():
            result = run_backfill(first, last, source or None, offline=offline)
    except BaseException as exc:  # a stop, as `jlac refresh` reports it (Prefect's TerminationSignal is no Exception)
        if (code := stop_status(exc)) is None:
            raise
        _interrupted(code)
    run = result.run or {}
    if run.get("status") == "skipped":  # another refresh took the lock after the pre-flight check
        from jlac.errors import RefreshBusy

        err.print(f"[bold red]jlac: RefreshBusy[/]: {escape(str(run.get('error')))}", markup=True, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(RefreshBusy.exit_code)
    failed = run.get("fetch_failed") or {}
    console.print(f"backfill {first}-{last}: run {run.get('run_id', '?')} {run.get('status', '?')}", soft_wrap=True)
    if not result.changed:
        console.print(f"no mart or figure row of {first}-{last} changed"
                      + (f" (the fetch of {', '.join(sorted(failed))} failed)" if failed else ""), soft_wrap=True)
    for table, ((rows0, _), (rows1, _)) in result.changed.items():
        console.print(f"{table}: rows of {first}-{last} changed ({rows0} -> {rows1} rows)", soft_wrap=True)
    if failed:  # as `jlac refresh --fetch`: the years were not checked against the publisher, a scheduler must see it
        from jlac.cli import FETCH_FAILED

        for name, message in sorted(failed.items()):
            instead = ledger.built_instead(name, run.get("snapshots"), f"{first}-{last} built")
            err.print(Text.assemble(("jlac: fetch failed", "red"), f" for {name}: {message}; {instead}"),
                      soft_wrap=True)
        raise typer.Exit(FETCH_FAILED)


def status(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """Per source: newest vintage, its age, the last run's outcome and duration; flags stale sources."""
    from jlac.ops.status import folder_instead, one_read, published_problem, source_status

    settings = get_settings()
    if folder := folder_instead(settings):
        err.print(f"jlac: {folder}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    with one_read():  # the table, the last run, the pending hooks and the serving line: one read, one warning a line
        rows = source_status(settings)
        if as_json:
            print(json.dumps([r.as_json() for r in rows], default=str, indent=1))
        else:
            _print_status(settings, rows)
    if not settings.warehouse.exists():  # every row "never run" and STALE read as a stale warehouse (QA pass)
        err.print(f"jlac: no published warehouse at {settings.warehouse}: no refresh has published there (a mistyped "
                  "JLAC_WAREHOUSE?); every reading command and BI tool fails until `jlac refresh` publishes one",
                  highlight=False)
    if problem := published_problem(settings):  # worse than stale: every reader fails (exit 1, on stderr)
        err.print(f"jlac: the published warehouse {settings.warehouse} cannot be read ({problem}): every reading "
                  "command fails on it (a running SQL endpoint keeps serving the copy it loaded); the next `jlac "
                  "refresh` builds and publishes a new one",
                  soft_wrap=True, highlight=False)
        raise typer.Exit(code=1)
    if any(r.stale for r in rows):
        raise typer.Exit(code=3)  # so cron and monitoring can act on staleness without parsing the table


def _when(stamp: str) -> str:
    """An ISO timestamp of the ledger as a table cell: to the minute, in UTC, with spaces where a narrow column may
    wrap it (its 27 characters without one folded mid-number: found by a QA pass)."""
    from datetime import UTC, datetime

    try:
        return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(stamp)


def _print_status(settings, rows) -> None:
    from jlac.ops.status import last_run, pending_hooks, skipped_since, unrecorded_publish, unrecorded_runs
    from jlac.tables import fitted, left_out

    cells = []
    for r in rows:
        missing = "no snapshot" if r.last_vintage is None else (
            f"published vintage {r.last_vintage} not in the store or mirrors: the next refresh stops"
            + ("" if r.required else f" (`jlac refresh --drop {r.source}` builds without it)"))
        # built without at `jlac refresh --drop`: not "no snapshot" as a source never built (found by a QA pass)
        dropped = (f"dropped by run {r.dropped} (--drop): its data removed from the published warehouse"
                   if r.dropped else "")
        flag = ", ".join(f for f in ("STALE" if r.stale else "", dropped,
                                     missing if r.vintage is None and not r.dropped else "",
                                     f"newer vintage not built (published: {r.last_vintage})" if r.unpublished else "",
                                     f"published vintage {r.last_vintage} gone: the next refresh builds {r.vintage}"
                                     if r.published_gone else "",
                                     "vintage dated in the future" if r.future else "") if f)
        if r.quarantined:  # rows the published warehouse set aside (jlac.quarantine)
            flag = ", ".join(f for f in (flag, f"{r.quarantined['rows']:,} rows quarantined") if f)
        if r.removed:  # the last publish dropped published values of the source (jlac.publish_hooks.revisions)
            flag = ", ".join(f for f in (flag, f"{r.removed[1]:,} published values removed by {r.removed[0]}") if f)
        if r.fetch_failed:  # the publisher did not answer as expected: the vintage is the last good one
            flag = ", ".join(f for f in (flag, f"last fetch failed {_when(r.fetch_failed[0])}") if f)
        age = f"{r.age_days}d" if r.age_days is not None else "-"  # 'd': the header is short, to fit 80 columns
        cells.append((r.source, r.rhythm.rhythm, r.vintage or "-", age, r.last_run_id or "-",
                      r.last_status or "never run",
                      f"{r.last_duration_s:.1f}s" if r.last_duration_s is not None else "-",
                      Text(flag, style="red") if r.stale else flag))
    # only the flag wraps; a narrow terminal loses duration, then the run id (said below), never a broken value
    table, dropped = fitted(console, ("source", "rhythm", "vintage", "age", "last run", "outcome", "duration",
                                      "flag"), cells, free=("flag",), drop=("duration", "last run", "rhythm"),
                            title=f"jlac status: freshness per source ({settings.warehouse})")
    out.show(console, table)
    if dropped:
        console.print(left_out(dropped, console.width, "a wider terminal or `jlac status --json`"), highlight=False)
    for r in rows:
        if r.quarantined:
            q = r.quarantined
            console.print(f"quarantined: {r.source} {q['snapshot_id']}: {q['rows']:,} of {q['raw_rows']:,} rows "
                          f"({100 * q['share']:.2f} %) in quarantine.rows: {q['values']}", highlight=False)
        if r.fetch_failed:
            console.print(f"fetch failed: {r.source} at {r.fetch_failed[0]}: {r.fetch_failed[1]}", highlight=False,
                          soft_wrap=True)
    run = last_run(settings, ran=True)  # a refresh skipped at the lock would hide a failure before it
    skipped = skipped_since(settings, run)
    if run:
        error = f" - {run['error']}" if run.get("error") else ""
        plan = run.get("plan") or {}
        built = f", {plan['mode']} build ({plan.get('reason')})" if plan.get("mode") else ""
        took = f" in {run['duration_s']}s" if run.get("duration_s") is not None else ""  # a killed run's is unknown
        console.print(f"last run {run.get('run_id')}: {run.get('status')}{took} "
                      f"(ended {run.get('ended')}{built}){error}", soft_wrap=True, highlight=False)
    if skipped:
        were = "es were" if skipped > 1 else " was"
        console.print(f"{skipped} later refresh{were} skipped: another refresh held the lock", soft_wrap=True,
                      highlight=False)
    running, stopped = unrecorded_runs(settings)
    for run_id in running:
        console.print(f"run {run_id} is running (it holds the refresh lock); the table above is of the runs before "
                      "it", soft_wrap=True, highlight=False)
    for run_id in stopped:
        console.print(Text(f"run {run_id} was stopped during its build (killed?): nothing of it was published; the "
                           "next refresh records it as crashed and alerts it", style="red"), soft_wrap=True)
    finishing = False  # the published run is running its after-publish hooks now: none is "not done" yet
    if unrecorded := unrecorded_publish(settings):
        from jlac.warehouse import refresh_held

        if finishing := refresh_held(settings) is not None:  # published, hooks running: no stopped run (QA pass)
            console.print(f"run {unrecorded} has published and is finishing (its after-publish hooks); until it is "
                          f"recorded in {settings.run_ledger}, the table above names the vintages and flags of the "
                          "run before it", soft_wrap=True, highlight=False)
        else:
            console.print(Text(f"the published warehouse holds run {unrecorded} (meta.runs), which "
                               f"{settings.run_ledger} does not list (stopped, or its ledger could not be written, "
                               "after its publish): the table above may name older vintages; the next refresh records "
                               "it", style="red"), soft_wrap=True)
    from jlac.serving.status import serving_status

    serving = serving_status(settings)
    caught_up = False  # the postgres hook failed, but serve-sql has loaded the run since (the two lines contradicted)
    # the hooks of the run the warehouse holds: an unrecorded one's, not those of the ledger's run before it (QA pass)
    if not finishing and (pending := pending_hooks(settings, unrecorded)):
        run_id, hooks = pending
        caught_up = serving is not None and serving.current and serving.version == run_id and \
            any(hook == "postgres" for hook, _ in hooks)
        hooks = [(hook, message) for hook, message in hooks if not (caught_up and hook == "postgres")]
        what = "; ".join(f"{hook} ({message})" if message else f"{hook} (not run)" for hook, message in hooks)
        if hooks:
            console.print(f"after-publish hooks not done for the published run {run_id}: {what}; the next refresh "
                          "runs them again", highlight=False, soft_wrap=True)
    if serving is not None:
        console.print(serving.line() + (" (loaded by serve-sql after the refresh's postgres hook failed)"
                                        if caught_up else ""), highlight=False)


def export_parquet(
    outdir: Annotated[str, typer.Argument(help="Output folder (default: <warehouse dir>/parquet)")] = None,
    partition_rows: Annotated[int, typer.Option(min=1, help="Partition larger tables by year")] = 1_000_000,
) -> None:
    """Write every mart and figure table and view as Parquet (partitioned by year where large)."""
    from jlac.ops.export import export_parquet as run_export

    settings = get_settings()
    with _user_errors():
        if outdir is not None and not outdir.strip():  # Path("") is ".": the tables would land where one stands
            raise JlacError("the output folder is empty text; name one, or leave it out for <warehouse dir>/parquet")
        outdir = Path(outdir) if outdir is not None else settings.home / "parquet"
        # the folder, or a folder above it, a file: was a warning about its record, then NotADirectoryError (QA)
        if file := next((p for p in (outdir, *outdir.parents) if p.exists() and not p.is_dir()), None):
            raise JlacError(f"{file} is a file; export writes a folder of Parquet files: name a folder (new or "
                            "one an earlier export wrote)")
        # inside the snapshot store or a mirror, every command then warned of a folder without SNAPSHOT.yml (QA)
        for root, name in ((settings.snapshots, "JLAC_SNAPSHOTS"), *((m, "JLAC_MIRROR") for m in settings.mirrors)):
            if outdir.resolve().is_relative_to(root.resolve()):
                raise JlacError(f"{outdir} is inside the snapshots at {root} ({name}), which hold only source "
                                "snapshots: name an export folder outside it")
        exported = run_export(settings.warehouse, outdir, partition_rows)
    for item in exported:
        part = f" partitioned by {item.partitioned_by}" if item.partitioned_by else ""
        console.print(f"{item.table}: {item.rows} rows -> {item.path}{part}", soft_wrap=True)


def serve_sql(
    host: Annotated[str, typer.Option(envvar="JLAC_SQL_HOST", help="Address to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(min=0, max=65535, show_default=False,
                                             help="Port to listen on (0: a free one; default: JLAC_SQL_PORT, else "
                                                  "5433)")] = None,
) -> None:
    """Serve the warehouse to BI tools from a local PostgreSQL (user jlac, password JLAC_SQL_PASSWORD)."""
    from jlac.ops import alerts
    from jlac.serving.cluster import ServerConfig
    from jlac.serving.serve import serve
    from jlac.serving.target import ReaderPolicy

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with _user_errors():
        if port is None:  # read here, not by typer: a bad value is a setting's one line (it was a usage box, exit 2)
            port = env_number("JLAC_SQL_PORT", 5433)
            if port > 65535:
                raise SettingError(f"JLAC_SQL_PORT={port}: expected a port number from 0 to 65535 (default 5433)")
        reader = ReaderPolicy.from_env()
        config = ServerConfig.from_env(host, port)
        code = serve(get_settings().warehouse, config, reader,
                     # one line on stdout, flushed, so supervisors and tests can wait for it
                     ready=lambda line: print(line, flush=True),
                     alert=lambda message: alerts.send({"text": f"jlac serve-sql: {message}",
                                                        "state": "serving_failed", "error": message},
                                                       warehouse=get_settings().warehouse))
    raise typer.Exit(code)
