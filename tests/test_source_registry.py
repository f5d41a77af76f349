"""One name per source, one folder per source: the registry finds every folder, refuses a misnamed one, and
`jlac sources` / `jlac fetch` speak the source names (old connector names only as deprecated aliases)."""

from __future__ import annotations

import importlib
import logging
import textwrap

import pytest
from jlac import parse
from jlac.cli import app
from jlac.connectors import connector, connectors, fetch_all, old_names, resolve
from jlac.sources import SOURCES_DIR, RegistryError, all_sources, part, scan
from typer.testing import CliRunner

LIVE = ["imf-imts", "fred-exjpus", "mof-customs", "estat-trade", "mof-hs9-country", "comtrade-v1",
        "oecd-dac2a-api", "oecd-crs-api", "aiddata-gcdf3-projects"]  # the fetch order of `jlac fetch`


def test_every_folder_registers_under_its_one_name():
    sources = all_sources()
    folders = sorted(p.name for p in SOURCES_DIR.iterdir() if (p / "source.py").is_file())
    # 19 today; a new source adds its folder and nothing here (found by a QA pass: this said == 19)
    assert len(folders) >= 19 and sorted(s.table for s in sources.values()) == folders
    for name, src in sources.items():
        assert src.name == name and src.table == name.replace("-", "_") == src.folder.name
        assert src.folder == SOURCES_DIR / src.table and src.package == f"jlac.sources.{src.table}"
        assert src.raw_table == f"raw.{src.table}"
        assert part(src, "checks") is not None, f"{name} has no checks.py"
        assert (src.folder / "release.yml").is_file(), f"{name} has no release.yml"
    assert sources["fred-exjpus"].folder.name == "fred_exjpus" and "mof-trade-by-country-top30" in sources


def test_connectors_are_found_in_their_source_folders_in_fetch_order():
    live = connectors()
    assert list(live) == LIVE
    assert set(LIVE) == {n for n, s in all_sources().items() if (s.folder / "connector.py").is_file()}
    for name, module in live.items():
        assert module.__name__ == f"jlac.sources.{name.replace('-', '_')}.connector" and module.SOURCE_NAME == name
    assert part(all_sources()["imf-dots"], "connector") is None  # a mirror-only source has no connector


def test_old_connector_names_are_deprecated_aliases(caplog):
    assert old_names() == {"imf_imts": "imf-imts", "fred": "fred-exjpus", "mof_customs": "mof-customs",
                           "estat": "estat-trade", "estat_hs9_country": "mof-hs9-country", "comtrade": "comtrade-v1",
                           "oecd": "oecd-dac2a-api", "oecd_crs": "oecd-crs-api", "aiddata": "aiddata-gcdf3-projects"}
    with caplog.at_level(logging.WARNING, logger="jlac.connectors"):
        assert resolve("fred-exjpus") == "fred-exjpus"
        assert not caplog.records
        assert resolve("oecd_crs") == "oecd-crs-api"
        assert connector("estat").SOURCE_NAME == "estat-trade"
    assert "'oecd_crs' is the deprecated connector name of the source 'oecd-crs-api'" in caplog.text
    assert "use `jlac fetch estat-trade`" in caplog.text
    with pytest.raises(KeyError, match="no live connector for 'imf-dots'; live sources: imf-imts, fred-exjpus"):
        resolve("imf-dots")


def test_fetch_all_takes_source_names_and_old_names(jlac_env):
    got = fetch_all(["fred", "oecd-crs-api"], jlac_env, offline=True)
    assert [(r.source, r.status) for r in got] == [("fred-exjpus", "skipped"), ("oecd-crs-api", "skipped")]
    assert [r.source for r in fetch_all(None, jlac_env, offline=True)] == LIVE
    with pytest.raises(KeyError, match="no live connector for fredd"):
        fetch_all(["fredd"], jlac_env, offline=True)


def _toy_package(root, package: str, folders: dict[str, dict[str, str]]) -> None:
    """A package ``package`` under ``root`` with one sub-folder per entry of ``folders`` (file name -> text)."""
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    for folder, files in folders.items():
        (root / package / folder).mkdir()
        for name, text in ({"__init__.py": "", **files} if files else {}).items():  # no files: not a package
            if text is not None:  # None: leave that file out
                (root / package / folder / name).write_text(textwrap.dedent(text))


TOY_SOURCE = """
    from jlac.sources import Column, Source

    SOURCE = Source(name="toy-source", description="a toy", columns=(Column("x", "INTEGER", "x"),),
                    parse=lambda snapshot, con: con.sql("SELECT 1 AS x"))
"""


