"""The Prefect 3 flow: the plain pipeline's stages as tasks, with retries, caching, logs and an artifact.

Runs with Prefect's ephemeral API when no server is configured (``jlac refresh``), or as a deployment.
"""

from __future__ import annotations

import hashlib
import importlib
import os

# jlac's own loggers belong in the flow run's logs (set before Prefect configures logging).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "jlac")
# ... and outside a flow run (plain pipeline calls) they just log locally, without a warning per line.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.context import get_run_context  # noqa: E402

from jlac import partitions, pipeline  # noqa: E402
from jlac.config import get_settings  # noqa: E402
from jlac.errors import JlacError  # noqa: E402


def _parse_cache_key(context, parameters) -> str:
    """Snapshot sha256 + parser code version (both in the batch's path) + where the batch lives."""
    path = pipeline.cache_path(parameters["settings"], parameters["source"], parameters["snapshot"])
    return f"jlac-parse-{parameters['source'].name}-" + hashlib.sha256(str(path).encode()).hexdigest()[:32]


@task(name="discover", retries=2, retry_delay_seconds=[1, 5])
def discover_task(settings, pins):
    return pipeline.discover(settings, pins=pins)


@task(name="verify", retries=2, retry_delay_seconds=[1, 5], retry_jitter_factor=0.5,
      task_run_name="verify {snapshot.id}")
def verify_task(settings, snapshot):
    pipeline.Stages().verify(settings, snapshot)  # partitioned sources: files seen unchanged are not hashed again


@task(name="parse", cache_key_fn=_parse_cache_key, persist_result=True, result_serializer="json",
      task_run_name="parse {source.name}")
def parse_task(settings, source, snapshot) -> str:
    return str(pipeline.parse_to_cache(settings, source, snapshot))


# --- the parse fan-out of partitioned sources: one task per file, on Dask when JLAC_TASK_RUNNER names a cluster ---

def task_runner_from_env():
    """prefect-dask's DaskTaskRunner for JLAC_TASK_RUNNER (``dask://host:8786`` or ``local:N``); None when unset."""
    spec = os.environ.get("JLAC_TASK_RUNNER", "").strip()
    if not spec:
        return None
    from prefect_dask import DaskTaskRunner

    if spec.startswith("dask://"):  # an existing scheduler: its workers must see the snapshot and cache paths
        return DaskTaskRunner(address="tcp://" + spec.removeprefix("dask://"))
    if spec.startswith("local:") and spec.removeprefix("local:").isdigit():
        n = int(spec.removeprefix("local:"))
        # processes, one thread each: DuckDB inside each task uses the cores; the dashboard would need a port
        return DaskTaskRunner(cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True,
                                              "dashboard_address": None})
    raise JlacError(f"JLAC_TASK_RUNNER={spec!r}: expected dask://host:port or local:N (N worker processes)")


@task(name="parse-partition", task_run_name="parse {rel}", retries=1, retry_delay_seconds=2)
def parse_partition_task(settings, source, snapshot, rel, version) -> dict:
    """One file into its Parquet partition, wherever the task runner puts it (the worker's process id is kept)."""
    return {"parquet": partitions.parse_partition(settings, source, snapshot, rel, version), "pid": os.getpid()}


@flow(name="jlac-parse-partitions")
def parse_partitions_flow(settings, source, snapshot) -> dict:
    """Parse the files of a partitioned source, one task per file, on the flow's task runner."""
    pids = set()

    def fan_out(files, version):
        futures = [parse_partition_task.submit(settings, source, snapshot, rel, version) for rel in files]
        for future in futures:
            pids.add(future.result()["pid"])  # raises the first failed file's error, naming the file

    parts = partitions.parse_all(settings, source, snapshot, fan_out=fan_out)
    if pids:
        get_run_logger().info("%s: parsed on %d process(es) %s", source.name, len(pids), sorted(pids))
    return {"parts": str(parts), "pids": sorted(pids)}


def parse_partitioned(settings, source, snapshot):
    """The fan-out as a subflow: on the Dask cluster of JLAC_TASK_RUNNER, else on Prefect's default runner."""
    runner = task_runner_from_env()
    flow_ = parse_partitions_flow.with_options(task_runner=runner) if runner else parse_partitions_flow
    return pipeline.Path(flow_(settings, source, snapshot)["parts"])


@task(name="load")
def load_task(build, sources, snapshots, parquets):
    return pipeline.Stages().load(build, sources, snapshots, parquets)


