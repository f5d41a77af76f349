"""Views others built on the served tables, kept across the swap: ``capture`` before the old tables are dropped,
``recreate`` once the new ones are in place, in the load's transaction.

On a team's server analysts (or a second dbt project) put views in schemas of their own on top of the served tables
and grant them to their BI roles; the embedded cluster's admin may do the same. The swap drops each old table that
changed with ``DROP TABLE ... CASCADE``, which dropped every such view (and every view on those) without a word.
Now each view and materialized view depending on a dropped table, directly or through other views, is read from the
catalog (pg_depend/pg_rewrite) with what it takes to make it again exactly: definition (``pg_get_viewdef``), owner,
options (``security_barrier``, ``check_option``, ``security_invoker``; a materialized view's storage options and
tablespace), comments on it and its columns, grants (``relacl``), and its indexes, triggers and rules. After the
swap each is created again on the new tables, views under views first; a materialized view is filled from the new
tables. One that cannot be (its definition reads a column or a table the new copy lacks) fails the load, naming
it: the transaction rolls back and the copy stays at the previous publish, views included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from jlac.serving import grants

log = logging.getLogger(__name__)


class DependentViewError(RuntimeError):
    """A view on the served tables could not be created again on the new copy (the load is rolled back)."""


@dataclass(frozen=True)
class Dependent:
    """One view or materialized view on the served tables, as the catalog had it before the swap."""

    schema: str
    name: str
    materialized: bool
    owner: str
    definition: str  # pg_get_viewdef with an empty search_path: every name qualified
    options: list[str]  # reloptions, "name=value"
    tablespace: str | None  # a materialized view's, when not the database's default
    comment: str | None
    column_comments: list[tuple[str, str]]
    grants: frozenset[tuple[str, str, bool]]  # grantee ("PUBLIC" for everyone), privilege, with grant option
    grants_set: bool  # relacl was set (a GRANT or REVOKE was made), not the owner's defaults (NULL)
    column_grants: list[tuple[str, str, str, bool]]  # column, grantee, privilege, with grant option
    populated: bool  # a materialized view made WITH NO DATA (or never refreshed) is made so again
    extras: list[str]  # CREATE INDEX / CREATE TRIGGER / CREATE RULE statements, names qualified
    tables: list[str]  # the served tables (dropped at the swap) it reads, directly or through other views

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def kind(self) -> str:
        return "materialized view" if self.materialized else "view"


# Each view (relkind v) and materialized view (m) whose rewrite rule depends on a dropped table, then on those,
# with its depth (the longest chain of views down to a table: a view is created after every view it reads) and the
# tables at the chain's end.
_DEPENDENTS = """
WITH RECURSIVE dep(oid, level, root) AS (
    SELECT r.ev_class, 1, d.refobjid FROM pg_depend d
    JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
    JOIN pg_class c ON c.oid = r.ev_class AND c.relkind IN ('v', 'm')
    WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%(tables)s::regclass[])
  UNION
    SELECT r.ev_class, dep.level + 1, dep.root FROM dep
    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = dep.oid
    JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid AND r.ev_class <> dep.oid
    JOIN pg_class c ON c.oid = r.ev_class AND c.relkind IN ('v', 'm')
)
SELECT c.oid, n.nspname, c.relname, c.relkind = 'm', pg_get_userbyid(c.relowner), pg_get_viewdef(c.oid),
       coalesce(c.reloptions, '{}'), t.spcname, obj_description(c.oid, 'pg_class'), c.relacl IS NOT NULL,
       c.relispopulated,
       (SELECT array_agg(root::regclass::text ORDER BY root::regclass::text) FROM (
           SELECT DISTINCT root FROM dep WHERE dep.oid = c.oid) AS roots)
