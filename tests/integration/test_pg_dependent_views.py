"""Views a team built on the served tables, in a schema of its own, survive a publish (``jlac.serving.dependents``).

The swap drops the old served tables with ``DROP TABLE ... CASCADE``: every view on them, and every view on those,
went with it at the next publish that changed the table, and nothing said so. Against a real PostgreSQL (the team
server of test_pg_team_and_failures, whose fixtures and publish helper these tests use)."""

from __future__ import annotations

import re

import psycopg
import pytest
import test_pg_team_and_failures as team
from jlac import ledger, publish_hooks
from jlac.errors import SettingError
from jlac.ledger import RunRecord
from jlac.publish_hooks import postgres as postgres_hook
from jlac.serving.load import ServingLoadError, catch_up
from jlac.serving.status import serving_status
from jlac.serving.target import team_target
from sqlendpoint import contract_refresh, team_owner_server
from test_pg_team_and_failures import FIXED_SQL, _publish, _reader

pytestmark = pytest.mark.integration

team_server, team_env = team.team_server, team.team_env  # that module's team server, started again for this one

NOTE_SQL = "CREATE TABLE marts.dim_note AS SELECT 'MEX' AS iso3, 'a note' AS {column}"


@pytest.fixture
def owner(team_env, monkeypatch):
    """The loader's own connection to the team server, with an analyst role owning schema ``analytics`` and a BI
    role to grant to; all of it dropped afterwards (the server is shared by this module's tests)."""
    monkeypatch.setattr(publish_hooks, "all_hooks", lambda: [postgres_hook.HOOK])  # the hook under test alone
    with psycopg.connect(team_target().conninfo, autocommit=True) as con:
        for role in ("analyst", "bi_viewer"):
            if not con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                con.execute(f"CREATE ROLE {role} NOLOGIN")
        con.execute("CREATE SCHEMA analytics AUTHORIZATION analyst")
        try:
            yield con
        finally:
            con.execute("RESET ROLE")
            con.execute("DROP SCHEMA analytics CASCADE")
            for schema in ("marts", "figures", "meta"):
                con.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM analyst, bi_viewer")
                con.execute(f"REVOKE ALL ON SCHEMA {schema} FROM analyst, bi_viewer")


def _as_analyst(con: psycopg.Connection, *statements: str) -> None:
    """Run ``statements`` as the analyst, who may read the served tables (granted as a team's DBA would)."""
    con.execute("GRANT USAGE ON SCHEMA marts TO analyst")
    con.execute("GRANT SELECT ON ALL TABLES IN SCHEMA marts TO analyst")
    con.execute("SET ROLE analyst")
    for statement in statements:
        con.execute(statement)
    con.execute("RESET ROLE")


def _postgres(outcomes):
    [outcome] = [o for o in outcomes if o.hook == "postgres"]
    return outcome


def _described(con: psycopg.Connection, name: str) -> tuple:
    """What a re-created view must have again: kind, owner, options, grants, comments, columns."""
    return con.execute(
        "SELECT c.relkind, pg_get_userbyid(c.relowner), c.reloptions, c.relacl::text, "
        "(SELECT array_agg(a.attname || coalesce(a.attacl::text, '') ORDER BY a.attnum) FROM pg_attribute a "
        " WHERE a.attrelid = c.oid AND a.attnum > 0), "
        "obj_description(c.oid, 'pg_class'), "
        "(SELECT array_agg(a.attname || ': ' || col_description(c.oid, a.attnum) ORDER BY a.attnum) "
        " FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND col_description(c.oid, a.attnum) "
        " IS NOT NULL) FROM pg_class c WHERE c.oid = to_regclass(%s)", [name]).fetchone()