@task(name="validate")
def validate_task(settings, build, sources, snapshots):
    return pipeline.Stages().validate(settings, build, sources, snapshots)


@task(name="model")
def model_task(build, settings, docs_dir=None):
    return pipeline.Stages().model(build, settings, docs_dir)


@task(name="figures")
def figures_task(build, outdir):
    return pipeline.Stages().figures(build, outdir)


@task(name="publish", retries=1, retry_delay_seconds=2)
def publish_task(ctx):
    return pipeline.Stages().publish(ctx)


@task(name="after-publish")
def after_publish_task(ctx):
    return pipeline.Stages().after_publish(ctx)


class PrefectStages(pipeline.Stages):
    """The plain stages, each run as a Prefect task."""

    def discover(self, settings, pins):
        return discover_task(settings, pins)

    def verify(self, settings, snapshot):
        verify_task(settings, snapshot)

    def parse(self, settings, source, snapshot):
        if source.partitioned:  # one task per file (Dask when configured); unchanged files are skipped inside
            return parse_partitioned(settings, source, snapshot)
        # A batch file that has gone missing (deleted cache) must be parsed again, whatever the cache says.
        missing = not pipeline.cache_path(settings, source, snapshot).exists()
        state = parse_task.with_options(refresh_cache=missing)(settings, source, snapshot, return_state=True)
        path = state.result()
        if state.name == "Cached":
            get_run_logger().info(
                "%s: snapshot %s unchanged (sha256 fingerprint %s…, same parser code); parse skipped, batch %s",
                source.name, snapshot.id, snapshot.fingerprint[:12], path,
            )
        return pipeline.Path(path)

    def load(self, build, sources, snapshots, parquets):
        return load_task(build, sources, snapshots, parquets)

    def validate(self, settings, build, sources, snapshots):
        return validate_task(settings, build, sources, snapshots)

    def model(self, build, settings, docs_dir=None):
        return model_task(build, settings, docs_dir)

    def figures(self, build, outdir):
        return figures_task(build, outdir)

    def publish(self, ctx):
        return publish_task(ctx)

    def after_publish(self, ctx):
        return after_publish_task(ctx)


def _notify(flow_, flow_run, state) -> None:
    """Failure/crash hook: hand over to the alerts module when it is installed."""
    try:
        alerts = importlib.import_module("jlac.ops.alerts")
    except ModuleNotFoundError:
        return
    alerts.on_flow_failure(flow_, flow_run, state)


@flow(name="jlac-refresh", log_prints=True, on_failure=[_notify], on_crashed=[_notify])
def refresh(fetch: bool = False, offline: bool = False, sources: list[str] | None = None,
            pins: dict[str, str] | None = None, trigger: str = "prefect") -> dict:
    """Fetch new releases (optional), then build, validate and publish the warehouse and the figures."""
    logger = get_run_logger()
    settings = get_settings()
    if fetch and not offline:
        from jlac.connectors import fetch_all

        for result in fetch_all(sources, settings, offline=offline):
            logger.info("fetch %s: %s %s", result.source, result.status, result.message or "")
    flow_run_id = str(get_run_context().flow_run.id)
    record = pipeline.refresh(settings, pins=pins, trigger=trigger, stages=PrefectStages(), flow_run_id=flow_run_id)
    _artifacts(settings, record)
    return {"run_id": record.run_id, "status": record.status, "duration_s": record.duration_s}


def _artifacts(settings, record) -> None:
    from jlac.warehouse import connect_readonly

    with connect_readonly(settings) as con:
        fig1 = con.execute(
            "SELECT year, exports_usd_bn, imports_usd_bn, total_usd_bn, lac_share_pct, sources "
            "FROM figures.fig1_japan_lac_trade ORDER BY year DESC LIMIT 8"
        ).fetchall()
        tables = con.execute(
            "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() "
            "WHERE schema_name IN ('marts', 'figures') ORDER BY 1"
        ).fetchall()
    snaps = "\n".join(f"| {s['source']} | {s['vintage']} | `{s['fingerprint'][:16]}` |" for s in record.snapshots)
    create_markdown_artifact(
        key="jlac-refresh-summary",
        markdown=(
            f"# jlac refresh {record.run_id}\n\nStatus **{record.status}** in {record.duration_s} s; "
            f"published `{settings.warehouse}`.\n\n"
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
