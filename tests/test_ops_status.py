"""Freshness report: rhythms, vintage ages from the real mirror, the run ledger, the CLI's exit code."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import MIRROR
from jlac import ledger
from jlac.cli import app
from jlac.config import Settings, get_settings
from jlac.ops.status import load_rhythms, read_ledger, read_rhythm, source_status, vintage_age
from jlac.sources import all_sources
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 28)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """A published warehouse (an empty DuckDB file: with none, every source is stale) and the real mirror."""
    import duckdb

    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_MIRROR", str(MIRROR))
    duckdb.connect(str(tmp_path / "jlac.duckdb")).close()
    return get_settings()


def _ledger(settings, *runs):
    settings.run_ledger.write_text("".join(json.dumps(r) + "\n" for r in runs))


def test_every_source_has_a_release_rhythm():
    rhythms = load_rhythms()
    missing = set(all_sources()) - set(rhythms)
    assert not missing, f"add release.yml to the folders of {sorted(missing)} (flows/jlac/sources/<table>/)"
    assert rhythms["fred-exjpus"].rhythm == "monthly" and rhythms["fred-exjpus"].stale_after_days == 45
    assert rhythms["imf-dots"].stale_after_days is None  # frozen: never flagged


def test_a_release_file_without_a_rhythm_is_refused(tmp_path):
    bad = tmp_path / "fred_exjpus" / "release.yml"
    bad.parent.mkdir()
    bad.write_text("stale_after_days: 3\n")
    with pytest.raises(ValueError, match=r"fred_exjpus/release.yml: needs a 'rhythm'"):
        read_rhythm(bad)


@pytest.mark.parametrize(("text", "message"), [
    ("rhythm: monthly\nstale_after_days: soon\n",
     r"stale_after_days 'soon' is not a number of days: expected a whole number of at least 1 \(e\.g\. 45\), or no "
     r"stale_after_days for a source never flagged stale"),
    ("rhythm: monthly\nstale_after_days: 0\n", r"stale_after_days 0 is not a number of days"),
    ("rhythm: monthly\nstale_after_days: true\n", r"stale_after_days True is not a number of days"),
    ("rhythm: monthly\nstale_after_days: 4.5\n", r"stale_after_days 4\.5 is not a number of days"),
    ("rhythm: weekly\n", r"rhythm 'weekly' is not one of monthly, annual, irregular, frozen"),
    ("rhythm: [monthly]\n", r"rhythm \['monthly'\] is not one of monthly, annual, irregular, frozen"),
])
def test_a_release_file_jlac_cannot_use_is_one_line_naming_file_and_field(tmp_path, monkeypatch, capsys, text,
                                                                          message):
    """`stale_after_days: soon` crashed `jlac sources` and `jlac status` with a traceback from int(); a rhythm outside
    the four was shown as it was. Both now stop the command in one line naming the release.yml and the field."""
    import sys
    from types import SimpleNamespace

    from jlac import cli
    from jlac.ops import status
    from jlac.sources import RegistryError

    bad = tmp_path / "fred_exjpus" / "release.yml"
    bad.parent.mkdir()
    bad.write_text(text)
    with pytest.raises(RegistryError, match=rf"^{bad}: {message}"):
        read_rhythm(bad)
    monkeypatch.setattr(status, "all_sources", lambda: {"fred-exjpus": SimpleNamespace(folder=bad.parent)})
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "jlac.duckdb"))
    for command in ("sources", "status"):
        monkeypatch.setattr(sys, "argv", ["jlac", command])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
        assert exit_.value.code == 1 and f"jlac: ReleaseFileError: {bad}: " in err and "Traceback" not in err


def test_vintage_age_in_days():
    assert vintage_age("2025-05-27", TODAY) == 550
    assert vintage_age("latest", TODAY) is None


def test_status_from_the_mirror_and_the_ledger(settings):
    _ledger(settings,
            {"run_id": "r1", "status": "completed", "duration_s": 41.5,
             "snapshots": [{"source": "fred-exjpus", "vintage": "2025-05-27", "fingerprint": "x"},
                           {"source": "imf-dots", "vintage": "2022-02-02", "fingerprint": "y"}]},
            {"run_id": "r2", "status": "failed", "duration_s": 3.25, "snapshots": [],
             "failed_source": "oecd-dac2a", "error": "boom"})
    rows = {r.source: r for r in source_status(settings, today=TODAY)}
    fred = rows["fred-exjpus"]
    assert (fred.vintage, fred.age_days, fred.last_run_id, fred.last_status, fred.last_duration_s) == (
        "2025-05-27", 550, "r1", "completed", 41.5)
    assert fred.stale  # monthly source, 550 days old
    dots = rows["imf-dots"]
    assert (dots.vintage, dots.age_days, dots.stale) == ("2022-02-02", 1760, False)  # frozen
    oecd = rows["oecd-dac2a"]
    assert (oecd.last_run_id, oecd.last_status, oecd.vintage) == ("r2", "failed", "2022-01-18")
    assert oecd.stale  # annual source, last vintage from January 2022
    # an optional source with no snapshot anywhere is shown as missing, not stale (the warehouse gets an
    # empty table for it); a required one would be stale
    imts = rows["imf-imts"]
    assert imts.vintage is None and imts.last_status is None
    assert imts.stale is (all_sources()["imf-imts"].required)


def test_ledger_skips_torn_lines_says_so_and_keeps_appending(tmp_path, caplog):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"run_id": "a"}\n{"run_id": "b"}\n{"run_id": "c", "sta')  # killed while appending
    assert [r["run_id"] for r in read_ledger(path)] == ["a", "b"]
    ledger.append(path, ledger.RunRecord(run_id="d", snapshots=[
        {"source": "imf-dots", "vintage": "2022-02-02", "fingerprint": "f", "files": [{"path": "x"}] * 300}]))
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        runs = read_ledger(path)
    assert [r["run_id"] for r in runs] == ["a", "b", "d"]  # the torn line stays isolated, later runs read
    assert "line 3 is not JSON" in caplog.text
    assert runs[-1]["snapshots"] == [{"source": "imf-dots", "vintage": "2022-02-02", "fingerprint": "f"}]
    assert len(path.read_text().splitlines()[-1]) < 1000  # per-run summary, no file lists


def test_fetch_ledger_skips_torn_and_foreign_lines_and_keeps_appending(tmp_path, caplog):
    """fetches.jsonl (meta.fetches, `jlac status`) had neither guard: a fetch killed while appending left a torn line
    that failed every later publish at meta.fetches, and the next fetch was written onto the end of it."""
    from jlac.connectors import FetchResult, record_fetches
    from jlac.meta import write_meta

    settings = get_settings().__class__(warehouse=tmp_path / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                                        output=tmp_path / "o")
    path = settings.fetch_ledger
    path.write_text('{"at": "2026-12-01T00:00:00+00:00", "source": "fred-exjpus", "status": "new", "vintage": "v"}\n'
                    '{"at": 5, "source": "x", "status": "new"}\n'  # valid JSON, not a fetch record
                    '{"at": "2026-12-02T00:00:00+00:00", "source": "imf-im', encoding="utf-8")  # torn
    record_fetches(settings, [FetchResult("imf-imts", "failed", None, 2, 0, "GET ...: 503 Service Unavailable")])
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        fetches = ledger.read_fetches(path)
    assert [(f["source"], f["status"]) for f in fetches] == [("fred-exjpus", "new"), ("imf-imts", "failed")]
    assert "line 2 is not a fetch record (at=5)" in caplog.text and "line 3 is not JSON" in caplog.text
    import duckdb

    with duckdb.connect(str(tmp_path / "m.duckdb")) as con:
        con.execute("CREATE SCHEMA meta")
        write_meta(con, settings, ledger.RunRecord(run_id="r"), [], {})
        assert con.execute("SELECT source, status, message FROM meta.fetches ORDER BY fetched_at").fetchall() == [
            ("fred-exjpus", "new", None), ("imf-imts", "failed", "GET ...: 503 Service Unavailable")]
    [imts] = [s for s in source_status(settings) if s.source == "imf-imts"]
    assert imts.fetch_failed[1] == "GET ...: 503 Service Unavailable"
    assert [s.fetch_failed for s in source_status(settings) if s.source == "fred-exjpus"] == [None]


def test_cli_status_flags_stale_sources_with_exit_code_3(settings):
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 3, result.output
    rows = {r["source"]: r for r in json.loads(result.stdout)}
    assert rows["fred-exjpus"]["vintage"] == "2025-05-27" and rows["fred-exjpus"]["stale"] is True
    assert rows["aiddata-v2-donor-recipient-year"]["stale"] is False


def test_cli_status_says_when_no_warehouse_is_published(settings, tmp_path):
    """A mistyped JLAC_WAREHOUSE showed a table of "never run" and STALE, and no word that nothing is published
    there (found by a QA pass); every reading command says it, status now too."""
    typo = tmp_path / "typo-dir" / "jlac.duckdb"
    result = CliRunner().invoke(app, ["status"], env={"JLAC_WAREHOUSE": str(typo)})
    assert result.exit_code == 3, result.output
    assert f"jlac: no published warehouse at {typo}: no refresh has published there" in " ".join(
        result.stderr.split())


def test_cli_status_names_the_after_publish_hooks_still_pending_for_the_published_run(settings):
    """A serving copy or site behind the published warehouse is shown until a refresh runs its hook again."""
    from jlac.publish_hooks import all_hooks

    names = [h.name for h in all_hooks() if h.after is not None]
    assert "postgres" in names and "site" in names
    ok = [{"hook": n, "status": "ok", "seconds": 0.1} for n in names if n != "postgres"]
    down = {"hook": "postgres", "status": "failed", "seconds": 0.1,
            "message": "ServingUnavailable: PostgreSQL serving copy at db:5432/jlac as jlac_owner is unreachable"}
    _ledger(settings, {"run_id": "r1", "status": "completed", "hooks": [*ok, down]},
            {"run_id": "r2", "status": "unchanged", "hooks_for": "r1", "hooks": [down]})
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    assert ("after-publish hooks not done for the published run r1: postgres (ServingUnavailable: PostgreSQL serving "
            "copy at db:5432/jlac as jlac_owner is unreachable); the next refresh runs them again") in result.output
    # a run stopped after its swap ran none of them
    _ledger(settings, {"run_id": "r1", "status": "completed", "hooks": [*ok, down]},
            {"run_id": "r3", "status": "completed", "hooks": [], "error": "interrupted after publishing: stopped"})
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    assert "hooks not done for the published run r3: " + "; ".join(f"{n} (not run)" for n in names) in result.output
    # caught up: nothing said
    _ledger(settings, {"run_id": "r1", "status": "completed", "hooks": [*ok, down]},
            {"run_id": "r2", "status": "unchanged", "hooks_for": "r1", "hooks": [{**down, "status": "ok"}]})
    assert "hooks not done" not in CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"}).output


def test_cli_status_does_not_call_the_postgres_hook_pending_once_serve_sql_loaded_the_run(settings, monkeypatch):
    """Found by a QA pass: after the hook gave up on busy readers, serve-sql loaded the run, and status said both
    'postgres not done' and 'serving copy ... current'."""
    from jlac.serving import status as serving_status_mod
    from jlac.serving.status import ServingStatus

    down = {"hook": "postgres", "status": "failed", "seconds": 181.0,
            "message": "ServingLoadError: readers kept the served tables busy for more than 180 s"}
    _ledger(settings, {"run_id": "r1", "status": "completed", "hooks": [down]})
    monkeypatch.setattr(serving_status_mod, "serving_status",
                        lambda s: ServingStatus("local cluster on 127.0.0.1:5433", version="r1", published="r1"))
    output = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"}).output
    assert "postgres (ServingLoadError" not in output, output
    assert ("serving copy (local cluster on 127.0.0.1:5433): run r1, current (loaded by serve-sql after the "
            "refresh's postgres hook failed)") in output
    # still behind: still pending
    monkeypatch.setattr(serving_status_mod, "serving_status",
                        lambda s: ServingStatus("local cluster on 127.0.0.1:5433", version="r0", published="r1"))
    output = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"}).output
    assert "after-publish hooks not done for the published run r1: " in output
    assert "postgres (ServingLoadError" in output and "loaded by serve-sql" not in output


def test_ledger_skips_json_that_is_no_run_record_and_appends_without_blank_lines(tmp_path, caplog):
    path = tmp_path / "runs.jsonl"
    ledger.append(path, ledger.RunRecord(run_id="a"))
    ledger.append(path, ledger.RunRecord(run_id="b"))
    assert len(path.read_text().splitlines()) == 2  # was: a blank line before every record after the first
    with open(path, "a") as fh:
        fh.write('123\n[1, 2]\nnull\n"x"\n{}\n')  # valid JSON, no run: every later build failed on it
    ledger.append(path, ledger.RunRecord(run_id="c"))
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        assert [r["run_id"] for r in read_ledger(path)] == ["a", "b", "c"]
    assert "line 3 is not a run record ('123'" in caplog.text


@pytest.mark.parametrize("line", [
    {"run_id": "zzz", "status": "completed", "plan": "x"},
    {"run_id": "zzz", "status": "completed", "snapshots": "abc"},
    {"run_id": "zzz", "status": "completed", "snapshots": ["fred-exjpus"]},
    {"run_id": "zzz", "status": "failed", "duration_s": "fast", "snapshots": [{"source": "fred-exjpus"}]},
    {"run_id": "zzz", "status": 3},
], ids=["plan text", "snapshots text", "snapshot not an object", "duration text", "status number"])
def test_status_skips_a_ledger_line_whose_fields_have_other_types(settings, caplog, line):
    """Valid JSON with a run id but a field of another type (an edit, another tool) stopped `jlac status` with a
    traceback; it is skipped, named, like a torn line."""
    _ledger(settings, {"run_id": "r1", "status": "completed", "duration_s": 41.5,
                       "snapshots": [{"source": "fred-exjpus", "vintage": "2025-05-27", "fingerprint": "x"}]}, line)
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        rows = {r.source: r for r in source_status(settings, today=TODAY)}
    assert (rows["fred-exjpus"].last_run_id, rows["fred-exjpus"].last_duration_s) == ("r1", 41.5)
    assert "line 2 (run zzz) has" in caplog.text and "skipped" in caplog.text
    result = CliRunner().invoke(app, ["status"], env={"JLAC_WAREHOUSE": str(settings.warehouse),
                                                      "JLAC_MIRROR": str(MIRROR)})
    assert result.exit_code in (0, 3), (result.exit_code, result.exception, result.output)


def test_status_describes_the_published_warehouse_not_the_last_attempt(settings):
    """A refresh that failed on a newer vintage leaves the published data (and its staleness, and what it set aside)
    as they were; an unchanged run keeps the quarantine flag; a published vintage gone from the store is named."""
    from conftest import write_manifest

    newer = settings.snapshots / "fred-exjpus" / "2026-11-20"
    newer.mkdir(parents=True)
    (newer / "EXJPUS.csv").write_bytes(next((MIRROR / "fred-exjpus").glob("*/EXJPUS.csv")).read_bytes())
    write_manifest(newer, "fred-exjpus")
    set_aside = {"rows": 44, "raw_rows": 32841, "share": 0.0013, "snapshot_id": "imf-dots/2022-02-02",
                 "values": "'Atlantis' (44 rows)"}
    _ledger(settings,
            {"run_id": "r1", "status": "completed", "duration_s": 41.5, "plan": {"mode": "full"},
             "quarantine": {"imf-dots": set_aside},
             "snapshots": [{"source": "fred-exjpus", "vintage": "2025-05-27"},
                           {"source": "imf-dots", "vintage": "2022-02-02"},
                           {"source": "oecd-dac2a", "vintage": "2099-01-01"},
                           {"source": "estat-trade", "vintage": "2026-01-01"}]},  # no snapshot of it any more
            {"run_id": "r2", "status": "unchanged", "duration_s": 1.0, "plan": {"mode": "unchanged"},
             "snapshots": [{"source": "fred-exjpus", "vintage": "2025-05-27"},
                           {"source": "imf-dots", "vintage": "2022-02-02"}]},
            {"run_id": "r3", "status": "failed", "duration_s": 6.6, "failed_source": "fred-exjpus",
             "snapshots": [{"source": "fred-exjpus", "vintage": "2026-11-20"},
                           {"source": "imf-dots", "vintage": "2022-02-02"}]})
    rows = {r.source: r for r in source_status(settings, today=TODAY)}
    fred = rows["fred-exjpus"]
    assert (fred.vintage, fred.age_days, fred.last_vintage, fred.last_status) == ("2026-11-20", 8, "2025-05-27",
                                                                                  "failed")
    assert fred.unpublished and fred.stale  # the readers' FRED data is 550 days old, whatever failed to replace it
    dots = rows["imf-dots"]
    assert dots.last_status == "failed (fred-exjpus)" and dots.quarantined == set_aside
    oecd = rows["oecd-dac2a"]
    assert oecd.published_gone and not oecd.unpublished
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    assert "newer vintage not built (published: 2025-05-27)" in result.output
    assert "published vintage 2099-01-01 gone: the next refresh builds 2022-01-18" in result.output
    assert ("published vintage 2026-01-01 not in the store or mirrors: the next refresh stops (`jlac refresh --drop "
            "estat-trade` builds without it)") in result.output
    assert "44 rows quarantined" in result.output
    assert rows["fred-exjpus"].future is False
    assert [r.future for r in source_status(settings, today=date(2026, 11, 19))
            if r.source == "fred-exjpus"] == [True]  # 2026-11-20 is tomorrow then


def test_a_ledger_write_that_fails_midway_leaves_no_torn_line_and_names_the_file(tmp_path):
    """A disk that fills while the run's line is written (here: a file-size limit, a real short write then EFBIG,
    in a child process): the part written is taken back, the error names the ledger, and later runs read it whole."""
    import subprocess
    import sys

    path = tmp_path / "runs.jsonl"
    ledger.append(path, ledger.RunRecord(run_id="a"))
    size = path.stat().st_size
    child = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from jlac import ledger\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({size + 40}, resource.RLIM_INFINITY))\n"
        "try:\n"
        f"    ledger.append(Path({str(path)!r}), ledger.RunRecord(run_id='b', error='x' * 500))\n"
        "except OSError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "cannot add run b to the run ledger" in done.stdout and str(path) in done.stdout
    assert path.stat().st_size == size  # nothing of run b's line left behind
    ledger.append(path, ledger.RunRecord(run_id="c"))
    assert [r["run_id"] for r in read_ledger(path)] == ["a", "c"]


def test_a_ledger_line_with_a_time_no_reader_takes_is_skipped_and_named(settings, caplog):
    """`"started": "2026"` in runs.jsonl (or `"at": "yesterday"` in fetches.jsonl) was read as a run, then failed
    every later refresh after its whole build, at meta.runs' TIMESTAMPTZ, naming neither the file nor the line."""
    import duckdb
    from jlac.meta import write_meta

    good = {"run_id": "r1", "status": "completed", "started": "2026-12-01T05:11:17.123+00:00",
            "ended": "2026-12-01T05:12:00.000+00:00"}
    _ledger(settings, good, {"run_id": "x4", "status": "completed", "started": "2026"},
            {"run_id": "x5", "status": "failed", "started": "2026-12-01T05:11:17+00:00", "ended": "2026-02-30"},
            {"run_id": "x6", "status": "failed", "started": 20261201})
    settings.fetch_ledger.write_text(
        '{"at": "yesterday", "source": "fred-exjpus", "status": "failed", "message": "x"}\n'
        '{"at": "2026-12-01T05:11:17+00:00", "source": "fred-exjpus", "status": "new", "vintage": "2026-12-01"}\n')
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        assert [r["run_id"] for r in read_ledger(settings.run_ledger)] == ["r1"]
        assert [f["status"] for f in ledger.read_fetches(settings.fetch_ledger)] == ["new"]
    assert f"{settings.run_ledger}: line 2 (run x4) has started='2026' (not an ISO 8601 time" in caplog.text
    assert "line 3 (run x5) has ended='2026-02-30'" in caplog.text and "line 4 (run x6) has started=20261201" in \
        caplog.text
    assert f"{settings.fetch_ledger}: line 1 is not a fetch record (at='yesterday', not an ISO 8601 time" in \
        caplog.text
    with duckdb.connect(str(settings.home / "m.duckdb")) as con:
        con.execute("CREATE SCHEMA meta")
        write_meta(con, settings, ledger.RunRecord(run_id="r2"), [], {})
        assert [r for (r,) in con.execute("SELECT run_id FROM meta.runs ORDER BY run_id").fetchall()] == ["r1", "r2"]
        assert con.execute("SELECT count(*) FROM meta.fetches").fetchone() == (1,)


