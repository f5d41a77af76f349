"""Finance source parsers against the real mirror files, and their failure paths."""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest
from conftest import failed_checks, scratch_build, write_manifest
from jlac.errors import ParseError
from jlac.snapshots import load_snapshot
from jlac.sources import get_source
from jlac.sources.oecd_dac2a.source import donor_names

DAC2A = "oecd-dac2a/2022-01-18"


def parsed(mirror, snapshot_id: str):
    con = duckdb.connect()
    source, _ = snapshot_id.split("/")
    rel = get_source(source).parse(load_snapshot(mirror / snapshot_id), con)
    return con, rel


def csv_cell(path, recipient: str, donor: str) -> float:
    """The cell looked up the plain way: header names less the fillers, against the data row's cells."""
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    donors = [h for h in rows[0][1:] if h not in ("FakeColumn", "Donor(s)")]
    row = next(r for r in rows if r[0] == recipient)
    return float(row[2 + donors.index(donor)])


@pytest.fixture(scope="module")
def dac(mirror):
    con, rel = parsed(mirror, DAC2A)
    rel.create_view("dac")
    return con


def value(con, year, recipient, donor):
    rows = con.execute(
        "SELECT value_usd_m FROM dac WHERE year = ? AND recipient_name = ? AND donor_name = ?", [year, recipient, donor]
    ).fetchall()
    return rows[0][0] if rows else None


def test_dac2a_costa_rica_2017_matches_the_file(dac, mirror):
    # ODA-2017-DAC2a.csv, row "Costa Rica": Japan 38.97, Korea 1.84 (US$ m, net), as MOFA's statement quotes.
    assert value(dac, 2017, "Costa Rica", "Japan") == 38.97
    assert value(dac, 2017, "Costa Rica", "Korea") == 1.84
    assert value(dac, 2017, "Costa Rica", "Japan") == csv_cell(mirror / DAC2A / "ODA-2017-DAC2a.csv", "Costa Rica",
                                                                "Japan")


@pytest.mark.parametrize("year", [2004, 2009, 2010, 2011])
def test_dac2a_header_quirks_do_not_shift_columns(dac, mirror, year):
    # 2004-2009 headers carry an extra 'Donor(s)' cell; 2010's header starts '', 'Donor(s)'. A shift by one
    # would move Japan's value under the neighbouring donor.
    path = mirror / DAC2A / f"ODA-{year}-DAC2a.csv"
    for donor in ("Japan", "Korea", "United States"):
        assert value(dac, year, "Costa Rica", donor) == csv_cell(path, "Costa Rica", donor)


def test_dac2a_japan_net_oda_negative_in_2012(dac):
    # Net disbursements go negative when loan repayments exceed new payments (Japan -> Costa Rica 2012).
    assert value(dac, 2012, "Costa Rica", "Japan") == -8.43


def test_dac2a_iso_codes(dac):
    rows = dict(dac.execute(
        "SELECT DISTINCT donor_name, donor_iso3 FROM dac WHERE donor_name IN ('Japan', 'Korea', 'EU Institutions')"
    ).fetchall())
    assert rows == {"Japan": "JPN", "Korea": "KOR", "EU Institutions": None}


def test_dac2a_ec_row_is_not_ecuador(dac, mirror):
    # ODA-2017-DAC2a.csv has a recipient row "Ecuador" (Germany 29.99) and a row "EC" (Germany 2,056.03: the EU
    # members' contributions to the European Commission). 'EC' is Ecuador's ISO alpha-2 code, so a name lookup
    # that accepts codes gave both rows ECU and marts.fct_dev_finance summed them (US$2,086.02m).
    path = mirror / DAC2A / "ODA-2017-DAC2a.csv"
    assert csv_cell(path, "Ecuador", "Germany") == 29.99
    assert csv_cell(path, "EC", "Germany") == 2056.03
    rows = dict(dac.execute(
        "SELECT recipient_name, value_usd_m FROM dac WHERE year = 2017 AND donor_name = 'Germany' "
        "AND recipient_iso3 = 'ECU'"
    ).fetchall())
    assert rows == {"Ecuador": 29.99}
    assert dac.execute(
        "SELECT count(*) FROM dac WHERE recipient_name = 'EC' AND recipient_iso3 IS NOT NULL"
    ).fetchone()[0] == 0


