"""jlac.validation.run_checks on a small DuckDB file: how often GX runs a check's query, violation checks, errors."""

from __future__ import annotations

import duckdb
import duckdb_engine
import great_expectations as gx
import pytest
from jlac.checks import violations_check
from jlac.validation import Check, run_checks

GROUPED = "SELECT k, count(*) AS n FROM raw.t GROUP BY k"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT * FROM (VALUES ('a', 1), ('b', 2), ('b', 3), ('c', 4)) v(k, x)")
    return path


@pytest.fixture
def executed(monkeypatch):
    """Every statement that reaches DuckDB through GX's connection, in order."""
    seen: list[str] = []
    original = duckdb_engine.CursorWrapper.execute

    def execute(self, statement, parameters=None, context=None):
        seen.append(" ".join(statement.split()))
        return original(self, statement, parameters, context)

    monkeypatch.setattr(duckdb_engine.CursorWrapper, "execute", execute)
    return seen


def _run(db, check):
    return run_checks(db, "t", "t", None, [check], default_query="SELECT * FROM raw.t")[0]


def test_an_aggregating_query_runs_once_per_metric_query_not_for_its_column_names(db, executed):
    """GX reads a query's column names by running it whole; jlac's connection binds it instead, so a GROUP BY over
    millions of rows is computed for GX's two metric queries (row count, unexpected count), not three times."""
    result = _run(db, Check(query=GROUPED, expectations=[
        gx.expectations.ExpectColumnValuesToBeBetween(column="n", max_value=5)]))
    assert result.success
    assert sum(GROUPED in s for s in executed) == 2, executed


def test_a_violations_check_reads_its_query_once_and_shows_the_first_rows(db, executed):
    result = _run(db, violations_check("one row per k", f"{GROUPED} HAVING count(*) > 1"))
    assert not result.success
    assert sum(GROUPED in s for s in executed) == 3  # the count; on failure, the count again and the rows
    assert "observed 1" in result.outcomes[0].details
    assert "'k': 'b', 'n': 2" in result.outcomes[0].details

    executed.clear()
    clean = violations_check("one row per k", "SELECT k, count(*) AS n FROM raw.t WHERE x <> 3 GROUP BY k "
                             "HAVING count(*) > 1")
    assert _run(db, clean).success
    assert sum("GROUP BY k" in s for s in executed) == 1


@pytest.mark.parametrize(("query", "error"), [
    ("SELECT CAST(k || 'x' AS INTEGER) AS n FROM raw.t", "Conversion Error"),  # fails when run, not when bound
    ("SELECT no_such_column AS n FROM raw.t", "no_such_column"),  # fails when bound
])
def test_a_query_that_fails_fails_the_check_with_the_error(db, query, error):
    result = _run(db, Check(query=query, expectations=[gx.expectations.ExpectColumnValuesToNotBeNull(column="n")]))
    assert not result.success
    assert error in " ".join(o.details for o in result.outcomes)


def test_a_source_without_a_snapshot_is_checked_empty_with_one_count(tmp_path, executed):
    """Without a snapshot the raw table is made empty from the source's declared columns: validation counts its rows
    (no GX suite, whose every expectation would hold on no rows) and fails if any is there, naming the table."""
    from jlac.sources import get_source
    from jlac.validation import validate_source

    source = get_source("imf-imts")
    path = tmp_path / "build.duckdb"
    types = {"snapshot_id": "VARCHAR", "vintage": "VARCHAR", **{c.name: c.type for c in source.columns}}
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute(f"CREATE TABLE {source.raw_table} ({', '.join(f'{n} {t}' for n, t in types.items())})")
    [result] = validate_source(path, source, None)
    assert result.success and result.suite == "imf-imts: no snapshot, raw table empty" and result.snapshot_id is None
    assert executed == []  # GX did not run

    with duckdb.connect(str(path)) as con:
        con.execute(f"INSERT INTO {source.raw_table} (snapshot_id, reporter_iso3) VALUES ('stray', 'JPN')")
    [result] = validate_source(path, source, None)
    assert not result.success
    assert result.outcomes[0].details == "observed 1 row(s) in raw.imf_imts without a snapshot"