def test_status_takes_odd_snapshot_and_hook_values_without_a_traceback(settings, caplog):
    """A vintage that is no text in the last completed run (TypeError in vintage_age) and a revisions hook's count
    that is no number (ValueError in _removed) stopped `jlac status` with a traceback."""
    from jlac.ops.status import _removed

    fine = {"run_id": "r1", "status": "completed",
            "snapshots": [{"source": "fred-exjpus", "vintage": "2025-05-27", "fingerprint": "x"}]}
    odd_hook = {"run_id": "r3", "status": "completed",
                "snapshots": [{"source": "fred-exjpus", "vintage": "2025-05-27", "fingerprint": "x"}],
                "hooks": [{"hook": "revisions", "status": "ok", "details": {"removed": {"fred-exjpus": "many"}}}]}
    _ledger(settings, fine, {"run_id": "r2", "status": "completed", "snapshots": [{"source": "fred-exjpus",
                                                                                   "vintage": 42}]}, odd_hook)
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        rows = {r.source: r for r in source_status(settings, today=TODAY)}
    assert "line 2 (run r2) has snapshots item {'source': 'fred-exjpus', 'vintage': 42} (vintage is no text)" in \
        caplog.text
    fred = rows["fred-exjpus"]
    assert (fred.last_run_id, fred.last_vintage, fred.published_age_days, fred.removed) == ("r3", "2025-05-27", 550,
                                                                                           None)
    assert vintage_age(42, TODAY) is None and vintage_age(None, TODAY) is None
    assert _removed("fred-exjpus", [{"run_id": "r", "status": "completed", "hooks": [
        "x", {"hook": "revisions", "details": "x"}, {"hook": "revisions", "details": {"removed": [1]}}]}]) is None
    for args in (["status"], ["status", "--json"]):
        result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
        assert result.exit_code == 3 and result.exception is not None and isinstance(result.exception, SystemExit), \
            result.output


