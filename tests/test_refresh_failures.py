"""Every failure leaves the published warehouse exactly as it was, with a message naming what went wrong."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time

import duckdb
import openpyxl
import pytest
from conftest import HEAVY_OPTIONAL, IMF_DOTS, JAPAN_WORKBOOK, small_mirror, task_runs, write_manifest
from jlac import ledger, pipeline
from jlac.config import Settings
from jlac.errors import JlacError, ParseError, SnapshotError, ValidationFailed

GOOD = {"DOTS_101.xlsx": JAPAN_WORKBOOK, "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"}


@pytest.fixture(scope="module")
def published(good_home):
    """The session's warehouse published from a small good mirror (Japan and Haiti workbooks + the other sources):
    conftest.good_home."""
    return good_home


def _fingerprint(settings):
    digest = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute("SELECT count(*), sum(value_usd) FROM marts.fct_trade_annual").fetchone()
        run = con.execute("SELECT max(run_id) FROM meta.runs WHERE status = 'completed'").fetchone()[0]
    return digest, rows, run


def _refresh_with(published, mirror_root):
    _, settings, _ = published
    bad = Settings(warehouse=settings.warehouse, snapshots=settings.snapshots, mirrors=(mirror_root,),
                   output=settings.output)
    before = _fingerprint(settings)
    return bad, before


def _variant(published, mirror, name, edit):
    """A copy of the good small mirror whose Japan workbook is changed by ``edit(path)``, manifest updated."""
    home, _, _ = published
    root = small_mirror(home / name, mirror, GOOD)
    vintage = root / "imf-dots" / "2022-02-02"
    edit(vintage / "DOTS_101.xlsx")
    write_manifest(vintage, "imf-dots")
    return root


def _assert_unchanged(settings, before):
    assert _fingerprint(settings) == before
    assert not list(settings.build_dir.glob("*.duckdb"))  # the failed build was removed


def test_baseline(published):
    _, settings, record = published
    assert record.status == "completed"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT reporter_iso3) FROM marts.fct_trade_annual").fetchone()[0] == 2


def test_checksum_mismatch(published, mirror):
    home, settings, _ = published
    root = small_mirror(home / "tampered", mirror, GOOD)
    with open(root / "imf-dots" / "2022-02-02" / "DOTS_88.xlsx", "ab") as fh:
        fh.write(b"\0")  # manifest not updated: the file no longer has its size (nor its sha256)
    bad, before = _refresh_with(published, root)
    with pytest.raises(SnapshotError, match=r"(?s)imf-dots/2022-02-02 .* size mismatch for DOTS_88.xlsx: manifest "
                                            r"[\d,]+ bytes, file has [\d,]+"):
        pipeline.refresh(bad, trigger="test")
    _assert_unchanged(settings, before)
    last = ledger.read(settings.run_ledger)[-1]
    assert last["status"] == "failed" and last["failed_source"] == "imf-dots"
    # the same bytes give the same mismatch: verify fails at once (it waited 1 + 5 s for two more tries)
    name = "verify imf-dots/2022-02-02"
    runs = task_runs(last["flow_run_id"], lambda rs: any(r.name == name and r.state and r.state.is_final()
                                                          for r in rs))
    assert [r.run_count for r in runs if r.name == name] == [1]



def test_a_file_name_that_is_not_utf8_is_named_as_its_bytes_and_leaves_later_builds_working(published, mirror):
    """A file in a vintage whose name is not UTF-8 is refused, named as its bytes; its message, kept in the run
    ledger as Python's surrogate escapes, made every later build fail writing meta.runs ("cannot encode str as
    UTF-8") until the line was removed by hand (found by a QA pass)."""
    home, settings, _ = published
    root = small_mirror(home / "bad-name", mirror, GOOD)
    (root / "imf-dots" / "2022-02-02" / os.fsdecode(b"\xff\xfe-bad.csv")).write_bytes(b"x")
    bad, before = _refresh_with(published, root)
    with pytest.raises(SnapshotError, match=r"unlisted file \\xff\\xfe-bad\.csv \(not in SNAPSHOT\.yml\)"):
        pipeline.refresh(bad, trigger="test")
    _assert_unchanged(settings, before)
    last = ledger.read(settings.run_ledger)[-1]
    assert last["status"] == "failed" and "unlisted file \\xff\\xfe-bad.csv" in last["error"]
    # a line an older jlac wrote with the escapes reads back as text DuckDB takes (meta.runs of the next build)
    copy = home / "bad-name-runs.jsonl"
    copy.write_text(json.dumps({**last, "error": "unlisted file " + os.fsdecode(b"\xff.csv")}) + "\n")
    old = ledger.read(copy)[-1]
    assert old["error"] == "unlisted file \\xff.csv"
    with duckdb.connect() as con:
        assert con.execute("SELECT ?", [old["error"]]).fetchone() == ("unlisted file \\xff.csv",)
    # a vintage folder so named is no vintage, named as its bytes; its message once left the flow run Running in
    # Prefect (the client could not send it) and sent no alert (found by a QA pass)
    (root / "imf-dots" / "2022-02-02" / os.fsdecode(b"\xff\xfe-bad.csv")).unlink()
    fred = root / "fred-exjpus"
    fred.unlink()
    shutil.copytree(mirror / "fred-exjpus", fred)
    shutil.copytree(fred / "2025-05-27", fred / os.fsdecode(b"2025-06-01-\xff"))
    with pytest.raises(SnapshotError, match=r"'2025-06-01-\\xff' is not UTF-8 text") as err:
        pipeline.refresh(bad, trigger="test")
    assert str(err.value).encode("utf-8")  # no surrogate left in it
    _assert_unchanged(settings, before)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(ledger.read(settings.run_ledger)[-1]["flow_run_id"]).state
    assert state.type.value == "FAILED" and "is not UTF-8 text" in state.message, state