def test_dac2a_header_without_donors_is_an_error():
    with pytest.raises(ParseError, match="no donor columns"):
        donor_names(["Recipient", "FakeColumn"], "ODA-2030-DAC2a.csv")
    with pytest.raises(ParseError, match="first header cell"):
        donor_names(["Country", "Japan"], "ODA-2030-DAC2a.csv")
    # donors, but Japan's spelt otherwise: said as that (it read "no donor columns": a QA pass)
    with pytest.raises(ParseError, match=r"names 2 donor columns but none is 'Japan', Figure 3's donor \(found "
                                         r"\['Japan \(JICA\)'\]\)"):
        donor_names(["Recipient", "FakeColumn", "Japan (JICA)", "Korea"], "ODA-2030-DAC2a.csv")


def test_dac2a_text_in_a_value_cell_names_file_and_line(tmp_path, mirror):
    vintage = tmp_path / "oecd-dac2a" / "2030-01-01"
    vintage.mkdir(parents=True)
    text = (mirror / DAC2A / "ODA-2017-DAC2a.csv").read_text(encoding="utf-8")
    (vintage / "ODA-2017-DAC2a.csv").write_text(text.replace('"38.97"', '"n/a"'), encoding="utf-8")
    write_manifest(vintage, "oecd-dac2a")
    with pytest.raises(ParseError, match=r"ODA-2017-DAC2a.csv line \d+ recipient 'Costa Rica' donor 'Japan': 'n/a'"):
        get_source("oecd-dac2a").parse(load_snapshot(vintage), duckdb.connect())


def _dac2a_with_an_unnamed_column(tmp_path, mirror, year: int, value_at: int | None = None):
    """A vintage holding the mirror's file of ``year`` with a comma added at the end of every line (a column without
    a header), holding ``'7'`` on line ``value_at``."""
    vintage = tmp_path / "oecd-dac2a" / "2030-01-01"
    vintage.mkdir(parents=True)
    lines = (mirror / DAC2A / f"ODA-{year}-DAC2a.csv").read_bytes().split(b"\r\n")
    lines = [line + (b",7" if n == value_at else b",") if line else line for n, line in enumerate(lines, 1)]
    (vintage / f"ODA-{year}-DAC2a.csv").write_bytes(b"\r\n".join(lines))
    write_manifest(vintage, "oecd-dac2a")
    return load_snapshot(vintage)


@pytest.mark.parametrize("year", [2009, 2017])
def test_dac2a_an_empty_column_without_a_header_is_read_past(dac, tmp_path, mirror, year):
    """A QA pass: a trailing comma on every line (an empty column with an empty header) was refused ('not a CSV in
    the expected layout (Binder Error: read_csv "names" cannot have empty ... value)'). Read past, it gives the rows of
    the file without it (2009: the header with the extra 'Donor(s)' cell); a value in it is refused, naming it."""
    source = get_source("oecd-dac2a")
    columns = "row_number, recipient_name, donor_name, donor_iso3, value_usd_m"
    got = source.parse(_dac2a_with_an_unnamed_column(tmp_path, mirror, year), duckdb.connect()).project(columns)
    assert sorted(got.fetchall()) == sorted(dac.execute(f"SELECT {columns} FROM dac WHERE year = {year}").fetchall())
    # ODA-2017-DAC2a.csv, row "Costa Rica": Japan 38.97 (2009: 58.29)
    assert got.filter("recipient_name = 'Costa Rica' AND donor_name = 'Japan'").project("value_usd_m").fetchall() == [
        ({2009: 58.29, 2017: 38.97}[year],)]
    with pytest.raises(ParseError, match=rf"ODA-{year}-DAC2a.csv line 9 column 157: '7' in a column without a header"):
        source.parse(_dac2a_with_an_unnamed_column(tmp_path / "v", mirror, year, value_at=9), duckdb.connect())


