"""Atomic publish: a refresh killed at any moment leaves the old warehouse intact; open readers are undisturbed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from conftest import HEAVY_OPTIONAL, IMF_DOTS, JAPAN_WORKBOOK, small_mirror
from jlac import ledger, pipeline
from jlac.config import Settings

pytestmark = pytest.mark.usefixtures("own_cache")  # they read the verified-files record of their own home

OLD = {"DOTS_101.xlsx": JAPAN_WORKBOOK}
NEW = {"DOTS_101.xlsx": JAPAN_WORKBOOK, "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"}
# Optional sources no assertion here reads, left out of both mirrors: each refresh (over twenty, most in a process of
# their own) verified them, and the first loaded, checked and built them, for nothing these tests look at.
UNREAD = (*HEAVY_OPTIONAL, "mof-trade-by-country-top30", "aiddata-gcdf2-projects", "aiddata-gcdf3-country-year",
          "aiddata-v2-donor-recipient-year", "oecd-dac2a")


def _settings(home, mirror_root):
    return Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "wh" / "snapshots",
                    mirrors=(mirror_root,), output=home / "wh" / "output")


@pytest.fixture(scope="module")
def published_old(tmp_path_factory, mirror):
    """The old small mirror published once; each test starts from a byte-identical copy of that warehouse folder
    (published file, parse cache, ledger), as if it had run the same refresh itself."""
    home = tmp_path_factory.mktemp("atomic")
    old = small_mirror(home / "old", mirror, OLD, leave_out=UNREAD)
    pipeline.refresh(_settings(home, old), trigger="test")
    return home, old


@pytest.fixture
def homes(tmp_path, mirror, published_old):
    template, old = published_old
    shutil.copytree(template / "wh", tmp_path / "wh", symlinks=True)
    new = small_mirror(tmp_path / "new", mirror, NEW, leave_out=UNREAD)
    return tmp_path, old, new


def _reporters(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(DISTINCT reporter_iso3) FROM marts.fct_trade_annual").fetchone()[0]


def _start_refresh(home, mirror_root, api_url):
    env = {**os.environ, "JLAC_WAREHOUSE": str(home / "wh" / "jlac.duckdb"), "JLAC_MIRROR": str(mirror_root),
           "JLAC_SNAPSHOTS": str(home / "wh" / "snapshots"), "PREFECT_API_URL": api_url}
    code = "from jlac import pipeline; from jlac.config import get_settings; pipeline.refresh(get_settings())"
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("moment", ["during start-up", "while parsing", "while building"])
def test_kill_9_leaves_old_warehouse(homes, moment, prefect_api_url):
    home, _, new = homes
    settings = _settings(home, new)
    before = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    seen = (settings.cache_dir / "imf-dots" / "verified.json").stat().st_mtime_ns
    proc = _start_refresh(home, new, prefect_api_url)
    if moment == "during start-up":
        time.sleep(0.5)
    elif moment == "while parsing":
        # verify rewrites imf-dots' list of verified files (the new workbook), then the plan sends imf-dots to parse
        verified = settings.cache_dir / "imf-dots" / "verified.json"
        deadline = time.time() + 120
        while verified.stat().st_mtime_ns == seen and time.time() < deadline:
            time.sleep(0.05)
        assert verified.stat().st_mtime_ns != seen, "the refresh never verified the new workbook"
        time.sleep(0.3)
    else:
        deadline = time.time() + 180
        while not list(settings.build_dir.glob("*.duckdb")) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # inside load/validate
        assert list(settings.build_dir.glob("*.duckdb")), "the build never started"
    # its build file, or while parsing only the mark of the run holding the lock (killed there, it was never
    # recorded: found by a QA pass)
    killed = {p.name.split(".", 1)[0] for pattern in ("*.duckdb", "*.running")
              for p in settings.build_dir.glob(pattern)}
    assert killed or moment == "during start-up"
    assert proc.poll() is None, "the refresh ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == before
    assert _reporters(settings.warehouse) == 1
    # The next refresh cleans up after the killed one and publishes.
    record = pipeline.refresh(settings, trigger="test")
    assert record.status == "completed" and _reporters(settings.warehouse) == 2
    assert not list(settings.build_dir.glob("*.duckdb*")) and not list(settings.build_dir.glob("*.running"))
    # the killed run is in the ledger, once (it had no line, and `jlac status` never named it: found by a QA pass)
    lines = {r["run_id"]: r for r in ledger.read(settings.run_ledger)}
    for run_id in killed:
        assert lines[run_id]["status"] == "crashed" and "before its publish (killed?)" in lines[run_id]["error"]


def test_open_reader_keeps_reading_across_a_publish(homes):
    home, _, new = homes
    settings = _settings(home, new)
    reader = duckdb.connect(str(settings.warehouse), read_only=True)
    old_run = reader.execute("SELECT max(run_id) FROM meta.runs WHERE status = 'completed'").fetchone()[0]
    record = pipeline.refresh(settings, trigger="test")  # publishes while the reader holds the file open
    assert record.run_id != old_run
    # The reader still sees, wholly, the warehouse it opened.
    assert reader.execute("SELECT count(DISTINCT reporter_iso3) FROM marts.fct_trade_annual").fetchone()[0] == 1
    assert reader.execute("SELECT max(run_id) FROM meta.runs WHERE status = 'completed'").fetchone()[0] == old_run
    reader.close()
    assert _reporters(settings.warehouse) == 2


def test_a_read_write_connection_of_the_refreshing_process_is_a_writer_not_damage(homes):
    """A notebook holding the published file open for writing and running a refresh in the same process: DuckDB's
    "Unique file handle conflict" was taken for damage: the intact file was replaced without comparing it (no
    revisions), kept as ".damaged", and the site and revisions hooks failed in a run reported completed (found by a
    QA pass). It is read as a writer's file is: from a byte copy."""
    home, _, new = homes
    settings = _settings(home, new)
    session = duckdb.connect(str(settings.warehouse))  # the notebook's
    try:
        session.execute("CREATE TABLE main.scratch AS SELECT 1 AS x")
        record = pipeline.refresh(settings, trigger="test")
    finally:
        session.close()
    assert record.status == "completed" and record.error is None, record.error
    assert [h for h in record.hooks if h["status"] not in ("ok", "skipped")] == [], record.hooks
    assert not list(settings.warehouse.parent.glob("*.damaged*"))
    assert _reporters(settings.warehouse) == 2


