"""`jlac health`: one verdict for a monitor, every state a problem with a stable code, a monitoring plugin's exit
status (found by a QA pass: a running, killed or failed refresh, a serving copy down or behind and hooks not done
were prose below `jlac status`; no published warehouse exited 0)."""

from __future__ import annotations

import json

import duckdb
import pytest
from conftest import MIRROR
from jlac import warehouse
from jlac.cli import app
from jlac.config import get_settings
from jlac.ops import health, status
from jlac.publish_hooks import all_hooks
from typer.testing import CliRunner

RUN = "20261206T010000000-1"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_MIRROR", str(MIRROR))
    for name in ("JLAC_POSTGRES_URL", "JLAC_SNAPSHOTS"):
        monkeypatch.delenv(name, raising=False)
    # no source is stale by its rhythm (the mirror's vintages are months old): each test sets the state it checks
    monkeypatch.setattr(status, "load_rhythms", lambda: {})
    settings = get_settings()
    settings.home.mkdir(parents=True)
    return settings


def _publish(settings, run_id=RUN, *, hooks_done=True, **run):
    """A published warehouse whose meta.runs names ``run_id``, and the ledger line of that run."""
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA meta; CREATE TABLE meta.runs (run_id VARCHAR, status VARCHAR, seq INTEGER)")
        con.execute("INSERT INTO meta.runs VALUES (?, 'completed', 1)", [run_id])
    hooks = [{"hook": h.name, "status": "ok"} for h in all_hooks() if h.after is not None] if hooks_done else []
    _ledger(settings, {"run_id": run_id, "status": "completed", "duration_s": 12.5, "hooks": hooks,
                       "started": "2026-12-06T01:00:00.000+00:00", "ended": "2026-12-06T01:00:12.500+00:00",
                       "snapshots": [{"source": "fred-exjpus", "vintage": "2025-05-27", "fingerprint": "x"}], **run})


def _ledger(settings, *runs):
    settings.run_ledger.write_text("".join(json.dumps(r) + "\n" for r in runs), encoding="utf-8")


def _codes(settings):
    return sorted((p.code, p.source or p.run_id or "") for p in health.check(settings).problems)


def _cli(*args):
    result = CliRunner().invoke(app, ["health", *args])
    return result.exit_code, result.stdout


def test_a_healthy_installation_is_ok(settings):
    _publish(settings)
    result = health.check(settings)
    assert result.problems == [] and result.exit_code == health.OK
    assert result.warehouse["published_run"] == RUN and result.warehouse["readable"] is True
    assert result.last_run["status"] == "completed" and result.last_run["failed_sources"] == []
    code, out = _cli("--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "ok" and data["exit_code"] == 0 and data["problems"] == []
    assert {r["source"] for r in data["sources"]} >= {"fred-exjpus", "imf-dots"}
    code, out = _cli()
    assert code == 0 and out.startswith(f"JLAC OK: published run {RUN}, every source fresh")


def test_no_published_warehouse_is_critical_and_status_calls_every_source_stale(settings):
    """A mistyped JLAC_WAREHOUSE: `jlac status` exited 0 when the newest vintages were fresh (every reader fails)."""
    assert _codes(settings) == [("no_warehouse", "")]  # one problem, not one per source
    code, out = _cli("--json")
    assert code == 2 and json.loads(out)["problems"][0]["severity"] == "critical"
    rows = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    assert rows and all(r["stale"] and r["no_warehouse"] for r in rows)
    assert CliRunner().invoke(app, ["status", "--json"]).exit_code == 3


def test_an_unreadable_warehouse_is_critical(settings):
    _publish(settings)
    settings.warehouse.write_bytes(b"not a database" * 100)
    problems = health.check(settings).problems
    assert [p.code for p in problems] == ["warehouse_unreadable"]
    assert f"the published warehouse {settings.warehouse} cannot be read" in problems[0].message
    code, out = _cli()
    assert code == 2 and out.startswith("JLAC CRITICAL: the published warehouse")


def test_a_failed_refresh_names_its_sources_and_status_json_gives_the_plain_status(settings):
    _publish(settings)
    runs = status.read_ledger(settings.run_ledger)
    _ledger(settings, *runs, {"run_id": "20261207T010000000-2", "status": "failed", "failed_sources": ["fred-exjpus"],
                              "snapshots": [{"source": "imf-dots", "vintage": "2022-02-02", "fingerprint": "y"}]})
    assert _codes(settings) == [("last_run_failed", "20261207T010000000-2")]
    assert "the last refresh 20261207T010000000-2 failed on fred-exjpus" in health.check(settings).problems[0].message
    assert _cli()[0] == 1
    rows = {r["source"]: r for r in json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)}
    # "failed (fred-exjpus)" in the table; in JSON the status a monitor compares, and the sources apart
    assert (rows["imf-dots"]["last_status"], rows["imf-dots"]["failed_sources"]) == ("failed", ["fred-exjpus"])
    assert (rows["fred-exjpus"]["last_status"], rows["fred-exjpus"]["failed_sources"]) == ("failed", ["fred-exjpus"])
    [dots] = [r for r in status.source_status(settings) if r.source == "imf-dots"]
    assert dots.last_status == "failed (fred-exjpus)"
    # a later refresh skipped at the lock (a manual run held it) says nothing of the warehouse: the failure stays
    _ledger(settings, *status.read_ledger(settings.run_ledger),
            {"run_id": "20261207T020000000-3", "status": "skipped", "duration_s": 0.1})
    assert _codes(settings) == [("last_run_failed", "20261207T010000000-2")]
    assert health.check(settings).last_run["run_id"] == "20261207T010000000-2"
    out = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200"}).stdout
    assert "last run 20261207T010000000-2: failed" in out and "1 later refresh was skipped" in out