def test_corrupted_workbook(published, mirror):
    def corrupt(path):
        path.write_bytes(path.read_bytes()[:20_000])

    bad, before = _refresh_with(published, _variant(published, mirror, "corrupt", corrupt))
    with pytest.raises(ParseError, match=r"imf-dots DOTS_101.xlsx: not a readable .xlsx workbook"):
        pipeline.refresh(bad, trigger="test")
    _assert_unchanged(published[1], before)


def test_missing_sheet(published, mirror):
    def drop_sheet(path):
        wb = openpyxl.load_workbook(path)
        del wb["Exports, FOB"]
        wb.save(path)

    bad, before = _refresh_with(published, _variant(published, mirror, "nosheet", drop_sheet))
    with pytest.raises(ParseError, match=r"DOTS_101.xlsx: missing sheet\(s\) \['Exports, FOB'\]"):
        pipeline.refresh(bad, trigger="test")
    _assert_unchanged(published[1], before)


def _edit_cell(label, value):
    """Edit the partner name (column B) or a value of the Brazil row in the Exports sheet."""
    def edit(path):
        wb = openpyxl.load_workbook(path)
        ws = wb["Exports, FOB"]
        row = next(r for r in ws.iter_rows() if r[1].value == "Brazil")
        if label == "name":
            row[1].value = value
        else:
            row[-3].value = value  # the 2018 column
        wb.save(path)
    return edit


def test_unknown_partner_name(published, mirror):
    bad, before = _refresh_with(published, _variant(published, mirror, "unknown",
                                                     _edit_cell("name", "Republic of Atlantis")))
    with pytest.raises(ValidationFailed) as info:
        pipeline.refresh(bad, trigger="test")
    text = str(info.value)
    assert "every partner name maps" in text and "Republic of Atlantis" in text and "DOTS_101.xlsx" in text
    report = info.value.report_path.read_text()
    assert "FAILED" in report and "Republic of Atlantis" in report and "imf-dots/2022-02-02" in report
    _assert_unchanged(published[1], before)


def test_negative_value(published, mirror):
    bad, before = _refresh_with(published, _variant(published, mirror, "negative", _edit_cell("value", -5.0)))
    with pytest.raises(ValidationFailed) as info:
        pipeline.refresh(bad, trigger="test")
    text = str(info.value)
    assert "non-negative" in text and "-5.0" in text and "'row_number': 203" in text
    _assert_unchanged(published[1], before)
    last = ledger.read(published[1].run_ledger)[-1]
    assert last["failed_suite"].startswith("imf-dots: non-negative") and last["report_path"]
    # the failed source's validate task is Failed, naming its suite; the others are Completed (every task showed
    # Completed, only the flow Failed: found by a QA pass)
    # only the changed source is validated (an incremental refresh): waiting for two validate tasks waited out the
    # whole timeout (30 s) every run
    def done(rs):
        final = {r.name for r in rs if r.state is not None and r.state.is_final()}
        return "validate imf-dots" in final and any(n.startswith("plan") for n in final) and all(
            r.name in final for r in rs if r.name.startswith("validate "))

    runs = task_runs(last["flow_run_id"], done)
    states = {r.name: r.state for r in runs if r.name.startswith("validate ")}
    assert states["validate imf-dots"].is_failed(), states["validate imf-dots"]
    assert "imf-dots: non-negative" in states["validate imf-dots"].message
    assert all(s.is_completed() for name, s in states.items() if name != "validate imf-dots"), states
    assert any(r.name.startswith("plan") and r.state.is_completed() for r in runs)  # a stage task, as README says


def test_stale_build_is_cleaned(published):
    _, settings, _ = published
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    leftover = settings.build_dir / "19990101T000000-1.duckdb"
    shutil.copy(settings.warehouse, leftover)  # as if a run had been killed mid-build
    # and a `jlac sql` killed while it copied the warehouse another process held for writing (jlac.leftovers)
    proc = subprocess.Popen(["true"])
    proc.wait()
    read_copy = settings.home / f".{settings.warehouse.stem}-read-{proc.pid}-x1y2z3.duckdb"
    shutil.copy(settings.warehouse, read_copy)
    os.utime(read_copy, (time.time() - 7200, time.time() - 7200))
    # a refresh its pre-flight check refuses (no snapshots where it looks) touches nothing, the leftover included
    with pytest.raises(SnapshotError):
        pipeline.refresh(Settings(warehouse=settings.warehouse, snapshots=settings.snapshots,
                                  mirrors=(settings.home / "nowhere",), output=settings.output))
    assert leftover.exists()
    # the next refresh that runs removes it, whatever it then finds (nothing changed here)
    assert pipeline.refresh(settings, trigger="test").status == "unchanged"
    assert not leftover.exists() and not read_copy.exists()


@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_a_stop_inside_the_new_build_task_leaves_no_build_file(published, monkeypatch, mode, mirror, tmp_path):
    """A stop (a Cancel's SIGTERM; here Ctrl-C, which Prefect does not turn into a signal to the test's process)
    arriving while the new-build task made the file (an empty one, or a copy of the published warehouse) left it in
    .build/ until the next publish (found by a QA pass)."""
    from jlac import warehouse

    settings = _own_copy(published, tmp_path)
    making = warehouse.copy_published if mode == "incremental" else warehouse.new_build

    def stopped_after_making(settings, run_id):
        made = making(settings, run_id)
        assert made.exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(warehouse, "copy_published" if mode == "incremental" else "new_build", stopped_after_making)
    if mode == "incremental":
        _new_fred_vintage(settings, mirror)
    before = _fingerprint(settings)
    with pytest.raises(KeyboardInterrupt):
        pipeline.refresh(settings, trigger="test", full=mode == "full")
    assert ledger.read(settings.run_ledger)[-1]["status"] == "crashed"
    assert list(settings.build_dir.iterdir()) == [] and _fingerprint(settings) == before