def test_cli_status_warns_once_about_a_bad_ledger_line(settings, caplog):
    """`jlac status` read the run ledger for the table, the last run and the pending hooks: three warnings a line."""
    _ledger(settings, {"run_id": "r1", "status": "completed", "hooks": []}, {"run_id": "x4", "status": 3})
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    assert result.exit_code == 3, result.output
    assert "after-publish hooks not done for the published run r1" in result.output  # the other parts still read it
    assert [r.getMessage() for r in caplog.records].count(
        f"{settings.run_ledger}: line 2 (run x4) has status=3, not what a run record holds there: skipped") == 1


TOP30 = "mof-trade-by-country-top30"


def test_every_source_whose_own_checks_failed_is_shown_failed_and_alerted(settings, caplog):
    """A refresh failed validation in two sources (a bad top30 vintage and a bad OECD DAC2a one): the ledger kept one
    failed_source, so `jlac status` showed oecd-dac2a as `failed (mof-trade-by-country-top30)`, failed because of
    another source, and the alert named the top30 suite only (found by a QA pass)."""
    from jlac.ops.alerts import build_payload

    suites = [f"{TOP30}: all rows", "oecd-dac2a: all rows"]
    used = [{"source": s, "vintage": v} for s, v in ((TOP30, "2026-10-31"), ("oecd-dac2a", "2022-01-18"),
                                                     ("imf-dots", "2022-02-02"))]
    failed = {"run_id": "r2", "status": "failed", "duration_s": 9.0, "snapshots": used, "error": "validation failed",
              "failed_source": TOP30, "failed_suite": suites[0], "failed_sources": [TOP30, "oecd-dac2a"],
              "failed_suites": suites, "report_path": "/w/reports/r2/validation.md"}
    _ledger(settings, {"run_id": "r1", "status": "completed", "snapshots": used}, failed,
            {"run_id": "r3", "status": "failed", "failed_sources": [7]}, {"run_id": "r4", "dropped": "imf-dots"})
    with caplog.at_level("WARNING", logger="jlac.ledger"):
        rows = {r.source: r for r in source_status(settings, today=TODAY)}
    assert (rows[TOP30].last_run_id, rows[TOP30].last_status) == ("r2", "failed")
    assert (rows["oecd-dac2a"].last_run_id, rows["oecd-dac2a"].last_status) == ("r2", "failed")
    assert rows["imf-dots"].last_status == f"failed ({TOP30}, oecd-dac2a)"  # failed by the others
    # the new list fields are checked as the others: an item that is no name, a list that is none, skip the line
    assert "line 3 (run r3) has failed_sources item 7" in caplog.text
    assert "line 4 (run r4) has dropped='imf-dots'" in caplog.text
    text = build_payload(flow_run_id="f", flow_run_name="n", state="Failed", message="m", run=failed)
    assert text["text"].splitlines()[0] == (f"jlac refresh n (f) failed: suites {suites[0]}; {suites[1]} "
                                            f"(sources {TOP30}, oecd-dac2a)")
    assert (text["failed_sources"], text["failed_suites"]) == ([TOP30, "oecd-dac2a"], suites)
    # a line of an older run (failed_source only) reads as before
    old = {k: v for k, v in failed.items() if k not in ("failed_sources", "failed_suites")}
    _ledger(settings, old)
    rows = {r.source: r for r in source_status(settings, today=TODAY)}
    assert (rows[TOP30].last_status, rows["imf-dots"].last_status) == ("failed", f"failed ({TOP30})")
    assert build_payload(flow_run_id="f", flow_run_name="n", state="Failed", message="m", run=old)["text"].startswith(
        f"jlac refresh n (f) failed: suite {suites[0]}\n")


