"""Tools that open the DuckDB file itself (DBeaver's DuckDB driver, the duckdb CLI) never block a refresh."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
from sqlendpoint import contract_refresh

pytestmark = pytest.mark.integration


def test_a_bi_tool_holding_the_file_does_not_block_a_refresh(tmp_path):
    """A desktop tool may hold the published file open, even read-write with DuckDB's exclusive lock.
    Publishing by rename does not need that lock, so the refresh succeeds; the holder keeps reading the old
    file until it reconnects."""
    home = tmp_path / "warehouse"
    home.mkdir(parents=True)
    warehouse = home / "jlac.duckdb"
    contract_refresh(warehouse, rows=100, run_id="run-old")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True);"
         "sys.stdin.readline();"
         "print(con.execute('SELECT run_id FROM meta.runs').fetchone()[0], flush=True)", str(warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        # the file really is locked: a second writer would be refused
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(warehouse))
        contract_refresh(warehouse, rows=200, run_id="run-new")
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "run-old"
    finally:
        holder.kill()
        holder.wait()
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{warehouse}' AS w (READ_ONLY)")
    assert con.execute("SELECT run_id FROM w.meta.runs").fetchone() == ("run-new",)
