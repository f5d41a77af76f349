"""Before a fetched vintage is stored, the source's own parser and Great Expectations checks run on the staged files
(jlac.connectors.checked): an answer they refuse is a failed fetch, and nothing is stored. Replays the mirror's FRED
series and the recorded IMF IMTS response through a local HTTP server."""

from __future__ import annotations

import logging

import pytest
from conftest import SHARED, write_manifest
from jlac.config import get_settings
from jlac.connectors import fetch_all
from jlac.http import HttpClient
from jlac.snapshots import list_vintages
from test_connectors_imf_imts import JPN_2020, PATH, RECORDED, build, imts_xml, serve

FRED_CSV = next((SHARED / "snapshots" / "fred-exjpus").glob("*/EXJPUS.csv"))  # 653 lines: the header and 652 months
# the same month twice with another value (the last line again, 2025-04-01 = 144.1286): 654 lines
FRED_TWICE = FRED_CSV.read_bytes() + b"2025-04-01,150.0000\n"
MOF_CSV = (
    "輸出入総額の推移（千円）\r\n"
    "Years/Months,Exp-Total,Imp-Total\r\n"
    "2024/11,9153262000,9263100000\r\n"
    "2024/12,9910999000,9780290000\r\n"
).encode("cp932")
MOF_TWICE = MOF_CSV + "2024/12,9910999000,9999999999\r\n".encode("cp932")


