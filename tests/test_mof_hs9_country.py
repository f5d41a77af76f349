"""mof-hs9-country: MOF's HS-9 x country x month layout, from files the benchmark generator writes out of the real
mirror (real HS-9 lines, real country codes, each import line's partners adding up to the real national total).
Numbers are checked against the real mof-hs9-imports file and FRED, read here with the csv module."""

from __future__ import annotations

import csv
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import write_manifest
from hs9_helpers import TARGETS, build, generator, settings_for
from jlac import partitions, plan
from jlac.config import Settings
from jlac.errors import JlacError, ParseError, SnapshotError
from jlac.snapshots import latest_snapshot, load_snapshot
from jlac.sources import all_sources
from jlac.sources.mof_hs9_country import source as source_mod
from trade_helpers import fred_monthly_rates

pytestmark = pytest.mark.usefixtures("own_cache")  # they count, move and damage cached partitions

SRC = "mof-hs9-country"
REAL_2018_IMPORTS = 82_703_304_395  # thousand yen: sum of Value-Year in mof-hs9-imports ik-110h2018i001.csv


def _real_hs9(mirror: Path, year: int) -> list[dict]:
    path = next((mirror / "mof-hs9-imports").glob(f"*/ik-110h{year}i001.csv"))
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def generated(tmp_path_factory, mirror) -> Path:
    """2017 and 2018, exports and imports: four files in MOF's by-country layout."""
    out = tmp_path_factory.mktemp("gen")
    generator().generate(out, 2, mirror, last_year=2018, threads=2)
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory, generated, mirror):
    settings = settings_for(tmp_path_factory.mktemp("home"), generated, mirror)
    path, results = build(settings)
    assert all(r.success for r in results), [r.suite for r in results if not r.success]
    con = duckdb.connect()
    con.execute("ATTACH ? AS wh (READ_ONLY)", [str(path)])
    con.execute("USE wh")
    yield settings, con
    con.close()


def test_generated_files_keep_the_real_national_totals(generated, mirror):
    real = _real_hs9(mirror, 2018)
    assert sum(int(r["Value-Year"]) for r in real) == REAL_2018_IMPORTS
    rows = _rows(next(generated.glob("*/*/hs9-country-2018-imp.csv")))
    assert list(rows[0])[:4] == ["Exp or Imp", "Year", "HS", "Country"]
    assert sum(int(r["Value-Year"]) for r in rows) == REAL_2018_IMPORTS
    by_line = {}
    for r in rows:
        by_line[r["HS"]] = by_line.get(r["HS"], 0) + int(r["Value-Year"])
    assert by_line["'000000091'"] == 37_246_247  # the real line's Value-Year, split over partners
    assert len({r["HS"] for r in rows}) == 8018
    # quantities too: every line's partners add up to the real line's Value-Year, Quantity1-Year and Quantity2-Year
    # (they matched on about a quarter of the lines when each month's quantity was its value at the unit price)
    totals = ("Quantity1-Year", "Quantity2-Year", "Value-Year")
    sums: dict[str, list[int]] = {}
    for r in rows:
        line = sums.setdefault(r["HS"], [0, 0, 0])
        for i, col in enumerate(totals):
            line[i] += int(r[col])
    assert sums == {r["HS"]: [int(r[col]) for col in totals] for r in real}
    assert sums["'000000011'"] == [0, 2_597_146, 688_469]  # no Unit1; 2,597,146 KG, as MOF's 2018 file has it
    manifest = yaml.safe_load(next(generated.glob("*/*/SNAPSHOT.yml")).read_text())
    assert manifest["synthetic"] is True
    from jlac.snapshots import missing_origin

    assert missing_origin(manifest) == []  # each benchmark run warned of a missing publisher_url and license


