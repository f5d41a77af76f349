"""The snapshot store: manifests, sha256 verification, vintage choice, atomic writes."""

from __future__ import annotations

import shutil

import pytest
from conftest import write_manifest
from jlac import config, parse
from jlac.config import Settings, get_settings
from jlac.errors import JlacError, SnapshotError
from jlac.snapshots import latest_snapshot, list_vintages, load_snapshot, verify, write_snapshot


def test_mirror_snapshots_verify(jlac_env):
    for source in ("imf-dots", "fred-exjpus", "japan-customs-country-codes"):
        snap = latest_snapshot(source, jlac_env)
        verify(snap)
    snap = latest_snapshot("imf-dots", jlac_env)
    assert snap.vintage == "2022-02-02" and len(snap.files) == 223


def _copy_fred(tmp_path, mirror):
    src = next((mirror / "fred-exjpus").iterdir())
    dest = tmp_path / "fred-exjpus" / src.name
    shutil.copytree(src, dest)
    return dest


def test_checksum_mismatch_missing_and_unlisted(tmp_path, mirror):
    vintage = _copy_fred(tmp_path, mirror)
    csv = vintage / "EXJPUS.csv"
    csv.write_text(csv.read_text().replace("358.0200", "358.0201"))
    (vintage / "notes.txt").write_text("not in the manifest")
    with pytest.raises(SnapshotError) as info:
        verify(load_snapshot(vintage))
    text = str(info.value)
    assert "fred-exjpus/2025-05-27" in text and "nothing from it is loaded" in text
    assert "checksum mismatch for EXJPUS.csv" in text
    assert "unlisted file notes.txt" in text
    with csv.open("a", encoding="utf-8") as fh:
        fh.write("2025-06-01,144.0\n")  # grown: its size differs from the manifest's before any hashing
    with pytest.raises(SnapshotError, match=r"size mismatch for EXJPUS.csv: manifest [\d,]+ bytes, file has [\d,]+"):
        verify(load_snapshot(vintage))
    csv.unlink()
    with pytest.raises(SnapshotError, match="missing file EXJPUS.csv"):
        verify(load_snapshot(vintage))


def test_a_vintage_folder_without_a_manifest_is_named_not_used(tmp_path, mirror, caplog):
    """Files copied into a new vintage folder without SNAPSHOT.yml: the refresh says so instead of "unchanged"."""
    import logging

    _copy_fred(tmp_path, mirror)
    (tmp_path / "fred-exjpus" / "2026-12-01").mkdir()
    (tmp_path / "fred-exjpus" / "2026-12-01" / "EXJPUS.csv").write_text("observation_date,EXJPUS\n")
    settings = Settings(warehouse=tmp_path / "w" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(tmp_path,),
                        output=tmp_path / "o")
    with caplog.at_level(logging.WARNING, logger="jlac.snapshots"):
        assert [s.vintage for s in list_vintages("fred-exjpus", settings)] == ["2025-05-27"]
        list_vintages("fred-exjpus", settings)
    warned = [r.getMessage() for r in caplog.records if "has no SNAPSHOT.yml" in r.getMessage()]
    assert len(warned) == 1 and "fred-exjpus: folder" in warned[0] and "2026-12-01 has no SNAPSHOT.yml and is not " \
        "used" in warned[0]


def test_latest_vintage_wins_unless_pinned(tmp_path, monkeypatch, mirror):
    store = tmp_path / "store"
    newer = store / "fred-exjpus" / "2026-01-01"
    newer.mkdir(parents=True)
    (newer / "EXJPUS.csv").write_text("observation_date,EXJPUS\n2025-05-01,143.0\n")
    write_manifest(newer, "fred-exjpus")
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(store))
    monkeypatch.setenv("JLAC_MIRROR", str(mirror))
    settings = get_settings()
    assert [s.vintage for s in list_vintages("fred-exjpus", settings)] == ["2025-05-27", "2026-01-01"]
    assert latest_snapshot("fred-exjpus", settings).vintage == "2026-01-01"
    assert latest_snapshot("fred-exjpus", settings, pin="2025-05-27").root.parent.parent == mirror
    with pytest.raises(SnapshotError, match="pinned vintage '1999-01-01' not found"):
        latest_snapshot("fred-exjpus", settings, pin="1999-01-01")
    assert latest_snapshot("no-such-source", settings) is None


def test_write_snapshot_is_atomic_and_checksummed(tmp_path):
    tmp_file = tmp_path / "download.part"
    tmp_file.write_text("observation_date,EXJPUS\n2025-05-01,143.0\n")
    snap = write_snapshot(tmp_path / "store", "fred-exjpus", {"EXJPUS.csv": tmp_file},
                          {"title": "test", "retrieved_at": "2026-11-28T00:00:00Z"}, vintage="2026-11-28")
    verify(snap)
    assert snap.files[0].path == "EXJPUS.csv" and not tmp_file.exists()
    assert [p.name for p in (tmp_path / "store" / "fred-exjpus").iterdir()] == ["2026-11-28"]