FROM (SELECT oid, max(level) AS level FROM dep GROUP BY oid) AS v
JOIN pg_class c ON c.oid = v.oid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
ORDER BY v.level, n.nspname, c.relname
"""

_COLUMN_COMMENTS = ("SELECT attname, col_description(attrelid, attnum) FROM pg_attribute WHERE attrelid = %s "
                    "AND attnum > 0 AND NOT attisdropped AND col_description(attrelid, attnum) IS NOT NULL "
                    "ORDER BY attnum")

_EXTRAS = ("SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %(oid)s UNION ALL "
           "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %(oid)s AND NOT tgisinternal UNION ALL "
           "SELECT pg_get_ruledef(oid) FROM pg_rewrite WHERE ev_class = %(oid)s AND rulename <> '_RETURN'")

# objects other than views that a normal dependency ties to the dropped tables (or their row types): CASCADE
# drops them and they are not created again, so the log names them
_OTHERS = """
SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
WHERE d.deptype = 'n' AND (
    (d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%(rels)s::oid[]))
    OR (d.refclassid = 'pg_type'::regclass
        AND d.refobjid IN (SELECT reltype FROM pg_class WHERE oid = ANY(%(rels)s::oid[]))))
AND NOT (d.classid = 'pg_rewrite'::regclass
         AND (SELECT ev_class FROM pg_rewrite WHERE oid = d.objid) = ANY(%(rels)s::oid[]))
ORDER BY 1
"""


@contextmanager
def qualified_names(pg: psycopg.Connection) -> Iterator[None]:
    """An empty search_path for the block: the catalog's functions write every name with its schema (a definition
    read under the loader's path came back with the names it resolves unqualified), and the statements made of them
    run the same way; the previous path is put back after."""
    path = pg.execute("SELECT current_setting('search_path')").fetchone()[0]
    pg.execute("SELECT set_config('search_path', '', true)")
    yield
    pg.execute("SELECT set_config('search_path', %s, true)", [path])


def capture(pg: psycopg.Connection, tables: list[str]) -> list[Dependent]:
    """The views and materialized views that depend on ``tables`` (quoted ``schema.name``), directly or through other
    views, in the order to create them again. Call it holding the tables' ACCESS EXCLUSIVE locks: a view on them
    cannot be created meanwhile (creating one reads the table)."""
    if not tables:
        return []
    found = []
    with qualified_names(pg):
        rows = pg.execute(_DEPENDENTS, {"tables": tables}).fetchall()
        # by OID (regclass reads a number as one): a name in an analyst's schema the loader has no USAGE on is
        # refused ("permission denied for schema")
        views = [str(oid) for oid, *_ in rows]
        held, held_columns = grants.privileges(pg, views), grants.column_privileges(pg, views)
        for oid, schema, name, materialized, owner, definition, options, space, comment, acl_set, populated, \
                roots in rows:
            found.append(Dependent(
                schema, name, materialized, owner, definition.strip().rstrip(";"), list(options), space, comment,
                pg.execute(_COLUMN_COMMENTS, [oid]).fetchall(), frozenset(held.get((schema, name), ())),
                acl_set, held_columns.get((schema, name), []), populated,
                [s for (s,) in pg.execute(_EXTRAS, {"oid": oid}).fetchall()], list(roots)))
        others = pg.execute(_OTHERS, {"rels": [oid for oid, *_ in rows] + [
            o for (o,) in pg.execute("SELECT unnest(%s::regclass[])::oid", [tables]).fetchall()]}).fetchall()
    if others:
        log.warning("the swap drops, with the old served tables, objects that depend on them and are not views "
                    "(not created again): %s", "; ".join(o for (o,) in others))
    return found


def recreate(pg: psycopg.Connection, views: list[Dependent]) -> None:
    """Create ``views`` again on the new tables, in order, as they were; raise DependentViewError naming the first
    that PostgreSQL refuses (the caller's transaction is then rolled back)."""
    if not views:
        return
    superuser, me = pg.execute("SELECT rolsuper, rolname FROM pg_roles WHERE rolname = current_user").fetchone()
    with qualified_names(pg):
        for view in views:
            try:
                _recreate(pg, view, act_as=None if superuser or view.owner == me else view.owner)
            except psycopg.Error as exc:
                raise DependentViewError(_refused(view, exc, me)) from exc
    log.info("created again on the new tables: %s", ", ".join(f"{v.kind} {v.qualified}" for v in views))


def _recreate(pg: psycopg.Connection, view: Dependent, act_as: str | None) -> None:
    """Create one view again. A superuser creates it and gives it to its owner; another loader acts as the owner
    (SET ROLE: it must be a member of the owner's role), as ALTER ... OWNER TO would require of it anyway."""
    kind = sql.SQL("MATERIALIZED VIEW" if view.materialized else "VIEW")
    ident = sql.Identifier(view.schema, view.name)
    if act_as is not None:
        pg.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(act_as)))
    options = sql.SQL(" WITH ({})").format(sql.SQL(", ").join(_option(o) for o in view.options)) \
        if view.options else sql.SQL("")
    space = sql.SQL(" TABLESPACE {}").format(sql.Identifier(view.tablespace)) if view.tablespace else sql.SQL("")
    data = sql.SQL("" if view.populated else " WITH NO DATA")
    pg.execute(sql.SQL("CREATE {} {}{}{} AS {}{}").format(kind, ident, options, space, sql.SQL(view.definition),
                                                         data))
    if act_as is None and view.owner != pg.execute("SELECT current_user").fetchone()[0]:
        pg.execute(sql.SQL("ALTER {} {} OWNER TO {}").format(kind, ident, sql.Identifier(view.owner)))
    if view.comment is not None:
        pg.execute(sql.SQL("COMMENT ON {} {} IS {}").format(kind, ident, sql.Literal(view.comment)))
    for column, comment in view.column_comments:
        pg.execute(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(ident, sql.Identifier(column),
                                                                  sql.Literal(comment)))
    for statement in view.extras:
        pg.execute(sql.SQL(statement))
    # the grantor is the owner (or the superuser), whoever granted before
    grants.set_privileges(pg, (view.schema, view.name), view.grants, view.column_grants, written_out=view.grants_set)
    if act_as is not None:
        pg.execute("SET LOCAL ROLE NONE")


