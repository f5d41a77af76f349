"""Source registry. A source is one module in this package that defines ``SOURCE``.

Adding a source means adding three things, and editing nothing else:
  * ``jlac/sources/<module>.py`` with ``SOURCE = Source(...)`` and its parser,
  * ``jlac/checks/<module>.py`` with ``expectations(snapshot) -> list`` (its Great Expectations suite),
  * ``sql/staging/stg_<module>__<entity>.sql`` (and any marts that use it).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import duckdb

from jlac.snapshots import Snapshot

# Columns that say where a row was read from, not what it says: two rows that differ only in these are repeats.
PROVENANCE = ("file", "sheet", "row_number")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    description: str


@dataclass(frozen=True)
class FigureScope:
    """Which rows of a source a published figure reads; an unknown country name outside them is quarantined.

    ``where`` is a SQL predicate over a raw row in which every country-name column ``<col>`` of the source also
    has ``<col>_iso3`` and ``<col>_kind`` (what jlac.countries maps it to; NULL when the name is unknown). A row
    with an unknown name that meets ``where`` fails validation as before; one that does not is set aside in
    ``quarantine.rows`` (jlac.quarantine). ``anchor``: a predicate at least one kept row must meet whenever rows
    are set aside, so that a renamed figure entity (IMF spelling 'Japan' anew) fails instead of vanishing.
    """

    where: str
    why: str  # which models and figures read these rows: shown in quarantine reasons
    anchor: str | None = None


@dataclass(frozen=True)
class Source:
    """A raw source: how to parse one snapshot into the table ``raw.<table>``.

    ``parse(snapshot, con)`` returns a DuckDB relation (built from files with DuckDB's readers, or
    from a pandas frame for workbooks); the core casts it to ``columns``, caches it as Parquet keyed
    on the snapshot sha256 and the parser's code version, and loads it into the new warehouse.
    """

    name: str  # snapshot source name, e.g. "imf-dots"
    table: str  # raw table name, e.g. "imf_dots"
    description: str
    columns: tuple[Column, ...]
    parse: Callable[[Snapshot, duckdb.DuckDBPyConnection], duckdb.DuckDBPyRelation]
    key: tuple[str, ...] = ()  # columns unique together in the raw table (checked by GX)
    required: bool = True  # a refresh fails when a required source has no snapshot at all
    version: str = "1"  # bump when the parser's output changes for the same input
    # (tag, column) pairs of country names to map through jlac.countries, e.g. (("imf", "partner_name"),)
    country_names: tuple[tuple[str, str], ...] = ()
    # Columns that name one value: two rows with them equal but other values differing are a conflict
    # (refused by validation with both rows); identical repeats are dropped at parse, with a count in the
    # log. None: the key, unless the key is only a file position (row_number); (): no such check.
    conflict_key: tuple[str, ...] | None = None
    # The rows a published figure reads (see FigureScope): rows outside it whose country name is unknown are
    # quarantined instead of failing the refresh. None: every unknown name fails validation.
    figure_scope: FigureScope | None = None
    module: str = field(default="", compare=False)
    # Partitioned sources (too large for one batch): ``parse_file(snapshot, file, con)`` returns the SELECT (SQL
    # text over DuckDB's readers) that parses one file of ``data_files(snapshot)`` into one Parquet partition, and
    # raw.<table> is a view over the partitions (jlac.partitions).
    parse_file: Callable[[Snapshot, str, duckdb.DuckDBPyConnection], str] | None = None
    data_files: Callable[[Snapshot], list[str]] | None = None
    # columns whose smallest and largest value per partition raw.<table>_partitions keeps (from Parquet metadata)
    partition_stats: tuple[str, ...] = ()

    @property
    def partitioned(self) -> bool:
        return self.parse_file is not None

    @property
    def raw_table(self) -> str:
        return f"raw.{self.table}"

    @property
    def value_key(self) -> tuple[str, ...]:
        """The effective conflict key (see ``conflict_key``); empty when the source has none."""
        if self.conflict_key is not None:
            return self.conflict_key
        return () if "row_number" in self.key else self.key

    @property
    def payload(self) -> tuple[str, ...]:
        """Columns that carry the value(s) of a key: all but the key and where a row was read from."""
        return tuple(c.name for c in self.columns if c.name not in self.value_key and c.name not in PROVENANCE)


@cache
def all_sources() -> dict[str, Source]:
    """Every source module in this package, by source name."""
    found: dict[str, Source] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        src = getattr(module, "SOURCE", None)
        if isinstance(src, Source):
            found[src.name] = Source(**{**src.__dict__, "module": info.name})
    return found


def get_source(name: str) -> Source:
    sources = all_sources()
    if name not in sources:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(sources))}")
    return sources[name]
