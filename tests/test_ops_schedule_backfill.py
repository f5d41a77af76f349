"""Schedule file, its agreement with deploy/prefect.yaml, and the backfill's change detection."""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml
from jlac.config import PROJECT_ROOT
from jlac.ops.backfill import backfill, check_range, range_fingerprint
from jlac.ops.schedule import load_schedule


def test_the_served_schedule_and_the_deployment_share_one_cron():
    schedule = load_schedule()
    deployment = yaml.safe_load((PROJECT_ROOT / "deploy" / "prefect.yaml").read_text())["deployments"][0]
    assert (schedule.cron, schedule.timezone) == (deployment["schedules"][0]["cron"],
                                                  deployment["schedules"][0]["timezone"])
    assert schedule.parameters == deployment["parameters"] == {"fetch": True}
    assert deployment["entrypoint"] == "flows/jlac/pipeline.py:refresh"
    assert (PROJECT_ROOT / deployment["entrypoint"].split(":")[0]).exists()
    # two names: of one name, `jlac serve`'s deployment replaced the work pool's and left it paused when serve stopped
    # (found by a QA pass)
    assert schedule.name == "jlac-refresh-served" and deployment["name"] == "jlac-refresh"


def test_a_bad_schedule_file_names_the_problem(tmp_path):
    path = tmp_path / "schedule.yml"
    path.write_text("name: x\n")
    with pytest.raises(ValueError, match="schedule.yml: missing cron"):
        load_schedule(path)
    path.write_text("name: x\ncron: '61 * * * *'\n")
    with pytest.raises(ValueError):
        load_schedule(path)


def test_backfill_range_is_checked():
    with pytest.raises(ValueError, match="--from must not be after --to"):
        check_range(2019, 2010)
    check_range(2010, 2019)


def _build(path, values):
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA figures")
    con.execute("CREATE TABLE marts.fct_trade (year INTEGER, iso3 VARCHAR, usd DOUBLE)")
    con.executemany("INSERT INTO marts.fct_trade VALUES (?, ?, ?)", values)
    con.execute("CREATE TABLE marts.dim_country AS SELECT 'BRA' AS iso3")  # no year: not compared
    con.close()


def test_range_fingerprint_sees_changes_inside_the_range_only(tmp_path):
    path = tmp_path / "w.duckdb"
    base = [(2009, "BRA", 1.0), (2010, "BRA", 2.0), (2015, "MEX", 3.0)]
    _build(path, base)
    first = range_fingerprint(path, 2010, 2015)
    assert set(first) == {"marts.fct_trade"} and first["marts.fct_trade"][0] == 2
    _build(path, [(2009, "BRA", 99.0), *base[1:]])  # a revision outside the range
    assert range_fingerprint(path, 2010, 2015) == first
    _build(path, [*base[:2], (2015, "MEX", 3.5)])  # a revision inside it
    assert range_fingerprint(path, 2010, 2015) != first


def _claims(path, revised: dict[str, float] | None = None):
    """figures.report_claims with the report's claims and their periods as the seed gives them (free text: "2014-2018",
    "2017 (JICA FY2017?)", "c.2016-2017"), jlac's value 1.0 but where ``revised``; Table 1's policy rows (a seed only,
    a year_announced column) beside it."""
    import csv
    from pathlib import Path

    import jlac

    with open(Path(jlac.__file__).parent / "data" / "seed_report_claims.csv", encoding="utf-8", newline="") as f:
        claims = [(r["claim_id"], r["ref_period"], (revised or {}).get(r["claim_id"], 1.0)) for r in csv.DictReader(f)]
    if path.exists():
        path.unlink()
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA figures")
        con.execute("CREATE TABLE figures.report_claims (claim_id VARCHAR, ref_period VARCHAR, jlac_value DOUBLE)")
        con.executemany("INSERT INTO figures.report_claims VALUES (?, ?, ?)", claims)
        con.execute("CREATE TABLE figures.table1_japan_lac_policy AS SELECT 2014 AS year_announced, 'x' AS policy")
    return claims