def test_parse_cache_key_covers_the_reviewed_data_files_and_used_modules(tmp_path, monkeypatch, mirror):
    """Editing a country-name override (or any module a parser uses) invalidates that parser's cached batch."""

    from jlac.snapshots import latest_snapshot
    from jlac.sources import all_sources

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "snaps",
                        mirrors=(mirror,), output=tmp_path / "out")
    src = all_sources()["oecd-dac2a"]
    snap = latest_snapshot(src.name, settings)
    used = [m.__name__ for m in parse._jlac_modules(__import__(f"{src.package}.source", fromlist=["x"]))]
    assert "jlac.countries" in used and "jlac.sources.imf_dots.source" not in used
    before = parse.cache_path(settings, src, snap)
    data = tmp_path / "data"
    shutil.copytree(config.DATA_DIR, data)
    monkeypatch.setattr(config, "DATA_DIR", data)
    assert parse.cache_path(settings, src, snap) == before  # same bytes, same key
    with open(data / "country_names.csv", "a", encoding="utf-8") as fh:
        fh.write("oecd,Republic of Atlantis,ATL,999,country,Atlantis,,,,test override\n")
    assert parse.cache_path(settings, src, snap) != before


def test_broken_manifest_names_the_file_and_line(tmp_path):
    vintage = tmp_path / "imf-dots" / "2022-02-02"
    vintage.mkdir(parents=True)
    (vintage / "SNAPSHOT.yml").write_text("source: imf-dots\nfiles: [DOTS_101.xlsx\n  - path: x\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"(?s)2022-02-02/SNAPSHOT.yml: not valid YAML .*line 3, column 9"):
        load_snapshot(vintage)


def test_a_manifest_with_yaml_aliases_is_refused_before_anything_expands_them(tmp_path):
    """Nine nested anchors in 1.6 KB stand for 10^9 strings: the refresh's fingerprint of the manifest expanded them
    for minutes until memory ran out, then a traceback (found by a QA pass). An ampersand in a title is no anchor."""
    vintage = tmp_path / "fred-exjpus" / "2025-06-01"
    vintage.mkdir(parents=True)
    (vintage / "EXJPUS.csv").write_text("observation_date,EXJPUS\n2025-05-01,144.0\n", encoding="utf-8")
    write_manifest(vintage, "fred-exjpus", {"title": "Japan & US: yen per dollar"})
    assert load_snapshot(vintage).manifest["title"] == "Japan & US: yen per dollar"
    bomb = ["lol0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    bomb += [f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = vintage / "SNAPSHOT.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n".join(bomb) + "\ncaveats: *a8\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"2025-06-01/SNAPSHOT.yml: uses a YAML alias \(\*a0\); a manifest is "
                                            r"written out in full"):
        load_snapshot(vintage)


@pytest.mark.parametrize("command", ["sources", "status", "refresh"])
def test_a_manifest_that_is_not_utf8_is_one_line_naming_it(tmp_path, mirror, command, prefect_api_url):
    """A SNAPSHOT.yml saved as UTF-16 (as some editors do) crashed `jlac sources`, `status` and `refresh` with a
    UnicodeDecodeError traceback naming no file (found by a QA pass)."""
    import subprocess
    import sys

    vintage = tmp_path / "extra" / "imf-dots" / "2023-01-01"
    vintage.mkdir(parents=True)
    (vintage / "SNAPSHOT.yml").write_bytes("source: imf-dots\n".encode("utf-16"))
    with pytest.raises(SnapshotError, match=r"^.*2023-01-01/SNAPSHOT.yml: not UTF-8 text \(byte 0xff at offset 0\)"):
        load_snapshot(vintage)
    env = {**__import__("os").environ, "JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"),
           "JLAC_MIRROR": f"{mirror}:{tmp_path / 'extra'}", "COLUMNS": "300",
           "PREFECT_API_URL": prefect_api_url}  # the session's API: a refresh starts none of its own (10-20 s)
    done = subprocess.run([sys.executable, "-m", "jlac", command], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "UnicodeDecodeError" not in done.stderr, done.stderr
    assert f"{vintage}/SNAPSHOT.yml: not UTF-8 text" in done.stderr, done.stderr


def test_a_required_source_without_snapshot_names_where_it_looked_and_a_missing_mirror(tmp_path):
    from jlac import plan
    from jlac.sources import all_sources

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "snaps",
                        mirrors=(tmp_path / "typo",), output=tmp_path / "out")
    (tmp_path / "snaps").mkdir()
    with pytest.raises(SnapshotError, match=rf"no snapshot found under {tmp_path}/snaps, {tmp_path}/typo "
                                            r"\(no such folder\) of ") as info:
        plan.discover(settings)
    # every missing source, each with what brings it: the first alone was named, and `jlac fetch` suggested for
    # imf-dots, which has no connector (found by a QA pass)
    text = str(info.value)
    required = sorted(n for n, s in all_sources().items() if s.required)
    assert len(required) > 1 and all(n in text for n in required), text
    assert "set JLAC_MIRROR (or JLAC_SNAPSHOTS) to a folder holding imf-dots" in text
    assert "jlac fetch" not in text or "imf-dots" not in text.split("jlac fetch", 1)[1], text


