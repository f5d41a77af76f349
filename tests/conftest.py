"""Shared fixtures. The mirror and recordings are read in place from ../shared (beside the repo)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

# jlac's loggers outside a flow run log locally (as jlac.refresh_flow sets for the CLI), before Prefect loads.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("JLAC_TEST_SHARED", REPO.parent / "shared")).resolve()
MIRROR = SHARED / "snapshots"
IMF_DOTS = MIRROR / "imf-dots" / "2022-02-02"
JAPAN_WORKBOOK = IMF_DOTS / "DOTS_101.xlsx"  # reporter Japan


@pytest.fixture(scope="session")
def shared() -> Path:
    assert SHARED.is_dir(), f"tests need the shared data folder at {SHARED} (set JLAC_TEST_SHARED)"
    return SHARED


@pytest.fixture(scope="session")
def mirror(shared) -> Path:
    return shared / "snapshots"


@pytest.fixture
def jlac_env(tmp_path, monkeypatch, mirror):
    """A fresh warehouse home in tmp, reading the real mirror."""
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_MIRROR", str(mirror))
    monkeypatch.delenv("JLAC_SNAPSHOTS", raising=False)
    monkeypatch.delenv("JLAC_OUTPUT", raising=False)
    from jlac.config import get_settings

    return get_settings()


def write_manifest(vintage_dir: Path, source: str, extra: dict | None = None) -> None:
    """Write a SNAPSHOT.yml listing every file in the folder with its real sha256."""
    files = []
    for p in sorted(vintage_dir.rglob("*")):
        if p.is_file() and p.name != "SNAPSHOT.yml":
            files.append({"path": p.relative_to(vintage_dir).as_posix(), "bytes": p.stat().st_size,
                          "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
    manifest = {"source": source, "vintage": vintage_dir.name, "title": "test snapshot", **(extra or {}),
                "files": files}
    (vintage_dir / "SNAPSHOT.yml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


# Optional sources that no small-mirror test reads and that cost seconds per refresh to load and check.
HEAVY_OPTIONAL = ("comtrade-classic-hs27-hs44", "mof-hs9-imports")


def small_mirror(root: Path, mirror: Path, workbooks: dict[str, Path], leave_out=HEAVY_OPTIONAL) -> Path:
    """A mirror whose imf-dots snapshot holds only the given workbooks; other sources link to the real mirror."""
    root.mkdir(parents=True, exist_ok=True)
    for src in mirror.iterdir():
        if src.is_dir() and src.name != "imf-dots" and src.name not in leave_out:
            (root / src.name).symlink_to(src, target_is_directory=True)
    vintage = root / "imf-dots" / "2022-02-02"
    vintage.mkdir(parents=True)
    for name, path in workbooks.items():
        (vintage / name).write_bytes(path.read_bytes())
    write_manifest(vintage, "imf-dots")
    return root


# --- PostgreSQL serving copy (tests/integration/test_pg_*.py) --------------------------------------------------
# ONE full-mirror warehouse published once and ONE `jlac serve-sql` serving it per session: a full refresh costs
# about a minute here, and every client test reads the same copy.

@pytest.fixture(scope="session")
def full_home(mirror):
    """A warehouse folder (reachable by the cluster's system user) with the whole mirror published into it."""
    import shutil

    from integration.sqlendpoint import reachable_home, remove_home
    from jlac import pipeline
    from jlac.config import Settings

    os.environ.pop("JLAC_POSTGRES_URL", None)  # the publish hook must find this folder's cluster, no other
    home = reachable_home()
    settings = Settings(warehouse=home / "jlac.duckdb", snapshots=home / "snapshots", mirrors=(mirror,),
                        output=home / "output")
    reuse = os.environ.get("JLAC_TEST_PG_REUSE")  # development only: a published full warehouse to copy
    if reuse:
        shutil.copyfile(reuse, settings.warehouse)
    else:
        assert pipeline.refresh(settings, trigger="pg-tests").status == "completed"
    yield settings
    remove_home(home)


@pytest.fixture(scope="session")
def served(full_home, mirror):
    """`jlac serve-sql` serving the full warehouse (stopped with SIGTERM at the end of the session)."""
    from integration.sqlendpoint import Endpoint, endpoint_env

    with Endpoint(endpoint_env(full_home.home, JLAC_MIRROR=str(mirror))) as ep:
        yield ep


# --- dbt (jlac.transform) --------------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def dbt_home(tmp_path_factory):
    """One dbt folder for the session: dbt parses the project once, every later build reuses its partial parse
    (a refresh outside the tests keeps it in <warehouse home>/.dbt, see jlac.transform.dbt_home)."""
    path = tmp_path_factory.mktemp("dbt")
    saved = os.environ.get("JLAC_DBT_HOME")
    os.environ["JLAC_DBT_HOME"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("JLAC_DBT_HOME", None)
    else:
        os.environ["JLAC_DBT_HOME"] = saved
