"""What jlac.validation runs GX with: an in-memory context, and the DuckDB connection GX reads the build through.

A module of its own so that GX (3-4 s of imports) is loaded only when something is validated.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_engine
from great_expectations.data_context import EphemeralDataContext
from great_expectations.data_context.data_context.context_factory import project_manager
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)


# duckdb-engine hands every SQLAlchemy cursor the same DuckDB connection, and the ROLLBACK that
# SQLAlchemy sends when GX closes a connection wipes results GX has not fetched yet. Giving each
# cursor its own DuckDB cursor (same database) keeps results intact.
#
# GX learns a query check's column names by running the whole query (its column reflection for a text query has
# no LIMIT), and DuckDB computes an aggregate (a grain check's GROUP BY over millions of rows) before it returns
# anything: the most expensive check ran once more than its metrics need. So a SELECT without parameters is bound
# at execute (its columns known, SQL errors raised there as before) and run at the first fetch; GX fetches no
# rows of that one.
class _DuckCursor(duckdb_engine.CursorWrapper):
    _pending: tuple[str, list] | None = None

    def execute(self, statement, parameters=None, context=None) -> None:
        self._pending = None
        if not parameters and statement.lstrip()[:6].upper() == "SELECT":
            self._pending = (statement, self._CursorWrapper__c.sql(statement).description)
            return
        super().execute(statement, parameters, context)

    def _run_pending(self) -> None:
        if self._pending is not None:
            statement, self._pending = self._pending[0], None
            super().execute(statement)

    @property
    def description(self):
        return self._pending[1] if self._pending is not None else self._CursorWrapper__c.description

    def fetchone(self):
        self._run_pending()
        return self._CursorWrapper__c.fetchone()

    def fetchall(self):
        self._run_pending()
        return self._CursorWrapper__c.fetchall()

    def fetchmany(self, size=None):
        self._run_pending()
        return super().fetchmany(size)

    def __getattr__(self, name):
        self._run_pending()
        return super().__getattr__(name)

    def close(self) -> None:
        self._pending = None
        self._CursorWrapper__c.close()


class _DuckConnection(duckdb_engine.ConnectionWrapper):
    def cursor(self):
        return _DuckCursor(self._ConnectionWrapper__c.cursor(), self)


class _InMemoryContext(EphemeralDataContext):
    """GX's ephemeral context without the YAML dump of its whole configuration after every datasource, asset and
    batch definition added. Nothing reads an ephemeral context's configuration back (GX documents it as "not
    saved"); the dumps were a quarter of the validation stage (about 180 per refresh, each a bigger document)."""

    def _save_project_config(self) -> None:
        return None


def context() -> EphemeralDataContext:
    """A fresh in-memory GX context, made the current project as ``gx.get_context`` would; no progress bars."""
    ctx = _InMemoryContext(DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults()))
    project_manager.set_project(ctx)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm noise in run logs
    return ctx


def add_warehouse(ctx: EphemeralDataContext, db_path: Path):
    """GX's SQL datasource over the build file, read-only, each cursor its own DuckDB cursor."""
    # GX substitutes $NAME / ${NAME} in a connection string from the environment: a warehouse folder named "d$x" failed
    # every validation ("Unable to find a match for a config substitution variable"); "\$" is GX's literal dollar.
    # The connection itself comes from the creator below, with the real path (found by a QA pass)
    return ctx.data_sources.add_sql(
        "warehouse", connection_string="duckdb:///" + str(db_path).replace("$", "\\$"),
        kwargs={"creator": lambda: _DuckConnection(duckdb.connect(str(db_path), read_only=True))},
    )
