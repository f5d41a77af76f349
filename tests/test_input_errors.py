"""Inputs jlac must read or refuse by name: files an imf-dots manifest lists, a parser's own bug, settings switches."""

from __future__ import annotations

import dataclasses
import re
import sys

import duckdb
import pytest
from conftest import IMF_DOTS, JAPAN_WORKBOOK, write_manifest
from jlac import parse
from jlac.config import Settings, env_flag, get_settings
from jlac.errors import UNEXPECTED, ParseError, SettingError
from jlac.snapshots import load_snapshot, verify
from jlac.sources import all_sources
from jlac.sources.imf_dots import source as imf_dots


def _dots_vintage(tmp_path, files: dict[str, bytes]):
    """An imf-dots vintage of the given files (real workbooks of the mirror under the names given), manifest sealed."""
    vintage = tmp_path / "imf-dots" / "2022-02-02"
    vintage.mkdir(parents=True)
    for name, data in files.items():
        (vintage / name).parent.mkdir(parents=True, exist_ok=True)
        (vintage / name).write_bytes(data)
    write_manifest(vintage, "imf-dots")
    snap = load_snapshot(vintage)
    verify(snap)  # what the refresh checks first: every file is as its manifest says
    return snap


@pytest.mark.parametrize("name", ["DOTS_43.xls", "DOTS_43.XLS", "DOTS_43.csv", "DOTS_43.xlsx.bak", "DOTS_43"])
def test_a_listed_dots_file_the_parser_does_not_read_is_refused_by_name(tmp_path, name):
    """DOTS_43.xlsx (Colombia) renamed DOTS_43.xls and resealed was verified, then skipped: Colombia's rows vanished
    with only a generic warning. Every listed file is now read or refused, naming it and what is expected."""
    snap = _dots_vintage(tmp_path, {"DOTS_101.xlsx": JAPAN_WORKBOOK.read_bytes(),
                                    name: (IMF_DOTS / "DOTS_43.xlsx").read_bytes()})
    with pytest.raises(ParseError) as err:
        imf_dots.parse(snap, duckdb.connect())
    msg = str(err.value)
    assert f"imf-dots imf-dots/2022-02-02: {name} is listed in SNAPSHOT.yml but is not an .xlsx workbook" in msg
    assert "one .xlsx workbook per reporter (sheets 'Exports, FOB' and 'Imports, CIF')" in msg


def test_notes_beside_the_workbooks_are_not_read_and_every_workbook_is(tmp_path):
    snap = _dots_vintage(tmp_path, {"DOTS_43.xlsx": (IMF_DOTS / "DOTS_43.xlsx").read_bytes(),
                                    "README.txt": b"IMF DOTS, one workbook per reporter\n",
                                    "notes/method.md": b"# how the workbooks were downloaded\n"})
    con = duckdb.connect()
    con.register("parsed", imf_dots.parse(snap, con))
    assert con.execute("SELECT DISTINCT file, reporter_name FROM parsed").fetchall() == [("DOTS_43.xlsx", "Colombia")]
    # DOTS_43.xlsx, sheet 'Exports, FOB', row 40 (Japan), column 2018: 474.062236
    assert con.execute("SELECT row_number, value_usd_m FROM parsed WHERE partner_name = 'Japan' AND flow = 'export' "
                       "AND year = 2018").fetchall() == [(40, pytest.approx(474.062236))]


def _as_crlf(data: bytes) -> bytes:
    """An LF file with CRLF line endings; a CRLF file as it is (Countries.csv's quoted line breaks stay LF)."""
    return data if b"\r\n" in data else data.replace(b"\n", b"\r\n")


def _one_lf_line(data: bytes) -> bytes:
    """The CRLF file with its line 100 ending in LF alone, as a line typed into it with another editor ends."""
    lines = _as_crlf(data).split(b"\r\n")
    return b"\r\n".join(lines[:100]) + b"\n" + b"\r\n".join(lines[100:])


# (source, vintage, file); Countries.csv is CRLF with LF inside quoted zone labels ("Central and East Europe,\nRussia
# etc."): those are no line endings
MIXED = [("japan-customs-country-codes", "2021-09-23", "Countries.csv"),
         ("aiddata-gcdf3-country-year", "2025-09-24", "cow_gcdf.csv")]


def _parse_variant(tmp_path, mirror, name, real, file, change):
    vintage = tmp_path / name / "2030-01-01"
    vintage.mkdir(parents=True)
    for f in (mirror / name / real).iterdir():
        if f.name != "SNAPSHOT.yml":
            (vintage / f.name).write_bytes(change(f.read_bytes()) if f.name == file else f.read_bytes())
    write_manifest(vintage, name)
    con = duckdb.connect()
    return con, all_sources()[name].parse(load_snapshot(vintage), con)