def test_dac2a_sdmx_csv_with_an_empty_column_without_a_header_is_read_past(tmp_path):
    """The same for the Data Explorer's SDMX CSV (refused as above before): read past when empty, else refused."""
    from test_connectors_oecd import BODY

    def parsed(value_on_line=None):
        vintage = tmp_path / str(value_on_line) / "oecd-dac2a" / "2030-01-01"
        vintage.mkdir(parents=True)
        lines = BODY.rstrip("\r\n").split("\r\n")
        (vintage / "DAC2A.csv").write_text("\r\n".join(line + (",7" if n == value_on_line else ",")
                                                       for n, line in enumerate(lines, 1)) + "\r\n", encoding="utf-8")
        write_manifest(vintage, "oecd-dac2a")
        return get_source("oecd-dac2a").parse(load_snapshot(vintage), duckdb.connect())

    assert sorted(parsed().filter("recipient_name = 'Costa Rica' AND year = 2017")
                  .project("donor_name, donor_iso3, value_usd_m").fetchall()) == [
        ("Japan", "JPN", 38.97), ("Korea", "KOR", 1.84), ("Official Donors, Total", None, 99.26)]
    with pytest.raises(ParseError, match=r"DAC2A.csv line 4 column 27: '7' in a column without a header"):
        parsed(value_on_line=4)

def test_gcdf2_route32_projects(mirror):
    con, rel = parsed(mirror, "aiddata-gcdf2-projects/2022-01-18")
    assert rel.count("*").fetchall()[0][0] == 10849
    rows = {r[0]: r[1:] for r in rel.filter("project_id IN (37364, 39847)").project(
        "project_id, recipient_iso3, commitment_year, amount_usd_nominal, funding_agencies").fetchall()}
    assert rows[37364] == ("CRI", 2013, 296000000.0, "Export-Import Bank of China")
    assert rows[39847][2] == pytest.approx(102135632.8)


def test_gcdf2_bad_amount_names_the_line(tmp_path, mirror):
    vintage = tmp_path / "aiddata-gcdf2-projects" / "2030-01-01"
    vintage.mkdir(parents=True)
    src = mirror / "aiddata-gcdf2-projects/2022-01-18/AidData_excerpt_aggregates_all_years.csv"
    text = src.read_text(encoding="utf-8-sig")
    text = text.replace(";296000000;USD;287611913.6;296000000", ";296000000;USD;x;296000000")
    (vintage / "projects.csv").write_text(text, encoding="utf-8")
    write_manifest(vintage, "aiddata-gcdf2-projects")
    with pytest.raises(ParseError, match=r"amount_usd_constant_2017.*line \d+: 'x'"):
        get_source("aiddata-gcdf2-projects").parse(load_snapshot(vintage), duckdb.connect())


def test_gcdf2_a_file_cut_after_its_header_is_refused_naming_it(tmp_path, mirror):
    """Header only: the source loaded 0 projects, passed its checks and published China's lending to LAC (Figure 3,
    figures.china_lac_lending) without GCDF 2.0's rows (found by a regression audit of issue 12)."""
    vintage = tmp_path / "aiddata-gcdf2-projects" / "2030-01-01"
    vintage.mkdir(parents=True)
    src = mirror / "aiddata-gcdf2-projects/2022-01-18/AidData_excerpt_aggregates_all_years.csv"
    (vintage / "projects.csv").write_text(src.read_text(encoding="utf-8-sig").splitlines()[0] + "\n", encoding="utf-8")
    write_manifest(vintage, "aiddata-gcdf2-projects")
    with pytest.raises(ParseError, match=r"aiddata-gcdf2-projects projects\.csv: no project line under the header"):
        get_source("aiddata-gcdf2-projects").parse(load_snapshot(vintage), duckdb.connect())


@pytest.mark.parametrize(("name", "real", "file"), [
    ("japan-customs-country-codes", "2021-09-23", "Countries.csv"),
    ("aiddata-gcdf3-country-year", "2025-09-24", "cow_gcdf.csv"),
])
def test_a_file_cut_after_its_header_is_refused_naming_it(tmp_path, mirror, name, real, file):
    """Header only: 0 rows were parsed and refused only by a check (the row count of Japan Customs' list, Costa Rica's
    presence in GCDF 3.0) whose message named source and snapshot but not the file."""
    vintage = tmp_path / name / "2030-01-01"
    vintage.mkdir(parents=True)
    with (mirror / name / real / file).open("rb") as fh:
        (vintage / file).write_bytes(fh.readline())
    write_manifest(vintage, name)
    with pytest.raises(ParseError, match=rf"^{name} {file}: no rows under the header"):
        get_source(name).parse(load_snapshot(vintage), duckdb.connect())


