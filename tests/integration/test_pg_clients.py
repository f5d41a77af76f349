"""Real clients against the real PostgreSQL serving copy of the full warehouse: psql, SQLAlchemy (psycopg and
psycopg2), pandas, pgjdbc (compiled with javac here), psycopg parameters; every column's type and comment."""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from jlac.serving.types import map_column

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
# PostgreSQL's own spelling (format_type) of the short names jlac.serving.types uses
CANONICAL = {"timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone",
             "timetz": "time with time zone", "time": "time without time zone", "varbit": "bit varying"}


def _psql(served, *commands: str) -> str:
    args = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(served.port), "-U", "jlac",
            "-d", "jlac"]
    for c in commands:
        args += ["-c", c]
    proc = subprocess.run(args, env={**os.environ, "PGPASSWORD": served.password}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# DuckDB's tables and views (which the serving copy holds as tables), as one relation list
RELATIONS = ("SELECT database_name, schema_name, table_name, comment FROM duckdb_tables() UNION ALL "
             "SELECT database_name, schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal")


def _duck(full_home):
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{full_home.warehouse}' AS w (READ_ONLY)")
    return con


def test_psql_catalog_commands(served):
    out = _psql(served, r"\dn", r"\dt marts.*", r"\d marts.fct_trade_annual", r"\dt+ figures.*")
    for schema in ("marts", "figures", "meta"):
        assert f" {schema} " in out
    assert "fct_trade_annual" in out and "dim_country" in out
    # \d pads names to the longest column: match the cells, not the padding
    assert re.search(r"\n value_usd +\| double precision", out) and re.search(r"\n is_estimate +\| boolean", out)
    assert "fig1_japan_lac_trade" in out


def test_every_table_and_column_is_there_with_its_type_and_comment(served, full_home):
    """Walk every column of marts, figures and meta in DuckDB and find it in PostgreSQL, typed and commented."""
    duck = _duck(full_home)
    columns = duck.execute(
        "SELECT c.schema_name, c.table_name, c.column_name, c.data_type, c.comment, t.comment "
        f"FROM duckdb_columns() c JOIN ({RELATIONS}) t USING (database_name, schema_name, table_name) "
        "WHERE c.database_name = 'w' AND c.schema_name IN ('marts', 'figures', 'meta')").fetchall()
    # the HS-9 facts are views over Parquet partitions in DuckDB: served as tables (empty without an HS-9 snapshot)
    assert {"fct_trade_commodity_monthly", "fct_trade_hs_section_annual"} <= {t for _, t, *_ in columns}
    assert len(columns) > 200
    with psycopg.connect(served.dsn(), autocommit=True) as con:
        pg = {(s, t, c): (typ, com, tcom) for s, t, c, typ, com, tcom in con.execute(
            "SELECT n.nspname, r.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
            "col_description(r.oid, a.attnum), obj_description(r.oid, 'pg_class') "
            "FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid = r.relnamespace "
            "WHERE n.nspname IN ('marts', 'figures', 'meta') AND a.attnum > 0 AND NOT a.attisdropped "
            "AND r.relkind = 'r'").fetchall()}
        for schema, table, column, dtype, comment, table_comment in columns:
            key = (schema, table, column)
            assert key in pg, f"{schema}.{table}.{column} missing in PostgreSQL"
            typ, com, tcom = pg[key]
            assert typ == CANONICAL.get(mapped := map_column(dtype, column).pg_type, mapped), (key, dtype, typ)
            assert com == comment, key
            assert tcom == table_comment, key
        # every table's row count is the DuckDB one
        for schema, table in duck.execute(f"SELECT schema_name, table_name FROM ({RELATIONS}) "
                                          "WHERE database_name = 'w' AND schema_name IN ('marts','figures','meta')"
                                          ).fetchall():
            n = duck.execute(f'SELECT count(*) FROM w."{schema}"."{table}"').fetchone()[0]
            assert con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0] == n, (schema, table)
    types = {dtype for *_, dtype, _c, _t in columns}
    # the types of this warehouse, each mapped: lists and JSON to jsonb, TIMESTAMPTZ, DECIMAL (HUGEINT, which the
    # models no longer produce, and every other DuckDB type: test_pg_team_and_failures.py's ALL_TYPES)
    assert {"VARCHAR[]", "JSON", "TIMESTAMP WITH TIME ZONE", "DECIMAL(3,1)", "DATE"} <= types
    assert "HUGEINT" not in types  # sums of integer counts and yen are cast back to BIGINT in the models


def test_values_arrive_typed(served):
    with psycopg.connect(served.dsn(), autocommit=True) as con:
        # IMF DOTS, Japan's exports to Mexico in 2018 (DOTS_101.xlsx, reporter Japan): US$ 11,610,830,562
        row = con.execute("SELECT value_usd, is_estimate FROM marts.fct_trade_annual WHERE reporter_iso3 = 'JPN' "
                          "AND partner_iso3 = 'MEX' AND flow = 'export' AND year = 2018").fetchone()
        assert row == (11610830562.0, False)
        assert con.execute("SELECT imf_names FROM marts.dim_country WHERE iso3 = 'MEX'").fetchone() == (["Mexico"],)
        assert con.execute("SELECT report_value FROM figures.fig1_reconciliation WHERE statement_id = 'C01'"
                           ).fetchone() == (Decimal("58.0"),)
        snapshots, started = con.execute("SELECT snapshots, started FROM meta.runs ORDER BY started DESC LIMIT 1"
                                         ).fetchone()
        assert isinstance(snapshots, list) and {"source", "vintage"} <= set(snapshots[0])
        assert started.tzinfo is not None