@pytest.mark.parametrize(("name", "real", "file", "change", "line"), [
    # a CRLF file with blank LF lines appended
    (*MIXED[0], lambda d: _as_crlf(d) + b"\n\n", 258),
    (*MIXED[1], lambda d: _as_crlf(d) + b"\n\n", 2460),
    # one LF line inside a CRLF file: the 100th CRLF line of Countries.csv is its line 122 (22 quoted line breaks above)
    (*MIXED[0], _one_lf_line, 122),
    (*MIXED[1], _one_lf_line, 100),
])
def test_a_csv_mixing_line_endings_is_refused_naming_the_line(tmp_path, mirror, name, real, file, change, line):
    """DuckDB refused such a file with its own 'Error when sniffing file', which said nothing of line endings."""
    message = f"{name} {file}: line {line} ends in LF (Unix), the lines above it in CRLF (Windows): a file mixing"
    with pytest.raises(ParseError, match="^" + re.escape(message)) as err:
        _parse_variant(tmp_path, mirror, name, real, file, change)
    assert "sniffing" not in str(err.value)


@pytest.mark.parametrize(("name", "real", "file"), MIXED)
def test_blank_lines_in_the_files_own_line_ending_are_read(tmp_path, mirror, name, real, file):
    """Trailing blank lines ending as the file's lines do are no mixing: the same rows as the file as published."""
    rows = [sorted(_parse_variant(tmp_path / str(i), mirror, name, real, file, change)[1].fetchall())
            for i, change in enumerate([lambda d: d, lambda d: _as_crlf(d) + b"\r\n\r\n"])]
    assert rows[0] == rows[1] and len(rows[0]) > 200


def _fred_copy(tmp_path, mirror):
    import shutil

    src = next((mirror / "fred-exjpus").iterdir())
    dest = tmp_path / "mirror" / "fred-exjpus" / src.name
    shutil.copytree(src, dest)
    return load_snapshot(dest)


def _settings(tmp_path) -> Settings:
    # a parse cache of its own: the session's (JLAC_CACHE) holds the real parser's batch of the same files, keyed by
    # the source's module code, which a parse function swapped in by the test does not change
    return Settings(warehouse=tmp_path / "wh" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                    output=tmp_path / "out", cache=tmp_path / "cache")


