"""OECD Data Explorer connector against a local server serving SDMX CSV in the exact format the OECD returns
(header and row layout as recorded in shared/api-recordings/README.md, 'Finance: 1. OECD Data Explorer')."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse

import duckdb
import pytest
from conftest import SHARED
from jlac.config import get_settings
from jlac.connectors import FetchError, connector, connectors
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot, list_vintages
from jlac.sources import get_source
from jlac.sources.aiddata_gcdf3_projects import connector as aiddata
from jlac.sources.oecd_crs_api import connector as crs
from jlac.sources.oecd_crs_api import source as oecd_crs_api
from jlac.sources.oecd_dac2a_api import connector as oecd
from jlac.sources.oecd_dac2a_api import source as oecd_dac2a_api

HEADER = ("STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,ACTION,DONOR,Donor,RECIPIENT,Recipient,MEASURE,Measure,UNIT_MEASURE,"
          "Unit of measure,PRICE_BASE,Price base,TIME_PERIOD,Time period,OBS_VALUE,Observation value,BASE_PER,"
          "Base period,UNIT_MULT,Unit multiplier,FLOW_TYPE,Flow type,OBS_STATUS,Observation status")
# The recorded example row, verbatim: official donors to India, 2015.
RECORDED_ROW = ('DATAFLOW,OECD.DCD.FSD:DSD_DAC2@DF_DAC2A(1.6),DAC2A: Aid (ODA) disbursements to countries and regions,'
                'I,ALLD,Official donors,IND,India,206,"Official development assistance (ODA), disbursements",USD,'
                'US dollar,V,Current prices,2015,,3174.348367,,,,6,Millions,D,Disbursements,A,Normal value')
PATH = "/public/rest/data/OECD.DCD.FSD,DSD_DAC2@DF_DAC2A,/" + oecd.dac2a_key()


def row(donor, donor_label, recipient, recipient_label, year, value, measure="206", unit_mult="6"):
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([
        "DATAFLOW", "OECD.DCD.FSD:DSD_DAC2@DF_DAC2A(1.6)", "DAC2A: Aid (ODA) disbursements to countries and regions",
        "I", donor, donor_label, recipient, recipient_label, measure,
        "Official development assistance (ODA), disbursements", "USD", "US dollar", "V", "Current prices", year, "",
        value, "", "", "", unit_mult, "Millions", "D", "Disbursements", "A", "Normal value"])
    return out.getvalue()


# Costa Rica 2017 as the DAC2a mirror file holds it (Japan 38.97, Korea 1.84, all official donors 99.26).
BODY = "\ufeff" + "\r\n".join([
    HEADER, RECORDED_ROW.replace(",IND,India,", ",HTI,Haiti,"),  # the recorded row, for a recipient asked for
    row("JPN", "Japan", "CRI", "Costa Rica", "2017", "38.97"),
    row("KOR", "Korea", "CRI", "Costa Rica", "2017", "1840000", unit_mult="0"),
    row("ALLD", "Official donors", "CRI", "Costa Rica", "2017", "99.26"),
    row("JPN", "Japan", "CRI", "Costa Rica", "2012", "-8.43"),
]) + "\r\n"


@pytest.fixture
def settings(tmp_path, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", "")
    monkeypatch.setenv("JLAC_OECD_URL", httpserver.url_for("/public/rest"))
    monkeypatch.setenv("JLAC_OECD_DCD_URL", httpserver.url_for("/dcd-public/rest"))
    return get_settings()


def client():
    return HttpClient(retries=1, backoff=0.0, sleep=lambda s: None)


def query(**extra):
    return urllib.parse.urlencode({**oecd.PARAMS, **extra})


def test_dac2a_fetch_writes_a_vintage_the_parser_reads(settings, httpserver):
    httpserver.expect_request(PATH, query_string=query()).respond_with_data(BODY, content_type="text/csv")
    result = oecd.fetch(settings, client())
    assert result.status == "new" and result.requests == 1
    [snap] = list_vintages("oecd-dac2a-api", settings)
    assert snap.manifest["requests"][0]["file"] == "DAC2A.csv"
    rel = oecd_dac2a_api.SOURCE.parse(snap, duckdb.connect())
    got = {(r[0], r[1], r[2]): r[3:] for r in rel.project(
        "year, recipient_iso3, donor_name, donor_iso3, value_usd_m").fetchall()}
    assert got[(2017, "CRI", "Japan")] == ("JPN", 38.97)
    assert got[(2017, "CRI", "Korea")] == ("KOR", 1.84)  # UNIT_MULT 0: plain dollars scaled to millions
    assert got[(2017, "CRI", "Official Donors, Total")] == (None, 99.26)  # QWIDS name, as the models expect
    assert got[(2015, "HTI", "Official Donors, Total")] == (None, 3174.348367)
    assert got[(2012, "CRI", "Japan")] == ("JPN", -8.43)
    again = oecd.fetch(settings, client())
    assert again.status == "unchanged" and len(list_vintages("oecd-dac2a-api", settings)) == 1


def test_live_dac2a_does_not_displace_the_mirror(settings, httpserver, monkeypatch, mirror):
    """The live slice (Japan, Korea, all donors to CELAC) is its own source; the mirror's full DAC2a stays newest."""
    monkeypatch.setenv("JLAC_MIRROR", str(mirror))
    httpserver.expect_request(PATH).respond_with_data(BODY, content_type="text/csv")
    assert connector("oecd-dac2a-api").fetch(get_settings(), client()).status == "new"
    assert latest_snapshot("oecd-dac2a", get_settings()).vintage == "2022-01-18"
    assert latest_snapshot("oecd-dac2a-api", get_settings()).root.is_relative_to(get_settings().snapshots)


