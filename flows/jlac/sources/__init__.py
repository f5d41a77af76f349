"""Source registry: one folder per source, ``jlac/sources/<table>/``, found by scanning this package.

A source has one name. ``imf-dots`` is its snapshot folder (``<store>/imf-dots/<vintage>/``) and the name
``jlac fetch``, ``jlac status`` and ``jlac sources`` use; with ``-`` -> ``_`` it is ``imf_dots``: this folder, the
raw table ``raw.imf_dots`` and the dbt staging folder ``sql/models/staging/imf_dots/``. A folder whose name is not
its SOURCE's table is refused, naming the folder.

Adding a source means adding these files, and editing nothing else:

  jlac/sources/<table>/__init__.py   a one-line docstring (it makes the folder a package)
  jlac/sources/<table>/source.py     ``SOURCE = Source(name=..., ...)`` and its parser (the parse cache key hashes
                                     this module, the folder's ``__init__.py`` and every jlac module they use)
  jlac/sources/<table>/checks.py     ``checks(source, snapshot[, settings]) -> list[jlac.validation.Check]``: its
                                     Great Expectations suite (required; helpers in ``jlac.checks``)
  jlac/sources/<table>/release.yml   its release rhythm for ``jlac status``: ``rhythm`` (monthly, annual,
                                     irregular, frozen), ``stale_after_days`` (omit: never flagged stale), ``note``
  jlac/sources/<table>/connector.py  only for a live source: ``SOURCE_NAME``, ``fetch(settings, client)``,
                                     ``make_client``, ``FETCH_ORDER`` (see ``jlac.connectors``)
  sql/models/staging/<table>/        ``_<table>__sources.yml`` and ``stg_<table>__<entity>.sql`` (the dbt side)

The files inside a folder are found by these fixed names; nothing is registered anywhere else. (The test suite
also attacks every source's parser: ``tests/test_mutations.py`` asks for its ``SourceSpec`` in
``tests/mutation_sources.py``.)
"""

from __future__ import annotations

import importlib
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import ModuleType

import duckdb

from jlac.errors import JlacError
from jlac.snapshots import Snapshot

SOURCES_DIR = Path(__file__).parent

# Columns that say where a row was read from, not what it says: two rows that differ only in these are repeats.
PROVENANCE = ("file", "sheet", "row_number")


@dataclass(frozen=True)
class Column:
    """A declared column of a source's raw table: its name, DuckDB type and description (the table's COMMENT)."""

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

    name: str  # snapshot source name, e.g. "imf-dots"; its table and folder are derived from it (``table``)
    description: str
    columns: tuple[Column, ...]
    parse: Callable[[Snapshot, duckdb.DuckDBPyConnection], duckdb.DuckDBPyRelation]
    key: tuple[str, ...] = ()  # columns unique together in the raw table (checked by GX)
    required: bool = True  # a refresh fails when a required source has no snapshot at all
    version: str = "1"  # bump when the parser's output changes for the same input
    # the parse reads the source's earlier vintages too (``snapshot.older``, attached by the core; revisions, or a
    # release that covers a moving window of years), so they count in the snapshot's fingerprint
    reads_history: bool = False
    # (tag, column) pairs of country names to map through jlac.countries, e.g. (("imf", "partner_name"),)
    country_names: tuple[tuple[str, str], ...] = ()
    # Columns that name one value: two rows with them equal but other values differing are a conflict
    # (refused by validation with both rows); identical repeats are dropped at parse, with a count in the
    # log. None: the key, unless the key is only a file position (row_number); (): no such check.
    conflict_key: tuple[str, ...] | None = None
    # The rows a published figure reads (see FigureScope): rows outside it whose country name is unknown are
    # quarantined instead of failing the refresh. None: every unknown name fails validation.
    figure_scope: FigureScope | None = None
    # the Python package of the source's folder; the registry sets it, the default is jlac.sources.<table>
    package: str = field(default="", compare=False)
    # Partitioned sources (too large for one batch): ``parse_file(snapshot, file, con)`` returns the SELECT (SQL
    # text over DuckDB's readers) that parses one file of ``data_files(snapshot)`` into one Parquet partition, and
    # raw.<table> is a view over the partitions (jlac.partitions).
    parse_file: Callable[[Snapshot, str, duckdb.DuckDBPyConnection], str] | None = None
    data_files: Callable[[Snapshot], list[str]] | None = None
    # columns whose smallest and largest value per partition raw.<table>_partitions keeps (from Parquet metadata)
    partition_stats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.package:
            object.__setattr__(self, "package", f"{__name__}.{self.table}")

    @property
    def table(self) -> str:
        """Raw table and folder name: the source name with ``-`` -> ``_`` (``imf-dots`` -> ``imf_dots``)."""
        return self.name.replace("-", "_")

    @property
    def folder(self) -> Path:
        """The source's folder (``jlac/sources/<table>/``)."""
        return Path(importlib.import_module(self.package).__path__[0])

    @property
    def partitioned(self) -> bool:
        """Whether the source is parsed file by file into Parquet partitions (``parse_file`` set; jlac.partitions)."""
        return self.parse_file is not None

    @property
    def raw_table(self) -> str:
        """The source's raw table in the warehouse, ``raw.<table>`` (a view over the partitions when partitioned)."""
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