def test_running_killed_and_unrecorded_runs(settings):
    _publish(settings)
    with warehouse.refresh_lock(settings):
        warehouse.mark_running(settings, "20261207T010000000-2")
        result = health.check(settings)
        assert result.running == ["20261207T010000000-2"] and result.problems == []  # running is no problem
    # the lock let go and the mark left: killed during its build
    assert _codes(settings) == [("run_stopped", "20261207T010000000-2")]
    (settings.build_dir / "20261207T010000000-2.running").unlink()
    # published, but its ledger line never written (killed after the swap)
    _ledger(settings, {"run_id": "20261205T010000000-0", "status": "completed", "duration_s": 1.0,
                       "hooks": [{"hook": h.name, "status": "ok"} for h in all_hooks() if h.after is not None]})
    assert ("publish_unrecorded", RUN) in _codes(settings)
    assert health.check(settings).warehouse["published_run"] == RUN


def test_stale_sources_failed_fetches_and_pending_hooks_are_warnings(settings, monkeypatch):
    _publish(settings, hooks_done=False)
    monkeypatch.setattr(status, "load_rhythms", lambda: {"fred-exjpus": status.Rhythm("monthly", 45)})
    settings.fetch_ledger.write_text(json.dumps({"at": "2026-12-07T01:00:00+00:00", "source": "imf-imts",
                                                 "status": "failed", "message": "imf-imts: GET ...: 503"}) + "\n",
                                     encoding="utf-8")
    codes = _codes(settings)
    assert ("stale", "fred-exjpus") in codes and ("fetch_failed", "imf-imts") in codes
    assert ("hooks_pending", RUN) in codes
    result = health.check(settings)
    assert result.exit_code == 1 and {h["hook"] for h in result.pending_hooks} >= {"postgres", "site"}
    [fetch] = [p for p in result.problems if p.code == "fetch_failed"]
    assert fetch.message == "the last fetch of imf-imts failed at 2026-12-07T01:00:00+00:00: GET ...: 503"
    rows = {r["source"]: r for r in json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)}
    # named fields, not a positional pair
    assert rows["imf-imts"]["fetch_failed"] == {"at": "2026-12-07T01:00:00+00:00", "message": "GET ...: 503"}
    assert rows["fred-exjpus"]["fetch_failed"] is None and rows["fred-exjpus"]["removed"] is None


def test_a_stopped_serving_cluster_is_critical(settings):
    _publish(settings)
    data = settings.home / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    (settings.home / "postgres" / "owner.secret").write_text("x\n")
    result = health.check(settings)
    assert [p.code for p in result.problems] == ["serving_stopped"] and result.exit_code == 2
    assert result.serving["current"] is False and result.serving["published"] == RUN