def test_registry_names_match_sources():
    for name in ("oecd-dac2a-api", "oecd-crs-api", "aiddata-gcdf3-projects"):
        assert name in connectors()
        assert connector(name).SOURCE_NAME == name and get_source(name).name == name


def test_dac2a_retries_a_server_error(settings, httpserver):
    httpserver.expect_ordered_request(PATH).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(PATH).respond_with_data(BODY, content_type="text/csv")
    result = oecd.fetch(settings, client())
    assert result.status == "new" and result.requests == 2


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("<html><body>Service unavailable</body></html>", 200, "an HTML/XML page where an SDMX CSV of DAC2A"),
        (HEADER + "\r\n", 200, "no observation (empty result)"),
        ("NoRecordsFound: No records found", 404, "404"),
        (HEADER + "\r\n" + row("JPN", "Japan", "CRI", "Costa Rica", "2017", "38.97", measure="305"), 200,
         "MEASURE should be 206"),
        (HEADER.replace("OBS_VALUE", "VALUE") + "\r\n", 200, "lacks column(s) ['OBS_VALUE']"),
        (HEADER + "\r\n" + row("JPN", "Japan", "CRI", "Costa Rica", "2017", "n/a"), 200,
         "expected a year and a number"),
    ],
)
def test_dac2a_bad_responses_fail_and_store_nothing(settings, httpserver, body, status, message):
    httpserver.expect_request(PATH).respond_with_data(body, status=status)
    with pytest.raises(FetchError, match="oecd-dac2a-api") as err:
        oecd.fetch(settings, client())
    assert message in str(err.value) and PATH.split("/")[-1][:20] in urllib.parse.unquote(str(err.value))
    assert list_vintages("oecd-dac2a-api", settings) == []


# The CRS SDMX CSV columns, in order, as the Data Explorer returns them with labels (recorded column list).
CRS_HEADER = list(json.loads((SHARED / "api-recordings/oecd/oda_reader_mapping_crs_dotstat.json").read_text()))
CRS_PATH = (urllib.parse.quote("/dcd-public/rest/data/" + crs.CRS_FLOW, safe="/,@") + "/"
            + "+".join(crs.CRS_DONORS) + "." + "+".join(sorted(oecd.CELAC)) + "..100+14...C+D.V.DD..USD")


def crs_row(**cells):
    """One CRS observation: a JICA loan to Costa Rica unless cells say otherwise."""
    base = {"STRUCTURE": "DATAFLOW", "STRUCTURE_ID": "OECD.DCD.FSD:DSD_CRS@DF_CRS(1.6)", "ACTION": "I",
            "DONOR": "JPN", "Donor": "Japan", "RECIPIENT": "CRI", "Recipient": "Costa Rica", "SECTOR": "23210",
            "MEASURE": "100", "FLOW_TYPE": "C", "PRICE_BASE": "V", "MD_DIM": "DD", "MD_ID": "2013000123",
            "UNIT_MEASURE": "USD", "TIME_PERIOD": "2013", "OBS_VALUE": "559.86", "UNIT_MULT": "6",
            "DONOR_AGENCY": "3", "Donor agency": "Japan International Cooperation Agency",
            "PROJECT_TITLE": "Guanacaste Geothermal Development Sector Loan", "FINANCETYPE_CODE": "421"}
    base.update(cells)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([base.get(c, "") for c in CRS_HEADER])
    return out.getvalue()


