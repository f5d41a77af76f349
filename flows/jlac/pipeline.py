"""The refresh: the Prefect flow ``jlac-refresh``, its stages Prefect tasks.

fetch (optional) -> discover -> verify -> plan -> parse -> new-build -> load -> validate -> model -> figures -> docs
-> publish -> after-publish (an unchanged plan: only the after-publish catch-up, and figures when drawn by other code)

Some tasks wrap a function of another module as it is: ``discover`` (``jlac.plan``), ``verify``
(``jlac.partitions``), ``parse`` (``jlac.parse``), ``load`` (``jlac.load``), ``figures`` (``jlac.figures``),
``publish`` (``jlac.warehouse.publish_with_hooks``: the before-publish hooks, then the swap), ``after-publish`` and
``after-publish catch-up`` (``jlac.publish_hooks``). The others wrap a function defined here over those modules:
``fetch`` (``fetch_source``), ``plan`` (``plan_build``), ``new-build`` (``new_build``: an empty file, or a copy of
the published warehouse), ``validate`` (``validate_source``: Failed when a suite fails), ``model`` and ``docs``
(``run_models``, ``write_docs``: dbt through ``jlac.transform``) and ``parse-partition`` (one file of a partitioned
source, in the subflow ``jlac-parse-partitions`` when ``JLAC_TASK_RUNNER`` names a runner). The meta tables
(``jlac.meta``), the validation report and the ledger line are written in the flow's body, by no task. Tests call
the functions or the flow. The flow runs on Prefect's temporary local API unless ``PREFECT_API_URL`` names a server.

A refresh costs what changed (``jlac.plan``): when every input equals the published warehouse's, nothing is
built or published; when some sources have new snapshots, the build starts as a copy of the published
warehouse and only they are parsed, loaded and validated, and only the models downstream of them rebuilt.
Either way the published warehouse is replaced only by a build that passed everything, atomically.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from jlac import (
    countries,
    figures,
    ledger,
    leftovers,
    meta,
    owned,
    parse,
    partitions,
    plan,
    prefect_api,
    preflight,
    publish_hooks,
    quarantine,
    stops,
    task_runners,
    transform,
    validation,
    warehouse,
)
from jlac.config import Settings, get_settings
from jlac.connectors import connector_names, fetch_one
from jlac.errors import JlacError, RefreshBusy, ValidationFailed, is_interrupt, quiet_jlac_tracebacks
from jlac.ledger import RunRecord, new_run_id
from jlac.load import load
from jlac.snapshots import Snapshot, list_vintages
from jlac.sources import Source, all_sources

# by name, not __name__: a deployment's worker loads this file by its path (deploy/prefect.yaml's entrypoint), as a
# module named 'pipeline', and the run's log (jlac's loggers: _log_to_run) lost every line of the flow's own (QA pass)
log = logging.getLogger("jlac.pipeline")

# Inputs are settings, sources and snapshots (not worth hashing); the one parse cache is the batch file's name.
_TASK = {"cache_policy": NO_CACHE}


def may_pass(task, task_run, state) -> bool:
    """Prefect's ``retry_condition_fn`` of the stages that retry (fetch, verify, the HS-9 parse, publish): try again
    after an error that may pass (an I/O error, a lost Dask worker, a hook's connection, a server still down after
    the HTTP retries), not after jlac's own verdict (a ``JlacError`` whose ``may_pass`` is False: a checksum
    mismatch, a file the parser refuses, a before-publish hook refusing the build, an HTTP 404 or 401, an answer
    the connector does not understand), which the same files or the same server give again. Those waited 1 + 5 s
    (verify), 2 s (publish, its hooks run twice) or 10 s (fetch) before failing as they had the first time.
    Never after a stop (``stops.no_stop_noted``)."""
    if not stops.no_stop_noted(task, task_run, state):
        return False
    exc = state.result(raise_on_failure=False)
    return not isinstance(exc, JlacError) or exc.may_pass


# --- fetch: one task per source, retried where the network is ---------------------------------------------

class FetchFailed(JlacError):
    """A connector's fetch failed (after its HTTP retries); the task tries once more if it may pass."""

    def __init__(self, name: str, message: str, may_pass: bool = False):
        super().__init__(name, message, may_pass)  # in args: a pickled copy (Prefect's state) is built from them
        self.source, self.message, self.may_pass = name, message, may_pass

    def __str__(self) -> str:
        # a connector's message may name its source already ("fred-exjpus: GET ..."): said once
        return f"fetch {self.source}: {self.message.removeprefix(f'{self.source}: ')}"


def fetch_source(name: str, settings: Settings):
    """Run one connector; raise when it failed (FetchFailed: Prefect tries once more if the failure may pass)."""
    result = fetch_one(name, settings)
    if result.status == "failed":
        raise FetchFailed(name, result.message, result.may_pass)
    return result


# once more after 10 s when the failure may pass (a server still down after the HTTP client's own retries)
fetch_task = task(fetch_source, name="fetch", task_run_name="fetch {name}", retries=1, retry_delay_seconds=10,
                  retry_condition_fn=may_pass, **_TASK)


# --- build stages ---------------------------------------------------------------------------------------

discover_task = task(plan.discover, name="discover", **_TASK)
# files seen unchanged (size, mtime, inode) are not re-hashed
verify_task = task(partitions.verify, name="verify", task_run_name="verify {snapshot.id}", retries=2,
                   retry_delay_seconds=[1, 5], retry_condition_fn=may_pass, **_TASK)
parse_task = task(parse.parse_to_cache, name="parse", task_run_name="parse {source.name}", **_TASK)
load_task = task(load, name="load", **_TASK)
def validate_source(build: Path, source: Source, snapshot: Snapshot | None, settings: Settings):
    """``validation.validate_source``; when a suite fails, the task's state is Failed (naming the suites) and still
    carries every result, which the flow reports with the other sources' (a failed check showed as a Completed task,
    only the flow Failed: found by a QA pass)."""
    from prefect.states import Failed

    results = validation.validate_source(build, source, snapshot, settings)
    if failed := [r.suite for r in results if not r.success]:
        # Prefect logs the Failed state with its data's repr: every suite's outcomes, hundreds of lines (a review)
        return Failed(message=f"{len(failed)} suite(s) failed: {'; '.join(failed)}", data=_Results(results))
    return results