def test_a_check_that_cannot_run_is_unknown(settings, monkeypatch):
    def broken(_settings):
        raise RuntimeError("the ledger could not be read")

    _publish(settings)
    verdict = json.loads(_cli("--json")[1])
    monkeypatch.setattr(health, "check", broken)
    code, out = _cli()
    assert code == 3 and out == "JLAC UNKNOWN: the check could not run: RuntimeError: the ledger could not be read\n"
    code, out = _cli("--json")
    data = json.loads(out)
    # the verdict's keys, empty, and why (it had another shape: QA pass)
    assert code == 3 and data["status"] == "unknown" and set(data) == set(verdict)
    assert data["error"] == "RuntimeError: the ledger could not be read" and verdict["error"] is None


def test_a_bad_setting_or_a_typo_in_the_check_is_unknown_and_the_check_writes_nothing(settings, monkeypatch, tmp_path):
    """A setting jlac cannot use exited 1 (WARNING to a monitor) with no JSON, a mistyped option 2 (CRITICAL), and the
    check made a Prefect folder beside a mistyped warehouse (found by a QA pass)."""
    monkeypatch.setenv("JLAC_QUARANTINE_MAX_SHARE", "abc")
    code, out = _cli("--json")
    assert code == 3 and json.loads(out)["error"].startswith("SettingError: JLAC_QUARANTINE_MAX_SHARE='abc'")
    monkeypatch.delenv("JLAC_QUARANTINE_MAX_SHARE")
    assert CliRunner().invoke(app, ["health", "--jsn"]).exit_code == 3
    nowhere = tmp_path / "no" / "such" / "jlac.duckdb"
    monkeypatch.setenv("JLAC_WAREHOUSE", str(nowhere))
    assert _cli()[0] == 2 and not (tmp_path / "no").exists()


def test_a_folder_named_as_the_warehouse_is_said_as_such(settings, monkeypatch, tmp_path):
    """status and health said "the next refresh publishes a new one", which refuses the setting (found by a QA
    pass)."""
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path))
    result = health.check(get_settings())
    assert [p.code for p in result.problems] == ["no_warehouse"]  # not one stale source each either
    assert result.problems[0].message.startswith(f"JLAC_WAREHOUSE={tmp_path} names a folder, not the warehouse's "
                                                 "DuckDB file")
    said = CliRunner().invoke(app, ["status"])
    assert said.exit_code == 1 and f"JLAC_WAREHOUSE={tmp_path} names a folder" in " ".join(said.stderr.split())
    assert "publishes a new one" not in said.stderr


def test_a_published_vintage_gone_from_the_store_is_a_warning(settings):
    """`jlac status` flagged it, `jlac health` did not (found by a QA pass): the next refresh builds older data."""
    _publish(settings, snapshots=[{"source": "fred-exjpus", "vintage": "2026-01-01", "fingerprint": "x"}])
    [problem] = health.check(settings).problems
    assert (problem.code, problem.source) == ("vintage_gone", "fred-exjpus")
    assert problem.message == ("published vintage 2026-01-01 of fred-exjpus is no longer in the store or mirrors: the "
                               "next refresh builds the older 2025-05-27")


def test_hooks_pending_name_the_run_the_warehouse_holds(settings):
    """Killed after its swap, a run's hooks never ran; the hooks of the run before it were named as pending for "the
    published run" (found by a QA pass)."""
    _publish(settings, run_id="20261207T020000000-2")  # meta.runs holds run -2 ...
    _ledger(settings, {"run_id": RUN, "status": "completed", "duration_s": 1.0,  # ... the ledger only run -1
                       "hooks": [{"hook": "postgres", "status": "failed", "message": "down"}]})
    result = health.check(settings)
    assert ("publish_unrecorded", "20261207T020000000-2") in [(p.code, p.run_id) for p in result.problems]
    assert {h["run_id"] for h in result.pending_hooks} == {"20261207T020000000-2"}
    assert result.warehouse["published_run"] == "20261207T020000000-2"
    said = " ".join(CliRunner().invoke(app, ["status"], env={"COLUMNS": "300"}).output.split())
    assert "after-publish hooks not done for the published run 20261207T020000000-2" in said, said
    assert f"not done for the published run {RUN}" not in said


def test_every_problem_code_has_a_severity_and_is_documented():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    for code in health.CODES:
        assert f"`{code}`" in docs, code