CRS_BODY = "\ufeff" + "\r\n".join([
    ",".join(CRS_HEADER), crs_row(),
    crs_row(FLOW_TYPE="D", TIME_PERIOD="2017", OBS_VALUE="41.2"),
    crs_row(DONOR="KOR", Donor="Korea", DONOR_AGENCY="1", **{"Donor agency": "Korea International Cooperation "
            "Agency"}, MD_ID="2017000777", OBS_VALUE="250000", UNIT_MULT="0", FINANCETYPE_CODE="110",
            TIME_PERIOD="2017", FLOW_TYPE="D"),
]) + "\r\n"


def test_crs_fetch_through_the_registry_and_parse(settings, httpserver):
    httpserver.expect_request(CRS_PATH, query_string=query()).respond_with_data(CRS_BODY, content_type="text/csv")
    result = connector("oecd-crs-api").fetch(settings, client())
    assert result.status == "new", result.message
    [snap] = list_vintages("oecd-crs-api", settings)
    rel = oecd_crs_api.SOURCE.parse(snap, duckdb.connect())
    got = rel.project("year, donor_iso3, donor_agency, recipient_iso3, flow_type, finance_type_code, value_usd")
    assert sorted(got.fetchall()) == [
        (2013, "JPN", "Japan International Cooperation Agency", "CRI", "C", "421", 559860000.0),
        (2017, "JPN", "Japan International Cooperation Agency", "CRI", "D", "421", 41200000.0),
        (2017, "KOR", "Korea International Cooperation Agency", "CRI", "D", "110", 250000.0),
    ]
    assert connector("oecd-crs-api").fetch(settings, client()).status == "unchanged"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (",".join(CRS_HEADER) + "\r\n" + crs_row(PRICE_BASE="Q"), "PRICE_BASE should be V (current prices)"),
        (",".join(CRS_HEADER) + "\r\n" + crs_row(FLOW_TYPE="E"), "FLOW_TYPE should be C (commitments)"),
        (",".join(CRS_HEADER) + "\r\n" + crs_row(OBS_VALUE="n/a"), "line 2: '2013', 'n/a', '6'"),
        (",".join(c for c in CRS_HEADER if c != "UNIT_MULT") + "\r\n", "lacks column(s) ['UNIT_MULT']"),
        (",".join(CRS_HEADER) + "\r\n", "no observation (empty result)"),
        ("<html>maintenance</html>", "an HTML/XML page"),
    ],
)
def test_crs_bad_responses_fail_and_store_nothing(settings, httpserver, body, message):
    httpserver.expect_request(CRS_PATH).respond_with_data(body)
    with pytest.raises(FetchError, match="oecd-crs-api GET") as err:
        connector("oecd-crs-api").fetch(settings, client())
    assert message in str(err.value)
    assert list_vintages("oecd-crs-api", settings) == []


def gcdf_zip(tmp_path, columns, rows, sheet="GCDF_3.0"):
    """A zip like AidData's: one workbook with sheet GCDF_3.0, AidData's column names."""
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(columns))
    for r in rows:
        ws.append(list(r))
    book = tmp_path / "AidDatas_GCDF_3.0.xlsx"
    wb.save(book)
    out = tmp_path / "gcdf.zip"
    with zipfile.ZipFile(out, "w") as zf:
        zf.write(book, "AidDatas_Global_Chinese_Development_Finance_Dataset_Version_3_0.xlsx")
    return out.read_bytes()