def _option(option: str) -> sql.Composable:
    """``name=value`` of reloptions as a WITH clause item (a name from the catalog: letters, digits, _ and .)."""
    name, _, value = option.partition("=")
    if not re.fullmatch(r"[a-z_][a-z0-9_.]*", name):
        raise ValueError(f"unexpected view option {option!r} in pg_class.reloptions")
    return sql.SQL("{} = {}").format(sql.SQL(name), sql.Literal(value))


def _refused(view: Dependent, exc: psycopg.Error, loader: str) -> str:
    """Why a view could not be created again, and what to do, for the person reading the alert."""
    diag = exc.diag
    said = diag.message_primary or str(exc).strip()
    said += "".join(f" ({more})" for more in (diag.message_detail, diag.message_hint) if more)
    what = (f"{view.kind} {view.qualified} (owner {view.owner}) on {', '.join(view.tables)} cannot be created again "
            f"on the new serving copy: PostgreSQL said: {said}")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        todo = (f"the loading role {loader} must be able to act as role {view.owner} (as a superuser: GRANT "
                f"{view.owner} TO {loader}), and {view.owner} needs CREATE on schema {view.schema} and SELECT on "
                f"what the view reads; or drop the view")
    else:
        todo = (f"change or drop the view so that it reads what the new copy has ({', '.join(view.tables)} as "
                "published now; a table left out with JLAC_SQL_SKIP is not in the copy at all)")
    return (f"{what}. The serving copy stays at the previous publish, this view with it; {todo}, and the next load "
            "(the next refresh, or serve-sql's retry) swaps the new copy in.")