class _Results(list):
    """Suite results as a task's Failed state carries them: a list whose repr is one line."""

    def __repr__(self) -> str:
        return f"<{len(self)} suite results>"


validate_task = task(validate_source, name="validate", task_run_name="validate {source.name}", **_TASK)
figures_task = task(figures.render_all, name="figures", **_TASK)
publish_task = task(warehouse.publish_with_hooks, name="publish", retries=1, retry_delay_seconds=2,
                    retry_condition_fn=may_pass, **_TASK)
after_publish_task = task(publish_hooks.run_after, name="after-publish", **_TASK)
catch_up_task = task(publish_hooks.catch_up, name="after-publish catch-up", **_TASK)


def plan_build(settings: Settings, snapshots: dict[str, Snapshot | None], inputs: dict[str, str],
               published: dict[str, str] | None, full: bool) -> plan.Plan:
    """The plan (``plan.make_plan``), with the sources whose published partitions are gone or damaged."""
    return plan.make_plan(snapshots, inputs, published, full=full,
                          missing=partitions.missing_partitions(settings, all_sources()))


# a task of its own, as the README lists it (it ran in the flow's body: found by a QA pass)
plan_task = task(plan_build, name="plan", **_TASK)


def new_build(settings: Settings, run_id: str, the_plan: plan.Plan) -> Path:
    """An empty build file for a full build; a copy of the published warehouse for an incremental one."""
    if the_plan.mode == "incremental":
        return warehouse.copy_published(settings, run_id)
    return warehouse.new_build(settings, run_id)


new_build_task = task(new_build, name="new-build", **_TASK)


def run_models(build: Path, settings: Settings, changed: list[str] | None = None) -> dict:
    """Build the SQL models with dbt (models and their tests): all of them, or only those downstream of the
    ``changed`` raw tables (or ``country_name_map``) in a copy of the published warehouse, whose views are kept as
    they are (``transform.into_a_copy``). The docs step follows (``write_docs``)."""
    select = None if changed is None else transform.into_a_copy(transform.downstream_of(changed), settings)
    results = transform.build(build, settings, select=select)
    _models_artifact(results, full=changed is None)
    return results


def _models_artifact(results: dict[str, dict], full: bool) -> None:
    """Each model the build ran as a row of a Prefect table artifact of the run (status, rows, seconds), so every
    model shows in the Prefect run by default; one task per dbt node (JLAC_DBT_TASKS=1) costs ~20 s a build.
    Nothing outside a flow run (tests calling ``run_models`` as a plain function)."""
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return
    from prefect.artifacts import create_table_artifact

    scope = "every model" if full else "the models downstream of what changed (an incremental build)"
    try:
        create_table_artifact(
            key="jlac-dbt-models",
            table=[{"model": name, **result} for name, result in sorted(results.items())],
            description=f"dbt build: {scope}, {len(results)} models; rows are not counted for views",
        )
    except Exception as exc:  # noqa: BLE001  a summary Prefect cannot take is no reason to stop a good build
        log.warning("the dbt models' Prefect artifact could not be written: %s: %s", type(exc).__name__, exc)


def write_docs(build: Path, settings: Settings, docs_dir: Path, full: bool) -> Path | None:
    """dbt's documentation site of the build (meta tables included: it runs after they are written) into docs_dir;
    nothing when the published site already describes the same project, relations and columns."""
    return transform.docs(build, settings, docs_dir, compile=not full, previous=settings.output / transform.DOCS_DIR,
                          cache=settings.cache_dir / transform.DOCS_DIR)


model_task = task(run_models, name="model", **_TASK)
docs_task = task(write_docs, name="docs", **_TASK)


# --- the parse fan-out of partitioned sources: one task per file, on Dask when JLAC_TASK_RUNNER names a cluster --

def _parse_partition(settings, source, snapshot, rel, version) -> dict:
    """One file into its Parquet partition, wherever the task runner puts it (the worker's process id is kept)."""
    return {"parquet": partitions.parse_partition(settings, source, snapshot, rel, version), "pid": os.getpid()}


parse_partition_task = task(_parse_partition, name="parse-partition", task_run_name="parse {rel}", retries=1,
                            retry_delay_seconds=2, retry_condition_fn=may_pass, **_TASK)


@flow(name="jlac-parse-partitions")
def parse_partitions_flow(settings, source, snapshot) -> dict:
    """Parse the files of a partitioned source, one task per file, on the flow's task runner."""
    pids = set()

    spec = os.environ.get(task_runners.ENV, "").strip()
    address = task_runners.dask_address(spec) if spec else None

    def fan_out(files, version):
        futures = [parse_partition_task.submit(settings, source, snapshot, rel, version) for rel in files]
        for rel, future in zip(files, futures, strict=True):
            # raises the first failed file's error, naming the file; or names a scheduler left without workers
            pids.add(task_runners.await_result(future, address, spec, f"the parse of {source.name} {rel}")["pid"])

    with stops.noting() as noted:  # Prefect's handler of this subflow stands in front of the refresh's (jlac.stops)
        parts = partitions.parse_all(settings, source, snapshot, fan_out=fan_out)
    stops.check(noted)
    if pids:
        get_run_logger().info("%s: parsed on %d process(es) %s", source.name, len(pids), sorted(pids))
    return {"parts": str(parts), "pids": sorted(pids)}


def _api_url() -> str | None:
    """The URL of the Prefect API this run reports to (a server's, or the temporary one's), for a local Dask cluster's
    workers; None when it cannot be told."""
    try:
        from prefect.client.orchestration import get_client

        return str(get_client(sync_client=True).api_url).rstrip("/") or None
    except Exception:  # noqa: BLE001  the workers then find the API as Prefect does by default
        return None


def parse_source(settings: Settings, source: Source, snapshot: Snapshot) -> Path:
    """A source's batch: one task (a partitioned source's files side by side in it), or, for a partitioned source
    when JLAC_TASK_RUNNER names a runner (Dask), a subflow on that runner with one task per file."""
    runner = task_runners.from_env(api_url=_api_url()) if source.partitioned else None
    if runner is None:  # a subflow would be a flow run of its own for nothing: its API calls, its heartbeat's end
        return parse_task(settings, source, snapshot)
    return Path(parse_partitions_flow.with_options(task_runner=runner)(settings, source, snapshot)["parts"])


# --- the flow ----------------------------------------------------------------------------------------------