def test_gcdf3_costa_rica_2013(mirror):
    # cow_gcdf.csv line "94,2013,333898819.448191,...,119696182.76020694,...": OOF and ODA, constant 2021 US$.
    con, rel = parsed(mirror, "aiddata-gcdf3-country-year/2025-09-24")
    row = rel.filter("cow_code = 94 AND year = 2013").project("recipient_iso3, oof_usd_2021, oda_usd_2021").fetchall()
    assert row == [("CRI", pytest.approx(333898819.448191), pytest.approx(119696182.76020694))]


def test_gcdf3_changed_header_is_an_error(tmp_path, mirror):
    vintage = tmp_path / "aiddata-gcdf3-country-year" / "2030-01-01"
    vintage.mkdir(parents=True)
    text = (mirror / "aiddata-gcdf3-country-year/2025-09-24/cow_gcdf.csv").read_text()
    (vintage / "cow_gcdf.csv").write_text(text.replace("oof_amt", "oof_total", 1))
    write_manifest(vintage, "aiddata-gcdf3-country-year")
    with pytest.raises(ParseError, match="expected columns"):
        get_source("aiddata-gcdf3-country-year").parse(load_snapshot(vintage), duckdb.connect())


def test_gcdf3_country_code_written_as_a_decimal_is_refused(tmp_path, mirror):
    """Costa Rica's code 94 written 94.5 would be rounded to 95 (Panama) by a cast: refused, naming the line."""
    vintage = tmp_path / "aiddata-gcdf3-country-year" / "2030-01-01"
    vintage.mkdir(parents=True)
    text = (mirror / "aiddata-gcdf3-country-year/2025-09-24/cow_gcdf.csv").read_text()
    assert "\n94,2013," in text
    (vintage / "cow_gcdf.csv").write_text(text.replace("\n94,2013,", "\n94.5,2013,", 1))
    write_manifest(vintage, "aiddata-gcdf3-country-year")
    with pytest.raises(ParseError, match=r"column 'ccode' expects a whole number; line \d+: '94.5'"):
        get_source("aiddata-gcdf3-country-year").parse(load_snapshot(vintage), duckdb.connect())


def test_aiddata_v2_japan_costa_rica_2009(mirror):
    con, rel = parsed(mirror, "aiddata-v2-donor-recipient-year/2012-05-04")
    row = rel.filter("donor = 'JPN' AND recipient = 'CRI' AND year = 2009").project("amount_usd").fetchall()
    assert row == [(7912733.95,)]
    assert rel.filter("donor = 'CHN'").count("*").fetchall()[0][0] == 0  # no China rows in AidData 2.x


def test_aiddata_v2_codes_that_are_not_iso_are_recoded_or_left_out(mirror):
    """Found by a QA pass: the file spells Rwanda RQA (aiddata-totals-d-r-y.csv: 56 lines, none under RWA), and its
    one IRA row and the donors WFP and WHO passed for countries (Rwanda's US$ 8.5 bn was published under 'RQA')."""
    con, rel = parsed(mirror, "aiddata-v2-donor-recipient-year/2012-05-04")
    rel.create_view("v")
    # aiddata-totals-d-r-y.csv line 'AUS,RQA,...': column 1983, 90518.22
    assert con.sql("SELECT recipient_iso3, amount_usd FROM v WHERE donor = 'AUS' AND recipient = 'RQA' "
                   "AND year = 1983").fetchall() == [("RWA", 90518.22)]
    # 56 lines name RQA, 55 with a value; none names RWA
    assert con.sql("SELECT count(DISTINCT row_number) FROM v WHERE recipient = 'RQA'").fetchall() == [(55,)]
    assert con.sql("SELECT count(*) FROM v WHERE recipient = 'RWA'").fetchall() == [(0,)]
    assert con.sql("SELECT DISTINCT recipient_iso3 FROM v WHERE recipient IN ('IRA', 'Africa, regional')"
                   ).fetchall() == [(None,)]
    assert con.sql("SELECT DISTINCT donor, donor_is_country, donor_iso3 FROM v WHERE donor IN ('WHO', 'WFP', "
                   "'(IADB)', 'JPN') ORDER BY 1").fetchall() == [
        ("(IADB)", False, None), ("JPN", True, "JPN"), ("WHO", False, None)]  # WFP's line has no value
    assert con.sql("SELECT count(*) FROM v WHERE unknown_code IS NOT NULL").fetchall() == [(0,)]
    assert con.sql("SELECT count(*) FROM v WHERE recipient_iso3 = 'CRI' AND donor_iso3 = 'JPN' AND year = 2009"
                   ).fetchall() == [(1,)]


