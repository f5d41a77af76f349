"""Settings from environment variables, with defaults relative to the project root."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jlac.errors import SettingError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_root() -> Path:
    """Where ``warehouse/`` goes by default: the source checkout (pyproject.toml beside ``flows/``), or, for jlac
    installed from a wheel, the current folder (``parents[2]`` is then the virtualenv's lib folder, where a QA pass
    found the warehouse written)."""
    return PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").is_file() else Path.cwd()


# Reviewed data files shipped with the package (country-name overrides, seeds, ...); read through this name at
# call time, so that every reader (parsers, the parse cache key, the refresh plan) sees the same folder.
DATA_DIR = Path(__file__).resolve().parent / "data"


QUARANTINE_MAX_SHARE_ENV = "JLAC_QUARANTINE_MAX_SHARE"
QUARANTINE_MAX_SHARE = 0.02  # one IMF DOTS reporter workbook of ~220 is ~0.5 % of the source's rows


def quarantine_max_share() -> float:
    """JLAC_QUARANTINE_MAX_SHARE: the largest share (0..1) of a source's rows a refresh may set aside."""
    value = os.environ.get(QUARANTINE_MAX_SHARE_ENV, "").strip()
    if not value:
        return QUARANTINE_MAX_SHARE
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise SettingError(f"{QUARANTINE_MAX_SHARE_ENV}={value!r}: expected a share between 0 and 1, e.g. 0.02")
    return share


def env_number(var: str, default: int | float, minimum: int | float = 0):
    """A number from the environment (int when the default is one), the default when unset or empty; a value that
    is not such a number, or below ``minimum``, raises SettingError naming the variable."""
    value = os.environ.get(var, "").strip()
    if not value:
        return default
    kind = int if isinstance(default, int) else float
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or number != number or number < minimum:  # number != number: NaN
        what = "a whole number" if kind is int else "a number"
        raise SettingError(f"{var}={value!r}: expected {what} of at least {minimum} (default {default})")
    return number


# The spellings a switch takes (any case). Anything else is refused: JLAC_DBT_TASKS=yes was read as off, silently,
# while every other setting jlac cannot use stops the command naming it (found by a QA pass).
FLAG_ON = ("1", "true", "yes", "on")
FLAG_OFF = ("0", "false", "no", "off")


def env_flag(var: str, default: bool = False) -> bool:
    """A switch from the environment: the default when unset or empty; ``FLAG_ON`` or ``FLAG_OFF`` in any case;
    anything else raises SettingError naming the variable and the spellings it takes. Every boolean JLAC_* setting
    is read through it."""
    value = os.environ.get(var, "").strip()
    if not value:
        return default
    if value.lower() in FLAG_ON:
        return True
    if value.lower() in FLAG_OFF:
        return False
    raise SettingError(f"{var}={value!r}: expected {', '.join(FLAG_ON)} (on) or {', '.join(FLAG_OFF)} (off), in any "
                       f"case; unset: {'on' if default else 'off'}")


DBT_TASKS_ENV = "JLAC_DBT_TASKS"


def dbt_tasks() -> bool:
    """JLAC_DBT_TASKS: each dbt model and test as a Prefect task of the refresh's flow run (off by default)."""
    return env_flag(DBT_TASKS_ENV)


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def cache_setting() -> Path | None:
    """JLAC_CACHE: the folder of parsed snapshots and verified-file records; None (unset): ``<home>/cache``."""
    value = os.environ.get("JLAC_CACHE", "").strip()
    return Path(value).expanduser().resolve() if value else None


DBT_HOME_ENV = "JLAC_DBT_HOME"


def dbt_home_setting() -> Path | None:
    """JLAC_DBT_HOME: where dbt keeps its profile, target folder and logs; None (unset): ``<home>/.dbt``. Absolute:
    dbt resolves a relative --target-path against its project, inside jlac's package (found by a QA pass)."""
    value = os.environ.get(DBT_HOME_ENV, "").strip()
    return Path(value).expanduser().absolute() if value else None