def test_an_unknown_source_name_is_refused_before_anything_runs(published):
    """`jlac refresh --source fred` (a typo, or an old connector name) must not refresh everything else as if nothing
    had been asked: refused before any fetch or build, naming the closest source, the warehouse untouched."""
    _, settings, _ = published
    before = _fingerprint(settings)
    runs = len(ledger.read(settings.run_ledger))
    with pytest.raises(JlacError, match=r"unknown source\(s\) \['fred'\]; 'fred': did you mean 'fred-exjpus'\?; known"):
        pipeline.refresh(settings, sources=["fred"], trigger="test")
    with pytest.raises(JlacError, match=r"unknown source\(s\) \['no-such-source'\]; known: \["):
        pipeline.refresh(settings, pins={"no-such-source": "2020-01-01"}, trigger="test")
    _assert_unchanged(settings, before)
    # a flow run refused by its pre-flight check (a deployment's, a schedule's: the CLI checks before it starts a
    # flow) is recorded as failed, as every run is; it was in no ledger line (found by a QA pass)
    refused = ledger.read(settings.run_ledger)[runs:]
    assert [r["status"] for r in refused] == ["failed", "failed"]
    assert "did you mean 'fred-exjpus'" in refused[0]["error"] and "no-such-source" in refused[1]["error"]
    assert all(r["snapshots"] == [] and r["flow_run_id"] for r in refused)
    # a deployment's run asked to rebuild a source of which no snapshot is found: "nothing changed", Completed, where
    # the CLI refuses (found by a QA pass); a share the flow's `settings` parameter gives is checked as its variable
    with pytest.raises(JlacError, match=r"--source imf-imts: no snapshot to build from"):
        pipeline.refresh(settings, sources=["imf-imts"], trigger="test")
    import dataclasses

    with pytest.raises(JlacError, match=r"quarantine_max_share=7 \(JLAC_QUARANTINE_MAX_SHARE\): expected a share"):
        pipeline.refresh(dataclasses.replace(settings, quarantine_max_share=7), trigger="test")
    assert [r["status"] for r in ledger.read(settings.run_ledger)[runs + 2:]] == ["failed", "failed"]
    _assert_unchanged(settings, before)


def test_a_run_given_fetch_and_offline_says_the_fetch_is_ignored(tmp_path, mirror, caplog):
    """A deployment's run (fetch: true) given offline=true fetched nothing without a word: offline wins, as for the
    command line, and the run's log says fetch is ignored (here the run is then turned away by a held lock)."""
    from jlac import warehouse

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(mirror,),
                        output=tmp_path / "out")
    with warehouse.refresh_lock(settings), caplog.at_level(logging.WARNING, logger="jlac"):
        record = pipeline.refresh(settings, fetch=True, offline=True, trigger="test")
    assert record.status == "skipped"
    said = [r.getMessage() for r in caplog.records if r.name == "jlac.pipeline"]
    assert said[0] == ("fetch=True is ignored: offline=True never touches the network, so nothing is fetched and the "
                       "run builds from the snapshots at hand"), said
    caplog.clear()
    with warehouse.refresh_lock(settings), caplog.at_level(logging.WARNING, logger="jlac"):
        pipeline.refresh(settings, offline=True, trigger="test")
    assert not [r for r in caplog.records if "is ignored" in r.getMessage()]


def test_a_refresh_turned_away_by_the_lock_is_recorded_as_skipped_and_names_the_holder(tmp_path, monkeypatch,
                                                                                       mirror):
    """Every run is in the ledger, a run turned away too; as skipped, not failed: two refreshes started close together
    passed the pre-flight check, and the second was recorded and alerted as a failure (found by a QA pass)."""
    import os

    from jlac import warehouse
    from jlac.ops import alerts

    sent = []
    monkeypatch.setattr(alerts, "send", lambda payload, *_, **kw: sent.append({**payload, **kw}))
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(mirror,),
                        output=tmp_path / "out")
    holder = rf"another refresh \(process {os.getpid()}\) holds .*\.refresh\.lock; wait for it to finish"
    with warehouse.refresh_lock(settings):  # another refresh running (flock: per open file, so also in-process)
        refused = pipeline.refresh(settings, trigger="test")  # at the pre-flight check
        # the other refresh took the lock after this one's check: turned away at the lock itself, the same way
        monkeypatch.setattr(warehouse, "refresh_held", lambda _settings: None)
        raced = pipeline.refresh(settings, trigger="test")
    runs = ledger.read(settings.run_ledger)
    assert [(r["run_id"], r["status"]) for r in runs] == [(refused.run_id, "skipped"), (raced.run_id, "skipped")]
    for run in runs:
        assert re.fullmatch(holder, run["error"]), run["error"]
    assert sent == [] and not settings.warehouse.exists()


def test_a_damaged_published_warehouse_is_replaced_by_the_next_refresh(published, tmp_path):
    # The plan saw it unreadable and rebuilt everything, then the revisions hook (before publish) failed reading it,
    # and every refresh after that failed the same way: nothing could replace the damaged file.
    _, settings, _ = published
    home = tmp_path / "wh"
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("*.duckdb", "*.wal", ".build", ".refresh.lock"))
    damaged = home / "jlac.duckdb"
    damaged.write_bytes(settings.warehouse.read_bytes()[: 2 << 20])  # cut short, as a full disk leaves it
    copy = Settings(warehouse=damaged, snapshots=settings.snapshots, mirrors=settings.mirrors,
                    output=tmp_path / "out")
    with pytest.raises(JlacError, match="--source keeps the other sources .* cannot be read"):
        pipeline.refresh(copy, sources=["fred-exjpus"], trigger="test")
    record = pipeline.refresh(copy, trigger="test")
    assert record.status == "completed", record.error
    assert _fingerprint(copy)[1] == _fingerprint(settings)[1]  # the same rows as the good warehouse