def test_views_and_views_on_them_survive_a_publish_that_changed_their_table(team_env, owner):
    settings, port = team_env
    first = _postgres(_publish(settings, "run-v1", rows=100, extra_sql=FIXED_SQL.format(comment="Fixed")))
    assert first.status == "ok", first.message
    _as_analyst(
        owner,
        "CREATE VIEW analytics.trade_by_year WITH (security_barrier) AS "
        "SELECT year, count(*) AS n, sum(value_usd) AS value_usd FROM marts.fct_trade GROUP BY year",
        "CREATE VIEW analytics.recent_trade AS "
        "SELECT * FROM analytics.trade_by_year WHERE year >= 2000",
        "CREATE VIEW analytics.trade_rows (trade_id, year) WITH (check_option = local, security_invoker) AS "
        "SELECT id, year FROM marts.fct_trade WHERE year >= 2000",
        "CREATE VIEW analytics.codes AS SELECT code FROM marts.dim_fixed",  # on a table the next publish keeps
        "COMMENT ON VIEW analytics.recent_trade IS 'Trade since 2000, for the dashboard'",
        "COMMENT ON COLUMN analytics.recent_trade.n IS 'Trade rows in the year'",
        "GRANT USAGE ON SCHEMA analytics TO bi_viewer",
        "GRANT SELECT ON analytics.recent_trade TO bi_viewer WITH GRANT OPTION",
        "REVOKE ALL ON analytics.trade_by_year FROM PUBLIC",
        "GRANT SELECT (year) ON analytics.trade_by_year TO bi_viewer")
    before = {name: _described(owner, name)
              for name in ("analytics.trade_by_year", "analytics.recent_trade", "analytics.trade_rows")}
    codes_oid = owner.execute("SELECT 'analytics.codes'::regclass::oid").fetchone()[0]
    assert before["analytics.recent_trade"][3] == "{analyst=arwdDxt/analyst,bi_viewer=r*/analyst}"
    assert before["analytics.trade_rows"][4] == ["trade_id", "year"]
    assert before["analytics.trade_by_year"][4] == ["year{bi_viewer=r/analyst}", "n", "value_usd"]

    # the next publish changes fct_trade (300 rows) and keeps dim_fixed
    outcome = _postgres(_publish(settings, "run-v2", rows=300, extra_sql=FIXED_SQL.format(comment="Fixed")))
    assert outcome.status == "ok", outcome.message
    assert outcome.details["kept"] == 1
    for name, described in before.items():  # the same owner, options, grants and comments
        assert _described(owner, name) == described, name
    owner.execute("SET ROLE bi_viewer")  # the BI role reads the new rows through the view on the view
    assert owner.execute("SELECT sum(n) FROM analytics.recent_trade").fetchone() == (200,)  # years 2000-2019
    owner.execute("RESET ROLE")
    assert owner.execute("SELECT sum(n) FROM analytics.trade_by_year").fetchone() == (300,)
    # a view on a kept table was never dropped: the same object
    assert owner.execute("SELECT 'analytics.codes'::regclass::oid").fetchone()[0] == codes_oid
    with _reader(port) as con:
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-v2",)


def test_a_view_reading_a_column_the_new_table_lacks_fails_the_load_and_the_copy_stays(team_env, owner):
    settings, port = team_env
    first = _postgres(_publish(settings, "run-n1", rows=100, extra_sql=NOTE_SQL.format(column="note")))
    assert first.status == "ok", first.message
    _as_analyst(owner, "CREATE VIEW analytics.notes AS SELECT iso3, note FROM marts.dim_note")

    alerts: list = []
    outcomes = _publish(settings, "run-n2", rows=200, extra_sql=NOTE_SQL.format(column="remark"), alerts=alerts)
    failed = _postgres(outcomes)
    assert failed.status == "failed"
    assert "view analytics.notes (owner analyst) on marts.dim_note cannot be created again" in failed.message
    assert 'column dim_note.note does not exist' in failed.message
    assert "change or drop the view" in failed.message
    assert "postgres" in [hook for hook, _ in alerts]
    with _reader(port) as con:  # the whole copy stays at the previous publish, the view too
        assert con.execute("SELECT run_id FROM meta.serving_copy").fetchone() == ("run-n1",)
        assert con.execute("SELECT count(*) FROM marts.fct_trade").fetchone() == (100,)
    assert owner.execute("SELECT note FROM analytics.notes").fetchone() == ("a note",)
    ledger.append(settings.run_ledger, RunRecord(run_id="run-n2", status="completed",
                                                 hooks=[o.__dict__ for o in outcomes]))
    line = serving_status(settings).line()  # jlac status says why the copy is behind
    assert "BEHIND the published run run-n2" in line and "analytics.notes" in line

    # the analyst changes the view: the next load serves the new copy, the view on it
    owner.execute("DROP VIEW analytics.notes")
    _as_analyst(owner, "CREATE VIEW analytics.notes AS SELECT iso3 FROM marts.dim_note")
    assert _postgres(_publish(settings, "run-n3", rows=200, extra_sql=NOTE_SQL.format(column="remark"))).status == "ok"
    assert owner.execute("SELECT count(*) FROM analytics.notes").fetchone() == (1,)