def _notify(flow, flow_run, state) -> None:
    """Failure, crash and cancellation hook: hand over to the alerts module. The parameters keep Prefect's names: its
    runner calls a crashed run's hooks by keyword (``flow=``), and ``flow_`` made the crash alert of a killed run a
    TypeError in the runner's log, no alert sent (found by a QA pass)."""
    from jlac.ops import alerts

    alerts.on_flow_failure(flow, flow_run, state)


def _hook_failure_alert(record: RunRecord, settings: Settings) -> Callable[[str, str], None]:
    """The alert of an after-publish hook's failure in this run: it named neither the run nor the published
    warehouse it was for, so a receiver could not tie it to one (found by a QA pass)."""

    def alert(hook: str, message: str) -> None:
        from jlac.ops import alerts

        alerts.send({"text": f"jlac: published warehouse stands, but publish hook {hook} failed: {message}",
                     "state": "hook_failed", "hook": hook, "error": message, "run_id": record.run_id,
                     "flow_run_id": record.flow_run_id,
                     # a refresh with nothing to publish runs the hooks again for the warehouse published before it
                     "published_run": record.hooks_for or record.run_id}, warehouse=settings.warehouse)

    return alert


def _published_pins(settings: Settings, keep: list[str], pinned: dict[str, str] | None = None
                    ) -> tuple[dict[str, str], list[str]]:
    """For ``--source``: the vintages the published warehouse was built from, for every source but ``keep`` (and
    ``pinned``, which the caller pins itself), and the sources it was built without (no snapshot then: they stay
    without one, although a snapshot may have appeared since)."""
    if not settings.warehouse.exists():
        return {}, []
    try:
        with warehouse.connect_readonly(settings) as con:
            rows = [(k.removeprefix("source:"), fp.split("/", 1)[0]) for k, fp in plan.inputs_in(con).items()
                    if k.startswith("source:")]
    except duckdb.Error as exc:
        raise JlacError(f"--source keeps the other sources as the published warehouse holds them, but "
                        f"{settings.warehouse} cannot be read ({str(exc).splitlines()[0]}); a refresh without "
                        "--source rebuilds and replaces it") from None
    # a source the code no longer has is left to the plan (it ignores it)
    kept = {s: v for s, v in rows if s not in keep and s not in (pinned or {}) and s in all_sources()}
    absent = sorted(s for s, v in kept.items() if v == "none")
    pins = {s: v for s, v in kept.items() if v != "none"}
    for source, vintage in sorted(pins.items()):
        available = [snap.vintage for snap in list_vintages(source, settings)]
        if vintage not in available:
            raise JlacError(
                f"--source {', '.join(keep)} keeps every other source at the vintage the published warehouse holds, "
                f"but {source}'s published vintage {vintage!r} is no longer in the store or the mirrors (available: "
                f"{', '.join(available) or 'none'}); "
                + (f"refresh without --source to build {source} from its newest vintage, or name one with --pin "
                   f"{source}=VINTAGE" if available and max(available) > vintage else
                   f"put its folder back (a mirror missing from JLAC_MIRROR?), or name the vintage to build it from "
                   f"with --pin {source}=VINTAGE: a refresh without --source stops too, rather than go back to an "
                   "older vintage"))
    return pins, absent


def _refuse_changed_kept(keep: list[str], kept: list[str], inputs: dict[str, str], published: dict[str, str] | None
                         ) -> None:
    """``--source``: a source kept as published whose input now differs from the published one (its vintage's
    manifest edited, or an earlier vintage it reads added since) would be rebuilt too, against what was asked
    (found by a QA pass: an older vintage of mof-trade-by-country-top30 added to the store was loaded by
    ``--source fred-exjpus``). Refused, naming it; only when the code is the same (else every source is rebuilt)."""
    if not published or published.get("code") != inputs.get("code"):
        return
    changed = sorted(n for n in kept if inputs.get(f"source:{n}") != published.get(f"source:{n}"))
    if changed:
        raise JlacError(
            f"--source {', '.join(keep)} keeps every other source as the published warehouse holds it, but the "
            f"snapshot of {', '.join(changed)} now differs from the published one (its manifest, or, for a source "
            "that reads its earlier vintages, those); refresh without --source to build it, or add it to --source")


@contextlib.contextmanager
def _log_to_run(logger: logging.Logger):
    """Send jlac's own log records to the flow run's log too (console output keeps going through the root), at INFO
    at least; the logger's level is given back at the end (it stayed INFO: `jlac -v` lost jlac's debug lines, and so
    did everything later in the same process)."""
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.logging.handlers import APILogHandler

    handler = APILogHandler()
    flow_run_id = get_run_context().flow_run.id

    def stamp(record: logging.LogRecord) -> bool:
        # A record from a thread without Prefect's run context (dbt runs its nodes in threads of its own: every
        # model's and test's line) is the flow run's: without its id, Prefect dropped it with a warning (QA pass)
        if getattr(record, "flow_run_id", None) is None and FlowRunContext.get() is None and \
                TaskRunContext.get() is None:
            record.flow_run_id = flow_run_id
        return True

    handler.addFilter(stamp)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _annotations_resolved(fn):
    """The function with its annotations as objects, not strings. Prefect's runner (``jlac serve``) sends the flow to
    the process that runs it by value (cloudpickle), with only the globals its code uses: a string annotation
    ('Settings | None') could not be resolved there, and every served run failed validating its parameters before
    it started (found by a QA pass; a worker imports the module and was not affected)."""
    fn.__annotations__ = typing.get_type_hints(fn)
    return fn