def test_a_failed_check_names_each_row_once_with_its_count(tmp_path):
    """One row of a DOTS sheet holds a value per year: an unknown partner's row was named ten times over (found by
    a QA pass); each distinct row is named once, with its count when it repeats."""
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT 'DOTS_101.xlsx' AS file, 226 AS row_number, y AS year, "
                    "'Republic of Perú' AS partner FROM range(2010, 2022) r(y) "
                    "UNION ALL SELECT 'DOTS_101.xlsx', 300 + i, 2020, 'Atlantis ' || i FROM range(12) r(i)")
    check = Check(name="partners known", index_columns=("file", "row_number"), expectations=[
        gx.expectations.ExpectColumnValuesToBeInSet(column="partner", value_set=["Mexico"])])
    (result,) = run_checks(path, "imf-dots", "imf-dots", "imf-dots/2022-02-02", [check], "SELECT * FROM raw.t")
    details = result.outcomes[0].details
    assert "'Republic of Perú' (12 rows) at [{'file': 'DOTS_101.xlsx', 'row_number': 226}]" in details
    assert details.count("'row_number': 226") == 1
    assert "'Atlantis 0' (1 row) at [{'file': 'DOTS_101.xlsx', 'row_number': 300}], " in details  # once: no count
    assert details.endswith(" and 3 more distinct value(s)")  # 13 values, 10 named


def test_every_unexpected_value_is_counted_and_located_beyond_what_gx_lists(tmp_path):
    """Found by a QA pass: GX lists 200 unexpected values and 20 rows. A workbook with two unknown names (108 and 122
    rows) was reported with the second one's count as 92 and none of its rows: each value now has its exact count
    and its first rows, from GX's query of the unexpected rows."""
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT 'DOTS_101.xlsx' AS file, 'Exports, FOB' AS sheet, 8 + i // 12 AS "
                    "row_number, 'Japan' AS partner FROM range(120) r(i) UNION ALL "
                    "SELECT 'DOTS_101.xlsx', 'Exports, FOB', 201, 'Bermudas' FROM range(108) UNION ALL "
                    "SELECT 'DOTS_101.xlsx', 'Imports, CIF', 206 + i % 2, 'Costa Rica, Rep. of' FROM range(122) r(i)")
    check = Check(name="partners known", index_columns=("file", "sheet", "row_number"), expectations=[
        gx.expectations.ExpectColumnValuesToBeInSet(column="partner", value_set=["Japan"])])
    (result,) = run_checks(path, "imf-dots", "imf-dots", "imf-dots/2022-02-02", [check], "SELECT * FROM raw.t")
    details = result.outcomes[0].details
    assert details.startswith("230 unexpected row(s); values 'Costa Rica, Rep. of' (122 rows) at "
                              "[{'file': 'DOTS_101.xlsx', 'sheet': 'Imports, CIF', 'row_number': 206}, "
                              "{'file': 'DOTS_101.xlsx', 'sheet': 'Imports, CIF', 'row_number': 207}], "
                              "'Bermudas' (108 rows) at [{'file': 'DOTS_101.xlsx', 'sheet': 'Exports, FOB', "
                              "'row_number': 201}]"), details
    assert "first" not in details and "(92 rows)" not in details


def test_a_failure_says_when_it_lists_only_the_first_rows():
    """Found by a QA pass: GX lists at most 20 rows of an SQL datasource, and '122 unexpected row(s); ... rows [...
    (20 rows)]' read as the whole set (the 61 rows of the other sheet were not named)."""
    from types import SimpleNamespace

    from jlac.validation import _describe

    row = {"file": "DOTS_101.xlsx", "sheet": "Exports, FOB", "row_number": 8}
    result = SimpleNamespace(
        result={"unexpected_count": 122, "unexpected_list": ["Narnia"] * 122, "unexpected_index_list": [row] * 20},
        expectation_config=SimpleNamespace(kwargs={"column": "unmapped_name"}), exception_info=None)
    text = _describe(result)
    assert "122 unexpected row(s); values 'Narnia' (122 rows); rows (in the first 20 of 122 rows) [" in text, text
    complete = SimpleNamespace(result={"unexpected_count": 2, "unexpected_index_list": [row, {**row, "row_number": 9}]},
                               expectation_config=SimpleNamespace(kwargs={}), exception_info=None)
    assert "rows [{" in _describe(complete) and "first" not in _describe(complete)


