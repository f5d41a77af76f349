"""e-Stat connector for MOF's HS-9 x country x month table (into mof-hs9-country), against a local server that
answers with the recorded e-Stat envelopes (getStatsList, getMetaInfo) carrying the item labels and codes of the
real import table 0003425294 (as the parsed e-Stat output in api-recordings/estat shows them)."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil

import duckdb
import pytest
import yaml
from conftest import SHARED, failed_checks, scratch_build
from jlac import load, parse, partitions
from jlac.config import get_settings
from jlac.connectors import fetch_all
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot, list_vintages, sha256_file
from jlac.sources import all_sources
from werkzeug import Request, Response

REC = SHARED / "api-recordings" / "estat"
APPID = "estat-appid-9f8e7d6c5b4a"
IMPORTS = "0003425294"  # 品別国別表 imports 2021-25
EXPORTS = "0003425293"  # 品別国別表 exports 2021-25
BOTH = "0003425299"  # a listed 品別国別表 table whose title names 輸出入: no single flow, left out
SUMMARY = "0003425296"  # 概況品別国別表 (SITC summary): not this table, must be left out
OK = {"STATUS": 0, "ERROR_MSG": "正常に終了しました。", "DATE": "2026-11-28T17:00:00.000+09:00"}
MONTHS = ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"]


def items() -> list[dict]:
    """cat02 as in the real table: 100 unit 1, 110 unit 2, 120/130/140 year, then 30 codes a month."""
    out = [{"@code": "100", "@name": "単位1"}, {"@code": "110", "@name": "単位2"}]
    for i, when in enumerate(["合計", *MONTHS]):
        for j, kind in enumerate(["数量1", "数量2", "金額"]):
            out.append({"@code": str(120 + 30 * i + 10 * j), "@name": f"{when}_{kind}"})
    return out


def stats_list() -> dict:
    doc = json.loads((REC / "content_getStatsList.DECODED.json").read_text(encoding="utf-8"))
    doc["GET_STATS_LIST"]["DATALIST_INF"]["TABLE_INF"] = [
        {"@id": IMPORTS, "STATISTICS_NAME": "普通貿易統計 品別国別表 輸入",
         "TITLE": {"@no": "1", "$": "2021年～2025年"}},
        {"@id": SUMMARY, "STATISTICS_NAME": "普通貿易統計 概況品別国別表 輸入", "TITLE": "2021年～2025年"},
    ]
    return doc


def meta(with_months: bool = True, years=(2023, 2024), flow: str = "輸入") -> dict:
    doc = json.loads((REC / "content_getMetaInfo.DECODED.json").read_text(encoding="utf-8"))
    inf = doc["GET_META_INFO"]["METADATA_INF"]
    inf["TABLE_INF"]["STATISTICS_NAME"] = f"普通貿易統計 品別国別表 {flow}"
    inf["CLASS_INF"]["CLASS_OBJ"] = [
        {"@id": "cat01", "@name": f"統計品目表({flow})",
         "CLASS": [{"@code": "081090010", "@name": "081090010"}, {"@code": "270900000", "@name": "270900000"}]},
        {"@id": "cat02", "@name": "統計品目表の数量・金額",
         "CLASS": items() if with_months else items()[:5]},
        {"@id": "area", "@name": "国", "CLASS": [
            {"@code": "50304", "@name": "304_アメリカ合衆国"}, {"@code": "50305", "@name": "305_メキシコ"},
            {"@code": "50410", "@name": "410_ブラジル"}]},
        {"@id": "time", "@name": "時間軸(年次)", "CLASS": [
            {"@code": f"{y}000000", "@name": f"{y}年"} for y in years]},
    ]
    return doc


def v(cat01: str, cat02: str, area: str, time: str, value: str) -> dict:
    return {"@cat01": cat01, "@cat02": cat02, "@area": area, "@time": time, "@unit": "千円", "$": value}


# Brazil's crude (270900000) in 2024: 3,000 in March, 1,234 in May; Mexico's fruit in 2024 and 2023.
PAGES = {
    ("2024000000", "1"): ([v("270900000", "110", "50410", "2024000000", "KL"),
                           v("270900000", "140", "50410", "2024000000", "4,234"),
                           v("270900000", "230", "50410", "2024000000", "3,000")], 4),
    ("2024000000", "4"): ([v("270900000", "290", "50410", "2024000000", "1234"),
                           v("081090010", "140", "50305", "2024000000", "77"),
                           v("081090010", "170", "50305", "2024000000", "77"),
                           v("081090010", "200", "50305", "2024000000", "-")], None),
    ("2023000000", "1"): ([v("081090010", "140", "50305", "2023000000", "5"),
                           v("081090010", "500", "50305", "2023000000", "5")], None),
}


# Mexico's fruit exports, 2023 and 2024 (table EXPORTS)
EXPORT_PAGES = {
    ("2023000000", "1"): ([v("081090010", "140", "50305", "2023000000", "9"),
                           v("081090010", "500", "50305", "2023000000", "9")], None),
    ("2024000000", "1"): ([v("081090010", "140", "50305", "2024000000", "8"),
                           v("081090010", "170", "50305", "2024000000", "8")], None),
}
NO_DATA: set[tuple[str, str]] = set()  # (statsDataId, cdTime) e-Stat answers with STATUS 1 (no data)


def stats_data(request: Request) -> Response:
    table, time = request.args["statsDataId"], request.args["cdTime"]
    if (table, time) in NO_DATA:  # e-Stat's answer to a query without data: STATUS 1, no STATISTICAL_DATA
        body = {"GET_STATS_DATA": {"RESULT": {**OK, "STATUS": 1,
                                              "ERROR_MSG": "正常に終了しましたが、該当データはありませんでした。"},
                                   "PARAMETER": {"STATS_DATA_ID": table}}}
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")
    pages = EXPORT_PAGES if table == EXPORTS else PAGES
    values, nxt = pages[(time, request.args["startPosition"])]
    start = int(request.args["startPosition"])
    total = sum(len(vals) for (t, _), (vals, _) in pages.items() if t == time)
    result_inf = {"TOTAL_NUMBER": total, "FROM_NUMBER": start, "TO_NUMBER": start + len(values) - 1}
    if nxt:
        result_inf["NEXT_KEY"] = nxt
    body = {"GET_STATS_DATA": {"RESULT": OK, "PARAMETER": {"STATS_DATA_ID": table},
                               "STATISTICAL_DATA": {"RESULT_INF": result_inf, "DATA_INF": {"VALUE": values}}}}
    return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")


@pytest.fixture
def env(tmp_path, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", "")
    monkeypatch.setenv("JLAC_ESTAT_URL", httpserver.url_for("/rest/3.0/app"))
    monkeypatch.setenv("JLAC_ESTAT_APPID", APPID)
    for var in ("JLAC_ESTAT_HS9_TABLES", "JLAC_ESTAT_HS9_YEARS", "JLAC_ESTAT_HS9_AREAS"):
        monkeypatch.delenv(var, raising=False)
    return get_settings()


def make(progress=None):
    return HttpClient(retries=1, backoff=0.0, sleep=lambda s: None, progress=progress)


def test_tables_from_the_stats_list_lac_partners_two_years_into_mof_layout(env, httpserver):
    httpserver.expect_request("/rest/3.0/app/json/getStatsList").respond_with_json(stats_list())
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo",
                              query_string={"appId": APPID, "statsDataId": IMPORTS}).respond_with_json(meta())
    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_handler(stats_data)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "new", result.message
    asked = [r.args for r, _ in httpserver.log if r.path.endswith("getStatsData")]
    assert {a["statsDataId"] for a in asked} == {IMPORTS}  # the SITC summary table was left out
    assert {a["cdArea"] for a in asked} == {"50305,50410"}  # MOF's Middle and South America only, not the USA
    assert sorted((a["cdTime"], a["startPosition"]) for a in asked) == sorted(PAGES)
    [snap] = list_vintages("mof-hs9-country", env)
    names = sorted(f.path for f in snap.files)
    assert "hs9-country-2024-imp.csv" in names and "hs9-country-2023-imp.csv" in names
    assert f"estat/{IMPORTS}_2024_p002.json" in names and f"estat/{IMPORTS}_meta.json" in names
    manifest = (snap.root / "SNAPSHOT.yml").read_text()
    assert APPID not in manifest and "appId=***" in manifest
    # the parser of the mirror's MOF files reads what the connector wrote
    source = all_sources()["mof-hs9-country"]
    parts = partitions.parse_all(env, source, snap)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    partitions.load_view(con, source, snap, parts)
    rows = con.execute("SELECT year, hs9, country_code, unit2, value_year, value_m03, value_m05, value_m02, "
                       "value_m12, is_synthetic FROM raw.mof_hs9_country ORDER BY year, hs9").fetchall()
    assert rows == [
        (2023, "081090010", "305", None, 5, 0, 0, 0, 5, False),
        (2024, "081090010", "305", None, 77, 0, 0, 0, 0, False),  # '-' for February means no value
        (2024, "270900000", "410", "KL", 4234, 3000, 1234, 0, 0, False),
    ]


def test_a_table_without_monthly_items_fails_naming_its_labels(env, httpserver, monkeypatch):
    monkeypatch.setenv("JLAC_ESTAT_HS9_TABLES", IMPORTS)
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(meta(with_months=False))
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed"
    assert "table 0003425294: no item for ['Value-Apr'" in result.message and "140=合計_金額" in result.message
    assert APPID not in result.message
    assert list_vintages("mof-hs9-country", env) == []


def test_without_appid_it_is_skipped(env, httpserver, monkeypatch):
    monkeypatch.delenv("JLAC_ESTAT_APPID")
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "skipped" and httpserver.log == []


def _serve(httpserver):
    httpserver.expect_request("/rest/3.0/app/json/getStatsList").respond_with_json(stats_list())
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(meta())
    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_handler(stats_data)


@pytest.mark.parametrize(("value", "says"), [
    ("***", "'***' is a figure e-Stat does not show (confidential?)"),
    ("x", "'x' is a figure e-Stat does not show (confidential?)"),
    ("5.7", "'5.7' is not a whole number"),
    ("N/A", "'N/A' is not a whole number"),
    ("１２３", "'１２３' is not a whole number"),  # full-width digits: str.isdigit() took them
], ids=["***", "x", "fraction", "N/A", "full-width"])
def test_a_value_that_is_not_a_whole_number_stops_the_fetch_naming_the_cell(env, httpserver, monkeypatch, value,
                                                                          says):
    """Found by a QA pass: every VALUE that was not ASCII digits was written to the CSV as 0, so a figure e-Stat
    hides ('***', 'x') became a real zero in the warehouse, and a fraction a zero the checks caught only by the sums.
    e-Stat's 'none' mark ('-') is still 0, as MOF's own files write it."""
    monkeypatch.setitem(PAGES, ("2023000000", "1"), ([v("081090010", "140", "50305", "2023000000", value),
                                                      v("081090010", "500", "50305", "2023000000", "5")], None))
    _serve(httpserver)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed"
    assert f"table {IMPORTS} 2023, HS 081090010, partner 305, Value-Year: {says}" in result.message, result.message
    assert list_vintages("mof-hs9-country", env) == []


@pytest.mark.parametrize(("var", "value", "says"), [
    ("JLAC_ESTAT_HS9_AREAS", "50410", "JLAC_ESTAT_HS9_AREAS='50410': 50410 not among the codes the e-Stat tables "
                                      "list (304, 305, 410)"),
    ("JLAC_ESTAT_HS9_AREAS", "410,999", "JLAC_ESTAT_HS9_AREAS='410,999': 999 not among the codes"),
    ("JLAC_ESTAT_HS9_YEARS", "2019", "JLAC_ESTAT_HS9_YEARS='2019': 2019 not among the codes the e-Stat tables list "
                                     "(2023, 2024)"),
])
def test_a_filter_naming_no_listed_code_is_refused_before_any_data_request(env, httpserver, monkeypatch, var, value,
                                                                           says):
    """Found by a QA pass: an area filter that matched no code was left out of the query (every partner of the
    world), and a year filter that matched none stored a vintage without data, which stopped every later refresh."""
    monkeypatch.setenv(var, value)
    _serve(httpserver)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed" and says in result.message, result.message
    assert not [r for r, _ in httpserver.log if r.path.endswith("getStatsData")]
    assert list_vintages("mof-hs9-country", env) == []


def test_a_cell_given_twice_with_two_values_stops_the_fetch(env, httpserver, monkeypatch):
    """Found by a QA pass: the later of two values for one cell won, without a word."""
    values, nxt = PAGES[("2023000000", "1")]
    monkeypatch.setitem(PAGES, ("2023000000", "1"), (
        [*values, v("081090010", "140", "50305", "2023000000", "999")], nxt))
    _serve(httpserver)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed"
    assert "HS 081090010, area 50305, Value-Year is given twice, '5' and '999'" in result.message, result.message


# --- every year kept, layouts and answers refused, tables left out, years without data (found by a QA pass) ---

def _serve_tables(httpserver, listed: list[dict], metas: dict[str, dict]):
    """getStatsList listing ``listed``; getMetaInfo answering each table's own ``metas`` entry."""
    doc = stats_list()
    doc["GET_STATS_LIST"]["DATALIST_INF"]["TABLE_INF"] = listed
    httpserver.expect_request("/rest/3.0/app/json/getStatsList").respond_with_json(doc)
    for table, body in metas.items():
        httpserver.expect_request("/rest/3.0/app/json/getMetaInfo",
                                  query_string={"appId": APPID, "statsDataId": table}).respond_with_json(body)
    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_handler(stats_data)


