"""An IMF DOTS release that lost a partner of Japan's Figure 1 is refused, naming it (found by a QA pass: Peru's row
deleted from DOTS_101.xlsx's imports was published, and Figure 1 fell in every year, 2014 imports 28.464 -> 26.696
US$ bn, below what the coverage rule can see since the earlier years lost Peru too)."""

from __future__ import annotations

import shutil

import duckdb
import openpyxl
import pytest
from conftest import JAPAN_WORKBOOK, failed_checks, scratch_build, write_manifest
from jlac import countries, quarantine
from jlac.config import Settings
from jlac.snapshots import load_snapshot
from jlac.sources import get_source

CHECK = "Japan's CELAC partners of the published Figure 1 are all in this release"


def _published(path) -> None:
    """A published warehouse whose Figure 1 had Peru and Brazil from IMF DOTS, both flows."""
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.dim_country AS SELECT * FROM (VALUES ('PER', true), ('BRA', true), "
                    "('USA', false)) AS t(iso3, is_celac)")
        con.execute("CREATE TABLE marts.fct_trade_annual AS SELECT 'JPN' AS reporter_iso3, p AS partner_iso3, "
                    "f AS flow, 'imf-dots' AS source FROM (VALUES ('PER'), ('BRA'), ('USA')) AS a(p), "
                    "(VALUES ('export'), ('import')) AS b(f)")


def _failed(tmp_path, name: str, drop_peru_imports: bool) -> list:
    vintage = tmp_path / name / "store" / "imf-dots" / "2030-01-01"
    vintage.mkdir(parents=True)
    book = vintage / "DOTS_101.xlsx"
    shutil.copyfile(JAPAN_WORKBOOK, book)
    if drop_peru_imports:
        wb = openpyxl.load_workbook(book)
        ws = wb["Imports, CIF"]
        rows = [c.row for c in ws["B"] if c.value == "Peru"]
        assert len(rows) == 1
        ws.delete_rows(rows[0])
        wb.save(book)
    write_manifest(vintage, "imf-dots")
    settings = Settings(warehouse=tmp_path / name / "wh" / "jlac.duckdb", snapshots=tmp_path / name / "store",
                        mirrors=(), output=tmp_path / name / "out")
    _published(settings.warehouse)
    source, snapshot = get_source("imf-dots"), load_snapshot(vintage)

    def as_the_refresh(con):  # the country-name map and quarantine, before the checks
        countries.build_name_map_table(con, {"imf-dots": source})
        quarantine.apply(con, {"imf-dots": source})

    db = scratch_build(tmp_path / name / "build.duckdb", source, snapshot, settings, as_the_refresh)
    return failed_checks(db, source, snapshot, settings)


@pytest.mark.parametrize("drop", [False, True], ids=["Japan's workbook as published", "Peru's imports deleted"])
def test_a_release_without_a_partner_of_figure_1_is_refused_naming_it(tmp_path, drop):
    failed = _failed(tmp_path, "drop" if drop else "keep", drop)
    if not drop:
        assert failed == []
        return
    assert [r.suite.split(": ", 1)[1] for r in failed] == [CHECK]
    details = " ".join(o.details for o in failed[0].failed)
    assert "PER" in details and "import" in details and "BRA" not in details, details


def test_a_partner_named_as_withdrawn_is_published_without_it(tmp_path, monkeypatch):
    """A release that really dropped a partner could never be published (every scheduled run failing on it): once a
    reviewer names it in JLAC_IMF_DOTS_WITHDRAWN the release passes; a malformed value is a setting error."""
    from jlac.errors import SettingError

    monkeypatch.setenv("JLAC_IMF_DOTS_WITHDRAWN", "PER:import")
    assert _failed(tmp_path, "accepted", True) == []
    monkeypatch.setenv("JLAC_IMF_DOTS_WITHDRAWN", "BRA")  # another partner accepted: Peru's loss still refused
    failed = _failed(tmp_path, "other", True)
    assert [r.suite.split(": ", 1)[1] for r in failed] == [CHECK]
    monkeypatch.setenv("JLAC_IMF_DOTS_WITHDRAWN", "Peru")
    with pytest.raises(SettingError, match=r"JLAC_IMF_DOTS_WITHDRAWN='Peru': 'Peru' is not ISO3"):
        _failed(tmp_path, "bad", True)
