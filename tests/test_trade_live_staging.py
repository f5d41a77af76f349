"""e-Stat, MOF customs and Comtrade v1 snapshots through staging, the yen conversion and the trade precedence.

The e-Stat files use the recorded getMetaInfo envelope (api-recordings/estat) with a trade table's title and
code lists put in (the codes as in the real parsed e-Stat trade output); the Comtrade file is the recorded
v1 response plus one record in the same shape for Japan; MOF's CSV follows the documented d41ma/d42ma
layout. Rates come from the real FRED file of the mirror, read here with the csv module.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import duckdb
import pytest
from conftest import SHARED, write_manifest
from jlac.config import Settings
from jlac.errors import ParseError
from jlac.snapshots import latest_snapshot
from jlac.sources import all_sources
from trade_helpers import build_models, fred_annual_rate, fred_monthly_rates

REC = SHARED / "api-recordings"
VINTAGE = "2026-11-01"
TITLES = {  # 概況品別国別表 (summary commodities by country), one table per flow
    "0003425295": "普通貿易統計 概況品別国別表 輸出 2021年1月～",
    "0003425296": "普通貿易統計 概況品別国別表 輸入 2021年1月～",
}


def estat_meta(table: str, title: str) -> dict:
    doc = json.loads((REC / "estat" / "content_getMetaInfo.DECODED.json").read_text(encoding="utf-8"))
    inner = doc["GET_META_INFO"]
    inner["PARAMETER"]["STATS_DATA_ID"] = table
    info = inner["METADATA_INF"]["TABLE_INF"]
    info["@id"] = table
    info["STATISTICS_NAME"] = title
    info["TITLE"] = {"@no": "1", "$": "概況品別国別表"}
    info["TITLE_SPEC"] = {"TABLE_NAME": "概況品別国別表"}
    inner["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"] = [
        {"@id": "cat01", "@name": "概況品目表", "CLASS": {"@code": "00000000", "@name": "総額", "@level": "1"}},
        {"@id": "cat02", "@name": "数量・金額", "CLASS": {"@code": "120", "@name": "金額_年", "@level": "1"}},
        {"@id": "area", "@name": "国", "CLASS": [
            {"@code": "50410", "@name": "410_ブラジル", "@level": "2"},
            {"@code": "50218", "@name": "218_スペイン", "@level": "2"},
            {"@code": "50523", "@name": "523_カナリー諸島", "@level": "2"},
        ]},
        {"@id": "time", "@name": "時間軸(年次)", "CLASS": {"@code": "2023000000", "@name": "2023年"}},
    ]
    return doc


def estat_page(table: str, values: dict[str, str]) -> dict:
    ok = {"STATUS": 0, "ERROR_MSG": "正常に終了しました。", "DATE": "2026-11-01T09:00:00.000+09:00"}
    rows = [{"@cat01": "00000000", "@cat02": "120", "@area": a, "@time": "2023000000", "@unit": "千円", "$": v}
            for a, v in values.items()]
    return {"GET_STATS_DATA": {"RESULT": ok, "PARAMETER": {"LANG": "J", "STATS_DATA_ID": table},
                               "STATISTICAL_DATA": {"RESULT_INF": {"TOTAL_NUMBER": len(rows)},
                                                    "DATA_INF": {"VALUE": rows}}}}


ESTAT_VALUES = {  # thousand yen, 2023
    "0003425295": {"50410": "1,234,567", "50218": "500,000", "50523": "20,000"},
    "0003425296": {"50410": "2,345,678", "50218": "-"},
}
# MOF d42ma-style file for Brazil (410): 2023, twelve months, thousand yen
MOF_MONTHS = [(f"2023/{m:02d}", 100_000 + m, 200_000 + m) for m in range(1, 13)]


def write_estat(root: Path, titles: dict[str, str] = TITLES) -> None:
    d = root / "estat-trade" / VINTAGE
    d.mkdir(parents=True)
    for table, title in titles.items():
        (d / f"{table}_meta.json").write_text(json.dumps(estat_meta(table, title), ensure_ascii=False), "utf-8")
        page = estat_page(table, ESTAT_VALUES[table])
        (d / f"{table}_data_p001.json").write_text(json.dumps(page, ensure_ascii=False), "utf-8")
    write_manifest(d, "estat-trade")


def write_mof(root: Path) -> None:
    d = root / "mof-customs" / VINTAGE
    d.mkdir(parents=True)
    lines = ["輸出入額の推移（千円）", "Years/Months,Exp-410,Imp-410"] + [f"{m},{x},{i}" for m, x, i in MOF_MONTHS]
    (d / "d42ma400.csv").write_bytes("\r\n".join(lines).encode("cp932"))
    world = ["輸出入総額の推移（千円）", "Years/Months,Exp-Total,Imp-Total"] + [
        f"{m},{x * 1000},{i * 1000}" for m, x, i in MOF_MONTHS
    ] + ["2024/01,0,0"]  # a zero-padded future month, dropped by the parser
    (d / "d41ma.csv").write_bytes("\r\n".join(world).encode("cp932"))
    write_manifest(d, "mof-customs")


def write_comtrade(root: Path) -> dict:
    d = root / "comtrade-v1" / VINTAGE
    d.mkdir(parents=True)
    doc = json.loads((REC / "comtrade" / "data_v1_get_C_A_HS-60a6ad.json").read_text(encoding="utf-8"))
    japan = copy.deepcopy(doc["data"][2])  # China's exports to Argentina 2010, re-keyed as Japan -> Brazil 2023
    japan.update(reporterCode=392, reporterISO="JPN", partnerCode=76, partnerISO="BRA", period="2023",
                 refYear=2023, primaryValue=9.0e9, fobvalue=9.0e9)
    doc["data"].append(japan)
    doc["count"] = len(doc["data"])
    (d / "data_v1_get_C_A_HS.json").write_text(json.dumps(doc), "utf-8")
    write_manifest(d, "comtrade-v1")
    return doc


def small_mirror(root: Path, mirror: Path) -> Settings:
    for name in ("fred-exjpus", "japan-customs-country-codes"):
        vintage = next((mirror / name).iterdir())
        (root / name).mkdir(parents=True)
        (root / name / vintage.name).symlink_to(vintage, target_is_directory=True)
    return Settings(warehouse=root / "w.duckdb", snapshots=root / "store", mirrors=(root,), output=root / "out")


@pytest.fixture(scope="module")
def built_world(tmp_path_factory, mirror):
    root = tmp_path_factory.mktemp("live")
    settings = small_mirror(root / "mirror", mirror)
    write_estat(root / "mirror")
    write_mof(root / "mirror")
    write_comtrade(root / "mirror")
    marts = ["marts.fct_trade_annual", "marts.fct_trade_annual_by_aggregate", "marts.fct_japan_trade_totals_mof"]
    con = build_models(settings, marts)
    yield settings, con
    con.close()


@pytest.fixture(scope="module")
def built(built_world):
    return built_world[1]


def test_estat_flow_from_the_table_title(built):
    rows = built.execute(
        "SELECT stats_data_id, flow, count(*) FROM raw.estat_trade GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert rows == [("0003425295", "export", 3), ("0003425296", "import", 2)]


def test_estat_staging_converts_at_the_annual_rate(built, mirror):
    rate = fred_annual_rate(mirror, 2023)
    rows = {(r[0], r[1]): r[2:] for r in built.execute(
        "SELECT partner_iso3, flow, value_jpy, jpy_per_usd, value_usd, mof_codes FROM staging.stg_estat_trade__trade"
    ).fetchall()}
    assert rows[("BRA", "export")] == (1_234_567_000, pytest.approx(rate), pytest.approx(1_234_567_000 / rate), "410")
    assert rows[("BRA", "import")][2] == pytest.approx(2_345_678_000 / rate)
    # Spain and the Canary Islands (MOF 218 + 523) are one ISO3; Spain's '-' import is no value, not zero
    assert rows[("ESP", "export")][0] == 520_000_000 and rows[("ESP", "export")][3] == "218,523"
    assert ("ESP", "import") not in rows


def test_mof_customs_months_at_monthly_rates(built, mirror):
    rates = fred_monthly_rates(mirror)
    expected = sum(x * 1000 / rates[m.replace("/", "-")] for m, x, _ in MOF_MONTHS)
    got = built.execute(
        "SELECT sum(value_usd), count(*), count(DISTINCT partner_iso3) FROM staging.stg_mof_customs__monthly "
        "WHERE flow = 'export' AND partner_code = '410'"
    ).fetchone()
    assert got == (pytest.approx(expected), 12, 1)


def test_mof_world_totals_in_the_mart_and_by_aggregate(built, mirror):
    rates = fred_monthly_rates(mirror)
    usd = sum(i * 1e6 / rates[m.replace("/", "-")] for m, _, i in MOF_MONTHS)
    jpy = sum(i * 1_000_000 for _, _, i in MOF_MONTHS)
    assert built.execute(
        "SELECT value_jpy, jpy_per_usd, value_usd FROM marts.fct_japan_trade_totals_mof "
        "WHERE source = 'mof-customs' AND year = 2023 AND flow = 'import'"
    ).fetchall() == [(jpy, pytest.approx(jpy / usd), pytest.approx(usd))]
    # a region file's columns never become the world; only d41ma.csv's Total does
    assert built.execute(
        "SELECT source, value_usd FROM marts.fct_trade_annual_by_aggregate "
        "WHERE reporter_iso3 = 'JPN' AND partner_aggregate = 'world' AND flow = 'import'"
    ).fetchall() == [("mof-customs", pytest.approx(usd))]


def test_precedence_estat_then_mof_then_comtrade(built, mirror):
    rows = built.execute(
        "SELECT source, source_rank, value_usd FROM intermediate.int_trade_annual_unioned "
        "WHERE reporter_iso3 = 'JPN' AND partner_iso3 = 'BRA' AND flow = 'export' AND year = 2023 ORDER BY source_rank"
    ).fetchall()
    assert [r[:2] for r in rows] == [("estat-trade", 1), ("mof-customs", 2), ("comtrade-v1", 3)]
    fact = built.execute(
        "SELECT source, value_usd FROM marts.fct_trade_annual "
        "WHERE reporter_iso3 = 'JPN' AND partner_iso3 = 'BRA' AND flow = 'export' AND year = 2023"
    ).fetchall()
    assert fact == [("estat-trade", pytest.approx(1_234_567_000 / fred_annual_rate(mirror, 2023)))]


def test_a_final_figure_beats_another_sources_estimate(built_world, tmp_path):
    """An IMF DOTS estimate (its 'e' mark) for a year e-Stat has Japan's final customs figure of: the mart keeps
    the final one (IMF's precedence holds among finals), and the estimate stays on record in the union."""
    import shutil

    from jlac import transform

    settings, con = built_world
    con.execute("CHECKPOINT")
    copy_ = tmp_path / "models.duckdb"
    shutil.copyfile(settings.home / "models.duckdb", copy_)
    with duckdb.connect(str(copy_)) as scratch:
        scratch.execute(  # the row the DOTS parser makes of a cell written '1,111.00 e' (staging: a table)
            "INSERT INTO staging.stg_imf_dots__trade BY NAME SELECT 'JPN' AS reporter_iso3, 'BRA' AS partner_iso3, "
            "'export' AS flow, 2023 AS year, 1.111e9 AS value_usd, true AS is_estimate, 'imf-dots' AS source, "
            "'2024-02-02' AS vintage")
    transform.build(copy_, settings, select=["int_trade_annual_unioned+,+fct_trade_annual"], tests="buildable")
    with duckdb.connect(str(copy_), read_only=True) as scratch:
        ranks = scratch.execute(
            "SELECT source, is_estimate, source_rank FROM intermediate.int_trade_annual_unioned WHERE reporter_iso3 = "
            "'JPN' AND partner_iso3 = 'BRA' AND flow = 'export' AND year = 2023 ORDER BY source_rank").fetchall()
        fact = scratch.execute(
            "SELECT source, is_estimate FROM marts.fct_trade_annual "
            "WHERE reporter_iso3 = 'JPN' AND partner_iso3 = 'BRA' AND flow = 'export' AND year = 2023").fetchall()
    assert ranks == [("estat-trade", False, 1), ("mof-customs", False, 2), ("comtrade-v1", False, 3),
                     ("imf-dots", True, 4)]
    assert fact == [("estat-trade", False)]


def test_comtrade_rows_in_dollars_as_sent(built):
    # recorded: China's imports from Argentina 2010, primaryValue 6,804,128,143 US$ (CIF)
    assert built.execute(
        "SELECT source, value_usd, is_estimate FROM marts.fct_trade_annual "
        "WHERE reporter_iso3 = 'CHN' AND partner_iso3 = 'ARG' AND flow = 'import' AND year = 2010"
    ).fetchall() == [("comtrade-v1", 6_804_128_143.0, False)]
    assert built.execute("SELECT count(*) FROM staging.stg_comtrade_v1__trade").fetchone()[0] == 5


def test_estat_table_without_a_flow_in_its_title_fails(tmp_path, mirror):
    settings = small_mirror(tmp_path, mirror)
    write_estat(tmp_path, {"0003425295": "普通貿易統計 概況品別国別表 2021年1月～"})
    snap = latest_snapshot("estat-trade", settings)
    with pytest.raises(ParseError, match=r"0003425295_meta.json: cannot tell exports from imports.*found none"):
        all_sources()["estat-trade"].parse(snap, duckdb.connect())


def test_estat_table_naming_both_flows_fails(tmp_path, mirror):
    settings = small_mirror(tmp_path, mirror)
    write_estat(tmp_path, {"0003425295": "普通貿易統計 輸出 輸入 2021年1月～"})
    with pytest.raises(ParseError, match=r"found \['export', 'import'\]"):
        all_sources()["estat-trade"].parse(latest_snapshot("estat-trade", settings), duckdb.connect())