@pytest.mark.parametrize(("args", "message"), [
    (["--years", "0"], "--years 0: expected at least 1"),
    (["--append-month", "2026-13"], "--append-month '2026-13': expected YYYY-MM"),
    (["--append-month", "2026-01"], "--append-month: no vintage under"),
    (["--years", "1", "--mirror", "."], "no mof-hs9-imports/*/ik-110h*i001.csv in it"),
    (["--years", "100"], "would start in 1926; MOF's table starts in 1988"),
])
def test_generator_arguments_it_cannot_use_are_named(tmp_path, mirror, capsys, args, message):
    args = args if "--mirror" in args else [*args, "--mirror", str(mirror)]
    with pytest.raises(SystemExit) as exit_:
        generator().main([str(tmp_path / "out"), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_generator_says_an_out_it_cannot_write_in_one_line(tmp_path, mirror, capsys):
    """An OUT under a file (as under /proc) was a FileNotFoundError traceback (found by a QA pass)."""
    (tmp_path / "plain").write_text("a file")
    with pytest.raises(SystemExit) as exit_:
        generator().main([str(tmp_path / "plain" / "out"), "--years", "1", "--mirror", str(mirror)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"OUT {tmp_path / 'plain' / 'out'}: cannot write there (" in err
    assert "Traceback" not in err


def test_generator_refuses_what_would_make_a_wrong_vintage(tmp_path, mirror, capsys):
    """Found by a QA pass: leftovers in OUT were listed in the new vintage's SNAPSHOT.yml, an earlier month appended
    cut a whole year short, and OUT as a file was a traceback."""
    gen = generator()
    base = tmp_path / "out" / "mof-hs9-country" / "2000-01-01"
    base.mkdir(parents=True)
    (base / "hs9-country-2025-imp.csv").write_text("junk\n")
    (base / "SNAPSHOT.yml").write_text("source: mof-hs9-country\n")
    (tmp_path / "a-file").write_text("")
    for args, message in ((["--years", "1"], "already holds files (an earlier or killed run)"),
                          (["--append-month", "2025-03"], "the newest vintage already runs to 2025-12"),
                          (["--append-month", "2025-12"], "the newest vintage already runs to 2025-12")):
        with pytest.raises(SystemExit) as exit_:
            gen.main([str(tmp_path / "out"), *args, "--mirror", str(mirror)])
        assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in base.parent.iterdir()) == ["2000-01-01"]  # no vintage written
    # the newest folder without its manifest (a killed append): an append would copy nothing from it
    base.with_name("2000-01-01+2026-01").mkdir()
    with pytest.raises(SystemExit):
        gen.main([str(tmp_path / "out"), "--append-month", "2026-02", "--mirror", str(mirror)])
    assert "2000-01-01+2026-01 has no SNAPSHOT.yml (a killed run?)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gen.main([str(tmp_path / "a-file"), "--years", "1", "--mirror", str(mirror)])
    assert "is a file; expected a folder" in capsys.readouterr().err
    assert gen.last_month_of(base.with_name("2000-01-01+2026-02")) == "2026-02"


def test_raw_view_and_monthly_fact_match_the_files(published, generated, mirror):
    settings, con = published
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'raw' "
                       "AND table_name = 'mof_hs9_country'").fetchone() == ("VIEW",)
    got = con.execute("SELECT sum(value_year), count(DISTINCT hs9), count(DISTINCT file) FROM raw.mof_hs9_country "
                      "WHERE flow = 'import' AND year = 2018").fetchone()
    assert got == (REAL_2018_IMPORTS, 8018, 1)
    assert con.execute("SELECT sum(value_jpy) FROM marts.fct_trade_commodity_monthly WHERE flow = 'import' "
                       "AND year = 2018").fetchone()[0] == REAL_2018_IMPORTS * 1000
    # one row of the file, month by month, in yen and dollars at FRED's monthly rate
    row = _rows(next(generated.glob("*/*/hs9-country-2018-imp.csv")))[0]
    hs9, country = row["HS"].strip("'"), row["Country"]
    rates = fred_monthly_rates(mirror)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    expected = [(i + 1, int(row[f"Value-{m}"]) * 1000, int(row[f"Value-{m}"]) * 1000 / rates[f"2018-{i + 1:02d}"])
                for i, m in enumerate(months) if int(row[f"Value-{m}"]) or int(row[f"Quantity2-{m}"])]
    fact = con.execute("SELECT month, value_jpy, value_usd FROM marts.fct_trade_commodity_monthly WHERE flow = "
                       "'import' AND year = 2018 AND hs9 = ? AND partner_code = ? ORDER BY month",
                       [hs9, country]).fetchall()
    assert [(m, v) for m, v, _ in fact] == [(m, v) for m, v, _ in expected]
    assert [round(u, 4) for *_, u in fact] == [round(u, 4) for *_, u in expected]
    iso3 = con.execute("SELECT DISTINCT partner_iso3 FROM marts.fct_trade_commodity_monthly WHERE partner_code = '410'"
                       ).fetchall()
    assert iso3 == [("BRA",)]


def test_annual_and_section_rollups(published, mirror):
    _, con = published
    real = _real_hs9(mirror, 2018)
    section_v = sum(int(r["Value-Year"]) for r in real if 25 <= int(r["HS"].strip("'")[:2]) <= 27)
    got = con.execute("SELECT sum(value_jpy) FROM marts.fct_trade_hs_section_annual WHERE flow = 'import' "
                      "AND year = 2018 AND section = 'V'").fetchone()[0]
    assert got == section_v * 1000  # mineral products: the real national total, whatever the partner split
    # the annual dollar value is the sum of the monthly conversions
    annual, monthly = con.execute(
        "SELECT (SELECT sum(value_usd) FROM marts.fct_trade_commodity_annual_hs9 WHERE year = 2017 "
        "AND flow = 'export'),"
        " (SELECT sum(value_usd) FROM marts.fct_trade_commodity_monthly WHERE year = 2017 AND flow = 'export')"
    ).fetchone()
    assert annual == pytest.approx(monthly, rel=1e-9)
    one_year = "SELECT count(*) FROM raw.mof_hs9_country_partitions WHERE min_year = max_year"
    assert con.execute(one_year).fetchone() == (4,)


IMP_2018 = "hs9-country-2018-imp.csv"
CUT = 3000  # data lines a cut copy keeps of each file (the generated ones have 56,000 to 96,000)


def _copy_snapshot(generated: Path, dest_root: Path, only: str | None = None, lines: int | None = None) -> Path:
    """The generated vintage copied under ``dest_root``: whole, or (``only``) that one file, each file cut to its
    header and ``lines`` data lines taken at even steps (every HS chapter keeps lines) and the manifest resealed (the
    generator's fields kept). A build's parse, load and checks cost by the row: a test of one edited line, of names
    or of partition counts needs no 300,000 rows (the real totals are checked on the whole files, by the module's
    ``published`` warehouse)."""
    src = next(generated.glob(f"{SRC}/*"))
    dest = dest_root / SRC / src.name
    if only is None and lines is None:
        shutil.copytree(src, dest)
        return dest
    dest.mkdir(parents=True)
    for f in sorted(src.glob("*.csv")):
        if only in (None, f.name):
            head, *data = f.read_bytes().splitlines(keepends=True)
            if lines is not None:
                data = data[::max(1, len(data) // lines)][:lines]
            (dest / f.name).write_bytes(b"".join([head, *data]))
    manifest = yaml.safe_load((src / "SNAPSHOT.yml").read_text(encoding="utf-8"))
    write_manifest(dest, SRC, {k: v for k, v in manifest.items() if k not in ("source", "vintage", "files")})
    return dest


def test_a_vintage_without_a_published_year_is_refused_naming_it(tmp_path, generated, mirror):
    """Found by a QA pass: an append made from a folder a killed run left empty held 2026 alone, and the refresh
    published it: 2024 and 2025 were gone from every fact, without a refusal."""
    from conftest import write_manifest

    root = tmp_path / "m"
    base = _copy_snapshot(generated, root, lines=CUT)  # 2017 and 2018, exports and imports
    settings = settings_for(tmp_path / "h", root, mirror)
    published, results = build(settings)
    assert all(r.success for r in results)
    before = published.stat().st_mtime_ns
    cut = base.with_name("2000-02-01")
    cut.mkdir()
    for f in base.glob("hs9-country-2018-*.csv"):
        shutil.copyfile(f, cut / f.name)
    write_manifest(cut, SRC, {"synthetic": True})
    _, results = build(settings)
    failed = [r for r in results if not r.success]
    assert [r.suite for r in failed] == ["mof-hs9-country: all files: every flow and year the published warehouse "
                                         "holds"]
    details = failed[0].failed[0].details
    assert "'exp_or_imp': 1, 'year': 2017" in details and "'exp_or_imp': 2, 'year': 2017" in details, details
    assert "missing from this vintage" in details
    assert published.stat().st_mtime_ns == before  # nothing published


def test_a_quoted_header_crlf_lines_and_april_spelt_apl_read_the_same_rows(tmp_path, generated):
    """Variants of MOF's CSV a download or an export tool may produce: the same rows as the file as generated."""
    from jlac.snapshots import load_snapshot

    vintage = _copy_snapshot(generated, tmp_path / "m")
    path = vintage / "hs9-country-2017-exp.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = ",".join(f'"{c}"' for c in lines[0].replace("-Apr", "-Apl").split(","))
    path.write_bytes(("\r\n".join([header, *lines[1:]]) + "\r\n").encode("utf-8"))
    write_manifest(vintage, SRC)
    original = load_snapshot(next(generated.glob(f"{SRC}/*")))
    query = "SELECT count(*), sum(value_year), sum(value_m04), min(hs9), max(country_code) FROM ({})"
    with duckdb.connect() as con:
        got = con.execute(query.format(source_mod.parse_file(load_snapshot(vintage), path.name, con))).fetchone()
        want = con.execute(query.format(source_mod.parse_file(original, path.name, con))).fetchone()
    assert got == want and got[0] > 1000


def test_header_without_country_fails_naming_the_column(tmp_path, generated):
    vintage = _copy_snapshot(generated, tmp_path / "m")
    path = vintage / "hs9-country-2017-exp.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 3) for line in lines[:3]))
    for p in vintage.glob("*.csv"):
        if p != path:
            p.unlink()
    write_manifest(vintage, SRC)
    snap = latest_snapshot(SRC, settings_for(tmp_path / "h", tmp_path / "m"))
    with pytest.raises(ParseError, match=r"hs9-country-2017-exp.csv: header column 4 is 'Unit1', expected 'Country'"):
        partitions.parse_all(settings_for(tmp_path / "h", tmp_path / "m"), all_sources()[SRC], snap)


def test_a_quoted_header_cell_holding_a_comma_is_one_cell(tmp_path, generated):
    """A header cell is read as a CSV reader (and DuckDB) reads it: a quoted comma does not split it, so the error
    names the cell as the file has it and counts the columns the file has."""
    vintage = _copy_snapshot(generated, tmp_path / "m")
    path = vintage / "hs9-country-2017-exp.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0].replace("Exp or Imp", '"Exp, or Imp"', 1), *lines[1:3]]) + "\n",
                    encoding="utf-8")
    write_manifest(vintage, SRC)
    with duckdb.connect() as con, pytest.raises(
            ParseError, match=r"hs9-country-2017-exp.csv: header column 1 is 'Exp, or Imp', expected 'Exp or Imp' "
                              r"\(45 columns, expected 45\)"):
        source_mod.parse_file(load_snapshot(vintage), path.name, con)


def test_a_parse_that_cannot_see_the_file_or_write_the_cache_says_so(tmp_path, generated):
    """Where the parse runs (a Dask worker) it must see the snapshot and write JLAC_CACHE at the refresh's paths: a
    worker that could not see the file was told the file 'does not have the layout the parser expects', and one with
    a read-only cache got an OSError, retried for 25 s (found by a QA pass)."""
    vintage = _copy_snapshot(generated, tmp_path / "m")
    settings = settings_for(tmp_path / "h", tmp_path / "m")
    snap = latest_snapshot(SRC, settings)
    source, rel = all_sources()[SRC], "hs9-country-2017-exp.csv"
    (vintage / rel).rename(vintage / "elsewhere.csv")  # as a worker that does not see the folder
    with pytest.raises(ParseError, match=rf"{rel}: no file at {vintage / rel} on host .*, process \d+; the parse reads "
                                         r"the snapshot where it runs .*JLAC_MIRROR, JLAC_SNAPSHOTS"):
        partitions.parse_partition(settings, source, snap, rel)
    (vintage / "elsewhere.csv").rename(vintage / rel)
    settings.cache_dir.mkdir(parents=True)
    (settings.cache_dir / SRC).write_text("a file where the cache's folder goes")  # mkdir fails, as on a read-only disk
    with pytest.raises(JlacError, match=rf"{rel}: cannot write the parse cache {settings.cache_dir / SRC / 'parts'} on "
                                        r"host .*; JLAC_CACHE must be writable where the parse runs") as err:
        partitions.parse_partition(settings, source, snap, rel)
    assert not err.value.may_pass  # not retried: the same worker fails the same way


def test_non_numeric_value_fails_naming_file_and_line(tmp_path, generated):
    vintage = _copy_snapshot(generated, tmp_path / "m", only=IMP_2018, lines=CUT)
    path = vintage / "hs9-country-2018-imp.csv"
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[8] = "12x4"  # Value-Year
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    write_manifest(vintage, SRC)
    settings = settings_for(tmp_path / "h", tmp_path / "m")
    with pytest.raises(ParseError) as err:
        partitions.parse_all(settings, all_sources()[SRC], latest_snapshot(SRC, settings))
    assert "hs9-country-2018-imp.csv" in str(err.value) and "12x4" in str(err.value)
    assert not list((settings.cache_dir / SRC / "parts").glob("*.tmp")), "no half-written partition stays"


def test_another_encoding_past_the_first_64_kb_fails_naming_the_line(tmp_path, generated):
    """Only a file's first 64 KB are decoded in Python (a history is ~1 GB); a Latin-1 byte further on stops DuckDB's
    reader, and the error names the line and the byte as the check of the whole file did."""
    vintage = _copy_snapshot(generated, tmp_path / "m", only=IMP_2018, lines=CUT)
    path = vintage / "hs9-country-2018-imp.csv"
    lines = path.read_bytes().split(b"\n")
    deep = next(i for i in range(len(lines)) if sum(len(x) + 1 for x in lines[:i]) > 200_000)
    cells = lines[deep].split(b",")
    cells[4] = b"\xe9" + cells[4]  # Unit1, in Latin-1
    lines[deep] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    write_manifest(vintage, SRC)
    settings = settings_for(tmp_path / "h", tmp_path / "m")
    expected = rf"hs9-country-2018-imp.csv: line {deep + 1} is not utf-8 text \(byte b'\\xe9'"
    with pytest.raises(ParseError, match=expected):
        partitions.parse_all(settings, all_sources()[SRC], latest_snapshot(SRC, settings))


def test_unknown_partner_code_fails_validation_naming_the_row(tmp_path, generated, mirror):
    vintage = _copy_snapshot(generated, tmp_path / "m", only=IMP_2018, lines=CUT)
    path = vintage / "hs9-country-2018-imp.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    hs9 = cells[2].strip("'")
    cells[3] = "999"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    write_manifest(vintage, SRC, {"synthetic": True})
    settings = settings_for(tmp_path / "h", tmp_path / "m", mirror)
    _, results = build(settings, publish=False)
    [failed] = [r for r in results if not r.success]
    assert failed.suite == "mof-hs9-country: new rows: flow, values, HS code, partner code, months"
    details = failed.failed[0].details
    assert "partner code is not in japan-customs-country-codes" in details
    assert f"'hs9': '{hs9}', 'country_code': '999'" in details and "hs9-country-2018-imp.csv" in details
    assert not settings.warehouse.exists(), "nothing published"


def test_a_new_month_parses_and_checks_only_its_files(tmp_path, generated, mirror):
    root = tmp_path / "m"
    _copy_snapshot(generated, root, lines=CUT)
    settings = settings_for(tmp_path / "h", root, mirror)
    build(settings)
    parts_dir = settings.cache_dir / SRC / "parts"
    before = set(parts_dir.glob("*.parquet"))
    assert len(before) == 4
    new = generator().append_month(root, "2019-01", mirror)
    snap = latest_snapshot(SRC, settings)
    assert snap.root == new
    source = all_sources()[SRC]
    assert partitions.files_to_validate(settings, source, snap) == ["hs9-country-2019-exp.csv",
                                                                    "hs9-country-2019-imp.csv"]
    hashed = partitions.verify(snap, settings)
    assert hashed == 2  # the hard-linked files of 2017-2018 are known unchanged
    path, results = build(settings)
    assert all(r.success for r in results)
    assert len(set(parts_dir.glob("*.parquet")) - before) == 2
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT min(month), max(month) "
                           "FROM marts.fct_trade_commodity_monthly WHERE year = 2019").fetchone() == (1, 1)
        assert con.execute("SELECT count(DISTINCT file) FROM staging.stg_mof_hs9_country__lines WHERE year = 2019"
                           ).fetchone() == (2,)
    # a file changed in place after it was verified is caught: new mtime, so it is hashed again
    victim = new / "hs9-country-2019-imp.csv"
    victim.unlink()  # hard links: replace the file, never write through to the other vintage
    victim.write_text((generated / SRC).joinpath(next((generated / SRC).iterdir()).name,
                                                 "hs9-country-2018-imp.csv").read_text())
    with pytest.raises(SnapshotError, match="(checksum|size) mismatch for hs9-country-2019-imp.csv"):
        partitions.verify(latest_snapshot(SRC, settings), settings)


def _comtrade_2017(root: Path, mirror: Path) -> dict[str, float]:
    """A Comtrade snapshot of the 2017 fuel and wood files (linked in place); Japan's imports from CELAC states in
    them by chapter, US$ millions, summed here with the csv module."""
    from jlac.countries import CELAC

    src = next((mirror / "comtrade-classic-hs27-hs44").iterdir())
    vintage = root / "comtrade-classic-hs27-hs44" / src.name
    sums = {}
    for rel in ("oil/processed_data_2017.csv", "wood/processed_data_2017.csv"):
        (vintage / rel).parent.mkdir(parents=True, exist_ok=True)
        (vintage / rel).symlink_to(src / rel)
        with (src / rel).open(encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                if r["Reporter ISO"] == "JPN" and r["Trade Flow"] == "Import" and r["Partner ISO"] in CELAC:
                    sums[r["Commodity Code"]] = sums.get(r["Commodity Code"], 0) + float(r["Trade Value (US$)"]) / 1e6
    write_manifest(vintage, "comtrade-classic-hs27-hs44")
    return sums


def test_figure_uses_real_rows_only(tmp_path, generated, mirror):
    targets = ["figures.japan_lac_imports_by_hs_section"]
    sources = ("mof-hs9-country", "japan-customs-country-codes", "fred-exjpus", "comtrade-classic-hs27-hs44")
    root = tmp_path / "m"
    comtrade = _comtrade_2017(root, mirror)
    vintage = _copy_snapshot(generated, root, lines=CUT)  # 2017-2018, synthetic
    path, _ = build(settings_for(tmp_path / "h1", root, mirror), targets=targets, sources=sources)
    query = ("SELECT year, section, imports_usd_m, coverage FROM figures.japan_lac_imports_by_hs_section "
             "ORDER BY year, section_no")
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.mof_hs9_country").fetchone()[0] > 0
        rows = con.execute(query).fetchall()
    # the synthetic 2017-2018 rows are not there: only the real Comtrade chapters of 2017
    assert rows == [(2017, "V", pytest.approx(comtrade["27"], abs=0.001), "HS 27 and 44 only"),
                    (2017, "IX", pytest.approx(comtrade["44"], abs=0.001), "HS 27 and 44 only")]
    assert round(comtrade["27"], 3) == 2019.274  # Japan's fuel imports from CELAC states in 2017, US$ millions
    # the same rows from a real (not synthetic) snapshot, as an e-Stat fetch would write them, do reach it and
    # take precedence over Comtrade's two chapters for their years
    manifest = yaml.safe_load((vintage / "SNAPSHOT.yml").read_text())
    manifest["synthetic"] = False
    (vintage / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest))
    path, _ = build(settings_for(tmp_path / "h2", root, mirror), targets=[*targets, *TARGETS], sources=sources)
    with duckdb.connect(str(path), read_only=True) as con:
        fig = con.execute("SELECT round(sum(imports_usd_m), 3), min(coverage), count(*) FROM "
                          "figures.japan_lac_imports_by_hs_section WHERE year = 2018").fetchone()
        rollup = con.execute("SELECT sum(s.value_usd) / 1e6 FROM marts.fct_trade_hs_section_annual AS s "
                             "JOIN marts.dim_country AS c ON c.iso3 = s.partner_iso3 AND c.is_celac "
                             "WHERE s.flow = 'import' AND s.year = 2018").fetchone()[0]
        sources_2017 = con.execute("SELECT DISTINCT source FROM figures.japan_lac_imports_by_hs_section "
                                   "WHERE year = 2017").fetchall()
    assert fig[0] == pytest.approx(rollup, abs=0.05) and fig[0] > 0 and fig[1] == "all HS chapters" and fig[2] > 2
    assert sources_2017 == [("mof-hs9-country",)]


def test_empty_figure_says_why(tmp_path):
    from jlac.figures import japan_lac_hs_sections

    con = duckdb.connect()
    con.execute("CREATE SCHEMA figures")
    con.execute("CREATE TABLE figures.japan_lac_imports_by_hs_section (year INTEGER, section VARCHAR, section_no "
                "INTEGER, section_name VARCHAR, imports_usd_m DOUBLE, partners BIGINT, months_reported INTEGER, "
                "coverage VARCHAR, source VARCHAR)")
    written = japan_lac_hs_sections.render(con, tmp_path)
    assert sorted(p.name for p in written) == [f"japan_lac_imports_by_hs_section.{e}" for e in ("csv", "png", "svg")]
    assert "No real rows" in (tmp_path / "japan_lac_imports_by_hs_section.svg").read_text()


def test_a_year_without_dollars_for_every_line_is_left_out_of_the_chart_not_drawn_short(tmp_path):
    """Found by a QA pass (by reading): sum() skips NULLs, so a year in which some lines have no dollar value yet
    (a month without FRED's rate) showed only the lines priced so far. The table says NULL now, and the chart leaves
    that year out with a note."""
    from jlac.figures import japan_lac_hs_sections

    con = duckdb.connect()
    con.execute("CREATE SCHEMA figures")
    con.execute("CREATE TABLE figures.japan_lac_imports_by_hs_section AS SELECT * FROM (VALUES "
                "(2024, 'V', 5, 'Mineral products', 120.5, 3, 12, 'all HS chapters', 'mof-hs9-country'), "
                "(2025, 'V', 5, 'Mineral products', NULL, 3, 12, 'all HS chapters', 'mof-hs9-country'), "
                "(2025, 'IX', 9, 'Wood', 7.25, 1, 12, 'all HS chapters', 'mof-hs9-country'), "
                # a year in progress: MOF's January-October (found by a QA pass: drawn as a whole year's bar)
                "(2026, 'V', 5, 'Mineral products', 100.0, 3, 10, 'all HS chapters', 'mof-hs9-country')) "
                "AS t(year, section, section_no, section_name, imports_usd_m, partners, months_reported, coverage, "
                "source)")
    japan_lac_hs_sections.render(con, tmp_path)
    svg = (tmp_path / "japan_lac_imports_by_hs_section.svg").read_text()
    assert "Not drawn: 2025 (a month without FRED" in svg
    assert "Not drawn: 2026 (January-October only, MOF" in svg.replace("&#39;", "'")
    csv_rows = (tmp_path / "japan_lac_imports_by_hs_section.csv").read_text().splitlines()
    assert len(csv_rows) == 5 and csv_rows[2].startswith("2025,V,5,Mineral products,,")  # the CSV keeps the NULL
    assert csv_rows[4] == "2026,V,5,Mineral products,100.0,3,10,all HS chapters,mof-hs9-country"


def _repeat_a_row_of(year: int):
    """A tamper for hs9_helpers: raw.mof_hs9_country shows one of ``year``'s rows twice (past GX, which ran already),
    so only the dbt tests on the views can see it."""
    def tamper(con):
        sql = con.execute("SELECT sql FROM duckdb_views() WHERE schema_name = 'raw' "
                          "AND view_name = 'mof_hs9_country'").fetchone()[0]
        select = sql.split(" AS ", 1)[1].rstrip().rstrip(";")
        con.execute(f"CREATE OR REPLACE VIEW raw.mof_hs9_country AS {select} UNION ALL "
                    f"(SELECT * FROM ({select}) WHERE year = {year} AND value_m01 <> 0 ORDER BY hs9, country_code "
                    f"LIMIT 1)")
    return tamper


def test_view_tests_check_the_new_partitions_of_an_incremental_build(tmp_path, generated, mirror, caplog):
    """dbt's tests on the HS-9 views (grain, keys, flow values) read the rows of the partitions new to the warehouse
    (macros/new_partitions.sql), as the GX suite does: a month appended costs a month of testing. A full build tests
    every row."""
    from hs9_helpers import incremental_build
    from jlac.errors import ModelError

    root = tmp_path / "m"
    _copy_snapshot(generated, root, lines=CUT)
    settings = settings_for(tmp_path / "h", root, mirror)
    build(settings)
    generator().append_month(root, "2019-01", mirror)
    # an old row repeated is outside what an incremental build tests (it passed when it was new) ...
    caplog.set_level(logging.INFO, logger="jlac")
    path = incremental_build(settings, tamper=_repeat_a_row_of(2017))
    # the selection's "tables downstream" part picks nothing here (the HS-9 models are views): no dbt warning about it
    assert "dbt: " in caplog.text and "does not match any enabled nodes" not in caplog.text
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT file FROM raw.mof_hs9_country_partitions WHERE is_new ORDER BY file").fetchall() \
            == [("hs9-country-2019-exp.csv",), ("hs9-country-2019-imp.csv",), ]
        assert con.execute("SELECT count(*) FROM raw.mof_hs9_country_partitions").fetchone()[0] == 6
        # January 2019 alone: a year in progress, its year's values the year to date, said per row and per section
        # (summed as a whole year it drew 2019 as a year's trade: found by a QA pass)
        assert con.execute("SELECT year, min(months_reported), max(months_reported) FROM "
                           "marts.fct_trade_commodity_annual_hs9 GROUP BY year ORDER BY year").fetchall() == [
            (2017, 12, 12), (2018, 12, 12), (2019, 1, 1)]
        assert con.execute("SELECT DISTINCT months_reported FROM marts.fct_trade_hs_section_annual "
                           "WHERE year = 2019").fetchall() == [(1,)]
    # ... a new row repeated is caught, by the monthly grain (counted per yearly line) and the annual grain
    with pytest.raises(ModelError) as err:
        incremental_build(settings, tamper=_repeat_a_row_of(2019))
    text = str(err.value)
    assert "unique_months(columns=['partner_code', 'flow', 'hs9', 'year', 'vintage'], month=month) on " \
           "marts.fct_trade_commodity_monthly" in text
    assert "unique_combination(columns=['partner_code', 'flow', 'hs9', 'year', 'vintage'], hash_first=True) on " \
           "marts.fct_trade_commodity_annual_hs9" in text and "failing row(s); e.g." in text
    # an incremental build that loads another source (a new FRED vintage) adds no partition: the views' tests run
    # (they join FRED) and have no new rows to read, even right after a full build listed all as new
    path = incremental_build(settings, changed=("fred-exjpus",), tamper=_repeat_a_row_of(2018))
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FILTER (WHERE is_new), count(*) "
                           "FROM raw.mof_hs9_country_partitions").fetchone() == (0, 4)
    # by hand, as the README runs dbt (no var from jlac): every row is tested, whatever the flags of the last build
    # say (they listed no new partition here, and a hand-run `dbt test` read no row and passed: found by a QA pass)
    from jlac import transform

    hand, profile = tmp_path / "hand.duckdb", tmp_path / "profile"
    shutil.copyfile(path, hand)
    profile.mkdir()
    (profile / "profiles.yml").write_text(
        f"jlac:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{hand}', threads: 2}}\n", encoding="utf-8")
    ran = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--project-dir", str(transform.PROJECT_DIR),
         "--profiles-dir", str(profile), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs"),
         "--select", "fct_trade_commodity_monthly fct_trade_commodity_annual_hs9",
         "--exclude", "test_name:relationships"],  # this partial build has no dim_country
        capture_output=True, text=True, timeout=300, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    assert ran.returncode == 1 and "FAIL 1 unique_months_fct_trade_commodity_monthly" in ran.stdout, ran.stdout[-3000:]
    assert "FAIL 1 unique_combination_fct_trade_commodity_annual_hs9" in ran.stdout and " ERROR " not in ran.stdout
    # a full build tests every partition: the old row repeated is caught too
    with pytest.raises(ModelError, match="unique_months"):
        from jlac import transform

        full = tmp_path / "full.duckdb"
        shutil.copyfile(path, full)
        with duckdb.connect(str(full)) as con:
            con.execute("UPDATE raw.mof_hs9_country_partitions SET is_new = true")  # as a new build file lists them
            _repeat_a_row_of(2017)(con)
        transform.build(full, settings, select=transform.upstream_of(TARGETS), tests="buildable")


