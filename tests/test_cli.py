"""The jlac command line on a warehouse built from a small mirror."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jlac.cli import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse_env(small_home):
    """The environment of the session's small-mirror warehouse (conftest.small_home)."""
    settings, _ = small_home
    return {"JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_MIRROR": str(settings.mirrors[0]),
            "JLAC_SNAPSHOTS": str(settings.snapshots), "JLAC_OUTPUT": str(settings.output)}


@pytest.mark.parametrize("command", [["sql", "SELECT 1"], ["revisions"], ["figures"]])
def test_a_warehouse_cut_short_is_named_with_what_to_do_by_every_reader(warehouse_env, tmp_path, command):
    """`jlac status` said a damaged file cannot be read and that the next refresh builds a new one; `jlac sql`,
    `revisions` and `report` printed only DuckDB's "IO Error: Could not read enough bytes" (found by a QA pass)."""
    cut = tmp_path / "jlac.duckdb"
    with open(warehouse_env["JLAC_WAREHOUSE"], "rb") as whole:
        cut.write_bytes(whole.read(3_000_000))
    done = subprocess.run([sys.executable, "-m", "jlac", *command], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **warehouse_env, "JLAC_WAREHOUSE": str(cut),
                               "JLAC_OUTPUT": str(tmp_path / "out")})
    text = " ".join(done.stderr.split())
    assert done.returncode == 1 and f"{cut} cannot be read (" in text, done.stderr
    assert "the next `jlac refresh` builds and publishes a new one" in text and "Traceback" not in text


@pytest.mark.parametrize("args", [["-- a note\nSELECT 42 AS x", "-f", "csv"],
                                  ["-f", "csv", "-- a note\nSELECT 42 AS x"]])
def test_a_query_starting_with_a_comment_is_a_query_not_an_option(warehouse_env, args):
    """Found by a QA pass: `jlac sql $'-- note\nSELECT 42'` (a pasted .sql file) was "No such option: -- note"."""
    result = runner.invoke(app, ["sql", *args], env=warehouse_env)
    assert result.exit_code == 0 and result.output.splitlines() == ["x", "42"], result.output
    result = runner.invoke(app, ["sql", "--bogus", "SELECT 1"], env=warehouse_env)  # a mistyped option stays one
    assert result.exit_code == 2 and "No such option: --bogus" in result.output, result.output


def test_sql_reads(warehouse_env):
    result = runner.invoke(app, ["sql", "SELECT year, total_usd_bn FROM figures.fig1_japan_lac_trade "
                                        "WHERE year = 2018"], env=warehouse_env)
    assert result.exit_code == 0, result.output
    assert "2018" in result.output and "57.254" in result.output and "1 row(s)" in result.output


FIG1_2018 = "SELECT * FROM figures.fig1_japan_lac_trade WHERE year = 2018"


def test_sql_table_never_shortens_a_value(warehouse_env):
    # piped (no terminal, no COLUMNS): as wide as its content, each value whole on its line
    result = runner.invoke(app, ["sql", FIG1_2018], env={**warehouse_env, "COLUMNS": None})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "2018" in line)
    assert "1486.276" in row and "57.254" in row and "imf-dots" in row and "…" not in result.output
    # an 80-column terminal: a result wider than it shows one field per line, as psql's expanded display; its table
    # had folded numbers and names across lines ("54.15" above "2", "state/ment_/id": found by a QA pass)
    terminal = {**warehouse_env, "COLUMNS": "80", "TTY_COMPATIBLE": "1"}
    result = runner.invoke(app, ["sql", FIG1_2018], env=terminal)
    assert result.exit_code == 0 and "…" not in result.output, result.output
    fields = dict(line.split(" | ", 1) for line in result.output.splitlines() if " | " in line)
    assert {k.strip(): v for k, v in fields.items()}["total_usd_bn"] == "57.254", result.output
    assert result.output.splitlines()[0].startswith("-[ row 1 ]") and "one field per line" in result.output
    # a result that fits stays a table
    result = runner.invoke(app, ["sql", "SELECT year, total_usd_bn FROM figures.fig1_japan_lac_trade WHERE year = "
                                        "2018"], env=terminal)
    assert "┃" in result.output and "57.254" in result.output and "one field per line" not in result.output


