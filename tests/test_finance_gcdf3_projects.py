"""AidData GCDF 3.0 project rows (aiddata-gcdf3-projects): the parser against a workbook built here in AidData's exact
126-column layout (column list recorded in shared/api-recordings/oecd/oda_reader_mapping_aidData_schema.json), and a
refresh in which such a snapshot makes 2018 China policy-bank lending derivable (claim C05). The same refresh loads
live-API vintages of DAC2A and CRS (built in the Data Explorer's SDMX CSV layout) to check how fct_dev_finance
takes them beside the mirror.

The project rows are a built fixture, not AidData's data: a US$5bn CDB loan to Venezuela in 2018 (the loan the
Dialogue/BU database reports), a US$600m China Eximbank loan to the Dominican Republic (likewise), a US$1.1bn
Eximbank buyer's credit to Argentina, and rows that must be left out (a grant, a project not recommended for
aggregates, a non-policy-bank loan)."""

from __future__ import annotations

import json
import os
import zipfile

import duckdb
import openpyxl
import pytest
from conftest import JAPAN_WORKBOOK, SHARED, small_mirror, write_manifest
from jlac.errors import ParseError
from jlac.snapshots import load_snapshot, write_snapshot
from jlac.sources import get_source
from test_connectors_oecd import CRS_HEADER, HEADER, crs_row, row

SOURCE = "aiddata-gcdf3-projects"
COLUMNS = list(json.loads((SHARED / "api-recordings/oecd/oda_reader_mapping_aidData_schema.json").read_text()))
ZIP = "AidDatas_Global_Chinese_Development_Finance_Dataset_Version_3_0.zip"
CDB = "China Development Bank (CDB)"
EXIM = "Export-Import Bank of China (China Eximbank)"
# id, recommended, recipient, iso3, year, flow type, flow class, funders, nominal US$
PROJECTS = [
    (95001, "Yes", "Venezuela", "VEN", 2018, "Loan", "OOF-like", CDB, 5_000_000_000),
    (95002, "Yes", "Dominican Republic", "DOM", 2018, "Loan", "OOF-like", EXIM, 600_000_000),
    (95003, "Yes", "Argentina", "ARG", 2018, "Export Buyer's Credit", "OOF-like", f"{EXIM}|Bank of China (BOC)",
     1_100_000_000),
    (95004, "Yes", "Ecuador", "ECU", 2018, "Grant", "ODA-like", "Ministry of Commerce (MOFCOM)", 4_500_000),
    (95005, "No", "Venezuela", "VEN", 2018, "Loan", "OOF-like", CDB, 2_000_000_000),  # umbrella: not summed
    (95006, "Yes", "Bolivia", "BOL", 2019, "Supplier\u2019s Credit/Export Seller\u2019s Credit", "OOF-like", EXIM,
     200_000_000),
    (95007, "Yes", "Peru", "PER", 2019, "Loan", "OOF-like", "Industrial and Commercial Bank of China (ICBC)",
     300_000_000),
]


# Live DAC2A: Japan to Costa Rica 2017 (the mirror's file has 38.97: the mirror wins) and 2021 (not in the mirror)
DAC2A_API = "\r\n".join([HEADER, row("JPN", "Japan", "CRI", "Costa Rica", "2017", "40.00"),
                          row("JPN", "Japan", "CRI", "Costa Rica", "2021", "12.5"),
                          row("KOR", "Korea", "CRI", "Costa Rica", "2021", "2100000", unit_mult="0"),
                          row("ALLD", "Official donors", "CRI", "Costa Rica", "2021", "150.0")]) + "\r\n"