def test_outputs_move_onto_an_output_folder_on_another_filesystem(tmp_path):
    """JLAC_OUTPUT on another filesystem than the warehouse home (a share): the outputs staged beside the build are
    copied over and renamed into place (a rename alone fails with EXDEV: every refresh failed after publishing)."""
    import os
    import uuid
    from pathlib import Path

    from jlac import figures, owned

    # a writable folder on another filesystem than tmp_path: /dev/shm, or the disk when the tests' tmp is in memory
    here = os.stat(tmp_path).st_dev
    other = next((p for p in (Path("/dev/shm"), Path("/var/tmp"), Path.home())
                  if p.is_dir() and os.access(p, os.W_OK) and os.stat(p).st_dev != here), None)
    if other is None:
        pytest.skip("needs a writable folder on another filesystem than the tests' tmp")
    outdir = other / f"jlac-test-{uuid.uuid4().hex}" / "output"
    try:
        (outdir / "dbt-docs").mkdir(parents=True)
        (outdir / "dbt-docs" / "index.html").write_text("old")
        (outdir / "dbt-docs" / "manifest.json").write_text("{}")
        (outdir / "dbt-docs" / owned.MARK).write_text("")  # an earlier run's: jlac's to replace (jlac.owned)
        (outdir / "fig1.png").write_bytes(b"old")
        staged = tmp_path / "staged"
        (staged / "dbt-docs").mkdir(parents=True)
        (staged / "dbt-docs" / "index.html").write_text("new docs")
        (staged / "fig1.png").write_bytes(b"new chart")
        (staged / "fig3.csv").write_text("year\n2024\n")
        assert os.stat(staged).st_dev != os.stat(outdir).st_dev
        pipeline._move_outputs(staged, outdir)
        assert sorted(p.name for p in outdir.iterdir()) == ["dbt-docs", "fig1.png", "fig3.csv"]  # no leftovers
        assert (outdir / "fig1.png").read_bytes() == b"new chart"
        assert [p.name for p in (outdir / "dbt-docs").iterdir()] == ["index.html"]  # the old site replaced whole
        assert not staged.exists()
        assert not (outdir / figures.RECORD).exists()
    finally:
        shutil.rmtree(outdir.parent, ignore_errors=True)


@pytest.mark.parametrize("how", ["interrupt", "signal"])
def test_a_stop_during_a_parse_is_an_interruption_not_a_damaged_file(tmp_path, mirror, how):
    """SIGTERM (systemd stopping the service; Prefect's handler raises in the query) or Ctrl-C while DuckDB parses:
    DuckDB raises it as its interruption, which must reach the CLI as one ("jlac: interrupted"), not as a ParseError
    blaming the source's files in the ledger and the alert."""
    import dataclasses
    import signal
    import threading

    from jlac import parse
    from jlac.errors import is_interrupt
    from jlac.snapshots import latest_snapshot
    from jlac.sources import all_sources

    def slow(snapshot, con):
        if how == "interrupt":
            threading.Timer(0.3, con.interrupt).start()
        else:  # a Python signal handler raising while the query runs, as Prefect's SIGTERM handler does
            signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            signal.setitimer(signal.ITIMER_REAL, 0.3)
        con.execute("SELECT count(*) FROM range(100000000000)").fetchall()  # a parser's own query, stopped
        raise AssertionError("the query was not stopped")

    source = dataclasses.replace(all_sources()["mof-trade-by-country-top30"], parse=slow)
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store",
                        mirrors=(mirror,), output=tmp_path / "out", cache=tmp_path / "cache")  # no cached batch
    snap = latest_snapshot(source.name, settings)
    previous = signal.getsignal(signal.SIGALRM)
    try:
        with pytest.raises(BaseException) as stopped:
            parse.parse_to_cache(settings, source, snap)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not isinstance(stopped.value, ParseError), stopped.value
    assert is_interrupt(stopped.value), repr(stopped.value)
    assert not list((settings.cache_dir / source.name).glob(".*.tmp"))  # nothing half-written left


def test_a_read_only_output_or_warehouse_folder_is_refused_before_anything_runs(tmp_path):
    """A read-only mount (root writes anywhere else) under JLAC_OUTPUT was found after the publish: the run failed
    with the new warehouse out, its hooks never ran, and the next refresh was 'unchanged'. Under the warehouse's
    folder it was 325 lines of Prefect's database errors. Both are refused first, naming the folder."""
    import subprocess

    from jlac import preflight

    ro = tmp_path / "ro"
    (ro / "out").mkdir(parents=True)
    if subprocess.run(["mount", "--bind", str(ro), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("needs mount (root) for a real read-only folder")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True, capture_output=True)
        ok = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                      output=tmp_path / "out")
        preflight.check(ok)
        for name, settings in (
                ("JLAC_OUTPUT", Settings(warehouse=ok.warehouse, snapshots=ok.snapshots, mirrors=(),
                                         output=ro / "out" / "figures")),
                ("JLAC_WAREHOUSE's folder", Settings(warehouse=ro / "wh" / "jlac.duckdb", snapshots=ok.snapshots,
                                                     mirrors=(), output=ok.output, cache=tmp_path / "cache"))):
            with pytest.raises(JlacError, match=rf"{name} .*: {ro}(/out)? cannot be written \(a read-only file "
                                                r"system\); a refresh writes there"):
                preflight.check(settings)
        # the output and cache folders by default under a read-only warehouse folder: the warehouse's folder is
        # named, not "JLAC_OUTPUT", which the user never set (found by a QA pass)
        under = Settings(warehouse=ro / "wh" / "jlac.duckdb", snapshots=ok.snapshots, mirrors=(),
                         output=ro / "wh" / "output", cache=ro / "wh" / "cache")
        with pytest.raises(JlacError, match=rf"^JLAC_WAREHOUSE's folder {ro}/wh: {ro} cannot be written"):
            preflight.check(under)
        store = Settings(warehouse=ok.warehouse, snapshots=ro / "store", mirrors=(), output=ok.output)
        preflight.check(store)  # a read-only store is fine without --fetch
        with pytest.raises(JlacError, match=r"JLAC_SNAPSHOTS .* cannot be written; `--fetch` stores"):
            preflight.check(store, fetch=True)
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