def _asked(httpserver) -> list[tuple[str, str]]:
    return sorted({(r.args["statsDataId"], r.args["cdTime"][:4]) for r, _ in httpserver.log
                   if r.path.endswith("getStatsData")})


def _change_2024(monkeypatch):
    """Mexico's fruit in 2024: 78 where the first answer said 77 (the year and January)."""
    monkeypatch.setitem(PAGES, ("2024000000", "4"), ([v("270900000", "290", "50410", "2024000000", "1234"),
                                                      v("081090010", "140", "50305", "2024000000", "78"),
                                                      v("081090010", "170", "50305", "2024000000", "78"),
                                                      v("081090010", "200", "50305", "2024000000", "-")], None))


def _csvs(snap) -> dict[str, str]:
    return {f.path: f.sha256 for f in snap.files if f.path.endswith(".csv")}


def _country_codes(settings, mirror):
    """What the refresh loads beside the source for its checks: the real japan-customs-country-codes of the mirror."""
    with_mirror = dataclasses.replace(settings, mirrors=(mirror,))
    src = all_sources()["japan-customs-country-codes"]
    snap = latest_snapshot(src.name, with_mirror)
    parsed = parse.parse_to_cache(with_mirror, src, snap)
    return lambda con: load.load_raw(con, src, snap, parsed)