def test_sql_csv_and_json_write_every_row_with_its_types(warehouse_env):
    query = "SELECT year, total_usd_bn, in_report_span, NULL AS nothing FROM figures.fig1_japan_lac_trade ORDER BY year"
    result = runner.invoke(app, ["sql", "--format", "csv", query], env={**warehouse_env, "COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows[0]["year"] == "1995" and len(rows) == 26  # 1995-2020 from Japan's DOTS workbook
    assert rows[23] == {"year": "2018", "total_usd_bn": "57.254", "in_report_span": "true", "nothing": ""}
    result = runner.invoke(app, ["sql", "-f", "json", query, "--max-rows", "1"], env=warehouse_env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)  # --max-rows limits a table only
    assert len(data) == 26
    assert data[23] == {"year": 2018, "total_usd_bn": 57.254, "in_report_span": True, "nothing": None}
    result = runner.invoke(app, ["sql", "-f", "json", query + " LIMIT 0"], env=warehouse_env)
    assert result.exit_code == 0 and json.loads(result.output) == []
    # strict JSON: NaN is null; a UUID (no JSON type) is its text
    result = runner.invoke(app, ["sql", "-f", "json", "SELECT 'nan'::DOUBLE AS x, "
                                 "'00000000-0000-0000-0000-000000000001'::UUID AS u"], env=warehouse_env)
    assert json.loads(result.output) == [{"x": None, "u": "00000000-0000-0000-0000-000000000001"}], result.output
    # ... also inside a list; an interval is ISO 8601 (which other tools parse), in JSON and in CSV
    intervals = ("SELECT [1.5, 'nan'::DOUBLE] AS l, INTERVAL '3 days 2 hours' AS i, INTERVAL '-90 minutes' AS j, "
                 "INTERVAL '1.5 seconds' AS k")
    result = runner.invoke(app, ["sql", "-f", "json", intervals], env=warehouse_env)
    assert json.loads(result.output) == [{"l": [1.5, None], "i": "P3DT2H", "j": "-PT1H30M", "k": "PT1.5S"}]
    result = runner.invoke(app, ["sql", "-f", "csv", intervals], env=warehouse_env)
    assert result.output.splitlines()[1] == '"[1.5, null]",P3DT2H,-PT1H30M,PT1.5S', result.output
    # a BLOB is its bytes in hex in both (CSV wrote Python's repr, b'\x00\xff'; found by a QA pass)
    for fmt, expected in (("csv", "b\n00ff"), ("json", '[\n{"b": "00ff"}\n]')):
        result = runner.invoke(app, ["sql", "-f", fmt, "SELECT '\\x00\\xFF'::BLOB AS b"], env=warehouse_env)
        assert result.output.strip() == expected, result.output
    # ... in a table too, and as a MAP's key (a traceback: JSON keys must be text)
    result = runner.invoke(app, ["sql", "SELECT '\\x00\\xFF'::BLOB AS b"], env={**warehouse_env, "COLUMNS": "80"})
    assert "00ff" in result.output and "\\x" not in result.output, result.output
    keyed = "SELECT map(['\\x03'::BLOB], [DATE '2020-01-02']) AS m, map([DATE '2020-01-02'], [1]) AS d"
    result = runner.invoke(app, ["sql", "-f", "json", keyed], env=warehouse_env)
    assert json.loads(result.output) == [{"m": {"03": "2020-01-02"}, "d": {"2020-01-02": 1}}], result.output
    result = runner.invoke(app, ["sql", "-f", "csv", keyed], env=warehouse_env)
    assert result.output.splitlines()[1] == '"{""03"": ""2020-01-02""}","{""2020-01-02"": 1}"', result.output


def test_sql_table_shows_at_most_max_rows_and_says_there_are_more(warehouse_env):
    query = "SELECT year FROM figures.fig1_japan_lac_trade ORDER BY year"
    result = runner.invoke(app, ["sql", "--max-rows", "3", query], env=warehouse_env)
    assert result.exit_code == 0, result.output
    assert "1997" in result.output and "1998" not in result.output
    assert "first 3 row(s) shown, there are more" in result.output
    result = runner.invoke(app, ["sql", "--max-rows", "26", query], env=warehouse_env)
    assert "2020" in result.output and "26 row(s)" in result.output and "more" not in result.output


def test_sql_shows_values_as_they_are_and_errors_in_one_line(warehouse_env):
    """A table showed ':x:' in a value or a column name as an emoji (rich's emoji codes: 'a:x:b' became 'a❌b'); SHOW
    TABLES listed nothing (the warehouse's main schema is empty); a syntax error was four lines. Found by a QA pass."""
    result = runner.invoke(app, ["sql", "SELECT 'a:x:b' AS \":x:\", ':+1:' AS t"], env=warehouse_env)
    assert result.exit_code == 0 and "a:x:b" in result.output and ":+1:" in result.output, result.output
    assert ":x:" in result.output.splitlines()[1] and "❌" not in result.output and "👍" not in result.output
    result = runner.invoke(app, ["sql", "-f", "csv", "SHOW TABLES"], env=warehouse_env)
    assert result.exit_code == 0 and {"fct_trade_annual", "fig1_japan_lac_trade", "runs"} <= set(
        result.output.split()), result.output
    result = runner.invoke(app, ["sql", "-f", "csv", "SELECT count(*) AS n FROM fig1_japan_lac_trade"],
                           env=warehouse_env)
    assert result.exit_code == 0 and int(result.output.split()[1]) > 0, result.output
    for text, says in (("SELEC 1", 'syntax error at or near "SELEC" (LINE 1: SELEC 1)'),
                       ("SELECT nope FROM marts.dim_country", 'column "nope" not found')):
        result = runner.invoke(app, ["sql", text], env=warehouse_env)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 1 and says in " ".join(result.output.split()), result.output
        assert len(lines) == 1 or all(not line.startswith(("LINE", " ")) for line in lines), result.output
        assert "^^^" not in result.output


def test_read_commands_read_a_copy_while_a_session_holds_the_warehouse_for_writing(small_home, tmp_path):
    """A user's DuckDB session (DBeaver's default) holding the published file open for writing: a refresh read a copy,
    while `jlac sql`, `revisions`, `figures` and `report` failed on DuckDB's lock error and `export` called the file
    unreadable (found by a QA pass). Each reads a copy of its checkpointed bytes now, and leaves no copy behind."""
    settings, _ = small_home
    home = tmp_path / "wh"
    home.mkdir()
    shutil.copyfile(settings.warehouse, home / "jlac.duckdb")
    env = {"JLAC_WAREHOUSE": str(home / "jlac.duckdb"), "JLAC_MIRROR": str(settings.mirrors[0]),
           "JLAC_SNAPSHOTS": str(tmp_path / "store"), "JLAC_OUTPUT": str(tmp_path / "out"),
           "JLAC_CACHE": str(tmp_path / "cache")}
    code = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(600)"
    holder = subprocess.Popen([sys.executable, "-c", code, env["JLAC_WAREHOUSE"]], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = runner.invoke(app, ["sql", "-f", "csv", "SELECT total_usd_bn FROM figures.fig1_japan_lac_trade "
                                     "WHERE year = 2018"], env=env)
        assert result.exit_code == 0 and "57.254" in result.output, result.output
        printed = {}
        for args in (["revisions"], ["figures"], ["report"], ["export", "parquet", str(tmp_path / "parquet")]):
            result = runner.invoke(app, args, env=env)
            assert result.exit_code == 0, (args, result.output)
            assert "lock" not in result.output.lower() and "cannot be read" not in result.output, result.output
            printed[args[0]] = result.output
    finally:
        holder.kill()
        holder.wait()
    # `jlac figures` drew every figure into JLAC_OUTPUT, printed each file it wrote and recorded them
    out = tmp_path / "out"
    record = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    recorded = {out / name for module, entry in record.items() if module != "_drawn_by" for name in entry["files"]}
    assert {Path(line) for line in printed["figures"].splitlines() if line.strip()} == recorded
    assert out / "fig1_japan_lac_trade.csv" in recorded and all(p.is_file() for p in recorded), sorted(recorded)
    assert (tmp_path / "parquet" / "figures").is_dir()
    assert sorted(p.name for p in home.iterdir() if "read-" in p.name) == []


def test_sql_error_in_csv_mode_is_a_message(warehouse_env):
    result = runner.invoke(app, ["sql", "-f", "csv", "SELECT nope FROM figures.fig1_japan_lac_trade"],
                           env=warehouse_env)
    assert result.exit_code == 1 and 'column "nope" not found' in result.output, result.output


def test_sql_refuses_writes(warehouse_env):
    result = runner.invoke(app, ["sql", "DELETE FROM marts.fct_trade_annual"], env=warehouse_env)
    assert result.exit_code == 1
    assert "read-only" in result.output or "attached in read-only mode" in result.output


def test_sql_writes_no_file_and_runs_one_query(warehouse_env, tmp_path):
    """The warehouse is opened read-only, which protects its tables, not the disk: statements that write files (or
    change the session) are refused by type, naming it, and nothing is written."""
    target = tmp_path / "out.csv"
    # named by the statement's own first word (DuckDB files PRAGMA x = y under SET, INSTALL under LOAD: an INSTALL
    # was called "a LOAD statement", with advice on writing files; found by a QA pass), with advice that fits it
    for text, kind, advice in ((f"COPY (SELECT 42 AS a) TO '{target}'", "a COPY", "jlac export"),
                               (f"COPY marts.dim_country TO '{target}' (FORMAT csv)", "a COPY", "jlac export"),
                               (f"EXPORT DATABASE '{tmp_path / 'dump'}'", "an EXPORT", "jlac export"),
                               (f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{target}'", "an EXPLAIN COPY", "jlac export"),
                               ("CREATE TEMP TABLE t AS SELECT 1 AS a", "a CREATE", "a copy of the warehouse"),
                               (f"PRAGMA profiling_output = '{target}'", "a PRAGMA", "a copy of the warehouse"),
                               ("PRAGMA enable_profiling", "a PRAGMA", "a copy of the warehouse"),
                               ("SET threads = 1", "a SET", "a copy of the warehouse"),
                               ("ATTACH ':memory:' AS m", "an ATTACH", "a copy of the warehouse"),
                               ("USE memory", "a USE", "a copy of the warehouse"),
                               ("WITH a AS (SELECT 1 AS x) INSERT INTO t SELECT * FROM a", "an INSERT",
                                "a copy of the warehouse"),
                               ("INSTALL httpfs", "an INSTALL", "neither installs nor loads DuckDB extensions"),
                               ("load httpfs", "a LOAD", "neither installs nor loads DuckDB extensions")):
        result = runner.invoke(app, ["sql", text], env=warehouse_env)
        assert result.exit_code == 1, (text, result.output)
        said = " ".join(result.output.split())
        assert f"this is {kind} statement" in said and "read-only" in said and advice in said, said
        assert "jlac export" not in said or "jlac export" == advice, said
    assert not target.exists() and not (tmp_path / "dump").exists()
    result = runner.invoke(app, ["sql", "SELECT 1; SELECT 2"], env=warehouse_env)
    assert result.exit_code == 1 and "2 statements given; jlac sql runs one query at a time" in result.output
    for text in ("DESCRIBE figures.fig1_japan_lac_trade", "SHOW TABLES", "EXPLAIN SELECT 1",
                 "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "FROM figures.fig1_japan_lac_trade LIMIT 1",
                 "SUMMARIZE SELECT 1 AS x", "EXPLAIN ANALYZE SELECT count(*) FROM marts.dim_country"):
        result = runner.invoke(app, ["sql", "-f", "csv", text], env=warehouse_env)
        assert result.exit_code == 0, (text, result.output)


def test_sql_without_a_statement(warehouse_env):
    for text in ("", "   ", "/* nothing */"):
        result = runner.invoke(app, ["sql", text], env=warehouse_env)
        assert result.exit_code == 1 and "no SQL statement in" in result.output, result.output


def test_sql_without_warehouse(tmp_path):
    result = runner.invoke(app, ["sql", "SELECT 1"], env={"JLAC_WAREHOUSE": str(tmp_path / "none.duckdb")})
    assert result.exit_code == 1 and "run `jlac refresh` first" in result.output


def test_figures_and_report_wait_for_a_refresh_publishing_and_never_turn_a_refresh_away(warehouse_env, tmp_path):
    """`jlac figures` beside a refresh's publish drew the old warehouse's chart over the one the refresh had just
    published, and the next refresh, finding nothing changed, left it so (found by a QA pass). The published outputs
    now have a lock of their own (warehouse.outputs_lock): figures and report wait for a publish, saying so, and a
    publish for them; neither takes the refresh lock, so a refresh is never turned away by a report."""
    import shutil
    import time

    from jlac.config import Settings
    from jlac.errors import JlacError
    from jlac.warehouse import outputs_lock, refresh_lock

    shutil.copyfile(warehouse_env["JLAC_WAREHOUSE"], tmp_path / "jlac.duckdb")
    env = {**os.environ, **warehouse_env, "JLAC_WAREHOUSE": str(tmp_path / "jlac.duckdb"),
           "JLAC_OUTPUT": str(tmp_path / "out")}
    settings = Settings(warehouse=tmp_path / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(), output=tmp_path / "o")
    for command, what in (("figures", "jlac figures"), ("report", "jlac report")):
        with outputs_lock(settings, "refresh r1"):  # as a refresh holds it while it publishes
            proc = subprocess.Popen([sys.executable, "-m", "jlac.cli", command], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            line = proc.stderr.readline()
            assert line.startswith(f"jlac: {what} waits for refresh r1 (process {os.getpid()}) to finish writing "
                                   "the published outputs"), line
            time.sleep(0.5)
            assert proc.poll() is None  # still waiting
            with refresh_lock(settings):  # the refresh lock is free: a scheduled refresh is not refused
                pass
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    assert (tmp_path / "out" / "fig1_japan_lac_trade.png").is_file() and (tmp_path / "out" / "site").is_dir()
    # a holder that never lets go: the waiter gives up, naming it (a hook running `jlac report` inside a publish)
    with outputs_lock(settings, "refresh r2"), pytest.raises(
            JlacError, match=rf"jlac report: refresh r2 \(process {os.getpid()}\) has held .*\.outputs\.lock for "
                             r"more than 0\.5 s"):
        with outputs_lock(settings, "jlac report", timeout=0.5):
            pass


def test_the_sites_freshness_is_the_rendered_warehouses(warehouse_env, tmp_path):
    """The site written by the publish itself read the run ledger, whose line comes after the hooks: it showed the
    run before's vintages, and a source built without at --drop as "missing" (found by a QA pass). It now reads the
    warehouse it renders (meta.snapshots), and the publishing run's --drop."""
    import shutil

    import duckdb
    from jlac.config import Settings
    from jlac.site import _freshness, render_page

    db = tmp_path / "jlac.duckdb"
    shutil.copyfile(warehouse_env["JLAC_WAREHOUSE"], db)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE meta.snapshots SET vintage = '2026-11-30' WHERE source = 'fred-exjpus'")
        con.execute("DELETE FROM meta.snapshots WHERE source = 'oecd-dac2a'")
    env = {k: Path(v) for k, v in warehouse_env.items()}
    settings = Settings(warehouse=env["JLAC_WAREHOUSE"], snapshots=env["JLAC_SNAPSHOTS"],
                        mirrors=(env["JLAC_MIRROR"],), output=env["JLAC_OUTPUT"])
    (tmp_path / "assets").mkdir()
    with duckdb.connect(str(db), read_only=True) as con:
        rows = {f["source"]: f for f in _freshness(settings, con, dropped=("oecd-dac2a",))}
        html = render_page(con, settings, tmp_path / "assets", dropped=("oecd-dac2a",))
    table = html[html.index('<section id="freshness">'):]
    row = table[table.index('data-source="oecd-dac2a"'):].split("</tr>", 1)[0]
    assert "dropped (built without it at --drop)" in row and "used by this warehouse" in table
    assert "<td>2026-11-30</td>" in table[table.index('data-source="fred-exjpus"'):].split("</tr>", 1)[0]
    assert (rows["fred-exjpus"]["used_vintage"], rows["fred-exjpus"]["state"]) == ("2026-11-30", "fresh")
    assert rows["oecd-dac2a"]["used_vintage"] is None
    assert rows["oecd-dac2a"]["state"] == "dropped (built without it at --drop)"
    assert rows["imf-dots"]["used_vintage"] == "2022-02-02"


def test_figure_1_title_names_what_each_span_covers(warehouse_env):
    """Found by a QA pass: "Japanese trade with LAC, 1995-2025" while the region's bars end in 2020 and 2021-2025
    are Mexico, Brazil and Chile only (MOF)."""
    import duckdb
    from jlac.figures import fig1_japan_lac_trade as fig1

    with duckdb.connect(warehouse_env["JLAC_WAREHOUSE"], read_only=True) as con:
        first, lac_last = con.execute("SELECT min(year), max(year) FROM figures.fig1_japan_lac_trade").fetchone()
        dollars_last = con.execute("SELECT max(year) FROM figures.japan_main_lac_partners "
                                   "WHERE value_usd_bn IS NOT NULL").fetchone()[0]
    # DOTS_101.xlsx ends in 2020; MOF's file in 2025, in dollars to 2024 (FRED has no full-year 2025 rate)
    assert (first, lac_last, dollars_last) == (1995, 2020, 2024)
    assert fig1.title(first, lac_last, dollars_last) == ("Japanese trade with LAC (33 CELAC states), 1995-2020 (US$ "
                                                         "billions)\nthen with Mexico, Brazil and Chile only, to 2024")
    assert fig1.title(1995, 2020, 2020) == "Japanese trade with LAC (33 CELAC states), 1995-2020 (US$ billions)"


def test_a_warehouse_of_another_jlac_version_is_one_line_naming_what_to_do(tmp_path, warehouse_env):
    """A warehouse whose meta tables lack a column this jlac reads (built by an older jlac): `jlac report` printed
    DuckDB's multi-line binder error; one line now, saying the file lacks it and what rebuilds it."""
    import shutil

    import duckdb

    old = tmp_path / "jlac.duckdb"
    shutil.copyfile(warehouse_env["JLAC_WAREHOUSE"], old)
    with duckdb.connect(str(old)) as con:
        con.execute("ALTER TABLE meta.snapshots DROP COLUMN root")
    env = {**os.environ, **warehouse_env, "JLAC_WAREHOUSE": str(old), "JLAC_OUTPUT": str(tmp_path / "out")}
    done = subprocess.run([sys.executable, "-m", "jlac.cli", "report"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "LINE 1" not in done.stderr, done.stderr[-3000:]
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("jlac:")]
    assert len(line) == 1 and '"root" not found' in line[0] and "jlac refresh --full" in line[0], done.stderr


def test_a_damaged_warehouse_file_is_one_line_not_a_traceback(tmp_path):
    """`jlac` itself (its entry point, not only a command's own handling): a file that is not a DuckDB database.
    A QA pass found a path ending in .csv (a figure's CSV) read by DuckDB as another kind of database: 'Cannot launch
    in-memory database in read-only mode', with the hint to rebuild, which would write over the user's file."""
    for name in ("jlac.duckdb", "fig1_japan_lac_trade.csv"):
        bad = tmp_path / name
        bad.write_text("not a database\n1,2\n")
        env = {**os.environ, "JLAC_WAREHOUSE": str(bad), "JLAC_OUTPUT": str(tmp_path / "out")}
        for command in (["revisions"], ["figures"]):
            done = subprocess.run([sys.executable, "-m", "jlac.cli", *command], env=env, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 1, done.stderr[-3000:]
            assert "Traceback" not in done.stderr and "refresh --full" not in done.stderr, done.stderr[-3000:]
            assert f'The file "{bad}" exists, but it is not a valid DuckDB database file' in done.stderr, done.stderr
    # and a refresh does not replace the user's CSV with a warehouse (refused before Prefect starts)
    before = bad.read_bytes()
    done = subprocess.run([sys.executable, "-m", "jlac.cli", "refresh"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1 and "a refresh would replace it" in done.stderr, done.stderr[-3000:]
    assert bad.read_bytes() == before


def test_sql_cannot_write_the_warehouse_by_attaching_it_again(warehouse_env, tmp_path):
    import hashlib
    import shutil

    copy = tmp_path / "jlac.duckdb"  # never the session's shared warehouse: this test tries to damage it
    shutil.copyfile(warehouse_env["JLAC_WAREHOUSE"], copy)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    env = {**warehouse_env, "JLAC_WAREHOUSE": str(copy)}
    for attack in (f"USE memory; DETACH jlac; ATTACH '{copy}' AS w; DROP TABLE w.figures.fig1_reconciliation",
                   f"ATTACH '{copy}' AS w2; DROP TABLE w2.figures.fig1_reconciliation",
                   "DROP TABLE figures.fig1_reconciliation"):
        result = runner.invoke(app, ["sql", attack], env=env)
        assert result.exit_code == 1, (attack, result.output)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before


def test_sql_json_refuses_repeated_column_names(warehouse_env):
    # a dict kept the last 'year' and 'vintage': the FX table's vintage shown as the trade row's
    result = runner.invoke(app, ["sql", "-f", "json", "SELECT 1 AS a, 2 AS a, 3 AS b"], env=warehouse_env)
    assert result.exit_code == 1 and "more than one column named a" in result.output, result.output
    result = runner.invoke(app, ["sql", "-f", "csv", "SELECT 1 AS a, 2 AS a"], env=warehouse_env)
    assert result.exit_code == 0 and result.output.splitlines() == ["a,a", "1,2"]


@pytest.mark.parametrize("command", [["figures"], ["report"], ["revisions"], ["sql", "SELECT 1"]])
def test_every_reading_command_says_there_is_no_warehouse_in_the_same_words(tmp_path, command):
    """`report` and `revisions` said "jlac: no warehouse at ...", `figures` and `sql` "jlac: JlacError: no published
    warehouse at ..." (found by a QA pass): one wording, one line, exit 1, and no folder made for it."""
    path = tmp_path / "none" / "jlac.duckdb"
    result = runner.invoke(app, command, env={"JLAC_WAREHOUSE": str(path)})
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and f"jlac: JlacError: no published warehouse at {path}; run `jlac refresh` first" \
        in said, result.output
    assert not path.parent.exists()


@pytest.mark.parametrize("command", [["figures"], ["report"]])
def test_a_read_only_output_folder_is_one_line_before_anything_is_drawn(warehouse_env, tmp_path, command):
    """`jlac figures` and `report` with JLAC_OUTPUT on a read-only mount warned that the outputs had no lock, then
    failed on the first file (found by a QA pass): one line naming the folder and why, nothing else."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(ro), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("needs mount (root) for a real read-only folder")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True, capture_output=True)
        result = runner.invoke(app, command, env={**warehouse_env, "JLAC_OUTPUT": str(ro / "out")})
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and f"jlac: JlacError: JLAC_OUTPUT {ro / 'out'}: {ro} cannot be written (a " \
        "read-only file system)" in said, result.output
    assert "WARNING" not in result.output and "no lock" not in said


def test_unusable_folders_are_one_line_not_a_traceback(warehouse_env, tmp_path):
    """An output folder jlac cannot create, and a warehouse folder it cannot write (its Prefect home goes there)."""
    env = {k: v for k, v in {**os.environ, **warehouse_env}.items() if k != "PREFECT_HOME"}
    runs = [(["report"], {"JLAC_OUTPUT": "/proc/jlac-out"}, "/proc/jlac-out"),
            (["sql", "SELECT 1"], {"JLAC_WAREHOUSE": "/proc/jlac-wh/jlac.duckdb"}, "no published warehouse at "
                                                                                   "/proc/jlac-wh/jlac.duckdb")]
    for command, extra, expected in runs:
        done = subprocess.run([sys.executable, "-m", "jlac.cli", *command], env={**env, **extra}, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 1, done.stderr[-3000:]
        assert "Traceback" not in done.stderr and expected in " ".join(done.stderr.split()), done.stderr[-3000:]
    # a mistyped warehouse path: a reading command says so and leaves no folder behind (no Prefect home there)
    typo = tmp_path / "typo" / "jlac.duckdb"
    done = subprocess.run([sys.executable, "-m", "jlac.cli", "figures"], env={**env, "JLAC_WAREHOUSE": str(typo)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "no published warehouse" in done.stderr, done.stderr[-3000:]
    assert not typo.parent.exists()


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux /proc)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if Path(os.readlink(fd)) == path:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


@pytest.mark.parametrize("times", [1, 3])
def test_ctrl_c_during_a_query_is_one_line_and_exit_130(warehouse_env, times):
    """A stop sent more than once (Ctrl-C pressed again, or `timeout -s INT`, which signals the command and then its
    process group): the second one cut short the wait for the query to give up, the connection was closed under
    it ("connection is busy") and the process aborted (exit 134), 1 time in 3 (found by a QA pass)."""
    import signal
    import time

    env = {**os.environ, **warehouse_env}
    # as from a terminal: a job a non-interactive shell put in the background (a CI runner's `cmd &`) starts with
    # SIGINT ignored, which pytest and its children inherit, and Python then installs no KeyboardInterrupt handler
    proc = subprocess.Popen([sys.executable, "-m", "jlac.cli", "sql", "SELECT count(*) FROM range(100000000000)"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # imports, then the query runs (for minutes): the interrupt goes once the process has the warehouse open
    warehouse = Path(warehouse_env["JLAC_WAREHOUSE"]).resolve()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not _has_open(proc.pid, warehouse):
        time.sleep(0.1)
    time.sleep(1.0)  # the query itself has started
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    for _ in range(times - 1):
        time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    # the later stops landed, 1 run in 3 on a loaded machine, in the line's write (no line at all) or in the
    # interpreter's shutdown (a traceback, or the process ended by the signal): the one line and 130 every time
    # (jlac.stops.held, jlac.launch.run_to_exit)
    assert proc.returncode == 130, stderr[-3000:]
    assert stderr.strip() == "jlac: interrupted", stderr[-3000:]
    # at once, not when DuckDB next looks at Python's signals: that took 20-27 s here (the query now runs in a thread
    # of its own, jlac.stops.interruptible; 0.1-0.2 s); the bound leaves room for a loaded machine
    assert time.monotonic() - sent < 10


def test_an_output_encoding_without_the_characters_is_one_line_not_a_traceback(warehouse_env):
    """PYTHONIOENCODING=ascii (or a non-UTF-8 locale): a country named with ô ended in a UnicodeEncodeError traceback
    (found by a QA pass). stdout may be data: nothing is written in the character's place, one line says why."""
    env = {**os.environ, **warehouse_env, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run([sys.executable, "-m", "jlac.cli", "sql", "-f", "csv", "SELECT 'Côte d''Ivoire' AS n"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "jlac: UnicodeEncodeError: the output holds '\\xf4', which this output's encoding (ascii) cannot write; " \
           "use a UTF-8 locale" in " ".join(proc.stderr.split())


def test_a_command_printing_for_people_writes_what_the_encoding_lacks_escaped(tmp_path):
    """A refresh that published said so last, naming a path with ü: under PYTHONIOENCODING=ascii that line made the
    published run exit 1 (found by a QA pass). Commands printing for people write such a character escaped."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "JLAC_WAREHOUSE": str(tmp_path / "ü" / "jlac.duckdb")}
    proc = subprocess.run([sys.executable, "-m", "jlac.cli", "sources"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"store: {tmp_path}/\\xfc/snapshots" in proc.stdout


_CTRL_C_WHILE_LOADING = """
import sys

class CtrlC:  # the Ctrl-C arrives while Python loads rich, one of the modules the command line needs
    def find_spec(self, name, path=None, target=None):
        if name == "rich.console":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["jlac", "sources"]
from jlac.launch import main
main()
"""


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_exit_130():
    """Loading jlac's command line takes about a second: a Ctrl-C then printed Python's traceback."""
    proc = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_LOADING], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert proc.stderr.strip() == "jlac: interrupted" and not proc.stdout


@pytest.mark.e2e  # runs the jlac CLI in a separate process
@pytest.mark.parametrize("command", [["refresh"], ["backfill", "--from", "2010", "--to", "2011", "--offline"]])
def test_sigterm_during_a_refresh_is_one_line_and_exit_143(tmp_path, mirror, prefect_api_url, command):
    """SIGTERM (`kill`, cron's `timeout`) during a refresh or a backfill: docs/operations.md promises one line and the
    shell's status. Prefect handles it inside the flow run, then sends it again to the handler it found: Python's
    default killed jlac without a line, before the CLI's "jlac: terminated"."""
    import signal
    import time

    from conftest import JAPAN_WORKBOOK, small_mirror

    root = small_mirror(tmp_path / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    warehouse = tmp_path / "wh" / "jlac.duckdb"
    env = {**os.environ, "JLAC_MIRROR": str(root), "JLAC_WAREHOUSE": str(warehouse),
           "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": prefect_api_url}  # the session's API
    proc = subprocess.Popen([sys.executable, "-m", "jlac.cli", *command], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lock = warehouse.parent / ".refresh.lock"  # taken by the flow run, at its start
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not lock.exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "jlac: terminated" in stderr, (proc.returncode, stderr[-3000:])
    assert "Traceback" not in stderr, stderr[-3000:]
    assert not warehouse.exists()  # nothing published


# A stand-in for code that receives a SIGTERM and raises something else (RAISED), as Prefect's task engine did
_RECEIVES_SIGTERM_THEN_RAISES = """
import os, signal, sys, time, importlib
import httpx
RAISED = ValueError("Task run is not set")
def stopped(*args, **kwargs):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
    except BaseException:
        raise RAISED
    raise AssertionError("no SIGTERM handler raised")
"""


@pytest.mark.parametrize("command, target, raised", [
    (["refresh"], "jlac.pipeline:refresh", None),
    (["backfill", "--from", "2010", "--to", "2011", "--offline"], "jlac.ops.backfill:backfill", None),
    # systemd stops every process of the service, Prefect's temporary API too: the run's next call finds it gone
    (["refresh"], "jlac.pipeline:refresh", "httpx.ConnectError('All connection attempts failed')"),
])
def test_sigterm_is_a_stop_whatever_the_code_it_interrupted_raises(tmp_path, prefect_api_url, command, target,
                                                                    raised):
    """A SIGTERM at the moment Prefect creates a task run came out of Prefect's cleanup as
    ``ValueError('Task run is not set')``: the CLI printed that traceback, exit 1 (seen once in `make test`). Once a
    SIGTERM arrived, what the command raises is the stop's: one line, status 143. The refresh (or backfill) here
    receives the signal and raises that ValueError, as Prefect's task engine did (or the API's connection error)."""
    module, name = target.split(":")
    script = _RECEIVES_SIGTERM_THEN_RAISES + (f"RAISED = {raised}\n" if raised else "") + f"""
setattr(importlib.import_module({module!r}), {name!r}, stopped)
from jlac.cli import main
sys.argv = ["jlac", *{command!r}]
main()
"""
    env = {**os.environ, "JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"), "PREFECT_API_URL": prefect_api_url,
           "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 143 and "jlac: terminated" in proc.stderr, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr and "Task run is not set" not in proc.stderr, proc.stderr[-3000:]
    assert "stopped answering" not in proc.stderr, proc.stderr[-3000:]  # one line: the stop


def test_a_sigterm_after_the_refresh_returned_is_one_line_and_exit_143(tmp_path, prefect_api_url):
    """A SIGTERM once the flow run is over, while `jlac refresh` prints its outcome: the handler's TerminationSignal
    came out of the command as a traceback, exit 1. (The refresh here is a stand-in that returns at once.)"""
    script = """
import os, signal, sys, time
import jlac.cli, jlac.pipeline
from jlac.ledger import RunRecord
jlac.pipeline.refresh = lambda **kwargs: RunRecord(run_id="r1", status="unchanged")
printing = jlac.cli.console.print
def print_then_stopped(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    printing(*args, **kwargs)
jlac.cli.console.print = print_then_stopped
sys.argv = ["jlac", "refresh"]
jlac.cli.main()
"""
    env = {**os.environ, "JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"), "PREFECT_API_URL": prefect_api_url,
           "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 143 and "jlac: terminated" in proc.stderr, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


@pytest.mark.e2e  # runs the jlac CLI in a separate process
def test_a_sigterm_the_refresh_saw_as_another_error_is_recorded_as_a_stop(tmp_path, mirror, prefect_api_url):
    """The same inside the flow run: the run is recorded as crashed (a stop), not failed with Prefect's ValueError
    (a failure would alert as one). The plan step here receives the signal and raises what Prefect raised."""
    from conftest import JAPAN_WORKBOOK, small_mirror

    root = small_mirror(tmp_path / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    warehouse = tmp_path / "wh" / "jlac.duckdb"
    script = _RECEIVES_SIGTERM_THEN_RAISES + """
import jlac.plan
jlac.plan.make_plan = stopped
from jlac.cli import main
sys.argv = ["jlac", "refresh"]
main()
"""
    env = {**os.environ, "JLAC_MIRROR": str(root), "JLAC_WAREHOUSE": str(warehouse), "PREFECT_API_URL": prefect_api_url,
           "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 143 and "jlac: terminated" in proc.stderr, (proc.returncode, proc.stderr[-3000:])
    runs = [json.loads(line) for line in (warehouse.parent / "runs.jsonl").read_text().splitlines()]
    assert runs[-1]["status"] == "crashed" and "Task run is not set" in runs[-1]["error"], runs[-1]
    assert not warehouse.exists()


@pytest.mark.parametrize("pins, expected", [
    (["fred-exjpus="], "--pin takes SOURCE=VINTAGE, got 'fred-exjpus='"),  # built the latest vintage silently
    (["fred-exjpus=2025-05-27", "fred-exjpus=2026-01-01"], "--pin fred-exjpus given twice"),
    (["imf-dots=garbage"], "--pin imf-dots=garbage: 'garbage' is not"),  # a failed run was recorded for it
])
def test_refresh_refuses_an_empty_or_repeated_pin_before_building(tmp_path, pins, expected):
    args = ["refresh", "--offline"] + [a for p in pins for a in ("--pin", p)]
    result = runner.invoke(app, args, env={"JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb")})
    assert result.exit_code == 2 and expected in " ".join(result.output.split()), result.output
    assert not (tmp_path / "wh").exists()  # no run recorded, no Prefect started


@pytest.mark.parametrize("args", [["--source", "fred"], ["--pin", "no-such=2025-05-27"]])
def test_refresh_names_an_unknown_source_before_prefect_starts(tmp_path, args):
    result = runner.invoke(app, ["refresh", "--offline", *args],
                           env={"JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb")})
    assert result.exit_code == 1 and "unknown source(s)" in result.output, result.output
    assert "Starting temporary server" not in result.output and not (tmp_path / "wh").exists()


def test_a_refresh_beside_a_running_one_is_refused_before_prefect_starts(tmp_path, mirror):
    """Found by a QA pass: a second `jlac refresh` on a home was refused only after starting Prefect's temporary API
    (49 s there), and recorded and alerted as a failed run."""
    import os

    from jlac import warehouse
    from jlac.config import Settings

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(mirror,),
                        output=tmp_path / "out")
    env = {"JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_MIRROR": str(mirror)}
    with warehouse.refresh_lock(settings):  # a refresh running (flock: per open file, so also in-process)
        result = runner.invoke(app, ["refresh", "--offline"], env=env)
    # 75 (EX_TEMPFAIL, "try again later"): a cron wrapper tells a run skipped from one that failed (exit 1: QA pass)
    assert result.exit_code == 75, result.output
    assert f"another refresh (process {os.getpid()}) holds {settings.home / '.refresh.lock'}; wait for it to finish" \
        in " ".join(result.output.split())
    assert "Starting temporary server" not in result.output and not settings.run_ledger.exists()
    assert warehouse.refresh_held(settings) is None  # let go: the check itself holds nothing


@pytest.mark.parametrize("command, env, expected", [
    (["backfill", "--from", "2020", "--to", "2020", "--offline", "--source", "nosuch"], {}, "unknown source(s)"),
    (["refresh", "--fetch", "--source", "fred-exjpus"], {"JLAC_HTTP_RETRIES": "many"}, "JLAC_HTTP_RETRIES"),
    (["backfill", "--from", "2020", "--to", "2021", "--source", "fred-exjpus"], {"JLAC_HTTP_RETRIES": "many"},
     "JLAC_HTTP_RETRIES"),
    (["refresh", "--offline"], {"JLAC_TASK_RUNNER": "local:0"}, "JLAC_TASK_RUNNER='local:0'"),
    (["refresh", "--offline"], {"JLAC_WAREHOUSE": "{tmp}"}, "names a folder; it names the warehouse's DuckDB file"),
    # a path ending in '/' became a DuckDB file named after the folder (QA pass)
    (["refresh", "--offline"], {"JLAC_WAREHOUSE": "{tmp}/wh/"}, "wh/ names a folder; it names the warehouse's DuckDB"),
    # a vintage that does not exist was found inside the flow, recorded and alerted as a failed run (QA pass)
    (["refresh", "--offline", "--pin", "fred-exjpus=2020-01-01"], {},
     "fred-exjpus: pinned vintage '2020-01-01' not found; available: ['2025-05-27']"),
    (["refresh", "--offline"], {"JLAC_OUTPUT": "{tmp}/a-file/out"}, "is a file, so no folder can be made there"),
    (["refresh", "--offline"], {"JLAC_CACHE": "{tmp}/a-file"}, "JLAC_CACHE"),
    (["refresh", "--offline"], {"JLAC_DBT_HOME": "{tmp}/what?/dbt"}, "JLAC_DBT_HOME"),
    (["refresh", "--offline"], {"JLAC_WAREHOUSE": "{tmp}/wh/a?b/jlac.duckdb", "JLAC_DBT_HOME": None}, "has a '?'"),
    # a mistyped mirror was told after Prefect's start (25-40 s here), in six log lines (found by a QA pass)
    (["refresh", "--offline"], {"JLAC_MIRROR": "{tmp}/typo"},
     "{tmp}/typo (no such folder) of fred-exjpus, imf-dots, japan-customs-country-codes, which every build needs"),
    (["backfill", "--from", "2020", "--to", "2020", "--offline"], {"JLAC_MIRROR": "{tmp}/typo"},
     "{tmp}/typo (no such folder) of fred-exjpus, imf-dots, japan-customs-country-codes, which every build needs"),
    # what the run's fetch brings is left to it; the mirror-only sources it cannot bring are named
    (["refresh", "--fetch"], {"JLAC_MIRROR": "{tmp}/typo"},
     "{tmp}/typo (no such folder) of imf-dots, japan-customs-country-codes, which every build needs"),
    # a source named without a snapshot of it said "nothing changed", exit 0 (found by a QA pass)
    (["refresh", "--offline", "--source", "imf-imts"], {},
     "--source imf-imts: no snapshot to build from (the store and mirrors hold none); fetch it with `jlac refresh "
     "--fetch --source imf-imts`"),
], ids=["backfill unknown source", "refresh bad retries", "backfill bad retries", "task runner local:0",
        "warehouse a folder", "warehouse ending in a slash", "pin of no vintage", "output under a file",
        "cache a file", "dbt home with ?", "warehouse folder with ?", "no mirror", "backfill no mirror",
        "no mirror, fetching", "named source without snapshot"])
def test_what_a_run_would_fail_on_is_named_before_prefect_starts(tmp_path, command, env, expected):
    """Found by a QA pass: a bad fetch setting failed only that fetch inside the run (exit 0, "nothing changed"),
    a bad task runner passed unless an HS-9 file was parsed, and a bad folder was found after building or after
    publishing (tracebacks, a ledger saying completed beside exit 1). Each is one line now, nothing started."""
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    base = {"JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb")}
    env = {k: v if v is None else v.format(tmp=tmp_path) for k, v in env.items()}  # None: unset
    result = runner.invoke(app, command, env={**base, **env})
    assert result.exit_code == 1 and expected.format(tmp=tmp_path) in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and "Starting temporary server" not in result.output
    assert not (tmp_path / "wh").exists()  # no run recorded, nothing built


def test_fetch_with_offline_says_the_fetch_is_ignored(tmp_path):
    """`jlac refresh --fetch --offline` fetched nothing without a word (--offline overrides --fetch, as documented):
    one line says --fetch is ignored, before anything else (here the pre-flight check's refusal of local:0)."""
    env = {"JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"), "JLAC_TASK_RUNNER": "local:0"}
    result = runner.invoke(app, ["refresh", "--fetch", "--offline"], env=env)
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and said.startswith(
        "jlac: --fetch is ignored: --offline never touches the network, so nothing is fetched and the refresh "
        "builds from the snapshots at hand jlac: SettingError: JLAC_TASK_RUNNER='local:0'"), result.output
    # no fetch, so no fetch setting is read: a bad one is no reason to refuse it (as --offline alone)
    env = {**env, "JLAC_TASK_RUNNER": None, "JLAC_HTTP_RETRIES": "many", "JLAC_MIRROR": str(tmp_path / "typo")}
    result = runner.invoke(app, ["refresh", "--fetch", "--offline"], env=env)
    assert result.exit_code == 1 and "JLAC_HTTP_RETRIES" not in result.output, result.output
    assert f"{tmp_path / 'typo'} (no such folder) of fred-exjpus, imf-dots" in " ".join(result.output.split())
    result = runner.invoke(app, ["refresh", "--offline"], env=env)
    assert "is ignored" not in result.output, result.output


def test_export_to_an_empty_path_is_refused_not_written_where_one_stands(warehouse_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["export", "parquet", ""], env=warehouse_env)
    assert result.exit_code == 1 and "the output folder is empty text" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_revisions_of_an_unknown_reporter_says_so_and_a_huge_limit_is_a_usage_error(warehouse_env):
    result = runner.invoke(app, ["revisions", "--reporter", "XXX"], env=warehouse_env)
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "no published trade value of reporter XXX changed (trade values only" in said
    # one sentence, not "no revisions (latest publish (run ...))" (QA pass)
    assert said.startswith("no revisions in the latest publish (run ") and "((" not in said, said
    result = runner.invoke(app, ["revisions", "--all", "--reporter", "XXX"], env=warehouse_env)
    said = " ".join(result.output.split())
    assert said.startswith("no revisions in any publish: no published trade value"), said
    result = runner.invoke(app, ["revisions", "--limit", "99999999999999999999"], env=warehouse_env)
    assert result.exit_code == 2 and "Invalid value for '--limit'" in result.output, result.output


def test_figures_and_sources_and_figures_removes_charts_no_longer_drawn(warehouse_env, tmp_path):
    """`jlac figures` draws the charts and `jlac sources` lists the snapshots; a chart whose table became empty is
    not left in the output folder beside the new files. (One test: its first drawing, ~3 s, serves both.)"""
    import shutil

    import duckdb

    copy = tmp_path / "wh" / "jlac.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(warehouse_env["JLAC_WAREHOUSE"], copy)
    env = {**warehouse_env, "JLAC_WAREHOUSE": str(copy), "JLAC_OUTPUT": str(tmp_path / "out")}
    result = runner.invoke(app, ["figures"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "fig1_japan_lac_trade.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "fig1_japan_lac_trade.svg").is_file()
    result = runner.invoke(app, ["sources"], env=warehouse_env)
    assert result.exit_code == 0 and "imf-dots" in result.output and "2022-02-02" in result.output
    with duckdb.connect(str(copy)) as con:
        con.execute("DELETE FROM figures.fig1_japan_lac_trade")
    result = runner.invoke(app, ["figures"], env=env)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out" / "fig1_japan_lac_trade.svg").exists()
    assert not (tmp_path / "out" / "fig1_japan_lac_trade.png").exists()
    assert (tmp_path / "out" / "fig1_japan_lac_trade.csv").read_text(encoding="utf-8").count("\n") == 1  # header


def test_a_refresh_output_keeps_no_chart_the_new_record_does_not_list(tmp_path):
    """The refresh's move of freshly drawn files into the output folder removes what the new record drops."""
    import json

    from jlac.pipeline import _move_outputs

    out, staged = tmp_path / "out", tmp_path / "staged"
    out.mkdir()
    staged.mkdir()
    for name in ("a_2025.svg", "a_2025.png", "b.svg", "keep.txt"):
        (out / name).write_text("old", encoding="utf-8")
    old = {"a": {"files": ["a_2025.svg", "a_2025.png"]}, "b": {"files": ["b.svg"]},
           "evil": {"files": ["../outside.txt"]}}  # a name leaving the folder is never deleted
    (out / "figures.json").write_text(json.dumps(old), encoding="utf-8")
    (staged / "a_2026.svg").write_text("new", encoding="utf-8")
    (staged / "figures.json").write_text(json.dumps({"a": {"files": ["a_2026.svg"]}, "b": {"files": ["b.svg"]}}),
                                         encoding="utf-8")
    (tmp_path / "outside.txt").write_text("x", encoding="utf-8")
    _move_outputs(staged, out)
    assert sorted(p.name for p in out.iterdir()) == ["a_2026.svg", "b.svg", "figures.json", "keep.txt"]
    assert (tmp_path / "outside.txt").exists() and not staged.exists()


def test_brackets_in_paths_and_messages_are_printed_as_they_are(warehouse_env, tmp_path):
    """rich took '[draft]' in a path for a style tag (dropped it) and '[/]' for a closing one (a traceback)."""
    outdir = tmp_path / "[draft]a[/]b"
    result = runner.invoke(app, ["export", "parquet", str(outdir)], env=warehouse_env)
    assert result.exit_code == 0, result.output
    assert str(outdir / "figures" / "fig1_japan_lac_trade.parquet") in "".join(result.output.splitlines())
    missing = tmp_path / "[red]x[/]" / "jlac.duckdb"
    result = runner.invoke(app, ["report"], env={**warehouse_env, "JLAC_WAREHOUSE": str(missing)})
    assert result.exit_code == 1 and str(missing) in "".join(result.output.splitlines()), result.output


def test_revisions_limit_below_one_is_a_usage_error(warehouse_env):
    result = runner.invoke(app, ["revisions", "--limit", "-1"], env=warehouse_env)
    assert result.exit_code == 2 and "Invalid value for '--limit'" in result.output, result.output
    assert "Binder" not in result.output


def test_a_drawing_is_copied_from_the_cache_for_the_same_tables_and_drawn_again_when_not(warehouse_env, tmp_path,
                                                                                        caplog):
    """jlac.figures with a cache (a refresh's): what a module drew is copied into another output folder whose build
    has the same tables; a changed table, or a cached file that changed since, is drawn again."""
    import logging
    import shutil

    import duckdb
    from jlac import figures

    caplog.set_level(logging.INFO, logger="jlac.figures")
    db, cache = Path(warehouse_env["JLAC_WAREHOUSE"]), tmp_path / "cache"
    first = figures.render_all(db, tmp_path / "a", cache=cache)
    names = sorted(p.relative_to(tmp_path / "a").as_posix() for p in first)
    assert {"fig1_japan_lac_trade.png", "fig1_japan_lac_trade.svg", "fig3_costa_rica_finance.svg"} <= set(names)
    assert "copied from" not in caplog.text
    second = figures.render_all(db, tmp_path / "b", cache=cache)
    assert sorted(p.relative_to(tmp_path / "b").as_posix() for p in second) == names
    # byte for byte the first drawing (an SVG drawn again would carry another date in its metadata)
    assert all((tmp_path / "b" / n).read_bytes() == (tmp_path / "a" / n).read_bytes() for n in names)
    copied = caplog.records[-1].getMessage()
    assert "copied from" in copied and "fig1_japan_lac_trade" in copied and "fig2_mexico_auto_plants" in copied
    assert json.loads((tmp_path / "b" / "figures.json").read_text()) == \
        json.loads((tmp_path / "a" / "figures.json").read_text())

    # a cached file changed since it was kept: drawn again, said, and the output is a real chart
    entry = next((cache / "fig1_japan_lac_trade").iterdir())
    (entry / "fig1_japan_lac_trade.png").write_bytes(b"not a png")
    caplog.clear()
    figures.render_all(db, tmp_path / "c", cache=cache)
    assert "cached fig1_japan_lac_trade.png of fig1_japan_lac_trade differs from what was kept; made again" in \
        caplog.text
    assert (tmp_path / "c" / "fig1_japan_lac_trade.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "fig1_japan_lac_trade," not in caplog.records[-1].getMessage()
    caplog.clear()
    figures.render_all(db, tmp_path / "c2", cache=cache)  # the new drawing took the damaged one's place
    assert "fig1_japan_lac_trade," in caplog.records[-1].getMessage()
    assert (tmp_path / "c2" / "fig1_japan_lac_trade.png").read_bytes() == \
        (tmp_path / "c" / "fig1_japan_lac_trade.png").read_bytes()

    # another state of a table a chart reads: that chart is drawn, the others are still copied
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(db, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("DELETE FROM figures.fig1_japan_lac_trade WHERE year = (SELECT min(year) FROM "
                    "figures.fig1_japan_lac_trade)")
    caplog.clear()
    figures.render_all(copy, tmp_path / "d", cache=cache)
    copied = caplog.records[-1].getMessage()
    assert "fig2_mexico_auto_plants" in copied and "fig1_japan_lac_trade" not in copied
    assert (tmp_path / "d" / "fig1_japan_lac_trade.svg").read_bytes() != (tmp_path / "a" /
                                                                          "fig1_japan_lac_trade.svg").read_bytes()
    assert len(list((cache / "fig1_japan_lac_trade").iterdir())) == 2


def test_python_dash_m_jlac_is_the_jlac_command():
    """``python -m jlac`` said "No module named jlac.__main__" (found by a QA pass)."""
    done = subprocess.run([sys.executable, "-m", "jlac", "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "refresh" in done.stdout and "serve-sql" in done.stdout


def test_serve_sql_help_names_the_port_default():
    """rich took "[default: JLAC_SQL_PORT, else 5433]" in the option's help for a style tag and printed nothing of it
    (found by a QA pass)."""
    result = CliRunner().invoke(app, ["serve-sql", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "default: JLAC_SQL_PORT, else 5433" in result.output, result.output


def test_revisions_of_a_reporter_that_is_not_utf8_is_one_line(tmp_path):
    """DuckDB's "Python Conversion Failure: cannot encode str as UTF-8" (found by a QA pass); said before the
    warehouse is looked for."""
    result = runner.invoke(app, ["revisions", "--reporter", "\udcff"],
                           env={"JLAC_WAREHOUSE": str(tmp_path / "none.duckdb")})
    assert result.exit_code == 1, result.output
    assert result.output.strip() == ("jlac: JlacError: --reporter is not valid UTF-8: byte 0 is 0xff; give it as "
                                     "UTF-8 text"), result.output


@pytest.mark.parametrize("command", [[], ["refresh"]])
def test_help_shows_no_value_for_a_flag(command):
    """Every flag showed a type, `--verbose -v <bool>`, as if it took a value (found by a QA pass)."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output, result.output
    flags = {"--verbose", "--help"} if not command else {"--fetch", "--full", "--help"}
    for line in result.output.splitlines():
        words = line.strip("│ ").split()
        if words and words[0] in flags:
            assert not any(w.startswith("<") for w in words), line
    if command:  # an option that takes a value still shows its type
        assert "--source" in result.output and "<list[str]>" in result.output, result.output


def test_a_file_where_the_build_folder_goes_is_named_before_prefect_starts(tmp_path):
    """A file named .build in the warehouse's folder was "FileExistsError: File exists: .../.build" from inside the
    run (found by a QA pass)."""
    (tmp_path / "wh").mkdir()
    (tmp_path / "wh" / ".build").write_text("not a folder", encoding="utf-8")
    result = runner.invoke(app, ["refresh", "--offline"], env={"JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb")})
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    build = tmp_path / "wh" / ".build"
    assert f"the build folder {build}: {build} is a file, so no folder" in said
    assert "Traceback" not in result.output and "Starting temporary server" not in result.output


def test_an_output_that_cannot_be_written_is_named(warehouse_env, tmp_path):
    """`jlac sql ... > file` on a full disk or past a file size limit: a bare "jlac: OSError: File too large" named
    nothing, or the result was cut short with exit 0 (found by a QA pass). RLIMIT_FSIZE makes the write fail for
    real, in a child process."""
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))

    env = {**os.environ, **warehouse_env}
    # 1,100 rows (5 KB) just past the limit: Python's own stdout wrote 4,096 bytes, dropped the rest and exited 0
    for fmt, rows in (("csv", 1_100), ("json", 1_100), ("csv", 200_000), ("table", 200_000)):
        with (tmp_path / f"out.{fmt}").open("wb") as target:
            done = subprocess.run([sys.executable, "-m", "jlac.cli", "sql", "-f", fmt, f"SELECT * FROM range({rows})"],
                                  env=env, stdout=target, stderr=subprocess.PIPE, text=True, timeout=120,
                                  preexec_fn=limited)
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines()[-1] == ("jlac: OSError: File too large: standard output (where the "
                                                        "result is written)"), done.stderr
        assert "Traceback" not in done.stderr
