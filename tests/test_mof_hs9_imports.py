"""MOF's annual HS-9 import files: parser, staging, the MOF totals mart and the Figure 1 import cross-check,
against sums computed here from the real mirror files with the csv module (not with jlac's reader)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import JAPAN_WORKBOOK, failed_checks, scratch_build, write_manifest
from jlac import parse
from jlac.config import Settings
from jlac.errors import ParseError
from jlac.snapshots import latest_snapshot
from jlac.sources import all_sources
from trade_helpers import build_models, fred_annual_rate

HS9 = "mof-hs9-imports"


@pytest.fixture(scope="module")
def hs9_dir(mirror) -> Path:
    return next((mirror / HS9).iterdir())


def _sum_value_year(path: Path) -> tuple[int, int]:
    """(sum of Value-Year, HS-9 lines) of one file, read with the csv module."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return sum(int(r["Value-Year"]) for r in rows), len(rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, mirror):
    """raw tables of the HS-9 files, FRED, MOF country codes and the Japan DOTS workbook; models run on them."""
    home = tmp_path_factory.mktemp("hs9")
    small = home / "mirror"
    for name in (HS9, "fred-exjpus", "japan-customs-country-codes"):
        (small / name).mkdir(parents=True)
        (small / name / next((mirror / name).iterdir()).name).symlink_to(next((mirror / name).iterdir()))
    dots = small / "imf-dots" / "2022-02-02"
    dots.mkdir(parents=True)
    shutil.copy(JAPAN_WORKBOOK, dots / "DOTS_101.xlsx")
    write_manifest(dots, "imf-dots")
    settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "store", mirrors=(small,),
                        output=home / "out")
    con = build_models(settings, ["figures.fig1_japan_totals_crosscheck"])
    yield con
    con.close()


def test_raw_rows_match_the_files(warehouse, hs9_dir):
    total, lines = _sum_value_year(hs9_dir / "ik-110h2018i001.csv")
    assert (total, lines) == (82_703_304_395, 8018)  # thousand yen; looked up once, recomputed each run
    got = warehouse.execute(
        "SELECT sum(value_jpy_thousand), count(*), count(DISTINCT flow) FROM raw.mof_hs9_imports WHERE year = 2018"
    ).fetchone()
    assert got == (total, lines, 1)
    # HS codes lose their apostrophes; the first line of 2018 is '000000011' with Value-Year 688469
    assert warehouse.execute(
        "SELECT flow, unit2, value_jpy_thousand FROM raw.mof_hs9_imports WHERE year = 2018 AND hs9 = '000000011'"
    ).fetchall() == [("import", "KG", 688_469)]
    # 2009-2016 spell April 'Apl': read by position, so the months still add up to the year
    assert warehouse.execute(
        "SELECT count(DISTINCT year), count(*) FILTER (WHERE value_months_jpy_thousand <> value_jpy_thousand) "
        "FROM raw.mof_hs9_imports"
    ).fetchone() == (16, 0)


def test_mof_totals_mart_in_yen_and_dollars(warehouse, hs9_dir, mirror):
    rate = fred_annual_rate(mirror, 2018)
    assert rate == pytest.approx(110.4308, abs=1e-4)
    total, _ = _sum_value_year(hs9_dir / "ik-110h2018i001.csv")
    row = warehouse.execute(
        "SELECT value_jpy, jpy_per_usd, value_usd, vintage FROM marts.fct_japan_trade_totals_mof "
        "WHERE source = 'mof-hs9-imports' AND year = 2018 AND flow = 'import'"
    ).fetchone()
    assert row[0] == total * 1000 and row[1] == pytest.approx(rate) and row[3] == hs9_dir.name
    assert row[2] == pytest.approx(total * 1000 / rate)  # 748.9 US$ bn
    years = warehouse.execute(
        "SELECT min(year), max(year), count(*) FROM marts.fct_japan_trade_totals_mof WHERE source = 'mof-hs9-imports'"
    ).fetchone()
    assert years == (2009, 2024, 16)


