"""MOF's yearly top-30-partner file: parser, checks, staging, Figure 1 carried forward for Mexico, Brazil and
Chile, yen->dollar only for full FRED years, and every change of a published value on record.

One small warehouse over the real mirror, refreshed four times as new releases arrive:
  1. the mirror as it is (MOF 2021-2025, FRED to April 2025: 2025 stays in yen);
  2. after `jlac fetch` of a FRED release covering 2025 and an IMF IMTS release (both from a loopback server):
     2025 gets its dollar value and nothing else in MOF's rows changes; IMTS takes 2020-2021 values over from
     IMF DOTS and MOF, and the revision record says so;
  3. after MOF's final 2025 figures arrive as a new vintage: the change is a revision row;
  4. a damaged MOF vintage: refused by validation, the published warehouse untouched;
  5. the next release's five-year window moves on (2022-2026): 2021 keeps the last values that covered it.
The FRED months May-December 2025, IMTS's values and MOF's final 2025 value are stand-ins written for this test
(no such release is in the mirror); every other number is the mirror's.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from statistics import mean

import duckdb
import pytest
from conftest import JAPAN_WORKBOOK, MIRROR, failed_checks, scratch_build, small_mirror, write_manifest
from jlac import pipeline
from jlac.cli import app
from jlac.config import Settings
from jlac.connectors import fetch_all
from jlac.errors import ParseError, SnapshotError, ValidationFailed
from jlac.http import HttpClient
from jlac.snapshots import latest_snapshot, list_vintages, with_history
from jlac.sources.mof_trade_by_country_top30 import source as top30
from test_connectors_imf_imts import JPN_2021, PATH, RECORDED, imts_xml
from trade_helpers import build_models
from typer.testing import CliRunner

MOF_DIR = MIRROR / "mof-trade-by-country-top30" / "2026-10-04"
MOF_CSV = MOF_DIR / "jp-trade-by-country-2021-2025.en.csv"
FRED_CSV = MIRROR / "fred-exjpus" / "2025-05-27" / "EXJPUS.csv"
# Stand-in FRED months for May-December 2025 (a release covering the year is not in the mirror).
FRED_2025_REST = {5: 144.93, 6: 144.52, 7: 146.91, 8: 147.58, 9: 147.87, 10: 151.61, 11: 154.78, 12: 155.41}
MOF_FINAL_MEX_EXPORT_2025 = 1_811_250_000  # thousand yen: stand-in for MOF's final figure


def fred_rates(extra: dict[int, float] | None = None) -> dict[int, list[float]]:
    """Monthly rates by year, read from the mirror's CSV (plus stand-in 2025 months)."""
    by_year: dict[int, list[float]] = {}
    with FRED_CSV.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            by_year.setdefault(int(row["observation_date"][:4]), []).append(float(row["EXJPUS"]))
    by_year[2025] += list((extra or {}).values())
    return by_year


def mof_value(year: int, frm: str, to: str) -> int:
    with MOF_CSV.open(encoding="utf-8") as fh:
        return next(int(r[3]) for r in csv.reader(fh) if r[:3] == [str(year), frm, to])


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def partners(con) -> dict[tuple, tuple]:
    rows = con.execute("SELECT year, partner_iso3, flow, value_jpy_bn, value_usd_bn, source, is_provisional, vintage, "
                       "jpy_per_usd, value_usd_note FROM figures.japan_main_lac_partners").fetchall()
    return {r[:3]: r[3:] for r in rows}


