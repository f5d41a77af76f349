"""UN Comtrade v1 connector against a local server replaying the recorded comtrade responses."""

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
from jlac.sources.comtrade_v1.source import SOURCE
from werkzeug import Request, Response

REC = SHARED / "api-recordings" / "comtrade"
DATA = REC / "data_v1_get_C_A_HS-60a6ad.json"  # China 156 with Argentina and Germany, 2010
EMPTY = REC / "bulk_v1_get_error_HS-a503f3.json"
KEY = "ct-subscription-0123456789abcdef"
REPORTER_ISO = {392: "JPN", 156: "CHN", 842: "USA"}


def for_reporter(request: Request, elapsed: str | None = None) -> Response:
    """The recorded answer (China's 2010 records with Argentina and Germany) as the reporter and partners asked for
    would get it: under the reporter's code, with the partners asked for (Argentina; Germany is no CELAC state)."""
    body = json.loads(DATA.read_bytes())
    code = int(request.args["reporterCode"])
    asked = request.args["partnerCode"].split(",")
    body["data"] = [rec for rec in body["data"] if str(rec["partnerCode"]) in asked]
    body["count"] = len(body["data"])
    for rec in body["data"]:
        rec["reporterCode"], rec["reporterISO"] = code, REPORTER_ISO[code]
    if elapsed:
        body["elapsedTime"] = elapsed
    return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def env(tmp_path, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", "")
    monkeypatch.setenv("JLAC_COMTRADE_URL", httpserver.url_for("/"))
    monkeypatch.setenv("JLAC_COMTRADE_START", "2010")
    monkeypatch.setenv("JLAC_COMTRADE_END", "2010")
    monkeypatch.delenv("JLAC_COMTRADE_KEY", raising=False)
    return get_settings()


def make(progress=None):
    return HttpClient(retries=1, backoff=0.0, sleep=lambda s: None, progress=progress)


def test_keyless_preview_then_unchanged(env, httpserver):
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(for_reporter)
    [first] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert first.status == "new" and first.requests == 3  # JPN, CHN, USA x one year block
    query = httpserver.log[0][0].args
    assert query["period"] == "2010" and query["flowCode"] == "X,M" and query["cmdCode"] == "TOTAL"
    assert query["partnerCode"].startswith("0,28,32,")  # World, then CELAC M49 codes
    # elapsedTime differs on every call; the data do not: no new vintage.
    httpserver.clear()
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(
        lambda request: for_reporter(request, elapsed="0.99 secs"))
    [second] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert second.status == "unchanged"
    [snap] = list_vintages("comtrade-v1", env)
    con = duckdb.connect()
    rows = SOURCE.parse(snap, con).filter("file = 'comtrade_CHN_2010-2010.json'").order("flow, partner_code")
    assert rows.select("flow, partner_iso3, year, value_usd").fetchall() == [
        ("export", "ARG", 2010, 6_115_764_185.0),
        ("import", "ARG", 2010, 6_804_128_143.0),
    ]


def test_key_goes_in_a_header_and_never_into_logs_or_manifest(env, httpserver, monkeypatch, caplog):
    monkeypatch.setenv("JLAC_COMTRADE_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(
        "/data/v1/get/C/A/HS", headers={"Ocp-Apim-Subscription-Key": KEY}
    ).respond_with_handler(for_reporter)
    seen = []
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make, progress=seen.append)
    assert result.status == "new"
    [snap] = list_vintages("comtrade-v1", env)
    manifest = (snap.root / "SNAPSHOT.yml").read_text()
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]
    assert KEY not in "\n".join([manifest, *ours, *seen, result.message])
    assert "data (subscription key)" in manifest


def test_a_key_with_a_line_break_is_sent_without_it(env, httpserver, monkeypatch):
    # JLAC_COMTRADE_KEY=$(cat key.txt) keeps no line break, a key pasted from a file or a .env may: no header can
    # carry one, so every request failed before it was sent
    monkeypatch.setenv("JLAC_COMTRADE_KEY", KEY + "\n")
    httpserver.expect_request(
        "/data/v1/get/C/A/HS", headers={"Ocp-Apim-Subscription-Key": KEY}
    ).respond_with_handler(for_reporter)
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert result.status == "new", result.message


