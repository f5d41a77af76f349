"""SQL models: ``sql/<layer>/<name>.sql``, one SELECT per file, materialised as ``<layer>.<name>``.

A model documents itself in its header, which becomes the table's and columns' COMMENTs::

    -- What the table holds (one or more lines).
    -- @col <column>: what the column holds
    -- @materialized: view     (optional: a view instead of a table, for facts too large to copy each refresh)

Models run in dependency order, found from the ``schema.table`` names each file mentions.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb

from jlac.comments import comment_table
from jlac.config import SQL_DIR
from jlac.errors import ModelError

log = logging.getLogger(__name__)

LAYERS = ("staging", "intermediate", "marts", "figures")
_REF = re.compile(r"\b(raw|seeds|staging|intermediate|marts|figures|meta)\.([a-z_][a-z0-9_]*)\b", re.I)
_COL = re.compile(r"^--\s*@col\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$")
_MATERIALIZED = re.compile(r"^--\s*@materialized\s*:\s*(table|view)\s*$")


@dataclass
class Model:
    name: str  # schema.table
    path: Path
    sql: str
    description: str
    columns: dict[str, str] = field(default_factory=dict)
    refs: set[str] = field(default_factory=set)
    materialized: str = "table"  # or "view": read at query time, nothing copied (large Parquet-backed facts)


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def load_model(path: Path) -> Model:
    text = path.read_text(encoding="utf-8")
    desc: list[str] = []
    cols: dict[str, str] = {}
    materialized = "table"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        m = _COL.match(stripped)
        kind = _MATERIALIZED.match(stripped)
        if kind:
            materialized = kind.group(1)
        elif m:
            cols[m.group(1)] = m.group(2).strip()
        elif not cols:
            desc.append(stripped[2:].strip())
    body = text.strip().rstrip(";")
    name = f"{path.parent.name}.{path.stem}"
    refs = {f"{a.lower()}.{b.lower()}" for a, b in _REF.findall(_strip_comments(body))} - {name}
    return Model(name=name, path=path, sql=body, description=" ".join(d for d in desc if d), columns=cols, refs=refs,
                 materialized=materialized)


def discover(sql_dir: Path = SQL_DIR) -> list[Model]:
    """All models, in an order where every model comes after the models it reads."""
    models = {m.name: m for layer in LAYERS for m in map(load_model, sorted((sql_dir / layer).glob("*.sql")))}
    graph = {name: {r for r in m.refs if r in models} for name, m in models.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ModelError(f"SQL models reference each other in a cycle: {exc.args[1]}") from exc
    return [models[n] for n in order]


def upstream(targets: list[str], sql_dir: Path = SQL_DIR) -> list[Model]:
    """The target models and every model they read (transitively), in dependency order."""
    found = discover(sql_dir)
    by_name = {m.name: m for m in found}
    needed, todo = set(), list(targets)
    while todo:
        name = todo.pop()
        if name not in needed and name in by_name:
            needed.add(name)
            todo += by_name[name].refs
    return [m for m in found if m.name in needed]


def downstream(tables: list[str], sql_dir: Path = SQL_DIR) -> list[Model]:
    """Every model that reads any of ``tables`` (``schema.table``), directly or through other models, in order."""
    found = discover(sql_dir)
    hit = {t.lower() for t in tables}
    chosen = []
    for m in found:  # dependency order: a model's inputs were decided before it
        if m.refs & hit:
            chosen.append(m)
            hit.add(m.name)
    return chosen


def run_model(con: duckdb.DuckDBPyConnection, model: Model) -> int | None:
    """Materialise one model and comment it; return its row count (None for a view: counting would scan it)."""
    try:
        con.execute(f"CREATE OR REPLACE {model.materialized.upper()} {model.name} AS {model.sql}")
    except duckdb.Error as exc:
        raise ModelError(f"SQL model {model.path.relative_to(model.path.parents[1])} failed: {exc}") from exc
    actual = [r[0] for r in con.execute(f"DESCRIBE {model.name}").fetchall()]
    undocumented = [c for c in actual if c not in model.columns]
    unknown = [c for c in model.columns if c not in actual]
    if not model.description or undocumented or unknown:
        raise ModelError(
            f"SQL model {model.path.name}: header must describe the table and every column "
            f"(undocumented: {undocumented or 'none'}; documented but absent: {unknown or 'none'})"
        )
    comment_table(con, model.name, model.description, model.columns)
    if model.materialized == "view":
        return None
    return con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0]


def run_all(con: duckdb.DuckDBPyConnection, models: list[Model] | None = None) -> dict[str, int]:
    """Run every model in dependency order; return row counts by model."""
    for schema in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    counts, seconds = {}, {}
    for m in models if models is not None else discover():
        start = time.perf_counter()
        counts[m.name] = run_model(con, m)
        seconds[m.name] = time.perf_counter() - start
    slowest = sorted(seconds.items(), key=lambda kv: -kv[1])[:3]
    log.info("%d SQL models built in %.1f s; slowest: %s", len(counts), sum(seconds.values()),
             ", ".join(f"{n} {s:.1f} s" for n, s in slowest))
    return counts