def _publish(settings, mirror, snap) -> None:
    """``snap`` loaded into the published warehouse file (what the source's history check compares with)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    source = all_sources()["mof-hs9-country"]
    scratch_build(settings.warehouse, source, snap, settings, _country_codes(settings, mirror))


def _failing_checks(settings, mirror, snap, tmp_path) -> list[str]:
    """The source's suites that fail on ``snap``, against the published warehouse (as a refresh runs them)."""
    source = all_sources()["mof-hs9-country"]
    db = scratch_build(tmp_path / f"build-{snap.vintage}.duckdb", source, snap, settings,
                       _country_codes(settings, mirror))
    return [r.suite for r in failed_checks(db, source, snap, settings)]


def test_a_fetch_of_fewer_years_keeps_the_previous_vintages_other_years(env, httpserver, monkeypatch, mirror,
                                                                         tmp_path):
    """Found by a QA pass: a vintage held only the years fetched, so `JLAC_ESTAT_HS9_YEARS=2024 jlac fetch` after a
    default fetch (2023 and 2024) wrote a vintage without 2023, which the source's checks then refused ("published,
    and missing from this vintage"). The new vintage keeps the previous one's files of the years not fetched,
    unchanged (hard links within the store), and an unchanged answer writes no vintage at all."""
    _serve(httpserver)
    [first] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert first.status == "new", first.message
    [v1] = list_vintages("mof-hs9-country", env)
    _publish(env, mirror, v1)

    monkeypatch.setenv("JLAC_ESTAT_HS9_YEARS", "2024")
    monkeypatch.setitem(OK, "DATE", "2026-12-28T17:00:00.000+09:00")  # e-Stat stamps every answer with its time
    [same] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert same.status == "unchanged", same.message  # 2024 as before, 2023 kept: nothing new
    assert [s.vintage for s in list_vintages("mof-hs9-country", env)] == [v1.vintage]

    httpserver.clear_log()
    _change_2024(monkeypatch)
    [second] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert second.status == "new", second.message
    assert _asked(httpserver) == [(IMPORTS, "2024")]
    v2 = latest_snapshot("mof-hs9-country", env)
    assert sorted(_csvs(v2)) == ["hs9-country-2023-imp.csv", "hs9-country-2024-imp.csv"]
    kept = "hs9-country-2023-imp.csv"
    assert _csvs(v2)[kept] == _csvs(v1)[kept] == sha256_file(v2.path(kept))
    assert _csvs(v2)["hs9-country-2024-imp.csv"] != _csvs(v1)["hs9-country-2024-imp.csv"]
    assert v2.path(kept).stat().st_ino == v1.path(kept).stat().st_ino  # a hard link, not a copy
    assert f"estat/{IMPORTS}_2023_p001.json" in {f.path for f in v2.files}  # the kept year's answer too
    manifest = yaml.safe_load((v2.root / "SNAPSHOT.yml").read_text(encoding="utf-8"))
    assert manifest["kept_from_previous"]["vintage"] == v1.vintage
    assert manifest["kept_from_previous"]["csv"] == [kept]
    assert _failing_checks(env, mirror, v2, tmp_path) == []