def test_a_failed_validation_records_every_failed_source_and_suite(tmp_path):
    """The run record names all the suites that failed, and its ledger line reads back."""
    from jlac import pipeline
    from jlac.errors import ValidationFailed
    from jlac.validation import ExpectationOutcome, SuiteResult

    bad = [ExpectationOutcome("expect_column_values_to_be_between", {"column": "value"}, False, "-5.0 in row 3")]
    results = [SuiteResult(f"{TOP30}: all rows", TOP30, f"{TOP30}/2026-10-31", False, bad),
               SuiteResult(f"{TOP30}: totals", TOP30, f"{TOP30}/2026-10-31", False, bad),
               SuiteResult("imf-dots: all rows", "imf-dots", "imf-dots/2022-02-02", True, []),
               SuiteResult("oecd-dac2a: all rows", "oecd-dac2a", "oecd-dac2a/2022-01-18", False, bad)]
    record = ledger.RunRecord(run_id="r1")
    with pytest.raises(ValidationFailed):
        pipeline._fail_on_validation(results, tmp_path / "validation.md", record)
    assert (record.failed_source, record.failed_suite) == (TOP30, f"{TOP30}: all rows")
    assert record.failed_sources == [TOP30, "oecd-dac2a"]
    assert record.failed_suites == [f"{TOP30}: all rows", f"{TOP30}: totals", "oecd-dac2a: all rows"]
    record.finish("failed", "validation failed")
    ledger.append(tmp_path / "runs.jsonl", record)
    [line] = read_ledger(tmp_path / "runs.jsonl")
    assert (line["failed_sources"], line["dropped"]) == ([TOP30, "oecd-dac2a"], [])