def _aiddata_v2_failed_checks(tmp_path, mirror, edit) -> list:
    """The failed checks of a new AidData 2.x vintage whose file is the mirror's, edited by ``edit(text)``."""
    from jlac.config import Settings

    vintage = tmp_path / "store" / "aiddata-v2-donor-recipient-year" / "2030-01-01"
    vintage.mkdir(parents=True)
    text = (mirror / "aiddata-v2-donor-recipient-year/2012-05-04/aiddata-totals-d-r-y.csv").read_text()
    edited = edit(text)
    assert edited != text
    (vintage / "aiddata-totals-d-r-y.csv").write_text(edited)
    write_manifest(vintage, "aiddata-v2-donor-recipient-year")
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out")
    source, snapshot = get_source("aiddata-v2-donor-recipient-year"), load_snapshot(vintage)
    return failed_checks(scratch_build(tmp_path / "build.duckdb", source, snapshot, settings), source, snapshot,
                         settings)


def test_aiddata_v2_an_unreviewed_code_fails_the_checks_naming_it(tmp_path, mirror):
    """A three-letter code neither ISO nor reviewed (Rwanda spelled 'RWQ' in a new file) would drop a country's rows
    from the marts without a word: the checks refuse, naming the code and its count."""
    failed = _aiddata_v2_failed_checks(tmp_path, mirror, lambda text: text.replace(",RQA,", ",RWQ,"))
    assert len(failed) == 1
    details = " ".join(o.details for o in failed[0].outcomes if not o.success)
    assert "734 unexpected row(s)" in details and "'RWQ'" in details, details


def test_aiddata_v2_without_costa_rica_as_a_recipient_fails_the_checks(tmp_path, mirror):
    """Costa Rica written as a name ('Costa Rica', read as a regional recipient) left Figure 3, which drew Japan's and
    Korea's 2009 as 0 "none recorded" (found by a QA pass): the checks now ask for Figure 3's recipient."""
    import re

    failed = _aiddata_v2_failed_checks(tmp_path, mirror,
                                       lambda text: re.sub(r"(?m)^([^,\n]+),CRI,", r"\1,Costa Rica,", text))
    assert [r.suite for r in failed] == ["aiddata-v2-donor-recipient-year: Figure 3 recipient present (Costa Rica)"]



def test_aiddata_v2_a_code_in_lower_case_is_read_as_the_code(tmp_path, mirror):
    """A QA pass: 'cri' (Japan's line to Costa Rica) was taken for a free-text name, like '(IADB)': no ISO3, so staging
    left Japan's 2009 US$7.9m to Costa Rica out of Figure 3 without a word (other donors' CRI lines kept the
    "recipient present" check green). Three letters in any case are a code: read as CRI, written as the code."""
    vintage = tmp_path / "aiddata-v2-donor-recipient-year" / "2030-01-01"
    vintage.mkdir(parents=True)
    text = (mirror / "aiddata-v2-donor-recipient-year/2012-05-04/aiddata-totals-d-r-y.csv").read_text()
    edited = text.replace("\nJPN,CRI,", "\nJPN,cri,").replace("\nKOR,", "\nKor,")
    assert edited.count("\nJPN,cri,") == 1 and edited.count("\nKor,") == 154
    (vintage / "aiddata-totals-d-r-y.csv").write_text(edited)
    write_manifest(vintage, "aiddata-v2-donor-recipient-year")
    rel = get_source("aiddata-v2-donor-recipient-year").parse(load_snapshot(vintage), duckdb.connect())
    # aiddata-totals-d-r-y.csv line 3200 'JPN,CRI,...': column 2009, 7912733.95
    assert rel.filter("row_number = 3200 AND year = 2009").project(
        "donor, recipient, donor_iso3, recipient_iso3, amount_usd").fetchall() == [
        ("JPN", "CRI", "JPN", "CRI", 7912733.95)]
    assert rel.filter("donor_iso3 = 'KOR'").count("*").fetchall() == rel.filter("donor = 'KOR'").count("*").fetchall()
    assert rel.filter("unknown_code IS NOT NULL OR donor IN ('cri', 'Kor') OR recipient = 'cri'").count(
        "*").fetchall() == [(0,)]