# on_cancellation too: `jlac serve` stopped by systemd ends its run as Cancelled ("Runner is shutting down"), and no
# alert went out (found by a QA pass); a run cancelled from the UI is a run that did not publish either
@flow(name="jlac-refresh", log_prints=True, on_failure=[_notify], on_crashed=[_notify], on_cancellation=[_notify])
@_annotations_resolved
def refresh(settings: Settings | None = None, fetch: bool = False, offline: bool = False,
            sources: list[str] | None = None, pins: dict[str, str] | None = None, trigger: str = "prefect",
            full: bool = False, drop: list[str] | None = None) -> RunRecord:
    """Fetch new releases (optional), then build, validate and publish what changed.

    ``sources`` limits the fetch and the rebuild to those sources (the others keep the published vintages);
    ``pins`` builds from given vintages; ``full`` rebuilds everything even when nothing changed. ``offline`` fetches
    nothing whatever ``fetch`` says (a warning says it is ignored).
    A source the published warehouse holds but of which no snapshot is found any more stops the refresh before
    anything is built (its published data would be removed), unless ``drop`` names it.
    On any failure the published warehouse is left exactly as it was; the run is recorded in the ledger
    either way, and a failed validation leaves a report naming source, file and rows.
    """
    settings = settings or get_settings()
    quiet_jlac_tracebacks()  # a served or a worker's run has no CLI to install it
    if fetch and offline:  # a deployment's fetch=true run with offline=true: offline wins, said in the run's log
        with _log_to_run(logging.getLogger("jlac")):
            log.warning(preflight.fetch_ignored("fetch=True", "offline=True", "the run"))
        fetch = False
    try:
        preflight.check(settings, sources, pins, fetch=fetch, drop=drop)  # before anything is fetched or built
        # as the CLI does: a deployment's run with sources=["imf-imts"] and no snapshot of it said "nothing changed"
        # and ended Completed, where `jlac refresh --source imf-imts` is refused (found by a QA pass)
        preflight.check_snapshots(settings, pins, fetch=fetch, named=sources)
    except RefreshBusy as exc:  # another refresh is at work: this one is skipped, not failed (no alert)
        return _skipped(settings, RunRecord(run_id=new_run_id(), trigger=trigger,
                                            flow_run_id=str(get_run_context().flow_run.id)), exc)
    except JlacError as exc:
        _record_refused(settings, trigger, exc)
        raise
    # the run starts here, its fetch included: a stop during the fetch (its longest stage on a schedule) wrote no
    # ledger line, so `jlac status` showed the run before it, and a run's duration left its fetch out (QA pass)
    record = RunRecord(run_id=new_run_id(), trigger=trigger, flow_run_id=str(get_run_context().flow_run.id))
    with _log_to_run(logging.getLogger("jlac")), stops.noting() as noted:
        try:
            fetch_failed = _fetch(settings, sources, record) if fetch else {}
            stops.check(noted)  # a stop a fetch made into a failed download is no reason to build
        except BaseException as exc:
            _record_fetch_ended(settings, record, exc, noted)
            if stops.made_over(exc, noted):
                raise stops.exception_for(noted[0]) from exc
            raise
        try:
            record = _build_and_publish(settings, record=record, sources=sources, pins=pins, full=full,
                                        fetch_failed=fetch_failed, drop=drop)
        except RefreshBusy as exc:  # another refresh took the lock after the pre-flight check: the same as above
            return _skipped(settings, record, exc)
    if record.status == "completed":
        try:
            _artifacts(settings, record)
        except Exception as exc:  # noqa: BLE001  the run published: a summary Prefect cannot take does not fail it
            # (a server gone after the publish made a published, recorded run exit 1 and alert 'failed': QA pass)
            log.warning("run %s published, but its Prefect artifacts could not be written: %s: %s", record.run_id,
                        type(exc).__name__, exc)
    if record.fetch_failed:
        _alert_fetch_failure(record, settings)
    return record


def _skipped(settings: Settings, record: RunRecord, exc: RefreshBusy) -> RunRecord:
    """A run turned away because another refresh holds the lock: recorded as ``skipped`` (every run is in the
    ledger), its flow run Completed. Two refreshes started close together passed the pre-flight check, and the second
    was recorded as failed and alerted as a failure, a page for a run that only had to wait (found by a QA pass);
    the command line exits 75 (``RefreshBusy.exit_code``)."""
    log.warning("run %s skipped: %s", record.run_id, exc)
    record.finish("skipped", str(exc))
    try:
        ledger.append(settings.run_ledger, record)
    except OSError as write_error:
        log.warning("run %s skipped, and not recorded in %s: %s", record.run_id, settings.run_ledger, write_error)
    return record


def _record_refused(settings: Settings, trigger: str, exc: JlacError) -> None:
    """A run the pre-flight check refused, in the ledger as every run is. The CLI checks before it starts a flow (a
    usage error, no run); a deployment's or a schedule's run is refused here, and it was in no ledger line, so that
    `jlac status` kept showing the run before it (found by a QA pass). A ledger that cannot be written (the check's
    own complaint may be that folder) is said in the log."""
    record = RunRecord(run_id=new_run_id(), trigger=trigger, flow_run_id=str(get_run_context().flow_run.id))
    record.finish("failed", f"{type(exc).__name__}: {exc}")
    try:
        ledger.append(settings.run_ledger, record)
    except OSError as write_error:
        log.warning("run %s refused before it started, and not recorded in %s: %s", record.run_id,
                    settings.run_ledger, write_error)


def _finish_stopped(record: RunRecord, exc: BaseException, *, stopped: bool) -> None:
    """End the record of a run that an exception ended: ``failed``, or for a stop ``crashed`` (Ctrl-C, SIGTERM, a
    closed terminal) or ``cancelled`` (Prefect's Cancel, which reaches the process as the same SIGTERM: it was
    recorded and alerted as a crash, found by a QA pass)."""
    why = prefect_api.cancelled_in_prefect(record.flow_run_id) if stopped else None
    if why:
        record.finish("cancelled", why)
    else:
        record.finish("crashed" if stopped else "failed", str(exc) or type(exc).__name__)


def _record_fetch_ended(settings: Settings, record: RunRecord, exc: BaseException, noted: list[int]) -> None:
    """The run's ledger line when its fetch stage ended it: stopped (crashed), or an error no fetch task caught."""
    _finish_stopped(record, exc, stopped=not isinstance(exc, Exception) or is_interrupt(exc) or bool(noted))
    try:
        ledger.append(settings.run_ledger, record)
    except OSError as ledger_error:  # the run's own error is the one to report
        log.error("%s; the run's outcome (%s) is not in the ledger", ledger_error, record.status)