def test_a_folder_named_after_its_source_registers(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    _toy_package(tmp_path, "toyreg_ok", {"toy_source": {"source.py": TOY_SOURCE, "checks.py": "def checks(s, n):\n"
                                                        "    return []\n"}, "notes": {}})
    found = scan(tmp_path / "toyreg_ok", "toyreg_ok")
    assert list(found) == ["toy-source"]  # a folder without Python files (notes/) is not a source
    toy = found["toy-source"]
    assert (toy.table, toy.package, toy.folder) == ("toy_source", "toyreg_ok.toy_source", tmp_path / "toyreg_ok" /
                                                    "toy_source")
    assert part(toy, "checks").checks(toy, None) == [] and part(toy, "connector") is None


def test_a_folder_whose_name_disagrees_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    _toy_package(tmp_path, "toyreg_bad", {"toy_sauce": {"source.py": TOY_SOURCE}})
    with pytest.raises(RegistryError, match=r"toyreg_bad/toy_sauce: its SOURCE is named 'toy-source', so its "
                                            r"folder must be 'toy_source', not 'toy_sauce'"):
        scan(tmp_path / "toyreg_bad", "toyreg_bad")


def test_a_source_name_with_an_underscore_is_refused(tmp_path, monkeypatch):
    """'toy_source' as the name passed (its table is the folder's name too) and was published as a second source
    beside 'toy-source', the first one's data removed (found by a QA pass)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    _toy_package(tmp_path, "toyreg_under", {"toy_source": {"source.py": TOY_SOURCE.replace('"toy-source"',
                                                                                           '"toy_source"')}})
    with pytest.raises(RegistryError, match=r"toyreg_under/toy_source: its SOURCE name 'toy_source' is not lowercase "
                                            r"letters and digits in words joined by '-' \(e.g. 'toy-source'\)"):
        scan(tmp_path / "toyreg_under", "toyreg_under")


@pytest.mark.parametrize(("package", "files", "message"), [
    ("toyreg_nosource", {"checks.py": "def checks(s, n):\n    return []\n"}, "toyreg_nosource/half has no source.py"),
    ("toyreg_noSOURCE", {"source.py": "X = 1\n"}, "toyreg_noSOURCE/half: source.py defines no SOURCE"),
    # found by a QA pass: listed by `jlac sources`, then a TypeError traceback in the refresh (a namespace package)
    ("toyreg_noinit", {"__init__.py": None, "source.py": TOY_SOURCE}, "toyreg_noinit/half has no __init__.py"),
])
def test_a_half_made_folder_is_refused_naming_it(tmp_path, monkeypatch, package, files, message):
    monkeypatch.syspath_prepend(str(tmp_path))
    _toy_package(tmp_path, package, {"half": files})
    with pytest.raises(RegistryError, match=message):
        scan(tmp_path / package, package)


def test_a_module_that_cannot_be_imported_is_named_with_its_line(tmp_path, monkeypatch):
    """Found by a QA pass (a contributor): a syntax error in source.py was a 64-line traceback from every command, a
    misspelt import in checks.py two tracebacks from the refresh."""
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = textwrap.dedent(TOY_SOURCE).replace("SOURCE = Source(", "def parse(snapshot, con)\n    pass\n\n"
                                                                       "SOURCE = Source(")
    _toy_package(tmp_path, "toyreg_syntax", {"toy_source": {"source.py": broken}})
    with pytest.raises(RegistryError) as err:
        scan(tmp_path / "toyreg_syntax", "toyreg_syntax")
    folder = tmp_path / "toyreg_syntax" / "toy_source"
    assert str(err.value) == (f"source folder {folder}: source.py cannot be imported: SyntaxError: expected ':' at "
                              f"{folder / 'source.py'} line 4")
    _toy_package(tmp_path, "toyreg_checks", {"toy_source": {
        "source.py": TOY_SOURCE, "checks.py": "from jlac.checks import schema_expectations\n"}})
    toy = scan(tmp_path / "toyreg_checks", "toyreg_checks")["toy-source"]
    folder = tmp_path / "toyreg_checks" / "toy_source"
    with pytest.raises(RegistryError, match=rf"^source toy-source: {folder / 'checks'}.py cannot be imported: "
                                            r"ImportError: cannot import name 'schema_expectations' from 'jlac.checks' "
                                            rf".* at {folder / 'checks.py'} line 1$"):
        part(toy, "checks")


def test_checks_that_fail_before_running_are_one_line_naming_the_line(tmp_path, monkeypatch):
    """Found by a QA pass: an expectation given a wrong argument (col= for column=) was two tracebacks ending in
    pydantic's multi-line error."""
    from jlac.errors import JlacError
    from jlac.snapshots import Snapshot
    from jlac.validation import validate_source

    monkeypatch.syspath_prepend(str(tmp_path))
    checks = """
        import great_expectations as gx
        from jlac.validation import Check

        def checks(source, snapshot):
            return [Check(name="x", query="SELECT 1 AS x",
                          expectations=[gx.expectations.ExpectColumnValuesToBeUnique(col="x")])]
    """
    _toy_package(tmp_path, "toyreg_gx", {"toy_source": {"source.py": TOY_SOURCE, "checks.py": checks}})
    toy = scan(tmp_path / "toyreg_gx", "toyreg_gx")["toy-source"]
    folder = tmp_path / "toyreg_gx" / "toy_source"
    snap = Snapshot(source="toy-source", vintage="2026-01-01", root=tmp_path, manifest={})
    with pytest.raises(JlacError) as err:
        validate_source(tmp_path / "none.duckdb", toy, snap)
    msg = str(err.value)
    assert msg.startswith(f"source toy-source: its checks ({folder / 'checks.py'}) failed before running: "
                          "ValidationError: ") and msg.endswith(f" at {folder / 'checks.py'} line 7")
    assert "\n" not in msg and "column" in msg


def test_parse_cache_key_covers_the_source_package_not_its_checks_or_connector():
    src = all_sources()["fred-exjpus"]
    used = [m.__name__ for m in parse._jlac_modules(importlib.import_module(f"{src.package}.source"),
                                                          importlib.import_module(src.package))]
    assert {"jlac.sources.fred_exjpus", "jlac.sources.fred_exjpus.source", "jlac.sources"} <= set(used)
    assert not {"jlac.sources.fred_exjpus.checks", "jlac.sources.fred_exjpus.connector"} & set(used)


def test_jlac_sources_lists_every_source(jlac_env, mirror):
    run = CliRunner().invoke(app, ["sources"], env={"COLUMNS": "80"})  # a plain terminal: nothing cut short
    assert run.exit_code == 0, run.output
    names = set(all_sources()) | {"source"}
    rows = {cells[0]: cells[1:] for cells in map(str.split, run.output.splitlines()) if cells and cells[0] in names}
    assert set(rows) == names and all(len(cells) == 6 for cells in rows.values()), run.output
    assert rows["source"] == ["live", "checks", "rhythm", "vintage", "of", "from"]
    assert rows["fred-exjpus"] == ["yes", "yes", "monthly", "2025-05-27", "1", "mirror"]
    assert rows["imf-dots"] == ["-", "yes", "frozen", "2022-02-02", "1", "mirror"]
    assert rows["mideplan-cooperation"] == ["-", "yes", "irregular", "-", "0", "-"]
    assert f"mirror: {mirror}" in run.output


def test_jlac_fetch_takes_a_source_name_or_an_old_name(jlac_env):
    run = CliRunner().invoke(app, ["fetch", "--offline", "fred", "imf-imts"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "fred-exjpus" in run.output and "imf-imts" in run.output and run.output.count("skipped") == 2
    # a registered source without a connector is not "unknown", and a typo is named as `jlac refresh` names it: one
    # line, exit 1 (exit 2 and other words before; found by a QA pass)
    run = CliRunner().invoke(app, ["fetch", "--offline", "imf-dots"], env={"COLUMNS": "200"})
    said = " ".join(run.output.split())
    assert run.exit_code == 1 and "imf-dots: no live connector (read from snapshots only" in said, run.output
    assert "live sources: imf-imts" in said and "unknown" not in said
    run = CliRunner().invoke(app, ["fetch", "--offline", "fred-exjpu"], env={"COLUMNS": "200"})
    said = " ".join(run.output.split())
    assert run.exit_code == 1 and "jlac: JlacError: unknown source(s) ['fred-exjpu']; 'fred-exjpu': did you mean " \
        "'fred-exjpus'?" in said and "live sources (with a connector): imf-imts" in said, run.output


def test_jlac_sources_names_a_mirror_that_is_missing_or_holds_no_snapshot(jlac_env, mirror, tmp_path):
    """A mistyped JLAC_MIRROR, or one a level too deep, listed every source without a vintage, exit 0, and the path
    was printed nowhere (found by a QA pass): every configured root is listed, with what is wrong with it."""
    env = {"COLUMNS": "300", "JLAC_MIRROR": f"{mirror}:{tmp_path / 'typo'}:{mirror / 'imf-dots'}"}
    run = CliRunner().invoke(app, ["sources"], env=env)
    assert run.exit_code == 0, run.output
    said = " ".join(run.output.split())
    assert f"mirror1: {mirror} " in said and f"mirror1: {mirror} (" not in said  # the one used: no note
    assert f"mirror2: {tmp_path / 'typo'} (no such folder: check JLAC_MIRROR)" in said
    assert f"mirror3: {mirror / 'imf-dots'} (no source's snapshot in it: a mirror holds " in said
    assert f"store: {jlac_env.snapshots} (empty: `jlac fetch` writes there)" in said


def test_jlac_sources_numbers_mirrors_without_the_store_or_a_repeat(jlac_env, mirror):
    """A repeated JLAC_MIRROR entry, or the store listed as a mirror, left "mirror2" alone, no mirror1 (QA pass)."""
    env = {"COLUMNS": "300", "JLAC_MIRROR": f"{jlac_env.snapshots}:{mirror}:{mirror}"}
    run = CliRunner().invoke(app, ["sources"], env=env)
    said = " ".join(run.output.split())
    assert f"mirror: {mirror}" in said and "mirror2" not in said and "mirror1" not in said, run.output
    rows = {cells[0]: cells[1:] for cells in map(str.split, run.output.splitlines()) if cells}
    assert rows["fred-exjpus"][-1] == "mirror", run.output
