"""Comtrade classic HS 27 / HS 44 bulk files: parser, staging, mart and Japan's fuel and wood imports from CELAC,
against the real mirror files (a snapshot of the 2017 and 1995 files, linked in place), and failure paths."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest
from conftest import failed_checks, scratch_build, write_manifest
from jlac import countries, transform
from jlac.config import Settings
from jlac.countries import CELAC
from jlac.errors import ParseError
from jlac.snapshots import load_snapshot
from jlac.sources import get_source

SOURCE = "comtrade-classic-hs27-hs44"
VINTAGE = "2020-09-15"
FILES = ("oil/processed_data_1995.csv", "oil/processed_data_2017.csv", "wood/processed_data_2017.csv")
MODELS = ["stg_comtrade_classic_hs27_hs44__trade", "fct_trade_commodity_annual", "japan_lac_fuel_wood_imports"]


def subset(tmp_path, mirror, files=FILES):
    """A snapshot of some of the mirror's files (symlinked: read in place, never copied)."""
    vintage = tmp_path / SOURCE / VINTAGE
    for f in files:
        (vintage / f).parent.mkdir(parents=True, exist_ok=True)
        (vintage / f).symlink_to(mirror / SOURCE / VINTAGE / f)
    write_manifest(vintage, SOURCE)
    return load_snapshot(vintage)


@pytest.fixture(scope="module")
def built(tmp_path_factory, mirror):
    home = tmp_path_factory.mktemp("ct")
    snap = subset(home, mirror)
    path = home / "models.duckdb"
    con = duckdb.connect(str(path))
    get_source(SOURCE).parse(snap, con).create_view("parsed")
    for schema in ("raw", "staging", "marts", "figures"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"CREATE TABLE raw.comtrade_classic_hs27_hs44 AS SELECT *, '{VINTAGE}' AS vintage FROM parsed")
    # dim_country comes from the whole build, which holds every ISO code (countries.iso_rows): the relationships
    # tests read it; the figure needs only its CELAC flag.
    codes = sorted({r[2] for r in countries.iso_rows()})
    con.execute("CREATE TABLE marts.dim_country AS SELECT iso3, list_contains($2::VARCHAR[], iso3) AS is_celac "
                "FROM (SELECT unnest($1::VARCHAR[]) AS iso3)", [codes, sorted(CELAC)])
    con.close()
    settings = Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "store", mirrors=(), output=home / "o")
    transform.build(path, settings, select=MODELS)  # dbt build: these three models and their tests
    return duckdb.connect(str(path))


