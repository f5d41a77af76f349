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


def test_a_chart_that_cannot_be_written_names_its_file(tmp_path, monkeypatch):
    """A full disk while drawing was "OSError: No space left on device", naming no chart (found by a QA pass)."""
    import errno

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pytest
    from jlac import figures
    from matplotlib.figure import Figure

    def full_disk(self, fname, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    fig, _ = plt.subplots()
    with pytest.raises(OSError) as caught:
        figures.save(fig, tmp_path, "fig9_test")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "fig9_test.png")
    assert "No space left on device (writing a chart)" in str(caught.value)
    assert not plt.get_fignums()  # closed all the same


def test_the_same_chart_drawn_twice_is_the_same_files_byte_for_byte(tmp_path):
    """An SVG carried the time it was drawn and random clip-path ids: a redraw of unchanged data (a new home, a CI
    build) differed in every SVG, and a file-sync tool or a diff saw a change that did not happen (found by a QA
    pass)."""
    import time

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        fig, ax = plt.subplots()
        ax.plot([1995, 2010, 2024], [10.5, 30.25, 42.0])
        ax.set_ylim(0, 40)  # a line clipped by the axes: a clip path in the SVG
        written.append(jlac.figures.save(fig, out, "chart"))
        time.sleep(1.1)  # another second in the SVG's date, had it one
    (png_a, svg_a), (png_b, svg_b) = written
    assert b"clip-path" in svg_a.read_bytes() and b"<dc:date>" not in svg_a.read_bytes()
    assert svg_a.read_bytes() == svg_b.read_bytes() and png_a.read_bytes() == png_b.read_bytes()
