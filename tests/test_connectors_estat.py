"""e-Stat connector against a local server: the recorded getMetaInfo envelope shape, paging via
NEXT_KEY, an e-Stat error STATUS, and an appId that must not leak."""

from __future__ import annotations

import json
import logging

import duckdb
import pytest
from conftest import SHARED
from jlac.config import get_settings
from jlac.connectors import fetch_all
from jlac.http import HttpClient
from jlac.snapshots import list_vintages
from jlac.sources.estat_trade.source import SOURCE
from werkzeug import Request, Response

REC = SHARED / "api-recordings" / "estat"
APPID = "estat-appid-5a4b3c2d1e0f"
TABLE = "0003425295"
OK = {"STATUS": 0, "ERROR_MSG": "正常に終了しました。", "DATE": "2026-11-28T17:00:00.000+09:00"}


def meta() -> dict:
    """The recorded getMetaInfo envelope with the class lists of a trade table (codes as in the real
    parsed e-Stat trade output: area '50' + MOF code, time 2023000000)."""
    doc = json.loads((REC / "content_getMetaInfo.DECODED.json").read_text(encoding="utf-8"))
    doc["GET_META_INFO"]["PARAMETER"]["STATS_DATA_ID"] = TABLE
    # the parser reads the flow from the title: 輸出 = exports
    doc["GET_META_INFO"]["METADATA_INF"]["TABLE_INF"]["STATISTICS_NAME"] = "普通貿易統計 概況品別国別表 輸出"
    doc["GET_META_INFO"]["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"] = [
        {
            "@id": "cat01",
            "@name": "概況品目表",
            "CLASS": [
                {"@code": "00000000", "@name": "総額", "@level": "1"},
                {"@code": "10000000", "@name": "食料品", "@level": "1"},
            ],
        },
        {
            "@id": "cat02",
            "@name": "数量・金額",
            "CLASS": [
                {"@code": "120", "@name": "金額_年", "@level": "1"},
                {"@code": "140", "@name": "金額_1月", "@level": "1"},
            ],
        },
        {
            "@id": "area",
            "@name": "国",
            "CLASS": [
                {"@code": "50410", "@name": "410_ブラジル", "@level": "2"},
                {"@code": "50305", "@name": "305_メキシコ", "@level": "2"},
                # a row marked '-' (no value): an area of the table's list, or the fetch's checks refuse it
                {"@code": "50999", "@name": "999_その他", "@level": "2"},
            ],
        },
        {"@id": "time", "@name": "時間軸(年次)", "CLASS": {"@code": "2023000000", "@name": "2023年"}},
    ]
    return doc


def page(values: list[dict], next_key: int | None, start: int = 1, total: int | None = None) -> dict:
    """One getStatsData page as e-Stat writes it: rows ``start`` to ``start + len(values) - 1`` of ``total``."""
    total = len(values) + start - 1 if total is None and next_key is None else total
    result_inf = {"TOTAL_NUMBER": total if total is not None else 3, "FROM_NUMBER": start,
                  "TO_NUMBER": start + len(values) - 1}
    if next_key:
        result_inf["NEXT_KEY"] = next_key
    return {
        "GET_STATS_DATA": {
            "RESULT": OK,
            "PARAMETER": {"LANG": "J", "STATS_DATA_ID": TABLE},
            "STATISTICAL_DATA": {
                "RESULT_INF": result_inf,
                "DATA_INF": {"VALUE": values[0] if len(values) == 1 else values},
            },
        }
    }


def value(area: str, v: str) -> dict:
    return {
        "@cat01": "00000000",
        "@cat02": "120",
        "@area": area,
        "@time": "2023000000",
        "@unit": "千円",
        "$": v,
    }