def test_psycopg_parameters_string_date_bool_null(served):
    with psycopg.connect(served.dsn()) as con:  # a transaction, as psycopg opens by default
        assert con.execute("SELECT count(*) FROM marts.dim_country WHERE iso3 = %s", ["MEX"]).fetchone() == (1,)
        row = con.execute("SELECT count(*) FROM figures.table1_japan_lac_policy WHERE announced_date = %s",
                          [dt.date(2014, 8, 2)]).fetchone()
        assert row[0] >= 3
        n_true = con.execute("SELECT count(*) FROM marts.fct_trade_annual WHERE is_estimate = %s", [True]).fetchone()
        assert n_true[0] > 0
        assert con.execute("SELECT %s::text IS NULL, %s::int", [None, 2018]).fetchone() == (True, 2018)
        assert con.execute("SELECT %s::interval, %s::int[]", [dt.timedelta(days=3), [1, 2]]).fetchone() == (
            dt.timedelta(days=3), [1, 2])


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "postgresql+psycopg2"])
def test_sqlalchemy_inspector_and_pandas(served, full_home, driver):
    engine = sa.create_engine(served.url(driver))
    try:
        insp = sa.inspect(engine)
        assert {"marts", "figures", "meta"} <= set(insp.get_schema_names())
        marts = set(insp.get_table_names(schema="marts"))
        assert {"fct_trade_annual", "dim_country", "fct_dev_finance"} <= marts
        figures = insp.get_table_names(schema="figures")
        assert "fig1_japan_lac_trade" in figures
        cols = {c["name"]: c for c in insp.get_columns("fct_trade_annual", schema="marts")}
        assert isinstance(cols["value_usd"]["type"], sa.Double | sa.Float)
        assert cols["year"]["comment"]
        assert insp.get_table_comment("fct_trade_annual", schema="marts")["text"]
        # every mart and figure can be read as a dataset, every row of it
        duck = _duck(full_home)
        counts = {}
        for schema, tables in (("marts", marts), ("figures", figures)):
            for table in tables:
                with engine.connect() as con:
                    got = con.execute(sa.text(f'SELECT count(*) FROM {schema}."{table}"')).scalar()
                counts[f"{schema}.{table}"] = got
                assert got == duck.execute(f'SELECT count(*) FROM w.{schema}."{table}"').fetchone()[0], (schema, table)
        duck.close()
        assert counts["marts.fct_trade_annual"] > 0 and counts["figures.fig1_japan_lac_trade"] > 0, counts
        fig1 = pd.read_sql_table("fig1_japan_lac_trade", engine, schema="figures")
        row = fig1.set_index("year").loc[2018]
        assert (row["exports_usd_bn"], row["imports_usd_bn"]) == (29.819, 27.435)
        assert bool(row["in_report_span"]) is True
    finally:
        engine.dispose()


def _jdbc_jar() -> str:
    found = sorted(glob.glob(os.path.expanduser("~/.m2/repository/org/postgresql/postgresql/*/postgresql-*.jar")))
    found += [p for p in ("/usr/share/java/postgresql.jar",) if os.path.exists(p)]
    if os.environ.get("JLAC_TEST_PGJDBC"):
        found.append(os.environ["JLAC_TEST_PGJDBC"])
    assert found, "no pgjdbc jar: .ci/run installs libpostgresql-jdbc-java (or set JLAC_TEST_PGJDBC)"
    return found[-1]


def test_pgjdbc_metadata_getters_and_parameters(served, full_home, tmp_path):
    assert shutil.which("javac") and shutil.which("java"), "Java 17 (javac, java) is needed for the JDBC test"
    jar = _jdbc_jar()
    subprocess.run(["javac", "-d", str(tmp_path), str(HERE / "jdbc" / "JdbcProbe.java")], check=True, timeout=120)
    proc = subprocess.run(["java", "-cp", f"{tmp_path}:{jar}", "JdbcProbe",
                           f"jdbc:postgresql://127.0.0.1:{served.port}/jlac", "jlac", served.password],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    assert {"marts", "figures", "meta"} <= set(out["schemas"].strip(",").split(","))
    assert "fct_trade_annual" in out["tables.marts"].split(",")
    assert "fig1_japan_lac_trade" in out["tables.figures"].split(",")
    assert "runs" in out["tables.meta"].split(",")
    # every mart and figure listed and counted through JDBC, with DuckDB's row counts
    duck = _duck(full_home)
    expected = {f"count.{s}.{t}": None for s, t in duck.execute(
        f"SELECT schema_name, table_name FROM ({RELATIONS}) WHERE database_name = 'w' "
        "AND schema_name IN ('marts', 'figures', 'meta')").fetchall()}
    for key in expected:
        schema, table = key.split(".")[1:]
        expected[key] = str(duck.execute(f'SELECT count(*) FROM w."{schema}"."{table}"').fetchone()[0])
    assert {k: v for k, v in out.items() if k.startswith("count.") and k != "count.meta.serving_copy"} == expected
    assert "value_usd:float8:true" in out["columns.fct_trade_annual"]
    assert "is_estimate:bool:true" in out["columns.fct_trade_annual"]
    assert out["jpn_mex_export_2018"] == "11610830562"
    assert out["jpn_mex_export_2018.is_estimate"] == "false"
    assert out["fig1_2018.in_report_span"] == "true"
    assert int(out["policy_2014_08_02.count"]) >= 3 and out["policy_2014_08_02.date"] == "2014-08-02"
    assert out["reconciliation_58.id"] == "C01" and out["reconciliation_58.value"] == "58.0"