@pytest.mark.parametrize("name", ["2026-9-30", "latest", "2026-02-30"])
def test_a_folder_not_named_by_its_date_is_refused_naming_it(tmp_path, monkeypatch, mirror, name):
    # '2026-9-30' sorted after '2026-10-04' as text and was published as the newest vintage; 'latest' beat every date
    odd = tmp_path / "store" / "fred-exjpus" / name
    odd.mkdir(parents=True)
    (odd / "EXJPUS.csv").write_text("observation_date,EXJPUS\n2025-05-01,143.0\n")
    write_manifest(odd, "fred-exjpus")
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", str(mirror))
    with pytest.raises(SnapshotError, match=rf"fred-exjpus: folder .*/{name}: '{name}' is not a vintage name: "
                                            r"expected its date as YYYY-MM-DD"):
        latest_snapshot("fred-exjpus", get_settings())


@pytest.mark.parametrize("files, expected", [
    ([{"path": "EXJPUS.csv", "bytes": 10}], r"files entry 1 \(.*\) has no sha256 of 64 hex digits \(found None\)"),
    (["EXJPUS.csv"], r"files entry 1 \(EXJPUS.csv\) is not a mapping with path, sha256 and bytes"),
    ([{"sha256": "0" * 64}], r"files entry 1 \(.*\) has no path"),
    # a file listed twice was read twice: the errors spoke of a repeated reporter or of a row count
    ([{"path": "EXJPUS.csv", "sha256": "0" * 64}, {"path": "EXJPUS.csv", "sha256": "0" * 64}],
     r"lists EXJPUS.csv more than once; each file once"),
])
def test_a_manifest_entry_without_its_fields_is_one_message(tmp_path, files, expected):
    import yaml

    vintage = tmp_path / "fred-exjpus" / "2026-01-01"
    vintage.mkdir(parents=True)
    (vintage / "SNAPSHOT.yml").write_text(yaml.safe_dump({"source": "fred-exjpus", "files": files}))
    with pytest.raises(SnapshotError, match=r"2026-01-01/SNAPSHOT.yml: " + expected):  # was KeyError: 'sha256'
        load_snapshot(vintage)
    (vintage / "SNAPSHOT.yml").write_text("- just\n- a list\n")
    with pytest.raises(SnapshotError, match="expected a mapping .* found a list"):
        load_snapshot(vintage)


def test_a_manifest_naming_another_vintage_than_its_folder_is_refused(tmp_path, mirror):
    vintage = _copy_fred(tmp_path, mirror)  # the mirror's 2025-05-27, manifest and all
    newer = vintage.with_name("2025-06-30")
    vintage.rename(newer)  # a copied vintage, its manifest not edited: it was listed twice as 2025-05-27
    with pytest.raises(SnapshotError, match=r"2025-06-30/SNAPSHOT.yml: says vintage '2025-05-27' but its folder is "
                                            r"'2025-06-30'"):
        load_snapshot(newer)


def test_source_option_with_a_published_vintage_gone_says_so(tmp_path, mirror):
    """--source keeps the other sources at their published vintages; one of those gone from the store is named as
    such (it was 'pinned vintage not found' for a pin the user never gave)."""
    import duckdb
    from jlac.config import Settings
    from jlac.errors import JlacError
    from jlac.pipeline import _published_pins

    settings = Settings(warehouse=tmp_path / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(mirror,),
                        output=tmp_path / "out")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA meta; CREATE TABLE meta.inputs AS SELECT * FROM (VALUES "
                    "('source:fred-exjpus', '2025-05-27/ab12'), ('source:oecd-dac2a', '2099-01-01/cd34'), "
                    "('source:mof-hs9-imports', 'none'), ('source:gone-from-the-code', '2020-01-01/ef56'), "
                    "('code', '0123')) t(input, fingerprint)")
    with pytest.raises(JlacError, match=r"oecd-dac2a's published vintage '2099-01-01' is no longer in the store or "
                                        r"the mirrors \(available: 2022-01-18\).*--pin oecd-dac2a=VINTAGE"):
        _published_pins(settings, ["imf-dots"])
    # a source published without a snapshot stays without one (found by a QA pass: `--source fred-exjpus` loaded
    # mof-hs9-imports, whose snapshot had appeared since); one the code no longer has is left to the plan
    assert _published_pins(settings, ["imf-dots"], {"oecd-dac2a": "2022-01-18"}) == (
        {"fred-exjpus": "2025-05-27"}, ["mof-hs9-imports"])
    from jlac import plan

    snaps = plan.discover(settings, pins={"fred-exjpus": "2025-05-27"}, absent=["mof-hs9-imports"])
    assert snaps["mof-hs9-imports"] is None and snaps["fred-exjpus"].vintage == "2025-05-27"