def test_failing_rows_show_dates_and_decimals_as_sql_writes_them():
    """Found by a QA pass: a failing month was shown as datetime.date(2023, 1, 1) in the message and the report."""
    import datetime
    import decimal

    from jlac.validation import distinct_counts, distinct_rows

    rows = [{"file": "fix.csv", "month": datetime.date(2023, 1, 1)}] * 2 + [
        {"value": decimal.Decimal("19.08"), "at": datetime.datetime(2020, 1, 1, 3, 4), "n": None}]
    assert distinct_rows(rows) == ("[{'file': 'fix.csv', 'month': 2023-01-01} (2 rows), {'value': 19.08, 'at': "
                                   "2020-01-01 03:04:00, 'n': None}]")
    assert distinct_counts([datetime.date(2023, 1, 1), "Euro Area"]) == "2023-01-01 (1 row), 'Euro Area' (1 row)"


def test_a_unique_check_counts_each_repeated_value_too(tmp_path):
    """GX's query of a uniqueness test's rows holds the batch's query twice; the second copy was left without its
    parentheses, so the per-value counts fell back to GX's partial list (a re-check pass)."""
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT 'c.csv' AS file, i AS row_number, CASE WHEN i < 250 THEN '101' "
                    "ELSE CAST(i AS VARCHAR) END AS code FROM range(300) r(i)")
    check = Check(name="codes", index_columns=("file", "row_number"), expectations=[
        gx.expectations.ExpectColumnValuesToBeUnique(column="code")])
    (result,) = run_checks(path, "x", "x", "x/1", [check], "SELECT * FROM raw.t WHERE file <> 'none'")
    details = result.outcomes[0].details
    assert details.startswith("250 unexpected row(s); values '101' (250 rows) at [{'file': 'c.csv', 'row_number': 0}, "
                              "{'file': 'c.csv', 'row_number': 1}, {'file': 'c.csv', 'row_number': 2}] and 247 more")


def test_a_range_check_says_its_range_and_the_values_outside_it(tmp_path):
    """Found by a QA pass: a failed ExpectColumnValuesToBeBetween named the column and values but not the range they
    broke; the message (and the summary line) now says it, strict bounds as "above"/"below"."""
    from jlac.validation import summary

    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT 'DOTS_101.xlsx' AS file, 8 + i AS row_number, 1950 + i AS year, "
                    "i - 1.5 AS value, DATE '1970-11-01' + INTERVAL (i) MONTH AS month FROM range(4) r(i) UNION ALL "
                    "SELECT 'DOTS_101.xlsx', 20, 2099, 1, DATE '2099-01-01'")
    check = Check(name="values", index_columns=("file", "row_number"), expectations=[
        gx.expectations.ExpectColumnValuesToBeBetween(column="year", min_value=1948, max_value=2026),
        gx.expectations.ExpectColumnValuesToBeBetween(column="value", min_value=0, strict_min=True),
        gx.expectations.ExpectColumnValuesToBeBetween(column="month", min_value="1971-01-01"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="year", max_value=2026, strict_max=True),
        gx.expectations.ExpectColumnValuesToBeBetween(column="row_number", max_value=10, mostly=0.9)])
    (result,) = run_checks(path, "imf-dots", "imf-dots", "imf-dots/2022-02-02", [check], "SELECT * FROM raw.t")
    # GX does not keep the suite's order: each outcome by its column and upper bound
    by = {(o.kwargs["column"], o.kwargs.get("strict_max")): o.details for o in result.outcomes}
    year, value, month = by["year", None], by["value", None], by["month", None]
    assert year == ("year must be between 1948 and 2026; 1 unexpected row(s); values 2099 (1 row) at "
                    "[{'file': 'DOTS_101.xlsx', 'row_number': 20}]")
    assert value.startswith("value must be above 0; 2 unexpected row(s); values -1.5 (1 row) at [{'file': "
                            "'DOTS_101.xlsx', 'row_number': 8}], -0.5 (1 row) at ["), value
    assert month.startswith("month must be at least 1971-01-01; 2 unexpected row(s); values 1970-11-01 00:00:00 "
                            "(1 row) at [{'file': 'DOTS_101.xlsx', 'row_number': 8}]"), month
    assert by["row_number", None] == ("row_number must be at most 10 in at least 90% of rows; 2 unexpected row(s); "
                                      "values 11 (1 row) at [{'file': 'DOTS_101.xlsx', 'row_number': 11}], 20 (1 row) "
                                      "at [{'file': 'DOTS_101.xlsx', 'row_number': 20}]")
    assert ("imf-dots: values (snapshot imf-dots/2022-02-02): expect_column_values_to_be_between 'year': year must be "
            "below 2026; 1 unexpected row(s); values 2099 (1 row)") in summary([result])