def test_aiddata_v2_a_code_in_lower_case_beside_the_same_in_capitals_is_a_repeated_row(tmp_path, mirror):
    """Read as CRI, a 'JPN,cri' line beside 'JPN,CRI' with other amounts is the same donor, recipient and year twice:
    refused (grain, conflicting values), rather than two rows that marts.fct_dev_finance would add up. (An identical
    repeat is dropped by the load, as for every source.)"""
    line = next(x for x in (mirror / "aiddata-v2-donor-recipient-year/2012-05-04/aiddata-totals-d-r-y.csv")
                .read_text().splitlines() if x.startswith("JPN,CRI,"))
    repeated = line.replace("JPN,CRI,", "JPN,cri,").replace(",7912733.95,", ",1000000,")
    assert repeated != line.replace("JPN,CRI,", "JPN,cri,")
    failed = _aiddata_v2_failed_checks(tmp_path, mirror, lambda text: text.rstrip("\n") + "\n" + repeated + "\n")
    assert [r.suite for r in failed] == [
        "aiddata-v2-donor-recipient-year: schema and grain",
        "aiddata-v2-donor-recipient-year: no conflicting values for one key (donor, recipient, year)"]
    details = " ".join(o.details for r in failed for o in r.outcomes if not o.success)
    assert "'CRI'" in details and "'JPN'" in details, details

def test_a_customs_code_given_to_a_country_that_has_one_fails_the_checks(tmp_path, mirror):
    """Code 305 'Mexico' made 'Brazil': Brazil had two codes, Mexico none, and left the MOF-region figure (2018
    exports 29.856 -> 18.245 US$ bn), published (found by a QA pass)."""
    from jlac.config import Settings

    name = "japan-customs-country-codes"
    real = next((mirror / name).iterdir())
    vintage = tmp_path / "store" / name / "2030-01-01"
    vintage.mkdir(parents=True)
    text = (real / "Countries.csv").read_text(encoding="utf-8")
    assert "305,Middle and South America,Mexico" in text
    (vintage / "Countries.csv").write_text(text.replace("305,Middle and South America,Mexico",
                                                        "305,Middle and South America,Brazil"), encoding="utf-8")
    write_manifest(vintage, name)
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out")
    source, snapshot = get_source(name), load_snapshot(vintage)

    def name_map(con):
        from jlac import countries

        countries.build_name_map_table(con, {name: source})

    failed = failed_checks(scratch_build(tmp_path / "build.duckdb", source, snapshot, settings, name_map), source,
                           snapshot, settings)
    assert [r.suite for r in failed] == [f"{name}: one code per country"]
    assert "'Brazil'" in " ".join(o.details for o in failed[0].failed) and "'305'" in " ".join(
        o.details for o in failed[0].failed)


def test_aiddata_v2_an_empty_donor_or_recipient_cell_is_no_country_not_a_crash(tmp_path, mirror):
    """Found by a review: an empty cell is NULL, and the code lookup failed with a TypeError on it."""
    vintage = tmp_path / "aiddata-v2-donor-recipient-year" / "2030-01-01"
    vintage.mkdir(parents=True)
    text = (mirror / "aiddata-v2-donor-recipient-year/2012-05-04/aiddata-totals-d-r-y.csv").read_text()
    header = text.splitlines()[0]
    cells = ",".join(["", "BRA", "5"] + [""] * (header.count(",") - 2))
    (vintage / "a.csv").write_text(text.rstrip("\n") + "\n" + cells + "\n")
    write_manifest(vintage, "aiddata-v2-donor-recipient-year")
    con = duckdb.connect()
    rel = get_source("aiddata-v2-donor-recipient-year").parse(load_snapshot(vintage), con)
    assert rel.filter("donor IS NULL").project("recipient, donor_is_country, donor_iso3, recipient_iso3, unknown_code"
                                               ).fetchall() == [("BRA", False, None, "BRA", None)]