def test_a_warehouse_published_before_inputs_carried_vintages_keeps_its_vintages(tmp_path, mirror):
    """Found by a QA pass (an upgrade): jlac before 4 December recorded a source's input as its sha256 alone. After
    the upgrade, `--source fred-exjpus` took each hash for a vintage ("aiddata-gcdf2-projects's published vintage
    '8adc1de3…' is no longer in the store"), and a refusal for a missing mirror named hashes as vintages. The vintage
    is read from meta.snapshots then."""
    import duckdb
    from jlac import plan
    from jlac.pipeline import _published_pins

    settings = Settings(warehouse=tmp_path / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(mirror,),
                        output=tmp_path / "out")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA meta; CREATE TABLE meta.inputs AS SELECT * FROM (VALUES "
                    "('source:fred-exjpus', 'ab12'), ('source:oecd-dac2a', 'cd34'), ('source:mof-hs9-imports', 'none'),"
                    " ('code', '0123')) t(input, fingerprint); "
                    "CREATE TABLE meta.snapshots AS SELECT * FROM (VALUES "
                    "('r1', 'fred-exjpus', '2025-05-27', 'x.csv'), ('r1', 'oecd-dac2a', '2022-01-18', 'a.csv'), "
                    "('r1', 'oecd-dac2a', '2022-01-18', 'b.csv')) "
                    "t(run_id, source, vintage, path)")
    assert _published_pins(settings, ["imf-dots"]) == (
        {"fred-exjpus": "2025-05-27", "oecd-dac2a": "2022-01-18"}, ["mof-hs9-imports"])
    published = plan.published_inputs(settings)
    assert published["source:fred-exjpus"] == "2025-05-27/ab12" and published["code"] == "0123"
    assert plan.vanished({"fred-exjpus": None, "oecd-dac2a": None}, published) == {
        "fred-exjpus": "2025-05-27", "oecd-dac2a": "2022-01-18"}


def test_vintages_written_within_one_second_each_get_a_name_that_sorts_after_the_last(tmp_path):
    """Found by a QA pass: a third vintage of a source within one second failed with a bare
    '[Errno 39] Directory not empty' naming no source, and the fetched data was thrown away."""
    names = []
    for i in range(4):
        f = tmp_path / f"f{i}.csv"
        f.write_text(f"a\n{i}\n")
        names.append(write_snapshot(tmp_path / "store", "src", {"f.csv": f}, {"title": "t"}).vintage)
    assert len(set(names)) == 4 and names == sorted(names)  # the newest is the one `latest` picks
    assert names[0].count("-") == 2 and "T" in names[1]  # today's date first, then the time to the second
    vintages = list_vintages("src", Settings(warehouse=tmp_path / "wh" / "jlac.duckdb",
                                             snapshots=tmp_path / "store", mirrors=(), output=tmp_path / "out"))
    assert [v.vintage for v in vintages][-1] == names[-1]
    assert [v.path("f.csv").read_text() for v in vintages] == [f"a\n{i}\n" for i in range(4)]
    assert [v.manifest["vintage"] for v in vintages] == [v.vintage for v in vintages]


def test_the_fingerprint_covers_what_a_parser_reads_from_the_manifest(tmp_path):
    """Found by a QA pass: the fingerprint hashed the files alone, and mof-hs9-country's parser reads the manifest's
    ``synthetic`` flag into every row. A manifest edited to say ``synthetic: false`` left the refresh 'unchanged'
    (rows still marked synthetic, so left out of the figures) where a full build unmarked them."""
    from jlac import plan

    vintage = tmp_path / "mof-hs9-country" / "2026-01-01"
    vintage.mkdir(parents=True)
    (vintage / "a.csv").write_text("x\n1\n", encoding="utf-8")
    write_manifest(vintage, "mof-hs9-country", {"synthetic": True})
    before = load_snapshot(vintage)
    write_manifest(vintage, "mof-hs9-country", {"synthetic": False})
    after = load_snapshot(vintage)
    assert before.files == after.files and before.fingerprint != after.fingerprint
    published = plan.inputs_of({"mof-hs9-country": before}, "code")
    the_plan = plan.make_plan({"mof-hs9-country": after}, plan.inputs_of({"mof-hs9-country": after}, "code"),
                              published)
    assert (the_plan.mode, the_plan.changed) == ("incremental", ["mof-hs9-country"])
    write_manifest(vintage, "mof-hs9-country", {"synthetic": False})  # the same manifest again: the same input
    assert load_snapshot(vintage).fingerprint == after.fingerprint


def test_source_option_refuses_a_kept_source_whose_snapshot_changed_since_it_was_published():
    """Found by a QA pass: `--source fred-exjpus` pinned the other sources' vintages, but mof-trade-by-country-top30
    reads its earlier vintages too, and one added to the store since was loaded with it. A kept source whose input
    differs from the published one is named, and nothing is built; with other code every source is rebuilt anyway."""
    from jlac.errors import JlacError
    from jlac.pipeline import _refuse_changed_kept

    published = {"code": "c1", "source:fred-exjpus": "2025-05-27/a", "source:mof-trade-by-country-top30":
                 "2026-10-04/b", "source:mof-hs9-imports": "none"}
    inputs = {**published, "source:fred-exjpus": "2099-01-01/z", "source:mof-trade-by-country-top30": "2026-10-04/b2"}
    kept = ["mof-trade-by-country-top30", "mof-hs9-imports"]
    with pytest.raises(JlacError, match=r"--source fred-exjpus keeps every other source as the published warehouse "
                                        r"holds it, but the snapshot of mof-trade-by-country-top30 now differs"):
        _refuse_changed_kept(["fred-exjpus"], kept, inputs, published)
    _refuse_changed_kept(["fred-exjpus"], ["mof-hs9-imports"], inputs, published)  # kept as published: fine
    _refuse_changed_kept(["fred-exjpus"], kept, {**inputs, "code": "c2"}, published)  # a full build: not refused