def _new_parse(snapshot, con):
    """A contributor's parse() with a slip: the column is called observation_date, not country."""
    import csv

    with open(snapshot.path("EXJPUS.csv"), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return con.sql(f"SELECT '{rows[0]['country']}' AS x")


def test_a_parser_bug_is_named_where_it_was_raised(tmp_path, mirror):
    """A KeyError in a parser was reported as "the files do not have the layout the parser expects" and nothing more:
    the message now also says where it was raised and how to see the traceback."""
    source = dataclasses.replace(all_sources()["fred-exjpus"], parse=_new_parse)
    snap = _fred_copy(tmp_path, mirror)
    with pytest.raises(ParseError) as err:
        parse.parse_to_cache(_settings(tmp_path), source, snap)
    msg = str(err.value)
    line = _new_parse.__code__.co_firstlineno + 6  # the line reading rows[0]['country']
    assert (f"fred-exjpus fred-exjpus/2025-05-27: {UNEXPECTED} (KeyError: 'country' at tests/test_input_errors.py line "
            f"{line} (in _new_parse)); the files do not have the layout the parser expects, or the parser has a bug "
            "there (`jlac -v refresh` shows the traceback)") == msg


def _with_column(source, name: str, kind: str | None):
    """The source with column ``name`` declared as ``kind`` (None: not declared)."""
    cols = tuple(dataclasses.replace(c, type=kind) if c.name == name else c for c in source.columns if
                 c.name != name or kind is not None)
    return dataclasses.replace(source, columns=cols)


@pytest.mark.parametrize("kind", ["INTEGER", "DECIMAL(8,1)"])
def test_a_declared_type_that_would_round_the_values_is_refused_naming_the_value(tmp_path, mirror, kind):
    """Found by a QA pass (a contributor's new source): a value column declared INTEGER while the parser gives DOUBLE
    was published rounded (19.08 -> 19) without a word. EXJPUS.csv's first month, 1971-01: 358.02 yen."""
    snap = _fred_copy(tmp_path, mirror)
    source = _with_column(all_sources()["fred-exjpus"], "jpy_per_usd", kind)
    with pytest.raises(ParseError) as err:
        parse.parse_to_cache(_settings(tmp_path), source, snap)
    assert str(err.value).startswith(f"fred-exjpus fred-exjpus/2025-05-27: column jpy_per_usd is declared {kind}, "
                                     "which would round the parser's DOUBLE value ")
    assert "declare a type that holds it (DOUBLE, a wider DECIMAL) or round in the parser" in str(err.value)
    assert "value 358.02 (to 358" in str(err.value)  # the first month's
    # a type that holds every value passes: DECIMAL(9,4) holds FRED's four decimals (357.5450)
    assert parse.parse_to_cache(_settings(tmp_path), _with_column(source, "jpy_per_usd", "DECIMAL(9,4)"), snap).exists()


def test_a_column_the_parser_returns_but_the_source_does_not_declare_is_refused(tmp_path, mirror):
    """Found by a QA pass: an undeclared column of the parser's output was dropped without a word."""
    snap = _fred_copy(tmp_path, mirror)
    source = _with_column(all_sources()["fred-exjpus"], "row_number", None)
    with pytest.raises(ParseError, match=r"fred-exjpus fred-exjpus/2025-05-27: parser output has column\(s\) "
                                         r"\['row_number'\] that the source does not declare: add them to "
                                         r"Source.columns .* in jlac/sources/fred_exjpus/source.py"):
        parse.parse_to_cache(_settings(tmp_path), source, snap)


def test_the_place_named_is_the_parsers_line_not_the_library_below_it(tmp_path, monkeypatch):
    """A slip inside a jlac parser module (here: its year reader failing) is named at the parser's line that called
    it; frames of the libraries below and of the test are not jlac's code."""
    import inspect

    def broken_year(cell):
        raise KeyError("year")

    monkeypatch.setattr(imf_dots, "_year", broken_year)
    snap = _dots_vintage(tmp_path, {"DOTS_43.xlsx": (IMF_DOTS / "DOTS_43.xlsx").read_bytes()})
    with pytest.raises(ParseError) as err:
        parse.parse_to_cache(_settings(tmp_path), imf_dots.SOURCE, snap)
    source_lines, first = inspect.getsourcelines(imf_dots.parse_workbook)
    line = first + next(i for i, text in enumerate(source_lines) if "year = _year(c)" in text)
    # the first call reads the header row's first cell, in parse_workbook itself
    assert (f"(KeyError: 'year' at flows/jlac/sources/imf_dots/source.py line {line} (in parse_workbook)); "
            in str(err.value))


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("TRUE", True), (" On ", True),
                                                 ("0", False), ("no", False), ("False", False), ("OFF", False),
                                                 ("", False)])
def test_switches_take_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("JLAC_DBT_TASKS", value)
    assert env_flag("JLAC_DBT_TASKS") is expected
    assert get_settings().dbt_tasks is expected


@pytest.mark.parametrize("value", ["maybe", "2", "y", "enabled"])
def test_a_switch_jlac_cannot_read_is_named_not_taken_as_off(monkeypatch, capsys, tmp_path, value):
    """JLAC_DBT_TASKS=yes was silently off while every other bad setting stopped the command: now an unknown
    spelling stops it in one line naming the variable and the spellings it takes."""
    from jlac import cli

    monkeypatch.setenv("JLAC_DBT_TASKS", value)
    with pytest.raises(SettingError, match=rf"^JLAC_DBT_TASKS='{value}': expected 1, true, yes, on \(on\) or 0, "
                                           r"false, no, off \(off\), in any case; unset: off$"):
        get_settings()
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "jlac.duckdb"))
    monkeypatch.setattr(sys, "argv", ["jlac", "sources"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 1 and f"jlac: SettingError: JLAC_DBT_TASKS='{value}': expected" in err
    assert "Traceback" not in err


def test_prefect_logs_an_os_error_naming_its_file_without_its_traceback():
    """An unreadable snapshot file (mode 000) failed the refresh with two Prefect tracebacks of 120 lines on stderr
    before jlac's one line; a checksum mismatch had none (found by a QA pass). An OS error naming its file is logged
    by its message; any other exception keeps its traceback, and so does the OS error under `jlac -v`."""
    import logging

    from jlac.errors import _NoTracebackForJlacErrors

    def logged(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            record = logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "Task run failed", None,
                                       sys.exc_info())
        _NoTracebackForJlacErrors().filter(record)
        return record

    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.INFO)
        assert logged(PermissionError(13, "Permission denied", "/store/fred-exjpus/v/EXJPUS.csv")).exc_info is None
        assert logged(PermissionError("no file named")).exc_info is not None  # says no path: the traceback does
        assert logged(ValueError("a bug")).exc_info is not None
        root.setLevel(logging.DEBUG)
        assert logged(PermissionError(13, "Permission denied", "/store/x.csv")).exc_info is not None
    finally:
        root.setLevel(level)
