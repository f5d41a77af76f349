"""Readers during a refresh: query the SQL endpoint in a loop while a refresh builds and publishes.

Each reader thread holds its own PostgreSQL connection (psycopg, autocommit) to ``jlac serve-sql`` and runs
one probe query over and over. The probe reads the newest run id from ``meta.runs`` together with the table
count and total row count of the whole warehouse, in ONE statement: a result that mixed two warehouses
would pair one version's run id with the other version's counts, and match neither expected answer.

Run it by hand against a running endpoint::

    JLAC_SQL_PASSWORD=... python benchmarks/concurrency_sql.py --port 5433

It then runs the real ``jlac.pipeline.refresh`` with the current settings. The integration test
(tests/integration/test_sql_endpoint.py) imports ``measure`` and passes the refresh as a function.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg

PROBE = """
SELECT (SELECT run_id FROM meta.runs ORDER BY started DESC, run_id DESC LIMIT 1) AS run_id,
       (SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()) AS n_tables,
       (SELECT sum(estimated_size) FROM duckdb_tables() WHERE database_name = current_database()) AS n_rows
"""


def probe_file(path: Path) -> tuple:
    """The probe's answer read straight from a warehouse file (attached read-only, like the endpoint)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{path}' AS jlac (READ_ONLY)")
        con.execute("USE jlac")
        run_id, n_tables, n_rows = con.execute(PROBE).fetchone()
        return (run_id, int(n_tables), int(n_rows))
    finally:
        con.close()


@dataclass
class Measurement:
    queries: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    answers: dict[tuple, int] = field(default_factory=dict)  # probe answer -> how often seen
    refresh_s: float = 0.0
    during_refresh: int = 0  # queries that completed while the refresh was running

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20)[-1]

    def summary(self) -> str:
        return (f"{self.queries} queries ({self.during_refresh} during a {self.refresh_s:.1f}s refresh), "
                f"{len(self.errors)} errors, latency median {self.median_ms:.1f} ms, "
                f"p95 {self.p95_ms:.1f} ms, "
                f"answers seen {dict(self.answers)}")


def _reader(dsn: str, stop: threading.Event, refreshing: threading.Event, out: Measurement,
            lock: threading.Lock) -> None:
    try:
        con = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        with lock:
            out.errors.append(f"connect: {exc}")
        return
    with con:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                row = con.execute(PROBE).fetchone()
                answer = (row[0], int(row[1]), int(row[2]))
                err = None
            except psycopg.Error as exc:
                answer, err = None, str(exc)
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                out.queries += 1
                out.during_refresh += refreshing.is_set()
                if err:
                    out.errors.append(err)
                else:
                    out.latencies_ms.append(ms)
                    out.answers[answer] = out.answers.get(answer, 0) + 1


def measure(dsn: str, refresh: Callable[[], object], readers: int = 4, settle_s: float = 1.0) -> Measurement:
    """Run ``readers`` probe loops against ``dsn``, call ``refresh()`` meanwhile; collect what they saw."""
    out, lock = Measurement(), threading.Lock()
    stop, refreshing = threading.Event(), threading.Event()
    threads = [threading.Thread(target=_reader, args=(dsn, stop, refreshing, out, lock), daemon=True)
               for _ in range(readers)]
    for t in threads:
        t.start()
    time.sleep(settle_s)  # readers are on the old warehouse before the refresh starts
    refreshing.set()
    t0 = time.perf_counter()
    try:
        refresh()
    finally:
        out.refresh_s = time.perf_counter() - t0
        refreshing.clear()
        time.sleep(settle_s)  # and on the new one after it published
        stop.set()
        for t in threads:
            t.join(timeout=30)
    return out


def main() -> None:
    from jlac import pipeline
    from jlac.config import get_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default=os.environ.get("JLAC_SQL_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("JLAC_SQL_PORT", "5433")))
    ap.add_argument("--readers", type=int, default=4)
    args = ap.parse_args()
    dsn = (f"host={args.host} port={args.port} dbname=jlac user={os.environ.get('JLAC_SQL_USER', 'jlac')} "
           f"password={os.environ['JLAC_SQL_PASSWORD']}")
    settings = get_settings()
    before = probe_file(settings.warehouse)
    result = measure(dsn, lambda: pipeline.refresh(settings, trigger="benchmark"), readers=args.readers)
    after = probe_file(settings.warehouse)
    print(result.summary())
    print(f"old warehouse {before}, new warehouse {after}")


if __name__ == "__main__":
    main()
