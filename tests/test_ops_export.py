"""Parquet export of marts and figures: every table, the same rows, year partitions for large tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from jlac.cli import app
from jlac.errors import JlacError
from jlac.ops.export import export_parquet
from typer.testing import CliRunner


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "jlac.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA figures; CREATE SCHEMA raw")
    con.execute("CREATE TABLE marts.fct_trade AS SELECT range AS id, 2000 + range % 5 AS year, range * 1.5 AS usd "
                "FROM range(500)")
    con.execute("CREATE TABLE marts.dim_country AS SELECT * FROM (VALUES ('BRA', 'Brazil'), ('MEX', 'Mexico')) "
                "t(iso3, name)")
    con.execute("CREATE TABLE figures.fig1 AS SELECT year, sum(usd) AS usd, sum(id) AS id_total FROM marts.fct_trade "
                "GROUP BY year")  # sum of integers: HUGEINT
    con.execute("CREATE TABLE raw.imf_dots AS SELECT 1 AS secret")
    # a view, as the HS-9 facts are (over raw Parquet partitions): exported with its rows
    con.execute("CREATE VIEW marts.fct_trade_by_year AS SELECT year, count(*) AS n FROM marts.fct_trade GROUP BY year")
    con.close()
    return path


def test_every_mart_and_figure_table_is_written_with_its_rows(warehouse, tmp_path):
    out = tmp_path / "parquet"
    done = {e.table: e for e in export_parquet(warehouse, out)}
    assert set(done) == {"marts.fct_trade", "marts.dim_country", "marts.fct_trade_by_year",
                         "figures.fig1"}  # raw.* is not exported
    # the provenance of the data goes with it when the warehouse has it: the files carried no license (QA pass)
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA meta; CREATE TABLE meta.snapshot_origins AS SELECT 'comtrade-v1' AS source, "
                "'UN Comtrade terms of use (attribution; redistribution restricted)' AS license")
    con.execute("CREATE TABLE meta.runs AS SELECT 1 AS run_id")
    con.close()
    done = {e.table: e for e in export_parquet(warehouse, out)}
    assert set(done) == {"marts.fct_trade", "marts.dim_country", "marts.fct_trade_by_year", "figures.fig1",
                         "meta.snapshot_origins"}  # not the run records
    assert duckdb.connect().execute(f"SELECT license FROM '{out}/meta/snapshot_origins.parquet'").fetchall() == [
        ("UN Comtrade terms of use (attribution; redistribution restricted)",)]
    assert duckdb.connect().execute(f"SELECT sum(n), count(*) FROM '{out}/marts/fct_trade_by_year.parquet'"
                                    ).fetchone() == (500, 5)
    con = duckdb.connect()
    rows, usd = con.execute(f"SELECT count(*), sum(usd) FROM '{out}/marts/fct_trade.parquet'").fetchone()
    assert (rows, float(usd)) == (500, 187_125.0)  # 1.5 * (0 + 1 + ... + 499)
    assert con.execute(f"SELECT * FROM '{out}/marts/dim_country.parquet' ORDER BY 1").fetchall() == [
        ("BRA", "Brazil"), ("MEX", "Mexico")]
    assert done["figures.fig1"].rows == 5 and done["figures.fig1"].partitioned_by is None
    # a HUGEINT stays an integer (DuckDB alone writes it to Parquet as DOUBLE)
    assert con.execute(f"SELECT typeof(id_total), sum(id_total) FROM '{out}/figures/fig1.parquet' GROUP BY 1"
                       ).fetchall() == [("BIGINT", 124_750)]


def test_large_tables_are_partitioned_by_year_and_a_second_export_replaces_the_first(warehouse, tmp_path, caplog):
    out = tmp_path / "parquet"
    done = {e.table: e for e in export_parquet(warehouse, out, partition_rows=100)}
    assert done["marts.fct_trade"].partitioned_by == "year"
    assert sorted(p.name for p in (out / "marts" / "fct_trade").iterdir()) == [f"year={y}" for y in range(2000, 2005)]
    con = duckdb.connect()
    glob = f"{out}/marts/fct_trade/*/*.parquet"
    assert con.execute(f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true) WHERE year = 2003"
                       ).fetchone() == (100,)
    # below the threshold again: the folder gives way to a single file, no stale partitions left behind, and said
    # (a BI connection to the old path breaks: it was silent, found by a QA pass)
    with caplog.at_level("WARNING", logger="jlac.ops.export"):
        export_parquet(warehouse, out)
    assert (out / "marts" / "fct_trade.parquet").is_file() and not (out / "marts" / "fct_trade").exists()
    assert (f"marts.fct_trade: 500 rows, now one file {out / 'marts' / 'fct_trade.parquet'} (--partition-rows "
            f"1,000,000); the earlier export's {out / 'marts' / 'fct_trade'} is removed") in caplog.text
    assert not [p for p in (out / "marts").iterdir() if p.name.startswith(".")]


def test_each_file_carries_its_tables_and_columns_comments(warehouse, tmp_path):
    """Found by a QA pass: the Parquet files carried no COMMENTs, so a BI tool reading them had the columns without
    their meaning. Each file's key-value metadata holds the table's comment and its columns' (JSON), a year
    partition's files too; a quote, a non-ASCII letter and a column without a comment come through."""
    import json

    con = duckdb.connect(str(warehouse))
    con.execute("COMMENT ON TABLE marts.dim_country IS 'Countries: ISO3 codes and names (''CELAC'' flags, São Tomé)'")
    con.execute("COMMENT ON COLUMN marts.dim_country.iso3 IS 'ISO 3166-1 alpha-3 code'")
    con.execute("COMMENT ON TABLE marts.fct_trade IS 'Trade by year'")
    con.execute("COMMENT ON COLUMN marts.fct_trade.usd IS 'Value, US$'")
    con.execute("COMMENT ON VIEW marts.fct_trade_by_year IS 'Rows of fct_trade per year'")
    con.close()
    out = tmp_path / "parquet"
    export_parquet(warehouse, out, partition_rows=100)  # fct_trade (500 rows) in year folders

    def metadata(glob: str) -> list[dict]:
        rows = duckdb.connect().execute(f"SELECT file_name, decode(key), decode(value) FROM parquet_kv_metadata("
                                        f"'{out}/{glob}') ORDER BY 1").fetchall()
        files: dict[str, dict] = {}
        for name, key, value in rows:
            files.setdefault(name, {})[key] = value
        return list(files.values())

    [country] = metadata("marts/dim_country.parquet")
    assert country["table_comment"] == "Countries: ISO3 codes and names ('CELAC' flags, São Tomé)"
    assert json.loads(country["column_comments"]) == {"iso3": "ISO 3166-1 alpha-3 code", "name": None}
    years = metadata("marts/fct_trade/*/*.parquet")
    assert len(years) == 5 and all(m["table_comment"] == "Trade by year" for m in years)
    assert {json.loads(m["column_comments"])["usd"] for m in years} == {"Value, US$"}
    [view] = metadata("marts/fct_trade_by_year.parquet")
    assert view["table_comment"] == "Rows of fct_trade per year"
    [fig1] = metadata("figures/fig1.parquet")  # no COMMENT: said empty, every column listed
    assert fig1["table_comment"] == "" and json.loads(fig1["column_comments"]) == {
        "year": None, "usd": None, "id_total": None}