def test_a_new_calendar_year_rebuilds_what_runs_to_the_current_year(tmp_path, monkeypatch):
    """Found by a QA pass: refreshes after New Year (new vintages or none) kept last year's Figure 2 (a row per year up
    to the current one) and last year's bounds on the checks, while a full rebuild drew the new year: the year a
    warehouse was built in is one of its inputs."""
    import datetime as dt

    from jlac import plan

    vintage = tmp_path / "fred-exjpus" / "2026-01-01"
    vintage.mkdir(parents=True)
    (vintage / "a.csv").write_text("x\n1\n", encoding="utf-8")
    write_manifest(vintage, "fred-exjpus")
    snaps = {"fred-exjpus": load_snapshot(vintage)}
    monkeypatch.setattr(plan, "today", lambda: dt.date(2026, 12, 31))
    published = plan.inputs_of(snaps, "code")
    assert published["calendar_year"] == "2026"
    assert plan.make_plan(snaps, plan.inputs_of(snaps, "code"), published).mode == "unchanged"
    monkeypatch.setattr(plan, "today", lambda: dt.date(2027, 1, 1))
    the_plan = plan.make_plan(snaps, plan.inputs_of(snaps, "code"), published)
    assert (the_plan.mode, the_plan.changed) == ("full", ["fred-exjpus"])
    assert the_plan.reason.startswith("a new calendar year (2027; the published warehouse was built in 2026)")
    # a warehouse published before the year was an input: built again once, saying so
    older = {k: v for k, v in published.items() if k != "calendar_year"}
    assert "built in an earlier one" in plan.make_plan(snaps, plan.inputs_of(snaps, "code"), older).reason
    # the year going back (a clock set back) is refused: the rebuild would take a year out of Figure 2 (QA pass)
    monkeypatch.setattr(plan, "today", lambda: dt.date(2025, 12, 31))
    with pytest.raises(JlacError, match=r"this machine's date is in 2025 \(UTC\), but the published warehouse was "
                                        r"built in 2026: is the clock right\?"):
        plan.make_plan(snaps, plan.inputs_of(snaps, "code"), published)
    with pytest.raises(JlacError, match=r"is the clock right\?"):  # new code or settings too (it rebuilt: QA pass)
        plan.make_plan(snaps, plan.inputs_of(snaps, "other code"), published)
    assert plan.make_plan(snaps, plan.inputs_of(snaps, "code"), published, full=True).mode == "full"


def test_the_build_date_is_utcs_in_python_and_in_the_sql_models(monkeypatch, tmp_path):
    """The local date made a refresh at 18:00 on 31 December west of UTC (06:00 on 1 January in UTC, the date of its
    run id and ledger line) rebuild a warehouse built that morning in UTC and take 2027 out of Figure 2 (found by a
    QA pass). plan.today and the SQL models' current_date (DuckDB's TimeZone in dbt's profile) are both in UTC."""
    import datetime as dt
    import re

    from jlac import plan, transform

    class West(dt.datetime):  # 18:00 on 31 December 2026 at UTC-12
        @classmethod
        def now(cls, tz=None):
            moment = dt.datetime(2027, 1, 1, 6, 0, tzinfo=dt.UTC)
            return moment.astimezone(tz) if tz else moment.astimezone(dt.timezone(dt.timedelta(hours=-12)))

    monkeypatch.setattr(plan, "datetime", West)
    assert plan.today() == dt.date(2027, 1, 1)
    profile = (transform._profile(tmp_path) / "profiles.yml").read_text(encoding="utf-8")
    assert re.search(r"^      settings:\n(        \w+: .+\n)*        TimeZone: UTC$", profile, re.M), profile