@pytest.fixture(scope="module")
def world(tmp_path_factory, mirror, make_httpserver):
    """Runs the four refreshes; returns what each published, read back from the warehouse."""
    httpserver = make_httpserver
    home = tmp_path_factory.mktemp("top30")
    root = small_mirror(home / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK})
    settings = Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "store", mirrors=(root,),
                        output=home / "out")
    out = {"settings": settings, "runs": []}

    def snapshot_of_warehouse():
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            return {
                "partners": partners(con),
                "fct": con.execute("SELECT partner_iso3, flow, year, value_usd, value_jpy, source, vintage, "
                                   "is_provisional, value_usd_note FROM marts.fct_trade_annual WHERE reporter_iso3 = "
                                   "'JPN' AND partner_iso3 IN ('MEX', 'BRA', 'CHL') AND year >= 2019").fetchall(),
                "fig1_years": [r[0] for r in con.execute("SELECT year FROM figures.fig1_japan_lac_trade")
                               .fetchall()],
                "revisions": con.execute(
                    "SELECT partner_iso3, flow, year, unit, old_source, old_vintage, old_value, new_source, "
                    "new_vintage, new_value, published_run FROM marts.trade_revisions WHERE recorded_by = 'publish' "
                    "ORDER BY published_run, partner_iso3, flow, year, unit").fetchall(),
                "reconciliation": con.execute(
                    "SELECT year, partner_iso3, flow, shown_source, shown_value_usd_bn, other_source, "
                    "other_value_usd_bn FROM figures.japan_main_lac_partners_reconciliation").fetchall(),
                "raw_rows": con.execute("SELECT count(*), count(DISTINCT partner_name) "
                                        "FROM raw.mof_trade_by_country_top30").fetchone(),
            }

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JLAC_FRED_URL", httpserver.url_for("/"))
        mp.setenv("JLAC_IMF_URL", httpserver.url_for("/"))
        mp.setenv("JLAC_IMF_REPORTERS", "JPN,USA")
        for k, v in {"JLAC_WAREHOUSE": settings.warehouse, "JLAC_SNAPSHOTS": settings.snapshots,
                     "JLAC_MIRROR": root, "JLAC_OUTPUT": settings.output}.items():
            mp.setenv(k, str(v))
        # 1. the mirror as it is
        out["runs"].append(pipeline.refresh(settings, trigger="test"))
        out[1] = snapshot_of_warehouse()
        # 2. a FRED release covering 2025 and an IMTS release, fetched from a loopback server
        fred = FRED_CSV.read_text(encoding="utf-8").rstrip("\n") + "\n" + "".join(
            f"2025-{m:02d}-01,{v}\n" for m, v in FRED_2025_REST.items())
        httpserver.clear()
        httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(fred, content_type="text/csv")
        httpserver.expect_request(PATH.format("JPN")).respond_with_data(imts_xml(JPN_2021),
                                                                         content_type="application/xml")
        httpserver.expect_request(PATH.format("USA")).respond_with_data(RECORDED.read_bytes(),
                                                                         content_type="application/xml")

        def client(progress=None):
            return HttpClient(retries=1, backoff=0.0, sleep=lambda s: None, progress=progress)

        fetched = fetch_all(["fred-exjpus", "imf-imts"], settings, client_factory=client)
        assert [f.status for f in fetched] == ["new", "new"], [f.message for f in fetched]
        out["runs"].append(pipeline.refresh(settings, trigger="test"))
        out[2] = snapshot_of_warehouse()
        # 3. MOF's final 2025 as a new vintage (MOF publishes the final year at the end of November)
        final = settings.snapshots / "mof-trade-by-country-top30" / "2026-12-01"
        final.mkdir(parents=True)
        old_row = f"2025,Japan,Mexico,{mof_value(2025, 'Japan', 'Mexico')}\n"
        text = MOF_CSV.read_text(encoding="utf-8").replace(old_row, f"2025,Japan,Mexico,{MOF_FINAL_MEX_EXPORT_2025}\n")
        (final / MOF_CSV.name).write_text(text, encoding="utf-8")
        write_manifest(final, "mof-trade-by-country-top30")
        out["runs"].append(pipeline.refresh(settings, trigger="test"))
        out[3] = snapshot_of_warehouse()
        out["site_html"] = (settings.output / "site" / "index.html").read_text(encoding="utf-8")
        out["cli_latest"] = CliRunner().invoke(app, ["revisions"], env={"COLUMNS": "250"})
        out["cli_all"] = CliRunner().invoke(app, ["revisions", "--all", "--limit", "100"], env={"COLUMNS": "250"})
        out["cli_one"] = CliRunner().invoke(app, ["revisions", "--all", "--limit", "1"], env={"COLUMNS": "250"})
        # 4. a damaged vintage: a row with Japan on both sides, a negative value, a partner no one knows
        bad = settings.snapshots / "mof-trade-by-country-top30" / "2026-12-02"
        bad.mkdir(parents=True)
        damage = "2025,Japan,Japan,5\n2025,Peru,Japan,-7\n2025,Atlantis,Japan,3\n"
        (bad / MOF_CSV.name).write_text(text + damage, encoding="utf-8")
        write_manifest(bad, "mof-trade-by-country-top30")
        published = _digest(settings.warehouse)
        with pytest.raises(ValidationFailed) as failed:
            pipeline.refresh(settings, trigger="test")
        out["bad_error"] = str(failed.value)
        out["bad_report"] = failed.value.report_path.read_text(encoding="utf-8")
        out["unchanged_after_bad"] = _digest(settings.warehouse) == published
        shutil.rmtree(bad)
        # 5. the window moves on: 2021 dropped, 2026 added (stand-in values: 2025's plus one)
        moved = settings.snapshots / "mof-trade-by-country-top30" / "2027-10-05"
        moved.mkdir(parents=True)
        header, *lines = text.splitlines()
        kept = [line for line in lines if not line.startswith("2021,")]
        added = [f"2026,{a},{b},{int(v) + 1}" for y, a, b, v in csv.reader(lines) if y == "2025"]
        (moved / "jp-trade-by-country-2022-2026.en.csv").write_text("\n".join([header, *kept, *added]) + "\n",
                                                                    encoding="utf-8")
        write_manifest(moved, "mof-trade-by-country-top30")
        out["runs"].append(pipeline.refresh(settings, trigger="test"))
        out[5] = snapshot_of_warehouse()
        # 6. the earlier vintage 2021 is read from, changed in place (same size): the next refresh has nothing new to
        # parse, and it refuses (an unchanged refresh passed over it: found by a QA pass)
        earlier = final / MOF_CSV.name
        good = earlier.read_bytes()
        at = good.index(b"2021,Japan,Mexico,") + len(b"2021,Japan,Mexico,")
        earlier.write_bytes(good[:at] + (b"8" if good[at:at + 1] != b"8" else b"7") + good[at + 1:])
        published = _digest(settings.warehouse)
        with pytest.raises(SnapshotError) as damaged:
            pipeline.refresh(settings, trigger="test")
        out["damaged_earlier_error"] = str(damaged.value)
        out["unchanged_after_damaged_earlier"] = _digest(settings.warehouse) == published
        earlier.write_bytes(good)
    return out


