"""e-Stat connector for MOF's HS-9 x country x month table (into mof-hs9-country), against a local server that
answers with the recorded e-Stat envelopes (getStatsList, getMetaInfo) carrying the item labels and codes of the
real import table 0003425294 (as the parsed e-Stat output in api-recordings/estat shows them)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from jlac import partitions
from jlac.config import get_settings
from jlac.connectors import fetch_all
from jlac.http import HttpClient
from jlac.snapshots import list_vintages
from jlac.sources import all_sources
from werkzeug import Request, Response

REC = Path(__file__).resolve().parents[1] / ".." / "shared" / "api-recordings" / "estat"
APPID = "estat-appid-9f8e7d6c5b4a"
IMPORTS = "0003425294"  # 品別国別表 imports 2021-25
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


def meta(with_months: bool = True) -> dict:
    doc = json.loads((REC / "content_getMetaInfo.DECODED.json").read_text(encoding="utf-8"))
    inf = doc["GET_META_INFO"]["METADATA_INF"]
    inf["TABLE_INF"]["STATISTICS_NAME"] = "普通貿易統計 品別国別表 輸入"
    inf["CLASS_INF"]["CLASS_OBJ"] = [
        {"@id": "cat01", "@name": "統計品目表(輸入)",
         "CLASS": [{"@code": "081090010", "@name": "081090010"}, {"@code": "270900000", "@name": "270900000"}]},
        {"@id": "cat02", "@name": "統計品目表の数量・金額",
         "CLASS": items() if with_months else items()[:5]},
        {"@id": "area", "@name": "国", "CLASS": [
            {"@code": "50304", "@name": "304_アメリカ合衆国"}, {"@code": "50305", "@name": "305_メキシコ"},
            {"@code": "50410", "@name": "410_ブラジル"}]},
        {"@id": "time", "@name": "時間軸(年次)", "CLASS": [
            {"@code": "2023000000", "@name": "2023年"}, {"@code": "2024000000", "@name": "2024年"}]},
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


def stats_data(request: Request) -> Response:
    values, nxt = PAGES[(request.args["cdTime"], request.args["startPosition"])]
    start = int(request.args["startPosition"])
    total = sum(len(vals) for (time, _), (vals, _) in PAGES.items() if time == request.args["cdTime"])
    result_inf = {"TOTAL_NUMBER": total, "FROM_NUMBER": start, "TO_NUMBER": start + len(values) - 1}
    if nxt:
        result_inf["NEXT_KEY"] = nxt
    body = {"GET_STATS_DATA": {"RESULT": OK, "PARAMETER": {"STATS_DATA_ID": IMPORTS},
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
