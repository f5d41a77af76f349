"""Wall time of a first and a second (unchanged) refresh, through the real CLI and Prefect's temporary API.

    .venv/bin/python benchmarks/refresh_timing.py [--mirror ../shared/snapshots] [--runs 2]

Each refresh runs `jlac refresh` in a fresh process against a new, empty warehouse home, so the first run
parses every source and the second finds every batch cached. Results are appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed_refresh(env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "jlac.cli", "refresh"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"refresh failed:\n{proc.stderr[-3000:]}")
    skipped = sum("parse skipped" in line for line in proc.stderr.splitlines())
    return elapsed, f"{skipped} source(s) skipped parsing"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=str(HERE.parent.parent / "shared" / "snapshots"))
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="jlac-bench-"))
    env = {**os.environ, "JLAC_WAREHOUSE": str(home / "jlac.duckdb"), "JLAC_MIRROR": args.mirror}
    rows = []
    for i in range(args.runs):
        seconds, note = timed_refresh(env)
        label = "first (empty cache)" if i == 0 else "again, snapshots unchanged"
        rows.append((label, seconds, note))
        print(f"{label}: {seconds:.1f} s ({note})")
    lines = [f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {platform.node()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}\n", "| refresh | wall time | parse |", "|---|---|---|"]
    lines += [f"| {label} | {seconds:.1f} s | {note} |" for label, seconds, note in rows]
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