def test_mirror_values_in_yen_and_dollars(world):
    fig = world[1]["partners"]
    fred = fred_rates()
    avg2024 = mean(fred[2024])
    assert len(fred[2024]) == 12 and len(fred[2025]) == 4
    exports_mex_2024 = mof_value(2024, "Japan", "Mexico")
    assert exports_mex_2024 == 1_858_141_277  # thousand yen, the file's value
    jpy_bn, usd_bn, source, provisional, vintage, rate, note = fig[(2024, "MEX", "export")]
    assert jpy_bn == 1858.141
    assert usd_bn == round(exports_mex_2024 * 1000 / avg2024 / 1e9, 3) == 12.268
    assert rate == round(avg2024, 3) == 151.458  # rounded as the other value columns (it was unrounded: a QA pass)
    assert (source, provisional, vintage, note) == ("mof-trade-by-country-top30", False, "2026-10-04", None)
    # Brazil and Chile, imports, from the file
    assert fig[(2023, "BRA", "import")][0] == round(mof_value(2023, "Brazil", "Japan") / 1e6, 3) == 1552.088
    assert fig[(2021, "CHL", "import")][:2] == (854.743, round(854_742_809_000 / mean(fred[2021]) / 1e9, 3))


def test_2025_stays_in_yen_with_a_reason_and_is_provisional(world):
    fig = world[1]["partners"]
    for iso3 in ("MEX", "BRA", "CHL"):
        for flow in ("export", "import"):
            jpy_bn, usd_bn, source, provisional, vintage, rate, note = fig[(2025, iso3, flow)]
            assert usd_bn is None and rate is None and provisional is True
            assert "FRED EXJPUS has 4 of 12 months" in note and "2025-04" in note
    assert fig[(2025, "MEX", "export")][0] == 1803.477
    fct = {(r[0], r[1], r[2]): r[3:] for r in world[1]["fct"]}
    assert fct[("MEX", "export", 2025)][:4] == (None, 1_803_477_011_000, "mof-trade-by-country-top30", "2026-10-04")
    assert fct[("MEX", "export", 2025)][4] is True


def test_dots_years_carry_yen_at_freds_rate_and_the_region_total_stays_whole(world):
    snap = world[1]
    fct = {(r[0], r[1], r[2]): r[3:] for r in snap["fct"]}
    value_usd, _, source, _, _, _ = fct[("MEX", "export", 2020)]
    assert source == "imf-dots"
    jpy_bn, usd_bn, src, *_ = snap["partners"][(2020, "MEX", "export")]
    assert src == "imf-dots" and usd_bn == round(value_usd / 1e9, 3)
    assert jpy_bn == round(value_usd * mean(fred_rates()[2020]) / 1e9, 3)
    # 2021-2025: all thirty rows are MOF's, and none enters the CELAC-33 total of Figure 1
    assert {fct[k][2] for k in fct if k[2] >= 2021} == {"mof-trade-by-country-top30"}
    assert len([k for k in fct if k[2] >= 2021]) == 30
    assert max(snap["fig1_years"]) == 2020
    assert snap["raw_rows"] == (300, 30)
    assert snap["revisions"] == [] and snap["reconciliation"] == []  # a first publish; no overlap in the mirror


def test_a_fred_release_covering_2025_fills_in_the_dollars_and_nothing_else(world):
    before, after = world[1]["partners"], world[2]["partners"]
    avg2025 = mean(fred_rates(FRED_2025_REST)[2025])
    for key, old in before.items():
        if key[0] < 2021:
            continue  # IMF years: IMTS took some over in this refresh (next test)
        new = after[key]
        if key[0] == 2025:
            assert new[1] == round(old[0] * 1e9 / avg2025 / 1e9, 3) or abs(new[1] - old[0] / avg2025) < 0.0015
            assert new[5] == round(avg2025, 3) and new[6] is None  # the rate to 3 decimals (QA pass)
            assert (new[0], new[2], new[3]) == (old[0], old[2], old[3])  # yen, source, provisional unchanged
        else:
            assert new == old, key
    assert after[(2025, "MEX", "export")][1] == round(1_803_477_011_000 / avg2025 / 1e9, 3)
    # dollars filled in are an addition, not a revision
    assert not [r for r in world[2]["revisions"] if r[2] == 2025]


def test_a_published_value_changed_by_another_source_is_on_record(world):
    runs = world["runs"]
    revisions = {(r[0], r[1], r[2], r[3]): r[4:] for r in world[2]["revisions"]}
    old_2020 = {(r[0], r[1], r[2]): r[3] for r in world[1]["fct"]}[("MEX", "export", 2020)]
    assert revisions[("MEX", "export", 2020, "USD")] == (
        "imf-dots", "2022-02-02", old_2020, "imf-imts", list_vintages("imf-imts", world["settings"])[-1].vintage,
        8.9e9, runs[1].run_id)
    old_2021 = {(r[0], r[1], r[2]): r[3] for r in world[1]["fct"]}[("MEX", "export", 2021)]
    row = revisions[("MEX", "export", 2021, "USD")]
    assert row[:3] == ("mof-trade-by-country-top30", "2026-10-04", old_2021) and row[3] == "imf-imts"
    # the figure keeps MOF from 2021; the IMTS value for the same year is in the reconciliation table
    assert world[2]["partners"][(2021, "MEX", "export")][2] == "mof-trade-by-country-top30"
    assert (2021, "MEX", "export", "mof-trade-by-country-top30", round(old_2021 / 1e9, 3), "imf-imts", 10.9) \
        in world[2]["reconciliation"]


