"""The revisions hook on two tiny warehouses: a changed value, a withdrawn one, and an addition (not a revision)."""

from __future__ import annotations

import duckdb
from jlac.publish_hooks import revisions

FACT = ("CREATE TABLE marts.{t} (source VARCHAR, reporter_iso3 VARCHAR, {p} VARCHAR, flow VARCHAR, year INTEGER, "
        "value_usd DOUBLE, value_jpy DOUBLE, vintage VARCHAR)")
REVISIONS = ("CREATE TABLE marts.trade_revisions (source VARCHAR, reporter_iso3 VARCHAR, partner_iso3 VARCHAR, "
             "partner_aggregate VARCHAR, flow VARCHAR, year INTEGER, old_vintage VARCHAR, old_value DOUBLE, "
             "new_vintage VARCHAR, new_value DOUBLE, change_pct DOUBLE, old_source VARCHAR, new_source VARCHAR, "
             "unit VARCHAR, recorded_by VARCHAR, published_run VARCHAR, published_at TIMESTAMPTZ)")


def _warehouse(path, rows):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(FACT.format(t="fct_trade_annual", p="partner_iso3"))
        con.execute(FACT.format(t="fct_trade_annual_by_aggregate", p="partner_aggregate"))
        con.execute(REVISIONS)
        con.executemany("INSERT INTO marts.fct_trade_annual VALUES (?, 'JPN', ?, 'export', ?, ?, ?, ?)", rows)
    return path


def test_changed_and_withdrawn_values_are_revisions_additions_are_not(tmp_path):
    old = _warehouse(tmp_path / "old.duckdb", [
        ("imf-dots", "MEX", 2020, 8.85e9, None, "2022-02-02"),
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),
        ("imf-dots", "CHL", 2020, 1.5e9, None, "2022-02-02"),
    ])
    new = _warehouse(tmp_path / "new.duckdb", [
        ("imf-imts", "MEX", 2020, 8.90e9, None, "2026-11-01"),  # another source takes the year over
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),  # unchanged
        ("imf-imts", "CHL", 2021, 1.6e9, None, "2026-11-01"),  # new key: an addition
        # CHL 2020 is gone: a withdrawn published value
    ])
    assert revisions.record(new, old, "run-2") == 2
    with duckdb.connect(str(new), read_only=True) as con:
        rows = con.execute("SELECT partner_iso3, year, unit, old_source, old_value, new_source, new_value, change_pct "
                           "FROM marts.trade_revisions ORDER BY partner_iso3").fetchall()
    assert rows == [("CHL", 2020, "USD", "imf-dots", 1.5e9, None, None, None),
                    ("MEX", 2020, "USD", "imf-dots", 8.85e9, "imf-imts", 8.90e9, 0.565)]
    # the next publish carries these rows forward and adds none when nothing changes
    again = _warehouse(tmp_path / "again.duckdb", [
        ("imf-imts", "MEX", 2020, 8.90e9, None, "2026-11-01"),
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),
        ("imf-imts", "CHL", 2021, 1.6e9, None, "2026-11-01"),
    ])
    assert revisions.record(again, new, "run-3") == 0
    with duckdb.connect(str(again), read_only=True) as con:
        assert con.execute("SELECT count(*), min(published_run) FROM marts.trade_revisions").fetchone() == (2, "run-2")


def test_a_source_without_yen_taking_a_year_over_changes_the_source_and_removes_no_yen(tmp_path):
    """IMF DOTS gains 2021, which MOF's yen file (ranked after it) also has: the dollar value changes source (a
    revision when it differs), the yen is not "removed by the publisher" (found by a QA pass: alerted and shown by
    `jlac status` as 60 values removed while MOF's file still had them). A yen value whose key is gone is still
    recorded as removed."""
    old = _warehouse(tmp_path / "old.duckdb", [
        ("mof-trade-by-country-top30", "MEX", 2021, 10.8e9, 1189.5e9, "2026-10-04"),
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),
    ])
    new = _warehouse(tmp_path / "new.duckdb", [
        ("imf-dots", "MEX", 2021, 10.9e9, None, "2026-12-01"),  # DOTS outranks MOF: dollars only
        # BRA 2021 gone from every source
    ])
    assert revisions.record(new, old, "run-2") == 3
    with duckdb.connect(str(new), read_only=True) as con:
        rows = con.execute("SELECT partner_iso3, unit, old_source, new_source, new_value FROM marts.trade_revisions "
                           "ORDER BY partner_iso3, unit").fetchall()
    assert rows == [("BRA", "JPY", "mof-trade-by-country-top30", None, None),
                    ("BRA", "USD", "mof-trade-by-country-top30", None, None),
                    ("MEX", "USD", "mof-trade-by-country-top30", "imf-dots", 10.9e9)]
    assert revisions.removed(new, "run-2") == [("mof-trade-by-country-top30", 2, [2021])]