# Live CRS: a JICA commitment in 2013 and a gross disbursement in 2017, both to Costa Rica
# and a KOICA disbursement to Panama in 2017 without a finance type (the split of that series unknown)
CRS_API = "\r\n".join([",".join(CRS_HEADER), crs_row(), crs_row(FLOW_TYPE="D", TIME_PERIOD="2017", OBS_VALUE="41.2"),
                        crs_row(DONOR="KOR", Donor="Korea", DONOR_AGENCY="1", RECIPIENT="PAN", Recipient="Panama",
                                **{"Donor agency": "Korea International Cooperation Agency"}, MD_ID="2017000778",
                                OBS_VALUE="3.5", FINANCETYPE_CODE="", TIME_PERIOD="2017", FLOW_TYPE="D")]) + "\r\n"


def gcdf3_zip(path, projects=PROJECTS, columns=COLUMNS, amount=None):
    """A zip like AidData's: one .xlsx whose sheet GCDF_3.0 has AidData's 126 columns in their order."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "GCDF_3.0"
    ws.append(columns)
    for pid, rec, recipient, iso3, year, flow, cls, funders, usd in projects:
        cells = {"AidData Record ID": pid, "Recommended For Aggregates": rec, "Umbrella": "No",
                 "Financier Country": "China (People's Republic of)", "Recipient": recipient, "Recipient ISO-3": iso3,
                 "Recipient Region": "America", "Commitment Year": year, "Title": f"Project {pid}",
                 "Status": "Implementation", "Intent": "Development", "Flow Type": flow, "Flow Class": cls,
                 "Funding Agencies": funders, "Funding Agencies Type": "State-owned Policy Bank",
                 "Amount (Original Currency)": usd, "Original Currency": "USD",
                 "Amount (Constant USD 2021)": round(usd * 1.08), "Amount (Nominal USD)": amount or usd}
        ws.append([cells.get(c) for c in columns])
    book = path.parent / "gcdf3.xlsx"
    wb.save(book)
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(book, "AidDatas_Global_Chinese_Development_Finance_Dataset_Version_3_0.xlsx")
    return path


def snapshot_of(tmp_path, **kwargs):
    vintage = tmp_path / SOURCE / "2023-09-26"
    vintage.mkdir(parents=True)
    gcdf3_zip(vintage / ZIP, **kwargs)
    write_manifest(vintage, SOURCE)
    return load_snapshot(vintage)


def test_layout_is_aiddatas():
    assert len(COLUMNS) == 126 and COLUMNS[0] == "AidData Record ID" and "Funding Agencies" in COLUMNS


def test_parser_reads_the_built_workbook(tmp_path):
    rel = get_source(SOURCE).parse(snapshot_of(tmp_path), duckdb.connect())
    rows = {r[0]: r[1:] for r in rel.project(
        "project_id, row_number, recipient_iso3, commitment_year, funding_agencies, amount_usd_nominal").fetchall()}
    assert rows["95001"] == (2, "VEN", 2018, CDB, 5e9)
    assert rows["95006"][0] == 7 and len(rows) == 7


def test_missing_column_is_an_error(tmp_path):
    with pytest.raises(ParseError, match=r"GCDF_3.0 lacks column\(s\) \['Funding Agencies'\]"):
        get_source(SOURCE).parse(snapshot_of(tmp_path, columns=[c for c in COLUMNS if c != "Funding Agencies"]),
                                 duckdb.connect())


def test_text_amount_names_the_row(tmp_path):
    with pytest.raises(ParseError, match=r"'amount_usd_nominal' expects a number; row 2: 'about 5bn'"):
        get_source(SOURCE).parse(snapshot_of(tmp_path, amount="about 5bn"), duckdb.connect())


def test_a_sheet_cut_after_its_header_is_refused_naming_it(tmp_path):
    """Header only: 0 projects passed the checks, and China's 2018-2021 policy-bank lending left the figures without
    a word (found by a regression audit of issue 12, as for GCDF 2.0)."""
    with pytest.raises(ParseError, match=r"aiddata-gcdf3-projects .*\.zip sheet GCDF_3.0: no project row under the "
                                         r"header"):
        get_source(SOURCE).parse(snapshot_of(tmp_path, projects=[]), duckdb.connect())


@pytest.fixture(scope="module")
def built(tmp_path_factory, mirror):
    root = tmp_path_factory.mktemp("gcdf3")
    small = small_mirror(root / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    for big in ("comtrade-classic-hs27-hs44", "mof-hs9-imports"):  # trade detail this test does not read
        if (small / big).is_symlink():
            (small / big).unlink()
    staged = gcdf3_zip(root / ZIP)
    env = {"JLAC_MIRROR": str(small), "JLAC_WAREHOUSE": str(root / "wh" / "jlac.duckdb"),
           "JLAC_SNAPSHOTS": str(root / "store")}
    old = {k: os.environ.get(k) for k in (*env, "JLAC_OUTPUT")}
    os.environ.update(env)
    os.environ.pop("JLAC_OUTPUT", None)
    try:
        from jlac.config import get_settings
        from jlac.pipeline import refresh

        settings = get_settings()
        write_snapshot(settings.snapshots, SOURCE, {ZIP: staged}, {"title": "built GCDF 3.0 fixture"})
        for source, name, text in (("oecd-dac2a-api", "DAC2A.csv", DAC2A_API), ("oecd-crs-api", "CRS.csv", CRS_API)):
            (root / name).write_text(text, encoding="utf-8")
            write_snapshot(settings.snapshots, source, {name: root / name}, {"title": "built SDMX CSV fixture"})
        record = refresh(settings)
        assert record.status == "completed", record.error
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        yield con
        con.close()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_2018_lending_becomes_derivable(built):
    lending = {r[0]: r[1:] for r in built.execute(
        "SELECT recipient_iso3, n_loans, aiddata_usd_m, aiddata_source, dialogue_bu_usd_m "
        "FROM figures.china_lac_lending WHERE year = 2018").fetchall()}
    # VEN 5,000 + DOM 600 + ARG 1,100; the grant, the non-aggregate loan and ICBC are left out
    assert lending["LAC"] == (3, 6700.0, "aiddata-gcdf3-projects", 7700.0)
    assert lending["VEN"] == (1, 5000.0, "aiddata-gcdf3-projects", 5000.0)
    assert lending["DOM"] == (1, 600.0, "aiddata-gcdf3-projects", 600.0)
    # 2019: the supplier's credit (typographic apostrophe) counts as a loan; ICBC's loan does not
    assert built.execute("SELECT aiddata_usd_m FROM figures.china_lac_lending WHERE year = 2019 "
                         "AND recipient_iso3 = 'LAC'").fetchall() == [(200.0,)]
    # Years GCDF 3.0 does not cover keep GCDF 2.0: 2017 (US$7.6bn, as without the snapshot)
    assert built.execute("SELECT round(aiddata_usd_m / 1000, 1), aiddata_source FROM figures.china_lac_lending "
                         "WHERE year = 2017 AND recipient_iso3 = 'LAC'").fetchall() == [(7.6, "aiddata-gcdf2-projects")]


def test_claim_c05_flips_to_a_value(built):
    claims = {r[0]: r[1:] for r in built.execute(
        "SELECT claim_id, jlac_number, status, jlac_source FROM figures.report_claims").fetchall()}
    number, status, source = claims["C05"]
    assert number == 6.7 and status == "differs"  # vs the report's 7.7: -13%
    assert "aiddata-gcdf3-projects" in source and "Venezuela US$5.0 bn" in source
    assert claims["C06"][1] != "not derivable from open data"


def test_fct_dev_finance_rows_and_no_double_count(built):
    rows = built.execute(
        "SELECT donor_agency, instrument, amount_usd, price_basis FROM marts.fct_dev_finance "
        "WHERE source = 'aiddata-gcdf3-projects' AND recipient_iso3 = 'VEN' AND year = 2018").fetchall()
    assert rows == [(CDB, "loan", 5e9, "current")]  # the project not recommended for aggregates is left out
    assert built.execute(
        "SELECT count(*) FROM intermediate.int_dev_finance_china_policy_bank_loans WHERE commitment_year = 2018 "
        "AND source = 'aiddata-gcdf2-projects'").fetchall() == [(0,)]


def test_live_dac2a_fills_only_years_the_mirror_lacks(built):
    rows = built.execute(
        "SELECT year, source, amount_usd / 1e6 FROM marts.fct_dev_finance WHERE donor_iso3 = 'JPN' "
        "AND recipient_iso3 = 'CRI' AND measure = 'net_disbursement' AND year IN (2017, 2021) ORDER BY year").fetchall()
    assert rows == [(2017, "oecd-dac2a", pytest.approx(38.97)), (2021, "oecd-dac2a-api", pytest.approx(12.5))]
    assert built.execute("SELECT amount_usd FROM marts.fct_dev_finance WHERE donor_iso3 = 'KOR' AND year = 2021 "
                         "AND recipient_iso3 = 'CRI'").fetchall() == [(2100000.0,)]


def test_crs_commitments_and_gross_disbursements_by_agency(built):
    rows = built.execute(
        "SELECT year, donor_agency, instrument, measure, amount_usd FROM marts.fct_dev_finance "
        "WHERE source = 'oecd-crs-api' ORDER BY year").fetchall()
    assert rows == [(2013, "Japan International Cooperation Agency", "loan", "commitment", 559860000.0),
                    (2017, "Japan International Cooperation Agency", "loan", "gross_disbursement", 41200000.0),
                    (2017, "Korea International Cooperation Agency", "oda_all_instruments", "gross_disbursement",
                     3500000.0)]
    # never two measures in one figure series
    assert built.execute("SELECT count(*) FROM (SELECT recipient_iso3, donor_iso3, year, source FROM "
                         "figures.fig3_finance_by_donor GROUP BY ALL HAVING count(DISTINCT measure) > 1)"
                         ).fetchall() == [(0,)]


def test_loans_where_the_source_says_the_instrument(built):
    """Found by a QA pass: fig3's loans_usd_m was computed for GCDF 2.0 and MIDEPLAN only, so GCDF 3.0 projects and
    CRS activities, which say each record's instrument (Flow Type, FINANCETYPE), had no loans beside their amounts."""
    cells = {(r, d, y, s): (a, lo) for r, d, y, s, a, lo in built.execute(
        "SELECT recipient_iso3, donor_iso3, year, source, amount_usd_m, loans_usd_m FROM figures.fig3_finance_by_donor "
        "WHERE source IN ('aiddata-gcdf3-projects', 'oecd-crs-api')").fetchall()}
    assert cells["VEN", "CHN", 2018, "aiddata-gcdf3-projects"] == (5000.0, 5000.0)
    assert cells["ECU", "CHN", 2018, "aiddata-gcdf3-projects"] == (4.5, 0)  # a grant: no loans
    assert cells["BOL", "CHN", 2019, "aiddata-gcdf3-projects"] == (200.0, 200.0)  # supplier's credit
    assert cells["CRI", "JPN", 2013, "oecd-crs-api"] == (559.86, 559.86)
    # a series with a record that does not say its instrument: its loans are unknown, not 0
    assert cells["PAN", "KOR", 2017, "oecd-crs-api"] == (3.5, None)
    costa_rica = {(y, m): (a, lo) for y, m, a, lo in built.execute(
        "SELECT year, measure, amount_usd_m, loans_usd_m FROM figures.fig3_costa_rica_finance WHERE "
        "source = 'oecd-crs-api' AND donor_iso3 = 'JPN'").fetchall()}
    assert costa_rica[2013, "commitment"] == (559.86, 559.86)
    assert costa_rica[2017, "gross_disbursement"] == (41.2, 41.2)
    assert costa_rica[2012, "commitment"] == (None, None)  # before the source's years: unknown
