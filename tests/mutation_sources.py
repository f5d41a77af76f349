"""What the mutation harness attacks in each source (see tests/mutation_harness.py and docs/robustness.md).

Adding a source: one ``SourceSpec`` in ``SPECS``. A source with a mirror snapshot needs only the table to aim at
(file, a numeric column, a code/name column, the row); its latest vintage is taken from the mirror. A live-only
source gives ``build`` (files from the API recordings). ``expect`` lists the generic mutations that are not
refused, with the publisher's evidence; ``extra`` adds accepted layout variants and other source-specific cases.
"""

from __future__ import annotations

import atexit
import json
import shutil
from pathlib import Path

from conftest import SHARED
from mutation_harness import Accepted, Change, Elements, Gap, Records, Refused, SourceSpec, Table, edit_table

REC = SHARED / "api-recordings"


def _cell_case(file: str, column: str, rewrite, header: bool = False, **table):
    """A case that rewrites one cell of ``column``: its header cell (``header``) or the table's data row."""
    t = Table(file=file, value=column, **table)

    def mutate(v: Path) -> Change:
        def edit(rows):
            j = [str(c).strip() for c in rows[t.header_row]].index(column)
            row = t.header_row if header else t.data_row
            rows[row][j] = rewrite(rows[row][j])
        edit_table(v, t, edit)
        return Change(file)
    return mutate


def _rename_header(file: str, old: str, new: str, **table):
    """A case that writes the publisher's other spelling of one header cell."""
    return _cell_case(file, old, lambda _: new, header=True, **table)


def _edit_text(file: str, old: str, new: str):
    """A case that replaces one piece of a text file's content."""
    def mutate(v: Path) -> Change:
        path = v / file
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{file} has no {old!r}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return Change(file)
    return mutate


def _reencode(file: str, encoding: str, bom: bool = False):
    def mutate(v: Path) -> Change:
        p = v / file
        text = p.read_bytes().decode("utf-8-sig")
        p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
        return Change(file)
    return mutate


def _digits_appended(file: str, value: str, digits: str, **table):
    """A case that appends digits to one value (a misplaced digit group: 1858141277 -> 1858141277000)."""
    return _cell_case(file, value, lambda old: f"{old}{digits}", **table)


def _set_value(file: str, value: str, new, **table):
    """A case that writes ``new`` into one value cell (a number cell of a workbook stays a number)."""
    return _cell_case(file, value, lambda _: new, **table)


def _rename_dots_reporter(file: str, name: str):
    """A DOTS workbook whose reporter (the cell above the unit line, both sheets) is spelt anew."""
    def mutate(v: Path) -> Change:
        import openpyxl

        wb = openpyxl.load_workbook(v / file)
        for ws in wb:
            unit = next(c for row in ws.iter_rows(max_row=12) for c in row if c.value == "US Dollars, Millions")
            ws.cell(unit.row - 1, unit.column).value = name
        wb.save(v / file)
        return Change(file, values=(name,))
    return mutate


def _new_donor(v: Path) -> Change:
    t = Table("ODA-2008-DAC2a.csv", value="Japan")

    def edit(rows):
        for i, r in enumerate(rows):
            r.append("New Donor" if i == 0 else "1.5")
    edit_table(v, t, edit)
    return Change(t.file)


def _dac2a_renamed(name: str, named: str, around: bool = False, state: str = "Honduras"):
    """``state``'s row of the 2008 file spelt ``name`` (with the 2007 and 2009 files beside it when ``around``); the
    refusal names ``named``."""
    def mutate(v: Path) -> Change:
        if around:
            newest = max(p for p in (SHARED / "snapshots" / "oecd-dac2a").iterdir() if p.is_dir())
            for year in (2007, 2009):
                shutil.copyfile(newest / f"ODA-{year}-DAC2a.csv", v / f"ODA-{year}-DAC2a.csv")
        _edit_text("ODA-2008-DAC2a.csv", f'\n"{state}",', f'\n"{name}",')(v)
        return Change("ODA-2008-DAC2a.csv", where={named})
    return mutate


