"""The IMF IMTS connector against a real local HTTP server replaying the recorded api.imf.org response
(USA exports to G001/G998, 2023-2024) plus responses built in exactly that format for Japan."""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml
from conftest import JAPAN_WORKBOOK, SHARED, small_mirror
from jlac import transform
from jlac.config import get_settings
from jlac.connectors import fetch_all
from jlac.http import HttpClient
from jlac.snapshots import list_vintages, with_history
from jlac.sources.imf_imts.source import SOURCE, read_imts_xml

RECORDED = SHARED / "api-recordings" / "imf-imts-sdmx3" / "DECODED_data_IMTS_USA.XG_FOB_USD.G001+G998.A_2023-2024.xml"
PATH = "/data/dataflow/IMF.STA/IMTS/+/{}.XG_FOB_USD+MG_CIF_USD.*.A"


def imts_xml(series: dict[tuple[str, str, str], dict[int, float]], prepared: str = "2026-11-28T08:00:00Z") -> bytes:
    """A response in the recorded message's exact form: its header (with another Prepared time), one
    Series element per (reporter, indicator, partner) with Obs elements as the IMF writes them."""
    text = RECORDED.read_text(encoding="utf-8")
    head, rest = text.split("<Series ", 1)
    head = re.sub(
        r"<message:Prepared>[^<]*</message:Prepared>",
        f"<message:Prepared>{prepared}</message:Prepared>",
        head,
    )
    head = head.split("<Group ")[0]
    tail = rest[rest.index("</message:DataSet>") :]
    body = []
    for (reporter, indicator, partner), values in series.items():
        obs = "".join(f'<Obs OBS_VALUE="{v:.0f}" DERIVATION_TYPE="M" TIME_PERIOD="{y}"/>' for y, v in values.items())
        body.append(
            f'<Series COUNTRY="{reporter}" INDICATOR="{indicator}" COUNTERPART_COUNTRY="{partner}" '
            f'FREQUENCY="A" OVERLAP="OL" SCALE="6">{obs}</Series>'
        )
    return (head + "".join(body) + tail).encode()


# Japan's trade with Brazil and Mexico and the world, values of the kind IMTS reports (plain USD).
JPN_2020 = {
    ("JPN", "XG_FOB_USD", "BRA"): {2019: 4_090_000_000, 2020: 3_310_000_000},
    ("JPN", "XG_FOB_USD", "MEX"): {2019: 11_600_000_000, 2020: 8_850_000_000},
    ("JPN", "MG_CIF_USD", "BRA"): {2019: 7_720_000_000, 2020: 6_980_000_000},
    ("JPN", "XG_FOB_USD", "G001"): {2019: 705_600_000_000, 2020: 641_300_000_000},
}
JPN_2021 = {  # the next release: 2021 added, Japan's 2020 exports to Mexico revised
    ("JPN", "XG_FOB_USD", "BRA"): {2019: 4_090_000_000, 2020: 3_310_000_000, 2021: 4_620_000_000},
    ("JPN", "XG_FOB_USD", "MEX"): {2019: 11_600_000_000, 2020: 8_900_000_000, 2021: 10_900_000_000},
    ("JPN", "MG_CIF_USD", "BRA"): {2019: 7_720_000_000, 2020: 6_980_000_000, 2021: 9_640_000_000},
    ("JPN", "XG_FOB_USD", "G001"): {2019: 705_600_000_000, 2020: 641_300_000_000, 2021: 756_000_000_000},
}


