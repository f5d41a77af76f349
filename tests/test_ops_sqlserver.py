"""The SQL endpoint's statement filter and configuration (the wire protocol is in tests/integration)."""

from __future__ import annotations

import duckdb
import pytest
from jlac.ops.sqlserver import EndpointConfig, WriteRefused, check_read_only, open_published


@pytest.mark.parametrize("sql", [
    "SELECT 1", "select * from marts.x; select 2", "SHOW TABLES", "DESCRIBE marts.x", "EXPLAIN SELECT 1",
    "SET search_path = 'marts'", "BEGIN", "COMMIT", "PRAGMA version", "SELECT * FROM pg_catalog.pg_namespace",
])
def test_reading_statements_pass(sql):
    check_read_only(duckdb.connect(), sql)


@pytest.mark.parametrize(("sql", "kind"), [
    ("INSERT INTO t VALUES (1)", "INSERT"), ("SELECT 1; DELETE FROM t", "DELETE"), ("UPDATE t SET a = 1", "UPDATE"),
    ("CREATE TABLE t (a INT)", "CREATE"), ("DROP TABLE t", "DROP"), ("ALTER TABLE t ADD COLUMN b INT", "ALTER"),
    ("COPY t TO 'x.csv'", "COPY"), ("ATTACH 'x.duckdb'", "ATTACH"), ("INSTALL httpfs", "LOAD"),
    ("LOAD httpfs", "LOAD"), ("EXPORT DATABASE 'x'", "EXPORT"),
])
def test_writing_statements_are_refused_by_name(sql, kind):
    with pytest.raises(WriteRefused, match=f"read-only: {kind} statements are refused"):
        check_read_only(duckdb.connect(), sql)


def test_the_password_is_required(monkeypatch, tmp_path):
    monkeypatch.delenv("JLAC_SQL_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="JLAC_SQL_PASSWORD is not set"):
        EndpointConfig.from_env(tmp_path / "w.duckdb")
    monkeypatch.setenv("JLAC_SQL_PASSWORD", "pw")
    config = EndpointConfig.from_env(tmp_path / "w.duckdb")
    assert (config.host, config.port, config.user) == ("127.0.0.1", 5433, "jlac")  # loopback by default


def test_open_published_is_read_only_and_follows_a_replaced_file(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS v")
    old, inode = open_published(path)
    with pytest.raises(duckdb.Error, match="read-only"):
        old.execute("INSERT INTO t VALUES (2)")
    new_build = tmp_path / "new.duckdb"
    with duckdb.connect(str(new_build)) as con:
        con.execute("CREATE TABLE t AS SELECT 2 AS v")
    new_build.replace(path)
    new, new_inode = open_published(path)
    assert new_inode != inode
    assert old.execute("SELECT v FROM t").fetchone() == (1,)  # the open session keeps its file
    assert new.execute("SELECT v FROM t").fetchone() == (2,)


def test_no_published_warehouse_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="no published warehouse yet"):
        open_published(tmp_path / "missing.duckdb")
