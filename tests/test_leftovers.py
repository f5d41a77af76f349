"""What killed jlac processes leave behind is removed once their process is gone (jlac.leftovers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
from jlac import leftovers
from jlac.config import Settings

HOUR_AGO = time.time() - 2 * leftovers.MIN_AGE_S


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _plant(path, age=HOUR_AGO, folder=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if folder:
        path.mkdir()
        (path / "table.csv").write_text("x\n")
    else:
        path.write_bytes(b"left")
    os.utime(path, (age, age))
    return path


def test_only_what_a_gone_process_left_long_enough_ago_is_removed(tmp_path):
    settings = Settings(warehouse=tmp_path / "home" / "jlac.duckdb", snapshots=tmp_path / "store", mirrors=(),
                        output=tmp_path / "out", cache=tmp_path / "cache")
    dbt, temp = tmp_path / "dbt", tmp_path / "tmp"
    dead = _dead_pid()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        gone = [  # named as each writer names them (the prefix, or "<name>.<pid>[.<8 hex>].tmp")
            _plant(settings.home / f".jlac-read-{dead}-abc123.duckdb"),
            _plant(settings.home / f".jlac-serving-read-{dead}-abc123", folder=True),
            _plant(settings.cache_dir / "mof-hs9-country" / "parts" / f".x.parquet.{dead}.0a1b2c3d.tmp"),
            _plant(settings.cache_dir / "fred-exjpus" / f".2024-01-01-key.parquet.{dead}.tmp"),
            _plant(dbt / "target" / f"jlac_parse.pickle.{dead}.tmp"),
            _plant(temp / f"jlac-serving-{dead}-k2j3", folder=True),
            _plant(temp / f"jlac-mof-hs9-{dead}-k2j3", folder=True),
            _plant(temp / f".jlac-read-{dead}-abc123.duckdb"),
        ]
        kept = [
            _plant(settings.home / f".jlac-read-{alive.pid}-abc123.duckdb"),  # its process still runs
            _plant(settings.cache_dir / "fred-exjpus" / f".a.parquet.{dead}.tmp", age=time.time()),  # too recent
            _plant(settings.home / ".jlac-read-abc123.duckdb"),  # no process id in its name
            _plant(temp / f"other-{dead}-k2j3", folder=True),  # not jlac's
            _plant(temp / f"jlac-serving-{os.getpid()}-k2j3", folder=True),  # this process's own
        ]
        removed = leftovers.sweep(settings, dbt, temp)
    finally:
        alive.kill()
        alive.wait()
    assert sorted(removed) == sorted(gone)
    assert not any(p.exists() for p in gone) and all(p.exists() for p in kept)


def test_the_copy_a_killed_reader_left_is_named_for_the_sweep(tmp_path):
    """A reader killed while copying a warehouse another process holds for writing (jlac.warehouse.open_for_reading)
    leaves a copy whose name the sweep reads, and nothing else."""
    db = tmp_path / "home" / "jlac.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    holder = duckdb.connect(str(db))  # holds the file for writing: readers copy it
    try:
        script = textwrap.dedent(f"""
            import os, shutil, signal
            from pathlib import Path
            import duckdb
            from jlac import warehouse
            real = shutil.copyfile
            def copy_then_die(src, dst):
                real(src, dst)
                os.kill(os.getpid(), signal.SIGKILL)
            shutil.copyfile = copy_then_die
            warehouse.open_for_reading(Path({str(db)!r}), lambda p: duckdb.connect(str(p), read_only=True))
        """)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    finally:
        holder.close()
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = [p for p in db.parent.iterdir() if p != db]
    assert len(left) == 1, left
    os.utime(left[0], (HOUR_AGO, HOUR_AGO))
    settings = Settings(warehouse=db, snapshots=tmp_path / "store", mirrors=(), output=tmp_path / "out")
    assert leftovers.sweep(settings, tmp=tmp_path / "tmp") == left and not left[0].exists()
