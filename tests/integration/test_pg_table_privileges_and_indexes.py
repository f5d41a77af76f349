"""What a team's admin set on the served tables survives a publish (``jlac.serving.table_settings``): privileges per
table and column, and indexes.

The swap replaces each table that changed. It granted ``SELECT ON ALL TABLES IN SCHEMA`` to every role with USAGE on
a served schema, so a role granted one table of ``marts`` read all of them after the next publish, and an index an
admin made went with the old table. Against a real PostgreSQL (the team server of test_pg_team_and_failures, whose
fixtures and publish helper these tests use)."""

from __future__ import annotations

import logging

import psycopg
import pytest
import test_pg_team_and_failures as team
from jlac import publish_hooks
from jlac.publish_hooks import postgres as postgres_hook
from jlac.serving.target import team_target
from test_pg_team_and_failures import FIXED_SQL, _publish, _reader

pytestmark = pytest.mark.integration

team_server, team_env = team.team_server, team.team_env  # that module's team server, started again for this one

ROLES = ("finance_bi", "wide_bi", "partial_bi", "column_bi")
NEW_SQL = "CREATE TABLE marts.dim_new AS SELECT 'JPN' AS iso3"
NOTE_SQL = "CREATE TABLE marts.dim_note AS SELECT 'MEX' AS iso3, 'a note' AS {column}"


@pytest.fixture
def admin(team_env, monkeypatch):
    """The team admin's connection (the loader's owner role) with the BI roles to grant to; dropped afterwards."""
    monkeypatch.setattr(publish_hooks, "all_hooks", lambda: [postgres_hook.HOOK])  # the hook under test alone
    with psycopg.connect(team_target().conninfo, autocommit=True) as con:
        for role in ROLES:
            con.execute(f"CREATE ROLE {role} NOLOGIN")
        try:
            yield con
        finally:
            for role in ROLES:
                con.execute(f"DROP OWNED BY {role}")  # its privileges on the served tables and schemas
                con.execute(f"DROP ROLE {role}")


def _ok(outcomes) -> None:
    [outcome] = [o for o in outcomes if o.hook == "postgres"]
    assert outcome.status == "ok", outcome.message


def _reads(con: psycopg.Connection, role: str, table: str) -> bool:
    return con.execute("SELECT has_table_privilege(%s, %s, 'SELECT')", [role, table]).fetchone()[0]


def _acl(con: psycopg.Connection, table: str) -> tuple:
    """A table's privileges and its columns' (in an order of their own: a table's grants are kept in no order)."""
    return con.execute("SELECT (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(relacl) AS a), "
                       "(SELECT array_agg(attname || attacl::text ORDER BY attnum) "
                       "FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL) "
                       "FROM pg_class c WHERE oid = %s::regclass", [table]).fetchone()