def _relisted(vintage, path: str) -> None:
    """The vintage's manifest with its one file listed as ``path``, checksum and size as they are."""
    import yaml

    manifest = yaml.safe_load((vintage / "SNAPSHOT.yml").read_text(encoding="utf-8"))
    (entry,) = manifest["files"]
    entry["path"] = path
    (vintage / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("listed", ["./EXJPUS.csv", ".\\EXJPUS.csv", ".//EXJPUS.csv"])
def test_a_listed_path_is_read_as_the_file_it_names(tmp_path, mirror, listed):
    """`./EXJPUS.csv` in the manifest was refused as "unlisted file EXJPUS.csv (not in SNAPSHOT.yml)"; the listed
    path is now taken as the folder's file it names."""
    vintage = _copy_fred(tmp_path, mirror)
    _relisted(vintage, listed)
    snap = load_snapshot(vintage)
    assert [f.path for f in snap.files] == ["EXJPUS.csv"]
    verify(snap)
    assert snap.path(snap.files[0].path).read_text().startswith("observation_date,EXJPUS\n")
    assert snap.fingerprint == load_snapshot(next((mirror / "fred-exjpus").iterdir())).fingerprint


@pytest.mark.parametrize(("listed", "problem"), [
    ("../2025-05-27/EXJPUS.csv", r"has the path '\.\./2025-05-27/EXJPUS\.csv', which leads out of the vintage "
                                 r"folder \('\.\.'\)"),
    ("sub/../../x/EXJPUS.csv", r"has the path 'sub/\.\./\.\./x/EXJPUS\.csv', which leads out of the vintage folder"),
    ("{abs}", r"has the absolute path '.*/EXJPUS\.csv'; expected a path relative to the vintage folder"),
    ("C:\\data\\EXJPUS.csv", r"has the absolute path 'C:\\\\data\\\\EXJPUS\.csv'"),
    ("./", r"has the path '\./', which names no data file in the vintage folder"),
    ("./SNAPSHOT.yml", r"has the path '\./SNAPSHOT\.yml', which names no data file"),
    # the operating system's "File name too long" ended verify in a traceback (QA pass)
    ("d/" + "x" * 256 + ".csv", r"has the path 'd/xxx.*'\.\.\., a name longer than 255 bytes"),
])
def test_a_listed_path_outside_the_vintage_folder_is_refused(tmp_path, mirror, listed, problem):
    """A manifest naming a file outside its folder, with a matching checksum, had that file read and loaded."""
    vintage = _copy_fred(tmp_path, mirror)
    outside = tmp_path / "x" / "EXJPUS.csv"
    outside.parent.mkdir()
    outside.write_bytes((vintage / "EXJPUS.csv").read_bytes())
    _relisted(vintage, listed.format(abs=outside))
    with pytest.raises(SnapshotError, match=r"2025-05-27/SNAPSHOT.yml: files entry 1 \(.*\) " + problem):
        load_snapshot(vintage)


def test_a_size_of_true_is_no_size(tmp_path, mirror):
    """YAML's `bytes: true` is an int to Python: it was read as a size of 1 byte ("manifest 1 bytes"; QA pass)."""
    import yaml

    vintage = _copy_fred(tmp_path, mirror)
    manifest = yaml.safe_load((vintage / "SNAPSHOT.yml").read_text(encoding="utf-8"))
    manifest["files"][0]["bytes"] = True
    (vintage / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"files entry 1 \(.*\) has bytes True, not a size"):
        load_snapshot(vintage)


def test_a_manifest_without_its_origin_is_used_and_named(tmp_path, mirror, caplog):
    """The README says a manifest carries origin and license; one without them was used without a word. It is used
    (hand-made and tests' manifests are minimal), with one warning naming it and what it lacks."""
    import logging

    import yaml
    from jlac.snapshots import missing_origin

    for manifest in mirror.glob("*/*/SNAPSHOT.yml"):  # every manifest of the mirror has its origin: no warning
        assert missing_origin(yaml.safe_load(manifest.read_text(encoding="utf-8"))) == [], manifest
    vintage = _copy_fred(tmp_path, mirror)
    manifest = yaml.safe_load((vintage / "SNAPSHOT.yml").read_text(encoding="utf-8"))
    for name in ("license", "publisher_url", "publisher"):
        del manifest[name]
    manifest["url"] = "https://fred.stlouisfed.org/series/EXJPUS"  # stands for publisher_url
    (vintage / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    settings = Settings(warehouse=tmp_path / "w" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(tmp_path,),
                        output=tmp_path / "o")
    with caplog.at_level(logging.WARNING, logger="jlac.snapshots"):
        assert latest_snapshot("fred-exjpus", settings).vintage == "2025-05-27"
        verify(load_snapshot(vintage))  # used as before
        list_vintages("fred-exjpus", settings)
    warned = [r.getMessage() for r in caplog.records if r.name == "jlac.snapshots"]
    assert warned == [f"{vintage / 'SNAPSHOT.yml'}: no publisher, license; a manifest carries the data's origin "
                      "(title, publisher, publisher_url) and license: add them"]


def test_a_manifest_of_another_source_is_refused_naming_both(tmp_path, mirror):
    """A fred-exjpus vintage copied, manifest and all, into imf-dots' folder was read by imf-dots' parser."""
    vintage = _copy_fred(tmp_path, mirror)
    moved = tmp_path / "imf-dots" / vintage.name
    moved.parent.mkdir()
    vintage.rename(moved)
    with pytest.raises(SnapshotError, match=r"imf-dots/2025-05-27/SNAPSHOT.yml: says source 'fred-exjpus' but lies "
                                            r"in the folder of source 'imf-dots'; move the vintage to fred-exjpus/ "
                                            r"or set source: imf-dots"):
        load_snapshot(moved)


def test_a_file_changed_in_place_with_its_mtime_put_back_is_hashed_when_its_bytes_are_parsed(tmp_path, mirror):
    """verify trusted a file whose device, inode, size and mtime were those of a verified one: a same-size change
    made in place with its mtime put back (bit rot aside: a copy tool keeping times) was parsed and published,
    unchecked, when its parse was not cached (found by a QA pass). It is hashed whenever its bytes are to be read;
    with its parse cached it is trusted by its stat (what is loaded is the parse of the bytes verified)."""
    import os

    from jlac import parse, partitions
    from jlac.sources import all_sources

    vintage = _copy_fred(tmp_path, mirror)
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store",
                        mirrors=(tmp_path,), output=tmp_path / "out", cache=tmp_path / "cache")  # its own cache
    snap = load_snapshot(vintage)
    assert partitions.verify(snap, settings) == 1  # hashed, recorded
    assert partitions.verify(snap, settings) == 1  # its parse is not cached: hashed again, as the parse reads it
    csv = vintage / "EXJPUS.csv"
    st = csv.stat()
    with open(csv, "r+b") as fh:  # the same size, written through the same inode
        data = fh.read()
        assert b"2000-01-01,105.2960" in data
        fh.seek(0)
        fh.write(data.replace(b"2000-01-01,105.2960", b"2000-01-01,305.2960"))
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert csv.stat().st_size == st.st_size and csv.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(SnapshotError, match="checksum mismatch for EXJPUS.csv"):
        partitions.verify(snap, settings)
    csv.write_bytes(data)  # back as published, then parsed: a verify trusts the stat of a file whose parse is cached
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns))
    partitions.verify(snap, settings)
    parse.parse_to_cache(settings, all_sources()["fred-exjpus"], snap)
    assert partitions.verify(snap, settings) == 0