@pytest.fixture
def env(tmp_path, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", "")
    monkeypatch.setenv("JLAC_IMF_URL", httpserver.url_for("/"))
    monkeypatch.setenv("JLAC_IMF_REPORTERS", "JPN,USA")
    return get_settings()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def fast_client(sleeps, **kw):
    def make(progress=None):
        return HttpClient(
            retries=kw.pop("retries", 3),
            backoff=0.01,
            read_timeout=kw.pop("read_timeout", 5),
            sleep=sleeps,
            progress=progress,
            **kw,
        )

    return make


def serve(httpserver, jpn: bytes, usa: bytes | None = None):
    httpserver.expect_request(PATH.format("JPN")).respond_with_data(jpn, content_type="application/xml")
    httpserver.expect_request(PATH.format("USA")).respond_with_data(
        usa if usa is not None else RECORDED.read_bytes(), content_type="application/xml"
    )


def build(settings) -> duckdb.DuckDBPyConnection:
    """raw.imf_imts from the newest vintage, then this module's SQL models (dbt build), in a throwaway file."""
    path = settings.home / "imts-models.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    for schema in ("raw", "staging", "marts"):
        con.execute(f"CREATE SCHEMA {schema}")
    snap = with_history(list_vintages("imf-imts", settings)[-1], settings)  # the earlier ones, as the refresh reads
    SOURCE.parse(snap, con).create("raw.imf_imts")
    con.execute(
        "CREATE TABLE staging.country_name_map AS SELECT * FROM (VALUES ('aggregate', 'G001', 'world')) "
        "t(kind, imts_code, aggregate_code)"
    )
    con.close()
    transform.build(path, settings, select=["stg_imf_imts__trade_vintages", "stg_imf_imts__trade", "trade_revisions"])
    return duckdb.connect(str(path))


def test_recorded_response_parses_in_plain_dollars():
    rows = read_imts_xml(RECORDED, "recording")
    values = {(r[3], r[6]): r[8] for r in rows}
    assert values[("G001", 2023)] == 2_019_551_635_133  # not x 1e6: SCALE=6 is not applied
    assert values[("G998", 2024)] == 371_064_529_410
    assert {r[2] for r in rows} == {"export"}


def test_first_then_unchanged_then_revised_release(env, httpserver, sleeps):
    serve(httpserver, imts_xml(JPN_2020))
    [first] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert first.status == "new" and first.requests == 2 and first.bytes > 2000
    [snap] = list_vintages("imf-imts", env)
    assert [f.path for f in snap.files] == ["IMTS_JPN_A.xml", "IMTS_USA_A.xml"]
    req = snap.manifest["requests"][0]
    assert req["url"].startswith(httpserver.url_for("/data/dataflow/IMF.STA/IMTS/+/JPN.XG_FOB_USD+MG_CIF_USD.*.A"))
    assert "c%5BTIME_PERIOD%5D=ge%3A1990-01-01" in req["url"]
    assert snap.manifest["retrieved_at"] and snap.manifest["content_fingerprint"]

    # Same data, new header timestamp: no new vintage.
    httpserver.clear()
    serve(httpserver, imts_xml(JPN_2020, prepared="2026-11-29T09:00:00Z"))
    [second] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert second.status == "unchanged" and second.vintage == snap.vintage
    assert len(list_vintages("imf-imts", env)) == 1

    # The next release: 2021 values and one revised 2020 value.
    httpserver.clear()
    serve(httpserver, imts_xml(JPN_2021))
    [third] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert third.status == "new" and third.vintage != snap.vintage
    assert len(list_vintages("imf-imts", env)) == 2

    con = build(env)
    current = con.sql(
        "SELECT year, value_usd, vintage FROM staging.stg_imf_imts__trade WHERE reporter_iso3='JPN' "
        "AND partner_iso3='MEX' AND flow='export' ORDER BY year"
    ).fetchall()
    assert current == [
        (2019, 11.6e9, third.vintage),
        (2020, 8.9e9, third.vintage),
        (2021, 10.9e9, third.vintage),
    ]
    revisions = con.sql(
        "SELECT reporter_iso3, partner_iso3, flow, year, old_vintage, old_value, new_vintage, "
        "new_value, change_pct FROM marts.trade_revisions"
    ).fetchall()
    assert revisions == [("JPN", "MEX", "export", 2020, snap.vintage, 8.85e9, third.vintage, 8.9e9, 0.565)]
    world = con.sql(
        "SELECT partner_aggregate, value_usd FROM staging.stg_imf_imts__trade "
        "WHERE partner_iso3 IS NULL AND reporter_iso3='USA' ORDER BY partner_aggregate, year"
    ).fetchall()
    assert world == [
        ("imts:G998", 369_756_760_426),
        ("imts:G998", 371_064_529_410),
        ("world", 2_019_551_635_133),
        ("world", 2_065_411_250_609),
    ]


def test_conditional_request_304_keeps_latest(env, httpserver, sleeps):
    body = imts_xml(JPN_2020)
    httpserver.expect_request(PATH.format("JPN")).respond_with_data(
        body, content_type="application/xml", headers={"ETag": '"v1"'}
    )
    httpserver.expect_request(PATH.format("USA")).respond_with_data(
        RECORDED.read_bytes(), content_type="application/xml"
    )
    [first] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert first.status == "new"
    assert list_vintages("imf-imts", env)[0].manifest["requests"][0]["etag"] == '"v1"'
    httpserver.clear()
    httpserver.expect_request(PATH.format("JPN"), headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    httpserver.expect_request(PATH.format("USA")).respond_with_data(
        RECORDED.read_bytes(), content_type="application/xml"
    )
    [second] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert second.status == "unchanged", second.message


def test_a_304_without_validators_keeps_the_earlier_ones(tmp_path):
    """A 304 that leaves out ETag/Last-Modified: the file is the earlier vintage's, and so are its validators (else
    the next fetch of that file could no longer ask conditionally)."""
    from conftest import write_manifest
    from jlac.connectors import Staged
    from jlac.http import Download
    from jlac.snapshots import load_snapshot

    earlier = tmp_path / "imf-imts" / "2026-11-01"
    earlier.mkdir(parents=True)
    (earlier / "JPN.xml").write_bytes(imts_xml(JPN_2020))
    write_manifest(earlier, "imf-imts", {"requests": [{"file": "JPN.xml", "url": "u", "status": 200,
                                                       "etag": '"v1"', "last_modified": "Sun, 01 Nov 2026"}]})
    staged = Staged("imf-imts", tmp_path / "work")
    (tmp_path / "work").mkdir()
    bare = Download(url="u", status=304, path=None, bytes=0, etag=None, last_modified=None, content_type="",
                    not_modified=True)
    staged.add("JPN.xml", bare, reuse_from=load_snapshot(earlier))
    assert staged.requests == [{"file": "JPN.xml", "url": "u", "status": 304, "etag": '"v1"',
                                "last_modified": "Sun, 01 Nov 2026"}]
    fresh = Download(url="u", status=304, path=None, bytes=0, etag='"v2"', last_modified=None, content_type="",
                     not_modified=True)
    staged.add("JPN.xml", fresh, reuse_from=load_snapshot(earlier))
    assert staged.requests[-1]["etag"] == '"v2"' and staged.requests[-1]["last_modified"] == "Sun, 01 Nov 2026"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            b"<!DOCTYPE html><html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            "text/html",
            "an HTML page where SDMX-ML data was expected",
        ),
        (
            b'<?xml version="1.0"?><message:Error '
            b'xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message" '
            b'xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common">'
            b'<message:ErrorMessage code="100"><common:Text>No Results Found</common:Text>'
            b"</message:ErrorMessage></message:Error>",
            "application/xml",
            "SDMX error message instead of data (code 100: No Results Found)",
        ),
        (b"", "application/xml", "empty body"),
        (
            b"<?xml version='1.0'?><message:StructureSpecificData><message:DataSet><Series COUNTRY=",
            "application/xml",
            "not well-formed XML",
        ),
        (
            b"<?xml version='1.0'?><GenericData><DataSet/></GenericData>",
            "application/xml",
            "expected an SDMX-ML StructureSpecificData message, found <GenericData>",
        ),
        (  # the USA's series where Japan's were asked for (an API ignoring a key it no longer knows)
            RECORDED.read_bytes(),
            "application/xml",
            "the answer is not for the query: series of (COUNTRY, FREQUENCY) [('USA', 'A')] where JPN, A was asked",
        ),
    ],
    ids=["html", "sdmx-error", "empty-body", "cut-xml", "changed-schema", "another-query"],
)
def test_bad_responses_fail_the_source_and_write_nothing(env, httpserver, sleeps, body, content_type, expected):
    httpserver.expect_request(PATH.format("JPN")).respond_with_data(body, content_type=content_type)
    [result] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert result.status == "failed"
    assert expected in result.message
    assert "imf-imts GET http://" in result.message and "JPN.XG_FOB_USD+MG_CIF_USD" in result.message
    assert list_vintages("imf-imts", env) == []
    assert [p.name for p in (env.snapshots / "imf-imts").iterdir()] == []  # staging folder removed