def test_aiddata_v2_a_file_cut_after_its_header_is_refused_naming_it(tmp_path, mirror):
    """A file cut after its header ended in DuckDB's 'executemany requires a non-empty list' from inside the parser
    ("parser failed unexpectedly"): it is refused naming the file (found by a regression audit of issue 12)."""
    vintage = tmp_path / "aiddata-v2-donor-recipient-year" / "2030-01-01"
    vintage.mkdir(parents=True)
    header = (mirror / "aiddata-v2-donor-recipient-year/2012-05-04/aiddata-totals-d-r-y.csv").read_text(
    ).splitlines()[0]
    (vintage / "a.csv").write_text(header + "\n")
    write_manifest(vintage, "aiddata-v2-donor-recipient-year")
    with pytest.raises(ParseError, match=r"^aiddata-v2-donor-recipient-year a\.csv: no amount under the header"):
        get_source("aiddata-v2-donor-recipient-year").parse(load_snapshot(vintage), duckdb.connect())


def test_aiddata_v2_missing_year_header(tmp_path, mirror):
    vintage = tmp_path / "aiddata-v2-donor-recipient-year" / "2030-01-01"
    vintage.mkdir(parents=True)
    shutil.copy(mirror / "aiddata-v2-donor-recipient-year/2012-05-04/aiddata-totals-d-r-y.csv", vintage / "a.csv")
    text = (vintage / "a.csv").read_text().replace("donor,recipient,1947", "donor,recipient,year1947", 1)
    (vintage / "a.csv").write_text(text)
    write_manifest(vintage, "aiddata-v2-donor-recipient-year")
    with pytest.raises(ParseError, match="header column 3 is 'year1947', expected the year"):
        get_source("aiddata-v2-donor-recipient-year").parse(load_snapshot(vintage), duckdb.connect())


def test_dac2a_costa_rica_missing_from_one_years_file_is_refused(tmp_path, mirror):
    """Costa Rica renamed in the 2010 file only: the all-years checks still see it (2009); the per-file check of
    Figure 3's recipient and donors refuses, naming the file (Figure 3 would show Japan's 2010 as 0, none recorded).
    2009 and 2010: every CELAC state but the Bahamas is on the DAC list in both."""
    from jlac import load, parse, validation
    from jlac.config import Settings

    vintage = tmp_path / "store" / "oecd-dac2a" / "2030-01-01"
    vintage.mkdir(parents=True)
    real = next((mirror / "oecd-dac2a").iterdir())
    shutil.copyfile(real / "ODA-2009-DAC2a.csv", vintage / "ODA-2009-DAC2a.csv")
    text = (real / "ODA-2010-DAC2a.csv").read_text(encoding="utf-8")
    assert text.count('"Costa Rica"') == 1
    (vintage / "ODA-2010-DAC2a.csv").write_text(text.replace('"Costa Rica"', '"Costa Rica (CR)"'), encoding="utf-8")
    write_manifest(vintage, "oecd-dac2a")
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out")
    source, snapshot = get_source("oecd-dac2a"), load_snapshot(vintage)
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw")
        load.load_raw(con, source, snapshot, parse.parse_to_cache(settings, source, snapshot))
    failed = [r for r in validation.validate_source(db, source, snapshot, settings) if not r.success]
    assert [r.suite.split(": ", 1)[1] for r in failed] == [
        "Figure 3's recipient (Costa Rica) and donors (Japan, Korea) in every year's file",
        "no recipient name jlac cannot resolve names a CELAC state (add it to flows/jlac/data/country_names.csv as "
        "oecd,<name>,<iso3>,...)"]
    details = " ".join(o.details for o in failed[0].outcomes)
    assert "'file': 'ODA-2010-DAC2a.csv', 'missing': 'CRI', 'role': 'recipient'" in details
    # and the name it has now, with its line (a QA pass saw only 'missing CRI')
    named = " ".join(o.details for o in failed[1].outcomes)
    assert "'file': 'ODA-2010-DAC2a.csv', 'row_number': 82, 'recipient_name': 'Costa Rica (CR)'" in named, named