@pytest.mark.parametrize("error", ["duckdb", "os"])
def test_a_full_parse_cache_is_named_not_blamed_on_the_source(tmp_path, mirror, monkeypatch, error):
    """A parse cache on a full disk failed as "ParseError: imf-dots ...: parser failed unexpectedly (IOException ...
    No space left on device)", and the alert blamed the source (found by a QA pass): one line naming the folder."""
    import errno

    import duckdb
    from jlac import parse
    from jlac.errors import JlacError, ParseError
    from jlac.sources import all_sources

    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(mirror,),
                        output=tmp_path / "out", cache=tmp_path / "cache")
    source = all_sources()["fred-exjpus"]
    snap = latest_snapshot(source.name, settings)

    def full(con, source, snapshot, tmp):
        if error == "os":
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        raise duckdb.IOException(f'IO Error: Could not write file "{tmp}": No space left on device')

    monkeypatch.setattr(parse, "_parse_into", full)
    with pytest.raises(JlacError) as caught:
        parse.parse_to_cache(settings, source, snap)
    assert not isinstance(caught.value, ParseError)
    assert str(caught.value) == (f"no space left on the device of {tmp_path / 'cache' / 'fred-exjpus'} while writing "
                                 f"the parse of fred-exjpus {snap.id}: free space there (or set JLAC_CACHE to a folder "
                                 "with room)")


def test_a_symbolic_link_to_nothing_is_named_as_such(tmp_path, mirror):
    """A source folder or a data file that is a link loop read as "no snapshot found ... fetch it" or "missing file"
    (found by a QA pass)."""
    from jlac import partitions

    vintage = _copy_fred(tmp_path / "m", mirror)
    csv = vintage / "EXJPUS.csv"
    csv.unlink()
    csv.symlink_to(csv)  # a loop
    with pytest.raises(SnapshotError, match=r"EXJPUS.csv \(listed in SNAPSHOT.yml\) is a symbolic link to no file"):
        verify(load_snapshot(vintage))
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store",
                        mirrors=(tmp_path / "m",), output=tmp_path / "out", cache=tmp_path / "cache")
    with pytest.raises(SnapshotError, match=r"is a symbolic link to no file"):
        partitions.verify(load_snapshot(vintage), settings)
    loop = tmp_path / "m" / "imf-dots"
    loop.symlink_to(loop)
    with pytest.raises(SnapshotError, match=r"^imf-dots: .*/m/imf-dots is a symbolic link to no folder \(broken, or a "
                                            r"loop\)"):
        list_vintages("imf-dots", settings)