def test_a_stop_just_after_the_run_is_written_to_the_ledger_lists_it_once(published, monkeypatch):
    """A stop (Ctrl-C, SIGTERM) in the instant after a refresh wrote its ledger line, before it said so: the run was
    written again, as crashed, and listed twice (`jlac status`, meta.runs)."""
    _, settings, _ = published
    write = ledger.append

    def write_then_stop(path, record):
        write(path, record)
        raise KeyboardInterrupt  # the stop lands right after the write

    before = [r["run_id"] for r in ledger.read(settings.run_ledger)]
    monkeypatch.setattr(ledger, "append", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pipeline.refresh(settings, trigger="test")
    runs = ledger.read(settings.run_ledger)
    assert [r["run_id"] for r in runs[:-1]] == before
    assert runs[-1]["status"] == "unchanged", runs[-1]


def test_a_runs_duration_is_the_time_it_took():
    """The start was kept to the second, so a run's duration counted the part of the second it started in: an
    unchanged refresh of 0.23 s was recorded (ledger, meta.runs, the CLI's line) as 1.13 s."""
    import time

    while not 0.5 <= time.time() % 1 < 0.8:  # late in a second: the part a start to the second would drop
        time.sleep(0.01)
    t = time.perf_counter()
    record = ledger.RunRecord(run_id=ledger.new_run_id())
    time.sleep(0.05)
    record.finish("unchanged")
    took = time.perf_counter() - t
    assert 0.04 <= record.duration_s <= took + 0.01, (record.duration_s, took)
    assert record.started < record.ended


def test_run_ids_are_unique_in_a_process_and_sort_by_time():
    """Ids were the time to the second and the pid: two refreshes of one process within a second (an unchanged one
    takes about a second) shared an id, so the ledger held two lines for "one" run."""
    ids = [ledger.new_run_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert "19990101T000000-1" < ids[0]  # ids of the old form (to the second) sort before the new ones


def test_a_source_the_warehouse_holds_but_no_longer_found_stops_the_refresh_unless_dropped(published, mirror,
                                                                                           tmp_path, caplog):
    """A mirror no longer configured for one optional source (AidData's country-year table): its snapshot is None, and
    the refresh built its raw table empty and published that, removing its data without a word. It now stops before
    building, naming the source and the vintage the warehouse holds; ``drop`` builds without it on purpose."""
    _, good, _ = published
    shutil.copytree(good.warehouse.parent, tmp_path / "wh", symlinks=True)  # a copy: the session's home stays as it is
    source = "aiddata-gcdf3-country-year"
    root = small_mirror(tmp_path / "mirror", mirror, GOOD, leave_out=(*HEAVY_OPTIONAL, source))
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=good.snapshots, mirrors=(root,),
                        output=tmp_path / "wh" / "output")
    before = _fingerprint(settings)
    with pytest.raises(SnapshotError, match=rf"no snapshot found of {source} \(the published warehouse holds its "
                                            r"vintage 2025-09-24\) under .*--drop aiddata-gcdf3-country-year"):
        pipeline.refresh(settings, trigger="test")
    _assert_unchanged(settings, before)
    last = ledger.read(settings.run_ledger)[-1]
    assert last["status"] == "failed" and last["failed_source"] == source
    with pytest.raises(JlacError, match="unknown source"):
        pipeline.refresh(settings, trigger="test", drop=["aiddata-gcdf3-country"])  # a typo drops nothing
    # a required source cannot be dropped; one whose snapshots are found is built as usual, and the log says so
    # (both went by without a word: found by a QA pass)
    with pytest.raises(JlacError, match=r"--drop imf-dots: a required source .* cannot be built without"):
        pipeline.refresh(settings, trigger="test", drop=[source, "imf-dots"])
    with caplog.at_level(logging.WARNING, logger="jlac"):
        record = pipeline.refresh(settings, trigger="test", drop=[source, "aiddata-gcdf2-projects", "oecd-dac2a-api"])
    assert "--drop aiddata-gcdf2-projects: its snapshots are found, so it is built as usual" in caplog.text
    # a source never fetched: said as such (it read "its snapshots are found")
    assert ("--drop oecd-dac2a-api: no snapshot of it, and the published warehouse holds none either: nothing to "
            "drop") in caplog.text and "oecd-dac2a-api: its snapshots are found" not in caplog.text
    assert record.status == "completed" and record.plan["changed"] == [source]
    # said as what it is (it read "new snapshot(s) of aiddata-gcdf3-country-year")
    assert record.plan["reason"] == f"built without {source} (no snapshot any more)"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.aiddata_gcdf3_country_year").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM meta.snapshots WHERE source = ?", [source]).fetchone()[0] == 0
    # the run record names the source built without, and `jlac status` says it was dropped, not "no snapshot" as a
    # source never built (found by a QA pass)
    from jlac.ops.status import source_status

    assert record.dropped == [source] and ledger.read(settings.run_ledger)[-1]["dropped"] == [source]
    row = {r.source: r for r in source_status(settings)}[source]
    assert (row.last_run_id, row.last_status, row.dropped) == (record.run_id, "dropped", record.run_id)