def test_no_warehouse_or_no_marts_is_an_error_that_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no published warehouse yet"):
        export_parquet(tmp_path / "missing.duckdb", tmp_path / "out")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(LookupError, match="no tables in schemas marts, figures"):
        export_parquet(empty, tmp_path / "out")


def test_a_file_that_is_not_a_warehouse_is_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "jlac.duckdb"
    bad.write_text("not a database")
    with pytest.raises(JlacError, match=r"jlac.duckdb cannot be read \(.*\): every reading command fails "
                                        r"on it \(a running SQL endpoint keeps serving the copy it loaded\); "
                                        r".*the next `jlac refresh` builds and publishes a new one; nothing was "
                                        r"exported"):
        export_parquet(bad, tmp_path / "out")
    result = CliRunner().invoke(app, ["export", "parquet", str(tmp_path / "out")], env={"JLAC_WAREHOUSE": str(bad)})
    assert result.exit_code == 1 and "cannot be read" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_an_output_that_is_a_file_is_one_line(warehouse, tmp_path):
    """`jlac export parquet afile` printed a warning about its record, then NotADirectoryError (found by a QA pass)."""
    afile = tmp_path / "afile"
    afile.write_text("the user's file")
    result = CliRunner().invoke(app, ["export", "parquet", str(afile)], env={"JLAC_WAREHOUSE": str(warehouse)})
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and "afile is a file; export writes a folder" in lines[0], lines
    assert afile.read_text() == "the user's file"