def test_a_failed_source_does_not_stop_the_others(env, httpserver, sleeps, monkeypatch):
    monkeypatch.setenv("JLAC_FRED_URL", httpserver.url_for("/"))
    httpserver.expect_request(PATH.format("JPN")).respond_with_data("<html>down</html>", content_type="text/html")
    fred = next((SHARED / "snapshots" / "fred-exjpus").glob("*/EXJPUS.csv"))  # the series its checks accept
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(fred.read_bytes(), content_type="text/csv")
    results = fetch_all(["imf-imts", "fred-exjpus"], env, client_factory=fast_client(sleeps))
    assert [(r.source, r.status) for r in results] == [("imf-imts", "failed"), ("fred-exjpus", "new")]


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("answer", "tries", "says"), [
    ((503, b"busy"), 2, "HTTP 503"),
    (None, 2, "failed after 1 attempt(s)"),  # nothing listening: connection refused
    ((404, b"no such series"), 1, "HTTP 404"),
    ((200, b"<html>maintenance</html>"), 1, "imf-imts GET"),  # a body the connector refuses
], ids=["503", "no connection", "404", "not understood"])
def test_the_fetch_task_tries_again_only_a_failure_that_may_pass(env, httpserver, monkeypatch, answer, tries, says):
    """The fetch task tries a source once more (after 10 s) when its server still failed after the HTTP client's
    own retries (5xx, 429, no connection); not when the answer will be the same (404, 401, a body the connector
    does not understand): that waited 10 s to fail with the same message. One fetch-ledger line per try."""
    from jlac import pipeline
    from prefect import flow

    monkeypatch.setenv("JLAC_HTTP_RETRIES", "0")  # one request per try: the tries are counted at the server
    monkeypatch.setenv("JLAC_IMF_MIN_INTERVAL", "0")
    monkeypatch.setenv("JLAC_IMF_REPORTERS", "JPN")
    if answer is None:
        monkeypatch.setenv("JLAC_IMF_URL", f"http://127.0.0.1:{_closed_port()}/")
    else:
        httpserver.expect_request(PATH.format("JPN")).respond_with_data(answer[1], status=answer[0])
    fetch = pipeline.fetch_task.with_options(retry_delay_seconds=0)

    @flow(name="fetch-imts-once")
    def fetch_imts() -> tuple:
        try:
            fetch("imf-imts", env)
        except pipeline.FetchFailed as exc:
            return exc.may_pass, str(exc)
        return None, "fetched"

    may_pass, message = fetch_imts()
    assert may_pass == (tries == 2) and says in message, message
    if answer is not None:
        assert len(httpserver.log) == tries
    lines = env.fetch_ledger.read_text(encoding="utf-8").splitlines()
    assert len(lines) == tries and all('"status": "failed"' in line and "may_pass" not in line for line in lines)


