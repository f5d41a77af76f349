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


def test_a_column_grant_on_a_column_the_new_table_lacks_is_left_out_with_a_warning(team_env, admin, caplog):
    """A column privilege on a column the next publish renamed cannot be given again: the load goes on without it,
    saying so (the message's relation name used to raise AttributeError, which failed the whole load)."""
    settings, port = team_env
    _ok(_publish(settings, "run-c1", rows=100, extra_sql=NOTE_SQL.format(column="note")))
    admin.execute("GRANT USAGE ON SCHEMA marts TO column_bi")
    admin.execute("GRANT SELECT (iso3, note) ON marts.dim_note TO column_bi")
    with caplog.at_level(logging.WARNING, logger="jlac.serving"):
        _ok(_publish(settings, "run-c2", rows=100, extra_sql=NOTE_SQL.format(column="remark")))
    [warning] = [r.getMessage() for r in caplog.records if "column note" in r.getMessage()]
    assert warning == ("SELECT on column note of marts.dim_note was granted to column_bi; the new table has no such "
                       "column: not granted")
    assert admin.execute("SELECT has_column_privilege('column_bi', 'marts.dim_note', 'iso3', 'SELECT'), "
                         "has_column_privilege('column_bi', 'marts.dim_note', 'remark', 'SELECT')").fetchone() == (
        True, False)
    with _reader(port) as con:
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-c2",)


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


# An index expression that fails when PostgreSQL evaluates it in a session holding an ACCESS EXCLUSIVE lock on a
# served table: building it at the swap tells whether the build ran under the swap's locks, from PostgreSQL's own
# lock table. (IMMUTABLE is required of an index expression; this one reads pg_locks: a probe for this test only.)
PROBE = """
CREATE FUNCTION public.outside_swap_locks(v anyelement) RETURNS anyelement IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
               WHERE l.pid = pg_catalog.pg_backend_pid() AND l.granted AND l.mode = 'AccessExclusiveLock'
               AND c.relkind = 'r' AND c.relnamespace::regnamespace::text IN ('marts', 'figures', 'meta')) THEN
        RAISE EXCEPTION 'built under the swap''s locks on the served tables';
    END IF;
    RETURN v;
END $$"""

def _without_indexes(admin: psycopg.Connection) -> None:
    """Drop the indexes and constraints earlier tests made on the served tables (each publish carries them)."""
    for table, name in admin.execute("SELECT conrelid::regclass::text, quote_ident(conname) FROM pg_constraint "
                                     "WHERE connamespace::regnamespace::text IN ('marts', 'figures', 'meta')"
                                     ).fetchall():
        admin.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for (index,) in admin.execute("SELECT format('%I.%I', schemaname, indexname) FROM pg_indexes "
                                  "WHERE schemaname IN ('marts', 'figures', 'meta')").fetchall():
        admin.execute(f"DROP INDEX {index}")


INDEXES = ("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname IN ('marts', 'figures') "
           "ORDER BY 1, 2")


def test_indexes_are_built_on_the_staged_tables_before_the_swap_locks_the_served_ones(team_env, admin, caplog):
    """Readers of every served table waited for each index build at each publish (0.95-3.7 s per index of a
    1.8 M-row table): the builds ran after the move, under the swap's ACCESS EXCLUSIVE locks. They run on the staged
    tables before the locks; the index moves into the served schema with its table."""
    settings, _ = team_env
    _ok(_publish(settings, "run-e1", rows=100))
    _without_indexes(admin)
    admin.execute(PROBE)
    try:
        for statement in (
                "CREATE INDEX fct_trade_probe ON marts.fct_trade (public.outside_swap_locks(year))",
                "COMMENT ON INDEX marts.fct_trade_probe IS 'built before the locks'",
                "ALTER TABLE marts.fct_trade ADD CONSTRAINT fct_trade_id UNIQUE (id)",
                "CREATE INDEX fig1_year ON figures.fig1_trade (year DESC)"):
            admin.execute(statement)
        before = admin.execute(INDEXES).fetchall()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="jlac.serving"):
            _ok(_publish(settings, "run-e2", rows=300))
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text  # was: "built under ..."
        assert admin.execute(INDEXES).fetchall() == before
        assert admin.execute("SELECT obj_description('marts.fct_trade_probe'::regclass)").fetchone() == (
            "built before the locks",)
        assert admin.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'marts.fct_trade'::regclass"
                             ).fetchall() == [("fct_trade_id",)]
        assert "on the staged tables before the swap's locks" in caplog.text
        assert admin.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'jlac_load_%'").fetchone() == (0,)
    finally:
        admin.execute("DROP FUNCTION public.outside_swap_locks CASCADE")


def test_an_index_made_or_changed_while_the_swap_waits_for_readers_is_the_one_served(team_env, admin):
    """The indexes are read (and built on the staged tables) before the swap waits for the readers; an admin may
    make, change or drop one meanwhile. What the old tables have once the swap holds them is what the new ones get:
    a new or changed one is made after the move, one built early that is gone or changed is dropped."""
    from concurrent.futures import ThreadPoolExecutor

    from jlac.serving.load import catch_up
    from sqlendpoint import contract_refresh, wait_for

    settings, port = team_env
    _ok(_publish(settings, "run-w1", rows=100))
    _without_indexes(admin)
    for statement in ("CREATE INDEX fct_w_year ON marts.fct_trade (year)",
                      "CREATE INDEX fig1_year ON figures.fig1_trade (year)",
                      "CREATE INDEX fig1_gone ON figures.fig1_trade (value_usd)",
                      "ALTER TABLE figures.fig1_trade ADD CONSTRAINT fig1_key UNIQUE (year)"):
        admin.execute(statement)
    contract_refresh(settings.warehouse, rows=300, run_id="run-w2")
    with _reader(port) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM marts.fct_trade")  # the swap waits for it
        load = pool.submit(catch_up, settings.warehouse, team_target(), lock_timeout="1s")
        wait_for(lambda: load.done() or admin.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock' "
            "AND relation = 'marts.fct_trade'::regclass").fetchone()[0], timeout=30, every=0.05)
        assert not load.done(), load.result()
        for statement in ("DROP INDEX figures.fig1_year",  # made again with another definition
                          "CREATE INDEX fig1_year ON figures.fig1_trade (year DESC)",
                          "DROP INDEX figures.fig1_gone",
                          "ALTER TABLE figures.fig1_trade DROP CONSTRAINT fig1_key",
                          "CREATE INDEX fig1_new ON figures.fig1_trade (value_usd DESC)"):
            admin.execute(statement)
        before = admin.execute(INDEXES).fetchall()
        holder.execute("COMMIT")
        assert load.result(timeout=60).version == "run-w2"
    assert admin.execute(INDEXES).fetchall() == before
    assert [name for _, name, _ in before] == ["fct_w_year", "fig1_new", "fig1_year"]
    assert admin.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'figures.fig1_trade'::regclass"
                         ).fetchone() == (0,)