def test_the_default_years_move_on_in_january_and_the_year_left_behind_is_kept(env, httpserver, monkeypatch):
    """The default window (the two latest years the tables list) moves when a new year is listed: the year it
    leaves behind stays in the vintage, as MOF's table keeps it."""
    _serve(httpserver)
    assert fetch_all(["mof-hs9-country"], env, client_factory=make)[0].status == "new"
    v1 = latest_snapshot("mof-hs9-country", env)
    httpserver.clear()
    monkeypatch.setitem(PAGES, ("2025000000", "1"), ([v("081090010", "140", "50305", "2025000000", "3"),
                                                      v("081090010", "170", "50305", "2025000000", "3")], None))
    _serve_tables(httpserver, stats_list()["GET_STATS_LIST"]["DATALIST_INF"]["TABLE_INF"],
                  {IMPORTS: meta(years=(2023, 2024, 2025))})
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "new", result.message
    assert _asked(httpserver) == [(IMPORTS, "2024"), (IMPORTS, "2025")]
    v2 = latest_snapshot("mof-hs9-country", env)
    assert sorted(_csvs(v2)) == [f"hs9-country-{y}-imp.csv" for y in (2023, 2024, 2025)]
    assert _csvs(v2)["hs9-country-2023-imp.csv"] == _csvs(v1)["hs9-country-2023-imp.csv"]


