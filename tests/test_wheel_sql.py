"""An installed wheel carries the dbt project: every file of flows/jlac/sql is in the wheel built from a clean copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from jlac import transform

REPO = Path(__file__).resolve().parents[1]


def test_wheel_lists_every_sql_and_yml_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "flows", src / "flows", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"),
                    str(src)], check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("jlac-*.whl")
    packaged = {n.removeprefix("jlac/sql/") for n in zipfile.ZipFile(wheel).namelist() if n.startswith("jlac/sql/")}
    files = (p.relative_to(transform.PROJECT_DIR) for p in transform.PROJECT_DIR.rglob("*") if p.is_file())
    # dbt's own output when run by hand (git-ignored) is not the project
    project = {f.as_posix() for f in files if not {"target", "logs", "__pycache__"} & set(f.parts)} - {".gitignore"}
    assert packaged == project
    assert {"dbt_project.yml", "models/marts/fct_trade_annual.sql", "models/marts/fct_trade_annual.yml",
            "models/staging/fred_exjpus/_fred_exjpus__sources.yml", "macros/document_models.sql",
            "tests/generic/unique_combination.sql"} <= packaged
