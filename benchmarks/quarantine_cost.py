"""What the quarantine step (jlac.quarantine.apply) costs on the whole IMF DOTS mirror snapshot.

Parses imf-dots from the mirror (into a parse cache under --home, reused on a second run), loads it into a scratch
build with the country-name map, then times ``apply`` on the clean snapshot and on the same rows with one reporter
workbook (DOTS_7.xlsx, Antigua and Barbuda) renamed to an IMF grouping the overrides do not know. Appends the
numbers to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/quarantine_cost.py [--mirror ../shared/snapshots] [--home /tmp/jlac-qbench]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from jlac import countries, load, parse, quarantine
from jlac.config import Settings
from jlac.snapshots import latest_snapshot
from jlac.sources import all_sources

HERE = Path(__file__).resolve().parent


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=HERE.parent.parent / "shared" / "snapshots")
    ap.add_argument("--home", type=Path, default=Path("/tmp/jlac-qbench"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    settings = Settings(warehouse=args.home / "jlac.duckdb", snapshots=args.home / "store",
                        mirrors=(args.mirror.resolve(),), output=args.home / "out")
    source = all_sources()["imf-dots"]
    snap = latest_snapshot("imf-dots", settings)
    parquet, parse_s = _timed(lambda: parse.parse_to_cache(settings, source, snap))
    build = args.home / "build.duckdb"
    build.unlink(missing_ok=True)
    rows = {}
    with duckdb.connect(str(build)) as con:
        for schema in ("raw", "staging", "meta"):
            con.execute(f"CREATE SCHEMA {schema}")
        raw_rows = load.load_raw(con, source, snap, parquet)
        con.execute("CREATE TABLE raw.keep AS SELECT * FROM raw.imf_dots")
        for case in ("clean", "one unknown reporter"):
            times = []
            for _ in range(args.repeat):
                con.execute("CREATE OR REPLACE TABLE raw.imf_dots AS SELECT * FROM raw.keep")
                if case != "clean":
                    con.execute("UPDATE raw.imf_dots SET reporter_name = 'Eastern Caribbean Currency Union' "
                                "WHERE file = 'DOTS_7.xlsx'")
                countries.build_name_map_table(con, {"imf-dots": source})
                counts, seconds = _timed(lambda: quarantine.apply(con, {"imf-dots": source}))
                times.append(seconds)
            rows[case] = (counts["imf-dots"], sorted(times))
    loadavg = os.getloadavg()[0]
    lines = [
        "",
        f"## quarantine_cost.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "",
        f"imf-dots {snap.vintage}: {raw_rows:,} raw rows (parse {parse_s:.1f} s, cached after the first run). "
        f"`quarantine.apply`, {args.repeat} runs each (median):",
        "",
        "| case | rows set aside | apply |",
        "|---|---|---|",
        *(f"| {case} | {n:,} | {times[len(times) // 2]:.2f} s (min {times[0]:.2f}, max {times[-1]:.2f}) |"
          for case, (n, times) in rows.items()),
        "",
        f"load average (1 min) at the end: {loadavg:.2f}",
    ]
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