def one(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_raw_rows_match_the_files(built):
    # grep ',392,Japan,JPN,170,Colombia,COL,27,' oil/processed_data_2017.csv: Import ... 0,0,398624697,4
    assert one(built, "SELECT trade_value_usd, netweight_kg, flag, classification FROM raw.comtrade_classic_hs27_hs44 "
               "WHERE file = 'oil/processed_data_2017.csv' AND reporter_code = 392 AND partner_code = 170 "
               "AND trade_flow_code = 1") == [(398624697.0, 0.0, "4", "H5")]
    # wc -l: 1995 oil 14,556 + 2017 oil 13,706 + 2017 wood 16,617 rows (less the headers)
    counts = dict(one(built, "SELECT file, count(*) FROM raw.comtrade_classic_hs27_hs44 GROUP BY file"))
    assert counts["oil/processed_data_2017.csv"] == 17409 and counts["wood/processed_data_2017.csv"] == 20844
    # Partners without ISO: World and Comtrade's non-geographic entries stay NULL
    assert one(built, "SELECT DISTINCT partner_iso3 FROM raw.comtrade_classic_hs27_hs44 "
               "WHERE partner_name IN ('World', 'Other Asia, nes', 'Bunkers')") == [(None,)]


def test_mart_japan_imports_hs27_and_hs44(built):
    mart = dict(((c, p), v) for c, p, v in one(
        built, "SELECT hs_chapter, partner_iso3, value_usd FROM marts.fct_trade_commodity_annual "
        "WHERE reporter_iso3 = 'JPN' AND flow = 'import' AND year = 2017"))
    # oil/processed_data_2017.csv: Japan imports from Mexico 781,662,781; Peru 209,034,544
    assert mart[("27", "MEX")] == 781662781 and mart[("27", "PER")] == 209034544
    # wood/processed_data_2017.csv: Japan imports from Chile 439,511,524; Brazil 113,903,949
    assert mart[("44", "CHL")] == 439511524 and mart[("44", "BRA")] == 113903949
    flows = {r[0] for r in one(built, "SELECT DISTINCT flow FROM marts.fct_trade_commodity_annual")}
    assert flows == {"import", "export"}  # re-exports and re-imports are parts of them, left out
    assert one(built, "SELECT count(*) FROM marts.fct_trade_commodity_annual WHERE partner_iso3 IS NULL") == [(0,)]


def test_figure_has_japan_and_mirror_flows(built):
    rows = {(c, p): (j, m) for c, p, j, m in one(
        built, "SELECT hs_chapter, partner_iso3, japan_imports_usd_m, mirror_exports_usd_m "
        "FROM figures.japan_lac_fuel_wood_imports WHERE year = 2017")}
    # Colombia: Japan reports 398,624,697 of HS 27 imports; Colombia reports 163,889,473 of exports to Japan
    assert rows[("27", "COL")] == (398.625, 163.889)
    # Chile, wood: Japan 439,511,524 imported; Chile 306,614,362 exported to Japan
    assert rows[("44", "CHL")] == (439.512, 306.614)
    total = one(built, "SELECT sum(japan_imports_usd_m) FROM figures.japan_lac_fuel_wood_imports "
                "WHERE year = 2017 AND hs_chapter = '44' AND partner_iso3 <> 'CELAC'")[0][0]
    assert rows[("44", "CELAC")][0] == pytest.approx(total, abs=0.01)
    assert one(built, "SELECT DISTINCT year FROM figures.japan_lac_fuel_wood_imports ORDER BY 1") == [(1995,), (2017,)]


def test_changed_header_is_an_error(tmp_path, mirror):
    vintage = tmp_path / SOURCE / VINTAGE / "oil"
    vintage.mkdir(parents=True)
    text = (mirror / SOURCE / VINTAGE / "oil/processed_data_1988.csv").read_text(encoding="utf-8-sig")
    (vintage / "processed_data_1988.csv").write_text(text.replace("Trade Value (US$)", "Trade Value"), encoding="utf-8")
    write_manifest(vintage.parent, SOURCE)
    with pytest.raises(ParseError, match=r"oil/processed_data_1988.csv: header column \d+ is .*the 22 legacy"):
        get_source(SOURCE).parse(load_snapshot(vintage.parent), duckdb.connect())


def test_text_in_a_value_names_file_reporter_and_partner(tmp_path, mirror):
    vintage = tmp_path / SOURCE / VINTAGE / "wood"
    vintage.mkdir(parents=True)
    lines = (mirror / SOURCE / VINTAGE / "wood/processed_data_1988.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = lines[5].rsplit(",", 2)
    lines[5] = f"{cells[0]},n/a,{cells[2]}"
    (vintage / "processed_data_1988.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_manifest(vintage.parent, SOURCE)
    with pytest.raises(ParseError, match=r"wood/processed_data_1988.csv reporter '.+' partner .+ \(\w*\).*"
                       r"trade_value_usd='n/a'"):
        get_source(SOURCE).parse(load_snapshot(vintage.parent), duckdb.connect())


def test_a_file_outside_the_layout_is_an_error(tmp_path):
    vintage = tmp_path / SOURCE / VINTAGE
    vintage.mkdir(parents=True)
    (vintage / "fuel_2017.csv").write_text("x\n", encoding="utf-8")
    write_manifest(vintage, SOURCE)
    with pytest.raises(ParseError, match=r"not oil\|wood/processed_data_<YYYY>.csv"):
        get_source(SOURCE).parse(load_snapshot(vintage), duckdb.connect())


def _validate(tmp_path, snapshot):
    """The source's validation of ``snapshot`` on a scratch build file: the failed suites."""
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out", cache=tmp_path / "cache")
    source = get_source(SOURCE)
    db = scratch_build(tmp_path / f"build-{snapshot.vintage}-{len(snapshot.files)}.duckdb", source, snapshot, settings)
    return failed_checks(db, source, snapshot, settings)


def test_a_listed_file_with_only_its_header_is_refused_naming_it(tmp_path, mirror):
    """A new year's file that holds only its header parses (no row to refuse) but adds nothing: validation refuses
    the vintage naming that file, not only a count of the files that did contribute."""
    snapshot = subset(tmp_path, mirror, files=FILES[1:])  # 2017, both chapters: Japan reports both
    assert _validate(tmp_path, snapshot) == []
    vintage = tmp_path / SOURCE / VINTAGE
    header = (mirror / SOURCE / VINTAGE / FILES[1]).read_text(encoding="utf-8-sig").splitlines()[0]
    (vintage / "oil/processed_data_2018.csv").write_text("\ufeff" + header + "\r\n", encoding="utf-8")
    write_manifest(vintage, SOURCE)
    failed = _validate(tmp_path, load_snapshot(vintage))
    assert [r.suite for r in failed] == [f"{SOURCE}: every file listed contributes rows (3 listed)"]
    details = " ".join(o.details for o in failed[0].outcomes)
    assert "observed 1" in details and "{'file_without_rows': 'oil/processed_data_2018.csv'}" in details


def test_codes_written_with_blanks_around_are_read_trimmed(tmp_path, mirror):
    """A QA pass: the partner code 'WLD ' (a trailing blank) was read as the ISO code 'WLD' and refused by the checks
    ("reporter and partner ISO codes are ISO 3166"); a flag '0 ' would have marked the row an estimate. Codes, flags
    and names are read trimmed: the same rows as the file without the blanks."""
    subset(tmp_path, mirror, files=FILES[2:])  # wood 2017 read in place; oil 2017 written with blanks
    vintage = tmp_path / SOURCE / VINTAGE
    rows = list(csv.reader(io.StringIO((mirror / SOURCE / VINTAGE / FILES[1]).read_text(encoding="utf-8-sig"))))
    for row in rows[1:]:
        for c in ("Reporter ISO", "Partner ISO", "Commodity Code", "Flag", "Classification", "Partner"):
            row[rows[0].index(c)] += " "
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    (vintage / FILES[1]).parent.mkdir(parents=True, exist_ok=True)
    (vintage / FILES[1]).write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    assert ",WLD ,27 ," in (vintage / FILES[1]).read_text(encoding="utf-8-sig")
    write_manifest(vintage, SOURCE)
    snapshot = load_snapshot(vintage)
    rel = get_source(SOURCE).parse(snapshot, duckdb.connect())
    # oil/processed_data_2017.csv: ',392,Japan,JPN,0,World,WLD,27,' Import ... 141466175733,4; Colombia 398624697,4
    assert rel.filter("file = 'oil/processed_data_2017.csv' AND reporter_code = 392 AND trade_flow_code = 1 "
                      "AND partner_code IN (0, 170)").order("partner_code").project(
        "partner_name, partner_iso3, reporter_iso3, commodity_code, flag, classification, trade_value_usd"
    ).fetchall() == [("World", None, "JPN", "27", "4", "H5", 141466175733.0),
                     ("Colombia", "COL", "JPN", "27", "4", "H5", 398624697.0)]
    assert _validate(tmp_path, snapshot) == []