def test_a_published_vintage_no_longer_found_stops_the_refresh_unless_pinned_back(published, mirror, tmp_path):
    """Found by a QA pass: with the mirror holding a source's published vintage mistyped in JLAC_MIRROR, the refresh
    built the older vintage it still found and published it (9,575 of imf-dots' values gone, exit 0). It now stops,
    naming the vintage published and the one found; ``--pin`` goes back on purpose."""
    _, good, _ = published
    shutil.copytree(good.warehouse.parent, tmp_path / "wh", symlinks=True)  # a copy: the session's home stays as it is
    root = small_mirror(tmp_path / "mirror", mirror, GOOD, leave_out=(*HEAVY_OPTIONAL, "fred-exjpus"))
    [fred] = sorted((mirror / "fred-exjpus").iterdir())[-1:]
    older = tmp_path / "store" / "fred-exjpus" / "2020-01-01"  # what is still found: an older vintage
    shutil.copytree(fred, older)
    write_manifest(older, "fred-exjpus")
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(root,),
                        output=tmp_path / "wh" / "output")
    before = _fingerprint(settings)
    with pytest.raises(SnapshotError) as info:
        pipeline.refresh(settings, trigger="test")
    said = str(info.value)
    assert (f"fred-exjpus: the published warehouse is built from its vintage {fred.name}, which is no longer found; "
            "the newest found is 2020-01-01 (looked under ") in said
    assert "a mirror missing from JLAC_MIRROR?), or go back on purpose: `jlac refresh --pin fred-exjpus=2020-01-01`" \
        in said
    _assert_unchanged(settings, before)
    last = ledger.read(settings.run_ledger)[-1]
    assert (last["status"], last["failed_source"]) == ("failed", "fred-exjpus")
    # --source keeps fred-exjpus at its published vintage: its message no longer says to refresh without --source,
    # which stops as above (a re-check pass)
    with pytest.raises(JlacError, match=r"fred-exjpus's published vintage .* is no longer in the store or the mirrors "
                                        r"\(available: 2020-01-01\); put its folder back .* --pin fred-exjpus=VINTAGE"):
        pipeline.refresh(settings, trigger="test", sources=["imf-dots"])
    record = pipeline.refresh(settings, trigger="test", pins={"fred-exjpus": "2020-01-01"})
    assert record.status == "completed"
    assert record.plan["reason"] == f"an earlier snapshot of fred-exjpus (2020-01-01; published: {fred.name})"


def test_a_published_source_no_longer_registered_stops_the_refresh_unless_dropped(published, tmp_path, monkeypatch):
    """A source folder removed, or its SOURCE renamed: the refresh built without it and published, its data gone
    without a word (found by a QA pass). It now stops before building, naming it; ``--drop`` names it on purpose."""
    from jlac import preflight
    from jlac.sources import all_sources

    _, good, _ = published
    shutil.copytree(good.warehouse.parent, tmp_path / "wh", symlinks=True)
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=good.snapshots, mirrors=good.mirrors,
                        output=tmp_path / "wh" / "output")
    before = _fingerprint(settings)
    source = "aiddata-gcdf3-country-year"
    monkeypatch.delitem(all_sources(), source)  # as if its folder were gone
    with pytest.raises(SnapshotError, match=rf"{source} \(vintage 2025-09-24\) is in the published warehouse but no "
                                            r"longer a registered source .*nothing was built\. Put the source back, or "
                                            rf"build without it on purpose: `jlac refresh --drop {source}`"):
        pipeline.refresh(settings, trigger="test")
    _assert_unchanged(settings, before)
    preflight.check(settings, drop=[source])  # --drop takes its name, though no source has it any more
    with pytest.raises(JlacError, match="unknown source"):
        preflight.check(settings, drop=["aiddata-gcdf3-country"])  # a typo still does not


def test_two_workbooks_of_one_country_under_two_names_stop_the_publish(published, mirror):
    """Found by a QA pass: a second workbook whose reporter is named 'JPN' (then mapped to Japan as 'Japan' is) with
    other values passed every workbook check, and the two were published mixed, row by row, Figure 1 included. The
    staging model's grain test (one value per reporter, partner, flow and year) stops the publish. A code is no name
    any more (jlac.countries); 'JAPAN', pycountry's name in capitals, is one."""
    from jlac.errors import ModelError
    from jlac.sources.imf_dots.source import UNIT

    home, _, _ = published
    root = small_mirror(home / "two-names", mirror, GOOD)
    vintage = root / "imf-dots" / "2022-02-02"
    wb = openpyxl.load_workbook(vintage / "DOTS_101.xlsx")
    for ws in wb.worksheets:  # the reporter's name is the cell above the unit line (B4 above B5)
        unit = next(c for r in ws.iter_rows(max_row=10) for c in r if c.value == UNIT)
        ws.cell(row=unit.row - 1, column=unit.column, value="JAPAN")
    row = next(r for r in wb["Exports, FOB"].iter_rows() if r[1].value == "Brazil")
    row[-3].value = (row[-3].value or 0) * 1.5 + 1
    wb.save(vintage / "DOTS_901.xlsx")
    write_manifest(vintage, "imf-dots")
    bad, before = _refresh_with(published, root)
    with pytest.raises(ModelError, match=r"unique_combination\(columns=\['reporter_iso3', 'reporter_aggregate', "
                                         r"'partner_iso3', 'partner_aggregate', 'flow', 'year'\]\) on "
                                         r"staging.stg_imf_dots__trade .*reporter_iso3='JPN'"):
        pipeline.refresh(bad, trigger="test")
    _assert_unchanged(published[1], before)


def test_source_option_stops_when_a_kept_source_changed_since_it_was_published(published, mirror, tmp_path):
    """`--source imf-dots` keeps FRED as published; FRED's published vintage, its manifest edited since (a copy in
    the own store wins the mirror's for the same vintage), is another input: the refresh stops naming it, before
    building, rather than rebuild a source it was not given."""
    _, good, _ = published
    shutil.copytree(good.warehouse.parent, tmp_path / "wh", symlinks=True)  # a copy: the session's home stays as it is
    root = small_mirror(tmp_path / "mirror", mirror, GOOD)
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(root,),
                        output=tmp_path / "wh" / "output")
    [fred] = sorted((root / "fred-exjpus").iterdir())[-1:]
    edited = settings.snapshots / "fred-exjpus" / fred.name
    shutil.copytree(fred, edited)
    write_manifest(edited, "fred-exjpus", {"note": "edited since it was published"})
    before = _fingerprint(settings)
    with pytest.raises(JlacError, match=r"--source imf-dots keeps every other source as the published warehouse "
                                        r"holds it, but the snapshot of fred-exjpus now differs"):
        pipeline.refresh(settings, trigger="test", sources=["imf-dots"])
    _assert_unchanged(settings, before)


