"""The jlac command line on a warehouse built from a small mirror."""

from __future__ import annotations

import pytest
from jlac.cli import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse_env(small_home):
    """The environment of the session's small-mirror warehouse (conftest.small_home)."""
    settings, _ = small_home
    return {"JLAC_WAREHOUSE": str(settings.warehouse), "JLAC_MIRROR": str(settings.mirrors[0]),
            "JLAC_SNAPSHOTS": str(settings.snapshots), "JLAC_OUTPUT": str(settings.output)}


def test_sql_reads(warehouse_env):
    result = runner.invoke(app, ["sql", "SELECT year, total_usd_bn FROM figures.fig1_japan_lac_trade "
                                        "WHERE year = 2018"], env=warehouse_env)
    assert result.exit_code == 0, result.output
    assert "2018" in result.output and "57.254" in result.output and "1 row(s)" in result.output


def test_sql_refuses_writes(warehouse_env):
    result = runner.invoke(app, ["sql", "DELETE FROM marts.fct_trade_annual"], env=warehouse_env)
    assert result.exit_code == 1
    assert "read-only" in result.output or "attached in read-only mode" in result.output


def test_sql_without_a_statement(warehouse_env):
    for text in ("", "   ", "/* nothing */"):
        result = runner.invoke(app, ["sql", text], env=warehouse_env)
        assert result.exit_code == 1 and "no SQL statement in" in result.output, result.output


def test_sql_without_warehouse(tmp_path):
    result = runner.invoke(app, ["sql", "SELECT 1"], env={"JLAC_WAREHOUSE": str(tmp_path / "none.duckdb")})
    assert result.exit_code == 1 and "run `jlac refresh` first" in result.output


def test_figures_and_sources(warehouse_env, tmp_path):
    result = runner.invoke(app, ["figures"], env={**warehouse_env, "JLAC_OUTPUT": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fig1_japan_lac_trade.png").stat().st_size > 10_000
    result = runner.invoke(app, ["sources"], env=warehouse_env)
    assert result.exit_code == 0 and "imf-dots" in result.output and "2022-02-02" in result.output