def _fetch(settings: Settings, sources: list[str] | None, record: RunRecord | None = None) -> dict[str, str]:
    """Fetch every live source (or those of ``sources``), one task each; return {source: message} of the failed.
    ``record.failed_source`` names the source being fetched meanwhile (a stop then names it)."""
    logger = get_run_logger()
    live = connector_names(None)
    names = [s for s in sources if s in live] if sources else live
    if sources and (offline_only := sorted(set(sources) - set(live))):
        logger.info("no live connector for %s: built from the snapshots at hand", ", ".join(offline_only))
    failed = {}
    for name in names:
        if record is not None:
            record.failed_source = name
        state = fetch_task(name, settings, return_state=True)
        if state.is_failed():  # one publisher down never stops the others or the build
            exc = state.result(raise_on_failure=False)
            message = exc.message.removeprefix(f"{name}: ") if isinstance(exc, FetchFailed) else (
                f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else state.message or "failed")
            failed[name] = message
            logger.error("fetch %s failed (%s); building from its last good vintage, if it has one", name, message)
    if record is not None:
        record.failed_source = None
    return failed


def _alert_fetch_failure(record: RunRecord, settings: Settings) -> None:
    """A run whose fetches failed published (or kept) the last good vintages of those sources: say which and why,
    as the run's outcome alone ("completed", "unchanged") would not."""
    from jlac.ops import alerts

    names = ", ".join(sorted(record.fetch_failed))
    lines = [f"jlac refresh {record.run_id} {record.status}, but the fetch of {names} failed"] + [
        f"{name}: {message}; {ledger.built_instead(name, record.snapshots)}"
        for name, message in sorted(record.fetch_failed.items())]
    # with the flow run's id and page, as a failed run's alert has them (a receiver links every alert to its run)
    ui_url = alerts.ui_url(record.flow_run_id) if record.flow_run_id else None
    if ui_url:
        lines.append(ui_url)
    alerts.send({"text": "\n".join(lines), "state": "fetch_failed", "run_id": record.run_id,
                 "status": record.status, "fetch_failed": record.fetch_failed, "flow_run_id": record.flow_run_id,
                 "ui_url": ui_url}, warehouse=settings.warehouse)


