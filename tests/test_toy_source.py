"""Adding a source is its folder and its staging folder, nothing else: a toy source added to a copy of the project
registers, validates, models and lists in `jlac sources` without any other file edited."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import duckdb
import pytest
import yaml
from conftest import IMF_DOTS, JAPAN_WORKBOOK, REPO, small_mirror

SOURCE_PY = '''"""Toy rates: one CSV of monthly values (a test source)."""

from __future__ import annotations

import duckdb

from jlac.snapshots import Snapshot
from jlac.sources import Column, Source


def parse(snapshot: Snapshot, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    path = snapshot.path("rates.csv")
    return con.sql(f"SELECT 'rates.csv' AS file, month, rate FROM read_csv('{path}', header = true, "
                   "columns = {'month': 'DATE', 'rate': 'DOUBLE'})")


SOURCE = Source(
    name="toy-rates",
    description="Toy monthly rates (test source).",
    columns=(
        Column("file", "VARCHAR", "CSV file name in the snapshot"),
        Column("month", "DATE", "First day of the month"),
        Column("rate", "DOUBLE", "The month's rate"),
    ),
    parse=parse,
    key=("month",),
    required=False,
)
'''

CHECKS_PY = '''"""Expectations for the toy rates."""

from __future__ import annotations

import great_expectations as gx

from jlac.checks import schema_expectation
from jlac.validation import Check

E = gx.expectations


def checks(source, snapshot) -> list[Check]:
    return [Check(index_columns=("month",), expectations=[
        schema_expectation(source),
        E.ExpectColumnValuesToNotBeNull(column="rate"),
        E.ExpectColumnValuesToBeBetween(column="rate", min_value=0, max_value=10),
    ])]
'''

SOURCES_YML = """version: 2
sources:
  - name: toy_rates
    description: Source toy-rates (a test source).
    schema: raw
    tables:
      - name: toy_rates
        description: Toy monthly rates as parsed.
"""

MODEL_SQL = "SELECT month, rate, vintage FROM {{ source('toy_rates', 'toy_rates') }}\n"

MODEL_YML = """version: 2
models:
  - name: stg_toy_rates__rates
    description: Toy monthly rates.
    columns:
      - name: month
        description: First day of the month
        data_tests: [unique, not_null]
      - name: rate
        description: The month's rate
      - name: vintage
        description: Snapshot vintage
"""


def _manifest(vintage, source):
    files = [{"path": p.name, "bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in sorted(vintage.iterdir())]
    (vintage / "SNAPSHOT.yml").write_text(yaml.safe_dump(
        {"source": source, "vintage": vintage.name, "title": "toy", "files": files}), encoding="utf-8")


@pytest.mark.e2e
def test_a_toy_source_needs_only_its_two_folders(tmp_path, mirror, prefect_api_url):
    project = tmp_path / "project"
    shutil.copytree(REPO / "flows", project / "flows",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "target", "logs"))
    before = {p.relative_to(project) for p in project.rglob("*") if p.is_file()}
    pkg = project / "flows" / "jlac" / "sources" / "toy_rates"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""The toy-rates source."""\n')
    (pkg / "source.py").write_text(SOURCE_PY)
    (pkg / "checks.py").write_text(CHECKS_PY)
    staging = project / "flows" / "jlac" / "sql" / "models" / "staging" / "toy_rates"
    staging.mkdir()
    (staging / "_toy_rates__sources.yml").write_text(SOURCES_YML)
    (staging / "stg_toy_rates__rates.sql").write_text(MODEL_SQL)
    (staging / "stg_toy_rates__rates.yml").write_text(MODEL_YML)
    added = {p.relative_to(project) for p in project.rglob("*") if p.is_file()} - before
    assert {p.parent.name for p in added} == {"toy_rates"}  # nothing else was touched

    toy = tmp_path / "toy-mirror" / "toy-rates" / "2026-01-01"
    toy.mkdir(parents=True)
    (toy / "rates.csv").write_text("month,rate\n2025-11-01,1.25\n2025-12-01,1.5\n")
    _manifest(toy, "toy-rates")
    small = small_mirror(tmp_path / "mirror", mirror, {"DOTS_101.xlsx": JAPAN_WORKBOOK,
                                                       "DOTS_88.xlsx": IMF_DOTS / "DOTS_88.xlsx"})
    env = {**os.environ, "PYTHONPATH": str(project / "flows"), "JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"),
           "JLAC_MIRROR": os.pathsep.join([str(small), str(toy.parents[1])]), "COLUMNS": "200",
           "PREFECT_API_URL": prefect_api_url}
    env.pop("JLAC_SNAPSHOTS", None)
    env.pop("JLAC_DBT_HOME", None)  # the copy's dbt project parses into its own warehouse home

    def jlac(*args):
        return subprocess.run([sys.executable, "-m", "jlac.cli", *args], env=env, capture_output=True, text=True,
                              cwd=tmp_path)

    listed = jlac("sources")
    assert listed.returncode == 0, listed.stderr
    assert "toy-rates" in listed.stdout and "2026-01-01" in listed.stdout

    refreshed = jlac("refresh")
    assert refreshed.returncode == 0, refreshed.stderr[-3000:]
    with duckdb.connect(str(tmp_path / "wh" / "jlac.duckdb"), read_only=True) as con:
        assert con.execute("SELECT month::VARCHAR, rate FROM staging.stg_toy_rates__rates ORDER BY month").fetchall() \
            == [("2025-11-01", 1.25), ("2025-12-01", 1.5)]
        checks = con.execute("SELECT count(*), bool_and(success) FROM meta.validations WHERE source = 'toy-rates'"
                             ).fetchone()
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'staging' "
                              "AND table_name = 'stg_toy_rates__rates'").fetchone()[0]
    assert checks[0] >= 3 and checks[1] is True
    assert comment == "Toy monthly rates."
