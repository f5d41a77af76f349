"""Settings from environment variables, with defaults relative to the project root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Where jlac reads and writes. Every field has an environment variable."""

    warehouse: Path  # JLAC_WAREHOUSE: the published DuckDB file
    snapshots: Path  # JLAC_SNAPSHOTS: jlac's own, writable snapshot store
    mirrors: tuple[Path, ...]  # JLAC_MIRROR: read-only snapshot mirrors (os.pathsep-separated)
    output: Path  # JLAC_OUTPUT: charts and CSVs of the figures

    @property
    def home(self) -> Path:
        """Folder of the published warehouse; builds, caches and reports live beside it."""
        return self.warehouse.parent

    @property
    def build_dir(self) -> Path:
        return self.home / ".build"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

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
    warehouse = _path("JLAC_WAREHOUSE", PROJECT_ROOT / "warehouse" / "jlac.duckdb")
    mirrors = tuple(
        Path(p).expanduser().resolve() for p in os.environ.get("JLAC_MIRROR", "").split(os.pathsep) if p.strip()
    )
    return Settings(
        warehouse=warehouse,
        snapshots=_path("JLAC_SNAPSHOTS", warehouse.parent / "snapshots"),
        mirrors=mirrors,
        output=_path("JLAC_OUTPUT", warehouse.parent / "output"),
    )
