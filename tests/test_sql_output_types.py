"""`jlac sql` writes every DuckDB type as DuckDB has it (found by a QA pass: values went through Python objects, which
clamp, round or re-spell them), and a read-only query installs no extension. A tiny warehouse of its own is enough."""

from __future__ import annotations

import csv
import decimal
import io
import json

import duckdb
import pytest
from jlac.cli import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A warehouse with one table, and a Parquet file beside it."""
    folder = tmp_path_factory.mktemp("sql-types")
    with duckdb.connect(str(folder / "jlac.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS n")
        con.execute(f"COPY (SELECT 42 AS answer) TO '{folder / 'x.parquet'}' (FORMAT parquet)")
    return folder


@pytest.fixture(scope="module")
def env(folder):
    # no terminal and no COLUMNS: a table is as wide as its content
    return {"JLAC_WAREHOUSE": str(folder / "jlac.duckdb"), "COLUMNS": None}


def sql(env, *args):
    result = runner.invoke(app, ["sql", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_huge_max_rows_is_no_traceback(env):
    # fetchmany(max_rows + 1) raised TypeError past 2**64
    result = runner.invoke(app, ["sql", "--max-rows", "99999999999999999999", "SELECT 1 AS x"], env=env)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "1 row(s)" in result.output


def test_json_writes_a_decimal_exactly(env):
    # float() wrote 1.2345678901234567e+19
    out = sql(env, "-f", "json", "SELECT 12345678901234567890.1234567891::DECIMAL(38,10) AS d, "
                                 "0::DECIMAL(38,10) AS z, 1::HUGEINT << 100 AS h, [1.5::DECIMAL(3,1)] AS l")
    assert '"d": 12345678901234567890.1234567891' in out and '"z": 0.0000000000' in out, out
    assert json.loads(out, parse_float=decimal.Decimal) == [{"d": decimal.Decimal("12345678901234567890.1234567891"),
                                                             "z": decimal.Decimal(0), "h": 1 << 100,
                                                             "l": [decimal.Decimal("1.5")]}]


INFINITIES = ("SELECT 'infinity'::DATE AS d, '-infinity'::DATE AS nd, 'infinity'::TIMESTAMP AS t, "
              "'-infinity'::TIMESTAMP AS nt")


def test_infinities_as_duckdb_writes_them(env):
    # DuckDB's Python conversion clamps them: 9999-12-31, 9999-12-31T23:59:59.999999, 0001-01-01T00:00:00
    assert json.loads(sql(env, "-f", "json", INFINITIES)) == [{"d": "infinity", "nd": "-infinity", "t": "infinity",
                                                              "nt": "-infinity"}]
    assert sql(env, "-f", "csv", INFINITIES).splitlines() == ["d,nd,t,nt", "infinity,-infinity,infinity,-infinity"]
    out = sql(env, INFINITIES)
    row = next(line for line in out.splitlines() if "infinity" in line)
    assert row.split()[1::2] == ["infinity", "-infinity", "infinity", "-infinity"] and "9999" not in out, out


PRECISE = ("SELECT '2020-01-01 00:00:00.123456789'::TIMESTAMP_NS AS ns, 1.1::FLOAT AS f, INTERVAL 1 MONTH AS m, "
           "INTERVAL '-14 months' AS y, INTERVAL '1 month -1 day' AS md, TIMESTAMP '2020-01-02 03:04:05' AS ts, "
           "[1.1::FLOAT] AS fl, [INTERVAL 1 MONTH] AS ml")


def test_nanoseconds_floats_and_months_kept(env):
    # nanoseconds cut to microseconds, FLOAT 1.1 as 1.100000023841858, a month as P30D
    data = json.loads(sql(env, "-f", "json", PRECISE))
    assert data == [{"ns": "2020-01-01T00:00:00.123456789", "f": 1.1, "m": "P1M", "y": "-P1Y2M", "md": "P1M-1D",
                     "ts": "2020-01-02T03:04:05", "fl": [1.1], "ml": ["P1M"]}]
    rows = list(csv.reader(io.StringIO(sql(env, "-f", "csv", PRECISE))))
    assert rows[1] == ["2020-01-01T00:00:00.123456789", "1.1", "P1M", "-P1Y2M", "P1M-1D", "2020-01-02T03:04:05",
                       "[1.1]", '["P1M"]']
    out = sql(env, PRECISE)
    for text in ("2020-01-01 00:00:00.123456789", "1.1", "1 month", "-1 year -2 months", "1 month -1 day",
                 "2020-01-02 03:04:05", "[1.1]", "[1 month]"):
        assert text in out, (text, out)
    assert "1.100000023841858" not in out and "30 days" not in out, out


def test_time_zones_as_rfc_3339_has_them(env):
    """A UTC offset of whole hours was written as DuckDB writes it, ``+00``, which RFC 3339 and JavaScript's Date do
    not read (found by a QA pass): ``+00:00``; a half hour's stays ``+05:30``, infinity stays infinity."""
    query = ("SELECT TIMESTAMPTZ '2026-12-07 04:46:30.306+00' AS t, TIMETZ '04:46:30+05:30' AS h, "
             "TIMETZ '04:46:30-03' AS w, 'infinity'::TIMESTAMPTZ AS i, [TIMESTAMPTZ '2026-01-01 00:00:00+00'] AS l")
    expected = {"t": "2026-12-07T04:46:30.306+00:00", "h": "04:46:30+05:30", "w": "04:46:30-03:00", "i": "infinity",
                "l": ["2026-01-01T00:00:00+00:00"]}
    assert json.loads(sql({**env, "TZ": "UTC"}, "-f", "json", query)) == [expected]
    rows = list(csv.reader(io.StringIO(sql({**env, "TZ": "UTC"}, "-f", "csv", query))))
    assert rows[1] == [*list(expected.values())[:4], '["2026-01-01T00:00:00+00:00"]']