def test_a_first_publish_records_nothing(tmp_path):
    new = _warehouse(tmp_path / "new.duckdb", [("imf-dots", "MEX", 2020, 8.85e9, None, "2022-02-02")])
    assert revisions.record(new, None, "run-1") == 0


def test_removed_values_are_alerted_and_shown_by_status(tmp_path, monkeypatch):
    """A publish that drops published values (a release no longer covering a year) alerts naming source and years,
    and `jlac status` flags the source; a publish that only revises values alerts nothing."""
    import json
    from types import SimpleNamespace

    from jlac.config import Settings
    from jlac.ops import alerts, status
    from jlac.publish_hooks import PublishContext

    old = _warehouse(tmp_path / "old.duckdb", [
        ("mof-trade-by-country-top30", "BRA", 2021, 4.187e9, 459.6e9, "2026-10-04"),
        ("mof-trade-by-country-top30", "MEX", 2021, 9.1e9, 1000e9, "2026-10-04"),
        ("imf-dots", "CHL", 2020, 1.5e9, None, "2022-02-02"),
    ])
    new = _warehouse(tmp_path / "new.duckdb", [("imf-dots", "CHL", 2020, 1.6e9, None, "2022-02-02")])
    assert revisions.record(new, old, "run-2") == 5  # BRA and MEX 2021 in USD and JPY, CHL's revision
    settings = Settings(warehouse=new, snapshots=tmp_path / "store", mirrors=(), output=tmp_path / "out")
    sent = []
    monkeypatch.setattr(alerts, "send", lambda payload, **kw: sent.append(payload) or True)
    details = revisions.HOOK.after(PublishContext(settings, SimpleNamespace(run_id="run-2"), new, old))
    assert details == {"alerted": True, "removed": {"mof-trade-by-country-top30": 4}}
    [payload] = sent
    assert payload["state"] == "values removed"
    assert "mof-trade-by-country-top30: 4 value(s) of 2021" in payload["text"] and "run-2" in payload["text"]
    assert "imf-dots" not in payload["text"]  # revised, not removed
    assert "quarantine" not in payload["text"]
    # the same publish having set rows of the source aside (a country renamed in the release): said with the values
    sent.clear()
    quarantine = {"mof-trade-by-country-top30": {"rows": 2, "values": "'Brasil, Federative Rep.' (2 rows)"}}
    revisions.HOOK.after(PublishContext(settings, SimpleNamespace(run_id="run-2", quarantine=quarantine), new, old))
    assert "mof-trade-by-country-top30: 4 value(s) of 2021 (this release also set 2 of its rows aside in " \
           "quarantine.rows, unknown country names: 'Brasil, Federative Rep.' (2 rows); the values may be those " \
           "rows under a new name" in sent[0]["text"]
    # status reads it from the ledger's record of the last publish
    runs = [{"run_id": "run-2", "status": "completed", "snapshots": [],
             "hooks": [{"hook": "revisions", "status": "ok", "details": details}]}]
    assert status._removed("mof-trade-by-country-top30", runs) == ("run-2", 4)
    assert status._removed("imf-dots", runs) is None
    later = [*runs, {"run_id": "run-3", "status": "completed", "snapshots": [], "hooks": []}]
    assert status._removed("mof-trade-by-country-top30", later) is None  # only the last publish counts
    json.dumps(details)  # the run record stores it as JSON
    # nothing removed: no alert
    again = _warehouse(tmp_path / "again.duckdb", [("imf-dots", "CHL", 2020, 1.6e9, None, "2022-02-02")])
    revisions.record(again, new, "run-3")
    sent.clear()
    settings = Settings(warehouse=again, snapshots=tmp_path / "store", mirrors=(), output=tmp_path / "out")
    assert revisions.HOOK.after(PublishContext(settings, SimpleNamespace(run_id="run-3"), again, new)) is None
    assert sent == []