def test_range_fingerprint_compares_the_report_claims_by_the_years_their_period_names(tmp_path):
    """The backfill compared tables with a year column only: a revision of 2013-2017 that changed jlac's value for a
    claim of the report (C26, "2013-2017") was not said. A claim's row is in the range when the years its period
    names reach into it; the seed-only tables (Table 1's policy rows) are not compared: no fetch changes them."""
    path = tmp_path / "w.duckdb"
    claims = _claims(path)
    assert len(claims) == 27 and dict((c, p) for c, p, _ in claims)["C26"] == "2013-2017"
    first = range_fingerprint(path, 2014, 2018)
    # all but C14 (2005), C15 (2007), C16 (2012) and C27 (2013); C07 "c. 2018-19 ... 2014" and C08 "March 2019 ...
    # 2013 ... 2015" reach into it
    assert first["figures.report_claims"][0] == 23 and set(first) == {"figures.report_claims"}
    _claims(path, {"C14": 2.0, "C27": 2.0})  # claims of years outside the range
    assert range_fingerprint(path, 2014, 2018) == first
    _claims(path, {"C26": 2.0})
    assert range_fingerprint(path, 2014, 2018)["figures.report_claims"] != first["figures.report_claims"]
    assert range_fingerprint(path, 2013, 2013)["figures.report_claims"][0] == 3  # C08, C26, C27
    assert range_fingerprint(path, 1990, 2000)["figures.report_claims"] == (0, 0)


def test_range_fingerprint_reads_a_warehouse_in_a_folder_named_with_an_apostrophe(tmp_path):
    path = tmp_path / "it's [x] ü" / "w.duckdb"  # ATTACH '<path>' was a parser error (found by a QA pass)
    path.parent.mkdir()
    _build(path, [(2010, "BRA", 2.0)])
    assert range_fingerprint(path, 2010, 2015)["marts.fct_trade"][0] == 1


def test_backfill_twice_reports_no_change_the_second_time(tmp_path, monkeypatch):
    warehouse = tmp_path / "jlac.duckdb"
    monkeypatch.setenv("JLAC_WAREHOUSE", str(warehouse))
    releases = iter([[(2010, "BRA", 2.0)], [(2010, "BRA", 2.5)], [(2010, "BRA", 2.5)]])
    calls = []

    def fake_flow(**params):  # stands in for the refresh flow: rebuilds from the next "release"
        calls.append(params)
        _build(warehouse, next(releases))

    _build(warehouse, [(2010, "BRA", 2.0)])
    assert backfill(2010, 2012, run_flow=fake_flow).changed == {}
    changed = backfill(2010, 2012, ["fred-exjpus"], run_flow=fake_flow).changed
    assert list(changed) == ["marts.fct_trade"]
    assert backfill(2010, 2012, run_flow=fake_flow).changed == {}
    assert calls[1] == {"fetch": True, "offline": False, "sources": ["fred-exjpus"], "trigger": "backfill 2010-2012"}
    # --offline asks for no fetch at all: fetch=True with offline=True is a run warned of an ignored fetch
    backfill(2010, 2012, offline=True, run_flow=lambda **params: calls.append(params))
    assert calls[-1] == {"fetch": False, "offline": True, "sources": None, "trigger": "backfill 2010-2012"}