def test_empty_result_and_error_fail_with_the_request_named(env, httpserver):
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_data(
        EMPTY.read_bytes(), content_type="application/json"
    )
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert result.status == "failed"  # every answer empty (one empty answer is that part's no data: see below)
    assert "every answer is empty (count 0: comtrade_JPN_2010-2010.json, comtrade_CHN_2010-2010.json" in result.message
    httpserver.clear()
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_json(
        {"elapsedTime": "0.01 secs", "count": 0, "data": None, "error": "Invalid reporterCode"}
    )
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert "Comtrade answered with an error: Invalid reporterCode" in result.message
    assert list_vintages("comtrade-v1", env) == []


def test_an_answer_for_another_query_is_refused(env, httpserver):
    # China's records whatever was asked (an API ignoring a parameter it no longer knows): Japan's file would hold
    # China's trade, and the parsed snapshot China's rows three times
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_data(DATA.read_bytes(),
                                                                            content_type="application/json")
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert result.status == "failed", result.message
    assert ("the answer is not for the query: (reporterCode, period) [(156, 2010)] where reporterCode 392 (JPN) "
            "and period 2010 were asked") in result.message
    assert list_vintages("comtrade-v1", env) == []


def test_an_answer_with_fewer_records_than_its_count_is_refused(env, httpserver):
    # the recorded answer (count 2 for the partners asked) with its last record gone: Argentina's exports would be
    # missing from the vintage
    def one_of_two(request: Request) -> Response:
        body = json.loads(for_reporter(request).get_data())
        body["data"] = body["data"][:1]
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(one_of_two)
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert result.status == "failed", result.message
    assert "'count' is 2 but 'data' holds 1 record(s)" in result.message
    assert "comtrade-v1 GET http://localhost" in result.message and "reporterCode=392" in result.message
    assert list_vintages("comtrade-v1", env) == []
    assert not list((env.snapshots / "comtrade-v1").glob(".incoming-*"))
    httpserver.clear()
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(for_reporter)
    [later] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert later.status == "new", later.message


def answering(change):
    """The recorded answer as the reporter asked for gets it, then changed by ``change(request, body)``."""
    def handler(request: Request) -> Response:
        body = json.loads(for_reporter(request).get_data())
        change(request, body)
        body["count"] = len(body["data"])
        return Response(json.dumps(body), content_type="application/json")

    return handler


def _monthly(request, body):
    body["data"][0].update(freqCode="M", period="201001", refMonth=1)


def _cmd_27(request, body):
    for rec in body["data"]:
        rec.update(cmdCode="27", cmdDesc="Mineral fuels")


def _germany(request, body):
    body["data"] += [rec for rec in json.loads(DATA.read_bytes())["data"] if rec["partnerCode"] == 276]
    for rec in body["data"]:
        rec["reporterCode"] = int(request.args["reporterCode"])


def _re_exports(request, body):
    body["data"][0].update(flowCode="RX", flowDesc="Re-export")


@pytest.mark.parametrize(("change", "says"), [
    (_monthly, "data[0] (reporterCode 392, partnerCode 32, flowCode M): period '201001' with freqCode 'M' is not an "
               "annual record (freqCode A, period YYYY)"),
    (_cmd_27, "the answer is not for the query: 2 record(s) with values not asked for: data[0] (reporterCode 392, "
              "partnerCode 32, flowCode M, period 2010): cmdCode '27'"),
    (_germany, "data[2] (reporterCode 392, partnerCode 276, flowCode M, period 2010): partnerCode 276"),
    (_re_exports, "data[0] (reporterCode 392, partnerCode 32, flowCode RX, period 2010): flowCode 'RX'"),
], ids=["monthly-record", "cmd-27", "partner-not-asked", "flow-not-asked"])
def test_records_not_for_the_query_are_refused_naming_them(env, httpserver, change, says):
    """Found by a QA pass: a monthly record (period 201001, freqCode M) was stored and parsed as the annual 2010; a
    cmdCode 27 answer passed (and dropped Comtrade out of the marts); partner and flow were not compared either."""
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(answering(change))
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert result.status == "failed", result.message
    assert says in result.message and "reporterCode=392" in result.message, result.message
    assert list_vintages("comtrade-v1", env) == []


