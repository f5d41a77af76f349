"""Chart renderers, one module per figure: ``render(con, outdir) -> list[Path]``; ``render_all`` runs them all."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import duckdb


def render_all(db_path: Path, outdir: Path) -> list[Path]:
    """Run every ``jlac.figures.<name>.render(con, outdir)`` against a built warehouse."""
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(module, "render"):
                written += module.render(con, outdir)
    return written