NESTED = ("SELECT [1, 2, NULL] AS l, {'a': 1, 'b': [1.5::DECIMAL(3,1), NULL]} AS s, INTERVAL 90 DAY AS i, "
          "INTERVAL '-90 minutes' AS j, [1, 2]::INT[2] AS a, true AS b, ['\\x00\\xFF'::BLOB] AS lb")


def test_table_shows_values_as_duckdb_writes_them(env):
    # Python's reprs: [1, 2, None], {'a': 1, 'b': [Decimal('1.5'), None]}, 90 days, 0:00:00, -1 day, 22:30:00, (1, 2)
    out = sql(env, NESTED)
    row = next(line for line in out.splitlines() if "[1, 2, NULL]" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells == ["[1, 2, NULL]", "{'a': 1, 'b': [1.5, NULL]}", "90 days", "-01:30:00", "[1, 2]", "true",
                     "[00ff]"], out
    assert "None" not in out and "Decimal" not in out and "day," not in out, out


def test_csv_writes_an_array_as_a_list(env):
    # a fixed-size ARRAY was written (1, 2), a LIST [1, 2]
    rows = list(csv.reader(io.StringIO(sql(env, "-f", "csv", NESTED))))
    assert rows[1] == ["[1, 2, null]", '{"a": 1, "b": [1.5, null]}', "P90D", "-PT1H30M", "[1, 2]", "true", '["00ff"]']
    assert json.loads(sql(env, "-f", "json", NESTED))[0]["a"] == [1, 2]


def test_rewritten_columns_keep_names_order_and_nulls(env):
    """The query DuckDB writes the values of runs wrapped: repeated names, ORDER BY, a trailing semicolon and comment,
    NULL lists, structs and maps stay as they were."""
    query = ("SELECT (x / 10)::FLOAT AS a, x AS a, CASE WHEN x = 2 THEN NULL ELSE {'d': DATE '2020-01-01'} END AS s, "
             "CASE WHEN x = 2 THEN NULL ELSE map([DATE '2020-01-01'], [1]) END AS m "
             "FROM range(1, 4) r(x) ORDER BY x DESC; -- newest first")
    assert sql(env, "-f", "csv", query).splitlines() == [
        "a,a,s,m", '0.3,3,"{""d"": ""2020-01-01""}","{""2020-01-01"": 1}"', "0.2,2,,",
        '0.1,1,"{""d"": ""2020-01-01""}","{""2020-01-01"": 1}"']
    assert "first 2 row(s) shown" in sql(env, "--max-rows", "2", query)


def test_a_query_installs_no_extension(env, folder, tmp_path):
    """A URL needs httpfs: DuckDB downloaded and installed it into ~/.duckdb/extensions. Now one line, and nothing
    written; the extensions built into DuckDB's Python package (json, parquet) still work."""
    home = tmp_path / "home"
    home.mkdir()
    result = runner.invoke(app, ["sql", "SELECT * FROM read_csv('https://example.com/x.csv')"],
                           env={**env, "HOME": str(home)})
    assert result.exit_code == 1, result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "requires the extension httpfs" in result.output and "neither installs nor loads" in result.output
    assert not (home / ".duckdb").exists()
    query = (f"SELECT answer, to_json([answer]) AS j, json_extract('{{\"a\": 2}}', '$.a') AS a "
             f"FROM read_parquet('{folder / 'x.parquet'}')")
    assert sql(env, "-f", "csv", query).splitlines() == ["answer,j,a", "42,[42],2"]


def test_a_query_that_is_not_utf8_is_one_line(env):
    # bytes that are not UTF-8 reach Python as surrogate escapes: a TypeError traceback (found by a QA pass)
    result = runner.invoke(app, ["sql", "SELECT 'é\udcff' AS x"], env=env)
    assert result.exit_code == 1, result.output
    assert result.output.strip() == ("jlac: JlacError: the query is not valid UTF-8: byte 10 is 0xff; give it as "
                                     "UTF-8 text"), result.output


def test_a_piped_table_is_as_wide_as_its_content_whatever_columns_says(env):
    # COLUMNS=20 folded the value into 7-character lines (found by a QA pass); a terminal narrower than the table
    # shows the row one field per line, the value whole (its table had folded numbers mid-digit: a QA pass)
    query = "SELECT 'abcdefghijklmnopqrstuvwxyz0123456789' AS long"
    out = sql({**env, "COLUMNS": "20"}, query)
    assert "│ abcdefghijklmnopqrstuvwxyz0123456789 │" in out, out
    out = sql({**env, "COLUMNS": "20", "TTY_COMPATIBLE": "1"}, query)
    assert "long | abcdefghijklmnopqrstuvwxyz0123456789" in out.splitlines(), out


NULL_AND_EMPTY = "SELECT ''::VARCHAR AS k, NULL::VARCHAR AS l"


def test_null_is_not_an_empty_string(env, folder):
    """A table showed NULL blank, as '' is; csv wrote both as an empty field, which read_csv read back as NULL (found
    by a QA pass). csv now writes them as DuckDB's COPY does."""
    row = next(line for line in sql(env, NULL_AND_EMPTY).splitlines()[3:] if "│" in line)
    assert [c.strip() for c in row.strip("│").split("│")] == ["", "NULL"], row
    assert sql(env, "-f", "csv", NULL_AND_EMPTY).splitlines() == ["k,l", '"",']
    # a row of one NULL is an empty line (the csv module wrote "", which is '')
    one = "SELECT x FROM (VALUES (NULL), (''), ('a')) v(x) ORDER BY x NULLS FIRST"
    written = sql(env, "-f", "csv", one)
    assert written == 'x\n\n""\na\n', written
    path = folder / "round-trip.csv"
    path.write_text(written)
    with duckdb.connect() as con:
        back = con.sql(f"SELECT x FROM read_csv('{path}', allow_quoted_nulls = false, header = true)").fetchall()
    assert back == [(None,), ("",), ("a",)]


def test_a_table_shows_control_characters_as_escapes(env):
    # an ESC sent as it is changed the terminal's colours (found by a QA pass); csv and json keep the value as it is
    query = "SELECT 'a' || chr(27) || '[31mred' || chr(13) || 'x' AS v, [chr(0)] AS l, 1 AS \"h\x1b\""
    out = sql(env, query)
    assert "a\\x1b[31mred\\rx" in out and "h\\x1b" in out and "[\\x00]" in out, repr(out)
    assert "\x1b" not in out and "\r" not in out, repr(out)
    assert "\x1b[31mred\rx" in sql(env, "-f", "csv", query)
    assert json.loads(sql(env, "-f", "json", query))[0]["v"] == "a\x1b[31mred\rx"
    # a tab read like a newline: rich wrapped the cell at it (found by a QA pass)
    tabbed = sql(env, "SELECT 'a' || chr(9) || 'b' AS t, 'a' || chr(10) || 'b' AS n")
    assert "a\\tb" in tabbed and "\t" not in tabbed, repr(tabbed)


def test_a_pivot_without_in_list_says_to_list_the_values(env):
    # it was refused as "a MULTI statement" (found by a QA pass): DuckDB makes it a CREATE TYPE and a query
    result = runner.invoke(app, ["sql", "PIVOT (SELECT 1 a, 'x' b) ON b USING sum(a)"], env=env)
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "a PIVOT whose ON has no IN (...) list needs DuckDB to create a type first" in said, said
    assert "ON b IN ('x', 'y') USING sum(a)" in said and "MULTI" not in said
    assert "│ 1 │" in sql(env, "pivot (SELECT 1 a, 'x' b) ON b IN ('x') USING sum(a)")
