"""What a team's admin set on the served tables, carried from each old table to the new one of the same name at the
swap: privileges per table and per column, and indexes. ``build_staged`` before the swap's locks (the indexes, on the
staged tables); ``capture`` under the old tables' locks, before they are dropped, then ``settle_staged``; ``apply``
once the new tables are in the served schemas, in the load's transaction.

The swap replaces every table that changed by a new one, and used to grant ``SELECT ON ALL TABLES IN SCHEMA`` to
every role with USAGE on a served schema: a role an admin had granted one table of ``marts`` (or revoked one from)
could read all of them after the next publish. And the indexes an admin made for a slow dashboard went with the old
table. Now each new table gets exactly the privileges its predecessor had (every role but the loading role, which
owns it; the reader role keeps SELECT on every served table); a table new in this publish is granted to the reader
role and to the roles that could read every table of its schema before; the first load into a schema with no tables
grants as before (USAGE and SELECT to every role with USAGE on a served schema). Tables the swap keeps are not
touched. Indexes are made again on the new table, by the same name; one that cannot be (a column the new table
lacks, duplicates in a unique one) is left out with a WARNING: an index is a speed-up, the copy is served without
it. They are built on the staged table, before the swap locks the served ones (readers of every served table waited
for each build, seconds on a table of millions of rows), and move with it into the served schema; one made or
changed on an old table while the swap waited for its locks is made after the move, as all of them were before.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from jlac.serving import grants
from jlac.serving.dependents import qualified_names

log = logging.getLogger(__name__)

Name = tuple[str, str]  # schema, table

# an index backing a constraint (a primary key, unique or exclusion constraint an admin added) is made again as
# that constraint; every other one from its definition
_INDEXES = """
SELECT n.nspname, c.relname, i.relname, pg_get_indexdef(x.indexrelid), k.conname, pg_get_constraintdef(k.oid),
       obj_description(x.indexrelid, 'pg_class'), x.indisunique
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x')
WHERE x.indrelid = ANY(%s::regclass[]) ORDER BY 1, 2, 3
"""

_USAGE = ("SELECT DISTINCT r.rolname FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee "
          "WHERE n.nspname = ANY(%s) AND a.privilege_type = 'USAGE' AND r.rolname <> current_user")


@dataclass(frozen=True)
class Index:
    """One index on an old served table, as the statement that makes it again (names qualified)."""

    schema: str
    table: str
    name: str
    statement: str
    comment: str | None
    # the statement making it on the staged table of that name, by the same name: it moves into the served schema
    # with its table (index names are per schema, constraint names per table)
    staged: str | None = field(default=None, compare=False)


@dataclass
class Early:
    """The indexes read before the swap's locks and made on the staged tables then (``build_staged``)."""

    read: list[Index] = field(default_factory=list)  # every one with a staged table to make it on
    built: list[Index] = field(default_factory=list)  # those PostgreSQL made


@dataclass
class Before:
    """The served tables' privileges and indexes before the swap."""

    # per old table: (grantee, privilege, with grant option), and per column (column first)
    grants: dict[Name, set[tuple[str, str, bool]]] = field(default_factory=dict)
    column_grants: dict[Name, list[tuple[str, str, str, bool]]] = field(default_factory=dict)
    indexes: list[Index] = field(default_factory=list)  # on the tables about to be dropped
    usage_roles: set[str] = field(default_factory=set)  # roles with USAGE on a served schema (the old rule's readers)

    def readers_of_all(self, schema: str) -> set[str] | None:
        """Roles holding SELECT on every old table of ``schema``; None when it had none."""
        tables = [grants for (s, _), grants in self.grants.items() if s == schema]
        if not tables:
            return None
        return set.intersection(*({g for g, p, _ in grants if p == "SELECT"} for grants in tables))


def _quoted(pg: psycopg.Connection, names: list[Name]) -> list[str]:
    return [sql.Identifier(*name).as_string(pg) for name in names]


def capture(pg: psycopg.Connection, schemas: list[str], old: list[Name], dropped: list[Name]) -> Before:
    """Privileges of every ``old`` served table and indexes of the ``dropped`` ones. Call it holding their ACCESS
    EXCLUSIVE locks (nobody changes them meanwhile); ``settle_staged`` then leaves out the indexes built early."""
    before = Before(usage_roles={r for (r,) in pg.execute(_USAGE, [schemas]).fetchall()})
    before.grants = {name: set() for name in old}  # a table nobody else was granted keeps that: none
    if not old:
        return before
    with qualified_names(pg):
        before.grants.update(grants.privileges(pg, _quoted(pg, old), others_only=True))
        before.column_grants = grants.column_privileges(pg, _quoted(pg, old), others_only=True)
        before.indexes = _read_indexes(pg, dropped, "")
    return before


def _read_indexes(pg: psycopg.Connection, tables: list[Name], stage: str) -> list[Index]:
    """The indexes of ``tables``, each with the statement making it again, and when ``stage`` is given the one
    making it on the staged table of that name (call it under ``qualified_names``)."""
    if not tables:
        return []
    found = []
    for schema, table, name, indexdef, constraint, condef, comment, unique in pg.execute(
            _INDEXES, [_quoted(pg, tables)]).fetchall():
        if constraint is not None:
            statement, staged = (sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(on, table), sql.Identifier(constraint), sql.SQL(condef)).as_string(pg)
                for on in (schema, stage + schema))
        else:
            statement, staged = indexdef, _staged_indexdef(pg, indexdef, schema, table, name, unique, stage)
        found.append(Index(schema, table, name, statement, comment, staged if stage else None))
    return found


