"""What a refresh costs: first (full), unchanged, and one small source changed — Prefect's start measured apart.

    .venv/bin/python benchmarks/refresh_timing.py [--mirror ../shared/snapshots] [--repeat 1]

Runs the real flow (``jlac.pipeline.refresh``) on the whole mirror in a fresh warehouse home:

1. imports: jlac's pipeline and what it loads when first needed (GX, dbt, matplotlib), paid once by any process;
   Prefect start: the first trivial flow of the process minus a second one (the temporary local API starting);
2. first refresh: every source parsed, loaded, validated, every model built, published;
3. unchanged refresh: the same inputs again (nothing to build or publish);
4. one source changed: a new FRED EXJPUS vintage (January 2019 revised) in the own snapshot store.

Then, each in its own process, where the temporary API's start goes: a fresh PREFECT_HOME (database created and
migrated), an existing one, an existing one with block registration off, and a long-running server named by
PREFECT_API_URL (no start at all).

Prints one table and appends it to benchmarks/RESULTS.md with the machine load (``uptime``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTLE_S = 5  # between the timed refreshes (see main.timed)
TRIVIAL = "from prefect import flow\n@flow\ndef f():\n    return 1\nimport time\nt=time.perf_counter()\nf()\n" \
          "print(time.perf_counter()-t)\n"


def _trivial_flow_seconds(env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", TRIVIAL], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_start_variants() -> dict[str, float]:
    """Seconds for a trivial flow in a new process (start of the API + one flow run), per configuration."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    out = {}
    with tempfile.TemporaryDirectory() as home:
        env = {**base, "PREFECT_HOME": home}
        out["temporary API, new PREFECT_HOME (database created)"] = _trivial_flow_seconds(env)
        out["temporary API, existing PREFECT_HOME"] = _trivial_flow_seconds(env)
        out["temporary API, existing home, block registration off"] = _trivial_flow_seconds(
            {**env, "PREFECT_API_BLOCKS_REGISTER_ON_START": "false"})
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            import httpx

            for _ in range(600):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            out["PREFECT_API_URL: a running server"] = _trivial_flow_seconds(
                {**env, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"})
        finally:
            server.terminate()
            server.wait(timeout=30)
    return out


def revise_fred(mirror: Path, store: Path) -> None:
    """A new FRED vintage in the own store: the mirror's series with January 2019 revised."""
    [src] = sorted((mirror / "fred-exjpus").glob("*/EXJPUS.csv"))[-1:]
    rows = list(csv.reader(src.read_text(encoding="utf-8").splitlines()))
    for row in rows:
        if row[0] == "2019-01-01":
            row[1] = "120.0000"
    vintage = store / "fred-exjpus" / "2099-01-01"
    vintage.mkdir(parents=True)
    body = ("\n".join(",".join(r) for r in rows) + "\n").encode()
    (vintage / "EXJPUS.csv").write_bytes(body)
    import yaml

    manifest = {"source": "fred-exjpus", "vintage": vintage.name, "title": "benchmark: revised January 2019",
                "files": [{"path": "EXJPUS.csv", "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}]}
    (vintage / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "snapshots")
    ap.add_argument("--no-variants", action="store_true", help="skip the Prefect start variants")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jlac-refresh-timing-"))
    os.environ.update({"JLAC_WAREHOUSE": str(work / "wh" / "jlac.duckdb"), "JLAC_MIRROR": str(args.mirror.resolve()),
                       "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
                       "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "PREFECT_LOGGING_LEVEL": "WARNING"})
    os.environ.pop("JLAC_SNAPSHOTS", None)
    os.environ.pop("PREFECT_API_URL", None)
    t = time.perf_counter()
    import dbt.cli.main  # noqa: F401  (loaded by jlac.transform at the first build)
    import great_expectations  # noqa: F401  (loaded by jlac.validation at the first check)
    import matplotlib.pyplot  # noqa: F401  (loaded by jlac.figures at the first chart)
    from jlac import pipeline, prefect_api
    from jlac.config import get_settings
    from prefect import flow

    imports = time.perf_counter() - t
    # as `jlac refresh` runs its flows: on the temporary API, no heartbeats (jlac.prefect_api)
    with prefect_api.heartbeats_only_for_a_server():

        @flow
        def trivial():
            return 1

        t = time.perf_counter()
        trivial()
        first_trivial = time.perf_counter() - t
        t = time.perf_counter()
        trivial()
        second_trivial = time.perf_counter() - t
        settings = get_settings()
        results = {"imports (jlac, Prefect, GX, dbt, matplotlib)": imports,
                   "Prefect start (temporary API, in process)": first_trivial - second_trivial}

        def timed(label, **kw):
            # A `jlac refresh` is a process with a temporary API of its own. Here the runs share one, which is still
            # recording an earlier run's task runs for a few seconds after it ends (SQLite): a run started at once
            # waited up to 3 s just to start its flow run. Let it finish, as separate processes would.
            if results.get("first refresh (full)"):
                time.sleep(SETTLE_S)
            t = time.perf_counter()
            record = pipeline.refresh(settings, trigger="benchmark", **kw)
            results[label] = time.perf_counter() - t
            return record

        first = timed("first refresh (full)")
        assert first.status == "completed", first.status
        size_mb = settings.warehouse.stat().st_size / 1e6
        assert timed("unchanged refresh").status == "unchanged"
        revise_fred(args.mirror, settings.snapshots)
        changed = timed("one small source changed (fred-exjpus)")
        assert changed.status == "completed" and changed.plan["changed"] == ["fred-exjpus"], changed.plan
    variants = {} if args.no_variants else prefect_start_variants()
    shutil.rmtree(work, ignore_errors=True)

    full = results["first refresh (full)"]
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [f"\n## refresh_timing — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
             f"Whole mirror ({args.mirror}); published warehouse {size_mb:.0f} MB; machine: {os.cpu_count()} cores, "
             f"`{load}`.\n", "| refresh | seconds | share of first | target |", "|---|---|---|---|"]
    targets = {"unchanged refresh": "≤ 5 %", "one small source changed (fred-exjpus)": "≤ 30 %"}
    for label, seconds in results.items():
        share = "—" if label.startswith(("Prefect", "imports")) else f"{100 * seconds / full:.1f} %"
        lines.append(f"| {label} | {seconds:.1f} | {share} | {targets.get(label, '')} |")
    if variants:
        lines += ["", "Prefect start, a trivial flow in a new process (start + one flow run):", "",
                  "| configuration | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in variants.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(REPO / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