def test_grants_of_some_tables_stay_those_tables_after_a_publish(team_env, admin):
    settings, port = team_env
    _ok(_publish(settings, "run-g1", rows=100, extra_sql=FIXED_SQL.format(comment="Fixed")))
    for statement in (
            "GRANT USAGE ON SCHEMA marts TO finance_bi, wide_bi, partial_bi, column_bi",
            "GRANT SELECT ON marts.fct_trade TO finance_bi WITH GRANT OPTION",  # one table of marts, nothing more
            "GRANT SELECT ON ALL TABLES IN SCHEMA marts TO wide_bi, partial_bi",  # all of marts ...
            "REVOKE SELECT ON marts.fct_trade FROM partial_bi",  # ... but this one
            "GRANT SELECT (id, year) ON marts.fct_trade TO column_bi"):  # two columns, no table privilege
        admin.execute(statement)
    trade_before, fixed_before = _acl(admin, "marts.fct_trade"), _acl(admin, "marts.dim_fixed")
    fixed_oid = admin.execute("SELECT 'marts.dim_fixed'::regclass::oid").fetchone()[0]

    # fct_trade, fig1_trade and meta's tables change, dim_fixed is kept, dim_new is new
    _ok(_publish(settings, "run-g2", rows=300, extra_sql=FIXED_SQL.format(comment="Fixed") + ";" + NEW_SQL))
    assert admin.execute("SELECT 'marts.dim_fixed'::regclass::oid").fetchone()[0] == fixed_oid  # kept in place
    assert _acl(admin, "marts.fct_trade") == trade_before  # the same grants, grant option and columns included
    assert _acl(admin, "marts.dim_fixed") == fixed_before
    assert trade_before[1] == ["id{column_bi=r/jlac_owner}", "year{column_bi=r/jlac_owner}"]
    readable = {role: sorted(t for t in ("marts.fct_trade", "marts.dim_fixed", "marts.dim_new",
                                         "figures.fig1_trade", "meta.serving_copy") if _reads(admin, role, t))
                for role in ROLES}
    assert readable == {"finance_bi": ["marts.fct_trade"],
                        "wide_bi": ["marts.dim_fixed", "marts.dim_new", "marts.fct_trade"],  # the new table too
                        "partial_bi": ["marts.dim_fixed"],  # not the revoked one, not the new one
                        "column_bi": []}
    assert admin.execute("SELECT has_column_privilege('column_bi', 'marts.fct_trade', 'year', 'SELECT'), "
                         "has_schema_privilege('finance_bi', 'figures', 'USAGE')").fetchone() == (True, False)
    with _reader(port) as con:  # the reader role reads every served table, the new one too
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-g2",)
        assert con.execute("SELECT (SELECT count(*) FROM marts.fct_trade), (SELECT count(*) FROM marts.dim_new), "
                           "(SELECT count(*) FROM marts.dim_fixed), (SELECT count(*) FROM figures.fig1_trade)"
                           ).fetchone() == (300, 1, 1000, 30)
    admin.execute("SET ROLE finance_bi")  # and finance_bi still reads its table
    assert admin.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (300,)
    admin.execute("RESET ROLE")


def test_indexes_an_admin_made_are_made_again_and_one_that_cannot_be_is_left_out(team_env, admin, caplog):
    settings, port = team_env
    fixed = FIXED_SQL.format(comment="Fixed") + ";"  # kept by the next publish, its index with it
    _ok(_publish(settings, "run-i1", rows=100, extra_sql=fixed + NOTE_SQL.format(column="note")))
    for statement in (
            "CREATE INDEX dim_fixed_code ON marts.dim_fixed (code)",
            "CREATE INDEX fct_trade_year ON marts.fct_trade (year) WHERE year >= 2000",
            "COMMENT ON INDEX marts.fct_trade_year IS 'for the slow dashboard'",
            "ALTER TABLE marts.fct_trade ADD CONSTRAINT fct_trade_id PRIMARY KEY (id)",
            "CREATE INDEX dim_note_note ON marts.dim_note (note)"):  # the next publish renames that column
        admin.execute(statement)
    indexes = ("SELECT indexname, indexdef, obj_description(format('%I.%I', schemaname, indexname)::regclass) "
               "FROM pg_indexes WHERE schemaname = 'marts' ORDER BY 1")
    before = admin.execute(indexes).fetchall()
    assert [name for name, *_ in before] == ["dim_fixed_code", "dim_note_note", "fct_trade_id", "fct_trade_year"]
    kept_oid = admin.execute("SELECT 'marts.dim_fixed_code'::regclass::oid").fetchone()[0]

    with caplog.at_level(logging.WARNING, logger="jlac.serving"):
        _ok(_publish(settings, "run-i2", rows=300, extra_sql=fixed + NOTE_SQL.format(column="remark")))
    assert admin.execute(indexes).fetchall() == [before[0], *before[2:]]  # the same names, definitions, comment
    assert admin.execute("SELECT 'marts.dim_fixed_code'::regclass::oid").fetchone()[0] == kept_oid  # not touched
    assert admin.execute("SELECT conname, contype FROM pg_constraint WHERE conrelid = 'marts.fct_trade'::regclass"
                         ).fetchall() == [("fct_trade_id", "p")]
    [warning] = [r.getMessage() for r in caplog.records if "dim_note_note" in r.getMessage()]
    assert "index dim_note_note on marts.dim_note could not be made again" in warning
    assert 'column "note" does not exist' in warning
    with _reader(port) as con:  # served without that index, the rest whole
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-i2",)
        assert con.execute("SELECT count(*) FROM marts.fct_trade WHERE year >= 2000").fetchone() == (200,)