def test_an_output_below_a_file_names_the_file_in_one_line(warehouse, tmp_path):
    """`jlac export parquet afile/sub` warned that afile/sub/.jlac-export.json was no record of jlac's exports, then
    ended in NotADirectoryError (found by a QA pass)."""
    afile = tmp_path / "afile"
    afile.write_text("the user's file")
    result = CliRunner().invoke(app, ["export", "parquet", str(afile / "sub" / "deeper")],
                                env={"JLAC_WAREHOUSE": str(warehouse), "COLUMNS": "300"})
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"jlac: JlacError: {afile} is a file; export writes a folder"), lines
    assert "WARNING" not in result.output and afile.read_text() == "the user's file"


@pytest.mark.parametrize("where", ["JLAC_SNAPSHOTS", "JLAC_MIRROR"])
def test_an_export_into_the_snapshots_is_refused(warehouse, tmp_path, where):
    """An export into the snapshot store or a mirror made every later command warn that its folders had no
    SNAPSHOT.yml (found by a QA pass)."""
    root = tmp_path / "snaps"
    (root / "fred-exjpus").mkdir(parents=True)
    outdir = root / "fred-exjpus"
    env = {"JLAC_WAREHOUSE": str(warehouse), where: str(root), "COLUMNS": "300"}
    result = CliRunner().invoke(app, ["export", "parquet", str(outdir)], env=env)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 1 and len(lines) == 1, lines
    assert f"{outdir} is inside the snapshots at {root} ({where}), which hold only source snapshots" in lines[0]
    assert list(outdir.iterdir()) == []


def test_a_table_that_fails_to_export_keeps_its_previous_files_and_leaves_no_half_file(warehouse, tmp_path):
    # a view over a Parquet file (as the HS-9 facts are over partitions) exports while the file is there ...
    part = tmp_path / "part.parquet"
    duckdb.connect().execute(f"COPY (SELECT 2001 AS year, 7 AS n) TO '{part}' (FORMAT parquet)")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"CREATE VIEW marts.fct_parts AS SELECT * FROM read_parquet('{part}')")
    out = tmp_path / "it's out"  # a quote in the folder's name is part of the path, not the end of SQL text
    export_parquet(warehouse, out)
    before = (out / "marts" / "fct_parts.parquet").read_bytes()
    # ... and fails, naming itself, once the file is gone; what it had exported stays as it was
    part.unlink()
    with pytest.raises(JlacError, match=r"export of marts.fct_parts into .* failed: IO Error.*written before it in "
                                         r"this run: figures.fig1, marts.dim_country$"):
        export_parquet(warehouse, out)
    assert (out / "marts" / "fct_parts.parquet").read_bytes() == before
    assert not [p for p in (out / "marts").iterdir() if p.name.startswith(".")]