@dataclass(frozen=True)
class Settings:
    """Where jlac reads and writes. Every field has an environment variable."""

    warehouse: Path  # JLAC_WAREHOUSE: the published DuckDB file
    snapshots: Path  # JLAC_SNAPSHOTS: jlac's own, writable snapshot store
    mirrors: tuple[Path, ...]  # JLAC_MIRROR: read-only snapshot mirrors (os.pathsep-separated)
    output: Path  # JLAC_OUTPUT: charts and CSVs of the figures
    # JLAC_QUARANTINE_MAX_SHARE: above this share of a source's rows set aside (jlac.quarantine), validation refuses
    quarantine_max_share: float = field(default_factory=quarantine_max_share)
    # JLAC_CACHE: parsed snapshots (Parquet) and the record of verified files. Entries are keyed by the files'
    # content and every input of their parse, and written by rename, so warehouse homes may share one folder (a
    # staging and a production warehouse parse each snapshot once); unset, each home keeps its own.
    cache: Path | None = field(default_factory=cache_setting)
    # JLAC_DBT_TASKS: read here too, so that a value jlac cannot use stops the command as it starts, named
    dbt_tasks: bool = field(default_factory=dbt_tasks)

    def __post_init__(self) -> None:
        # Settings made in Python (a notebook) may hold strings and relative paths: a relative warehouse made dbt,
        # which resolves paths against its project, write into jlac's own package and fail after the whole build;
        # a string failed in a traceback (found by a QA pass). Each path is made absolute against the current folder.
        def absolute(p) -> Path:
            return Path(p).expanduser().absolute()

        mirrors = (self.mirrors,) if isinstance(self.mirrors, str | os.PathLike) else self.mirrors
        for name, value in (("warehouse", absolute(self.warehouse)), ("snapshots", absolute(self.snapshots)),
                            ("mirrors", tuple(absolute(m) for m in mirrors)), ("output", absolute(self.output)),
                            ("cache", None if self.cache is None else absolute(self.cache))):
            object.__setattr__(self, name, value)

    @property
    def home(self) -> Path:
        """Folder of the published warehouse; builds, caches and reports live beside it."""
        return self.warehouse.parent

    @property
    def build_dir(self) -> Path:
        return self.home / ".build"

    @property
    def cache_dir(self) -> Path:
        return self.cache or self.home / "cache"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def run_ledger(self) -> Path:
        return self.home / "runs.jsonl"

    @property
    def fetch_ledger(self) -> Path:
        return self.home / "fetches.jsonl"

    @property
    def snapshot_roots(self) -> tuple[Path, ...]:
        """The own store first, then the mirrors: a vintage in the store wins over a mirrored one."""
        return (self.snapshots, *self.mirrors)


def get_settings() -> Settings:
    """Read the settings from the environment (called anew each time, so tests can change it)."""
    warehouse = _path("JLAC_WAREHOUSE", default_root() / "warehouse" / "jlac.duckdb")
    mirrors = tuple(
        Path(p).expanduser().resolve() for p in os.environ.get("JLAC_MIRROR", "").split(os.pathsep) if p.strip()
    )
    settings = Settings(
        warehouse=warehouse,
        snapshots=_path("JLAC_SNAPSHOTS", warehouse.parent / "snapshots"),
        mirrors=mirrors,
        output=_path("JLAC_OUTPUT", warehouse.parent / "output"),
    )
    _check_paths_for_duckdb(settings)
    return settings


def _check_paths_for_duckdb(settings: Settings) -> None:
    """Refuse paths DuckDB would open as another file than Python does. Under a locale whose file names are not
    UTF-8 (LANG=en_US.ISO-8859-1), Python names a file by its Latin-1 bytes and DuckDB by its UTF-8 ones: a path with
    ñ is another file for DuckDB. An intact warehouse read as "does not exist" (and the advice was to build a new
    one), a parse "failed unexpectedly", blaming the source (found by a QA pass)."""
    encoding = sys.getfilesystemencoding()
    utf8 = encoding.lower().replace("-", "").replace("_", "") == "utf8"
    for var, path in (("JLAC_WAREHOUSE", settings.warehouse), ("JLAC_SNAPSHOTS", settings.snapshots),
                      ("JLAC_OUTPUT", settings.output), ("JLAC_CACHE", settings.cache_dir),
                      # dbt-duckdb attaches the build file through the dbt home's link: a backslash there failed the
                      # build after the whole parse ("Cannot open file", found by a QA pass)
                      *((DBT_HOME_ENV, d) for d in (dbt_home_setting(),) if d is not None),
                      *(("JLAC_MIRROR", m) for m in settings.mirrors)):
        if "\\" in str(path) and os.sep == "/":
            # DuckDB reads a backslash in a path as a folder separator: a warehouse named "jl\ac.duckdb" was published
            # where no reader found it, every refresh a full one and its revisions lost (found by a QA pass)
            raise SettingError(f"{var} {path}: DuckDB reads a backslash in a path as a folder separator, so the file "
                               "it opens would not be this one; choose a path without one")
        if not utf8 and not str(path).isascii():
            raise SettingError(f"{var} {path}: this process names files in {encoding} (its locale: LC_ALL/LANG), "
                               "DuckDB in UTF-8, so a path with non-ASCII characters names another file for DuckDB. "
                               "Use a UTF-8 locale (e.g. LC_ALL=C.UTF-8) or a path of ASCII characters")