def damaged_deflate(stored: bytes) -> bytes:
    """The zip deflated (as AidData's is) with its member's first compressed bytes damaged: the zip's directory
    reads, the workbook does not inflate."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(stored)) as src:
        [info] = src.infolist()
        data = src.read(info)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info.filename, data)
    body = bytearray(out.getvalue())
    start = 30 + len(info.filename)  # the local header, then the member's deflate stream
    body[start:start + 4] = b"\xff\xff\xff\xff"  # block type 3: invalid
    return bytes(body)


GCDF_PATH = "/ad4/datasets/" + aiddata.FILE
# Route 32's buyer's credit as GCDF 2.0 in the mirror records it (project 37364, US$296m, 2013).
ROUTE32 = ("37364", "Yes", "China (People's Republic of)", "Costa Rica", "CRI", "America", 2013,
           "Export Buyer's Credit", "OOF-like", "Export-Import Bank of China", 300000000.0, 296000000.0)


@pytest.fixture
def aid_settings(settings, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_AIDDATA_URL", httpserver.url_for("/"))
    return settings


# Route 32 with every column the aiddata-gcdf3-projects parser reads (the connector's first look needs fewer; a zip
# the parser refuses is not stored)
ROUTE32_PARSED = {**dict(zip(aiddata.REQUIRED_COLUMNS, ROUTE32, strict=True)), "Umbrella": "No",
                  "Title": "Route 32 rehabilitation and extension", "Status": "Completion", "Intent": "Development",
                  "Sector Name": "TRANSPORT AND STORAGE", "Funding Agencies Type": "State-owned Policy Bank",
                  "Amount (Original Currency)": 296000000.0, "Original Currency": "USD"}


def test_aiddata_zip_is_checked_and_stored(aid_settings, httpserver, tmp_path):
    from jlac.sources.aiddata_gcdf3_projects.source import HEADER as PARSED_COLUMNS

    body = gcdf_zip(tmp_path, list(PARSED_COLUMNS), [[ROUTE32_PARSED[c] for c in PARSED_COLUMNS]])
    httpserver.expect_request(GCDF_PATH).respond_with_data(body, content_type="application/zip",
                                                           headers={"ETag": '"v3"'})
    result = aiddata.fetch(aid_settings, client())
    assert result.status == "new", result.message
    [snap] = list_vintages("aiddata-gcdf3-projects", aid_settings)
    assert "1 rows" in snap.manifest["format"] and snap.manifest["requests"][0]["etag"] == '"v3"'
    assert snap.path(aiddata.FILE).read_bytes() == body


@pytest.mark.parametrize(
    ("make_body", "message"),
    [
        (lambda t: b"<!DOCTYPE html><html>Not found</html>", "an HTML page where the GCDF zip"),
        (lambda t: b"PK\x03\x04truncated", "not a zip file"),
        (lambda t: gcdf_zip(t, [c for c in aiddata.REQUIRED_COLUMNS if c != "Funding Agencies"], [ROUTE32[:-1]]),
         "lacks column(s) ['Funding Agencies']"),
        (lambda t: gcdf_zip(t, aiddata.REQUIRED_COLUMNS, [ROUTE32], sheet="Sheet1"), "has no sheet 'GCDF_3.0'"),
        (lambda t: gcdf_zip(t, aiddata.REQUIRED_COLUMNS, []), "no project (empty result)"),
        (lambda t: damaged_deflate(gcdf_zip(t, aiddata.REQUIRED_COLUMNS, [ROUTE32])), "does not decompress"),
    ],
)
def test_aiddata_bad_downloads_fail(aid_settings, httpserver, tmp_path, make_body, message):
    httpserver.expect_request(GCDF_PATH).respond_with_data(make_body(tmp_path))
    with pytest.raises(FetchError, match="aiddata-gcdf3-projects GET") as err:
        aiddata.fetch(aid_settings, client())
    assert message in str(err.value)
    assert list_vintages("aiddata-gcdf3-projects", aid_settings) == []


def test_dac2a_line_errors_name_the_file_it_is_stored_as(settings, httpserver):
    """Found by a QA pass: a line with too few fields was reported in ".part-0hbq22wb", the temporary file."""
    short = row("JPN", "Japan", "CRI", "Costa Rica", "2017", "38.97").rsplit(",", 16)[0]
    httpserver.expect_request(PATH).respond_with_data(BODY + short + "\r\n", content_type="text/csv")
    with pytest.raises(FetchError) as err:
        oecd.fetch(settings, client())
    assert "DAC2A.csv" in str(err.value) and ".part-" not in str(err.value), str(err.value)
    assert list_vintages("oecd-dac2a-api", settings) == []


@pytest.mark.parametrize(("rows", "says"), [
    ([RECORDED_ROW], "DAC2A.csv line 2: DONOR 'ALLD', RECIPIENT 'IND'"),  # the recorded row: India, not asked
    ([row("JPN", "Japan", "CRI", "Costa Rica", "2017", "38.97"), row("USA", "United States", "CRI", "Costa Rica",
                                                                     "2017", "12.5")],
     "DAC2A.csv line 3: DONOR 'USA', RECIPIENT 'CRI'"),
], ids=["recipient-not-asked", "donor-not-asked"])
def test_dac2a_rows_of_donors_or_recipients_not_asked_for_are_refused(settings, httpserver, rows, says):
    """Found by a QA pass: donor and recipient were not compared with the query (an API ignoring part of the key
    answers another query)."""
    httpserver.expect_request(PATH).respond_with_data("\r\n".join([HEADER, *rows]) + "\r\n", content_type="text/csv")
    with pytest.raises(FetchError, match="the answer is not for the query") as err:
        oecd.fetch(settings, client())
    assert says in str(err.value) and "oecd-dac2a-api GET" in str(err.value), str(err.value)
    assert list_vintages("oecd-dac2a-api", settings) == []


@pytest.mark.parametrize(("cells", "says"), [
    ({"DONOR": "USA", "Donor": "United States"}, "CRS.csv line 3: DONOR 'USA'"),
    ({"RECIPIENT": "F97", "Recipient": "America, regional"}, "CRS.csv line 3: RECIPIENT 'F97'"),
    ({"MD_DIM": "_T"}, "CRS.csv line 3: MD_DIM '_T'"),  # the total above the activities
], ids=["donor", "recipient", "activity-level"])
def test_crs_rows_not_for_the_query_are_refused(settings, httpserver, cells, says):
    """Found by a QA pass: donor, recipient and CRS's activity level (MD_DIM DD) were not compared with the query."""
    body = "\r\n".join([",".join(CRS_HEADER), crs_row(), crs_row(**cells)]) + "\r\n"
    httpserver.expect_request(CRS_PATH).respond_with_data(body, content_type="text/csv")
    with pytest.raises(FetchError, match="oecd-crs-api GET") as err:
        connector("oecd-crs-api").fetch(settings, client())
    assert "the answer is not for the query: 1 row(s)" in str(err.value) and says in str(err.value), str(err.value)
    assert list_vintages("oecd-crs-api", settings) == []