def test_the_export_of_a_table_the_warehouse_no_longer_has_is_removed(warehouse, tmp_path):
    out = tmp_path / "parquet"
    export_parquet(warehouse, out, partition_rows=100)  # fct_trade partitioned by year (a folder)
    (out / "marts" / "notes.txt").write_text("mine", encoding="utf-8")  # not an export: left alone
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP VIEW marts.fct_trade_by_year; DROP TABLE marts.fct_trade; DROP TABLE figures.fig1")
    done = export_parquet(warehouse, out, partition_rows=100)
    assert [e.table for e in done] == ["marts.dim_country"]
    assert sorted(p.name for p in (out / "marts").iterdir()) == ["dim_country.parquet", "notes.txt"]
    assert list((out / "figures").iterdir()) == []


def test_the_users_own_files_in_the_folder_are_never_removed(warehouse, tmp_path):
    """Found by a QA pass: an export removed every Parquet file and year-partitioned folder it had not just written
    under marts/ and figures/, the user's own analysis included, without a word. Only what an earlier export wrote
    (its record, .jlac-export.json) is removed when its table is gone."""
    out = tmp_path / "parquet"
    mine = out / "marts" / "my_own_analysis.parquet"
    mine.parent.mkdir(parents=True)
    duckdb.connect().execute(f"COPY (SELECT 42 AS x) TO '{mine}' (FORMAT parquet)")
    part = out / "figures" / "my_part" / "year=2020" / "a.parquet"
    part.parent.mkdir(parents=True)
    part.write_bytes(mine.read_bytes())
    export_parquet(warehouse, out, partition_rows=100)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP TABLE figures.fig1")
    export_parquet(warehouse, out, partition_rows=100)
    assert mine.is_file() and part.is_file()
    assert not (out / "figures" / "fig1.parquet").exists()  # jlac's own export of a dropped table: removed
    # a record that is not jlac's (damaged, or pointing out of the folder) removes nothing
    (out / ".jlac-export.json").write_text('{"written": ["../../x", "marts/my_own_analysis.parquet/.."]}')
    export_parquet(warehouse, out, partition_rows=100)
    assert mine.is_file() and (tmp_path / "parquet").is_dir()
    (out / ".jlac-export.json").write_text("not json")
    export_parquet(warehouse, out, partition_rows=100)
    assert mine.is_file() and part.is_file()


def test_an_export_made_before_the_record_existed_is_not_left_in_its_other_layout(warehouse, tmp_path):
    """Found by a review: the other layout of a table (year folders, or one file) was removed only when the record
    listed it, so a folder exported by an older jlac kept both, and a reader found the table twice."""
    out = tmp_path / "parquet"
    export_parquet(warehouse, out, partition_rows=100)  # fct_trade as year folders
    (out / ".jlac-export.json").unlink()  # as an export made before the record
    export_parquet(warehouse, out)  # now one file
    assert (out / "marts" / "fct_trade.parquet").is_file() and not (out / "marts" / "fct_trade").exists()


def test_a_folder_that_cannot_be_made_is_named(warehouse):
    """`jlac export parquet /proc/nope` printed a bare FileNotFoundError (found by a QA pass)."""
    with pytest.raises(JlacError, match=r"the export folder /proc/nope/\w+ cannot be made \(No such file or "
                                        r"directory\)"):
        export_parquet(warehouse, Path("/proc/nope"))


def test_two_exports_of_the_same_warehouse_are_the_same_bytes(tmp_path):
    """A year-partitioned table written on several threads came out with each year's rows in another order every
    time: two exports of one warehouse differed in every file, and a file-sync tool copied them all again (found by
    a QA pass). The table has many row groups, so that more than one thread has work."""
    import hashlib

    path = tmp_path / "jlac.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA figures")
        con.execute("CREATE TABLE marts.fct_big AS SELECT range AS id, 1990 + range % 30 AS year, hash(range) % 997 "
                    "AS partner, range * 0.25 AS usd FROM range(2_000_000)")

    def digests(out: Path) -> dict[str, str]:
        export_parquet(path, out, partition_rows=1000)
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*.parquet"))}

    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert len(first) == 30 and first == second