def test_a_crashed_writer_sessions_wal_is_not_replayed_onto_the_new_warehouse(homes):
    """A user's session that opened the published file for writing leaves a write-ahead log beside it; killed (a
    crashed notebook), the log stays. It was replayed onto the next published file: "WAL does not match database
    file" for every reader and hook, every refresh after. The publish now renames it aside, keeping its content."""
    home, _, new = homes
    settings = _settings(home, new)
    code = ("import duckdb, os, signal, sys; con = duckdb.connect(sys.argv[1]); "
            "con.execute('CREATE TABLE main.my_notes AS SELECT 1 AS n'); print('written', flush=True); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", code, str(settings.warehouse)], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "written" and done.returncode == -signal.SIGKILL, done.stderr
    wal = settings.warehouse.with_name(settings.warehouse.name + ".wal")
    assert wal.exists()  # the session's uncheckpointed change
    record = pipeline.refresh(settings, trigger="test")
    assert record.status == "completed" and not record.error and all(h["status"] == "ok" for h in record.hooks)
    assert not wal.exists() and len(list(wal.parent.glob(wal.name + ".*.set-aside"))) == 1
    assert _reporters(settings.warehouse) == 2  # readers open the new file


def test_a_session_holding_the_published_file_for_writing_keeps_the_refresh_incremental_and_compared(homes, caplog):
    """A user's session with the published file open for writing holds DuckDB's lock: the plan could not read the
    published inputs (a full rebuild, "no published warehouse with recorded inputs") and the revisions hook was
    skipped. Both now read a byte copy of the published (checkpointed) file; the publish itself never needed it."""
    home, _, new = homes
    settings = _settings(home, new)
    code = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(600)"
    holder = subprocess.Popen([sys.executable, "-c", code, str(settings.warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with caplog.at_level("WARNING"):
            record = pipeline.refresh(settings, trigger="test")
    finally:
        holder.kill()
        holder.wait()
    assert record.status == "completed" and record.plan["mode"] == "incremental", record.plan
    assert "held open for writing by another process; its inputs read from a copy" in caplog.text
    assert "replaced without comparing it" not in caplog.text
    assert [h["hook"] for h in record.hooks if h["status"] != "ok"] == []
    assert not list(settings.build_dir.glob("*published-copy*"))
    assert _reporters(settings.warehouse) == 2


@pytest.mark.parametrize("moment, stop", [("while parsing", "SIGINT"), ("while dbt builds", "SIGINT"),
                                         ("while dbt builds", "SIGTERM")])
def test_ctrl_c_in_a_terminal_stops_the_refresh_at_once_and_records_it(homes, moment, stop):
    """Ctrl-C in a terminal signals the whole foreground process group, Prefect's temporary API included: it died
    with the run it should record, the run retried reporting its crash for ~3 minutes and ended in an httpx
    traceback (exit 1). The API now runs in a session of its own: one line, exit 130, the run recorded as crashed,
    the published warehouse as it was, and the API stopped too. A SIGTERM (systemd stopping the service) while dbt
    builds: one line too, not the models its stop failed and a dbt thread's traceback (found by a QA pass)."""
    import re
    import socket

    from jlac import ledger

    home, _, new = homes
    settings = _settings(home, new)
    before = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    verified = settings.cache_dir / "imf-dots" / "verified.json"
    seen = verified.stat().st_mtime_ns
    env = {**os.environ, "JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_MIRROR": str(new),
           "JLAC_SNAPSHOTS": str(settings.snapshots)}
    env.pop("PREFECT_API_URL", None)  # the CLI's own temporary API, as `make run` uses it
    log = home / "refresh.err"
    with log.open("w") as err:
        # as from a terminal: its own process group, SIGINT not ignored (a CI runner's `cmd &` ignores it)
        proc = subprocess.Popen([sys.executable, "-m", "jlac.cli", "refresh"], env=env, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 180
    if moment == "while parsing":
        while verified.stat().st_mtime_ns == seen and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert verified.stat().st_mtime_ns != seen, log.read_text()[-3000:]
        time.sleep(0.3)
    else:  # dbt's runner caught the interrupt and handed it back as its exception: was "ModelError", exit 1
        while "jlac.transform: dbt: " not in log.read_text() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
    assert proc.poll() is None, "the refresh ended before Ctrl-C"
    os.killpg(proc.pid, getattr(signal, stop))  # what the terminal (or systemd) does
    stopped = time.monotonic()
    code = proc.wait(timeout=300)
    took = time.monotonic() - stopped
    text = log.read_text()
    assert code == (130 if stop == "SIGINT" else 143), text[-3000:]
    said = "jlac: interrupted" if stop == "SIGINT" else "jlac: terminated"
    assert said in text and "Traceback" not in text and "ERROR jlac.transform" not in text, text[-3000:]
    assert took < 60, f"{took:.0f} s from Ctrl-C to exit"
    runs = ledger.read(settings.run_ledger)
    assert runs[-1]["status"] == "crashed" and runs[-1]["run_id"] != runs[-2]["run_id"]  # one line for the run
    assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == before
    port = int(re.search(r"Starting temporary server on http://127\.0\.0\.1:(\d+)", text).group(1))
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the temporary API outlived the run"


SWALLOWED_STOP = """
import os, signal, sys, threading, time
import duckdb
from importlib import import_module
from jlac import cli

module, name = sys.argv[1].rsplit(".", 1)
module = import_module(module)
original = getattr(module, name)

def in_a_query(*args, **kwargs):
    # a SIGTERM that lands in a DuckDB query: DuckDB raises RuntimeError('Query interrupted') in its place
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
    # one DuckDB thread: the query's own thread looks at the signals between its tasks (test_stops.py)
    con = duckdb.connect(config={"threads": 1})
    con.execute("SELECT count(*) FROM range(20000000000) t(x) WHERE x % 7 = 3").fetchone()
    raise AssertionError("the query was not stopped")

def swallowing(*args, **kwargs):
    # what DuckDB does with a stop that arrives during a query (test_duckdb_turns_a_stop_into_an_ordinary_error):
    # the exception the handler raised is gone, and this code carries on
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    except BaseException:
        pass
    return original(*args, **kwargs)

def stopped_in(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)  # raised here by Prefect's handler, not swallowed
    time.sleep(5)
    raise AssertionError("the stop did not arrive")

setattr(module, name, {"query": in_a_query, "swallowed": swallowing, "raised": stopped_in}[sys.argv[2]])
sys.argv = ["jlac", "refresh"]
cli.main()
"""


@pytest.mark.parametrize("where,published", [("jlac.plan.published_inputs", False),
                                             ("jlac.warehouse.unreadable", False),
                                             ("jlac.pipeline._move_outputs", True)],
                         ids=["before the plan", "just before publishing", "after publishing"])
def test_a_stop_the_interrupted_code_swallowed_still_stops_the_refresh(homes, prefect_api_url, where, published):
    """SIGTERM while DuckDB runs a query comes back as RuntimeError('Query interrupted'), the stop itself gone; code
    that handles that error carries on (a retried task, a fallback: the published file read as unreadable and
    replaced without comparing). A CI run saw `jlac refresh` publish and exit 0 after a SIGTERM. The stop is noted
    when it arrives and acted on at the end of the stage it arrived in (a stop in the plan's reading builds nothing)
    and before publishing: exit 143, the run recorded as crashed, the published file as it was; after publishing,
    recorded as interrupted there."""
    proc, settings, before = _refresh_stopped_in(homes, prefect_api_url, where)
    _assert_stopped(proc, settings, before, published)
    if where == "jlac.plan.published_inputs":
        assert "plan: incremental" in proc.stderr and "raw rows loaded" not in proc.stderr, proc.stderr[-3000:]


def test_a_sigterm_landing_in_a_query_is_a_termination_not_a_ctrl_c(homes, prefect_api_url):
    """A SIGTERM that lands in a DuckDB query (not swallowed: DuckDB's interruption goes up) was reported as a
    Ctrl-C, "jlac: interrupted" and exit 130, where systemd and cron's `timeout` look for 143. The stop noted is the
    one reported."""
    proc, settings, before = _refresh_stopped_in(homes, prefect_api_url, "jlac.plan.published_inputs", "query")
    _assert_stopped(proc, settings, before, published=False)
    assert "jlac: interrupted" not in proc.stderr


def _refresh_stopped_in(homes, api_url, where, how="swallowed"):
    home, _, new = homes
    settings = _settings(home, new)
    before = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    env = {**os.environ, "JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_MIRROR": str(new),
           "JLAC_SNAPSHOTS": str(settings.snapshots), "PREFECT_API_URL": api_url}
    proc = subprocess.run([sys.executable, "-c", SWALLOWED_STOP, where, how], env=env, capture_output=True, text=True,
                          timeout=300)
    return proc, settings, before


def _assert_stopped(proc, settings, before, published):
    from jlac import ledger

    assert proc.returncode == 143, (proc.returncode, proc.stderr[-3000:])
    assert "jlac: terminated" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = ledger.read(settings.run_ledger)[-1]
    if published:
        assert _reporters(settings.warehouse) == 2  # the new mirror's two reporters are out
        assert last["status"] == "completed" and last["error"].startswith("interrupted after publishing"), last
    else:
        assert last["status"] == "crashed", last
        assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == before
        assert not list(settings.build_dir.glob("*.duckdb*")), "a build stayed behind"


def test_a_stop_inside_the_publish_after_its_swap_is_recorded_as_after_publishing(homes, prefect_api_url):
    """SIGTERM inside the publish task after the build was swapped in (while the folder is synced, or in Prefect's
    bookkeeping of the finished task): the run was recorded as crashed and its charts thrown away while its warehouse
    was the published one. It is recorded as interrupted after publishing, and the charts go out with it."""
    proc, settings, before = _refresh_stopped_in(homes, prefect_api_url, "jlac.warehouse._fsync_dir", "raised")
    _assert_stopped(proc, settings, before, published=True)
    assert not list(settings.build_dir.glob("*-output")), "the run's charts stayed in the build folder"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        run = con.execute("SELECT max(run_id) FROM meta.runs").fetchone()[0]
    from jlac import ledger

    assert run == ledger.read(settings.run_ledger)[-1]["run_id"]  # the published warehouse is that run's


def test_a_run_killed_between_its_swap_and_its_ledger_line_is_recorded_by_the_next(homes, caplog, httpserver,
                                                                                   monkeypatch):
    """Found by a QA pass: a run killed after its swap, while its after-publish hooks ran, left no ledger line.
    `jlac status` then named the previous vintages for good, the next refresh found nothing changed, and the next
    publish dropped the run from meta.runs. The next refresh records it from the published warehouse's meta.runs,
    moves the charts it had staged into the output, and removes what other killed runs staged."""
    import logging

    from jlac import ledger
    from jlac.ops.status import source_status
    from jlac.revisions import published_run

    home, old, _ = homes
    settings = _settings(home, old)
    lines = settings.run_ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    killed = ledger.read(settings.run_ledger)[-1]
    assert killed["status"] == "completed"
    settings.run_ledger.write_text("".join(lines[:-1]), encoding="utf-8")  # its line never written
    staged = settings.build_dir / f"{killed['run_id']}-output"
    staged.mkdir(parents=True)
    (staged / "drawn-by-the-killed-run.csv").write_text("year,value\n2020,1\n", encoding="utf-8")
    (settings.build_dir / f"{killed['run_id']}.running").write_text("{}", encoding="utf-8")  # its mark, left too
    other = settings.build_dir / "20990101T000000000-1-output"  # a run killed before it published
    other.mkdir()
    (other / "x.csv").write_text("x\n", encoding="utf-8")
    (settings.build_dir / "20990101T000000000-1.running").write_text(
        '{"pid": 999999999, "flow_run_id": "0b5e7a1e-0000-4000-8000-000000000001"}', encoding="utf-8")
    before = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    from jlac.ops.status import unrecorded_runs
    # `jlac status` names the run killed in its build, in red, not the one that published (its own line says so)
    assert unrecorded_runs(settings) == ([], ["20990101T000000000-1"])

    httpserver.expect_request("/alerts", method="POST").respond_with_data("ok")
    monkeypatch.setenv("JLAC_ALERT_WEBHOOK", httpserver.url_for("/alerts"))
    with caplog.at_level(logging.WARNING, logger="jlac"):
        record = pipeline.refresh(settings, trigger="test")
    assert record.status == "unchanged"
    # each said as it is: the run that published left its mark after its publish; the other never published
    assert f"removed what runs {killed['run_id']} left in {settings.build_dir} after their publish" in caplog.text
    assert f"removed what runs 20990101T000000000-1 left in {settings.build_dir} (stopped before their publish" \
        in caplog.text
    # the killed run could not alert; the run that found it did, linking its flow run (found by a QA pass)
    [alert] = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert alert["state"] == "crashed" and alert["run_id"] == "20990101T000000000-1"
    assert alert["flow_run_id"] == "0b5e7a1e-0000-4000-8000-000000000001"
    assert f"found and removed by run {record.run_id}" in alert["text"]
    assert unrecorded_runs(settings) == ([], [])
    runs = ledger.read(settings.run_ledger)
    # the run killed before it published is recorded too, as crashed, from what it left (it had no line)
    assert [r["run_id"] for r in runs[-3:]] == [killed["run_id"], "20990101T000000000-1", record.run_id]
    assert runs[-2]["status"] == "crashed" and "before its publish (killed?)" in runs[-2]["error"]
    recovered = runs[-3]
    assert recovered["status"] == "completed" and recovered["started"] == killed["started"]
    assert recovered["snapshots"] == killed["snapshots"]
    assert f"run {killed['run_id']} published" in caplog.text and "recorded now" in caplog.text
    assert (settings.output / "drawn-by-the-killed-run.csv").is_file()
    assert not staged.exists() and not other.exists()
    assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == before
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert published_run(con) == killed["run_id"]
    vintages = {s.source: s for s in source_status(settings)}
    assert vintages["imf-dots"].last_vintage == "2022-02-02"
    again = pipeline.refresh(settings, trigger="test")  # once recorded, not recorded twice
    assert [r["run_id"] for r in ledger.read(settings.run_ledger)].count(killed["run_id"]) == 1
    assert again.status == "unchanged"


def test_a_ledger_cut_past_the_published_run_is_not_taken_for_a_kill(homes, caplog):
    """runs.jsonl may be cut at a line boundary (docs/operations.md). Cut past the published run's line, the next
    refresh took the publish for one a kill interrupted: it recorded the run again, out of order, and ran its
    after-publish hooks again (found by a QA pass). A run in the ledger that started later says it was pruned."""
    import logging

    from jlac import ledger

    home, old, _ = homes
    settings = _settings(home, old)
    published = ledger.read(settings.run_ledger)[-1]
    assert pipeline.refresh(settings, trigger="test").status == "unchanged"
    lines = settings.run_ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    settings.run_ledger.write_text(lines[-1], encoding="utf-8")  # pruned: only the unchanged run's line is left
    with caplog.at_level(logging.WARNING, logger="jlac"):
        record = pipeline.refresh(settings, trigger="test")
    assert record.status == "unchanged" and "recorded now" not in caplog.text
    assert published["run_id"] not in [r["run_id"] for r in ledger.read(settings.run_ledger)]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_publish_keeps_the_published_files_permissions_and_group(tmp_path, umask):
    """A warehouse kept for a group (640, the BI tools' or postgres' group) became world-readable under umask 022,
    or closed to that group under 077, at every publish: the build's own mode was swapped in (found by a QA pass)."""
    import grp

    import duckdb
    from jlac import warehouse
    from jlac.config import Settings

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "out")
    settings.warehouse.parent.mkdir()
    duckdb.connect(str(settings.warehouse)).close()
    others = [g.gr_gid for g in grp.getgrall() if g.gr_gid != os.getegid()]
    group = others[0] if os.geteuid() == 0 and others else os.getegid()  # root may give any group
    os.chown(settings.warehouse, -1, group)
    settings.warehouse.chmod(0o640)
    old = os.umask(umask)
    try:
        build = tmp_path / "wh" / ".build" / "run.duckdb"
        build.parent.mkdir()
        with duckdb.connect(str(build)) as con:
            con.execute("CREATE TABLE t AS SELECT 1 AS x")
        warehouse.publish(build, settings)
    finally:
        os.umask(old)
    st = settings.warehouse.stat()
    assert (oct(st.st_mode & 0o7777), st.st_gid) == (oct(0o640), group)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT x FROM t").fetchone() == (1,)