def test_a_backfill_of_a_source_without_a_live_connector_is_refused(tmp_path):
    """`jlac backfill --source imf-dots` fetched nothing (an INFO line said so) and reported "unchanged", exit 0, as
    if the publisher had been asked. Refused in one line, before Prefect starts; --offline still rebuilds it."""
    from jlac.cli import app
    from jlac.errors import JlacError
    from typer.testing import CliRunner

    warehouse = tmp_path / "wh" / "jlac.duckdb"
    result = CliRunner().invoke(app, ["backfill", "--from", "2010", "--to", "2018", "--source", "imf-dots"],
                                env={"JLAC_WAREHOUSE": str(warehouse), "COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert ("jlac: JlacError: backfill --source imf-dots: no live connector, so nothing to fetch (live sources: "
            in result.output and "fred-exjpus" in result.output and "add --offline" in result.output), result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not warehouse.parent.exists()  # no run recorded, no Prefect home
    with pytest.raises(JlacError, match="no live connector"):
        backfill(2010, 2018, ["imf-dots"], run_flow=lambda **params: pytest.fail("ran the flow"))


@pytest.mark.e2e  # a small-mirror refresh through the CLI
def test_a_backfill_whose_fetch_failed_exits_4_naming_it(tmp_path, monkeypatch, mirror, prefect_api_url, httpserver):
    """Every fetch failing (FRED answering 503) gave exit 0, "run ... unchanged", "no mart or figure row of
    2010-2018 changed": a backfill that asked no publisher looked like one that found nothing to revise. As
    `jlac refresh --fetch`: exit 4 (FETCH_FAILED), naming the source and why."""
    from conftest import JAPAN_WORKBOOK, small_mirror
    from jlac import pipeline
    from jlac.cli import FETCH_FAILED, app
    from typer.testing import CliRunner

    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data("down for maintenance", status=503)
    root = small_mirror(tmp_path / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    for name, value in {"JLAC_WAREHOUSE": tmp_path / "wh" / "jlac.duckdb", "JLAC_MIRROR": root,
                        "JLAC_SNAPSHOTS": tmp_path / "wh" / "snapshots", "JLAC_OUTPUT": tmp_path / "out",
                        "JLAC_FRED_URL": httpserver.url_for("/"), "JLAC_HTTP_RETRIES": 0,
                        "PREFECT_API_URL": prefect_api_url, "COLUMNS": 300}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(pipeline, "fetch_task", pipeline.fetch_task.with_options(retry_delay_seconds=0))
    result = CliRunner().invoke(app, ["backfill", "--from", "2010", "--to", "2018", "--source", "fred-exjpus"])
    assert result.exit_code == FETCH_FAILED, result.output
    said = " ".join(result.output.split())
    assert "jlac: fetch failed for fred-exjpus:" in said and "503" in said, said
    assert "2010-2018 built from its last good vintage" in said
    assert [r.path for r, _ in httpserver.log].count("/graph/fredgraph.csv") >= 1  # the publisher was asked


@pytest.mark.parametrize("text, expected", [
    ("- a\n- b\n", "schedule.yml: expected a mapping of name, cron, timezone and parameters, found a list"),
    ("just text\n", "schedule.yml: expected a mapping of name, cron, timezone and parameters, found a str"),
    ("name: x\ncron: '30 5 * * 1'\nparameters: [1, 2]\n", "schedule.yml: parameters is [1, 2], expected a mapping"),
    ("name: x\ncron: '30 5 * * 1'\ntimezone: Mars/Olympus\n", "schedule.yml: timezone 'Mars/Olympus' is no IANA"),
    ("name: x\ncron: '99 * * * *'\n", "schedule.yml: cron '99 * * * *' is no cron expression"),
    ("name: x\ncron: 5\n", "schedule.yml: cron is 5, expected text"),
    ("name: x\ncron: '30 5 * * 1'\nparameters: {fetch: maybe}\n",
     "schedule.yml: parameters: fetch: Input should be a valid boolean"),
    ("name: x\ncron: '30 5 * * 1'\nparameters: {bogus: 1}\n",
     "schedule.yml: parameters: bogus: not a parameter a schedule sets (the refresh flow takes fetch, offline, "
     "sources, pins, full, drop)"),
    # every problem at once, and jlac's own parameters are not a schedule's (found by a QA pass)
    ("name: x\ncron: '30 5 * * 1'\nparameters: {fetch: maybe, fetsh: true, trigger: x}\n",
     "schedule.yml: parameters: fetsh, trigger: not a parameter a schedule sets (the refresh flow takes fetch, "
     "offline, sources, pins, full, drop); fetch: Input should be a valid boolean"),
    ("name: x\ncron: [\n", "schedule.yml: not YAML"),
    (b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary", "schedule.yml: not UTF-8 text (invalid start byte at byte 0)"),
], ids=["list", "scalar", "parameters a list", "unknown time zone", "bad cron", "cron a number", "fetch maybe",
        "unknown parameter", "unknown and bad parameters", "not YAML", "binary"])
def test_jlac_serve_names_the_file_and_field_of_a_malformed_schedule(tmp_path, text, expected):
    """A YAML list or scalar (AttributeError), `parameters: [1, 2]` (TypeError) were tracebacks, and an unknown time
    zone passed load_schedule to fail with a pydantic traceback once served: one line each, naming file and field."""
    from jlac.cli import app
    from typer.testing import CliRunner

    path = tmp_path / "schedule.yml"
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)  # bytes: not UTF-8 (QA pass)
    with pytest.raises(ValueError, match="^" + re.escape(f"{tmp_path}/{expected}")) as caught:
        load_schedule(path)
    assert "\n" not in str(caught.value)
    result = CliRunner().invoke(app, ["serve", "--schedule", str(path)],
                                env={"PREFECT_API_URL": "http://127.0.0.1:1/api", "COLUMNS": "400"})
    assert result.exit_code == 1 and expected in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output, result.output


def test_jlac_serve_without_a_prefect_server_is_refused(tmp_path):
    """Without PREFECT_API_URL, `jlac serve` served on its own temporary API, where Prefect schedules nothing (it
    only warns "Cannot schedule flows on an ephemeral server"), and waited forever (run apart, so that is a failure
    here, not a hang)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(JLAC_WAREHOUSE=str(tmp_path / "wh" / "jlac.duckdb"), PREFECT_HOME=str(tmp_path / "prefect"),
               COLUMNS="400")
    try:
        done = subprocess.run([sys.executable, "-m", "jlac.cli", "serve"], env=env, capture_output=True, text=True,
                              timeout=90)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`jlac serve` without PREFECT_API_URL still running after 90 s: {exc.stderr!s:.2000}")
    assert done.returncode == 1, done.stderr[-3000:]
    assert "jlac serve needs a running Prefect server and PREFECT_API_URL naming it" in done.stderr
    assert "export PREFECT_API_URL=http://127.0.0.1:4200/api" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout, done.stderr[-3000:]


@pytest.mark.parametrize("what", ["missing", "a folder"])
def test_a_schedule_file_that_cannot_be_read_is_one_line_naming_it(tmp_path, what):
    """A missing --schedule file was a FileNotFoundError traceback (found by a QA pass)."""
    from jlac.cli import app
    from typer.testing import CliRunner

    path = tmp_path / "schedule.yml"
    if what == "a folder":
        path.mkdir()
    with pytest.raises(ValueError, match="^" + re.escape(f"{path}: cannot read the schedule file (")):
        load_schedule(path)
    result = CliRunner().invoke(app, ["serve", "--schedule", str(path)],
                                env={"PREFECT_API_URL": "http://127.0.0.1:1/api", "COLUMNS": "400"})
    assert result.exit_code == 1 and f"{path}: cannot read the schedule file" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_an_installed_jlac_without_a_checkout_asks_for_a_schedule_file(tmp_path, monkeypatch):
    """jlac installed from a wheel has no deploy/ folder: its default schedule path pointed inside the virtualenv and
    `jlac serve` failed on a FileNotFoundError naming it (found by a QA pass)."""
    from jlac.ops import schedule

    monkeypatch.setattr(schedule, "PROJECT_ROOT", tmp_path / "venv" / "lib" / "python3.11")
    monkeypatch.setattr(schedule, "SCHEDULE_FILE", tmp_path / "venv" / "lib" / "python3.11" / "deploy" / "schedule.yml")
    with pytest.raises(ValueError, match=r"^no schedule file: deploy/schedule.yml is part of jlac's repository.*"
                                         r"`jlac serve --schedule FILE`"):
        schedule.load_schedule(schedule.SCHEDULE_FILE)
    own = tmp_path / "mine.yml"
    own.write_text((PROJECT_ROOT / "deploy" / "schedule.yml").read_text())
    assert schedule.load_schedule(own).cron == "30 5 * * 1"  # a file given still works there
