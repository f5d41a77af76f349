"""Readers during a refresh: query the PostgreSQL serving copy in a loop while a refresh builds and publishes.

Each reader thread holds its own connection (psycopg, autocommit) to ``jlac serve-sql`` and loops over: one
probe query, then one figure query. The probe reads the newest run id and the number of runs from
``meta.runs`` together with the number of served tables, in ONE statement: a result that mixed two warehouses
would pair one version's run id with the other version's counts, and match neither expected answer. The
figure queries (each table of ``figures``, in turn) give the latency a dashboard sees.

Run it by hand against a running endpoint (it then runs the real ``jlac.pipeline.refresh`` with the current
settings, whose publish hook loads the new warehouse into the endpoint's cluster)::

    JLAC_SQL_PASSWORD=... python benchmarks/concurrency_sql.py --port 5433

The integration test (tests/integration/test_pg_concurrency.py) imports ``measure`` and passes the refresh.
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

# Portable SQL: the same statement answers from the DuckDB file and from PostgreSQL.
PROBE = """
SELECT (SELECT run_id FROM meta.runs WHERE status = 'completed' ORDER BY started DESC, run_id DESC LIMIT 1) AS run_id,
       (SELECT count(*) FROM meta.runs) AS n_runs,
       -- tables and views: the serving copy holds DuckDB's views (the HS-9 facts) as tables
       (SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('marts', 'figures', 'meta')
          AND table_name <> 'serving_copy') AS n_tables
"""


def probe_file(path: Path) -> tuple:
    """The probe's answer read straight from a warehouse file (attached read-only)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{path}' AS jlac (READ_ONLY)")
        con.execute("USE jlac")
        run_id, n_runs, n_tables = con.execute(PROBE).fetchone()
        return (run_id, int(n_runs), int(n_tables))
    finally:
        con.close()


# A figure table for any recipient is what a dashboard filters, not what it reads whole (116k rows).
FILTERED = {"fig3_finance_by_donor": "recipient_iso3 = 'CRI'"}


def figure_queries(path: Path) -> list[str]:
    """One dashboard query per table of the figures schema in a warehouse file."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'w' AND schema_name = 'figures' "
            "ORDER BY 1").fetchall()]
    finally:
        con.close()
    return [f"SELECT * FROM figures.{t}" + (f" WHERE {FILTERED[t]}" if t in FILTERED else "") for t in tables]


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values or [float("nan")])[0]


@dataclass
class Measurement:
    queries: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # probe queries
    figure_ms: list[float] = field(default_factory=list)  # figure queries while the refresh ran
    answers: dict[tuple, int] = field(default_factory=dict)  # probe answer -> how often seen
    refresh_s: float = 0.0
    during_refresh: int = 0  # queries that completed while the refresh was running

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95_ms(self) -> float:
        return _pct(self.latencies_ms, 95)

    def summary(self) -> str:
        figures = (f"; figure queries during the refresh: {len(self.figure_ms)}, p50 {_pct(self.figure_ms, 50):.1f} ms,"
                   f" p95 {_pct(self.figure_ms, 95):.1f} ms") if self.figure_ms else ""
        return (f"{self.queries} queries ({self.during_refresh} during a {self.refresh_s:.1f}s refresh), "
                f"{len(self.errors)} errors, probe latency median {self.median_ms:.1f} ms, "
                f"p95 {self.p95_ms:.1f} ms{figures}, answers seen {dict(self.answers)}")


def _reader(dsn: str, stop: threading.Event, refreshing: threading.Event, out: Measurement,
            lock: threading.Lock, figures: list[str], offset: int) -> None:
    try:
        con = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        with lock:
            out.errors.append(f"connect: {exc}")
        return
    n = offset
    with con:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                row = con.execute(PROBE).fetchone()
                answer, err = (row[0], int(row[1]), int(row[2])), None
            except psycopg.Error as exc:
                answer, err = None, str(exc)
            ms = (time.perf_counter() - t0) * 1000
            fig_ms = None
            if figures and err is None:
                t1 = time.perf_counter()
                try:
                    con.execute(figures[n % len(figures)]).fetchall()
                    fig_ms = (time.perf_counter() - t1) * 1000
                except psycopg.Error as exc:
                    err = f"{figures[n % len(figures)]}: {exc}"
                n += 1
            during = refreshing.is_set()
            with lock:
                out.queries += 1
                out.during_refresh += during
                if err:
                    out.errors.append(err)
                else:
                    out.latencies_ms.append(ms)
                    out.answers[answer] = out.answers.get(answer, 0) + 1
                    if fig_ms is not None and during:
                        out.figure_ms.append(fig_ms)


def measure(dsn: str, refresh: Callable[[], object], readers: int = 4, settle_s: float = 1.0,
            figures: list[str] | None = None) -> Measurement:
    """Run ``readers`` query loops against ``dsn``, call ``refresh()`` meanwhile; collect what they saw."""
    out, lock = Measurement(), threading.Lock()
    stop, refreshing = threading.Event(), threading.Event()
    threads = [threading.Thread(target=_reader, args=(dsn, stop, refreshing, out, lock, figures or [], i),
                                daemon=True) for i in range(readers)]
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
    result = measure(dsn, lambda: pipeline.refresh(settings, trigger="benchmark", full=True), readers=args.readers,
                     figures=figure_queries(settings.warehouse))
    after = probe_file(settings.warehouse)
    print(result.summary())
    print(f"old warehouse {before}, new warehouse {after}")


if __name__ == "__main__":
    main()