def test_dac2a_years_a_newer_release_leaves_out_are_kept_from_the_earlier_one(tmp_path, mirror):
    """Found by a QA pass: a DAC2a release without its 2002-2009 files was published and removed those years from
    the warehouse (Figure 3's Japan 2009, 58.29, became "outside source years"), without a word. The years a newer
    release lacks are now kept from the newest earlier vintage holding them, as MOF's top-30 keeps its window."""
    from jlac.config import Settings
    from jlac.snapshots import latest_snapshot, with_history

    real = mirror / "oecd-dac2a" / "2022-01-18"
    (tmp_path / "m" / "oecd-dac2a").mkdir(parents=True)
    (tmp_path / "m" / "oecd-dac2a" / "2022-01-18").symlink_to(real, target_is_directory=True)
    new = tmp_path / "m" / "oecd-dac2a" / "2026-12-01"
    new.mkdir()
    for year in range(2010, 2020):
        shutil.copyfile(real / f"ODA-{year}-DAC2a.csv", new / f"ODA-{year}-DAC2a.csv")
    before = csv_cell(real / "ODA-2019-DAC2a.csv", "Costa Rica", "Japan")
    text = (new / "ODA-2019-DAC2a.csv").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith('"Costa Rica"'))
    (new / "ODA-2019-DAC2a.csv").write_text(text.replace(row, row.replace(f"{before:g}", "20.19", 1)), encoding="utf-8")
    assert csv_cell(new / "ODA-2019-DAC2a.csv", "Costa Rica", "Japan") == 20.19  # a revision in the new release
    write_manifest(new, "oecd-dac2a")
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store",
                        mirrors=(tmp_path / "m",), output=tmp_path / "out")
    snapshot = with_history(latest_snapshot("oecd-dac2a", settings), settings)  # as the refresh's plan gives it
    con = duckdb.connect()
    get_source("oecd-dac2a").parse(snapshot, con).create_view("dac")
    vintages = dict(con.execute("SELECT year, any_value(vintage) FROM dac GROUP BY year "
                                "HAVING count(DISTINCT vintage) = 1").fetchall())
    assert sorted(vintages) == list(range(2002, 2020))
    assert {y: v for y, v in vintages.items() if y < 2010} == dict.fromkeys(range(2002, 2010), "2022-01-18")
    assert {y: v for y, v in vintages.items() if y >= 2010} == dict.fromkeys(range(2010, 2020), "2026-12-01")
    assert value(con, 2009, "Costa Rica", "Japan") == csv_cell(real / "ODA-2009-DAC2a.csv", "Costa Rica", "Japan")
    assert value(con, 2019, "Costa Rica", "Japan") == 20.19
    # and it passes its suite: "one year per file" counted the kept years against the new release's files, and
    # refused every release that did not list every year again (found by a QA pass)
    from jlac import load, parse, validation

    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as build:
        build.execute("CREATE SCHEMA raw")
        load.load_raw(build, get_source("oecd-dac2a"), snapshot, parse.parse_to_cache(settings, get_source(
            "oecd-dac2a"), snapshot))
    results = validation.validate_source(db, get_source("oecd-dac2a"), snapshot, settings)
    assert [r.suite for r in results if not r.success] == []
    assert "oecd-dac2a: one year per file: the 10 ODA-<year>-DAC2a.csv files of vintage 2026-12-01 hold 10 " \
           "distinct years" in [r.suite for r in results]
    # an earlier vintage whose every year a newer one holds is neither read nor verified: its damage stops nothing
    for year in range(2002, 2010):
        shutil.copyfile(real / f"ODA-{year}-DAC2a.csv", new / f"ODA-{year}-DAC2a.csv")
    write_manifest(new, "oecd-dac2a")
    damaged = tmp_path / "m" / "oecd-dac2a" / "2022-01-18"
    damaged.unlink()
    shutil.copytree(real, damaged)
    (damaged / "ODA-2005-DAC2a.csv").write_text("damaged", encoding="utf-8")
    con = duckdb.connect()
    rel = get_source("oecd-dac2a").parse(with_history(latest_snapshot("oecd-dac2a", settings), settings), con)
    assert con.execute(f"SELECT DISTINCT vintage FROM ({rel.sql_query()})").fetchall() == [("2026-12-01",)]