@contextlib.contextmanager
def _refresh_lock(settings: Settings, record: RunRecord):
    """The warehouse's refresh lock; a refresh turned away by it is recorded in the ledger too (every run is)."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(warehouse.refresh_lock(settings))
        except RefreshBusy:  # recorded as skipped by the flow (_skipped)
            raise
        except JlacError as exc:
            record.finish("failed", str(exc))
            ledger.append(settings.run_ledger, record)
            raise
        # while it holds the lock, the run is marked in .build/: killed before it made its build file (kill -9 or the
        # OOM killer while parsing), it left nothing else there, and no ledger line (found by a QA pass)
        marker = warehouse.mark_running(settings, record.run_id, record.flow_run_id)
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)


def _record_killed_builds(settings: Settings, removed: list[Path], marks: dict[str, dict] | None = None,
                          found_by: str | None = None) -> None:
    """Say which runs' build files (or run markers, ``warehouse.mark_running``) were left, record each run killed
    before its publish (kill -9, the OOM killer) in the ledger as crashed, once, and alert it: such a run had no line
    and `jlac status` never named it, and its own process could send no alert (found by QA passes). A run the ledger
    has as completed published before it was stopped: what it left is no sign of a lost run (the warning said
    "stopped before their publish" of it, found by a QA pass). A build file is named ``<run id>.duckdb``."""
    if not removed:
        return
    runs = sorted({warehouse.run_of(p) for p in removed})
    lines = {r["run_id"]: r for r in ledger.read(settings.run_ledger)}
    published = [r for r in runs if lines.get(r, {}).get("status") == "completed"]
    stopped = [r for r in runs if r not in published]
    if published:
        log.warning("removed what runs %s left in %s after their publish (stopped before they cleaned up: killed?)",
                    ", ".join(published), settings.build_dir)
    if stopped:
        log.warning("removed what runs %s left in %s (stopped before their publish: killed?); the published "
                    "warehouse is as they found it", ", ".join(stopped), settings.build_dir)
    for run_id in stopped:
        started = ledger.run_started(run_id)
        if started is None or run_id in lines:  # not a run's build file, or a run already recorded
            continue
        flow_run_id = (marks or {}).get(run_id, {}).get("flow_run_id")
        record = RunRecord(run_id=run_id, trigger="unknown", flow_run_id=flow_run_id,
                           started=started.isoformat(timespec="milliseconds"))
        record.finish("crashed", "its process ended during its build, before its publish (killed?): what it left in "
                                 f"{settings.build_dir} was found and removed by "
                                 f"{f'run {found_by}' if found_by else 'a later run'}")
        record.duration_s = None  # unknown: the time until it was found is no run's duration
        ledger.append(settings.run_ledger, record)
        _alert_found_crash(record, settings)


def _alert_found_crash(record: RunRecord, settings: Settings) -> None:
    """The alert a killed run could not send, sent by the run that found it."""
    from jlac.ops import alerts

    alerts.send(alerts.build_payload(
        flow_run_id=record.flow_run_id or "unknown", flow_run_name=f"run {record.run_id}", state="crashed",
        message=record.error or "", run=record.summary(),
        ui_url=alerts.ui_url(record.flow_run_id) if record.flow_run_id else None), warehouse=settings.warehouse)


def _started_later(lines: list[dict], started) -> bool:
    """A run in the ledger started after ``started`` (the published run's start): the published run is not the last
    one, so the ledger lost its line to pruning (docs/operations.md), not to a kill after the swap, which the very
    next run catches. A ledger cut past it made the next refresh record the run again and run its after-publish
    hooks again (found by a QA pass)."""
    if started is None:
        return False
    for line in lines:
        try:
            if datetime.fromisoformat(line["started"]) > started:
                return True
        except (KeyError, TypeError, ValueError):  # a line without a usable time says nothing either way
            continue
    return False


def _finish_an_interrupted_publish(settings: Settings) -> None:
    """A run killed after its swap and before its ledger line (its after-publish hooks run in between): record it
    now from the published warehouse's ``meta.runs`` (which the run wrote), and move the charts it had staged into
    the output. Without this, `jlac status` named the warehouse's previous vintages for good, the next refresh
    found nothing changed, and the next publish dropped the run from ``meta.runs`` (found by a QA pass). Its
    after-publish hooks are caught up by ``publish_hooks.catch_up`` as for any hook that did not succeed."""
    from jlac.revisions import published_run

    if not settings.warehouse.exists():
        return
    try:
        with warehouse.connect_readonly(settings) as con:
            run_id = published_run(con)
            row = con.execute("SELECT run_id, flow_run_id, trigger, started, ended, duration_s, snapshots::VARCHAR "
                              "FROM meta.runs WHERE run_id = ?", [run_id]).fetchone() if run_id else None
    except duckdb.Error:  # unreadable or held by a writer: the plan's own read of it says so
        return
    if row is None:
        return
    staged = settings.build_dir / f"{run_id}-output"
    lines = ledger.read(settings.run_ledger)
    if any(r["run_id"] == run_id for r in lines) or _started_later(lines, row[3]):
        if staged.is_dir():  # its charts could not be moved (a full disk under JLAC_OUTPUT): moved now
            log.warning("run %s published %s, but its charts and docs site stayed in %s (their move failed): moved "
                        "into %s now", run_id, settings.warehouse, staged, settings.output)
            _move_outputs(staged, settings.output)
        return

    def when(t):
        return t.astimezone(UTC).isoformat(timespec="milliseconds") if t is not None else None

    record = RunRecord(run_id=row[0], flow_run_id=row[1], trigger=row[2] or "cli", started=when(row[3]),
                       ended=when(row[4]), status="completed", duration_s=row[5], snapshots=json.loads(row[6] or "[]"))
    log.warning("run %s published %s but was stopped before recording it (killed?): recorded now from the "
                "warehouse's meta.runs; its after-publish hooks are run again", run_id, settings.warehouse)
    ledger.append(settings.run_ledger, record)
    if staged.is_dir():
        _move_outputs(staged, settings.output)


def _build_and_publish(settings: Settings, *, record: RunRecord, sources, pins, full, fetch_failed=None,
                       drop=None) -> RunRecord:
    record.fetch_failed = dict(fetch_failed or {})
    build: Path | None = None
    previous_copy: Path | None = None
    published = recorded = False
    swapped_in: int | None = None  # the build file's inode: the published file is this one once the swap is done
    staged_output = settings.build_dir / f"{record.run_id}-output"
    incremental = False
    with _refresh_lock(settings, record), stops.noting() as noted:
        _finish_an_interrupted_publish(settings)
        marks = warehouse.marked_runs(settings)
        _record_killed_builds(settings, warehouse.remove_stale_builds(settings, keep=record.run_id), marks,
                              found_by=record.run_id)
        leftovers.sweep(settings, transform.dbt_home(settings))
        try:
            kept, absent = _published_pins(settings, sources, pins) if sources else ({}, [])
            asked = set(pins or {})  # the user's own pins: the only way back to an older vintage
            pins = {**kept, **(pins or {})}
            snapshots = discover_task(settings, pins=pins, absent=absent)
            record.snapshots = [meta.snapshot_record(s) for s in snapshots.values() if s is not None]
            for name, snap in snapshots.items():
                record.failed_source = name
                if snap is not None:
                    verify_task(snap, settings)
                    # and the earlier vintages its cached parse read: an unchanged refresh parses nothing, so a
                    # damaged one was left behind published values (found by a QA pass)
                    parse.verify_history_read(settings, all_sources()[name], snap)
            record.failed_source = None
            published_inputs = plan.published_inputs(settings)
            if back := plan.gone_back(snapshots, published_inputs, asked):
                record.failed_source = min(back)
                plan.refuse_gone_back(back, settings)
            vanished = plan.vanished(snapshots, published_inputs)
            if gone := {n: v for n, v in vanished.items() if n not in (drop or [])}:
                record.failed_source = min(gone)
                plan.refuse_vanished(gone, settings)
            if vanished:
                record.dropped = sorted(vanished)
                log.warning("built without %s, as asked (--drop): its published data is removed",
                            ", ".join(sorted(vanished)))
            if present := sorted(n for n in set(drop or []) - set(vanished) if snapshots.get(n) is not None):
                log.warning("--drop %s: its snapshots are found, so it is built as usual (--drop builds without a "
                            "source only when its snapshots are no longer found)", ", ".join(present))
            # "its snapshots are found" was said of a source never fetched too (found by a QA pass)
            if idle := sorted(n for n in set(drop or []) - set(vanished) if snapshots.get(n) is None):
                log.warning("--drop %s: no snapshot of it, and the published warehouse holds none either: nothing to "
                            "drop", ", ".join(idle))
            inputs = plan.inputs_of(snapshots, plan.code_fingerprint(settings))
            _refuse_changed_kept(sources or [], [*kept, *absent], inputs, published_inputs)
            the_plan = plan_task(settings, snapshots, inputs, published_inputs, full)
            record.plan = {"mode": the_plan.mode, "reason": the_plan.reason, "changed": the_plan.changed}
            log.info("plan: %s (%s)", the_plan.mode, the_plan.reason)
            stops.check(noted)  # at each stage's end: a stop the stage swallowed ends the run there
            if the_plan.mode == "unchanged":
                # hooks that failed for the published warehouse (a serving database down) get another go
                record.hooks = [o.__dict__ for o in catch_up_task(settings, record,
                                                                  alert=_hook_failure_alert(record, settings))]
                stops.check(noted)
                if figures.drawn_by_other_code(settings.output):
                    log.info("the charts in %s were drawn by another version of jlac: drawn again from the published "
                             "warehouse", settings.output)
                    with warehouse.outputs_lock(settings, f"refresh {record.run_id}"):
                        figures_task(settings.warehouse, settings.output, cache=settings.cache_dir / "figures")
                record.finish("unchanged")
                ledger.append(settings.run_ledger, record)
                recorded = True
                log.info("nothing changed since the published warehouse; nothing published (run %s)", record.run_id)
                return record
            transform.prepare(settings)  # dbt reads its project in the background while data is parsed and checked
            all_src = all_sources()
            chosen = {n: all_src[n] for n in the_plan.changed}
            parquets = {}
            for name, src in chosen.items():
                record.failed_source = name
                if snapshots[name] is None:
                    log.info("%s: no snapshot; its raw table stays empty", name)
                    continue
                parquets[name] = parse_source(settings, src, snapshots[name])
                stops.check(noted)
            record.failed_source = None
            build = new_build_task(settings, record.run_id, the_plan)
            incremental = the_plan.mode == "incremental"
            map_before = countries.name_map_fingerprint(build) if incremental else None
            counts = load_task(build, chosen, snapshots, parquets, incremental=incremental)
            log.info("raw rows loaded: %s", counts)
            record.quarantine = quarantine.summary(build)  # rows set aside per source, for the ledger
            results = []
            with validation.one_database(build):  # the checks' connections join one open database
                # with the sources whose checks read a changed one's raw table, all their rows (validation.dependents)
                again = validation.dependents(list(chosen), all_src, snapshots) if incremental else {}
                if again:
                    log.info("checked again against the new data they read: %s", ", ".join(sorted(again)))
                for name, src in {**chosen, **again}.items():
                    if snapshots[name] is None:  # its raw table must be empty: no task run of its own (a run's
                        # Prefect overhead, ~20 ms of the API's CPU each, for a check of one empty table)
                        results += validation.validate_source(build, src, None, settings)
                        continue
                    state = validate_task(build, src, snapshots[name], None if name in again else settings,
                                          return_state=True)
                    got = state.result(raise_on_failure=False)
                    if isinstance(got, BaseException):  # the checks themselves broke: that error, as before
                        raise got
                    results += got
            report = _write_report(settings, record, results, snapshots)
            stops.check(noted)
            _fail_on_validation(results, report, record)
            changed = None
            if incremental:  # the models downstream of the new snapshots (and of new country names, if any)
                changed = [s.table for s in chosen.values()]
                if countries.name_map_fingerprint(build) != map_before:
                    changed.append("country_name_map")
            model_task(build, settings, changed)
            figures_task(build, staged_output, previous=settings.output, cache=settings.cache_dir / "figures")
            record.finish("completed")
            with duckdb.connect(str(build)) as con:
                meta.write_meta(con, settings, record, results, the_plan.inputs,
                                carried=frozenset(set(all_src) - set(chosen)) if incremental else frozenset())
            docs_task(build, settings, staged_output / transform.DOCS_DIR, full=changed is None)
            previous = settings.warehouse if settings.warehouse.exists() else None
            if previous is not None and (why := warehouse.unreadable(previous)) and warehouse.locked_by_a_writer(why):
                # a user's session holds it open for writing: the hooks compare with a copy of its published bytes
                previous = previous_copy = warehouse.readable_copy(previous, settings, record.run_id)
                why = warehouse.unreadable(previous)
            if previous is not None and why:
                # a damaged published file is replaced, not compared: the before-publish hooks (revisions) that
                # read it would otherwise refuse every later publish, and nothing could ever replace it
                log.warning("the published warehouse %s cannot be read (%s): replaced without comparing it",
                               previous, why)
                warehouse.keep_damaged(previous, record.run_id)
                previous = None
            ctx = publish_hooks.PublishContext(settings, record, build, previous)
            stops.check(noted)  # stopped, and the code it interrupted went on: nothing is published
            swapped_in = build.stat().st_ino
            # the swap, the outputs and the site as one section: `jlac figures` or `jlac report` beside it wrote the
            # old warehouse's charts over the new ones (warehouse.outputs_lock)
            with warehouse.outputs_lock(settings, f"refresh {record.run_id}"):
                publish_task(ctx)
                published = True
                if previous_copy is not None:
                    previous_copy.unlink(missing_ok=True)
                try:
                    _move_outputs(staged_output, settings.output)
                except OSError as move_error:
                    raise _outputs_not_moved(settings, record, staged_output, move_error) from move_error
                alert = _hook_failure_alert(record, settings)
                record.hooks = [o.__dict__ for o in after_publish_task(ctx, alert=alert)]
            stops.check(noted)  # published, then stopped: recorded as interrupted after publishing
            ledger.append(settings.run_ledger, record)
            recorded = True
            log.info("published %s (run %s, %s build, %.1f s)", settings.warehouse, record.run_id, the_plan.mode,
                     record.duration_s)
            return record
        except BaseException as exc:
            # stopped after the run's line was written (its last log line), or in the instant between that write and
            # the flag saying so: nothing left to record, and a second line would list the run twice
            if recorded or _in_ledger(settings, record.run_id):
                raise
            if not published and swapped_in is not None and _is_file(settings.warehouse, swapped_in):
                # stopped inside the publish task after its swap (syncing the folder, Prefect's bookkeeping): the
                # new warehouse is out, and its charts go with it, as after a publish
                published = True
                try:
                    _move_outputs(staged_output, settings.output)
                except OSError as move_error:
                    log.error("%s", _outputs_not_moved(settings, record, staged_output, move_error))
            if published:  # interrupted in an after-publish hook: the new warehouse is out, say so
                record.error = f"interrupted after publishing: {type(exc).__name__}: {exc}"
            else:
                # Ctrl-C, SIGTERM: not a failure, whatever the code it interrupted raised (jlac.stops)
                _finish_stopped(record, exc,
                                stopped=not isinstance(exc, Exception) or is_interrupt(exc) or bool(noted))
            # the build first: on a full disk the ledger's write fails too, and the build must not stay behind
            if previous_copy is not None:
                previous_copy.unlink(missing_ok=True)
            if build is None and not published:
                # stopped inside the new-build task (a Cancel): the file it was making, or its copy in progress, stayed
                # until the next publish (found by a QA pass)
                build = warehouse.build_path(settings, record.run_id)
                with contextlib.suppress(OSError):
                    build.with_name(f".{build.name}.copy").unlink(missing_ok=True)
            if build is not None:
                for p in (build, build.with_suffix(".duckdb.wal")):
                    with contextlib.suppress(OSError):
                        p.unlink(missing_ok=True)
            if not published:  # after the swap, charts whose move failed stay for the next refresh to move in
                shutil.rmtree(staged_output, ignore_errors=True)
            try:
                ledger.append(settings.run_ledger, record)
            except OSError as ledger_error:  # the run's own error is the one to report, not this one's
                log.error("%s; the run's outcome (%s) is not in the ledger", ledger_error, record.status)
            if stops.made_over(exc, noted):  # the stop, not what the code it interrupted made of it
                raise stops.exception_for(noted[0]) from exc
            if published and isinstance(exc, OSError) and not is_interrupt(exc):
                # the ledger's line after the swap (a full disk, a read-only file): it said only "PermissionError",
                # and the alert "failed" (found by a QA pass)
                raise JlacError(f"run {record.run_id} published {settings.warehouse}, but then failed: "
                                f"{type(exc).__name__}: {exc}; `jlac status` names the published run as not in the "
                                f"ledger {settings.run_ledger}, and the next refresh records it") from exc
            if incremental and not published and "Corrupt database file" in str(exc):
                # the build is a byte copy of the published file: its damage showed as a failed SQL model, naming
                # neither the file nor the way out (found by a QA pass)
                raise JlacError(f"{exc}\nThe build was a copy of the published warehouse {settings.warehouse}, which "
                                "is damaged (DuckDB found a block whose checksum does not match): `jlac refresh "
                                "--full` builds a new warehouse from the snapshots and replaces it") from exc
            raise


def _in_ledger(settings: Settings, run_id: str) -> bool:
    """Whether the ledger already has the run's line (read after a stop: any error reading it counts as no)."""
    try:
        return any(r["run_id"] == run_id for r in ledger.read(settings.run_ledger))
    except Exception:  # noqa: BLE001 - the run's own error is the one to report
        return False


def _write_report(settings: Settings, record: RunRecord, results, snapshots) -> Path:
    path = settings.reports_dir / record.run_id / "validation.md"
    record.report_path = str(path)
    return validation.write_report(
        results, path, record.run_id, {n: str(s.root) for n, s in snapshots.items() if s is not None}
    )


def _fail_on_validation(results: list[validation.SuiteResult], report: Path, record: RunRecord) -> None:
    failed = [r for r in results if not r.success]
    if failed:
        record.failed_source = failed[0].source
        record.failed_suite = failed[0].suite
        record.failed_sources = list(dict.fromkeys(r.source for r in failed))
        record.failed_suites = [r.suite for r in failed]
        raise ValidationFailed(
            f"validation failed in {len(failed)} suite(s); nothing was published. Report: {report}\n"
            + validation.summary(results),
            report_path=report,
        )


def _move_into(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing it. The outputs are staged beside the build, and the output folder may be
    on another filesystem (JLAC_OUTPUT on a share): there a rename fails (EXDEV), so the item is copied next to
    ``dst`` first and renamed into place, which a reader of the folder still sees as one step per item."""
    if src.is_dir() and src.name == transform.DOCS_DIR:  # a folder of the user's under that name is not removed
        transform.check_docs_folder(dst)
    elif src.is_dir():
        owned.check_replaceable(dst, {p.name for p in src.iterdir()}, f"the run's {src.name}")
    try:
        _clear_for_folder(src, dst)
        os.replace(src, dst)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.moving")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    tmp.unlink(missing_ok=True)
    try:
        if src.is_dir():
            shutil.copytree(src, tmp)
        else:
            shutil.copy2(src, tmp)
        _clear_for_folder(src, dst)
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise


def _is_file(path: Path, inode: int) -> bool:
    try:
        return path.stat().st_ino == inode
    except OSError:
        return False


def _clear_for_folder(src: Path, dst: Path) -> None:
    """Make way for the folder ``src`` at ``dst``: a folder there is removed, a link only unlinked (what it points to
    is not jlac's to remove; a folder cannot be renamed over it)."""
    if src.is_dir() and dst.is_symlink():
        dst.unlink()
    elif src.is_dir() and dst.is_dir():
        shutil.rmtree(dst)


def _outputs_not_moved(settings: Settings, record: RunRecord, staged: Path, exc: OSError) -> JlacError:
    """The run published, and its charts and docs site could not be moved into the output folder (a full disk there):
    they were thrown away, the output kept charts of the previous warehouse for good, and the CLI said only
    "OSError" (found by a QA pass). They stay in the build folder; the next refresh moves them in."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        exc = OSError(f"{len(exc.args[0])} file(s) not copied, the first: {exc.args[0][0][-1]}")  # a list per file
    return JlacError(f"run {record.run_id} published {settings.warehouse}, but its charts and docs site could not be "
                     f"moved into {settings.output} ({exc}): they wait in {staged}, and the next `jlac refresh` moves "
                     "them in (`jlac figures` draws the charts again now)")


def _move_outputs(staged: Path, outdir: Path) -> None:
    """Move freshly rendered charts into the output folder (after the warehouse is published); charts the new
    figures record no longer lists are removed, so nothing drawn from older data stays beside the new."""
    outdir.mkdir(parents=True, exist_ok=True)
    published = figures.read_record(outdir)
    fresh = figures.read_record(staged) if (staged / figures.RECORD).is_file() else None
    if staged.is_dir():
        for p in staged.iterdir():
            _move_into(p, outdir / p.name)
    if fresh is not None:
        figures.remove_stale(outdir, published, fresh)
    shutil.rmtree(staged, ignore_errors=True)


def _artifacts(settings: Settings, record: RunRecord) -> None:
    """A run summary and Figure 1's latest years as Prefect artifacts."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    with warehouse.connect_readonly(settings) as con:
        fig1 = con.execute(
            "SELECT year, exports_usd_bn, imports_usd_bn, total_usd_bn, lac_share_pct, sources "
            "FROM figures.fig1_japan_lac_trade ORDER BY year DESC LIMIT 8"
        ).fetchall()
        # views too (the HS-9 facts are views over Parquet partitions), without counting their rows (47 M at 38 years)
        tables = con.execute(
            "SELECT schema_name || '.' || table_name, CAST(estimated_size AS VARCHAR) FROM duckdb_tables() "
            "WHERE schema_name IN ('marts', 'figures') UNION ALL SELECT schema_name || '.' || view_name, 'view' "
            "FROM duckdb_views() WHERE NOT internal AND schema_name IN ('marts', 'figures') ORDER BY 1"
        ).fetchall()
    snaps = "\n".join(f"| {s['source']} | {s['vintage']} | `{s['fingerprint'][:16]}` |" for s in record.snapshots)
    plan_ = record.plan or {}
    create_markdown_artifact(
        key="jlac-refresh-summary",
        markdown=(
            f"# jlac refresh {record.run_id}\n\nStatus **{record.status}** in {record.duration_s} s "
            f"({plan_.get('mode')} build: {plan_.get('reason')}); published `{settings.warehouse}`.\n\n"
            f"| source | vintage | sha256 fingerprint |\n|---|---|---|\n{snaps}\n\n"
            + "| table | rows |\n|---|---|\n" + "\n".join(f"| {t} | {n} |" for t, n in tables)
        ),
        description="Snapshots used and tables published",
    )
    columns = ["year", "exports_usd_bn", "imports_usd_bn", "total_usd_bn", "lac_share_pct", "sources"]
    create_table_artifact(
        key="jlac-fig1-latest",
        table=[dict(zip(columns, r, strict=True)) for r in fig1],
        description="Figure 1, latest years",
    )