def test_crosscheck_against_imf_dots(warehouse):
    rows = {r[0]: r for r in warehouse.execute("SELECT * FROM figures.fig1_japan_totals_crosscheck").fetchall()}
    # DOTS_101.xlsx, sheet 'Imports, CIF', row 9 (World), column 2018: 748334.896086 US$ m
    year, jpy_bn, rate, mof_bn, imf_bn, diff = rows[2018]
    assert jpy_bn == 82703.304 and mof_bn == 748.915 and imf_bn == 748.335
    assert diff == pytest.approx(100 * (82_703_304_395e3 / rate - 748_334.896086e6) / 748_334.896086e6, abs=2e-3)
    assert all(abs(r[5]) < 1 for r in rows.values() if r[5] is not None)  # MOF and IMF agree within 1 %
    # past the DOTS mirror (2020) only MOF has Japan's imports
    assert rows[2024][4] is None and rows[2024][3] == pytest.approx(743.169, abs=1e-3)


def test_changed_header_names_file_and_column(tmp_path, hs9_dir):
    vintage = tmp_path / HS9 / "2099-01-01"
    vintage.mkdir(parents=True)
    text = (hs9_dir / "ik-110h2018i001.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (vintage / "ik-110h2018i001.csv").write_text(
        text[0].replace("Value-Year", "Value-Total") + "".join(text[1:3]), encoding="utf-8"
    )
    write_manifest(vintage, HS9)
    settings = Settings(warehouse=tmp_path / "w.duckdb", snapshots=tmp_path / "s", mirrors=(tmp_path,),
                        output=tmp_path / "o")
    snap = latest_snapshot(HS9, settings)
    expected = r"ik-110h2018i001.csv: header column 8 is 'Value-Total', expected 'Value-Year'"
    with pytest.raises(ParseError, match=expected):
        all_sources()[HS9].parse(snap, duckdb.connect())