def test_mofs_final_2025_is_a_revision_and_history_is_carried_forward(world):
    runs = world["runs"]
    latest = [r for r in world[3]["revisions"] if r[-1] == runs[2].run_id]
    old_yen = mof_value(2025, "Japan", "Mexico") * 1000
    assert [r[:10] for r in latest if r[3] == "JPY"] == [
        ("MEX", "export", 2025, "JPY", "mof-trade-by-country-top30", "2026-10-04", old_yen,
         "mof-trade-by-country-top30", "2026-12-01", MOF_FINAL_MEX_EXPORT_2025 * 1000)]
    assert [(r[0], r[1], r[2]) for r in latest] == [("MEX", "export", 2025)] * 2  # JPY and USD
    carried = [r for r in world[3]["revisions"] if r[-1] == runs[1].run_id]
    assert carried == [r for r in world[2]["revisions"]]
    jpy_bn, usd_bn, source, provisional, vintage, *_ = world[3]["partners"][(2025, "MEX", "export")]
    assert (jpy_bn, provisional, vintage) == (1811.25, False, "2026-12-01")


def test_jlac_revisions_shows_the_latest_publish_and_all_the_history(world):
    latest, everything = world["cli_latest"], world["cli_all"]
    assert latest.exit_code == 0, latest.output
    assert "latest publish" in latest.output and "2026-12-01" in latest.output
    assert "1,811,250,000,000" in latest.output and "imf-dots" not in latest.output
    assert everything.exit_code == 0, everything.output
    assert "imf-dots" in everything.output and "8,900,000,000" in everything.output
    # fewer shown than there are: said (20 of 600 were shown without a word: found by a QA pass)
    total = len(world[3]["revisions"])
    assert total > 1 and (f"1 of {total:,} revisions shown (newest vintage first, then the largest changes); "
                          f"--limit {total} shows them all") in " ".join(world["cli_one"].output.split())
    assert "revisions shown" not in everything.output  # all of them were


def test_the_report_page_shows_the_latest_publishs_revisions(world):
    html = world["site_html"]
    section = html[html.index('<section id="revisions">'):html.index('<section id="freshness">')]
    assert 'data-revisions="1"' in section and world["runs"][2].run_id in section
    assert "1,811,250,000,000" in section and "1,803,477,011,000" in section and "2026-12-01" in section
    assert "imf-dots" not in section  # an earlier publish's change is history, not this publish's


def test_a_damaged_vintage_is_refused_and_nothing_is_published(world):
    assert world["unchanged_after_bad"]
    assert "mof-trade-by-country-top30" in world["bad_error"]
    report = world["bad_report"]
    assert "FAILED: mof-trade-by-country-top30: schema, grain and values" in report
    # Japan on both sides: no flow; and a negative value: each value with its row
    at = r"\(1 row\) at \[\{'vintage': '[^']+', 'file': '[^']+', 'row_number': "
    assert re.search(r"\{'column': 'flow'\} \| [^|]*values None " + at + r"302\}\]", report), report
    assert re.search(r"\{'column': 'value_jpy_thousand'[^|]*\| [^|]*values -7 " + at + r"303\}\]", report), report
    assert "FAILED: mof-trade-by-country-top30: every partner name maps to a country" in report
    assert "Atlantis" in report


def test_a_moving_window_keeps_the_year_it_drops_from_the_last_release_that_had_it(world):
    """MOF's next file covers 2022-2026: 2021 is not deleted from the warehouse (nor from the figure) but kept from
    the newest vintage that still covers it; 2022-2026 come from the new one; no published value is removed."""
    before, after, run = world[3], world[5], world["runs"][3]
    assert run.status == "completed"
    by_year = {}
    for _partner, _flow, year, _usd, _jpy, source, vintage, _provisional, _note in after["fct"]:
        if source == "mof-trade-by-country-top30":
            by_year.setdefault(year, set()).add(vintage)
    assert by_year == {2021: {"2026-12-01"}, 2022: {"2027-10-05"}, 2023: {"2027-10-05"}, 2024: {"2027-10-05"},
                       2025: {"2027-10-05"}, 2026: {"2027-10-05"}}
    old_2021 = {r[:3]: r[3:5] for r in before["fct"] if r[2] == 2021}
    assert old_2021 and {r[:3]: r[3:5] for r in after["fct"] if r[2] == 2021} == old_2021
    assert after["partners"][(2021, "MEX", "export")][:2] == before["partners"][(2021, "MEX", "export")][:2]
    jpy_bn, _usd, source, provisional, vintage, *_ = after["partners"][(2026, "MEX", "export")]
    assert (jpy_bn, source, provisional, vintage) == (
        round((MOF_FINAL_MEX_EXPORT_2025 + 1) * 1000 / 1e9, 3), "mof-trade-by-country-top30", True, "2027-10-05")
    # the new vintage's 300 rows and 2021's 60 of 2026-12-01; 2026-10-04 (2021-2025) is covered by the two: read and
    # verified, none of its rows kept
    assert after["raw_rows"][0] == 360
    removed = [r for r in after["revisions"] if r[-1] == run.run_id and r[9] is None]
    assert removed == []


def test_an_earlier_vintage_damaged_after_it_was_read_stops_the_next_refresh(world):
    """The earlier vintage 2021's published values come from, changed in place after its parse was cached: a refresh
    with nothing new to parse refuses it, naming it, and the published warehouse stays as it was."""
    assert "mof-trade-by-country-top30/2027-10-05 also reads the earlier vintage 2026-12-01" in \
        world["damaged_earlier_error"]
    assert "checksum mismatch for jp-trade-by-country" in world["damaged_earlier_error"]
    assert world["unchanged_after_damaged_earlier"]