def _own_copy(published, tmp_path):
    """A copy of the session's good home (warehouse, ledger, outputs) with its own snapshot store and output."""
    _, settings, _ = published
    home = tmp_path / "wh"
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("*.wal", ".build", ".refresh.lock", "cache"))
    return Settings(warehouse=home / "jlac.duckdb", snapshots=home / "snapshots", mirrors=settings.mirrors,
                    output=home / "output")


def _new_fred_vintage(settings, mirror, rate="120.0000"):
    """A newer FRED vintage in the own store: the mirror's file with January 2019 at ``rate``."""
    [src] = (mirror / "fred-exjpus").glob("*/EXJPUS.csv")
    vintage = settings.snapshots / "fred-exjpus" / "2025-06-27"
    vintage.mkdir(parents=True)
    (vintage / "EXJPUS.csv").write_text(src.read_text(encoding="utf-8").replace("2019-01-01,108.9605",
                                                                                f"2019-01-01,{rate}"))
    write_manifest(vintage, "fred-exjpus")


def test_charts_whose_move_failed_after_the_swap_are_kept_and_moved_in_by_the_next_refresh(published, tmp_path,
                                                                                          mirror, monkeypatch):
    """A full disk under JLAC_OUTPUT after the swap: the staged charts were thrown away, the CLI said "OSError", and
    the next refresh found nothing changed, so the output kept the previous warehouse's charts for good (found by a
    QA pass). The run says it published, the charts wait in the build folder, and the next refresh moves them in."""
    import errno

    from jlac import figures

    copy = _own_copy(published, tmp_path)
    _new_fred_vintage(copy, mirror)
    before = figures.read_record(copy.output)
    real_move = pipeline._move_into

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(pipeline, "_move_into", full_disk)
    with pytest.raises(JlacError, match=r"run \S+ published .*jlac.duckdb, but its charts and docs site could not be "
                                        r"moved into .*output \(\[Errno 28\] No space left on device.*they wait in "
                                        r".*-output, and the next `jlac refresh` moves them in"):
        pipeline.refresh(copy, trigger="test")
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:  # published
        assert con.execute("SELECT DISTINCT vintage FROM raw.fred_exjpus").fetchall() == [("2025-06-27",)]
        run = con.execute("SELECT max(run_id) FROM meta.runs").fetchone()[0]
    assert figures.read_record(copy.output) == before  # the old charts still
    assert (copy.build_dir / f"{run}-output").is_dir()
    monkeypatch.setattr(pipeline, "_move_into", real_move)
    record = pipeline.refresh(copy, trigger="test")
    assert record.status == "unchanged", record
    assert figures.read_record(copy.output) != before  # the new run's charts
    assert not (copy.build_dir / f"{run}-output").exists()


def test_a_published_file_damaged_inside_its_blocks_is_replaced_by_a_full_refresh(published, tmp_path, mirror):
    """Damage DuckDB finds only when it reads a block (a checksum): `--full` built, then the revisions hook failed
    reading the old file with "Corrupt database file", and nothing could ever replace it (found by a QA pass). The
    revisions it held, readable still, were then dropped with it, and no copy of it kept (another QA pass): they are
    carried forward, and the damaged file is kept beside the new one."""
    from jlac.publish_hooks.revisions import COLUMNS

    copy = _own_copy(published, tmp_path)
    with duckdb.connect(str(copy.warehouse)) as con:  # a revision an earlier publish recorded
        con.execute(f"INSERT INTO marts.trade_revisions ({COLUMNS}) VALUES ('imf-dots', 'JPN', 'MEX', NULL, 'export', "
                    "2001, '2021-01-01', 100.0, '2022-02-02', 120.0, 20.0, 'imf-dots', 'imf-dots', 'USD', 'publish', "
                    "'20220101T000000-old', TIMESTAMPTZ '2022-01-01 00:00:00+00')")
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        rows = con.execute("SELECT count(*), sum(value_usd) FROM marts.fct_trade_annual").fetchone()
        # the data blocks of a table the revisions compare: its catalog stays readable, its values do not
        blocks = con.execute("SELECT DISTINCT block_id FROM pragma_storage_info('marts.fct_trade_annual') "
                             "WHERE block_id >= 0").fetchall()
        size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    data = bytearray(copy.warehouse.read_bytes())
    for (block,) in blocks:  # zeros after each block's checksum, as bit rot or a bad copy leaves it
        at = 3 * 4096 + block * size + 1024
        data[at:at + 4096] = bytes(4096)
    copy.warehouse.write_bytes(bytes(data))
    from jlac import warehouse
    assert warehouse.unreadable(copy.warehouse) is None  # it opens: the damage shows only when its blocks are read
    damaged = hashlib.sha256(copy.warehouse.read_bytes()).hexdigest()
    record = pipeline.refresh(copy, trigger="test", full=True)
    assert record.status == "completed", record.error
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(value_usd) FROM marts.fct_trade_annual").fetchone() == rows
        assert con.execute("SELECT published_run, old_value, new_value FROM marts.trade_revisions "
                           "WHERE recorded_by = 'publish'").fetchall() == [("20220101T000000-old", 100.0, 120.0)]
    kept = copy.warehouse.with_name(f"jlac.duckdb.damaged-{record.run_id}")
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == damaged


def test_an_incremental_refresh_over_a_damaged_published_file_says_to_run_full(published, tmp_path, mirror):
    """An incremental build is a copy of the published file, damage included: it failed as "SQL model ... failed"
    naming neither the file nor the way out, or could have published the damaged blocks again."""
    copy = _own_copy(published, tmp_path)
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        blocks = con.execute("SELECT DISTINCT block_id FROM pragma_storage_info('marts.fct_trade_annual') "
                             "WHERE block_id >= 0").fetchall()
        size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    data = bytearray(copy.warehouse.read_bytes())
    for (block,) in blocks:
        data[3 * 4096 + block * size + 1024:3 * 4096 + block * size + 5120] = bytes(4096)
    copy.warehouse.write_bytes(bytes(data))
    damaged = hashlib.sha256(copy.warehouse.read_bytes()).hexdigest()
    _new_fred_vintage(copy, mirror)
    with pytest.raises(JlacError, match=r"(?s)published warehouse .*jlac.duckdb.*damaged.*`jlac refresh --full` builds "
                                        r"a new warehouse from the snapshots"):
        pipeline.refresh(copy, trigger="test")
    assert hashlib.sha256(copy.warehouse.read_bytes()).hexdigest() == damaged  # left as it was
    assert pipeline.refresh(copy, trigger="test", full=True).status == "completed"