@pytest.fixture
def env(tmp_path, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", "")
    monkeypatch.setenv("JLAC_ESTAT_URL", httpserver.url_for("/rest/3.0/app"))
    monkeypatch.setenv("JLAC_ESTAT_TABLES", TABLE)
    monkeypatch.setenv("JLAC_ESTAT_APPID", APPID)
    return get_settings()


def make(progress=None):
    return HttpClient(retries=1, backoff=0.0, sleep=lambda s: None, progress=progress)


def test_meta_then_two_pages(env, httpserver, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(
        "/rest/3.0/app/json/getMetaInfo", query_string={"appId": APPID, "statsDataId": TABLE}
    ).respond_with_json(meta())
    pages = {
        "1": page([value("50410", "1,234,567"), value("50305", "2345678")], next_key=3, total=3),
        "3": page([value("50999", "-")], next_key=None, start=3, total=3),
    }

    def stats_data(request: Request) -> Response:
        return Response(json.dumps(pages[request.args["startPosition"]]), content_type="application/json")

    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_handler(stats_data)
    seen = []
    [result] = fetch_all(["estat-trade"], env, client_factory=make, progress=seen.append)
    assert result.status == "new", result.message
    assert result.requests == 3
    second = httpserver.log[2][0].args
    assert second["startPosition"] == "3" and second["cdCat01"] == "00000000" and second["cdCat02"] == "120"
    [snap] = list_vintages("estat-trade", env)
    assert [f.path for f in snap.files] == [
        f"{TABLE}_data_p001.json",
        f"{TABLE}_data_p002.json",
        f"{TABLE}_meta.json",
    ]
    manifest = (snap.root / "SNAPSHOT.yml").read_text()
    assert "appId=***" in manifest
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]
    assert APPID not in "\n".join([manifest, *ours, *seen, result.message])
    rows = SOURCE.parse(snap, duckdb.connect()).order("file, area_code")
    assert rows.select("mof_country_code, area_name, year, value_jpy_thousand").fetchall() == [
        ("305", "305_メキシコ", 2023, 2345678.0),
        ("410", "410_ブラジル", 2023, 1234567.0),
        ("999", "999_その他", 2023, None),
    ]


def test_estat_error_status_fails_without_leaking_the_appid(env, httpserver):
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(
        {
            "GET_META_INFO": {
                "RESULT": {
                    "STATUS": 100,
                    "ERROR_MSG": f"認証に失敗しました。appId={APPID}",
                    "DATE": "2026-11-28T17:00:00.000+09:00",
                }
            }
        }
    )
    [result] = fetch_all(["estat-trade"], env, client_factory=make)
    assert result.status == "failed"
    assert "e-Stat error STATUS 100: 認証に失敗しました。" in result.message
    assert "check JLAC_ESTAT_APPID (or the Prefect Secret block JLAC_ESTAT_APPID_BLOCK names)" in result.message
    assert "getMetaInfo?appId=***&statsDataId=0003425295" in result.message
    assert APPID not in result.message
    assert list_vintages("estat-trade", env) == []


def test_no_data_status_is_an_empty_result(env, httpserver):
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(meta())
    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_json(
        {
            "GET_STATS_DATA": {
                "RESULT": {"STATUS": 1, "ERROR_MSG": "正常に終了しましたが、該当データはありませんでした。"}
            }
        }
    )
    [result] = fetch_all(["estat-trade"], env, client_factory=make)
    assert result.status == "failed" and "empty result" in result.message


def test_without_appid_the_source_is_skipped(env, httpserver, monkeypatch):
    monkeypatch.delenv("JLAC_ESTAT_APPID")
    [result] = fetch_all(["estat-trade"], env, client_factory=make)
    assert result.status == "skipped" and "JLAC_ESTAT_APPID" in result.message
    assert httpserver.log == []


def test_jlac_fetch_of_a_named_source_without_its_appid_exits_1_saying_why(env, httpserver, monkeypatch):
    """`jlac fetch estat-trade` skipped for a missing appId exited 0 (found by a QA pass); offline, a skip is what
    was asked for; --offline's help said it reported "what would be fetched"."""
    from jlac.cli import app
    from typer.testing import CliRunner

    monkeypatch.delenv("JLAC_ESTAT_APPID")
    result = CliRunner().invoke(app, ["fetch", "estat-trade"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert ("jlac: estat-trade was not fetched: no e-Stat appId (set JLAC_ESTAT_APPID or JLAC_ESTAT_APPID_BLOCK)"
            in result.output), result.output
    assert "Traceback" not in result.output and httpserver.log == []
    offline = CliRunner().invoke(app, ["fetch", "--offline", "estat-trade"], env={"COLUMNS": "300"})
    assert offline.exit_code == 0 and "not fetched" not in offline.output, offline.output
    help_text = " ".join(CliRunner().invoke(app, ["fetch", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "fetch nothing: list the live sources (named, or all), each as skipped; keys are not checked" in help_text, \
        help_text


def test_an_appid_with_a_line_break_is_sent_without_it(env, httpserver, monkeypatch):
    # pasted from a file, the appId kept its line break and went out as appId=...%0A: e-Stat refuses such an appId
    monkeypatch.setenv("JLAC_ESTAT_APPID", APPID + "\r\n")
    httpserver.expect_request(
        "/rest/3.0/app/json/getMetaInfo", query_string={"appId": APPID, "statsDataId": TABLE}
    ).respond_with_json(meta())
    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_json(
        page([value("50410", "1,234,567")], next_key=None, total=1))
    [result] = fetch_all(["estat-trade"], env, client_factory=make)
    assert result.status == "new", result.message
    assert httpserver.log[1][0].args["appId"] == APPID


# --- answers the connector must refuse, one line each, nothing stored (found with a fake publisher) ---------------

def _fetch_with(env, httpserver, meta_doc: dict, pages: dict[str, dict]):
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(meta_doc)

    def stats_data(request: Request) -> Response:
        return Response(json.dumps(pages[request.args["startPosition"]]), content_type="application/json")

    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_handler(stats_data)
    [result] = fetch_all(["estat-trade"], env, client_factory=make)
    assert result.status == "failed", result.message
    assert list_vintages("estat-trade", env) == []
    return result


@pytest.mark.parametrize("nxt, expected", [
    (1, "NEXT_KEY 1 does not move past this page's startPosition 1"),  # the same page again: was 501 requests
    ("abc", "NEXT_KEY 'abc' is not a row position"),  # was a ValueError traceback
])
def test_next_key_that_does_not_move_forward_fails_at_once(env, httpserver, nxt, expected):
    first = page([value("50410", "1")], next_key=None)
    first["GET_STATS_DATA"]["STATISTICAL_DATA"]["RESULT_INF"]["NEXT_KEY"] = nxt
    result = _fetch_with(env, httpserver, meta(), {"1": first})
    assert expected in result.message and f"{TABLE}_data_p001.json" in result.message
    assert result.requests == 2  # getMetaInfo and one page


TWO = [value("50410", "1"), value("50305", "2")]


@pytest.mark.parametrize("pages, expected", [
    # page 1 says the next rows start at 5: rows 3-4 were never fetched
    ({"1": page(TWO, next_key=5, total=6), "5": page(TWO, next_key=None, start=5, total=6)},
     "NEXT_KEY 5 does not follow this page's 2 row(s) from 1 (expected 3)"),
    # the API answers page 2 with page 1's rows again
    ({"1": page(TWO, next_key=3, total=6), "3": page(TWO, next_key=5, start=1, total=6)},
     "the page starts at row 1 where row 3 was asked for"),
    # the last page arrives and the rows do not add up to TOTAL_NUMBER
    ({"1": page(TWO, next_key=3, total=6), "3": page(TWO, next_key=None, start=3, total=6)},
     "4 value(s) fetched where TOTAL_NUMBER says 6"),
    # the table changed between pages: 6 rows when page 1 was sent, 5 when the last was; the rows fetched (3 + 2)
    # add up to the last page's total, a table mixed from two states of the data
    ({"1": page([*TWO, value("50106", "3")], next_key=4, total=6),
      "4": page(TWO, next_key=None, start=4, total=5)},
     "TOTAL_NUMBER 5 where the first page said 6: the data changed while it was paged"),
    # a page holding fewer values than its FROM_NUMBER..TO_NUMBER
    ({"1": {"GET_STATS_DATA": {**page(TWO, next_key=None)["GET_STATS_DATA"], "STATISTICAL_DATA": {
        "RESULT_INF": {"TOTAL_NUMBER": 3, "FROM_NUMBER": 1, "TO_NUMBER": 3}, "DATA_INF": {"VALUE": TWO}}}}},
     "2 value(s) where FROM_NUMBER 1 to TO_NUMBER 3 says 3"),
], ids=["a page skipped", "a page repeated", "short of TOTAL_NUMBER", "total changed", "a page cut short"])
def test_pages_that_do_not_add_up_fail_the_fetch_and_store_nothing(env, httpserver, pages, expected):
    """Found by a QA pass: with JLAC_ESTAT_LIMIT=2, a skipped page stored 4 of 6 rows and a repeated page 2 of 6
    distinct rows as a new vintage, and the refresh published them (exit 0)."""
    result = _fetch_with(env, httpserver, meta(), pages)
    assert expected in result.message, result.message


def test_a_later_value_without_area_fails_the_fetch(env, httpserver):
    odd = value("50305", "2")
    odd["@region"] = odd.pop("@area")
    result = _fetch_with(env, httpserver, meta(), {"1": page([value("50410", "1"), odd], next_key=None)})
    assert "VALUE[1] lacks ['@area']" in result.message


def test_meta_info_in_another_shape_is_a_message_not_a_traceback(env, httpserver):
    renamed = meta()
    renamed["GET_META_INFO"]["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"][0]["CLASS"][0]["@cd"] = "00000000"
    del renamed["GET_META_INFO"]["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"][0]["CLASS"][0]["@code"]
    assert "class cat01 entry 0 has no @code" in _fetch_with(env, httpserver, renamed, {}).message
    httpserver.clear()
    result = _fetch_with(env, httpserver, {"GET_META_INFO": "maintenance"}, {})
    assert "GET_META_INFO is str 'maintenance', not an object" in result.message


def test_an_unforeseen_error_fails_that_source_and_the_others_still_run(env, httpserver, monkeypatch):
    from jlac.sources.estat_trade import connector

    def broken(*args, **kwargs):
        raise RuntimeError("a shape nobody foresaw")

    monkeypatch.setattr(connector, "resolve", broken)
    monkeypatch.setenv("JLAC_FRED_URL", httpserver.url_for("/fred"))
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(meta())
    httpserver.expect_request("/fred/graph/fredgraph.csv").respond_with_data("observation_date,EXJPUS\n")
    results = fetch_all(["estat-trade", "fred-exjpus"], env, client_factory=make)
    assert [r.source for r in results] == ["estat-trade", "fred-exjpus"]
    assert results[0].status == "failed"
    assert "unexpected RuntimeError in the estat-trade connector: a shape nobody foresaw" in results[0].message
    assert results[1].status == "failed" and "fred" in results[1].message.lower()  # it ran: its own answer is empty


def test_the_traceback_of_an_unforeseen_error_is_redacted_in_the_debug_log(env, httpserver, monkeypatch, caplog):
    # `jlac -v fetch` shows the traceback; its last line is the exception's text, which may hold the request URL
    from jlac.sources.estat_trade import connector

    def broken(*args, **kwargs):
        raise RuntimeError(f"a shape nobody foresaw at getMetaInfo?appId={APPID}")

    monkeypatch.setattr(connector, "resolve", broken)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="jlac")  # a refresh run earlier in this process may have set it to INFO
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(meta())
    [result] = fetch_all(["estat-trade"], env, client_factory=make)
    assert result.status == "failed" and "appId=***" in result.message
    ours = "\n".join(caplog.handler.format(r) for r in caplog.records if r.name != "werkzeug")  # werkzeug: the server
    assert "Traceback" in ours and "appId=***" in ours
    assert APPID not in ours


@pytest.mark.parametrize("again, expected", [
    ("2", "given twice, '2' in 0003425295_data_p001.json and '2' here (the same value twice: a page repeated a row"),
    ("7", "given twice, '2' in 0003425295_data_p001.json and '7' here (two values)"),
], ids=["same value", "two values"])
def test_a_row_repeated_on_a_later_page_fails_the_fetch(env, httpserver, again, expected):
    """Found by a QA pass: page 2 gave area 50305 again instead of another area; the paging numbers added up, so the
    vintage was stored with a duplicate key and stopped every later refresh at validation."""
    pages = {"1": page(TWO, next_key=3, total=3), "3": page([value("50305", again)], next_key=None, start=3, total=3)}
    result = _fetch_with(env, httpserver, meta(), pages)
    assert f"estat-trade {TABLE}_data_p002.json: cat01 00000000, cat02 120, area 50305, time 2023000000" \
        in result.message, result.message
    assert expected in result.message, result.message


def test_a_password_in_the_base_url_is_sent_but_stored_and_shown_redacted(env, httpserver, monkeypatch, caplog):
    """Found by a QA pass: JLAC_ESTAT_URL=http://user:PASSWORD@host/... (a mirror or proxy with basic auth) put the
    password in SNAPSHOT.yml (query.base_url, requests[].url), the progress lines and the fetch ledger."""
    password = "Pr0xy-S3cret"
    monkeypatch.setenv("JLAC_ESTAT_URL", httpserver.url_for("/rest/3.0/app").replace("://", f"://jlac:{password}@"))
    httpserver.expect_request("/rest/3.0/app/json/getMetaInfo").respond_with_json(meta())
    httpserver.expect_request("/rest/3.0/app/json/getStatsData").respond_with_json(
        page([value("50410", "1,234,567")], next_key=None, total=1))
    caplog.set_level(logging.DEBUG)
    seen = []
    [result] = fetch_all(["estat-trade"], env, client_factory=make, progress=seen.append)
    assert result.status == "new", result.message
    assert httpserver.log[0][0].authorization.password == password  # sent, as basic auth
    [snap] = list_vintages("estat-trade", env)
    manifest = (snap.root / "SNAPSHOT.yml").read_text()
    assert "jlac:***@" in snap.manifest["query"]["base_url"] and "jlac:***@" in manifest
    ledger = env.fetch_ledger.read_text()
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]
    assert password not in "\n".join([manifest, ledger, *ours, *seen, result.message])