def test_offline_touches_nothing(env, httpserver):
    results = fetch_all(None, env, offline=True)
    assert {r.status for r in results} == {"skipped"}
    assert httpserver.log == []


def test_manifest_is_valid_yaml_with_sha256(env, httpserver, sleeps):
    serve(httpserver, imts_xml(JPN_2020))
    fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    [snap] = list_vintages("imf-imts", env)
    manifest = yaml.safe_load((snap.root / "SNAPSHOT.yml").read_text())
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in manifest["files"])


def test_cli_fetch_and_revisions(env, httpserver, monkeypatch, tmp_path):
    import typer
    from jlac import cli_fetch
    from typer.testing import CliRunner

    app = typer.Typer()
    cli_fetch.register(app)
    app.command("noop")(lambda: None)  # typer needs two commands to route by name
    serve(httpserver, imts_xml(JPN_2020))
    monkeypatch.setattr("jlac.sources.imf_imts.connector.make_client",
                        lambda progress=None: HttpClient(progress=progress))
    run = CliRunner().invoke(app, ["fetch", "imf-imts"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "GET http://localhost" in run.output and "imf-imts: new, 2 requests" in run.output
    httpserver.clear()
    serve(httpserver, imts_xml(JPN_2021))
    assert CliRunner().invoke(app, ["fetch", "imf-imts"]).exit_code == 0
    con = build(env)
    env.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"ATTACH '{env.warehouse}' AS wh")
    con.execute("CREATE SCHEMA wh.marts")
    con.execute("CREATE TABLE wh.marts.trade_revisions AS SELECT * FROM marts.trade_revisions")
    con.execute("DETACH wh")
    run = CliRunner().invoke(app, ["revisions"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "JPN" in run.output and "MEX" in run.output and "8,850,000,000" in run.output and "+0.565" in run.output
    httpserver.clear()
    httpserver.expect_request(PATH.format("JPN")).respond_with_data("<html>maintenance</html>")
    run = CliRunner().invoke(app, ["fetch", "imf-imts"], env={"COLUMNS": "200"})
    assert run.exit_code == 1 and "failed" in run.output


def test_refresh_after_fetch_records_revisions_and_a_two_partner_year_stays_out_of_figure_1(
        env, httpserver, sleeps, monkeypatch, mirror, tmp_path):
    """The whole pipeline over a small mirror (Japan's DOTS workbook, every other source but the two heavy trade
    details) plus two fetched IMTS releases: every number checked here is Japan's, so the other 222 DOTS
    workbooks would only add a minute."""
    from jlac import pipeline

    small = small_mirror(tmp_path / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    monkeypatch.setenv("JLAC_MIRROR", str(small))
    settings = get_settings()
    serve(httpserver, imts_xml(JPN_2020))
    assert fetch_all(["imf-imts"], settings, client_factory=fast_client(sleeps))[0].status == "new"
    httpserver.clear()
    serve(httpserver, imts_xml(JPN_2021))
    [second] = fetch_all(["imf-imts"], settings, client_factory=fast_client(sleeps))
    assert second.status == "new"
    pipeline.refresh(settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    fig = dict(con.execute("SELECT year, exports_usd_bn FROM figures.fig1_japan_lac_trade").fetchall())
    # only IMTS has 2021, for two of the 33 partners (BRA 4.62 + MEX 10.9): not a whole LAC year, so Figure 1 ends in
    # 2020 (it drew 2021 as LAC before; found by a QA pass), and the region's table says why
    assert max(fig) == 2020
    assert con.execute(
        "SELECT exports_usd_bn, export_partners, export_coverage < 0.99, is_complete FROM "
        "intermediate.int_japan_trade_by_region WHERE region = 'celac' AND year = 2021").fetchone() == (
            15.52, 2, True, False)
    fetches = con.execute("SELECT source, status FROM meta.fetches ORDER BY fetched_at").fetchall()
    assert fetches[-2:] == [("imf-imts", "new"), ("imf-imts", "new")]
    assert con.execute(
        "SELECT value_usd, source, vintage FROM marts.fct_trade_annual WHERE reporter_iso3 = 'JPN' "
        "AND partner_iso3 = 'MEX' AND flow = 'export' AND year = 2020"
    ).fetchall() == [(8.9e9, "imf-imts", second.vintage)]
    assert con.execute("SELECT partner_iso3, year, old_value, new_value FROM marts.trade_revisions").fetchall() == [
        ("MEX", 2020, 8.85e9, 8.9e9)
    ]
    # the earlier vintage IMTS reads is an input too: its file and sha256 in meta.snapshots, its origin kept, and its
    # rows name their own snapshot (every row named the newest, and meta listed only its file: found by a QA pass)
    first = sorted(v for (v,) in con.execute("SELECT DISTINCT vintage FROM raw.imf_imts").fetchall())[0]
    assert first < second.vintage
    assert con.execute("SELECT DISTINCT vintage, is_history FROM meta.snapshots WHERE source = 'imf-imts' ORDER BY 1"
                       ).fetchall() == [(first, True), (second.vintage, False)]
    assert con.execute("SELECT DISTINCT vintage, snapshot_id FROM raw.imf_imts ORDER BY 1").fetchall() == [
        (first, f"imf-imts/{first}"), (second.vintage, f"imf-imts/{second.vintage}")]
    assert con.execute("SELECT vintage, is_history, license, publisher_url, retrieved_at IS NOT NULL FROM "
                       "meta.snapshot_origins WHERE source = 'imf-imts' ORDER BY vintage").fetchall() == [
        (first, True, "IMF terms of use (free reuse with attribution)", "https://data.imf.org/en/datasets/IMF.STA:IMTS",
         True),
        (second.vintage, False, "IMF terms of use (free reuse with attribution)",
         "https://data.imf.org/en/datasets/IMF.STA:IMTS", True)]
    con.close()
    # the report site gives the earlier vintage's own terms beside its files (it gave the newest vintage's only)
    page = (settings.output / "site" / "index.html").read_text(encoding="utf-8")
    assert (f"<dt>Earlier vintage {first} (read for its values)</dt><dd>License: IMF terms of use (free reuse with "
            "attribution); retrieved 20") in page

    # The publisher answers with a maintenance page: the refresh builds from the vintages at hand and says so in its
    # record, the ledger, an alert, `jlac status` and the CLI's exit status (4), as a scheduled run must see it.
    import json

    from jlac import pipeline as pipeline_module
    from jlac.cli import FETCH_FAILED, app
    from jlac.ledger import read as read_ledger
    from jlac.ops.status import source_status
    from typer.testing import CliRunner

    httpserver.clear()
    httpserver.expect_request(PATH.format("JPN")).respond_with_data("<html>maintenance</html>")
    httpserver.expect_request("/alerts", method="POST").respond_with_data("ok")
    monkeypatch.setenv("JLAC_ALERT_WEBHOOK", httpserver.url_for("/alerts"))
    monkeypatch.setattr(pipeline_module, "fetch_task", pipeline_module.fetch_task.with_options(retry_delay_seconds=0))
    record = pipeline.refresh(settings, fetch=True, sources=["imf-imts"])
    assert record.status == "unchanged" and list(record.fetch_failed) == ["imf-imts"]
    assert "JPN" in record.fetch_failed["imf-imts"] or "XML" in record.fetch_failed["imf-imts"], record.fetch_failed
    assert read_ledger(settings.run_ledger)[-1]["fetch_failed"] == record.fetch_failed
    [alert] = [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == "/alerts"]
    assert alert["state"] == "fetch_failed" and alert["fetch_failed"] == record.fetch_failed
    assert "the fetch of imf-imts failed" in alert["text"] and record.run_id in alert["text"]
    [vintage] = [s["vintage"] for s in record.snapshots if s["source"] == "imf-imts"]
    assert f"; built from its last good vintage {vintage}" in alert["text"]
    # linked to its flow run, as a failed run's alert is (the fields were missing: found by a QA pass)
    assert alert["flow_run_id"] == record.flow_run_id is not None and "ui_url" in alert
    [imts] = [s for s in source_status(settings) if s.source == "imf-imts"]
    assert imts.fetch_failed is not None and imts.fetch_failed[1] == record.fetch_failed["imf-imts"]
    # a torn line in the fetch ledger (a fetch killed while writing it) stops neither reader nor writer
    with settings.fetch_ledger.open("a", encoding="utf-8") as fh:
        fh.write('{"at": "2026-12-04T10:00:00+00:00", "source": "imf-im')
    run = CliRunner().invoke(app, ["refresh", "--fetch", "--source", "imf-imts"], env={"COLUMNS": "200"})
    assert run.exit_code == FETCH_FAILED, run.output
    assert "nothing changed" in run.output and "jlac: fetch failed for imf-imts:" in " ".join(run.output.split())
    assert [s.fetch_failed for s in source_status(settings) if s.source == "imf-imts"][0] is not None
    assert settings.fetch_ledger.read_text(encoding="utf-8").count("\n") == len(
        settings.fetch_ledger.read_text(encoding="utf-8").splitlines())  # the next line started on its own


def staged_values(settings, reporter: str = "JPN", partner: str = "MEX") -> list[tuple]:
    con = build(settings)
    try:
        return con.sql(
            f"SELECT year, value_usd, vintage FROM staging.stg_imf_imts__trade WHERE reporter_iso3 = '{reporter}' "
            f"AND coalesce(partner_iso3, partner_aggregate) = '{partner}' AND flow = 'export' ORDER BY year"
        ).fetchall()
    finally:
        con.close()


def test_an_answer_of_fewer_years_or_reporters_keeps_the_others_in_staging(env, httpserver, sleeps, monkeypatch):
    """Found by a QA pass: an answer with only Japan's 2021 (after 2019-2021), or a narrower JLAC_IMF_REPORTERS,
    took 2019-2020 (the other reporters) out of the warehouse without a word: staging kept max(vintage) only. Each
    (reporter, partner, flow, year) now comes from the newest vintage that has it."""
    serve(httpserver, imts_xml(JPN_2021))
    [first] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert first.status == "new", first.message
    only_2021 = {k: {2021: v[2021] * 1.01} for k, v in JPN_2021.items()}  # 2021 revised, nothing else sent
    httpserver.clear()
    serve(httpserver, imts_xml(only_2021))
    [second] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert second.status == "new", second.message
    assert staged_values(env) == [(2019, 11.6e9, first.vintage), (2020, 8.9e9, first.vintage),
                                  (2021, 10.9e9 * 1.01, second.vintage)]
    # Japan alone asked for: the United States' values stay as the vintage before had them
    monkeypatch.setenv("JLAC_IMF_REPORTERS", "JPN")
    httpserver.clear()
    serve(httpserver, imts_xml(JPN_2021))
    [third] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert third.status == "new", third.message
    assert [f.path for f in list_vintages("imf-imts", env)[-1].files] == ["IMTS_JPN_A.xml"]
    assert staged_values(env, "USA", "world") == [(2023, 2_019_551_635_133, second.vintage),
                                                  (2024, 2_065_411_250_609, second.vintage)]
    assert [v for _, v, _ in staged_values(env)] == [11.6e9, 8.9e9, 10.9e9]


def test_a_reporter_without_observations_is_that_reporters_no_data(env, httpserver, sleeps, caplog):
    """Found by a QA pass: one reporter answering a data set without observations threw the whole fetch away. It is
    that reporter's no data: the others are stored, the log and the manifest's note say it, the reporter's earlier
    values stay in staging; only a fetch where no reporter has data fails."""
    import logging

    serve(httpserver, imts_xml(JPN_2020))
    [first] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert first.status == "new", first.message
    httpserver.clear()
    serve(httpserver, imts_xml({}))  # Japan: no observation; the United States as recorded
    with caplog.at_level(logging.WARNING, logger="jlac"):
        [second] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert second.status == "new", second.message
    snap = list_vintages("imf-imts", env)[-1]
    assert [f.path for f in snap.files] == ["IMTS_USA_A.xml"]
    assert snap.manifest["note"].startswith("IMTS answered no observation for JPN (frequency A, from 1990)")
    assert [r["file"] for r in snap.manifest["requests"]] == ["IMTS_USA_A.xml"]
    assert any("empty result" in r.getMessage() and "IMTS_JPN_A.xml is left out" in r.getMessage()
               for r in caplog.records)
    assert staged_values(env) == [(2019, 11.6e9, first.vintage), (2020, 8.85e9, first.vintage)]
    # no reporter with data: nothing stored
    httpserver.clear()
    serve(httpserver, imts_xml({}), imts_xml({}))
    [third] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert third.status == "failed" and "no reporter asked has an observation from 1990 (empty data sets for " \
        "JPN, USA)" in third.message, third.message
    assert len(list_vintages("imf-imts", env)) == 2


SDMX_NO_RESULTS = b"""<?xml version="1.0" encoding="utf-8"?>
<message:Error xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
  xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common">
  <message:ErrorMessage code="100"><common:Text xml:lang="en">No Results Found</common:Text></message:ErrorMessage>
</message:Error>"""


def test_sdmx_no_results_for_one_reporter_is_that_reporters_no_data_and_another_404_fails(env, httpserver, sleeps):
    """SDMX web services answer a query matching no data with HTTP 404 and error 100, "No Results Found": one such
    reporter failed the whole IMTS fetch (noted in a stop's closing note). It is that reporter's no data now; a 404
    saying anything else (a wrong base URL) still fails the fetch, naming the request."""
    httpserver.expect_request(PATH.format("JPN")).respond_with_data(SDMX_NO_RESULTS, status=404,
                                                                    content_type="application/xml")
    httpserver.expect_request(PATH.format("USA")).respond_with_data(RECORDED.read_bytes(),
                                                                    content_type="application/xml")
    [first] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert first.status == "new", first.message
    snap = list_vintages("imf-imts", env)[-1]
    assert [f.path for f in snap.files] == ["IMTS_USA_A.xml"]
    assert snap.manifest["note"].startswith("IMTS answered no observation for JPN (frequency A, from 1990)")
    assert [r["file"] for r in snap.manifest["requests"]] == ["IMTS_USA_A.xml"]
    httpserver.clear()
    httpserver.expect_request(PATH.format("JPN")).respond_with_data("<html>Not Found</html>", status=404,
                                                                    content_type="text/html")
    httpserver.expect_request(PATH.format("USA")).respond_with_data(RECORDED.read_bytes(),
                                                                    content_type="application/xml")
    [second] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert second.status == "failed" and "imf-imts reporter JPN (1/2)" in second.message \
        and "HTTP 404" in second.message, second.message
    assert len(list_vintages("imf-imts", env)) == 1


@pytest.mark.parametrize(("series", "start", "expected"), [
    ({("JPN", "XG_FOB_USD", "MEX"): {2019: 11.6e9, "2019-01": 0.9e9}}, None,
     "series JPN.XG_FOB_USD.MEX.A: TIME_PERIOD '2019-01' is a month, but the series' FREQUENCY is A (annual: a year "
     "YYYY expected)"),
    ({("JPN", "XG_FOB_USD", "MEX"): {1960: 0.1e9, 2019: 11.6e9, 2020: 8.85e9}}, "2019",
     "the answer is not for the query: TIME_PERIOD before 2019 (ge:2019-01-01 was asked): JPN.XG_FOB_USD.MEX.A 1960 "
     "(1 observation(s))"),
], ids=["month-in-annual-series", "year-before-start"])
def test_periods_not_asked_for_are_refused(env, httpserver, sleeps, monkeypatch, series, start, expected):
    """Found by a QA pass: a TIME_PERIOD 2019-01 under FREQUENCY A was stored and read as the annual 2019, and a year
    before the asked range (1960 when ge:2019 was asked) was stored."""
    if start:
        monkeypatch.setenv("JLAC_IMF_START", start)
    serve(httpserver, imts_xml(series))
    [result] = fetch_all(["imf-imts"], env, client_factory=fast_client(sleeps))
    assert result.status == "failed" and expected in result.message, result.message
    assert "JPN.XG_FOB_USD+MG_CIF_USD" in result.message  # the request
    assert list_vintages("imf-imts", env) == []