def test_one_reporters_empty_answer_is_its_no_data(env, httpserver, caplog):
    """Found by a QA pass: one reporter's empty answer (count 0) threw the whole fetch away. It is that reporter's no
    data: the others are stored, the log and the manifest's note say it, and the previous vintage's file of that
    reporter is kept (the warehouse keeps its values); only a fetch whose every answer is empty fails."""
    def japan_empty(request: Request) -> Response:
        if request.args["reporterCode"] == "392":
            return Response(EMPTY.read_bytes(), content_type="application/json")
        return for_reporter(request)

    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(japan_empty)
    with caplog.at_level(logging.WARNING, logger="jlac"):
        [first] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert first.status == "new", first.message
    [snap] = list_vintages("comtrade-v1", env)
    assert [f.path for f in snap.files] == ["comtrade_CHN_2010-2010.json", "comtrade_USA_2010-2010.json"]
    assert snap.manifest["note"] == ("Comtrade answered no record for comtrade_JPN_2010-2010.json: no earlier file "
                                     "of it, left out")
    assert any("holds no record (count=0; empty result)" in r.getMessage() for r in caplog.records)

    # Japan answers, then answers empty again: its file of the vintage before is kept
    httpserver.clear()
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(for_reporter)
    [second] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert second.status == "new", second.message
    httpserver.clear()
    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(
        lambda request: for_reporter(request, elapsed="0.5 secs") if request.args["reporterCode"] != "392"
        else Response(EMPTY.read_bytes(), content_type="application/json"))
    [third] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert third.status == "unchanged", third.message  # the kept file is the same: nothing new to store
    later = list_vintages("comtrade-v1", env)[-1]
    assert later.vintage == second.vintage
    rows = SOURCE.parse(later, duckdb.connect()).filter("reporter_code = 392").select("partner_iso3, flow").fetchall()
    assert sorted(rows) == [("ARG", "export"), ("ARG", "import")]
    # China's answer changes while Japan's is empty: the new vintage keeps Japan's file from the one before
    httpserver.clear()

    def china_revised(request: Request) -> Response:
        if request.args["reporterCode"] == "392":
            return Response(EMPTY.read_bytes(), content_type="application/json")
        body = json.loads(for_reporter(request).get_data())
        body["data"][0]["primaryValue"] += 1
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/public/v1/preview/C/A/HS").respond_with_handler(china_revised)
    [fourth] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert fourth.status == "new", fourth.message
    newest = list_vintages("comtrade-v1", env)[-1]
    assert newest.manifest["kept_from_previous"] == {"vintage": second.vintage,
                                                     "files": ["comtrade_JPN_2010-2010.json"]}
    assert newest.path("comtrade_JPN_2010-2010.json").read_bytes() == \
        later.path("comtrade_JPN_2010-2010.json").read_bytes()
    assert f"the file of the previous vintage {second.vintage} is kept" in newest.manifest["note"]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_names_the_setting_that_holds_it(env, httpserver, monkeypatch, status):
    """The answer said "invalid subscription key", not which setting holds it (found by a QA pass)."""
    monkeypatch.setenv("JLAC_COMTRADE_KEY", KEY)
    body = {"statusCode": status, "message": "Access denied due to invalid subscription key."}
    httpserver.expect_request("/data/v1/get/C/A/HS").respond_with_json(body, status=status)
    [result] = fetch_all(["comtrade-v1"], env, client_factory=make)
    assert result.status == "failed" and f"HTTP {status}" in result.message, result.message
    assert result.message.endswith("check JLAC_COMTRADE_KEY (the key it holds was refused)")
    assert KEY not in result.message
    assert list_vintages("comtrade-v1", env) == []
