"""PostgreSQL serving copy: time to load the whole warehouse on publish, and figure-query latency from four
concurrent clients during a refresh.

On a fresh warehouse folder with the whole mirror:

1. a first refresh (timed, no serving copy yet): the reference for the load target (<= 20 % of it);
2. ``jlac serve-sql`` starts on a free loopback port and loads that warehouse;
3. load time: ``catch_up(force=True)`` into serve-sql's cluster, ``--loads`` times (the publish hook's work);
4. four readers loop over the probe and each figure table (``concurrency_sql.measure``) while a second refresh
   builds and publishes and the new warehouse is loaded into the cluster; figure-query p50/p95 during it.

    .venv/bin/python benchmarks/serving_pg.py [--write]     # --write appends the numbers to RESULTS.md
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _concurrency():
    spec = importlib.util.spec_from_file_location("concurrency_sql", HERE / "concurrency_sql.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=os.environ.get("JLAC_MIRROR") or str(ROOT.parent / "shared" / "snapshots"))
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="append the numbers to benchmarks/RESULTS.md")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.pop("JLAC_POSTGRES_URL", None)

    from jlac import pipeline
    from jlac.config import Settings
    from jlac.serving.cluster import LocalCluster
    from jlac.serving.load import catch_up

    bench = _concurrency()
    home = Path(tempfile.mkdtemp(prefix="jlac-bench-pg-"))
    home.chmod(0o755)  # the cluster's system user (when run as root) must enter it
    settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "snapshots",
                        mirrors=tuple(Path(p) for p in args.mirror.split(os.pathsep)), output=home / "output")
    password = "bench-" + os.urandom(6).hex()
    server = None
    try:
        t0 = time.perf_counter()
        pipeline.refresh(settings, trigger="benchmark")
        first_refresh = time.perf_counter() - t0
        print(f"first refresh: {first_refresh:.1f} s", flush=True)

        env = {**os.environ, "JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_SQL_PASSWORD": password}
        server = subprocess.Popen([str(Path(sys.executable).with_name("jlac")), "serve-sql", "--port", "0"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.stdout.readline()
        port = int(re.search(r" on [\d.]+:(\d+)", line).group(1))
        print(line.strip(), flush=True)
        target = LocalCluster(home).target(port)

        loads = []
        for _ in range(args.loads):
            result = catch_up(settings.warehouse, target, force=True)
            loads.append(result.seconds)
            print(f"load: {result.seconds:.1f} s ({result.tables} tables, {result.rows} rows)", flush=True)

        dsn = f"host=127.0.0.1 port={port} dbname=jlac user=jlac password={password}"
        records = []
        old = bench.probe_file(settings.warehouse)
        def refresh():  # a full rebuild: the same inputs would otherwise publish nothing
            records.append(pipeline.refresh(settings, trigger="benchmark", full=True))

        measured = bench.measure(dsn, refresh, readers=4, settle_s=1.0,
                                 figures=bench.figure_queries(settings.warehouse))
        new = bench.probe_file(settings.warehouse)
        hook = next(h for h in records[0].hooks if h["hook"] == "postgres")
        print(measured.summary(), flush=True)
        print(f"postgres hook in the second refresh: {hook}", flush=True)
        fig_p50 = statistics.quantiles(measured.figure_ms, n=100)[49]
        fig_p95 = statistics.quantiles(measured.figure_ms, n=100)[94]
        load = statistics.median(loads)
        rows = [
            ("first refresh (whole mirror, no serving copy)", f"{first_refresh:.1f} s"),
            (f"load into PostgreSQL, median of {len(loads)} ({result.tables} tables, {result.rows:,} rows)",
             f"{load:.1f} s = {100 * load / first_refresh:.1f} % of the first refresh (target <= 20 %)"),
            ("loads", ", ".join(f"{s:.1f} s" for s in loads)),
            ("second refresh with 4 readers (probe + figure query loops)", f"{measured.refresh_s:.1f} s"),
            ("figure queries during it", f"{len(measured.figure_ms):,}, p50 {fig_p50:.1f} ms, p95 {fig_p95:.1f} ms "
             "(target p95 < 50 ms)"),
            ("probe queries", f"{measured.queries:,}, p50 {measured.median_ms:.1f} ms, p95 {measured.p95_ms:.1f} ms"),
            ("errors; answers neither wholly old nor wholly new", f"{len(measured.errors)}; "
             f"{sum(n for a, n in measured.answers.items() if a not in (old, new))}"),
            ("postgres hook", f"{hook['status']} {hook.get('details', {}).get('status')} in {hook['seconds']} s"),
        ]
        if args.write:
            with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
                fh.write(f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — PostgreSQL serving copy "
                         f"(`serving_pg.py`), {os.cpu_count()} cores, Python {platform.python_version()}\n\n"
                         "| what | measured |\n|---|---|\n")
                fh.writelines(f"| {k} | {v} |\n" for k, v in rows)
        for k, v in rows:
            print(f"{k}: {v}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