def test_every_column_map_check_counts_each_value_exactly(tmp_path):
    """Found by a QA pass: only single-column checks with rows to name had exact counts; a repeated compound key (the
    grain check of ten sources) and a check without index columns kept GX's partial list (its first 200 values), so a
    key seen 150 times was said to be seen 100 times, and a year out of range in 160 rows to be in 130."""
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT 'c.csv' AS file, i AS row_number, CASE WHEN i < 100 THEN 'JPN' "
                    "WHEN i < 250 THEN 'MEX' ELSE 'PER' END AS reporter, CASE WHEN i < 250 THEN 2020 ELSE i END AS "
                    "year, CASE WHEN i < 70 THEN 1900 WHEN i < 230 THEN 2099 ELSE 2000 END AS y FROM range(300) r(i)")
    grain = Check(name="grain", index_columns=("file", "row_number"), expectations=[
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["reporter", "year"])])
    years = Check(name="years", expectations=[
        gx.expectations.ExpectColumnValuesToBeBetween(column="y", min_value=1948, max_value=2026)])
    pair = Check(name="pair", index_columns=("file",), expectations=[
        gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="year", column_B="y")])
    grain, years, pair = run_checks(path, "x", "x", "x/1", [grain, years, pair], "SELECT * FROM raw.t")
    assert grain.outcomes[0].details == (
        "250 unexpected row(s); values {'reporter': 'MEX', 'year': 2020} (150 rows) at [{'file': 'c.csv', "
        "'row_number': 100}, {'file': 'c.csv', 'row_number': 101}, {'file': 'c.csv', 'row_number': 102}] and 147 "
        "more, {'reporter': 'JPN', 'year': 2020} (100 rows) at [{'file': 'c.csv', 'row_number': 0}, {'file': "
        "'c.csv', 'row_number': 1}, {'file': 'c.csv', 'row_number': 2}] and 97 more")
    assert years.outcomes[0].details == ("y must be between 1948 and 2026; 230 unexpected row(s); values 2099 "
                                         "(160 rows), 1900 (70 rows)")
    assert pair.outcomes[0].details.startswith(
        "300 unexpected row(s); values {'year': 2020, 'y': 2099} (160 rows) at [{'file': 'c.csv'}], {'year': 2020, "
        "'y': 1900} (70 rows) at [{'file': 'c.csv'}], {'year': 2020, 'y': 2000} (20 rows) at [{'file': 'c.csv'}], ")
    assert pair.outcomes[0].details.endswith(" and 43 more distinct value(s)")  # 53 pairs, 10 named


def test_a_check_whose_sql_gx_would_bind_is_refused_when_made(db, monkeypatch):
    """Found by a QA pass: GX passes a check's SQL through SQLAlchemy's text(), which takes ':b' for a bind parameter
    even in a string literal and runs it as NULL: a violations query WHERE k = 'unit :b' compared k with 'unit NULL' and
    passed on no rows, and an UnexpectedRowsExpectation with ':b' failed on "A value is required for bind parameter
    'b'". SQLAlchemy's escape '\\:b' is undone by GX's first compile. Such a check is refused when made, its source and
    check named; a colon no word follows (':' || 'b', '::' casts, ':=', '12:30') runs as written."""
    from types import SimpleNamespace

    from jlac import validation
    from jlac.errors import JlacError
    from jlac.sources import get_source

    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO raw.t VALUES ('unit :b', 5)")
    with pytest.raises(ValueError, match=r"^check 'no unit :b': its SQL has ':b' \(in '… x FROM raw.t WHERE k = "
                                         r"'unit :b' AND x::V…'\), which GX passes to SQLAlchemy as a bind"):
        violations_check("no unit :b", "SELECT k, x FROM raw.t WHERE k = 'unit :b' AND x::VARCHAR = '5'")
    for sql in ["SELECT * FROM {batch} WHERE k = 'unit \\:b'", "SELECT * FROM {batch} WHERE k[:4] = 'unit'"]:
        with pytest.raises(ValueError, match="its SQL has ':"):
            Check(expectations=[gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=sql)])

    written = "FROM raw.t WHERE k = 'unit ' || ':' || 'b' AND x::VARCHAR = '5' AND k[: 4] = 'unit' AND '12:30' <> ''"
    result = _run(db, violations_check("no unit :b", f"SELECT k, x {written}"))
    assert result.outcomes[0].details == "observed 1; rows [{'k': 'unit :b', 'x': 5}]"
    rows = gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query="SELECT * FROM {batch} " + written[11:])
    assert _run(db, Check(expectations=[rows])).outcomes[0].details == "observed 1"

    # as a source's checks module makes it: the refresh stops with the source and check named
    module = SimpleNamespace(checks=lambda source, snapshot: [
        violations_check("no unit :b", "SELECT * FROM raw.imf_dots WHERE sheet = 'Exports :FOB'")])
    monkeypatch.setattr(validation, "part", lambda source, name: module)
    with pytest.raises(JlacError, match=r"^source imf-dots: its checks \(.*checks.py\) failed before running: "
                                        r"ValueError: check 'no unit :b': its SQL has ':FOB'"):
        validation.validate_source(db, get_source("imf-dots"), SimpleNamespace(id="imf-dots/1"))