def test_a_ledger_that_cannot_be_written_after_the_swap_says_the_run_published(published, tmp_path, mirror,
                                                                             monkeypatch):
    """The ledger line after the swap failed (a read-only runs.jsonl): the CLI said only "PermissionError" and the
    alert "failed", while the new vintage was published (found by a QA pass). It says the run published; the next
    refresh records it from meta.runs."""
    import errno

    copy = _own_copy(published, tmp_path)
    _new_fred_vintage(copy, mirror)
    real_append = ledger.append

    def read_only(path, record):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    monkeypatch.setattr(ledger, "append", read_only)
    with pytest.raises(JlacError, match=r"run (\S+) published .*jlac.duckdb, but then failed: PermissionError: .*"
                                        r"Operation not permitted.*the next refresh records it") as caught:
        pipeline.refresh(copy, trigger="test")
    run_id = caught.value.args[0].split()[1]
    monkeypatch.setattr(ledger, "append", real_append)
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        assert con.execute("SELECT DISTINCT vintage FROM raw.fred_exjpus").fetchall() == [("2025-06-27",)]
    assert run_id not in {r["run_id"] for r in ledger.read(copy.run_ledger)}
    assert pipeline.refresh(copy, trigger="test").status == "unchanged"
    assert run_id in {r["run_id"] for r in ledger.read(copy.run_ledger)}  # recorded from meta.runs


_NO_OVERRIDE = ["setpriv", "--inh-caps=-dac_override,-dac_read_search,-fowner",
                "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.parametrize("closed, said", [
    ("jlac.duckdb", r"the published warehouse .*jlac\.duckdb cannot be read by this user \(uid \d+; mode ----------"),
    ("runs.jsonl", r"the run ledger .*runs\.jsonl cannot be read and written by this user: every refresh reads it"),
    (".refresh.lock", r"the refresh lock .*\.refresh\.lock cannot be opened for writing by this user"),
    (".dbt", r"the dbt folder \(JLAC_DBT_HOME, unset: \.dbt beside JLAC_WAREHOUSE\) \S*/wh/\.dbt cannot be written "
             r"\(no write permission\); dbt keeps"),
    ("../prefect", r"PREFECT_HOME \S*/prefect cannot be written \(no write permission\); Prefect's temporary API "
                   r"keeps the run's records there"),
])
def test_what_this_user_may_not_read_or_write_stops_the_refresh_before_it_starts(published, tmp_path, closed, said):
    """Found by a QA pass, as a user without root's override of file modes: an intact published file this user may
    not read was taken for a damaged one and replaced ("unreadable: full rebuild"), its revision record lost, exit 0;
    a read-only run ledger failed every refresh after its publish, a read-only .dbt after every source was parsed
    and checked. Each is now one line before anything runs, the published file as it was."""
    import os
    import re
    import subprocess
    import sys

    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("root without setpriv: file modes do not apply")
    home, good, _ = published
    wh = tmp_path / "wh"
    shutil.copytree(good.warehouse.parent, wh, symlinks=True, ignore=shutil.ignore_patterns(".prefect"))
    (wh / ".dbt").mkdir(exist_ok=True)
    (tmp_path / "prefect").mkdir()
    before = hashlib.sha256((wh / "jlac.duckdb").read_bytes()).hexdigest()
    (wh / ".refresh.lock").touch()
    (wh / closed).chmod(0o555 if (wh / closed).is_dir() else 0o444 if closed in ("runs.jsonl", ".refresh.lock") else 0)
    env = {k: v for k, v in os.environ.items() if k not in ("JLAC_DBT_HOME", "JLAC_CACHE")}
    env.update(JLAC_WAREHOUSE=str(wh / "jlac.duckdb"), JLAC_MIRROR=str(good.mirrors[0]),
               JLAC_SNAPSHOTS=str(good.snapshots), PREFECT_HOME=str(tmp_path / "prefect"))
    prefix = _NO_OVERRIDE if os.geteuid() == 0 else []
    try:
        proc = subprocess.run([*prefix, sys.executable, "-m", "jlac.cli", "refresh"], env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        (wh / closed).chmod(0o755 if (wh / closed).is_dir() else 0o644)
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 1 and re.search(said, text), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Starting temporary server" not in proc.stderr
    assert hashlib.sha256((wh / "jlac.duckdb").read_bytes()).hexdigest() == before


def test_a_clock_set_back_during_a_run_does_not_make_its_duration_negative(monkeypatch):
    """The duration is measured on the monotonic clock: a wall clock set back an hour during a run (NTP, by hand)
    gave -3613 s in the ledger, meta.runs and `jlac status` (found by a QA pass). A record of a run timed elsewhere
    (a killed build's, from its start time) keeps the wall clock's difference."""
    import datetime as dt

    record = ledger.RunRecord(run_id=ledger.new_run_id())
    real = dt.datetime

    class HourBack(real):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) - dt.timedelta(hours=1)

    monkeypatch.setattr(ledger, "datetime", HourBack)
    record.finish("completed")
    assert 0 <= record.duration_s < 5 and record.ended < record.started  # the wall clock's facts, kept as they are
    assert "_since" not in record.summary()
    killed = ledger.RunRecord(run_id="r", started=(real.now(dt.UTC) - dt.timedelta(hours=3)).isoformat())
    killed.finish("crashed")
    assert 7100 < killed.duration_s < 7300  # its start three hours ago, by a wall clock now one hour behind