def test_a_quoted_header_is_read_cell_by_cell(tmp_path, hs9_dir):
    """Every header cell quoted reads as the plain header; a quoted cell holding a comma is one cell, named whole."""
    vintage = tmp_path / HS9 / "2099-01-01"
    vintage.mkdir(parents=True)
    text = (hs9_dir / "ik-110h2018i001.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    quoted = ",".join(f'"{c}"' for c in text[0].rstrip("\r\n").split(",")) + "\n"
    (vintage / "ik-110h2018i001.csv").write_text(quoted + "".join(text[1:3]), encoding="utf-8")
    write_manifest(vintage, HS9)
    settings = Settings(warehouse=tmp_path / "w.duckdb", snapshots=tmp_path / "s", mirrors=(tmp_path,),
                        output=tmp_path / "o")
    assert all_sources()[HS9].parse(latest_snapshot(HS9, settings), duckdb.connect()).count("*").fetchall() == [(2,)]

    (vintage / "ik-110h2018i001.csv").write_text(quoted.replace('"Year"', '"Year, calendar"') + "".join(text[1:3]),
                                                 encoding="utf-8")
    write_manifest(vintage, HS9)
    expected = (r"ik-110h2018i001.csv: header column 2 is 'Year, calendar', expected 'Year' "
                r"\(44 columns, expected 44\)")
    with pytest.raises(ParseError, match=expected):
        all_sources()[HS9].parse(latest_snapshot(HS9, settings), duckdb.connect())


@pytest.mark.parametrize("crlf", ["ik-110h2017i001.csv", "ik-110h2018i001.csv"])
def test_a_file_with_other_line_endings_is_read_whole(tmp_path, hs9_dir, crlf):
    """Two years, one re-saved with Windows line endings (first or second in the list): every line of both is read.
    Read in one DuckDB read_csv over the list, the file whose line endings differed from the first's gave no row
    and the year left the warehouse without a word (found by a QA pass)."""
    vintage = tmp_path / HS9 / "2099-01-01"
    vintage.mkdir(parents=True)
    for name in ("ik-110h2017i001.csv", "ik-110h2018i001.csv"):
        data = (hs9_dir / name).read_bytes()
        assert b"\r\n" not in data  # the mirror's files end lines with LF
        (vintage / name).write_bytes(data.replace(b"\n", b"\r\n") if name == crlf else data)
    write_manifest(vintage, HS9)
    con = duckdb.connect()
    rel = all_sources()[HS9].parse(latest_snapshot(HS9, Settings(
        warehouse=tmp_path / "w.duckdb", snapshots=tmp_path / "s", mirrors=(tmp_path,), output=tmp_path / "o")), con)
    got = {y: (v, n) for y, v, n in rel.aggregate("year, sum(value_jpy_thousand), count(*)", "year").fetchall()}
    assert got == {2017: _sum_value_year(hs9_dir / "ik-110h2017i001.csv"),
                   2018: _sum_value_year(hs9_dir / "ik-110h2018i001.csv")}
    assert got[2018] == (82_703_304_395, 8018)


def test_a_year_cut_short_fails_the_checks_naming_its_file(tmp_path, hs9_dir):
    """A year's file with a few lines among whole ones: the checks name it and its count. The total row count of
    the snapshot still passed (16 files of ~8,000 lines against 5,000 a file), hiding a lost year."""
    vintage = tmp_path / HS9 / "2099-01-01"
    vintage.mkdir(parents=True)
    shutil.copy(hs9_dir / "ik-110h2017i001.csv", vintage)
    lines = (hs9_dir / "ik-110h2018i001.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (vintage / "ik-110h2018i001.csv").write_text("".join(lines[:11]), encoding="utf-8")
    write_manifest(vintage, HS9)
    settings = Settings(warehouse=tmp_path / "w.duckdb", snapshots=tmp_path / "s", mirrors=(tmp_path,),
                        output=tmp_path / "o")
    source, snap = all_sources()[HS9], latest_snapshot(HS9, settings)
    failed = failed_checks(scratch_build(tmp_path / "build.duckdb", source, snap, settings), source, snap, settings)
    assert [r.suite for r in failed] == ["mof-hs9-imports: every year's file has at least 5,000 HS-9 lines"]
    assert "'file': 'ik-110h2018i001.csv', 'lines': 10" in " ".join(o.details for o in failed[0].failed)


@pytest.mark.parametrize("value", ["x", "1234.5", "0x1F"])
def test_non_numeric_value_fails(tmp_path, hs9_dir, value):
    vintage = tmp_path / HS9 / "2099-01-01"
    vintage.mkdir(parents=True)
    lines = (hs9_dir / "ik-110h2018i001.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[7] = value  # DuckDB's cast to BIGINT would round 1234.5 and read 0x1F as 31
    (vintage / "ik-110h2018i001.csv").write_text(lines[0] + ",".join(cells), encoding="utf-8")
    write_manifest(vintage, HS9)
    settings = Settings(warehouse=tmp_path / "w.duckdb", snapshots=tmp_path / "s", mirrors=(tmp_path,),
                        output=tmp_path / "o")
    with pytest.raises(ParseError, match=r"ik-110h2018i001.csv line \d+ column Value-Year: expected a whole number"):
        parse.parse_to_cache(settings, all_sources()[HS9], latest_snapshot(HS9, settings))


def test_models_are_documented(warehouse):
    for name in ("staging.stg_mof_hs9_imports__totals", "marts.fct_japan_trade_totals_mof",
                 "figures.fig1_japan_totals_crosscheck"):
        schema, table = name.split(".")
        [(comment,)] = warehouse.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND "
                                         "table_name = ?", [schema, table]).fetchall()
        columns = warehouse.execute("SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = ? "
                                    "AND table_name = ?", [schema, table]).fetchall()
        assert comment and columns and all(c for _, c in columns), (name, columns)