def test_crs_line_errors_name_the_file_it_is_stored_as(settings, httpserver):
    """Found by a QA pass: errors named the download's temporary file (".part-4_oi_jtz"), not CRS.csv."""
    body = "\r\n".join([",".join(CRS_HEADER), crs_row(), crs_row(OBS_VALUE="n/a")]) + "\r\n"
    httpserver.expect_request(CRS_PATH).respond_with_data(body, content_type="text/csv")
    with pytest.raises(FetchError) as err:
        connector("oecd-crs-api").fetch(settings, client())
    assert "oecd-crs-api CRS.csv: expected a year, a number" in str(err.value), str(err.value)
    assert ".part-" not in str(err.value)


def test_an_aiddata_zip_its_parser_refuses_is_not_stored(aid_settings, httpserver, tmp_path):
    """The connector's first look needs fewer columns than the parser reads: such a zip was stored, and every refresh
    then failed on it. The parser runs before anything is stored."""
    body = gcdf_zip(tmp_path, aiddata.REQUIRED_COLUMNS, [ROUTE32])
    httpserver.expect_request(GCDF_PATH).respond_with_data(body, content_type="application/zip")
    with pytest.raises(FetchError) as err:
        aiddata.fetch(aid_settings, client())
    assert str(err.value).startswith("aiddata-gcdf3-projects: the fetched files do not parse with the source's parser, "
                                     "so they were not stored (no vintage of it is stored)"), str(err.value)
    assert "sheet GCDF_3.0 lacks column(s) ['Umbrella', 'Title'" in str(err.value)
    assert list_vintages("aiddata-gcdf3-projects", aid_settings) == []


def test_a_dac2a_answer_shorter_than_the_vintage_before_is_not_stored(settings, httpserver):
    """Found by a QA pass: a body cut after two thirds of its lines (no length, the connection closed) was stored and
    published: Costa Rica's official donors 2017 and Japan 2012 left the warehouse without a word. The query re-sends
    every year from 2000, so fewer lines than the newest vintage is a body cut short."""
    httpserver.expect_oneshot_request(PATH, query_string=query()).respond_with_data(BODY, content_type="text/csv")
    assert oecd.fetch(settings, client()).status == "new"
    short = "\r\n".join(BODY.split("\r\n")[:4]) + "\r\n"  # the header and 3 rows of 5: whole lines, parses
    httpserver.expect_oneshot_request(PATH, query_string=query()).respond_with_data(short, content_type="text/csv")
    with pytest.raises(FetchError, match=r"oecd-dac2a-api GET .*: 4 line\(s\) where the previous vintage .* has 6"):
        oecd.fetch(settings, client())
    assert len(list_vintages("oecd-dac2a-api", settings)) == 1