@pytest.mark.parametrize("ignore_row_if", [None, "any_value_is_missing", "never"])
def test_a_compound_key_with_a_null_is_no_repeat(tmp_path, ignore_row_if):
    """GX joins each row to its key's count on key = key, which a NULL never equals: rows whose key has a NULL are
    never repeats, whatever ignore_row_if says. jlac's count grouped NULLs together and listed them beside GX's count
    ("2 unexpected row(s); values {'partner_name': None, 'year': 2019} (3 rows) ..., {... 'Mexico' ...} (2 rows)")."""
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT * FROM (VALUES (10, 'Mexico', 2019), (11, 'Mexico', 2019), "
                    "(12, NULL, 2019), (13, NULL, 2019), (14, NULL, 2019), (15, NULL, NULL), (16, NULL, NULL)) "
                    "v(row_number, partner_name, year)")
    kwargs = {"ignore_row_if": ignore_row_if} if ignore_row_if else {}
    check = Check(name="grain", index_columns=("row_number",), expectations=[
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["partner_name", "year"], **kwargs)])
    (result,) = run_checks(path, "x", "x", "x/1", [check], "SELECT * FROM raw.t")
    assert result.outcomes[0].details == ("2 unexpected row(s); values {'partner_name': 'Mexico', 'year': 2019} "
                                          "(2 rows) at [{'row_number': 10}, {'row_number': 11}]")


def test_a_range_check_says_its_share_as_given(tmp_path):
    """mostly=0.995 was said "in at least 100% of rows" (rounded to whole percents), a rule the data could not break
    in 1 row of 10 and yet did."""
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT i AS row_number, 2019 + (i = 9)::INT * 80 AS year "
                    "FROM range(10) r(i)")
    check = Check(name="years", index_columns=("row_number",), expectations=[
        gx.expectations.ExpectColumnValuesToBeBetween(column="year", max_value=2026, mostly=0.995)])
    (result,) = run_checks(path, "x", "x", "x/1", [check], "SELECT * FROM raw.t")
    assert result.outcomes[0].details == ("year must be at most 2026 in at least 99.5% of rows; 1 unexpected row(s); "
                                          "values 2099 (1 row) at [{'row_number': 9}]")


def test_a_compound_key_check_with_a_row_condition_names_only_the_rows_gx_tested(tmp_path):
    """jlac's own count of a compound key's repeats ignored the expectation's row_condition (GX's syntax, not SQL): the
    rows GX left out (MEX 1990, 3 rows) were listed beside GX's "2 unexpected row(s)". GX's own list is given then."""
    from great_expectations.expectations.row_conditions import Column

    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.t AS SELECT * FROM (VALUES (1, 'JPN', 2020), (2, 'JPN', 2020), (3, 'MEX', 1990), "
                    "(4, 'MEX', 1990), (5, 'MEX', 1990)) v(row_number, reporter, year)")
    check = Check(name="grain", index_columns=("row_number",), expectations=[
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["reporter", "year"],
                                                        row_condition=Column("year") > 2000)])
    (result,) = run_checks(path, "x", "x", "x/1", [check], "SELECT * FROM raw.t")
    assert result.outcomes[0].details == "2 unexpected row(s); values {'reporter': 'JPN', 'year': 2020} (2 rows)"