def test_status_shows_a_source_dropped_by_a_run_as_dropped_not_as_never_built(settings):
    """After `jlac refresh --drop estat-trade` (its snapshots gone, so a plain refresh refused), status showed the
    refused run, `failed`, and the generic `no snapshot` of a source never built: nothing said it was dropped or that
    its published data was removed (found by a QA pass)."""
    others = [{"source": "fred-exjpus", "vintage": "2025-05-27"}, {"source": "imf-dots", "vintage": "2022-02-02"}]
    held = {"run_id": "r1", "status": "completed", "duration_s": 40.0,
            "snapshots": [*others, {"source": "estat-trade", "vintage": "2026-01-01"}]}
    refused = {"run_id": "r2", "status": "failed", "duration_s": 1.0, "snapshots": others,
               "failed_source": "estat-trade", "error": "no snapshot found of estat-trade"}
    dropped = {"run_id": "r3", "status": "completed", "duration_s": 12.0, "snapshots": others,
               "dropped": ["estat-trade"], "plan": {"mode": "incremental", "changed": ["estat-trade"]}}
    later = {"run_id": "r4", "status": "unchanged", "duration_s": 1.0, "snapshots": others}
    _ledger(settings, held, refused, dropped, later)
    rows = {r.source: r for r in source_status(settings, today=TODAY)}
    estat = rows["estat-trade"]
    assert (estat.last_run_id, estat.last_status, estat.dropped, estat.last_vintage) == ("r3", "dropped", "r3", None)
    assert rows["fred-exjpus"].dropped is None and rows["fred-exjpus"].last_status == "unchanged"
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    [line] = [x for x in result.output.splitlines() if "estat-trade" in x]
    assert "dropped by run r3 (--drop): its data removed from the published warehouse" in line, result.output
    assert "no snapshot" not in line
    assert {r["source"]: r for r in json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)}[
        "estat-trade"]["dropped"] == "r3"
    # a drop run that failed removed nothing: the warehouse still holds the source's vintage
    _ledger(settings, held, refused, {**dropped, "status": "failed", "failed_source": "imf-dots"})
    estat = {r.source: r for r in source_status(settings, today=TODAY)}["estat-trade"]
    assert (estat.last_run_id, estat.last_status, estat.dropped, estat.last_vintage) == (
        "r3", "failed (imf-dots)", None, "2026-01-01")