def _build_with_slip(published, tmp_path, monkeypatch, model: str, old: str, new: str):
    """Build ``model`` into a copy of the published warehouse from a copy of the dbt project whose ``model``.sql
    has ``old`` replaced by ``new`` (dbt rebuilds the model it tests, so the slip must be in its SQL)."""
    from jlac import transform

    settings, _ = published
    path = tmp_path / "b.duckdb"
    shutil.copyfile(settings.warehouse, path)
    project = tmp_path / "sql"
    shutil.copytree(transform.PROJECT_DIR, project)
    sql_file = project / "models" / "marts" / f"{model}.sql"
    sql = sql_file.read_text(encoding="utf-8")
    assert old in sql
    sql_file.write_text(sql.replace(old, new), "utf-8")
    monkeypatch.setattr(transform, "PROJECT_DIR", project)
    monkeypatch.setenv("JLAC_DBT_HOME", str(tmp_path / "dbt"))  # the session's dbt home keeps the real project's parse
    transform.build(path, settings, select=[model], tests="buildable")


def test_monthly_grain_test_catches_a_model_that_repeats_a_month(published, tmp_path, monkeypatch):
    """unique_months counts each yearly line's months with a bit per month: a monthly fact that gives two of a line's
    values the same month (a slip in the months it joins) fails it, though every raw row is unique."""
    from jlac.errors import ModelError

    with pytest.raises(ModelError, match=r"unique_months\(.*\) on marts.fct_trade_commodity_monthly .*failing row"):
        _build_with_slip(published, tmp_path, monkeypatch, "fct_trade_commodity_monthly", "range(1, 13) AS m(month)",
                         "(SELECT unnest([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11])) AS m(month)")


