"""A relation's privileges made exactly a wanted set: the swap's new tables get their predecessors'
(``table_settings``), the views made again on them the old views' (``dependents``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

Grant = tuple[str, str, bool]  # grantee ("PUBLIC" for everyone), privilege, with grant option
ColumnGrant = tuple[str, str, str, bool]  # column, then a Grant

Name = tuple[str, str]  # schema, relation

_GRANTEE = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END"
# with others_only: without the owner's own privileges and the loading role's (the loader owns the new relations)
_NOT_OWNER = ("(NOT %(others)s OR a.grantee NOT IN (c.relowner, "
              "(SELECT oid FROM pg_roles WHERE rolname = current_user)))")
_RELATIONS = "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"

# the privileges as PostgreSQL applies them: a relacl never set (NULL) is the owner's defaults
_PRIVILEGES = (f"SELECT n.nspname, c.relname, {_GRANTEE}, a.privilege_type, a.is_grantable {_RELATIONS}, "
               "aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a "
               f"WHERE c.oid = ANY(%(rels)s::regclass[]) AND {_NOT_OWNER}")

_COLUMN_PRIVILEGES = (f"SELECT n.nspname, c.relname, t.attname, {_GRANTEE}, a.privilege_type, a.is_grantable "
                      f"{_RELATIONS} JOIN pg_attribute t ON t.attrelid = c.oid AND t.attnum > 0 "
                      "AND NOT t.attisdropped, "
                      f"aclexplode(t.attacl) AS a WHERE c.oid = ANY(%(rels)s::regclass[]) AND {_NOT_OWNER} "
                      "ORDER BY 1, 2, t.attnum, 4, 5")

_COLUMNS = "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"


def privileges(pg: psycopg.Connection, relations: list[str], *, others_only: bool = False) -> dict[Name, set[Grant]]:
    """The table privileges of ``relations`` (quoted ``schema.name``, or an OID as text) as PostgreSQL applies them,
    per relation (one nobody holds a privilege on is absent); ``others_only``: without its owner's and the loading
    role's own."""
    found: dict[Name, set[Grant]] = {}
    for schema, name, *grant in pg.execute(_PRIVILEGES, {"rels": relations, "others": others_only}).fetchall():
        found.setdefault((schema, name), set()).add(tuple(grant))
    return found


def column_privileges(pg: psycopg.Connection, relations: list[str], *,
                      others_only: bool = False) -> dict[Name, list[ColumnGrant]]:
    """The column privileges of ``relations``, per relation, in column order (see ``privileges``)."""
    found: dict[Name, list[ColumnGrant]] = {}
    for schema, name, *grant in pg.execute(_COLUMN_PRIVILEGES, {"rels": relations, "others": others_only}).fetchall():
        found.setdefault((schema, name), []).append(tuple(grant))
    return found


def _role(grantee: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)


def set_privileges(pg: psycopg.Connection, relation: Name, wanted: Iterable[Grant],
                   column_grants: Iterable[ColumnGrant], *, others_only: bool = False,
                   written_out: bool = False) -> None:
    """Make the privileges on ``relation`` (schema, name) exactly ``wanted``: grant what is missing, revoke the rest
    (default privileges of its schema may have granted more at CREATE); then grant ``column_grants`` on the
    columns it has (one it lacks is named in a WARNING). ``others_only``: ``wanted`` leaves out the owner's own
    privileges and the loading role's, which stay as they are. ``written_out``: the old relation's privileges were
    set (a relacl, not the owner's defaults), and so are the new one's, the same privileges."""
    ident = sql.Identifier(*relation)
    name = ident.as_string(pg)
    held = privileges(pg, [name], others_only=others_only).get(tuple(relation), set())
    now = {(g, p): o for g, p, o in held}
    want = {(g, p): o for g, p, o in wanted}
    for (grantee, privilege), option in sorted(want.items()):
        if now.get((grantee, privilege)) == option:
            continue
        if now.get((grantee, privilege)):  # held with grant option, wanted without
            pg.execute(sql.SQL("REVOKE GRANT OPTION FOR {} ON {} FROM {}").format(
                sql.SQL(privilege), ident, _role(grantee)))
        else:
            pg.execute(sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege), ident, _role(grantee), sql.SQL(" WITH GRANT OPTION" if option else "")))
    for grantee, privilege in sorted(now.keys() - want.keys()):
        pg.execute(sql.SQL("REVOKE {} ON {} FROM {}").format(sql.SQL(privilege), ident, _role(grantee)))
    column_grants = list(column_grants)
    columns = {c for (c,) in pg.execute(_COLUMNS, [name]).fetchall()} if column_grants else set()
    for column, grantee, privilege, option in column_grants:  # a new relation's columns grant nothing
        if column not in columns:
            log.warning("%s on column %s of %s was granted to %s; the new table has no such column: not granted",
                        privilege, column, ".".join(relation), grantee)
            continue
        pg.execute(sql.SQL("GRANT {} ({}) ON {} TO {}{}").format(
            sql.SQL(privilege), sql.Identifier(column), ident, _role(grantee),
            sql.SQL(" WITH GRANT OPTION" if option else "")))
    if written_out and pg.execute("SELECT relacl IS NULL FROM pg_class WHERE oid = %s::regclass",
                                  [name]).fetchone()[0]:
        # the same privileges, written out as the old relation had them (PUBLIC holds none on a relation by default)
        pg.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(ident))