def _vintage(store, vintage, years, name=None, scale=1, damage=""):
    """A top-30 vintage of the mirror's rows, for ``years`` (rows of a year missing from the mirror: 2025's)."""
    rows = list(csv.reader(MOF_CSV.open(encoding="utf-8-sig")))
    header, body = rows[0], rows[1:]
    out = [header]
    for year in years:
        source_year = str(year) if any(r[0] == str(year) for r in body) else "2025"
        out += [[str(year), r[1], r[2], str(int(r[3]) * scale)] for r in body if r[0] == source_year]
    folder = store / "mof-trade-by-country-top30" / vintage
    folder.mkdir(parents=True)
    text = "\n".join(",".join(r) for r in out) + "\n" + damage
    (folder / (name or f"jp-trade-by-country-{years[0]}-{years[-1]}.en.csv")).write_text(text, encoding="utf-8")
    write_manifest(folder, "mof-trade-by-country-top30")
    return folder


def test_an_earlier_vintage_added_later_changes_the_fingerprint_and_the_rows(tmp_path):
    """The parse reads earlier vintages, so they are part of the snapshot's fingerprint (the parse cache's key and the
    refresh plan's input): an earlier release added to the store afterwards is seen, not an 'unchanged' refresh
    with its years missing; a damaged release a newer one fully covers holds nothing back; a damaged one still
    needed for its years stops the source, saying so."""
    from jlac import parse, plan
    from jlac.errors import SnapshotError

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(MIRROR,),
                        output=tmp_path / "out", cache=tmp_path / "cache")  # the store's vintage wins the mirror's
    _vintage(settings.snapshots, "2026-10-04", list(range(2021, 2026)))
    _vintage(settings.snapshots, "2027-10-05", list(range(2022, 2027)))

    def loaded():
        snap = plan.discover(settings)["mof-trade-by-country-top30"]
        rows = top30.SOURCE.parse(snap, duckdb.connect()).aggregate(
            "year, vintage, count(*)", "year, vintage").order("year").fetchall()
        return snap, rows

    first, rows = loaded()
    assert [s.vintage for s in first.older] == ["2026-10-04"]
    assert rows == [(2021, "2026-10-04", 60), *[(y, "2027-10-05", 60) for y in range(2022, 2027)]]
    _vintage(settings.snapshots, "2025-10-03", list(range(2020, 2025)))  # an earlier release, added afterwards
    second, rows = loaded()
    assert second.fingerprint != first.fingerprint
    assert parse.cache_path(settings, top30.SOURCE, second) != parse.cache_path(settings, top30.SOURCE, first)
    assert plan.inputs_of({"t": second}, "c") != plan.inputs_of({"t": first}, "c")
    assert rows[:2] == [(2020, "2025-10-03", 60), (2021, "2026-10-04", 60)]
    # a damaged release that newer ones cover by years (2023-2026) stops the source too: years are not partners, and
    # one it alone still listed lost its values when it was skipped (found by a QA pass); moved out, it is not read
    bad = _vintage(settings.snapshots, "2027-06-01", list(range(2023, 2027)))
    (bad / "jp-trade-by-country-2023-2026.en.csv").write_text("broken\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"also reads the earlier vintage 2027-06-01 .*restore it, or move it out"):
        loaded()
    shutil.rmtree(bad)
    _, again = loaded()
    assert again == rows
    # a damaged release still needed for its years (2020): stops the source naming it and what to do
    (settings.snapshots / "mof-trade-by-country-top30" / "2025-10-03" /
     "jp-trade-by-country-2020-2024.en.csv").write_text("broken\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"also reads the earlier vintage 2025-10-03 .*restore it, or move it out"):
        loaded()


def test_a_cached_batch_verifies_the_earlier_vintages_its_parse_read_as_the_parse_does(tmp_path):
    """The parse verifies the earlier vintages it reads; a batch read from the cache verifies the same ones (kept in
    its metadata), so an earlier vintage damaged after its batch was cached stops the source as it does without the
    cache. It was published unnoticed; and a damaged release newer ones covered by years was refused with the cache
    and skipped without it, losing the values of partners only it listed (found by QA passes)."""
    from jlac import parse
    from jlac.errors import SnapshotError
    from jlac.snapshots import latest_snapshot, with_history

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out", cache=tmp_path / "cache")
    needed = _vintage(settings.snapshots, "2025-10-03", list(range(2020, 2025)))
    covered = _vintage(settings.snapshots, "2026-06-01", list(range(2023, 2027)))
    _vintage(settings.snapshots, "2027-10-05", list(range(2022, 2027)))
    snap = with_history(latest_snapshot("mof-trade-by-country-top30", settings), settings)
    batch = parse.parse_to_cache(settings, top30.SOURCE, snap)
    assert duckdb.sql(f"SELECT DISTINCT vintage FROM read_parquet('{batch}') ORDER BY 1").fetchall() == [
        ("2025-10-03",), ("2027-10-05",)]  # 2026-06-01 read, none of its rows kept
    assert duckdb.sql(f"SELECT decode(value) FROM parquet_kv_metadata('{batch}') WHERE decode(key) = "
                      f"'{parse.EARLIER_READ_KEY}'").fetchall() == [('["2026-06-01", "2025-10-03"]',)]
    assert parse.parse_to_cache(settings, top30.SOURCE, snap) == batch  # intact: the cache is used
    for damaged, name in ((covered, "jp-trade-by-country-2023-2026.en.csv"),
                          (needed, "jp-trade-by-country-2020-2024.en.csv")):
        good = (damaged / name).read_bytes()
        (damaged / name).write_text("broken\n", encoding="utf-8")
        said = rf"(?s)also reads the earlier vintage {damaged.name} .*restore it.*size mismatch for {name}"
        with pytest.raises(SnapshotError, match=said):
            parse.parse_to_cache(settings, top30.SOURCE, snap)  # from the cache
        with pytest.raises(SnapshotError, match=said):
            parse.parse_to_cache(settings, top30.SOURCE, snap)
        kept = batch.read_bytes()
        batch.unlink()
        with pytest.raises(SnapshotError, match=said):
            parse.parse_to_cache(settings, top30.SOURCE, snap)  # parsed again: the same answer
        assert not batch.exists()
        batch.write_bytes(kept)
        (damaged / name).write_bytes(good)
    assert parse.parse_to_cache(settings, top30.SOURCE, snap) == batch


def test_parser_names_file_and_column_or_line(tmp_path):
    settings = Settings(warehouse=tmp_path / "wh.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out")
    for vintage, text, message in (
        ("2026-10-05", "Year,From,To,Value (yen)\n2024,Japan,Mexico,1\n",
         r"header column 4 is 'Value \(yen\)', expected 'Value \(thousand yen\)'"),
        ("2026-10-06", "Year,From,To,Value (thousand yen)\n2024,Japan,Mexico,1\n2024,Japan,Brazil,\"1,5\"\n",
         r"line 3: Year '2024' / Value '1,5' is not a whole number"),
        # DuckDB's own cast to an integer would round these (1858141.277 -> 1858141) or read them as hex/exponents
        ("2026-10-07", "Year,From,To,Value (thousand yen)\n2024,Japan,Mexico,1858141.277\n",
         r"line 2: Year '2024' / Value '1858141.277' is not a whole number"),
        ("2026-10-08", "Year,From,To,Value (thousand yen)\n2024,Japan,Mexico,1.5e10\n",
         r"line 2: Year '2024' / Value '1.5e10' is not a whole number"),
        ("2026-10-09", "Year,From,To,Value (thousand yen)\n2024.5,Japan,Mexico,7\n",
         r"line 2: Year '2024.5' / Value '7' is not a whole number"),
        # a no-break space after the digits: the cast failed later, naming no line (found by a QA pass)
        ("2026-10-11", "Year,From,To,Value (thousand yen)\n2024,Japan,Mexico,7\n2024,Japan,China,17984372460\u00a0\n",
         r"line 3: Year '2024' / Value '17984372460\\xa0' is not a whole number"),
        # past BIGINT: the cast failed naming no line (found by a QA pass)
        ("2026-10-12", "Year,From,To,Value (thousand yen)\n2024,Japan,Mexico,99999999999999999999\n",
         r"line 2: Year '2024' / Value '99999999999999999999' is not a whole number of at most 18 digits"),
        # cut after the first digit of 2023's last value: the file's name says 2021-2025
        ("2026-10-10", "Year,From,To,Value (thousand yen)\n" + "".join(f"{y},Japan,Mexico,7\n" for y in (2021, 2022))
         + "2023,Russia,Japan,1", r"the file's name spans 2021-2025 but it has no rows for 2024, 2025 \(a file cut "
         r"short\?\)"),
    ):
        folder = settings.snapshots / "mof-trade-by-country-top30" / vintage
        folder.mkdir(parents=True)
        (folder / "jp-trade-by-country-2021-2025.en.csv").write_text(text, encoding="utf-8")
        write_manifest(folder, "mof-trade-by-country-top30")
        snap = [s for s in list_vintages("mof-trade-by-country-top30", settings) if s.vintage == vintage][0]
        with pytest.raises(ParseError, match=message) as err:
            top30.SOURCE.parse(snap, duckdb.connect())
        assert f"mof-trade-by-country-top30/{vintage}/jp-trade-by-country-2021-2025.en.csv" in str(err.value)


def test_provisional_rule_follows_mofs_calendar(tmp_path):
    settings = Settings(warehouse=tmp_path / "wh.duckdb", snapshots=tmp_path / "store", mirrors=(MIRROR,),
                        output=tmp_path / "out")
    [snap] = list_vintages("mof-trade-by-country-top30", settings)
    con = duckdb.connect()
    rows = top30.SOURCE.parse(snap, con).filter("partner_name = 'Chile'").select("year, flow, is_provisional")
    flags = {(y, f): p for y, f, p in rows.fetchall()}
    assert flags[(2025, "export")] is True and flags[(2024, "import")] is False and len(flags) == 10


def test_a_file_with_every_cell_quoted_reads_the_same(tmp_path):
    """The same CSV written with every cell in quotes (a spreadsheet's export): header and values read as before."""
    import io

    from jlac.snapshots import load_snapshot

    [real] = list((MIRROR / "mof-trade-by-country-top30").glob("*/jp-trade-by-country-2021-2025.en.csv"))
    rows = list(csv.reader(real.open(encoding="utf-8-sig")))
    vintage = tmp_path / "mof-trade-by-country-top30" / "2026-12-01"
    vintage.mkdir(parents=True)
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    (vintage / real.name).write_text(text.getvalue(), encoding="utf-8")
    write_manifest(vintage, "mof-trade-by-country-top30")
    con = duckdb.connect()
    cols = "year, flow, partner_name, value_jpy_thousand"
    # the parse reads the older vintages of the environment's mirror too (the moving window): this vintage's rows
    quoted = top30.SOURCE.parse(load_snapshot(vintage), con).filter("vintage = '2026-12-01'").project(cols).fetchall()
    assert len(quoted) == 300
    assert sorted(quoted) == sorted(top30.SOURCE.parse(load_snapshot(real.parent), con).filter(
        f"vintage = '{real.parent.name}'").project(cols).fetchall())


def test_a_partner_missing_from_one_year_and_flow_is_refused_naming_it(tmp_path):
    """The mirror's file with one line deleted (Chile's 2024 exports to Japan, MOF's 2024 import): validation names
    the missing year, flow and partner, not the 29 rows of that year and flow that are there; the mirror passes."""
    from jlac import countries
    from jlac.snapshots import load_snapshot

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out", cache=tmp_path / "cache")
    lines = MOF_CSV.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    assert [line for line in lines if line.startswith("2024,Chile,Japan,")] == ["2024,Chile,Japan,1273237518\n"]
    vintage = tmp_path / "mof-trade-by-country-top30" / "2026-12-01"
    vintage.mkdir(parents=True)
    (vintage / MOF_CSV.name).write_text("".join(line for line in lines if not line.startswith("2024,Chile,Japan,")),
                                        encoding="utf-8")
    write_manifest(vintage, "mof-trade-by-country-top30")

    def failed(snapshot):
        db = scratch_build(tmp_path / f"build-{snapshot.vintage}.duckdb", top30.SOURCE, snapshot, settings,
                           lambda con: countries.build_name_map_table(con, {top30.SOURCE.name: top30.SOURCE}))
        return failed_checks(db, top30.SOURCE, snapshot, settings)

    assert failed(load_snapshot(MOF_DIR)) == []
    [bad] = failed(load_snapshot(vintage))
    assert bad.suite == "mof-trade-by-country-top30: every year and flow has every partner"
    details = " ".join(o.details for o in bad.outcomes)
    assert "observed 1" in details
    assert (f"'vintage': '2026-12-01', 'file': '{MOF_CSV.name}', 'year': 2024, 'flow': 'import', "
            "'missing_partner': 'Chile'") in details


def test_one_partner_under_two_spellings_is_refused_naming_both_and_their_values(tmp_path):
    """The mirror's file with every Mexico line repeated as 'MEXICO' at another value: the grain check keys on the
    name, so both passed it, and the build stopped later on MEX's repeated key in the facts' grain test, naming
    neither spelling nor value. The country check names both, with their values and lines."""
    from jlac import countries
    from jlac.snapshots import load_snapshot

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out", cache=tmp_path / "cache")
    lines = MOF_CSV.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    assert "2024,Japan,Mexico,1858141277\n" in lines  # thousand yen
    extra = [line.replace("Mexico", "MEXICO").replace(",1858141277", ",1858141999")
             for line in lines if ",Mexico," in line]
    assert len(extra) == 10  # 2021-2025, both flows
    vintage = tmp_path / "mof-trade-by-country-top30" / "2026-12-01"
    vintage.mkdir(parents=True)
    (vintage / MOF_CSV.name).write_text("".join(lines + extra), encoding="utf-8")
    write_manifest(vintage, "mof-trade-by-country-top30")
    snapshot = load_snapshot(vintage)
    db = scratch_build(tmp_path / "build.duckdb", top30.SOURCE, snapshot, settings,
                       lambda con: countries.build_name_map_table(con, {top30.SOURCE.name: top30.SOURCE}))
    [bad] = failed_checks(db, top30.SOURCE, snapshot, settings)
    assert bad.suite == "mof-trade-by-country-top30: one row per partner country, year and flow"
    details = " ".join(o.details for o in bad.outcomes)
    assert "observed 10" in details
    assert "'country': 'MEX', 'names': 'MEXICO / Mexico'" in details
    # 2024's exports: the added line follows the file's 301 (header = line 1), the original is line 216
    # 2024's exports: the original on line 216, the added spelling on line 308 (the file's 301 lines, then 2021-2023)
    assert f"Mexico = 1858141277 ({MOF_CSV.name} row 216); MEXICO = 1858141999 ({MOF_CSV.name} row 308)" in details


# Chile's values in the mirror's file (jp-trade-by-country-2021-2025.en.csv, thousand yen): (year, flow) -> value
CHILE = {(2021, "export"): 203_078_475, (2021, "import"): 854_742_809, (2022, "export"): 301_029_654,
         (2022, "import"): 997_208_425, (2023, "export"): 286_054_081, (2023, "import"): 1_084_993_320,
         (2024, "export"): 249_741_092, (2024, "import"): 1_273_237_518, (2025, "export"): 259_326_078,
         (2025, "import"): 1_346_914_311}


def _chile_replaced_by_peru(store, vintage="2027-10-05"):
    """A 2022-2026 release in which Chile left the top 30 and Peru came in (Peru's values and 2026 are stand-ins:
    Peru 100,000,000 + year exports and 200,000,000 + year imports, 2026 = 2025 + 1; Mexico's 2025 exports
    MOF_FINAL_MEX_EXPORT_2025); every other value is the mirror's."""
    rows = list(csv.reader(MOF_CSV.open(encoding="utf-8-sig")))
    out = [rows[0]]
    for year in range(2022, 2027):
        for y, frm, to, value in rows[1:]:
            if y != str(min(year, 2025)):
                continue
            value = int(value) + (year == 2026)
            if (frm, to) == ("Japan", "Chile"):
                frm, to, value = "Japan", "Peru", 100_000_000 + year
            elif (frm, to) == ("Chile", "Japan"):
                frm, to, value = "Peru", "Japan", 200_000_000 + year
            elif (frm, to) == ("Japan", "Mexico") and year == 2025:
                value = MOF_FINAL_MEX_EXPORT_2025
            out.append([str(year), frm, to, str(value)])
    folder = store / "mof-trade-by-country-top30" / vintage
    folder.mkdir(parents=True)
    lines = [",".join(r) for r in out]
    (folder / "jp-trade-by-country-2022-2026.en.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_manifest(folder, "mof-trade-by-country-top30")
    return folder


def _top30_settings(tmp_path):
    """The mirror's 2026-10-04 release (and FRED) under a mirror root, an empty own store for newer releases."""
    root = tmp_path / "mirror"
    for name in ("mof-trade-by-country-top30", "fred-exjpus"):
        (root / name).mkdir(parents=True)
        vintage = next((MIRROR / name).iterdir())
        (root / name / vintage.name).symlink_to(vintage, target_is_directory=True)
    return Settings(warehouse=tmp_path / "wh" / "w.duckdb", snapshots=tmp_path / "store", mirrors=(root,),
                    output=tmp_path / "out")


def test_a_partner_leaving_the_top_30_keeps_its_values_from_the_last_release_that_listed_it(tmp_path):
    """Found by a QA pass: a 2022-2026 release in which Peru replaced Chile lost Chile's 2022-2025 values, which the
    2026-10-04 release had (the parse kept older values per year, not per partner, year and flow). A partner leaving
    the ranking is not a withdrawn value: Chile's 2021-2025 stay from 2026-10-04; the new release's values win where
    both list them (Mexico's 2025 exports); Chile has no 2026 (no release lists it). The checks pass, and the marts and
    Figure 1 carried forward have Chile's 2022-2025, so a publish removes nothing."""
    from jlac import countries

    settings = _top30_settings(tmp_path)
    _chile_replaced_by_peru(settings.snapshots)
    snap = with_history(latest_snapshot("mof-trade-by-country-top30", settings), settings)
    assert (snap.vintage, [s.vintage for s in snap.older]) == ("2027-10-05", ["2026-10-04"])
    rel = top30.SOURCE.parse(snap, duckdb.connect())
    counts = dict(rel.aggregate("vintage, count(*)", "vintage").fetchall())
    assert counts == {"2027-10-05": 300, "2026-10-04": 60 + 8}  # 2021 whole, and Chile's 2022-2025
    chile = {(y, f): (v, vin) for y, f, v, vin in rel.filter("partner_name = 'Chile'").project(
        "year, flow, value_jpy_thousand, vintage").fetchall()}
    assert chile == {k: (v, "2026-10-04") for k, v in CHILE.items()}
    peru = dict(rel.filter("partner_name = 'Peru' AND flow = 'export'").project("year, value_jpy_thousand").fetchall())
    assert peru == {y: 100_000_000 + y for y in range(2022, 2027)}
    mex = rel.filter("partner_name = 'Mexico' AND flow = 'export' AND year = 2025").project(
        "value_jpy_thousand, vintage").fetchall()
    assert mex == [(MOF_FINAL_MEX_EXPORT_2025, "2027-10-05")]

    db = scratch_build(tmp_path / "build.duckdb", top30.SOURCE, snap, settings,
                       lambda con: countries.build_name_map_table(con, {top30.SOURCE.name: top30.SOURCE}))
    assert failed_checks(db, top30.SOURCE, snap, settings) == []

    con = build_models(settings, ["fct_trade_annual", "japan_main_lac_partners"])
    fct = {(y, f): (v, vin) for y, f, v, vin in con.execute(
        "SELECT year, flow, value_jpy, vintage FROM marts.fct_trade_annual WHERE reporter_iso3 = 'JPN' "
        "AND partner_iso3 = 'CHL' AND year >= 2021").fetchall()}
    fig = dict(con.execute("SELECT year, value_jpy_bn FROM figures.japan_main_lac_partners WHERE partner_iso3 = 'CHL' "
                           "AND flow = 'export' AND year >= 2021").fetchall())
    con.close()
    assert fct == {k: (v * 1000, "2026-10-04") for k, v in CHILE.items()}
    assert fig == {2021: 203.078, 2022: 301.030, 2023: 286.054, 2024: 249.741, 2025: 259.326}


def test_an_earlier_release_cut_inside_a_year_is_refused_when_its_values_are_read(tmp_path):
    """An earlier release is read whole now (its partners a newer one no longer lists): one whose file lacks a partner
    in a year and flow (Chile's 2024 exports to Japan deleted) stops the source, naming the release, the partner, the
    flow and the year, instead of losing that value unseen."""
    settings = _top30_settings(tmp_path)
    old = tmp_path / "store" / "mof-trade-by-country-top30" / "2026-12-01"
    old.mkdir(parents=True)
    text = MOF_CSV.read_text(encoding="utf-8")
    assert "2024,Chile,Japan,1273237518\n" in text
    (old / MOF_CSV.name).write_text(text.replace("2024,Chile,Japan,1273237518\n", ""), encoding="utf-8")
    write_manifest(old, "mof-trade-by-country-top30")
    _chile_replaced_by_peru(settings.snapshots)
    snap = with_history(latest_snapshot("mof-trade-by-country-top30", settings), settings)
    assert [s.vintage for s in snap.older] == ["2026-10-04", "2026-12-01"]
    with pytest.raises(ParseError, match=r"mof-trade-by-country-top30/2026-12-01/jp-trade-by-country-2021-2025\.en"
                       r"\.csv \(an earlier vintage 2027-10-05 reads\): no import row for 'Chile' in 2024"):
        top30.SOURCE.parse(snap, duckdb.connect())