@pytest.mark.parametrize("damage", ["truncated", "not a DuckDB file"])
def test_status_says_when_the_published_warehouse_cannot_be_read(settings, damage):
    """A truncated published file (a copy cut short, a full disk) made every reading command fail while `jlac status`
    showed the usual table and exit 3 (found by a QA pass): it says so, exit 1."""
    import duckdb

    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(300000)")
    if damage == "truncated":
        with open(settings.warehouse, "r+b") as fh:
            fh.truncate(settings.warehouse.stat().st_size // 2)
    else:
        settings.warehouse.write_bytes(b"this is no DuckDB file\n" * 1000)
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert f"the published warehouse {settings.warehouse} cannot be read (" in result.output
    assert "the next `jlac refresh` builds and publishes a new one" in result.output


def test_status_of_a_readable_warehouse_says_nothing_of_it(settings):
    import duckdb

    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    assert "cannot be read" not in result.output and result.exit_code in (0, 3), result.output


def test_status_at_80_columns_breaks_no_value_across_lines(settings):
    """At 80 columns rich wrapped every cell mid-word: "unchang/ed", run ids and dates split over lines (found by a
    QA pass). Now each value is whole on its line; the run id and duration columns, left out to fit, are said so."""
    run_id = "20261206T005502538-28588"
    _ledger(settings, {"run_id": run_id, "status": "unchanged", "duration_s": 0.7,
                       "snapshots": [{"source": "aiddata-v2-donor-recipient-year", "vintage": "2012-05-04"},
                                     {"source": "fred-exjpus", "vintage": "2025-05-27"}]})
    # a flag with a long word: a fetch's timestamp was folded in a 10-wide flag column (found by a QA pass)
    from jlac.connectors import FetchResult, record_fetches

    record_fetches(settings, [FetchResult("fred-exjpus", "failed", None, 1, 0, "GET ...: 503 Service Unavailable")])
    rows = {r.source: r for r in source_status(settings)}
    from datetime import datetime

    stamp = datetime.fromisoformat(rows["fred-exjpus"].fetch_failed[0]).strftime("%Y-%m-%d %H:%M UTC")
    terminal = {"COLUMNS": "80", "TTY_COMPATIBLE": "1"}  # as in a terminal of 80 columns
    result = CliRunner().invoke(app, ["status"], env=terminal)
    assert result.exit_code == 3, result.output  # fred-exjpus is stale
    lines = result.output.splitlines()
    table = lines[:next(i for i, line in enumerate(lines) if "left out to fit" in line)]
    assert max(len(line) for line in table) <= 80, result.output  # (the lines below it wrap as text)
    assert all(word in result.output for word in stamp.split()), result.output  # each word of it whole
    assert all(src in result.output for src in rows), result.output  # no source name broken
    for source in ("aiddata-v2-donor-recipient-year", "fred-exjpus", "comtrade-classic-hs27-hs44"):
        [line] = [x for x in lines if x.startswith(source + " ")]
        r = rows[source]
        words = [r.rhythm.rhythm, r.vintage or "-", r.last_status or "never run"]
        words += [f"{r.age_days}d"] if r.age_days is not None else []
        assert all(f" {w} " in f" {line} " for w in words), (words, result.output)
    assert "duration, last run: left out to fit 80 columns; a wider terminal or `jlac status --json` shows them" in (
        " ".join(result.output.split()))
    for env in ({"COLUMNS": "200", "TTY_COMPATIBLE": "1"}, {"COLUMNS": "60"}):  # wide, or piped: every column
        wide = CliRunner().invoke(app, ["status"], env=env).output
        [line] = [x for x in wide.splitlines() if x.startswith("fred-exjpus ")]
        assert f" {run_id} unchanged 0.7s " in " ".join(line.split()) and "left out" not in wide, (env, wide)


def test_status_says_a_stopped_serving_cluster_is_not_running_not_unreadable(settings):
    """A local cluster that is simply not running read "unreadable - start `jlac serve-sql` ..." (found by a QA pass):
    "unreadable" is kept for a copy jlac failed to read."""
    data = settings.home / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    (settings.home / "postgres" / "owner.secret").write_text("x\n")
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    assert (f"serving copy (local cluster {data} not running): start `jlac serve-sql` to serve and catch up"
            in result.output), result.output
    assert "unreadable" not in result.output


def test_status_names_a_published_run_the_ledger_does_not_list(settings):
    """A run killed after its swap, or whose ledger line could not be written, left status describing the warehouse
    before it ("last run ...: crashed in Nones", a newer vintage flagged as not built) with no word of the published
    run (found by a QA pass)."""
    import duckdb

    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA meta; CREATE TABLE meta.runs (run_id VARCHAR, status VARCHAR, started TIMESTAMP)")
        con.execute("INSERT INTO meta.runs VALUES ('20261206T010000000-1', 'completed', '2026-12-06 01:00:00')")
    _ledger(settings, {"run_id": "20261205T010000000-1", "status": "crashed", "duration_s": None,
                       "started": "2026-12-05T01:00:00.000+00:00"})
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"})
    said = " ".join(result.output.split())
    assert "last run 20261205T010000000-1: crashed (ended" in said and "Nones" not in said, result.output
    assert (f"the published warehouse holds run 20261206T010000000-1 (meta.runs), which {settings.run_ledger} does not "
            "list") in said, result.output
    # the same while a refresh holds the lock: it has published and runs its after-publish hooks (a QA pass saw
    # status flag the vintage just published as not built, with no word)
    from jlac import warehouse

    with warehouse.refresh_lock(settings):
        said = " ".join(CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"}).output.split())
    assert (f"run 20261206T010000000-1 has published and is finishing (its after-publish hooks); until it is recorded "
            f"in {settings.run_ledger}, the table above names the vintages and flags of the run before it") in said
    assert "does not list" not in said
    _ledger(settings, {"run_id": "20261206T010000000-1", "status": "completed", "duration_s": 1.0})
    assert "does not list" not in CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"}).output


def test_status_names_a_running_refresh_and_one_killed_during_its_build(tmp_path):
    """Status showed only the ledger's last run: a refresh holding the lock for minutes, or one killed during its
    build (recorded only by the next refresh), had no word (found by a QA pass)."""
    import os

    from jlac import warehouse
    from jlac.ops.status import unrecorded_runs

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "wh" / "snapshots",
                        mirrors=(), output=tmp_path / "wh" / "output")
    assert unrecorded_runs(settings) == ([], [])
    with warehouse.refresh_lock(settings):
        warehouse.mark_running(settings, "20261207T010000000-1", "flow-run-1")
        assert unrecorded_runs(settings) == (["20261207T010000000-1"], [])
        assert warehouse.marked_runs(settings)["20261207T010000000-1"] == {"pid": os.getpid(),
                                                                           "flow_run_id": "flow-run-1"}
    # the lock let go and the mark left behind: killed
    assert unrecorded_runs(settings) == ([], ["20261207T010000000-1"])
    (settings.build_dir / "20261207T020000000-2.running").write_text('{"pid": 1', encoding="utf-8")  # cut short
    (settings.build_dir / "notarun.running").write_text("[1, 2]", encoding="utf-8")  # no run's: not named
    with warehouse.refresh_lock(settings):  # another run holds the lock; a mark whose process is gone is no runner
        (settings.build_dir / "20261207T010000000-1.running").write_text('{"pid": 999999999}', encoding="utf-8")
        assert unrecorded_runs(settings) == (["20261207T020000000-2"], ["20261207T010000000-1"])


def test_what_a_failed_fetch_built_instead_says_whether_there_was_a_vintage():
    """"built from its last good vintage" was said of sources never fetched before (found by a QA pass)."""
    snapshots = [{"source": "imf-imts", "vintage": "2026-11-30"}]
    assert ledger.built_instead("imf-imts", snapshots) == "built from its last good vintage 2026-11-30"
    assert ledger.built_instead("comtrade-v1", snapshots) == "it has no earlier vintage: built without it"
    assert ledger.built_instead("comtrade-v1", None) == "it has no earlier vintage: built without it"