class RegistryError(JlacError):
    """A source folder that breaks the registry's rules; the message names the folder."""


def where_in(exc: BaseException, folder: Path) -> str:
    """`` at <file> line <n>``: the last place in ``folder`` the exception was raised or passed through (a syntax
    error: its own file and line); empty when none."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" at {exc.filename} line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve().is_relative_to(
        folder.resolve())]
    return f" at {frames[-1].filename} line {frames[-1].lineno}" if frames else ""


def import_part(module: str, folder: Path, label: str) -> ModuleType:
    """Import a module of a source folder; a module that cannot be imported (a syntax error, a misspelt import) is a
    RegistryError naming the file and line, not a traceback from every command (found by a QA pass, as a
    contributor)."""
    try:
        return importlib.import_module(module)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001  whatever a contributor's module raises at import
        said = exc.msg if isinstance(exc, SyntaxError) else exc  # its str() repeats the file and line
        raise RegistryError(f"{label} cannot be imported: {type(exc).__name__}: {said}{where_in(exc, folder)}") \
            from exc


def part(source: Source, name: str) -> ModuleType | None:
    """The module ``<folder>/<name>.py`` of a source (``checks``, ``connector``); None when the folder has none."""
    if not (source.folder / f"{name}.py").is_file():
        return None
    return import_part(f"{source.package}.{name}", source.folder, f"source {source.name}: {source.folder / name}.py")


NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # a source's name: imf-dots, fred-exjpus


def scan(root: Path = SOURCES_DIR, package: str = __name__) -> dict[str, Source]:
    """Every source folder under ``root`` (the Python package ``package``), by source name.

    A folder is a source when it holds ``source.py`` defining ``SOURCE``; its name must be the SOURCE's table.
    A folder with Python files but no ``source.py`` is an error too (a source half-added or half-removed).
    """
    found: dict[str, Source] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        where = f"source folder {folder}"
        if not (folder / "source.py").is_file():
            if any(folder.glob("*.py")):
                raise RegistryError(f"{where} has no source.py: a source folder needs source.py defining SOURCE")
            continue
        if not (folder / "__init__.py").is_file():  # else Python imports it as a namespace package, whose code the
            # parse cache key cannot read: `jlac sources` listed it and the refresh crashed with a TypeError
            raise RegistryError(f"{where} has no __init__.py: a source folder is a Python package (a one-line "
                                "docstring is enough)")
        src = getattr(import_part(f"{package}.{folder.name}.source", folder, f"{where}: source.py"), "SOURCE", None)
        if not isinstance(src, Source):
            raise RegistryError(f"{where}: source.py defines no SOURCE = Source(...)")
        if not NAME.fullmatch(src.name):  # 'jica_volunteers' passed, and its table was the folder's name too
            raise RegistryError(
                f"{where}: its SOURCE name {src.name!r} is not lowercase letters and digits in words joined by '-' "
                f"(e.g. {src.name.lower().replace('_', '-').strip('-')!r}); its folder and raw table take '_'")
        if src.table != folder.name:
            raise RegistryError(
                f"{where}: its SOURCE is named {src.name!r}, so its folder must be {src.table!r}, not "
                f"{folder.name!r} (folder, raw table and source name are one name, with '-' -> '_')"
            )
        found[src.name] = replace(src, package=f"{package}.{folder.name}")
    return found


@cache
def all_sources() -> dict[str, Source]:
    """Every source folder in this package, by source name."""
    return scan()


def get_source(name: str) -> Source:
    """The registered source of a name; a KeyError listing the known names otherwise."""
    sources = all_sources()
    if name not in sources:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(sources))}")
    return sources[name]