def test_hashed_grain_test_catches_a_repeated_line(published, tmp_path, monkeypatch):
    """The annual fact's grain test groups by a hash of the key first (hash_first): a fact that repeats one line of
    MOF's files still fails it, naming the test and its one failing key."""
    from jlac.errors import ModelError

    lines = "{{ ref('stg_mof_hs9_country__lines') }}"
    with pytest.raises(ModelError, match=r"unique_combination\(.*hash_first=True\) on "
                                         r"marts.fct_trade_commodity_annual_hs9 .*: 1 failing row"):
        _build_with_slip(published, tmp_path, monkeypatch, "fct_trade_commodity_annual_hs9", f"FROM {lines} AS l",
                         f"FROM (SELECT * FROM {lines} UNION ALL (SELECT * FROM {lines} LIMIT 1)) AS l")


def test_a_moved_warehouse_home_is_loaded_again_and_not_checked_again(tmp_path, generated, mirror):
    """The raw view lists its partitions by path: moved with the home, it reads nothing. The next refresh loads the
    source again (even with every snapshot unchanged) and finds the same partitions by name under the new cache:
    nothing parsed, validated or dbt-tested again."""
    from hs9_helpers import SOURCES, incremental_build
    from jlac import plan, warehouse

    root = tmp_path / "m"
    _copy_snapshot(generated, root, lines=CUT)
    old_home = tmp_path / "home"
    build(settings_for(old_home, root, mirror))
    new_home = tmp_path / "moved"
    shutil.move(old_home, new_home)  # the whole home: warehouse file, cache, snapshot store
    moved = settings_for(new_home, root, mirror)
    with duckdb.connect(str(moved.warehouse), read_only=True) as con, \
            pytest.raises(duckdb.IOException, match=str(old_home)):
        con.execute("SELECT count(*) FROM raw.mof_hs9_country").fetchone()

    sources = all_sources()
    missing = partitions.missing_partitions(moved, sources)
    assert list(missing) == [SRC]
    assert missing[SRC].startswith(f"4 of 4 partition(s) missing or damaged, e.g. {old_home}")
    snaps = {n: latest_snapshot(n, moved) for n in SOURCES}
    inputs = plan.inputs_of(snaps, "code")
    assert plan.make_plan(snaps, inputs, dict(inputs)).mode == "unchanged"  # the snapshots alone say nothing
    the_plan = plan.make_plan(snaps, inputs, dict(inputs), missing=missing)
    assert (the_plan.mode, the_plan.changed) == ("incremental", [SRC])
    assert "the published partitions of mof-hs9-country cannot be read (4 of 4" in the_plan.reason

    assert partitions.files_to_validate(moved, sources[SRC], snaps[SRC]) == []
    parts = {p: p.stat().st_mtime_ns for p in (moved.cache_dir / SRC / "parts").glob("*.parquet")}
    assert len(parts) == 4
    warehouse.publish(incremental_build(moved), moved)
    assert {p: p.stat().st_mtime_ns for p in (moved.cache_dir / SRC / "parts").glob("*.parquet")} == parts
    assert partitions.missing_partitions(moved, sources) == {}
    with duckdb.connect(str(moved.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FILTER (WHERE is_new), count(*), bool_and(starts_with(parquet, ?)) "
                           "FROM raw.mof_hs9_country_partitions", [str(new_home)]).fetchone() == (0, 4, True)
        assert con.execute("SELECT count(*) FROM marts.fct_trade_commodity_monthly").fetchone()[0] > 0


def test_a_damaged_partition_is_parsed_again_and_repairs_the_published_view(tmp_path, generated, mirror):
    """A partition cut short in the cache (a full disk, a copy that stopped): the published view fails on it, the
    next refresh sees it (even with every snapshot unchanged), parses that one file again under the same name, and
    the warehouse reads the same rows as before."""
    from hs9_helpers import incremental_build
    from jlac import warehouse

    root = tmp_path / "m"
    _copy_snapshot(generated, root, lines=CUT)
    settings = settings_for(tmp_path / "home", root, mirror)
    build(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        before = con.execute("SELECT count(*), sum(value_jpy) FROM marts.fct_trade_commodity_monthly").fetchone()
    parts = sorted((settings.cache_dir / SRC / "parts").glob("*.parquet"))
    assert all(partitions.parquet_intact(p) for p in parts)
    damaged = parts[0]
    with damaged.open("r+b") as f:
        f.truncate(damaged.stat().st_size // 2)
    assert not partitions.parquet_intact(damaged)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con, pytest.raises(duckdb.Error):
        con.execute("SELECT count(*), sum(value_jpy) FROM marts.fct_trade_commodity_monthly").fetchone()

    missing = partitions.missing_partitions(settings, all_sources())
    assert missing == {SRC: f"1 of 4 partition(s) missing or damaged, e.g. {damaged}"}
    source, snapshot = all_sources()[SRC], latest_snapshot(SRC, settings)
    to_check = partitions.files_to_validate(settings, source, snapshot)
    assert to_check == []  # every file published under these checks
    # ... also while a user's session holds the published file open for writing (DBeaver's DuckDB driver does): it
    # was "partitions not checked" at every refresh, and the broken view stayed published until the session ended
    code = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(600)"
    holder = subprocess.Popen([sys.executable, "-c", code, str(settings.warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        assert partitions.missing_partitions(settings, all_sources()) == missing
        # and the published partitions' checks are read too: every row was checked again (a review found it)
        assert partitions.files_to_validate(settings, source, snapshot) == to_check
        assert not list(settings.build_dir.glob("*published-copy*"))  # the copies it read are gone
    finally:
        holder.kill()
        holder.wait()
    untouched = {p: p.stat().st_mtime_ns for p in parts[1:]}
    warehouse.publish(incremental_build(settings), settings)
    assert partitions.parquet_intact(damaged)
    assert {p: p.stat().st_mtime_ns for p in parts[1:]} == untouched  # only the damaged file was parsed again
    assert partitions.missing_partitions(settings, all_sources()) == {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(value_jpy) FROM marts.fct_trade_commodity_monthly").fetchone() \
            == before


def test_an_edited_partition_is_parsed_again_and_repairs_the_published_view(tmp_path, generated, mirror):
    """A partition edited in the cache into another valid Parquet file (one value changed, magic bytes and footer
    whole): the published view read the edited value, and no refresh saw it (found by a QA pass). Its seal no longer
    matches, so the next refresh parses that file again and the warehouse reads the files' values."""
    from hs9_helpers import incremental_build
    from jlac import warehouse

    root = tmp_path / "m"
    _copy_snapshot(generated, root, lines=CUT)
    settings = settings_for(tmp_path / "home", root, mirror)
    build(settings)
    total = "SELECT count(*), sum(value_jpy) FROM marts.fct_trade_commodity_monthly"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        before = con.execute(total).fetchone()
    parts = sorted((settings.cache_dir / SRC / "parts").glob("*.parquet"))
    edited = parts[0]
    _one_value_changed("value_m01")(edited)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute(total).fetchone() != before  # the published view reads the edit
    assert partitions.missing_partitions(settings, all_sources()) == {
        SRC: f"1 of 4 partition(s) missing or damaged, e.g. {edited}"}
    warehouse.publish(incremental_build(settings), settings)
    assert partitions.missing_partitions(settings, all_sources()) == {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute(total).fetchone() == before


def _cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _bytes_changed_inside(path: Path) -> None:
    """Damage in the middle of the file, Parquet's magic bytes intact at both ends."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle:middle + 64] = b"A" * 64
    path.write_bytes(bytes(data))


def _one_value_changed(column: str):
    """A valid Parquet file with the same rows but for one value of ``column`` (a hand edit): every check of its
    shape passes."""
    def tamper(path: Path) -> None:
        tmp = path.with_name("edited.parquet")
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () = 1 THEN {column} + 1 ELSE {column} "
                        f"END AS {column}) FROM read_parquet(?)) TO '{tmp}' (FORMAT parquet)", [str(path)])
        tmp.replace(path)
    return tamper


DAMAGE = {"cut short": _cut_short, "bytes changed inside": _bytes_changed_inside}


@pytest.mark.parametrize("damage", [*DAMAGE, "one value changed"])
def test_a_damaged_parse_cache_is_parsed_again(tmp_path, mirror, caplog, damage):
    """Every source's cached batch: one cut short, damaged inside or edited is parsed again from the snapshot, with a
    warning. Found by a QA pass: with its magic bytes intact, a damaged batch was reused (by `--full` too), and its
    values reached the checks, which blamed the publisher's file for months it does not have
    ('2999418-07-04' at EXJPUS.csv row 206); an edited value passed them and was published."""
    from jlac import parse

    settings = settings_for(tmp_path, mirror)
    source = all_sources()["fred-exjpus"]
    snap = latest_snapshot("fred-exjpus", settings)
    batch = parse.parse_to_cache(settings, source, snap)

    def content():
        with duckdb.connect() as con:
            return con.execute("SELECT count(*), sum(hash(t::VARCHAR)) FROM read_parquet(?) t", [str(batch)]).fetchone()

    good = content()
    assert good[0] > 600  # FRED's monthly rates since 1971
    assert partitions.parquet_intact(batch)
    {**DAMAGE, "one value changed": _one_value_changed("jpy_per_usd")}[damage](batch)
    assert not partitions.parquet_intact(batch)
    with caplog.at_level("WARNING", logger="jlac.parse"):
        assert parse.parse_to_cache(settings, source, snap) == batch
    assert "fred-exjpus: cached batch" in caplog.text
    assert "is damaged or changed since it was written; parsed again" in caplog.text
    assert content() == good
    caplog.clear()
    with caplog.at_level("INFO", logger="jlac.parse"):  # parsed again and sealed: reused from now on
        assert parse.parse_to_cache(settings, source, snap) == batch
    assert "parse skipped" in caplog.text and "parsed again" not in caplog.text


def test_a_moved_parse_cache_is_hashed_once_and_reused(tmp_path, mirror, caplog):
    """A cache copied elsewhere (new inodes and times, same bytes) is reused, not parsed again: its seal is checked
    by hash once and then by stat."""
    from jlac import parse, sealed

    settings = settings_for(tmp_path / "a", mirror)
    source = all_sources()["fred-exjpus"]
    snap = latest_snapshot("fred-exjpus", settings)
    batch = parse.parse_to_cache(settings, source, snap)
    copied = tmp_path / "b" / "cache"
    shutil.copytree(settings.cache_dir, copied)  # new inodes and modification times
    moved = settings_for(tmp_path / "b", mirror)
    assert moved.cache_dir == copied
    twin = parse.cache_path(moved, source, snap)
    assert twin.exists() and twin.stat().st_ino != batch.stat().st_ino
    with caplog.at_level("INFO", logger="jlac.parse"):
        assert parse.parse_to_cache(moved, source, snap) == twin
    assert "parse skipped" in caplog.text
    assert sealed.intact(twin)


def test_a_cell_the_reader_cannot_take_is_one_line_naming_file_line_and_column(tmp_path, generated):
    """Found by a QA pass: DuckDB's reader errors reached the user as twenty lines (its possible fixes and its
    settings dump) around the three that matter."""
    from jlac.snapshots import load_snapshot

    vintage = _copy_snapshot(generated, tmp_path / "m")
    path = vintage / "hs9-country-2018-imp.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[30].split(",")
    cells[10] = "abc"  # January's Quantity2 (after the nine yearly columns and January's Quantity1)
    lines[30] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    write_manifest(vintage, SRC, {"synthetic": True})
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "o")
    with pytest.raises(ParseError) as caught:
        partitions.parse_partition(settings, all_sources()[SRC], load_snapshot(vintage), path.name)
    message = str(caught.value)
    assert "\n" not in message and "Possible" not in message and "delimiter =" not in message, message
    assert "hs9-country-2018-imp.csv" in message and "Line: 31" in message and '"Quantity2-Jan"' in message


def test_a_file_mixing_line_endings_is_refused_naming_the_line(tmp_path, generated):
    """An LF file with CRLF lines appended: DuckDB's reader said only "The CSV Parser state machine reached an
    invalid state"."""
    from jlac.snapshots import load_snapshot

    vintage = _copy_snapshot(generated, tmp_path / "m")
    path = vintage / "hs9-country-2018-imp.csv"
    data = path.read_bytes()
    assert b"\r" not in data
    path.write_bytes(data + b"\r\n\r\n")
    write_manifest(vintage, SRC, {"synthetic": True})
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(),
                        output=tmp_path / "o")
    with pytest.raises(ParseError) as caught:
        partitions.parse_partition(settings, all_sources()[SRC], load_snapshot(vintage), path.name)
    line = data.count(b"\n") + 1
    assert str(caught.value).startswith(
        f"mof-hs9-country {SRC}/{vintage.name}/hs9-country-2018-imp.csv: line {line} ends in CRLF (Windows), the lines "
        "above it in LF (Unix): a file mixing line endings"), str(caught.value)


def _edit_line(path: Path, index: int, **cells) -> None:
    """Set cells (by header name) of data line ``index`` (1 = the first after the header) of a generated file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[index].split(",")
    for name, value in cells.items():
        row[header.index(name)] = value
    lines[index] = ",".join(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _new_vintage(root: Path, name: str, edit) -> Path:
    """A new vintage of the newest one under ``root`` (files copied), changed by ``edit(folder)``, resealed."""
    newest = max((root / SRC).iterdir())
    dest = root / SRC / name
    shutil.copytree(newest, dest)
    edit(dest)
    write_manifest(dest, SRC, {"synthetic": True})
    return dest


def test_a_refused_file_sent_again_under_another_name_is_checked_again(tmp_path, generated, mirror):
    """Found by a QA pass: partitions were named by the file's content alone, and a file refused by validation,
    sent again under another name, reused the partition parsed under its first name. The rows in it still carried
    that name; the checks of the new name's rows selected none, and the bad row was published."""
    root = tmp_path / "m"
    _copy_snapshot(generated, root, lines=CUT)
    settings = settings_for(tmp_path / "h", root, mirror)
    _, results = build(settings)
    assert all(r.success for r in results)

    def bad_partner(folder):
        _edit_line(folder / "hs9-country-2018-imp.csv", 1, Country="999")

    _new_vintage(root, "2099-01-01", bad_partner)
    before = settings.warehouse.read_bytes()
    _, results = build(settings)
    assert [r.suite for r in results if not r.success] == [
        "mof-hs9-country: new rows: flow, values, HS code, partner code, months"]

    def renamed(folder):
        (folder / "hs9-country-2018-imp.csv").rename(folder / "hs9-country-2018-imports.csv")

    _new_vintage(root, "2099-01-02", renamed)
    _, results = build(settings)
    [failed] = [r for r in results if not r.success]
    details = failed.failed[0].details
    assert "partner code is not in japan-customs-country-codes" in details and "hs9-country-2018-imports.csv" in details
    assert settings.warehouse.read_bytes() == before, "nothing published"


@pytest.mark.parametrize(("cells", "problem"), [
    ({"Year": ""}, "Year is empty"),
    ({"Year": "1899"}, "Year 1899 is before 1988, MOF's first year"),
    ({"Year": "2099"}, f"Year 2099 is after this year, {plan.today().year}"),  # was published (QA pass)
    ({"HS": ""}, "HS code is empty"),
    ({"Quantity2-Jan": ""}, "a quantity is empty: quantity2_m01"),
    ({"Quantity1-Year": "13670"}, "Quantity1-Year or Quantity2-Year is not the sum of the twelve months"),
], ids=["year empty", "year before 1988", "year to come", "HS empty", "quantity empty", "quantity year not the sum"])
def test_a_line_with_a_damaged_year_hs_code_or_quantity_is_refused_naming_it(tmp_path, generated, mirror, cells,
                                                                             problem):
    """Found by a QA pass: an empty Year or HS cell, an empty quantity, or a year's quantity that is not the sum of
    its months passed the source's checks (an empty Year was then published as a year of NULL in an incremental
    build, whose dbt tests select the new rows by year). MOF's quantities for the year are its sums of the months in
    every line of the mirror's mof-hs9-imports."""
    vintage = _copy_snapshot(generated, tmp_path / "m", only=IMP_2018, lines=CUT)
    _edit_line(vintage / "hs9-country-2018-imp.csv", 3, **cells)
    write_manifest(vintage, SRC, {"synthetic": True})
    settings = settings_for(tmp_path / "h", tmp_path / "m", mirror)
    _, results = build(settings, publish=False)
    failed = {r.suite: r for r in results if not r.success}  # a year of 1899 also makes the file one of two years
    row = failed["mof-hs9-country: new rows: flow, values, HS code, partner code, months"]
    assert problem in row.failed[0].details and "hs9-country-2018-imp.csv" in row.failed[0].details
    assert not settings.warehouse.exists()


@pytest.mark.parametrize("cell", ["Value-Jan", "Quantity2-Apr", "Value-Year"])
def test_a_number_with_decimals_is_refused_not_rounded(tmp_path, generated, mirror, cell):
    """Found by a QA pass: read as BIGINT, '558.4' became 558 without a word (and a value under 0.5 became 0, its
    line gone from the monthly fact). MOF publishes whole numbers; a fraction means another unit or a damaged file."""
    vintage = _copy_snapshot(generated, tmp_path / "m", only=IMP_2018, lines=CUT)
    path = vintage / "hs9-country-2018-imp.csv"
    row = _rows(path)[1]
    _edit_line(path, 2, **{cell: f"{row[cell]}.4"})
    write_manifest(vintage, SRC, {"synthetic": True})
    settings = settings_for(tmp_path / "h", tmp_path / "m", mirror)
    expected = (rf"hs9-country-2018-imp.csv: .*{cell} is {row[cell]}.4 on the line of HS {row['HS'].strip(chr(39))}, "
                rf"partner {row['Country']}: expected a whole number")
    with pytest.raises(ParseError, match=expected):
        partitions.parse_all(settings, all_sources()[SRC], latest_snapshot(SRC, settings))


def test_the_hs_section_charts_notes_and_sources_name_what_its_rows_come_from(tmp_path):
    """Found by a QA pass: with Comtrade's extract alone (the mirror), the chart said 'other years: MOF HS-9 x
    country, all chapters', credited MOF/e-Stat, and labelled HS 27 alone 'Mineral products (ores, fuels)'."""
    from jlac.figures import japan_lac_hs_sections

    def svg_of(rows: str) -> str:
        con = duckdb.connect()
        con.execute("CREATE SCHEMA figures")
        con.execute("CREATE TABLE figures.japan_lac_imports_by_hs_section AS SELECT * FROM (VALUES " + rows + ") "
                    "AS t(year, section, section_no, section_name, imports_usd_m, partners, months_reported, coverage, "
                    "source)")
        japan_lac_hs_sections.render(con, tmp_path)
        return (tmp_path / "japan_lac_imports_by_hs_section.svg").read_text()

    comtrade = ("(2016, 'V', 5, 'Mineral products (ores, fuels)', 10.0, 3, 12, 'HS 27 and 44 only', "
                "'comtrade-classic-hs27-hs44'), (2017, 'IX', 9, 'Wood', 2.0, 1, 12, 'HS 27 and 44 only', "
                "'comtrade-classic-hs27-hs44')")
    svg = svg_of(comtrade)
    assert "2016-2017: UN Comtrade HS 27 (section V) and HS 44 (IX) only." in svg
    assert "MOF" not in svg and "Sources: UN Comtrade; via jlac." in svg
    assert "Mineral products (ores, fuels) (only HS 27, fuels)" in svg and "Wood (only HS 44, wood)" in svg
    svg = svg_of(comtrade + ", (2018, 'V', 5, 'Mineral products (ores, fuels)', 30.0, 4, 12, 'all HS chapters', "
                 "'mof-hs9-country')")
    assert ("2016-2017: UN Comtrade HS 27 (section V) and HS 44 (IX) only; 2018: MOF HS-9 x country, all chapters."
            in svg)
    assert "Sources: MOF Trade Statistics of Japan via e-Stat, UN Comtrade; via jlac." in svg
    assert "(only HS 27, fuels)" not in svg and "Wood (only HS 44, wood)" in svg
    # a year in progress alone: nothing drawn, said so, and MOF still credited (it drew empty axes and said "none
    # with real rows yet"; a QA pass); a row whose months are unknown (NULL) is drawn, not a TypeError
    svg = svg_of("(2026, 'V', 5, 'Mineral products (ores, fuels)', 30.0, 4, 10, 'all HS chapters', 'mof-hs9-country')")
    assert "No whole year to draw yet" in svg and "Sources: MOF Trade Statistics of Japan via e-Stat; via jlac." in svg
    assert "Not drawn: 2026 (January-October only, MOF" in svg.replace("&#39;", "'")
    svg = svg_of("(2025, 'V', 5, 'Mineral products (ores, fuels)', 30.0, 4, NULL, 'all HS chapters', "
                 "'mof-hs9-country')")
    assert "Not drawn" not in svg and "No whole year" not in svg


def test_a_code_list_dropping_a_code_the_published_rows_use_stops_an_incremental_refresh(tmp_path, generated, mirror,
                                                                                          prefect_api):
    """Only the new partitions of mof-hs9-country are checked, and its checks read japan-customs-country-codes: a new
    code list without a code the published rows use (Sweden, 203) was published by an incremental refresh, while a
    full build of the same snapshots refuses it (found by a QA pass). A source whose checks read a changed one's raw
    table (``READS``) is now checked again, every row."""
    from conftest import HEAVY_OPTIONAL, JAPAN_WORKBOOK, small_mirror
    from jlac import pipeline
    from jlac.errors import ValidationFailed

    codes = "japan-customs-country-codes"
    # the optional sources no check or model here reads are left out too (~4 s of each of the two refreshes)
    unread = ("mof-trade-by-country-top30", "aiddata-gcdf2-projects", "aiddata-gcdf3-country-year",
              "aiddata-v2-donor-recipient-year", "oecd-dac2a")
    root = small_mirror(tmp_path / "m", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK},
                        leave_out=(*HEAVY_OPTIONAL, *unread, codes, SRC))
    real = next((mirror / codes).iterdir())
    shutil.copytree(real, root / codes / real.name)
    hs9 = _copy_snapshot(generated, root)
    for f in hs9.glob("*.csv"):  # a few hundred lines a file, Sweden's among them
        lines = f.read_text().splitlines(keepends=True)
        keep = lines[:300] + [ln for ln in lines[300:] if ",203," in ln][:5]
        f.write_text("".join(keep))
    write_manifest(hs9, SRC, {"synthetic": True})
    assert all(",203," in f.read_text() for f in hs9.glob("*.csv"))
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(root,),
                        output=tmp_path / "out")
    assert pipeline.refresh(settings, trigger="test").status == "completed"
    before = settings.warehouse.read_bytes()
    new = root / codes / "2099-01-01"
    new.mkdir()
    text = (real / "Countries.csv").read_text(encoding="utf-8")
    assert "203,Western Europe,Sweden" in text
    (new / "Countries.csv").write_text(text.replace("203,Western Europe,Sweden\n", ""), encoding="utf-8")
    write_manifest(new, codes)
    with pytest.raises(ValidationFailed, match="partner code is not in japan-customs-country-codes"):
        pipeline.refresh(settings, trigger="test")
    assert settings.warehouse.read_bytes() == before
