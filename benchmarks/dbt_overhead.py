"""dbt's own cost in the model stage: parse (cold and with partial parsing) and the whole build, on a warehouse copy.

    .venv/bin/python benchmarks/dbt_overhead.py warehouse/jlac.duckdb [--runs 3]

Prints seconds for: importing dbt; a cold start (no partial-parse state: dbt parses the whole project) and a warm
start (partial parse), both selecting no model; and `transform.build` of every model and test on a copy of the file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    t = time.perf_counter()
    import dbt.cli.main  # noqa: F401  (what the first build of a process pays once)
    from jlac import transform
    from jlac.config import Settings
    imported = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "s", mirrors=(), output=home / "o")
        copy = home / "copy.duckdb"
        shutil.copyfile(args.warehouse, copy)
        nothing = ["nothing_is_named_so"]  # dbt parses, selects no node, runs nothing
        t = time.perf_counter()
        transform.build(copy, settings, select=nothing)
        cold = time.perf_counter() - t
        warm = []
        for _ in range(args.runs):
            t = time.perf_counter()
            transform.build(copy, settings, select=nothing)
            warm.append(time.perf_counter() - t)
        full = []
        for _ in range(args.runs):
            shutil.copyfile(args.warehouse, copy)
            t = time.perf_counter()
            out = transform.build(copy, settings)
            full.append(time.perf_counter() - t)
    print(json.dumps({"import_dbt_s": round(imported, 2), "cold_parse_start_s": round(cold, 2),
                      "warm_start_s": [round(w, 2) for w in warm], "full_build_s": [round(f, 2) for f in full],
                      "models": len(out)}, indent=1))


if __name__ == "__main__":
    main()