def _staged_indexdef(pg: psycopg.Connection, indexdef: str, schema: str, table: str, name: str, unique: bool,
                     stage: str) -> str | None:
    """``indexdef`` (pg_get_indexdef: ``CREATE [UNIQUE] INDEX name ON schema.table USING ...``) on the staged table
    instead; None when it does not read as expected (the index is then made after the move, as before)."""
    quoted = pg.execute("SELECT quote_ident(%s), format('%%I.%%I', %s::text, %s::text), "
                        "format('%%I.%%I', %s::text, %s::text)", [name, schema, table, stage + schema, table]
                        ).fetchone()
    head = f"CREATE {'UNIQUE ' if unique else ''}INDEX {quoted[0]} ON {quoted[1]} "
    if not indexdef.startswith(head):
        return None
    return f"CREATE {'UNIQUE ' if unique else ''}INDEX {quoted[0]} ON {quoted[2]} " + indexdef[len(head):]


def build_staged(pg: psycopg.Connection, dropped: list[Name], stage: str) -> Early:
    """Before the swap takes its locks: make the indexes of the ``dropped`` old tables on the staged tables of the
    same names (``stage + schema``), which the swap moves into the served schemas, their indexes with them. Readers
    of the served tables no longer wait for the builds (seconds on a table of millions of rows). One PostgreSQL
    refuses is left out with a WARNING, as after the move."""
    early = Early()
    with qualified_names(pg):
        staged = {(s[len(stage):], t) for s, t in pg.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)",
            [sorted({stage + s for s, _ in dropped})]).fetchall()}
        early.read = [i for i in _read_indexes(pg, [t for t in dropped if t in staged], stage) if i.staged]
    made = _indexes(pg, early.read, staged, stage)
    early.built = [i for i in early.read if (i.schema, i.name) in made]
    return early


def settle_staged(pg: psycopg.Connection, before: Before, early: Early, stage: str) -> None:
    """Under the swap's locks, once ``capture`` read the indexes again: leave to ``apply`` only those made or
    changed on the old tables since ``build_staged`` read them (made after the move, as before), and drop from
    the staged tables those built early that the old tables no longer have as they were."""
    now = before.indexes
    before.indexes = [index for index in now if index not in early.read]
    for index in early.built:
        if index not in now:
            if index.statement.startswith("ALTER TABLE"):  # a constraint, named as its index
                pg.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(stage + index.schema, index.table), sql.Identifier(index.name)))
            else:
                pg.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(stage + index.schema, index.name)))


def apply(pg: psycopg.Connection, before: Before, schemas: list[str], moved: list[Name], reader: str | None) -> None:
    """Give the ``moved`` (new) tables their predecessors' privileges, grant the reader role USAGE on the served
    ``schemas`` and SELECT on every table in them, and make the indexes of the dropped tables again on the new
    ones."""
    for name in moved:
        if name in before.grants:
            wanted = before.grants[name]
        else:  # new in this publish: for whoever read all of its schema (the first load: as before)
            all_readers = before.readers_of_all(name[0])
            wanted = {(role, "SELECT", False) for role in
                      (before.usage_roles if all_readers is None else all_readers)}
        grants.set_privileges(pg, name, wanted, before.column_grants.get(name, []),
                              others_only=True)
    for schema in schemas:
        if before.readers_of_all(schema) is None:  # nothing served there before: every reader gets the schema
            for role in sorted(before.usage_roles):
                pg.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema),
                                                                           sql.Identifier(role)))
    if reader is not None:
        for schema in schemas:
            pg.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema),
                                                                       sql.Identifier(reader)))
            pg.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(sql.Identifier(schema),
                                                                                     sql.Identifier(reader)))
    _indexes(pg, before.indexes, set(moved))


def _indexes(pg: psycopg.Connection, indexes: list[Index], tables: set[Name], stage: str = "") -> set[Name]:
    """Make each index again on the new table of the same name, in ``tables`` (left out when there is none): with
    ``stage``, on the staged table before the move, else on the moved one. One PostgreSQL refuses is left out with
    a WARNING, in a savepoint of its own: the load goes on without it. Returns the (schema, index name) of those
    made."""
    made: dict[Name, str] = {}
    with qualified_names(pg):
        for index in indexes:
            if (index.schema, index.table) not in tables:
                log.warning("index %s on %s.%s is not made again: the new copy has no such table", index.name,
                            index.schema, index.table)
                continue
            started = time.perf_counter()
            try:
                with pg.transaction():
                    pg.execute(sql.SQL(index.staged if stage else index.statement))
                    if index.comment is not None:
                        pg.execute(sql.SQL("COMMENT ON INDEX {} IS {}").format(
                            sql.Identifier(stage + index.schema, index.name), sql.Literal(index.comment)))
            except psycopg.DatabaseError as exc:
                diag = exc.diag
                said = diag.message_primary or str(exc).strip()
                said += "".join(f" ({more})" for more in (diag.message_detail,) if more)
                log.warning("index %s on %s.%s could not be made again on the new table, which is served without "
                            "it (PostgreSQL said: %s); change or drop it, or make it again by hand: %s", index.name,
                            index.schema, index.table, said, index.statement)
                continue
            made[(index.schema, index.name)] = f"{index.schema}.{index.name} ({time.perf_counter() - started:.2f} s)"
    if made:
        log.info("indexes made again on the new tables, %s: %s",
                 "on the staged tables before the swap's locks" if stage else "under the swap's locks",
                 ", ".join(made.values()))
    return set(made)