# --- live-only sources: base files from the API recordings -----------------------------------------

def _comtrade(v: Path) -> None:
    shutil.copyfile(REC / "comtrade" / "data_v1_get_C_A_HS-60a6ad.json", v / "comtrade_156_2010.json")


def _imts(v: Path) -> None:
    shutil.copyfile(REC / "imf-imts-sdmx3" / "DECODED_data_IMTS_USA.XG_FOB_USD.G001+G998.A_2023-2024.xml",
                    v / "IMTS_USA_A.xml")


def _estat(v: Path) -> None:
    from test_trade_live_staging import ESTAT_VALUES, TITLES, estat_meta, estat_page

    for table, title in TITLES.items():
        (v / f"{table}_meta.json").write_text(json.dumps(estat_meta(table, title), ensure_ascii=False), "utf-8")
        page = estat_page(table, ESTAT_VALUES[table])
        (v / f"{table}_data_p001.json").write_text(json.dumps(page, ensure_ascii=False), "utf-8")


def _mof_customs(v: Path) -> None:
    from test_trade_live_staging import MOF_MONTHS

    lines = ["輸出入額の推移（千円）", "Years/Months,Exp-410,Imp-410"] + [f"{m},{x},{i}" for m, x, i in MOF_MONTHS]
    (v / "d42ma400.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))


def _mof_customs_edit(old: str | None, new: str | None, named: str):
    """A case that replaces ``old`` in the cp932 file (None: writes one value with a decimal comma); the refusal names
    ``named``."""
    def mutate(v: Path) -> Change:
        path = v / "d42ma400.csv"
        lines = path.read_bytes().decode("cp932").split("\r\n")
        if old is None and new is None:
            month, _, imports = lines[2].split(",")
            lines[2] = f'{month},"100001,5",{imports}'
        elif old is None:  # the first month's number written 13
            month, rest = lines[2].split(",", 1)
            lines[2] = f"{month.split('/')[0]}{new}{rest}"
        else:
            lines[0] = lines[0].replace(old, new)
        path.write_bytes("\r\n".join(lines).encode("cp932"))
        return Change("d42ma400.csv", where={named})
    return mutate


_HS9_COUNTRY: list[Path] = []
HS9_FILE = "hs9-country-2018-imp.csv"


def _header_only(file: str):
    """A case that leaves only a file's first line (its header)."""
    def mutate(v: Path) -> Change:
        path = v / file
        with path.open(encoding="utf-8", newline="") as fh:
            header = fh.readline()
        path.write_text(header, encoding="utf-8", newline="")
        return Change(file)
    return mutate


def _copied_as(file: str, name: str):
    """A case that adds a copy of a file under another name (one flow and year in two files)."""
    def mutate(v: Path) -> Change:
        shutil.copyfile(v / file, v / name)
        return Change(file, values=(file, name))
    return mutate


def _mof_hs9_country(v: Path) -> None:
    """The first 400 lines of each file of one year made by the scale generator (MOF's by-country layout, built from
    the mirror's real HS-9 lines and country codes; mof-hs9-country has no mirror snapshot)."""
    import tempfile

    from hs9_helpers import generator

    if not _HS9_COUNTRY:
        out = Path(tempfile.mkdtemp(prefix="jlac-hs9-mutation-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)  # 25 MB of generated files, read by every case
        vintage = generator().generate(out, 1, SHARED / "snapshots", last_year=2018, threads=1)
        _HS9_COUNTRY.extend(sorted(Path(vintage).glob("*.csv")))
    for path in _HS9_COUNTRY:
        with open(path, encoding="utf-8", newline="") as fh:
            head = [line for _, line in zip(range(400), fh, strict=False)]
        (v / path.name).write_text("".join(head), encoding="utf-8", newline="")


def _mideplan(v: Path) -> None:
    import csv

    from test_mideplan_format import COLUMNS, example_rows

    with open(v / "cooperation.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*COLUMNS, "source_url"])
        writer.writeheader()
        writer.writerows(example_rows(SHARED))


def _listed_xls(v: Path) -> Change:
    shutil.copyfile(v / "cooperation.csv", v / "cooperation-2019.xls")
    return Change("cooperation-2019.xls")


def _dac2a_api(v: Path) -> None:
    from test_connectors_oecd import BODY, RECORDED_ROW

    # Costa Rica's rows only: the recorded row (India, or Haiti as the connector tests now give it) is left out
    body = BODY.replace(RECORDED_ROW.replace(",IND,India,", ",HTI,Haiti,") + "\r\n", "")
    assert body != BODY
    (v / "DAC2A.csv").write_bytes(body.encode("utf-8"))


def _crs_api(v: Path) -> None:
    from test_connectors_oecd import CRS_BODY

    (v / "CRS.csv").write_bytes(CRS_BODY.encode("utf-8"))


def _gcdf3_projects(v: Path) -> None:
    from test_finance_gcdf3_projects import ZIP, gcdf3_zip

    scratch = v.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    gcdf3_zip(scratch / ZIP)
    shutil.move(scratch / ZIP, v / ZIP)
    shutil.rmtree(scratch)


GCDF3_ZIP = "AidDatas_Global_Chinese_Development_Finance_Dataset_Version_3_0.zip"

SPECS: dict[str, SourceSpec] = {s.source: s for s in (
    SourceSpec(
        "imf-dots", files=("DOTS_101.xlsx",), encoding=None,
        tables=(Table("DOTS_101.xlsx", sheet="Exports, FOB", header_row=6, value="2018", code=1, row=196),),
        expect={"column missing": Accepted(
            "a year without data: DOTS sheets start in different years and skip years (SNAPSHOT.yml)")},
        extra={"reporter renamed (Japan under a name the overrides do not know)": (
            _rename_dots_reporter("DOTS_101.xlsx", "Japan, Govt. of"),
            Refused("validate", "an unknown reporter is set aside only outside the figures' scope; Japan's rows "
                    "under a new name would leave Figure 1 empty, so the scope's anchor refuses (jlac.quarantine)")),
               "a value of US$ 1e9 millions (a number cell)": (
            _set_value("DOTS_101.xlsx", "2018", 1e9, sheet="Exports, FOB", header_row=6, code=1, row=196),
            Refused("validate", "US$ 100 trillion is five times the world's trade with itself; 1e9 made Japan's LAC "
                    "share of Figure 1 70,108 %")),
               "a decimal comma in a text cell ('10636,91 e')": (
            _set_value("DOTS_101.xlsx", "2018", "10636,91 e", sheet="Exports, FOB", header_row=6, code=1, row=196),
            Refused("parse", "with every comma removed it would read 100 times too large")),
               # both read as blank, "not reported": Figure 1's 2018 US$94m lower without a word (QA pass)
               "a formula saved without its computed value": (
            _set_value("DOTS_101.xlsx", "2018", "=94.226825", sheet="Exports, FOB", header_row=6, code=1, row=196),
            Refused("parse", "a reader takes it for a blank cell")),
               "an error cell (#N/A)": (
            _set_value("DOTS_101.xlsx", "2018", "#N/A", sheet="Exports, FOB", header_row=6, code=1, row=196),
            Refused("parse", "a reader takes it for a blank cell")),
               # read as 11.611, 1000 times too small, with every check passing (QA pass)
               "a European thousands point in a text cell ('11.611')": (
            _set_value("DOTS_101.xlsx", "2018", "11.611", sheet="Exports, FOB", header_row=6, code=1, row=196),
            Refused("parse", "a point followed by three digits may separate thousands or decimals: 1000 times "
                    "apart"))},
    ),
    SourceSpec(
        "fred-exjpus",
        tables=(Table("EXJPUS.csv", value="EXJPUS", out_of_range="5000"),),
        extra={"header DATE (FRED's fredgraph.csv before observation_date)": (
            _rename_header("EXJPUS.csv", "observation_date", "DATE"),
            Accepted("FRED's fredgraph.csv named the date column DATE until 2024; jlac.sources.fred_exjpus.connector "
                     "rewrites that header too", same_rows=True)),
               "a date not on the first of its month": (
            _edit_text("EXJPUS.csv", "2023-06-01,141.3581", "2023-06-01,141.3581\n2023-06-15,140.0"),
            Refused("parse", "a monthly series: a second June would make 2023 a year of 13 months and drop it from "
                    "the annual rates")),
               "the last line cut after its comma": (
            _edit_text("EXJPUS.csv", "2025-04-01,144.1286", "2025-04-01,"),
            Refused("parse", "FRED ends a series at its latest value: an empty last rate is a file cut short, and "
                    "would make April 2025 a month without a rate")),
               "a month to come (2099-01-01)": (
            _edit_text("EXJPUS.csv", "2025-04-01,144.1286", "2025-04-01,144.1286\n2099-01-01,144.5"),
            Refused("validate", "no rate is published before its month: a year 2099 was stored and published "
                    "(found by a QA pass)"))},
    ),
    SourceSpec(
        "japan-customs-country-codes",
        tables=(Table("Countries.csv", value="Code", code="Country", conflict="Country", out_of_range="1234",
                      row=5),),
        extra={"a zone renamed (Mexico's row)": (
            _edit_text("Countries.csv", "Middle and South America,Mexico", "Central and South America,Mexico"),
            Refused("validate", "the MOF-region figure selects its countries by the zone's label: an unknown label "
                    "would drop them from it silently"))},
    ),
    SourceSpec(
        "mof-hs9-imports", files=("ik-110h2024i001.csv",),
        tables=(Table("ik-110h2024i001.csv", value="Value-Year"),),
        extra={
            "header Value-Apl (MOF's spelling of April up to 2016)": (
                _rename_header("ik-110h2024i001.csv", "Value-Apr", "Value-Apl"),
                Accepted("MOF's files up to 2016 spell April 'Apl' (ik-110h2009i001.csv ... 2016 in the mirror)",
                         same_rows=True)),
            "Shift-JIS (cp932) text": (
                _reencode("ik-110h2024i001.csv", "cp932"),
                Accepted("MOF's customs downloads are Shift-JIS (cp932), as its d41ma.csv files "
                         "(api-recordings/README.md)", same_rows=True)),
            "UTF-8 with a BOM": (
                _reencode("ik-110h2024i001.csv", "utf-8", bom=True),
                Accepted("e-Stat's file downloads are UTF-8 with a BOM when saved from the site's CSV export",
                         same_rows=True)),
        },
    ),
    SourceSpec(
        "comtrade-classic-hs27-hs44", files=("oil/processed_data_2017.csv", "wood/processed_data_2017.csv"),
        tables=(Table("wood/processed_data_2017.csv", value="Trade Value (US$)", code="Partner ISO",
                      unknown="XXA", row=3),),
    ),
    SourceSpec(
        "oecd-dac2a", files=("ODA-2008-DAC2a.csv",),
        tables=(Table("ODA-2008-DAC2a.csv", value="Japan", code="Recipient", row=30, out_of_range="1e9"),),
        extra={"new donor column": (_new_donor, Accepted(
            "OECD adds donors over the years: the 2002-2019 files of the mirror differ in their donor columns")),
               # a CELAC state spelt anew loaded as a regional total would, its ODA gone from the year (QA pass)
               "CELAC recipient spelt anew, its name kept": (
                   _dac2a_renamed("Honduras (Republic of)", "Honduras (Republic of)"), Refused("validate")),
               "CELAC recipient spelt anew in the middle year of three": (
                   _dac2a_renamed("Rep. of H.", "HND", around=True), Refused("validate")),
               "CELAC recipient abbreviated ('Dominican Rep.')": (
                   _dac2a_renamed("Dominican Rep.", "Dominican Rep.", state="Dominican Republic"),
                   Refused("validate"))},
        expect={
            "value out of range": Gap("net ODA may be negative and has no documented upper bound: 1e9 US$ "
                                      "millions loads"),
            "unknown code": Gap("an unknown recipient name loads with a NULL ISO3, like OECD's regional totals; "
                                "only the CELAC recipients are checked present"),
        },
    ),
    SourceSpec(
        "aiddata-gcdf2-projects",
        tables=(Table("AidData_excerpt_aggregates_all_years.csv", value="Amount (Nominal)", code="Recipient",
                      delimiter=";"),),
        expect={"column extra": Accepted("the file is an excerpt of 21 of GCDF 2.0's columns; the others may "
                                         "come with it (SNAPSHOT.yml)")},
        # staging sorted flow types by name, so a new one left the loan figures without a word (QA pass)
        extra={"an unknown flow type": (_set_value("AidData_excerpt_aggregates_all_years.csv", "Flow Type",
                                                   "Loan (concessional)", delimiter=";"), Refused("validate")),
               "a flow type in lower case": (_set_value("AidData_excerpt_aggregates_all_years.csv", "Flow Type",
                                                        "export buyer's credit", delimiter=";"),
                                             Accepted("the staging model reads flow types in any case"))},
    ),
    SourceSpec(
        "aiddata-gcdf3-country-year", files=("cow_gcdf.csv",),
        tables=(Table("cow_gcdf.csv", value="oof_amt", code="ccode", unknown="9999"),),
    ),
    SourceSpec(
        "aiddata-v2-donor-recipient-year",
        tables=(Table("aiddata-totals-d-r-y.csv", value="2007", code="donor"),),
        expect={"unknown code": Accepted(
            "multilateral and private donors are free-text names in AidData 2.x ('(ASDB)', 'Bill & Melinda Gates "
            "Foundation'); only JPN and KOR are checked present")},
    ),
    SourceSpec(
        "mof-customs", build=_mof_customs, encoding="cp932",
        tables=(Table("d42ma400.csv", value="Exp-410", header_row=1, encoding="cp932"),),
        expect={"file truncated": Gap("a file cut at the end of a line is a shorter series: MOF's flat CSVs have "
                                      "no trailer or row count to check against")},
        # both were read: million-yen figures under a 百万円 title 1000 times too small, '100001,5' as 1000015 (QA)
        extra={"title in million yen": (_mof_customs_edit("（千円）", "（百万円）", "百万円"), Refused("parse")),
               "title in million yen after 単位": (_mof_customs_edit("（千円）", "（単位：百万円）", "百万円"),
                                                 Refused("parse")),
               "a decimal comma": (_mof_customs_edit(None, None, "'100001,5'"), Refused("parse")),
               # a month 13 reached the user as "parser failed unexpectedly (ValueError ...)" (QA pass)
               "a month 13": (_mof_customs_edit(None, "/13,", "'2023/13'"), Refused("parse"))},
    ),
    SourceSpec(
        "mideplan-cooperation", build=_mideplan,
        tables=(Table("cooperation.csv", value="amount", code="cooperant_country", conflict="amount"),),
        expect={"row repeated, same values": Refused(
            "validate", "jlac's MIDEPLAN format: one row per project_id; a repeat is refused, not dropped")},
        # verified, then skipped: its projects were missing from Figure 3 without a word (QA pass)
        extra={"a listed .xls file": (_listed_xls, Refused("parse"))},
    ),
    SourceSpec(
        "oecd-dac2a-api", build=_dac2a_api,
        tables=(Table("DAC2A.csv", value="OBS_VALUE", code="RECIPIENT", row=2, out_of_range="abc", scaled=True),),
        expect={"column extra": Accepted("the Data Explorer's SDMX CSV carries optional attribute columns "
                                         "(oda_reader_mapping_dac2a_dotstat.json); the parser reads by name")},
    ),
    SourceSpec(
        "oecd-crs-api", build=_crs_api,
        tables=(Table("CRS.csv", value="OBS_VALUE", code="RECIPIENT", scaled=True),),
        expect={"column extra": Accepted("the Data Explorer's CRS CSV has ~100 optional columns "
                                         "(oda_reader_mapping_crs_dotstat.json); the parser reads by name")},
    ),
    SourceSpec(
        "aiddata-gcdf3-projects", build=_gcdf3_projects, encoding=None,
        tables=(Table(GCDF3_ZIP, value="Amount (Nominal USD)", code="Recipient ISO-3", unknown="XX1"),),
        expect={"column extra": Accepted("GCDF 3.0 has 126 columns (oda_reader_mapping_aidData_schema.json) and "
                                         "AidData adds columns between versions; the parser reads by name")},
    ),
    SourceSpec(
        "mof-trade-by-country-top30",
        tables=(Table("jp-trade-by-country-2021-2025.en.csv", value="Value (thousand yen)", code="To", row=3),),
        extra={"value with digits appended (¥ quadrillions)": (
            _digits_appended("jp-trade-by-country-2021-2025.en.csv", "Value (thousand yen)", "000000", row=3),
            Refused("validate", "one partner in one year is at most ¥100 trillion, four times the largest ever; "
                    "this was published as Japan's 2024 exports to Mexico before the bound"))},
    ),
    SourceSpec(
        "mof-hs9-country", build=_mof_hs9_country, with_sources=("japan-customs-country-codes",),
        tables=(Table("hs9-country-2018-imp.csv", value="Value-Year", code="Country", row=3),),
        expect={"row repeated, same values": Refused(
            "validate", "MOF's files hold one row per flow, year, HS-9 line and partner; the partitioned path writes "
            "rows as read, so a repeat (a damaged file) is refused by the grain check, not dropped")},
        # found by a QA pass: each of these was published
        extra={
            "a month's value empty": (_set_value(HS9_FILE, "Value-Feb", "", row=3), Refused(
                "validate", "MOF writes 0 for a month without trade; an empty month fell out of the monthly fact "
                "while Value-Year kept it")),
            "a month's value negative": (_set_value(HS9_FILE, "Value-Jan", "-5", row=3), Refused(
                "validate", "values are amounts traded, never negative (only Value-Year was checked)")),
            "a quantity negative": (_set_value(HS9_FILE, "Quantity1-Jan", "-7", row=3), Refused(
                "validate", "quantities are amounts traded, never negative")),
            "only the header left": (_header_only(HS9_FILE), Refused(
                "validate", "a file with its header and no row took its flow and year out of every fact")),
            "a second file of the same flow and year": (_copied_as(HS9_FILE, "hs9-country-2018-imp-b.csv"), Refused(
                "validate", "two files of one flow and year would count it twice; the message names both files")),
        },
    ),
    SourceSpec(
        "comtrade-v1", build=_comtrade,
        records=(Records("comtrade_156_2010.json", ("data",), value="primaryValue", code="flowCode",
                         unknown="QQ", names=("partnerCode",)),),
    ),
    SourceSpec(
        "estat-trade", build=_estat,
        records=(Records("0003425295_data_p001.json", ("GET_STATS_DATA", "STATISTICAL_DATA", "DATA_INF", "VALUE"),
                         value="$", code="@area", unknown="50999", names=("@area",)),),
    ),
    SourceSpec(
        "imf-imts", build=_imts,
        elements=(Elements("IMTS_USA_A.xml", tag="Obs", value="OBS_VALUE", parent_code="COUNTERPART_COUNTRY"),),
    ),
)}