def _two_publishes(tmp_path):
    """A published warehouse whose trade_revisions holds two publishes of the same old and new vintage."""
    path = tmp_path / "wh" / "jlac.duckdb"
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(REVISIONS)
        for run, pct in (("20261205T214700019-21464", 0.5), ("20261206T003747365-31717", 0.754)):
            con.executemany(
                "INSERT INTO marts.trade_revisions VALUES ('mof-trade-by-country-top30', 'JPN', ?, NULL, ?, 2024, "
                "'2026-10-04', ?, '2026-10-04', ?, ?, 'mof-trade-by-country-top30', 'mof-trade-by-country-top30', "
                "'USD', 'publish', ?, now())",
                [(p, flow, v, v * (1 + pct / 100), pct, run)
                 for p, v in (("ARE", 12_622_882_327.0), ("AUS", 52_526_166_089.0)) for flow in ("export", "import")])
    return {"JLAC_WAREHOUSE": str(path), "JLAC_MIRROR": str(tmp_path / "none")}


def test_revisions_all_names_the_publish_of_each_revision_and_its_order(tmp_path):
    """With --all, two publishes of the same old and new vintage read the same; the help and footer said "newest
    first" and "the largest changes first" of one order (found by a QA pass)."""
    from jlac.cli import app
    from typer.testing import CliRunner

    env = _two_publishes(tmp_path)
    result = CliRunner().invoke(app, ["revisions", "--all", "--limit", "3"], env={**env, "COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "publish run" in result.output
    rows = [" ".join(line.split()) for line in result.output.splitlines() if line.startswith("mof-")]
    assert [r.split()[-1] for r in rows] == ["20261206T003747365-31717"] * 3, result.output  # the larger change first
    assert "3 of 8 revisions shown (newest vintage first, then the largest changes); --limit 8 shows them all" in (
        " ".join(result.output.split()))
    latest = CliRunner().invoke(app, ["revisions"], env={**env, "COLUMNS": "200"}).output
    assert "publish run" not in latest  # no meta.runs: every row, but only --all asks which publish
    help_text = " ".join(CliRunner().invoke(app, ["revisions", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "newest vintage first, then the largest changes" in help_text


def test_revisions_at_80_columns_breaks_no_number_across_lines(tmp_path):
    """At 80 columns rich wrapped every cell: 12,622,882,327 read as "12,/622/,88/2,3/27" (found by a QA pass). Each
    value is whole on its line; the columns of one value in every row are said once in the title."""
    from jlac.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["revisions", "--all"], env={**_two_publishes(tmp_path), "COLUMNS": "80",
                                                                               "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    said = " ".join(result.output.split())
    assert "every row: source, old source, new source mof-trade-by-country-top30; unit USD" in said, said
    shown = CliRunner().invoke(app, ["revisions", "--all", "--limit", "2"],
                               env={**_two_publishes(tmp_path / "b"), "COLUMNS": "80", "TTY_COMPATIBLE": "1"})
    assert "every row shown: source" in " ".join(shown.output.split()), shown.output
    assert "publish run: left out to fit 80 columns; a wider terminal shows them" in said, said
    for partner, flow, old in (("ARE", "export", "12,622,882,327"), ("AUS", "import", "52,526,166,089")):
        new = f"{float(old.replace(',', '')) * 1.00754:,.0f}"
        [row] = [x for x in lines if x.startswith(f"JPN      {partner}     {flow} ") and "+0.754" in x]
        assert f" {old} " in row and f" {new} " in row, (old, new, result.output)


def test_a_value_changing_a_hundredfold_stops_the_publish_unless_accepted(tmp_path, monkeypatch):
    """Found by a QA pass: a MOF top-30 release read in million yen under its thousand-yen header (every value
    / 1000), and one cut inside its last value (Russia's 2025 imports 828,081,800 -> 82 thousand yen), were both
    published, the only trace a -99.9 % row in `jlac revisions`. A substantial value changing 100-fold either way
    stops the publish, naming the source and values, unless JLAC_ACCEPT_REVISIONS names the source."""
    from types import SimpleNamespace

    import pytest
    from jlac.errors import JlacError, SettingError

    old = _warehouse(tmp_path / "old.duckdb", [
        ("mof-trade-by-country-top30", "MEX", 2024, 12.3e9, 1858e9, "2026-10-04"),
        ("mof-trade-by-country-top30", "RUS", 2025, 5.6e9, 828_081_800e3, "2026-10-04"),
        ("imf-dots", "HTI", 2020, 4e3, None, "2022-02-02"),  # a few thousand dollars: free to grow 100-fold
        ("imf-dots", "CHL", 2020, 1.5e9, None, "2022-02-02"),
    ])
    new = _warehouse(tmp_path / "new.duckdb", [
        ("mof-trade-by-country-top30", "MEX", 2024, 12.3e9, 1.858e9, "2026-12-01"),  # thousand -> million
        ("mof-trade-by-country-top30", "RUS", 2025, 5.6e9, 82e3, "2026-12-01"),  # cut inside the value
        ("imf-dots", "HTI", 2020, 4e5, None, "2022-02-02"),  # below US$ 1 m, old and new
        ("imf-dots", "CHL", 2020, 1.6e9, None, "2022-02-02"),  # an ordinary revision
    ])
    ctx = SimpleNamespace(build=new, previous=old, record=SimpleNamespace(run_id="run-2"))
    with pytest.raises(JlacError) as exc:
        revisions.before(ctx)  # the publish step's hook: records, then refuses
    said = str(exc.value)
    assert "mof-trade-by-country-top30: 2 value(s), e.g. JPN->RUS export 2025: 828,081,800,000 -> 82,000 JPY" in said
    assert "JPN->MEX export 2024: 1,858,000,000,000 -> 1,858,000,000 JPY" in said
    assert "HTI" not in said and "CHL" not in said and "Nothing was published" in said
    assert "JLAC_ACCEPT_REVISIONS=mof-trade-by-country-top30" in said
    monkeypatch.setenv("JLAC_ACCEPT_REVISIONS", "mof-trade-by-country-top30")
    revisions.before(ctx)  # a reviewer accepted the release
    monkeypatch.setenv("JLAC_ACCEPT_REVISIONS", "mof-top30")
    with pytest.raises(SettingError, match="JLAC_ACCEPT_REVISIONS: no source named mof-top30"):
        revisions.before(ctx)


def test_the_publishing_run_is_the_last_in_the_ledger_not_the_latest_started(tmp_path):
    """A clock set back between two publishes: the second run started "before" the first. The published run was
    read by start time, so `jlac revisions` said "no revisions in the latest publish (run <the first>)" and the site
    named the first run (found by a QA pass). meta.runs keeps the ledger's order (seq) and the publisher is last."""
    from jlac import ledger, meta
    from jlac.config import Settings
    from jlac.revisions import published_run
    from jlac.serving.load import published_version

    settings = Settings(warehouse=tmp_path / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(), output=tmp_path / "o")
    first = ledger.RunRecord(run_id="20261206T143852542-1", started="2026-12-06T14:38:52.542+00:00")
    first.finish("completed")
    ledger.append(settings.run_ledger, first)
    second = ledger.RunRecord(run_id="20261206T103018989-2", started="2026-12-06T10:30:18.989+00:00")
    second.finish("completed")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA meta")
        meta.write_meta(con, settings, second, [], {})
        assert con.execute("SELECT run_id, seq FROM meta.runs ORDER BY seq").fetchall() == [
            ("20261206T143852542-1", 1), ("20261206T103018989-2", 2)]
        assert published_run(con) == "20261206T103018989-2"
    with duckdb.connect() as con:
        con.execute("ATTACH ? AS w (READ_ONLY)", [str(settings.warehouse)])
        assert published_version(con) == "20261206T103018989-2"
        # a warehouse of an older jlac, without seq: by start time, as before
        con.execute("CREATE TABLE runs AS SELECT * EXCLUDE (seq) FROM w.meta.runs")
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE TABLE meta.runs AS SELECT * FROM runs")
        assert published_run(con) == "20261206T143852542-1"
        assert published_run(duckdb.connect()) is None  # no meta.runs at all


def test_increases_and_the_limits_are_judged_and_accepting_one_source_accepts_only_it(tmp_path, monkeypatch):
    """A hundredfold increase (a unit read as thousands where it is millions) is refused as a decrease is, also when
    only the new value is substantial; the factor and the floor are inclusive; JLAC_ACCEPT_REVISIONS naming one
    source leaves another's implausible values refused (each found unchecked by a mutation pass)."""
    from types import SimpleNamespace

    import pytest
    from jlac.errors import JlacError

    old = _warehouse(tmp_path / "old.duckdb", [
        ("imf-dots", "CHL", 2020, 1.5e9, None, "2022-02-02"),
        ("imf-dots", "PER", 2020, 5e5, None, "2022-02-02"),
        ("imf-dots", "ARG", 2020, 2e9, None, "2022-02-02"),
        ("imf-dots", "BRA", 2020, 1e6, None, "2022-02-02"),
        ("imf-dots", "COL", 2020, 999_999, None, "2022-02-02"),
        ("imf-dots", "URY", 2020, 3e9, None, "2022-02-02"),
        ("imf-dots", "PRY", 2020, 0.0, None, "2022-02-02"),
        ("mof-trade-by-country-top30", "MEX", 2024, 12.3e9, 1858e9, "2026-10-04"),
    ])
    new = _warehouse(tmp_path / "new.duckdb", [
        ("imf-dots", "CHL", 2020, 1.5e11, None, "2022-02-02"),  # x100: refused
        ("imf-dots", "PER", 2020, 5e8, None, "2022-02-02"),  # x1000, only the new value substantial: refused
        ("imf-dots", "ARG", 2020, 2e7, None, "2022-02-02"),  # exactly / 100: refused
        ("imf-dots", "BRA", 2020, 1e4, None, "2022-02-02"),  # exactly the floor, / 100: refused
        ("imf-dots", "COL", 2020, 9_999, None, "2022-02-02"),  # under the floor, old and new: free
        ("imf-dots", "URY", 2020, 3.01e7, None, "2022-02-02"),  # just under / 100: a revision
        ("imf-dots", "PRY", 2020, 2e6, None, "2022-02-02"),  # a zero filled in: a revision, no unit read otherwise
        ("mof-trade-by-country-top30", "MEX", 2024, 12.3e9, 1.858e9, "2026-12-01"),
    ])
    ctx = SimpleNamespace(build=new, previous=old, record=SimpleNamespace(run_id="run-2"))
    with pytest.raises(JlacError) as exc:
        revisions.before(ctx)
    said = str(exc.value)
    assert "imf-dots: 4 value(s), e.g. JPN->PER export 2020: 500,000 -> 500,000,000 USD" in said  # largest first
    assert "COL" not in said and "URY" not in said and "PRY" not in said
    assert {(r[0], r[2], r[5], r[6]) for r in revisions.implausible(new, "run-2")} == {
        ("imf-dots", "PER", 5e5, 5e8), ("imf-dots", "CHL", 1.5e9, 1.5e11), ("imf-dots", "ARG", 2e9, 2e7),
        ("imf-dots", "BRA", 1e6, 1e4), ("mof-trade-by-country-top30", "MEX", 1858e9, 1.858e9)}
    assert "mof-trade-by-country-top30: 1 value(s)" in said
    monkeypatch.setenv("JLAC_ACCEPT_REVISIONS", "mof-trade-by-country-top30")
    with pytest.raises(JlacError) as exc:
        revisions.before(ctx)
    said = str(exc.value)
    assert "imf-dots: 4 value(s)" in said and "mof-trade-by-country-top30" not in said.split("Nothing was published")[0]
    assert "JLAC_ACCEPT_REVISIONS=imf-dots " in said
    monkeypatch.setenv("JLAC_ACCEPT_REVISIONS", "imf-dots, mof-trade-by-country-top30")
    revisions.before(ctx)