def test_a_materialized_view_is_created_again_and_holds_the_new_rows(team_env, owner):
    settings, _ = team_env
    assert _postgres(_publish(settings, "run-m1", rows=100)).status == "ok"
    _as_analyst(
        owner,
        "CREATE MATERIALIZED VIEW analytics.trade_years AS SELECT year, count(*) AS n FROM marts.fct_trade "
        "GROUP BY year",
        "CREATE UNIQUE INDEX trade_years_year ON analytics.trade_years (year)",  # for REFRESH ... CONCURRENTLY
        "COMMENT ON MATERIALIZED VIEW analytics.trade_years IS 'Rows per year'",
        "GRANT SELECT ON analytics.trade_years TO bi_viewer")
    before = _described(owner, "analytics.trade_years")

    assert _postgres(_publish(settings, "run-m2", rows=600)).status == "ok"
    assert _described(owner, "analytics.trade_years") == before
    assert owner.execute("SELECT sum(n), count(*) FROM analytics.trade_years").fetchone() == (600, 30)
    assert owner.execute("SELECT ispopulated FROM pg_matviews WHERE matviewname = 'trade_years'").fetchone() == (
        True,)
    assert owner.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'trade_years'").fetchone() == (
        "CREATE UNIQUE INDEX trade_years_year ON analytics.trade_years USING btree (year)",)  # for CONCURRENTLY


def test_a_loader_that_is_not_a_superuser_creates_each_view_as_its_owner(monkeypatch):
    """A team's owner role need not be a superuser: it creates an analyst's view again as the analyst (SET ROLE), so
    it must be a member of that role; until it is, the load fails saying so and the view stays."""
    with team_owner_server(monkeypatch) as (admin, home, _port):
        warehouse = home / "jlac.duckdb"
        contract_refresh(warehouse, rows=40, run_id="run-o1")
        with pytest.raises(SettingError) as refused:  # what a superuser runs once for a non-superuser owner
            catch_up(warehouse, team_target())
        admin.execute(re.search(r"run once: (REVOKE EXECUTE ON FUNCTION .* FROM PUBLIC);",
                                str(refused.value)).group(1))
        assert catch_up(warehouse, team_target()).status == "loaded"
        admin.execute("CREATE ROLE analyst NOLOGIN")
        admin.execute("CREATE SCHEMA analytics AUTHORIZATION analyst")
        _as_analyst(admin, "CREATE VIEW analytics.trade AS SELECT count(*) AS n FROM marts.fct_trade")

        contract_refresh(warehouse, rows=50, run_id="run-o2")
        with pytest.raises(ServingLoadError, match=r"view analytics.trade \(owner analyst\) on marts.fct_trade "
                           r"cannot be created again.*permission denied to set role.*GRANT analyst TO team_owner"):
            catch_up(warehouse, team_target())
        assert admin.execute("SELECT n FROM analytics.trade").fetchone() == (40,)  # rolled back: still there

        admin.execute("GRANT analyst TO team_owner")
        assert catch_up(warehouse, team_target()).version == "run-o2"
        assert admin.execute("SELECT n, pg_get_userbyid(relowner) FROM analytics.trade, pg_class "
                             "WHERE oid = 'analytics.trade'::regclass").fetchone() == (50, "analyst")
