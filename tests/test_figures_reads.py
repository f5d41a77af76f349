"""Each chart module declares the tables it reads (``READS``): jlac.figures draws a chart again only when one of
them changed, so a table read but not declared would leave a stale chart in the output."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import jlac.figures


def test_every_table_a_chart_module_reads_is_declared():
    modules = [importlib.import_module(f"jlac.figures.{m.name}") for m in pkgutil.iter_modules(jlac.figures.__path__)]
    assert len(modules) >= 5
    for module in modules:
        read = set(re.findall(r"FROM ((?:figures|marts|staging|intermediate|raw|seeds)\.[a-z0-9_]+)",
                              inspect.getsource(module)))
        declared = set(getattr(module, "READS", ()))
        assert declared, f"{module.__name__} declares no READS"
        assert read <= declared, f"{module.__name__} reads {sorted(read - declared)} without declaring them in READS"