def test_the_years_kept_from_a_mirror_are_copied_and_a_damaged_one_is_refused(env, httpserver, monkeypatch,
                                                                              tmp_path):
    """The previous vintage may lie in a read-only mirror: its files are copied (never linked: the new vintage's
    modes would be set on the mirror's files) and checked against its manifest; one that does not match is not
    carried into a new vintage."""
    _serve(httpserver)
    assert fetch_all(["mof-hs9-country"], env, client_factory=make)[0].status == "new"
    v1 = latest_snapshot("mof-hs9-country", env)
    mirrored = tmp_path / "mirror" / "mof-hs9-country" / v1.vintage
    shutil.copytree(v1.root, mirrored)
    shutil.rmtree(v1.root)
    monkeypatch.setenv("JLAC_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("JLAC_ESTAT_HS9_YEARS", "2024")
    _change_2024(monkeypatch)
    kept = mirrored / "hs9-country-2023-imp.csv"
    good = kept.read_bytes()
    kept.write_bytes(good.replace(b",5,", b",6,", 1))
    settings = get_settings()
    [damaged] = fetch_all(["mof-hs9-country"], settings, client_factory=make)
    assert damaged.status == "failed"
    assert (f"hs9-country-2023-imp.csv of the previous vintage mof-hs9-country/{v1.vintage}, kept for the years this "
            "fetch did not ask for, does not match its manifest") in damaged.message, damaged.message
    assert [s.vintage for s in list_vintages("mof-hs9-country", settings)] == [v1.vintage]

    kept.write_bytes(good)
    [result] = fetch_all(["mof-hs9-country"], settings, client_factory=make)
    assert result.status == "new", result.message
    v2 = latest_snapshot("mof-hs9-country", settings)
    assert v2.root.parent == settings.snapshots / "mof-hs9-country"
    assert sorted(_csvs(v2)) == ["hs9-country-2023-imp.csv", "hs9-country-2024-imp.csv"]
    assert sha256_file(v2.path("hs9-country-2023-imp.csv")) == sha256_file(kept)
    assert v2.path("hs9-country-2023-imp.csv").stat().st_ino != kept.stat().st_ino


@pytest.mark.parametrize(("old", "new", "says"), [
    ("@cat02", "@tab02", "lacks ['@cat02']"),
    ("@cat01", None, "lacks ['@cat01']"),
], ids=["@tab02 for @cat02", "no @cat01"])
def test_a_value_without_its_item_or_commodity_is_refused_naming_the_field(env, httpserver, monkeypatch, old, new,
                                                                            says):
    """Found by a QA pass: VALUE entries carrying @tab02 for @cat02 gave header-only CSVs (exit 0), and without
    @cat01 rows of HS 'None' were stored."""
    values, nxt = PAGES[("2024000000", "1")]
    changed = [{(new if k == old else k): x for k, x in value.items() if new is not None or k != old}
               for value in values]
    monkeypatch.setitem(PAGES, ("2024000000", "1"), (changed, nxt))
    _serve(httpserver)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed"
    assert f"mof-hs9-country table {IMPORTS} 2024 (estat/{IMPORTS}_2024_p001.json): VALUE[0] {says}" \
        in result.message, result.message
    assert list_vintages("mof-hs9-country", env) == []


def test_an_answer_for_another_year_than_asked_is_refused(env, httpserver, monkeypatch):
    """Found by a QA pass: @time was never compared with the cdTime asked for, so an answer for 1999 was stored as
    2023 and as 2024."""
    for key, (values, nxt) in list(PAGES.items()):
        monkeypatch.setitem(PAGES, key, ([{**value, "@time": "1999000000"} for value in values], nxt))
    _serve(httpserver)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed"
    assert (f"mof-hs9-country table {IMPORTS} 2023 (estat/{IMPORTS}_2023_p001.json): asked for 2023 (cdTime "
            "2023000000), VALUE[0] is for 1999 (@time '1999000000')") in result.message, result.message
    assert list_vintages("mof-hs9-country", env) == []


def _listed(*tables: tuple[str, str]) -> list[dict]:
    return [{"@id": t, "STATISTICS_NAME": f"普通貿易統計 品別国別表 {flow}",
             "TITLE": {"@no": "1", "$": "2021年～2025年"}} for t, flow in tables]


def test_a_listed_table_of_exports_and_imports_together_is_left_out_with_a_log_line(env, httpserver, caplog):
    """Found by a QA pass: the docs said discovery keeps only titles naming one flow, but a listed 品別国別表 table
    naming 輸出入 failed the whole fetch ("cannot tell exports from imports")."""
    _serve_tables(httpserver, _listed((IMPORTS, "輸入"), (EXPORTS, "輸出"), (BOTH, "輸出入")),
                  {IMPORTS: meta(), EXPORTS: meta(flow="輸出"), BOTH: meta(flow="輸出入")})
    with caplog.at_level(logging.INFO, logger="jlac"):
        [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "new", result.message
    assert any(r.levelno == logging.INFO and BOTH in r.getMessage() and "left out" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert BOTH not in {r.args["statsDataId"] for r, _ in httpserver.log if "statsDataId" in r.args}
    assert sorted(_csvs(latest_snapshot("mof-hs9-country", env))) == [
        f"hs9-country-{y}-{f}.csv" for y in (2023, 2024) for f in ("exp", "imp")]


def test_a_table_left_out_that_leaves_a_flow_without_a_table_fails_naming_the_flow(env, httpserver):
    _serve_tables(httpserver, _listed((IMPORTS, "輸入"), (BOTH, "輸出入")), {IMPORTS: meta()})
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed"
    says = f"lists no table of exports (輸出) once {BOTH} (普通貿易統計 品別国別表 輸出入"
    assert says in result.message, result.message
    assert list_vintages("mof-hs9-country", env) == []


def test_no_data_for_one_table_and_year_keeps_the_others_and_says_so(env, httpserver, monkeypatch, caplog):
    """Found by a QA pass: e-Stat's STATUS 1 (no data) for one table and year discarded the whole fetch. It is that
    flow's year without data now: the rest is stored, the log and the manifest's note say it."""
    monkeypatch.setattr(f"{__name__}.NO_DATA", {(IMPORTS, "2023000000")})
    _serve(httpserver)
    with caplog.at_level(logging.WARNING, logger="jlac"):
        [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "new", result.message
    snap = latest_snapshot("mof-hs9-country", env)
    assert sorted(_csvs(snap)) == ["hs9-country-2024-imp.csv"]
    assert f"estat/{IMPORTS}_2023_nodata.json" in {f.path for f in snap.files}
    note = f"e-Stat found no data (STATUS 1) for table {IMPORTS} (imports) 2023: no imports file for 2023"
    assert yaml.safe_load((snap.root / "SNAPSHOT.yml").read_text(encoding="utf-8"))["note"] == note
    assert any(note in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_no_data_for_a_published_year_keeps_the_previous_vintages_file(env, httpserver, monkeypatch, mirror,
                                                                       tmp_path):
    """A year e-Stat has no data for any more, which the warehouse publishes: the new vintage keeps the previous
    vintage's file for it (a vintage without it is refused by the source's checks), and the note says so."""
    _serve(httpserver)
    assert fetch_all(["mof-hs9-country"], env, client_factory=make)[0].status == "new"
    v1 = latest_snapshot("mof-hs9-country", env)
    _publish(env, mirror, v1)
    monkeypatch.setattr(f"{__name__}.NO_DATA", {(IMPORTS, "2023000000")})
    _change_2024(monkeypatch)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "new", result.message
    v2 = latest_snapshot("mof-hs9-country", env)
    assert _csvs(v2)["hs9-country-2023-imp.csv"] == _csvs(v1)["hs9-country-2023-imp.csv"]
    paths = {f.path for f in v2.files}
    assert {f"estat/{IMPORTS}_2023_p001.json", f"estat/{IMPORTS}_2023_nodata.json"} <= paths
    note = yaml.safe_load((v2.root / "SNAPSHOT.yml").read_text(encoding="utf-8"))["note"]
    assert note == (f"e-Stat found no data (STATUS 1) for table {IMPORTS} (imports) 2023: hs9-country-2023-imp.csv "
                    f"kept from the previous vintage {v1.vintage}")
    assert _failing_checks(env, mirror, v2, tmp_path) == []


def test_no_data_for_every_table_and_year_fails(env, httpserver, monkeypatch):
    monkeypatch.setattr(f"{__name__}.NO_DATA", {(IMPORTS, "2023000000"), (IMPORTS, "2024000000")})
    _serve(httpserver)
    [result] = fetch_all(["mof-hs9-country"], env, client_factory=make)
    assert result.status == "failed"
    assert (f"e-Stat found no data (STATUS 1) for any table and year asked (table {IMPORTS} 2023, table {IMPORTS} "
            "2024); nothing was stored") in result.message, result.message
    assert list_vintages("mof-hs9-country", env) == []