@pytest.fixture
def env(tmp_path, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", "")
    monkeypatch.setenv("JLAC_FRED_URL", httpserver.url_for("/"))
    monkeypatch.setenv("JLAC_MOF_URL", httpserver.url_for("/toukei"))
    monkeypatch.setenv("JLAC_IMF_URL", httpserver.url_for("/"))
    monkeypatch.setenv("JLAC_IMF_REPORTERS", "JPN,USA")
    monkeypatch.setenv("JLAC_IMF_MIN_INTERVAL", "0")
    return get_settings()


def make(progress=None):
    return HttpClient(retries=1, backoff=0.0, sleep=lambda s: None, progress=progress)


def fetch(env, name: str):
    [result] = fetch_all([name], env, client_factory=make)
    return result


def test_a_fred_answer_with_a_month_twice_is_refused_before_it_is_stored(env, httpserver):
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(FRED_TWICE, content_type="text/csv")
    result = fetch(env, "fred-exjpus")
    assert result.status == "failed", result.message
    assert result.message.startswith("fred-exjpus: the fetched answer fails the source's own checks, so it was not "
                                     "stored (no vintage of it is stored; a refresh would refuse it)"), result.message
    # the check and its rows: both lines of the month, with their values
    assert "no conflicting values for one key (month)" in result.message
    assert "month=2025-04-01: jpy_per_usd=144.1286" in result.message and "row_number 654" in result.message
    assert list_vintages("fred-exjpus", env) == []
    assert [p.name for p in (env.snapshots / "fred-exjpus").iterdir()] == []  # staging (and the scratch) removed


def test_a_mof_answer_with_a_month_twice_is_refused_before_it_is_stored(env, httpserver):
    httpserver.expect_request("/toukei/suii/html/data/d41ma.csv").respond_with_data(MOF_TWICE)
    result = fetch(env, "mof-customs")
    assert result.status == "failed", result.message
    assert "mof-customs: the fetched answer fails the source's own checks" in result.message
    assert "expect_compound_columns_to_be_unique" in result.message and "month=2024-12-01" in result.message
    assert "'row_number': 4" in result.message and "'row_number': 5" in result.message  # both lines named
    assert list_vintages("mof-customs", env) == []


def stored_as_an_older_jlac_did(env, source: str, vintage: str, name: str, body: bytes) -> None:
    folder = env.snapshots / source / vintage
    folder.mkdir(parents=True)
    (folder / name).write_bytes(body)
    write_manifest(folder, source, {"publisher": "t", "publisher_url": "t", "license": "t"})


@pytest.mark.parametrize(("source", "name", "refused", "good", "path"), [
    ("fred-exjpus", "EXJPUS.csv", FRED_TWICE, FRED_CSV.read_bytes(), "/graph/fredgraph.csv"),
    ("mof-customs", "d41ma.csv", MOF_TWICE, MOF_CSV, "/toukei/suii/html/data/d41ma.csv"),
])
def test_a_vintage_the_source_refuses_is_not_what_later_fetches_are_compared_with(env, httpserver, caplog, source,
                                                                                  name, refused, good, path):
    """Found by a QA pass: a vintage with a month given twice (stored by an older jlac, or in a mirror) made every
    later correct fetch fail as cut short ("653 line(s) where the previous vintage has 654"), for good. The
    comparison is with the newest vintage the source can read; the refused one is named in the log."""
    stored_as_an_older_jlac_did(env, source, "2026-11-01", name, refused)
    httpserver.expect_request(path).respond_with_data(good)
    with caplog.at_level(logging.WARNING, logger="jlac"):
        result = fetch(env, source)
    assert result.status == "new", result.message
    assert any(f"the vintage {source}/2026-11-01 is not compared with: the source refuses it" in r.getMessage()
               for r in caplog.records)
    assert [s.vintage for s in list_vintages(source, env)][0] == "2026-11-01"
    # a readable vintage still guards against a body cut short: the new one now
    httpserver.clear()
    httpserver.expect_request(path).respond_with_data(b"\n".join(good.split(b"\n")[:3]) + b"\n")
    cut = fetch(env, source)
    assert cut.status == "failed" and f"where the previous vintage ({source}/{result.vintage}) has" in cut.message, \
        cut.message


def test_a_refused_fetch_fails_as_other_fetch_failures_do(env, httpserver):
    """Not tried again (the same answer would be refused), recorded in the fetch ledger, flagged by `jlac status`;
    the refresh then builds from the last good vintage and `refresh --fetch` exits 4 (as for any failed fetch)."""
    import json

    from jlac import pipeline
    from jlac.ops.status import source_status
    from prefect import flow

    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(FRED_CSV.read_bytes())
    assert fetch(env, "fred-exjpus").status == "new"
    httpserver.clear()
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(FRED_TWICE)
    task = pipeline.fetch_task.with_options(retry_delay_seconds=0)

    @flow(name="fetch-fred-once")
    def fetch_fred() -> tuple:
        try:
            task("fred-exjpus", env)
        except pipeline.FetchFailed as exc:
            return exc.may_pass, str(exc)
        return None, "fetched"

    may_pass, message = fetch_fred()
    assert may_pass is False and "fails the source's own checks" in message, message
    assert len(httpserver.log) == 1  # not asked again
    lines = [json.loads(x) for x in env.fetch_ledger.read_text(encoding="utf-8").splitlines()]
    assert [x["status"] for x in lines] == ["new", "failed"]
    assert f"the previous vintage {lines[0]['vintage']} stays the latest" in lines[1]["message"]
    [fred] = [s for s in source_status(env) if s.source == "fred-exjpus"]
    assert fred.fetch_failed is not None and "fails the source's own checks" in fred.fetch_failed[1]
    assert [s.vintage for s in list_vintages("fred-exjpus", env)] == [lines[0]["vintage"]]


def jpn_with_series_twice() -> bytes:
    """Japan's answer with its exports to Mexico given twice, the second time with another 2020 value."""
    extra = imts_xml({("JPN", "XG_FOB_USD", "MEX"): {2020: 9_990_000_000}}).decode()
    series = extra[extra.index("<Series "):extra.index("</message:DataSet>")]
    body = imts_xml(JPN_2020).decode()
    return body.replace("</message:DataSet>", series + "</message:DataSet>").encode()


@pytest.mark.parametrize(("jpn", "says"), [
    (jpn_with_series_twice(), ["no conflicting values for one key", "partner_code=MEX", "time_period=2020",
                               "value_usd=8850000000.0", "value_usd=9990000000.0"]),
    (imts_xml({k: {y: v / 1e6 for y, v in years.items()} for k, years in JPN_2020.items()}),  # in millions
     ["annual world totals are in plain US dollars", "'partner_code': 'G001'", "705600.0"]),
], ids=["series-twice", "millions"])
def test_an_imts_answer_its_checks_refuse_is_not_stored_and_later_refreshes_build(env, httpserver, jpn, says):
    """Found by a QA pass: such a vintage was stored, and since imf-imts reads its earlier vintages, every later
    refresh failed on it, even after correct vintages arrived."""
    serve(httpserver, jpn)
    bad = fetch(env, "imf-imts")
    assert bad.status == "failed", bad.message
    assert "imf-imts: the fetched answer fails the source's own checks" in bad.message
    assert all(s in bad.message for s in says), bad.message
    assert list_vintages("imf-imts", env) == []
    httpserver.clear()
    serve(httpserver, imts_xml(JPN_2020))
    good = fetch(env, "imf-imts")
    assert good.status == "new", good.message
    con = build(env)  # the models over every stored vintage build
    assert con.sql("SELECT value_usd FROM staging.stg_imf_imts__trade WHERE reporter_iso3 = 'JPN' AND "
                   "partner_iso3 = 'MEX' AND year = 2020").fetchall() == [(8.85e9,)]
    con.close()


def test_a_full_disk_while_checking_may_pass_and_names_where(env, httpserver):
    """The check writes a scratch DuckDB file in the staging folder: a file-size limit there is not the answer's
    fault (it may pass), and the message says what was being written."""
    import subprocess
    import sys

    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(FRED_CSV.read_bytes())
    script = (
        "import resource, signal\n"
        "import jlac.connectors.checked as checked\n"
        "from jlac.config import get_settings\n"
        "from jlac.connectors import make_client\n"
        "from jlac.sources.fred_exjpus import connector\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "check = checked.failed_checks\n"
        "def limited(*args, **kwargs):\n"
        "    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
        "    return check(*args, **kwargs)\n"
        "checked.failed_checks = limited\n"
        "try:\n"
        "    connector.fetch(get_settings(), make_client())\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc.may_pass, exc)\n"
    )
    import os

    child = {**os.environ, "JLAC_WAREHOUSE": str(env.warehouse), "JLAC_SNAPSHOTS": str(env.snapshots),
             "JLAC_MIRROR": "", "JLAC_FRED_URL": httpserver.url_for("/"), "JLAC_HTTP_RETRIES": "0"}
    out = subprocess.run([sys.executable, "-c", script], env=child, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("FetchError True fred-exjpus: checking the fetched files before storing them failed "
                                 f"while writing in {env.snapshots}/fred-exjpus/.incoming-"), out.stdout
    assert "File too large" in out.stdout and "nothing was stored" in out.stdout, out.stdout
    assert list_vintages("fred-exjpus", env) == []


def test_the_recorded_answers_pass_their_checks(env, httpserver):
    """The answers the connectors' own tests store pass the fetch-time checks (the cost: one parse and GX run per
    new vintage, none for an unchanged one)."""
    httpserver.expect_request(PATH.format("JPN")).respond_with_data(imts_xml(JPN_2020))
    httpserver.expect_request(PATH.format("USA")).respond_with_data(RECORDED.read_bytes())
    assert fetch(env, "imf-imts").status == "new"
    assert fetch(env, "imf-imts").status == "unchanged"