def test_a_store_folder_that_is_no_source_is_named_with_the_source_it_was_meant_for(tmp_path, mirror, caplog):
    """Found by a QA pass (a contributor's new source): a snapshot folder spelt as the table (fred_exjpus) was
    ignored, and the refresh said only "no snapshot" of the source."""
    from jlac.cli import app
    from jlac.plan import discover
    from jlac.snapshots import unknown_folders
    from jlac.sources import all_sources
    from typer.testing import CliRunner

    store = tmp_path / "store"
    shutil.copytree(next((mirror / "fred-exjpus").iterdir()), store / "fred_exjpus" / "2025-05-27")
    (store / "notes").mkdir()
    (store / ".fetching").mkdir()  # hidden: a fetch's staging, not a source
    (store / "fred-exjpus" / "2099-01-01").mkdir(parents=True)  # a copy under way: its manifest comes last
    (store / "fred-exjpus" / ".incoming-x").mkdir()
    settings = Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=store, mirrors=(mirror,),
                        output=tmp_path / "out", cache=tmp_path / "cache")
    names = list(all_sources())
    lines = unknown_folders(settings, names)
    assert lines == [
        f"{store / 'fred-exjpus' / '2099-01-01'} has no SNAPSHOT.yml, so it is not read (a copy still under way, or "
        "its manifest lost): fred-exjpus's newest vintage with one, if any, is used",
        f"{store / 'fred_exjpus'} is no registered source's folder, so its snapshots are not read (the folder of "
        f"source 'fred-exjpus' is {store / 'fred-exjpus'})",
        f"{store / 'notes'} is no registered source's folder, so its snapshots are not read (a snapshot store holds "
        "<source name>/<vintage>/SNAPSHOT.yml; `jlac sources` lists the names)"]
    # the mirror's folders are every one a source's
    assert unknown_folders(Settings(warehouse=settings.warehouse, snapshots=tmp_path / "none", mirrors=(mirror,),
                                    output=tmp_path / "out"),
                           names) == []
    with caplog.at_level("WARNING"):
        discover(settings)
    assert f"{store / 'fred_exjpus'} is no registered source's folder" in caplog.text
    env = {"JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_SNAPSHOTS": str(store), "JLAC_MIRROR": str(mirror)}
    result = CliRunner().invoke(app, ["sources"], env=env)
    assert result.exit_code == 0 and "fred_exjpus is no registered source's folder" in result.stdout


def test_an_unlisted_file_in_a_subfolder_is_named(tmp_path, mirror):
    """A vintage keeping its files in subfolders (Comtrade's oil/ and wood/): a file added beside a listed one there
    is refused as one added at the top is (the scan covers every level; found unchecked by a mutation pass)."""
    vintage = _copy_fred(tmp_path, mirror)
    (vintage / "series").mkdir()
    (vintage / "EXJPUS.csv").rename(vintage / "series" / "EXJPUS.csv")
    write_manifest(vintage, "fred-exjpus")
    verify(load_snapshot(vintage))  # listed as series/EXJPUS.csv: verified
    (vintage / "series" / "extra.csv").write_text("observation_date,EXJPUS\n")
    (vintage / "series" / "deeper").mkdir()
    (vintage / "series" / "deeper" / "notes.txt").write_text("x")
    with pytest.raises(SnapshotError) as info:
        verify(load_snapshot(vintage))
    assert "unlisted file series/extra.csv (not in SNAPSHOT.yml)" in str(info.value)
    assert "unlisted file series/deeper/notes.txt" in str(info.value)


def test_a_pin_back_to_an_earlier_vintage_is_planned_as_such_not_as_new(tmp_path):
    """The runbook's way back from a wrong release (`--pin <source>=<older vintage>`) was planned as "new snapshot(s)
    of <source>" (found by a QA pass): the plan names the earlier vintage and the published one."""
    from jlac import plan

    snaps = {}
    for vintage in ("2026-01-01", "2026-02-01"):
        folder = tmp_path / "fred-exjpus" / vintage
        folder.mkdir(parents=True)
        (folder / "a.csv").write_text(f"x\n{vintage[5:7]}\n", encoding="utf-8")
        write_manifest(folder, "fred-exjpus")
        snaps[vintage] = {"fred-exjpus": load_snapshot(folder)}
    published = plan.inputs_of(snaps["2026-02-01"], "code")
    back = plan.make_plan(snaps["2026-01-01"], plan.inputs_of(snaps["2026-01-01"], "code"), published)
    assert (back.mode, back.changed) == ("incremental", ["fred-exjpus"])
    assert back.reason == "an earlier snapshot of fred-exjpus (2026-01-01; published: 2026-02-01)"
    forward = plan.make_plan(snaps["2026-02-01"], plan.inputs_of(snaps["2026-02-01"], "code"),
                             plan.inputs_of(snaps["2026-01-01"], "code"))
    assert forward.reason == "new snapshot(s) of fred-exjpus"
    # a warehouse that recorded the bare sha256 (before 4 December) says nothing of vintages: not "earlier"
    bare = {**published, "source:fred-exjpus": published["source:fred-exjpus"].split("/")[1]}
    assert plan.make_plan(snaps["2026-01-01"], plan.inputs_of(snaps["2026-01-01"], "code"), bare).reason == \
        "new snapshot(s) of fred-exjpus"
    # the published vintage with other content (a re-issued manifest; for the top-30 file, a changed earlier year it
    # reads) is not "new snapshot(s)" either
    folder = tmp_path / "fred-exjpus" / "2026-02-01"
    (folder / "a.csv").write_text("x\n99\n", encoding="utf-8")
    write_manifest(folder, "fred-exjpus")
    reissued = {"fred-exjpus": load_snapshot(folder)}
    again = plan.make_plan(reissued, plan.inputs_of(reissued, "code"), published)
    assert (again.mode, again.changed) == ("incremental", ["fred-exjpus"])
    assert again.reason == ("the published vintage of fred-exjpus (2026-02-01) with other content (its files or "
                            "manifest, or an earlier vintage it reads)")
